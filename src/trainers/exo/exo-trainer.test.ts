import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidatePairs, type CandidateGroup } from './exo-trainer.js';

const seq = (id: number) => ({ ids: [1, id], mask: [0, 1], length: 1 });
const group = (rewards: number[]): CandidateGroup => ({ seqs: rewards.map((_, i) => seq(100 + i)), logTargets: rewards.map(() => 0), rewards, prompt: [{ role: 'user', content: 'q' }] });

test('candidatePairs: every two candidates of a group, the higher reward chosen; or best vs worst', () => {
  const groups = [group([0.1, 0.9, 0.5, 0.5]), group([0.3, 0.3])];
  const all = candidatePairs(groups, 0, 'all');
  // group 0: 6 pairs minus the tie (0.5, 0.5); group 1: a tie only
  assert.equal(all.length, 5);
  for (const p of all) assert.ok(p.pair.scoreChosen! > p.pair.scoreRejected!, JSON.stringify(p.pair));
  assert.deepEqual(all.map((p) => [p.chosen.ids[1], p.rejected.ids[1]]), [[101, 100], [102, 100], [103, 100], [101, 102], [101, 103]]);
  assert.equal(candidatePairs(groups, 0.45, 'all').length, 1, 'a minimum gap drops close pairs');
  const bw = candidatePairs(groups, 0, 'best_worst');
  assert.deepEqual(bw.map((p) => [p.chosen.ids[1], p.rejected.ids[1]]), [[101, 100]]);
  assert.throws(() => candidatePairs([{ seqs: [seq(1), seq(2)], logTargets: [0, 0] }]), /with rewards/);
});
