/**
 * POST /update_weights_from_disk {"model_path": DIR} -> {"success", "message", "policy_version"}:
 * the weight-sync endpoint of RL trainers (the SGLang shape). Off unless the server was started
 * with a weights root; a path outside that root, a missing folder or one that does not load is
 * refused (HTTP 400, success false) and the old weights keep serving. Requests in flight finish on
 * the old weights; each completion reports the `policy_version` it ran on.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError } from '../errors.js';
import type { EngineClient } from './engine-client.js';

export interface WeightUpdateOptions {
  /** folders under this root may be loaded (realpath-checked) */
  root: string;
  /** bearer key required when set (the same key as /v1/*) */
  apiKey?: string | null;
}

type Answer = { success: boolean; message: string; policy_version: number };

/** Where `path` resolves to, or why it is refused. */
export function checkWeightsPath(root: string, path: unknown): { dir: string } | { refused: string } {
  if (typeof path !== 'string' || path.length === 0) return { refused: "the body must be {\"model_path\": \"<folder under the weights root>\"}" };
  const want = resolve(root, path);
  if (!existsSync(want)) return { refused: `model_path ${path} does not exist` };
  const real = realpathSync(want), rootReal = realpathSync(root);
  if (real !== rootReal && !real.startsWith(rootReal.endsWith(sep) ? rootReal : rootReal + sep)) {
    return { refused: `model_path ${path} is outside the server's --weights-root ${rootReal}; write the checkpoint under it` };
  }
  if (!statSync(real).isDirectory()) return { refused: `model_path ${path} is not a folder` };
  return { dir: real };
}

export function registerWeightRoutes(app: FastifyInstance, engine: EngineClient, opts: WeightUpdateOptions): void {
  if (!existsSync(opts.root) || !statSync(opts.root).isDirectory()) throw new ConfigError(`serve: --weights-root ${opts.root} is not a folder; create it (the trainer writes its checkpoints under it)`);
  const root = realpathSync(opts.root);
  app.post('/update_weights_from_disk', async (req: FastifyRequest, reply: FastifyReply) => {
    const answer = (status: number, success: boolean, message: string) => reply.status(status).send({ success, message, policy_version: engine.policyVersion } satisfies Answer);
    if (opts.apiKey && req.headers.authorization !== `Bearer ${opts.apiKey}`) return answer(401, false, 'missing or wrong API key: send "Authorization: Bearer <key>"');
    const body = req.body as { model_path?: unknown } | null;
    const where = checkWeightsPath(root, body && typeof body === 'object' ? body.model_path : undefined);
    if ('refused' in where) return answer(400, false, `${where.refused}; still serving policy version ${engine.policyVersion}`);
    try {
      const v = await engine.reload(where.dir);
      return answer(200, true, `loaded ${where.dir} as policy version ${v}`);
    } catch (e) {
      return answer(400, false, `${(e as Error).message}; still serving policy version ${engine.policyVersion}`);
    }
  });
  app.get('/get_model_info', async () => ({ model_path: engine.modelDir, policy_version: engine.policyVersion }));
}
