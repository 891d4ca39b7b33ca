/**
 * Speculative decoding with the model's own MTP layer (GLM-4.5, docs/methods.md): the MTP block
 * drafts the token after next from the main model's last hidden state, and the main model checks the
 * draft in the same forward that produces the next token.
 *
 * One iteration, with x_n the last token the main model has not seen yet and d the MTP's draft of
 * x_{n+1} (drawn from the draft distribution q):
 *   main forward on [x_n, d] (T = 2)  ->  p0 (distribution of x_{n+1}), p1 (of x_{n+2} given d)
 *   accept d with probability min(1, p0(d) / q(d)); then x_{n+2} ~ p1: two tokens for one forward
 *   else x_{n+1} ~ normalise(max(0, p0 - q)) and d's cache slot is dropped: one token
 *   MTP forward on the new (hidden, token) pairs -> the next draft.
 * The output distribution is exactly p's (the standard speculative-sampling argument); at temperature
 * 0 both distributions are one-hot, so the output is token for token that of greedy generate().
 * p and q are sampleToken's distributions (temperature, top-k, top-p); reported log-probs are the
 * main model's, as generate() reports them. Batch 1: the case speculative decoding speeds up.
 */
import { ConfigError } from '../errors.js';
import * as F from '../tensor/ops/index.js';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';
import type { GlmForCausalLM } from '../models/glm/model.js';
import { KVCache } from './kv-cache.js';
import { generate, type GenerateOptions } from './generate.js';
import { checkSampling, sampleFrom, sampleableIds, samplingDistribution, tokenLogprob } from './sampler.js';

export interface SpeculativeResult {
  tokens: number[];
  logprobs: number[];
  finishReason: 'stop' | 'length';
  /** drafts checked by the main model, and how many it accepted */
  drafted: number;
  accepted: number;
  /** main-model forwards after the prefill (plain decoding needs tokens - 1) */
  mainForwards: number;
}

