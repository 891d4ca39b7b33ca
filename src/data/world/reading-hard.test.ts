import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateWorldTask, validateWorldRecord } from './index.js';
import { HARD_MRC_KINDS, annotateText, pronounOf, sampleAnnotatedDocument } from './reading-hard.js';
import { WorldRng } from './rng.js';
import { getWorld } from './world.js';

const w = getWorld(0);
const NAMES = w.people.map((p) => p.name);
const named = (s: string) => NAMES.filter((n) => new RegExp(`\\b${n}\\b`).test(s));

test('hard mrc: every kind appears, records validate, evidence holds the facts the question needs', () => {
  const recs = generateWorldTask('mrc', { n: 1500, seed: 12345, mrcKinds: [...HARD_MRC_KINDS] });
  const kinds = new Set(recs.map((r) => r.kind));
  assert.deepEqual([...kinds].sort(), [...HARD_MRC_KINDS].sort());
  for (const r of recs) {
    validateWorldRecord('mrc', r);
    assert.equal(r.options.length, 4);
    assert.equal(new Set(r.options).size, 4, JSON.stringify(r.options));
    assert.equal(r.difficulty, Math.min(3, r.evidence.length));
    const ev = r.evidence.map((i) => r.sentences[i]);
    const answer = r.options[r.answer];
    const qName = named(r.question)[0];
    switch (r.kind) {
      case 'pronoun':
      case 'alias': {
        const p = w.person(qName)!;
        assert.equal(ev.length, 2);
        assert.ok(ev[0].startsWith(`${p.name} works as`), ev[0]);
        const second = r.kind === 'pronoun' ? pronounOf(p.name) : `The ${p.job.name}`;
        assert.ok(ev[1].startsWith(second) && ev[1].includes(answer), `${ev[1]} / ${answer}`);
        // the fact sentence does not name the person: the naming sentence is needed
        assert.deepEqual(named(ev[1]), []);
        break;
      }
      case 'paraphrase': {
        const p = w.person(qName)!;
        // the answer is not copied from the passage; the evidence states the job or the object
        assert.ok(!r.passage.includes(answer), answer);
        assert.ok(answer === p.job.activity ? ev.some((s) => s.includes(p.job.name)) : answer === p.owns.object.use && ev.some((s) => s.includes(p.owns.object.name)));
        break;
      }
      case 'two_hop':
      case 'three_hop': {
        assert.equal(ev.length, r.kind === 'two_hop' ? 2 : 3);
        assert.ok(ev.some((s) => s.includes(answer)), `${JSON.stringify(ev)} lacks ${answer}`);
        // a chain: consecutive evidence facts share an entity (a name or a place)
        const ents = ev.map((s) => new Set(s.match(/[A-Z][a-z]+/g)));
        const linked = ev.every((_, i) => ev.some((__, j) => j !== i && [...ents[i]].some((e) => ents[j].has(e) && e !== 'The')));
        assert.ok(linked, JSON.stringify(ev));
        break;
      }
      case 'distractor': {
        const p = w.person(qName)!;
        assert.deepEqual(ev, [`${p.name} lives in ${p.home}.`]);
        assert.equal(answer, p.home);
        assert.ok(r.sentences.filter((s) => s.includes(p.name) && !ev.includes(s)).length >= 2, 'distractors share the name');
        break;
      }
      case 'count': {
        const place = /live in (\w+)\?/.exec(r.question)![1];
        assert.equal(ev.length, r.answer + 1);
        assert.ok(ev.every((s) => s.endsWith(`lives in ${place}.`)));
        assert.equal(r.sentences.filter((s) => s.endsWith(`lives in ${place}.`)).length, ev.length);
        break;
      }
      case 'compare': {
        const [a, b] = named(r.question).map((n) => w.person(n)!);
        const older = /older/.test(r.question);
        const win = older ? (a.age > b.age ? a : b) : a.height > b.height ? a : b;
        assert.equal(answer, win.name);
        assert.equal(ev.length, 2);
        assert.ok(ev.some((s) => s.startsWith(a.name)) && ev.some((s) => s.startsWith(b.name)));
        break;
      }
    }
  }
  // the default mrc task is the basic generator, now labelled
  const basic = generateWorldTask('mrc', { n: 50, seed: 3 });
  assert.ok(basic.every((r) => (r.evidence.length === 1 ? r.kind === 'literal' : r.kind === 'owner_bridge')));
});

