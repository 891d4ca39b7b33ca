/**
 * `glmkit report OUT`: OUT/report.html, one self-contained page (inline SVG and CSS, a few lines of
 * script for the smoothing switch; no network) for a pipeline run, an experiment or a single
 * trainer's folder:
 *   1. the run at a glance (pipeline summary.json, or an experiment's verdict and comparisons);
 *   2. where the time went (stage timeline, throughput, the machine);
 *   3. curves per run (loss with eval loss, learning rate, gradient norm, reward, KL, length,
 *      accuracy, curriculum weights, MoE load), and the reward-vs-KL points of the aligned models;
 *   4. sample answers of each aligned model side by side, reasoning collapsed;
 *   5. the raw summary.json, collapsed.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DataError } from '../errors.js';
import { readMetrics, type Metrics } from '../trainers/base/metrics.js';
import { at, glanceRows } from './glance.js';
import { esc, fmt, hbarChart, xyChart, type XYSeries } from './svg.js';

type Obj = Record<string, unknown>;

/** Every metrics.jsonl under `dir` (3 levels deep, checkpoints skipped). */
export function findMetricFiles(dir: string, depth = 0, out: string[] = []): string[] {
  if (depth > 3 || !existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (name === 'metrics.jsonl') out.push(p);
    else if (!name.startsWith('checkpoint-') && !name.startsWith('.') && statSync(p).isDirectory()) findMetricFiles(p, depth + 1, out);
  }
  return out;
}

function readJson(file: string): Obj | null {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Obj) : null;
}

/** Charts of a run, in reading order: each gathers the metrics that answer one question. */
const GROUPS: { title: string; yLabel: string; match: (k: string) => boolean }[] = [
  { title: 'Loss', yLabel: 'loss', match: (k) => k === 'loss' || k === 'eval_loss' },
  { title: 'Reward', yLabel: 'reward', match: (k) => ['reward', 'objective/scores', 'objective/rlhf_reward', 'rewards/margins', 'exo/expected_reward', 'rewards/accuracies'].includes(k) },
  { title: 'KL to the reference', yLabel: 'KL (nats)', match: (k) => k === 'objective/kl' || k === 'kl' },
  { title: 'Response length', yLabel: 'tokens', match: (k) => k === 'completions/mean_length' || k === 'val/mean_response_length' },
  { title: 'Held-out accuracy', yLabel: 'accuracy', match: (k) => k.startsWith('eval_accuracy') },
  { title: 'Curriculum tier weights', yLabel: 'weight', match: (k) => k.startsWith('curriculum/weight_') },
  { title: 'Learning rate', yLabel: 'learning rate', match: (k) => k === 'learning_rate' },
  { title: 'Gradient norm', yLabel: 'gradient norm (before clipping)', match: (k) => k === 'grad_norm' },
  { title: 'MoE load', yLabel: 'max load / mean load - 1', match: (k) => k.startsWith('moe/') },
  { title: 'RL alarms: shares', yLabel: 'share', match: (k) => ['alarm/zero_var_groups', 'alarm/truncated', 'alarm/clip_low', 'alarm/clip_high', 'alarm/grad_norm_bad'].includes(k) },
  { title: 'RL checks: sampler vs trainer', yLabel: 'max |log-prob difference|, routing mismatch share', match: (k) => ['check/logprob_max_dev', 'check/moe_routing_mismatch'].includes(k) },
];

const SMALL = { width: 540, height: 300 };

/** Runs in the order the pipeline trains them; others after, by name. */
const RUN_ORDER = ['pretrain', 'sft', 'reward', 'ppo', 'dpo', 'exo', 'grpo'];
const runRank = (name: string) => (RUN_ORDER.indexOf(name) + 1 || RUN_ORDER.length + 1);

function curveSeries(rows: Metrics[], keys: string[]): XYSeries[] {
  return keys.map((k) => {
    const points = rows.filter((r) => typeof r[k] === 'number' && typeof r.step === 'number').map((r) => ({ x: r.step as number, y: r[k] as number }));
    return { name: k, points, line: true, markers: points.length <= 1, smooth: points.length > 20 ? 0.8 : undefined };
  });
}

function runSection(name: string, rows: Metrics[]): string {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r).filter((k) => k !== 'step' && typeof r[k] === 'number')))];
  const used = new Set<string>();
  const charts: string[] = [];
  for (const g of GROUPS) {
    const ks = keys.filter(g.match);
    if (ks.length === 0) continue;
    ks.forEach((k) => used.add(k));
    charts.push(xyChart({ title: g.title, xLabel: 'step', yLabel: g.yLabel, series: curveSeries(rows, ks), size: SMALL }));
  }
  const rest = keys.filter((k) => !used.has(k) && !['epoch', 'num_tokens'].includes(k)).sort();
  const other = rest.map((k) => xyChart({ title: k, xLabel: 'step', yLabel: k, series: curveSeries(rows, [k]), size: { width: 360, height: 240 } }));
  const last = [...rows].reverse().find((r) => typeof r.loss === 'number');
  return `<section class="run"><h3>${esc(name)}</h3><p>${rows.length} logged steps${last ? `; last loss ${fmt(last.loss as number)} at step ${last.step}` : ''}</p>
<div class="charts">${charts.join('\n')}</div>${other.length ? `<details><summary>${other.length} more metrics</summary><div class="charts">${other.join('\n')}</div></details>` : ''}</section>`;
}

