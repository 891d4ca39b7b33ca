// Muon: Newton–Schulz against an independent polar factor and singular values (plain-JS f64 maths,
// no backend), update RMS, Nesterov momentum and weight decay by hand, f32 native vs f64 reference,
// and a loss that drops on a fixed batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/rng.js';
import { Tensor } from '../tensor/tensor.js';
import { Muon, orthogonalize } from './muon.js';

/** C [m, n] = A [m, k] @ B [k, n], plain f64 loops (independent of the backends). */
function mm(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let l = 0; l < k; l++) {
    const av = a[i * k + l];
    for (let j = 0; j < n; j++) c[i * n + j] += av * b[l * n + j];
  }
  return c;
}

function transpose(a: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}

/** Eigenvalues of a symmetric n x n matrix by cyclic Jacobi rotations. */
function symEigenvalues(s: ArrayLike<number>, n: number): number[] {
  const a = Float64Array.from(s);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-26) break;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) {
      const apq = a[p * n + q];
      if (Math.abs(apq) < 1e-300) continue;
      const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1), sn = t * c;
      for (let k = 0; k < n; k++) { // rotate columns p, q
        const akp = a[k * n + p], akq = a[k * n + q];
        a[k * n + p] = c * akp - sn * akq;
        a[k * n + q] = sn * akp + c * akq;
      }
      for (let k = 0; k < n; k++) { // rotate rows p, q
        const apk = a[p * n + k], aqk = a[q * n + k];
        a[p * n + k] = c * apk - sn * aqk;
        a[q * n + k] = sn * apk + c * aqk;
      }
    }
  }
  return Array.from({ length: n }, (_, i) => a[i * n + i]).sort((x, y) => x - y);
}

/** Singular values of x [rows, cols] as sqrt of the eigenvalues of the small Gram matrix. */
function singularValues(x: ArrayLike<number>, rows: number, cols: number): number[] {
  const xt = transpose(x, rows, cols);
  const gram = rows <= cols ? mm(x, xt, rows, cols, rows) : mm(xt, x, cols, rows, cols);
  return symEigenvalues(gram, Math.min(rows, cols)).map((e) => Math.sqrt(Math.max(e, 0)));
}

/** Polar factor U V^T by 200 cubic Newton–Schulz steps X <- 1.5 X - 0.5 X X^T X in f64. */
function polarFactor(g: ArrayLike<number>, rows: number, cols: number): Float64Array {
  let norm = 0;
  for (let i = 0; i < g.length; i++) norm += g[i] * g[i];
  norm = Math.sqrt(norm);
  let x = Float64Array.from(g, (v) => v / norm);
  for (let it = 0; it < 200; it++) {
    const xxt = mm(x, transpose(x, rows, cols), rows, cols, rows);
    const xxtx = mm(xxt, x, rows, rows, cols);
    x = x.map((v, i) => 1.5 * v - 0.5 * xxtx[i]);
  }
  return x;
}

