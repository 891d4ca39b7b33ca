/**
 * Alignment evaluation on held-out prompts: sample responses from the policy (temperature 1 by
 * default: the policy as a distribution, as the reward-vs-KL comparisons of the EXO paper do), and
 * report
 *   gold_reward: mean gold reward of the samples (the world's simulated annotator, in [0, 1]);
 *   kl:          mean over samples of sum over response tokens of (log pi(y_t) - log pi_ref(y_t)),
 *                a Monte-Carlo estimate of KL(pi || pi_ref) per response (0 for pi = pi_ref);
 *   length:      mean response tokens; truncated: share cut by the token budget;
 *   proxy_reward: mean of an optional learned reward (the reward model) on the same samples.
 * Log-probs of both models use logits / temperature (the distribution sampled from).
 */
import type { GlmForCausalLM } from '../models/glm/model.js';
import type { ChatMessage } from '../tokenizer/chat-types.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { padTokenId, rollout, rolloutBatch, rolloutLogprobGrid, rolloutMessage, type Rollout } from '../generation/rollout.js';
import { tokenLogprobsNoGrad } from '../trainers/rl-utils.js';
import { Rng } from '../util/rng.js';

export interface AlignmentEvalOptions {
  /** responses sampled per prompt (default 2) */
  numSamples?: number;
  temperature?: number;
  maxNewTokens?: number;
  /** sample in thinking mode (the gold reward reads the final answer only) */
  thinking?: boolean;
  seed?: number;
  batchSize?: number;
  /** a learned reward (e.g. the reward model) scored on the same samples: reported as proxy_reward */
  proxy?: (prompts: ChatMessage[][], responses: ChatMessage[]) => number[];
}

export interface AlignmentEvalResult {
  gold_reward: number;
  kl: number;
  /** mean proxy reward of the samples (NaN without opts.proxy) */
  proxy_reward: number;
  length: number;
  truncated: number;
  n: number;
  samples: { prompt: string; response: string; gold: number }[];
  /** per prompt (in `prompts` order), the mean over its samples: what paired comparisons resample (proxy: NaN without opts.proxy) */
  per_prompt: { gold: number[]; kl: number[]; length: number[]; proxy: number[] };
}

/**
 * Gold reward and KL to `ref` of `policy`'s samples on `prompts`. `gold(prompt, text)` scores a
 * response (e.g. the world's goldReward).
 */
export function evaluateAlignment(policy: GlmForCausalLM, ref: GlmForCausalLM, tok: Tokenizer, prompts: readonly ChatMessage[][], gold: (prompt: ChatMessage[], response: string) => number, opts: AlignmentEvalOptions = {}): AlignmentEvalResult {
  const temperature = opts.temperature ?? 1;
  const bs = opts.batchSize ?? 32;
  const rs = rollout(policy, tok, prompts, { maxNewTokens: opts.maxNewTokens ?? 48, temperature, numSamples: opts.numSamples ?? 2, batchSize: bs, thinking: opts.thinking, rng: new Rng(`${opts.seed ?? 0}:alignment-eval`) });
  let goldSum = 0, kl = 0, len = 0, truncated = 0;
  const samples: AlignmentEvalResult['samples'] = [];
  const P = prompts.length;
  const perPrompt = { gold: new Array<number>(P).fill(0), kl: new Array<number>(P).fill(0), length: new Array<number>(P).fill(0) };
  // per prompt: its samples' mean (every prompt gets numSamples samples)
  const count = new Array<number>(P).fill(0);
  for (let i = 0; i < rs.length; i += bs) {
    const chunk: Rollout[] = rs.slice(i, i + bs);
    const batch = rolloutBatch(chunk, padTokenId(tok));
    const T = batch.ids.shape[1];
    const sampled = rolloutLogprobGrid(chunk, batch);
    // over the ids the sampler draws from, as the sampled log-probs are (a padded vocabulary)
    const refLp = tokenLogprobsNoGrad(ref, batch, temperature, tok.vocabSize).data;
    for (let j = 0; j < sampled.length; j++) {
      if (!batch.lossMask[j]) continue;
      const d = sampled[j] - refLp[j];
      kl += d;
      perPrompt.kl[chunk[Math.floor(j / T)].promptIndex] += d;
    }
  }
  for (const r of rs) {
    const g = gold(prompts[r.promptIndex], r.parsed.content);
    goldSum += g;
    len += r.completionIds.length;
    perPrompt.gold[r.promptIndex] += g;
    perPrompt.length[r.promptIndex] += r.completionIds.length;
    count[r.promptIndex]++;
    if (r.finishReason === 'length') truncated++;
    if (samples.length < 6) samples.push({ prompt: prompts[r.promptIndex].map((m) => m.content ?? '').join('\n'), response: r.text, gold: g });
  }
  for (const key of ['gold', 'kl', 'length'] as const) perPrompt[key] = perPrompt[key].map((v, i) => v / Math.max(1, count[i]));
  const n = rs.length;
  const proxy = opts.proxy ? opts.proxy(rs.map((r) => prompts[r.promptIndex]), rs.map(rolloutMessage)) : [];
  const proxyReward = opts.proxy ? proxy.reduce((a, b) => a + b, 0) / n : NaN;
  const proxyPerPrompt = new Array<number>(P).fill(opts.proxy ? 0 : NaN);
  if (opts.proxy) rs.forEach((r, i) => (proxyPerPrompt[r.promptIndex] += proxy[i] / Math.max(1, count[r.promptIndex])));
  return { gold_reward: goldSum / n, kl: kl / n, proxy_reward: proxyReward, length: len / n, truncated: truncated / n, n, samples, per_prompt: { ...perPrompt, proxy: proxyPerPrompt } };
}
