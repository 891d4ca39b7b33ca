/**
 * SFT data in TRL's formats, tokenized with the GLM chat template:
 *   {"messages": [...], "tools"?: [...], "enable_thinking"?: bool}   conversational
 *   {"prompt": [...messages], "completion": [...messages]}           conversational prompt-completion
 *   {"prompt": "text", "completion": "text"}                         standard prompt-completion
 * The loss covers assistant tokens only (reasoning, content, tool calls and the turn-ending token;
 * see tokenizer/chat.ts) or, for standard prompt-completion, the completion and <|endoftext|>.
 * Examples longer than max_seq_length are dropped and counted (a truncated answer teaches the
 * model to stop mid-answer); when every example is dropped the run stops with a DataError.
 */
import { DataError, GlmkitError } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { dataFilesLabel, readJsonlFiles, type DataFiles, type JsonlRecord } from '../../data/jsonl.js';
import { renderChat } from '../../tokenizer/chat.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { EOS_TOKEN } from '../../tokenizer/special-tokens.js';
import type { LmBatch } from '../base/lm-loss.js';

export interface SftExample {
  ids: Int32Array;
  /** 1 where the token is a training target */
  mask: Uint8Array;
}

function tokenizeRecord(rec: JsonlRecord, file: string, tok: Tokenizer): SftExample {
  const v = rec.value;
  const where = { file, line: rec.line };
  try {
    if ('messages' in v) {
      const r = renderChat(tok, { messages: v.messages, tools: v.tools, enable_thinking: v.enable_thinking } as never, { file: `${file}:${rec.line}` });
      return { ids: Int32Array.from(r.ids), mask: Uint8Array.from(r.assistantMask) };
    }
    if ('prompt' in v && 'completion' in v) {
      if (typeof v.prompt === 'string' && typeof v.completion === 'string') {
        const p = tok.encode(v.prompt), c = [...tok.encode(v.completion), tok.requireId(EOS_TOKEN)];
        return { ids: Int32Array.from([...p, ...c]), mask: Uint8Array.from([...p.map(() => 0), ...c.map(() => 1)]) };
      }
      if (Array.isArray(v.prompt) && Array.isArray(v.completion)) {
        const r = renderChat(tok, { messages: [...v.prompt, ...v.completion], tools: v.tools, enable_thinking: v.enable_thinking } as never, { file: `${file}:${rec.line}` });
        return { ids: Int32Array.from(r.ids), mask: Uint8Array.from(r.assistantMask) };
      }
      throw new DataError('"prompt" and "completion" must both be strings or both be lists of messages', { ...where, field: 'prompt' });
    }
  } catch (e) {
    if (e instanceof DataError && e.message.includes(file)) throw e;
    if (e instanceof GlmkitError) throw new DataError(e.message, where);
    throw e;
  }
  throw new DataError('expected "messages", or "prompt" and "completion" (TRL formats)', { ...where, field: 'messages' });
}

export function loadSftExamples(files: DataFiles, tok: Tokenizer, maxLen: number): { examples: SftExample[]; dropped: number } {
  const examples: SftExample[] = [];
  let dropped = 0;
  for (const rec of readJsonlFiles(files)) {
    const ex = tokenizeRecord(rec, rec.file, tok);
    if (!ex.mask.some((m) => m === 1)) throw new DataError('has no assistant tokens to train on', { file: rec.file, line: rec.line });
    if (ex.ids.length > maxLen + 1) {
      dropped++;
      continue;
    }
    examples.push(ex);
  }
  if (examples.length === 0) throw new DataError(`all ${dropped} examples are longer than max_seq_length ${maxLen}; raise --max-seq-length`, { file: dataFilesLabel(files) });
  return { examples, dropped };
}

/** Right-pads examples into a batch; targets[t] = ids[t+1] where that token is trained, else -100. */
export function sftBatch(examples: SftExample[], padId: number): LmBatch {
  const B = examples.length;
  const T = Math.max(...examples.map((e) => e.ids.length)) - 1;
  const ids = new Int32Array(B * T).fill(padId), targets = new Int32Array(B * T).fill(-100), mask = new Int32Array(B * T);
  let tokens = 0;
  examples.forEach((e, b) => {
    const n = e.ids.length - 1;
    for (let t = 0; t < n; t++) {
      ids[b * T + t] = e.ids[t];
      mask[b * T + t] = 1;
      if (e.mask[t + 1]) targets[b * T + t] = e.ids[t + 1];
    }
    tokens += n;
  });
  return { ids: new Tensor(ids, [B, T]), targets: new Tensor(targets, [B, T]), attentionMask: mask, tokens };
}
