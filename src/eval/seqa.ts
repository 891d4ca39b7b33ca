/**
 * SEQA, semantic voting for multiple-choice QA without training on the task (docs/embeddings.md
 * "SEQA"): for a question rewritten as a declarative prefix, a generator samples N continuations
 * ("voters", top-p 0.9, temperature 1, cut at the first sentence end); a sentence encoder embeds the
 * voters and the choices, and
 *   score(choice) = (1/N) * sum_j exp(cos(e(choice), e(voter_j)) / T)
 * picks the answer (argmax). The LM-scoring baselines score each choice as a continuation of the
 * prefix: the sum of its token log-probs, their mean, and PMI (the sum minus the sum after a
 * neutral prefix), so every run compares them.
 * Two settings adapt the method to short answers (docs/embeddings.md "Why SEQA scored low"; both chosen
 * on the validation half of the world's questions): voters may be cut at the first clause end
 * instead of the first sentence end, and choices and voters may be embedded as statements (after the
 * prefix) rather than alone.
 */
import { ConfigError } from '../errors.js';
import { noGrad } from '../tensor/autograd.js';
import type { GlmForCausalLM } from '../models/glm/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { EOS_TOKEN } from '../tokenizer/special-tokens.js';
import { generateFromSharedPrefix } from '../generation/generate.js';
import { sequenceBatch, tokenLogprobsNoGrad } from '../trainers/rl-utils.js';
import { cosine, type SentenceEmbedder } from '../embed/encoder.js';

export interface SeqaQuestion {
  prefix: string;
  choices: string[];
  /** index of the right choice */
  answer: number;
}

export const SEQA_METHODS = ['seqa', 'lm_sum', 'lm_mean', 'lm_pmi'] as const;
export type SeqaMethod = (typeof SEQA_METHODS)[number];

export const VOTER_CUTS = ['clause', 'sentence'] as const;
export type VoterCut = (typeof VOTER_CUTS)[number];
export const EMBED_CONTEXTS = ['prefixed', 'bare'] as const;
export type EmbedContext = (typeof EMBED_CONTEXTS)[number];

export interface SeqaOptions {
  voters: number;
  /** T of exp(cos / T) */
  temperature: number;
  /** tokens per voter at most (cut earlier at the first sentence or clause end, or a special token) */
  maxVoterTokens: number;
  topP: number;
  seed: number;
  /** the neutral prefix of the PMI baseline */
  pmiPrefix: string;
  /** where a voter ends: its first clause end ("," ";" ":" or a sentence end) or its first sentence end (the paper) */
  voterCut: VoterCut;
  /** embed choices and voters as statements, `prefix + " " + text` ('prefixed'), or alone ('bare', the paper) */
  embedContext: EmbedContext;
}

export const DEFAULT_SEQA: SeqaOptions = { voters: 100, temperature: 0.1, maxVoterTokens: 24, topP: 0.9, seed: 0, pmiPrefix: 'Answer:', voterCut: 'clause', embedContext: 'prefixed' };

export interface SeqaResult {
  scores: Record<SeqaMethod, number[]>;
  predictions: Record<SeqaMethod, number>;
  voters: string[];
}

/** Index of the largest entry (the first on ties). */
export function argmax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/** The text up to and including its first sentence end (".", "!", "?" or a newline), trimmed. */
export function firstSentence(text: string): string {
  const t = text.trimStart();
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '\n') return t.slice(0, i).trim();
    if ('.!?'.includes(t[i]) && (i + 1 === t.length || /\s/.test(t[i + 1]))) return t.slice(0, i + 1).trim();
  }
  return t.trim();
}

/** The text up to its first clause end ("," ";" ":" or a sentence end), trimmed, without the mark. */
export function firstClause(text: string): string {
  const s = firstSentence(text);
  const m = /[,;:](\s|$)/.exec(s);
  return (m ? s.slice(0, m.index) : s).replace(/[.!?]$/, '').trim();
}

