// `glmkit info` says which backend is active, and the reference backend can be forced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from './helpers.js';

test('info reports the native backend and honours GLMKIT_BACKEND=reference', () => {
  const native = runCli(['info', '--json']);
  assert.equal(native.code, 0, native.stderr);
  const a = JSON.parse(native.stdout);
  assert.equal(a.backend, 'native');
  assert.match(a.detail, /native \((avx512|avx2\+fma|portable), bf16 weights (avx512|avx2\+fma|portable), bf16 dot (avx512_bf16|off \([a-z0-9_ ]+\)), bf16 compute (avx512_bf16|(avx512|avx2\+fma|portable) \(bf16-rounded panels\)), vector kernels (avx512|avx2\+fma|portable), \d+ threads?\)/);
  // GLMKIT_ISA=portable caps every kernel family at the portable loops.
  const portable = JSON.parse(runCli(['info', '--json'], { env: { GLMKIT_ISA: 'portable' } }).stdout);
  assert.match(portable.detail, /native \(portable, bf16 weights portable, bf16 dot off \(ISA capped below avx512\), bf16 compute portable \(bf16-rounded panels\), vector kernels portable, /);
  const ref = JSON.parse(runCli(['info', '--json'], { env: { GLMKIT_BACKEND: 'reference' } }).stdout);
  assert.equal(ref.backend, 'reference');
  const bad = runCli(['info'], { env: { GLMKIT_BACKEND: 'cuda' } });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /GLMKIT_BACKEND must be 'native' or 'reference', got 'cuda'/);
});

test('the CLI exits non-zero with one clear line on a bad command', () => {
  const r = runCli(['frobnicate']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
});
