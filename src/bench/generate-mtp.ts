/**
 * `glmkit bench generate --mtp-model DIR`: greedy decoding at batch 1 of a trained GLM-4.5 model with
 * an MTP layer, plain against speculative (the MTP layer drafts, the main model verifies:
 * src/generation/speculative.ts), on held-out world text. An accept rate needs trained weights (random
 * ones accept almost nothing), so this row takes a model folder, e.g. an `mtp` experiment arm's
 * `train/final`, rather than a preset.
 */
import { generateWorldTask } from '../data/world/index.js';
import { UsageError } from '../errors.js';
import { MTP_HELDOUT_SEED, mtpCostShare } from '../experiment/experiments/mtp.js';
import { compareSpeculative } from '../generation/speculative.js';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { nativeInfo } from '../tensor/backend/native.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';

export interface BenchMtpOptions {
  /** new tokens per prompt */
  tokens: number;
  /** prompts (32 tokens of a held-out world document each) */
  prompts: number;
  /** passes over the prompts, each timing plain and speculative decoding in turn */
  reps: number;
}

/** The first 32 tokens of `n` held-out world documents (the `mtp` experiment's seed, test split). */
function heldoutPrompts(encode: (text: string) => number[], n: number): number[][] {
  const docs = generateWorldTask('pretrain', { n: 4 * n, seed: MTP_HELDOUT_SEED, split: 'test' }) as { text: string }[];
  const prompts = docs.map((d) => encode(d.text)).filter((ids) => ids.length >= 32).slice(0, n).map((ids) => ids.slice(0, 32));
  if (prompts.length < n) throw new UsageError(`bench generate --mtp-model: only ${prompts.length} of ${4 * n} world documents have 32 tokens under this tokenizer; expected ${n}`);
  return prompts;
}

export function benchMtp(dir: string, opts: BenchMtpOptions): Record<string, unknown> {
  const model = loadCausalLM(dir).eval();
  if (model.model.mtpLayers.length === 0) {
    throw new UsageError(`bench generate --mtp-model: ${dir} has no MTP layer (expected a glm4_moe model with num_nextn_predict_layers >= 1, e.g. an mtp experiment arm's train/final)`);
  }
  const tok = loadTokenizer(dir);
  const prompts = heldoutPrompts((t) => tok.encode(t), opts.prompts);
  let plain = 0, spec = 0, tokens = 0, drafted = 0, accepted = 0, identical = true;
  for (let r = 0; r < opts.reps; r++) {
    const c = compareSpeculative(model, prompts, opts.tokens);
    plain += c.plainSeconds;
    spec += c.speculativeSeconds;
    tokens += c.tokens;
    drafted += c.drafted;
    accepted += c.accepted;
    identical &&= c.identical;
  }
  return {
    bench: 'generate-mtp', model: dir, params: model.numParameters(), batch: 1, prompts: prompts.length, new_tokens: opts.tokens, reps: opts.reps,
    threads: nativeInfo()?.threads ?? 1,
    plain_tokens_per_s: Math.round(tokens / plain), speculative_tokens_per_s: Math.round(tokens / spec),
    speedup: +(plain / spec).toFixed(3), accept_rate: +(accepted / Math.max(1, drafted)).toFixed(3),
    mtp_cost_share: +mtpCostShare(model).toFixed(3), identical,
  };
}
