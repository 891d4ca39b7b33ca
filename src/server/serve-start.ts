/**
 * Start-up of `glmkit serve`: checks the address before the model is loaded, starts the server, and
 * on any start-up error stops the engine worker and rethrows, so the command exits non-zero instead
 * of staying alive on the worker thread.
 */
import { createServer, type GlmServer } from './app.js';
import { checkListen } from './listen-check.js';

export interface ServeValues {
  model: string | null;
  embedding_model: string | null;
  embedding_model_name: string | null;
  host: string;
  port: number;
  api_key: string | null;
  model_name: string | null;
  max_batch: number;
  /** how the chat model keeps its matrices in memory */
  dtype: 'f32' | 'bf16';
  max_pending: number;
  context: number | null;
  agent_dir: string | null;
  docs: string | null;
  allow_host: string | null;
  request_timeout: number | null;
  enable_weight_updates: boolean;
  weights_root: string | null;
}

/** Runs the server until SIGINT/SIGTERM; returns the exit code (0) or throws a start-up error. */
export async function startServe(v: ServeValues): Promise<number> {
  await checkListen(v.host, v.port);
  const server: GlmServer = await createServer({
    modelDir: v.model,
    embeddingModelDir: v.embedding_model,
    embeddingModelId: v.embedding_model_name ?? undefined,
    modelId: v.model_name ?? undefined,
    apiKey: v.api_key ?? process.env.GLMKIT_API_KEY ?? null,
    maxSlots: v.max_batch,
    dtype: v.dtype,
    maxPending: v.max_pending,
    contextLength: v.context ?? undefined,
    requestTimeoutMs: v.request_timeout === null ? null : Math.round(v.request_timeout * 1000),
    weightsRoot: v.enable_weight_updates ? v.weights_root : null,
    agent: { dir: v.agent_dir, docs: v.docs?.split(',').filter(Boolean), allowHosts: v.allow_host?.split(',').filter(Boolean) },
  });
  let url: string;
  try {
    // The port may have been taken between the check and now: that is still one clear error.
    url = await server.listen(v.host, v.port);
  } catch (e) {
    await server.close().catch(() => undefined);
    throw e;
  }
  console.log(`glmkit serve: ${server.modelIds.join(', ')} at ${url}/v1 (ctrl-c to stop)`);
  await new Promise<void>((resolveStop) => {
    const stop = () => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
