// Sequence invariants with the bug planted each time: a chat template whose generation prompt is not
// a prefix of prompt + reply, EOS masked out of the loss when pad == EOS, and reward/value heads that
// read the wrong token under right or left padding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPreset } from '../../models/glm/config.js';
import { GlmForSequenceClassification } from '../../models/glm/model.js';
import { Tensor } from '../../tensor/tensor.js';
import * as F from '../../tensor/ops/index.js';
import { trainBpeFromTexts } from '../../tokenizer/bpe-train.js';
import { renderChat } from '../../tokenizer/chat.js';
import { EOS_TOKEN } from '../../tokenizer/special-tokens.js';
import { generateWorldTask } from '../../data/world/index.js';
import { sequenceBatch, type SequenceBatch } from '../rl-utils.js';
import { ValueModel } from '../ppo/value-model.js';
import { headPaddingDeviation } from '../ppo/ppo-checks.js';
import { assertBoundary, chatBoundaryProblems, eosDroppedRows, paddingDeviation, type RenderIds } from './sequence-checks.js';

const docs = (generateWorldTask('pretrain', { n: 30, seed: 1 }) as { text: string }[]).map((d) => d.text);
const tok = trainBpeFromTexts(docs, { vocabSize: 300 });
const messages = [{ role: 'user' as const, content: 'What is 2 + 3?' }];
const reply = { role: 'assistant' as const, content: 'It is 5.' };

