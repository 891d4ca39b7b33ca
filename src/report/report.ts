/**
 * `glmkit report OUT`: OUT/report.html with the training curves of every metrics.jsonl found under
 * OUT (one section per run), drawn as inline SVG (no script, no network), plus summary.json when
 * present. Opens nothing by itself.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readMetrics, type Metrics } from '../trainers/base/metrics.js';

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function fmtNum(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(2) : Number(v.toPrecision(4)).toString();
}

/** One SVG line chart of `key` against step. */
export function lineChart(title: string, points: [number, number][], w = 420, h = 220): string {
  const pad = { l: 56, r: 12, t: 24, b: 30 };
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]).filter(Number.isFinite);
  if (ys.length === 0) return '';
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  let y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const X = (x: number) => pad.l + ((x - x0) / (x1 - x0)) * (w - pad.l - pad.r);
  const Y = (y: number) => h - pad.b - ((y - y0) / (y1 - y0)) * (h - pad.t - pad.b);
  const path = points.filter((p) => Number.isFinite(p[1])).map((p, i) => `${i ? 'L' : 'M'}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join('');
  const ticks = [y0, (y0 + y1) / 2, y1].map((v) => `<text x="${pad.l - 6}" y="${Y(v) + 4}" text-anchor="end">${fmtNum(v)}</text><line x1="${pad.l}" x2="${w - pad.r}" y1="${Y(v)}" y2="${Y(v)}" class="grid"/>`).join('');
  return `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(title)}">
<text x="${pad.l}" y="16" class="title">${esc(title)}</text>${ticks}
<text x="${pad.l}" y="${h - 8}">${x0}</text><text x="${w - pad.r}" y="${h - 8}" text-anchor="end">step ${x1}</text>
<path d="${path}" class="line"/>${points.length === 1 ? `<circle cx="${X(points[0][0])}" cy="${Y(points[0][1])}" r="3" class="dot"/>` : ''}</svg>`;
}

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

function runSection(name: string, rows: Metrics[]): string {
  const keys = new Set<string>();
  for (const r of rows) for (const [k, v] of Object.entries(r)) if (k !== 'step' && typeof v === 'number') keys.add(k);
  const preferred = ['loss', 'eval_loss', 'learning_rate', 'grad_norm', 'tokens_per_s'];
  const ordered = [...preferred.filter((k) => keys.has(k)), ...[...keys].filter((k) => !preferred.includes(k)).sort()];
  const charts = ordered
    .map((k) => lineChart(k, rows.filter((r) => typeof r[k] === 'number' && typeof r.step === 'number').map((r) => [r.step as number, r[k] as number])))
    .join('\n');
  const last = rows[rows.length - 1] ?? {};
  return `<section><h2>${esc(name)}</h2><p>${rows.length} logged steps; last: ${esc(Object.entries(last).map(([k, v]) => `${k} ${typeof v === 'number' ? fmtNum(v) : v}`).join(', '))}</p><div class="charts">${charts}</div></section>`;
}

export function writeReport(out: string): string {
  const files = findMetricFiles(out);
  const sections = files.map((f) => runSection(relative(out, join(f, '..')) || '.', readMetrics(f)));
  const summaryPath = join(out, 'summary.json');
  const summary = existsSync(summaryPath) ? `<section><h2>summary.json</h2><pre>${esc(readFileSync(summaryPath, 'utf8'))}</pre></section>` : '';
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>glmkit report: ${esc(out)}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}svg{margin:6px;background:#fafafa;border:1px solid #ddd}
svg text{font-size:11px;fill:#555}.title{font-weight:600;fill:#222}.line{fill:none;stroke:#2a6fdb;stroke-width:1.6}.dot{fill:#2a6fdb}
.grid{stroke:#e5e5e5}.charts{display:flex;flex-wrap:wrap}pre{background:#f4f4f4;padding:12px;overflow:auto}</style></head>
<body><h1>glmkit report</h1><p>${esc(out)}: ${files.length} run${files.length === 1 ? '' : 's'}</p>${summary}${sections.join('\n')}</body></html>\n`;
  const file = join(out, 'report.html');
  writeFileSync(file, html);
  return file;
}