function glanceSection(summary: Obj): string {
  const rows = glanceRows(summary);
  if (rows.length === 0) return '';
  const cell = (f: (typeof rows)[number]['figures'][number]) => `<span class="fig"${f.key.includes(' ') ? '' : ` data-key="${esc(f.key)}"`} data-value="${f.value}">${f.label ? `<small>${esc(f.label)}</small> ` : ''}${fmt(f.value)}${f.ci ? ` <small>[${fmt(f.ci[0])}, ${fmt(f.ci[1])}]</small>` : ''}</span>`;
  return `<section id="glance"><h2>The run at a glance</h2><table class="glance"><thead><tr><th>stage</th><th>what</th><th>figures</th><th>reading</th></tr></thead><tbody>
${rows.map((r) => `<tr><td>${esc(r.group)}</td><td>${esc(r.what)}</td><td>${r.figures.map(cell).join(' ')}</td><td>${esc(r.reading)}</td></tr>`).join('\n')}
</tbody></table></section>`;
}

/** Mean tokens/s of the metrics files under `dirs` (0 when none logged it). */
function throughput(out: string, dirs: string[]): number {
  const vals = dirs.flatMap((d) => readMetrics(join(out, d, 'metrics.jsonl')).map((r) => r.tokens_per_s).filter((v): v is number => typeof v === 'number' && v > 0));
  return vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : 0;
}

const STAGE_RUNS: Record<string, string[]> = { pretrain: ['pretrain'], sft: ['sft'], align: ['reward', 'ppo', 'dpo', 'exo'], grpo: ['grpo'] };

function timeSection(out: string, summary: Obj): string {
  const seconds = (summary.seconds ?? {}) as Record<string, number>;
  const rows = Object.entries(seconds).filter(([, v]) => typeof v === 'number').map(([stage, v]) => {
    const tps = throughput(out, STAGE_RUNS[stage] ?? []);
    return { label: stage, value: v, note: tps > 0 ? `${fmt(tps)} tok/s` : undefined };
  });
  const sub = Object.entries((summary.alignment_seconds ?? {}) as Record<string, number>).map(([k, v]) => ({ label: `align ▸ ${k}`, value: v }));
  const machine = summary.machine as Obj | undefined;
  const total = rows.reduce((a, r) => a + r.value, 0);
  const m = machine
    ? `<table class="kv">${Object.entries(machine).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(Array.isArray(v) ? v.join(' ') : String(v))}</td></tr>`).join('')}</table>`
    : '<p>The machine was not recorded in summary.json.</p>';
  return `<section id="time"><h2>Where the time went</h2><p>${fmt(total)} s in all stages.</p>${rows.length ? hbarChart({ title: 'Seconds per stage', xLabel: 'seconds', rows: [...rows, ...sub] }) : ''}<h3>Machine</h3>${m}</section>`;
}

function rewardKlSection(summary: Obj): string {
  const methods = ['sft', 'ppo', 'dpo', 'exo'].filter((m) => typeof at(summary, `${m}.gold_reward`) === 'number' && typeof at(summary, `${m}.kl`) === 'number');
  if (methods.length < 2) return '';
  const series: XYSeries[] = methods.map((m) => ({ name: m.toUpperCase(), points: [{ x: at(summary, `${m}.kl`) as number, y: at(summary, `${m}.gold_reward`) as number, label: m.toUpperCase() }] }));
  return xyChart({ title: 'Gold reward vs KL to SFT (held-out prompts)', xLabel: 'KL to SFT (nats per response)', yLabel: 'gold reward', series, size: SMALL });
}

function splitReasoning(text: string): { reasoning: string; answer: string } {
  const end = text.indexOf('</think>');
  if (end < 0) return { reasoning: '', answer: text };
  return { reasoning: text.slice(0, end).replace('<think>', '').trim(), answer: text.slice(end + '</think>'.length).trim() };
}

function samplesSection(summary: Obj): string {
  const methods = ['sft', 'ppo', 'dpo', 'exo'].filter((m) => Array.isArray(at(summary, `${m}.samples`)));
  if (methods.length === 0) return '';
  const n = Math.max(...methods.map((m) => (at(summary, `${m}.samples`) as unknown[]).length));
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const first = (at(summary, `${methods[0]}.samples`) as { prompt: string }[])[i];
    const cells = methods.map((m) => {
      const s = (at(summary, `${m}.samples`) as { response: string; gold: number }[])[i];
      if (!s) return '<td></td>';
      const { reasoning, answer } = splitReasoning(s.response);
      return `<td><div class="gold">gold ${fmt(s.gold)}</div>${reasoning ? `<details><summary>reasoning</summary><pre>${esc(reasoning)}</pre></details>` : ''}<pre>${esc(answer)}</pre></td>`;
    });
    rows.push(`<tr><td class="prompt">${esc(first?.prompt ?? '')}</td>${cells.join('')}</tr>`);
  }
  return `<section id="samples"><h2>Samples</h2><p>Held-out prompts, one sampled answer of each model (temperature 1).</p><table class="samples"><thead><tr><th>prompt</th>${methods.map((m) => `<th>${m.toUpperCase()}</th>`).join('')}</tr></thead><tbody>${rows.join('\n')}</tbody></table></section>`;
}

function experimentSection(out: string, result: Obj): string {
  const comps = (result.comparisons ?? []) as { metric: string; a: string; b: string; diff: number; ci95: [number, number]; n: number; verdict: string; decides: boolean }[];
  const svgs = readdirSync(out).filter((f) => f.endsWith('.svg')).sort().map((f) => readFileSync(join(out, f), 'utf8').replace(/^<\?xml[^>]*>/, ''));
  return `<section id="glance"><h2>${esc(String(result.experiment))}: ${esc(String(result.verdict))}</h2><p>${esc(String(result.claim))} <small>(${esc(String(result.paper))})</small></p>
