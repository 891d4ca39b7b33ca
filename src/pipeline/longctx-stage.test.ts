// The long-context stage at smoke size: it extends a tiny "SFT" model to 1024 tokens with the NTK
// rope_theta written into the saved config, writes the summary figures, resumes without retraining,
// and refuses a rerun with other settings. Plus its data helpers: documents sized in tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { generateWorldTask, writeJsonl } from '../data/world/index.js';
import { loadPreset } from '../models/glm/config.js';
import { saveModel } from '../models/glm/checkpoint.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { trainBpeFromTexts } from '../tokenizer/bpe-train.js';
import { saveTokenizer } from '../tokenizer/tokenizer-json.js';
import { renderChat } from '../tokenizer/chat.js';
import type { ChatMessage } from '../tokenizer/chat-types.js';
import { EOS_TOKEN, STOP_TOKENS } from '../tokenizer/special-tokens.js';
import { tempDir } from '../util/temp-dir.js';
import { curriculumBands, evalRecords, fittedLongSftChat, interleave, longPretrainText, longSftChat, packLongSequences, trainRecords } from './longctx-data.js';
import { ntkTheta, runLongContextStage, type LongContextSettings } from './longctx-stage.js';

const docs = generateWorldTask('pretrain', { n: 300, seed: 1 }).map((d) => d.text);
const tok = trainBpeFromTexts(docs, { vocabSize: 400 });

test('ntkTheta: theta * s^(d/(d-2)) rounded up to two digits', () => {
  // 10000 * 8^(16/14) = 107,672 -> 110,000
  assert.equal(ntkTheta(10000, 16, 8), 110000);
  assert.equal(ntkTheta(10000, 16, 1), 10000);
  assert.equal(ntkTheta(500000, 64, 4), Math.ceil((500000 * Math.pow(4, 64 / 62)) / 10000) * 10000);
});

test('interleave keeps both lists whole and the share', () => {
  const r = interleave<number | string>([1, 2, 3, 4, 5, 6], ['a', 'b', 'c'], 1 / 3);
  assert.equal(r.length, 9);
  assert.deepEqual(r.filter((x) => typeof x === 'string'), ['a', 'b', 'c']);
  assert.deepEqual(r.slice(0, 3), [1, 2, 'a']);
});

test('evaluation records: held-out documents of the asked length, one list per kind', () => {
  const rs = evalRecords(2, 5, tok, 700);
  assert.deepEqual(rs.map((r) => r.kind), ['needle', 'needle', 'multi_hop', 'multi_hop', 'aggregation', 'aggregation']);
  for (const r of rs) {
    assert.equal(r.doc_tokens, tok.encode(r.document).length);
    assert.ok(r.doc_tokens <= 700 && r.doc_tokens > 500, `${r.doc_tokens} tokens`);
  }
  const train = trainRecords(8, 5, tok, 300, 700);
  assert.equal(train.length, 8);
  assert.deepEqual(train.map((r) => r.doc_tokens_target), [400, 500, 600, 700, 400, 500, 600, 700]); // lengths mixed round robin
});

