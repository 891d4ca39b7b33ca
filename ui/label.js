// The Compare & label view: a prompt (queued with --label-prompts, or typed) gets two answers from
// /v1/chat/completions (the model sampled twice, or one answer from each of the first two models when
// the server serves two: `glmkit serve --model A --model B`); the annotator sees them in a blind, drawn order and
// chooses left / right / tie / both bad (keys 1-4), with optional reasons and a note. #/label/stats
// shows counts, win rates and agreement between annotators.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, html, Markdown } from './lib.js';

const REASONS = [['helpful', 'h'], ['harmless', 's'], ['correct', 'c'], ['concise', 'o']];
const CHOICES = [['left', '1', 'Left is better'], ['right', '2', 'Right is better'], ['tie', '3', 'Tie'], ['both_bad', '4', 'Both bad']];

function Side({ name, answer }) {
  return html`<div class="card side" id=${`side-${name}`}>
    <h3>${name === 'left' ? 'Left (1)' : 'Right (2)'}</h3>
    ${answer.reasoning ? html`<details class="reasoning"><summary>Reasoning</summary><div class="reasoning-text">${answer.reasoning}</div></details>` : null}
    <${Markdown} text=${answer.content} class="content" />
  </div>`;
}

function Stats() {
  const [s, setS] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => void api('/ui/api/label/stats').then(setS, (e) => setError(e.message)), []);
  if (error) return html`<p class="error">${error}</p>`;
  if (!s) return html`<p>loading…</p>`;
  const pct = (x) => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);
  return html`<div id="label-stats">
    <p><a href="#/label">← back to labelling</a></p>
    <h3>Labels</h3>
    <table id="stats-counts"><tr><th>labels</th><th>comparisons</th><th>queued prompts</th><th>A/B decided</th><th>tie</th><th>both bad</th><th>left side chosen</th></tr>
      <tr><td class="num">${s.labels}</td><td class="num">${s.comparisons}</td><td class="num">${s.queued}</td><td class="num">${s.choices.a + s.choices.b}</td>
      <td class="num">${s.choices.tie}</td><td class="num">${s.choices.both_bad}</td><td class="num">${pct(s.left_share)}</td></tr></table>
    <h3>Annotators</h3>
    <table id="stats-annotators"><tr><th>annotator</th><th>labels</th></tr>${Object.entries(s.annotators).map(([n, c]) => html`<tr><td>${n}</td><td class="num">${c}</td></tr>`)}</table>
    <h3>Models (comparisons against another model)</h3>
    ${Object.keys(s.models).length === 0 ? html`<p class="muted">All comparisons sample one model twice.</p>` : html`<table id="stats-models">
      <tr><th>model</th><th>wins</th><th>losses</th><th>ties</th><th>both bad</th><th>win rate</th></tr>
      ${Object.entries(s.models).map(([m, r]) => html`<tr><td>${m}</td><td class="num">${r.wins}</td><td class="num">${r.losses}</td><td class="num">${r.ties}</td><td class="num">${r.both_bad}</td><td class="num">${pct(r.win_rate)}</td></tr>`)}</table>`}
    <h3>Agreement (comparisons labelled by both)</h3>
    ${s.agreement.length === 0 ? html`<p class="muted">No comparison has two annotators yet.</p>` : html`<table id="stats-agreement">
      <tr><th>annotators</th><th>items</th><th>agreed</th><th>Cohen's kappa</th></tr>
      ${s.agreement.map((a) => html`<tr><td>${a.annotators.join(' & ')}</td><td class="num">${a.items}</td><td class="num">${a.agreed}</td><td class="num kappa">${a.kappa === null ? 'undefined' : a.kappa.toFixed(3)}</td></tr>`)}</table>`}
  </div>`;
}

/** How the two answers are sampled (stored with the comparison). */
function SamplingRow({ s, set }) {
  return html`<div class="row">
    <label>Temperature <input id="label-temperature" type="number" min="0" max="2" step="0.1" value=${s.temperature} onInput=${(e) => set({ ...s, temperature: Number(e.target.value) })} /></label>
    <label>Max tokens <input id="label-max-tokens" type="number" min="1" step="1" value=${s.max_tokens} onInput=${(e) => set({ ...s, max_tokens: Number(e.target.value) })} /></label>
    <label class="switch"><input type="checkbox" checked=${s.thinking} onChange=${(e) => set({ ...s, thinking: e.target.checked })} /> Thinking</label>
  </div>`;
}

/** State that event handlers read before the next render: [value, ref always holding it, setter]. */
function useMirroredState(initial) {
  const [value, setValue] = useState(initial);
  const ref = useRef(initial);
  const set = (v) => {
    ref.current = v;
    setValue(v);
  };
  return [value, ref, set];
}

