import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_WORLD_LEVEL, answerWorldQuestion, sampleWorldQuestion } from './questions.js';
import { WorldRng } from './rng.js';
import { JOBS, buildWorld, getWorld } from './world.js';

test('the world is a function of its seed', () => {
  assert.deepEqual(JSON.stringify(buildWorld(0).facts), JSON.stringify(buildWorld(0).facts));
  assert.notDeepEqual(JSON.stringify(buildWorld(0).facts), JSON.stringify(buildWorld(1).facts));
  assert.equal(getWorld(0), getWorld(0)); // cached
});

test('world invariants: unique names, heights and possessions, mutual friendships, consistent facts', () => {
  for (const seed of [0, 1, 2, 3]) {
    const w = buildWorld(seed);
    const names = w.people.map((p) => p.name);
    assert.equal(new Set(names).size, names.length);
    assert.equal(new Set(w.people.map((p) => p.height)).size, names.length);
    assert.equal(new Set(w.people.map((p) => `${p.owns.color} ${p.owns.object.name}`)).size, names.length);
    for (const p of w.people) {
      assert.notEqual(p.friend, p.name);
      assert.equal(w.person(p.friend)!.friend, p.name, 'friendship is mutual');
      assert.ok(w.place(p.home), `${p.name}'s home exists`);
      assert.ok(JOBS.includes(p.job));
    }
    for (const pl of w.places) assert.ok(w.people.some((p) => p.home === pl.name), `someone lives in ${pl.name}`);
    // every "taller than" sentence agrees with the heights
    for (const f of w.facts.filter((f) => f.relation === 'taller_than')) {
      assert.ok(w.person(f.subject)!.height > w.person(f.object)!.height, f.sentence);
    }
    // fact sentences say what the person records hold
    for (const p of w.people) {
      const sentences = new Set(w.facts.filter((f) => f.subject === p.name).map((f) => f.sentence));
      assert.ok(sentences.has(`${p.name} lives in ${p.home}.`));
      assert.ok(sentences.has(`${p.name} is ${p.age} years old.`));
      assert.ok(sentences.has(`${p.name} is ${p.height} cm tall.`));
    }
  }
});

test('every question is answered the same by the independent look-up, and its trace cites true facts', () => {
  const w = getWorld(0);
  const factSentences = new Set(w.facts.map((f) => f.sentence));
  const rng = new WorldRng(3);
  const kinds = new Set<string>();
  for (let k = 0; k < 600; k++) {
    const q = sampleWorldQuestion(rng, w, 1 + (k % MAX_WORLD_LEVEL));
    kinds.add(q.kind);
    assert.equal(answerWorldQuestion(w, q.question), q.answer, q.question);
    // each trace line that looks like a world fact must be one
    for (const line of q.trace.split('\n')) {
      if (/^\w+ (lives in|works as|owns|likes|is a friend of|is \d+ (years old|cm tall))/.test(line)) {
        assert.ok(factSentences.has(line), `trace line "${line}" is not a fact of the world`);
      }
    }
    // the answer is reached in the trace
    assert.ok(q.trace.includes(q.answer), `trace of "${q.question}" never mentions ${q.answer}`);
  }
  assert.equal(kinds.size, 12, 'all question kinds drawn');
  assert.equal(answerWorldQuestion(w, 'Where does Nobody live?'), null);
  assert.equal(answerWorldQuestion(w, 'What is love?'), null);
});

test('comparison answers follow the raw heights and ages', () => {
  const w = getWorld(0);
  const [a, b] = w.people;
  const taller = a.height > b.height ? a.name : b.name;
  assert.equal(answerWorldQuestion(w, `Who is taller, ${a.name} or ${b.name}?`), taller);
  assert.equal(answerWorldQuestion(w, `How old will ${a.name} be in 5 years?`), String(a.age + 5));
});
