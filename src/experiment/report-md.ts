/** DIR/report.md of an experiment: the claim, the settings, the arms, the comparisons, the verdict in words, the command. */
import type { ExperimentResult } from './runner.js';
import type { Plot } from './types.js';

function fmt(v: unknown): string {
  if (typeof v !== 'number') return typeof v === 'string' ? v : JSON.stringify(v);
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(3);
}

const VERDICT_WORDS = {
  reproduced: 'Reproduced: the whole 95% interval of the claimed difference lies on the claimed side.',
  'not reproduced': 'Not reproduced: the whole 95% interval of the claimed difference lies on the other side of the claim.',
  inconclusive: 'Inconclusive: the 95% interval of the claimed difference includes the claim\'s boundary, so this run cannot tell.',
} as const;

/**
 * An arm's metrics as table cells: numbers and strings, nested objects flattened to dotted keys
 * (`scores.student.tool`); arrays and deeper levels are left to result.json.
 */
export function armCells(metrics: Record<string, unknown>, prefix = '', depth = 0): [string, number | string][] {
  return Object.entries(metrics).flatMap(([k, v]): [string, number | string][] => {
    const key = prefix + k;
    if (typeof v === 'number' || typeof v === 'string') return [[key, v]];
    if (v && typeof v === 'object' && !Array.isArray(v) && depth < 2) return armCells(v as Record<string, unknown>, `${key}.`, depth + 1);
    return [];
  });
}

export function renderReport(r: ExperimentResult, plots: readonly Plot[]): string {
  const armNames = Object.keys(r.arms);
  const cells = Object.fromEntries(armNames.map((a) => [a, Object.fromEntries(armCells(r.arms[a]))]));
  const metricKeys = [...new Set(armNames.flatMap((a) => Object.keys(cells[a])))];
  const lines = [
    `# ${r.experiment}: ${r.paper}`,
    '',
    `**Claim.** ${r.claim}`,
    '',
    `**Verdict: ${r.verdict}.** ${VERDICT_WORDS[r.verdict]}`,
    '',
    '## Comparisons',
    '',
    '| metric | a | b | a - b | 95% CI | n | claim | method | verdict |',
    '|---|---|---|---|---|---|---|---|---|',
    ...r.comparisons.map((c) => `| ${c.metric} | ${c.a} | ${c.b} | ${fmt(c.diff)} | [${fmt(c.ci95[0])}, ${fmt(c.ci95[1])}] | ${c.n} | a - b ${c.claim === 'greater' ? '>' : '<'} ${c.margin}${c.decides ? '' : ' (check)'} | ${c.method} | ${c.verdict} |`),
    '',
    '## Arms',
    '',
    `| arm | ${metricKeys.join(' | ')} |`,
    `|---|${metricKeys.map(() => '---').join('|')}|`,
    ...armNames.map((a) => `| ${a} | ${metricKeys.map((k) => (cells[a][k] === undefined ? '' : fmt(cells[a][k]))).join(' | ')} |`),
    '',
    ...(r.notes.length ? ['## What was measured', '', ...r.notes.map((n) => `- ${n}`), ''] : []),
    ...(plots.length ? ['## Plots', '', ...plots.flatMap((p) => [`![${p.caption}](${p.file})`, '', `*${p.caption}*`, ''])] : []),
    '## Settings',
    '',
    '```json',
    JSON.stringify(r.settings, null, 2),
    '```',
    '',
    `Took ${(r.seconds / 60).toFixed(1)} minutes. Reproduce with:`,
    '',
    '```sh',
    r.command,
    '```',
    '',
  ];
  return lines.join('\n');
}