/** Sum of log P(choice tokens | prefix) and the number of choice tokens, for each choice (one batch). */
export function choiceLogprobs(lm: GlmForCausalLM, tok: Tokenizer, prefix: string, choices: readonly string[]): { sum: number[]; count: number[] } {
  const p = tok.encode(prefix);
  if (p.length === 0) throw new ConfigError('seqa: a question\'s prefix is empty; LM scoring needs at least one prefix token');
  const cs = choices.map((c) => tok.encode(' ' + c.trim()));
  const batch = sequenceBatch(cs.map(() => p), cs, tok.requireId(EOS_TOKEN));
  const lp = noGrad(() => tokenLogprobsNoGrad(lm, batch));
  const T = batch.ids.shape[1];
  const sum = cs.map((_, b) => {
    let s = 0;
    for (let t = 0; t < T; t++) if (batch.lossMask[b * T + t]) s += lp.data[b * T + t];
    return s;
  });
  return { sum, count: cs.map((c) => c.length) };
}

/** The three LM-scoring baselines of a question. */
export function lmScores(lm: GlmForCausalLM, tok: Tokenizer, q: SeqaQuestion, pmiPrefix: string): Record<'lm_sum' | 'lm_mean' | 'lm_pmi', number[]> {
  const cond = choiceLogprobs(lm, tok, q.prefix, q.choices);
  const neutral = choiceLogprobs(lm, tok, pmiPrefix, q.choices);
  return {
    lm_sum: cond.sum,
    lm_mean: cond.sum.map((s, i) => s / Math.max(1, cond.count[i])),
    lm_pmi: cond.sum.map((s, i) => s - neutral.sum[i]),
  };
}

/**
 * N voters for a prefix, sampled as one batch after one prefill of the prefix (shared KV cache). A
 * voter ends at its first special token (end of text, a chat marker: the text is over) and is cut at
 * its first sentence or clause end (`voterCut`); empty ones are dropped.
 */
export function sampleVoters(lm: GlmForCausalLM, tok: Tokenizer, prefix: string, opts: Pick<SeqaOptions, 'voters' | 'maxVoterTokens' | 'topP' | 'seed'> & Partial<Pick<SeqaOptions, 'voterCut'>>): string[] {
  const p = tok.encode(prefix);
  const eos = tok.requireId(EOS_TOKEN);
  const specials = Array.from({ length: tok.vocabSize }, (_, i) => i).filter((i) => tok.isSpecial(i));
  const r = generateFromSharedPrefix(lm, p, opts.voters, { maxNewTokens: opts.maxVoterTokens, temperature: 1, topP: opts.topP, seed: opts.seed, stopTokens: specials, padId: eos, vocabLimit: tok.vocabSize });
  const cut = (opts.voterCut ?? DEFAULT_SEQA.voterCut) === 'clause' ? firstClause : firstSentence;
  return r.tokens.map((t) => cut(tok.decode(t.filter((x) => !tok.isSpecial(x))))).filter((s) => s.length > 0);
}

/** The texts the encoder embeds for choices or voters: alone, or as statements after the prefix. */
export function embedTexts(prefix: string, texts: readonly string[], context: EmbedContext): string[] {
  return context === 'bare' ? [...texts] : texts.map((t) => `${prefix} ${t.trim()}`);
}

/** SEQA's score of each choice: mean over voters of exp(cos(choice, voter) / T). */
export function semanticScores(choiceVecs: readonly Float32Array[], voterVecs: readonly Float32Array[], temperature: number): number[] {
  if (voterVecs.length === 0) return choiceVecs.map(() => 0);
  return choiceVecs.map((c) => voterVecs.reduce((s, v) => s + Math.exp(cosine(c, v) / temperature), 0) / voterVecs.length);
}

/**
 * Every method's scores and prediction for one question (`given`: voters sampled before for the same
 * prefix). The encoder is local or an HTTP endpoint (SentenceEmbedder).
 */
export async function seqaQuestion(lm: GlmForCausalLM, tok: Tokenizer, enc: SentenceEmbedder, q: SeqaQuestion, opts: SeqaOptions, given?: readonly string[]): Promise<SeqaResult> {
  // voters depend on the prefix only: a rewritten question (e.g. synonym-swapped choices) reuses them
  const voters = given ? [...given] : sampleVoters(lm, tok, q.prefix, opts);
  const vecs = await enc.embedTexts(embedTexts(q.prefix, [...q.choices, ...voters], opts.embedContext));
  const seqa = semanticScores(vecs.slice(0, q.choices.length), vecs.slice(q.choices.length), opts.temperature);
  const scores = { seqa, ...lmScores(lm, tok, q, opts.pmiPrefix) };
  const predictions = Object.fromEntries(SEQA_METHODS.map((m) => [m, argmax(scores[m])])) as Record<SeqaMethod, number>;
  return { scores, predictions, voters };
}
