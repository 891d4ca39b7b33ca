/**
 * Start-up of `glmkit serve`: checks the address before the model is loaded, starts the server, and
 * on any start-up error stops the engine worker and rethrows, so the command exits non-zero instead
 * of staying alive on the worker thread.
 */
import { createServer, type GlmServer } from './app.js';
import { checkListen } from './listen-check.js';
import type { ServerImageOptions } from './images.js';

export interface ServeValues {
  model: string | null;
  /** more chat model folders (a repeated --model) */
  more_models?: string[];
  embedding_model: string | null;
  embedding_model_name: string | null;
  reward_model?: string | null;
  reward_model_name?: string | null;
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
  runs: string | null;
  labels: string | null;
  label_prompts: string | null;
  enable_weight_updates: boolean;
  weights_root: string | null;
  /** where a vision model reads request images from */
  images?: ServerImageOptions;
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

/** The line printed when the server is reachable from other machines. */
export function exposureWarning(host: string, keyed: boolean): string | null {
  if (isLoopback(host)) return null;
  return keyed
    ? `glmkit: listening on ${host}: other machines can reach this server; they need the API key`
    : `glmkit: warning: listening on ${host} without --api-key: anyone who can reach this machine can use the model and the UI; pass --api-key KEY or bind 127.0.0.1`;
}

/** Runs the server until SIGINT/SIGTERM; returns the exit code (0) or throws a start-up error. */
export async function startServe(v: ServeValues): Promise<number> {
  await checkListen(v.host, v.port);
  const server: GlmServer = await createServer({
    modelDir: v.model,
    embeddingModelDir: v.embedding_model,
    embeddingModelId: v.embedding_model_name ?? undefined,
    rewardModelDir: v.reward_model ?? null,
    rewardModelId: v.reward_model_name ?? undefined,
    modelId: v.model_name ?? undefined,
    moreModelDirs: v.more_models ?? [],
    apiKey: v.api_key ?? process.env.GLMKIT_API_KEY ?? null,
    maxSlots: v.max_batch,
    dtype: v.dtype,
    maxPending: v.max_pending,
    contextLength: v.context ?? undefined,
    requestTimeoutMs: v.request_timeout === null ? null : Math.round(v.request_timeout * 1000),
    weightsRoot: v.enable_weight_updates ? v.weights_root : null,
    images: v.images,
    agent: { dir: v.agent_dir, docs: v.docs?.split(',').filter(Boolean), allowHosts: v.allow_host?.split(',').filter(Boolean) },
    ui: v.model ? { runsDir: v.runs, labelsDb: v.labels, labelPrompts: v.label_prompts } : null,
  });
  const key = !!(v.api_key ?? process.env.GLMKIT_API_KEY);
  return runUntilStopped(server, v.host, v.port, key, (url) => [
    `glmkit serve: ${server.modelIds.join(', ')} at ${url}/v1 (ctrl-c to stop)`,
    ...(v.model ? [`glmkit serve: web UI at ${url}/`] : []),
  ]);
}

/** Listens, prints the banner lines (and a warning when reachable from elsewhere), and runs until SIGINT/SIGTERM. */
export async function runUntilStopped(server: GlmServer, host: string, port: number, keyed: boolean, banner: (url: string) => string[]): Promise<number> {
  let url: string;
  try {
    // The port may have been taken between the check and now: that is still one clear error.
    url = await server.listen(host, port);
  } catch (e) {
    await server.close().catch(() => undefined);
    throw e;
  }
  for (const line of banner(url)) console.log(line);
  const warn = exposureWarning(host, keyed);
  if (warn) console.error(warn);
  await new Promise<void>((resolveStop) => {
    const stop = () => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
