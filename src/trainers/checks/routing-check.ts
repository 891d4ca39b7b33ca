/**
 * MoE routing consistency of RL: the experts a token was routed to while it was sampled (decode
 * with the KV cache) should be the ones the training forward routes it to, or the trainer's
 * log-probs come from a different sub-network than the sampler's. Rollouts record their routing
 * (`generate({ recordRouting })`); the training forward records its own (`GlmMoe.recordRouting`);
 * this compares them per (token, layer) as sets of experts.
 */
import type { CausalLMOutput, GlmForCausalLM } from '../../models/glm/model.js';
import type { SequenceBatch } from '../rl-utils.js';
import type { GlmMoe } from '../../models/glm/moe.js';

export interface RoutingAgreement {
  /** (token, layer) pairs compared */
  compared: number;
  /** of which chose a different set of experts */
  mismatched: number;
}

/** Runs `fn` with every MoE layer of `model` recording its routing; returns the layers (empty for a dense model). */
export function withRoutingRecorded<T>(model: GlmForCausalLM, fn: () => T): { result: T; layers: GlmMoe[] } {
  const layers = typeof model.moeLayers === 'function' ? model.moeLayers() : [];
  for (const m of layers) m.recordRouting = true;
  try {
    return { result: fn(), layers };
  } finally {
    for (const m of layers) m.recordRouting = false;
  }
}

/**
 * Compares the routing recorded by a training forward over a [B, T] batch (`layers`' lastRouting)
 * with the rollouts' records: `rollout[b][t]` (layer-major experts of completion token t, or null when
 * not recorded) against position offsets[b] + t + 1 of row b (where completion token t is the input).
 */
export function routingAgreement(layers: readonly GlmMoe[], T: number, offsets: readonly number[], rollout: readonly (readonly (readonly number[] | null)[] | undefined)[]): RoutingAgreement {
  let compared = 0, mismatched = 0;
  rollout.forEach((rows, b) => {
    if (!rows) return;
    rows.forEach((rec, t) => {
      if (!rec) return;
      const n = b * T + offsets[b] + t + 1;
      let off = 0;
      for (const m of layers) {
        const K = m.expertsPerToken, train = m.lastRouting;
        if (!train) return;
        const want = rec.slice(off, off + K);
        off += K;
        compared++;
        for (let k = 0; k < K; k++) if (!want.includes(train[n * K + k])) {
          mismatched++;
          break;
        }
      }
    });
  });
  return { compared, mismatched };
}

/**
 * Routing replay: per MoE layer, the [B*T, K] experts a training forward over a [B, T] batch must
 * use, taken from the rollouts' records (completion token t of row b is the input at position
 * offsets[b] + t + 1); -1 rows (prompt tokens, tokens never fed back) keep the router's choice.
 */
export function replayGrids(layers: readonly GlmMoe[], B: number, T: number, offsets: readonly number[], rollout: readonly (readonly (readonly number[] | null)[] | undefined)[], prompt: readonly (readonly (readonly number[])[] | undefined)[] = []): Int32Array[] {
  const grids = layers.map((m) => new Int32Array(B * T * m.expertsPerToken).fill(-1));
  const put = (n: number, rec: readonly number[] | null) => {
    if (!rec) return;
    let off = 0;
    layers.forEach((m, l) => {
      const K = m.expertsPerToken;
      grids[l].set(rec.slice(off, off + K), n * K);
      off += K;
    });
  };
  prompt.forEach((rows, b) => rows?.forEach((rec, i) => put(b * T + i, rec)));
  rollout.forEach((rows, b) => rows?.forEach((rec, t) => put(b * T + offsets[b] + t + 1, rec)));
  return grids;
}

/** Runs `fn` with the layers replaying `grids` (see replayGrids). */
export function withRoutingReplay<T>(layers: readonly GlmMoe[], grids: readonly Int32Array[], fn: () => T): T {
  layers.forEach((m, l) => (m.replayRouting = grids[l]));
  try {
    return fn();
  } finally {
    for (const m of layers) m.replayRouting = null;
  }
}

/** The policy's forward over a batch, replaying the rollouts' MoE routing when `replay` is set (a no-op for dense models). */
export function routedForward(policy: GlmForCausalLM, batch: SequenceBatch, routing: readonly (readonly (readonly number[] | null)[] | undefined)[], offsets: readonly number[], replay: boolean, promptRouting: readonly (readonly (readonly number[])[] | undefined)[] = []): CausalLMOutput {
  const run = () => policy.forward(batch.ids, { attentionMask: batch.attentionMask });
  const layers = replay ? policy.moeLayers() : [];
  if (layers.length === 0 || !routing.some(Boolean)) return run();
  const [B, T] = batch.ids.shape;
  return withRoutingReplay(layers, replayGrids(layers, B, T, offsets, routing, promptRouting), run);
}

/** Clears the layers' recorded routing (the arrays are large). */
export function clearRouting(layers: readonly GlmMoe[]): void {
  for (const m of layers) m.lastRouting = null;
}
