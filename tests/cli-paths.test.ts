// The command line's data and output rules through the real CLI: a repeated --data uses every file
// in order (never silently the last one), and folders holding a model are not written over without
// --overwrite (init, trainers' --out).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorldTask, writeJsonl } from '../src/data/world/index.js';
import { makeFixture, type Fixture } from './fixtures.js';
import { runCli, tempDir } from './helpers.js';

let fx: Fixture;
let pairsA: string, pairsB: string, sftA: string, sftB: string;

test('setup fixture', async () => {
  fx = await makeFixture(tempDir(), { chats: 12 });
  sftA = join(fx.dir, 'sft-a.jsonl');
  sftB = join(fx.dir, 'sft-b.jsonl');
  await writeJsonl(sftA, generateWorldTask('sft', { n: 5, seed: 11 }));
  await writeJsonl(sftB, generateWorldTask('sft', { n: 7, seed: 12 }));
  pairsA = join(fx.dir, 'pairs-a.jsonl');
  pairsB = join(fx.dir, 'pairs-b.jsonl');
  await writeJsonl(pairsA, generateWorldTask('preference', { n: 6, seed: 13 }));
  await writeJsonl(pairsB, generateWorldTask('preference', { n: 6, seed: 14 }));
});

const quick = ['--max-steps', '1', '--per-device-train-batch-size', '2', '--max-seq-length', '400'];

test('sft --data a --data b trains on both files, in order', () => {
  const out = tempDir();
  const r = runCli(['sft', '--model', fx.model, '--data', sftA, '--data', sftB, '--out', out, ...quick]);
  assert.equal(r.code, 0, r.stderr);
  const m = /sft: (\d+) examples from (\S+), (\S+?)(?:, (\d+) dropped|$)/m.exec(r.stderr);
  assert.ok(m, r.stderr);
  assert.equal(Number(m[1]) + Number(m[4] ?? 0), 12); // 5 + 7 read (kept + dropped as too long): neither file alone
  assert.deepEqual([m[2], m[3]], [sftA, sftB]);
  const saved = JSON.parse(readFileSync(join(out, 'training_config.json'), 'utf8'));
  assert.deepEqual(saved.data, [sftA, sftB]);
});

test('dpo and reward --data a --data b use the pairs of both files', () => {
  const one = runCli(['dpo', '--model', fx.model, '--data', pairsA, '--out', tempDir(), ...quick]);
  assert.equal(one.code, 0, one.stderr);
  const both = runCli(['dpo', '--model', fx.model, '--data', pairsA, '--data', pairsB, '--out', tempDir(), ...quick]);
  assert.equal(both.code, 0, both.stderr);
  const read = (s: string) => JSON.parse(/dpo: \d+ pairs from .*? \((\{.*\})\)/.exec(s)![1]).read as number;
  assert.equal(read(one.stderr), 6);
  assert.equal(read(both.stderr), 12);
  assert.match(both.stderr, new RegExp(`from ${pairsA.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, ${pairsB.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const rm = runCli(['reward', '--model', fx.model, '--data', pairsA, '--data', pairsB, '--out', tempDir(), ...quick]);
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal(JSON.parse(/reward: \d+ pairs from .*? \((\{.*\})\)/.exec(rm.stderr)![1]).read, 12);
});

test('init and trainers refuse to write over a model without --overwrite', () => {
  const dir = tempDir();
  const model = join(dir, 'model');
  let r = runCli(['init', '--preset', 'tiny', '--out', model]);
  assert.equal(r.code, 0, r.stderr);
  const before = readFileSync(join(model, 'model.safetensors'));
  r = runCli(['init', '--preset', 'tiny', '--out', model, '--seed', '5']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^glmkit: error\[usage\]: init: --out \S+model is not empty \(it holds a model\); pass --overwrite/);
  assert.ok(readFileSync(join(model, 'model.safetensors')).equals(before), 'the model was not touched');
  r = runCli(['init', '--preset', 'tiny', '--out', model, '--seed', '5', '--overwrite']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!readFileSync(join(model, 'model.safetensors')).equals(before));
  // an --out that is a file, for a folder
  const file = join(dir, 'file.txt');
  writeFileSync(file, 'x');
  r = runCli(['init', '--preset', 'tiny', '--out', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /init: --out \S+file\.txt is a file; expected a folder for the model/);
  // a trainer's --out that holds a model but no checkpoints
  const sftOut = join(dir, 'sft-out');
  mkdirSync(sftOut);
  writeFileSync(join(sftOut, 'config.json'), '{}');
  r = runCli(['sft', '--model', fx.model, '--data', sftA, '--out', sftOut, ...quick]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /sft: --out \S+sft-out is not empty \(it holds a model\); pass --overwrite/);
  assert.ok(!existsSync(join(sftOut, 'final')));
});
