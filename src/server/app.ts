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
import { registerWeightRoutes } from './weights-route.js';

export interface ServerOptions {
  /** the chat model folder (optional when an embedding model is served) */
  modelDir?: string | null;
  /** a sentence-encoder folder served on /v1/embeddings */
  embeddingModelDir?: string | null;
  /** the id clients send as `model` for embeddings (default: the folder name) */
  embeddingModelId?: string;
  /** the id clients send as `model` (default: the folder name) */
  modelId?: string;
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
  /** enables POST /update_weights_from_disk for folders under this root (weights-route.ts) */
  weightsRoot?: string | null;
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
  if (!opts.modelDir) {
    if (!encoder || !embeddingId) throw new ConfigError('serve: no model to serve; give --model DIR (chat) and/or --embedding-model DIR');
    return createEmbeddingOnlyServer(opts, limits, encoder, embeddingId);
  }
  const tokenizer = loadTokenizer(opts.modelDir);
  const engine = await EngineClient.start(opts.modelDir, { maxSlots: opts.maxSlots, dtype: opts.dtype, maxPending: opts.maxPending, slotCapacity: opts.contextLength, vocabLimit: tokenizer.vocabSize });
  const stopTokens = STOP_TOKENS.map((t) => tokenizer.tokenToId(t)).filter((x): x is number => x !== undefined);
  const modelId = opts.modelId ?? basename(resolve(opts.modelDir));
  let agents: ServerAgents | null;
  try {
    agents = opts.agent && (opts.agent.dir || (opts.agent.docs?.length ?? 0) > 0) ? new ServerAgents(opts.agent) : null;
  } catch (e) {
    await engine.close();
    throw e;
  }
  const ctx = new ServerContext(engine, tokenizer, modelId, engine.slotCapacity, stopTokens, limits, agents);
  const created = Math.floor(Date.now() / 1000);

  const models: ModelEntry[] = [{ id: modelId, object: 'model', created, owned_by: 'glmkit', max_model_len: ctx.contextLength }];
  if (encoder && embeddingId) models.push(embeddingEntry(embeddingId, encoder, created));
  const app = baseApp(opts, limits, models);
  app.get('/health', async () => ({ status: engine.state, model: modelId, in_flight: engine.inFlight, active_slots: engine.activeSlots, ...engine.stats }));
  if (encoder && embeddingId) app.post('/v1/embeddings', async (req) => embeddings(encoder, embeddingId, req.body));

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
      const out = await handler(ctx, req.body, abort.signal, () => {
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
  if (opts.weightsRoot) registerWeightRoutes(app, engine, { root: opts.weightsRoot, apiKey: opts.apiKey });

  return serverOf(app, ctx, models.map((m) => m.id), async () => {
    await agents?.close();
    await engine.close();
  });
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

/** The fastify app with the error handlers, the API key check and the model list. */
function baseApp(opts: ServerOptions, limits: ServerLimits, models: ModelEntry[]): FastifyInstance {
  const app = Fastify({ bodyLimit: limits.bodyLimit, logger: false });
  const routes = models.some((m) => m.type === 'embedding') ? '/v1/models, /v1/embeddings' : '/v1/models';
  const chat = models.some((m) => m.type !== 'embedding') ? ', /v1/chat/completions, /v1/completions' : '';
  app.setErrorHandler((err, _req, reply) => {
    const e = toApiError(err);
    void reply.status(e.status).send(e.body());
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new ApiError(404, `no route ${req.method} ${req.url}; see ${routes}${chat}, /health`, 'invalid_request_error', null, 'not_found');
    void reply.status(404).send(e.body());
  });
  if (opts.apiKey) {
    const want = `Bearer ${opts.apiKey}`;
    app.addHook('onRequest', async (req) => {
      if (!req.url.startsWith('/v1/')) return;
      if (req.headers.authorization !== want) throw new ApiError(401, 'missing or wrong API key: send "Authorization: Bearer <key>"', 'invalid_request_error', null, 'invalid_api_key');
    });
  }
  app.get('/v1/models', async () => ({ object: 'list', data: models }));
  app.get('/v1/models/:id', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const m = models.find((x) => x.id === req.params.id);
    if (!m) throw new ApiError(404, `The model '${req.params.id}' does not exist`, 'invalid_request_error', 'model', 'model_not_found');
    return { id: m.id, object: 'model', created: m.created, owned_by: m.owned_by };
  });
  return app;
}

/** A server of only /v1/embeddings (no chat model, no engine). */
function createEmbeddingOnlyServer(opts: ServerOptions, limits: ServerLimits, encoder: SentenceEncoder, id: string): GlmServer {
  const models = [embeddingEntry(id, encoder, Math.floor(Date.now() / 1000))];
  const app = baseApp(opts, limits, models);
  app.get('/health', async () => ({ status: 'ready', model: id }));
  app.post('/v1/embeddings', async (req) => embeddings(encoder, id, req.body));
  return serverOf(app, null, [id], async () => undefined);
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
