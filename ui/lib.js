// Shared helpers of the web UI: the html tag (htm bound to Preact), JSON and streaming calls to this
// server, and Markdown rendering. Model output and uploaded text are untrusted: they reach the page
// only as text nodes, or as HTML made by markdown-it with raw HTML off and links filtered.
import { h } from 'preact';
import htm from 'htm';
import markdownit from 'markdown-it';

export const html = htm.bind(h);

/** An error answered by the server, with its OpenAI-shaped message. */
export class ApiFailure extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function failure(res) {
  let msg = `${res.status} ${res.statusText}`, code = null;
  try {
    const body = await res.json();
    if (body && body.error) ({ message: msg, code } = body.error);
  } catch { /* not JSON */ }
  // a lost session: back to the login page (which shows its own errors)
  if (res.status === 401 && location.pathname !== '/login') location.href = '/login';
  return new ApiFailure(res.status, msg, code);
}

/** GET or POST JSON to this server (same origin: the session cookie goes with it). */
export async function api(path, body, opts = {}) {
  const res = await fetch(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: opts.signal,
  });
  if (!res.ok) throw await failure(res);
  return res.json();
}

/** POSTs a streaming request and calls onEvent(obj) for each `data:` event until [DONE]. */
export async function streamSse(path, body, onEvent, signal) {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
  if (!res.ok) throw await failure(res);
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of ev.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') return;
        const obj = JSON.parse(data);
        if (obj.error) throw new ApiFailure(0, obj.error.message, obj.error.code);
        onEvent(obj);
      }
    }
  }
}

const md = markdownit({ html: false, linkify: false, breaks: true, typographer: false });
const SAFE_LINK = /^(https?:\/\/|mailto:|#)/i;
// Only web, mail and in-page links; anything else (javascript:, data:, vbscript:, file:, relative)
// is shown as plain text.
md.validateLink = (url) => SAFE_LINK.test(url.trim());
md.renderer.rules.link_open = (tokens, idx, options, _env, self) => {
  tokens[idx].attrSet('rel', 'noopener noreferrer nofollow');
  tokens[idx].attrSet('target', '_blank');
  return self.renderToken(tokens, idx, options);
};
// Images are never loaded (a model could point at any address): their alt text is shown instead.
md.renderer.rules.image = (tokens, idx) => md.utils.escapeHtml(`[image: ${tokens[idx].content}]`);

/** Markdown -> HTML with raw HTML escaped and unsafe links dropped. */
export function renderMarkdown(text) {
  return md.render(text ?? '');
}

/** Markdown shown in a div (the only place the UI sets HTML, always from renderMarkdown). */
export function Markdown({ text, class: cls }) {
  return html`<div class=${`md ${cls ?? ''}`} dangerouslySetInnerHTML=${{ __html: renderMarkdown(text) }}></div>`;
}

/** A file download of `text` made in the browser. */
export function download(name, text, type = 'application/jsonl') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
