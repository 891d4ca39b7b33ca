// The browser tool: BM25 search over local files ranks the document that answers first; open_url
// opens indexed documents and allow-listed http pages only; mclick opens results of the last search.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ToolRegistry } from '../registry.js';
import { Browser, browserTool, DocumentIndex, htmlToText } from './browser.js';

const dir = mkdtempSync(join(tmpdir(), 'glmkit-browser-'));
mkdirSync(join(dir, 'sub'));
writeFileSync(join(dir, 'rivers.md'), '# Rivers of Veloria\n\nThe Amber river flows north through Veloria.\n\nIt freezes in winter.');
writeFileSync(join(dir, 'sub', 'bakery.html'), '<html><title>Ola\'s bakery</title><body><p>Ola bakes rye bread every morning.</p><script>x()</script></body></html>');
writeFileSync(join(dir, 'notes.txt'), 'Shopping list: bread, milk.\n\nCall Ola about the river trip.');
writeFileSync(join(dir, 'image.png'), 'not text');
const index = DocumentIndex.fromPaths([dir]);
after(() => rmSync(dir, { recursive: true, force: true }));

test('indexes text files recursively; search ranks by BM25', () => {
  assert.equal(index.docs.length, 3);
  const hits = index.search('which river flows north');
  assert.equal(index.docs[hits[0].doc].title, 'Rivers of Veloria');
  assert.match(hits[0].snippet, /flows north/);
  const bread = index.search('rye bread');
  assert.equal(index.docs[bread[0].doc].title, "Ola's bakery");
  assert.deepEqual(index.search('zeppelin'), []);
  assert.equal(htmlToText('<p>a &amp; b</p><style>p{}</style>'), 'a & b');
});

test('search, mclick and open_url through the registry; the allow-list holds', async () => {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<title>Local page</title><p>You asked for ${req.url}</p>`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    const reg = new ToolRegistry().register(browserTool(new Browser({ index, allowHosts: [host] })));
    const s = await reg.call('browser', { action: 'search', query: 'river north' });
    assert.ok(s.ok);
    assert.match(s.observation, /^【0†Rivers of Veloria†file:/);
    const m = await reg.call('browser', { action: 'mclick', ids: [0, 7] });
    assert.match(m.observation, /It freezes in winter/);
    assert.match(m.observation, /【7】 no such result/);
    const o = await reg.call('browser', { action: 'open_url', url: pathToFileURL(join(dir, 'notes.txt')).href });
    assert.match(o.observation, /Call Ola/);
    const page = await reg.call('browser', { action: 'open_url', url: `http://${host}/weather` });
    assert.match(page.observation, /【Local page†.*】\nYou asked for \/weather/);
    // Not allowed: another host, another scheme, a local file that is not indexed.
    for (const url of ['http://127.0.0.1:1/x', 'http://example.com/', 'ftp://x/y', 'file:///etc/passwd', pathToFileURL(join(dir, 'image.png')).href]) {
      const r = await reg.call('browser', { action: 'open_url', url });
      assert.equal(r.ok, false, url);
      assert.match(r.observation, /^Error: /);
    }
    assert.match((await reg.call('browser', { action: 'fly' })).observation, /must be one of/);
  } finally {
    server.close();
  }
});