test('follow-ups: one document, several answers, in the chat and in the packed pre-training sequences', () => {
  const [r] = trainRecords(1, 9, tok, 500, 500, 1, 3);
  assert.equal(r.follow_ups!.length, 3);
  const chat = longSftChat(r).messages as { role: string; content: string }[];
  assert.deepEqual(chat.map((m) => m.role), ['user', 'assistant', 'user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
  assert.equal(chat[2].content, r.follow_ups![0].question); // the document is not repeated
  assert.ok(chat[3].content.endsWith(`<|begin_of_box|>${r.follow_ups![0].answer}<|end_of_box|>`));
  const L = 1024;
  const shorts = docs.slice(0, 100);
  const seqs = packLongSequences([r, r], shorts, tok, L);
  assert.equal(seqs.length, 2);
  const text = tok.encode(longPretrainText(r));
  for (const s of seqs) assert.equal(s.length, L + 1);
  assert.deepEqual(Array.from(seqs[0].subarray(0, text.length)), text); // each sequence starts with a whole record
  assert.deepEqual(Array.from(seqs[1].subarray(0, text.length)), text);
  assert.notDeepEqual(Array.from(seqs[0].subarray(text.length + 1)), Array.from(seqs[1].subarray(text.length + 1))); // filled from the ordinary documents in order
  // too long for the context: the trailing follow-ups go, never the document or its first answer
  const short = tok.encode(longPretrainText({ ...r, follow_ups: [] })).length;
  const [cut] = packLongSequences([r], shorts, tok, short + 2);
  assert.deepEqual(Array.from(cut.subarray(0, short)), tok.encode(longPretrainText({ ...r, follow_ups: [] })));
  assert.throws(() => packLongSequences([r], shorts, tok, short - 10), (e: unknown) => e instanceof ConfigError && /more than the context/.test(e.message));
  assert.throws(() => packLongSequences([r, r], shorts.slice(0, 2), tok, 8192), (e: unknown) => e instanceof ConfigError && /too few/.test(e.message));
});

/** A pipeline-like folder for the stage: data/ (pretrain, sft, level-2 arithmetic) and a 1-layer tiny "SFT" model. */
async function stageBase(prefix: string): Promise<{ base: string; data: string; sft: string }> {
  const base = tempDir(prefix);
  const data = join(base, 'data');
  mkdirSync(data, { recursive: true });
  await writeJsonl(join(data, 'pretrain.jsonl'), docs.map((text) => ({ text })));
  await writeJsonl(join(data, 'sft.jsonl'), generateWorldTask('sft', { n: 20, seed: 2, split: 'train' }));
  await writeJsonl(join(data, 'eval_arith_l2.jsonl'), generateWorldTask('rl', { n: 40, seed: 3, split: 'test', difficulty: [2] }).filter((r) => r.task === 'arithmetic').slice(0, 4));
  const sft = join(base, 'sft', 'final');
  const model = new GlmForCausalLM({ ...loadPreset('tiny'), numHiddenLayers: 1, padTokenId: tok.requireId(EOS_TOKEN), eosTokenId: STOP_TOKENS.map((t) => tok.requireId(t)), bosTokenId: null }, { seed: 0 });
  saveModel(sft, model);
  saveTokenizer(tok, sft);
  return { base, data, sft };
}

test('fittedLongSftChat keeps the follow-ups that fit the context, then none, then refuses', () => {
  const [r] = trainRecords(1, 9, tok, 500, 500, 1, 3);
  const size = (c: Record<string, unknown>) => renderChat(tok, { messages: c.messages as ChatMessage[], enable_thinking: false }).ids.length - 1;
  const full = longSftChat(r), first = longSftChat({ ...r, follow_ups: [] });
  assert.deepEqual(fittedLongSftChat(r, tok, size(full)), full);
  const two = longSftChat({ ...r, follow_ups: r.follow_ups!.slice(0, 2) });
  assert.deepEqual(fittedLongSftChat(r, tok, size(full) - 1), two);
  assert.deepEqual(fittedLongSftChat(r, tok, size(two) - 1).messages, longSftChat({ ...r, follow_ups: r.follow_ups!.slice(0, 1) }).messages);
  assert.deepEqual(fittedLongSftChat(r, tok, size(first)), first);
  assert.throws(() => fittedLongSftChat(r, tok, size(first) - 1), (e: unknown) => e instanceof ConfigError && /does not fit the context/.test(e.message));
});

test('quick stage: extends, reports, resumes, refuses other settings', async () => {
  const { base, data, sft } = await stageBase('glmkit-longctx-');
  const settings: LongContextSettings = { length: 4096, rope_theta: 0, retrieval_steps: 40, curriculum_steps: 0, pretrain_steps: 50, pretrain_lr: 1e-3, sft_steps: 50, sft_lr: 5e-4, batch: 2, short_share: 0.3, follow_ups: 8, eval_items: 50, short_eval_items: 100, visit_style: 'sentence' };
  const out = join(base, 'run');
  const logs: string[] = [];
  const ctx = { out, dataDir: data, sftDir: sft, seed: 0, quick: true, quiet: true, log: (s: string) => logs.push(s) };
  const summary = await runLongContextStage(ctx, settings);
  const cfg = JSON.parse(readFileSync(join(out, 'longctx', 'final', 'config.json'), 'utf8'));
  assert.equal(cfg.max_position_embeddings, 1024);
  assert.equal(cfg.rope_theta, ntkTheta(10000, 16, 2)); // 512 -> 1024, rotary dim 16
  const ev = summary.eval as { test: Record<string, { accuracy: number; n: number }>; short_context: { before: number; after: number; n: number } };
  assert.deepEqual(Object.keys(ev.test), ['needle', 'multi_hop', 'aggregation']);
  for (const k of Object.values(ev.test)) assert.ok(k.n === 2 && k.accuracy >= 0 && k.accuracy <= 1);
  assert.equal(ev.short_context.n, 2);
  const probe = (summary.eval as { copy_probe: Record<'before' | 'after', { first: number; repeat: number }> }).copy_probe;
  for (const p of [probe.before, probe.after]) assert.ok(Number.isFinite(p.first) && Number.isFinite(p.repeat) && p.first > 0, JSON.stringify(p));
  assert.ok(ev.short_context.before >= 0 && ev.short_context.after <= 1);
  const state = JSON.parse(readFileSync(join(out, 'longctx', 'longctx_state.json'), 'utf8'));
  assert.deepEqual(state.done, ['data', 'init', 'retrieval', 'curriculum', 'pretrain', 'sft', 'rehearsal', 'eval']);
  assert.ok(!('rehearsal_steps' in state.settings) && !existsSync(join(out, 'longctx', 'rehearsal')), 'no rehearsal: the settings hash as before it existed');
  assert.equal((summary.retrieval as { steps: number }).steps, 2); // the warm-up ran (quick: 2 steps) and the pre-training continued from it
  assert.equal(JSON.parse(readFileSync(join(out, 'longctx', 'pretrain', 'training_config.json'), 'utf8')).model, join(out, 'longctx', 'retrieval', 'final'));
  // a rerun skips every sub-step and gives the same summary
  const again: string[] = [];
  const summary2 = await runLongContextStage({ ...ctx, log: (s) => again.push(s) }, settings);
  assert.deepEqual(summary2, summary);
  assert.equal(again.filter((s) => s.includes('already done')).length, 8);
  await assert.rejects(runLongContextStage(ctx, { ...settings, short_share: 0.5 }), (e: unknown) => e instanceof ConfigError && /short_share/.test(e.message));
});

test('quick stage with yarn: the base keeps its rope_theta, config.json gets rope_scaling yarn over the trained context', async () => {
  const { base, data, sft } = await stageBase('glmkit-longctx-yarn-');
  const settings: LongContextSettings = { length: 4096, rope_theta: 0, rope_scaling: 'yarn', retrieval_steps: 0, curriculum_steps: 0, pretrain_steps: 0, pretrain_lr: 1e-3, sft_steps: 50, sft_lr: 5e-4, batch: 2, short_share: 0.3, follow_ups: 2, eval_items: 50, short_eval_items: 100, visit_style: 'pair' };
  const summary = await runLongContextStage({ out: join(base, 'run'), dataDir: data, sftDir: sft, seed: 0, quick: true, quiet: true, log: () => {} }, settings);
  const cfg = JSON.parse(readFileSync(join(base, 'run', 'longctx', 'final', 'config.json'), 'utf8'));
  assert.equal(cfg.max_position_embeddings, 1024);
  assert.equal(cfg.rope_theta, 10000);
  const rs = cfg.rope_scaling ?? cfg.rope_parameters;
  assert.equal(rs.rope_type, 'yarn');
  assert.equal(rs.factor, 2);
  assert.equal(rs.original_max_position_embeddings, 512);
  assert.deepEqual(summary.rope_scaling, { rope_type: 'yarn', factor: 2, original_max_position_embeddings: 512 });
});

test('curriculum bands: growing documents, follow-ups that fit the context', () => {
  const bands = curriculumBands(4096, 11, 256);
  assert.deepEqual(bands.map((b) => [b.minTokens, b.maxTokens]), [[819, 1638], [1638, 2867]]);
  assert.deepEqual(bands.map((b) => b.followUps), [11, 11]);
  // a short context leaves room for fewer follow-ups, never fewer than none
  assert.deepEqual(curriculumBands(1024, 11, 256).map((b) => b.followUps), [4, 0]);
});

test('quick stage with a curriculum and no long pre-training: each band starts from the last, the SFT from the last band', async () => {
  const { base, data, sft } = await stageBase('glmkit-longctx-cur-');
  const settings: LongContextSettings = { length: 4096, rope_theta: 0, retrieval_steps: 40, curriculum_steps: 300, pretrain_steps: 0, pretrain_lr: 1e-3, sft_steps: 50, sft_lr: 5e-4, batch: 2, short_share: 0.25, follow_ups: 8, eval_items: 50, short_eval_items: 100, visit_style: 'pair', rehearsal_steps: 150 };
  const out = join(base, 'run');
  const summary = await runLongContextStage({ out, dataDir: data, sftDir: sft, seed: 0, quick: true, quiet: true, log: () => {} }, settings);
  const lc = join(out, 'longctx');
  const from = (d: string) => JSON.parse(readFileSync(join(lc, d, 'training_config.json'), 'utf8')).model;
  assert.equal(from('curriculum/band_1'), join(lc, 'retrieval', 'final'));
  assert.equal(from('curriculum/band_2'), join(lc, 'curriculum', 'band_1', 'final'));
  assert.equal(from('sft'), join(lc, 'curriculum', 'band_2', 'final'));
  // the rehearsal trains the long SFT's final model on the ordinary chats alone, and its model is the stage's
  const reh = JSON.parse(readFileSync(join(lc, 'rehearsal', 'training_config.json'), 'utf8'));
  assert.equal(reh.model, join(lc, 'sft', 'final'));
  assert.deepEqual([reh.data].flat(), [join(data, 'sft.jsonl')]);
  assert.deepEqual([reh.max_steps, reh.per_device_train_batch_size, reh.learning_rate], [2, 16, 2e-4]); // quick: 2 steps
  assert.equal((summary.eval as { selected: string }).selected, join(lc, 'rehearsal', 'final'));
  assert.ok(!existsSync(join(lc, 'pretrain')) && !existsSync(join(lc, 'data', 'pretrain_long.jsonl')));
  const cur = summary.curriculum as { steps: number; doc_tokens: number[] }[];
  assert.deepEqual(cur.map((c) => [c.steps, ...c.doc_tokens]), [[2, 205, 410], [2, 410, 717]]); // quick: 1,024 tokens, 2 steps a band
  type Chat = { messages: { content: string }[]; enable_thinking?: boolean };
  const chatsOf = (file: string) => readFileSync(join(lc, 'data', file), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Chat);
  // the ordinary chats of a training file rehearse both modes (the file holds each question in thinking, then direct mode)
  const ordinaryModes = (chats: Chat[]) => chats.filter((c) => !c.messages[0].content.includes('[1]')).map((c) => c.enable_thinking).sort();
  // the warm-up: 8 chats (2 steps of 4), a quarter of them ordinary ones
  assert.deepEqual(ordinaryModes(chatsOf('retrieval.jsonl')), [false, true]);
  assert.equal(chatsOf('retrieval.jsonl').length, 8);
  // each band: 8 chats (2 steps of 4), a quarter of them ordinary ones, the rest longdoc chats of the band's lengths
  for (const [k, b] of curriculumBands(1024, 11, 256).entries()) {
    const chats = chatsOf(`curriculum_${k + 1}.jsonl`);
    const long = chats.filter((c) => c.messages[0].content.includes('[1]'));
    assert.equal(chats.length - long.length, 2, `band ${k + 1}`);
    assert.deepEqual(ordinaryModes(chats), [false, true], `band ${k + 1}`);
    assert.ok(long.length >= 6);
    for (const c of long) assert.ok(c.messages.length <= 2 + 2 * b.followUps); // a short document may hold fewer distinct questions
    if (b.followUps > 0) assert.ok(long.some((c) => c.messages.length > 2));
  }
  const sftChats = readFileSync(join(lc, 'data', 'sft_long.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { messages: { content: string }[] });
  assert.ok(sftChats.length >= 2);
});

test('quick stage with per-sequence loss weighting: every SFT sub-step trains with it, and the default leaves the settings as before', async () => {
  const { base, data, sft } = await stageBase('glmkit-longctx-seq-');
  const settings: LongContextSettings = { length: 4096, rope_theta: 0, rope_scaling: 'yarn', retrieval_steps: 40, curriculum_steps: 300, pretrain_steps: 0, pretrain_lr: 1e-3, sft_steps: 50, sft_lr: 5e-4, batch: 2, short_share: 0.25, follow_ups: 2, eval_items: 50, short_eval_items: 100, visit_style: 'pair' };
  const run = async (name: string, s: LongContextSettings) => {
    const out = join(base, name);
    await runLongContextStage({ out, dataDir: data, sftDir: sft, seed: 0, quick: true, quiet: true, log: () => {} }, s);
    const lc = join(out, 'longctx');
    const weighting = ['retrieval', 'curriculum/band_1', 'curriculum/band_2', 'sft'].map((d) => JSON.parse(readFileSync(join(lc, d, 'training_config.json'), 'utf8')).loss_weighting);
    return { weighting, settings: JSON.parse(readFileSync(join(lc, 'longctx_state.json'), 'utf8')).settings, loss: JSON.parse(readFileSync(join(lc, 'sft', 'metrics.jsonl'), 'utf8').trim().split('\n')[0]).loss };
  };
  const seq = await run('seq', { ...settings, loss_weighting: 'sequence' });
  assert.deepEqual(seq.weighting, ['sequence', 'sequence', 'sequence', 'sequence']);
  assert.equal(seq.settings.loss_weighting, 'sequence');
  const tok = await run('tok', { ...settings, loss_weighting: 'token' });
  assert.deepEqual(tok.weighting, ['token', 'token', 'token', 'token']);
  assert.ok(!('loss_weighting' in tok.settings), 'token weighting hashes as runs made before the key existed');
  assert.notEqual(seq.loss, tok.loss);
});
