/**
 * The OpenAI-compatible HTTP server (fastify): /health, /v1/models, /v1/chat/completions,
 * /v1/completions. Generation runs in one engine on a worker thread (engine-client.ts); this thread
 * only validates, tokenizes and streams. Every error is answered OpenAI-shaped.
 */
import { basename, resolve } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ConfigError, GlmkitError } from '../errors.js';
import type { SentenceEncoder } from '../embed/encoder.js';
import { loadEncoder } from '../embed/st-layout.js';
import { embeddings } from './embeddings.js';
import { loadTokenizer, STOP_TOKENS } from '../tokenizer/index.js';
import { ApiError } from './api-error.js';
import { chatCompletions } from './chat.js';
import type { WeightDtype } from '../models/glm/checkpoint.js';
import { completions } from './completions.js';
import { DEFAULT_LIMITS, ServerContext, type ServerLimits, type SseWriter } from './context.js';
import { EngineClient, EngineRejectedError, OverloadedError } from './engine-client.js';
import { ServerAgents, type ServerAgentOptions } from './agent-route.js';
import { ListenError, listenErrorMessage } from './listen-check.js';
import { Access } from './ui/auth.js';
import { isUiPage, registerUi, type UiOptions } from './ui/index.js';
import { registerWeightRoutes } from './weights-route.js';
import { visionServing, type ServerImageOptions } from './images.js';
import { isGlm4vFolder } from '../models/glm4v/checkpoint.js';
import { loadRewardServing, type RewardServing } from './reward-model.js';

export interface ServerOptions {
  /** the chat model folder (optional when an embedding model is served) */
  modelDir?: string | null;
  /** a sentence-encoder folder served on /v1/embeddings */
  embeddingModelDir?: string | null;
  /** the id clients send as `model` for embeddings (default: the folder name) */
  embeddingModelId?: string;
  /** the id clients send as `model` (default: the folder name) */
  modelId?: string;
  /**
   * more chat model folders, each in its own generation worker, served under its folder name (or its
   * parent's and its own, `run-final`, when names clash); the labelling view compares the first two
   */
  moreModelDirs?: string[];
  /** bearer key required on /v1/* when set */
  apiKey?: string | null;
  /** sequences decoded together */
  maxSlots?: number;
  /** how the chat model keeps its matrices in memory (default f32) */
  dtype?: WeightDtype;
  /** requests in flight at most (429 beyond) */
  maxPending?: number;
  /** context per sequence (default: the model's max_position_embeddings) */
  contextLength?: number;
  limits?: Partial<ServerLimits>;
  /** server-side tool execution (the `agent` request field); off when neither dir nor docs is set */
  agent?: ServerAgentOptions;
  /** a generation request running longer is stopped and answered 504 (default: no limit) */
  requestTimeoutMs?: number | null;
  /** the web UI at / (chat, labelling, runs dashboard); null: no UI */
  ui?: UiOptions | null;
  /** enables POST /update_weights_from_disk for folders under this root (weights-route.ts) */
  weightsRoot?: string | null;
  /** a reward model folder (glmkit reward, or reward --process) served on POST /v1/score */
  rewardModelDir?: string | null;
  /** the id clients send as `model` for scoring (default: the folder name) */
  rewardModelId?: string;
  /** where a vision-language model may read request images from (images.ts); default: data URLs only */
  images?: ServerImageOptions;
}

export interface GlmServer {
  app: FastifyInstance;
  /** the chat model's context (null when only an embedding model is served) */
  context: ServerContext | null;
  /** the ids of the served models (chat model first) */
  modelIds: string[];
  /** Starts listening; resolves to the base URL (http://host:port). */
  listen(host?: string, port?: number): Promise<string>;
  close(): Promise<void>;
}

/** Maps anything thrown in a handler to an OpenAI error. */
function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof OverloadedError) return new ApiError(e.status, e.message, e.status === 429 ? 'rate_limit_error' : 'server_error', null, e.status === 429 ? 'rate_limit_exceeded' : 'engine_unavailable');
  if (e instanceof EngineRejectedError || e instanceof GlmkitError) return new ApiError(400, e.message, 'invalid_request_error', null, 'invalid_value');
  const fe = e as { statusCode?: number; code?: string; message?: string };
  if (fe && typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const msg = fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || /JSON/i.test(fe.message ?? '') ? `the request body is not valid JSON: ${fe.message}` : fe.message ?? 'bad request';
    return new ApiError(fe.statusCode, msg, 'invalid_request_error', null, fe.code ?? null);
  }
  return new ApiError(500, `internal server error: ${(e as Error)?.message ?? String(e)}`, 'server_error', null, 'internal_error');
}

