/**
 * safetensors read/write (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
 * length N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`,
 * then the raw little-endian tensor bytes (offsets relative to the end of the header).
 *
 * Reading never holds the whole file: `openSafetensors` parses the header and each lazy tensor's
 * `read()` does positioned reads straight into that tensor's own buffer. F32/F16/BF16 (and F64, integer
 * types) read as Float32Array. Writing streams tensor by tensor into a temporary file, fsyncs and
 * renames (atomic). Sharded checkpoints use `model.safetensors.index.json` as transformers does.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
} from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../errors.js';

import { fromHalf, toHalf } from './half.js';
import { writeAll, writeFileAtomic } from './atomic.js';

export { f32ToBf16Bits, bf16BitsToF32, f32ToF16Bits, f16BitsToF32, toHalf, fromHalf } from './half.js';

// ---------------------------------------------------------------- positioned I/O

const CHUNK = 1 << 28; // 256 MiB per readSync/writeSync call

/** Reads exactly `dst.byteLength` bytes at `position`, or throws CheckpointError. */
export function preadExact(fd: number, dst: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < dst.length) {
    const n = readSync(fd, dst, done, Math.min(CHUNK, dst.length - done), position + done);
    if (n <= 0) throw new CheckpointError(`${file}: unexpected end of file at byte ${position + done}; the file is truncated`);
    done += n;
  }
}

// ---------------------------------------------------------------- reading

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_SIZE: Record<SafetensorsDType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** Element size in bytes of a safetensors dtype. */
export function dtypeSize(dtype: SafetensorsDType): number {
  return DTYPE_SIZE[dtype];
}

export interface LazyTensor {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** The file holding the bytes. */
  file: string;
  /** Absolute byte offset of the data in the file, and its length. */
  byteOffset: number;
  byteLength: number;
  /** Reads the tensor converted to float32. */
  read(): Float32Array;
  /** Reads an I32 tensor (or I64 within ±2^31) as Int32Array. */
  readInt32(): Int32Array;
  /** Reads the raw little-endian bytes. */
  readBytes(): Uint8Array;
}

export interface SafetensorsFile {
  path: string;
  /** `__metadata__` (string -> string), or null. */
  metadata: Record<string, string> | null;
  tensors: Map<string, LazyTensor>;
  close(): void;
}

const MAX_HEADER = 100 * 1024 * 1024;

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Opens a .safetensors file: reads and validates the header, keeps the file open for the lazy
 * tensors' positioned reads. Call `close()` when done. Throws CheckpointError naming the file (and the
 * tensor) on a bad header: length beyond the file, invalid JSON, unknown dtype, offsets out of range or
 * overlapping, or a byte size that does not match the shape.
 */
