/**
 * STM: self-training a reader to extract evidence without gold evidence (docs/reading.md).
 * Iteration 0 trains on answers only. Each later iteration runs the previous reader on the training
 * set; an item is a candidate when answered correctly with probability > `confidence`; its evidence
 * is the adaptive top-k (k <= maxK) of the soft evidence, kept when exp(mean sequential log-prob) >
 * `minValue`; candidates are ranked by answer probability x evidence value and the top `topK` not
 * yet labelled join the pool (earlier labels stay); a fresh reader trains on answers +
 * `evidenceWeight` x the evidence loss. Baselines: the answer-only reader's attention as evidence
 * (iteration 0), and a rule-based extractor (word overlap with question + option).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { adaptiveEvidence, evidencePrecision } from './evidence.js';
import { type MrcItem, type MrcPrediction, accuracyByKind, predictMrc, trainMrc } from './mrc.js';
import type { Reader } from './reader.js';
import { saveReader } from './checkpoint.js';

export interface StmConfig {
  /** self-training iterations after iteration 0 (paper: 10) */
  iterations: number;
  /** answer probability a candidate must exceed (paper: 0.9) */
  confidence: number;
  /** at most this many evidence sentences (paper: 3) */
  maxK: number;
  /** keep a candidate when exp(mean sequential log-prob) exceeds this (paper: 0.5) */
  minValue: number;
  /** pseudo-labels added per iteration (paper: 10000 for RACE-middle) */
  topK: number;
  /** weight of the evidence loss (paper: 0.8) */
  evidenceWeight: number;
  steps: number;
  batch: number;
  lr: number;
  seed: number;
}

export const STM_DEFAULTS: StmConfig = { iterations: 10, confidence: 0.9, maxK: 3, minValue: 0.5, topK: 10000, evidenceWeight: 0.8, steps: 300, batch: 8, lr: 1e-3, seed: 0 };

export interface PseudoLabel {
  index: number;
  sentences: number[];
  answerProb: number;
  value: number;
  score: number;
}

/** Candidates of one iteration, filtered and ranked; the first `topK` not in `pool`. */
export function selectPseudoEvidence(items: readonly MrcItem[], preds: readonly MrcPrediction[], cfg: Pick<StmConfig, 'confidence' | 'maxK' | 'minValue' | 'topK'>, pool: ReadonlyMap<number, unknown> = new Map()): PseudoLabel[] {
  const cands: PseudoLabel[] = [];
  items.forEach((it, i) => {
    const p = preds[i];
    if (pool.has(i) || p.predicted !== it.answer || !(p.probs[it.answer] > cfg.confidence)) return;
    const ev = adaptiveEvidence(p.evidence, cfg.maxK);
    if (!(ev.value > cfg.minValue)) return;
    cands.push({ index: i, sentences: ev.sentences, answerProb: p.probs[it.answer], value: ev.value, score: p.probs[it.answer] * ev.value });
  });
  cands.sort((a, b) => b.score - a.score || a.index - b.index);
  return cands.slice(0, cfg.topK);
}

const STOP = new Set('a an the of in on at to is are was were does do did what which who whom where when how why and or for with by from as that this it its their his her he she they be been has have had s'.split(' '));

function words(s: string): Set<string> {
  return new Set((s.toLowerCase().match(/[a-z0-9]+/g) ?? []).filter((w) => !STOP.has(w)));
}

/** Rule-based evidence: sentences ranked by content-word overlap with question + option (ties: earlier). */
export function overlapEvidence(item: MrcItem, option: number, k: number): number[] {
  const q = words(`${item.question} ${item.options[option]}`);
  const scores = item.sentences.map((s) => [...words(s)].filter((w) => q.has(w)).length);
  return scores.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, k).map(([, i]) => i);
}

/** Top-k sentences of a soft evidence distribution. */
export function topSentences(p: readonly number[], k: number): number[] {
  return p.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, k).map(([, i]) => i);
}

export interface EvidenceScores {
  /** per item: precision@1 and precision@|gold| of the predicted evidence */
  p1: number[];
  pk: number[];
}

/** Evidence precision of a ranking function against gold evidence (items without gold are skipped). */
export function evidenceScores(items: readonly MrcItem[], rank: (i: number, k: number) => number[]): EvidenceScores {
  const out: EvidenceScores = { p1: [], pk: [] };
  items.forEach((it, i) => {
    if (!it.evidence || it.evidence.length === 0) return;
    out.p1.push(evidencePrecision(rank(i, 1), it.evidence));
    out.pk.push(evidencePrecision(rank(i, it.evidence.length), it.evidence));
  });
  return out;
}

