import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateWorldTask, verifyWorldRecord } from './index.js';
import { longqaPrompt, mcqPrompt, mrcPrompt, splitSentences } from './reading.js';
import { BOX_CLOSE as C, BOX_OPEN as O } from './verify.js';
import { JOBS, LANDSCAPES, OBJECTS, getWorld } from './world.js';

function count(hay: string, needle: string): number {
  return hay.split(needle).length - 1;
}

test('longqa: the needle is present once, at its index, and no distractor answers the question', () => {
  const recs = generateWorldTask('longqa', { n: 200, seed: 6, difficulty: [1, 2, 3, 4] });
  const levels = new Set<number>();
  for (const r of recs) {
    levels.add(r.difficulty);
    const sentences = splitSentences(r.document);
    assert.equal(sentences[r.needle_index], r.needle);
    assert.equal(count(r.document, r.needle), 1, 'needle present exactly once');
    assert.equal(count(r.document, r.answer), 1, `answer "${r.answer}" appears only in the needle`);
    assert.ok(r.needle.includes(r.answer));
    // the subject the question asks about ("the green locker" / "Olga hid") appears only in the needle
    const m = /^What is the code of the (\w+) locker\?$/.exec(r.question) ?? /^Where did (\w+) hide the key\?$/.exec(r.question);
    assert.ok(m, r.question);
    const subject = r.question.startsWith('What') ? `the ${m[1]} locker` : `${m[1]} hid`;
    assert.ok(r.needle.includes(subject));
    assert.equal(r.distractor_indices.length, Math.min(2 + r.difficulty, 6));
    for (const i of r.distractor_indices) {
      const d = sentences[i];
      assert.notEqual(i, r.needle_index);
      assert.ok(!d.includes(subject) && !d.includes(r.answer), `distractor "${d}" answers "${r.question}"`);
      // distractors have the needle's shape
      assert.equal(d.replace(/\d+|\w+(?= locker)|^\w+|\w+(?=\.$)/g, 'X'), r.needle.replace(/\d+|\w+(?= locker)|^\w+|\w+(?=\.$)/g, 'X'));
    }
    // everything else is a true world fact
    const facts = new Set(getWorld(0).facts.map((f) => f.sentence));
    sentences.forEach((s, i) => {
      if (i !== r.needle_index && !r.distractor_indices.includes(i)) assert.ok(facts.has(s), `filler "${s}" is not a world fact`);
    });
  }
  assert.equal(levels.size, 4);
  const lens = recs.map((r) => splitSentences(r.document).length);
  assert.ok(Math.max(...lens) > 90, 'level 4 documents are long');
});

test('mrc: gold evidence sentences contain the answer and the question subject; options are distinct', () => {
  const w = getWorld(0);
  const recs = generateWorldTask('mrc', { n: 300, seed: 7 });
  let twoHop = 0;
  for (const r of recs) {
    assert.equal(r.passage, r.sentences.join(' '));
    assert.equal(new Set(r.options).size, r.options.length);
    assert.equal(r.options.length, 4);
    const answer = r.options[r.answer];
    const evidence = r.evidence.map((i) => r.sentences[i]);
    assert.equal(r.difficulty, evidence.length);
    assert.ok(evidence.some((s) => s.includes(answer)), `evidence ${JSON.stringify(evidence)} lacks "${answer}"`);
    // the question's subject (a name, or "the <color> <object>") is in the evidence
    const subj = /the owner of the (\w+ \w+)(?: live)?\?/.exec(r.question)?.[1] ?? /(?:does|is) (\w+?)(?:'s)? (?:live|job|own)/.exec(r.question)?.[1];
    assert.ok(subj, r.question);
    assert.ok(evidence.some((s) => s.includes(subj)), `evidence lacks the subject "${subj}"`);
    if (evidence.length === 2) {
      twoHop++;
      // the bridge: the same person is named in both evidence sentences
      const names = evidence.map((s) => s.split(' ')[0]);
      assert.equal(names[0], names[1]);
    }
    // the gold answer is true in the world, and no other option is
    const who = evidence[0].split(' ')[0];
    const p = w.person(who)!;
    const rel = r.question.includes('live') ? 'lives in' : r.question.includes('job') ? 'works as' : 'owns';
    const truth = rel === 'lives in' ? p.home : rel === 'works as' ? p.job.name : `${p.owns.color} ${p.owns.object.name}`;
    assert.equal(answer, truth, `${r.question} -> ${answer}`);
    assert.equal(r.options.filter((o) => o === truth).length, 1);
    // the passage does not state a different value of the same relation for the subject
    const stated = r.sentences.filter((s) => s.startsWith(`${who} ${rel}`));
    assert.equal(stated.length, 1);
  }
  assert.ok(twoHop > 50, `${twoHop} two-hop questions`);
});

test('mcq: one right choice, true of the world by the commonsense tables; prefix + answer reads as a statement', () => {
  const w = getWorld(0);
  const recs = generateWorldTask('mcq', { n: 300, seed: 9 });
  const kinds = new Set<string>();
  for (const r of recs) {
    kinds.add(r.kind);
    assert.equal(new Set(r.choices).size, r.choices.length);
    const name = r.question.split(' ')[0];
    const p = w.person(name)!;
    const right = r.choices[r.answer];
    const expected =
      r.kind === 'workplace'
        ? JOBS.find((j) => j.name === p.job.name)!.workplace
        : r.kind === 'tool'
          ? JOBS.find((j) => j.name === p.job.name)!.tool
          : r.kind === 'object_use'
            ? OBJECTS.find((o) => o.name === p.owns.object.name)!.use
            : LANDSCAPES.find((l) => l.where === w.place(p.home)!.landscape.where)!.activity;
    assert.equal(right, expected, r.question);
    assert.ok(r.prefix.startsWith(name));
    assert.ok(!r.prefix.endsWith('.') && !r.prefix.endsWith('?'), 'prefix is continued by a choice');
  }
  assert.equal(kinds.size, 4);
});

test('reading prompts carry what is needed, and the per-task verifiers accept only the right answer', () => {
  const [lq] = generateWorldTask('longqa', { n: 1, seed: 1 });
  assert.ok(longqaPrompt(lq).includes(lq.needle) && longqaPrompt(lq).includes(lq.question));
  assert.equal(verifyWorldRecord('longqa', lq, `${O}${lq.answer}${C}`), 1);
  assert.equal(verifyWorldRecord('longqa', lq, `<think>${O}${lq.answer}${C}</think>`), 0);
  for (const r of generateWorldTask('mrc', { n: 20, seed: 2 })) {
    const letter = 'ABCD'[r.answer];
    assert.ok(mrcPrompt(r).includes(`${letter}. ${r.options[r.answer]}`));
    assert.equal(verifyWorldRecord('mrc', r, `${O}${letter}${C}`), 1);
    assert.equal(verifyWorldRecord('mrc', r, `${O}${r.options[r.answer]}${C}`), 1);
    assert.equal(verifyWorldRecord('mrc', r, `${O}${'ABCD'[(r.answer + 1) % 4]}${C}`), 0);
  }
  for (const r of generateWorldTask('mcq', { n: 20, seed: 2 })) {
    assert.ok(mcqPrompt(r).startsWith(r.question));
    assert.equal(verifyWorldRecord('mcq', r, `${O}${'ABCD'[r.answer]}${C}`), 1);
    assert.equal(verifyWorldRecord('mcq', r, `${O}A${C}${O}B${C}${O}C${C}${O}D${C}`), 0);
  }
});
