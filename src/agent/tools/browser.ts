/**
 * The `browser` tool (GLM All Tools): `search` over a local document index built from files the user
 * points at, `open_url` for an indexed document or an http(s) page on an allow-list, and `mclick` to
 * open several results of the last search at once. Results are cited as 【id†title†url】.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../../errors.js';
import type { ToolSpec } from '../../tokenizer/index.js';
import type { RegisteredTool } from '../registry.js';

export interface IndexedDocument {
  url: string;
  title: string;
  text: string;
}

interface Passage {
  doc: number;
  text: string;
  terms: Map<string, number>;
  length: number;
}

const TEXT_EXTENSIONS = new Set(['.txt', '.md', '.markdown', '.html', '.htm', '.json', '.jsonl', '.csv', '.rst']);

/** Lower-cased word tokens (letters and digits). */
export function terms(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Visible text of an HTML page (scripts, styles and tags dropped, entities for the common cases). */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|title|head)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<\/(p|div|h[1-6]|li|tr|br)>/gi, '\n')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&')
    .replace(/[ \t]+/g, ' ')
    .replace(/\n\s*\n+/g, '\n\n')
    .trim();
}

/** A BM25 index over paragraphs of local documents. */
export class DocumentIndex {
  readonly docs: IndexedDocument[] = [];
  private readonly passages: Passage[] = [];
  private readonly df = new Map<string, number>();

  /** Indexes files and folders (recursively; text-like extensions only). */
  static fromPaths(paths: readonly string[]): DocumentIndex {
    const index = new DocumentIndex();
    const visit = (p: string) => {
      const st = statSync(p);
      if (st.isDirectory()) {
        for (const name of readdirSync(p).sort()) if (!name.startsWith('.')) visit(join(p, name));
      } else if (TEXT_EXTENSIONS.has(extname(p).toLowerCase())) {
        const raw = readFileSync(p, 'utf8');
        const isHtml = /\.html?$/i.test(p);
        const text = isHtml ? htmlToText(raw) : raw;
        const title = (isHtml ? /<title>([^<]*)<\/title>/i.exec(raw)?.[1] : /^#\s+(.+)$/m.exec(raw)?.[1]) ?? basename(p);
        index.add({ url: pathToFileURL(resolve(p)).href, title: title.trim(), text });
      }
    };
    for (const p of paths) {
      try {
        visit(p);
      } catch (e) {
        throw new ConfigError(`browser: cannot index ${p}: ${(e as Error).message}`);
      }
    }
    return index;
  }

  add(doc: IndexedDocument): void {
    const id = this.docs.push(doc) - 1;
    for (const para of doc.text.split(/\n\s*\n/).map((s) => s.trim()).filter(Boolean)) {
      const ts = terms(para);
      if (ts.length === 0) continue;
      const tf = new Map<string, number>();
      for (const t of ts) tf.set(t, (tf.get(t) ?? 0) + 1);
      for (const t of tf.keys()) this.df.set(t, (this.df.get(t) ?? 0) + 1);
      this.passages.push({ doc: id, text: para, terms: tf, length: ts.length });
    }
  }

  /** The best passage per document for a query, by BM25 (k1 1.2, b 0.75), best first. */
  search(query: string, k = 5): { doc: number; score: number; snippet: string }[] {
    const q = [...new Set(terms(query))];
    const N = this.passages.length;
    if (N === 0 || q.length === 0) return [];
    const avg = this.passages.reduce((a, p) => a + p.length, 0) / N;
    const best = new Map<number, { score: number; snippet: string }>();
    for (const p of this.passages) {
      let s = 0;
      for (const t of q) {
        const f = p.terms.get(t);
        if (!f) continue;
        const n = this.df.get(t)!;
        const idf = Math.log(1 + (N - n + 0.5) / (n + 0.5));
        s += (idf * f * 2.2) / (f + 1.2 * (1 - 0.75 + (0.75 * p.length) / avg));
      }
      if (s > 0 && s > (best.get(p.doc)?.score ?? 0)) best.set(p.doc, { score: s, snippet: p.text });
    }
    return [...best.entries()].map(([doc, v]) => ({ doc, ...v })).sort((a, b) => b.score - a.score || a.doc - b.doc).slice(0, k);
  }
}

export interface BrowserOptions {
  index: DocumentIndex;
  /** hosts http(s) fetches may go to (exact host names, e.g. "docs.example.com" or "127.0.0.1:8080") */
  allowHosts?: readonly string[];
  /** characters of a page returned at most (default 4000) */
  maxChars?: number;
  /** fetch time limit (default 10 s) */
  fetchTimeoutMs?: number;
}

export const BROWSER_TOOL: ToolSpec = {
  type: 'function',
  function: {
    name: 'browser',
    description: 'Search the document index, open a result or a URL, or open several results at once. Cite results as 【id†title】.',
    parameters: {
      type: 'object',
      properties: {
        action: { type: 'string', enum: ['search', 'open_url', 'mclick'], description: 'what to do' },
        query: { type: 'string', description: 'search: the query' },
        url: { type: 'string', description: 'open_url: a result URL or an allowed http(s) URL' },
        ids: { type: 'array', items: { type: 'integer' }, description: 'mclick: result ids of the last search' },
      },
      required: ['action'],
    },
  },
};

/** A browsing session: its own last-search results, over a shared index. */
export class Browser {
  private last: { doc: number; snippet: string }[] = [];
  private readonly maxChars: number;

