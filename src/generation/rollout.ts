/**
 * The rollout engine the RL and preference trainers share (PPO, EXO with rewards, GRPO, evaluation):
 * render chat prompts with the GLM template, sample completions in batches with the KV cache
 * (`generate`), decode and parse them, and keep everything a trainer needs afterwards — prompt ids,
 * completion ids (the stop token included: the policy must learn to end its turn), the log-prob of
 * each sampled token recorded at sampling time, the parsed message and why it ended.
 *
 * `rolloutBatch` turns rollouts into the right-padded `SequenceBatch` of `rl-utils.ts`, whose
 * `lossMask` marks the positions predicting completion tokens, aligned with `logprobs`: position
 * (promptLen + i - 1) predicts completion token i, whose sampling log-prob is `logprobs[i]`.
 */
import type { GlmForCausalLM } from '../models/glm/model.js';
import { parseChatOutput, type ParsedOutput } from '../tokenizer/chat-parser.js';
import { renderChat } from '../tokenizer/chat.js';
import type { ChatMessage, ToolSpec } from '../tokenizer/chat-types.js';
import { EOS_TOKEN, STOP_TOKENS } from '../tokenizer/special-tokens.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { sequenceBatch, type SequenceBatch } from '../trainers/rl-utils.js';
import { Rng } from '../util/rng.js';
import { ConfigError } from '../errors.js';
import { generate, type GenerateOptions, type GenerateResult } from './generate.js';

export interface ChatPrompt {
  messages: ChatMessage[];
  tools?: ToolSpec[];
  /** hybrid thinking switch for this prompt (default: RolloutOptions.thinking) */
  enable_thinking?: boolean;
}

export interface RolloutOptions {
  maxNewTokens: number;
  /** sampling temperature (0 = greedy); default 1 */
  temperature?: number;
  topP?: number;
  topK?: number;
  /** completions per prompt (consecutive in the output: prompt i owns rows i*n .. i*n+n-1); default 1 */
  numSamples?: number;
  /** sequences per generate() call (default 16) */
  batchSize?: number;
  /** thinking mode for prompts that do not say (default false: direct answers) */
  thinking?: boolean;
  /** extra stop token ids (the GLM stop tokens are always included) */
  stopTokens?: readonly number[];
  /** MoE models: record the experts of each sampled token (Rollout.routing) */
  recordRouting?: boolean;
  /** random source (advanced by sampling); or a seed */
  rng?: Rng;
  seed?: number;
}

export interface Rollout {
  /** index of the prompt in the input list */
  promptIndex: number;
  /** rendered prompt ids, generation prompt included */
  promptIds: number[];
  /** sampled ids, the stop token included when one ended the completion */
  completionIds: number[];
  /** log pi_sample(completionIds[i] | ...) under logits / temperature, recorded while sampling */
  logprobs: number[];
  /** decoded completion without stop tokens */
  text: string;
  /** the completion parsed into reasoning / content / tool calls (never throws) */
  parsed: ParsedOutput;
  finishReason: 'stop' | 'length';
  /** with recordRouting on an MoE model: per completion token, its experts (layer-major) when fed back, else null */
  routing?: (number[] | null)[];
}

/** Token ids of the GLM stop tokens in this tokenizer. */
export function stopTokenIds(tok: Tokenizer): number[] {
  return STOP_TOKENS.map((t) => tok.tokenToId(t)).filter((x): x is number => x !== undefined);
}

/** Padding id used for batches of this tokenizer (<|endoftext|>). */
export function padTokenId(tok: Tokenizer): number {
  return tok.requireId(EOS_TOKEN);
}

/** Prompt ids of a chat, ending with the generation prompt (`<|assistant|>`, plus `<think></think>` in direct mode). */
export function renderPromptIds(tok: Tokenizer, prompt: ChatPrompt | ChatMessage[], thinking = false): number[] {
  const p = Array.isArray(prompt) ? { messages: prompt } : prompt;
  return renderChat(tok, { messages: p.messages, tools: p.tools, enable_thinking: p.enable_thinking ?? thinking, add_generation_prompt: true }).ids;
}

/**
 * Samples `numSamples` completions for every prompt. Deterministic given the rng state; the rng is
 * advanced, so successive calls draw fresh samples.
 */
export function rollout(model: GlmForCausalLM, tok: Tokenizer, prompts: readonly (ChatPrompt | ChatMessage[])[], opts: RolloutOptions): Rollout[] {
  const plan = rolloutPlan(tok, renderAll(tok, prompts, opts), opts);
  const out: Rollout[] = [];
  for (let i = 0; i < plan.rows.length; i += plan.batchSize) {
    const chunk = plan.rows.slice(i, i + plan.batchSize);
    out.push(...plan.collect(chunk, generate(model, chunk.map((r) => r.ids), plan.gen)));
  }
  return out;
}

