/**
 * Data of the sentence encoder: contrastive triples in sentence-transformers' column names
 * ({"anchor", "positive"[, "negative"]}) and STS pairs ({"sentence1", "sentence2", "score"}), each
 * read with the file, line and field of any bad record; and the STS metric (Spearman's rank
 * correlation of cosine similarity with the gold score).
 */
import { DataError } from '../errors.js';
import { readJsonlFiles, stringField, type DataFiles } from '../data/jsonl.js';
import { cosine, type SentenceEncoder } from './encoder.js';

export interface Triple {
  anchor: string;
  positive: string;
  negative: string | null;
}

export interface StsPair {
  sentence1: string;
  sentence2: string;
  score: number;
}

/** Reads contrastive triples; `negative` is optional per record (empty strings are refused). */
export function loadTriples(files: DataFiles): Triple[] {
  return readJsonlFiles(files).map((rec) => {
    const get = (k: string) => {
      const s = stringField(rec, rec.file, k);
      if (s.trim() === '') throw new DataError('expected a non-empty text', { file: rec.file, line: rec.line, field: k });
      return s;
    };
    return { anchor: get('anchor'), positive: get('positive'), negative: rec.value.negative === undefined ? null : get('negative') };
  });
}

/** Reads STS pairs (score: a finite number). */
export function loadStsPairs(files: DataFiles): StsPair[] {
  return readJsonlFiles(files).map((rec) => {
    const score = rec.value.score;
    if (typeof score !== 'number' || !Number.isFinite(score)) throw new DataError(`expected a number, found ${JSON.stringify(score)?.slice(0, 40) ?? 'nothing'}`, { file: rec.file, line: rec.line, field: 'score' });
    return { sentence1: stringField(rec, rec.file, 'sentence1'), sentence2: stringField(rec, rec.file, 'sentence2'), score };
  });
}

/** Ranks 1..n with ties given their average rank. */
export function ranks(xs: readonly number[]): number[] {
  const idx = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
  const r = new Array<number>(xs.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && xs[idx[j + 1]] === xs[idx[i]]) j++;
    for (let k = i; k <= j; k++) r[idx[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

export function pearson(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  const ma = a.reduce((s, x) => s + x, 0) / n, mb = b.reduce((s, x) => s + x, 0) / n;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < n; i++) {
    num += (a[i] - ma) * (b[i] - mb);
    da += (a[i] - ma) ** 2;
    db += (b[i] - mb) ** 2;
  }
  return da === 0 || db === 0 ? 0 : num / Math.sqrt(da * db);
}

/** Spearman's rho: the Pearson correlation of the ranks (ties averaged). */
export function spearman(a: readonly number[], b: readonly number[]): number {
  return pearson(ranks(a), ranks(b));
}

/** Spearman and Pearson of the encoder's cosine similarities with the gold scores. */
export function evaluateSts(enc: SentenceEncoder, pairs: readonly StsPair[]): { spearman: number; pearson: number; n: number } {
  const v1 = enc.embed(pairs.map((p) => p.sentence1)), v2 = enc.embed(pairs.map((p) => p.sentence2));
  const sims = pairs.map((_, i) => cosine(v1[i], v2[i]));
  const gold = pairs.map((p) => p.score);
  return { spearman: spearman(sims, gold), pearson: pearson(sims, gold), n: pairs.length };
}
