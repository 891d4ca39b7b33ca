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
