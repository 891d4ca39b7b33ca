// Travel logs recall only what they logged (both styles), copy documents repeat themselves, and the
// recall probe scores exactly the first token of each recalled destination (checked against a hand
// computation from the logits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPreset } from '../models/glm/config.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { Tensor } from '../tensor/tensor.js';
import { trainBpeFromTexts } from '../tokenizer/bpe-train.js';
import { generateWorldTask } from '../data/world/index.js';
import { recallProbe } from './recall-probe.js';

const logs = generateWorldTask('pretrain', { n: 400, seed: 3, ledgerShare: 1 }).map((r) => r.text);

test('travel logs: every recalled sentence is one the log wrote, and a share 0 corpus has none', () => {
  for (const text of logs.slice(0, 50)) {
    const [log, recall] = text.split('\nRecall: ');
    assert.ok(log.startsWith('Travel log. '), text);
    const written = new Set(log.slice('Travel log. '.length).match(/On day \d+, [^.]+ visited [^.]+\./g));
    const recalled = recall.match(/On day \d+, [^.]+ visited [^.]+\./g)!;
    assert.ok(recalled.length >= 2 && recalled.length <= 4, recall);
    for (const s of recalled) assert.ok(written.has(s), `"${s}" was not logged`);
  }
  const plain = generateWorldTask('pretrain', { n: 300, seed: 3 });
  assert.ok(plain.every((r) => !r.text.startsWith('Travel log.')));
  assert.deepEqual(generateWorldTask('pretrain', { n: 300, seed: 3, ledgerShare: 0 }), plain, 'share 0 is the old corpus, draw for draw');
  const mixed = generateWorldTask('pretrain', { n: 1000, seed: 3, ledgerShare: 0.1 }).filter((r) => r.text.startsWith('Travel log.')).length;
  assert.ok(mixed > 60 && mixed < 140, `${mixed} travel logs of 1000 at share 0.1`);
});

test('recall probe: accuracy and loss are those of the destinations\' first tokens', () => {
  const tok = trainBpeFromTexts(logs, { vocabSize: 400 });
  const model = new GlmForCausalLM({ ...loadPreset('tiny'), vocabSize: tok.vocabSize, numHiddenLayers: 1 }, { seed: 2 });
  const texts = logs.slice(0, 3);
  const r = recallProbe(model, tok, texts);
  let hits = 0, loss = 0, n = 0;
  for (const text of texts) {
    const ids = tok.encode(text);
    const logits = model.forward(new Tensor(Int32Array.from(ids), [1, ids.length])).logits!.data as Float32Array;
    const V = tok.vocabSize;
    const cut = text.indexOf('\nRecall: ');
    for (const m of text.slice(cut).matchAll(/visited ([^.]+)\./g)) {
      const p = tok.encode(text.slice(0, cut + m.index! + 'visited'.length)).length; // the destination's first token
      const row = logits.subarray((p - 1) * V, p * V);
      const mx = Math.max(...row);
      const lse = mx + Math.log(row.reduce((s, x) => s + Math.exp(x - mx), 0));
      loss += lse - row[ids[p]];
      if (row.indexOf(mx) === ids[p]) hits++;
      n++;
    }
  }
  assert.equal(r.items, n);
  assert.ok(Math.abs(r.loss - loss / n) < 1e-4, `${r.loss} vs ${loss / n}`);
  assert.equal(r.accuracy, hits / n);
  assert.ok(r.chance > 0 && r.chance <= 0.5, `chance ${r.chance}`);
});

test('adjacent travel logs: one visit per person, recalls logged, and the probe finds every recalled destination', () => {
  const adjacent = generateWorldTask('pretrain', { n: 60, seed: 4, ledgerShare: 1, ledgerStyle: 'adjacent' }).map((r) => r.text);
  for (const text of adjacent) {
    const [log, recall] = text.split('\nRecall: ');
    const written = log.slice('Travel log. '.length).match(/[A-Z][a-z]+ [A-Z][a-z]+\./g)!;
    assert.ok(written.length >= 6 && written.length <= 12, log);
    const people = written.map((s) => s.split(' ')[0]);
    assert.equal(new Set(people).size, people.length, `a person appears twice: ${log}`);
    const recalled = recall.match(/[A-Z][a-z]+ [A-Z][a-z]+\./g)!;
    assert.ok(recalled.length >= 2 && recalled.length <= 4, recall);
    for (const s of recalled) assert.ok(written.includes(s), `"${s}" was not logged`);
  }
  const tok = trainBpeFromTexts(adjacent, { vocabSize: 300 });
  const model = new GlmForCausalLM({ ...loadPreset('tiny'), vocabSize: tok.vocabSize, numHiddenLayers: 1 }, { seed: 2 });
  const r = recallProbe(model, tok, adjacent.slice(0, 5));
  const expected = adjacent.slice(0, 5).reduce((a, t) => a + t.split('\nRecall: ')[1].match(/[A-Z][a-z]+ [A-Z][a-z]+\./g)!.length, 0);
  assert.equal(r.items, expected);
});

