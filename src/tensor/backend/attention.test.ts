import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FloatArray } from '../dtype.js';
import type { AttentionShape } from './backend.js';
import { attentionBackward, attentionForward } from './reference/attention.js';
import { nativeBackendForTests, needNativeOptions } from '../../util/test-skip.js';
import { setNativeThreads } from './native.js';

// The native checks follow the suite's skip policy (src/util/test-skip.ts): they fail when the addon
// is missing, unless GLMKIT_SKIP_NATIVE=1 switched the build off on purpose.
const { skip: skipNative } = needNativeOptions();
const native = nativeBackendForTests();

/** Deterministic pseudo-random numbers in [-1, 1) (xorshift32). */
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

interface Case extends AttentionShape {
  q: FloatArray;
  k: FloatArray;
  v: FloatArray;
  dout: FloatArray;
}

interface CaseSpec {
  batch: number;
  tq: number;
  tk: number;
  qOffset?: number;
  headsQ: number;
  headsKv: number;
  headDim: number;
  causal: boolean;
  prefixLen?: number[];
  /** number of left-padding keys per batch row (keyMask 0 for j < pad[b]) */
  pad?: number[];
}

function makeCase(spec: CaseSpec, seed: number, make: (n: number) => FloatArray, amp = 2): Case {
  const r = rng(seed);
  const nq = spec.batch * spec.tq * spec.headsQ * spec.headDim;
  const nk = spec.batch * spec.tk * spec.headsKv * spec.headDim;
  const rand = (n: number): FloatArray => {
    const a = make(n);
    for (let i = 0; i < n; i++) a[i] = amp * r();
    return a;
  };
  let keyMask: Int32Array | null = null;
  if (spec.pad) {
    keyMask = new Int32Array(spec.batch * spec.tk).fill(1);
    for (let b = 0; b < spec.batch; b++) for (let j = 0; j < spec.pad[b]; j++) keyMask[b * spec.tk + j] = 0;
  }
  return {
    batch: spec.batch,
    tq: spec.tq,
    tk: spec.tk,
    qOffset: spec.qOffset ?? 0,
    headsQ: spec.headsQ,
    headsKv: spec.headsKv,
    headDim: spec.headDim,
    scale: 1 / Math.sqrt(spec.headDim),
    causal: spec.causal,
    prefixLen: spec.prefixLen ? Int32Array.from(spec.prefixLen) : null,
    keyMask,
    q: rand(nq),
    k: rand(nk),
    v: rand(nk),
    dout: rand(nq),
  };
}

function sizes(c: AttentionShape): { nq: number; nk: number; nl: number } {
  return {
    nq: c.batch * c.tq * c.headsQ * c.headDim,
    nk: c.batch * c.tk * c.headsKv * c.headDim,
    nl: c.batch * c.headsQ * c.tq,
  };
}

/**
 * Naive attention written independently of the kernels: repeat the kv heads to Hq, build the
 * [Tq, Tk] score matrix of each (b, h) with -Infinity where the mask (built as a boolean matrix
 * from its three rules) hides a key, softmax each row, multiply by V.
 */
function naiveForward(c: Case): { out: Float64Array; lse: Float64Array } {
  const { batch: B, tq, tk, headsQ: Hq, headsKv: Hkv, headDim: D } = c;
  const out = new Float64Array(B * tq * Hq * D);
  const lse = new Float64Array(B * Hq * tq);
  const rep = Hq / Hkv;
  for (let b = 0; b < B; b++) {
    // mask[i][j]
    const mask: boolean[][] = [];
    for (let i = 0; i < tq; i++) {
      mask.push([]);
      for (let j = 0; j < tk; j++) {
        const real = c.keyMask === null || c.keyMask[b * tk + j] === 1;
        const causalOk = !c.causal || j - c.qOffset <= i;
        const inPrefix = c.prefixLen !== null && j < c.prefixLen[b];
        mask[i].push(real && (causalOk || inPrefix));
      }
    }
    for (let h = 0; h < Hq; h++) {
      const kvh = Math.floor(h / rep);
      const at = (x: FloatArray, T: number, H: number, hh: number, t: number, d: number): number => x[((b * T + t) * H + hh) * D + d];
      for (let i = 0; i < tq; i++) {
        const row = new Array<number>(tk);
        for (let j = 0; j < tk; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += at(c.q, tq, Hq, h, i, d) * at(c.k, tk, Hkv, kvh, j, d);
          row[j] = mask[i][j] ? dot * c.scale : -Infinity;
        }
        const mx = Math.max(...row);
        const e = row.map((s) => (s === -Infinity ? 0 : Math.exp(s - mx)));
        const z = e.reduce((a, x) => a + x, 0);
        lse[(b * Hq + h) * tq + i] = z === 0 ? -Infinity : mx + Math.log(z);
        for (let d = 0; d < D; d++) {
          let s = 0;
          for (let j = 0; j < tk; j++) if (e[j] !== 0) s += (e[j] / z) * at(c.v, tk, Hkv, kvh, j, d);
          out[((b * tq + i) * Hq + h) * D + d] = s;
        }
      }
    }
  }
  return { out, lse };
}

