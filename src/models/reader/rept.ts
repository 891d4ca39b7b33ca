/**
 * REPT: retrieval-based pre-training (docs/reading.md).
 * Data from a plain document with entity/noun annotations per sentence:
 *   importance(s) = (sum over the distinct entities/nouns of s of the number of sentences containing
 *   them) - 1 + the number of pronouns in s; the top `queryRatio` (30%) become query sentences (ties:
 *   the earlier sentence); in them, entities that also occur in another sentence are chosen (mask
 *   80% / replace 10% / keep 10%, all predicted) and such nouns are masked with probability 30%;
 *   the queries are shuffled and put before the passage (the other sentences, in order).
 * Losses: Surrounding Sentences Prediction (for each query, point at its original previous and next
 * sentence among all sentences; each pointer masks the query itself and the other gold sentence) and
 * retrieval-based masked span prediction (token state concatenated with the summary the query
 * sentence retrieves by sentence attention, itself excluded). Loss = L_prev + L_next + L_mlm.
 */
import { DataError } from '../../errors.js';
import type { AnnotatedDocument } from '../../data/world/reading-hard.js';
import * as F from '../../tensor/ops/index.js';
import { Tensor } from '../../tensor/tensor.js';
import { AdamW } from '../../optim/adamw.js';
import { clipGradNorm } from '../../optim/clip.js';
import { Rng } from '../../util/rng.js';
import type { Reader } from './reader.js';

export interface ReptDataOptions {
  queryRatio: number;
  entityMask: number;
  entityReplace: number;
  nounMask: number;
}

export const REPT_DEFAULTS: ReptDataOptions = { queryRatio: 0.3, entityMask: 0.8, entityReplace: 0.1, nounMask: 0.3 };

const PRONOUNS = new Set(['he', 'she', 'it', 'they', 'him', 'her', 'them', 'his', 'its', 'their', 'hers', 'theirs']);

/** One piece of a sentence: plain text, or a mention chosen for prediction. */
export interface Segment {
  text: string;
  action?: 'mask' | 'replace' | 'keep';
  kind?: 'entity' | 'noun';
  /** for 'replace': the text put in its place */
  replacement?: string;
}

export interface ReptExample {
  /** sentences in layout order (queries first), as segments */
  sentences: Segment[][];
  queryCount: number;
  /** original index of each layout sentence */
  original: number[];
  /** per query: layout index of the original previous / next sentence, -1 when there is none */
  prev: number[];
  next: number[];
  importance: number[];
}

function hasWord(sentence: string, w: string): boolean {
  return new RegExp(`(^|[^A-Za-z])${w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^A-Za-z]|$)`, 'i').test(sentence);
}

/** Importance of every sentence of a document. */
export function sentenceImportance(doc: AnnotatedDocument): number[] {
  const mentions = doc.annotations.map((a) => [...new Set([...a.entities, ...a.nouns].map((m) => m.toLowerCase()))]);
  const freq = new Map<string, number>();
  for (const ms of mentions) for (const m of ms) freq.set(m, 0);
  for (const m of freq.keys()) freq.set(m, doc.sentences.filter((s) => hasWord(s, m)).length);
  return doc.sentences.map((s, i) => {
    const pron = (s.match(/[A-Za-z]+/g) ?? []).filter((w) => PRONOUNS.has(w.toLowerCase())).length;
    return mentions[i].reduce((a, m) => a + freq.get(m)!, 0) - 1 + pron;
  });
}

