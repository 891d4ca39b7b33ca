import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainBpeFromTexts } from './bpe-train.js';
import { renderChat, renderChatText } from './chat.js';
import { GLM_SPECIAL_TOKENS } from './special-tokens.js';
import { testCorpus } from './test-fixtures.js';
import type { Tokenizer } from './tokenizer.js';

const tok = trainBpeFromTexts([...testCorpus(300), 'think tool call result done output answer'], { vocabSize: 256 + 200 + GLM_SPECIAL_TOKENS.length });

const CONV = {
  messages: [
    { role: 'system', content: 'S' },
    { role: 'user', content: 'Q' },
    { role: 'assistant', reasoning_content: 'R', content: 'A', tool_calls: [{ type: 'function', function: { name: 'f', arguments: { x: 1 } } }] },
    { role: 'tool', content: 'out' },
    { role: 'assistant', content: 'done' },
  ],
};

/** The decoded text of each maximal run of masked tokens. */
function maskedRuns(t: Tokenizer, ids: number[], mask: number[]): string[] {
  const runs: string[] = [];
  let cur: number[] = [];
  for (let i = 0; i <= ids.length; i++) {
    if (i < ids.length && mask[i] === 1) cur.push(ids[i]);
    else if (cur.length > 0) {
      runs.push(t.decode(cur));
      cur = [];
    }
  }
  return runs;
}

test('ids are the tokens of the rendered text, with <|endoftext|> after a final assistant turn', () => {
  const r = renderChat(tok, CONV);
  assert.equal(
    r.text,
    '[gMASK]<sop><|system|>\nS<|user|>\nQ<|assistant|>\n<think>R</think>\nA\n<tool_call>f\n<arg_key>x</arg_key>\n<arg_value>1</arg_value>\n</tool_call>' +
      '<|observation|>\n<tool_response>\nout\n</tool_response><|assistant|>\n<think></think>\ndone<|endoftext|>',
  );
  assert.deepEqual(r.ids, tok.encode(r.text, { allowSpecial: true }));
  assert.equal(r.text, renderChatText(CONV) + '<|endoftext|>');
  assert.equal(r.assistantMask.length, r.ids.length);
});

test('loss mask: assistant output and the stop token ending each turn; headers and prompts are 0', () => {
  const r = renderChat(tok, CONV);
  assert.deepEqual(maskedRuns(tok, r.ids, r.assistantMask), [
    '\n<think>R</think>\nA\n<tool_call>f\n<arg_key>x</arg_key>\n<arg_value>1</arg_value>\n</tool_call><|observation|>',
    '\n<think></think>\ndone<|endoftext|>',
  ]);
  const last = renderChat(tok, CONV, { lastTurnOnly: true });
  // Both assistant turns follow the only user message, so both stay trained.
  assert.deepEqual(last.assistantMask, r.assistantMask);
  const multi = renderChat(tok, { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }, { role: 'assistant', content: 'd' }] });
  assert.deepEqual(maskedRuns(tok, multi.ids, multi.assistantMask), ['\n<think></think>\nb<|user|>', '\n<think></think>\nd<|endoftext|>']);
  const lastOnly = renderChat(tok, { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }, { role: 'assistant', content: 'd' }] }, { lastTurnOnly: true });
  assert.deepEqual(maskedRuns(tok, lastOnly.ids, lastOnly.assistantMask), ['\n<think></think>\nd<|endoftext|>']);
});

test('a generation prompt is all prompt: no mask, no <|endoftext|>', () => {
  const r = renderChat(tok, { messages: [{ role: 'user', content: 'hi' }], add_generation_prompt: true, enable_thinking: false });
  assert.equal(r.text, '[gMASK]<sop><|user|>\nhi/nothink<|assistant|>\n<think></think>');
  assert.ok(r.assistantMask.every((m) => m === 0));
  assert.equal(r.ids.at(-1), tok.tokenToId('</think>'));
  const noEos = renderChat(tok, CONV, { appendEos: false });
  assert.equal(noEos.text, renderChatText(CONV));
});

test('special-token strings inside message text never become control tokens', () => {
  const conv = { messages: [{ role: 'user', content: 'say <|assistant|> and </think>' }, { role: 'assistant', content: 'ok' }] };
  const r = renderChat(tok, conv);
  const assistantId = tok.tokenToId('<|assistant|>');
  assert.equal(r.ids.filter((id) => id === assistantId).length, 1);
  assert.equal(r.ids.filter((id) => id === tok.tokenToId('</think>')).length, 1);
  assert.equal(tok.decode(r.ids), r.text);
});

test('template tokens missing from a vocabulary (a GLM-4 tokenizer has no <think>) are encoded as text', () => {
  const specials = ['<|endoftext|>', '[gMASK]', '<sop>', '<|system|>', '<|user|>', '<|assistant|>', '<|observation|>'];
  const old = trainBpeFromTexts(testCorpus(100), { vocabSize: 256 + 60 + specials.length, specialTokens: specials });
  const r = renderChat(old, { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', reasoning_content: 'r', content: 'ok' }] });
  assert.deepEqual(r.ids, old.encode(r.text, { allowSpecial: true }));
  assert.equal(old.decode(r.ids), r.text);
});
