/** `glmkit report OUT`: writes OUT/report.html with the training curves; opens nothing. */
import { existsSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { writeReport } from '../report/report.js';
import { parseFlags } from './args.js';

export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('report', argv, { help: { type: 'boolean' } }, true);
  if (values.help) {
    console.log('usage: glmkit report OUT\n\nWrites OUT/report.html: the curves of every metrics.jsonl under OUT, and summary.json.');
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('report: expected one output folder, e.g. glmkit report runs/tiny');
  if (!existsSync(positionals[0])) throw new UsageError(`report: ${positionals[0]} does not exist`);
  console.log(writeReport(positionals[0]));
  return 0;
}