export function LabelView({ config, args }) {
  if (args[0] === 'stats') return html`<${Stats} />`;
  const model = config.models[0];
  // two served models: one answer from each; one: that model sampled twice
  const pair = config.models.length >= 2 ? config.models.slice(0, 2) : null;
  const [annotator, setAnnotator] = useState(localStorage.getItem('glmkit.annotator') ?? '');
  const [started, setStarted] = useState(false);
  // the keyboard handler is re-registered after each render, and a key can arrive after the new
  // comparison is on the page but before that: it reads the item from a ref, not from its closure
  const [item, itemRef, setItem] = useMirroredState(null);
  const [progress, setProgress] = useState(null);
  const [status, setStatus] = useState('');
  // the keyboard handler reads the reasons before the page re-renders: keep them in a ref too
  const [reasons, reasonsRef, setReasons] = useMirroredState([]);
  const toggleReason = (r) => setReasons(reasonsRef.current.includes(r) ? reasonsRef.current.filter((x) => x !== r) : [...reasonsRef.current, r]);
  const [typed, setTyped] = useState('');
  const [sampling, setSampling] = useState({ temperature: 1, max_tokens: 256, thinking: true });

  async function compare(promptId, messages) {
    if (!model) return setStatus('No model is served: start glmkit serve --model DIR to generate answers.');
    setStatus('Generating two answers…');
    try {
      const ask = (m, n) => api('/v1/chat/completions', {
        model: m, messages, n, temperature: sampling.temperature, max_tokens: sampling.max_tokens, chat_template_kwargs: { enable_thinking: sampling.thinking },
      });
      const rs = pair ? await Promise.all(pair.map((m) => ask(m, 1))) : [await ask(model, 2)];
      const answers = rs.flatMap((r) => r.choices.map((c) => ({ model: r.model, content: c.message.content ?? '', reasoning: c.message.reasoning_content ?? null })));
      const saved = await api('/ui/api/label/comparisons', { annotator, prompt_id: promptId, messages, answers, sampling: { ...sampling, n: pair ? 1 : 2 } });
      setItem(saved.comparison);
      setProgress(saved.progress);
      setStatus('');
    } catch (e) {
      setStatus(e.message);
    }
  }

  async function next() {
    setReasons([]);
    setItem(null);
    try {
      const r = await api('/ui/api/label/next', { annotator });
      setProgress(r.progress);
      if (r.comparison) {
        setItem(r.comparison);
        setStatus('');
      } else if (r.prompt) await compare(r.prompt.id, r.prompt.messages);
      else setStatus('The queue is empty: type a prompt to compare two answers.');
    } catch (e) {
      setStatus(e.message);
    }
  }

  async function choose(choice) {
    if (!itemRef.current) return;
    const id = itemRef.current.id;
    const note = document.getElementById('note')?.value ?? '';
    setItem(null);
    try {
      const r = await api('/ui/api/label', { annotator, comparison_id: id, choice, reasons: reasonsRef.current, note });
      setProgress(r.progress);
      if (document.getElementById('note')) document.getElementById('note').value = '';
      await next();
    } catch (e) {
      setStatus(e.message);
    }
  }

  useEffect(() => {
    const onKey = (e) => {
      if (!itemRef.current || e.ctrlKey || e.metaKey || e.altKey || ['TEXTAREA', 'INPUT'].includes(e.target.tagName)) return;
      const c = CHOICES.find(([, k]) => k === e.key);
      if (c) return void choose(c[0]);
      const r = REASONS.find(([, k]) => k === e.key);
      if (r) toggleReason(r[0]);
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  });

  if (!started) {
    const start = (e) => {
      e.preventDefault();
      localStorage.setItem('glmkit.annotator', annotator.trim());
      setStarted(true);
      void next();
    };
    return html`<form class="card" id="annotator-form" onSubmit=${start} style="max-width: 520px">
      <p>Labels are stored with your name. Answers are shown in a random order, without model names.</p>
      <div class="row"><label>Your name <input id="annotator" value=${annotator} required maxlength="64" onInput=${(e) => setAnnotator(e.target.value)} /></label>
      <button class="primary" type="submit">Start</button></div>
      <${SamplingRow} s=${sampling} set=${setSampling} />
      <p><a href="#/label/stats">Statistics</a></p>
    </form>`;
  }
  const prompt = item?.messages.filter((m) => m.role === 'user').at(-1)?.content;
  return html`<div class="label">
    <div class="row">
      <span class="progress" id="progress">${progress ? `${annotator}: ${progress.labelled_by_you} labelled · ${progress.labels} labels on ${progress.comparisons} comparisons · ${progress.queued} prompts queued` : ''}</span>
      <a href="#/label/stats" style="margin-left: auto">Statistics</a>
    </div>
    ${status ? html`<p class="muted" id="label-status">${status}</p>` : null}
    ${item ? html`<div id="comparison" data-id=${item.id}>
        <div class="card"><strong>Prompt</strong><div style="white-space: pre-wrap" id="label-prompt">${prompt}</div></div>
        <div class="pair"><${Side} name="left" answer=${item.left} /><${Side} name="right" answer=${item.right} /></div>
        <div class="reasons">${REASONS.map(([r, k]) => html`<label><input type="checkbox" checked=${reasons.includes(r)} onChange=${() => toggleReason(r)} /> ${r} <kbd>${k}</kbd></label>`)}</div>
        <textarea id="note" rows="2" placeholder="Note (optional)"></textarea>
        <div class="choices">${CHOICES.map(([c, k, t]) => html`<button id=${`choose-${c}`} onClick=${() => choose(c)}>${t} <kbd>${k}</kbd></button>`)}</div>
      </div>` : null}
    ${!item && status.startsWith('The queue is empty') ? html`<div class="card">
        <textarea id="typed-prompt" rows="3" placeholder="A prompt to compare two answers on" value=${typed} onInput=${(e) => setTyped(e.target.value)}></textarea>
        <div class="row"><${SamplingRow} s=${sampling} set=${setSampling} />
        <button class="primary" id="compare" disabled=${!typed.trim()} onClick=${() => compare(null, [{ role: 'user', content: typed.trim() }])}>Compare</button></div>
      </div>` : null}
  </div>`;
}