  constructor(private readonly opts: BrowserOptions) {
    this.maxChars = opts.maxChars ?? 4000;
  }

  search(query: string): string {
    const hits = this.opts.index.search(query);
    this.last = hits;
    if (hits.length === 0) return `No results for "${query}".`;
    return hits.map((h, i) => {
      const d = this.opts.index.docs[h.doc];
      return `【${i}†${d.title}†${d.url}】\n${h.snippet.slice(0, 300)}`;
    }).join('\n\n');
  }

  async openUrl(url: string): Promise<string> {
    const local = this.opts.index.docs.findIndex((d) => d.url === url);
    if (local >= 0) return this.page(local);
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new Error(`'${url}' is not a URL of a search result or an http(s) page`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`only indexed documents and http(s) URLs can be opened, not ${u.protocol}`);
    if (!(this.opts.allowHosts ?? []).includes(u.host)) throw new Error(`the host ${u.host} is not on the browser's allow-list (${(this.opts.allowHosts ?? []).join(', ') || 'empty'})`);
    const res = await fetch(u, { redirect: 'manual', signal: AbortSignal.timeout(this.opts.fetchTimeoutMs ?? 10_000) });
    if (res.status >= 300 && res.status < 400) throw new Error(`${url} redirects (${res.status}); redirects are not followed`);
    if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
    const body = (await res.text()).slice(0, 1_000_000);
    const html = /html/i.test(res.headers.get('content-type') ?? '');
    const title = (html ? /<title>([^<]*)<\/title>/i.exec(body)?.[1] : null) ?? u.host + u.pathname;
    const text = html ? htmlToText(body) : body;
    return `【${title.trim()}†${url}】\n${text.slice(0, this.maxChars)}`;
  }

  mclick(ids: number[]): string {
    if (this.last.length === 0) throw new Error('mclick needs a search first');
    return ids.map((i) => {
      const hit = this.last[i];
      if (!hit) return `【${i}】 no such result (the last search returned ${this.last.length})`;
      return this.page(hit.doc, i);
    }).join('\n\n');
  }

  private page(doc: number, id?: number): string {
    const d = this.opts.index.docs[doc];
    return `【${id ?? doc}†${d.title}†${d.url}】\n${d.text.slice(0, this.maxChars)}`;
  }
}

/** The `browser` tool over a session. */
export function browserTool(browser: Browser): RegisteredTool {
  return {
    spec: BROWSER_TOOL,
    run: async (args) => {
      switch (args.action) {
        case 'search':
          if (typeof args.query !== 'string') throw new Error('search needs "query"');
          return browser.search(args.query);
        case 'open_url':
          if (typeof args.url !== 'string') throw new Error('open_url needs "url"');
          return browser.openUrl(args.url);
        default:
          if (!Array.isArray(args.ids)) throw new Error('mclick needs "ids"');
          return browser.mclick(args.ids as number[]);
      }
    },
  };
}