/** The answer to a request stopped by --request-timeout. */
function timeoutError(ms: number): ApiError {
  return new ApiError(504, `the request took longer than the server's --request-timeout of ${ms / 1000} s and was stopped; ask for fewer tokens (max_tokens) or retry when the server is less busy`, 'timeout_error', null, 'request_timeout');
}

/** An SSE writer over the raw response (the reply is hijacked: fastify no longer owns it). */
function sseWriter(reply: FastifyReply, timedOut: () => ApiError | null): SseWriter {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
  return {
    send: (obj) => {
      if (!res.destroyed) res.write(`data: ${JSON.stringify(obj)}\n\n`);
    },
    end: () => {
      if (res.destroyed) return;
      // A stream cut by the timeout ends with the error as its last event, never as a normal finish.
      const e = timedOut();
      res.end(e ? `data: ${JSON.stringify(e.body())}\n\ndata: [DONE]\n\n` : 'data: [DONE]\n\n');
    },
  };
}

export async function createServer(opts: ServerOptions): Promise<GlmServer> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const encoder = opts.embeddingModelDir ? loadEncoder(opts.embeddingModelDir) : null;
  const embeddingId = opts.embeddingModelDir ? opts.embeddingModelId ?? basename(resolve(opts.embeddingModelDir)) : null;
  const reward = opts.rewardModelDir ? loadRewardServing(opts.rewardModelDir, opts.rewardModelId) : null;
  if (!opts.modelDir) {
    if (!(encoder && embeddingId) && !reward) throw new ConfigError('serve: no model to serve; give --model DIR (chat), --embedding-model DIR and/or --reward-model DIR');
    return createPoolingOnlyServer(opts, limits, encoder && embeddingId ? { encoder, id: embeddingId } : null, reward);
  }
  const agents = opts.agent && (opts.agent.dir || (opts.agent.docs?.length ?? 0) > 0) ? new ServerAgents(opts.agent) : null;
  const contexts: ServerContext[] = [];
  const closeEngines = async () => {
    for (const c of contexts) await c.engine.close();
  };
  try {
    const ids = chatModelIds(opts.modelDir, opts.modelId, opts.moreModelDirs ?? []);
    for (const [i, dir] of [opts.modelDir, ...(opts.moreModelDirs ?? [])].entries()) contexts.push(await startChatModel(dir, ids[i], opts, limits, agents));
  } catch (e) {
    await closeEngines();
    await agents?.close();
    throw e;
  }
  const ctx = contexts[0];
  const { engine } = ctx;
  const modelId = ctx.modelId;
  const created = Math.floor(Date.now() / 1000);

  const models: ModelEntry[] = contexts.map((c) => ({ id: c.modelId, object: 'model', created, owned_by: 'glmkit', max_model_len: c.contextLength }));
  if (encoder && embeddingId) models.push(embeddingEntry(embeddingId, encoder, created));
  if (reward) models.push(reward.entry(created));
  const access = new Access(opts.apiKey);
  const app = baseApp(access, limits, models);
  app.get('/health', async () => ({ status: engine.state, model: modelId, in_flight: engine.inFlight, active_slots: engine.activeSlots, ...engine.stats }));
  if (encoder && embeddingId) app.post('/v1/embeddings', async (req) => embeddings(encoder, embeddingId, req.body));
  reward?.register(app);

  /** Runs a generation route; a client that goes away aborts its requests (freeing engine slots). */
  const route = (handler: typeof chatCompletions) => async (req: FastifyRequest, reply: FastifyReply) => {
    const abort = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    const limitMs = opts.requestTimeoutMs ?? null;
    let timedOut: ApiError | null = null;
    const timer = limitMs === null ? null : setTimeout(() => {
      timedOut = timeoutError(limitMs);
      abort.abort();
    }, limitMs);
    let streaming = false;
    try {
      // the context of the model the request names (the first model's reports an unknown name)
      const named = (req.body as { model?: unknown } | null)?.model;
      const out = await handler(contexts.find((c) => c.modelId === named) ?? ctx, req.body, abort.signal, () => {
        streaming = true;
        return sseWriter(reply, () => timedOut);
      });
      if (timedOut && !streaming) throw timedOut;
      if (out) return reply.send(out);
    } catch (e) {
      if (!streaming) throw timedOut ?? e;
      // Headers are gone: report the error as a final event.
      if (!reply.raw.destroyed) reply.raw.end(`data: ${JSON.stringify(toApiError(timedOut ?? e).body())}\n\ndata: [DONE]\n\n`);
    } finally {
      if (timer) clearTimeout(timer);
    }
    return reply;
  };
  app.post('/v1/chat/completions', route(chatCompletions));
  app.post('/v1/completions', route(completions));
  let closeUi: () => Promise<void> = async () => undefined;
  try {
    if (opts.weightsRoot) registerWeightRoutes(app, engine, { root: opts.weightsRoot, apiKey: opts.apiKey });
    const loadModel = checkpointLoader(contexts, models, opts, limits, agents);
    if (opts.ui) closeUi = await registerUi(app, access, contexts.map((c) => c.modelId), { ...opts.ui, loadModel }, agents?.available() ?? []);
  } catch (e) {
    await agents?.close();
    await closeEngines();
    throw e;
  }

  return serverOf(app, ctx, models.map((m) => m.id), async () => {
    await closeUi();
    await agents?.close();
    await closeEngines();
  });
}

