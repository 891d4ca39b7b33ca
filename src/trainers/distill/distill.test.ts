// Expert iteration: the rejection filters, the hybrid-mode rule and the data mix on constructed
// cases, then one distillation round end to end on a micro model (an expert that learned the answers
// of its prompts by heart; the student is fine-tuned on what the filter kept).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeFixture } from '../../../tests/fixtures.js';
import { loadCausalLM } from '../../models/glm/checkpoint.js';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import { tempDir } from '../../util/temp-dir.js';
import { Rng } from '../../util/rng.js';
import { resolveConfig } from '../base/config.js';
import { SftTrainer, sftSchema } from '../sft/sft-trainer.js';
import { loadSftExamples } from '../sft/sft-data.js';
import { writeJsonl } from '../../data/world/index.js';
import { distillConfig, mixRecords, parseExperts, parseMix, runDistill } from './distill.js';
import { domainPrompts } from './domains.js';
import { quantile, rejectionFilter, type DistillSample } from './filters.js';
import { chooseMode, sftRecord, withoutReasoning } from './hybrid.js';

const user = (t: string): ChatMessage => ({ role: 'user', content: t });
const reply = (content: string, reasoning?: string): ChatMessage => ({ role: 'assistant', content, ...(reasoning ? { reasoning_content: reasoning } : {}) });
const sample = (domain: string, prompt: number, text: string, extra: Partial<DistillSample> = {}): DistillSample => ({
  domain, prompt, messages: [user(`q${prompt}`), reply(text, 'think')], correct: domain === 'chat' ? null : true, score: domain === 'chat' ? 0 : null, wellFormed: true, ...extra,
});