export function generateSpeculative(model: GlmForCausalLM, prompt: readonly number[], opts: GenerateOptions): SpeculativeResult {
  checkSampling(opts);
  const mtp = model.model.mtpLayers[0];
  if (!mtp) throw new ConfigError('speculative decoding needs an MTP layer (num_nextn_predict_layers >= 1, a glm4_moe model)');
  const V = model.config.vocabSize;
  if (prompt.length === 0) throw new ConfigError('prompt is empty; generation needs at least one token');
  for (const t of prompt) if (!Number.isInteger(t) || t < 0 || t >= V) throw new ConfigError(`prompt has token id ${t} outside the vocabulary [0, ${V})`);
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 0) throw new ConfigError(`maxNewTokens must be an integer >= 0, got ${opts.maxNewTokens}`);
  const n = prompt.length, budget = opts.maxNewTokens;
  if (n + budget + 1 > model.config.maxPositionEmbeddings) {
    throw new ConfigError(`prompt length ${n} + max new tokens ${budget} + 1 draft exceeds max_position_embeddings ${model.config.maxPositionEmbeddings}`);
  }
  const out: SpeculativeResult = { tokens: [], logprobs: [], finishReason: 'length', drafted: 0, accepted: 0, mainForwards: 0 };
  if (budget === 0) return out;
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  const limit = sampleableIds(V, opts.vocabLimit);
  const stops = new Set(opts.stopTokens ?? []);
  const temperature = opts.temperature ?? 1;
  const H = model.config.hiddenSize;
  const row = (t: Tensor, i: number) => (t.data as Float32Array).subarray(i * V, i * V + limit);
  const hiddenRows = (h: Tensor, from: number, count: number) => new Tensor((h.data as Float32Array).slice(from * H, (from + count) * H), [1, count, H]);

  // Emits a token; true when generation ends with it.
  const emit = (token: number, logits: Float32Array): boolean => {
    out.tokens.push(token);
    out.logprobs.push(tokenLogprob(logits, token, temperature));
    if (stops.has(token)) {
      out.finishReason = 'stop';
      return true;
    }
    return out.tokens.length >= budget;
  };

  noGrad(() => {
    const cache = model.createCache(1, n + budget + 1);
    // The MTP layer's keys and values, one slot per (hidden, token) pair it has read; its RoPE
    // position is the token's (pair t holds token t + 1).
    const mtpCache = new KVCache(1, n + budget + 1, model.config.numHiddenLayers + 1, model.config.numKeyValueHeads, model.config.headDim);
    mtpCache.nextPos[0] = 1;
    // MTP forward on pairs (hidden [1, T, H], tokens [T]); returns the draft distribution of the last.
    const draft = (hidden: Tensor, tokens: number[]): Float64Array => {
      const T = tokens.length;
      const e = model.model.embedTokens.forward(Tensor.ids(tokens, [1, T]));
      const x = mtp.ehProj.forward(F.concat([mtp.enorm.forward(e), mtp.hnorm.forward(hidden)], -1));
      const ctx = model.model.context(1, T, { cache: mtpCache });
      const y = mtp.forward(x, ctx, null);
      const logits = mtp.sharedHead.head.forward(mtp.sharedHead.norm.forward(hiddenRows(y, T - 1, 1)));
      return samplingDistribution(row(logits, 0), opts);
    };

    const prefill = model.model.forward(Tensor.ids([...prompt], [1, n]), { cache }).hidden; // [1, n, H]
    const first = row(model.logits(hiddenRows(prefill, n - 1, 1)), 0);
    let pending = sampleFrom(samplingDistribution(first, opts), rng);
    if (emit(pending, first)) return;
    // pairs (h_t, x_{t+1}) for t < n: the prompt's hidden states with the prompt shifted by one
    let q = draft(prefill, [...prompt.slice(1), pending]);
    for (;;) {
      const d = sampleFrom(q, rng);
      out.drafted++;
      const before = cache.length;
      const hidden = model.model.forward(Tensor.ids([pending, d], [1, 2]), { cache }).hidden; // [1, 2, H]
      out.mainForwards++;
      const logits = model.logits(hidden); // [1, 2, V]
      const l0 = row(logits, 0), p0 = samplingDistribution(l0, opts);
      if (rng.random() * q[d] < p0[d]) {
        // accepted: d, then the token after it from the second position
        out.accepted++;
        if (emit(d, l0)) return;
        const l1 = row(logits, 1);
        const next = sampleFrom(samplingDistribution(l1, opts), rng);
        if (emit(next, l1)) return;
        q = draft(hidden, [d, next]);
        pending = next;
      } else {
        // rejected: the residual max(0, p0 - q), renormalised; d's slot is dropped
        const residual = new Float64Array(p0.length);
        let mass = 0;
        for (let i = 0; i < p0.length; i++) mass += residual[i] = Math.max(0, p0[i] - q[i]);
        for (let i = 0; i < p0.length; i++) residual[i] /= mass;
        const c = sampleFrom(residual, rng);
        cache.rollback(before + 1);
        if (emit(c, l0)) return;
        q = draft(hiddenRows(hidden, 0, 1), [c]);
        pending = c;
      }
    }
  });
  return out;
}

export interface SpeculativeComparison {
  /** wall seconds of plain greedy decoding and of speculative greedy decoding, summed over prompts */
  plainSeconds: number;
  speculativeSeconds: number;
  tokens: number;
  drafted: number;
  accepted: number;
  /** every prompt's speculative tokens equal its plain ones */
  identical: boolean;
}

/**
 * Greedy decoding of each prompt both ways (batch 1), alternating which goes first so drift in the
 * machine's speed falls on both: the measured speed-up and accept rate of speculative decoding.
 */
export function compareSpeculative(model: GlmForCausalLM, prompts: readonly (readonly number[])[], maxNewTokens: number): SpeculativeComparison {
  const r: SpeculativeComparison = { plainSeconds: 0, speculativeSeconds: 0, tokens: 0, drafted: 0, accepted: 0, identical: true };
  const opts = { maxNewTokens, temperature: 0 };
  generateSpeculative(model, prompts[0], { ...opts, maxNewTokens: 4 }); // warm-up
  const timed = <T>(f: () => T): [T, number] => {
    const t = performance.now();
    const v = f();
    return [v, (performance.now() - t) / 1000];
  };
  prompts.forEach((p, i) => {
    const runPlain = () => timed(() => generate(model, [p], opts).tokens[0]);
    const runSpec = () => timed(() => generateSpeculative(model, p, opts));
    let plain: [number[], number], spec: [SpeculativeResult, number];
    if (i % 2 === 0) {
      plain = runPlain();
      spec = runSpec();
    } else {
      spec = runSpec();
      plain = runPlain();
    }
    r.plainSeconds += plain[1];
    r.speculativeSeconds += spec[1];
    r.tokens += spec[0].tokens.length;
    r.drafted += spec[0].drafted;
    r.accepted += spec[0].accepted;
    if (spec[0].tokens.join(',') !== plain[0].join(',')) r.identical = false;
  });
  return r;
}
