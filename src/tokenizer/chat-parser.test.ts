import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatOutputParser, parseChatOutput, type ParsedOutput } from './chat-parser.js';
import { renderChatText } from './chat.js';
import type { ToolSpec } from './chat-types.js';

const TOOLS: ToolSpec[] = [{ type: 'function', function: { name: 'calc', parameters: { type: 'object', properties: { expr: { type: 'string' }, digits: { type: 'integer' } } } } }];

const THINKING_OUTPUT =
  '\n<think>Need two tools.\n</think>\nLet me check.\n<tool_call>calc\n<arg_key>expr</arg_key>\n<arg_value>42</arg_value>\n<arg_key>digits</arg_key>\n<arg_value>3</arg_value>\n</tool_call>' +
  '\n<tool_call>search\n<arg_key>q</arg_key>\n<arg_value>{"a": [1, 2]}</arg_value>\n<arg_key>raw</arg_key>\n<arg_value>x < y</arg_value>\n</tool_call>';

test('thinking output: reasoning, content and tool calls in OpenAI shape', () => {
  assert.deepEqual(parseChatOutput(THINKING_OUTPUT, { tools: TOOLS }), {
    reasoning_content: 'Need two tools.',
    content: 'Let me check.',
    tool_calls: [
      // "expr" is typed string by the schema, so "42" stays a string; "digits" is parsed.
      { id: 'call_0', type: 'function', function: { name: 'calc', arguments: '{"expr":"42","digits":3}' } },
      // No schema for "search": values are JSON when they parse, text otherwise.
      { id: 'call_1', type: 'function', function: { name: 'search', arguments: '{"q":{"a":[1,2]},"raw":"x < y"}' } },
    ],
    malformed: [],
  });
  // Without schemas "42" is a number.
  assert.equal(parseChatOutput(THINKING_OUTPUT).tool_calls[0].function.arguments, '{"expr":42,"digits":3}');
});

test('direct answers, empty think blocks, stop tokens, truncated reasoning', () => {
  assert.deepEqual(parseChatOutput('\nHello there.'), { reasoning_content: null, content: 'Hello there.', tool_calls: [], malformed: [] });
  assert.deepEqual(parseChatOutput('\n<think></think>\nHi'), { reasoning_content: null, content: 'Hi', tool_calls: [], malformed: [] });
  assert.deepEqual(parseChatOutput('answer  <|user|>ignored</think>'), { reasoning_content: null, content: 'answer', tool_calls: [], malformed: [] });
  assert.deepEqual(parseChatOutput('<think>cut off mid-thou'), { reasoning_content: 'cut off mid-thou', content: '', tool_calls: [], malformed: [] });
  assert.deepEqual(parseChatOutput('<think>a</think>b<|endoftext|>'), { reasoning_content: 'a', content: 'b', tool_calls: [], malformed: [] });
});

test('malformed tool calls are reported, never thrown, and the rest still parses', () => {
  const cases: Array<[string, RegExp]> = [
    ['<tool_call>\n<arg_key>a</arg_key>\n<arg_value>1</arg_value>\n</tool_call>', /without a function name/],
    ['<tool_call>f\n<arg_key>a</arg_key>\n</tool_call>', /"a" has no <arg_value>/],
    ['<tool_call>f\n<arg_key>a</arg_key>\n<arg_value>1</arg_value>\nstray\n</tool_call>', /unexpected text "stray/],
    ['<tool_call>f\n<arg_key>a</arg_key><arg_value>1</arg_value><arg_key>a</arg_key><arg_value>2</arg_value></tool_call>', /"a" given twice/],
    ['<tool_call>f\n<arg_key>a</arg_key>\n<arg_value>1', /unterminated tool call: the output ended/],
    ['<tool_call>f\n<arg_key>a<|observation|>', /unterminated tool call: a stop token/],
    ['<tool_call>my func\n</tool_call>', /holds whitespace/],
  ];
  for (const [text, re] of cases) {
    const r = parseChatOutput('ok ' + text + (text.includes('</tool_call>') ? '\n<tool_call>g\n</tool_call> end' : ''));
    assert.equal(r.malformed.length, 1, text);
    assert.match(r.malformed[0].reason, re);
    if (text.includes('</tool_call>')) {
      assert.deepEqual(r.tool_calls.map((c) => c.function.name), ['g']);
      assert.equal(r.content, 'ok \n end');
    } else assert.equal(r.content, 'ok');
  }
});

/** Streams text in the given pieces, collecting deltas into a ParsedOutput. */
function streamed(pieces: string[]): ParsedOutput {
  const p = new ChatOutputParser({ tools: TOOLS });
  const acc: ParsedOutput = { reasoning_content: null, content: '', tool_calls: [], malformed: [] };
  const take = (ds: ReturnType<ChatOutputParser['push']>) => {
    for (const d of ds) {
      if (d.type === 'reasoning') acc.reasoning_content = (acc.reasoning_content ?? '') + d.text;
      else if (d.type === 'content') acc.content += d.text;
      else if (d.type === 'tool_call') acc.tool_calls.push(d.call);
      else acc.malformed.push(d.malformed);
    }
  };
  for (const piece of pieces) take(p.push(piece));
  take(p.finish());
  assert.deepEqual(acc, p.result());
  return acc;
}

test('streaming piece by piece gives what parsing the whole text gives, wherever the cuts fall', () => {
  const texts = [THINKING_OUTPUT, '\nHello  there. \n', '<think> a </think>  b <tool_call>f\n<arg_key>k</arg_key>\n<arg_value> v </arg_value>\n</tool_call> c \n<|user|>x', 'x<tool_call>broken', ' <thin', '<think>x</thi'];
  for (const text of texts) {
    const whole = parseChatOutput(text, { tools: TOOLS });
    for (let cut = 0; cut <= text.length; cut++) assert.deepEqual(streamed([text.slice(0, cut), text.slice(cut)]), whole, `cut at ${cut} of ${JSON.stringify(text)}`);
    assert.deepEqual(streamed([...text]), whole, `char by char: ${JSON.stringify(text)}`);
  }
});

test('round trip: a rendered assistant turn parses back to the message', () => {
  const msg = {
    role: 'assistant' as const,
    reasoning_content: 'Plan: call calc.',
    content: 'Computing.',
    tool_calls: [{ type: 'function' as const, function: { name: 'calc', arguments: { expr: 'print("hi")\nx = 1', digits: 2 } } }],
  };
  const text = renderChatText({ messages: [{ role: 'user', content: 'q' }, msg] });
  const generated = text.slice(text.lastIndexOf('<|assistant|>') + '<|assistant|>'.length);
  const r = parseChatOutput(generated, { tools: TOOLS });
  assert.equal(r.reasoning_content, msg.reasoning_content);
  assert.equal(r.content, msg.content);
  assert.deepEqual(JSON.parse(r.tool_calls[0].function.arguments as string), msg.tool_calls[0].function.arguments);
  assert.deepEqual(r.malformed, []);
});
