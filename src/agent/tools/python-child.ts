/**
 * The source of the python sandbox's child process (run with `node -e`, under Node's permission
 * model). It locks the process down before loading Pyodide:
 * - network: every socket entry point of node (net, tls, dgram, dns, http, https, fetch) throws;
 * - memory: WebAssembly memories are capped, so a Python allocation past the cap is a MemoryError;
 * - JS bridge: Python's `js` module sees an empty object, not the process globals;
 * - files: Pyodide's in-memory file system, with only the session folder mounted at /data (the
 *   parent also restricts the whole process to reading Pyodide's files and the session folder).
 * Protocol: one JSON object per line on stdin `{id, code}`, one per line on stdout
 * `{id, output, error}`; `{ready: true}` once Pyodide is loaded.
 */
export const PYTHON_CHILD_SOURCE = String.raw`
import { constants as fsConstants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import net from 'node:net'; import tls from 'node:tls'; import dgram from 'node:dgram'; import dns from 'node:dns';
import http from 'node:http'; import https from 'node:https'; import readline from 'node:readline';
const [pyodideUrl, dataDir, memPagesArg, maxOutArg] = process.argv.slice(1);
// Refuse to run unconfined: the permission model must be on and must deny reading the root folder.
if (!process.permission || process.permission.has('fs.read', '/') || process.permission.has('child')) {
  process.stderr.write('the python sandbox needs Node\'s permission model (--permission); refusing to run unconfined\n');
  process.exit(3);
}
const deny = () => { throw new Error('network access is disabled in the sandbox'); };
net.Socket.prototype.connect = deny; net.connect = deny; net.createConnection = deny; tls.connect = deny;
dgram.createSocket = deny; dns.lookup = deny; dns.resolve = deny; dns.promises.lookup = deny; dns.promises.resolve = deny;
http.request = deny; http.get = deny; https.request = deny; https.get = deny;
for (const k of ['fetch', 'WebSocket', 'EventSource', 'XMLHttpRequest']) delete globalThis[k];
// Pyodide's NODEFS reads the open() flag constants through process.binding, which the permission
// model forbids: hand it those constants and nothing else.
process.binding = (name) => { if (name === 'constants') return { fs: fsConstants, os: osConstants }; throw new Error('process.binding is disabled in the sandbox'); };
const OrigMemory = WebAssembly.Memory, cap = Number(memPagesArg);
function CappedMemory(desc) {
  if (!desc.shared && (desc.maximum === undefined || desc.maximum > cap)) desc = { ...desc, maximum: cap };
  return new OrigMemory(desc);
}
CappedMemory.prototype = OrigMemory.prototype;
WebAssembly.Memory = CappedMemory;
const maxOut = Number(maxOutArg);
const { loadPyodide } = await import(pyodideUrl);
const py = await loadPyodide({ jsglobals: {}, env: { HOME: '/data' }, stdout: () => {}, stderr: () => {} });
py.FS.mkdirTree('/data');
py.mountNodeFS('/data', dataDir);
py.runPython("import os\nos.chdir('/data')");
let out = '';
const sink = (s) => { if (out.length < maxOut) out += s + '\n'; };
py.setStdout({ batched: sink });
py.setStderr({ batched: sink });
const ns = py.globals.get('dict')();
const runner = py.runPython([
  'from pyodide.code import eval_code',
  'def _glmkit_run(src, ns):',
  '    r = eval_code(src, ns)',
  '    if r is not None:',
  '        print(repr(r))',
  '_glmkit_run',
].join('\n'));
const send = (o) => process.stdout.write(JSON.stringify(o) + '\n');
send({ ready: true });
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const { id, code } = JSON.parse(line);
  out = '';
  let error = null;
  try { runner(code, ns); } catch (e) { error = String(e && e.message || e); }
  if (out.length >= maxOut) out = out.slice(0, maxOut) + '\n[output truncated]';
  send({ id, output: out, error });
});
`;
