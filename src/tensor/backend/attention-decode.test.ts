/**
 * The AVX-512 decode attention (at most 4 query rows) sums 16 keys' scores at a time and keeps the
 * weighted sums in registers; with GLMKIT_ATTENTION_DECODE_BLOCKS=0 it scores one key at a time and
 * sums in memory. Both must give the same bits (outputs and log-sum-exps), so decoding samples the
 * same tokens: every head shape, key counts around the 16-key blocks, padding and a zero weight.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import type { AttentionForwardArgs } from './backend.js';
import { ISA_PATHS, native, withEnv, withIsa } from './kernel-testing.js';

function rand(n: number, rng: Rng, amp = 2): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.random() * 2 - 1) * amp);
}

function withBlocks<T>(on: boolean, fn: () => T): T {
  return withEnv('GLMKIT_ATTENTION_DECODE_BLOCKS', on ? '1' : '0', fn);
}

function forward(args: AttentionForwardArgs): { out: Float32Array; lse: Float32Array } {
  const out = new Float32Array(args.out.length), lse = new Float32Array(args.lse.length);
  native!.attentionForward({ ...args, out, lse });
  return { out, lse };
}

const SKIP = ISA_PATHS[1].skip;

test('decode attention: 16-key blocks and register sums give the one-key-at-a-time bits', { skip: SKIP }, () => {
  withIsa('avx512', () => {
    const rng = new Rng(3);
    let cases = 0;
    for (const [headsQ, headsKv, D] of [[4, 2, 32], [4, 1, 32], [4, 4, 32], [4, 2, 64], [2, 1, 128], [6, 2, 32], [2, 2, 16]]) {
      for (const tk of [1, 15, 16, 17, 40, 301]) {
        for (const tq of [1, 3]) {
          if (tq > tk) continue;
          const B = 2, cap = tk + 5;
          const keyMask = new Int32Array(B * cap).fill(1);
          for (let j = 0; j < Math.min(3, tk - tq); j++) keyMask[cap + j] = 0; // row 1 left-padded
          const k = rand(B * cap * headsKv * D, rng), v = rand(B * cap * headsKv * D, rng);
          // a key far below the others: its weight underflows to 0 (the skipped product)
          if (tk > 20) for (let d = 0; d < D; d++) k[(5 * headsKv) * D + d] = -400;
          const args: AttentionForwardArgs = {
            q: rand(B * tq * headsQ * D, rng), k, v, out: new Float32Array(B * tq * headsQ * D), lse: new Float32Array(B * headsQ * tq),
            batch: B, tq, tk, qOffset: tk - tq, headsQ, headsKv, headDim: D, scale: 1 / Math.sqrt(D), causal: true, prefixLen: null, keyMask, kvCapacity: cap,
          };
          const on = withBlocks(true, () => forward(args)), off = withBlocks(false, () => forward(args));
          for (const key of ['out', 'lse'] as const) {
            const i = on[key].findIndex((x, n) => !Object.is(x, off[key][n]));
            assert.equal(i, -1, `Hq ${headsQ} Hkv ${headsKv} D ${D} tk ${tk} tq ${tq}: ${key}[${i}] ${on[key][i]} vs ${off[key][i]}`);
          }
          cases++;
        }
      }
    }
    assert.ok(cases > 70);
  });
});
