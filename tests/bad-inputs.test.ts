// Bad inputs across every command, through the real CLI: each exits 1 (runtime/data error) or 2
// (usage error) with exactly one line on stderr, `glmkit: error[...]`, naming the flag or path, and
// the process ends (no hang). With GLMKIT_BAD_INPUT_TABLE=FILE the cases are also written as a
// markdown table (input | exit code | message).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorldTask, writeJsonl } from '../src/data/world/index.js';
import { makeFixture } from './fixtures.js';
import { root, tempDir } from './helpers.js';

interface Case {
  args: string[];
  code: 1 | 2;
  /** what the message must name (the flag, the path, the value) */
  names: string;
}

interface Outcome {
  code: number | null;
  stderr: string;
  stdout: string;
}

/** Spawns the CLI from the sources; kills it after `timeoutMs` (a hang is a failure, not a stuck test). */
function spawnCli(args: string[], timeoutMs = 60_000, env: NodeJS.ProcessEnv = process.env): Promise<Outcome> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/entry.ts'), ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += '\n[killed: no exit within the timeout]';
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  }));
  return out;
}

test('a bad GLMKIT_GEN_THREADS exits 1 with one line naming the variable', async () => {
  const r = await spawnCli(['info'], 60_000, { ...process.env, GLMKIT_GEN_THREADS: 'many' });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /GLMKIT_GEN_THREADS must be an integer >= 0 .*got "many"/);
});

