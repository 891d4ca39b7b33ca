// A short loopback load test: concurrent streaming clients against the server, no errors, every
// request accounted for (bench serve, scaled down).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchServe } from './serve.js';

test('bench serve: 8 concurrent streaming clients, 16 requests, 0 errors', async () => {
  const lines: string[] = [];
  const row = await benchServe({ preset: 'tiny', concurrency: 8, requests: 16, maxTokens: 8, maxBatch: 4, json: true }, (l) => lines.push(l));
  assert.equal(row.errors, 0, String(row.first_error));
  assert.equal(row.requests, 16);
  assert.ok((row.completion_tokens as number) >= 16 && (row.completion_tokens as number) <= 16 * 8);
  assert.ok((row.latency_p99_ms as number) >= (row.latency_p50_ms as number));
  assert.deepEqual(JSON.parse(lines[0]), row);
});

test('bench serve under a fault mix: cancellations and short deadlines are counted by kind, 0 errors, 0 leaked slots', async () => {
  const row = await benchServe({
    preset: 'tiny', concurrency: 8, requests: 24, maxTokens: 16, maxBatch: 4, json: true, cancelRate: 0.3, timeoutRate: 0.2, shortTimeoutMs: 1, seed: 7,
  }, () => undefined);
  assert.equal(row.errors, 0, String(row.first_error));
  assert.equal(row.leaked_slots, 0);
  const byKind = row.by_kind as Record<string, number>;
  assert.equal(Object.values(byKind).reduce((a, b) => a + b, 0), 24);
  assert.ok((byKind.client_cancel ?? 0) >= 1, JSON.stringify(byKind));
  // A 1 ms client deadline expires before any response can arrive.
  assert.ok((byKind.client_timeout ?? 0) >= 1, JSON.stringify(byKind));
  assert.ok((row.all_latency_p99_ms as number) >= (row.all_latency_p50_ms as number) && (row.all_latency_p50_ms as number) >= 0);
});
