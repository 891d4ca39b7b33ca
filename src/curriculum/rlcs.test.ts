import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/rng.js';
import { Curriculum, mostBalanced, rewardSpread, tierOf, type CurriculumOptions } from './rlcs.js';
import { informativeGroupProb, passAtK } from './pass-at-k.js';
import { DynamicTemperature } from './temperature.js';

const opts = (kind: CurriculumOptions['kind']): CurriculumOptions => ({ kind, samplesPerPrompt: 8, emaDecay: 0.5, tierFloor: 0.05, maxExpansion: 3, stageSwitch: 0.5, stage2Samples: 16 });

/** C(n, k) by multiplication, for an independent pass@k check. */
function binom(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

test('passAtK matches 1 - C(n-c, k) / C(n, k) and simulation', () => {
  for (const [n, c, k] of [[10, 3, 1], [10, 3, 5], [20, 0, 4], [8, 8, 2], [16, 2, 8], [5, 1, 5]]) {
    const want = n - c < k ? 1 : 1 - binom(n - c, k) / binom(n, k);
    assert.ok(Math.abs(passAtK(n, c, k) - want) < 1e-12, `${n} ${c} ${k}`);
  }
  assert.ok(Math.abs(passAtK(10, 3, 1) - 0.3) < 1e-12);
  assert.throws(() => passAtK(4, 1, 5), /at least k samples/);
  assert.equal(informativeGroupProb(0, 8), 0);
  assert.equal(informativeGroupProb(1, 8), 0);
  assert.ok(Math.abs(informativeGroupProb(0.5, 2) - 0.5) < 1e-12);
});

test('tiers and balanced-group selection', () => {
  assert.deepEqual([null, 0, 0.05, 0.1, 0.3, 0.69, 0.7, 0.95, 1].map(tierOf), ['unseen', 'unsolved', 'unsolved', 'hard', 'medium', 'medium', 'easy', 'solved', 'solved']);
  assert.equal(rewardSpread([1, 1, 1]), 0);
  const groups = [
    { prompt: 0, rewards: [1, 1, 1, 1] }, // zero spread: never kept
    { prompt: 1, rewards: [1, 0, 0, 0] }, // imbalance 2
    { prompt: 2, rewards: [1, 1, 0, 0] }, // balanced
    { prompt: 3, rewards: [0, 0, 0, 0] },
    { prompt: 4, rewards: [0, 1, 1, 1] }, // imbalance 2
  ];
  assert.deepEqual(mostBalanced(groups, 2).map((g) => g.prompt), [2, 1]);
  assert.deepEqual(mostBalanced(groups, 10).map((g) => g.prompt), [2, 1, 4]);
});

test('rlcs weights favour the middle and draw accordingly', () => {
  const c = new Curriculum(300, opts('rlcs'));
  // 100 solved, 100 at p = 0.5, 100 unsolved (offline pre-pass with 8 samples)
  for (let i = 0; i < 300; i++) c.setOffline(i, 8, i < 100 ? 8 : i < 200 ? 4 : 0);
  const { weights } = c.tierWeights();
  const mid = informativeGroupProb(0.5, 8);
  assert.ok(Math.abs(weights.medium - mid / (mid + 0.1)) < 1e-9, `medium weight ${weights.medium}`);
  assert.ok(Math.abs(weights.solved - 0.05 / (mid + 0.1)) < 1e-9);
  const rng = new Rng(1);
  let middle = 0, total = 0;
  for (let it = 0; it < 50; it++) {
    const drawn = c.draw(4, rng);
    assert.equal(new Set(drawn).size, drawn.length, 'no prompt twice in one iteration');
    middle += drawn.filter((i) => i >= 100 && i < 200).length;
    total += drawn.length;
  }
  assert.ok(middle / total > 0.8, `share of middle-tier prompts ${middle / total}`);
});

test('rlcs oversampling follows the EMA of the invalid-group rate', () => {
  const c = new Curriculum(50, opts('rlcs'));
  assert.equal(c.expansion(), 1);
  // all 4 groups invalid, then half invalid: ema = 0.5 * 1 -> 0.5; then 0.5 * 0.5 + 0.5 * 0.5 = 0.5
  c.observe([0, 1, 2, 3].map((p) => ({ prompt: p, rewards: [0, 0] })));
  assert.ok(Math.abs(c.expansion() - 2) < 1e-12);
  c.observe([{ prompt: 4, rewards: [1, 1] }, { prompt: 5, rewards: [0, 1] }]);
  assert.ok(Math.abs(c.expansion() - 2) < 1e-12);
  assert.equal(c.draw(4, new Rng(0)).length, 8);
  c.observe([0, 1, 2, 3].map((p) => ({ prompt: p, rewards: [0, 0] })));
  c.observe([0, 1, 2, 3].map((p) => ({ prompt: p, rewards: [0, 0] })));
  c.observe([0, 1, 2, 3].map((p) => ({ prompt: p, rewards: [0, 0] })));
  assert.equal(c.expansion(), 3, 'capped at maxExpansion');
  // online rates move by the EMA from the offline estimate
  c.setOffline(10, 4, 4);
  c.observe([{ prompt: 10, rewards: [0, 0, 0, 1] }]);
  assert.ok(Math.abs((c.passRate(10) ?? NaN) - (0.5 * 1 + 0.5 * 0.25)) < 1e-12);
});

test('uniform visits every prompt once per epoch; two_stage switches pools and G', () => {
  const u = new Curriculum(10, opts('uniform'));
  const rng = new Rng(3);
  const seen = [...u.draw(4, rng), ...u.draw(4, rng), ...u.draw(2, rng)];
  assert.deepEqual(seen.slice().sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const t = new Curriculum(6, opts('two_stage'));
  [0, 0.1, 0.5, 0.6, 1, 0].forEach((p, i) => t.setOffline(i, 10, Math.round(p * 10)));
  t.observe([{ prompt: 5, rewards: [0, 0, 0, 0, 0, 0, 0, 0] }]); // never solved: not in stage 2
  assert.deepEqual(t.draw(10, rng).sort(), [2, 3]);
  assert.equal(t.samplesPerPrompt(), 8);
  t.progress = 0.5;
  assert.deepEqual(t.draw(10, rng).sort(), [1]);
  assert.equal(t.samplesPerPrompt(), 16);
});

test('dynamic temperature: plateau detection and the highest temperature within 1%', () => {
  const d = new DynamicTemperature(1, { candidates: [0.7, 1, 1.3], patience: 3 });
  assert.equal(d.observe(0.5), false);
  assert.equal(d.observe(0.5), false);
  assert.equal(d.observe(0.5), false);
  assert.equal(d.observe(0.5), true);
  assert.equal(d.choose(new Map([[0.7, 0.8], [1, 0.795], [1.3, 0.7]])), 1);
  assert.equal(d.choose(new Map([[0.7, 0.8], [1, 0.7], [1.3, 0.799]])), 1.3);
});

test('pooled offline estimates separate rarely-solved from never-solved prompts of 0 / k', () => {
  // 40 prompts of group a solved 10% of the time, 40 of group b never; pass@4 pre-pass
  const groups = [...Array(40).fill('arith:5'), ...Array(40).fill('arith:7')];
  const c = new Curriculum(80, { ...opts('rlcs'), poolStrength: 4 }, groups);
  for (let i = 0; i < 80; i++) c.setOffline(i, 4, i < 40 && i % 10 < 4 ? 1 : 0); // group a: 16 / 160 = 0.1
  assert.equal(c.passRate(5), 0, 'raw rate before pooling');
  c.poolOffline();
  const mu = 16 / 160;
  assert.ok(Math.abs(c.passRate(5)! - (0 + 4 * mu) / 8) < 1e-12, `0/4 in group a: ${c.passRate(5)}`);
  assert.ok(Math.abs(c.passRate(0)! - (1 + 4 * mu) / 8) < 1e-12, `1/4 in group a: ${c.passRate(0)}`);
  assert.equal(c.passRate(50), 0, 'group b stays at 0');
  // inside the unsolved tier, draws go to the rarely-solved prompts
  const rng = new Rng(3);
  let a = 0, b = 0;
  for (let it = 0; it < 200; it++) for (const i of c.draw(4, rng)) if (c.passRate(i)! <= 0.05) i < 40 ? a++ : b++;
  assert.ok(a > 10 * b, `unsolved-tier draws: ${a} rarely-solved vs ${b} never-solved`);
  // without pooling, 0/4 is 0/4 in both groups
  const raw = new Curriculum(80, opts('rlcs'), groups);
  for (let i = 0; i < 80; i++) raw.setOffline(i, 4, i < 40 && i % 10 < 4 ? 1 : 0);
  raw.poolOffline();
  assert.equal(raw.passRate(5), 0);
});

test('tier weights scale with tier size: a tier of a few prompts is not drawn every iteration', () => {
  const c = new Curriculum(204, opts('rlcs'));
  for (let i = 0; i < 204; i++) c.setOffline(i, 10, i < 4 ? 5 : i < 104 ? 2 : 10); // 4 medium, 100 hard, 100 solved
  const { weights } = c.tierWeights();
  const [med, hard] = [4 * informativeGroupProb(0.5, 8), 100 * informativeGroupProb(0.2, 8)];
  assert.ok(Math.abs(weights.medium - med / (med + hard + 100 * 0.05)) < 1e-9, `medium ${weights.medium}`);
  assert.ok(weights.medium < 0.05 && weights.hard > 0.8, JSON.stringify(weights));
});

test('curriculum and dynamic temperature state survive a JSON round trip: the restored copy draws and decides the same', () => {
  for (const kind of ['rlcs', 'uniform', 'two_stage'] as const) {
    const a = new Curriculum(12, opts(kind));
    const rng = new Rng(7);
    a.setOffline(0, 4, 1);
    for (let it = 0; it < 3; it++) {
      a.progress = it / 4;
      a.observe(a.draw(3, rng).map((p) => ({ prompt: p, rewards: Array.from({ length: 8 }, () => (rng.random() < 0.4 ? 1 : 0)) })));
    }
    const b = new Curriculum(12, opts(kind));
    b.importState(JSON.parse(JSON.stringify(a.exportState())));
    const [ra, rb] = [new Rng(9), new Rng(9)];
    for (let it = 0; it < 3; it++) assert.deepEqual(b.draw(4, rb), a.draw(4, ra), kind);
    assert.deepEqual(b.summary(), a.summary());
    assert.throws(() => new Curriculum(5, opts(kind)).importState(a.exportState()), /estimates of 5 prompts, found 12/);
  }
  const t = new DynamicTemperature(1, { candidates: [0.7, 1.3], patience: 2 });
  assert.deepEqual([0.5, 0.1, 0.1].map((r) => t.observe(r)), [false, false, true]); // a plateau re-arms the detector
  const u = new DynamicTemperature(1, { candidates: [0.7, 1.3], patience: 2 });
  u.importState(JSON.parse(JSON.stringify(t.exportState())));
  for (const r of [0.3, 0.3, 0.2, 0.5]) assert.equal(u.observe(r), t.observe(r));
});
