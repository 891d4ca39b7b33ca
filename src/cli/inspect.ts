/** `glmkit inspect OUT`: writes OUT/inspect.html, the per-token rollout inspector over --dump-rollouts files. */
import { writeInspector } from '../report/inspector.js';
import { field, parseCommand } from './args.js';
import { inputDir } from './paths.js';

const spec = {
  name: 'inspect',
  usage: 'glmkit inspect OUT [--html FILE]',
  description: 'Writes a self-contained HTML inspector of the rollout dumps under OUT (glmkit grpo/ppo --dump-rollouts N): pick a step and a sample, tokens coloured by advantage, ratio, KL, entropy or log-prob with the numbers on hover, filter by reward, follow a prompt across steps.',
  positionals: { min: 1, max: 1, name: 'one run folder holding rollouts/step-<k>.jsonl (or a pipeline folder)' },
  schema: {
    html: field<string | null>('path', null, 'where to write the page (default OUT/inspect.html)', { nullable: true }),
  },
};

export async function inspectCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const dir = parsed.positionals[0];
  inputDir('inspect', 'OUT', dir, 'a run folder with rollouts/ (written by --dump-rollouts)');
  console.log(writeInspector(dir, parsed.values.html ?? undefined));
  return 0;
}