function runForward(c: Case, make: (n: number) => FloatArray, fwd: typeof attentionForward) {
  const { nq, nl } = sizes(c);
  const out = make(nq).fill(NaN), lse = make(nl).fill(NaN);
  fwd({ ...c, out, lse });
  return { out, lse };
}

function runBackward(c: Case, fwdOut: { out: FloatArray; lse: FloatArray }, make: (n: number) => FloatArray, bwd: typeof attentionBackward) {
  const { nq, nk } = sizes(c);
  const dq = make(nq).fill(NaN), dk = make(nk).fill(NaN), dv = make(nk).fill(NaN);
  bwd({ ...c, out: fwdOut.out, lse: fwdOut.lse, dq, dk, dv });
  return { dq, dk, dv };
}

/** max |a - b| / max(1, max |b|); -Infinity must match exactly; NaN fails. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let scale = 1, err = 0;
  for (let i = 0; i < b.length; i++) if (Number.isFinite(b[i])) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < a.length; i++) {
    if (b[i] === -Infinity || a[i] === -Infinity) {
      assert.equal(a[i], b[i], `index ${i}: expected ${b[i]}, got ${a[i]}`);
      continue;
    }
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return Infinity;
    err = Math.max(err, d);
  }
  return err / scale;
}

const f64 = (n: number) => new Float64Array(n);
const f32 = (n: number) => new Float32Array(n);

// Shapes covering GQA ratios, causal decode with a cache, prefix-bidirectional, padding with fully
// masked rows (pad 4 with causal: queries 0..3 see nothing).
const smallSpecs: CaseSpec[] = [
  { batch: 1, tq: 5, tk: 5, headsQ: 2, headsKv: 2, headDim: 4, causal: false },
  { batch: 2, tq: 6, tk: 6, headsQ: 4, headsKv: 2, headDim: 3, causal: true },
  { batch: 2, tq: 3, tk: 7, qOffset: 4, headsQ: 4, headsKv: 1, headDim: 5, causal: true },
  { batch: 2, tq: 7, tk: 7, headsQ: 2, headsKv: 1, headDim: 4, causal: true, prefixLen: [3, 0] },
  { batch: 2, tq: 6, tk: 6, headsQ: 2, headsKv: 2, headDim: 3, causal: true, pad: [4, 0] },
  { batch: 3, tq: 4, tk: 4, headsQ: 1, headsKv: 1, headDim: 2, causal: false, pad: [0, 4, 1] },
];

test('attention reference forward matches a naive softmax(QK^T)V with explicit masks', () => {
  smallSpecs.forEach((spec, n) => {
    const c = makeCase(spec, 100 + n, f64);
    const got = runForward(c, f64, attentionForward);
    const want = naiveForward(c);
    assert.ok(relErr(got.out, want.out) < 1e-12, `case ${n}: out`);
    assert.ok(relErr(got.lse, want.lse) < 1e-12, `case ${n}: lse`);
  });
  // the padded case really has empty rows: out 0, lse -Infinity
  const c = makeCase(smallSpecs[4], 104, f64);
  const { out, lse } = runForward(c, f64, attentionForward);
  assert.equal(lse[0], -Infinity);
  assert.ok(out.subarray(0, c.headsQ * c.headDim).every((x) => x === 0));
});

test('attention reference backward matches finite differences in float64', () => {
  smallSpecs.forEach((spec, n) => {
    const c = makeCase(spec, 200 + n, f64, 1);
    // L = sum(out * dout): dL/dx from the backward vs (L(x + h) - L(x - h)) / 2h
    const loss = (cc: Case): number => {
      const { out } = runForward(cc, f64, attentionForward);
      let s = 0;
      for (let i = 0; i < out.length; i++) s += out[i] * c.dout[i];
      return s;
    };
    const fwd = runForward(c, f64, attentionForward);
    const grads = runBackward(c, fwd, f64, attentionBackward);
    for (const [name, g] of [['q', grads.dq], ['k', grads.dk], ['v', grads.dv]] as const) {
      const x = c[name] as Float64Array;
      let worst = 0, norm = 0;
      for (let i = 0; i < x.length; i++) {
        const keep = x[i], h = 1e-5;
        x[i] = keep + h;
        const up = loss(c);
        x[i] = keep - h;
        const down = loss(c);
        x[i] = keep;
        const fd = (up - down) / (2 * h);
        assert.ok(!Number.isNaN(g[i]), `case ${n}: d${name}[${i}] is NaN`);
        worst = Math.max(worst, Math.abs(fd - g[i]));
        norm = Math.max(norm, Math.abs(fd));
      }
      assert.ok(norm > 1e-3, `case ${n}: d${name} is not trivially zero`);
      assert.ok(worst < 1e-7 * Math.max(1, norm), `case ${n}: d${name} differs from finite differences by ${worst}`);
    }
  });
});

test('attention reference works in float32 and float64 alike', () => {
  const spec = smallSpecs[3];
  const c64 = makeCase(spec, 7, f64), c32 = makeCase(spec, 7, f32);
  const a = runForward(c64, f64, attentionForward), b = runForward(c32, f32, attentionForward);
  assert.ok(relErr(b.out, a.out) < 1e-5);
  const ga = runBackward(c64, a, f64, attentionBackward), gb = runBackward(c32, b, f32, attentionBackward);
  assert.ok(relErr(gb.dq, ga.dq) < 1e-4 && relErr(gb.dk, ga.dk) < 1e-4 && relErr(gb.dv, ga.dv) < 1e-4);
});

/** Random shapes for native vs reference (fixed seed: B 1..3, T in {1, 7, 33, 100+}, GQA 1/2/4, D 8/64/80). */
function nativeSpecs(): CaseSpec[] {
  const r = rng(42);
  const pick = <T,>(xs: T[]): T => xs[Math.floor(((r() + 1) / 2) * xs.length)];
  const specs: CaseSpec[] = [
    // fixed corner cases first
    { batch: 1, tq: 1, tk: 1, headsQ: 1, headsKv: 1, headDim: 8, causal: true },
    { batch: 1, tq: 130, tk: 130, headsQ: 2, headsKv: 1, headDim: 64, causal: true }, // split backward (B*Hkv small)
    { batch: 3, tq: 100, tk: 100, headsQ: 4, headsKv: 2, headDim: 80, causal: true, pad: [0, 37, 100] }, // fused, one batch row all padding
    { batch: 2, tq: 1, tk: 129, qOffset: 128, headsQ: 8, headsKv: 2, headDim: 64, causal: true, pad: [5, 0] }, // decode step
    { batch: 2, tq: 7, tk: 100, qOffset: 93, headsQ: 4, headsKv: 1, headDim: 8, causal: true }, // chunk with cache
    { batch: 2, tq: 100, tk: 100, headsQ: 2, headsKv: 2, headDim: 64, causal: true, prefixLen: [70, 0], pad: [3, 0] },
    { batch: 1, tq: 33, tk: 100, headsQ: 4, headsKv: 4, headDim: 64, causal: false, pad: [10] },
    { batch: 2, tq: 130, tk: 130, headsQ: 2, headsKv: 1, headDim: 8, causal: true, prefixLen: [63, 64] }, // prefix at a tile edge
    { batch: 3, tq: 2, tk: 41, qOffset: 39, headsQ: 6, headsKv: 2, headDim: 12, causal: true, pad: [0, 41, 9] }, // decode rows, D not a multiple of 8
    { batch: 2, tq: 4, tk: 50, qOffset: 46, headsQ: 2, headsKv: 2, headDim: 16, causal: true, prefixLen: [48, 0] }, // decode rows with a prefix
  ];
  for (let n = 0; n < 10; n++) {
    const batch = pick([1, 2, 3]);
    const tk = pick([1, 7, 33, 100, 131]);
    const decode = tk > 1 && pick([false, false, true]);
    const tq = decode ? pick([1, 7].filter((t) => t <= tk)) : tk;
    const ratio = pick([1, 2, 4]);
    const headsKv = pick([1, 2]);
    const causal = decode || pick([true, false]);
    const spec: CaseSpec = { batch, tq, tk, qOffset: tk - tq, headsQ: headsKv * ratio, headsKv, headDim: pick([8, 64, 80]), causal };
    if (pick([false, true])) spec.pad = Array.from({ length: batch }, () => Math.floor(((r() + 1) / 2) * (tk + 1)));
    if (causal && !decode && pick([false, true])) spec.prefixLen = Array.from({ length: batch }, () => Math.floor(((r() + 1) / 2) * tk));
    specs.push(spec);
  }
  return specs;
}

