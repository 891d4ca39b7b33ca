import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Template } from '@huggingface/jinja';
import { GLM_CHAT_TEMPLATE, pythonJson } from './chat-template.js';
import { renderChatText } from './chat.js';

const TOOLS_BLOCK =
  '<|system|>\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n' +
  'You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n' +
  '{"type": "function", "function": {"name": "calc", "description": "Evaluate", "parameters": {"type": "object", "properties": {"expr": {"type": "string"}}}}}\n' +
  '</tools>\n\nFor each function call, output the function name and arguments within the following XML format:\n' +
  '<tool_call>{function-name}\n<arg_key>{arg-key-1}</arg_key>\n<arg_value>{arg-value-1}</arg_value>\n' +
  '<arg_key>{arg-key-2}</arg_key>\n<arg_value>{arg-value-2}</arg_value>\n...\n</tool_call>';

/** Conversations and the text GLM-4.5's format gives for them, written out by hand. */
const CASES: Array<{ name: string; conv: Record<string, unknown>; text: string }> = [
  {
    name: 'thinking on: system, user, assistant with reasoning',
    conv: {
      messages: [
        { role: 'system', content: 'You are helpful.' },
        { role: 'user', content: 'What is 2+3?' },
        { role: 'assistant', reasoning_content: '2+3=5.', content: '5' },
      ],
    },
    text: '[gMASK]<sop><|system|>\nYou are helpful.<|user|>\nWhat is 2+3?<|assistant|>\n<think>2+3=5.</think>\n5',
  },
  {
    name: 'direct mode with generation prompt',
    conv: { messages: [{ role: 'user', content: 'Hi' }], enable_thinking: false, add_generation_prompt: true },
    text: '[gMASK]<sop><|user|>\nHi/nothink<|assistant|>\n<think></think>',
  },
  {
    name: 'direct mode answer, /nothink not doubled',
    conv: { messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }, { role: 'user', content: 'Bye/nothink' }], enable_thinking: false },
    text: '[gMASK]<sop><|user|>\nHi/nothink<|assistant|>\n<think></think>\nHello!<|user|>\nBye/nothink',
  },
  {
    name: 'multi-turn history: earlier reasoning dropped, text stripped',
    conv: {
      messages: [
        { role: 'user', content: 'a' },
        { role: 'assistant', reasoning_content: 'r1', content: 'x' },
        { role: 'user', content: 'b' },
        { role: 'assistant', reasoning_content: '  r2\n', content: '\n y \n' },
      ],
    },
    text: '[gMASK]<sop><|user|>\na<|assistant|>\n<think></think>\nx<|user|>\nb<|assistant|>\n<think>r2</think>\ny',
  },
  {
    name: 'tools, several calls, string and non-string arguments, consecutive tool results, generation prompt',
    conv: {
      tools: [{ type: 'function', function: { name: 'calc', description: 'Evaluate', parameters: { type: 'object', properties: { expr: { type: 'string' } } } } }],
      messages: [
        { role: 'user', content: 'Compute' },
        {
          role: 'assistant',
          content: null,
          reasoning_content: 'use tools',
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'calc', arguments: '{"expr": "1+1", "precise": true}' } },
            { type: 'function', function: { name: 'lookup', arguments: { q: 'π', n: 3, opts: { deep: false, tags: ['a', 'b'] } } } },
          ],
        },
        { role: 'tool', content: '2', tool_call_id: 'c1' },
        { role: 'tool', content: '3.14' },
      ],
      add_generation_prompt: true,
    },
    text:
      '[gMASK]<sop>' +
      TOOLS_BLOCK +
      '<|user|>\nCompute<|assistant|>\n<think>use tools</think>' +
      '\n<tool_call>calc\n<arg_key>expr</arg_key>\n<arg_value>1+1</arg_value>\n<arg_key>precise</arg_key>\n<arg_value>true</arg_value>\n</tool_call>' +
      '\n<tool_call>lookup\n<arg_key>q</arg_key>\n<arg_value>π</arg_value>\n<arg_key>n</arg_key>\n<arg_value>3</arg_value>\n' +
      '<arg_key>opts</arg_key>\n<arg_value>{"deep": false, "tags": ["a", "b"]}</arg_value>\n</tool_call>' +
      '<|observation|>\n<tool_response>\n2\n</tool_response>\n<tool_response>\n3.14\n</tool_response><|assistant|>',
  },
  {
    name: 'reasoning written inside content, text parts',
    conv: {
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'p1' }, { type: 'text', text: ' p2' }] },
        { role: 'assistant', content: '<think>\nhidden\n</think>\n\nvisible' },
      ],
    },
    text: '[gMASK]<sop><|user|>\np1 p2<|assistant|>\n<think>hidden</think>\nvisible',
  },
];

