// bf16 compute in ops (src/tensor/ops/precision.ts): linear and matmul recorded inside
// withBf16Compute(true) equal the float32 ops on bf16-rounded operands, forward and backward (each
// GEMM rounds its own two operands, the upstream gradient included), on both backends; the backward
// keeps the precision its forward was recorded with, whenever it runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import { withBackend } from '../backend/index.js';
import { roundToBf16Daz } from '../backend/reference/gemm.js';
import { assertClose, randomTensor } from '../testing.js';
import { Tensor } from '../tensor.js';
import { needNativeOptions } from '../../util/test-skip.js';
import { bf16ComputeEnabled, withBf16Compute } from './precision.js';
import * as F from './index.js';

const BACKENDS = [['reference', {}], ['native', needNativeOptions()]] as const;
const round = (t: Tensor) => new Tensor(roundToBf16Daz(t.data as Float32Array), t.shape);
const tol = { atol: 2e-5, rtol: 2e-5 };

for (const [name, skipOpts] of BACKENDS) {
  test(`linear under bf16 compute = float32 linear of rounded operands, forward and backward (${name})`, skipOpts, () => {
    withBackend(name, () => {
      const rng = new Rng(11);
      for (const rows of [1, 9, 70]) {
        const x = randomTensor([rows, 45], rng).requireGrad(), w = randomTensor([30, 45], rng).requireGrad(), bias = randomTensor([30], rng).requireGrad();
        const g = randomTensor([rows, 30], rng);
        const y = withBf16Compute(true, () => F.linear(x, w, bias));
        assert.equal(bf16ComputeEnabled(), false);
        F.sum(F.mul(y, g)).backward(); // outside the scope: still bf16, as recorded
        assertClose(y, F.linear(round(x), round(w), bias), tol, `y rows=${rows}`);
        assertClose(x.grad!, F.matmul(round(g), round(w)), tol, `dx rows=${rows}`);
        assertClose(w.grad!, F.matmul(round(g), round(x), { transA: true }), tol, `dW rows=${rows}`);
        assertClose(bias.grad!, F.sum(g, 0), tol, `dbias rows=${rows}`);
        // and it is not the float32 product
        const y32 = F.linear(x, w, bias);
        assert.ok((y.data as Float32Array).some((v, i) => Math.abs(v - y32.data[i]) > 1e-4), 'bf16 compute must round');
      }
    });
  });

  test(`batched matmul under bf16 compute = float32 matmul of rounded operands, forward and backward (${name})`, skipOpts, () => {
    withBackend(name, () => {
      const rng = new Rng(12);
      const a = randomTensor([3, 17, 40], rng).requireGrad(), b = randomTensor([3, 23, 40], rng).requireGrad();
      const g = randomTensor([3, 17, 23], rng);
      const y = withBf16Compute(true, () => F.matmul(a, b, { transB: true }));
      F.sum(F.mul(y, g)).backward();
      assertClose(y, F.matmul(round(a), round(b), { transB: true }), tol, 'y');
      assertClose(a.grad!, F.matmul(round(g), round(b)), tol, 'da');
      assertClose(b.grad!, F.matmul(round(g), round(a), { transA: true }), tol, 'db');
    });
  });
}

test('an op recorded outside bf16 compute keeps float32 in a backward run inside it', () => {
  const rng = new Rng(13);
  const x = randomTensor([8, 33], rng).requireGrad(), w = randomTensor([12, 33], rng);
  const g = randomTensor([8, 12], rng);
  const y = F.linear(x, w);
  withBf16Compute(true, () => F.sum(F.mul(y, g)).backward());
  assertClose(x.grad!, F.matmul(g, w), { atol: 1e-6, rtol: 1e-6 }, 'dx in float32');
  assert.throws(() => withBf16Compute(true, () => { throw new Error('boom'); }), /boom/);
  assert.equal(bf16ComputeEnabled(), false, 'the setting is restored after a throw');
});
