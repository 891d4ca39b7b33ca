/**
 * SVG charts for the run report and experiment reports: bars with confidence intervals, horizontal
 * bars (a stage timeline), and x-y charts (points with error bars, curves with optional EMA
 * smoothing). Scales and ticks come from d3-scale; every chart has a title, axis labels, tick labels,
 * a legend where there are several series, and hover values (<title>), so it reads without the text.
 * Charts are standalone SVG documents; inlined in HTML they keep working (the page's CSS may hide the
 * hover-only points or switch smoothing through the classes `pt`, `raw` and `smooth`).
 */
import { scaleBand, scaleLinear, type ScaleLinear } from 'd3-scale';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf', '#7f7f7f'];

interface Layout {
  W: number;
  H: number;
  l: number;
  r: number;
  t: number;
  b: number;
}

function layout(size: { width?: number; height?: number } | undefined, legend: boolean): Layout {
  return { W: size?.width ?? 560, H: size?.height ?? 340, l: 70, r: legend ? 140 : 20, t: 36, b: 52 };
}

export const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** A short number: 3 significant digits, exponent form outside [1e-3, 1e4). */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(1) : Number(v.toPrecision(3)).toString();
}

function frame(L: Layout, title: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${L.W}" height="${L.H}" viewBox="0 0 ${L.W} ${L.H}" font-family="sans-serif" font-size="11" role="img" aria-label="${esc(title)}">
<rect width="${L.W}" height="${L.H}" fill="white"/>
<text x="${L.l}" y="20" font-size="13" font-weight="bold">${esc(title)}</text>
${body}
</svg>\n`;
}

function yAxis(L: Layout, y: ScaleLinear<number, number>, label: string): string {
  const f = y.tickFormat(5);
  const ticks = y.ticks(5).map((v) => `<line x1="${L.l}" x2="${L.W - L.r}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/><text class="tick" x="${L.l - 6}" y="${y(v) + 4}" text-anchor="end">${f(v)}</text>`);
  return `${ticks.join('\n')}
<line x1="${L.l}" x2="${L.l}" y1="${L.t}" y2="${L.H - L.b}" stroke="#333"/>
<text class="axis-label" transform="translate(16,${(L.t + L.H - L.b) / 2}) rotate(-90)" text-anchor="middle">${esc(label)}</text>`;
}

function xAxis(L: Layout, x: ScaleLinear<number, number>, label: string): string {
  const n = Math.max(2, Math.floor((L.W - L.l - L.r) / 70)); // about one tick per 70 px
  const f = x.tickFormat(n);
  const ticks = x.ticks(n).map((v) => `<line x1="${x(v)}" x2="${x(v)}" y1="${L.H - L.b}" y2="${L.H - L.b + 4}" stroke="#333"/><text class="tick" x="${x(v)}" y="${L.H - L.b + 16}" text-anchor="middle">${f(v)}</text>`);
  return `${ticks.join('\n')}
<line x1="${L.l}" x2="${L.W - L.r}" y1="${L.H - L.b}" y2="${L.H - L.b}" stroke="#333"/>
<text class="axis-label" x="${(L.l + L.W - L.r) / 2}" y="${L.H - 12}" text-anchor="middle">${esc(label)}</text>`;
}

function legend(L: Layout, names: readonly string[]): string {
  return names.map((n, i) => `<rect x="${L.W - L.r + 14}" y="${L.t + i * 18}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/><text x="${L.W - L.r + 30}" y="${L.t + i * 18 + 9}">${esc(n)}</text>`).join('\n');
}

function domainOf(values: number[], zero = false): [number, number] {
  const finite = values.filter(Number.isFinite);
  let lo = Math.min(...finite, ...(zero ? [0] : [])), hi = Math.max(...finite, ...(zero ? [0] : []));
  if (finite.length === 0) [lo, hi] = [0, 1];
  if (lo === hi) [lo, hi] = [lo - 0.5, hi + 0.5];
  const pad = (hi - lo) * 0.05;
  return [lo - (zero && lo === 0 ? 0 : pad), hi + pad];
}

export interface Bar {
  label: string;
  value: number;
  ci?: readonly [number, number];
}

