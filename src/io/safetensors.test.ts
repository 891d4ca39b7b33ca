import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError } from '../errors.js';
import {
  bf16BitsToF32,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  openSafetensors,
  openSafetensorsCheckpoint,
  readSafetensors,
  writeSafetensors,
  writeShardedSafetensors,
} from './safetensors.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'glmkit-st-'));
}

/** Deterministic pseudo-random floats (LCG), spanning several magnitudes. */
function randn(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    out[i] = (u - 0.5) * 2 ** ((i % 7) - 3);
  }
  return out;
}

test('bf16 rounding: hand-checked values (round to nearest, ties to even)', () => {
  assert.equal(f32ToBf16Bits(1.0), 0x3f80);
  assert.equal(f32ToBf16Bits(-2.0), 0xc000);
  // 1 + 2^-8 is exactly halfway between 0x3F80 and 0x3F81: ties to even -> 0x3F80
  assert.equal(f32ToBf16Bits(1 + 2 ** -8), 0x3f80);
  // 1 + 3*2^-8 is halfway between 0x3F81 and 0x3F82: ties to even -> 0x3F82
  assert.equal(f32ToBf16Bits(1 + 3 * 2 ** -8), 0x3f82);
  // just above the halfway point rounds up
  assert.equal(f32ToBf16Bits(1 + 2 ** -8 + 2 ** -20), 0x3f81);
  // just below rounds down
  assert.equal(f32ToBf16Bits(1 + 2 ** -8 - 2 ** -20), 0x3f80);
  assert.equal(f32ToBf16Bits(Infinity), 0x7f80);
  assert.equal(f32ToBf16Bits(-Infinity), 0xff80);
  assert.ok(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN))));
  // 3.140625 = 0x4049 exactly in bf16; pi rounds to it
  assert.equal(f32ToBf16Bits(Math.PI), 0x4049);
  assert.equal(bf16BitsToF32(0x4049), 3.140625);
});

