/** `glmkit info`: version, active backend (and why native is not active), CPU SIMD support. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getBackend, nativeUnavailableReason } from '../tensor/backend/index.js';
import { field, parseCommand } from './args.js';

const spec = {
  name: 'info',
  usage: 'glmkit info [--json]',
  description: 'Shows the glmkit version, the active compute backend and why the native one is not active.',
  schema: { json: field('boolean', false, 'print one JSON object') },
};

export function version(): string {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };
  return pkg.version;
}

export async function infoCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const values = parsed.values;
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
