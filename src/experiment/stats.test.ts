import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/rng.js';
import { bootstrapMean, combineVerdicts, pairedBootstrap, studentTQuantile, tInterval, verdictOf } from './stats.js';

test('Student t quantiles match published tables', () => {
  // two-sided 95% critical values t_{0.975, df}
  const table: [number, number][] = [[1, 12.7062], [2, 4.3027], [4, 2.7764], [9, 2.2622], [30, 2.0423], [1000, 1.9623]];
  for (const [df, t] of table) assert.ok(Math.abs(studentTQuantile(0.975, df) - t) < 1e-3, `df ${df}: ${studentTQuantile(0.975, df)} vs ${t}`);
  assert.ok(Math.abs(studentTQuantile(0.025, 4) + 2.7764) < 1e-3);
});

test('t-interval of known values', () => {
  const r = tInterval([1, 2, 3]);
  // mean 2, sd 1, half-width 4.3027 / sqrt(3)
  assert.equal(r.estimate, 2);
  assert.ok(Math.abs(r.ci[1] - (2 + 4.3027 / Math.sqrt(3))) < 1e-3);
  assert.ok(Math.abs(r.ci[0] - (2 - 4.3027 / Math.sqrt(3))) < 1e-3);
  assert.throws(() => tInterval([1]), /at least 2 seeds/);
});

test('bootstrap interval of a normal mean has the textbook width and covers the mean', () => {
  const rng = new Rng(7);
  const xs = Array.from({ length: 400 }, () => 0.1 + rng.normal());
  const r = bootstrapMean(xs, { resamples: 4000, seed: 1 });
  const width = r.ci[1] - r.ci[0];
  const expected = 2 * 1.96 / Math.sqrt(400); // sigma = 1
  assert.ok(Math.abs(width - expected) < 0.25 * expected, `width ${width} vs ${expected}`);
  assert.ok(r.ci[0] < r.estimate && r.estimate < r.ci[1]);
});

test('bootstrap intervals cover the true mean about 95% of the time', () => {
  const rng = new Rng(11);
  let covered = 0;
  const reps = 200;
  for (let k = 0; k < reps; k++) {
    const xs = Array.from({ length: 60 }, () => (rng.random() < 0.3 ? 1 : 0)); // Bernoulli(0.3), like per-prompt accuracy
    const r = bootstrapMean(xs, { resamples: 1000, seed: k });
    if (r.ci[0] <= 0.3 && 0.3 <= r.ci[1]) covered++;
  }
  // Binomial(200, 0.95) lies in [176, 198] with probability > 0.999; percentile intervals run a bit narrow at n = 60.
  assert.ok(covered >= 176 && covered <= 198, `covered ${covered}/${reps}`);
});

test('paired bootstrap is deterministic for a seed and uses the pairing', () => {
  const rng = new Rng(3);
  const base = Array.from({ length: 100 }, () => rng.normal() * 5); // large per-prompt spread
  const a = base.map((x) => x + 0.2);
  const r1 = pairedBootstrap(a, base, { seed: 5 });
  const r2 = pairedBootstrap(a, base, { seed: 5 });
  assert.deepEqual(r1, r2);
  // every difference is exactly 0.2: pairing removes the prompt spread entirely
  assert.ok(Math.abs(r1.ci[0] - 0.2) < 1e-9 && Math.abs(r1.ci[1] - 0.2) < 1e-9);
  assert.equal(r1.n, 100);
  assert.throws(() => pairedBootstrap([1, 2], [1]), /same prompts/);
  assert.throws(() => pairedBootstrap([1, NaN], [1, 2]), /finite/);
});

test('verdicts come from the interval alone', () => {
  assert.equal(verdictOf([0.01, 0.2], 'greater'), 'reproduced');
  assert.equal(verdictOf([-0.2, -0.01], 'greater'), 'not reproduced');
  assert.equal(verdictOf([-0.01, 0.3], 'greater'), 'inconclusive');
  assert.equal(verdictOf([-0.3, -0.1], 'less'), 'reproduced');
  assert.equal(verdictOf([0.1, 0.3], 'less'), 'not reproduced');
  assert.equal(verdictOf([0.02, 0.3], 'greater', 0.05), 'inconclusive');
  assert.equal(combineVerdicts(['reproduced', 'reproduced']), 'reproduced');
  assert.equal(combineVerdicts(['reproduced', 'inconclusive']), 'inconclusive');
  assert.equal(combineVerdicts(['inconclusive', 'not reproduced']), 'not reproduced');
  assert.equal(combineVerdicts([]), 'inconclusive');
});
