/**
 * Preference data in TRL's formats, validated and tokenized with the GLM chat template:
 *   {"prompt": [...messages], "chosen": [...messages], "rejected": [...messages]}  conversational, explicit prompt
 *   {"chosen": [...messages], "rejected": [...messages]}                           conversational, implicit prompt
 *                                                                   (the shared leading messages are the prompt)
 *   {"prompt": "text", "chosen": "text", "rejected": "text"}                      standard, explicit prompt
 *   {"chosen": "text", "rejected": "text"}                                         standard, implicit prompt
 *                                                                   (the longest common prefix is the prompt)
 * Optional: "score_chosen"/"score_rejected" (ties are dropped), "chosen_correct"/"rejected_correct"
 * (0/1 labels for the reward model's multi-task BCE).
 *
 * Cleaning (ChatGLM-RLHF): exact duplicates, ties (identical responses or equal scores) and pairs in
 * preference cycles (A > B > ... > A for one prompt) are dropped; `balanceByLength` down-samples each
 * bucket of length difference so that the longer response wins as often as it loses.
 */
import { DataError, GlmkitError } from '../errors.js';
import { dataFilesLabel, readJsonlFiles, type DataFiles, type JsonlRecord } from './jsonl.js';
import { renderChat } from '../tokenizer/chat.js';
import type { ChatMessage } from '../tokenizer/chat-types.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { EOS_TOKEN } from '../tokenizer/special-tokens.js';
import { Tensor } from '../tensor/tensor.js';
import type { SequenceBatch } from '../trainers/rl-utils.js';
import { Rng } from '../util/rng.js';
import { finalAnswerText } from './world/verify.js';
import { getWorld } from './world/world.js';
import { rubricCorrectness, solveWorldPrompt } from './world/preference.js';

/** One validated pair; prompt / responses are message lists (conversational) or strings (standard). */
export interface PreferencePair {
  prompt: ChatMessage[] | string;
  chosen: ChatMessage[] | string;
  rejected: ChatMessage[] | string;
  scoreChosen?: number;
  scoreRejected?: number;
  chosenCorrect?: number;
  rejectedCorrect?: number;
  /** source line (for error messages) */
  line: number;
}

/** A tokenized sequence: ids and 1 where the token belongs to the response (a loss target). */
export interface TokenizedResponse {
  ids: number[];
  mask: number[];
  /** response tokens */
  length: number;
}

export interface TokenizedPair {
  pair: PreferencePair;
  chosen: TokenizedResponse;
  rejected: TokenizedResponse;
}

