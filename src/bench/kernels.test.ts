/** Smoke test of `glmkit bench kernels`: one quick run, JSON lines with the documented fields. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needNativeOptions } from '../util/test-skip.js';
import { nativeInfo } from '../tensor/backend/native.js';
import { benchKernels, GEMM_SHAPES } from './kernels.js';

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
    assert.ok(typeof r.gflops === 'number' && r.gflops > 0, `gflops of ${JSON.stringify(r)}`);
  }
  assert.deepEqual(matmuls.filter((r) => !r.trans_b).map((r) => [r.m, r.n, r.k]), GEMM_SHAPES.map((s) => [...s]));
  for (const op of ['attention_fwd', 'attention_bwd']) {
    const r = records.find((x) => x.op === op);
    assert.ok(r, `no ${op} record`);
    // The record carries either a measurement or the error the backend gave.
    assert.ok((typeof r.tokens_per_s === 'number' && r.tokens_per_s > 0) || typeof r.error === 'string', JSON.stringify(r));
  }
});
