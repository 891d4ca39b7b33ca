import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createUiServer } from '../app.js';
import { tempDir } from '../../util/temp-dir.js';

test('UI assets: the page with its CSP, the libraries from node_modules, nothing outside ui/', async () => {
  const server = await createUiServer({ ui: { runsDir: tempDir() } });
  try {
    const page = await server.app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<script type="module" src="\/ui\/app\.js">/);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    assert.doesNotMatch(page.body, /https?:\/\//, 'no absolute URL (no CDN) in the page');
    for (const [file, needle] of [['preact.mjs', 'export'], ['hooks.mjs', 'from"preact"'], ['htm.mjs', 'export default'], ['markdown-it.mjs', 'export'], ['uplot.mjs', 'uPlot'], ['uplot.css', '.uplot']] as const) {
      const r = await server.app.inject({ method: 'GET', url: `/ui/vendor/${file}` });
      assert.equal(r.statusCode, 200, file);
      assert.ok(r.body.includes(needle), `${file} holds ${needle}`);
    }
    const app = await server.app.inject({ method: 'GET', url: '/ui/app.js' });
    assert.equal(app.statusCode, 200);
    assert.match(String(app.headers['content-type']), /javascript/);
    for (const bad of ['/ui/vendor/other.js', '/ui/..%2Fpackage.json', '/ui/%2e%2e%2fpackage.json', '/ui/.hidden.js', '/ui/nothing.js']) {
      const r = await server.app.inject({ method: 'GET', url: bad });
      assert.equal(r.statusCode, 404, bad);
    }
  } finally {
    await server.close();
  }
});
