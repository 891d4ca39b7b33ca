// The vectorised exp of native/kernels/vecmath (each path the CPU has: AVX-512, AVX2, portable),
// tested through the kernels that use it: log-softmax backward computes dx = dy - exp(y) * sum(dy),
// so with dy = 0 except a last column of 1, -dx[j] is exactly exp(y[j]) for any y we choose. Paths
// are switched in-process with GLMKIT_ISA (the addon re-reads it at every call).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { referenceBackend as ref } from './index.js';
import { nativeAddonPath } from './native.js';
import { ISA_PATHS, native, needNative, withIsa } from './kernel-testing.js';

/** Distance in units in the last place between two float32 values of the same sign (or both 0). */
function ulps(a: number, b: number): number {
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat32(0, a);
  buf.setFloat32(4, b);
  return Math.abs(buf.getInt32(0) - buf.getInt32(4));
}

/** exp(y) for every y, computed by the native kernel (one row: y followed by a last column). */
function nativeExp(y: Float32Array): Float32Array {
  const cols = y.length + 1;
  const yy = new Float32Array(cols);
  yy.set(y);
  const dy = new Float32Array(cols);
  dy[cols - 1] = 1;
  const dx = new Float32Array(cols);
  native!.logSoftmaxBackward(yy, dy, dx, 1, cols);
  return dx.subarray(0, y.length).map((v) => 0 - v); // 0 - v, not -v: exp(-inf) is +0
}

for (const path of ISA_PATHS) {
  test(`native exp (${path.isa} path) is within 2 ulp of exp over the whole float range, and exact at the edges`, { skip: path.skip }, () => withIsa(path.env, () => {
    const y: number[] = [];
    for (let v = -110; v <= 90; v += 0.00731) y.push(v); // ~27k points, every lane position and tail length
    const exps = nativeExp(Float32Array.from(y));
    const yf = Float32Array.from(y);
    let worst = 0;
    for (let i = 0; i < yf.length; i++) {
      const want = Math.fround(Math.exp(yf[i]));
      const u = ulps(exps[i], want);
      worst = Math.max(worst, u);
      assert.ok(u <= 2, `exp(${yf[i]}): got ${exps[i]}, expected ${want} (${u} ulp)`);
    }
    assert.ok(worst <= 2);
    const edges = Float32Array.from([-Infinity, -1e30, -104.5, -103.97, -87.5, 0, -0, 1e-30, 88.72, 88.73, 1e30, Infinity, NaN]);
    const got = nativeExp(edges);
    const want = Array.from(edges, (v) => Math.fround(Math.exp(v)));
    for (let i = 0; i < edges.length; i++) {
      if (Number.isNaN(want[i])) assert.ok(Number.isNaN(got[i]), `exp(NaN) is NaN, got ${got[i]}`);
      else assert.ok(ulps(got[i], want[i]) <= 1, `exp(${edges[i]}): got ${got[i]}, expected ${want[i]}`);
    }
    assert.equal(got[0], 0, 'exp(-inf) = 0');
    assert.equal(got[11], Infinity, 'exp(+inf) = +inf');
  }));
}

test('softmax on large-magnitude rows agrees with the float64 reference', needNative, () => {
  // Rows with spreads that push exp to underflow, subnormals and exact ties; 37 columns so both the
  // 8-wide body and the masked tail are used.
  const cols = 37, rows = 6;
  const x = new Float32Array(rows * cols);
  for (let j = 0; j < cols; j++) {
    x[0 * cols + j] = 80 - 5 * j; // 80 .. -100: exp down to the subnormal range
    x[1 * cols + j] = -1e4 + j * 1e-3; // far from 0, tiny spread
    x[2 * cols + j] = j % 5 === 0 ? -Infinity : 1e6 - j; // -inf entries mixed with large values
    x[3 * cols + j] = j === 17 ? 50 : -60; // one dominant entry
    x[4 * cols + j] = -3e38 + j * 1e32; // near -FLT_MAX
    x[5 * cols + j] = (j - 18) * 3; // -54 .. 54
  }
  for (const fn of ['softmaxForward', 'logSoftmaxForward'] as const) {
    const a = new Float32Array(rows * cols), b = new Float64Array(rows * cols);
    native![fn](x, a, rows, cols);
    ref[fn](Float64Array.from(x), b, rows, cols);
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(b[i])) {
        assert.equal(a[i], b[i], `${fn}[${i}]`);
        continue;
      }
      // 3e-45: two subnormal ulps, for outputs that round twice (exp, then * 1/sum) below 1.2e-38.
      const tol = fn === 'softmaxForward' ? 3e-45 + 4e-7 * Math.abs(b[i]) : 2e-6 * Math.max(1, Math.abs(b[i]));
      assert.ok(Math.abs(a[i] - b[i]) <= tol, `${fn}[${i}] (x = ${x[i]}): got ${a[i]}, expected ${b[i]}`);
    }
  }
});

test('the portable path agrees with the vectorised path (GLMKIT_ISA=portable in a child process)', needNative, () => {
  const cols = 1003, rows = 5;
  const x = new Float32Array(rows * cols);
  for (let i = 0; i < x.length; i++) x[i] = Math.fround(Math.sin(i * 12.9898) * 60);
  const script = `
    const addon = require(${JSON.stringify(nativeAddonPath())});
    const x = new Float32Array(${JSON.stringify(Array.from(x))});
    const sm = new Float32Array(x.length), ls = new Float32Array(x.length);
    addon.softmaxForward(x, sm, ${rows}, ${cols});
    addon.logSoftmaxForward(x, ls, ${rows}, ${cols});
    process.stdout.write(JSON.stringify([Array.from(sm), Array.from(ls)]));`;
  const child = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, GLMKIT_ISA: 'portable' }, encoding: 'utf8' });
  assert.equal(child.status, 0, `child failed: ${child.stderr}`);
  const [psm, pls] = JSON.parse(child.stdout) as [number[], number[]];
  const sm = new Float32Array(x.length), ls = new Float32Array(x.length);
  native!.softmaxForward(x, sm, rows, cols);
  native!.logSoftmaxForward(x, ls, rows, cols);
  for (let i = 0; i < x.length; i++) {
    assert.ok(Math.abs(sm[i] - psm[i]) <= 3e-45 + 4e-7 * Math.abs(psm[i]), `softmax[${i}]: vectorised ${sm[i]}, portable ${psm[i]}`);
    assert.ok(Math.abs(ls[i] - pls[i]) <= 1e-6 * Math.max(1, Math.abs(pls[i])), `log-softmax[${i}]: vectorised ${ls[i]}, portable ${pls[i]}`);
  }
});
