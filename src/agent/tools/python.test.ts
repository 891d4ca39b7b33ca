// The python sandbox: state persists, files live only in the session folder, and escapes fail —
// reading or writing outside the folder (from Python and from JS reached through Pyodide's bridge),
// the network, an infinite loop (time limit) and a memory bomb (MemoryError, the session survives).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PythonSandbox, pythonTool } from './python.js';
import { ToolRegistry } from '../registry.js';

const base = mkdtempSync(join(tmpdir(), 'glmkit-py-'));
const dir = join(base, 'session');
const outside = join(base, 'secret.txt');
writeFileSync(outside, 'top secret');
const box = new PythonSandbox({ dir, timeoutMs: 2500, memoryMb: 256 });
after(async () => {
  await box.close();
  rmSync(base, { recursive: true, force: true });
});

test('state persists between calls; the last expression is shown; errors come back as text', async () => {
  assert.deepEqual(await box.run('x = 6 * 7\nprint(x)'), { output: '42\n', error: null, timedOut: false });
  assert.equal((await box.run('x + 1')).output, '43\n');
  const r = await box.run('1 / 0');
  assert.match(r.error!, /ZeroDivisionError/);
  assert.equal((await box.run('print(sum(i * i for i in range(1, 84)))')).output, `${[...Array(83)].reduce((a, _, i) => a + (i + 1) ** 2, 0)}\n`);
});

test('files: the session folder is /data; nothing outside it is reachable', async () => {
  await box.run("open('notes.txt', 'w').write('hello from python')");
  assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'hello from python');
  writeFileSync(join(dir, 'input.csv'), 'a,b\n1,2\n');
  assert.equal((await box.run("print(open('/data/input.csv').read().strip())")).output, 'a,b\n1,2\n');
  for (const path of [outside, '/etc/passwd', '/data/../secret.txt', join(dir, '..', 'secret.txt')]) {
    const r = await box.run(`print(open(${JSON.stringify(path)}).read())`);
    assert.ok(r.error !== null && !r.output.includes('top secret'), `reading ${path}: ${r.output} ${r.error}`);
  }
  // A symlink made inside the folder points into Pyodide's own file system, not the host's.
  const s = await box.run(`import os\nos.symlink(${JSON.stringify(outside)}, '/data/link')\nprint(open('/data/link').read())`);
  assert.ok(!s.output.includes('top secret'));
  // Through the JS bridge: the process itself may not read or write outside the folder.
  const js = (src: string) => box.run(`import pyodide_js\nprint(pyodide_js.runPython.constructor(${JSON.stringify(src)})())`);
  const read = await js(`try { return String(process.getBuiltinModule('fs').readFileSync(${JSON.stringify(outside)})) } catch (e) { return 'denied ' + e.code }`);
  assert.match(read.output, /denied ERR_ACCESS_DENIED/);
  const write = await js(`try { process.getBuiltinModule('fs').writeFileSync(${JSON.stringify(join(base, 'pwned'))}, 'x'); return 'wrote' } catch (e) { return 'denied ' + e.code }`);
  assert.match(write.output, /denied/);
  assert.equal(existsSync(join(base, 'pwned')), false);
  const spawn = await js(`try { return String(process.getBuiltinModule('child_process').execSync('id')) } catch (e) { return 'denied ' + e.code }`);
  assert.match(spawn.output, /denied/);
  const bridge = await box.run('import js\nprint(hasattr(js, "process"), hasattr(js, "fetch"))');
  assert.equal(bridge.output, 'False False\n');
});

test('no network, from Python or from JS', async () => {
  // A listening socket on the host that the sandbox must not reach.
  let connections = 0;
  const srv = createServer((s) => {
    connections++;
    s.end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  try {
    const py = await box.run(`import socket\ntry:\n    socket.create_connection(('127.0.0.1', ${port}), timeout=1)\n    print('connected')\nexcept Exception as e:\n    print('refused', type(e).__name__)`);
    assert.match(py.output, /refused/);
    const js = await box.run(`import pyodide_js\nprint(pyodide_js.runPython.constructor("try { process.getBuiltinModule('net').connect(${port}, '127.0.0.1'); return 'connected' } catch (e) { return 'refused' }")())`);
    assert.match(js.output, /refused/);
    const f = await box.run(`import pyodide_js\nprint(pyodide_js.runPython.constructor("return typeof fetch")())`);
    assert.equal(f.output, 'undefined\n');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(connections, 0);
  } finally {
    srv.close();
  }
});

test('a memory bomb is a MemoryError and the session survives', async () => {
  await box.run('keep = 123');
  const r = await box.run('x = []\nwhile True:\n    x.append(bytearray(10**7))');
  assert.match(r.error!, /MemoryError/);
  assert.equal((await box.run('del x\nprint(keep)')).output, '123\n');
});

test('an infinite loop hits the time limit; the interpreter restarts fresh', async () => {
  await box.run('y = 5');
  const r = await box.run('while True:\n    pass');
  // The session's own limit (2.5 s, not the 60 s default) stopped it: no wall-clock bound needed.
  assert.equal(r.timedOut, true);
  assert.match(r.error!, /time limit of 2\.5 s/);
  const after = await box.run('print(1 + 1)\nprint("y" in globals())');
  assert.equal(after.output, '2\nFalse\n');
});

test('as a registered tool: observations for output, errors and bad arguments', async () => {
  const reg = new ToolRegistry().register(pythonTool(box));
  assert.deepEqual(await reg.call('python', JSON.stringify({ code: 'print(2 ** 10)' })), { ok: true, observation: '1024' });
  assert.match((await reg.call('python', { code: 'raise ValueError("nope")' })).observation, /ValueError: nope/);
  assert.match((await reg.call('python', { code: 5 })).observation, /arguments.code must be string/);
  assert.match((await reg.call('python', '{oops')).observation, /not valid JSON/);
  assert.match((await reg.call('rm', {})).observation, /no tool named 'rm'/);
});
