import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { tempDir } from '../../util/temp-dir.js';
import { cohenKappa } from './agreement.js';
import { labelStats, preferencePairs } from './labels-report.js';
import { LabelStore, type SideChoice } from './labels-store.js';

const user = (content: string) => [{ role: 'user', content }];

test('the database is created and migrated on first use; a newer schema is refused', () => {
  const file = join(tempDir(), 'labels.db');
  const s = new LabelStore(file);
  assert.equal(s.db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(s.db.pragma('user_version', { simple: true }), 2);
  s.addComparison({ promptId: null, messages: user('q'), a: { model: 'm', content: 'x' }, b: { model: 'm', content: 'y' }, sampling: {}, createdBy: 'al' });
  s.close();
  const again = new LabelStore(file);
  assert.equal(again.comparisons().length, 1, 'reopening keeps the data');
  again.close();
  const raw = new Database(file);
  raw.pragma('user_version = 9');
  raw.close();
  assert.throws(() => new LabelStore(file), /schema version 9, newer than this glmkit knows \(2\)/);
});

test('blind sides map back to answers; export to TRL pairs leaves ties out; stats and kappa', () => {
  const s = new LabelStore(join(tempDir(), 'labels.db'));
  const ids = Array.from({ length: 8 }, (_, i) => s.addComparison({
    promptId: null, messages: user(`q${i}`), a: { model: 'big', content: `A${i}`, reasoning: 'r' }, b: { model: 'small', content: `B${i}` }, sampling: { temperature: 1 }, createdBy: 'alice',
  }));
  // each annotator's sides are a fixed draw, and not the same for every comparison
  const draws = ids.map((id) => s.swapped(id, 'alice'));
  assert.deepEqual(ids.map((id) => s.swapped(id, 'alice')), draws);
  assert.ok(draws.includes(true) && draws.includes(false), `sides are drawn: ${draws}`);
  // alice prefers the big model's answer whichever side it is on; bob agrees except on two
  const wantA: ('a' | 'b' | 'tie' | 'both_bad')[] = ['a', 'a', 'a', 'b', 'a', 'tie', 'both_bad', 'a'];
  const wantB: ('a' | 'b' | 'tie' | 'both_bad')[] = ['a', 'a', 'b', 'b', 'a', 'tie', 'a', 'a'];
  const side = (id: number, who: string, c: string): SideChoice => (c === 'a' || c === 'b' ? ((c === 'a') !== s.swapped(id, who) ? 'left' : 'right') : c as SideChoice);
  ids.forEach((id, i) => {
    assert.equal(s.label({ comparisonId: id, annotator: 'alice', side: side(id, 'alice', wantA[i]), reasons: ['correct'], note: '' }), wantA[i]);
    assert.equal(s.label({ comparisonId: id, annotator: 'bob', side: side(id, 'bob', wantB[i]), reasons: [], note: 'n' }), wantB[i]);
  });
  // per comparison: alice / bob = a/a, a/a, a/b (split), b/b, a/a, tie/tie, both_bad/a (a wins), a/a
  const { records, ties, bothBad, disagreed } = preferencePairs(s);
  assert.deepEqual([ties, bothBad, disagreed], [1, 0, 1]);
  assert.deepEqual(records.map((r) => r.comparison_id), [ids[0], ids[1], ids[3], ids[4], ids[6], ids[7]]);
  const r0 = records[0];
  assert.deepEqual(r0.prompt, user('q0'));
  assert.deepEqual(r0.chosen, [{ role: 'assistant', content: 'A0', reasoning_content: 'r' }]);
  assert.deepEqual(r0.rejected, [{ role: 'assistant', content: 'B0' }]);
  assert.equal(r0.chosen_model, 'big');
  assert.deepEqual(r0.labels.map((l) => [l.annotator, l.choice, l.reasons]), [['alice', 'a', ['correct']], ['bob', 'a', []]]);
  assert.deepEqual([records[2].chosen[0].content, records[2].rejected[0].content], ['B3', 'A3']);
  const st = labelStats(s);
  assert.deepEqual(st.choices, { a: 10, b: 3, tie: 2, both_bad: 1 });
  assert.deepEqual(st.annotators, { alice: 8, bob: 8 });
  assert.deepEqual(st.models.big, { wins: 10, losses: 3, ties: 2, both_bad: 1, win_rate: 10 / 13 });
  assert.equal(st.agreement.length, 1);
  assert.equal(st.agreement[0].items, 8);
  assert.equal(st.agreement[0].agreed, 6);
  assert.equal(st.agreement[0].kappa, cohenKappa(wantA.map((x, i) => [x, wantB[i]] as const)));
  // relabelling replaces: still one label per annotator and comparison
  s.label({ comparisonId: ids[6], annotator: 'alice', side: 'tie', reasons: [], note: '' });
  assert.equal(labelStats(s).labels, 16);
  s.close();
});

test('queued prompts: read from JSONL (errors name file, line, field), claimed by one annotator at a time', () => {
  const dir = tempDir();
  const file = join(dir, 'prompts.jsonl');
  writeFileSync(file, `${JSON.stringify({ prompt: 'one' })}\n${JSON.stringify({ messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'two' }] })}\n`);
  const s = new LabelStore(join(dir, 'labels.db'));
  assert.equal(s.queuePrompts(file), 2);
  assert.equal(s.queuePrompts(file), 0, 'queued once');
  const a = s.claimPrompt('alice')!, b = s.claimPrompt('bob')!;
  assert.notEqual(a.id, b.id);
  assert.deepEqual(a.messages, user('one'));
  assert.equal(s.claimPrompt('alice')!.id, a.id, 'a claim stays with its annotator');
  assert.equal(s.claimPrompt('carol'), null);
  s.addComparison({ promptId: a.id, messages: a.messages, a: { model: 'm', content: 'x' }, b: { model: 'm', content: 'y' }, sampling: {}, createdBy: 'alice' });
  assert.equal(s.progress('alice').queued, 1);
  // the comparison goes to the next annotator before new prompts
  assert.equal(s.nextComparison('bob')!.prompt_id, a.id);
  assert.equal(s.nextComparison('alice')!.prompt_id, a.id, 'offered to its maker too until labelled (e.g. after a reload)');
  s.label({ comparisonId: s.nextComparison('alice')!.id, annotator: 'alice', side: 'tie', reasons: [], note: '' });
  assert.equal(s.nextComparison('alice'), null, 'not offered again once labelled');
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, `${JSON.stringify({ prompt: 'ok' })}\n${JSON.stringify({ prompt: 3 })}\n`);
  assert.throws(() => s.queuePrompts(bad), /bad\.jsonl:2: prompt: expected \{"prompt": "text"\}/);
  s.close();
});

