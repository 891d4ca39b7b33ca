/** `glmkit report OUT`: writes OUT/report.html with the training curves; opens nothing. */
import { writeReport } from '../report/report.js';
import { parseCommand } from './args.js';
import { inputDir } from './paths.js';

const spec = {
  name: 'report',
  usage: 'glmkit report OUT',
  description: 'Writes OUT/report.html for a pipeline run, a trainer\'s --out folder or an experiment folder: the outcomes at a glance, where the time went, the curves of every metrics.jsonl under OUT, samples and summary.json.',
  positionals: { min: 1, max: 1, name: 'one output folder (e.g. glmkit report runs/tiny)' },
  schema: {},
};

export async function reportCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const dir = parsed.positionals[0];
  inputDir('report', 'OUT', dir, 'a pipeline, trainer or experiment output folder');
  // a folder with nothing to report is a DataError from writeReport (exit 1), naming the folder
  console.log(writeReport(dir));
  return 0;
}
