// Preference losses against hand-computed values, EXO's gradient against finite differences, and
// the identity "forward KL with K = 2 and one-hot labels = DPO".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../tensor/tensor.js';
import { gradcheck } from '../tensor/testing.js';
import { dpoLoss, exoLoss, forwardKlLoss, pairTargets, pairwiseRewardLoss, rewardTargets } from './preference-losses.js';

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
const softplus = (x: number) => Math.log(1 + Math.exp(x));

test('reward-model loss: -log sigmoid(r_w - r_l) + alpha (r_w^2 + r_l^2), and pair stats', () => {
  const { loss, stats } = pairwiseRewardLoss(Tensor.from([1, 0]), Tensor.from([0, 2]), 0.01);
  // pair 0: softplus(-1) + 0.01 * 1; pair 1: softplus(2) + 0.01 * 4
  close(loss.item(), (0.31326169 + 0.01 + 2.12692801 + 0.04) / 2, 1e-5);
  assert.equal(stats.accuracy, 0.5);
  close(stats.margin, -0.5);
  close(pairwiseRewardLoss(Tensor.from([3]), Tensor.from([1])).loss.item(), softplus(-2), 1e-6);
});

test('DPO: sigmoid, cDPO label smoothing and IPO on hand-computed values', () => {
  const hw = Tensor.from([0.5, -1]), hl = Tensor.from([-0.5, 1]);
  // beta (h_w - h_l) = 0.1 and -0.2
  const r = dpoLoss(hw, hl, { beta: 0.1 });
  close(r.loss.item(), (0.64439666 + 0.79813887) / 2, 1e-6);
  close(r.stats.chosen, (0.05 - 0.1) / 2);
  close(r.stats.rejected, (-0.05 + 0.1) / 2);
  assert.equal(r.stats.accuracy, 0.5);
  const c = dpoLoss(hw, hl, { beta: 0.1, labelSmoothing: 0.2 });
  close(c.loss.item(), (0.8 * 0.64439666 + 0.2 * 0.74439666 + 0.8 * 0.79813887 + 0.2 * 0.59813887) / 2, 1e-6);
  // IPO: (d - 1/(2 beta))^2 with d = 1, -2 and 1/(2*0.1) = 5
  close(dpoLoss(hw, hl, { beta: 0.1, lossType: 'ipo' }).loss.item(), (16 + 49) / 2, 1e-4);
});

test('EXO targets and loss on hand-computed values', () => {
  const t = rewardTargets([1, 0, 2, 2], 2, 0.5);
  // group 0: log softmax([2, 0]) = [-softplus(-2), -softplus(2)]; group 1: log(1/2) twice
  close(t[0], -softplus(-2), 1e-9);
  close(t[1], -softplus(2), 1e-9);
  close(t[2], Math.log(0.5), 1e-12);
  const p = pairTargets(1);
  close(Math.exp(p[0]) + Math.exp(p[1]), 1, 1e-12);
  close(p[0] - p[1], 10, 1e-12);
  // h = [1, 0], beta_pi = 1: p_f = [sigmoid(1), sigmoid(-1)]
  const pf0 = 1 / (1 + Math.exp(-1)), pf1 = 1 - pf0;
  const expected = pf0 * (Math.log(pf0) - p[0]) + pf1 * (Math.log(pf1) - p[1]);
  const r = exoLoss(Tensor.from([1, 0], [1, 2]), p, 1);
  close(r.loss.item(), expected, 1e-5);
  close(r.pf.data[0], pf0, 1e-6);
  // zero exactly when p_f = p_r: beta_pi * h = log p_r + const
  const targets = rewardTargets([0.3, -1, 2], 3, 0.7);
  const h = Tensor.from(Array.from(targets, (v) => (v + 4) / 0.5), [1, 3], 'f64');
  close(exoLoss(h, targets, 0.5).loss.item(), 0, 1e-12);
  assert.throws(() => exoLoss(Tensor.from([1, 2, 3], [1, 3]), [0, 0], 1), /target log-probs/);
});

test('EXO gradient matches finite differences (K = 4, f64)', () => {
  const h = Tensor.from([0.3, -1.2, 0.8, 0.1, 2.0, -0.5, 0.0, 1.1], [2, 4], 'f64');
  const targets = rewardTargets([0.9, 0.1, 0.5, 0.2, 0.3, 0.8, 0.6, 0.0], 4, 0.5);
  gradcheck((x) => exoLoss(x, targets, 0.7).loss, [h], { atol: 1e-7, rtol: 1e-5 });
  // and the closed form: dL/dh_j = beta pf_j (a_j - sum_i pf_i a_i), a = log pf - log pr
  const beta = 0.7;
  h.grad = null;
  exoLoss(h, targets, beta).loss.backward();
  for (let n = 0; n < 2; n++) {
    const z = [0, 1, 2, 3].map((i) => beta * h.data[n * 4 + i]);
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
    const lf = z.map((v) => v - lse);
    const a = lf.map((v, i) => v - targets[n * 4 + i]);
    const mean = lf.reduce((s, v, i) => s + Math.exp(v) * a[i], 0);
    for (let j = 0; j < 4; j++) close(h.grad!.data[n * 4 + j], (beta * Math.exp(lf[j]) * (a[j] - mean)) / 2, 1e-10);
  }
});

test('forward KL with K = 2 and one-hot labels equals DPO; DPO gradient by finite differences', () => {
  const hw = [0.4, -2.1, 3.3, 0.0], hl = [-0.1, 0.7, 1.2, 0.05];
  for (const beta of [0.1, 0.5, 2]) {
    const h = Tensor.from(hw.flatMap((w, i) => [w, hl[i]]), [4, 2], 'f64');
    const fwd = forwardKlLoss(h, [1, 0, 1, 0, 1, 0, 1, 0], beta).item();
    const dpo = dpoLoss(Tensor.from(hw, [4], 'f64'), Tensor.from(hl, [4], 'f64'), { beta }).loss.item();
    close(fwd, dpo, 1e-12);
  }
  gradcheck((a, b) => dpoLoss(a, b, { beta: 0.3, labelSmoothing: 0.1 }).loss, [Tensor.from(hw, [4], 'f64'), Tensor.from(hl, [4], 'f64')], { atol: 1e-7 });
});
