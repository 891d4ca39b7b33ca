/**
 * `glmkit inspect OUT`: one self-contained HTML page (OUT/inspect.html, no network, no external
 * files) over the rollout dumps of a run (--dump-rollouts: OUT/rollouts/step-<k>.jsonl, or those of
 * the trainers under a pipeline folder). Pick a run, a step and a sample; the completion's tokens
 * are coloured by a chosen quantity (advantage, ratio, KL to the reference, entropy, log-probs,
 * value) with the numbers on hover; samples filter by reward and by kept/dropped group; the same
 * prompt can be followed across steps. The sample list is virtualised (only visible rows exist in
 * the page), so large dumps stay responsive.
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DataError } from '../errors.js';
import { readJsonl } from '../data/jsonl.js';
import type { DumpRecord } from '../trainers/checks/rl-checks.js';

export interface InspectRun {
  /** the run's folder relative to OUT ('.' for OUT itself) */
  name: string;
  steps: { step: number; records: DumpRecord[] }[];
}

/** Folders under `dir` (depth <= 3) that hold a rollouts/ folder with step-<k>.jsonl files. */
export function findRolloutRuns(dir: string): InspectRun[] {
  const runs: InspectRun[] = [];
  const visit = (d: string, depth: number) => {
    const rd = join(d, 'rollouts');
    if (existsSync(rd) && statSync(rd).isDirectory()) {
      const steps = readdirSync(rd)
        .map((f) => ({ f, m: /^step-(\d+)\.jsonl$/.exec(f) }))
        .filter((x) => x.m)
        .map((x) => ({ step: Number(x.m![1]), records: readJsonl(join(rd, x.f), { allowEmpty: true }).map((r) => r.value as unknown as DumpRecord) }))
        .sort((a, b) => a.step - b.step);
      if (steps.length > 0) runs.push({ name: relative(dir, d) || '.', steps });
    }
    if (depth >= 3) return;
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory() && e.name !== 'rollouts' && !e.name.startsWith('checkpoint-') && e.name !== 'node_modules') visit(join(d, e.name), depth + 1);
  };
  visit(dir, 0);
  return runs;
}

/** Writes OUT/inspect.html (or `file`) and returns its path; DataError when OUT holds no rollout dump. */
export function writeInspector(dir: string, file = join(dir, 'inspect.html')): string {
  const runs = findRolloutRuns(dir);
  if (runs.length === 0) throw new DataError(`no rollout dumps under ${dir}: expected rollouts/step-<k>.jsonl files; run glmkit grpo or glmkit ppo with --dump-rollouts N`);
  writeFileSync(file, inspectorHtml(runs));
  return file;
}

/** The page: data as JSON inside a script element ('<' escaped), the viewer script inline. */
export function inspectorHtml(runs: readonly InspectRun[]): string {
  const data = JSON.stringify(runs).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>glmkit rollout inspector</title>
<style>${CSS}</style></head>
<body>
<header><h1>Rollout inspector</h1>
<label>run <select id="run"></select></label>
<label>step <select id="step"></select></label>
<label>colour by <select id="qty">
<option value="advantage">advantage</option><option value="ratio">ratio (trainer / sampler)</option><option value="kl">KL to reference (log-ratio)</option>
<option value="entropy">entropy</option><option value="sampler_logprob">sampler log-prob</option><option value="trainer_logprob">trainer log-prob</option><option value="value">value (PPO)</option></select></label>
<label>reward <select id="rfilter"><option value="all">all</option><option value="pos">&gt; 0</option><option value="zero">= 0</option><option value="neg">&lt; 0</option></select></label>
<label><input type="checkbox" id="keptonly"> trained groups only</label>
<span id="count"></span></header>
<main>
<section id="list" aria-label="samples"><div id="spacer"></div></section>
<section id="detail">
<div id="summary"></div>
<div id="meta"></div>
<h2>Prompt</h2><pre id="prompt"></pre>
<h2>Completion <span id="legend"></span></h2><div id="tokens"></div>
<div id="tip" hidden></div>
<h2>Reward parts</h2><table id="parts"></table>
<h2>This prompt across steps</h2><table id="across"><thead><tr><th>step</th><th>sample</th><th>reward</th><th>finish</th><th>completion</th></tr></thead><tbody></tbody></table>
</section></main>
<script type="application/json" id="data">${data}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}

