// Preference alignment end to end on a micro model: the quick alignment stages, the CLI commands,
// and the frozen reference (its weights and log-probs never change while the policy trains).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readMetrics } from '../src/trainers/base/metrics.js';
import { castWeights, loadCausalLM, loadModel } from '../src/models/glm/checkpoint.js';
import { GlmForSequenceClassification } from '../src/models/glm/model.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer-json.js';
import { generateWorldTask, writeJsonl } from '../src/data/world/index.js';
import { loadPreferenceData } from '../src/data/preference.js';
import { resolveConfig } from '../src/trainers/base/config.js';
import { DpoTrainer, dpoSchema, sequenceLogps } from '../src/trainers/dpo/dpo-trainer.js';
import { PpoTrainer, ppoSchema } from '../src/trainers/ppo/ppo-trainer.js';
import { ValueModel } from '../src/trainers/ppo/value-model.js';
import { RewardTrainer, rewardModelFromCausal, rewardSchema } from '../src/trainers/reward/reward-trainer.js';
import { responseBatch } from '../src/data/preference.js';
import { noGrad } from '../src/tensor/autograd.js';
import { evaluateRewardModel, runAlignmentStages } from '../src/pipeline/alignment-stage.js';
import { makeFixture, type Fixture } from './fixtures.js';
import { assertFiniteIn, runCli, tempDir } from './helpers.js';

let fx: Fixture;
let pairs: string;

const snapshot = (m: { stateDict(): Map<string, { data: ArrayLike<number> }> }) => new Map([...m.stateDict()].map(([k, t]) => [k, Float32Array.from(t.data)]));
const sameWeights = (a: Map<string, Float32Array>, b: Map<string, Float32Array>) => [...a].every(([k, v]) => b.get(k)!.every((x, i) => x === v[i]));

test('setup fixture', async () => {
  fx = await makeFixture(tempDir());
  pairs = join(fx.dir, 'pairs.jsonl');
  await writeJsonl(pairs, generateWorldTask('preference', { n: 24, seed: 5 }));
});

test('DPO: the reference model and its log-probs never change while the policy trains', async () => {
  const tok = loadTokenizer(fx.model);
  const data = loadPreferenceData(pairs, tok, { maxLen: 1024 });
  const policy = loadCausalLM(fx.model), ref = loadCausalLM(fx.model);
  const before = snapshot(ref), policyBefore = snapshot(policy);
  const probe = responseBatch(data.pairs.slice(0, 4).map((p) => p.chosen), tok.requireId('<|endoftext|>'));
  const refLp = noGrad(() => sequenceLogps(ref, probe)).data.slice();
  const cfg = resolveConfig(dpoSchema, { object: { model: fx.model, data: pairs, out: tempDir(), max_steps: 4, per_device_train_batch_size: 4, learning_rate: 1e-2, warmup_steps: 0, quiet: true } });
  const trainer = new DpoTrainer(cfg, policy, ref, tok, data.pairs, null);
  await trainer.train();
  assert.ok(sameWeights(before, snapshot(ref)), 'reference weights changed');
  assert.ok(!sameWeights(policyBefore, snapshot(policy)), 'policy did not train');
  assert.deepEqual(noGrad(() => sequenceLogps(ref, probe)).data.slice(), refLp);
  assert.equal(trainer.reference.size, 2 * 16, 'reference log-probs are computed once per sequence seen');
  const m = readMetrics(join(cfg.out, 'metrics.jsonl'));
  for (const k of ['rewards/chosen', 'rewards/rejected', 'rewards/margins']) assertFiniteIn(m[0][k], k);
  assertFiniteIn(m[0]['rewards/accuracies'], 'rewards/accuracies', 0, 1);
  assertFiniteIn(m[0]['logps/chosen'], 'logps/chosen', -Infinity, 0);
});