test('every bad input exits 1 or 2 with one line naming what is wrong', { timeout: 600_000 }, async () => {
  const fx = await makeFixture(tempDir(), { docs: 40, chats: 8 });
  const dir = tempDir();
  const M = fx.model, DATA = fx.sftData, TEXT = fx.pretrainData;
  const missing = join(dir, 'missing.jsonl');
  const folder = join(dir, 'folder');
  mkdirSync(folder);
  const emptyDir = join(dir, 'empty-dir');
  mkdirSync(emptyDir);
  const file = join(dir, 'existing.txt');
  writeFileSync(file, 'x\n');
  const empty = join(dir, 'empty.txt');
  writeFileSync(empty, '');
  const badJsonl = join(dir, 'bad.jsonl');
  writeFileSync(badJsonl, '{"text": "fine"}\n{not json\n');
  const badJson = join(dir, 'bad.json');
  writeFileSync(badJson, '{"messages": [');
  const badCfg = join(dir, 'bad-config.yaml');
  writeFileSync(badCfg, 'max_steps: 0\n');
  const pairs = join(dir, 'pairs.jsonl');
  await writeJsonl(pairs, generateWorldTask('preference', { n: 4, seed: 1 }));
  const out = join(dir, 'new-out');
  const underFile = join(file, 'child.jsonl');
  const cases: Case[] = [
    { args: ['frobnicate'], code: 2, names: "'frobnicate'" },
    { args: ['data', 'world', '--task', 'rl', '--n', '-3', '--out', out], code: 2, names: '--n' },
    { args: ['data', 'world', '--task', 'rl', '--n', 'abc', '--out', out], code: 2, names: '--n' },
    { args: ['data', 'world', '--task', 'poems', '--n', '1', '--out', out], code: 2, names: '--task' },
    { args: ['data', 'world', '--task', 'rl', '--n', '1'], code: 2, names: '--out' },
    { args: ['data', 'world', '--task', 'rl', '--out', out], code: 2, names: '--n' },
    { args: ['data', 'world', '--task', 'rl', '--n', '1', '--out', out, '--bogus'], code: 2, names: '--bogus' },
    { args: ['data', 'galaxy'], code: 2, names: "'galaxy'" },
    { args: ['data', 'world', '--task', 'rl', '--n', '1', '--out', folder], code: 2, names: folder },
    { args: ['data', 'world', '--task', 'rl', '--n', '1', '--out', underFile], code: 2, names: file },
    { args: ['data', 'world', '--task', 'rl', '--n', '1', '--out', file], code: 2, names: '--overwrite' },
    { args: ['data', 'world', '--task', 'sft', '--n', '1', '--out', out, '--style-noise', '1.5'], code: 2, names: '--style-noise' },
    { args: ['report'], code: 2, names: 'output folder' },
    { args: ['report', '--bogus', emptyDir], code: 2, names: '--bogus' },
    { args: ['report', missing], code: 2, names: missing },
    { args: ['report', emptyDir], code: 1, names: 'metrics.jsonl' },
    { args: ['report', file], code: 2, names: file },
    { args: ['tokenizer'], code: 2, names: 'train, encode or decode' },
    { args: ['tokenizer', 'train', '--data', missing, '--vocab-size', '300', '--out', out], code: 2, names: missing },
    { args: ['tokenizer', 'train', '--data', folder, '--vocab-size', '300', '--out', out], code: 2, names: folder },
    { args: ['tokenizer', 'train', '--data', empty, '--vocab-size', '300', '--out', out], code: 1, names: empty },
    { args: ['tokenizer', 'train', '--data', TEXT, '--vocab-size', '300', '--out', M], code: 2, names: '--overwrite' },
    { args: ['tokenizer', 'train', '--data', TEXT, '--vocab-size', '-5', '--out', out], code: 2, names: '--vocab-size' },
    { args: ['tokenizer', 'encode', '--model', M], code: 2, names: '--text' },
    { args: ['tokenizer', 'decode', '--model', M, '--ids', '1,x'], code: 2, names: '--ids' },
    { args: ['init', '--preset', 'nope', '--out', out], code: 2, names: '--preset' },
    { args: ['init', '--out', out], code: 2, names: '--preset' },
    { args: ['init', '--preset', 'tiny', '--out', M], code: 2, names: '--overwrite' },
    { args: ['init', '--preset', 'tiny', '--out', file], code: 2, names: file },
    { args: ['init', '--preset', 'tiny', '--out', out, '--dtype', 'f8'], code: 2, names: '--dtype' },
    { args: ['init', '--preset', 'tiny', '--out', out, '--seed', '-1'], code: 2, names: '--seed' },
    { args: ['generate', '--model', M], code: 2, names: '--ids' },
    { args: ['generate', '--model', M, '--ids', '1', '--max-new-tokens', 'abc'], code: 2, names: '--max-new-tokens' },
    { args: ['generate', '--model', M, '--prompt', 'hi', '--thinking', 'maybe'], code: 2, names: '--thinking' },
    { args: ['generate', '--model', missing, '--ids', '1'], code: 2, names: missing },
    { args: ['logits', '--model', file, '--ids', '1'], code: 2, names: file },
    { args: ['logits', '--model', M, '--ids', '-3'], code: 2, names: '--ids' },
    { args: ['chat', '--model', M, '--temperature', 'hot'], code: 2, names: '--temperature' },
    { args: ['serve', '--model', M, '--port', 'abc'], code: 2, names: '--port' },
    { args: ['serve', '--model', M, '--port', '99999'], code: 2, names: '--port' },
    { args: ['serve'], code: 2, names: '--model' },
    { args: ['agent', '--model', M, '--max-steps', '0'], code: 2, names: '--max-steps' },
    { args: ['agent', '--model', M, '--tools', 'shell'], code: 2, names: '--tools' },
    { args: ['export', 'gguf', '--model', M, '--out', folder], code: 2, names: folder },
    { args: ['export', 'gguf', '--model', missing, '--out', join(dir, 'x.gguf')], code: 2, names: missing },
    { args: ['export', 'gguf', '--model', M, '--out', file], code: 2, names: '--overwrite' },
    { args: ['export', 'onnx'], code: 2, names: "'onnx'" },
    { args: ['bench', 'foo'], code: 2, names: 'kernels, train, tokenizer, generate, serve' },
    { args: ['bench', 'kernels', '--threads', '0'], code: 2, names: '--threads' },
    { args: ['template', '--conversation', folder], code: 2, names: folder },
    { args: ['template', '--conversation', badJson], code: 1, names: badJson },
    { args: ['info', '--bogus'], code: 2, names: '--bogus' },
    { args: ['pipeline', '--out', out, '--until', 'forever'], code: 2, names: '--until' },
    { args: ['pipeline', '--out', out, '--seed', '-1'], code: 2, names: '--seed' },
    { args: ['pipeline', '--preset', 'tiny'], code: 2, names: '--out' },
    { args: ['pretrain', '--model', M, '--data', TEXT, '--out', out, '--max-steps', '0'], code: 2, names: '--max-steps' },
    { args: ['pretrain', '--model', M, '--data', badJsonl, '--out', join(dir, 'pt-bad'), '--quiet'], code: 1, names: `${badJsonl}:2` },
    { args: ['sft', '--model', M, '--data', missing, '--out', out], code: 2, names: missing },
    { args: ['sft', '--model', M, '--data', folder, '--out', out], code: 2, names: folder },
    { args: ['sft', '--model', M, '--data', DATA, '--out', file], code: 2, names: file },
    { args: ['sft', '--model', M, '--data', DATA], code: 2, names: '--out' },
    { args: ['sft', '--config', badCfg, '--model', M, '--data', DATA, '--out', out], code: 1, names: `${badCfg}: key "max_steps"` },
    { args: ['sft', '--model', M, '--data', DATA, '--out', out, '--quiet', 'true'], code: 2, names: "'true'" },
    { args: ['sft', '--model', M, '--data', DATA, '--out', out, '--max-stepz', '3'], code: 2, names: '--max-steps' },
    { args: ['grpo', '--model', M, '--data', DATA, '--out', out, '--num-generations', 'abc'], code: 2, names: '--num-generations' },
    { args: ['reward', '--model', missing, '--data', pairs, '--out', out], code: 2, names: missing },
    { args: ['dpo', '--model', M, '--data', pairs, '--out', out, '--max-seq-length', '1'], code: 2, names: '--max-seq-length' },
    { args: ['ppo', '--model', M, '--data', pairs, '--out', out], code: 2, names: '--reward-model' },
    { args: ['exo', '--model', M, '--data', pairs, '--out', out, '--mode', 'xyz'], code: 2, names: '--mode' },
    { args: ['align-sweep', '--dpo-pairs', 'some'], code: 2, names: '--dpo-pairs' },
    { args: ['experiment', 'run'], code: 2, names: 'experiment name' },
  ];
  const results = await mapLimit(cases, 4, (c) => spawnCli(c.args));
  const show = (s: string) => s.split(dir).join('TMP').split(fx.dir).join('FX').split(root + '/').join('');
  const rows: string[] = [];
  const failures: string[] = [];
  cases.forEach((c, i) => {
    const r = results[i];
    const lines = r.stderr.trimEnd().split('\n');
    const input = show(`glmkit ${c.args.map((a) => (/\s/.test(a) || a === '' ? JSON.stringify(a) : a)).join(' ')}`);
    rows.push(`| \`${input.replace(/\|/g, '\\|')}\` | ${r.code} | ${show(lines.join(' / ')).replace(/\|/g, '\\|')} |`);
    const problems: string[] = [];
    if (r.code !== c.code) problems.push(`exit ${r.code}, expected ${c.code}`);
    if (lines.length !== 1) problems.push(`${lines.length} lines on stderr`);
    if (!lines[0].startsWith('glmkit: error[')) problems.push('does not start with "glmkit: error["');
    if (!r.stderr.includes(c.names)) problems.push(`does not name ${JSON.stringify(show(c.names))}`);
    if (problems.length) failures.push(`${input}: ${problems.join('; ')}\n    stderr: ${show(r.stderr.trim())}`);
  });
  const table = ['| input | exit code | message |', '|---|---|---|', ...rows].join('\n') + '\n';
  if (process.env.GLMKIT_BAD_INPUT_TABLE) writeFileSync(process.env.GLMKIT_BAD_INPUT_TABLE, table);
  assert.ok(cases.length >= 45, `${cases.length} cases`);
  assert.deepEqual(failures, [], `\n${failures.join('\n')}`);
});
