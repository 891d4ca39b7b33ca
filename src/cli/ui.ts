/** `glmkit ui --runs DIR [--labels F.db]`: the web UI without a model (runs dashboard, label stats and export). */
import { createUiServer } from '../server/app.js';
import { checkListen } from '../server/listen-check.js';
import { runUntilStopped } from '../server/serve-start.js';
import { field, parseCommand, usageError } from './args.js';
import { inputDir } from './paths.js';

const spec = {
  name: 'ui',
  usage: 'glmkit ui --runs DIR [--labels FILE.db] [--host H] [--port P] [--api-key K]',
  description: 'Serves the web UI alone (no model): the runs dashboard of --runs, and the label statistics of --labels.\nTo chat or label, use glmkit serve --model DIR (the same UI, with a model). See docs/web-ui.md.',
  schema: {
    runs: field<string | null>('path', null, 'a folder of run folders (pipeline, trainer or experiment outputs)', { nullable: true, placeholder: 'dir' }),
    labels: field<string | null>('path', null, 'SQLite file of preference labels (stats only without a model)', { nullable: true, placeholder: 'file.db' }),
    host: field('string', '127.0.0.1', 'address to listen on (127.0.0.1: this machine only)'),
    port: field('int', 8000, 'port (0 = any free port)', { min: 0, max: 65535 }),
    api_key: field<string | null>('string', null, 'require this key (a login page in the browser; default: GLMKIT_API_KEY or none)', { nullable: true, placeholder: 'key' }),
  },
};

export async function uiCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  if (v.runs === null && v.labels === null) throw usageError('ui', 'give --runs DIR (a folder of run folders) and/or --labels FILE.db');
  if (v.runs !== null) inputDir('ui', '--runs', v.runs, 'a folder of run folders');
  await checkListen(v.host, v.port);
  const key = v.api_key ?? process.env.GLMKIT_API_KEY ?? null;
  const server = await createUiServer({ apiKey: key, ui: { runsDir: v.runs, labelsDb: v.labels } });
  return runUntilStopped(server, v.host, v.port, !!key, (url) => [`glmkit ui: web UI at ${url}/ (ctrl-c to stop)`]);
}
