// The Runs view: run folders under --runs, curves of metrics.jsonl (several runs overlaid, smoothing,
// log scale) that grow live through server-sent events while a run trains, summary.json / result.json
// as tables, an experiment's verdict and plots, and checkpoints with the command to chat with one.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { api, html } from './lib.js';

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4d7c0f', '#be185d'];
const POINTS = 2000;
// Runs whose files changed this recently are followed live (each follow holds a connection, and a
// browser opens only six to one server).
const LIVE_SECONDS = 120;
const q = (run) => `run=${encodeURIComponent(run)}`;

/** Exponential moving average with TensorBoard's debiasing; nulls stay nulls. */
function smooth(ys, w) {
  if (!w) return ys;
  let last = 0, n = 0;
  return ys.map((y) => {
    if (y === null) return null;
    last = last * w + (1 - w) * y;
    n++;
    return last / (1 - w ** n);
  });
}

/** One run's metrics: fetched downsampled, then followed live by server-sent events. */
function useMetrics(run, live) {
  const [data, setData] = useState(null);
  useEffect(() => {
    let closed = false, source = null, frame = 0;
    const acc = { x: [], series: {}, lines: 0 };
    const show = () => {
      frame = 0;
      if (!closed) setData({ ...acc, version: (acc.version = (acc.version ?? 0) + 1) });
    };
    api(`/ui/api/runs/metrics?${q(run)}&points=${POINTS}`).then((d) => {
      if (closed) return;
      Object.assign(acc, d);
      show();
      if (!live) return;
      source = new EventSource(`/ui/api/runs/metrics/stream?${q(run)}&offset=${d.offset}`);
      source.onmessage = (ev) => {
        const add = JSON.parse(ev.data);
        const n = acc.x.length;
        acc.x = acc.x.concat(add.x);
        for (const k of new Set([...Object.keys(acc.series), ...Object.keys(add.series)])) {
          const old = acc.series[k] ?? new Array(n).fill(null);
          acc.series[k] = old.concat(add.series[k] ?? new Array(add.x.length).fill(null));
        }
        acc.lines += add.x.length;
        if (!frame) frame = requestAnimationFrame(show);
      };
    }, (e) => setData({ error: e.message }));
    return () => {
      closed = true;
      source?.close();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [run, live]);
  return data;
}

function Chart({ title, runs, log, smoothing }) {
  const el = useRef(null);
  const plot = useRef(null);
  const aligned = useMemo(() => {
    const parts = runs.map((r) => [r.x, smooth(r.y, smoothing)]);
    return parts.length === 1 ? [parts[0][0], parts[0][1]] : uPlot.join(parts);
  }, [runs, smoothing]);
  const points = aligned[0].length;
  useEffect(() => {
    const opts = {
      width: 460, height: 240, legend: { show: runs.length > 1 },
      scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
      axes: [{ label: 'step' }, {}],
      series: [{ label: 'step' }, ...runs.map((r, i) => ({ label: r.name, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true }))],
    };
    plot.current = new uPlot(opts, aligned, el.current);
    return () => plot.current?.destroy();
  }, [runs.length, log, runs.map((r) => r.name).join('|')]);
  useEffect(() => plot.current?.setData(aligned), [aligned]);
  return html`<div class="chart" data-metric=${title} data-points=${points} data-last-x=${aligned[0].at(-1) ?? ''}><h4>${title}</h4><div ref=${el}></div></div>`;
}

/** A JSON document as a table of key paths and values (nested objects flattened, long lists cut). */
function JsonTable({ run, file }) {
  const [rows, setRows] = useState(null);
  useEffect(() => {
    api(`/ui/api/runs/json?${q(run)}&file=${file}`).then((doc) => {
      const out = [];
      const walk = (v, path) => {
        if (out.length >= 400) return;
        if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
        else if (Array.isArray(v) && v.length > 0 && v.every((x) => x && typeof x === 'object')) v.slice(0, 20).forEach((x, i) => walk(x, `${path}[${i}]`));
        else out.push([path, typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : JSON.stringify(v)]);
      };
      walk(doc, '');
      setRows(out);
    }, (e) => setRows([['error', e.message]]));
  }, [run, file]);
  return html`<details class="card" open data-file=${file}><summary><strong>${run || '.'}/${file}</strong></summary>
    ${rows ? html`<table class="json-table">${rows.map(([k, v]) => html`<tr><td>${k}</td><td class="num">${v}</td></tr>`)}</table>` : 'loading…'}</details>`;
}

/** Serves the checkpoint (the server loads it into a worker) and opens the chat with it. */
function ChatLink({ run, checkpoint }) {
  const [state, setState] = useState('');
  const open = async () => {
    setState('loading the checkpoint…');
    try {
      const r = await api('/ui/api/runs/chat', { run: run.path, checkpoint });
      location.hash = `#/chat/${encodeURIComponent(r.model)}`;
    } catch (e) {
      setState(e.message);
    }
  };
  return html`<button class="chat-checkpoint" data-checkpoint=${checkpoint} onClick=${open}>Chat</button> ${state ? html`<span class="muted">${state}</span>` : null}`;
}

function RunDetails({ root, run, chat }) {
  return html`<div class="run-details">
    ${run.verdict ? html`<p class="verdict">Experiment <strong>${run.path}</strong>: <strong>${run.verdict}</strong></p>` : null}
    ${run.plots.map((p) => html`<img class="plot" alt=${p} src=${`/ui/api/runs/plot?${q(run.path)}&file=${encodeURIComponent(p)}`} />`)}
    ${run.files.filter((f) => f === 'summary.json' || f === 'result.json').map((f) => html`<${JsonTable} run=${run.path} file=${f} />`)}
    ${run.checkpoints.length || run.has_final ? html`<div class="card checkpoints"><strong>Checkpoints of ${run.path}</strong>
      <ul>${[...run.checkpoints, ...(run.has_final ? ['final'] : [])].map((c) => html`<li><code>${c}</code> ${chat ? html`<${ChatLink} run=${run} checkpoint=${c} />` : null} — or serve it:
        <code class="cmd">glmkit serve --model ${root}/${run.path ? `${run.path}/` : ''}${c}</code></li>`)}</ul></div>` : null}
  </div>`;
}

function RunMetrics({ run, live, onData }) {
  const data = useMetrics(run.path, live);
  useEffect(() => onData(run.path, data), [data]);
  return null;
}

export function RunsView({ config, args }) {
  const [list, setList] = useState(null);
  // #/runs/a,b/c: those runs ticked (a link to a comparison); otherwise the newest run with metrics
  const [selected, setSelected] = useState(args.length ? args.join('/').split(',') : null);
  const [smoothing, setSmoothing] = useState(0);
  const [log, setLog] = useState(false);
  const [metrics, setMetrics] = useState({});
  const [error, setError] = useState(null);
  useEffect(() => {
    const load = () => api('/ui/api/runs').then((l) => {
      setList(l);
      setSelected((s) => s ?? l.runs.filter((r) => r.metrics_bytes > 0).slice(0, 1).map((r) => r.path));
    }, (e) => setError(e.message));
    load();
    const t = setInterval(load, 5000);
    return () => clearInterval(t);
  }, []);
  if (error) return html`<p class="error">${error}</p>`;
  if (!list) return html`<p>loading…</p>`;
  const sel = list.runs.filter((r) => selected?.includes(r.path));
  const toggle = (p) => setSelected(selected.includes(p) ? selected.filter((x) => x !== p) : [...selected, p]);
  const onData = (path, d) => setMetrics((m) => ({ ...m, [path]: d }));
  const withData = sel.filter((r) => r.files.includes('metrics.jsonl') && metrics[r.path] && !metrics[r.path].error);
  const keys = [...new Set(withData.flatMap((r) => Object.keys(metrics[r.path].series)))].sort();
  return html`<div class="runs">
    <aside class="card">
      <div class="muted" title=${list.root}>${list.runs.length} runs under ${list.root}</div>
      <div class="runlist">${list.runs.map((r) => html`<label data-run=${r.path}><input type="checkbox" checked=${selected?.includes(r.path)} onChange=${() => toggle(r.path)} />
        <span>${r.path || '.'}</span>${r.verdict ? html`<span class="muted">${r.verdict}</span>` : null}</label>`)}</div>
    </aside>
    <section>
      <div class="row">
        <label>Smoothing <input id="smoothing" type="range" min="0" max="0.99" step="0.01" value=${smoothing} onInput=${(e) => setSmoothing(Number(e.target.value))} /> ${smoothing.toFixed(2)}</label>
        <label class="switch"><input id="log-scale" type="checkbox" checked=${log} onChange=${(e) => setLog(e.target.checked)} /> log scale</label>
        <span class="muted" id="lines">${withData.map((r) => `${r.path || '.'}: ${metrics[r.path].lines} lines`).join(' · ')}</span>
      </div>
      ${sel.filter((r) => r.files.includes('metrics.jsonl')).map((r) => html`<${RunMetrics} key=${r.path} run=${r} live=${list.now - r.mtime < LIVE_SECONDS} onData=${onData} />`)}
      <div class="charts">${keys.map((k) => html`<${Chart} key=${k} title=${k} log=${log} smoothing=${smoothing}
        runs=${withData.filter((r) => metrics[r.path].series[k]).map((r) => ({ name: r.path || '.', x: metrics[r.path].x, y: metrics[r.path].series[k] }))} />`)}</div>
      ${sel.map((r) => html`<${RunDetails} key=${r.path} root=${list.root} run=${r} chat=${!!config?.checkpoint_chat} />`)}
    </section>
  </div>`;
}
