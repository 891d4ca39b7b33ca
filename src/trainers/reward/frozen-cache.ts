/**
 * The frozen layers' output of a reward model trained with `freeze_layers` N: the hidden states a
 * response's tokens have when they enter decoder layer N do not change while nothing below trains, so
 * they are computed once per response and kept; later steps on that response run only the layers
 * above (docs/performance.md "The main job"). Right padding and positions from the mask make a
 * response's rows the same in any batch, so a step's scores and gradients are those without the cache
 * up to float rounding. Kept per response object (a WeakMap), up to a memory budget; responses past it
 * are computed at each step as without the cache. One cache belongs to one model whose lower layers
 * stay frozen while it is used (the pipeline shares one between the phases on the same pair file).
 */
import { noGrad } from '../../tensor/autograd.js';
import { Tensor } from '../../tensor/tensor.js';
import type { GlmForSequenceClassification, LowerHidden } from '../../models/glm/model.js';
import { responseBatch, type TokenizedResponse } from '../../data/preference.js';
import type { SequenceBatch } from '../rl-utils.js';

export class FrozenFeatureCache {
  private readonly rows = new WeakMap<TokenizedResponse, Float32Array>();
  /** bytes held (responses collected since are still counted) */
  bytes = 0;
  /** responses read from the cache / computed */
  hits = 0;
  misses = 0;

  /** `layer`: the decoder layer whose input is kept (the count of frozen layers below the one that trains) */
  constructor(readonly layer: number, readonly budgetBytes: number) {}

  /** The padded batch of `seqs` (as `responseBatch` pads it) and the hidden states [B, T, H] entering `layer` (zeros on padding). */
  batch(rm: GlmForSequenceClassification, seqs: readonly TokenizedResponse[], padId: number): SequenceBatch & { start: LowerHidden } {
    const H = rm.config.hiddenSize;
    const b = responseBatch(seqs, padId);
    const [B, T] = b.ids.shape;
    const fresh = new Map<number, Float32Array>();
    const missing = seqs.map((s, i) => (this.rows.has(s) ? -1 : i)).filter((i) => i >= 0);
    this.hits += B - missing.length;
    this.misses += missing.length;
    if (missing.length > 0) {
      noGrad(() => {
        const mb = responseBatch(missing.map((i) => seqs[i]), padId);
        const Tm = mb.ids.shape[1];
        const h = rm.model.lowerHidden(mb.ids, this.layer, { attentionMask: mb.attentionMask }).data as Float32Array;
        missing.forEach((i, j) => {
          const row = h.slice(j * Tm * H, (j * Tm + seqs[i].ids.length) * H);
          fresh.set(i, row);
          if (this.bytes + row.byteLength <= this.budgetBytes) {
            this.rows.set(seqs[i], row);
            this.bytes += row.byteLength;
          }
        });
      });
    }
    const hidden = new Float32Array(B * T * H);
    seqs.forEach((s, i) => hidden.set(fresh.get(i) ?? this.rows.get(s)!, i * T * H));
    return { ...b, start: { layer: this.layer, hidden: new Tensor(hidden, [B, T, H]) } };
  }
}