/** What transformers / vLLM hand the template: tool-call arguments as objects. */
function forJinja(conv: Record<string, unknown>): Record<string, unknown> {
  const messages = (conv.messages as Array<Record<string, unknown>>).map((m) =>
    Array.isArray(m.tool_calls)
      ? {
          ...m,
          tool_calls: m.tool_calls.map((tc: { function: { name: string; arguments: unknown } }) => ({
            ...tc,
            function: { ...tc.function, arguments: typeof tc.function.arguments === 'string' ? JSON.parse(tc.function.arguments) : tc.function.arguments },
          })),
        }
      : m,
  );
  return { ...conv, messages };
}

for (const c of CASES) {
  test(`renderer: ${c.name}`, () => {
    assert.equal(renderChatText(c.conv), c.text);
  });
  test(`Jinja chat_template (through @huggingface/jinja) renders byte-identically: ${c.name}`, () => {
    const out = new Template(GLM_CHAT_TEMPLATE).render({ ...forJinja(c.conv), bos_token: '', eos_token: '<|endoftext|>' });
    assert.equal(out, c.text);
  });
}

test('Python-style JSON: ", " and ": " separators, non-ASCII kept, escapes as JSON', () => {
  assert.equal(pythonJson({ a: [1, 'é', null], b: { c: true, 'd"': 'x\ny' } }), '{"a": [1, "é", null], "b": {"c": true, "d\\"": "x\\ny"}}');
  assert.equal(pythonJson([]), '[]');
  assert.equal(pythonJson({}), '{}');
});

test('bad conversations are DataErrors naming the field', () => {
  const bad: Array<[unknown, RegExp]> = [
    [{ messages: [{ role: 'robot', content: 'x' }] }, /messages\[0\]\.role: unknown role "robot"; expected one of system, user, assistant, tool/],
    [{ messages: [{ role: 'user', content: 'x' }, { role: 'tool', content: 'r' }] }, /messages\[1\]: tool message with no preceding tool call/],
    [{ messages: [{ role: 'user', content: 42 }] }, /messages\[0\]\.content: expected a string \(or a list of content parts\), got number/],
    [{ messages: [{ role: 'user', content: null }] }, /messages\[0\]\.content: expected a string/],
    [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: 'u' }] }] }, /messages\[0\]\.content\[0\]\.image_url: expected "image_url": \{"url": string\}/],
    [{ messages: [{ role: 'user', content: [{ type: 'video', video: 'v.mp4' }] }] }, /messages\[0\]\.content\[0\]: expected a content part/],
    [{ messages: [{ role: 'assistant', content: '', tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{oops' } }] }] }, /tool_calls\[0\]\.function\.arguments: arguments is a string but not valid JSON/],
    [{ messages: [{ role: 'assistant', content: '', tool_calls: [{ type: 'function', function: { name: 'f', arguments: '[1]' } }] }] }, /expected the arguments to be a JSON object/],
    [{ messages: [{ role: 'assistant', content: '', tool_calls: [{ function: { name: 'f' } }] }, { role: 'tool', content: { a: 1 } }] }, /messages\[1\]\.content: a tool result must be a string, got object/],
    [{ messages: 'hi' }, /messages: expected an array of messages/],
    [{ messages: [], enable_thinking: 'no' }, /enable_thinking: expected a boolean/],
  ];
  for (const [conv, re] of bad) {
    assert.throws(() => renderChatText(conv), (e: Error) => e.name === 'DataError' && re.test(e.message), `expected ${re} for ${JSON.stringify(conv)}`);
  }
  assert.throws(() => renderChatText({ messages: [{ role: 'robot', content: 'x' }] }, { file: 'conv.json' }), (e: Error) => /^conv\.json: messages\[0\]\.role: unknown role/.test(e.message));
});
