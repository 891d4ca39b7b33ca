// The training loop end to end through the CLI: loss moves, checkpoints are complete, a resumed run
// (also after SIGKILL) reproduces the uninterrupted loss curve, bad data stops the run with file:line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readMetrics } from '../src/trainers/base/metrics.js';
import { loadModel } from '../src/models/glm/checkpoint.js';
import { makeFixture, type Fixture } from './fixtures.js';
import { assertFiniteIn, root, runCli, tempDir } from './helpers.js';

let fx: Fixture;
const common = (out: string, extra: string[] = []) => ['--model', fx.model, '--data', fx.pretrainData, '--out', out, '--max-seq-length', '32', '--per-device-train-batch-size', '4', '--learning-rate', '3e-3', '--warmup-steps', '2', '--quiet', ...extra];

test('setup fixture', async () => {
  fx = await makeFixture(tempDir());
});

test('pretrain: loss goes down, checkpoints and final folder are complete', () => {
  const out = tempDir();
  const r = runCli(['pretrain', ...common(out, ['--max-steps', '12', '--save-steps', '4', '--save-total-limit', '2', '--optimizer', 'muon', '--learning-rate', '1e-2'])]);
  assert.equal(r.code, 0, r.stderr);
  const m = readMetrics(join(out, 'metrics.jsonl'));
  assert.equal(m.length, 12);
  assert.ok((m[11].loss as number) < (m[0].loss as number) - 0.5, `loss ${m[0].loss} -> ${m[11].loss}`);
  assertFiniteIn(m[0].loss, 'loss', 0);
  assertFiniteIn(m[0].learning_rate, 'learning_rate', 0);
  assertFiniteIn(m[0].grad_norm, 'grad_norm', 0);
  assertFiniteIn(m[0].tokens_per_s, 'tokens_per_s', Number.MIN_VALUE);
  const ckpts = readdirSync(out).filter((d) => d.startsWith('checkpoint-')).sort();
  assert.deepEqual(ckpts, ['checkpoint-12', 'checkpoint-8']);
  for (const f of ['model.safetensors', 'config.json', 'tokenizer.json', 'optimizer.safetensors', 'trainer_state.json', 'training_config.json']) assert.ok(existsSync(join(out, 'checkpoint-8', f)), f);
  assert.ok(loadModel(join(out, 'final')));
  // Running again into the same folder without --resume overwrites nothing.
  const again = runCli(['pretrain', ...common(out, ['--max-steps', '2'])]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already holds checkpoints of an earlier run; pass --resume/);
  assert.ok(existsSync(join(out, 'checkpoint-12')));
});

test('resume after SIGKILL reproduces the uninterrupted loss curve', async () => {
  const straight = tempDir();
  assert.equal(runCli(['pretrain', ...common(straight, ['--max-steps', '10', '--save-steps', '3'])]).code, 0);
  const killed = tempDir();
  // Start the same run; it holds (blocks) right after checkpoint-6 is in place, and is then killed
  // with SIGKILL. No timing is involved: the run cannot get past that point before the kill.
  const held = join(tempDir(), 'held');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', join(root, 'tests/hold-at-checkpoint.ts'), join(root, 'src/cli/entry.ts'), 'pretrain', ...common(killed, ['--max-steps', '10', '--save-steps', '3'])], {
      cwd: root,
      stdio: 'ignore',
      env: { ...process.env, GLMKIT_TEST_HOLD_AT: 'checkpoint-6', GLMKIT_TEST_HOLD_SIGNAL: held },
    });
    const timer = setInterval(() => {
      if (existsSync(held)) {
        clearInterval(timer);
        child.kill('SIGKILL');
      }
    }, 20);
    child.on('exit', (_code, signal) => {
      clearInterval(timer);
      if (signal === 'SIGKILL') resolve();
      else reject(new Error('the run ended before it reached checkpoint-6'));
    });
  });
  assert.ok(!existsSync(join(killed, 'final')), 'the killed run must not have finished');
  assert.ok(!existsSync(join(killed, 'checkpoint-9')), 'the run was held at checkpoint-6');
  assert.equal(readMetrics(join(killed, 'metrics.jsonl')).length < 10, true);
  const r = runCli(['pretrain', ...common(killed, ['--max-steps', '10', '--save-steps', '3', '--resume'])]);
  assert.equal(r.code, 0, r.stderr);
  const a = readMetrics(join(straight, 'metrics.jsonl')).map((x) => x.loss);
  const b = readMetrics(join(killed, 'metrics.jsonl')).map((x) => x.loss);
  assert.equal(b.length, 10);
  assert.deepEqual(b, a);
});

test('sft trains on assistant tokens and reports dropped long examples', () => {
  const out = tempDir();
  const r = runCli(['sft', '--model', fx.model, '--data', fx.sftData, '--out', out, '--max-steps', '6', '--per-device-train-batch-size', '4', '--max-seq-length', '400', '--learning-rate', '3e-3']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /sft: \d+ examples/);
  const m = readMetrics(join(out, 'metrics.jsonl'));
  assert.ok((m[5].loss as number) < (m[0].loss as number), `loss ${m[0].loss} -> ${m[5].loss}`);
});

test('bad data, bad flags and bad config keys fail with one clear line', () => {
  const bad = join(fx.dir, 'bad.jsonl');
  writeFileSync(bad, '{"text": "fine"}\n{"text": 42}\n');
  let r = runCli(['pretrain', '--model', fx.model, '--data', bad, '--out', tempDir()]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad\.jsonl:2: text: expected a string/);
  writeFileSync(bad, '{"text": "fine"}\n{not json\n');
  r = runCli(['pretrain', '--model', fx.model, '--data', bad, '--out', tempDir()]);
  assert.match(r.stderr, /bad\.jsonl:2: not valid JSON/);
  r = runCli(['pretrain', ...common(tempDir(), ['--max-stepz', '3'])]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option --max-stepz \(did you mean --max-steps/);
  r = runCli(['pretrain', ...common(tempDir(), ['--max-steps', 'ten'])]);
  assert.match(r.stderr, /max-steps.*expected an integer/);
  const cfgFile = join(fx.dir, 'cfg.yaml');
  writeFileSync(cfgFile, 'max_steps: 2\nlearning_rat: 0.1\n');
  r = runCli(['pretrain', '--config', cfgFile, ...common(tempDir())]);
  assert.match(r.stderr, /cfg\.yaml: unknown key "learning_rat"/);
  r = runCli(['sft', '--model', fx.model, '--data', fx.sftData, '--out', tempDir(), '--max-seq-length', '4']);
  assert.match(r.stderr, /all \d+ examples are longer than max_seq_length 4/);
  assert.match(runCli(['pretrain', '--help']).stdout, /--max-steps <int>\s+optimizer steps to run \(default 100\)/);
});
