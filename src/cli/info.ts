/** `glmkit info`: version, active backend (and why native is not active), CPU SIMD support. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getBackend, nativeUnavailableReason } from '../tensor/backend/index.js';
import { parseFlags } from './args.js';

export function version(): string {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };
  return pkg.version;
}

export async function infoCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('info', argv, { json: { type: 'boolean' }, help: { type: 'boolean' } });
  if (values.help) {
    console.log('usage: glmkit info [--json]\n\nShows the glmkit version, the active compute backend and why the native one is not active.');
    return 0;
  }
  const backend = getBackend();
  const info = {
    version: version(),
    node: process.version,
    backend: backend.name,
    detail: backend.describe(),
    native_unavailable: nativeUnavailableReason(),
    forced: process.env.GLMKIT_BACKEND ?? null,
  };
  if (values.json) console.log(JSON.stringify(info));
  else {
    console.log(`glmkit ${info.version} on Node ${info.node}`);
    console.log(`backend: ${info.detail}${info.forced ? ` (GLMKIT_BACKEND=${info.forced})` : ''}`);
    if (info.native_unavailable) console.log(`native backend unavailable: ${info.native_unavailable}`);
  }
  return 0;
}