test('two processes labelling at once into one database lose nothing; a killed one loses only what it had not committed', async () => {
  const dir = tempDir();
  const file = join(dir, 'labels.db');
  const s = new LabelStore(file);
  const ids = Array.from({ length: 150 }, (_, i) => s.addComparison({ promptId: null, messages: user(`q${i}`), a: { model: 'm', content: 'x' }, b: { model: 'm', content: 'y' }, sampling: {}, createdBy: 'x' }));
  const writer = join(dir, 'writer.mts');
  const storeUrl = new URL('./labels-store.ts', import.meta.url).href;
  writeFileSync(writer, `import { LabelStore } from ${JSON.stringify(storeUrl)};
const [file, who, first, last] = process.argv.slice(2);
const s = new LabelStore(file);
for (let id = Number(first); id <= Number(last); id++) s.label({ comparisonId: id, annotator: who, side: id % 2 ? 'left' : 'right', reasons: [], note: who });
s.close();
`);
  const run = (who: string) => new Promise<number>((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', writer, file, who, String(ids[0]), String(ids.at(-1))], { cwd: fileURLToPath(new URL('../../..', import.meta.url)), stdio: ['ignore', 'inherit', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => (code === 0 ? resolve(0) : reject(new Error(`writer ${who} exited ${code}: ${err}`))));
  });
  await Promise.all([run('alice'), run('bob')]);
  const labels = s.labels();
  assert.equal(labels.filter((l) => l.annotator === 'alice').length, 150);
  assert.equal(labels.filter((l) => l.annotator === 'bob').length, 150);
  assert.equal(labelStats(s).agreement[0].items, 150);

  // a writer killed (SIGKILL) while labelling: every label it committed is there, the file is sound
  const killed = spawn(process.execPath, ['--import', 'tsx', writer, file, 'carol', String(ids[0]), String(ids.at(-1))], { cwd: fileURLToPath(new URL('../../..', import.meta.url)), stdio: 'ignore' });
  while (s.labels().filter((l) => l.annotator === 'carol').length < 5 && killed.exitCode === null) await new Promise((r) => setTimeout(r, 5));
  killed.kill('SIGKILL');
  await new Promise((r) => killed.once('exit', r));
  const carol = s.labels().filter((l) => l.annotator === 'carol');
  assert.ok(carol.length >= 5, `${carol.length} of carol's labels kept`);
  assert.deepEqual(carol.map((l) => l.comparison_id), ids.slice(0, carol.length), 'no gap: what was committed is there');
  assert.equal(s.db.pragma('integrity_check', { simple: true }), 'ok');
  s.close();
});
