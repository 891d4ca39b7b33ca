import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DataError } from '../errors.js';
import { tempDir } from '../util/temp-dir.js';
import { classifyImageRef, hostAllowed, loadImageBytes, loadImageBytesSync } from './image-source.js';

const BYTES = new Uint8Array([137, 80, 78, 71, 1, 2, 3]);

test('file paths resolve against the data file folder; absolute paths and file: URLs work too', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'imgs'));
  writeFileSync(join(dir, 'imgs', 'a.png'), BYTES);
  assert.deepEqual(loadImageBytesSync('imgs/a.png', { baseDir: dir }), BYTES);
  assert.deepEqual(loadImageBytesSync(join(dir, 'imgs', 'a.png'), { baseDir: '/nonexistent' }), BYTES);
  assert.deepEqual(loadImageBytesSync(pathToFileURL(join(dir, 'imgs', 'a.png')).href, { baseDir: '/' }), BYTES);
  assert.throws(() => loadImageBytesSync('imgs/missing.png', { baseDir: dir, where: { file: 'd.jsonl', line: 4, field: 'messages[0].content[0].image' } }), (e: unknown) => e instanceof DataError && /^d\.jsonl:4: messages\[0\]\.content\[0\]\.image: cannot read image .*missing\.png/.test(e.message));
  assert.throws(() => loadImageBytesSync('imgs/a.png', { baseDir: dir, maxBytes: 3 }), /7 bytes, more than the limit of 3/);
  assert.throws(() => loadImageBytesSync('imgs', { baseDir: dir }), /is not a file/);
});

test('data URLs decode; malformed ones are refused', () => {
  const url = `data:image/png;base64,${Buffer.from(BYTES).toString('base64')}`;
  assert.deepEqual(loadImageBytesSync(url, { baseDir: '.' }), BYTES);
  assert.deepEqual(classifyImageRef(url, { baseDir: '.' }).kind, 'data');
  assert.throws(() => loadImageBytesSync('data:text/plain;base64,aGk=', { baseDir: '.' }), /malformed data URL/);
  assert.throws(() => loadImageBytesSync('data:image/png,rawbytes', { baseDir: '.' }), /malformed data URL/);
});

test('remote URLs are refused unless their host is allow-listed, then fetched', async () => {
  assert.throws(() => classifyImageRef('https://example.org/cat.png', { baseDir: '.' }), (e: unknown) => e instanceof DataError && /refused: glmkit fetches remote images only from allow-listed hosts/.test(e.message));
  assert.throws(() => classifyImageRef('http://evil.example/x.png', { baseDir: '.', allowRemote: ['example.org'] }), /refused/);
  assert.throws(() => classifyImageRef('ftp://example.org/x.png', { baseDir: '.' }), /unsupported image URL scheme/);
  assert.equal(hostAllowed(new URL('https://Example.org:8443/a'), ['example.org']), true);
  assert.equal(hostAllowed(new URL('https://example.org:8443/a'), ['example.org:443']), false);
  assert.equal(hostAllowed(new URL('https://sub.example.org/a'), ['example.org']), false);
  const calls: string[] = [];
  const fakeFetch = (async (u: URL) => {
    calls.push(String(u));
    return new Response(BYTES, { status: 200 });
  }) as unknown as typeof fetch;
  await assert.rejects(() => loadImageBytes('https://example.org/cat.png', { baseDir: '.', fetch: fakeFetch }), /refused/);
  assert.equal(calls.length, 0, 'nothing is fetched from a host off the list');
  assert.deepEqual(await loadImageBytes('https://example.org/cat.png', { baseDir: '.', allowRemote: ['example.org'], fetch: fakeFetch }), BYTES);
  assert.deepEqual(calls, ['https://example.org/cat.png']);
  const notFound = (async () => new Response('no', { status: 404 })) as unknown as typeof fetch;
  await assert.rejects(() => loadImageBytes('https://example.org/x.png', { baseDir: '.', allowRemote: ['example.org'], fetch: notFound }), /HTTP 404/);
});

test('allowedRoot keeps file images inside one folder, links included', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'root'));
  writeFileSync(join(dir, 'root', 'in.png'), BYTES);
  writeFileSync(join(dir, 'out.png'), BYTES);
  symlinkSync(join(dir, 'out.png'), join(dir, 'root', 'link.png'));
  const opts = { baseDir: join(dir, 'root'), allowedRoot: join(dir, 'root') };
  assert.deepEqual(loadImageBytesSync('in.png', opts), BYTES);
  assert.throws(() => loadImageBytesSync('../out.png', opts), /outside the allowed folder/);
  assert.throws(() => loadImageBytesSync('link.png', opts), /outside the allowed folder/);
  assert.throws(() => loadImageBytesSync(join(dir, 'out.png'), opts), /outside the allowed folder/);
});
