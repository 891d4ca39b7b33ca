/**
 * Loss curves of pipeline runs side by side, stage by stage: one SVG per stage (every run's loss
 * against the step, EMA-smoothed over the raw points) and a table of the mean loss over each tenth of
 * the run, with each run's difference from the first. Used for docs/performance.md "Mixed-precision
 * training" (float32 runs against a `--mixed-precision bf16` run of the same data and initial
 * weights). Run from the repository root:
 *   npx tsx scripts/compare-curves.ts --run f32=RUN_DIR --run bf16=RUN_DIR [--run ...] --stages pretrain,sft --out DIR
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { xyChart } from '../src/report/svg.js';

const { values } = parseArgs({ options: { run: { type: 'string', multiple: true }, stages: { type: 'string', default: 'pretrain,sft' }, out: { type: 'string' } } });
const runs = (values.run ?? []).map((r) => ({ name: r.slice(0, r.indexOf('=')), dir: r.slice(r.indexOf('=') + 1) }));
if (runs.length < 2 || runs.some((r) => !r.name || !r.dir) || !values.out) throw new Error('usage: --run NAME=RUN_DIR --run NAME=RUN_DIR [...] --out DIR [--stages pretrain,sft]');

function losses(run: string, stage: string): Array<{ x: number; y: number }> {
  return readFileSync(join(run, stage, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>)
    .filter((m) => Number.isFinite(m.loss) && m.step !== undefined).map((m) => ({ x: m.step, y: m.loss }));
}

mkdirSync(values.out, { recursive: true });
for (const stage of values.stages.split(',')) {
  const curves = runs.map((r) => ({ name: r.name, points: losses(r.dir, stage) }));
  writeFileSync(join(values.out, `${stage}-loss.svg`), xyChart({
    title: `${stage}: training loss`, xLabel: 'step', yLabel: 'loss',
    series: curves.map((c) => ({ name: c.name, points: c.points, line: true, markers: false, smooth: 0.9 })),
  }));
  const last = Math.max(...curves.map((c) => c.points.at(-1)!.x));
  const rows = [`| ${stage} steps | ${curves.map((c) => c.name).join(' | ')} | ${curves.slice(1).map((c) => `${c.name} - ${curves[0].name}`).join(' | ')} |`, `|---|${curves.map(() => '---|').join('')}${curves.slice(1).map(() => '---|').join('')}`];
  for (let d = 0; d < 10; d++) {
    const lo = (d * last) / 10, hi = ((d + 1) * last) / 10;
    const means = curves.map((c) => {
      const w = c.points.filter((p) => p.x > lo && p.x <= hi);
      return w.reduce((t, p) => t + p.y, 0) / w.length;
    });
    const diffs = means.slice(1).map((m) => m - means[0]);
    rows.push(`| ${Math.round(lo) + 1}-${Math.round(hi)} | ${means.map((m) => m.toFixed(4)).join(' | ')} | ${diffs.map((x) => (x >= 0 ? '+' : '') + x.toFixed(4)).join(' | ')} |`);
  }
  console.log(rows.join('\n') + '\n');
}
