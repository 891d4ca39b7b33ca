// The Chat view: streams answers from /v1/chat/completions, shows the reasoning apart (collapsible),
// and has the thinking switch, sampling settings, a system prompt, stop, regenerate, edit-and-resend,
// tool steps in agent mode, and an export of the conversation as TRL `messages` JSONL.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, download, html, Markdown, streamSse } from './lib.js';

// max_tokens null: up to the end of the model's context
const DEFAULTS = { system: '', thinking: true, temperature: 0.7, top_p: 1, max_tokens: null, tools: [] };

/** The conversation as sent to the API (and exported): system prompt first, reasoning kept apart. */
export function toMessages(system, messages) {
  const out = system.trim() ? [{ role: 'system', content: system }] : [];
  for (const m of messages) {
    const x = { role: m.role, content: m.content };
    if (m.role === 'assistant' && m.reasoning) x.reasoning_content = m.reasoning;
    out.push(x);
  }
  return out;
}

function Step({ step, i }) {
  return html`<div class="step" data-step=${i}>
    ${step.tool_calls.map((c) => html`<div><strong>tool call</strong> <code>${c.function.name}</code><pre>${typeof c.function.arguments === 'string' ? c.function.arguments : JSON.stringify(c.function.arguments)}</pre></div>`)}
    ${step.observations.map((o) => html`<div class=${o.ok ? '' : 'error'}><strong>${o.name} returned</strong><pre>${o.content}</pre></div>`)}
  </div>`;
}

function Message({ m, i, busy, onEdit }) {
  return html`<div class=${`msg card ${m.role}`} data-index=${i} data-streaming=${m.streaming ? '' : undefined}>
    <div class="row"><span class="role">${m.role}</span>
      ${m.role === 'user' && !busy ? html`<button class="link edit" onClick=${() => onEdit(i)}>edit</button>` : null}</div>
    ${m.steps?.map((s, k) => html`<${Step} step=${s} i=${k} />`)}
    ${m.reasoning ? html`<details class="reasoning" open=${m.streaming || undefined}>
        <summary>Reasoning${m.streaming && !m.content ? ' (thinking…)' : ''}</summary>
        <div class="reasoning-text">${m.reasoning}</div>
      </details>` : null}
    ${m.role === 'assistant' ? html`<${Markdown} text=${m.content} class="content" />` : html`<div class="content" style="white-space: pre-wrap">${m.content}</div>`}
    ${m.error ? html`<p class="error" role="alert">${m.error}</p>` : null}
  </div>`;
}

function Settings({ s, set, agentTools }) {
  const num = (k) => (e) => set({ ...s, [k]: e.target.value === '' ? null : Number(e.target.value) });
  return html`<aside class="settings card">
    <label class="switch"><input type="checkbox" id="thinking" checked=${s.thinking} onChange=${(e) => set({ ...s, thinking: e.target.checked })} /> Thinking</label>
    <label>Temperature <input id="temperature" type="number" min="0" max="2" step="0.1" value=${s.temperature} onInput=${num('temperature')} /></label>
    <label>Top-p <input id="top_p" type="number" min="0.01" max="1" step="0.05" value=${s.top_p} onInput=${num('top_p')} /></label>
    <label>Max tokens <input id="max_tokens" type="number" min="1" step="1" placeholder="up to the context" value=${s.max_tokens ?? ''} onInput=${num('max_tokens')} /></label>
    <label>System prompt <textarea id="system" rows="4" value=${s.system} onInput=${(e) => set({ ...s, system: e.target.value })}></textarea></label>
    ${agentTools.length ? html`<fieldset><legend class="muted">Agent tools (answers come whole, with their steps)</legend>
      ${agentTools.map((t) => html`<label class="switch"><input type="checkbox" id=${`tool-${t}`} checked=${s.tools.includes(t)}
        onChange=${(e) => set({ ...s, tools: e.target.checked ? [...s.tools, t] : s.tools.filter((x) => x !== t) })} /> ${t}</label>`)}</fieldset>` : null}
  </aside>`;
}