/** Whether v is a list of chat messages (objects with a string role). */
export function isMessages(v: unknown): v is ChatMessage[] {
  return Array.isArray(v) && v.every((m) => m && typeof m === 'object' && typeof (m as ChatMessage).role === 'string');
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function parseRecord(rec: JsonlRecord, file: string): PreferencePair {
  const v = rec.value;
  const where = (field: string) => ({ file, line: rec.line, field });
  for (const k of ['chosen', 'rejected'] as const) if (!(k in v)) throw new DataError('missing; expected TRL preference format {prompt?, chosen, rejected}', where(k));
  const num = (k: string): number | undefined => {
    if (v[k] === undefined || v[k] === null) return undefined;
    if (typeof v[k] === 'boolean') return v[k] ? 1 : 0;
    if (typeof v[k] !== 'number' || !Number.isFinite(v[k])) throw new DataError(`expected a number, found ${JSON.stringify(v[k])}`, where(k));
    return v[k] as number;
  };
  const extra = { scoreChosen: num('score_chosen'), scoreRejected: num('score_rejected'), chosenCorrect: num('chosen_correct'), rejectedCorrect: num('rejected_correct'), line: rec.line };
  const { chosen, rejected } = v;
  if ('prompt' in v) {
    const p = v.prompt;
    if (typeof p === 'string') {
      if (typeof chosen !== 'string') throw new DataError('expected a string like "prompt"', where('chosen'));
      if (typeof rejected !== 'string') throw new DataError('expected a string like "prompt"', where('rejected'));
      return { prompt: p, chosen, rejected, ...extra };
    }
    if (!isMessages(p)) throw new DataError('expected a string or a list of messages', where('prompt'));
    if (!isMessages(chosen)) throw new DataError('expected a list of messages (the prompt is conversational)', where('chosen'));
    if (!isMessages(rejected)) throw new DataError('expected a list of messages (the prompt is conversational)', where('rejected'));
    return { prompt: p, chosen, rejected, ...extra };
  }
  if (typeof chosen === 'string' && typeof rejected === 'string') {
    const n = commonPrefix(chosen, rejected);
    return { prompt: chosen.slice(0, n), chosen: chosen.slice(n), rejected: rejected.slice(n), ...extra };
  }
  if (isMessages(chosen) && isMessages(rejected)) {
    let n = 0;
    while (n < chosen.length && n < rejected.length && JSON.stringify(chosen[n]) === JSON.stringify(rejected[n])) n++;
    if (n === 0) throw new DataError('implicit prompt: "chosen" and "rejected" share no leading messages; add a "prompt" field', where('prompt'));
    return { prompt: chosen.slice(0, n), chosen: chosen.slice(n), rejected: rejected.slice(n), ...extra };
  }
  throw new DataError('"chosen" and "rejected" must both be strings or both be lists of messages', where('chosen'));
}

/** Reads and validates a preference JSONL file (see the file comment for the formats). */
export function readPreferencePairs(files: DataFiles): PreferencePair[] {
  return readJsonlFiles(files).map((r) => parseRecord(r, r.file));
}

/** Tokenizes prompt + response: conversational pairs with the chat template, standard ones as text + <|endoftext|>. */
export function tokenizeResponse(tok: Tokenizer, prompt: ChatMessage[] | string, response: ChatMessage[] | string): TokenizedResponse {
  if (typeof prompt === 'string' || typeof response === 'string') {
    const p = tok.encode(String(prompt)), c = [...tok.encode(String(response)), tok.requireId(EOS_TOKEN)];
    return { ids: [...p, ...c], mask: [...p.map(() => 0), ...c.map(() => 1)], length: c.length };
  }
  const r = renderChat(tok, { messages: [...prompt, ...response] }, { lastTurnOnly: true });
  return { ids: r.ids, mask: r.assistantMask, length: r.assistantMask.reduce((a, b) => a + b, 0) };
}

/** Tokenizes pairs; pairs whose longer sequence exceeds maxLen tokens are dropped and counted. */
export function tokenizePairs(tok: Tokenizer, pairs: readonly PreferencePair[], maxLen: number, file = 'preference data'): { pairs: TokenizedPair[]; dropped: number } {
  const out: TokenizedPair[] = [];
  let dropped = 0;
  for (const pair of pairs) {
    let chosen: TokenizedResponse, rejected: TokenizedResponse;
    try {
      chosen = tokenizeResponse(tok, pair.prompt, pair.chosen);
      rejected = tokenizeResponse(tok, pair.prompt, pair.rejected);
    } catch (e) {
      if (e instanceof GlmkitError && !(e instanceof DataError && e.line !== undefined)) throw new DataError(e.message, { file, line: pair.line });
      throw e;
    }
    if (chosen.length === 0 || rejected.length === 0) throw new DataError('a response has no tokens to score', { file, line: pair.line, field: chosen.length === 0 ? 'chosen' : 'rejected' });
    if (Math.max(chosen.ids.length, rejected.ids.length) > maxLen) {
      dropped++;
      continue;
    }
    out.push({ pair, chosen, rejected });
  }
  return { pairs: out, dropped };
}

const key = (v: unknown) => JSON.stringify(v);

/**
 * Drops exact duplicates, ties (identical responses, or equal scores when both are given) and every
 * pair whose two responses lie on a preference cycle of the same prompt.
 */
export function dedupePairs<P extends { pair: PreferencePair } | PreferencePair>(items: readonly P[]): { kept: P[]; duplicates: number; ties: number; cycles: number } {
  const get = (x: P): PreferencePair => ('pair' in x ? x.pair : x) as PreferencePair;
  const seen = new Set<string>();
  const stage1: P[] = [];
  let duplicates = 0, ties = 0;
  for (const it of items) {
    const p = get(it);
    const c = key(p.chosen), r = key(p.rejected);
    if (c === r || (p.scoreChosen !== undefined && p.scoreRejected !== undefined && p.scoreChosen === p.scoreRejected)) {
      ties++;
      continue;
    }
    const k = key([p.prompt, c, r]);
    if (seen.has(k)) {
      duplicates++;
      continue;
    }
    seen.add(k);
    stage1.push(it);
  }
  // Per prompt: a directed graph chosen -> rejected; edges inside one strongly connected component lie on a cycle.
  const byPrompt = new Map<string, P[]>();
  for (const it of stage1) {
    const k = key(get(it).prompt);
    if (!byPrompt.has(k)) byPrompt.set(k, []);
    byPrompt.get(k)!.push(it);
  }
  const inCycle = new Set<P>();
  for (const group of byPrompt.values()) {
    if (group.length < 2) continue;
    const comp = sccOf(group.map((it) => [key(get(it).chosen), key(get(it).rejected)] as [string, string]));
    for (const it of group) if (comp.get(key(get(it).chosen)) === comp.get(key(get(it).rejected))) inCycle.add(it);
  }
  return { kept: stage1.filter((it) => !inCycle.has(it)), duplicates, ties, cycles: inCycle.size };
}

/** Tarjan's strongly connected components of a small directed graph given as edges; node -> component id. */
function sccOf(edges: [string, string][]): Map<string, number> {
  const adj = new Map<string, string[]>();
  for (const [a, b] of edges) {
    if (!adj.has(a)) adj.set(a, []);
    if (!adj.has(b)) adj.set(b, []);
    adj.get(a)!.push(b);
  }
  const index = new Map<string, number>(), low = new Map<string, number>(), comp = new Map<string, number>();
  const stack: string[] = [], on = new Set<string>();
  let next = 0, nComp = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of adj.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      for (;;) {
        const w = stack.pop()!;
        on.delete(w);
        comp.set(w, nComp);
        if (w === v) break;
      }
      nComp++;
    }
  };
  for (const v of adj.keys()) if (!index.has(v)) visit(v);
  return comp;
}

