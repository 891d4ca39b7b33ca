// The RL checks inside the trainers: GRPO and PPO report the step-0 deviation, template and padding
// checks and the alarm fields in metrics.jsonl; --strict-checks stops a run whose sampler applies the
// temperature on its side only (before any update) and a run whose alarm persists (keeping the
// checkpoints); --dump-rollouts writes per-token rollouts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCausalLM } from '../src/models/glm/checkpoint.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer-json.js';
import { generateWorldTask, writeJsonl } from '../src/data/world/index.js';
import { generate } from '../src/generation/generate.js';
import { resolveConfig } from '../src/trainers/base/config.js';
import { readMetrics } from '../src/trainers/base/metrics.js';
import { grpoSchema } from '../src/trainers/grpo/grpo-config.js';
import { loadRlPrompts } from '../src/trainers/grpo/grpo-data.js';
import { GrpoTrainer } from '../src/trainers/grpo/grpo-trainer.js';
import type { RolloutOptions } from '../src/trainers/grpo/rollout.js';
import { PpoTrainer, ppoSchema } from '../src/trainers/ppo/ppo-trainer.js';
import { ValueModel } from '../src/trainers/ppo/value-model.js';
import { rewardModelFromCausal } from '../src/trainers/reward/reward-trainer.js';
import type { DumpRecord } from '../src/trainers/checks/rl-checks.js';
import { makeFixture, type Fixture } from './fixtures.js';
import { assertFiniteIn, tempDir } from './helpers.js';

let fx: Fixture;
let rlFile: string;

test('setup fixture', async () => {
  fx = await makeFixture(tempDir());
  rlFile = join(fx.dir, 'rl.jsonl');
  await writeJsonl(rlFile, generateWorldTask('rl', { n: 8, seed: 4, split: 'train', difficulty: [1, 2] }));
});

/** A GRPO trainer whose sampler may be planted with a temperature of its own. */
class PlantedGrpo extends GrpoTrainer {
  samplerTemperature: number | null = null;
  override rolloutOptions(samplesPerPrompt: number, temperature: number): RolloutOptions {
    const o = super.rolloutOptions(samplesPerPrompt, temperature);
    const t = this.samplerTemperature;
    return t === null ? o : { ...o, generateFn: (m, p, g) => generate(m, p, { ...g, temperature: t }) };
  }
}

function grpo(out: string, extra: Record<string, unknown> = {}): PlantedGrpo {
  const cfg = resolveConfig(grpoSchema, { object: { model: fx.model, data: rlFile, out, max_steps: 2, num_generations: 2, per_device_train_batch_size: 4, max_completion_length: 10, prepass_k: 0, curriculum: 'uniform', dynamic_sampling: false, temperature: 1, quiet: true, ...extra } });
  return new PlantedGrpo(cfg, loadCausalLM(fx.model), loadTokenizer(fx.model), loadRlPrompts(rlFile), null);
}

