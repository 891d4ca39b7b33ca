/**
 * Reader folders: an HF GLM causal-LM folder (config.json, model.safetensors under HF names, the
 * tokenizer) whose safetensors also hold the heads as extra tensors named `reader.<head>.<param>`;
 * config.json documents them under "glmkit_reader". Any glmkit command that loads a causal LM reads
 * the backbone and ignores the heads; `loadReader` on a plain causal-LM folder gives fresh heads.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../../errors.js';
import { openSafetensorsCheckpoint, writeShardedSafetensors, type TensorToWrite } from '../../io/safetensors.js';
import { noGrad } from '../../tensor/autograd.js';
import { loadCausalLM, saveModel } from '../glm/checkpoint.js';
import { loadTokenizer, saveTokenizer } from '../../tokenizer/tokenizer-json.js';
import { Reader, ReaderHeads } from './reader.js';

export const HEAD_PREFIX = 'reader.';

/** What config.json says about the heads. */
export const READER_DOC: Record<string, string> = {
  'reader.token_attn.weight': '[H, H] token attention inside each sentence: score_t = q . (W h_t) / sqrt(H)',
  'reader.sent_attn.weight': '[H, H] query-to-sentence attention: score_s = q . (W v_s) / sqrt(H); softmax = soft evidence / retrieval',
  'reader.mc_hidden.{weight,bias}': '[H, 2H] multiple choice: tanh(W [q; summary] + b)',
  'reader.mc_out.{weight,bias}': '[1, H] multiple choice: one logit per question + option row',
  'reader.span_proj.{weight,bias}': '[H, 2H] masked span prediction: W [h_t; summary] + b, read by the LM head',
  'reader.prev_ptr.weight': '[H, H] surrounding sentences prediction, previous-sentence pointer (bilinear)',
  'reader.next_ptr.weight': '[H, H] surrounding sentences prediction, next-sentence pointer (bilinear)',
};

/** Saves backbone (HF names), heads (extra tensors), config.json (with "glmkit_reader") and tokenizer. */
export function saveReader(dir: string, reader: Reader, info: Record<string, unknown> = {}): void {
  saveModel(dir, reader.lm);
  const tensors: TensorToWrite[] = [];
  for (const [name, t] of reader.lm.stateDict()) tensors.push({ name, shape: [...t.shape], data: Float32Array.from(t.data as Float32Array) });
  for (const [name, t] of reader.heads.stateDict(HEAD_PREFIX)) tensors.push({ name, shape: [...t.shape], data: Float32Array.from(t.data as Float32Array) });
  writeShardedSafetensors(dir, tensors, { dtype: 'F32' });
  const cfgPath = join(dir, 'config.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  cfg.glmkit_reader = { heads: READER_DOC, input: 'passage sentences, then "\\n" + question + " " + option; the whole row is one bidirectional prefix', ...info };
  writeFileSync(cfgPath, JSON.stringify(cfg, null, 2) + '\n');
  saveTokenizer(reader.tokenizer, dir);
}

/** Whether a folder holds reader heads. */
export function hasReaderHeads(dir: string): boolean {
  const p = join(dir, 'config.json');
  return existsSync(p) && (JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>).glmkit_reader !== undefined;
}

/** Loads a reader folder; a plain causal-LM folder gets freshly initialised heads (seed). */
export function loadReader(dir: string, seed = 0): Reader {
  const lm = loadCausalLM(dir);
  const tok = loadTokenizer(dir);
  const heads = new ReaderHeads(lm.config.hiddenSize, seed);
  if (hasReaderHeads(dir)) {
    const ckpt = openSafetensorsCheckpoint(dir);
    try {
      noGrad(() => {
        for (const [name, t] of heads.stateDict(HEAD_PREFIX)) {
          const src = ckpt.tensors.get(name);
          if (!src) throw new CheckpointError(`${dir}: config.json declares reader heads but tensor "${name}" is missing (expected [${t.shape.join(', ')}]); resave the reader`);
          if (src.shape.join() !== t.shape.join()) throw new CheckpointError(`${dir}: tensor "${name}" has shape [${src.shape.join(', ')}], expected [${t.shape.join(', ')}]`);
          (t.data as Float32Array).set(src.read());
        }
      });
    } finally {
      ckpt.close();
    }
  }
  return new Reader(lm, tok, heads);
}