export function openSafetensors(path: string): SafetensorsFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new CheckpointError(`${path}: cannot open (${(e as Error).message})`);
  }
  try {
    return parseSafetensors(fd, path);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

function parseSafetensors(fd: number, path: string): SafetensorsFile {
  const size = fstatSync(fd).size;
  if (size < 8) throw new CheckpointError(`${path}: not a safetensors file (${size} bytes; expected at least the 8-byte header length)`);
  const lenBuf = new Uint8Array(8);
  preadExact(fd, lenBuf, 0, path);
  const n = Number(new DataView(lenBuf.buffer).getBigUint64(0, true));
  if (n < 2 || n > MAX_HEADER || 8 + n > size) {
    throw new CheckpointError(
      `${path}: bad header length ${n} (file has ${size} bytes; expected 2..${Math.min(MAX_HEADER, size - 8)}); the file is truncated or not safetensors`,
    );
  }
  const hbuf = new Uint8Array(n);
  preadExact(fd, hbuf, 8, path);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(hbuf));
  } catch (e) {
    throw new CheckpointError(`${path}: header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new CheckpointError(`${path}: header must be a JSON object, found ${typeof header}`);
  }
  const dataStart = 8 + n;
  const dataSize = size - dataStart;
  let metadata: Record<string, string> | null = null;
  const tensors = new Map<string, LazyTensor>();
  const spans: [number, number, string][] = [];
  let open = true;
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry !== null && (typeof entry !== 'object' || Array.isArray(entry))) {
        throw new CheckpointError(`${path}: "__metadata__" must be an object of strings`);
      }
      metadata = entry as Record<string, string> | null;
      continue;
    }
    const bad = (what: string) => new CheckpointError(`${path}: tensor "${name}": ${what}`);
    if (typeof entry !== 'object' || entry === null) throw bad('header entry is not an object');
    const { dtype, shape, data_offsets: offs } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_SIZE)) {
      throw bad(`unsupported dtype ${JSON.stringify(dtype)} (expected one of ${Object.keys(DTYPE_SIZE).join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw bad(`shape must be a list of non-negative integers, found ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0)) {
      throw bad(`data_offsets must be [begin, end], found ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as number[];
    if (begin > end || end > dataSize) {
      throw bad(`data_offsets [${begin}, ${end}] out of range (data section has ${dataSize} bytes)`);
    }
    const dt = dtype as SafetensorsDType;
    const expectBytes = numel(shape as number[]) * DTYPE_SIZE[dt];
    if (end - begin !== expectBytes) {
      throw bad(`shape [${(shape as number[]).join(', ')}] of ${dt} needs ${expectBytes} bytes, data_offsets give ${end - begin}`);
    }
    spans.push([begin, end, name]);
    const t: LazyTensor = {
      name,
      dtype: dt,
      shape: [...(shape as number[])],
      file: path,
      byteOffset: dataStart + begin,
      byteLength: end - begin,
      readBytes() {
        if (!open) throw new CheckpointError(`${path}: tensor "${name}" read after the file was closed`);
        const buf = new Uint8Array(t.byteLength);
        preadExact(fd, buf, t.byteOffset, path);
        return buf;
      },
      read() {
        return decodeToF32(t.readBytes(), dt, path, name);
      },
      readInt32() {
        const bytes = t.readBytes();
        if (dt === 'I32') return new Int32Array(bytes.buffer, 0, bytes.length / 4);
        if (dt === 'I64') {
          const src = new BigInt64Array(bytes.buffer, 0, bytes.length / 8);
          const out = new Int32Array(src.length);
          for (let i = 0; i < src.length; i++) {
            if (src[i] > 2147483647n || src[i] < -2147483648n) throw bad(`I64 value ${src[i]} does not fit in int32`);
            out[i] = Number(src[i]);
          }
          return out;
        }
        throw bad(`expected an integer tensor (I32 or I64), found ${dt}`);
      },
    };
    tensors.set(name, t);
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][0] < spans[i - 1][1]) {
      throw new CheckpointError(
        `${path}: tensors "${spans[i - 1][2]}" [${spans[i - 1][0]}, ${spans[i - 1][1]}] and "${spans[i][2]}" [${spans[i][0]}, ${spans[i][1]}] overlap`,
      );
    }
  }
  return {
    path,
    metadata,
    tensors,
    close() {
      if (open) {
        open = false;
        closeSync(fd);
      }
    },
  };
}

/** Decodes little-endian bytes of `dtype` into float32 (integers converted by value). */
function decodeToF32(bytes: Uint8Array, dtype: SafetensorsDType, file: string, name: string): Float32Array {
  const ab = bytes.buffer;
  switch (dtype) {
    case 'F32':
      return new Float32Array(ab, 0, bytes.length / 4);
    case 'F16':
      return fromHalf(new Uint16Array(ab, 0, bytes.length / 2), 'f16');
    case 'BF16':
      return fromHalf(new Uint16Array(ab, 0, bytes.length / 2), 'bf16');
    case 'F64':
      return Float32Array.from(new Float64Array(ab, 0, bytes.length / 8));
    case 'I64':
      return Float32Array.from(new BigInt64Array(ab, 0, bytes.length / 8), (v) => Number(v));
    case 'I32':
      return Float32Array.from(new Int32Array(ab, 0, bytes.length / 4));
    case 'I16':
      return Float32Array.from(new Int16Array(ab, 0, bytes.length / 2));
    case 'I8':
      return Float32Array.from(new Int8Array(ab, 0, bytes.length));
    case 'U8':
    case 'BOOL':
      return Float32Array.from(bytes);
    default:
      throw new CheckpointError(`${file}: tensor "${name}": cannot decode dtype ${dtype as string}`);
  }
}

/** Reads a whole .safetensors file into memory (name -> {dtype, shape, data as float32}). */
export function readSafetensors(path: string): Map<string, { dtype: SafetensorsDType; shape: number[]; data: Float32Array }> {
  const f = openSafetensors(path);
  try {
    const out = new Map<string, { dtype: SafetensorsDType; shape: number[]; data: Float32Array }>();
    for (const t of f.tensors.values()) out.set(t.name, { dtype: t.dtype, shape: t.shape, data: t.read() });
    return out;
  } finally {
    f.close();
  }
}

// ---------------------------------------------------------------- writing

export type WriteDType = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64';

export interface TensorToWrite {
  name: string;
  shape: number[];
  /** Float data is stored as `dtype` (default: the file's dtype); integer arrays as I32 / I64. */
  data: Float32Array | Int32Array | BigInt64Array;
  dtype?: WriteDType;
}

export interface WriteOptions {
  /** Storage dtype for float tensors without their own `dtype` (default F32). */
  dtype?: 'F32' | 'F16' | 'BF16';
  /** `__metadata__`; `{"format": "pt"}` is always included. */
  metadata?: Record<string, string>;
}

function storageDtype(t: TensorToWrite, opts: WriteOptions): WriteDType {
  if (t.data instanceof Int32Array) return 'I32';
  if (t.data instanceof BigInt64Array) return 'I64';
  const d = t.dtype ?? opts.dtype ?? 'F32';
  if (d === 'I32' || d === 'I64') {
    throw new CheckpointError(`tensor "${t.name}": float data cannot be stored as ${d}; pass an Int32Array / BigInt64Array`);
  }
  return d;
}

function checkWriteTensor(t: TensorToWrite): void {
  if (!t.shape.every((d) => Number.isInteger(d) && d >= 0) || numel(t.shape) !== t.data.length) {
    throw new CheckpointError(
      `tensor "${t.name}": shape [${t.shape.join(', ')}] has ${numel(t.shape)} elements but its data has ${t.data.length}`,
    );
  }
}

/** Bytes of a tensor stored as `dtype` (converted in place-free chunks by `writeTensorBytes`). */
function storedBytes(t: TensorToWrite, dtype: WriteDType): number {
  return t.data.length * DTYPE_SIZE[dtype];
}

const CONV_CHUNK = 1 << 20; // elements converted per step when narrowing to 16 bits

function writeTensorBytes(fd: number, t: TensorToWrite, dtype: WriteDType): void {
  const d = t.data;
  if (dtype === 'F16' || dtype === 'BF16') {
    const src = d as Float32Array;
    const kind = dtype === 'F16' ? 'f16' : 'bf16';
    const tmp = new Uint16Array(Math.min(CONV_CHUNK, src.length));
    for (let i = 0; i < src.length; i += CONV_CHUNK) {
      const part = src.subarray(i, Math.min(src.length, i + CONV_CHUNK));
      const out = toHalf(part, kind, tmp.subarray(0, part.length));
      writeAll(fd, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    }
    return;
  }
  writeAll(fd, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
}

/**
 * Writes tensors to one .safetensors file, atomically (temporary file, fsync, rename), converting each
 * float tensor to its storage dtype chunk by chunk (round to nearest even for F16/BF16).
 */
export function writeSafetensors(path: string, tensors: readonly TensorToWrite[], opts: WriteOptions = {}): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', ...(opts.metadata ?? {}) } };
  const dtypes: WriteDType[] = [];
  let offset = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    checkWriteTensor(t);
    if (seen.has(t.name) || t.name === '__metadata__') throw new CheckpointError(`${path}: duplicate or reserved tensor name "${t.name}"`);
    seen.add(t.name);
    const dt = storageDtype(t, opts);
    dtypes.push(dt);
    const nb = storedBytes(t, dt);
    header[t.name] = { dtype: dt, shape: t.shape, data_offsets: [offset, offset + nb] };
    offset += nb;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  writeFileAtomic(path, (fd) => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeAll(fd, len);
    writeAll(fd, json);
    tensors.forEach((t, i) => writeTensorBytes(fd, t, dtypes[i]));
  });
}

export const INDEX_FILE = 'model.safetensors.index.json';
export const SINGLE_FILE = 'model.safetensors';

/**
 * Writes a checkpoint into `dir` as transformers does: one `model.safetensors` when everything fits in
 * `maxShardBytes` (default 5 GB), else `model-0000i-of-0000n.safetensors` shards plus
 * `model.safetensors.index.json` ({metadata: {total_size}, weight_map}). Tensors are never split.
 * Returns the file names written.
 */
export function writeShardedSafetensors(
  dir: string,
  tensors: readonly TensorToWrite[],
  opts: WriteOptions & { maxShardBytes?: number } = {},
): string[] {
  const max = opts.maxShardBytes ?? 5e9;
  const shards: TensorToWrite[][] = [];
  let cur: TensorToWrite[] = [];
  let curBytes = 0;
  let total = 0;
  for (const t of tensors) {
    checkWriteTensor(t);
    const nb = storedBytes(t, storageDtype(t, opts));
    total += nb;
    if (cur.length > 0 && curBytes + nb > max) {
      shards.push(cur);
      cur = [];
      curBytes = 0;
    }
    cur.push(t);
    curBytes += nb;
  }
  if (cur.length > 0 || shards.length === 0) shards.push(cur);
  mkdirSync(dir, { recursive: true });
  if (shards.length === 1) {
    writeSafetensors(join(dir, SINGLE_FILE), shards[0], opts);
    rmSync(join(dir, INDEX_FILE), { force: true });
    return [SINGLE_FILE];
  }
  const n = shards.length;
  const pad5 = (k: number) => String(k).padStart(5, '0');
  const files: string[] = [];
  const weightMap: Record<string, string> = {};
  shards.forEach((group, k) => {
    const file = `model-${pad5(k + 1)}-of-${pad5(n)}.safetensors`;
    writeSafetensors(join(dir, file), group, opts);
    for (const t of group) weightMap[t.name] = file;
    files.push(file);
  });
  const index = { metadata: { total_size: total }, weight_map: weightMap };
  writeFileAtomic(join(dir, INDEX_FILE), (fd) => writeAll(fd, Buffer.from(JSON.stringify(index, null, 2) + '\n')));
  rmSync(join(dir, SINGLE_FILE), { force: true });
  return [...files, INDEX_FILE];
}

export interface SafetensorsCheckpoint {
  dir: string;
  files: SafetensorsFile[];
  tensors: Map<string, LazyTensor>;
  close(): void;
}

/**
 * Opens the weights of an HF model folder: `model.safetensors.index.json` with its shards when present,
 * else `model.safetensors`. Throws CheckpointError naming the folder, file or tensor when the index
 * points at a missing file or tensor, or a tensor appears twice.
 */
export function openSafetensorsCheckpoint(dir: string): SafetensorsCheckpoint {
  const indexPath = join(dir, INDEX_FILE);
  const files: SafetensorsFile[] = [];
  const tensors = new Map<string, LazyTensor>();
  const closeAll = () => files.forEach((f) => f.close());
  try {
    if (existsSync(indexPath)) {
      let index: { weight_map?: Record<string, string> };
      try {
        index = JSON.parse(readFileSync(indexPath, 'utf8'));
      } catch (e) {
        throw new CheckpointError(`${indexPath}: not valid JSON (${(e as Error).message})`);
      }
      const wm = index.weight_map;
      if (!wm || typeof wm !== 'object') throw new CheckpointError(`${indexPath}: expected a "weight_map" object`);
      const byFile = new Map<string, SafetensorsFile>();
      for (const [name, file] of Object.entries(wm)) {
        if (typeof file !== 'string' || file.includes('/') || file.includes('\\')) {
          throw new CheckpointError(`${indexPath}: tensor "${name}": expected a shard file name, found ${JSON.stringify(file)}`);
        }
        let f = byFile.get(file);
        if (!f) {
          if (!existsSync(join(dir, file))) throw new CheckpointError(`${indexPath}: tensor "${name}" is in "${file}", which does not exist`);
          f = openSafetensors(join(dir, file));
          byFile.set(file, f);
          files.push(f);
        }
        const t = f.tensors.get(name);
        if (!t) throw new CheckpointError(`${indexPath}: tensor "${name}" is not in "${file}" as the index says`);
        tensors.set(name, t);
      }
    } else {
      const single = join(dir, SINGLE_FILE);
      if (!existsSync(single)) {
        throw new CheckpointError(`${dir}: no ${SINGLE_FILE} or ${INDEX_FILE}; expected an HF model folder with safetensors weights`);
      }
      const f = openSafetensors(single);
      files.push(f);
      for (const [k, v] of f.tensors) tensors.set(k, v);
    }
  } catch (e) {
    closeAll();
    throw e;
  }
  return { dir, files, tensors, close: closeAll };
}
