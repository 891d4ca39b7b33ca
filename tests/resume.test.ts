// Exact resume of every trainer: a run stopped right after checkpoint k (its checkpoint folder and its
// metrics.jsonl, which may hold rows past k, are all that is left) and resumed with --resume writes the
// same metrics.jsonl, value for value, as the run that never stopped (threads 1). Also: --resume with
// nothing to resume, and --max-steps at or below the saved step, are errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readMetrics, type Metrics } from '../src/trainers/base/metrics.js';
import { loadCausalLM } from '../src/models/glm/checkpoint.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer-json.js';
import type { Tokenizer } from '../src/tokenizer/tokenizer.js';
import { generateWorldTask, writeJsonl } from '../src/data/world/index.js';
import { loadPreferenceData } from '../src/data/preference.js';
import { resolveConfig, type Schema, type Values } from '../src/trainers/base/config.js';
import type { Trainer } from '../src/trainers/base/trainer.js';
import { PretrainTrainer, packText, pretrainSchema } from '../src/trainers/pretrain/pretrain-trainer.js';
import { SftTrainer, sftSchema } from '../src/trainers/sft/sft-trainer.js';
import { loadSftExamples } from '../src/trainers/sft/sft-data.js';
import { RewardTrainer, rewardModelFromCausal, rewardSchema } from '../src/trainers/reward/reward-trainer.js';
import { DpoTrainer, dpoSchema } from '../src/trainers/dpo/dpo-trainer.js';
import { ExoTrainer, exoSchema, pairGroups } from '../src/trainers/exo/exo-trainer.js';
import { PpoTrainer, ppoSchema } from '../src/trainers/ppo/ppo-trainer.js';
import { ValueModel } from '../src/trainers/ppo/value-model.js';
import { grpoSchema } from '../src/trainers/grpo/grpo-config.js';
import { loadRlPrompts } from '../src/trainers/grpo/grpo-data.js';
import { GrpoTrainer } from '../src/trainers/grpo/grpo-trainer.js';
import { makeFixture, type Fixture } from './fixtures.js';
import { root, runCli, tempDir } from './helpers.js';

let fx: Fixture;
let tok: Tokenizer;
let pairs: string;
let rl: string;
let rlEval: string;

test('setup fixture', async () => {
  fx = await makeFixture(tempDir(), { docs: 40, chats: 16 });
  tok = loadTokenizer(fx.model);
  pairs = join(fx.dir, 'pairs.jsonl');
  await writeJsonl(pairs, generateWorldTask('preference', { n: 12, seed: 5 }));
  rl = join(fx.dir, 'rl.jsonl');
  rlEval = join(fx.dir, 'rl_eval.jsonl');
  await writeJsonl(rl, generateWorldTask('rl', { n: 8, seed: 4, split: 'train', difficulty: [1, 2] }));
  await writeJsonl(rlEval, generateWorldTask('rl', { n: 2, seed: 5, split: 'test', difficulty: [1] }));
});

/** Everything but the wall-clock throughput. */
const comparable = (m: Metrics[]) => m.map(({ tokens_per_s: _t, ...rest }) => rest);

type Make = (out: string, resume: 'false' | 'true') => Trainer;

function config<S extends Schema>(schema: S, out: string, resume: string, obj: Record<string, unknown>): Values<S> {
  return resolveConfig(schema, { object: { threads: 1, quiet: true, warmup_steps: 1, ...obj, out, resume } });
}

/**
 * Runs `steps` straight (checkpoint every `k`), then resumes a copy of checkpoint-k (plus the full
 * metrics.jsonl, as a run killed later than k leaves it) and compares the two metrics files.
 */
async function assertExactResume(make: Make, steps: number, k: number): Promise<void> {
  const straight = tempDir();
  await make(straight, 'false').train();
  const full = readMetrics(join(straight, 'metrics.jsonl'));
  assert.ok(full.length >= steps, `straight run logged ${full.length} rows`);
  const killed = tempDir();
  assert.ok(existsSync(join(straight, `checkpoint-${k}`)));
  cpSync(join(straight, `checkpoint-${k}`), join(killed, `checkpoint-${k}`), { recursive: true });
  cpSync(join(straight, 'metrics.jsonl'), join(killed, 'metrics.jsonl'));
  await make(killed, 'true').train();
  const resumed = readMetrics(join(killed, 'metrics.jsonl'));
  assert.deepEqual(comparable(resumed), comparable(full));
}