test('DPO with the reference held in bf16: its log-probs are those of the rounded f32 reference, and the policy trains', async () => {
  const tok = loadTokenizer(fx.model);
  const data = loadPreferenceData(pairs, tok, { maxLen: 1024 });
  const ref16 = loadCausalLM(fx.model, { dtype: 'bf16' });
  const rounded = loadCausalLM(fx.model, { dtype: 'bf16' });
  castWeights(rounded, 'f32');
  const probe = responseBatch(data.pairs.slice(0, 4).map((p) => p.chosen), tok.requireId('<|endoftext|>'));
  const lp16 = noGrad(() => sequenceLogps(ref16, probe)).data, lp32 = noGrad(() => sequenceLogps(rounded, probe)).data;
  for (let i = 0; i < lp16.length; i++) assert.ok(Math.abs(lp16[i] - lp32[i]) < 1e-3 * (1 + Math.abs(lp32[i])), `row ${i}: ${lp16[i]} vs ${lp32[i]}`);
  const policy = loadCausalLM(fx.model), policyBefore = snapshot(policy), refBefore = snapshot(ref16);
  const cfg = resolveConfig(dpoSchema, { object: { model: fx.model, data: pairs, out: tempDir(), max_steps: 3, per_device_train_batch_size: 4, learning_rate: 1e-2, warmup_steps: 0, quiet: true, frozen_dtype: 'bf16' } });
  await new DpoTrainer(cfg, policy, ref16, tok, data.pairs, null).train();
  assert.ok(!sameWeights(policyBefore, snapshot(policy)), 'policy did not train');
  assert.ok(sameWeights(refBefore, snapshot(ref16)), 'bf16 reference changed');
  assertFiniteIn(readMetrics(join(cfg.out, 'metrics.jsonl'))[0]['rewards/margins'], 'rewards/margins');
});

test('PPO: reference and reward model frozen, policy and value trained, TRL metric names', async () => {
  const tok = loadTokenizer(fx.model);
  const sft = loadCausalLM(fx.model);
  const rm = rewardModelFromCausal(sft, 1);
  const value = new ValueModel(rewardModelFromCausal(sft, 1));
  const policy = loadCausalLM(fx.model);
  const [refBefore, rmBefore, valueBefore] = [snapshot(sft), snapshot(rm), snapshot(value)];
  const cfg = resolveConfig(ppoSchema, { object: { model: fx.model, data: pairs, reward_model: fx.model, out: tempDir(), max_steps: 4, per_device_train_batch_size: 4, num_ppo_epochs: 2, response_length: 8, learning_rate: 1e-2, ptx_coef: 0, quiet: true } });
  const prompts = generateWorldTask('preference', { n: 6, seed: 5 }).map((r) => ({ messages: r.prompt, baseline: 0.1 }));
  await new PpoTrainer(cfg, policy, sft, value, rm, tok, prompts, null).train();
  assert.ok(sameWeights(refBefore, snapshot(sft)), 'reference changed');
  assert.ok(sameWeights(rmBefore, snapshot(rm)), 'reward model changed');
  assert.ok(!sameWeights(valueBefore, snapshot(value)), 'value model did not train');
  const m = readMetrics(join(cfg.out, 'metrics.jsonl'));
  assert.equal(m.length, 4);
  for (const k of ['objective/kl', 'objective/scores', 'objective/rlhf_reward', 'objective/non_score_reward', 'policy/approxkl_avg', 'loss/policy_avg']) assertFiniteIn(m[0][k], k);
  for (const k of ['policy/clipfrac_avg', 'val/clipfrac_avg']) assertFiniteIn(m[0][k], k, 0, 1);
  assertFiniteIn(m[0]['loss/value_avg'], 'loss/value_avg', 0);
  // 2 epochs x 1 mini-batch per rollout: steps 1-2 share rollout 1, steps 3-4 rollout 2
  assert.deepEqual(m.map((x) => x.rollouts), [1, 1, 2, 2]);
  // the first update of a rollout is on-policy: ratio 1, nothing clipped
  assert.ok(Math.abs((m[0]['val/ratio'] as number) - 1) < 1e-3);
  assert.equal(m[0]['policy/clipfrac_avg'], 0);
});