/** The ids of the chat models: `modelId` or the folder name; a clashing name becomes `parent-name`. */
export function chatModelIds(first: string, firstId: string | undefined, more: string[]): string[] {
  const ids = [firstId ?? basename(resolve(first))];
  for (const dir of more) {
    let id = basename(resolve(dir));
    if (ids.includes(id)) id = `${basename(resolve(dir, '..'))}-${id}`;
    if (ids.includes(id)) throw new ConfigError(`serve: two --model folders are both named '${id}'; give folders with different names (or parents)`);
    ids.push(id);
  }
  return ids;
}

/** Checkpoints loaded on demand (the runs view's "Chat" link) at most, beside the --model ones. */
export const MAX_LOADED_CHECKPOINTS = 2;

/**
 * Loads a checkpoint folder into a new worker once (served as `parent-name`, e.g. `sft-final`) and
 * adds it to the served models; a folder already loaded answers with its id.
 */
function checkpointLoader(contexts: ServerContext[], models: ModelEntry[], opts: ServerOptions, limits: ServerLimits, agents: ServerAgents | null): (dir: string) => Promise<string> {
  const loading = new Map<string, Promise<string>>();
  const taken = new Set<string>();
  return (dir) => {
    const known = loading.get(dir);
    if (known) return known;
    if (loading.size >= MAX_LOADED_CHECKPOINTS) {
      return Promise.reject(new ApiError(429, `this server already serves ${MAX_LOADED_CHECKPOINTS} checkpoints opened from the runs view; restart it (or serve the checkpoint with glmkit serve --model DIR)`, 'invalid_request_error', 'checkpoint', 'too_many_models'));
    }
    const base = `${basename(resolve(dir, '..'))}-${basename(dir)}`;
    let id = base;
    for (let k = 2; contexts.some((c) => c.modelId === id) || taken.has(id); k++) id = `${base}-${k}`;
    taken.add(id);
    const p = startChatModel(dir, id, opts, limits, agents).then((c) => {
      contexts.push(c);
      models.push({ id: c.modelId, object: 'model', created: Math.floor(Date.now() / 1000), owned_by: 'glmkit', max_model_len: c.contextLength });
      return c.modelId;
    }, (e) => {
      loading.delete(dir);
      taken.delete(id);
      throw e;
    });
    loading.set(dir, p);
    return p;
  };
}

