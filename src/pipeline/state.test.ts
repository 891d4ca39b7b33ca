import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, ConfigError, DataError } from '../errors.js';
import { tempDir } from '../util/temp-dir.js';
import { readPrompts } from './grpo-stage.js';
import { openPipelineState, readStateFile, savePipelineState } from './state.js';

const cfg = { out: 'x', preset: 'tiny', seed: 0, threads: 0, quiet: false, until: 'grpo', force_stage: 'none', sft_steps: 600 };

test('pipeline state: a rerun with other settings is refused naming the keys; run-only settings are not compared', () => {
  const out = tempDir();
  const s = openPipelineState(out, cfg, null, () => {});
  s.done.push('data', 'tokenizer');
  savePipelineState(out, s);
  assert.deepEqual(readdirSync(out), ['pipeline_state.json']); // atomic: no temporary file left
  assert.throws(() => openPipelineState(out, { ...cfg, seed: 2, sft_steps: 10 }, null, () => {}), (e: unknown) => e instanceof ConfigError && /seed: 0 -> 2; sft_steps: 600 -> 10/.test((e as Error).message));
  const same = openPipelineState(out, { ...cfg, threads: 2, quiet: true, until: 'eval' }, null, () => {});
  assert.deepEqual(same.done, ['data', 'tokenizer']);
});

test('pipeline state: --force-stage forgets that stage and the later ones and removes their folders', () => {
  const out = tempDir();
  const s = openPipelineState(out, cfg, null, () => {});
  s.done.push('data', 'tokenizer', 'init', 'pretrain');
  savePipelineState(out, s);
  for (const d of ['data', 'tokenizer', 'init', 'pretrain']) mkdirSync(join(out, d));
  const logs: string[] = [];
  const f = openPipelineState(out, { ...cfg, seed: 5 }, 'init', (l) => logs.push(l));
  assert.deepEqual(f.done, ['data', 'tokenizer']);
  assert.equal(f.config.seed, 5);
  assert.ok(existsSync(join(out, 'tokenizer')) && !existsSync(join(out, 'init')) && !existsSync(join(out, 'pretrain')));
  assert.match(logs[0], /redoing init, pretrain, sft, eval, longctx, align, grpo, experts, report with seed: 0 -> 5/);
});

test('pipeline state: long_* settings may change until the longctx stage has run', () => {
  const out = tempDir();
  const s = openPipelineState(out, cfg, null, () => {}); // an older run: no long_* keys at all
  s.done.push('data', 'tokenizer', 'init', 'pretrain', 'sft', 'eval');
  savePipelineState(out, s);
  const ext = openPipelineState(out, { ...cfg, long_context: 4096, long_sft_steps: 150 }, null, () => {});
  assert.deepEqual(ext.done, ['data', 'tokenizer', 'init', 'pretrain', 'sft', 'eval']);
  ext.done.push('longctx');
  savePipelineState(out, ext);
  assert.throws(() => openPipelineState(out, { ...cfg, long_context: 4096, long_sft_steps: 300 }, null, () => {}), (e: unknown) => e instanceof ConfigError && /long_sft_steps: 150 -> 300/.test((e as Error).message));
  assert.throws(() => openPipelineState(out, { ...cfg, seed: 3, long_context: 4096, long_sft_steps: 150 }, null, () => {}), /seed: 0 -> 3/);
});

test('pipeline state: a state file without recorded settings is refused', () => {
  const out = tempDir();
  writeFileSync(join(out, 'pipeline_state.json'), JSON.stringify({ done: ['data'], summary: {} }));
  assert.throws(() => openPipelineState(out, cfg, null, () => {}), /records no settings/);
});

test('GRPO-stage prompts are read through the JSONL reader: a bad record names file:line, blank lines counted', () => {
  const f = join(tempDir(), 'rl.jsonl');
  writeFileSync(f, '{"prompt": "What is 1 + 1?", "answer": "2"}\n\n{"prompt": 3}\n');
  assert.throws(() => readPrompts(f), (e: unknown) => e instanceof DataError && (e as Error).message.includes(`${f}:3`));
  writeFileSync(f, '{"prompt": "What is 1 + 1?", "answer": "2"}\n{not json\n');
  assert.throws(() => readPrompts(f), (e: unknown) => e instanceof DataError && (e as Error).message.startsWith(`${f}:2: not valid JSON`));
});

test('pipeline state: an unreadable state file is a CheckpointError naming it and what to do', () => {
  const out = tempDir();
  const file = join(out, 'pipeline_state.json');
  writeFileSync(file, '{"config": {'); // e.g. written by hand
  assert.throws(() => openPipelineState(out, cfg, null, () => {}), (e: unknown) => e instanceof CheckpointError && (e as Error).message.startsWith(`${file}: not a readable JSON state file`) && /choose another --out/.test((e as Error).message));
  assert.throws(() => readStateFile(join(out, 'missing.json'), 'x'), (e: unknown) => e instanceof CheckpointError && /missing\.json: not a readable JSON state file/.test((e as Error).message));
});
