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
import { registerRunRoutes } from './runs.js';

export interface UiOptions {
  /** the folder whose run folders the dashboard shows (null: no dashboard) */
  runsDir?: string | null;
  /** the SQLite file of preference labels (null: no labelling) */
  labelsDb?: string | null;
  /** a prompts JSONL queued for labelling */
  labelPrompts?: string | null;
}

/** What the page asks first: which views exist and which models it may call. */
export interface UiConfig {
  models: string[];
  /** the server-side tools the chat may enable (agent mode) */
  agent_tools: string[];
  runs: boolean;
  labels: boolean;
  key_required: boolean;
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
  const config: UiConfig = { models: chatModels, agent_tools: agentTools, runs: !!opts.runsDir, labels: !!opts.labelsDb, key_required: access.keyRequired };
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
  return async () => {
    for (const c of closers) await c();
  };
}