export interface StmIteration {
  iteration: number;
  pool: number;
  added: number;
  /** precision of the pseudo-labels against gold evidence, where the training items have it */
  pseudo_precision: number | null;
  answer_accuracy: number;
  accuracy_by_kind: Record<string, number>;
  evidence_p1: number;
  evidence_pk: number;
  /** per evaluation item (paired comparisons) */
  perItem: { correct: number[]; p1: number[]; pk: number[] };
}

const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Metrics of a reader on evaluation items (its soft evidence ranked for precision). */
export function stmMetrics(reader: Reader, items: readonly MrcItem[]): Omit<StmIteration, 'iteration' | 'pool' | 'added' | 'pseudo_precision'> & { preds: MrcPrediction[] } {
  const preds = predictMrc(reader, items);
  const ev = evidenceScores(items, (i, k) => topSentences(preds[i].evidence, k));
  const correct = items.map((it, i) => Number(preds[i].predicted === it.answer));
  return { answer_accuracy: mean(correct), accuracy_by_kind: accuracyByKind(items, preds), evidence_p1: mean(ev.p1), evidence_pk: mean(ev.pk), perItem: { correct, p1: ev.p1, pk: ev.pk }, preds };
}

export interface StmRun {
  iterations: StmIteration[];
  /** the rule-based baseline on the evaluation items (question + the gold option) */
  overlap: { evidence_p1: number; evidence_pk: number; perItem: EvidenceScores };
}

/**
 * Runs STM: `fresh(iteration)` gives a freshly initialised reader for each iteration. Writes
 * OUT/iter-<n>/{metrics.json,pseudo_labels.jsonl} per iteration and the last reader to OUT/reader.
 */
export function runStm(fresh: (iteration: number) => Reader, train: readonly MrcItem[], evalItems: readonly MrcItem[], cfg: StmConfig, out: string | null, log: (s: string) => void = () => {}): StmRun {
  const pool = new Map<number, number[]>();
  const iterations: StmIteration[] = [];
  let reader: Reader | null = null;
  for (let it = 0; it <= cfg.iterations; it++) {
    let added: PseudoLabel[] = [];
    if (reader) {
      added = selectPseudoEvidence(train, predictMrc(reader, train), cfg, pool);
      for (const a of added) pool.set(a.index, a.sentences);
    }
    reader = fresh(it);
    trainMrc(reader, train, { steps: cfg.steps, batch: cfg.batch, lr: cfg.lr, seed: cfg.seed + it, evidenceWeight: it === 0 ? 0 : cfg.evidenceWeight, evidence: pool, log: (s) => log(`iter ${it}: ${s}`) });
    const m = stmMetrics(reader, evalItems);
    const gold = [...pool].filter(([i]) => train[i].evidence).map(([i, s]) => evidencePrecision(s, train[i].evidence!));
    const row: StmIteration = { iteration: it, pool: pool.size, added: added.length, pseudo_precision: gold.length > 0 ? mean(gold) : null, answer_accuracy: m.answer_accuracy, accuracy_by_kind: m.accuracy_by_kind, evidence_p1: m.evidence_p1, evidence_pk: m.evidence_pk, perItem: m.perItem };
    iterations.push(row);
    log(`iter ${it}: pool ${pool.size} (+${added.length}), accuracy ${m.answer_accuracy.toFixed(3)}, evidence P@1 ${m.evidence_p1.toFixed(3)} P@k ${m.evidence_pk.toFixed(3)}`);
    if (out) {
      const dir = join(out, `iter-${it}`);
      mkdirSync(dir, { recursive: true });
      const { perItem, ...summary } = row;
      writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ ...summary, per_item: perItem }, null, 2) + '\n');
      writeFileSync(join(dir, 'pseudo_labels.jsonl'), added.map((a) => JSON.stringify({ ...a, gold: train[a.index].evidence ?? null })).join('\n') + (added.length ? '\n' : ''));
    }
  }
  if (out && reader) saveReader(join(out, 'reader'), reader, { trained_by: 'glmkit stm' });
  const ov = evidenceScores(evalItems, (i, k) => overlapEvidence(evalItems[i], evalItems[i].answer, k));
  return { iterations, overlap: { evidence_p1: mean(ov.p1), evidence_pk: mean(ov.pk), perItem: ov } };
}