/** Splits a sentence into segments at the chosen mentions (first occurrence each, left to right). */
function segmentsOf(s: string, chosen: Map<string, Omit<Segment, 'text'>>): Segment[] {
  const hits: { at: number; len: number; seg: Omit<Segment, 'text'> }[] = [];
  for (const [m, seg] of chosen) {
    const re = new RegExp(`(?<![A-Za-z])${m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z])`, 'i');
    const r = re.exec(s);
    if (r && !hits.some((h) => r.index < h.at + h.len && h.at < r.index + m.length)) hits.push({ at: r.index, len: m.length, seg });
  }
  hits.sort((a, b) => a.at - b.at);
  const out: Segment[] = [];
  let pos = 0;
  for (const h of hits) {
    if (h.at > pos) out.push({ text: s.slice(pos, h.at) });
    out.push({ text: s.slice(h.at, h.at + h.len), ...h.seg });
    pos = h.at + h.len;
  }
  if (pos < s.length) out.push({ text: s.slice(pos) });
  return out;
}

/** Builds one REPT example from a document (`rand` in [0, 1) decides masking and shuffling). */
export function buildReptExample(doc: AnnotatedDocument, rand: () => number, o: ReptDataOptions = REPT_DEFAULTS): ReptExample {
  const n = doc.sentences.length;
  if (n < 3) throw new DataError(`rept: a document needs at least 3 sentences, got ${n}`);
  if (doc.annotations.length !== n) throw new DataError(`rept: ${n} sentences but ${doc.annotations.length} annotations`);
  const importance = sentenceImportance(doc);
  const nq = Math.max(1, Math.min(n - 1, Math.round(o.queryRatio * n)));
  const ranked = importance.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const queries = ranked.slice(0, nq).map(([, i]) => i);
  // Fisher-Yates on the queries
  for (let i = queries.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [queries[i], queries[j]] = [queries[j], queries[i]];
  }
  const qset = new Set(queries);
  const passage = Array.from({ length: n }, (_, i) => i).filter((i) => !qset.has(i));
  const original = [...queries, ...passage];
  const layoutOf = new Map(original.map((o2, l) => [o2, l]));
  const entitiesAll = [...new Set(doc.annotations.flatMap((a) => a.entities))];
  const sentences = original.map((oi, l) => {
    if (l >= nq) return [{ text: doc.sentences[oi] }];
    const s = doc.sentences[oi];
    const elsewhere = (m: string) => doc.sentences.some((t, j) => j !== oi && hasWord(t, m));
    const chosen = new Map<string, Omit<Segment, 'text'>>();
    for (const e of doc.annotations[oi].entities) {
      if (!elsewhere(e)) continue;
      const r = rand();
      const others = entitiesAll.filter((x) => x !== e);
      if (r < o.entityMask) chosen.set(e, { action: 'mask', kind: 'entity' });
      else if (r < o.entityMask + o.entityReplace && others.length > 0) chosen.set(e, { action: 'replace', kind: 'entity', replacement: others[Math.floor(rand() * others.length)] });
      else chosen.set(e, { action: 'keep', kind: 'entity' });
    }
    for (const m of doc.annotations[oi].nouns) {
      if (!elsewhere(m) || chosen.has(m)) continue;
      if (rand() < o.nounMask) chosen.set(m, { action: 'mask', kind: 'noun' });
    }
    return segmentsOf(s, chosen);
  });
  const ptr = (d: number) => queries.map((q) => (q + d >= 0 && q + d < n ? layoutOf.get(q + d)! : -1));
  return { sentences, queryCount: nq, original, prev: ptr(-1), next: ptr(1), importance };
}

/** Token-level REPT input. */
export interface ReptTokens {
  ids: number[];
  spans: [number, number][];
  /** positions predicted by masked span prediction, their target tokens and their query (layout index) */
  positions: number[];
  targets: number[];
  queryOf: number[];
}

/** Tokenizes an example: every segment on its own; a chosen mention's tokens become [MASK] (or the replacement's). */
export function tokenizeRept(reader: Reader, ex: ReptExample, maskId: number): ReptTokens {
  const tok = reader.tokenizer;
  const out: ReptTokens = { ids: [], spans: [], positions: [], targets: [], queryOf: [] };
  ex.sentences.forEach((segs, l) => {
    const start = out.ids.length;
    segs.forEach((seg, k) => {
      const lead = k === 0 && l > 0 ? ' ' : '';
      const orig = tok.encode(lead + seg.text);
      if (!seg.action) {
        out.ids.push(...orig);
        return;
      }
      const rep = seg.action === 'replace' ? tok.encode(lead + seg.replacement!) : orig;
      orig.forEach((t, i) => {
        out.positions.push(out.ids.length);
        out.targets.push(t);
        out.queryOf.push(l);
        out.ids.push(seg.action === 'mask' ? maskId : rep[i % rep.length]);
      });
    });
    out.spans.push([start, out.ids.length]);
  });
  return out;
}