test('PPO: the value of a prefix is shifted by the prompt baseline, so its first fit does not depend on r(x, y_ref)', async () => {
  // gamma = lam = 1, no KL: every return is score - baseline, every value head output - baseline, so
  // the first value loss is 0.5 mean (head - score)^2 whatever the baseline; unshifted it would grow by it
  const tok = loadTokenizer(fx.model);
  const firstValueLoss = async (baseline: number) => {
    const sft = loadCausalLM(fx.model);
    const cfg = resolveConfig(ppoSchema, { object: { model: fx.model, data: pairs, reward_model: fx.model, out: tempDir(), max_steps: 1, per_device_train_batch_size: 4, response_length: 6, kl_coef: 0, gamma: 1, lam: 1, ptx_coef: 0, quiet: true } });
    const prompts = generateWorldTask('preference', { n: 4, seed: 5 }).map((r) => ({ messages: r.prompt, baseline }));
    await new PpoTrainer(cfg, loadCausalLM(fx.model), sft, new ValueModel(rewardModelFromCausal(sft, 1)), rewardModelFromCausal(sft, 1), tok, prompts, null).train();
    return readMetrics(join(cfg.out, 'metrics.jsonl'))[0]['loss/value_avg'] as number;
  };
  const [l0, l5] = [await firstValueLoss(0), await firstValueLoss(5)];
  assert.ok(Math.abs(l0 - l5) < 1e-4 * Math.max(1, l0), `value loss ${l0} (baseline 0) vs ${l5} (baseline 5)`);
  assert.ok(l5 < 12.5 / 2, `value loss ${l5}: a value 5 away from every return would give about 0.5 * 5^2 = 12.5`);
});

test('quick alignment stages: RM -> PPO, DPO, EXO -> gold reward and KL for each', async () => {
  const out = tempDir();
  mkdirSync(join(out, 'data'));
  copyFileSync(fx.sftData, join(out, 'data', 'sft.jsonl'));
  const s = await runAlignmentStages({ out, dataDir: join(out, 'data'), sftDir: fx.model, seed: 0, quick: true, quiet: true, log: () => {} });
  const rmAcc = (s.reward_model as { accuracy: number }).accuracy;
  assert.ok(rmAcc >= 0 && rmAcc <= 1);
  assertFiniteIn((s.sft as { gold_reward: number }).gold_reward, 'sft gold_reward', 0, 1);
  for (const k of ['ppo', 'dpo', 'exo']) {
    const r = s[k] as { gold_reward: number; kl: number };
    assert.ok(r.gold_reward >= 0 && r.gold_reward <= 1, k);
    assert.ok(Number.isFinite(r.kl), k);
  }
  assert.ok(loadModel(join(out, 'reward', 'final')) instanceof GlmForSequenceClassification);
  assert.ok(loadCausalLM(s.best_model as string));
  // a second run finds everything done
  const again = await runAlignmentStages({ out, dataDir: join(out, 'data'), sftDir: fx.model, seed: 0, quick: true, quiet: true, log: () => {} });
  assert.deepEqual(again.ppo, s.ppo);
});

