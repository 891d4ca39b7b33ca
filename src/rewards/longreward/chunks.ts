/**
 * Document chunks for the judge (docs/longreward.md): the context is cut at sentence ends into chunks
 * of about `chunkTokens` tokens (~128 for faithfulness retrieval, ~4096 for completeness extraction;
 * a sentence longer than a chunk is cut at words), each with its position in the document as a
 * percent range of characters. Retrieval ranks chunks for a statement by embedding cosine similarity
 * (any SentenceEmbedder: an encoder folder or a /v1/embeddings endpoint) or, without an embedding
 * model, by BM25; the top k are returned in document order.
 */
import { cosine, type SentenceEmbedder } from '../../embed/encoder.js';
import { splitSentences } from '../../data/world/reading.js';

export interface Chunk {
  text: string;
  /** start and end offsets (characters) in the document */
  start: number;
  end: number;
  /** "12%-25%" */
  position: string;
}

/** Cuts `doc` into chunks of at most about `chunkTokens` tokens (by `count`), at sentence ends. */
export function chunkDocument(doc: string, chunkTokens: number, count: (s: string) => number): Chunk[] {
  const pieces: string[] = [];
  for (const s of splitSentences(doc)) {
    if (count(s) <= chunkTokens) {
      pieces.push(s);
      continue;
    }
    let cur = '';
    for (const w of s.split(/\s+/)) {
      const next = cur ? `${cur} ${w}` : w;
      if (cur && count(next) > chunkTokens) {
        pieces.push(cur);
        cur = w;
      } else cur = next;
    }
    if (cur) pieces.push(cur);
  }
  const chunks: Chunk[] = [];
  let cur: string[] = [];
  let curTokens = 0;
  let searchFrom = 0;
  let start = 0;
  const flush = () => {
    if (cur.length === 0) return;
    const text = cur.join(' ');
    const end = Math.min(doc.length, start + text.length);
    const pct = (x: number) => Math.round((100 * x) / Math.max(1, doc.length));
    chunks.push({ text, start, end, position: `${pct(start)}%-${pct(end)}%` });
    cur = [];
    curTokens = 0;
  };
  for (const p of pieces) {
    const n = count(p);
    if (cur.length > 0 && curTokens + n > chunkTokens) flush();
    if (cur.length === 0) {
      const at = doc.indexOf(p, searchFrom);
      start = at >= 0 ? at : searchFrom;
    }
    cur.push(p);
    curTokens += n;
    const at = doc.indexOf(p, searchFrom);
    if (at >= 0) searchFrom = at + p.length;
  }
  flush();
  return chunks;
}

const words = (s: string) => s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

/** BM25 scores (k1 1.5, b 0.75) of each document for the query. */
export function bm25Scores(query: string, docs: readonly string[], k1 = 1.5, b = 0.75): number[] {
  const toks = docs.map(words);
  const avg = toks.reduce((a, t) => a + t.length, 0) / Math.max(1, toks.length);
  const df = new Map<string, number>();
  for (const t of toks) for (const w of new Set(t)) df.set(w, (df.get(w) ?? 0) + 1);
  const N = docs.length;
  const q = [...new Set(words(query))];
  return toks.map((t) => {
    const tf = new Map<string, number>();
    for (const w of t) tf.set(w, (tf.get(w) ?? 0) + 1);
    let s = 0;
    for (const w of q) {
      const f = tf.get(w) ?? 0;
      if (f === 0) continue;
      const n = df.get(w) ?? 0;
      const idf = Math.log(1 + (N - n + 0.5) / (n + 0.5));
      s += (idf * f * (k1 + 1)) / (f + k1 * (1 - b + (b * t.length) / Math.max(1e-9, avg)));
    }
    return s;
  });
}

/** Indices of the `k` best scores (ties: earlier first), returned in ascending (document) order. */
export function topKInOrder(scores: readonly number[], k: number): number[] {
  const idx = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  return idx.slice(0, k).sort((a, b) => a - b);
}

/** Ranks chunks for statements: by embeddings when an embedder is given, else BM25. */
export class ChunkRetriever {
  private readonly vectors = new Map<string, Float32Array>();

  constructor(readonly embedder: SentenceEmbedder | null = null) {}

  get method(): string {
    return this.embedder ? `embedding (${this.embedder.source})` : 'bm25';
  }

  private async embed(texts: readonly string[]): Promise<void> {
    const missing = [...new Set(texts.filter((t) => !this.vectors.has(t)))];
    if (missing.length === 0) return;
    const vs = await this.embedder!.embedTexts(missing);
    missing.forEach((t, i) => this.vectors.set(t, vs[i]));
  }

  /** For each query, the indices of its top-k chunks in document order. */
  async retrieve(queries: readonly { query: string; chunks: readonly Chunk[] }[], k: number): Promise<number[][]> {
    if (!this.embedder) return queries.map((q) => topKInOrder(bm25Scores(q.query, q.chunks.map((c) => c.text)), k));
    await this.embed(queries.flatMap((q) => [q.query, ...q.chunks.map((c) => c.text)]));
    return queries.map((q) => {
      const v = this.vectors.get(q.query)!;
      return topKInOrder(q.chunks.map((c) => cosine(v, this.vectors.get(c.text)!)), k);
    });
  }
}
