/**
 * One generation through the engine, as text: submits the prompt, turns tokens into text with an
 * incremental detokenizer (stop tokens end the text and are not part of it), cuts at `stop` strings
 * (holding back text that may be the start of one), and reports pieces as they come.
 */
import type { TopLogprob } from '../generation/engine.js';
import type { ProcessedImage } from '../data/image-chat.js';
import { DecodeStream, type Tokenizer } from '../tokenizer/index.js';
import type { EngineClient } from './engine-client.js';

export interface RunParams {
  prompt: number[];
  maxTokens: number;
  temperature: number;
  topP: number;
  seed?: number;
  stop: string[];
  stopTokens: number[];
  topLogprobs?: number;
  promptLogprobs?: boolean;
  /** the generated tokens' log-probs (default true; false: NaN, and a greedy step skips its log-sum-exp) */
  logprobs?: boolean;
  /** the prompt's preprocessed images (a vision-language model) */
  images?: readonly ProcessedImage[];
}

export interface GeneratedToken {
  token: number;
  logprob: number;
  top: TopLogprob[];
}

export interface RunResult {
  text: string;
  finishReason: 'stop' | 'length';
  promptTokens: number;
  completionTokens: number;
  /** generated tokens (a stop token included: its text is not part of `text`, but its log-prob counts) */
  tokens: GeneratedToken[];
  promptLogprobs: (number | null)[] | null;
  promptTop: TopLogprob[][] | null;
}

/** Cuts a text stream at the first occurrence of any stop string. */
export class StopMatcher {
  private held = '';
  stopped = false;
  constructor(private readonly stops: readonly string[]) {}

  /** Text that is safe to emit after this piece (nothing more once a stop string matched). */
  push(piece: string): string {
    if (this.stopped) return '';
    this.held += piece;
    let cut = -1;
    for (const s of this.stops) {
      const i = this.held.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.stopped = true;
      const out = this.held.slice(0, cut);
      this.held = '';
      return out;
    }
    let keep = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, this.held.length); k > keep; k--) {
        if (this.held.endsWith(s.slice(0, k))) {
          keep = k;
          break;
        }
      }
    }
    const out = this.held.slice(0, this.held.length - keep);
    this.held = this.held.slice(this.held.length - keep);
    return out;
  }

  /** The held-back text at the end of generation. */
  flush(): string {
    const out = this.stopped ? '' : this.held;
    this.held = '';
    return out;
  }
}

/**
 * Runs one generation; `onText` gets each emitted piece. Aborting `signal` (a client that went
 * away) cancels the request in the engine, which frees its slot; the promise then resolves with what
 * was generated so far.
 */
export async function runGeneration(
  engine: EngineClient, tok: Tokenizer, p: RunParams, onText: (text: string) => void, signal?: AbortSignal,
): Promise<RunResult> {
  const decoder = new DecodeStream(tok);
  const stopper = new StopMatcher(p.stop);
  const stopIds = new Set(p.stopTokens);
  const result: RunResult = {
    text: '', finishReason: 'length', promptTokens: p.prompt.length, completionTokens: 0, tokens: [], promptLogprobs: null, promptTop: null,
  };
  const emit = (t: string) => {
    if (t.length === 0) return;
    result.text += t;
    onText(t);
  };
  let handle: { cancel(): void } | null = null;
  const h = engine.submit(
    {
      prompt: p.prompt, maxTokens: p.maxTokens, temperature: p.temperature, topP: p.topP, seed: p.seed,
      stopTokens: p.stopTokens, topLogprobs: p.topLogprobs, promptLogprobs: p.promptLogprobs, logprobs: p.logprobs, images: p.images,
    },
    (e) => {
      if (e.type === 'prompt') {
        result.promptLogprobs = e.logprobs;
        result.promptTop = e.top;
      } else if (e.type === 'token') {
        result.completionTokens++;
        if (stopper.stopped) return;
        result.tokens.push({ token: e.token, logprob: e.logprob, top: e.top });
        if (stopIds.has(e.token)) {
          result.finishReason = 'stop';
          return;
        }
        emit(stopper.push(decoder.push(e.token)));
        if (stopper.stopped) {
          result.finishReason = 'stop';
          handle?.cancel();
        }
      } else if (e.type === 'done') {
        if (e.finishReason === 'stop') result.finishReason = 'stop';
        if (!stopper.stopped) emit(stopper.push(decoder.finish()) + stopper.flush());
      }
    },
  );
  handle = h;
  const onAbort = () => h.cancel();
  // A client that left before the request reached the engine is cancelled at once too.
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await h.done;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return result;
}
