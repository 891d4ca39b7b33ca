// Pillow-exact bicubic resize: invariants without Python, and byte equality with Pillow's
// Image.resize(BICUBIC) where a Python with Pillow is present (skipped, saying why, elsewhere).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Rng } from '../../util/rng.js';
import { pythonForTests } from '../../util/test-skip.js';
import { resizeBicubicPil } from './resize.js';

test('a constant image stays constant when shrunk or enlarged; same size is a copy', () => {
  const src = new Uint8Array(37 * 23 * 3).fill(200);
  for (const [w, h] of [[11, 7], [80, 50], [37, 60]]) assert.ok(resizeBicubicPil(src, 37, 23, 3, w, h).every((v) => v === 200), `${w}x${h}`);
  const r = Uint8Array.from({ length: 12 }, (_, i) => i);
  assert.deepEqual(resizeBicubicPil(r, 2, 2, 3, 2, 2), r);
});

const py = pythonForTests(['PIL']);

test('byte-equal to Pillow BICUBIC on random images (shrink, enlarge, mixed, tiny)', { skip: py.skip }, () => {
  const rng = new Rng('pil resize');
  for (const [w0, h0, w, h] of [[64, 48, 28, 56], [20, 10, 84, 28], [100, 30, 56, 84], [5, 3, 28, 28], [300, 200, 112, 84]]) {
    const src = Uint8Array.from({ length: w0 * h0 * 3 }, () => rng.int(256));
    const code = `import sys; from PIL import Image; d = sys.stdin.buffer.read(); sys.stdout.buffer.write(Image.frombytes('RGB', (${w0}, ${h0}), d).resize((${w}, ${h}), resample=Image.BICUBIC).tobytes())`;
    const r = spawnSync(py.python!, ['-c', code], { input: Buffer.from(src) });
    assert.equal(r.status, 0, String(r.stderr));
    assert.deepEqual(resizeBicubicPil(src, w0, h0, 3, w, h), new Uint8Array(r.stdout), `${w0}x${h0} -> ${w}x${h}`);
  }
});