test('pretrain resumes exactly', async () => {
  const seqs = packText(fx.pretrainData, tok, 16);
  await assertExactResume((out, resume) => new PretrainTrainer(config(pretrainSchema, out, resume, { model: fx.model, data: fx.pretrainData, max_steps: 4, save_steps: 2, per_device_train_batch_size: 2, max_seq_length: 16 }), loadCausalLM(fx.model), tok, seqs, null), 4, 2);
});

test('sft resumes exactly', async () => {
  const ex = loadSftExamples(fx.sftData, tok, 400).examples;
  await assertExactResume((out, resume) => new SftTrainer(config(sftSchema, out, resume, { model: fx.model, data: fx.sftData, max_steps: 4, save_steps: 2, per_device_train_batch_size: 2, max_seq_length: 400 }), loadCausalLM(fx.model), tok, ex, null), 4, 2);
});

test('reward resumes exactly', async () => {
  const data = loadPreferenceData(pairs, tok, { maxLen: 512 }).pairs;
  await assertExactResume((out, resume) => new RewardTrainer(config(rewardSchema, out, resume, { model: fx.model, data: pairs, max_steps: 4, save_steps: 2, per_device_train_batch_size: 2 }), rewardModelFromCausal(loadCausalLM(fx.model), 0), tok, data, null), 4, 2);
});

test('dpo resumes exactly', async () => {
  const data = loadPreferenceData(pairs, tok, { maxLen: 512 }).pairs;
  await assertExactResume((out, resume) => new DpoTrainer(config(dpoSchema, out, resume, { model: fx.model, data: pairs, max_steps: 4, save_steps: 2, per_device_train_batch_size: 2, learning_rate: 1e-2 }), loadCausalLM(fx.model), loadCausalLM(fx.model), tok, data, null), 4, 2);
});

test('exo resumes exactly', async () => {
  const groups = pairGroups(loadPreferenceData(pairs, tok, { maxLen: 512 }).pairs);
  await assertExactResume((out, resume) => new ExoTrainer(config(exoSchema, out, resume, { model: fx.model, data: pairs, mode: 'pref', max_steps: 4, save_steps: 2, per_device_train_batch_size: 2 }), loadCausalLM(fx.model), loadCausalLM(fx.model), tok, groups), 4, 2);
});

test('ppo resumes exactly, also in the middle of a rollout (value model, queued mini-batches, RNG)', async () => {
  const prompts = generateWorldTask('preference', { n: 6, seed: 5 }).map((r) => ({ messages: r.prompt, baseline: 0.1 }));
  // 2 epochs x 2 mini-batches: 4 updates per rollout; checkpoint-3 falls inside the first rollout
  const make: Make = (out, resume) => {
    const sft = loadCausalLM(fx.model);
    const cfg = config(ppoSchema, out, resume, { model: fx.model, data: pairs, reward_model: fx.model, max_steps: 6, save_steps: 3, per_device_train_batch_size: 4, num_mini_batches: 2, num_ppo_epochs: 2, response_length: 6, learning_rate: 1e-2, ptx_coef: 0 });
    return new PpoTrainer(cfg, loadCausalLM(fx.model), sft, new ValueModel(rewardModelFromCausal(sft, 1)), rewardModelFromCausal(sft, 1), tok, prompts, null);
  };
  await assertExactResume(make, 6, 3);
});

test('grpo resumes exactly: curriculum, pre-pass, dynamic temperature, reused rollouts, KL reference', async () => {
  const prompts = loadRlPrompts(rl), evalPrompts = loadRlPrompts(rlEval);
  // num_iterations 2: checkpoint-3 falls between the two steps that share a rollout batch
  const make: Make = (out, resume) => new GrpoTrainer(
    config(grpoSchema, out, resume, {
      model: fx.model, data: rl, max_steps: 5, save_steps: 3, num_generations: 2, per_device_train_batch_size: 4, max_completion_length: 8, prepass_k: 2,
      eval_max_examples: 2, learning_rate: 1e-3, num_iterations: 2, beta: 0.05, dynamic_temperature: true, temperature_patience: 1, temperature_candidates: '0.7,1.3',
    }),
    loadCausalLM(fx.model), tok, prompts, evalPrompts,
  );
  await assertExactResume(make, 5, 3);
});

