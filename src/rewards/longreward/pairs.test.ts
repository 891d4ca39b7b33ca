import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateWorldTask } from '../../data/world/index.js';
import { longdocGoldAnswer } from '../../data/world/longdoc.js';
import { answerClaims } from '../../data/world/longdoc-rubric.js';
import { nearMisses } from './world-judge.js';
import { type ScoreRunSummary, tallySupport } from './pairs.js';
import type { LongRewardScore } from './scorer.js';

test('tallySupport counts the judge\'s support labels of the policy\'s statements against the world\'s truth', () => {
  const [r] = generateWorldTask('longdoc', { n: 1, seed: 5, docTokens: 600, longdocVisitStyle: 'pair', longdocKinds: ['needle'] });
  const right = answerClaims(longdocGoldAnswer(r)).map((c) => c.statement);
  const wrong = nearMisses(r, right);
  assert.ok(right.length >= 1 && wrong.length >= 1);
  const score = (statements: { statement: string; support: number | null }[]): LongRewardScore => ({ helpfulness: 5, logicality: 5, faithfulness: 5, completeness: 5, reward: 5, failures: [], rationale: { statements } });
  const sum = { prompts: 1, pairs: 0, dropped_few_scored: 0, dropped_ties: 0, dropped_too_long: 0, answers: 2, failed_answers: 0 } as ScoreRunSummary;
  // a judge that calls everything supported: right on the true statements, wrong on every near miss
  tallySupport(sum, r, [score(right.map((s) => ({ statement: s, support: 1 }))), score([...wrong.map((s) => ({ statement: s, support: 1 })), { statement: 'I read it.', support: 1 }, { statement: right[0], support: null }])]);
  assert.deepEqual(sum.gold_support, { labels: right.length + wrong.length, right: right.length, unsupported: wrong.length, unsupported_right: 0 });
  tallySupport(sum, r, [score(wrong.map((s) => ({ statement: s, support: 0 })))]);
  assert.deepEqual(sum.gold_support, { labels: right.length + 2 * wrong.length, right: right.length + wrong.length, unsupported: 2 * wrong.length, unsupported_right: wrong.length });
});