export function ChatView({ config, args = [] }) {
  // #/chat/ID: chat with that model (a checkpoint opened from the runs view); otherwise the first
  const model = args[0] ? decodeURIComponent(args[0]) : config.models[0];
  const [settings, setSettings] = useState(DEFAULTS);
  const [messages, setMessages] = useState([]);
  const [draft, setDraft] = useState('');
  const [busy, setBusy] = useState(false);
  const [stats, setStats] = useState(null);
  const abort = useRef(null);
  const end = useRef(null);
  useEffect(() => end.current?.scrollIntoView({ block: 'end' }), [messages]);

  async function generate(history) {
    const controller = new AbortController();
    abort.current = controller;
    setBusy(true);
    const reply = { role: 'assistant', content: '', reasoning: '', streaming: true };
    const show = () => setMessages([...history, { ...reply }]);
    show();
    const body = {
      model, messages: toMessages(settings.system, history), temperature: settings.temperature, top_p: settings.top_p,
      ...(settings.max_tokens ? { max_tokens: settings.max_tokens } : {}), chat_template_kwargs: { enable_thinking: settings.thinking },
    };
    const t0 = performance.now();
    let first = null, chunks = 0, frame = 0;
    try {
      if (settings.tools.length) {
        const r = await api('/v1/chat/completions', { ...body, agent: { tools: settings.tools } }, { signal: controller.signal });
        const msg = r.choices[0].message;
        Object.assign(reply, { content: msg.content ?? '', reasoning: msg.reasoning_content ?? '', steps: r.agent_steps?.filter((s) => s.tool_calls.length) });
        first = performance.now() - t0;
      } else {
        await streamSse('/v1/chat/completions', { ...body, stream: true }, (ev) => {
          const d = ev.choices[0]?.delta;
          if (!d) return;
          if (d.reasoning_content) reply.reasoning += d.reasoning_content;
          if (d.content) reply.content += d.content;
          if (d.reasoning_content || d.content) {
            chunks++;
            first ??= performance.now() - t0;
          }
          // one repaint per animation frame, however fast the tokens come
          if (!frame) frame = requestAnimationFrame(() => { frame = 0; show(); });
        }, controller.signal);
      }
    } catch (e) {
      if (e.name !== 'AbortError') reply.error = e.message;
    } finally {
      if (frame) cancelAnimationFrame(frame);
      reply.streaming = false;
      show();
      setBusy(false);
      abort.current = null;
      setStats({ first, chunks, seconds: (performance.now() - t0) / 1000 });
    }
  }

  const send = () => {
    const text = draft.trim();
    if (!text || busy) return;
    setDraft('');
    const history = [...messages, { role: 'user', content: text }];
    setMessages(history);
    void generate(history);
  };
  const regenerate = () => {
    const at = messages.findLastIndex((m) => m.role === 'user');
    if (at >= 0 && !busy) void generate(messages.slice(0, at + 1));
  };
  const edit = (i) => {
    setDraft(messages[i].content);
    setMessages(messages.slice(0, i));
  };
  const exportJsonl = () => download('conversation.jsonl', `${JSON.stringify({ messages: toMessages(settings.system, messages) })}\n`);
  const keydown = (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      send();
    }
  };

  return html`<div class="chat">
    <section>
      <div class="messages">${messages.map((m, i) => html`<${Message} m=${m} i=${i} busy=${busy} onEdit=${edit} />`)}<div ref=${end}></div></div>
      <div class="composer">
        <textarea id="prompt" placeholder="Message (Enter to send, Shift+Enter for a new line)" value=${draft} onInput=${(e) => setDraft(e.target.value)} onKeyDown=${keydown}></textarea>
        ${busy ? html`<button id="stop" onClick=${() => abort.current?.abort()}>Stop</button>` : html`<button id="send" class="primary" onClick=${send}>Send</button>`}
      </div>
      <div class="row" style="margin-top: 0.5rem">
        <button id="regenerate" disabled=${busy || !messages.some((m) => m.role === 'assistant')} onClick=${regenerate}>Regenerate</button>
        <button id="export" disabled=${busy || messages.length === 0} onClick=${exportJsonl}>Export JSONL</button>
        <button id="clear" disabled=${busy} onClick=${() => setMessages([])}>New chat</button>
        ${stats ? html`<span class="stats" id="stats">first token ${stats.first === null ? '–' : `${Math.round(stats.first)} ms`} · ${stats.chunks} chunks · ${stats.seconds.toFixed(2)} s</span>` : null}
      </div>
    </section>
    <${Settings} s=${settings} set=${setSettings} agentTools=${config.agent_tools ?? []} />
  </div>`;
}