const CSS = `
body{font:13px/1.4 system-ui,sans-serif;margin:0;color:#222}
header{display:flex;gap:14px;align-items:center;flex-wrap:wrap;padding:8px 12px;border-bottom:1px solid #ccc;background:#f7f7f7}
h1{font-size:16px;margin:0 8px 0 0} h2{font-size:13px;margin:12px 0 4px}
main{display:flex;height:calc(100vh - 50px)}
#list{width:380px;overflow-y:auto;position:relative;border-right:1px solid #ccc}
#spacer{position:relative}
.row{position:absolute;left:0;right:0;height:28px;line-height:28px;padding:0 8px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;cursor:pointer;border-bottom:1px solid #eee;box-sizing:border-box}
.row.sel{background:#dde8ff} .row .r{display:inline-block;width:54px;font-variant-numeric:tabular-nums}
.row.dropped{color:#888}
#detail{flex:1;overflow-y:auto;padding:8px 16px}
#summary{color:#555;margin-bottom:6px}
pre{white-space:pre-wrap;background:#f4f4f4;padding:6px;margin:0;max-height:160px;overflow:auto}
#tokens{font-family:ui-monospace,monospace;white-space:pre-wrap;line-height:1.9}
.tok{padding:1px 0;border-radius:2px;cursor:default} .tok.off{color:#999;background:none}
#tip{position:fixed;background:#222;color:#fff;padding:6px 8px;border-radius:4px;font:12px ui-monospace,monospace;pointer-events:none;white-space:pre;z-index:5}
table{border-collapse:collapse} td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}
#across tbody tr{cursor:pointer} #across tbody tr.sel{background:#dde8ff}
`;

