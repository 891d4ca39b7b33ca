/**
 * `glmkit labels export --db F --out pairs.jsonl` and `glmkit labels stats --db F`: the preference
 * labels made in the web UI's Compare & label view, as TRL preference JSONL that `glmkit reward`
 * trains on as is, or as counts, win rates and agreement between annotators.
 */
import { writeTextAtomic } from '../io/atomic.js';
import { UsageError } from '../errors.js';
import { preferencePairs, labelStats } from '../server/ui/labels-report.js';
import { LabelStore } from '../server/ui/labels-store.js';
import { commandHelp, field, parseCommand } from './args.js';
import { inputFile, outputFile } from './paths.js';

const exportSpec = {
  name: 'labels export',
  usage: 'glmkit labels export --db FILE.db --out pairs.jsonl [--overwrite]',
  description: 'Writes one TRL preference record {prompt, chosen, rejected} (message lists) per labelled comparison, the answer\nchosen by more annotators winning, with the labels (who, choice, reasons, note), models and sampling settings.\nLeft out and counted: comparisons labelled only tie or both bad, and those where annotators split evenly.',
  schema: {
    db: field('path', '', 'the labels database (glmkit serve --labels FILE.db)', { required: true, placeholder: 'file.db' }),
    out: field('path', '', 'the JSONL file to write', { required: true, placeholder: 'file' }),
    overwrite: field('boolean', false, 'replace an existing --out file'),
  },
};

const statsSpec = {
  name: 'labels stats',
  usage: 'glmkit labels stats --db FILE.db',
  description: "Prints the labels' counts, win rates per model, the share of left-side choices and Cohen's kappa between annotators, as JSON.",
  schema: { db: field('path', '', 'the labels database', { required: true, placeholder: 'file.db' }) },
};

export async function labelsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') {
    console.log(`${commandHelp(exportSpec)}\n\n${commandHelp(statsSpec)}`);
    return 0;
  }
  if (sub === 'export') {
    const parsed = parseCommand(exportSpec, rest);
    if (!parsed) return 0;
    const v = parsed.values;
    inputFile('labels export', '--db', v.db, 'a labels database (SQLite)');
    outputFile('labels export', '--out', v.out, v.overwrite, 'a JSONL file');
    const store = new LabelStore(v.db);
    try {
      const { records, ties, bothBad, disagreed } = preferencePairs(store);
      writeTextAtomic(v.out, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
      console.log(`glmkit labels export: ${records.length} pairs to ${v.out} (left out: ${ties} ties, ${bothBad} both bad, ${disagreed} with annotators split evenly)`);
    } finally {
      store.close();
    }
    return 0;
  }
  if (sub === 'stats') {
    const parsed = parseCommand(statsSpec, rest);
    if (!parsed) return 0;
    inputFile('labels stats', '--db', parsed.values.db, 'a labels database (SQLite)');
    const store = new LabelStore(parsed.values.db);
    try {
      console.log(JSON.stringify(labelStats(store), null, 2));
    } finally {
      store.close();
    }
    return 0;
  }
  throw new UsageError(`labels: expected 'export' or 'stats', got ${sub === undefined ? 'nothing' : `'${sub}'`} (glmkit labels export --db F --out pairs.jsonl)`);
}
