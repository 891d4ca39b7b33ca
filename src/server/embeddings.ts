/**
 * POST /v1/embeddings in OpenAI's shape: `input` a string, an array of strings, an array of token
 * ids or an array of token-id arrays; `encoding_format` "float" (default) or "base64" (the
 * little-endian float32 bytes, as OpenAI sends them); `dimensions` keeps the first d entries and
 * re-normalises them to unit length; `usage` counts the input tokens. The encoder runs on this
 * thread (one forward per batch of inputs). Every bad input is a 400 naming the field.
 */
import type { SentenceEncoder } from '../embed/encoder.js';
import { badParam, checkModel, objectBody } from './api-error.js';

/** At most this many inputs per request (OpenAI's limit). */
export const MAX_EMBEDDING_INPUTS = 2048;

export interface EmbeddingsResponse {
  object: 'list';
  data: { object: 'embedding'; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

const isIdArray = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((t) => typeof t === 'number');

/** The request's inputs as token rows (each checked non-empty and inside the vocabulary). */
export function inputRows(enc: SentenceEncoder, input: unknown): number[][] {
  let items: (string | number[])[];
  if (typeof input === 'string') items = [input];
  else if (isIdArray(input)) items = [input];
  else if (Array.isArray(input)) items = input as (string | number[])[];
  else throw badParam('input', `'input' is required: a string, an array of strings, or an array of token-id arrays; got ${input === undefined ? 'nothing' : typeof input}`, 'invalid_type');
  if (items.length === 0) throw badParam('input', "'input' is an empty list; send at least one text", 'empty_input');
  if (items.length > MAX_EMBEDDING_INPUTS) throw badParam('input', `'input' has ${items.length} entries; at most ${MAX_EMBEDDING_INPUTS} per request`, 'too_many_inputs');
  const V = enc.lm.config.vocabSize;
  return items.map((it, i) => {
    if (typeof it === 'string') {
      if (it.trim() === '') throw badParam('input', `input[${i}] is an empty string; every input needs text`, 'empty_input');
      return enc.tokenize(it);
    }
    if (!Array.isArray(it)) throw badParam('input', `input[${i}] must be a string or an array of token ids, got ${typeof it}`, 'invalid_type');
    if (it.length === 0) throw badParam('input', `input[${i}] is an empty token array; every input needs tokens`, 'empty_input');
    it.forEach((t, j) => {
      if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= V) {
        throw badParam('input', `input[${i}][${j}] = ${JSON.stringify(t)} is not a token id of this model's vocabulary [0, ${V})`, 'invalid_token_id');
      }
    });
    return it.slice(0, enc.config.maxSeqLength);
  });
}

/** The first d entries of v, re-normalised to unit length. */
export function truncateDims(v: Float32Array, d: number): Float32Array {
  const out = v.slice(0, d);
  let n = 0;
  for (const x of out) n += x * x;
  n = Math.sqrt(n);
  if (n > 0) for (let i = 0; i < out.length; i++) out[i] /= n;
  return out;
}

/** Little-endian float32 bytes as base64 (OpenAI's encoding_format "base64"). */
export function toBase64(v: Float32Array): string {
  const buf = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => buf.writeFloatLE(x, i * 4));
  return buf.toString('base64');
}

export function embeddings(enc: SentenceEncoder, modelId: string, body: unknown): EmbeddingsResponse {
  const b = objectBody(body);
  checkModel(b, modelId);
  const fmt = b.encoding_format ?? 'float';
  if (fmt !== 'float' && fmt !== 'base64') throw badParam('encoding_format', `'encoding_format' must be "float" or "base64", got ${JSON.stringify(fmt)}`);
  const H = enc.dimension;
  let dims: number | null = null;
  if (b.dimensions !== undefined && b.dimensions !== null) {
    const d = b.dimensions;
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 1) throw badParam('dimensions', `'dimensions' must be an integer >= 1, got ${JSON.stringify(d)}`);
    if (d > H) throw badParam('dimensions', `'dimensions' is ${d}, larger than this model's ${H}; ask for at most ${H}`);
    dims = d;
  }
  const rows = inputRows(enc, b.input);
  const vecs = enc.embedIds(rows);
  const tokens = rows.reduce((s, r) => s + r.length, 0);
  return {
    object: 'list',
    data: vecs.map((v, index) => {
      const w = dims !== null ? truncateDims(v, dims) : v;
      return { object: 'embedding', index, embedding: fmt === 'base64' ? toBase64(w) : Array.from(w) };
    }),
    model: modelId,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