/**
 * The same rollouts with an asynchronous sampler (generation on inference servers,
 * src/trainers/remote/): every row is sent in one call (the servers batch them); without `remote`
 * it is `rollout` itself.
 */
export async function rolloutAsync(model: GlmForCausalLM, tok: Tokenizer, prompts: readonly (ChatPrompt | ChatMessage[])[], opts: RolloutOptions, remote?: ((prompts: number[][], o: GenerateOptions) => Promise<GenerateResult>) | null): Promise<Rollout[]> {
  if (!remote) return rollout(model, tok, prompts, opts);
  const plan = rolloutPlan(tok, renderAll(tok, prompts, opts), opts);
  return plan.collect(plan.rows, await remote(plan.rows.map((r) => r.ids.slice()), plan.gen));
}

function renderAll(tok: Tokenizer, prompts: readonly (ChatPrompt | ChatMessage[])[], opts: RolloutOptions): number[][] {
  return prompts.map((p) => renderPromptIds(tok, p, opts.thinking ?? false));
}

/**
 * The rows to sample for rendered prompts (prompt-major: `numSamples` rows per prompt), the
 * generation settings (GLM stop tokens + extra ones, padding, the tokenizer's vocabulary limit), and
 * how a generate result for a chunk of rows becomes rollouts. Shared with the image rollouts.
 */
export function rolloutPlan(tok: Tokenizer, rendered: readonly number[][], opts: RolloutOptions) {
  const n = opts.numSamples ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`rollout: numSamples must be an integer >= 1, got ${n}`);
  const bs = opts.batchSize ?? 16;
  if (!Number.isInteger(bs) || bs < 1) throw new ConfigError(`rollout: batchSize must be an integer >= 1, got ${bs}`);
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  const stops = [...stopTokenIds(tok), ...(opts.stopTokens ?? [])];
  const stopSet = new Set(stops);
  const rows: { promptIndex: number; ids: number[] }[] = [];
  rendered.forEach((ids, i) => {
    for (let s = 0; s < n; s++) rows.push({ promptIndex: i, ids });
  });
  const gen: GenerateOptions = {
    maxNewTokens: opts.maxNewTokens,
    temperature: opts.temperature ?? 1,
    topP: opts.topP,
    topK: opts.topK,
    stopTokens: stops,
    padId: padTokenId(tok),
    vocabLimit: tok.vocabSize,
    recordRouting: opts.recordRouting,
    rng,
  };
  const collect = (chunk: readonly { promptIndex: number; ids: number[] }[], res: GenerateResult): Rollout[] =>
    chunk.map((r, j) => {
      const text = tok.decode(res.tokens[j].filter((t) => !stopSet.has(t)));
      return {
        promptIndex: r.promptIndex,
        promptIds: r.ids,
        completionIds: res.tokens[j],
        logprobs: res.logprobs[j],
        text,
        parsed: parseChatOutput(text),
        finishReason: res.finishReason[j],
        ...(res.routing ? { routing: res.routing[j] } : {}),
      };
    });
  return { rows, batchSize: bs, gen, collect };
}

/**
 * Right-padded batch of rollouts for log-prob recomputation (`tokenLogprobs`). `completionMasks`
 * may exclude some completion tokens (e.g. tool outputs) from the loss.
 */
export function rolloutBatch(rollouts: readonly Rollout[], padId: number, completionMasks?: readonly (readonly number[])[]): SequenceBatch {
  return sequenceBatch(
    rollouts.map((r) => r.promptIds),
    rollouts.map((r) => r.completionIds),
    padId,
    completionMasks,
  );
}

/**
 * Sampling-time log-probs laid out like `rolloutBatch(...).lossMask`: [B * T] with logprobs[i] at
 * position promptLen + i - 1 (0 elsewhere). Compare with `tokenLogprobs` of the same batch.
 */
export function rolloutLogprobGrid(rollouts: readonly Rollout[], batch: SequenceBatch): Float32Array {
  const [B, T] = batch.ids.shape;
  const grid = new Float32Array(B * T);
  rollouts.forEach((r, b) => {
    for (let i = 0; i < r.logprobs.length; i++) grid[b * T + r.promptIds.length + i - 1] = r.logprobs[i];
  });
  return grid;
}

/** The assistant message of a rollout (what a reward model or judge scores). */
export function rolloutMessage(r: Rollout): ChatMessage {
  const m: ChatMessage = { role: 'assistant', content: r.parsed.content };
  if (r.parsed.reasoning_content) m.reasoning_content = r.parsed.reasoning_content;
  if (r.parsed.tool_calls.length > 0) m.tool_calls = r.parsed.tool_calls;
  return m;
}