export interface ReptLosses {
  prev: Tensor;
  next: Tensor;
  mlm: Tensor;
}

/** A pointer's logits [Q, S] with the query itself and the other gold sentence masked out. */
function pointerTargets(ex: ReptExample, which: 'prev' | 'next'): { mask: Float32Array; targets: Int32Array } {
  const S = ex.original.length, Q = ex.queryCount;
  const mask = new Float32Array(Q * S);
  const targets = new Int32Array(Q);
  for (let q = 0; q < Q; q++) {
    mask[q * S + q] = -1e9;
    const other = which === 'prev' ? ex.next[q] : ex.prev[q];
    if (other >= 0) mask[q * S + other] = -1e9;
    const t = which === 'prev' ? ex.prev[q] : ex.next[q];
    targets[q] = t >= 0 ? t : -100;
  }
  return { mask, targets };
}

/** SSP targets and candidate masks of an example (exported for tests). */
export function sspTargets(ex: ReptExample): { prev: ReturnType<typeof pointerTargets>; next: ReturnType<typeof pointerTargets> } {
  return { prev: pointerTargets(ex, 'prev'), next: pointerTargets(ex, 'next') };
}

/** The three REPT losses of one example. */
export function reptLosses(reader: Reader, ex: ReptExample, t: ReptTokens): ReptLosses {
  const hidden = reader.encode([t.ids]);
  const H = hidden.shape[2], S = t.spans.length, Q = ex.queryCount;
  const queries = F.concat(t.spans.slice(0, Q).map(([a, b]) => F.mean(F.slice(hidden, 1, a, b), 1, true)), 1); // [1, Q, H]
  const att = reader.attend(hidden, queries, t.spans); // vectors [1, Q, S, H], logits [1, Q, S]
  const q4 = F.reshape(queries, [1, Q, 1, H]);
  const pointer = (lin: typeof reader.heads.prevPtr, which: 'prev' | 'next') => {
    const { mask, targets } = pointerTargets(ex, which);
    const logits = F.add(F.scale(F.sum(F.mul(lin.forward(att.vectors), q4), -1), 1 / Math.sqrt(H)), new Tensor(mask, [1, Q, S]));
    return targets.some((x) => x >= 0) ? F.crossEntropy(F.reshape(logits, [Q, S]), new Tensor(targets, [Q])) : Tensor.scalar(0);
  };
  const prev = pointer(reader.heads.prevPtr, 'prev');
  const next = pointer(reader.heads.nextPtr, 'next');
  let mlm = Tensor.scalar(0);
  if (t.positions.length > 0) {
    const selfMask = new Float32Array(Q * S);
    for (let q = 0; q < Q; q++) selfMask[q * S + q] = -1e9;
    const summary = reader.summary({ vectors: att.vectors, logits: F.add(att.logits, new Tensor(selfMask, [1, Q, S])) }); // [1, Q, H]
    const M = t.positions.length;
    const hTok = F.indexSelect(F.reshape(hidden, [hidden.shape[1], H]), 0, Tensor.ids(t.positions, [M]));
    const sTok = F.indexSelect(F.reshape(summary, [Q, H]), 0, Tensor.ids(t.queryOf, [M]));
    const logits = reader.lm.logits(reader.heads.spanProj.forward(F.concat([hTok, sTok], -1)));
    mlm = F.crossEntropy(logits, Tensor.ids(t.targets, [M]));
  }
  return { prev, next, mlm };
}

