/**
 * The web UI's files: the pages under ui/ (plain ES modules, no build step) and the browser builds of
 * its libraries (Preact, htm, markdown-it, uPlot) read from the installed npm packages. Nothing is
 * fetched from a CDN: every script and style comes from this server, and a Content-Security-Policy
 * says so to the browser (scripts from 'self' plus the one inline import map, by hash).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** The ui/ folder of the package (from src/server/ui or dist/server/ui). */
export const UI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'ui');

const require = createRequire(import.meta.url);

/** The folder of an installed package (its package.json may not be exported, so search the paths). */
function packageDir(name: string): string {
  for (const base of require.resolve.paths(name) ?? []) {
    const dir = join(base, name);
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error(`the UI needs the npm package '${name}', which is not installed; run npm ci`);
}

/** Browser files of the UI's libraries: URL name -> [package, file inside it]. */
const VENDOR: Record<string, [string, string]> = {
  'preact.mjs': ['preact', 'dist/preact.mjs'],
  'hooks.mjs': ['preact', 'hooks/dist/hooks.mjs'],
  'htm.mjs': ['htm', 'dist/htm.mjs'],
  'markdown-it.mjs': ['markdown-it', 'dist/browser/markdown-it.esm.min.mjs'],
  'uplot.mjs': ['uplot', 'dist/uPlot.esm.js'],
  'uplot.css': ['uplot', 'dist/uPlot.min.css'],
};

/** The import map that lets the UI's modules (and preact/hooks) import the libraries by name. */
const IMPORT_MAP = JSON.stringify({
  imports: {
    preact: '/ui/vendor/preact.mjs',
    'preact/hooks': '/ui/vendor/hooks.mjs',
    htm: '/ui/vendor/htm.mjs',
    'markdown-it': '/ui/vendor/markdown-it.mjs',
    uplot: '/ui/vendor/uplot.mjs',
  },
});

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml',
};

/** The Content-Security-Policy of every UI page: nothing from elsewhere, no inline script but the import map. */
export function contentSecurityPolicy(): string {
  const hash = createHash('sha256').update(IMPORT_MAP).digest('base64');
  return [
    "default-src 'self'", `script-src 'self' 'sha256-${hash}'`, "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
    "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
  ].join('; ');
}

/** The HTML shell of a page: the import map, the stylesheets and one entry module. */
export function pageHtml(title: string, entry: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="/ui/vendor/uplot.css"><link rel="stylesheet" href="/ui/style.css">
<script type="importmap">${IMPORT_MAP}</script>
</head><body><div id="app"></div><script type="module" src="/ui/${entry}"></script></body></html>
`;
}

/** Sends a UI page with its security headers. */
export function sendPage(reply: FastifyReply, html: string): FastifyReply {
  return reply
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', contentSecurityPolicy())
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
    .send(html);
}

/** Registers GET /ui/<file> (the UI's own files) and /ui/vendor/<file> (its libraries). */
export function registerAssets(app: FastifyInstance): void {
  const vendorCache = new Map<string, Buffer>();
  app.get('/ui/vendor/:file', async (req, reply) => {
    const file = (req.params as { file: string }).file;
    const v = Object.hasOwn(VENDOR, file) ? VENDOR[file] : undefined;
    if (!v) return reply.code(404).send({ error: { message: `no UI library file '${file}'`, type: 'invalid_request_error', param: null, code: 'not_found' } });
    let body = vendorCache.get(file);
    if (!body) {
      body = readFileSync(join(packageDir(v[0]), v[1]));
      vendorCache.set(file, body);
    }
    return reply.header('content-type', TYPES[extname(file)]).header('cache-control', 'public, max-age=3600').send(body);
  });
  app.get('/ui/:file', async (req, reply) => {
    const file = (req.params as { file: string }).file;
    // Only plain names of the ui/ folder (no slashes, no dot files): nothing else is reachable.
    if (!/^[a-z0-9-]+\.(js|css|svg|png)$/.test(file) || !existsSync(join(UI_DIR, file))) {
      return reply.code(404).send({ error: { message: `no UI file '${file}'`, type: 'invalid_request_error', param: null, code: 'not_found' } });
    }
    return reply.header('content-type', TYPES[extname(file)]).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(readFileSync(join(UI_DIR, file)));
  });
}