function barLabel(L: Layout, cx: number, label: string): string {
  const parts = label.split(' − ');
  const lines = parts.length === 2 ? [parts[0], `− ${parts[1]}`] : [label];
  return `<text x="${cx}" y="${L.H - L.b + 16}" text-anchor="middle">${lines.map((l, i) => `<tspan x="${cx}" dy="${i ? 13 : 0}">${esc(l)}</tspan>`).join('')}</text>`;
}

/** Vertical bars with 95% interval whiskers (e.g. a difference per comparison; 0 marked). */
export function barChart(opts: { title: string; yLabel: string; bars: readonly Bar[]; size?: { width?: number; height?: number } }): string {
  const L = layout(opts.size, false);
  // labels break after ' − ' (a - b) onto a second line
  const x = scaleBand<string>().domain(opts.bars.map((b) => b.label)).range([L.l, L.W - L.r]).padding(0.3);
  const y = scaleLinear().domain(domainOf(opts.bars.flatMap((b) => [b.value, ...(b.ci ?? [])]), true)).nice().range([L.H - L.b, L.t]);
  const bars = opts.bars.map((b, i) => {
    const x0 = x(b.label)!, bw = x.bandwidth(), cx = x0 + bw / 2;
    const top = Math.min(y(b.value), y(0)), height = Math.abs(y(b.value) - y(0));
    const whisker = b.ci ? `<line x1="${cx}" x2="${cx}" y1="${y(b.ci[0])}" y2="${y(b.ci[1])}" stroke="#111" stroke-width="1.5"/><line x1="${cx - 6}" x2="${cx + 6}" y1="${y(b.ci[0])}" y2="${y(b.ci[0])}" stroke="#111"/><line x1="${cx - 6}" x2="${cx + 6}" y1="${y(b.ci[1])}" y2="${y(b.ci[1])}" stroke="#111"/>` : '';
    return `<rect x="${x0}" y="${top}" width="${bw}" height="${height}" fill="${COLORS[i % COLORS.length]}" opacity="0.8"><title>${esc(`${b.label}: ${fmt(b.value)}${b.ci ? ` [${fmt(b.ci[0])}, ${fmt(b.ci[1])}]` : ''}`)}</title></rect>${whisker}
${barLabel(L, cx, b.label)}`;
  });
  const zero = `<line x1="${L.l}" x2="${L.W - L.r}" y1="${y(0)}" y2="${y(0)}" stroke="#333" stroke-dasharray="4 3"/>`;
  const note = opts.bars.some((b) => b.ci) ? `\n<text x="${L.W - L.r}" y="20" text-anchor="end">whiskers: 95% CI</text>` : '';
  return frame(L, opts.title, `${yAxis(L, y, opts.yLabel)}\n${zero}\n${bars.join('\n')}${note}`);
}

/** Horizontal bars, one row per label, with a value label at each bar's end (e.g. seconds per stage). */
export function hbarChart(opts: { title: string; xLabel: string; rows: readonly { label: string; value: number; note?: string }[]; width?: number }): string {
  const rowH = 22;
  const L: Layout = { W: opts.width ?? 760, H: 36 + rowH * opts.rows.length + 44, l: 170, r: 160, t: 36, b: 44 };
  const x = scaleLinear().domain([0, Math.max(1e-9, ...opts.rows.map((r) => r.value))]).nice().range([L.l, L.W - L.r]);
  const bars = opts.rows.map((r, i) => {
    const yy = L.t + i * rowH + 3;
    return `<text x="${L.l - 6}" y="${yy + 12}" text-anchor="end">${esc(r.label)}</text><rect x="${L.l}" y="${yy}" width="${Math.max(1, x(r.value) - L.l)}" height="${rowH - 6}" fill="${COLORS[0]}" opacity="0.8"><title>${esc(`${r.label}: ${fmt(r.value)}${r.note ? `, ${r.note}` : ''}`)}</title></rect><text x="${x(r.value) + 6}" y="${yy + 12}">${esc(`${fmt(r.value)}${r.note ? ` · ${r.note}` : ''}`)}</text>`;
  });
  return frame(L, opts.title, `${xAxis(L, x, opts.xLabel)}\n${bars.join('\n')}`);
}

