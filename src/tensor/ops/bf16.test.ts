// bf16 weights in ops: linear and embedding against f32 on the same (bf16-rounded) values, on both
// backends; gradients to x and bias; refusals everywhere else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DTypeError } from '../../errors.js';
import { Rng } from '../../util/rng.js';
import { withBackend } from '../backend/index.js';
import { assertClose, randomTensor } from '../testing.js';
import { Tensor } from '../tensor.js';
import { needNativeOptions } from '../../util/test-skip.js';
import { BF16_DOT_SKIP } from '../backend/kernel-testing.js';
import { roundToBf16Daz } from '../backend/reference/gemm.js';
import { bf16DotEnabled, setBf16Dot } from './bf16.js';
import * as F from './index.js';

const BACKENDS = [['reference', {}], ['native', needNativeOptions()]] as const;

test('Tensor.to: f32 -> bf16 rounds to nearest even, bf16 -> f32 is exact, values read through item/toArray', () => {
  const t = Tensor.from([1, 3.140625, Math.PI, -2.5e-3, 65504], [5]);
  const b = t.to('bf16');
  assert.equal(b.dtype, 'bf16');
  assert.ok(b.data instanceof Uint16Array);
  assert.deepEqual(Array.from(b.data.slice(0, 2)), [0x3f80, 0x4049]);
  const back = b.to('f32');
  assert.equal(back.toArray()[2], 3.140625); // pi rounds to 0x4049
  assert.deepEqual(b.toArray(), back.toArray());
  assert.equal(b.to('f32').to('bf16').to('f32').toArray()[4], back.toArray()[4]); // idempotent
});

for (const [name, skipOpts] of BACKENDS) {
  test(`linear with a bf16 weight equals f32 linear with the rounded weight, forward and backward (${name})`, skipOpts, () => {
    withBackend(name, () => {
      const rng = new Rng(3);
      for (const rows of [1, 5, 40]) {
        const w32 = randomTensor([24, 37], rng).to('bf16').to('f32');
        const wbf = w32.to('bf16');
        const x = randomTensor([rows, 37], rng).requireGrad();
        const bias = randomTensor([24], rng).requireGrad();
        const g = randomTensor([rows, 24], rng);
        const y = F.linear(x, wbf, bias);
        F.sum(F.mul(y, g)).backward();
        const gx = x.grad!, gb = bias.grad!;
        x.grad = null;
        bias.grad = null;
        const want = F.linear(x, w32, bias);
        F.sum(F.mul(want, g)).backward();
        assertClose(y, want, { atol: 1e-5, rtol: 1e-5 }, `y rows=${rows}`);
        assertClose(gx, x.grad!, { atol: 1e-5, rtol: 1e-5 }, `dx rows=${rows}`);
        assertClose(gb, bias.grad!, { atol: 1e-6, rtol: 1e-6 }, `dbias rows=${rows}`);
        assert.equal(wbf.grad, null);
      }
    });
  });
}

// The opt-in bf16-dot forward: the reference backend is the native kernel's twin; native runs it only
// where the CPU has avx512_bf16 (skipped elsewhere with that reason).
for (const [name, skipOpts] of [['reference', {}], ['native', { skip: BF16_DOT_SKIP }]] as const) {
  test(`linear with a bf16 weight and setBf16Dot(true) equals f32 linear of the bf16-rounded x; the backward stays f32 (${name})`, skipOpts, () => {
    withBackend(name, () => {
      const rng = new Rng(5);
      for (const rows of [1, 8, 20]) {
        const w32 = randomTensor([40, 67], rng).to('bf16').to('f32');
        const x = randomTensor([rows, 67], rng).requireGrad();
        const bias = randomTensor([40], rng);
        const g = randomTensor([rows, 40], rng);
        let y: Tensor;
        try {
          setBf16Dot(true);
          y = F.linear(x, w32.to('bf16'), bias);
          F.sum(F.mul(y, g)).backward();
        } finally {
          setBf16Dot(null);
        }
        const gx = x.grad!;
        x.grad = null;
        const xr = new Tensor(roundToBf16Daz(x.data as Float32Array), x.shape);
        assertClose(y, F.linear(xr, w32, bias), { atol: 1e-5, rtol: 1e-5 }, `y rows=${rows}`);
        const plain = F.linear(x, w32, bias);
        assert.ok(Math.max(...F.abs(F.sub(y, plain)).toArray()) > 1e-4, `rows=${rows}: the bf16-dot forward equals the f32 one (x not rounded?)`);
        F.sum(F.mul(plain, g)).backward();
        assertClose(gx, x.grad!, { atol: 1e-5, rtol: 1e-5 }, `dx rows=${rows}`);
      }
    });
  });
}

test('GLMKIT_BF16_DOT: 1 turns the bf16-dot forward on, 0 or unset leaves it off, another value is refused', () => {
  const prev = process.env.GLMKIT_BF16_DOT;
  try {
    for (const [v, want] of [['1', true], ['0', false], [undefined, false]] as const) {
      if (v === undefined) delete process.env.GLMKIT_BF16_DOT;
      else process.env.GLMKIT_BF16_DOT = v;
      setBf16Dot(null);
      assert.equal(bf16DotEnabled(), want, `GLMKIT_BF16_DOT=${v}`);
    }
    process.env.GLMKIT_BF16_DOT = 'yes';
    setBf16Dot(null);
    assert.throws(() => bf16DotEnabled(), /GLMKIT_BF16_DOT must be 1 \(bf16 dot products\) or 0 .*got 'yes'/);
  } finally {
    if (prev === undefined) delete process.env.GLMKIT_BF16_DOT;
    else process.env.GLMKIT_BF16_DOT = prev;
    setBf16Dot(null);
  }
});

test('embedding with a bf16 table gathers the widened rows exactly; bad ids are refused', () => {
  const rng = new Rng(4);
  const t32 = randomTensor([10, 6], rng).to('bf16').to('f32');
  const ids = Tensor.ids([3, 0, 9, 3], [2, 2]);
  const got = F.embedding(t32.to('bf16'), ids);
  assert.deepEqual(got.shape, [2, 2, 6]);
  assert.deepEqual(got.toArray(), F.embedding(t32, ids).toArray());
  assert.throws(() => F.embedding(t32.to('bf16'), Tensor.ids([10], [1])), /token id 10 .*outside the vocabulary/);
});

test('bf16 tensors are refused by ops that compute, and cannot require gradients', () => {
  const b = Tensor.from([1, 2, 3], [3]).to('bf16');
  assert.throws(() => F.add(b, b), (e: unknown) => e instanceof DTypeError && /bf16 is a storage type/.test((e as Error).message));
  assert.throws(() => b.requireGrad(), /bf16 tensors are frozen storage/);
  const w = Tensor.from([1, 2, 3, 4], [2, 2]).to('bf16');
  assert.throws(() => F.linear(Tensor.from([1, 2], [1, 2], 'f64'), w), /with a bf16 weight 'x' must be f32, got f64/);
});
