/**
 * Standalone SVG plots for experiment reports: bars with confidence intervals, and x-y charts
 * (points with error bars, optionally joined: frontiers and curves). Scales and ticks come from
 * d3-scale; every chart has a title, axis labels, tick labels and a legend, and reads without the text.
 */
import { scaleBand, scaleLinear, type ScaleLinear } from 'd3-scale';

const W = 560, H = 340;
const PAD = { l: 70, r: 150, t: 36, b: 52 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf', '#7f7f7f'];

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(1) : Number(v.toPrecision(3)).toString();
}

function frame(title: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${PAD.l}" y="20" font-size="13" font-weight="bold">${esc(title)}</text>
${body}
</svg>\n`;
}

function yAxis(y: ScaleLinear<number, number>, label: string): string {
  const ticks = y.ticks(5).map((v) => `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/><text x="${PAD.l - 6}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
  const mid = (PAD.t + H - PAD.b) / 2;
  return `${ticks.join('\n')}
<line x1="${PAD.l}" x2="${PAD.l}" y1="${PAD.t}" y2="${H - PAD.b}" stroke="#333"/>
<text transform="translate(16,${mid}) rotate(-90)" text-anchor="middle">${esc(label)}</text>`;
}

function xAxis(x: ScaleLinear<number, number>, label: string): string {
  const ticks = x.ticks(6).map((v) => `<line x1="${x(v)}" x2="${x(v)}" y1="${H - PAD.b}" y2="${H - PAD.b + 4}" stroke="#333"/><text x="${x(v)}" y="${H - PAD.b + 16}" text-anchor="middle">${fmt(v)}</text>`);
  return `${ticks.join('\n')}
<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${H - PAD.b}" y2="${H - PAD.b}" stroke="#333"/>
<text x="${(PAD.l + W - PAD.r) / 2}" y="${H - 12}" text-anchor="middle">${esc(label)}</text>`;
}

function legend(names: readonly string[]): string {
  return names.map((n, i) => `<rect x="${W - PAD.r + 14}" y="${PAD.t + i * 18}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/><text x="${W - PAD.r + 30}" y="${PAD.t + i * 18 + 9}">${esc(n)}</text>`).join('\n');
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

/** Vertical bars with 95% interval whiskers (e.g. a difference per comparison; 0 marked). */
export function barChart(opts: { title: string; yLabel: string; bars: readonly Bar[] }): string {
  const x = scaleBand<string>().domain(opts.bars.map((b) => b.label)).range([PAD.l, W - PAD.r]).padding(0.3);
  const y = scaleLinear().domain(domainOf(opts.bars.flatMap((b) => [b.value, ...(b.ci ?? [])]), true)).nice().range([H - PAD.b, PAD.t]);
  const bars = opts.bars.map((b, i) => {
    const x0 = x(b.label)!, bw = x.bandwidth(), cx = x0 + bw / 2;
    const top = Math.min(y(b.value), y(0)), height = Math.abs(y(b.value) - y(0));
    const whisker = b.ci ? `<line x1="${cx}" x2="${cx}" y1="${y(b.ci[0])}" y2="${y(b.ci[1])}" stroke="#111" stroke-width="1.5"/><line x1="${cx - 6}" x2="${cx + 6}" y1="${y(b.ci[0])}" y2="${y(b.ci[0])}" stroke="#111"/><line x1="${cx - 6}" x2="${cx + 6}" y1="${y(b.ci[1])}" y2="${y(b.ci[1])}" stroke="#111"/>` : '';
    return `<rect x="${x0}" y="${top}" width="${bw}" height="${height}" fill="${COLORS[i % COLORS.length]}" opacity="0.8"><title>${esc(`${b.label}: ${fmt(b.value)}${b.ci ? ` [${fmt(b.ci[0])}, ${fmt(b.ci[1])}]` : ''}`)}</title></rect>${whisker}
<text x="${cx}" y="${H - PAD.b + 16}" text-anchor="middle">${esc(b.label)}</text>`;
  });
  const zero = `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(0)}" y2="${y(0)}" stroke="#333" stroke-dasharray="4 3"/>`;
  return frame(opts.title, `${yAxis(y, opts.yLabel)}\n${zero}\n${bars.join('\n')}\n<text x="${W - PAD.r + 14}" y="${PAD.t + 8}">whiskers: 95% CI</text>`);
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
}

/** Points with error bars, one colour per series, optionally joined. */
export function xyChart(opts: { title: string; xLabel: string; yLabel: string; series: readonly XYSeries[] }): string {
  const pts = opts.series.flatMap((s) => s.points);
  const x = scaleLinear().domain(domainOf(pts.flatMap((p) => [p.x, ...(p.xci ?? [])]))).nice().range([PAD.l, W - PAD.r]);
  const y = scaleLinear().domain(domainOf(pts.flatMap((p) => [p.y, ...(p.yci ?? [])]))).nice().range([H - PAD.b, PAD.t]);
  const body = opts.series.map((s, i) => {
    const c = COLORS[i % COLORS.length];
    const sorted = [...s.points].sort((a, b) => a.x - b.x);
    const path = s.line && sorted.length > 1 ? `<path d="${sorted.map((p, k) => `${k ? 'L' : 'M'}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join('')}" fill="none" stroke="${c}" stroke-width="1.5"/>` : '';
    const marks = sorted.map((p) => {
      const ey = p.yci ? `<line x1="${x(p.x)}" x2="${x(p.x)}" y1="${y(p.yci[0])}" y2="${y(p.yci[1])}" stroke="${c}"/>` : '';
      const ex = p.xci ? `<line x1="${x(p.xci[0])}" x2="${x(p.xci[1])}" y1="${y(p.y)}" y2="${y(p.y)}" stroke="${c}"/>` : '';
      const label = p.label ? `<text x="${x(p.x) + 5}" y="${y(p.y) - 5}" fill="${c}">${esc(p.label)}</text>` : '';
      return `${ey}${ex}<circle cx="${x(p.x)}" cy="${y(p.y)}" r="3.5" fill="${c}"><title>${esc(`${s.name}${p.label ? ` ${p.label}` : ''}: x ${fmt(p.x)}, y ${fmt(p.y)}${p.yci ? ` [${fmt(p.yci[0])}, ${fmt(p.yci[1])}]` : ''}`)}</title></circle>${label}`;
    });
    return path + marks.join('');
  });
  return frame(opts.title, `${yAxis(y, opts.yLabel)}\n${xAxis(x, opts.xLabel)}\n${body.join('\n')}\n${legend(opts.series.map((s) => s.name))}`);
}
