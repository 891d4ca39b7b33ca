// The web UI's security in headless Chromium against `glmkit ui --api-key K`: pages need a login (the
// key goes in a POST body, never a URL; the session is an HttpOnly, SameSite=Strict cookie); a
// state-changing request with the cookie needs this server's Origin; an answer holding
// `<img src=x onerror=...>`, a <script> and a `javascript:` link runs nothing in the browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowserForTests, type TestBrowser } from '../src/util/test-skip.js';
import { tempDir } from './helpers.js';
import { openPage, screenshot, startUi, type UiProcess } from './ui-page.js';

const { browser, skip } = await launchBrowserForTests();
const KEY = 'k-3f9a-secret';
const runs = tempDir('glmkit-ui-sec-');
let ui: UiProcess;

before(async () => {
  mkdirSync(join(runs, 'a'));
  writeFileSync(join(runs, 'a', 'metrics.jsonl'), '{"step":1,"loss":2}\n');
  if (!skip) ui = await startUi(['ui', '--runs', runs, '--api-key', KEY]);
});

after(async () => {
  await ui?.stop();
  await (browser as TestBrowser | null)?.close();
});

/** Logs in through the login page; returns the page and the session cookie. */
async function login(key: string) {
  const opened = await openPage(browser!, `${ui.url}/`);
  await opened.page.waitForSelector('input[name="key"]');
  await screenshot(opened.page, 'ui-login');
  assert.equal(new URL(opened.page.url()).pathname, '/login', 'a page without a session goes to /login');
  await opened.page.fill('input[name="key"]', key);
  await opened.page.press('input[name="key"]', 'Enter');
  return opened;
}

test('login: wrong key refused, right key gives an HttpOnly SameSite=Strict session; the key never in a URL', { skip }, async () => {
  const bad = await login('wrong');
  await bad.page.waitForSelector('.error[role="alert"]');
  assert.match((await bad.page.textContent('.error'))!, /wrong API key/);
  assert.deepEqual(await bad.context.cookies(), []);
  await bad.context.close();

  const { page, context, requests } = await login(KEY);
  await page.waitForSelector('#tab-runs');
  const cookies = await context.cookies();
  assert.equal(cookies.length, 1);
  assert.equal(cookies[0].name, 'glmkit_session');
  assert.equal(cookies[0].httpOnly, true);
  assert.equal(cookies[0].sameSite, 'Strict');
  assert.notEqual(cookies[0].value, KEY);
  assert.equal(await page.evaluate('document.cookie'), '', 'scripts cannot read the session');
  assert.ok(requests.every((u) => !u.includes(KEY)), 'no URL holds the key');
  await page.click('text=log out');
  await page.waitForSelector('input[name="key"]');
  await context.close();

  // without a session: pages redirect, API routes answer 401; with the bearer key, API routes answer
  const page0 = await fetch(`${ui.url}/`, { redirect: 'manual' });
  assert.equal(page0.status, 303);
  assert.equal(page0.headers.get('location'), '/login');
  assert.equal((await fetch(`${ui.url}/ui/api/runs`)).status, 401);
  assert.equal((await fetch(`${ui.url}/ui/api/runs`, { headers: { authorization: `Bearer ${KEY}` } })).status, 200);
  assert.equal((await fetch(`${ui.url}/ui/api/runs`, { headers: { cookie: `glmkit_session=${cookies[0].value}` } })).status, 401, 'the session ended at log out');
});

test('Origin check: a state-changing request with the session cookie from another origin, or none, is refused', { skip }, async () => {
  const { context } = await login(KEY);
  await (await context.pages())[0].waitForSelector('#tab-runs');
  const cookie = `glmkit_session=${(await context.cookies())[0].value}`;
  const post = (origin: string | null) => fetch(`${ui.url}/ui/api/label/next`, {
    method: 'POST', headers: { cookie, 'content-type': 'application/json', ...(origin ? { origin } : {}) }, body: '{}',
  });
  const evil = await post('http://evil.example');
  assert.equal(evil.status, 403);
  assert.equal(((await evil.json()) as { error: { code: string } }).error.code, 'bad_origin');
  assert.equal((await post(null)).status, 403);
  // this server's own origin passes the check (and reaches the route: no --labels here, so 404)
  assert.equal((await post(ui.url)).status, 404);
  assert.equal((await fetch(`${ui.url}/ui/api/runs`, { headers: { cookie } })).status, 200, 'reading needs no Origin');
  await context.close();
});

test('XSS: an answer with <img onerror>, <script> and a javascript: link runs nothing', { skip }, async () => {
  const { page, context } = await login(KEY);
  await page.waitForSelector('#tab-runs');
  // This server has no model: the page is given one, and its chat request is answered with hostile text.
  await page.route('**/ui/api/config', (r) => r.fulfill({ json: { models: ['m'], agent_tools: [], runs: true, labels: false, key_required: true } }));
  const chunk = (delta: object) => `data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;
  const hostile = [
    chunk({ reasoning_content: 'think <img src=x onerror="window.hit=1"> ' }),
    chunk({ content: 'Here: <img src=x onerror="window.hit=2"> <script>window.hit=3</script>\n\n' }),
    chunk({ content: '[click me](javascript:window.hit=4) and <a href="javascript:window.hit=5">raw link</a> and ![p](x" onerror="window.hit=6)' }),
    'data: [DONE]\n\n',
  ].join('');
  await page.route('**/v1/chat/completions', (r) => r.fulfill({ status: 200, headers: { 'content-type': 'text/event-stream' }, body: hostile }));
  await page.goto(`${ui.url}/#/chat`);
  await page.reload();
  await page.fill('#prompt', 'hi');
  await page.press('#prompt', 'Enter');
  const answer = page.locator('.msg.assistant .content');
  await answer.filter({ hasText: 'click me' }).waitFor();
  await page.locator('[data-streaming]').waitFor({ state: 'detached' });
  assert.equal(await page.locator('.msg img, .msg script').count(), 0, 'no element made from the answer');
  assert.equal(await page.locator('.msg a[href^="javascript"]').count(), 0);
  assert.match((await answer.textContent())!, /<img src=x onerror="window.hit=2">/, 'the HTML is shown as text');
  await page.click('.msg summary');
  assert.match((await page.textContent('.reasoning-text'))!, /<img src=x onerror="window.hit=1">/);
  await page.click('text=click me');
  await page.click('text=raw link');
  await page.waitForTimeout(200);
  assert.equal(await page.evaluate('window.hit'), undefined, 'no handler, script or link ran');
  await context.close();
});
