import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError } from '../errors.js';
import { GgufType, ggufGet, gv, openGguf, writeGguf } from './gguf.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'glmkit-gguf-'));
}

test('writer bytes match a GGUF v3 file built by hand', () => {
  const dir = tmp();
  try {
    const file = join(dir, 'a.gguf');
    writeGguf(file, [{ key: 'k', value: gv.u32(7) }], [{ name: 't', shape: [2, 3], type: 'F32', data: new Float32Array([1, 2, 3, 4, 5, 6]) }]);
    // Expected, by hand:
    const parts: Buffer[] = [];
    const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(b); };
    const u64 = (v: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(b); };
    const str = (s: string) => { u64(Buffer.byteLength(s)); parts.push(Buffer.from(s)); };
    parts.push(Buffer.from('GGUF'));
    u32(3); // version
    u64(1); // tensors
    u64(2); // kvs (k + general.alignment)
    str('k'); u32(4); u32(7);
    str('general.alignment'); u32(4); u32(32);
    str('t'); u32(2); u64(3); u64(2); u32(0); u64(0); // dims reversed: {3, 2}, F32, offset 0
    let head = Buffer.concat(parts);
    head = Buffer.concat([head, Buffer.alloc((32 - (head.length % 32)) % 32)]);
    const data = Buffer.alloc(32);
    [1, 2, 3, 4, 5, 6].forEach((v, i) => data.writeFloatLE(v, 4 * i));
    assert.deepEqual(readFileSync(file), Buffer.concat([head, data]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('write -> read round trip of typed metadata and F32/F16 tensors', () => {
  const dir = tmp();
  try {
    const file = join(dir, 'b.gguf');
    const w3 = new Float32Array(5 * 3 * 2).map((_, i) => (i - 15) / 8); // exactly representable in f16
    const w2 = new Float32Array(7).map((_, i) => i * 0.1);
    writeGguf(
      file,
      [
        { key: 'general.architecture', value: gv.str('glm4') },
        { key: 'x.f', value: gv.f32(1.5625e-7) },
        { key: 'x.b', value: gv.bool(true) },
        { key: 'x.i', value: gv.i32(-5) },
        { key: 'x.u64', value: gv.u64(1n << 40n) },
        { key: 'x.strs', value: gv.strs(['a', 'Ġb', '<|user|>', '']) },
        { key: 'x.ints', value: gv.i32s([1, -2, 3]) },
        { key: 'x.floats', value: gv.f32s([0.5, -0.25]) },
      ],
      [
        { name: 'blk.0.w', shape: [5, 3, 2], type: 'F16', data: w3 },
        { name: 'n', shape: [7], type: 'F32', data: () => w2 },
      ],
    );
    const g = openGguf(file);
    assert.equal(g.version, 3);
    assert.equal(g.alignment, 32);
    assert.equal(ggufGet(g, 'general.architecture'), 'glm4');
    assert.equal(ggufGet(g, 'x.f'), Math.fround(1.5625e-7));
    assert.equal(g.metadata.get('x.f')!.type, GgufType.FLOAT32);
    assert.equal(ggufGet(g, 'x.b'), true);
    assert.equal(ggufGet(g, 'x.i'), -5);
    assert.equal(ggufGet(g, 'x.u64'), 1n << 40n);
    assert.deepEqual(ggufGet(g, 'x.strs'), ['a', 'Ġb', '<|user|>', '']);
    assert.deepEqual(ggufGet(g, 'x.ints'), [1, -2, 3]);
    assert.deepEqual(ggufGet(g, 'x.floats'), [0.5, -0.25]);
    const [t0, t1] = g.tensors;
    assert.equal(t0.name, 'blk.0.w');
    assert.deepEqual(t0.dims, [2, 3, 5]);
    assert.deepEqual(t0.shape, [5, 3, 2]);
    assert.equal(t0.type, 1);
    assert.deepEqual(t0.read(), w3);
    assert.equal(t1.offset, 64, 'second tensor starts at the next 32-byte boundary (60 bytes of f16 -> 64)');
    assert.equal(t1.fileOffset % 32, 0);
    assert.deepEqual(t1.read(), w2);
    g.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad GGUF files raise CheckpointError naming the file', () => {
  const dir = tmp();
  try {
    const good = join(dir, 'good.gguf');
    writeGguf(good, [{ key: 'a', value: gv.strs(['x', 'y']) }], [{ name: 't', shape: [64], type: 'F32', data: new Float32Array(64) }]);
    const bytes = readFileSync(good);
    const magic = join(dir, 'magic.gguf');
    writeFileSync(magic, Buffer.concat([Buffer.from('GGUX'), bytes.subarray(4)]));
    assert.throws(() => openGguf(magic), (e: unknown) => e instanceof CheckpointError && /magic\.gguf/.test(e.message) && /not a GGUF/.test(e.message));
    const trunc = join(dir, 'trunc.gguf');
    writeFileSync(trunc, bytes.subarray(0, 40));
    assert.throws(() => openGguf(trunc), (e: unknown) => e instanceof CheckpointError && /trunc\.gguf/.test(e.message));
    const shortData = join(dir, 'data.gguf');
    writeFileSync(shortData, bytes.subarray(0, bytes.length - 100));
    assert.throws(() => openGguf(shortData), (e: unknown) => e instanceof CheckpointError && /data\.gguf/.test(e.message) && /"t"/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('BF16 tensors: written as ggml type 30 with round-to-nearest-even bits, read back as float32', () => {
  const dir = tmp();
  try {
    const file = join(dir, 'bf.gguf');
    const w = new Float32Array([1, Math.PI, -2.5e-3, 3.140625, 0]);
    writeGguf(file, [{ key: 'general.architecture', value: gv.str('glm4') }], [{ name: 'w', shape: [5], type: 'BF16', data: w }]);
    const g = openGguf(file);
    const t = g.tensors[0];
    assert.equal(t.type, 30);
    const back = t.read();
    assert.equal(back[1], 3.140625, 'pi rounds to bf16 0x4049');
    assert.equal(back[3], 3.140625);
    assert.equal(back[0], 1);
    assert.ok(Math.abs(back[2] + 2.5e-3) < 2.5e-3 / 128);
    g.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