export interface XYPoint {
  x: number;
  y: number;
  /** 95% interval of y */
  yci?: readonly [number, number];
  /** 95% interval of x */
  xci?: readonly [number, number];
  /** a short label drawn beside the point (e.g. the beta) */
  label?: string;
}

export interface XYSeries {
  name: string;
  points: readonly XYPoint[];
  /** join the points in x order (a frontier or a curve) */
  line?: boolean;
  /** draw the points (default true); false: a curve whose points show on hover only */
  markers?: boolean;
  /** also draw an EMA-smoothed copy (class `smooth`; the raw line gets class `raw`) */
  smooth?: number;
}

function ema(ys: readonly number[], alpha: number): number[] {
  const out: number[] = [];
  let s = NaN;
  for (const y of ys) {
    s = Number.isFinite(s) ? alpha * s + (1 - alpha) * y : y;
    out.push(s);
  }
  return out;
}

/** Points with error bars, one colour per series, optionally joined. */
export function xyChart(opts: { title: string; xLabel: string; yLabel: string; series: readonly XYSeries[]; size?: { width?: number; height?: number } }): string {
  const L = layout(opts.size, opts.series.length > 1);
  const pts = opts.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const x = scaleLinear().domain(domainOf(pts.flatMap((p) => [p.x, ...(p.xci ?? [])]))).nice().range([L.l, L.W - L.r]);
  const y = scaleLinear().domain(domainOf(pts.flatMap((p) => [p.y, ...(p.yci ?? [])]))).nice().range([L.H - L.b, L.t]);
  const path = (xs: readonly number[], ys: readonly number[]) => xs.map((xv, k) => `${k ? 'L' : 'M'}${x(xv).toFixed(1)},${y(ys[k]).toFixed(1)}`).join('');
  const body = opts.series.map((s, i) => {
    const c = COLORS[i % COLORS.length];
    const sorted = [...s.points].filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    const xs = sorted.map((p) => p.x), ys = sorted.map((p) => p.y);
    let lines = '';
    if (s.line && sorted.length > 1) {
      lines = `<path class="${s.smooth ? 'raw' : 'line'}" d="${path(xs, ys)}" fill="none" stroke="${c}" stroke-width="1.5"/>`;
      if (s.smooth) lines += `<path class="smooth" d="${path(xs, ema(ys, s.smooth))}" fill="none" stroke="${c}" stroke-width="2"/>`;
    }
    const markers = s.markers ?? true;
    const marks = sorted.map((p) => {
      const ey = p.yci ? `<line x1="${x(p.x)}" x2="${x(p.x)}" y1="${y(p.yci[0])}" y2="${y(p.yci[1])}" stroke="${c}"/>` : '';
      const ex = p.xci ? `<line x1="${x(p.xci[0])}" x2="${x(p.xci[1])}" y1="${y(p.y)}" y2="${y(p.y)}" stroke="${c}"/>` : '';
      const label = p.label ? `<text x="${x(p.x) + 5}" y="${y(p.y) - 5}" fill="${c}">${esc(p.label)}</text>` : '';
      const tip = `<title>${esc(`${s.name}${p.label ? ` ${p.label}` : ''}: ${opts.xLabel} ${fmt(p.x)}, ${opts.yLabel} ${fmt(p.y)}${p.yci ? ` [${fmt(p.yci[0])}, ${fmt(p.yci[1])}]` : ''}`)}</title>`;
      return `${ey}${ex}<circle class="${markers ? 'mark' : 'pt'}" cx="${x(p.x).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="${markers ? 3.5 : 3}" fill="${c}"${markers ? '' : ' opacity="0"'}>${tip}</circle>${label}`;
    });
    return lines + marks.join('');
  });
  return frame(L, opts.title, `${yAxis(L, y, opts.yLabel)}\n${xAxis(L, x, opts.xLabel)}\n${body.join('\n')}${opts.series.length > 1 ? `\n${legend(L, opts.series.map((s) => s.name))}` : ''}`);
}
