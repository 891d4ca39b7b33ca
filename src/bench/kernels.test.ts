/** Smoke test of `glmkit bench kernels`: one quick run, JSON lines with the documented fields. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needNativeOptions } from '../util/test-skip.js';
import { nativeInfo } from '../tensor/backend/native.js';
import { benchKernels, DECODE_GEMV_MATRICES, GEMM_SHAPES } from './kernels.js';

/** A measured rate: a finite number above zero (NaN, Infinity, 0 and non-numbers fail). */
function assertRate(r: Record<string, unknown>, key: string): void {
  const v = r[key];
  assert.ok(typeof v === 'number' && Number.isFinite(v) && v > 0, `${key} of ${JSON.stringify(r)}`);
}

test('bench kernels --json --quick prints one record per shape and restores the thread count', needNativeOptions(), async () => {
  const threadsBefore = nativeInfo()!.threads;
  const lines: string[] = [];
  await benchKernels({ json: true, quick: true, threads: 1 }, (line) => lines.push(line));
  assert.equal(nativeInfo()!.threads, threadsBefore);
  const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const matmuls = records.filter((r) => r.op === 'matmul');
  assert.equal(matmuls.length, 2 * GEMM_SHAPES.length);
  for (const r of matmuls) {
    assert.equal(r.threads, 1);
    assert.equal(r.impl, 'glmkit');
    assertRate(r, 'gflops');
  }
  assert.deepEqual(matmuls.filter((r) => !r.trans_b).map((r) => [r.m, r.n, r.k]), GEMM_SHAPES.map((s) => [...s]));
  const mixed = records.filter((r) => r.op === 'matmul_bf16_compute');
  assert.deepEqual(mixed.map((r) => [r.m, r.n, r.k, r.trans_b]), matmuls.map((r) => [r.m, r.n, r.k, r.trans_b]));
  for (const r of mixed) assertRate(r, 'gflops');
  for (const op of ['attention_fwd', 'attention_bwd']) {
    const r = records.find((x) => x.op === op);
    assert.ok(r, `no ${op} record`);
    // The native backend implements fused attention: a record carrying an error is a failure.
    assert.equal(r.error, undefined, `${op} failed: ${JSON.stringify(r)}`);
    assertRate(r, 'tokens_per_s');
    assertRate(r, 'gflops');
  }
  const gemv = records.filter((x) => x.op === 'decode_gemv');
  assert.deepEqual(gemv.map((r) => r.dtype), ['f32', 'bf16']);
  for (const r of gemv) {
    assertRate(r, 'gb_s');
    assert.equal(r.matrices, DECODE_GEMV_MATRICES.length);
  }
  // bf16 weights are half the bytes of the same matrices in float32
  assert.equal(gemv[1].weight_mb, Number((Number(gemv[0].weight_mb) / 2).toFixed(1)));
  const peak = records.find((x) => x.op === 'fma_peak');
  assert.ok(peak, 'no fma_peak record');
  assertRate(peak, 'gflops');
  assert.equal(peak.vec_isa, nativeInfo()!.vecIsa);
});
