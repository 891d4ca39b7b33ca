/**
 * GGUF v3 (the llama.cpp / ggml file format), generic writer and reader.
 *
 * Layout (all little-endian):
 *   magic "GGUF" | u32 version = 3 | u64 tensor_count | u64 kv_count
 *   kv_count x { string key | u32 value_type | value }
 *   tensor_count x { string name | u32 n_dims | u64 dims[n_dims] | u32 ggml_type | u64 offset }
 *   padding to `general.alignment` (default 32) | tensor data, each tensor at an aligned offset
 * A string is u64 length + UTF-8 bytes; an array is u32 item type + u64 count + items.
 * Tensor dims are in ggml order: dims[0] is the fastest-varying one, i.e. the reverse of the
 * row-major (PyTorch) shape. This writer takes row-major shapes and reverses them.
 * Tensor types written: F32 (ggml type 0), F16 (ggml type 1) and BF16 (ggml type 30).
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { CheckpointError } from '../errors.js';
import { f32ToBf16Bits, f32ToF16Bits, fromHalf, preadExact } from './safetensors.js';
import { writeAll, writeFileAtomic } from './atomic.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** GGUF metadata value types. */
export const GgufType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufScalarType = Exclude<(typeof GgufType)[keyof typeof GgufType], 9>;

/** ggml tensor types this module reads and writes. */
export const GgmlType = { F32: 0, F16: 1, BF16: 30 } as const;
export type GgmlTypeName = keyof typeof GgmlType;

export type GgufValue =
  | { type: GgufScalarType; value: number | bigint | boolean | string }
  | { type: typeof GgufType.ARRAY; itemType: GgufScalarType; value: (number | bigint | boolean | string)[] };

export interface GgufKv {
  key: string;
  value: GgufValue;
}

/** Builders for typed metadata values. */
export const gv = {
  u32: (v: number): GgufValue => ({ type: GgufType.UINT32, value: v }),
  i32: (v: number): GgufValue => ({ type: GgufType.INT32, value: v }),
  f32: (v: number): GgufValue => ({ type: GgufType.FLOAT32, value: v }),
  u64: (v: bigint | number): GgufValue => ({ type: GgufType.UINT64, value: BigInt(v) }),
  bool: (v: boolean): GgufValue => ({ type: GgufType.BOOL, value: v }),
  str: (v: string): GgufValue => ({ type: GgufType.STRING, value: v }),
  strs: (v: string[]): GgufValue => ({ type: GgufType.ARRAY, itemType: GgufType.STRING, value: v }),
  i32s: (v: number[]): GgufValue => ({ type: GgufType.ARRAY, itemType: GgufType.INT32, value: v }),
  u32s: (v: number[]): GgufValue => ({ type: GgufType.ARRAY, itemType: GgufType.UINT32, value: v }),
  f32s: (v: number[]): GgufValue => ({ type: GgufType.ARRAY, itemType: GgufType.FLOAT32, value: v }),
};

export interface GgufTensorToWrite {
  name: string;
  /** Row-major shape (PyTorch order); written reversed. */
  shape: number[];
  type: GgmlTypeName;
  /** The float32 values, or a function producing them when the writer reaches this tensor. */
  data: Float32Array | (() => Float32Array);
}

// ---------------------------------------------------------------- writer