/** Bucket of a pair by the absolute difference of its response lengths (tokens): 0 = equal length. */
export function lengthBucket(p: TokenizedPair, width: number): number {
  const d = Math.abs(p.chosen.length - p.rejected.length);
  return d === 0 ? 0 : 1 + Math.floor((d - 1) / width);
}

/**
 * ChatGLM-RLHF's length balancing: in each bucket of length difference, keep as many pairs where the
 * longer response won as pairs where it lost (a seeded random subset of the larger side). Pairs of
 * equal length are kept.
 */
export function balanceByLength(pairs: readonly TokenizedPair[], width: number, seed: number): { kept: TokenizedPair[]; removed: number } {
  const buckets = new Map<number, { won: TokenizedPair[]; lost: TokenizedPair[] }>();
  const kept: TokenizedPair[] = [];
  for (const p of pairs) {
    const b = lengthBucket(p, width);
    if (b === 0) {
      kept.push(p);
      continue;
    }
    if (!buckets.has(b)) buckets.set(b, { won: [], lost: [] });
    (p.chosen.length > p.rejected.length ? buckets.get(b)!.won : buckets.get(b)!.lost).push(p);
  }
  const rng = new Rng(`${seed}:length-balance`);
  for (const { won, lost } of buckets.values()) {
    const n = Math.min(won.length, lost.length);
    for (const side of [won, lost]) {
      for (let i = side.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [side[i], side[j]] = [side[j], side[i]];
      }
      kept.push(...side.slice(0, n));
    }
  }
  const order = new Map(pairs.map((p, i) => [p, i]));
  kept.sort((a, b) => order.get(a)! - order.get(b)!);
  return { kept, removed: pairs.length - kept.length };
}

/**
 * Right-pads tokenized sequences into a SequenceBatch (rl-utils): lossMask[b, t] = 1 where token t+1
 * is a response token.
 */
export function responseBatch(seqs: readonly TokenizedResponse[], padId: number): SequenceBatch {
  const B = seqs.length;
  const T = Math.max(...seqs.map((s) => s.ids.length));
  const ids = new Int32Array(B * T).fill(padId), att = new Int32Array(B * T), loss = new Float32Array(B * T);
  seqs.forEach((s, b) => {
    for (let t = 0; t < s.ids.length; t++) {
      ids[b * T + t] = s.ids[t];
      att[b * T + t] = 1;
      if (t > 0 && s.mask[t]) loss[b * T + t - 1] = 1;
    }
  });
  return { ids: new Tensor(ids, [B, T]), attentionMask: att, lossMask: loss };
}

/** Loads, cleans and tokenizes a preference file; reports what was dropped. */
export function loadPreferenceData(files: DataFiles, tok: Tokenizer, opts: { maxLen: number; balanceLength?: boolean; bucketWidth?: number; seed?: number }): { pairs: TokenizedPair[]; stats: Record<string, number> } {
  const raw = readPreferencePairs(files);
  const file = dataFilesLabel(files);
  const d = dedupePairs(raw);
  const t = tokenizePairs(tok, d.kept, opts.maxLen, file);
  let pairs = t.pairs, balanced = 0;
  if (opts.balanceLength) {
    const b = balanceByLength(pairs, opts.bucketWidth ?? 16, opts.seed ?? 0);
    pairs = b.kept;
    balanced = b.removed;
  }
  if (pairs.length === 0) throw new DataError(`no usable pairs left (${raw.length} read: ${d.duplicates} duplicates, ${d.ties} ties, ${d.cycles} in cycles, ${t.dropped} longer than ${opts.maxLen} tokens, ${balanced} removed by length balancing)`, { file });
  return { pairs, stats: { read: raw.length, kept: pairs.length, duplicates: d.duplicates, ties: d.ties, cycles: d.cycles, too_long: t.dropped, length_balanced: balanced } };
}

const lastUserText = (prompt: readonly ChatMessage[]): string => [...prompt].reverse().find((m) => m.role === 'user')?.content ?? '';

/** Whether the world (of `worldSeed`) can answer the prompt's last user question. */
export function isWorldPrompt(prompt: readonly ChatMessage[], worldSeed = 0): boolean {
  return solveWorldPrompt(getWorld(worldSeed), lastUserText(prompt)) !== null;
}

/**
 * Correctness of a response to a world prompt under the world's rubric: 1 (the one boxed answer is
 * right), 0.5 (no box, the answer stated unambiguously) or 0. `=== 1` gives the 0/1 labels of the
 * reward model's multi-task BCE on verifiable prompts.
 */
export function worldCorrectness(prompt: readonly ChatMessage[], response: readonly ChatMessage[], worldSeed = 0): number {
  const question = lastUserText(prompt);
  const world = getWorld(worldSeed);
  const solved = solveWorldPrompt(world, question);
  const text = finalAnswerText(response.at(-1)?.content ?? '');
  if (!solved || text === null) return 0;
  return rubricCorrectness(world, question, text, solved);
}