test('GRPO: checks and alarms in metrics.jsonl; per-token rollout dumps', async () => {
  const out = tempDir();
  await grpo(out, { dump_rollouts: 2, max_steps: 3 }).train();
  const m = readMetrics(join(out, 'metrics.jsonl'));
  assertFiniteIn(m[0]['check/logprob_max_dev'], 'step-0 deviation', 0, 1e-3);
  assertFiniteIn(m[0]['check/logprob_mean_dev'], 'mean deviation', 0, 1e-3);
  assert.equal(m[0]['check/template_violations'], 0);
  for (const k of ['alarm/zero_var_groups', 'alarm/truncated', 'alarm/mean_length', 'alarm/clip_low', 'alarm/clip_high', 'alarm/entropy', 'alarm/grad_norm_bad', 'alarm/length_drift', 'alarm/active']) assertFiniteIn(m[0][k], k, 0);
  assert.equal(m[0]['alarm/length_drift'], 1);
  // dumps at step 1 and 2 (every 2nd step, and the first)
  assert.ok(existsSync(join(out, 'rollouts', 'step-1.jsonl')) && existsSync(join(out, 'rollouts', 'step-2.jsonl')));
  assert.ok(!existsSync(join(out, 'rollouts', 'step-3.jsonl')));
  const recs = readFileSync(join(out, 'rollouts', 'step-1.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as DumpRecord);
  assert.equal(recs.length, 4);
  assert.deepEqual(recs.map((r) => r.sample).sort(), [0, 1, 2, 3]);
  for (const r of recs) {
    const n = r.token_ids.length;
    assert.ok(n >= 1);
    for (const k of ['pieces', 'mask', 'sampler_logprob', 'trainer_logprob', 'entropy', 'advantage'] as const) assert.equal((r[k] as unknown[]).length, n, k);
    assert.equal(r.kept, true);
    assert.ok(r.pieces.every((p) => typeof p === 'string'));
    r.token_ids.forEach((_, t) => {
      if (!r.mask[t]) return;
      assert.ok(Math.abs(r.sampler_logprob[t]! - r.trainer_logprob[t]!) < 1e-3, `token ${t}`);
      assert.ok(r.entropy[t]! > 0);
    });
    assert.equal(typeof r.reward, 'number');
    assert.ok('verifier' in r.reward_parts);
  }
});

test('GRPO --strict-checks: temperature applied only in the sampler stops the run at step 0, before any update', async () => {
  // without strict checks: the deviation is reported and the run goes on
  const loose = tempDir();
  const t1 = grpo(loose, { max_steps: 1 });
  t1.samplerTemperature = 0.5;
  await t1.train();
  const dev = readMetrics(join(loose, 'metrics.jsonl'))[0]['check/logprob_max_dev'] as number;
  assert.ok(dev > 0.01, `planted deviation ${dev}`);
  const out = tempDir();
  const t2 = grpo(out, { strict_checks: true });
  t2.samplerTemperature = 0.5;
  await assert.rejects(t2.train(), (e: Error) => e.name === 'TrainingError' && /grpo: the trainer's log-probs of sampled tokens differ from the sampler's .*worst: prompt \d+/.test(e.message));
  assert.equal(t2.step, 0);
  assert.ok(!existsSync(join(out, 'final')));
  assert.ok(!existsSync(join(out, 'metrics.jsonl')) || readFileSync(join(out, 'metrics.jsonl'), 'utf8') === '');
});

test('GRPO --strict-checks: a persistent zero-variance alarm stops the run and keeps the checkpoints', async () => {
  // the untrained micro model gets reward 0 on every sample: every group has zero variance
  const out = tempDir();
  const t = grpo(out, { strict_checks: true, alarm_patience: 2, max_steps: 4, save_steps: 1 });
  await assert.rejects(t.train(), (e: Error) => e.name === 'TrainingError' && /grpo: alarm zero_var_groups for 2 steps \(step 2\): 100% of groups have zero reward variance/.test(e.message) && /no checkpoint was written before the alarm began/.test(e.message));
  assert.ok(existsSync(join(out, 'checkpoint-1')), 'the checkpoint of step 1 is kept');
  assert.ok(!existsSync(join(out, 'final')));
});

test('PPO: step-0 log-prob deviation, reward/value padding, alarms and a dump with values', async () => {
  const pairs = join(fx.dir, 'pairs.jsonl');
  await writeJsonl(pairs, generateWorldTask('preference', { n: 8, seed: 5 }));
  const tok = loadTokenizer(fx.model);
  const sft = loadCausalLM(fx.model);
  const out = tempDir();
  const cfg = resolveConfig(ppoSchema, { object: { model: fx.model, data: pairs, reward_model: fx.model, out, max_steps: 2, per_device_train_batch_size: 4, num_ppo_epochs: 2, response_length: 8, ptx_coef: 0, quiet: true, dump_rollouts: 1 } });
  const prompts = generateWorldTask('preference', { n: 6, seed: 5 }).map((r) => ({ messages: r.prompt, baseline: 0.1 }));
  await new PpoTrainer(cfg, loadCausalLM(fx.model), sft, new ValueModel(rewardModelFromCausal(sft, 1)), rewardModelFromCausal(sft, 1), tok, prompts, null).train();
  const m = readMetrics(join(out, 'metrics.jsonl'));
  assertFiniteIn(m[0]['check/logprob_max_dev'], 'step-0 deviation', 0, 1e-3);
  assert.equal(m[1]['check/logprob_max_dev'], undefined, 'the second mini-batch runs after an update: not compared');
  assertFiniteIn(m[0]['check/rm_padding_dev'], 'rm padding', 0, 1e-3);
  assertFiniteIn(m[0]['check/value_padding_dev'], 'value padding', 0, 1e-3);
  assert.equal(m[0]['check/template_violations'], 0);
  for (const k of ['alarm/truncated', 'alarm/mean_length', 'alarm/kl', 'alarm/clip_share', 'alarm/entropy', 'alarm/gold_reward']) assertFiniteIn(m[0][k], k);
  const recs = readFileSync(join(out, 'rollouts', 'step-1.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as DumpRecord);
  assert.equal(recs.length, 4);
  for (const r of recs) {
    assert.equal(r.value!.length, r.token_ids.length);
    assert.ok(r.value!.every((v) => typeof v === 'number'));
    assert.ok(r.trainer_logprob.every((v) => typeof v === 'number'), 'every row is trained in the first epoch');
    assert.ok('rm_score' in r.reward_parts && 'gold' in r.reward_parts);
  }
});

test('GRPO on an MoE policy: the training forward routes the sampled tokens to the experts the rollout chose; routing replay runs', async () => {
  const moe = await makeFixture(tempDir(), { moe: true, docs: 40, chats: 4 });
  for (const routing_replay of [false, true]) {
    const out = tempDir();
    const cfg = resolveConfig(grpoSchema, { object: { model: moe.model, data: rlFile, out, max_steps: 2, num_generations: 2, per_device_train_batch_size: 4, max_completion_length: 8, prepass_k: 0, curriculum: 'uniform', dynamic_sampling: false, quiet: true, routing_replay, num_iterations: 2 } });
    await new GrpoTrainer(cfg, loadCausalLM(moe.model), loadTokenizer(moe.model), loadRlPrompts(rlFile), null).train();
    const m = readMetrics(join(out, 'metrics.jsonl'));
    assert.equal(m[0]['check/moe_routing_mismatch'], 0, `replay ${routing_replay}`);
    assertFiniteIn(m[0]['check/logprob_max_dev'], 'deviation', 0, 1e-3);
    assertFiniteIn(m[1].loss, 'loss of the reused rollouts');
  }
});

test('PPO on an MoE policy: sampled tokens keep their experts in the first mini-batch', async () => {
  const moe = await makeFixture(tempDir(), { moe: true, docs: 40, chats: 4 });
  const pairs = join(fx.dir, 'pairs-moe.jsonl');
  await writeJsonl(pairs, generateWorldTask('preference', { n: 4, seed: 5 }));
  const tok = loadTokenizer(moe.model);
  const sft = loadCausalLM(moe.model);
  const out = tempDir();
  const cfg = resolveConfig(ppoSchema, { object: { model: moe.model, data: pairs, reward_model: moe.model, out, max_steps: 1, per_device_train_batch_size: 4, response_length: 6, ptx_coef: 0, quiet: true } });
  const prompts = generateWorldTask('preference', { n: 4, seed: 5 }).map((r) => ({ messages: r.prompt, baseline: 0 }));
  await new PpoTrainer(cfg, loadCausalLM(moe.model), sft, new ValueModel(rewardModelFromCausal(sft, 1)), rewardModelFromCausal(sft, 1), tok, prompts, null).train();
  const m = readMetrics(join(out, 'metrics.jsonl'));
  assert.equal(m[0]['check/moe_routing_mismatch'], 0);
  assertFiniteIn(m[0]['check/logprob_max_dev'], 'deviation', 0, 1e-3);
});
