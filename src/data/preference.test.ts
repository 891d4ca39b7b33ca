// TRL preference formats, cleaning (duplicates, ties, cycles) and length balancing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainBpeFromTexts } from '../tokenizer/bpe-train.js';
import { renderChat } from '../tokenizer/chat.js';
import { balanceByLength, dedupePairs, lengthBucket, loadPreferenceData, readPreferencePairs, responseBatch, tokenizePairs, worldCorrectness, type PreferencePair, type TokenizedPair } from './preference.js';
import { tempDir } from '../util/temp-dir.js';

const dir = tempDir('glmkit-pref-');
const write = (name: string, rows: unknown[]) => {
  const f = join(dir, name);
  writeFileSync(f, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return f;
};
const u = (content: string) => ({ role: 'user', content });
const a = (content: string) => ({ role: 'assistant', content });

test('reads the four TRL preference formats; implicit prompts are the shared prefix', () => {
  const f = write('fmt.jsonl', [
    { prompt: [u('hi')], chosen: [a('hello')], rejected: [a('go away')], score_chosen: 1, score_rejected: 0 },
    { chosen: [u('hi'), a('hello')], rejected: [u('hi'), a('no')] },
    { prompt: 'Q: 2+2? A:', chosen: ' 4', rejected: ' 5' },
    { chosen: 'Q: 1+1? A: 2', rejected: 'Q: 1+1? A: 3' },
  ]);
  const ps = readPreferencePairs(f);
  assert.deepEqual(ps[0].prompt, [u('hi')]);
  assert.equal(ps[0].scoreChosen, 1);
  assert.deepEqual(ps[1].prompt, [u('hi')]);
  assert.deepEqual(ps[1].chosen, [a('hello')]);
  assert.equal(ps[2].prompt, 'Q: 2+2? A:');
  assert.equal(ps[3].prompt, 'Q: 1+1? A: ');
  assert.equal(ps[3].chosen, '2');
  const tok = trainBpeFromTexts(['hello there, go away. Q: 2+2? A: 4 5'], { vocabSize: 300 });
  const { pairs } = tokenizePairs(tok, ps, 1000);
  const full = renderChat(tok, { messages: [u('hi'), a('hello')] });
  assert.deepEqual(pairs[0].chosen.ids, full.ids);
  assert.deepEqual(pairs[0].chosen.mask, full.assistantMask);
  assert.deepEqual(pairs[1].chosen.ids, full.ids);
  // standard: response tokens + <|endoftext|> are the masked part
  assert.equal(pairs[2].chosen.mask.filter(Boolean).length, pairs[2].chosen.length);
  assert.equal(pairs[2].chosen.ids.at(-1), tok.requireId('<|endoftext|>'));
  const batch = responseBatch([pairs[0].chosen, pairs[2].rejected], 0);
  const T = batch.ids.shape[1];
  for (let t = 0; t + 1 < pairs[0].chosen.ids.length; t++) assert.equal(batch.lossMask[t], pairs[0].chosen.mask[t + 1]);
  assert.equal(batch.lossMask.slice(T).reduce((x, y) => x + y, 0), pairs[2].rejected.length);
});

test('bad records are DataErrors naming file, line and field', () => {
  assert.throws(() => readPreferencePairs(write('bad1.jsonl', [{ prompt: 'x', chosen: 'a' }])), /bad1\.jsonl:1: rejected: missing/);
  assert.throws(() => readPreferencePairs(write('bad2.jsonl', [{ prompt: [u('x')], chosen: [a('a')], rejected: [a('b')] }, { prompt: [u('x')], chosen: 'a', rejected: [a('b')] }])), /bad2\.jsonl:2: chosen: expected a list of messages/);
  assert.throws(() => readPreferencePairs(write('bad3.jsonl', [{ chosen: [a('x')], rejected: [a('y')] }])), /share no leading messages/);
  assert.throws(() => readPreferencePairs(write('bad4.jsonl', [{ prompt: 'p', chosen: 'a', rejected: 'b', score_chosen: 'high' }])), /score_chosen: expected a number/);
});

test('dedupe drops duplicates, ties and pairs on preference cycles', () => {
  const p = (prompt: string, c: string, r: string, sc?: number, sr?: number): PreferencePair => ({ prompt, chosen: c, rejected: r, scoreChosen: sc, scoreRejected: sr, line: 0 });
  const items = [
    p('q1', 'A', 'B'), p('q1', 'A', 'B'), // duplicate
    p('q1', 'B', 'C'), p('q1', 'C', 'A'), // with A>B: a 3-cycle A>B>C>A
    p('q1', 'A', 'D'), // not on the cycle
    p('q2', 'X', 'X'), // tie: identical
    p('q2', 'X', 'Y', 0.5, 0.5), // tie: equal scores
    p('q2', 'X', 'Y', 0.9, 0.1),
  ];
  const r = dedupePairs(items);
  assert.equal(r.duplicates, 1);
  assert.equal(r.ties, 2);
  assert.equal(r.cycles, 3);
  assert.deepEqual(r.kept.map((x) => [x.prompt, x.chosen, x.rejected]), [['q1', 'A', 'D'], ['q2', 'X', 'Y']]);
});

test('length balancing: in each bucket the longer response wins as often as it loses', () => {
  const mk = (lc: number, lr: number): TokenizedPair => ({ pair: { prompt: 'p', chosen: 'c', rejected: 'r', line: 0 }, chosen: { ids: [], mask: [], length: lc }, rejected: { ids: [], mask: [], length: lr } });
  const pairs = [mk(10, 3), mk(12, 5), mk(3, 9), mk(2, 30), mk(30, 2), mk(40, 2), mk(50, 3), mk(4, 4)];
  assert.equal(lengthBucket(pairs[0], 8), 1);
  assert.equal(lengthBucket(pairs[3], 8), 4);
  const { kept, removed } = balanceByLength(pairs, 8, 1);
  // bucket 1 (diff 1-8): longer won twice, lost once -> 1 + 1; bucket 4 (diff 25-32): 1 + 1; bucket 6 (diff 38, 47): won 2, lost 0 -> 0; equal kept
  assert.equal(removed, 3);
  assert.equal(kept.length, 5);
  const byBucket = new Map<number, [number, number]>();
  for (const p of kept) {
    const b = lengthBucket(p, 8);
    if (b === 0) continue;
    const e = byBucket.get(b) ?? [0, 0];
    e[p.chosen.length > p.rejected.length ? 0 : 1]++;
    byBucket.set(b, e);
  }
  for (const [won, lost] of byBucket.values()) assert.equal(won, lost);
  assert.ok(kept.includes(pairs[7]) && kept.includes(pairs[2]) && kept.includes(pairs[3]) && kept.includes(pairs[4]));
});

test('loadPreferenceData reports what it dropped and refuses an empty result', () => {
  const tok = trainBpeFromTexts(['some words here'], { vocabSize: 283 });
  const f = write('load.jsonl', [{ prompt: [u('q')], chosen: [a('yes')], rejected: [a('yes')] }, { prompt: [u('q')], chosen: [a('short')], rejected: [a('a much longer answer')] }]);
  const r = loadPreferenceData(f, tok, { maxLen: 100 });
  assert.equal(r.stats.ties, 1);
  assert.equal(r.pairs.length, 1);
  assert.throws(() => loadPreferenceData(f, tok, { maxLen: 3 }), /no usable pairs left.*longer than 3 tokens/);
});

test('worldCorrectness: 1 for the right boxed answer, 0.5 for a stated unboxed one, 0 for wrong', () => {
  const p = [{ role: 'user' as const, content: 'What is 12 + 30? Box the final answer.' }];
  const r = (content: string) => [{ role: 'assistant' as const, content }];
  assert.equal(worldCorrectness(p, r('12 + 30 = <|begin_of_box|>42<|end_of_box|>')), 1);
  assert.equal(worldCorrectness(p, r('12 + 30 = 42.')), 0.5);
  assert.equal(worldCorrectness(p, r('12 + 30 = <|begin_of_box|>43<|end_of_box|>')), 0);
});