test('person travel logs: the sentence wording, each person once and each day once, recalls logged', () => {
  const logs = generateWorldTask('pretrain', { n: 60, seed: 4, ledgerShare: 1, ledgerStyle: 'person' }).map((r) => r.text);
  for (const text of logs) {
    const [log, recall] = text.split('\nRecall: ');
    const written = [...log.matchAll(/On day (\d+), ([A-Z][a-z]+) visited [A-Z][a-z]+\./g)];
    assert.ok(written.length >= 6 && written.length <= 12, log);
    assert.equal(new Set(written.map((m) => m[2])).size, written.length, `a person appears twice: ${log}`);
    assert.equal(new Set(written.map((m) => m[1])).size, written.length, `a day appears twice: ${log}`);
    for (const s of recall.match(/On day \d+, [A-Z][a-z]+ visited [A-Z][a-z]+\./g)!) assert.ok(written.some((m) => m[0] === s), `"${s}" was not logged`);
  }
});

test('pair travel logs: every (day, person) once among 3 people and 4 days, and the probe finds every recalled destination', () => {
  const logs = generateWorldTask('pretrain', { n: 60, seed: 4, ledgerShare: 1, ledgerStyle: 'pair' }).map((r) => r.text);
  for (const text of logs) {
    const [log, recall] = text.split('\nRecall: ');
    const written = [...log.matchAll(/On day (\d+), ([A-Z][a-z]+) [A-Z][a-z]+\./g)];
    assert.ok(written.length >= 6 && written.length <= 12, log);
    assert.equal(new Set(written.map((m) => `${m[1]}|${m[2]}`)).size, written.length, log);
    assert.ok(new Set(written.map((m) => m[2])).size <= 3 && new Set(written.map((m) => m[1])).size <= 4, log);
    for (const s of recall.match(/On day \d+, [A-Z][a-z]+ [A-Z][a-z]+\./g)!) assert.ok(written.some((m) => m[0] === s), `"${s}" was not logged`);
  }
  const tok = trainBpeFromTexts(logs, { vocabSize: 300 });
  const model = new GlmForCausalLM({ ...loadPreset('tiny'), vocabSize: tok.vocabSize, numHiddenLayers: 1 }, { seed: 2 });
  const r = recallProbe(model, tok, logs.slice(0, 5));
  assert.equal(r.items, logs.slice(0, 5).reduce((a, t) => a + t.split('\nRecall: ')[1].match(/On day \d+, [A-Z][a-z]+ [A-Z][a-z]+\./g)!.length, 0));
});

test('copy documents repeat their words in order; copy share 0 leaves the corpus draw for draw', () => {
  const docs = generateWorldTask('pretrain', { n: 400, seed: 5, copyShare: 0.5 }).map((r) => r.text).filter((t) => t.startsWith('Words: '));
  assert.ok(docs.length > 140 && docs.length < 260, `${docs.length} copy documents of 400 at share 0.5`);
  for (const t of docs) {
    const [first, again] = t.split('\nAgain: ');
    const words = first.slice('Words: '.length).split(' ');
    assert.ok(words.length >= 10 && words.length <= 30, t);
    assert.equal(again, first.slice('Words: '.length), t);
  }
  assert.deepEqual(generateWorldTask('pretrain', { n: 200, seed: 5, copyShare: 0 }), generateWorldTask('pretrain', { n: 200, seed: 5 }));
  assert.throws(() => generateWorldTask('pretrain', { n: 1, seed: 5, copyShare: 2 }), /copyShare within 0\.\.1/);
});

test('copy documents with repeats draw from 3-5 words, so a word recurs; repeat share 0 leaves the copy draw as it was', () => {
  const docs = generateWorldTask('pretrain', { n: 400, seed: 5, copyShare: 1, copyRepeatShare: 1 }).map((r) => r.text);
  assert.equal(docs.length, 400);
  for (const t of docs) {
    const [first, again] = t.split('\nAgain: ');
    const words = first.slice('Words: '.length).replace(/\.$/, '').split(' ');
    const distinct = new Set(words).size;
    assert.ok(distinct >= 1 && distinct <= 5 && words.length >= 10, t);
    assert.equal(again, first.slice('Words: '.length), t);
  }
  assert.deepEqual(generateWorldTask('pretrain', { n: 200, seed: 5, copyShare: 0.5, copyRepeatShare: 0 }), generateWorldTask('pretrain', { n: 200, seed: 5, copyShare: 0.5 }));
  assert.throws(() => generateWorldTask('pretrain', { n: 1, seed: 5, copyShare: 0.5, copyRepeatShare: -1 }), /copyRepeatShare within 0\.\.1/);
});
