/**
 * Sentence-encoder training (`glmkit embed train`, docs/embeddings.md): contrastive InfoNCE with
 * in-batch negatives, as sentence-transformers' MultipleNegativesRankingLoss. For a micro-batch of
 * B triples, anchors a_i and candidates c = [positives p_1..p_B; hard negatives n_1..n_B (when given
 * and enabled)], all L2-normalised:
 *   L = mean_i CE(softmax_j(cos(a_i, c_j) / temperature), target i)
 * Every other anchor's positive and every hard negative is a negative of a_i. The model starts from
 * any glmkit causal LM; OUT/final is an encoder folder in sentence-transformers' layout.
 * Held-out metric: Spearman of cosine vs gold on STS pairs (--eval-data).
 */
import * as F from '../../tensor/ops/index.js';
import { Tensor } from '../../tensor/tensor.js';
import type { GlmForCausalLM } from '../../models/glm/model.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { baseSchema } from '../base/schema.js';
import { choice, field, type Values } from '../base/config.js';
import { Trainer, type MicroBatchResult } from '../base/trainer.js';
import { l2Normalize, SentenceEncoder, type EncoderConfig } from '../../embed/encoder.js';
import { evaluateSts, type StsPair, type Triple } from '../../embed/data.js';
import { writeStFiles, padIdOf } from '../../embed/st-layout.js';

export const embedSchema = {
  ...baseSchema,
  model: field('path', '', 'model folder to start from: a glmkit causal LM, or an encoder folder to continue'),
  data: field<string | string[]>('path', '', 'contrastive triples, JSONL {"anchor", "positive"[, "negative"]}', { multiple: true }),
  eval_data: field<string | null>('path', null, 'held-out STS pairs, JSONL {"sentence1", "sentence2", "score"}: Spearman of cosine vs score', { nullable: true }),
  max_steps: field('int', 200, 'optimizer steps to run', { min: 1 }),
  per_device_train_batch_size: field('int', 32, 'triples per micro-batch (each anchor\'s in-batch negatives are the others\' positives)', { min: 2 }),
  max_seq_length: field('int', 64, 'tokens per text (longer texts are cut)', { min: 2 }),
  learning_rate: field('number', 3e-4, 'peak learning rate', { min: 0 }),
  warmup_steps: field('int', 10, 'linear warm-up steps', { min: 0 }),
  weight_decay: field('number', 0.0, 'decoupled weight decay of matrices', { min: 0 }),
  optimizer: choice(['adamw', 'muon'], 'adamw', 'adamw for everything, or muon for 2-D matrices'),
  temperature: field('number', 0.05, 'InfoNCE temperature (sentence-transformers\' scale = 1 / temperature)', { min: 1e-4 }),
  hard_negatives: field('boolean', true, 'add each triple\'s "negative" to the candidates (--no-hard-negatives: in-batch negatives only)'),
  pooling: choice(['mean', 'lasttoken'], 'mean', 'how token states become one vector: their mean, or the last token\'s'),
  normalize: field('boolean', true, 'L2-normalise the vectors (adds the Normalize module)'),
  bidirectional: field('boolean', true, 'every token attends to the whole text (GLM\'s prefix-bidirectional mask over the whole input); --no-bidirectional keeps the causal mask'),
};
export type EmbedConfig = Values<typeof embedSchema>;

/** The encoder settings of a config. */
export function encoderConfigOf(cfg: EmbedConfig): EncoderConfig {
  return { pooling: cfg.pooling as EncoderConfig['pooling'], normalize: cfg.normalize, bidirectional: cfg.bidirectional, maxSeqLength: cfg.max_seq_length };
}

interface TokenizedTriple {
  anchor: number[];
  positive: number[];
  negative: number[] | null;
}

/** InfoNCE of anchors [B, H] against candidates [C, H] (C >= B; the positive of row i is candidate i). */
export function infoNce(anchors: Tensor, candidates: Tensor, temperature: number): { loss: Tensor; accuracy: number } {
  const B = anchors.shape[0];
  const logits = F.mul(F.matmul(l2Normalize(anchors), F.transpose(l2Normalize(candidates))), 1 / temperature); // [B, C]
  const targets = Tensor.ids(Array.from({ length: B }, (_, i) => i), [B]);
  const loss = F.crossEntropy(logits, targets, { reduction: 'mean' });
  const C = candidates.shape[0], d = logits.data;
  let hit = 0;
  for (let i = 0; i < B; i++) {
    let best = 0;
    for (let j = 1; j < C; j++) if (d[i * C + j] > d[i * C + best]) best = j;
    hit += Number(best === i);
  }
  return { loss, accuracy: hit / B };
}

export class EmbedTrainer extends Trainer<EmbedConfig> {
  readonly method = 'embed';
  readonly encoder: SentenceEncoder;
  private readonly data: TokenizedTriple[];

  constructor(config: EmbedConfig, lm: GlmForCausalLM, tokenizer: Tokenizer, triples: readonly Triple[], private readonly evalPairs: readonly StsPair[] | null) {
    super(config, lm, tokenizer, triples.length);
    this.encoder = new SentenceEncoder(lm, tokenizer, encoderConfigOf(config), padIdOf(tokenizer));
    const tok = (s: string) => this.encoder.tokenize(s);
    this.data = triples.map((t) => ({ anchor: tok(t.anchor), positive: tok(t.positive), negative: t.negative === null ? null : tok(t.negative) }));
  }

  protected microBatchLoss(accumulation: number): MicroBatchResult {
    const picked = Array.from({ length: this.config.per_device_train_batch_size }, () => this.data[this.cursor.next()]);
    const B = picked.length;
    const negs = this.config.hard_negatives ? picked.flatMap((p) => (p.negative ? [p.negative] : [])) : [];
    const rows = [...picked.map((p) => p.anchor), ...picked.map((p) => p.positive), ...negs];
    const v = this.encoder.forwardIds(rows);
    const { loss, accuracy } = infoNce(F.slice(v, 0, 0, B), F.slice(v, 0, B, rows.length), this.config.temperature);
    const tokens = rows.reduce((s, r) => s + Math.min(r.length, this.config.max_seq_length), 0);
    return { loss: accumulation === 1 ? loss : F.mul(loss, 1 / accumulation), lossValue: loss.item(), tokens, metrics: { 'train/accuracy': accuracy } };
  }

  protected override evaluate(): Record<string, number> {
    if (!this.evalPairs || this.evalPairs.length === 0) return {};
    const m = evaluateSts(this.encoder, this.evalPairs);
    return { eval_spearman: m.spearman, eval_pearson: m.pearson };
  }

  protected override writeModelFolder(dir: string): void {
    super.writeModelFolder(dir);
    writeStFiles(dir, this.encoder.config, this.encoder.dimension);
  }
}