test('hard mrc: difficulty 3 comes from three-hop and count questions; deterministic for a seed', () => {
  const a = generateWorldTask('mrc', { n: 30, seed: 5, mrcKinds: ['three_hop', 'count'], difficulty: [3] });
  assert.ok(a.every((r) => r.evidence.length === 3));
  assert.deepEqual(a, generateWorldTask('mrc', { n: 30, seed: 5, mrcKinds: ['three_hop', 'count'], difficulty: [3] }));
  assert.throws(() => generateWorldTask('mrc', { n: 2, seed: 5, mrcKinds: ['compare'], difficulty: [1] }), /rarely or never/);
});

test('annotated documents carry world entities and nouns; the heuristic annotator finds capitalised spans and lexicon nouns', () => {
  const doc = sampleAnnotatedDocument(new WorldRng(1, 'doc'), w);
  assert.equal(doc.sentences.length, doc.annotations.length);
  doc.sentences.forEach((s, i) => {
    for (const e of doc.annotations[i].entities) assert.ok(s.includes(e));
    for (const n of doc.annotations[i].nouns) assert.ok(s.toLowerCase().includes(n));
  });
  assert.deepEqual(annotateText('She met Anna Maria Lopez in New York and bought two apples.'), { entities: ['Anna Maria Lopez', 'New York'], nouns: ['apples'] });
  assert.deepEqual(annotateText('The baker from Oakridge owns a kite.'), { entities: ['Oakridge'], nouns: ['baker', 'kite'] });
});

test('--mrc-kinds: "hard" expands to the hard kinds, lists are checked', async () => {
  const { parseMrcKinds } = await import('../../cli/data.js');
  assert.deepEqual(parseMrcKinds('hard'), [...HARD_MRC_KINDS]);
  assert.deepEqual(parseMrcKinds('literal, count'), ['literal', 'count']);
  assert.equal(parseMrcKinds(null), undefined);
  assert.throws(() => parseMrcKinds('pronoun,riddle'), /expected kinds among hard, literal, .*got "riddle"/);
});

test('hard mrc: other world seeds generate (friends sharing a job are not drawn for friend questions) and world 0 is unchanged', () => {
  // world 1 has friends who share a job; friend questions used to loop forever looking for a cast with distinct jobs
  const w1 = getWorld(1);
  assert.ok(w1.people.some((p) => w1.person(p.friend)!.job.name === p.job.name));
  for (const worldSeed of [1, 3, 30]) {
    const recs = generateWorldTask('mrc', { n: 60, seed: 5, worldSeed, mrcKinds: ['two_hop', 'three_hop'] });
    const ww = getWorld(worldSeed);
    for (const r of recs) {
      validateWorldRecord('mrc', r);
      const jobs = r.sentences.flatMap((s) => /works as an? (\w+)/.exec(s)?.[1] ?? []);
      assert.equal(new Set(jobs).size, jobs.length, `cast jobs repeat in world ${worldSeed}: ${r.passage}`);
      assert.equal(r.evidence.length, r.kind === 'two_hop' ? 2 : 3, r.passage);
      assert.ok(ww.people.some((p) => r.passage.includes(p.name)));
    }
  }
  // world 0 draws exactly as before (no pair of friends there shares a job)
  const w0 = getWorld(0);
  assert.ok(w0.people.every((p) => w0.person(p.friend)!.job.name !== p.job.name));
});