test('template boundary: the real template passes in both modes; planted templates are named', () => {
  for (const thinking of [false, true]) {
    const ids = renderChat(tok, { messages, enable_thinking: thinking, add_generation_prompt: true }).ids;
    assert.deepEqual(chatBoundaryProblems(tok, { messages, enable_thinking: thinking }, ids, reply), [], `thinking ${thinking}`);
  }
  const real: RenderIds = (c) => renderChat(tok, c).ids;
  const nl = tok.encode(' ');
  // planted 1: the generation prompt adds a space the full rendering does not have
  const extraNewline: RenderIds = (c) => (c.add_generation_prompt ? [...real(c), ...nl] : real(c));
  const ids1 = extraNewline({ messages, enable_thinking: true, add_generation_prompt: true });
  const p1 = chatBoundaryProblems(tok, { messages, enable_thinking: true }, ids1, reply, extraNewline);
  assert.equal(p1.length, 1);
  assert.match(p1[0], /not a prefix of prompt \+ reply \(first difference at token \d+/);
  // planted 2: the generation prompt twice
  const asst = tok.requireId('<|assistant|>');
  const twice: RenderIds = (c) => (c.add_generation_prompt ? [...real(c), asst] : real(c));
  const ids2 = twice({ messages, enable_thinking: true, add_generation_prompt: true });
  assert.ok(chatBoundaryProblems(tok, { messages, enable_thinking: true }, ids2, reply, twice).some((p) => /<\|assistant\|> appears 2 times/.test(p)));
  // planted 3: direct mode without the empty think block
  const noThink: RenderIds = (c) => (c.add_generation_prompt ? real({ ...c, enable_thinking: true }) : real(c));
  const ids3 = noThink({ messages, enable_thinking: false, add_generation_prompt: true });
  const p3 = chatBoundaryProblems(tok, { messages, enable_thinking: false }, ids3, reply, noThink);
  assert.ok(p3.some((p) => /<think>\/<\/think> appear 0\/0 times .*expected 1 in direct mode/.test(p)), p3.join(' | '));
  // prompt ids that are not the template's rendering at all
  assert.ok(chatBoundaryProblems(tok, { messages, enable_thinking: true }, ids1.slice(1), reply).some((p) => /differ from the template/.test(p)));
  assert.throws(() => assertBoundary(p1, { file: 'rl.jsonl', line: 7, label: 'prompt 6' }), /rl\.jsonl:7: prompt: prompt 6: chat-template boundary: the prompt ids are not a prefix/);
  assertBoundary([], { label: 'ok' });
});

test('pad == EOS: the stop token stays in the loss; a mask built from id != pad is caught', () => {
  const eos = tok.requireId(EOS_TOKEN);
  const prompts = [[5, 6, 7], [8, 9]], completions = [[10, 11, eos], [12, eos]];
  const batch = sequenceBatch(prompts, completions, eos);
  assert.deepEqual(eosDroppedRows(batch, [eos, eos]), []);
  // a truncated completion (no stop token) is not checked
  assert.deepEqual(eosDroppedRows(sequenceBatch([[5]], [[10, 11]], eos), [null]), []);
  // the bug: a loss mask that drops every target equal to the pad id
  const [B, T] = batch.ids.shape;
  const planted: SequenceBatch = { ...batch, lossMask: batch.lossMask.map((m, i) => (i % T + 1 < T && batch.ids.data[i + 1] === eos ? 0 : m)) };
  assert.equal(planted.lossMask.reduce((a, b) => a + b, 0), batch.lossMask.reduce((a, b) => a + b, 0) - B);
  assert.deepEqual(eosDroppedRows(planted, [eos, eos]), [0, 1]);
  // the bug: an attention mask from id != pad (the real EOS looks like padding)
  const att = Int32Array.from(batch.ids.data as Int32Array, (id) => (id === eos ? 0 : 1));
  assert.deepEqual(eosDroppedRows({ ...batch, attentionMask: att }, [eos, eos]), [0, 1]);
});

test('reward and value heads read the last real token under right and left padding; planted wrong reads are caught', () => {
  const cfg = { ...loadPreset('tiny'), vocabSize: 64, numHiddenLayers: 2, initializerRange: 0.2, padTokenId: null, eosTokenId: null };
  const rm = new GlmForSequenceClassification(cfg, 1, { seed: 2 });
  const seqs = [[1, 2, 3, 4, 5, 6], [7, 8, 9], [10, 11, 12, 13]];
  const ok = paddingDeviation((ids, mask) => rm.forward(ids, { attentionMask: mask }).data, seqs, 0);
  assert.ok(ok.right < 1e-4 && ok.left < 1e-4, JSON.stringify(ok));
  const value = new ValueModel(new GlmForSequenceClassification(cfg, 1, { seed: 2 }));
  const heads = headPaddingDeviation(rm, value, seqs, 0);
  assert.ok(heads.rm < 1e-4 && heads.value < 1e-4, JSON.stringify(heads));
  // the hidden state at chosen positions, scored by the RM's head
  const scoreAt = (ids: Tensor, mask: Int32Array, pick: (b: number, T: number) => number) => {
    const [B, T] = ids.shape;
    const { hidden } = rm.model.forward(ids, { attentionMask: mask });
    const rows = Tensor.ids(Array.from({ length: B }, (_, b) => b * T + pick(b, T)));
    return rm.score.forward(F.indexSelect(F.reshape(hidden, [B * T, cfg.hiddenSize]), 0, rows)).data;
  };
  // planted 1: always the last position (a pad token under right padding)
  const lastPos = paddingDeviation((ids, mask) => scoreAt(ids, mask, (_b, T) => T - 1), seqs, 0);
  assert.ok(lastPos.right > 1e-3, `reads T-1 under right padding: ${lastPos.right}`);
  assert.ok(lastPos.left < 1e-4);
  // planted 2: position length - 1 counted from the left (wrong under left padding)
  const byLength = paddingDeviation((ids, mask) => scoreAt(ids, mask, (b, T) => mask.subarray(b * T, (b + 1) * T).reduce((a, x) => a + x, 0) - 1), seqs, 0);
  assert.ok(byLength.left > 1e-3, `reads length-1 under left padding: ${byLength.left}`);
  assert.ok(byLength.right < 1e-4);
});
