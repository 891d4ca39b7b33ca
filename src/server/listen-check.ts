/**
 * Start-up checks of `glmkit serve`'s address, run before the model is loaded: the port is an
 * integer in 0..65535 and the host:port can actually be bound (a throw-away listener is opened and
 * closed), so a bad --host or a port in use is one clear error instead of a server that never starts.
 */
import { createServer } from 'node:net';
import { GlmkitError, UsageError } from '../errors.js';

/** The address is valid but cannot be used on this machine now (in use, not ours, no permission). */
export class ListenError extends GlmkitError {
  constructor(message: string) {
    super('listen', message);
  }
}

/** Checks a port value: an integer in 0..65535 (0 = any free port). */
export function checkPort(port: unknown): number {
  const n = typeof port === 'string' && /^\s*\d+\s*$/.test(port) ? Number(port) : port;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new UsageError(`--port must be an integer from 0 to 65535 (0 = any free port), got ${JSON.stringify(port)}`);
  }
  return n;
}

/** Explains a listen() failure on host:port as one line saying what to do. */
export function listenErrorMessage(host: string, port: number, e: NodeJS.ErrnoException): string {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch (e.code) {
    case 'EADDRINUSE':
      return `cannot listen on ${where}: the port is already in use; stop the other server or pick another --port (0 = any free port)`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where}: --host ${host} is not an address of this machine; use 127.0.0.1 (this machine only) or 0.0.0.0 (all interfaces)`;
    case 'EACCES':
    case 'EPERM':
      return `cannot listen on ${where}: permission denied (ports below 1024 need privileges); pick a --port of 1024 or more`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
    case 'EAI_FAIL':
      return `cannot listen on ${where}: --host ${host} is not a valid address or known host name; use 127.0.0.1 or 0.0.0.0`;
    default:
      return `cannot listen on ${where}: ${e.message}`;
  }
}

/** Opens and closes a listener on host:port; throws ListenError (UsageError for a bad host) when it cannot. */
export async function checkListen(host: string, portValue: unknown): Promise<void> {
  const port = checkPort(portValue);
  if (host.trim() === '') throw new UsageError('--host must be an address such as 127.0.0.1 or 0.0.0.0, got an empty string');
  await new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => {
      const msg = listenErrorMessage(host, port, e);
      reject(e.code && /^(ENOTFOUND|EAI_)/.test(e.code) ? new UsageError(msg) : new ListenError(msg));
    });
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve()));
  });
}