const SCALAR_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** Grows a byte buffer as the header is serialised. */
class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private need(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.length));
    this.buf = nb;
    this.view = new DataView(nb.buffer);
  }
  u8(v: number) { this.need(1); this.view.setUint8(this.length, v); this.length += 1; }
  u32(v: number) { this.need(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  u64(v: bigint | number) { this.need(8); this.view.setBigUint64(this.length, BigInt(v), true); this.length += 8; }
  bytes(b: Uint8Array) { this.need(b.length); this.buf.set(b, this.length); this.length += b.length; }
  str(s: string) { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.bytes(b); }
  scalar(type: number, v: unknown, key: string) {
    const bad = () => new CheckpointError(`GGUF key "${key}": value ${String(v)} does not fit type ${type}`);
    switch (type) {
      case GgufType.STRING: if (typeof v !== 'string') throw bad(); this.str(v); return;
      case GgufType.BOOL: if (typeof v !== 'boolean') throw bad(); this.u8(v ? 1 : 0); return;
      case GgufType.UINT64: case GgufType.INT64: {
        if (typeof v !== 'bigint' && typeof v !== 'number') throw bad();
        this.need(8);
        if (type === GgufType.UINT64) this.view.setBigUint64(this.length, BigInt(v), true);
        else this.view.setBigInt64(this.length, BigInt(v), true);
        this.length += 8;
        return;
      }
    }
    if (typeof v !== 'number') throw bad();
    const size = SCALAR_SIZE[type];
    if (size === undefined) throw bad();
    this.need(size);
    const o = this.length;
    switch (type) {
      case GgufType.UINT8: this.view.setUint8(o, v); break;
      case GgufType.INT8: this.view.setInt8(o, v); break;
      case GgufType.UINT16: this.view.setUint16(o, v, true); break;
      case GgufType.INT16: this.view.setInt16(o, v, true); break;
      case GgufType.UINT32: this.view.setUint32(o, v, true); break;
      case GgufType.INT32: this.view.setInt32(o, v, true); break;
      case GgufType.FLOAT32: this.view.setFloat32(o, v, true); break;
      case GgufType.FLOAT64: this.view.setFloat64(o, v, true); break;
    }
    this.length += size;
  }
  result(): Uint8Array { return this.buf.subarray(0, this.length); }
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

const TYPE_SIZE: Record<GgmlTypeName, number> = { F32: 4, F16: 2, BF16: 2 };

/**
 * Writes a GGUF v3 file atomically. `metadata` is written in order; `general.alignment` is added
 * (u32 32) when absent. Tensors are written one at a time (a function `data` is called only then),
 * each padded to the alignment.
 */
export function writeGguf(path: string, metadata: readonly GgufKv[], tensors: readonly GgufTensorToWrite[]): void {
  const kvs = [...metadata];
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const alignKv = kvs.find((k) => k.key === 'general.alignment');
  if (alignKv) alignment = Number(alignKv.value.value);
  else kvs.push({ key: 'general.alignment', value: gv.u32(alignment) });
  const keys = new Set<string>();
  for (const kv of kvs) {
    if (keys.has(kv.key)) throw new CheckpointError(`${path}: duplicate GGUF key "${kv.key}"`);
    keys.add(kv.key);
  }
  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(GGUF_VERSION);
  w.u64(tensors.length);
  w.u64(kvs.length);
  for (const { key, value } of kvs) {
    w.str(key);
    w.u32(value.type);
    if (value.type === GgufType.ARRAY) {
      w.u32(value.itemType);
      w.u64(value.value.length);
      for (const item of value.value) w.scalar(value.itemType, item, key);
    } else {
      w.scalar(value.type, value.value, key);
    }
  }
  let offset = 0;
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new CheckpointError(`${path}: duplicate GGUF tensor "${t.name}"`);
    names.add(t.name);
    w.str(t.name);
    w.u32(t.shape.length);
    for (let d = t.shape.length - 1; d >= 0; d--) w.u64(t.shape[d]);
    w.u32(GgmlType[t.type]);
    w.u64(offset);
    offset = alignUp(offset + t.shape.reduce((a, b) => a * b, 1) * TYPE_SIZE[t.type], alignment);
  }
  const header = w.result();
  writeFileAtomic(path, (fd) => {
    writeAll(fd, header);
    writeAll(fd, new Uint8Array(alignUp(header.length, alignment) - header.length));
    for (const t of tensors) {
      const data = typeof t.data === 'function' ? t.data() : t.data;
      const n = t.shape.reduce((a, b) => a * b, 1);
      if (data.length !== n) {
        throw new CheckpointError(`${path}: tensor "${t.name}": shape [${t.shape.join(', ')}] has ${n} elements, data has ${data.length}`);
      }
      let bytes: Uint8Array;
      if (t.type === 'F32') {
        bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      } else {
        const h = new Uint16Array(n);
        const conv = t.type === 'BF16' ? f32ToBf16Bits : f32ToF16Bits;
        for (let i = 0; i < n; i++) h[i] = conv(data[i]);
        bytes = new Uint8Array(h.buffer);
      }
      writeAll(fd, bytes);
      writeAll(fd, new Uint8Array(alignUp(bytes.length, alignment) - bytes.length));
    }
  });
}

// ---------------------------------------------------------------- reader

export interface GgufTensorInfo {
  name: string;
  /** ggml order (fastest first), as stored. */
  dims: number[];
  /** Row-major shape (reverse of dims). */
  shape: number[];
  type: number;
  /** Offset relative to the data section, and absolute in the file. */
  offset: number;
  fileOffset: number;
  /** Reads an F32, F16 or BF16 tensor as float32. */
  read(): Float32Array;
}

export interface GgufFile {
  path: string;
  version: number;
  alignment: number;
  /** Metadata in file order. */
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  dataOffset: number;
  close(): void;
}

/** Sequential reader over a file with positioned, buffered reads. */
class FileCursor {
  pos = 0;
  private buf = new Uint8Array(0);
  private bufStart = 0;
  constructor(private fd: number, private size: number, private path: string) {}
  private ensure(n: number): DataView {
    if (this.pos + n > this.size) {
      throw new CheckpointError(`${this.path}: GGUF header runs past the end of the file at byte ${this.pos} (${this.size} bytes); the file is truncated or corrupt`);
    }
    if (this.pos < this.bufStart || this.pos + n > this.bufStart + this.buf.length) {
      const len = Math.min(Math.max(n, 1 << 20), this.size - this.pos);
      this.buf = new Uint8Array(len);
      preadExact(this.fd, this.buf, this.pos, this.path);
      this.bufStart = this.pos;
    }
    return new DataView(this.buf.buffer, this.pos - this.bufStart, n);
  }
  u8() { const v = this.ensure(1).getUint8(0); this.pos += 1; return v; }
  u32() { const v = this.ensure(4).getUint32(0, true); this.pos += 4; return v; }
  u64(): number {
    const v = this.ensure(8).getBigUint64(0, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CheckpointError(`${this.path}: GGUF value ${v} at byte ${this.pos - 8} is too large`);
    return Number(v);
  }
  str(): string {
    const n = this.u64();
    const dv = this.ensure(n);
    this.pos += n;
    return new TextDecoder().decode(new Uint8Array(dv.buffer, dv.byteOffset, n));
  }
  scalar(type: number): number | bigint | boolean | string {
    switch (type) {
      case GgufType.UINT8: return this.u8();
      case GgufType.INT8: { const v = this.ensure(1).getInt8(0); this.pos += 1; return v; }
      case GgufType.UINT16: { const v = this.ensure(2).getUint16(0, true); this.pos += 2; return v; }
      case GgufType.INT16: { const v = this.ensure(2).getInt16(0, true); this.pos += 2; return v; }
      case GgufType.UINT32: return this.u32();
      case GgufType.INT32: { const v = this.ensure(4).getInt32(0, true); this.pos += 4; return v; }
      case GgufType.FLOAT32: { const v = this.ensure(4).getFloat32(0, true); this.pos += 4; return v; }
      case GgufType.BOOL: return this.u8() !== 0;
      case GgufType.STRING: return this.str();
      case GgufType.UINT64: { const v = this.ensure(8).getBigUint64(0, true); this.pos += 8; return v; }
      case GgufType.INT64: { const v = this.ensure(8).getBigInt64(0, true); this.pos += 8; return v; }
      case GgufType.FLOAT64: { const v = this.ensure(8).getFloat64(0, true); this.pos += 8; return v; }
      default:
        throw new CheckpointError(`${this.path}: unknown GGUF value type ${type} at byte ${this.pos - 4}`);
    }
  }
}

/**
 * Opens a GGUF file: parses metadata and tensor infos, validates them (magic, version 2/3, types,
 * tensor data inside the file) and keeps the file open for `tensor.read()`. Call `close()`.
 */
export function openGguf(path: string): GgufFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new CheckpointError(`${path}: cannot open (${(e as Error).message})`);
  }
  let open = true;
  try {
    const size = fstatSync(fd).size;
    const c = new FileCursor(fd, size, path);
    const magic = c.u32();
    if (magic !== GGUF_MAGIC) throw new CheckpointError(`${path}: not a GGUF file (magic 0x${magic.toString(16)}, expected "GGUF")`);
    const version = c.u32();
    if (version !== 2 && version !== 3) throw new CheckpointError(`${path}: GGUF version ${version} not supported (expected 3)`);
    const nTensors = c.u64();
    const nKv = c.u64();
    if (nTensors > size || nKv > size) throw new CheckpointError(`${path}: implausible counts (${nTensors} tensors, ${nKv} keys)`);
    const metadata = new Map<string, GgufValue>();
    for (let i = 0; i < nKv; i++) {
      const key = c.str();
      const type = c.u32();
      if (type === GgufType.ARRAY) {
        const itemType = c.u32();
        if (itemType === GgufType.ARRAY) throw new CheckpointError(`${path}: key "${key}": nested arrays are not supported`);
        const n = c.u64();
        if (n > size) throw new CheckpointError(`${path}: key "${key}": array length ${n} exceeds the file size`);
        const value: (number | bigint | boolean | string)[] = new Array(n);
        for (let k = 0; k < n; k++) value[k] = c.scalar(itemType);
        metadata.set(key, { type: GgufType.ARRAY, itemType: itemType as GgufScalarType, value });
      } else {
        metadata.set(key, { type: type as GgufScalarType, value: c.scalar(type) });
      }
    }
    const alignKv = metadata.get('general.alignment');
    const alignment = alignKv ? Number(alignKv.value) : GGUF_DEFAULT_ALIGNMENT;
    if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) {
      throw new CheckpointError(`${path}: general.alignment ${alignment} is not a positive multiple of 8`);
    }
    const infos: Omit<GgufTensorInfo, 'fileOffset' | 'read'>[] = [];
    for (let i = 0; i < nTensors; i++) {
      const name = c.str();
      const nd = c.u32();
      if (nd > 8) throw new CheckpointError(`${path}: tensor "${name}": ${nd} dims (at most 8)`);
      const dims: number[] = [];
      for (let d = 0; d < nd; d++) dims.push(c.u64());
      const type = c.u32();
      const offset = c.u64();
      infos.push({ name, dims, shape: [...dims].reverse(), type, offset });
    }
    const dataOffset = alignUp(c.pos, alignment);
    const tensors: GgufTensorInfo[] = infos.map((info) => {
      const n = info.dims.reduce((a, b) => a * b, 1);
      const elem = info.type === GgmlType.F32 ? 4 : info.type === GgmlType.F16 || info.type === GgmlType.BF16 ? 2 : 0;
      const fileOffset = dataOffset + info.offset;
      if (info.offset % alignment !== 0) {
        throw new CheckpointError(`${path}: tensor "${info.name}": offset ${info.offset} is not aligned to ${alignment}`);
      }
      if (elem > 0 && fileOffset + n * elem > size) {
        throw new CheckpointError(`${path}: tensor "${info.name}": data [${fileOffset}, ${fileOffset + n * elem}) runs past the end of the file (${size} bytes)`);
      }
      return {
        ...info,
        fileOffset,
        read(): Float32Array {
          if (!open) throw new CheckpointError(`${path}: tensor "${info.name}" read after close`);
          if (elem === 0) throw new CheckpointError(`${path}: tensor "${info.name}": ggml type ${info.type} not supported (F32, F16 or BF16 only)`);
          const bytes = new Uint8Array(n * elem);
          preadExact(fd, bytes, fileOffset, path);
          if (elem === 4) return new Float32Array(bytes.buffer);
          return fromHalf(new Uint16Array(bytes.buffer), info.type === GgmlType.BF16 ? 'bf16' : 'f16');
        },
      };
    });
    return {
      path,
      version,
      alignment,
      metadata,
      tensors,
      dataOffset,
      close() {
        if (open) {
          open = false;
          closeSync(fd);
        }
      },
    };
  } catch (e) {
    open = false;
    closeSync(fd);
    throw e;
  }
}

/** The plain value of a metadata key (arrays as JS arrays), or undefined. */
export function ggufGet(file: GgufFile, key: string): unknown {
  return file.metadata.get(key)?.value;
}
