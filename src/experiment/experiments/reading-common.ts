/**
 * Shared set-up of the reading experiments (rept, stm): world MRC items of the hard kinds, annotated
 * documents, and a small GLM reader whose BPE tokenizer is trained on the world's reading texts.
 * The experiments build their own model (no pipeline base), so they run from a fresh clone.
 */
import { generateWorldTask, HARD_MRC_KINDS, sampleAnnotatedDocument, WorldRng, getWorld, type AnnotatedDocument, type MrcKind, type MrcRecord } from '../../data/world/index.js';
import { loadCausalLM } from '../../models/glm/checkpoint.js';
import { configFromHf } from '../../models/glm/config.js';
import { GlmForCausalLM } from '../../models/glm/model.js';
import { Reader } from '../../models/reader/reader.js';
import { trainBpeFromTexts } from '../../tokenizer/bpe-train.js';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import { EOS_TOKEN } from '../../tokenizer/special-tokens.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';

export interface ReaderSize {
  hidden: number;
  layers: number;
}

/** Hard-kind MRC items (task seed `seed`), of every hard kind or of `kinds`. */
export function hardItems(n: number, seed: number, kinds: readonly MrcKind[] = HARD_MRC_KINDS): MrcRecord[] {
  return generateWorldTask('mrc', { n, seed, mrcKinds: [...kinds] });
}

/** Annotated world documents. */
export function annotatedDocs(n: number, seed: number): AnnotatedDocument[] {
  const rng = new WorldRng(seed, 'rept-docs');
  return Array.from({ length: n }, () => sampleAnnotatedDocument(rng, getWorld(0)));
}

/** A BPE tokenizer for the world's reading texts (documents and items). */
export function readingTokenizer(): Tokenizer {
  const items = hardItems(300, 12345);
  const texts = [...items.flatMap((r) => [...r.sentences, r.question, ...r.options]), ...annotatedDocs(200, 12345).flatMap((d) => d.sentences)];
  return trainBpeFromTexts(texts, { vocabSize: 600 });
}

/** A freshly initialised GLM of `size` for the tokenizer. */
export function freshLm(tok: Tokenizer, size: ReaderSize, seed: number): GlmForCausalLM {
  const eos = tok.requireId(EOS_TOKEN);
  return new GlmForCausalLM(configFromHf({
    model_type: 'glm4', vocab_size: tok.vocabSize, hidden_size: size.hidden, intermediate_size: Math.round(2.75 * size.hidden), num_hidden_layers: size.layers,
    num_attention_heads: 4, num_key_value_heads: 2, head_dim: size.hidden / 4, partial_rotary_factor: 0.5, max_position_embeddings: 512,
    attention_bias: true, tie_word_embeddings: false, initializer_range: 0.02, eos_token_id: eos, pad_token_id: eos,
  }, 'reading experiment'), { seed });
}

/** A fresh reader (backbone and heads from `seed`). */
export function freshReader(tok: Tokenizer, size: ReaderSize, seed: number): Reader {
  return new Reader(freshLm(tok, size, seed), tok, undefined, seed);
}

/**
 * A reader on a pre-trained causal LM folder (the pipeline's pre-trained model, as the papers start
 * from a pre-trained LM): the backbone loaded afresh on every call, heads from `seed`.
 */
export function pretrainedReader(dir: string, seed: number): Reader {
  return new Reader(loadCausalLM(dir), loadTokenizer(dir), undefined, seed);
}

/** Kind groups reported separately. */
export const KIND_GROUPS: Readonly<Record<string, readonly string[]>> = {
  multi_hop: ['two_hop', 'three_hop'],
  pronoun: ['pronoun', 'alias'],
  paraphrase: ['paraphrase'],
  /** kinds whose evidence is several sentences */
  multi_sentence: ['two_hop', 'three_hop', 'pronoun', 'alias', 'count', 'compare'],
  single_sentence: ['paraphrase', 'distractor'],
};