function randn(n: number, seed: number, Ctor: Float32ArrayConstructor | Float64ArrayConstructor = Float64Array): Float32Array | Float64Array {
  const rng = new Rng(seed);
  const a = new Ctor(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

function rms(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s / a.length);
}

for (const [rows, cols] of [[6, 10], [10, 6], [8, 8]] as const) {
  test(`Newton–Schulz ${rows}x${cols} (f64): singular values in the quintic band, close to the polar factor`, () => {
    const g = randn(rows * cols, rows * 100 + cols);
    const o = orthogonalize(g, rows, cols);
    const sv = singularValues(o, rows, cols);
    for (const s of sv) assert.ok(s >= 0.6 && s <= 1.25, `singular values ${sv.map((v) => v.toFixed(3)).join(', ')} should lie in [0.6, 1.25]`);
    const p = polarFactor(g, rows, cols);
    // the reference really is orthogonal: its singular values are 1
    for (const s of singularValues(p, rows, cols)) assert.ok(Math.abs(s - 1) < 1e-6, `reference polar factor has singular value ${s}`);
    let dot = 0, nn = 0, pp = 0, diff = 0;
    for (let i = 0; i < o.length; i++) {
      dot += o[i] * p[i];
      nn += o[i] * o[i];
      pp += p[i] * p[i];
      diff += (o[i] - p[i]) ** 2;
    }
    const cos = dot / Math.sqrt(nn * pp);
    assert.ok(cos > 0.97, `cosine between NS5 result and U V^T is ${cos}, expected > 0.97`);
    assert.ok(Math.sqrt(diff / pp) < 0.3, `relative error to U V^T is ${Math.sqrt(diff / pp)}, expected < 0.3`);
  });
}

test('Newton–Schulz: f32 (native when built) agrees with f64 (reference)', () => {
  for (const [rows, cols] of [[24, 40], [40, 24]] as const) {
    const g64 = randn(rows * cols, 7 + rows);
    const o64 = orthogonalize(g64, rows, cols);
    const o32 = orthogonalize(Float32Array.from(g64), rows, cols);
    assert.ok(o32 instanceof Float32Array);
    let worst = 0;
    for (let i = 0; i < o64.length; i++) worst = Math.max(worst, Math.abs(o32[i] - o64[i]));
    assert.ok(worst < 1e-3, `${rows}x${cols}: f32 and f64 differ by up to ${worst}`);
  }
});

// The quintic leaves the singular values of a random gradient spread over ~[0.7, 1.1] rather than at
// 1, so the RMS of 0.2 * sqrt(max(rows, cols)) * NS5(G) is 0.2 * RMS(singular values) ~ 0.17..0.2.
// Checked two ways: within 15% of 0.2, and within 2% of the exact prediction from the singular values
// of G pushed through the scalar quintic five times (computed independently, in f64).
for (const [rows, cols] of [[64, 256], [256, 64], [128, 128]] as const) {
  test(`Muon update RMS is 0.2 for ${rows}x${cols}`, () => {
    const g = randn(rows * cols, rows + cols, Float32Array);
    const w = Tensor.zeros([rows, cols]).requireGrad();
    w.grad = new Tensor(g.slice(), [rows, cols]);
    const opt = new Muon([w], { lr: 1, weightDecay: 0, momentum: 0 });
    opt.update();
    const r = rms(w.data); // W started at 0, so W = -update
    assert.ok(Math.abs(r - 0.2) < 0.03, `update RMS ${r}, expected 0.2 +- 15%`);
    const fro = Math.sqrt(Array.from(g).reduce((s, v) => s + v * v, 0));
    const quintic = (x: number) => 3.4445 * x - 4.775 * x ** 3 + 2.0315 * x ** 5;
    const sv = singularValues(g, rows, cols).map((s) => {
      let x = s / fro;
      for (let i = 0; i < 5; i++) x = quintic(x);
      return x;
    });
    const predicted = 0.2 * Math.sqrt(sv.reduce((s, v) => s + v * v, 0) / sv.length);
    assert.ok(Math.abs(r / predicted - 1) < 0.02, `update RMS ${r}, predicted from the singular values ${predicted}`);
  });
}

test('Muon: Nesterov momentum over 2 steps on a 2x2 matches a hand computation (no orthogonalisation)', () => {
  const mu = 0.95, lr = 0.1, wd = 0.1;
  const w0 = [1, -2, 0.5, 3];
  const g1 = [0.3, -0.1, 0.2, 0.4];
  const g2 = [-0.2, 0.5, 0.1, -0.3];
  const w = Tensor.from(w0, [2, 2], 'f64').requireGrad();
  const opt = new Muon([w], { lr, weightDecay: wd, nsSteps: 0 });
  // hand: buf1 = g1, D1 = g1 + mu*buf1; buf2 = mu*buf1 + g2, D2 = g2 + mu*buf2;
  // W <- W (1 - lr wd) - lr * 0.2 * sqrt(2) * D / (||D|| + 1e-7)
  const buf1 = g1.slice();
  const d1 = g1.map((g, i) => g + mu * buf1[i]);
  const buf2 = buf1.map((b, i) => mu * b + g2[i]);
  const d2 = g2.map((g, i) => g + mu * buf2[i]);
  const apply = (wv: number[], d: number[]) => {
    const n = Math.sqrt(d.reduce((s, v) => s + v * v, 0)) + 1e-7;
    return wv.map((x, i) => x * (1 - lr * wd) - lr * 0.2 * Math.SQRT2 * (d[i] / n));
  };
  const w1 = apply(w0, d1);
  const w2 = apply(w1, d2);
  w.grad = Tensor.from(g1, [2, 2], 'f64');
  opt.update();
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(w.data[i] - w1[i]) < 1e-12, `step 1 W[${i}] = ${w.data[i]}, expected ${w1[i]}`);
  w.grad = Tensor.from(g2, [2, 2], 'f64');
  opt.update();
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(w.data[i] - w2[i]) < 1e-12, `step 2 W[${i}] = ${w.data[i]}, expected ${w2[i]}`);
  const mom = opt.state.get(w)!.momentum;
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(mom[i] - buf2[i]) < 1e-12, `momentum[${i}] = ${mom[i]}, expected ${buf2[i]}`);
  assert.equal(opt.step, 2);
});

