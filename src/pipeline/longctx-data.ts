/**
 * Data of the long-context stage (docs/long-context.md), all from the built-in world and sized in
 * tokens of the model's own tokenizer:
 *   - long question items: a document of world facts with the sentence(s) that answer a question
 *     (single needle: the world's `longqa` generator with as many filler facts as the length needs),
 *     held out by seed (validation and test draw other seeds than training);
 *   - continued pre-training text: long documents with their question and answer appended,
 *     interleaved with the pipeline's ordinary pre-training documents (packed to the new length);
 *   - long-context SFT chats (thinking mode: the supporting sentence as reasoning, the boxed answer),
 *     mixed with a share of the pipeline's ordinary SFT chats so short-context ability is kept.
 */
import { BOX_CLOSE, BOX_OPEN, getWorld, longqaPrompt, sampleLongQa, WorldRng, type World } from '../data/world/index.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';

/** One long-document question: the user prompt, the gold answer and the sentence(s) that support it. */
export interface LongItem {
  kind: string;
  prompt: string;
  answer: string;
  /** the supporting sentence(s), written as the reasoning of the SFT chats */
  support: string;
  /** tokens of `prompt` */
  tokens: number;
}

/** A needle item whose prompt has between minTokens and maxTokens tokens (filler count adjusted, at most 8 tries). */
export function needleItem(rng: WorldRng, world: World, tok: Tokenizer, minTokens: number, maxTokens: number): LongItem {
  const target = (minTokens + maxTokens) / 2;
  let fillers = Math.max(1, Math.round(target / 9));
  let best: LongItem | null = null;
  for (let tries = 0; tries < 8; tries++) {
    const r = sampleLongQa(rng, world, 4, fillers);
    const prompt = longqaPrompt(r);
    const n = tok.encode(prompt).length;
    const item = { kind: 'needle', prompt, answer: r.answer, support: r.needle, tokens: n };
    if (n >= minTokens && n <= maxTokens) return item;
    if (n <= maxTokens && (!best || n > best.tokens)) best = item;
    fillers = Math.max(1, Math.round((fillers * target) / n));
  }
  if (best) return best;
  throw new Error(`long-context data: could not size a document under ${maxTokens} tokens`);
}

/** `n` items of `kind` with prompts of minTokens..maxTokens tokens, from seed `seed` (deterministic). */
export function longItems(kind: 'needle', n: number, seed: number, tok: Tokenizer, minTokens: number, maxTokens: number, worldSeed = 0): LongItem[] {
  const rng = new WorldRng(seed, 'longctx', kind);
  const world = getWorld(worldSeed);
  return Array.from({ length: n }, () => needleItem(rng, world, tok, minTokens, maxTokens));
}

/**
 * Training items of varied length: lengths drawn uniformly in [minTokens, maxTokens] so the model
 * sees the question at every distance from the start.
 */
export function variedLongItems(n: number, seed: number, tok: Tokenizer, minTokens: number, maxTokens: number, worldSeed = 0): LongItem[] {
  const rng = new WorldRng(seed, 'longctx', 'varied');
  const world = getWorld(worldSeed);
  return Array.from({ length: n }, () => {
    const hi = rng.int(minTokens, maxTokens);
    return needleItem(rng, world, tok, Math.max(16, Math.floor(hi * 0.8)), hi);
  });
}

/** The continued pre-training text of an item: the document, then its question and answer. */
export function longPretrainText(it: LongItem): string {
  return `${it.prompt}\n${it.support} The answer is ${it.answer}.`;
}

/** The long-context SFT chat of an item (thinking mode: the supporting sentence, then the boxed answer). */
export function longSftChat(it: LongItem): Record<string, unknown> {
  return {
    messages: [
      { role: 'user', content: it.prompt },
      { role: 'assistant', reasoning_content: it.support, content: `${BOX_OPEN}${it.answer}${BOX_CLOSE}` },
    ],
    enable_thinking: true,
  };
}

/**
 * Interleaves `a` and `b` so that `b` makes up about `shareB` of the result (deterministic: the
 * i-th output takes from b when floor((i+1) * shareB) grows).
 */
export function interleave<T>(a: readonly T[], b: readonly T[], shareB: number): T[] {
  const out: T[] = [];
  let ia = 0, ib = 0;
  for (let i = 0; ia < a.length || ib < b.length; i++) {
    const takeB = Math.floor((i + 1) * shareB) > Math.floor(i * shareB);
    if ((takeB && ib < b.length) || ia >= a.length) out.push(b[ib++]);
    else out.push(a[ia++]);
  }
  return out;
}