test('attention native matches reference, forward and backward, on random shapes', { skip: skipNative }, () => {
  nativeSpecs().forEach((spec, n) => {
    const c = makeCase(spec, 300 + n, f32);
    const want = runForward(c, f32, attentionForward);
    const got = runForward(c, f32, native!.attentionForward);
    const what = `case ${n} ${JSON.stringify(spec)}`;
    assert.ok(relErr(got.out, want.out) < 2e-5, `${what}: out ${relErr(got.out, want.out)}`);
    assert.ok(relErr(got.lse, want.lse) < 2e-5, `${what}: lse`);
    // backward from the same saved tensors (the reference's), so only the backward is compared
    const gw = runBackward(c, want, f32, attentionBackward);
    const gg = runBackward(c, want, f32, native!.attentionBackward);
    for (const k of ['dq', 'dk', 'dv'] as const) {
      const e = relErr(gg[k], gw[k]);
      assert.ok(e < 1e-4, `${what}: ${k} relative error ${e}`);
    }
  });
});

// A KV cache attends in one call over buffers with more key slots than are filled (kvCapacity > tk):
// the same result as the reference on the compacted [B, tk, Hkv, D] arrays, on both paths (decode
// rows and tiles), and the slots past tk are never read (NaN there changes nothing).
test('attention forward with kvCapacity > tk matches the reference on compacted keys (native and reference)', () => {
  const specs: CaseSpec[] = [
    { batch: 3, tq: 1, tk: 37, qOffset: 36, headsQ: 4, headsKv: 2, headDim: 32, causal: true, pad: [0, 5, 37] },
    { batch: 2, tq: 9, tk: 70, qOffset: 61, headsQ: 2, headsKv: 1, headDim: 8, causal: true, pad: [3, 0] },
  ];
  const cap = 80;
  specs.forEach((spec, n) => {
    const c = makeCase(spec, 500 + n, f32);
    const want = runForward(c, f32, attentionForward);
    const row = spec.headsKv * spec.headDim;
    const widen = (x: FloatArray): Float32Array => {
      const out = new Float32Array(spec.batch * cap * row).fill(Number.NaN);
      for (let b = 0; b < spec.batch; b++) out.set(x.subarray(b * spec.tk * row, (b + 1) * spec.tk * row), b * cap * row);
      return out;
    };
    const mask = new Int32Array(spec.batch * cap);
    for (let b = 0; b < spec.batch; b++) for (let j = 0; j < spec.tk; j++) mask[b * cap + j] = c.keyMask ? c.keyMask[b * spec.tk + j] : 1;
    const wide = { ...c, k: widen(c.k), v: widen(c.v), keyMask: mask, kvCapacity: cap };
    const backends = [['reference', attentionForward] as const, ...(native && !skipNative ? [['native', native.attentionForward] as const] : [])];
    for (const [name, fwd] of backends) {
      const got = runForward(wide, f32, fwd);
      assert.ok(relErr(got.out, want.out) < 2e-5, `${name} case ${n}: out ${relErr(got.out, want.out)}`);
      assert.ok(relErr(got.lse, want.lse) < 2e-5, `${name} case ${n}: lse`);
    }
  });
});