<table class="glance"><thead><tr><th>metric</th><th>a − b</th><th>diff</th><th>95% CI</th><th>n</th><th>verdict</th></tr></thead><tbody>${comps.map((c) => `<tr><td>${esc(c.metric)}${c.decides ? '' : ' (check)'}</td><td>${esc(c.a)} − ${esc(c.b)}</td><td data-value="${c.diff}">${fmt(c.diff)}</td><td>[${fmt(c.ci95[0])}, ${fmt(c.ci95[1])}]</td><td>${c.n}</td><td>${esc(c.verdict)}</td></tr>`).join('')}</tbody></table>
<div class="charts">${svgs.join('\n')}</div></section>`;
}

const CSS = `body{font:14px system-ui,sans-serif;margin:24px auto;max-width:1400px;color:#222;padding:0 16px}
h1{margin-bottom:4px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:6px 8px;vertical-align:top;text-align:left}
th{background:#f6f6f6}.glance td:nth-child(3){white-space:nowrap}.fig{display:inline-block;margin-right:10px}.fig small{color:#666}
.charts{display:flex;flex-wrap:wrap;gap:8px}.charts svg{border:1px solid #e2e2e2}
.pt:hover{opacity:1 !important}.smooth{display:none}body.smoothing .smooth{display:inline}body.smoothing .raw{opacity:.25}
pre{white-space:pre-wrap;margin:4px 0;font-size:12px}.samples td{max-width:320px}.prompt{font-weight:600}.gold{color:#555;font-size:12px}
.kv th{width:120px}details{margin:6px 0}`;

/** Writes OUT/report.html and returns its path; a DataError when OUT holds nothing to report. */
export function writeReport(out: string): string {
  const files = findMetricFiles(out);
  const summary = readJson(join(out, 'summary.json'));
  const result = readJson(join(out, 'result.json'));
  if (files.length === 0 && !summary && !result) {
    throw new DataError(`no metrics.jsonl, summary.json or result.json found (searched 4 folders deep); point glmkit report at a pipeline, trainer or experiment output folder`, { file: out });
  }
  const sections: string[] = [];
  if (result) sections.push(experimentSection(out, result));
  if (summary) sections.push(glanceSection(summary), timeSection(out, summary));
  const rk = summary ? rewardKlSection(summary) : '';
  files.sort((a, b) => runRank(relative(out, join(a, '..'))) - runRank(relative(out, join(b, '..'))) || a.localeCompare(b));
  const runs = files.map((f) => runSection(relative(out, join(f, '..')) || '.', readMetrics(f)));
  if (runs.length || rk) sections.push(`<section id="curves"><h2>Curves</h2><label><input type="checkbox" id="smooth"> smooth curves (EMA 0.8)</label>${rk ? `<div class="charts">${rk}</div>` : ''}${runs.join('\n')}</section>`);
  if (summary) sections.push(samplesSection(summary), `<section id="raw"><h2>summary.json</h2><details><summary>show the raw file</summary><pre>${esc(JSON.stringify(summary, null, 2))}</pre></details></section>`);
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>glmkit report: ${esc(out)}</title><style>${CSS}</style></head>
<body><h1>glmkit report</h1><p>${esc(out)}: ${files.length} run${files.length === 1 ? '' : 's'} with metrics${summary?.preset ? `, preset ${esc(String(summary.preset))}` : ''}</p>
${sections.filter(Boolean).join('\n')}
<script>document.getElementById('smooth')?.addEventListener('change',e=>document.body.classList.toggle('smoothing',e.target.checked));</script>
</body></html>\n`;
  const file = join(out, 'report.html');
  writeFileSync(file, html);
  return file;
}
