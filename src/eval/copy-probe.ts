/**
 * The copy probe: does a causal LM use what its context says? Sequences of random ordinary tokens,
 * each followed by itself; the mean next-token loss (nats) over the second copy against the first.
 * A model that copies from its context (induction heads) predicts the second copy far better, close
 * to 0; one that does not scores both copies alike. The long-context stage reports it before and
 * after (docs/long-context.md "Learning to retrieve"): finding a fact in a document is this skill
 * with a key in front.
 */
import { Rng } from '../util/rng.js';
import * as F from '../tensor/ops/index.js';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import type { GlmForCausalLM } from '../models/glm/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';

export interface CopyProbeResult {
  /** mean next-token loss over the first copy (targets 1..length-1) */
  first: number;
  /** mean next-token loss over the second copy (targets length+1..2 length-1) */
  repeat: number;
  sequences: number;
  length: number;
}

export interface CopyProbeOptions {
  /** sequences (default 8) */
  sequences?: number;
  /** tokens per copy (default 60) */
  length?: number;
  seed?: string;
}

/** The ids a probe draws from: every vocabulary id that is not a special token. */
export function ordinaryIds(tok: Tokenizer): number[] {
  return Array.from({ length: tok.vocabSize }, (_, i) => i).filter((i) => !tok.isSpecial(i));
}

/**
 * Runs the probe on `model` with tokens drawn from `ids`. Both means skip the first token of each
 * copy: it follows the previous copy's end, which no model can predict (the second copy's first
 * token is the first copy's first token, the one step where "copy" needs to know a copy began).
 */
export function copyProbe(model: GlmForCausalLM, ids: readonly number[], opts: CopyProbeOptions = {}): CopyProbeResult {
  const n = opts.sequences ?? 8, L = opts.length ?? 60;
  const rng = new Rng(opts.seed ?? 'copy-probe');
  const input = new Int32Array(n * 2 * L);
  for (let b = 0; b < n; b++) {
    const seq = Array.from({ length: L }, () => ids[Math.floor(rng.random() * ids.length)]);
    input.set(seq, b * 2 * L);
    input.set(seq, b * 2 * L + L);
  }
  // targets: next tokens inside each copy; position t predicts t + 1
  const targets = (copy: 0 | 1) => {
    const t = new Int32Array(n * 2 * L).fill(-100);
    for (let b = 0; b < n; b++) for (let i = copy * L + 1; i < (copy + 1) * L; i++) t[b * 2 * L + i - 1] = input[b * 2 * L + i];
    return new Tensor(t, [n, 2 * L]);
  };
  return noGrad(() => {
    const logits = model.forward(new Tensor(input, [n, 2 * L])).logits!;
    const loss = (copy: 0 | 1) => (F.crossEntropy(logits, targets(copy)).data as Float32Array)[0];
    return { first: loss(0), repeat: loss(1), sequences: n, length: L };
  });
}