const SCRIPT = `
const RUNS = JSON.parse(document.getElementById('data').textContent);
const $ = (id) => document.getElementById(id);
const ROW = 28;
let run = RUNS[0], stepIdx = 0, rows = [], sel = 0;
function fmt(x){ return x === null || x === undefined ? '-' : (Math.abs(x) >= 100 || x === Math.round(x) ? String(x) : x.toFixed(4)); }
function quantity(r, t, q){
  const s = r.sampler_logprob[t], tr = r.trainer_logprob[t], ref = r.ref_logprob ? r.ref_logprob[t] : null;
  if (q === 'ratio') return s === null || tr === null ? null : Math.exp(tr - s);
  if (q === 'kl') { const lp = tr ?? s; return lp === null || ref === null ? null : lp - ref; }
  const a = r[q]; return a ? a[t] : null;
}
const SIGNED = { advantage: true, ratio: true, kl: true };
function colour(v, q, lo, hi){
  if (v === null || !isFinite(v)) return 'transparent';
  if (SIGNED[q]) {
    const c = q === 'ratio' ? v - 1 : v, scale = Math.max(Math.abs(lo), Math.abs(hi));
    const x = Math.max(-1, Math.min(1, scale > 0 ? c / scale : 0)), a = Math.abs(x) * 0.75;
    return x >= 0 ? 'rgba(220,60,40,' + a.toFixed(3) + ')' : 'rgba(40,90,220,' + a.toFixed(3) + ')';
  }
  const x = hi > lo ? (v - lo) / (hi - lo) : 0.5;
  return 'rgba(230,140,20,' + (0.08 + 0.7 * x).toFixed(3) + ')';
}
function fill(select, items){ select.innerHTML = ''; items.forEach(([v, t]) => { const o = document.createElement('option'); o.value = v; o.textContent = t; select.appendChild(o); }); }
function filtered(){
  const f = $('rfilter').value, kept = $('keptonly').checked;
  return run.steps[stepIdx].records.filter((r) => (!kept || r.kept !== false) && (f === 'all' || (f === 'pos' ? r.reward > 0 : f === 'zero' ? r.reward === 0 : r.reward < 0)));
}
function stepSummary(recs){
  const finish = {};
  recs.forEach((r) => { finish[r.finish] = (finish[r.finish] || 0) + 1; });
  const groups = new Map();
  recs.forEach((r) => { const g = groups.get(r.group) || { kept: r.kept !== false, rewards: [] }; g.rewards.push(r.reward); groups.set(r.group, g); });
  const flat = [...groups.values()].filter((g) => g.rewards.every((x) => x === g.rewards[0])).length;
  const kept = [...groups.values()].filter((g) => g.kept).length;
  const mean = recs.reduce((a, r) => a + (r.reward || 0), 0) / Math.max(1, recs.length);
  return 'step: ' + recs.length + ' samples in ' + groups.size + ' groups, ' + kept + ' trained; ' + flat + ' groups with equal rewards; mean reward ' + fmt(mean) + '; finish ' + Object.entries(finish).map(([k, v]) => k + ' ' + v).join(', ');
}
function renderList(){
  $('summary').textContent = stepSummary(run.steps[stepIdx].records);
  rows = filtered();
  $('count').textContent = rows.length + ' of ' + run.steps[stepIdx].records.length + ' samples';
  $('spacer').style.height = rows.length * ROW + 'px';
  if (sel >= rows.length) sel = 0;
  drawVisible();
  renderDetail();
}
function drawVisible(){
  const list = $('list'), spacer = $('spacer');
  const first = Math.max(0, Math.floor(list.scrollTop / ROW) - 5), last = Math.min(rows.length, Math.ceil((list.scrollTop + list.clientHeight) / ROW) + 5);
  spacer.innerHTML = '';
  for (let i = first; i < last; i++) {
    const r = rows[i], d = document.createElement('div');
    d.className = 'row' + (i === sel ? ' sel' : '') + (r.kept === false ? ' dropped' : '');
    d.style.top = i * ROW + 'px'; d.dataset.index = String(i);
    d.innerHTML = '<span class="r">' + fmt(r.reward) + '</span>#' + r.sample + ' ' + r.finish + ' ';
    d.appendChild(document.createTextNode(r.completion.slice(0, 80)));
    d.onclick = () => { sel = i; drawVisible(); renderDetail(); };
    spacer.appendChild(d);
  }
}
function renderDetail(){
  const r = rows[sel], box = $('tokens');
  box.innerHTML = ''; $('parts').innerHTML = ''; $('across').tBodies[0].innerHTML = '';
  if (!r) { $('meta').textContent = 'no sample matches the filter'; $('prompt').textContent = ''; return; }
  $('meta').textContent = 'step ' + r.step + ' · sample ' + r.sample + ' · prompt ' + r.prompt_index + ' · group ' + r.group + ' · reward ' + fmt(r.reward) + ' · ' + r.finish + (r.kept === false ? ' · group dropped (not trained)' : '');
  $('prompt').textContent = r.prompt;
  const q = $('qty').value;
  const vals = r.token_ids.map((_, t) => quantity(r, t, q));
  let lo = Infinity, hi = -Infinity;
  vals.forEach((v) => { if (v !== null && isFinite(v)) { const c = q === 'ratio' ? v - 1 : v; lo = Math.min(lo, c); hi = Math.max(hi, c); } });
  if (SIGNED[q]) $('legend').textContent = '(' + q + ': blue < ' + (q === 'ratio' ? '1' : '0') + ' < red, largest |' + (q === 'ratio' ? 'ratio - 1' : q) + '| ' + fmt(Math.max(Math.abs(lo), Math.abs(hi))) + ')';
  else $('legend').textContent = '(' + q + ': light ' + fmt(lo) + ' to dark ' + fmt(hi) + ')';
  r.pieces.forEach((p, t) => {
    const s = document.createElement('span');
    s.className = 'tok' + (r.mask[t] ? '' : ' off');
    s.textContent = p; s.dataset.t = String(t);
    s.dataset.value = vals[t] === null ? '' : String(vals[t]);
    s.style.background = colour(vals[t], q, lo, hi);
    const lines = ['token ' + t + '  id ' + r.token_ids[t] + (r.mask[t] ? '' : '  (not sampled)'), 'sampler  ' + fmt(r.sampler_logprob[t]), 'trainer  ' + fmt(r.trainer_logprob[t]), 'ref      ' + fmt(r.ref_logprob ? r.ref_logprob[t] : null), 'ratio    ' + fmt(quantity(r, t, 'ratio')), 'entropy  ' + fmt(r.entropy[t]), 'advantage ' + fmt(r.advantage[t])];
    if (r.value) lines.push('value    ' + fmt(r.value[t]));
    s.title = lines.join('\\n');
    s.onmouseenter = (e) => { const tip = $('tip'); tip.textContent = s.title; tip.hidden = false; tip.style.left = e.clientX + 12 + 'px'; tip.style.top = e.clientY + 12 + 'px'; };
    s.onmouseleave = () => { $('tip').hidden = true; };
    box.appendChild(s);
  });
  Object.entries(r.reward_parts || {}).forEach(([k, v]) => { const tr = $('parts').insertRow(); tr.insertCell().textContent = k; tr.insertCell().textContent = typeof v === 'number' ? fmt(v) : String(v); });
  run.steps.forEach((st, si) => st.records.filter((x) => x.prompt_index === r.prompt_index).forEach((x) => {
    const tr = $('across').tBodies[0].insertRow();
    if (x === r) tr.className = 'sel';
    [x.step, x.sample, fmt(x.reward), x.finish, x.completion.slice(0, 80)].forEach((c) => { tr.insertCell().textContent = String(c); });
    tr.onclick = () => { stepIdx = si; $('step').value = String(si); $('rfilter').value = 'all'; $('keptonly').checked = false; rows = filtered(); sel = Math.max(0, rows.indexOf(x)); renderList(); scrollToSel(); };
  }));
}
function scrollToSel(){ const list = $('list'); if (sel * ROW < list.scrollTop || sel * ROW > list.scrollTop + list.clientHeight - ROW) { list.scrollTop = sel * ROW; drawVisible(); } }
function selectRun(i){ run = RUNS[i]; stepIdx = 0; sel = 0; fill($('step'), run.steps.map((s, j) => [j, 'step ' + s.step + ' (' + s.records.length + ')'])); renderList(); }
fill($('run'), RUNS.map((r, i) => [i, r.name]));
$('run').onchange = (e) => selectRun(Number(e.target.value));
$('step').onchange = (e) => { stepIdx = Number(e.target.value); sel = 0; $('list').scrollTop = 0; renderList(); };
$('qty').onchange = renderDetail;
$('rfilter').onchange = () => { sel = 0; renderList(); };
$('keptonly').onchange = () => { sel = 0; renderList(); };
$('list').addEventListener('scroll', drawVisible);
document.addEventListener('keydown', (e) => { if (e.key === 'ArrowDown' || e.key === 'ArrowUp') { sel = Math.max(0, Math.min(rows.length - 1, sel + (e.key === 'ArrowDown' ? 1 : -1))); scrollToSel(); drawVisible(); renderDetail(); e.preventDefault(); } });
selectRun(0);
`;
