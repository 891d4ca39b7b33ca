// Reading comprehension end to end through the CLI on a micro GLM: world MRC data with the hard
// kinds, `rept pretrain` (each loss reported), `mrc train` from the REPT reader, `mrc eval` on
// RACE-like user JSONL (file:line errors for bad rows), and `stm` (every iteration saved).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorldTask, writeJsonl } from '../src/data/world/index.js';
import { saveModel } from '../src/models/glm/checkpoint.js';
import { microReader } from '../src/models/reader/test-fixtures.js';
import { saveTokenizer } from '../src/tokenizer/tokenizer-json.js';
import { assertFiniteIn, runCli, tempDir } from './helpers.js';
import { worldDocuments } from '../src/cli/reading.js';

test('rept pretrain -> mrc train -> mrc eval -> stm on world data; bad rows named by file:line', async () => {
  const work = tempDir('glmkit-reading-');
  const items = generateWorldTask('mrc', { n: 8, seed: 3, mrcKinds: ['pronoun', 'two_hop', 'count'] });
  const texts = [...items.flatMap((r) => [...r.sentences, r.question, ...r.options]), ...worldDocuments(4, 0).flatMap((d) => d.sentences)];
  const base = join(work, 'base');
  const reader = microReader(texts);
  saveModel(base, reader.lm);
  saveTokenizer(reader.tokenizer, base);
  const data = join(work, 'mrc.jsonl');
  await writeJsonl(data, items);

  let r = runCli(['rept', 'pretrain', '--model', base, '--world-docs', '4', '--out', join(work, 'rept'), '--steps', '2', '--batch', '1']);
  assert.equal(r.code, 0, r.stderr);
  const rept = JSON.parse(r.stdout.trim());
  for (const k of ['ssp_prev', 'ssp_next', 'mlm']) assertFiniteIn(rept[k], k, 0);
  assert.equal(readFileSync(join(work, 'rept', 'losses.jsonl'), 'utf8').trim().split('\n').length, 2);
  assert.ok(JSON.parse(readFileSync(join(work, 'rept', 'config.json'), 'utf8')).glmkit_reader.heads['reader.sent_attn.weight']);

  r = runCli(['mrc', 'train', '--model', join(work, 'rept'), '--data', data, '--out', join(work, 'ft'), '--steps', '2', '--batch', '2', '--evidence-weight', '0.5']);
  assert.equal(r.code, 0, r.stderr);
  r = runCli(['mrc', 'eval', '--model', join(work, 'ft'), '--data', data, '--out', join(work, 'preds.jsonl')]);
  assert.equal(r.code, 0, r.stderr);
  const ev = JSON.parse(r.stdout.trim());
  assertFiniteIn(ev.accuracy.all, 'accuracy', 0, 1);
  assert.ok('pronoun' in ev.accuracy || 'two_hop' in ev.accuracy || 'count' in ev.accuracy);
  assert.equal(ev.evidence_items, 8);
  assertFiniteIn(ev.evidence_pk, 'evidence_pk', 0, 1);

  // user JSONL in the RACE-like shape: a passage string and a letter answer
  const user = join(work, 'user.jsonl');
  writeFileSync(user, JSON.stringify({ passage: 'Anna lives in Paris. She works as a baker.', question: 'What is Anna\'s job?', options: ['baker', 'doctor'], answer: 'A' }) + '\n');
  r = runCli(['mrc', 'eval', '--model', join(work, 'ft'), '--data', user]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim()).items, 1);
  writeFileSync(user, readFileSync(user, 'utf8') + JSON.stringify({ passage: 'A b. C d.', question: 'q?', options: ['x', 'y'], answer: 5 }) + '\n');
  r = runCli(['mrc', 'eval', '--model', join(work, 'ft'), '--data', user]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`${user.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2.*answer`));

  r = runCli(['stm', '--model', base, '--train', data, '--eval', data, '--out', join(work, 'stm'), '--iterations', '1', '--steps', '2', '--batch', '2', '--confidence', '0', '--min-value', '0']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(readFileSync(join(work, 'stm', 'summary.json'), 'utf8'));
  assert.equal(summary.iterations.length, 2);
  assert.equal(summary.config.evidenceWeight, 0.8);
  assert.ok(summary.iterations[1].added > 0, 'with thresholds at 0 every correctly answered item is a candidate');
  assert.ok(existsSync(join(work, 'stm', 'iter-1', 'pseudo_labels.jsonl')));
  assertFiniteIn(summary.baselines.word_overlap.evidence_pk, 'overlap P@k', 0, 1);
});