/** Loads a chat model into its own generation worker (a glm4v folder: the vision engine, and request images are read). */
async function startChatModel(dir: string, id: string, opts: ServerOptions, limits: ServerLimits, agents: ServerAgents | null): Promise<ServerContext> {
  const tokenizer = loadTokenizer(dir);
  const vision = isGlm4vFolder(dir) ? visionServing(dir, opts.images) : null;
  const engine = await EngineClient.start(dir, { maxSlots: opts.maxSlots, dtype: opts.dtype, maxPending: opts.maxPending, slotCapacity: opts.contextLength, vocabLimit: tokenizer.vocabSize });
  const stopTokens = STOP_TOKENS.map((t) => tokenizer.tokenToId(t)).filter((x): x is number => x !== undefined);
  return new ServerContext(engine, tokenizer, id, engine.slotCapacity, stopTokens, limits, agents, vision);
}

interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  [k: string]: unknown;
}

function embeddingEntry(id: string, enc: SentenceEncoder, created: number): ModelEntry {
  return { id, object: 'model', created, owned_by: 'glmkit', type: 'embedding', dimensions: enc.dimension, max_model_len: enc.config.maxSeqLength };
}

/** The fastify app with the error handlers, the API key and origin checks and the model list. */
function baseApp(access: Access, limits: ServerLimits, models: ModelEntry[]): FastifyInstance {
  const app = Fastify({ bodyLimit: limits.bodyLimit, logger: false });
  const routes = ['/v1/models', ...(models.some((m) => m.type === 'embedding') ? ['/v1/embeddings'] : []), ...(models.some((m) => m.type === 'reward') ? ['/v1/score'] : [])].join(', ');
  const chat = models.some((m) => m.type !== 'embedding' && m.type !== 'reward') ? ', /v1/chat/completions, /v1/completions' : '';
  app.setErrorHandler((err, _req, reply) => {
    const e = toApiError(err);
    void reply.status(e.status).send(e.body());
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new ApiError(404, `no route ${req.method} ${req.url}; see ${routes}${chat}, /health`, 'invalid_request_error', null, 'not_found');
    void reply.status(404).send(e.body());
  });
  access.register(app, isUiPage);
  app.get('/v1/models', async () => ({ object: 'list', data: models }));
  app.get('/v1/models/:id', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const m = models.find((x) => x.id === req.params.id);
    if (!m) throw new ApiError(404, `The model '${req.params.id}' does not exist`, 'invalid_request_error', 'model', 'model_not_found');
    return { id: m.id, object: 'model', created: m.created, owned_by: m.owned_by };
  });
  return app;
}

/** A server of only /v1/embeddings and/or /v1/score (no chat model, no engine). */
function createPoolingOnlyServer(opts: ServerOptions, limits: ServerLimits, emb: { encoder: SentenceEncoder; id: string } | null, reward: RewardServing | null): GlmServer {
  const created = Math.floor(Date.now() / 1000);
  const models = [...(emb ? [embeddingEntry(emb.id, emb.encoder, created)] : []), ...(reward ? [reward.entry(created)] : [])];
  const app = baseApp(new Access(opts.apiKey), limits, models);
  app.get('/health', async () => ({ status: 'ready', model: models[0].id }));
  if (emb) app.post('/v1/embeddings', async (req) => embeddings(emb.encoder, emb.id, req.body));
  reward?.register(app);
  return serverOf(app, null, models.map((m) => m.id), async () => undefined);
}

/** The web UI alone (`glmkit ui`): the runs dashboard and labelling views, no model and no /v1 generation. */
export async function createUiServer(opts: { apiKey?: string | null; ui: UiOptions }): Promise<GlmServer> {
  const access = new Access(opts.apiKey);
  const app = baseApp(access, DEFAULT_LIMITS, []);
  app.get('/health', async () => ({ status: 'ready', model: null }));
  const closeUi = await registerUi(app, access, [], opts.ui);
  return serverOf(app, null, [], closeUi);
}

function serverOf(app: FastifyInstance, context: ServerContext | null, modelIds: string[], closeRest: () => Promise<void>): GlmServer {
  return {
    app,
    context,
    modelIds,
    listen: async (host = '127.0.0.1', port = 8000) => {
      try {
        await app.listen({ host, port });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) throw new ListenError(listenErrorMessage(host, port, e as NodeJS.ErrnoException));
        throw e;
      }
      const addr = app.server.address();
      const p = typeof addr === 'object' && addr ? addr.port : port;
      return `http://${host.includes(':') ? `[${host}]` : host}:${p}`;
    },
    close: async () => {
      await app.close();
      await closeRest();
    },
  };
}