test('attention native is bit-identical across repeated calls at 1 and at 2 threads (fused and split backward)', { skip: skipNative }, () => {
  const specs: CaseSpec[] = [
    { batch: 2, tq: 100, tk: 100, headsQ: 4, headsKv: 2, headDim: 64, causal: true }, // fused backward
    { batch: 1, tq: 140, tk: 140, headsQ: 2, headsKv: 1, headDim: 64, causal: true, pad: [2] }, // split backward
  ];
  try {
    for (const threads of [1, 2]) {
      setNativeThreads(threads);
      specs.forEach((spec, n) => {
        const c = makeCase(spec, 500 + n, f32);
        const runs = [0, 1, 2].map(() => {
          const f = runForward(c, f32, native!.attentionForward);
          return { ...f, ...runBackward(c, f, f32, native!.attentionBackward) };
        });
        for (const k of ['out', 'lse', 'dq', 'dk', 'dv'] as const) {
          assert.deepEqual(runs[1][k], runs[0][k], `${threads} threads, case ${n}: ${k} differs between calls`);
          assert.deepEqual(runs[2][k], runs[0][k], `${threads} threads, case ${n}: ${k} differs between calls`);
        }
        const ref = runForward(c, f32, attentionForward);
        assert.ok(relErr(runs[0].out, ref.out) < 2e-5);
      });
    }
  } finally {
    setNativeThreads(2);
  }
});

