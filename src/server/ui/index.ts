/**
 * The web UI served beside the OpenAI API: `/` (chat, compare-and-label, runs dashboard; one page
 * with a tab per view), `/login` when an API key is set, the UI's files and its JSON routes under
 * /ui/api. The chat and labelling views call the same /v1 endpoints as any other client.
 */
import type { FastifyInstance } from 'fastify';
import { registerAssets, pageHtml, sendPage } from './assets.js';
import type { Access } from './auth.js';
import { registerLabelRoutes } from './labels-routes.js';
import { LabelStore } from './labels-store.js';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { ApiError } from '../api-error.js';
import { insideRoot, registerRunRoutes } from './runs.js';

export interface UiOptions {
  /** the folder whose run folders the dashboard shows (null: no dashboard) */
  runsDir?: string | null;
  /** the SQLite file of preference labels (null: no labelling) */
  labelsDb?: string | null;
  /** a prompts JSONL queued for labelling */
  labelPrompts?: string | null;
  /**
   * loads a checkpoint folder (inside --runs) into a new generation worker and resolves to the model id
   * it is served under (the runs view's "Chat" link); null: checkpoints are not served (glmkit ui)
   */
  loadModel?: ((dir: string) => Promise<string>) | null;
}

/** What the page asks first: which views exist and which models it may call. */
export interface UiConfig {
  models: string[];
  /** the server-side tools the chat may enable (agent mode) */
  agent_tools: string[];
  runs: boolean;
  labels: boolean;
  key_required: boolean;
  /** whether the runs view can open a chat with a checkpoint (POST /ui/api/runs/chat) */
  checkpoint_chat: boolean;
}

const PAGES = new Set(['/', '/index.html']);

/** Whether a path is a UI page (sent to /login without a session when a key is set). */
export function isUiPage(path: string): boolean {
  return PAGES.has(path);
}

/** Registers the UI's pages, files and routes. Returns a function that closes what they opened. */
export async function registerUi(app: FastifyInstance, access: Access, chatModels: string[], opts: UiOptions, agentTools: string[] = []): Promise<() => Promise<void>> {
  registerAssets(app);
  access.registerRoutes(app);
  const config: UiConfig = { models: chatModels, agent_tools: agentTools, runs: !!opts.runsDir, labels: !!opts.labelsDb, key_required: access.keyRequired, checkpoint_chat: !!(opts.runsDir && opts.loadModel) };
  app.get('/', async (_req, reply) => sendPage(reply, pageHtml('glmkit', 'app.js')));
  app.get('/index.html', async (_req, reply) => reply.redirect('/', 301));
  app.get('/login', async (_req, reply) => sendPage(reply, pageHtml('glmkit: log in', 'login.js')));
  app.get('/ui/api/config', async () => config);
  const closers: (() => Promise<void>)[] = [];
  if (opts.labelsDb) {
    const store = new LabelStore(opts.labelsDb);
    closers.push(async () => store.close());
    try {
      if (opts.labelPrompts) store.queuePrompts(opts.labelPrompts);
    } catch (e) {
      store.close();
      throw e;
    }
    registerLabelRoutes(app, store);
  }
  if (opts.runsDir) registerRunRoutes(app, opts.runsDir);
  if (opts.runsDir && opts.loadModel) registerCheckpointChat(app, opts.runsDir, opts.loadModel, config);
  return async () => {
    for (const c of closers) await c();
  };
}

/** POST /ui/api/runs/chat {run, checkpoint}: serves a checkpoint folder under --runs (only there) to chat with. */
function registerCheckpointChat(app: FastifyInstance, root: string, load: (dir: string) => Promise<string>, config: UiConfig): void {
  app.post('/ui/api/runs/chat', async (req) => {
    const b = (req.body ?? {}) as { run?: unknown; checkpoint?: unknown };
    if (typeof b.checkpoint !== 'string' || !/^(checkpoint-\d+|final)$/.test(b.checkpoint)) {
      throw new ApiError(400, `'checkpoint' must be "final" or "checkpoint-N", got ${JSON.stringify(b.checkpoint)}`, 'invalid_request_error', 'checkpoint', 'invalid_value');
    }
    const run = b.run ?? '';
    if (typeof run !== 'string') throw new ApiError(400, "'run' must be a run folder relative to --runs", 'invalid_request_error', 'run', 'invalid_value');
    const dir = insideRoot(root, run ? `${run}/${b.checkpoint}` : b.checkpoint);
    if (!existsSync(join(dir, 'model.safetensors')) || !existsSync(join(dir, 'config.json'))) {
      throw new ApiError(404, `'${run || '.'}/${b.checkpoint}' holds no model (config.json + model.safetensors)`, 'invalid_request_error', 'checkpoint', 'not_found');
    }
    const model = await load(dir);
    if (!config.models.includes(model)) config.models.push(model);
    return { model };
  });
}