test('f16 rounding: hand-checked values', () => {
  assert.equal(f32ToF16Bits(1.0), 0x3c00);
  assert.equal(f32ToF16Bits(-2.0), 0xc000);
  assert.equal(f32ToF16Bits(1 + 2 ** -11), 0x3c00); // tie -> even
  assert.equal(f32ToF16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie -> even (up)
  assert.equal(f32ToF16Bits(65504), 0x7bff); // max finite
  assert.equal(f32ToF16Bits(65520), 0x7c00); // halfway to 2^16 -> even -> inf
  assert.equal(f32ToF16Bits(65519), 0x7bff);
  assert.equal(f32ToF16Bits(2 ** -24), 0x0001); // min subnormal
  assert.equal(f32ToF16Bits(2 ** -25), 0x0000); // tie between 0 and 1 -> 0
  assert.equal(f32ToF16Bits(1.5 * 2 ** -25), 0x0001);
  assert.equal(f32ToF16Bits(3 * 2 ** -25), 0x0002); // tie between 1 and 2 -> 2
  assert.equal(f32ToF16Bits(2 ** -14), 0x0400); // min normal
  assert.equal(f32ToF16Bits(2 ** -14 - 2 ** -26), 0x0400); // rounds up into the normal range
  assert.equal(f32ToF16Bits(-0), 0x8000);
  assert.equal(f16BitsToF32(0x3555), 0.333251953125);
  assert.equal(f16BitsToF32(0x0001), 2 ** -24);
  assert.equal(f16BitsToF32(0xfc00), -Infinity);
});

test('reads a file built by hand, byte by byte (F32, BF16, F16, I64)', () => {
  const dir = tmp();
  try {
    const header = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [8, 12] },
      c: { dtype: 'F16', shape: [1, 3], data_offsets: [12, 18] },
      d: { dtype: 'I64', shape: [2], data_offsets: [18, 34] },
      __metadata__: { format: 'pt' },
    };
    const hj = Buffer.from(JSON.stringify(header));
    const data = Buffer.alloc(34);
    data.writeFloatLE(1.5, 0);
    data.writeFloatLE(-0.25, 4);
    data.writeUInt16LE(0x3f80, 8); // 1.0
    data.writeUInt16LE(0xc040, 10); // -3.0
    data.writeUInt16LE(0x3c00, 12); // 1.0
    data.writeUInt16LE(0xc000, 14); // -2.0
    data.writeUInt16LE(0x0001, 16); // 2^-24
    data.writeBigInt64LE(7n, 18);
    data.writeBigInt64LE(-3n, 26);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(hj.length));
    const file = join(dir, 'hand.safetensors');
    writeFileSync(file, Buffer.concat([len, hj, data]));
    const f = openSafetensors(file);
    assert.deepEqual(f.metadata, { format: 'pt' });
    assert.deepEqual([...f.tensors.get('a')!.read()], [1.5, -0.25]);
    assert.deepEqual([...f.tensors.get('b')!.read()], [1, -3]);
    assert.deepEqual(f.tensors.get('c')!.shape, [1, 3]);
    assert.deepEqual([...f.tensors.get('c')!.read()], [1, -2, 2 ** -24]);
    assert.deepEqual([...f.tensors.get('d')!.readInt32()], [7, -3]);
    f.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('f32 round trip is exact; the written bytes follow the format', () => {
  const dir = tmp();
  try {
    const file = join(dir, 'model.safetensors');
    const x = randn(24, 3);
    const ids = new Int32Array([5, -1, 2147483647]);
    writeSafetensors(file, [
      { name: 'w', shape: [4, 6], data: x },
      { name: 'ids', shape: [3], data: ids },
    ]);
    const bytes = readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    assert.equal(n % 8, 0, 'header padded to 8 bytes');
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
    assert.deepEqual(header.__metadata__, { format: 'pt' });
    assert.deepEqual(header.w, { dtype: 'F32', shape: [4, 6], data_offsets: [0, 96] });
    assert.deepEqual(header.ids, { dtype: 'I32', shape: [3], data_offsets: [96, 108] });
    assert.equal(bytes.readFloatLE(8 + n + 4 * 5), x[5]);
    const back = readSafetensors(file);
    assert.deepEqual(back.get('w')!.data, x);
    const f = openSafetensors(file);
    assert.deepEqual([...f.tensors.get('ids')!.readInt32()], [5, -1, 2147483647]);
    f.close();
    assert.deepEqual(readdirSync(dir), ['model.safetensors'], 'no temporary file left behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bf16 and f16 round trips round to the nearest representable value', () => {
  const dir = tmp();
  try {
    const x = randn(4000, 9);
    writeSafetensors(join(dir, 'b.safetensors'), [{ name: 'x', shape: [4000], data: x }], { dtype: 'BF16' });
    writeSafetensors(join(dir, 'h.safetensors'), [{ name: 'x', shape: [40, 100], data: x, dtype: 'F16' }]);
    const b = readSafetensors(join(dir, 'b.safetensors')).get('x')!;
    const h = readSafetensors(join(dir, 'h.safetensors')).get('x')!;
    assert.equal(b.dtype, 'BF16');
    assert.equal(h.dtype, 'F16');
    const u = new Uint32Array(new Float32Array(b.data).buffer);
    for (let i = 0; i < x.length; i++) {
      // bf16: low 16 bits zero; the result is the closer of the two bf16 neighbours of x
      assert.equal(u[i] & 0xffff, 0);
      const xb = new Uint32Array(new Float32Array([x[i]]).buffer)[0];
      const lo = new Float32Array(new Uint32Array([xb & 0xffff0000]).buffer)[0];
      const hi = new Float32Array(new Uint32Array([(xb & 0xffff0000) + 0x10000]).buffer)[0];
      const best = Math.min(Math.abs(x[i] - lo), Math.abs(x[i] - hi));
      assert.equal(Math.abs(x[i] - b.data[i]), best);
      // f16 (values here are in the normal range): relative error at most 2^-11
      assert.ok(Math.abs(x[i] - h.data[i]) <= Math.abs(x[i]) * 2 ** -11 + 2 ** -25, `f16 at ${i}: ${x[i]} -> ${h.data[i]}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sharded checkpoint: index + shards round trip; a single shard writes model.safetensors', () => {
  const dir = tmp();
  try {
    const tensors = Array.from({ length: 5 }, (_, k) => ({ name: `layer.${k}.weight`, shape: [10, 10], data: randn(100, k + 1) }));
    const files = writeShardedSafetensors(dir, tensors, { maxShardBytes: 850 });
    // 400 bytes per tensor, 850 per shard -> 2 + 2 + 1
    assert.deepEqual(files, [
      'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors',
      'model.safetensors.index.json',
    ]);
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
    assert.equal(index.metadata.total_size, 2000);
    assert.equal(index.weight_map['layer.2.weight'], 'model-00002-of-00003.safetensors');
    const ck = openSafetensorsCheckpoint(dir);
    assert.equal(ck.tensors.size, 5);
    for (const t of tensors) assert.deepEqual(ck.tensors.get(t.name)!.read(), t.data);
    ck.close();

    const one = join(dir, 'one');
    assert.deepEqual(writeShardedSafetensors(one, tensors), ['model.safetensors']);
    const ck1 = openSafetensorsCheckpoint(one);
    assert.deepEqual(ck1.tensors.get('layer.4.weight')!.read(), tensors[4].data);
    ck1.close();

    // an index that names a missing shard
    index.weight_map['layer.9.weight'] = 'model-00009-of-00009.safetensors';
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
    assert.throws(() => openSafetensorsCheckpoint(dir), (e: unknown) => e instanceof CheckpointError && /layer\.9\.weight/.test(e.message) && /does not exist/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Writes a safetensors file with an arbitrary header and data length. */
function rawFile(path: string, header: unknown, dataBytes: number, headerLen?: number): void {
  const hj = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerLen ?? hj.length));
  writeFileSync(path, Buffer.concat([len, hj, Buffer.alloc(dataBytes)]));
}

test('corrupt files raise CheckpointError naming the file and the tensor', () => {
  const dir = tmp();
  try {
    const cases: [string, () => void, RegExp][] = [
      ['short.safetensors', () => writeFileSync(join(dir, 'short.safetensors'), Buffer.alloc(3)), /at least the 8-byte/],
      ['len.safetensors', () => rawFile(join(dir, 'len.safetensors'), { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 4, 10_000), /bad header length/],
      ['json.safetensors', () => rawFile(join(dir, 'json.safetensors'), '{"a": ', 0), /not valid UTF-8 JSON/],
      ['range.safetensors', () => rawFile(join(dir, 'range.safetensors'), { w1: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8), /tensor "w1".*out of range/],
      ['shape.safetensors', () => rawFile(join(dir, 'shape.safetensors'), { w2: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, 16), /tensor "w2".*needs 12 bytes/],
      [
        'overlap.safetensors',
        () => rawFile(join(dir, 'overlap.safetensors'), { p: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, q: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12),
        /"p".*"q".*overlap/,
      ],
      ['dtype.safetensors', () => rawFile(join(dir, 'dtype.safetensors'), { w3: { dtype: 'F4', shape: [2], data_offsets: [0, 1] } }, 1), /tensor "w3".*unsupported dtype/],
    ];
    for (const [name, make, re] of cases) {
      make();
      assert.throws(
        () => openSafetensors(join(dir, name)),
        (e: unknown) => e instanceof CheckpointError && e.message.includes(name) && re.test(e.message),
        name,
      );
    }
    assert.throws(() => openSafetensors(join(dir, 'missing.safetensors')), (e: unknown) => e instanceof CheckpointError && /missing\.safetensors/.test(e.message));
    assert.throws(() => writeSafetensors(join(dir, 'x.safetensors'), [{ name: 'bad', shape: [2, 2], data: new Float32Array(3) }]), (e: unknown) => e instanceof CheckpointError && /"bad"/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
