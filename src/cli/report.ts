/** `glmkit report OUT`: writes OUT/report.html with the training curves; opens nothing. */
import { UsageError } from '../errors.js';
import { findMetricFiles, writeReport } from '../report/report.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommand } from './args.js';
import { inputDir } from './paths.js';

const spec = {
  name: 'report',
  usage: 'glmkit report OUT',
  description: 'Writes OUT/report.html: the curves of every metrics.jsonl under OUT, and summary.json.',
  positionals: { min: 1, max: 1, name: 'one output folder (e.g. glmkit report runs/tiny)' },
  schema: {},
};

export async function reportCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const dir = parsed.positionals[0];
  inputDir('report', 'OUT', dir, 'a training output folder (with metrics.jsonl)');
  if (findMetricFiles(dir).length === 0 && !existsSync(join(dir, 'summary.json'))) throw new UsageError(`report: ${dir} holds no metrics.jsonl or summary.json (subfolders searched too), so there is nothing to report; expected the --out folder of a trainer or of glmkit pipeline`);
  console.log(writeReport(dir));
  return 0;
}
