/**
 * Prepacked weights (decoding's GEMMs, src/tensor/ops/packed-weights.ts): on every kernel path the
 * product from packed weights has the bits of gemm() with transB for more than 8 rows, the reference
 * twin agrees within float tolerance, the 4- and 8-row AVX-512 tiles give the 12-row tile's bits, and
 * `linear` uses the packed copy only inside a scope.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeError } from '../../errors.js';
import { Rng } from '../../util/rng.js';
import { PREPACKED_MIN_ROWS, type Backend } from './backend.js';
import { referenceBackend } from './index.js';
import { assertAllClose, GEMM_ISA_PATHS, native, withGemmIsa } from './kernel-testing.js';
import { Tensor } from '../tensor.js';
import { linear } from '../ops/matmul.js';
import { packedWeight, withPackedWeights } from '../ops/packed-weights.js';
import { GlmForCausalLM } from '../../models/glm/model.js';
import { loadPreset } from '../../models/glm/config.js';
import { generate } from '../../generation/generate.js';

function rand(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.random() * 2 - 1);
}

/** C = A @ W^T + beta * C by gemm() (transB). */
function plain(be: Backend, a: Float32Array, w: Float32Array, c: Float32Array, m: number, n: number, k: number, beta: number): Float32Array {
  const out = c.slice();
  be.gemm({ a, b: w, c: out, batch: 1, m, n, k, transA: false, transB: true, strideA: 0, strideB: 0, strideC: 0, alpha: 1, beta });
  return out;
}

function prepacked(be: Backend, a: Float32Array, w: Float32Array, c: Float32Array, m: number, n: number, k: number, beta: number): Float32Array {
  const out = c.slice();
  be.gemmPrepacked(a, be.packWeights(w, n, k), out, m, beta);
  return out;
}

function firstDifference(x: Float32Array, y: Float32Array): string | null {
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return `element ${i}: ${x[i]} vs ${y[i]}`;
  return null;
}

const SHAPES: [number, number, number][] = [[9, 2, 1], [12, 17, 5], [13, 32, 128], [16, 33, 192], [20, 130, 193], [25, 64, 450], [64, 100, 128], [300, 40, 64]];

for (const { isa, env, skip } of GEMM_ISA_PATHS) {
  test(`prepacked gemm (${isa}) gives gemm()'s bits from ${PREPACKED_MIN_ROWS} rows`, { skip }, () => {
    withGemmIsa(env, () => {
      const rng = new Rng(7);
      for (const [m, n, k] of SHAPES) {
        const a = rand(m * k, rng), w = rand(n * k, rng), c = rand(m * n, rng);
        for (const beta of [0, 1]) {
          const d = firstDifference(prepacked(native!, a, w, c, m, n, k, beta), plain(native!, a, w, c, m, n, k, beta));
          assert.equal(d, null, `m ${m} n ${n} k ${k} beta ${beta}: ${d}`);
        }
      }
    });
  });
}

test('prepacked gemm agrees with the reference backend, whose twin is its own gemm', { skip: GEMM_ISA_PATHS[0].skip }, () => {
  const rng = new Rng(8);
  for (const [m, n, k] of SHAPES) {
    const a = rand(m * k, rng), w = rand(n * k, rng), c = rand(m * n, rng);
    const ref = plain(referenceBackend, a, w, c, m, n, k, 1);
    assert.deepEqual(prepacked(referenceBackend, a, w, c, m, n, k, 1), ref);
    assertAllClose(prepacked(native!, a, w, c, m, n, k, 1), ref, 1e-5 * Math.sqrt(k), 1e-5, `m ${m} n ${n} k ${k}`);
  }
});

test('the 4- and 8-row AVX-512 tiles give the 12-row tile\'s bits', { skip: GEMM_ISA_PATHS[1].skip }, () => {
  withGemmIsa('avx512', () => {
    const rng = new Rng(9);
    const n = 70, k = 300;
    const w = rand(n * k, rng);
    for (const tail of [1, 4, 5, 8]) {
      // rows 12.. of a 24-row product form a full 12-row tile; in a (12 + tail)-row product they are a partial one
      const a = rand(24 * k, rng), c = rand(24 * n, rng);
      for (const beta of [0, 1, 0.25]) {
        const full = plain(native!, a, w, c, 24, n, k, beta);
        const part = plain(native!, a.subarray(0, (12 + tail) * k), w, c.subarray(0, (12 + tail) * n), 12 + tail, n, k, beta);
        const d = firstDifference(part.subarray(12 * n), full.subarray(12 * n, (12 + tail) * n));
        assert.equal(d, null, `tail ${tail} beta ${beta}: ${d}`);
      }
    }
  });
});

