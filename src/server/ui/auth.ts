/**
 * Access control of the server and its web UI. With an API key, API clients send
 * `Authorization: Bearer KEY`; a browser logs in once on /login (the key goes in a POST body, never in
 * a URL) and gets a random session token in an HttpOnly, SameSite=Strict cookie. A state-changing
 * request (anything but GET/HEAD/OPTIONS) sent by a browser from another origin is refused, with or
 * without a key, and one authenticated by the cookie must carry an Origin header of this server.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../api-error.js';

export const SESSION_COOKIE = 'glmkit_session';
const SESSION_SECONDS = 7 * 24 * 3600;

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** The value of one cookie in a Cookie header (null when absent). */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** True when the request's Origin header names this server (the Host the browser sent it to). */
export function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (typeof origin !== 'string' || origin === 'null') return false;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** API keys and browser sessions (kept in memory: a restarted server asks for the key again). */
export class Access {
  private readonly keyDigest: Buffer | null;
  private readonly sessions = new Map<string, number>();

  constructor(apiKey: string | null | undefined) {
    this.keyDigest = apiKey ? digest(apiKey) : null;
  }

  get keyRequired(): boolean {
    return this.keyDigest !== null;
  }

  /** Whether `given` is the API key (compared in constant time). */
  keyMatches(given: string): boolean {
    return this.keyDigest !== null && timingSafeEqual(digest(given), this.keyDigest);
  }

  private bearer(req: FastifyRequest): boolean {
    const h = req.headers.authorization;
    return typeof h === 'string' && h.startsWith('Bearer ') && this.keyMatches(h.slice(7));
  }

  /** Whether the request carries a live session cookie. */
  hasSession(req: FastifyRequest): boolean {
    const token = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (!token) return false;
    const until = this.sessions.get(token);
    if (until === undefined) return false;
    if (until < Date.now()) {
      this.sessions.delete(token);
      return false;
    }
    return true;
  }

  /** A new session: the Set-Cookie header value. */
  newSession(): string {
    const token = randomBytes(32).toString('base64url');
    this.sessions.set(token, Date.now() + SESSION_SECONDS * 1000);
    return `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_SECONDS}`;
  }

  endSession(req: FastifyRequest): string {
    const token = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (token) this.sessions.delete(token);
    return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
  }

  /**
   * The request hook: refuses cross-origin state-changing requests; with a key, lets through /v1 and
   * /ui/api requests with the bearer key or a session (plus a same-origin Origin for changes), and
   * sends pages without a session to /login. UI files and /health are public.
   */
  register(app: FastifyInstance, isPage: (path: string) => boolean): void {
    app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      const path = req.url.split('?')[0];
      const changing = !SAFE.has(req.method);
      if (changing && req.headers.origin !== undefined && !sameOrigin(req)) {
        throw new ApiError(403, `a ${req.method} from origin ${req.headers.origin} was refused: only pages of this server (${req.headers.host}) may change state`, 'invalid_request_error', null, 'bad_origin');
      }
      if (!this.keyRequired || path === '/ui/api/login') return;
      if (path.startsWith('/v1/') || path.startsWith('/ui/api/')) {
        if (this.bearer(req)) return;
        if (this.hasSession(req)) {
          if (changing && !sameOrigin(req)) throw new ApiError(403, 'a request authenticated by the session cookie must carry the Origin header of this server', 'invalid_request_error', null, 'bad_origin');
          return;
        }
        throw new ApiError(401, 'missing or wrong API key: send "Authorization: Bearer <key>" (or log in on /login in a browser)', 'invalid_request_error', null, 'invalid_api_key');
      }
      if (isPage(path) && !this.hasSession(req)) return reply.redirect('/login', 303);
    });
  }

  /** POST /ui/api/login {key} and POST /ui/api/logout. */
  registerRoutes(app: FastifyInstance): void {
    app.post('/ui/api/login', async (req, reply) => {
      const key = (req.body as { key?: unknown } | null)?.key;
      if (!this.keyRequired) return { ok: true, key_required: false };
      if (typeof key !== 'string' || !this.keyMatches(key)) throw new ApiError(401, 'wrong API key: give the key the server was started with (--api-key or GLMKIT_API_KEY)', 'invalid_request_error', 'key', 'invalid_api_key');
      return reply.header('set-cookie', this.newSession()).send({ ok: true });
    });
    app.post('/ui/api/logout', async (req, reply) => reply.header('set-cookie', this.endSession(req)).send({ ok: true }));
  }
}