test('attention native runs a 4096-token head without a T x T buffer and matches on sampled rows', { skip: skipNative }, () => {
  const T = 4096, D = 32;
  const c = makeCase({ batch: 1, tq: T, tk: T, headsQ: 1, headsKv: 1, headDim: D, causal: true }, 9, f32, 1);
  const rssBefore = process.resourceUsage().maxRSS; // KiB, high-water mark
  const fwd = runForward(c, f32, native!.attentionForward);
  const g = runBackward(c, fwd, f32, native!.attentionBackward);
  const grewMiB = (process.resourceUsage().maxRSS - rssBefore) / 1024;
  // a T x T float32 score matrix alone would be 64 MiB
  assert.ok(grewMiB < 32, `peak memory grew by ${grewMiB.toFixed(1)} MiB`);

  // independent per-row computation for sampled queries: softmax over keys 0..i
  const dot = (x: FloatArray, i: number, y: FloatArray, j: number) => {
    let s = 0;
    for (let d = 0; d < D; d++) s += x[i * D + d] * y[j * D + d];
    return s;
  };
  const lse = new Float64Array(T);
  const scores = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    let mx = -Infinity;
    for (let j = 0; j <= i; j++) {
      scores[j] = c.scale * dot(c.q, i, c.k, j);
      mx = Math.max(mx, scores[j]);
    }
    let z = 0;
    for (let j = 0; j <= i; j++) z += Math.exp(scores[j] - mx);
    lse[i] = mx + Math.log(z);
  }
  assert.ok(relErr(fwd.lse, lse) < 1e-5, 'lse');
  const prob = (i: number, j: number) => (j <= i ? Math.exp(c.scale * dot(c.q, i, c.k, j) - lse[i]) : 0);
  const outRow = (i: number) => {
    const o = new Float64Array(D);
    for (let j = 0; j <= i; j++) for (let d = 0; d < D; d++) o[d] += prob(i, j) * c.v[j * D + d];
    return o;
  };
  // Delta_i = dout_i . out_i from the kernel's out (checked on sampled rows below; lse on all rows)
  const delta = (i: number) => dot(c.dout, i, fwd.out, i);
  for (const i of [0, 1, 63, 64, 2000, T - 1]) {
    assert.ok(relErr(fwd.out.subarray(i * D, (i + 1) * D), outRow(i)) < 1e-5, `out row ${i}`);
    // dq_i = scale * sum_j P_ij (dout_i . v_j - Delta_i) k_j
    const dqi = new Float64Array(D), di = delta(i);
    assert.ok(Math.abs(di - outRow(i).reduce((a, o, d) => a + o * c.dout[i * D + d], 0)) < 1e-4);
    for (let j = 0; j <= i; j++) {
      const ds = prob(i, j) * (dot(c.dout, i, c.v, j) - di) * c.scale;
      for (let d = 0; d < D; d++) dqi[d] += ds * c.k[j * D + d];
    }
    assert.ok(relErr(g.dq.subarray(i * D, (i + 1) * D), dqi) < 1e-4, `dq row ${i}`);
  }
  const deltas = Float64Array.from({ length: T }, (_, i) => delta(i));
  for (const j of [0, 70, T - 1]) {
    // dv_j = sum_i P_ij dout_i ; dk_j = scale * sum_i dS_ij q_i
    const dvj = new Float64Array(D), dkj = new Float64Array(D);
    for (let i = j; i < T; i++) {
      const pij = prob(i, j), ds = pij * (dot(c.dout, i, c.v, j) - deltas[i]) * c.scale;
      for (let d = 0; d < D; d++) {
        dvj[d] += pij * c.dout[i * D + d];
        dkj[d] += ds * c.q[i * D + d];
      }
    }
    assert.ok(relErr(g.dv.subarray(j * D, (j + 1) * D), dvj) < 1e-4, `dv row ${j}`);
    assert.ok(relErr(g.dk.subarray(j * D, (j + 1) * D), dkj) < 1e-4, `dk row ${j}`);
  }
});

test('attention native: the portable tile product (GLMKIT_ISA=portable) passes the same checks', { skip: skipNative || process.env.GLMKIT_ISA === 'portable' }, () => {
  // The ISA is chosen once per process, so the random-shape comparison reruns in a child process.
  const env: NodeJS.ProcessEnv = { ...process.env, GLMKIT_ISA: 'portable' };
  delete env.NODE_TEST_CONTEXT; // a standalone run that prints its own TAP report
  const args = ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-name-pattern=random shapes', fileURLToPath(import.meta.url)];
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  assert.equal(r.status, 0, `portable run failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /# pass 1\n/);
  assert.match(r.stdout, /# fail 0\n/);
});
