import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { dataCommand } from './data.js';
import { quiet } from './testing.js';
import { UsageError } from '../errors.js';
import { tempDir } from '../util/temp-dir.js';

test('data vision writes N records and their PNGs, byte-identical for the same seed', async () => {
  const dir = tempDir();
  const a = join(dir, 'a.jsonl'), b = join(dir, 'b.jsonl');
  assert.equal(await quiet(() => dataCommand(['vision', '--task', 'rl', '--n', '6', '--seed', '2', '--split', 'test', '--difficulty', '1-2', '--families', 'count,clock', '--out', a])), 0);
  assert.equal(await quiet(() => dataCommand(['vision', '--task=rl', '--n=6', '--seed=2', '--split=test', '--difficulty=1-2', '--families=count,clock', '--out', b])), 0);
  const ta = readFileSync(a, 'utf8');
  assert.equal(ta.replaceAll('a.images/', 'b.images/'), readFileSync(b, 'utf8'));
  const recs = ta.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(recs.length, 6);
  assert.ok(recs.every((r) => ['vision-count', 'vision-clock'].includes(r.task) && r.difficulty <= 2));
  assert.equal(readdirSync(join(dir, 'a.images')).length, 6);
  assert.ok(recs.every((r) => existsSync(join(dir, r.prompt[0].content[0].image))));
  // --size and --aa reach the images: a 56-pixel PNG has width 56 in its header
  const c = join(dir, 'c.jsonl');
  await quiet(() => dataCommand(['vision', '--task', 'digits', '--n', '1', '--size', '56', '--aa', '2', '--out', c]));
  const png = readFileSync(join(dir, 'c.images', readdirSync(join(dir, 'c.images'))[0]));
  assert.equal(png.readUInt32BE(16), 56);
  // overwriting needs the flag
  await assert.rejects(() => quiet(() => dataCommand(['vision', '--task', 'digits', '--n', '1', '--out', c])), (e: unknown) => e instanceof UsageError);
  assert.equal(await quiet(() => dataCommand(['vision', '--task', 'digits', '--n', '2', '--out', c, '--overwrite'])), 0);
  assert.equal(readdirSync(join(dir, 'c.images')).length, 2);
});

test('data vision: bad flags throw UsageError with a reason', async () => {
  const dir = tempDir();
  const out = join(dir, 'x.jsonl');
  const bad = [
    ['vision'],
    ['vision', '--task', 'poems', '--n', '1', '--out', out],
    ['vision', '--task', 'sft', '--out', out],
    ['vision', '--task', 'sft', '--n', 'ten', '--out', out],
    ['vision', '--task', 'sft', '--n', '1'],
    ['vision', '--task', 'sft', '--n', '1', '--out', '-'],
    ['vision', '--task', 'sft', '--n', '1', '--out', out, '--difficulty', '4'],
    ['vision', '--task', 'sft', '--n', '1', '--out', out, '--split', 'dev'],
    ['vision', '--task', 'sft', '--n', '1', '--out', out, '--families', 'count,maps'],
    ['vision', '--task', 'sft', '--n', '1', '--out', out, '--size', '100'],
    ['vision', '--task', 'sft', '--n', '1', '--out', out, '--size', '1000'],
    ['vision', '--task', 'sft', '--n', '1', '--out', out, '--aa', '0'],
    ['vision', '--task', 'sft', '--n', '1', '--out', dir],
    ['vision', '--task', 'sft', '--n', '1', '--out', out, '--bogus'],
  ];
  for (const argv of bad) {
    await assert.rejects(() => quiet(() => dataCommand(argv)), (e: unknown) => e instanceof UsageError && e.message.length > 10, argv.join(' '));
  }
  assert.equal(existsSync(out), false, 'nothing written');
});
