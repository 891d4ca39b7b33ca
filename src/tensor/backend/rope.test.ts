import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FloatArray } from '../dtype.js';
import type { RopeArgs } from './backend.js';
import { rope } from './reference/rope.js';
import { nativeBackendForTests, needNativeOptions } from '../../util/test-skip.js';

/** Deterministic pseudo-random numbers in [-1, 1) (xorshift32), so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

function fill<T extends FloatArray>(a: T, r: () => number): T {
  for (let i = 0; i < a.length; i++) a[i] = r();
  return a;
}

/** cos/sin tables the way a model builds them: angle(row, i) = pos(row) * theta^(-2i/rd). */
function tables(rows: number, rd: number, make: (n: number) => FloatArray): { cos: FloatArray; sin: FloatArray } {
  const cos = make((rows * rd) / 2), sin = make((rows * rd) / 2);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < rd / 2; i++) {
      const ang = (r + 3) * 10000 ** ((-2 * i) / rd);
      cos[(r * rd) / 2 + i] = Math.cos(ang);
      sin[(r * rd) / 2 + i] = Math.sin(ang);
    }
  return { cos, sin };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function args(x: FloatArray, cos: FloatArray, sin: FloatArray, out: FloatArray, rows: number, heads: number, headDim: number, rotaryDim: number, interleaved: boolean, inverse = false): RopeArgs {
  return { x, cos, sin, out, rows, heads, headDim, rotaryDim, interleaved, inverse };
}

test('rope reference: a hand-written case with angles pi/2 and pi, both styles', () => {
  // one row, one head, headDim 6, rotaryDim 4: angles θ0 = π/2 (cos 0, sin 1), θ1 = π (cos -1, sin 0)
  const x = new Float64Array([1, 2, 3, 4, 5, 6]);
  const cos = new Float64Array([0, -1]), sin = new Float64Array([1, 0]);
  const out = new Float64Array(6);
  // interleaved: (1,2) by π/2 -> (-2, 1); (3,4) by π -> (-3, -4); dims 4,5 unchanged
  rope(args(x, cos, sin, out, 1, 1, 6, 4, true));
  assert.deepEqual([...out], [-2, 1, -3, -4, 5, 6]);
  // half: (x0, x2) = (1, 3) by π/2 -> (-3, 1) at dims 0 and 2; (x1, x3) = (2, 4) by π -> (-2, -4)
  rope(args(x, cos, sin, out, 1, 1, 6, 4, false));
  assert.deepEqual([...out], [-3, -2, 1, -4, 5, 6]);
  // inverse rotates by -θ: (1,2) by -π/2 -> (2, -1)
  rope(args(x, cos, sin, out, 1, 1, 6, 4, true, true));
  assert.deepEqual([...out], [2, -1, -3, -4, 5, 6]);
});

/**
 * Hugging Face's formulation, written independently: out = x * cosFull + rotate(x) * sinFull on the
 * rotary slice. half: cosFull = cat(cos, cos), rotate(x) = cat(-x2, x1). interleaved: cosFull =
 * repeat_interleave(cos, 2), rotate(x)[2i] = -x[2i+1], rotate(x)[2i+1] = x[2i].
 */
function hfRope(x: Float64Array, cos: Float64Array, sin: Float64Array, rows: number, heads: number, D: number, rd: number, interleaved: boolean): Float64Array {
  const out = Float64Array.from(x);
  for (let r = 0; r < rows; r++)
    for (let h = 0; h < heads; h++) {
      const v = x.subarray((r * heads + h) * D, (r * heads + h + 1) * D);
      for (let d = 0; d < rd; d++) {
        const idx = interleaved ? d >> 1 : d % (rd / 2);
        const c = cos[(r * rd) / 2 + idx], s = sin[(r * rd) / 2 + idx];
        let rot: number;
        if (interleaved) rot = d % 2 === 0 ? -v[d + 1] : v[d - 1];
        else rot = d < rd / 2 ? -v[d + rd / 2] : v[d - rd / 2];
        out[(r * heads + h) * D + d] = v[d] * c + rot * s;
      }
    }
  return out;
}