test('CLI: reward, dpo, exo (pref and rw) and ppo run; bad input is one clear line', () => {
  const rmOut = tempDir();
  let r = runCli(['reward', '--model', fx.model, '--data', pairs, '--eval-data', pairs, '--out', rmOut, '--max-steps', '2', '--per-device-train-batch-size', '4', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const rmRes = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assertFiniteIn(rmRes.eval.accuracy, 'reward model eval accuracy', 0, 1);
  // world pairs: the held-out accuracy is also split by what decides a pair
  assert.ok(rmRes.eval.count_style_pairs + rmRes.eval.count_correctness_pairs > 0);
  assert.equal(rmRes.eval.count_slip_pairs + rmRes.eval.count_misread_pairs, rmRes.eval.count_correctness_pairs);
  const rm = join(rmOut, 'final');
  // a reward model continues training (a correctness warm-up, then mixed pairs: docs/experiments/alignment.md)
  r = runCli(['reward', '--model', rm, '--data', pairs, '--out', tempDir(), '--max-steps', '1', '--per-device-train-batch-size', '4', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  r = runCli(['dpo', '--model', fx.model, '--data', pairs, '--out', tempDir(), '--max-steps', '2', '--per-device-train-batch-size', '4', '--rpo-alpha', '0.1', '--frozen-dtype', 'bf16', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  r = runCli(['exo', '--model', fx.model, '--data', pairs, '--mode', 'pref', '--out', tempDir(), '--max-steps', '2', '--per-device-train-batch-size', '2', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  r = runCli(['exo', '--model', fx.model, '--data', pairs, '--reward-model', rm, '--out', tempDir(), '--max-steps', '2', '--per-device-train-batch-size', '2', '--max-prompts', '4', '--max-new-tokens', '6', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  r = runCli(['ppo', '--model', fx.model, '--data', pairs, '--reward-model', rm, '--sft-data', fx.sftData, '--eval-data', pairs, '--out', tempDir(), '--max-steps', '2', '--per-device-train-batch-size', '4', '--max-prompts', '6', '--response-length', '6', '--filter-min-std', '0', '--frozen-dtype', 'bf16', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const ppoRes = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assertFiniteIn(ppoRes.eval.kl, 'ppo eval kl');
  r = runCli(['ppo', '--model', fx.model, '--data', pairs, '--reward-model', fx.model, '--out', tempDir(), '--quiet']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /expected a reward model/);
  r = runCli(['exo', '--model', fx.model, '--data', pairs, '--out', tempDir()]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--mode rw needs --reward-model/);
  assert.match(runCli(['dpo', '--help']).stdout, /--rpo-alpha/);
  assert.match(runCli(['align-sweep', '--help']).stdout, /--dpo-pairs/);
  const bad = runCli(['align-sweep', '--dpo-pairs', 'some']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /dpo_pairs|dpo-pairs/);
});

test('reward model learns a preference it can see (rude vs polite) and generalises to held-out pairs', async () => {
  const tok = loadTokenizer(fx.model);
  const mk = (n: number) => ({ prompt: [{ role: 'user', content: `What is ${n} + 1?` }], chosen: [{ role: 'assistant', content: `It is ${n + 1}.` }], rejected: [{ role: 'assistant', content: `It is ${n + 1}. Stop wasting my time.` }] });
  const train = join(fx.dir, 'rm-train.jsonl'), test = join(fx.dir, 'rm-test.jsonl');
  await writeJsonl(train, Array.from({ length: 40 }, (_, i) => mk(i)));
  await writeJsonl(test, Array.from({ length: 20 }, (_, i) => mk(100 + i)));
  const cfg = resolveConfig(rewardSchema, { object: { model: fx.model, data: train, out: tempDir(), max_steps: 30, per_device_train_batch_size: 8, learning_rate: 3e-3, warmup_steps: 2, quiet: true } });
  const rm = rewardModelFromCausal(loadCausalLM(fx.model), 0);
  const tr = loadPreferenceData(train, tok, { maxLen: 256, balanceLength: false });
  const te = loadPreferenceData(test, tok, { maxLen: 256 });
  const before = evaluateRewardModel(rm, tok, te.pairs).accuracy;
  await new RewardTrainer(cfg, rm, tok, tr.pairs, null).train();
  const after = evaluateRewardModel(rm, tok, te.pairs);
  assert.ok(after.accuracy >= 0.9, `held-out accuracy ${before} -> ${after.accuracy}`);
  assert.ok(after.margin > 0);
  assert.ok(loadModel(join(cfg.out, 'final')) instanceof GlmForSequenceClassification);
});