test('quantile interpolates between order statistics', () => {
  assert.equal(quantile([3, 1, 2, 4], 0.5), 2.5);
  assert.equal(quantile([5], 0.9), 5);
  assert.equal(quantile([0, 10], 0.25), 2.5);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

test('rejection filter: wrong, malformed, below the score quantile and duplicate samples are dropped, and counted', () => {
  const samples = [
    sample('reasoning', 0, 'A'),
    sample('reasoning', 0, 'a  '), // the same text up to case and spaces: a duplicate
    sample('reasoning', 0, 'B', { correct: false }),
    sample('reasoning', 1, 'A'), // same text, other prompt: kept
    sample('tool', 0, 'C', { wellFormed: false }),
    sample('chat', 0, 'x', { score: 0.1 }),
    sample('chat', 0, 'y', { score: 0.9 }),
    sample('chat', 1, 'z', { score: 0.5 }),
    sample('chat', 1, 'w', { score: 0.7, wellFormed: false }), // not counted in the quantile either
  ];
  const { kept, stats } = rejectionFilter(samples, { scoreQuantile: 0.5, minScore: -1 }, () => 1);
  // chat threshold: median of 0.1, 0.9, 0.5 = 0.5
  assert.equal(stats.thresholds.chat, 0.5);
  assert.deepEqual(kept.map((s) => `${s.domain}:${s.prompt}:${s.messages[1].content}`), ['reasoning:0:A', 'reasoning:1:A', 'chat:0:y', 'chat:1:z']);
  assert.deepEqual({ ...stats, thresholds: undefined }, { samples: 9, malformed: 2, wrong: 1, below_quantile: 1, duplicates: 1, kept: 4, thresholds: undefined });
  // min_score raises the bar above the quantile
  assert.deepEqual(rejectionFilter(samples, { scoreQuantile: 0, minScore: 0.6 }, () => 1).kept.filter((s) => s.domain === 'chat').map((s) => s.messages[1].content), ['y']);
});

test('hybrid rule: direct when the student is already right often enough, or the domain is listed; reasoning removed in direct mode', () => {
  const rule = { directThreshold: 0.75, directDomains: ['chat'] };
  assert.equal(chooseMode('reasoning', 0.75, rule), 'direct');
  assert.equal(chooseMode('reasoning', 0.5, rule), 'thinking');
  assert.equal(chooseMode('reasoning', null, rule), 'thinking');
  assert.equal(chooseMode('chat', null, rule), 'direct');
  const msgs = [user('q'), { ...reply('', 'call it'), tool_calls: [{ type: 'function' as const, function: { name: 'python', arguments: { code: '1' } } }] }, { role: 'tool' as const, content: '1' }, reply('one', 'done')];
  assert.deepEqual(withoutReasoning(msgs).map((m) => m.reasoning_content ?? null), [null, null, null, null]);
  assert.equal(withoutReasoning(msgs)[1].tool_calls?.length, 1);
  assert.deepEqual(sftRecord(msgs, 'thinking', [{ t: 1 }]), { messages: msgs, enable_thinking: true, tools: [{ t: 1 }] });
  assert.equal(sftRecord(msgs, 'direct').enable_thinking, false);
});

test('data mix: weights split the kept total; parse errors name the entry', () => {
  const by = new Map<'reasoning' | 'tool', number[]>([['reasoning', [1, 2, 3, 4, 5, 6]], ['tool', [7, 8]]]);
  const mixed = mixRecords(by, parseMix('reasoning=1,tool=1', ['reasoning', 'tool']), new Rng(0));
  assert.equal(mixed.length, 8);
  assert.equal(mixed.filter((x) => x >= 7).length, 4, 'tool examples repeated to half of the data');
  assert.equal(mixRecords(by, null, new Rng(0)).length, 8);
  assert.throws(() => parseMix('reasoning=x', ['reasoning']), /--mix takes DOMAIN=WEIGHT/);
  assert.throws(() => parseExperts(['vision=dir'], ['reasoning', 'tool']), /--expert takes DOMAIN=DIR/);
  assert.deepEqual([...parseExperts(['tool=/a'], ['tool'])], [['tool', '/a']]);
});

test('domains: train and test prompts are disjoint and reproducible', () => {
  for (const d of ['reasoning', 'tool', 'chat'] as const) {
    const a = domainPrompts(d, 12, 8, 3), b = domainPrompts(d, 12, 8, 3);
    assert.equal(a.train.length, 12, d);
    assert.equal(a.test.length, 8, d);
    assert.deepEqual(a, b, `${d}: same seed, same prompts`);
    const q = (p: { prompt: ChatMessage[] }) => p.prompt[0].content;
    const test = new Set(a.test.map(q));
    assert.ok(a.train.every((p) => !test.has(q(p))), `${d}: a test prompt among the train prompts`);
  }
});

test('a distillation round end to end: expert samples -> filter -> TRL data (direct mode by the rule) -> student -> scores', async () => {
  const fx = await makeFixture(tempDir());
  const out = tempDir();
  const cfgObj = { base: fx.model, out, domains: 'reasoning', prompts_per_domain: 4, eval_prompts: 4, samples_per_prompt: 2, temperature: 0.5, max_new_tokens: 90, direct_threshold: 0, direct_samples: 1, sft_steps: 3, sft_batch: 4, seed: 1, quiet: true };
  // the expert: the fixture model fine-tuned to answer exactly these prompts (by heart)
  const { train } = domainPrompts('reasoning', 4, 4, 1);
  const tok = loadTokenizer(fx.model);
  const memo = join(fx.dir, 'memo.jsonl');
  await writeJsonl(memo, train.map((p) => ({ messages: [...p.prompt, reply(`The answer is <|begin_of_box|>${p.answer}<|end_of_box|>.`, 'sum')], enable_thinking: true })));
  const expertDir = join(fx.dir, 'expert');
  const sc = resolveConfig(sftSchema, { object: { model: fx.model, data: memo, out: expertDir, max_steps: 120, per_device_train_batch_size: 4, learning_rate: 1e-2, warmup_steps: 1, save_steps: 0, quiet: true, max_seq_length: 256 } });
  await new SftTrainer(sc, loadCausalLM(fx.model), tok, loadSftExamples(memo, tok, 256).examples, null).train();
  const results = await runDistill(distillConfig({ ...cfgObj, expert: [`reasoning=${join(expertDir, 'final')}`] }), () => {});
  assert.equal(results.length, 1);
  const r = results[0];
  assert.ok(r.filter.kept > 0, `the filter kept nothing: ${JSON.stringify(r.filter)}`);
  const lines = readFileSync(join(out, 'round1', 'distill.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, r.data.reasoning.kept);
  for (const l of lines) {
    assert.equal(l.enable_thinking, false, 'direct_threshold 0: every example in direct mode');
    assert.equal(l.messages[0].role, 'user');
    const last = l.messages.at(-1);
    assert.equal(last.role, 'assistant');
    assert.equal(last.reasoning_content, undefined);
    const p = train.find((t) => t.prompt[0].content === l.messages[0].content)!;
    assert.ok(last.content.includes(`<|begin_of_box|>${p.answer}<|end_of_box|>`), 'only right answers are kept');
  }
  assert.equal(r.data.reasoning.direct_share, 1);
  assert.ok(existsSync(join(out, 'round1', 'student', 'final', 'config.json')));
  for (const who of ['base', 'student', 'expert_reasoning']) assert.equal(r.perPrompt[who].reasoning.length, 4, who);
  assert.ok(Number.isFinite(r.scores.student.reasoning) && Number.isFinite(r.scores.experts.reasoning));
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary[0].data.reasoning.kept, r.data.reasoning.kept);
});