/** Plain masked-LM input (the baseline): `rate` of the tokens masked, predicted from their own states. */
export function plainMlmLoss(reader: Reader, ids: number[], maskId: number, rand: () => number, rate = 0.15): Tensor {
  const input = ids.slice(), positions: number[] = [], targets: number[] = [];
  ids.forEach((t, i) => {
    if (rand() < rate) {
      positions.push(i);
      targets.push(t);
      input[i] = maskId;
    }
  });
  if (positions.length === 0) return Tensor.scalar(0);
  const hidden = reader.encode([input]);
  const H = hidden.shape[2];
  const h = F.indexSelect(F.reshape(hidden, [ids.length, H]), 0, Tensor.ids(positions, [positions.length]));
  return F.crossEntropy(reader.lm.logits(h), Tensor.ids(targets, [targets.length]));
}

/** Causal next-token loss of one row (the "causal LM as is" baseline). */
export function causalLoss(reader: Reader, ids: number[]): Tensor {
  const T = ids.length;
  const targets = Int32Array.from(ids, (_, i) => (i + 1 < T ? ids[i + 1] : -100));
  return reader.lm.forward(Tensor.ids(ids, [1, T]), { targets: new Tensor(targets, [1, T]) }).loss!;
}

export interface PretrainOptions {
  steps: number;
  batch: number;
  lr: number;
  seed: number;
  /** 'rept' (SSP + retrieval MSP), 'mlm' (plain masked LM) or 'clm' (causal next-token LM): the baselines */
  objective: 'rept' | 'mlm' | 'clm';
  data?: ReptDataOptions;
  log?: (s: string) => void;
}

export interface PretrainLog {
  step: number;
  prev: number;
  next: number;
  mlm: number;
}

/** Pre-trains the reader on documents (a fresh masking per step); returns each step's losses. */
export function reptPretrain(reader: Reader, docs: readonly AnnotatedDocument[], o: PretrainOptions): PretrainLog[] {
  if (docs.length === 0) throw new DataError('rept pretrain: no documents');
  const maskId = reader.tokenizer.requireId('[MASK]');
  const opt = new AdamW(reader.parameters(), { lr: o.lr, weightDecay: 0.01 });
  const rng = new Rng(o.seed);
  const rand = () => rng.random();
  const log: PretrainLog[] = [];
  for (let step = 0; step < o.steps; step++) {
    reader.zeroGrad();
    const row: PretrainLog = { step: step + 1, prev: 0, next: 0, mlm: 0 };
    for (let b = 0; b < o.batch; b++) {
      const doc = docs[rng.int(docs.length)];
      if (o.objective !== 'rept') {
        const ids = doc.sentences.flatMap((s, i) => reader.tokenizer.encode(i === 0 ? s : ` ${s}`));
        const l = o.objective === 'mlm' ? plainMlmLoss(reader, ids, maskId, rand) : causalLoss(reader, ids);
        row.mlm += l.item() / o.batch;
        if (l.requiresGrad) F.scale(l, 1 / o.batch).backward();
        continue;
      }
      const ex = buildReptExample(doc, rand, o.data ?? REPT_DEFAULTS);
      const L = reptLosses(reader, ex, tokenizeRept(reader, ex, maskId));
      row.prev += L.prev.item() / o.batch;
      row.next += L.next.item() / o.batch;
      row.mlm += L.mlm.item() / o.batch;
      const total = F.add(F.add(L.prev, L.next), L.mlm);
      if (total.requiresGrad) F.scale(total, 1 / o.batch).backward();
    }
    clipGradNorm(reader.parameters(), 1);
    opt.update();
    log.push(row);
    if (o.log && (step + 1) % 10 === 0) o.log(`step ${step + 1}/${o.steps} ssp_prev ${row.prev.toFixed(4)} ssp_next ${row.next.toFixed(4)} mlm ${row.mlm.toFixed(4)}`);
  }
  return log;
}
