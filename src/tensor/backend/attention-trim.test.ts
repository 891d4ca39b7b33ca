/**
 * Training attention on tiles the causal limit cuts (the diagonal) computes, per group of query rows,
 * only the keys the group may see, and sums each group of keys only from the first query that sees
 * it; GLMKIT_ATTENTION_TRIM=0 computes every tile whole. The terms left out are exact zeros, so both
 * must give the same bits (forward outputs and log-sum-exps, dQ, dK, dV) on every kernel path:
 * causal and not, padded keys, shared prefixes, a query offset, key counts around the 16-key vectors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import type { AttentionShape } from './backend.js';
import { ISA_PATHS, native, withEnv, withIsa } from './kernel-testing.js';

function withTrim<T>(on: boolean, fn: () => T): T {
  return withEnv('GLMKIT_ATTENTION_TRIM', on ? '1' : '0', fn);
}

interface Case {
  B: number; tq: number; tk: number; qOffset: number; headsQ: number; headsKv: number; D: number; causal: boolean; prefix: boolean; pad: boolean;
}

const CASES: Case[] = [
  { B: 2, tq: 256, tk: 256, qOffset: 0, headsQ: 4, headsKv: 2, D: 32, causal: true, prefix: false, pad: false },
  { B: 3, tq: 130, tk: 130, qOffset: 0, headsQ: 4, headsKv: 4, D: 16, causal: true, prefix: false, pad: true },
  { B: 2, tq: 70, tk: 203, qOffset: 133, headsQ: 4, headsKv: 2, D: 32, causal: true, prefix: false, pad: false },
  { B: 2, tq: 100, tk: 100, qOffset: 0, headsQ: 2, headsKv: 1, D: 64, causal: true, prefix: true, pad: false },
  { B: 1, tq: 201, tk: 201, qOffset: 0, headsQ: 8, headsKv: 2, D: 8, causal: true, prefix: true, pad: true },
  { B: 2, tq: 77, tk: 77, qOffset: 0, headsQ: 4, headsKv: 2, D: 32, causal: false, prefix: false, pad: true },
];

function run(c: Case, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  const rand = (n: number) => Float32Array.from({ length: n }, () => rng.random() * 4 - 2);
  const q = rand(c.B * c.tq * c.headsQ * c.D), k = rand(c.B * c.tk * c.headsKv * c.D), v = rand(c.B * c.tk * c.headsKv * c.D);
  const dout = rand(q.length);
  const shape: AttentionShape = {
    batch: c.B, tq: c.tq, tk: c.tk, qOffset: c.qOffset, headsQ: c.headsQ, headsKv: c.headsKv, headDim: c.D, scale: 1 / Math.sqrt(c.D), causal: c.causal,
    prefixLen: c.prefix ? Int32Array.from({ length: c.B }, (_, b) => 9 + 23 * b) : null,
    keyMask: c.pad ? Int32Array.from({ length: c.B * c.tk }, (_, i) => (i % c.tk < 3 + 2 * Math.floor(i / c.tk) ? 0 : 1)) : null,
    kvCapacity: c.tk,
  };
  const out = new Float32Array(q.length), lse = new Float32Array(c.B * c.headsQ * c.tq);
  const dq = new Float32Array(q.length), dk = new Float32Array(k.length), dv = new Float32Array(v.length);
  native!.attentionForward({ ...shape, q, k, v, out, lse });
  native!.attentionBackward({ ...shape, q, k, v, out, lse, dout, dq, dk, dv });
  return [out, lse, dq, dk, dv];
}

function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  const ua = new Uint32Array(a.buffer), ub = new Uint32Array(b.buffer);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) assert.fail(`${what}: element ${i} is ${a[i]} trimmed, ${b[i]} whole`);
}

for (const path of ISA_PATHS) {
  test(`training attention: trimmed diagonal tiles give the whole tiles' bits (${path.isa} kernels)`, { skip: path.skip }, () => {
    withIsa(path.env, () => {
      CASES.forEach((c, n) => {
        const trimmed = withTrim(true, () => run(c, n + 1));
        const whole = withTrim(false, () => run(c, n + 1));
        ['out', 'lse', 'dq', 'dk', 'dv'].forEach((name, i) => sameBits(trimmed[i], whole[i], `case ${n} ${name}`));
      });
    });
  });
}
