// Question -> declarative prefix: the record's own prefix, COPA's premise + because/so, and the
// social-question templates; a question no template fits is one DataError naming file, line, field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { tempDir } from '../util/temp-dir.js';
import { loadQuestions } from '../cli/seqa.js';
import { copaPrefix, questionPrefix, socialPrefix } from './seqa-prefix.js';

test('COPA: the premise, then "because" for a cause and "so" for an effect', () => {
  assert.equal(copaPrefix('The man broke his toe.', 'cause'), 'The man broke his toe because');
  assert.equal(copaPrefix(' I tipped the bottle! ', 'effect'), 'I tipped the bottle so');
  assert.equal(questionPrefix({ premise: 'The sun rose.', question: 'Effect' }), 'The sun rose so');
});

test('social questions become statement starts about the same person', () => {
  assert.equal(socialPrefix('What will Alex want to do next?'), 'As a result, Alex wanted to');
  assert.equal(socialPrefix('How would others feel as a result?'), 'As a result, others felt');
  assert.equal(socialPrefix('What does Jordan need to do before this?'), 'Before that, Jordan needed to');
  assert.equal(socialPrefix('Why did Sam do this?'), 'Sam did this because Sam wanted to');
  assert.equal(socialPrefix('How would you describe Kai?'), 'Kai is seen as');
  assert.equal(socialPrefix('how would others feel?'), 'Others felt');
  assert.equal(socialPrefix('Where is the station?'), null);
  assert.equal(questionPrefix({ context: 'Alex gave Sam a gift.', question: 'What will Sam want to do next?' }), 'Alex gave Sam a gift. As a result, Sam wanted to');
  // a record's own prefix wins (the world's mcq records carry one beside their question)
  assert.equal(questionPrefix({ prefix: 'Ann goes to the', question: 'What will Ann want to do next?' }), 'Ann goes to the');
});

test('loadQuestions fills prefixes from the templates and names the line of a record none fits', () => {
  const dir = tempDir('glmkit-seqa-prefix-');
  const ok = join(dir, 'ok.jsonl');
  writeFileSync(ok, [
    { premise: 'The glass fell.', question: 'effect', choices: ['It broke.', 'It sang.'], answer: 0 },
    { context: 'Kim lost the keys.', question: 'How would Kim feel afterwards?', choices: ['upset', 'hungry'], answer: 0 },
    { prefix: 'Bo works at the', choices: ['farm', 'port'], answer: 1 },
  ].map((r) => JSON.stringify(r)).join('\n') + '\n');
  assert.deepEqual(loadQuestions(ok).map((q) => q.prefix), ['The glass fell so', 'Kim lost the keys. As a result, Kim felt', 'Bo works at the']);
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, JSON.stringify({ prefix: 'a', choices: ['x', 'y'], answer: 0 }) + '\n' + JSON.stringify({ question: 'Where is the station?', choices: ['x', 'y'], answer: 0 }) + '\n');
  assert.throws(() => loadQuestions(bad), (e: unknown) => e instanceof DataError && /bad\.jsonl:2: prefix: no "prefix" and no rewrite template fits/.test(e.message));
  const copa = join(dir, 'copa.jsonl');
  writeFileSync(copa, JSON.stringify({ premise: 'p.', question: 'why', choices: ['x', 'y'], answer: 0 }) + '\n');
  assert.throws(() => loadQuestions(copa), /copa\.jsonl:1: question: a COPA-style record needs "question": "cause" or "effect"/);
});
