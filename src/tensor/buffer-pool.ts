/**
 * Recycled tensor buffers for training steps.
 *
 * V8 counts every new ArrayBuffer's bytes as external memory and starts a garbage collection for
 * about every 64 MB of it; a reward-model micro-batch of the tiny preset allocates a few hundred MB
 * of activations and gradients, so a step ran 4-5 full mark-compacts and ~14 scavenges, a quarter of
 * its time on the main thread and more on V8's helper threads (docs/performance.md "Garbage
 * collection in training"). Inside `withBufferPool`, buffers of 64 KiB and more come from this pool,
 * and `backward()` hands back the ones it knows are dead: each consumed intermediate gradient, and at
 * the end every activation of the graph it walked (never the root's, never a parameter's, never one
 * made outside the pool). A step that reuses the previous step's buffers makes no new ArrayBuffer.
 *
 * The contract of `withBufferPool(fn)`: after a `backward()` inside fn, no tensor of that graph other
 * than its root is read again (trainers read their scalars before backward). A buffer is handed out
 * to one tensor at a time; `GLMKIT_POOL_CHECK=1` pools buffers of every size, fills every returned one
 * with NaN and never hands it out again, so a read after return shows up as NaN (run the trainers'
 * tests that way: `GLMKIT_POOL_CHECK=1 node scripts/run-tests.mjs src/trainers`). `GLMKIT_BUFFER_POOL=0`
 * turns the pool off.
 */
import { BYTES_PER_ELEMENT, viewOf, type DType, type TypedData } from './dtype.js';

const check = process.env.GLMKIT_POOL_CHECK === '1';
/** GLMKIT_BUFFER_POOL=0 turns the pool off (every buffer fresh, as before it existed: for comparisons). */
const enabled = process.env.GLMKIT_BUFFER_POOL !== '0';
/** Buffers under this many bytes are left to the allocator and the garbage collector (every size under GLMKIT_POOL_CHECK=1). */
export const POOL_MIN_BYTES = check ? 1 : 1 << 16;
/** At most this many bytes wait in the pool; buffers returned past it are left to the garbage collector. */
const POOL_MAX_BYTES = 512 * 2 ** 20;

const free = new Map<number, ArrayBuffer[]>(); // byte class -> idle buffers
const made = new WeakSet<ArrayBuffer>(); // buffers this pool allocated
let idle = new WeakSet<ArrayBuffer>(); // buffers now in `free` (a second return is ignored)
const handedOut = new WeakMap<ArrayBuffer, number>(); // buffer -> the clock when it was last handed out
let clock = 0;
let depth = 0;
let idleBytes = 0;
const scratch: TypedData[][] = []; // the buffers each open withScratchBuffers has handed out, innermost last

/** Counters since the process started (benchmarks and tests). */
export const poolStats = { hits: 0, misses: 0, returned: 0 };

/** Size classes: 8 per power of two (at most 9% of a buffer unused), in 64-byte multiples. */
function classBytes(k: number): number {
  return Math.ceil(2 ** (k / 8) / 64) * 64;
}

/** The class index of a request of `bytes`: the smallest class that holds it. */
export function classOf(bytes: number): number {
  let k = Math.max(MIN_CLASS, Math.ceil(Math.log2(bytes) * 8));
  while (k > MIN_CLASS && classBytes(k - 1) >= bytes) k--; // float rounding of log2
  while (classBytes(k) < bytes) k++;
  return k;
}

/** The smallest class: 64 bytes (2^6), below which every class would be 64 bytes too. */
const MIN_CLASS = 48;

/** Whether allocations are served from the pool now. */
export function poolActive(): boolean {
  return depth > 0;
}

/** A pooled array of `size` elements (zeroed when `zero`), or null outside `withBufferPool` or under POOL_MIN_BYTES. */
export function poolAcquire(dtype: DType, size: number, zero: boolean): TypedData | null {
  const bytes = size * BYTES_PER_ELEMENT[dtype];
  if (depth === 0 || bytes < POOL_MIN_BYTES) return null;
  const k = classOf(bytes);
  // the smallest idle buffer of this class or of one up to a power of two larger
  let buf: ArrayBuffer | undefined;
  for (let j = k; j <= k + 8 && !buf; j++) buf = free.get(classBytes(j))?.pop();
  if (buf) {
    idle.delete(buf);
    handedOut.set(buf, ++clock);
    idleBytes -= buf.byteLength;
    poolStats.hits++;
    const out = viewOf(dtype, buf, size);
    if (zero) out.fill(0);
    scratch.at(-1)?.push(out);
    return out;
  }
  poolStats.misses++;
  const cls = classBytes(k);
  const fresh = zero ? new ArrayBuffer(cls) : (Buffer.allocUnsafeSlow(cls).buffer as ArrayBuffer);
  made.add(fresh);
  handedOut.set(fresh, ++clock);
  const out = viewOf(dtype, fresh, size);
  scratch.at(-1)?.push(out);
  return out;
}

/** Hands a buffer back. Ignored for buffers the pool did not make and for one already returned. */
export function poolRelease(data: TypedData): void {
  const buf = data.buffer as ArrayBuffer;
  if (!made.has(buf) || idle.has(buf)) return;
  poolStats.returned++;
  if (check) {
    new Float32Array(buf, 0, buf.byteLength >> 2).fill(Number.NaN);
    made.delete(buf);
    return;
  }
  if (idleBytes + buf.byteLength > POOL_MAX_BYTES) return;
  let list = free.get(buf.byteLength);
  if (!list) free.set(buf.byteLength, (list = []));
  list.push(buf);
  idle.add(buf);
  idleBytes += buf.byteLength;
}

/** A counter that grows with every buffer handed out: `poolOwns(data, since)` asks for buffers handed out after it was read. */
export function poolClock(): number {
  return clock;
}

/** Whether `data` lives in a buffer this pool made and handed out after `since` (0: at any time). */
export function poolOwns(data: TypedData, since = 0): boolean {
  const buf = data.buffer as ArrayBuffer;
  return made.has(buf) && !idle.has(buf) && (handedOut.get(buf) ?? 0) > since;
}

/**
 * Runs fn with tensor buffers served from the pool and recycled by `backward()` (see the contract at
 * the top of this file). Nested calls share the outer scope.
 */
export function withBufferPool<T>(fn: () => T): T {
  if (!enabled) return fn();
  depth++;
  try {
    return fn();
  } finally {
    depth--;
  }
}

/**
 * Runs fn, a computation without gradients whose result is all that leaves it (scores, log-probs:
 * nothing it makes is kept in a cache or on a module), with buffers from the pool, and hands back
 * every buffer it was given except those `keep(result)` names (the result's tensors' data). A no-grad
 * forward leaves no graph for backward to walk, so this is how its activations come back. Nested in
 * another, the kept buffers pass to the outer one.
 */
export function withScratchBuffers<T>(fn: () => T, keep: (result: T) => readonly TypedData[] = () => []): T {
  if (!enabled) return fn();
  depth++;
  const mine: TypedData[] = [];
  scratch.push(mine);
  let result: T;
  try {
    result = fn();
  } finally {
    scratch.pop();
    depth--;
  }
  const kept = new Set(keep(result).map((d) => d.buffer));
  const outer = scratch.at(-1);
  for (const d of mine) {
    if (kept.has(d.buffer)) outer?.push(d);
    else poolRelease(d);
  }
  return result;
}

/** Drops every idle buffer (tests; a long-lived process between phases of very different sizes). */
export function clearBufferPool(): void {
  free.clear();
  idle = new WeakSet();
  idleBytes = 0;
}