test('Muon: without Nesterov the direction is the momentum buffer', () => {
  const mu = 0.9;
  const g1 = [1, 0, 0, 0], g2 = [0, 1, 0, 0];
  const w = Tensor.zeros([2, 2], 'f64').requireGrad();
  const opt = new Muon([w], { lr: 1, weightDecay: 0, nsSteps: 0, nesterov: false, momentum: mu });
  w.grad = Tensor.from(g1, [2, 2], 'f64');
  opt.update();
  w.data.fill(0);
  w.grad = Tensor.from(g2, [2, 2], 'f64');
  opt.update();
  // D2 = buf2 = [mu, 1, 0, 0]; W = -0.2*sqrt(2)*D2/||D2||
  const n = Math.hypot(mu, 1) + 1e-7;
  const expected = [-0.2 * Math.SQRT2 * mu / n, -0.2 * Math.SQRT2 / n, 0, 0];
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(w.data[i] - expected[i]) < 1e-12, `W[${i}] = ${w.data[i]}, expected ${expected[i]}`);
});

test('Muon: decoupled weight decay W <- W (1 - lr wd) on top of the orthogonalised step', () => {
  const rows = 16, cols = 12, lr = 0.05, wd = 0.1;
  const w0 = randn(rows * cols, 3, Float64Array);
  const g = randn(rows * cols, 4, Float64Array);
  const run = (decay: number) => {
    const w = new Tensor(w0.slice(), [rows, cols]).requireGrad();
    w.grad = new Tensor(g.slice(), [rows, cols]);
    new Muon([w], { lr, weightDecay: decay }).update();
    return w.data;
  };
  const withWd = run(wd), without = run(0);
  for (let i = 0; i < w0.length; i++) {
    const expected = -lr * wd * w0[i];
    assert.ok(Math.abs(withWd[i] - without[i] - expected) < 1e-12, `W[${i}]: decay changed it by ${withWd[i] - without[i]}, expected ${expected}`);
  }
  // a zero gradient leaves only the decay
  const z = new Tensor(w0.slice(), [rows, cols]).requireGrad();
  z.grad = Tensor.zeros([rows, cols], 'f64');
  new Muon([z], { lr, weightDecay: wd }).update();
  for (let i = 0; i < w0.length; i++) assert.ok(Math.abs(z.data[i] - w0[i] * (1 - lr * wd)) < 1e-15);
});

test('Muon: matrices of one shape updated together (batched) equal each updated alone', () => {
  for (const [rows, cols] of [[5, 7], [7, 5]] as const) {
    const make = (seed: number) => {
      const w = new Tensor(randn(rows * cols, seed), [rows, cols]).requireGrad();
      w.grad = new Tensor(randn(rows * cols, seed + 50), [rows, cols]);
      return w;
    };
    const together = [1, 2, 3].map(make);
    const oddShape = new Tensor(randn(6, 77), [2, 3]).requireGrad(); // another shape in the same optimizer
    oddShape.grad = new Tensor(randn(6, 78), [2, 3]);
    new Muon([{ params: [together[0], oddShape] }, { params: [together[1], together[2]] }], { lr: 0.1 }).update();
    [1, 2, 3].forEach((seed, j) => {
      const alone = make(seed);
      new Muon([alone], { lr: 0.1 }).update();
      for (let i = 0; i < alone.size; i++) assert.ok(Math.abs(alone.data[i] - together[j].data[i]) < 1e-12, `${rows}x${cols} matrix ${j} element ${i}`);
    });
  }
});

test('Muon: rejects parameters that are not 2-D', () => {
  assert.throws(() => new Muon([Tensor.zeros([4]).requireGrad()], { lr: 1 }), /2-D matrices only/);
});

test('Muon reduces a least-squares loss by more than 50% in 30 steps', () => {
  // min_W mean((X W - Y)^2), X [N, 32], W [32, 16], gradient 2/(N*16) X^T (X W - Y)
  const N = 64, d = 32, k = 16;
  const X = randn(N * d, 11), Wt = randn(d * k, 12);
  const Y = mm(X, Wt, N, d, k);
  const w = Tensor.zeros([d, k], 'f64').requireGrad();
  const loss = () => {
    const r = mm(X, w.data, N, d, k).map((v, i) => v - Y[i]);
    return { l: r.reduce((s, v) => s + v * v, 0) / r.length, r };
  };
  const opt = new Muon([w], { lr: 0.5, weightDecay: 0 });
  const first = loss().l;
  for (let s = 0; s < 30; s++) {
    const { r } = loss();
    const grad = mm(transpose(X, N, d), r, d, N, k).map((v) => (2 * v) / (N * k));
    w.grad = new Tensor(grad, [d, k]);
    opt.update();
  }
  const last = loss().l;
  assert.ok(last < 0.5 * first, `loss ${first} -> ${last}: expected a drop of more than 50%`);
});
