// The buffer pool: backward inside withBufferPool gives the gradients it gives outside, bit for bit,
// hands back the graph's activations and consumed gradients (a view keeps its buffer until the end;
// the root, the parameters and tensors made before the pass are never handed back), and a later pass
// reuses them instead of allocating.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from './ops/index.js';
import { Tensor } from './tensor.js';
import { classOf, poolOwns, poolStats, POOL_MIN_BYTES, withBufferPool, withScratchBuffers } from './buffer-pool.js';
import { noGrad } from './autograd.js';
import { Rng } from '../util/rng.js';

const N = 64, D = 512; // [64, 512] f32 = 128 KiB, over POOL_MIN_BYTES

function params(seed: number): Tensor[] {
  const rng = new Rng(seed);
  return [Tensor.randn([D, D], rng, 0.05).requireGrad(), Tensor.randn([D], rng, 0.1).requireGrad()];
}

/** A small graph with a view (reshape), a fan-out (h used twice) and a reduction; returns the root and a few graph tensors. */
function forward([w, b]: Tensor[], x: Tensor): { loss: Tensor; h: Tensor; view: Tensor } {
  const h = F.silu(F.linear(x, w, b)); // [N, D]
  const view = F.reshape(h, [N * 2, D / 2]);
  const y = F.add(F.reshape(F.mul(view, view), [N, D]), h);
  return { loss: F.mean(F.mul(y, y)), h, view };
}

test('backward inside the pool: the same gradients bit for bit, the graph handed back, the root and parameters kept', () => {
  assert.ok(N * D * 4 >= POOL_MIN_BYTES || POOL_MIN_BYTES === 1);
  const x = Tensor.randn([N, D], new Rng(3));
  const plain = params(1);
  forward(plain, x).loss.backward();

  const pooled = params(1);
  const before = poolStats.returned;
  let kept: { loss: Tensor; h: Tensor; view: Tensor } | null = null;
  withBufferPool(() => {
    kept = forward(pooled, x);
    assert.ok(poolOwns(kept.h.data), 'activations come from the pool');
    assert.ok(!poolOwns(x.data), 'a tensor made before the pass is not the pool\'s');
    kept.loss.backward();
  });
  for (let i = 0; i < plain.length; i++) assert.deepEqual(pooled[i].grad!.data, plain[i].grad!.data, `gradient ${i}`);
  assert.ok(poolStats.returned - before >= 4, `activations and gradients handed back (${poolStats.returned - before})`);
  assert.ok(!poolOwns(kept!.h.data) || process.env.GLMKIT_POOL_CHECK === '1', 'h was handed back');
  assert.ok(Number.isFinite(kept!.loss.item()), 'the root keeps its value');
  for (const p of pooled) assert.ok(p.data.every(Number.isFinite), 'parameters untouched');
  assert.ok(x.data.every(Number.isFinite), 'inputs untouched');
});

test('a second pass reuses the first pass\'s buffers', { skip: process.env.GLMKIT_POOL_CHECK === '1' ? 'GLMKIT_POOL_CHECK=1 never reuses a buffer' : false }, () => {
  const x = Tensor.randn([N, D], new Rng(5));
  const ps = params(2);
  withBufferPool(() => forward(ps, x).loss.backward()); // warm-up: fills the pool
  const misses = poolStats.misses, hits = poolStats.hits;
  for (const p of ps) p.zeroGrad();
  withBufferPool(() => forward(ps, x).loss.backward());
  const fresh = poolStats.misses - misses, reused = poolStats.hits - hits;
  // what a backward function makes for itself and does not return is left to the garbage collector
  assert.ok(reused >= 6 && fresh <= reused / 2, `buffers reused: ${reused}, new: ${fresh}`);
});

test('outside withBufferPool nothing is pooled and backward hands nothing back', () => {
  const x = Tensor.randn([N, D], new Rng(6));
  const ps = params(3);
  const returned = poolStats.returned;
  const { loss, h } = forward(ps, x);
  assert.ok(!poolOwns(h.data));
  loss.backward();
  assert.equal(poolStats.returned, returned);
});

test('size classes: the smallest class that holds a request, 8 per power of two', () => {
  assert.equal(classOf(1), 48, 'the smallest class (64 bytes) holds the smallest requests');
  assert.equal(classOf(64), 48);
  assert.equal(classOf(65), 49);
  for (const bytes of [65536, 65537, 100_000, 131072, 1_000_000, 3 * 2 ** 20 + 5]) {
    const k = classOf(bytes);
    const size = Math.ceil(2 ** (k / 8) / 64) * 64;
    const below = Math.ceil(2 ** ((k - 1) / 8) / 64) * 64;
    assert.ok(size >= bytes && below < bytes, `${bytes}: class ${size}, the one below ${below}`);
    assert.ok(size <= bytes * 1.1, `${bytes}: at most ~9% unused (${size})`);
  }
});

test('withScratchBuffers hands back what a no-grad computation made, except the result; nested, the kept buffers pass outward', { skip: process.env.GLMKIT_BUFFER_POOL === '0' ? 'the pool is off' : false }, () => {
  const x = Tensor.randn([N, D], new Rng(8));
  const [w, b] = params(4);
  const returned = poolStats.returned;
  let inner: Tensor | null = null;
  const out = withScratchBuffers(() => {
    inner = withScratchBuffers(() => noGrad(() => F.silu(F.linear(x, w, b))), (t) => [t.data]);
    return noGrad(() => F.mean(F.mul(inner!, inner!)));
  }, (t) => [t.data]);
  assert.ok(poolStats.returned - returned >= 2, `the linear output, then the kept silu output and the product (${poolStats.returned - returned})`);
  assert.ok(!poolOwns(inner!.data) || process.env.GLMKIT_POOL_CHECK === '1', 'the inner result went back with the outer scope');
  assert.ok(Number.isFinite(out.item()), 'the kept result is whole');
  const kept = withScratchBuffers(() => noGrad(() => F.silu(x)), (t) => [t.data]);
  assert.ok(poolOwns(kept.data) && kept.data.every(Number.isFinite), 'a kept result stays whole and is not handed back');
});
