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
