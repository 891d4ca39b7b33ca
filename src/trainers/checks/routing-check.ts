/**
 * MoE routing consistency of RL: the experts a token was routed to while it was sampled (decode
 * with the KV cache) should be the ones the training forward routes it to, or the trainer's
 * log-probs come from a different sub-network than the sampler's. Rollouts record their routing
 * (`generate({ recordRouting })`); the training forward records its own (`GlmMoe.recordRouting`);
 * this compares them per (token, layer) as sets of experts.
 */
import type { GlmForCausalLM } from '../../models/glm/model.js';
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

/** Clears the layers' recorded routing (the arrays are large). */
export function clearRouting(layers: readonly GlmMoe[]): void {
  for (const m of layers) m.lastRouting = null;
}
