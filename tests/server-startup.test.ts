// `glmkit serve` start-up errors: a bad or unusable --host/--port is one clear line and the process
// EXITS non-zero (before the fix the engine worker kept it alive forever after printing the error).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { scratchModel } from '../src/bench/serve.js';
import { runCli, tempDir } from './helpers.js';

const work = tempDir('glmkit-serve-start-');
let model = '';
let busy: Server;
let busyPort = 0;

before(async () => {
  model = scratchModel('tiny', work);
  busy = createServer();
  await new Promise<void>((r) => busy.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  busyPort = (busy.address() as { port: number }).port;
});

after(() => busy?.close());

/** Runs serve with extra flags; a process that does not exit within the bound reads as code -1. */
function serve(extra: string[]) {
  return runCli(['serve', '--model', model, ...extra], { timeoutMs: 90_000 });
}

for (const [name, flags, code, pattern] of [
  ['a port in use', () => ['--port', String(busyPort)], 1, /error\[listen\]: cannot listen on 127\.0\.0\.1:\d+: the port is already in use/],
  ['--port abc', () => ['--port', 'abc'], 2, /error\[usage\]: .*--port/],
  ['--port 99999', () => ['--port', '99999'], 2, /error\[usage\]: .*--port/],
  ['--port -1', () => ['--port=-1'], 2, /error\[usage\]: .*--port/],
  ['--host 256.1.1.1', () => ['--host', '256.1.1.1', '--port', '0'], 2, /error\[usage\]: cannot listen on 256\.1\.1\.1:0: --host 256\.1\.1\.1 is not a valid address/],
  ['--host not on this machine', () => ['--host', '203.0.113.7', '--port', '0'], 1, /error\[listen\]: cannot listen on 203\.0\.113\.7:0: --host 203\.0\.113\.7 is not an address of this machine/],
] as const) {
  test(`serve with ${name} prints one error line and exits ${code}`, () => {
    const r = serve(flags());
    assert.equal(r.code, code, `exit code (-1 = still running at the bound); stderr: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one stderr line, got: ${r.stderr}`);
    assert.match(lines[0], /^glmkit: error\[/);
    assert.match(lines[0], pattern);
    assert.equal(r.stdout, '', 'nothing on stdout: the server never started');
  });
}