test('rope reference matches the rotate_half formulation (partial rotary, both styles) and inverts', () => {
  const r = rng(7);
  for (const interleaved of [true, false]) {
    for (const [rows, heads, D, rd] of [[3, 2, 8, 4], [5, 3, 16, 16], [2, 1, 10, 6]]) {
      const x = fill(new Float64Array(rows * heads * D), r);
      const { cos, sin } = tables(rows, rd, (n) => new Float64Array(n));
      const out = new Float64Array(x.length);
      rope(args(x, cos, sin, out, rows, heads, D, rd, interleaved));
      const want = hfRope(x, cos as Float64Array, sin as Float64Array, rows, heads, D, rd, interleaved);
      assert.ok(maxDiff(out, want) < 1e-14, `style ${interleaved ? 'interleaved' : 'half'} ${rows}x${heads}x${D} rd ${rd}`);
      // tail dims are copied unchanged
      for (let row = 0; row < rows * heads; row++)
        for (let d = rd; d < D; d++) assert.equal(out[row * D + d], x[row * D + d]);
      // a rotation keeps each pair's length; the inverse undoes it
      const back = new Float64Array(x.length);
      rope(args(out, cos, sin, back, rows, heads, D, rd, interleaved, true));
      assert.ok(maxDiff(back, x) < 1e-14);
    }
  }
});

// The native checks follow the suite's skip policy (src/util/test-skip.ts): they fail when the addon
// is missing, unless GLMKIT_SKIP_NATIVE=1 switched the build off on purpose.
const { skip: skipNative } = needNativeOptions();
const native = nativeBackendForTests();

test('rope native matches reference on random sizes, forward and inverse, in place', { skip: skipNative }, () => {
  const r = rng(11);
  let cases = 0;
  for (const rows of [1, 7, 33]) {
    for (const heads of [1, 2, 3, 4]) {
      for (const D of [8, 10, 24, 64, 80, 128]) {
        for (const rd of [D / 2, D - 2, D]) {
          if (rd % 2 !== 0) continue;
          const interleaved = (cases & 1) === 0;
          const inverse = (cases & 2) === 2;
          cases++;
          const x = fill(new Float32Array(rows * heads * D), r);
          const { cos, sin } = tables(rows, rd, (n) => new Float32Array(n));
          const want = new Float32Array(x.length), got = new Float32Array(x.length);
          rope(args(x, cos, sin, want, rows, heads, D, rd, interleaved, inverse));
          native!.rope(args(x, cos, sin, got, rows, heads, D, rd, interleaved, inverse));
          assert.ok(maxDiff(got, want) < 1e-6, `rows ${rows} heads ${heads} D ${D} rd ${rd} interleaved ${interleaved} inverse ${inverse}`);
          // out aliasing x
          const inPlace = Float32Array.from(x);
          native!.rope(args(inPlace, cos, sin, inPlace, rows, heads, D, rd, interleaved, inverse));
          assert.deepEqual(inPlace, got);
          const refInPlace = Float32Array.from(x);
          rope(args(refInPlace, cos, sin, refInPlace, rows, heads, D, rd, interleaved, inverse));
          assert.deepEqual(refInPlace, want);
        }
      }
    }
  }
  assert.ok(cases > 100);
});

test('rope native: inverse(forward(x)) == x and rotaryDim 0 copies', { skip: skipNative }, () => {
  const r = rng(3);
  const rows = 9, heads = 2, D = 32;
  for (const interleaved of [true, false]) {
    const x = fill(new Float32Array(rows * heads * D), r);
    const { cos, sin } = tables(rows, 16, (n) => new Float32Array(n));
    const y = new Float32Array(x.length), back = new Float32Array(x.length);
    native!.rope(args(x, cos, sin, y, rows, heads, D, 16, interleaved));
    assert.ok(maxDiff(y, x) > 0.1, 'the rotation changes x');
    native!.rope(args(y, cos, sin, back, rows, heads, D, 16, interleaved, true));
    assert.ok(maxDiff(back, x) < 1e-6);
  }
  const x = fill(new Float32Array(rows * heads * D), r);
  const out = new Float32Array(x.length);
  native!.rope(args(x, new Float32Array(0), new Float32Array(0), out, rows, heads, D, 0, false));
  assert.deepEqual(out, x);
});
