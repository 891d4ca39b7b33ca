import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataCommand } from './data.js';
import { quiet } from './testing.js';
import { UsageError } from '../errors.js';
import { validateWorldRecord } from '../data/world/schema.js';
import { saveTokenizer, trainBpeFromTexts } from '../tokenizer/index.js';

test('data world writes N valid records, byte-identical for the same seed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'glmkit-data-'));
  try {
    const a = join(dir, 'a.jsonl');
    const b = join(dir, 'b.jsonl');
    const c = join(dir, 'c.jsonl');
    assert.equal(await quiet(() => dataCommand(['world', '--task', 'sft', '--n', '20', '--seed', '3', '--out', a])), 0);
    assert.equal(await quiet(() => dataCommand(['world', '--task=sft', '--n=20', '--seed=3', '--out', b])), 0);
    assert.equal(await quiet(() => dataCommand(['world', '--task', 'sft', '--n', '20', '--seed', '4', '--out', c])), 0);
    const [ta, tb, tc] = await Promise.all([a, b, c].map((p) => readFile(p, 'utf8')));
    assert.equal(ta, tb);
    assert.notEqual(ta, tc);
    const lines = ta.trim().split('\n');
    assert.equal(lines.length, 20);
    lines.forEach((l, i) => validateWorldRecord('sft', JSON.parse(l), i + 1));
    const rl = join(dir, 'rl.jsonl');
    await quiet(() => dataCommand(['world', '--task', 'rl', '--n', '15', '--difficulty', '1-2', '--split', 'test', '--world-seed', '0', '--out', rl]));
    const recs = (await readFile(rl, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(recs.length, 15);
    assert.ok(recs.every((r) => r.difficulty === 1 || r.difficulty === 2));
    // --contrastive 1: every pair is a right and a wrong answer worded alike
    const pref = join(dir, 'pref.jsonl');
    await quiet(() => dataCommand(['world', '--task', 'preference', '--n', '10', '--contrastive', '1', '--out', pref]));
    const pairs = (await readFile(pref, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(pairs.length === 10 && pairs.every((r) => r.rejected_correct === 0 && r.score_chosen > r.score_rejected));
    // --task steps: stepwise rows of the named families, every one corrupted with --wrong-share 1
    const steps = join(dir, 'steps.jsonl');
    await quiet(() => dataCommand(['world', '--task', 'steps', '--n', '12', '--families', 'sub,chain', '--wrong-share', '1', '--out', steps]));
    const rows = (await readFile(steps, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(rows.length, 12);
    assert.deepEqual([...new Set(rows.map((r) => r.family))].sort(), ['chain', 'sub']);
    assert.ok(rows.every((r) => r.labels.length === r.completions.length && r.labels.includes(false) && r.labels.at(-1) === false));
    // --task longdoc: the kinds asked for, documents measured with the given tokenizer
    const tokDir = join(dir, 'tok');
    const tok = trainBpeFromTexts(['Alice lives in Oakridge. Bruno visited Millford on day 9.'], { vocabSize: 300 });
    saveTokenizer(tok, tokDir);
    const ld = join(dir, 'longdoc.jsonl');
    await quiet(() => dataCommand(['world', '--task', 'longdoc', '--n', '6', '--doc-tokens', '2000', '--longdoc-kinds', 'needle,pronoun', '--longdoc-follow-ups', '2', '--tokenizer', tokDir, '--out', ld]));
    const docs = (await readFile(ld, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(docs.length, 6);
    docs.forEach((r, i) => validateWorldRecord('longdoc', r, i + 1));
    assert.ok(docs.every((r) => ['needle', 'pronoun'].includes(r.kind) && r.doc_tokens === tok.encode(r.document).length && r.doc_tokens <= 2000));
    assert.ok(docs.every((r) => r.follow_ups.length === 2 && r.follow_ups.every((f: { kind: string }) => ['needle', 'pronoun'].includes(f.kind))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('bad flags throw UsageError with a reason', async () => {
  const bad = [
    [],
    ['world'],
    ['world', '--task', 'poems', '--n', '1', '--out', 'x'],
    ['world', '--task', 'rl', '--out', 'x'],
    ['world', '--task', 'rl', '--n', 'ten', '--out', 'x'],
    ['world', '--task', 'rl', '--n', '1'],
    ['world', '--task', 'rl', '--n', '1', '--out', 'x', '--seed', '-3'],
    ['world', '--task', 'rl', '--n', '1', '--out', 'x', '--difficulty', '9'],
    ['world', '--task', 'rl', '--n', '1', '--out', 'x', '--split', 'dev'],
    ['world', '--task', 'rl', '--n', '1', '--out', 'x', '--bogus'],
    ['world', '--task', 'sft', '--n', '1', '--out', 'x', '--style-noise', '1.5'],
    ['world', '--task', 'preference', '--n', '1', '--out', 'x', '--contrastive', ''],
    ['world', '--task', 'preference', '--n', '1', '--out', 'x', '--contrastive', 'half'],
    ['galaxy', '--task', 'rl', '--n', '1', '--out', 'x'],
    ['world', '--task', 'steps', '--n', '1', '--out', 'x', '--families', 'add,div'],
    ['world', '--task', 'steps', '--n', '1', '--out', 'x', '--wrong-share', '2'],
    ['world', '--task', 'longdoc', '--n', '1', '--out', 'x', '--longdoc-kinds', 'needle,essay'],
    ['world', '--task', 'longdoc', '--n', '1', '--out', 'x', '--doc-tokens', '10'],
    ['world', '--task', 'longdoc', '--n', '1', '--out', 'x', '--difficulty', '5'],
  ];
  for (const argv of bad) {
    await assert.rejects(() => dataCommand(argv), (e: unknown) => e instanceof UsageError && e.message.length > 10, argv.join(' '));
  }
});