test('--resume with no checkpoint is an error unless auto; --max-steps at or below the saved step is an error', async () => {
  const seqs = packText(fx.pretrainData, tok, 16);
  const make = (out: string, resume: string, maxSteps: number) => new PretrainTrainer(config(pretrainSchema, out, resume, { model: fx.model, data: fx.pretrainData, max_steps: maxSteps, save_steps: 2, per_device_train_batch_size: 2, max_seq_length: 16 }), loadCausalLM(fx.model), tok, seqs, null);
  const out = join(tempDir(), 'run');
  await assert.rejects(make(out, 'true', 2).train(), /holds no checkpoint-<step>\/ folder, so there is nothing to resume; pass --resume auto/);
  assert.ok(!existsSync(out), 'nothing is written when there is nothing to resume');
  const r = await make(out, 'auto', 2).train();
  assert.equal(r.steps, 2);
  await assert.rejects(make(out, 'true', 2).train(), /checkpoint-2 is at step 2, and --max-steps 2 leaves nothing to run/);
  await assert.rejects(make(out, 'auto', 1).train(), /at step 2, and --max-steps 1/);
  // auto on a run that reached max_steps (killed while writing final/) only writes final/ again
  rmSync(join(out, 'final'), { recursive: true });
  const done = await make(out, 'auto', 2).train();
  assert.equal(done.steps, 2);
  assert.equal(done.finalLoss, r.finalLoss);
  assert.ok(existsSync(join(out, 'final', 'model.safetensors')));
  assert.deepEqual(readMetrics(join(out, 'metrics.jsonl')).map((m) => m.step), [1, 2]);
  const more = await make(out, 'auto', 3).train();
  assert.equal(more.steps, 3);
  assert.deepEqual(readMetrics(join(out, 'metrics.jsonl')).map((m) => m.step), [1, 2, 3]);
  // a different starting model is a different run
  const other = join(fx.dir, 'model-copy');
  cpSync(fx.model, other, { recursive: true });
  const moved = new PretrainTrainer(config(pretrainSchema, out, 'true', { model: other, data: fx.pretrainData, max_steps: 5, per_device_train_batch_size: 2, max_seq_length: 16 }), loadCausalLM(fx.model), tok, seqs, null);
  await assert.rejects(moved.train(), /was trained with --model .* this run gives .*model-copy/);
});

test('--resume bare means resume, --resume auto resumes when it can, absent means a fresh run; config files may say true/false', () => {
  const r = (argv: string[], object?: Record<string, unknown>) => resolveConfig(pretrainSchema, { argv, object }).resume;
  assert.equal(r([]), 'false');
  assert.equal(r(['--resume']), 'true');
  assert.equal(r(['--resume', '--quiet']), 'true');
  assert.equal(r(['--resume', 'auto']), 'auto');
  assert.equal(r(['--resume=auto']), 'auto');
  assert.equal(r(['--resume', 'true']), 'true');
  assert.equal(r([], { resume: true }), 'true');
  assert.equal(r([], { resume: false }), 'false');
  assert.throws(() => r(['--resume=maybe']), /expected one of false, true, auto/);
});

test('grpo through the CLI: SIGKILL after a checkpoint, then --resume, reproduces the uninterrupted metrics', async () => {
  const args = (out: string, extra: string[] = []) => ['grpo', '--model', fx.model, '--data', rl, '--eval-data', rlEval, '--out', out, '--max-steps', '16', '--save-steps', '2', '--num-generations', '2', '--per-device-train-batch-size', '4', '--max-completion-length', '8', '--prepass-k', '2', '--eval-max-examples', '2', '--learning-rate', '1e-3', '--num-iterations', '2', '--dynamic-temperature', '--temperature-patience', '1', '--temperature-candidates', '0.7,1.3', '--threads', '1', '--quiet', ...extra];
  const straight = tempDir();
  const a = runCli(args(straight));
  assert.equal(a.code, 0, a.stderr);
  const killed = tempDir();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/entry.ts'), ...args(killed)], { cwd: root, stdio: 'ignore' });
    const timer = setInterval(() => {
      if (existsSync(join(killed, 'checkpoint-4'))) {
        clearInterval(timer);
        child.kill('SIGKILL');
      }
    }, 2);
    child.on('exit', (_code, signal) => {
      clearInterval(timer);
      if (signal === 'SIGKILL') resolve();
      else reject(new Error('the run ended before it could be killed'));
    });
  });
  assert.ok(!existsSync(join(killed, 'final')), 'the killed run must not have finished');
  const b = runCli(args(killed, ['--resume']));
  assert.equal(b.code, 0, b.stderr);
  assert.deepEqual(comparable(readMetrics(join(killed, 'metrics.jsonl'))), comparable(readMetrics(join(straight, 'metrics.jsonl'))));
  // nothing left to do is an error naming the saved step; so is --resume on an empty folder
  const again = runCli(args(killed, ['--resume']));
  assert.equal(again.code, 1);
  assert.match(again.stderr, /checkpoint-16 is at step 16, and --max-steps 16 leaves nothing to run/);
  const empty = runCli(args(tempDir(), ['--resume']));
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /nothing to resume; pass --resume auto/);
});