test('weights packed for one kernel are refused by another', { skip: GEMM_ISA_PATHS[2].skip || GEMM_ISA_PATHS[1].skip }, () => {
  const rng = new Rng(10);
  const w = rand(40 * 16, rng);
  const packed = withGemmIsa('avx512', () => native!.packWeights(w, 40, 16));
  assert.equal(packed.isa, 'avx512');
  withGemmIsa('avx2', () => assert.throws(() => native!.gemmPrepacked(rand(9 * 16, rng), packed, new Float32Array(9 * 40), 9, 0), (e: unknown) => e instanceof NativeError && /packed for the avx512 kernel, but the active one is avx2\+fma; pack them again/.test(e.message)));
  assert.throws(() => referenceBackend.gemmPrepacked(rand(9 * 16, rng), packed, new Float32Array(9 * 40), 9, 0), /not the reference backend/);
});

test('linear packs a weight once per scope, for products of enough rows, and gives the same bits', () => {
  const rng = new Rng(11);
  const w = new Tensor(rand(48 * 32, rng), [48, 32]), bias = new Tensor(rand(48, rng), [48]);
  const x = new Tensor(rand(16 * 32, rng), [16, 32]), few = new Tensor(rand((PREPACKED_MIN_ROWS - 1) * 32, rng), [PREPACKED_MIN_ROWS - 1, 32]);
  const outside = linear(x, w, bias), fewOutside = linear(few, w, bias);
  assert.equal(packedWeight(w.data as Float32Array, 48, 32, 16), null, 'no packing outside a scope');
  withPackedWeights(() => {
    const p = packedWeight(w.data as Float32Array, 48, 32, 16);
    assert.ok(p);
    assert.equal(packedWeight(w.data as Float32Array, 48, 32, 16), p, 'one packed copy per scope');
    assert.equal(packedWeight(w.data as Float32Array, 48, 32, PREPACKED_MIN_ROWS - 1), null, 'too few rows');
    assert.equal(packedWeight(w.data as Float32Array, 32, 48, 16), null, 'the same array read as another shape');
    const inside = linear(x, w, bias);
    assert.equal(firstDifference(inside.data as Float32Array, outside.data as Float32Array), null);
    assert.equal(firstDifference(linear(few, w, bias).data as Float32Array, fewOutside.data as Float32Array), null);
  });
  // the scope has closed: a changed weight is multiplied as it is now
  (w.data as Float32Array).fill(0);
  withPackedWeights(() => assert.deepEqual(Array.from(linear(x, w, bias).data.subarray(0, 48)), Array.from(bias.data)));
});

test('a scope packs at most GLMKIT_PACKED_WEIGHTS_MB of weights; past it they are multiplied unpacked', () => {
  const rng = new Rng(12);
  const a = rand(64 * 1024, rng), b = rand(64 * 1024, rng); // 256 KiB each
  const prev = process.env.GLMKIT_PACKED_WEIGHTS_MB;
  process.env.GLMKIT_PACKED_WEIGHTS_MB = '0.3';
  try {
    withPackedWeights(() => {
      assert.ok(packedWeight(a, 64, 1024, 16), 'the first weight fits');
      assert.equal(packedWeight(b, 64, 1024, 16), null, 'the second would pass 0.3 MB');
      assert.ok(packedWeight(a, 64, 1024, 16), 'the packed one is still served');
    });
    process.env.GLMKIT_PACKED_WEIGHTS_MB = 'lots';
    assert.throws(() => withPackedWeights(() => packedWeight(a, 64, 1024, 16)), /GLMKIT_PACKED_WEIGHTS_MB must be a number >= 0/);
  } finally {
    if (prev === undefined) delete process.env.GLMKIT_PACKED_WEIGHTS_MB;
    else process.env.GLMKIT_PACKED_WEIGHTS_MB = prev;
  }
});

test('packed copies are ordinary JavaScript memory: many generate() calls do not pile them up', { skip: GEMM_ISA_PATHS[0].skip }, () => {
  const p = native!.packWeights(rand(40 * 16, new Rng(13)), 40, 16);
  // a view into a buffer JavaScript allocated (packed size + 15 floats of alignment slack), which V8
  // counts and frees; a natively allocated external buffer went uncollected (1.2 GB after 300 calls)
  assert.equal(p.data.buffer.byteLength, (p.data.length + 15) * 4);
  const model = new GlmForCausalLM({ ...loadPreset('tiny'), initializerRange: 0.2 }, { seed: 5 }).eval();
  const prompts = Array.from({ length: 16 }, (_, i) => [1, 2, 3, 4 + i]);
  const calls = 150;
  generate(model, prompts, { maxNewTokens: 2, temperature: 0.7, seed: 0, padId: 0 });
  const before = process.memoryUsage().rss;
  for (let c = 1; c <= calls; c++) generate(model, prompts, { maxNewTokens: 2, temperature: 0.7, seed: c, padId: 0 });
  const grown = (process.memoryUsage().rss - before) / 2 ** 20;
  // each call packs ~4 MB of weights: kept, 150 calls would hold ~600 MB
  assert.ok(grown < 250, `RSS grew by ${grown.toFixed(0)} MB over ${calls} generate() calls`);
});
