/**
 * Pre-training (`glmkit pretrain`): next-token prediction on packed text. Documents ({"text"} JSONL)
 * are tokenized, each followed by <|endoftext|>, concatenated and cut into sequences of
 * max_seq_length + 1 tokens (inputs and shifted targets); the tail shorter than that is dropped.
 */
import { DataError } from '../../errors.js';
import { dataFilesLabel, readJsonlFiles, stringField, type DataFiles } from '../../data/jsonl.js';
import type { GlmForCausalLM } from '../../models/glm/model.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { EOS_TOKEN } from '../../tokenizer/special-tokens.js';
import { baseSchema } from '../base/schema.js';
import type { Values } from '../base/config.js';
import { Trainer, type MicroBatchResult } from '../base/trainer.js';
import { evalLoss, lmLoss, packedBatch, type LmBatch } from '../base/lm-loss.js';
import { lmShards } from '../base/shard-losses.js';

/** Packed rows train on every position: their shard rows carry no mask. */
const NO_MASK = new Uint8Array(0);

export { packedBatch };

export const pretrainSchema = { ...baseSchema };
export type PretrainConfig = Values<typeof pretrainSchema>;

/** Tokenizes {"text"} records and packs them into sequences of `len + 1` tokens. */
export function packText(files: DataFiles, tok: Tokenizer, len: number): Int32Array[] {
  const eos = tok.requireId(EOS_TOKEN);
  const stream: number[] = [];
  for (const rec of readJsonlFiles(files)) {
    const text = stringField(rec, rec.file, 'text');
    for (const id of tok.encode(text)) stream.push(id);
    stream.push(eos);
  }
  const seqs: Int32Array[] = [];
  for (let s = 0; s + len + 1 <= stream.length; s += len + 1) seqs.push(Int32Array.from(stream.slice(s, s + len + 1)));
  if (seqs.length === 0) throw new DataError(`holds ${stream.length} tokens, fewer than one sequence of max_seq_length + 1 = ${len + 1}; add data or lower --max-seq-length`, { file: dataFilesLabel(files) });
  return seqs;
}

/** Mean next-token loss of `model` on packed sequences, `bs` sequences per forward pass. */
export function packedLoss(model: GlmForCausalLM, seqs: Int32Array[], bs: number): number {
  const batches: LmBatch[] = [];
  for (let i = 0; i < seqs.length; i += bs) batches.push(packedBatch(seqs.slice(i, i + bs)));
  return evalLoss(model, batches);
}

export class PretrainTrainer extends Trainer<PretrainConfig> {
  readonly method = 'pretrain';
  private readonly evalSeqs: Int32Array[] | null;

  constructor(config: PretrainConfig, model: GlmForCausalLM, tokenizer: Tokenizer, private readonly seqs: Int32Array[], evalSeqs: Int32Array[] | null) {
    super(config, model, tokenizer, seqs.length);
    this.evalSeqs = evalSeqs;
  }

  protected override supportsDataParallel(): boolean {
    return true;
  }

  protected microBatchLoss(accumulation: number): MicroBatchResult {
    const picked = Array.from({ length: this.config.per_device_train_batch_size }, () => this.seqs[this.cursor.next()]);
    if (this.parallel) return this.runShards(lmShards(picked.map((ids) => ({ ids, mask: NO_MASK })), true, this.parallel.threads, { padId: 0, lengthGroups: 1, accumulation }));
    const batch = packedBatch(picked);
    const r = lmLoss(this.model as GlmForCausalLM, batch, this.config, 1 / accumulation);
    return { ...r, tokens: batch.tokens };
  }

  protected override evaluate(): Record<string, number> {
    if (!this.evalSeqs) return {};
    return { eval_loss: packedLoss(this.model as GlmForCausalLM, this.evalSeqs, this.config.per_device_train_batch_size) };
  }
}
