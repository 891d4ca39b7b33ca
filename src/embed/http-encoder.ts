/**
 * A sentence encoder reached over HTTP: an OpenAI-compatible `POST /v1/embeddings` endpoint
 * (`glmkit serve --embedding-model`, vLLM, OpenAI itself), used by `glmkit seqa --encoder URL`.
 * Texts go in batches (`input`: an array of strings, `encoding_format` "float"); each request has a
 * timeout; an unreachable endpoint, an HTTP error or a malformed answer is one clear error.
 */
import { ConfigError, GlmkitError } from '../errors.js';
import type { SentenceEmbedder } from './encoder.js';
import { fetchFailureReason, jsonHeaders, openAiEndpointUrl } from '../util/endpoint-url.js';

export interface HttpEncoderOptions {
  /** the `model` field of each request */
  model: string;
  /** sent as "Authorization: Bearer <key>" when set */
  apiKey?: string | null;
  /** texts per request (default 64; OpenAI accepts up to 2048) */
  batchSize?: number;
  /** milliseconds per request before it is abandoned (default 60000) */
  timeoutMs?: number;
}

/** An endpoint could not be reached or answered wrongly. */
export class EmbeddingEndpointError extends GlmkitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('embedding_endpoint', message, options);
  }
}

/** Whether --encoder names an http(s) URL rather than a folder. */
export function isHttpUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/**
 * The embeddings URL of what the user gave: a URL ending in /embeddings is used as is; one ending
 * in /v1 (OpenAI's base URL) gets /embeddings; any other gets /v1/embeddings.
 */
export function embeddingsUrl(url: string): string {
  return openAiEndpointUrl(url, 'embeddings', 'encoder URL');
}

interface EmbeddingsBody {
  data?: unknown;
  error?: { message?: unknown };
}

export class HttpSentenceEncoder implements SentenceEmbedder {
  readonly url: string;
  readonly batchSize: number;
  readonly timeoutMs: number;

  constructor(url: string, readonly opts: HttpEncoderOptions) {
    this.url = embeddingsUrl(url);
    this.batchSize = opts.batchSize ?? 64;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new ConfigError(`encoder batch size: expected an integer >= 1, got ${this.batchSize}`);
    if (!(this.timeoutMs > 0)) throw new ConfigError(`encoder timeout: expected > 0 ms, got ${this.timeoutMs}`);
    if (opts.model.trim() === '') throw new ConfigError('encoder model: expected the model name the endpoint serves (e.g. --encoder-model NAME), got an empty string');
  }

  get source(): string {
    return `${this.url} (model ${this.opts.model})`;
  }

  async embedTexts(texts: readonly string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.batchSize) out.push(...(await this.request(texts.slice(i, i + this.batchSize))));
    return out;
  }

  /** One request: the vectors of `texts`, in order. */
  private async request(texts: readonly string[]): Promise<Float32Array[]> {
    const headers = jsonHeaders(this.opts.apiKey);
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: this.opts.model, input: texts, encoding_format: 'float' }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const why = fetchFailureReason(e, this.timeoutMs);
      throw new EmbeddingEndpointError(`embeddings endpoint ${this.url} unreachable (${why}); start it (e.g. glmkit serve --embedding-model DIR) or check the URL`, { cause: e });
    }
    const text = await res.text();
    let body: EmbeddingsBody;
    try {
      body = JSON.parse(text) as EmbeddingsBody;
    } catch {
      throw new EmbeddingEndpointError(`embeddings endpoint ${this.url} answered HTTP ${res.status} with non-JSON: ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const msg = typeof body.error?.message === 'string' ? body.error.message : text.slice(0, 200);
      throw new EmbeddingEndpointError(`embeddings endpoint ${this.url} answered HTTP ${res.status}: ${msg}`);
    }
    return vectorsOf(body, texts.length, this.url);
  }
}

/** The vectors of an embeddings answer, ordered by `index`; every entry checked. */
function vectorsOf(body: EmbeddingsBody, n: number, url: string): Float32Array[] {
  const bad = (what: string) => new EmbeddingEndpointError(`embeddings endpoint ${url}: expected an OpenAI embeddings answer, ${what}`);
  if (!Array.isArray(body.data)) throw bad(`got no "data" array`);
  if (body.data.length !== n) throw bad(`got ${body.data.length} embeddings for ${n} inputs`);
  const out = new Array<Float32Array | undefined>(n);
  let dim = -1;
  for (const d of body.data as { index?: unknown; embedding?: unknown }[]) {
    const i = d?.index;
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= n || out[i]) throw bad(`got index ${JSON.stringify(i)} (expected each of 0..${n - 1} once)`);
    const e = d.embedding;
    if (!Array.isArray(e) || e.length === 0 || e.some((x) => typeof x !== 'number' || !Number.isFinite(x))) throw bad(`embedding ${i} is not an array of finite numbers`);
    if (dim >= 0 && e.length !== dim) throw bad(`embedding ${i} has ${e.length} dimensions, the others ${dim}`);
    dim = e.length;
    out[i] = Float32Array.from(e as number[]);
  }
  return out as Float32Array[];
}
