import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorldRng, hashString, inSplit, splitOf } from './rng.js';

test('same seed and labels give the same stream; other seeds or labels differ', () => {
  const a = new WorldRng(42, 'x');
  const b = new WorldRng(42, 'x');
  const sa = Array.from({ length: 100 }, () => a.nextU32());
  const sb = Array.from({ length: 100 }, () => b.nextU32());
  assert.deepEqual(sa, sb);
  const c = Array.from({ length: 100 }, ((r) => () => r.nextU32())(new WorldRng(43, 'x')));
  const d = Array.from({ length: 100 }, ((r) => () => r.nextU32())(new WorldRng(42, 'y')));
  const e = Array.from({ length: 100 }, ((r) => () => r.nextU32())(new WorldRng(42 + 2 ** 32, 'x')));
  assert.notDeepEqual(sa, c);
  assert.notDeepEqual(sa, d);
  assert.notDeepEqual(sa, e); // the high bits of a 53-bit seed matter
});

test('xoshiro128** reference value for a known state', () => {
  // State (1, 2, 3, 4): first output = rotl(2 * 5, 7) * 9 = 1280 * 9 = 11520 (by hand from the definition).
  const r = new WorldRng(0);
  r.setState([1, 2, 3, 4]);
  assert.equal(r.nextU32(), 11520);
  // After one step: s2 = 3^1 = 2, s3 = 4^2 = 6, s1 = 2^2 = 0, s0 = 1^6 = 7,
  // s2 ^= t (2 << 9 = 1024) -> 1026, s3 = rotl(6, 11) = 12288.
  assert.deepEqual(r.getState(), [7, 0, 1026, 12288]);
});

test('int stays in range and is roughly uniform; sample is distinct; weighted follows weights', () => {
  const r = new WorldRng(7);
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 20000; i++) {
    const v = r.int(3, 12);
    assert.ok(v >= 3 && v <= 12 && Number.isInteger(v));
    counts[v - 3]++;
  }
  for (const c of counts) assert.ok(c > 1700 && c < 2300, `count ${c} far from 2000`);
  const s = r.sample([1, 2, 3, 4, 5, 6], 6);
  assert.deepEqual(s.slice().sort(), [1, 2, 3, 4, 5, 6]);
  let heavy = 0;
  for (let i = 0; i < 10000; i++) if (r.weighted([['a', 1], ['b', 3]] as const) === 'b') heavy++;
  assert.ok(heavy > 7200 && heavy < 7800, `weighted gave b ${heavy} times of 10000`);
  assert.throws(() => r.int(5, 4), RangeError);
  assert.throws(() => new WorldRng(-1), RangeError);
  assert.throws(() => new WorldRng(1.5), RangeError);
});

test('state round-trips', () => {
  const r = new WorldRng(9);
  r.nextU32();
  const st = r.getState();
  const x = [r.nextU32(), r.nextU32()];
  r.setState(st);
  assert.deepEqual([r.nextU32(), r.nextU32()], x);
});

test('splits: about 10% test, disjoint and deterministic', () => {
  let test_ = 0;
  for (let i = 0; i < 10000; i++) {
    const k = `key${i}`;
    if (splitOf(k) === 'test') test_++;
    assert.notEqual(inSplit(k, 'train'), inSplit(k, 'test'));
    assert.ok(inSplit(k, 'all'));
  }
  assert.ok(test_ > 850 && test_ < 1150, `test share ${test_}/10000`);
  assert.equal(hashString('abc'), hashString('abc'));
  assert.notEqual(hashString('abc'), hashString('abd'));
});
