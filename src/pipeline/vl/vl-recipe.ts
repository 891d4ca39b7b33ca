/**
 * The vision-language pipeline's settings (`glmkit pipeline --preset tiny-vl`): the visual world
 * data, the tokenizer, the text pre-training of the language model, merger pre-alignment, image SFT
 * and the held-out evaluation. Defaults were chosen on the validation half of the held-out images
 * (docs/vision.md "The tiny-vl pipeline"); `--quick` shrinks every stage to a smoke run.
 */
import { field, type Values } from '../../trainers/base/config.js';

export const vlPipelineSchema = {
  preset: field('string', 'tiny-vl', 'vision-language model preset (configs/<preset>.json with model_type glm4v)'),
  out: field('path', '', 'output folder; rerunning continues where an interrupted run stopped'),
  seed: field('int', 0, 'seed of data sampling, initialisation and training', { min: 0 }),
  threads: field('int', 0, 'native threads (0 = all cores)', { min: 0 }),
  quick: field('boolean', false, 'a smoke run: every stage tiny (minutes become seconds)'),
  quiet: field('boolean', false, 'no progress output'),
  until: field('string', 'report', 'last stage to run before the report (a stage name; see force_stage)'),
  force_stage: field('string', 'none', 'redo this stage and every later one (their folders are removed), e.g. after changing a setting; without it a rerun with other settings is refused'),
  image_size: field('int', 112, 'side of the world images in pixels, a multiple of 28 (112 = 4 x 4 image tokens, 56 = 2 x 2)', { min: 56, max: 448 }),
  families: field('string', 'count,digits', 'visual families trained and evaluated, comma-separated (count, digits, words, bars, clock, table, spatial, geometry)'),
  levels: field('string', '1', 'difficulty levels of training and evaluation images ("1", "1,2" or "1-3")'),
  caption_examples: field('int', 3000, 'captioning chats of merger pre-alignment (also text of the LM pre-training)', { min: 2 }),
  sft_examples: field('int', 8000, 'thinking-mode image chats of SFT', { min: 2 }),
  eval_per_family: field('int', 100, 'held-out (test-split) images per family; half validation, half test by a hash', { min: 2 }),
  pretrain_steps: field('int', 120, 'text pre-training steps of the language model (world captions and chats without the images)', { min: 1 }),
  pretrain_batch: field('int', 16, 'pre-training sequences per step', { min: 1 }),
  pretrain_lr: field('number', 3e-3, 'pre-training peak learning rate', { min: 0 }),
  pretrain_caption_in_span: field('boolean', true, 'in text pre-training, caption chats carry their caption inside the image span (the LM learns to read an image span; pre-alignment then teaches the vision tower to fill it)'),
  pretrain_seq_len: field('int', 128, 'tokens per pre-training sequence', { min: 16 }),
  prealign_steps: field('int', 250, 'merger pre-alignment steps (vision tower + merger; language model frozen)', { min: 1 }),
  prealign_batch: field('int', 16, 'captioning chats per pre-alignment step', { min: 1 }),
  prealign_lr: field('number', 4e-3, 'pre-alignment peak learning rate', { min: 0 }),
  sft_steps: field('int', 2400, 'image SFT steps (every parameter)', { min: 1 }),
  sft_batch: field('int', 16, 'image chats per SFT step', { min: 1 }),
  sft_lr: field('number', 2e-3, 'image SFT peak learning rate', { min: 0 }),
  max_seq_length: field('int', 192, 'longest chat in tokens, image tokens included (longer ones are dropped and counted)', { min: 16 }),
  eval_max_new_tokens: field('int', 96, 'generation budget per evaluation answer (thinking mode)', { min: 8 }),
};

export type VlPipelineConfig = Values<typeof vlPipelineSchema>;

/** The smoke-run sizes of --quick. */
export function vlQuickOverrides(cfg: VlPipelineConfig): VlPipelineConfig {
  return {
    ...cfg, families: 'count,digits', image_size: 56, caption_examples: 24, sft_examples: 24, eval_per_family: 4,
    pretrain_steps: 3, pretrain_batch: 4, prealign_steps: 3, prealign_batch: 4, sft_steps: 3, sft_batch: 4, eval_max_new_tokens: 16,
  };
}
