/**
 * The pipeline recipe: which world data, tokenizer, and training settings each stage uses for a
 * preset. `--quick` shrinks every stage to a smoke run (tests); `--config FILE` overrides any key.
 */
import { choice, field, type Values } from '../trainers/base/config.js';
import { LONG_ROPE_SCALINGS, type LongContextSettings } from './longctx-stage.js';
import { MIXED_PRECISION } from '../tensor/ops/precision.js';
import { VISIT_STYLES } from '../data/world/longdoc-facts.js';
import { LEDGER_STYLES } from '../data/world/pretrain.js';
import { LOSS_WEIGHTINGS } from '../trainers/sft/sft-trainer.js';

/**
 * The long-context stage's settings (docs/long-context.md); `long_context` 0 leaves the stage out.
 * The defaults are the recipe measured best (docs/long-context.md "The stage's defaults"): YaRN, a
 * retrieval warm-up, two curriculum bands, long SFT, a quarter of ordinary chats in each, pair-style
 * visits; it needs a base pre-trained with pair travel logs (--pretrain-ledger-share 0.5
 * --pretrain-ledger-style pair --pretrain-copy-share 0.4 --pretrain-steps 1800).
 */
export const longContextFields = {
  long_context: field('int', 0, 'after SFT, extend the model to this context length in tokens (e.g. 4096): YaRN rope scaling, a retrieval warm-up, a length curriculum, then long-context SFT (0 = no long-context stage; docs/long-context.md)', { min: 0 }),
  long_rope_theta: field('number', 0, 'rope_theta of the extended model (0 = with yarn the base\'s theta; with --long-rope-scaling none theta * (L / L0)^(d / (d - 2)), the NTK-aware rule)', { min: 0 }),
  long_rope_scaling: choice(LONG_ROPE_SCALINGS, 'yarn', 'how positions past the trained context are reached: yarn (HF rope_scaling yarn, factor L / L0 over the trained L0 positions, the base keeping its rope_theta: docs/long-context.md "YaRN") or none (a larger rope_theta, --long-rope-theta; lost the lookup past 2,000 tokens)'),
  long_retrieval_steps: field('int', 600, 'retrieval warm-up steps before the curriculum and the long pre-training: 4 chats a step, each a short document (150-400 tokens) with 12 questions on it, at the pre-training learning rate (0 = none)', { min: 0 }),
  long_curriculum_steps: field('int', 300, 'steps of each length-curriculum band after the retrieval warm-up: 4 chats a step, documents of 0.2-0.4 L, then 0.4-0.7 L tokens, with a share of ordinary chats (--long-short-share); the SFT then trains on documents from 0.7 L (0 = no curriculum)', { min: 0 }),
  long_pretrain_steps: field('int', 0, 'long-context continued pre-training steps (0 = none)', { min: 0 }),
  long_pretrain_lr: field('number', 1e-3, 'long-context continued pre-training peak learning rate', { min: 0 }),
  long_sft_steps: field('int', 300, 'long-context SFT steps', { min: 1 }),
  long_sft_lr: field('number', 5e-4, 'long-context SFT peak learning rate', { min: 0 }),
  long_batch: field('int', 4, 'long-context sequences per optimizer step', { min: 1 }),
  long_short_share: field('number', 0.25, 'share of ordinary short SFT chats among the chats of the retrieval warm-up, each curriculum band and the long-context SFT (rehearsal: keeps short-context ability)', { min: 0, max: 0.95 }),
  long_rehearsal_steps: field('int', 150, 'after the long SFT, steps of SFT on the ordinary chats alone (16 a step, learning rate 2e-4): brings back the short-context arithmetic that YaRN\'s stretched rotations cost (0 = none; docs/long-context.md "Rehearsal after the long SFT")', { min: 0 }),
  long_loss_weighting: choice(LOSS_WEIGHTINGS, 'token', 'loss of the stage\'s SFT sub-steps: token (the mean over a step\'s answer tokens, where a long chat\'s answers outweigh an ordinary chat\'s several times) or sequence (each chat\'s mean, then over chats: the ordinary chats weigh their share of the chats; LongAlign\'s loss weighting)'),
  long_follow_ups: field('int', 5, 'further questions on the same document in each long training text and chat (one read of a document trains several answers)', { min: 0 }),
  long_eval_items: field('int', 50, 'long-context validation and test questions per kind', { min: 1 }),
  long_short_eval_items: field('int', 100, 'held-out arithmetic prompts of the short-context check before/after', { min: 1 }),
  long_visit_style: choice(VISIT_STYLES, 'pair', 'how the long documents and their answers write visits: sentence ("On day 9, Alice visited Millford.") or pair ("On day 9, Alice Millford.", both keys right before the place: the layout the tiny model learns to look up, docs/long-context.md)'),
};

/**
 * A line for a long-context stage whose base was pre-trained without pair travel logs while its
 * documents write visits as pairs: the recipe was measured on bases with them. Null otherwise.
 */
export function longContextBaseHint(cfg: { long_visit_style: string; pretrain_ledger_share: number }): string | null {
  if (cfg.long_visit_style !== 'pair' || cfg.pretrain_ledger_share !== 0) return null;
  return 'longctx on a base pre-trained without pair travel logs (--pretrain-ledger-share 0): the stage\'s lookup was measured on bases with them (--pretrain-ledger-share 0.5 --pretrain-ledger-style pair --pretrain-copy-share 0.4 --pretrain-steps 1800; docs/long-context.md)';
}

/** The stage settings from the pipeline's long_* keys. */
export function longContextSettings(cfg: Values<typeof longContextFields>): LongContextSettings {
  return {
    length: cfg.long_context, rope_theta: cfg.long_rope_theta, rope_scaling: cfg.long_rope_scaling, retrieval_steps: cfg.long_retrieval_steps, curriculum_steps: cfg.long_curriculum_steps, pretrain_steps: cfg.long_pretrain_steps, pretrain_lr: cfg.long_pretrain_lr,
    sft_steps: cfg.long_sft_steps, sft_lr: cfg.long_sft_lr, batch: cfg.long_batch, short_share: cfg.long_short_share, follow_ups: cfg.long_follow_ups, loss_weighting: cfg.long_loss_weighting, rehearsal_steps: cfg.long_rehearsal_steps,
    eval_items: cfg.long_eval_items, short_eval_items: cfg.long_short_eval_items, visit_style: cfg.long_visit_style,
  };
}

export const pipelineSchema = {
  preset: field('string', 'tiny', 'model preset (configs/<preset>.json)'),
  out: field('path', '', 'output folder; rerunning continues where an interrupted run stopped'),
  seed: field('int', 0, 'seed of data sampling, initialisation and training', { min: 0 }),
  threads: field('int', 0, 'native threads (0 = all cores)', { min: 0 }),
  quick: field('boolean', false, 'a smoke run: every stage tiny (minutes become seconds)'),
  until: choice(['init', 'pretrain', 'eval', 'longctx', 'align', 'grpo', 'experts'], 'grpo', 'last stage to run (then the report): init = world data, tokenizer and the initial model; pretrain adds pre-training; eval = the base recipe (pre-train, SFT, evaluation); longctx adds the long-context stage (with --long-context L); align adds RM/PPO/DPO/EXO; grpo adds RL; experts adds expert iteration (a tool expert, then one student distilled from the GRPO, EXO/best-aligned and tool experts: docs/distill.md)'),
  quiet: field('boolean', false, 'no progress output'),
  force_stage: choice(['none', 'data', 'tokenizer', 'init', 'pretrain', 'sft', 'eval', 'longctx', 'align', 'grpo', 'experts'], 'none', 'redo this stage and every later one (their folders are removed), e.g. after changing a setting; without it a rerun with other settings is refused'),
  pretrain_docs: field('int', 40000, 'world pre-training documents', { min: 1 }),
  pretrain_ledger_share: field('number', 0, 'share of travel logs with recalls among the pre-training documents (in-context lookup practice; docs/long-context.md "Learning to retrieve")', { min: 0, max: 1 }),
  pretrain_ledger_style: choice(LEDGER_STYLES, 'sentence', 'how those travel logs write visits (glmkit data world --ledger-style): pair ("On day 9, Alice Millford.") is the layout the long documents\' --long-visit-style pair uses'),
  pretrain_copy_share: field('number', 0, 'share of copy documents (world words, then the same words again) among the other pre-training documents: practice for the copying lookup rests on', { min: 0, max: 1 }),
  sft_examples: field('int', 12000, 'world SFT chats (each question in thinking and direct mode)', { min: 2 }),
  sft_style_noise: field('number', 0.5, 'share of SFT demonstrations worded as the annotator dislikes (verbose, rude): what preference alignment fixes', { min: 0, max: 1 }),
  eval_examples: field('int', 200, 'held-out arithmetic prompts per evaluation', { min: 1 }),
  eval_levels: field('string', '2,3,4', 'arithmetic difficulty levels evaluated (level 2 = two-digit +/-)'),
  pretrain_steps: field('int', 600, 'pre-training optimizer steps', { min: 1 }),
  pretrain_batch: field('int', 16, 'pre-training sequences per step', { min: 1 }),
  pretrain_lr: field('number', 3e-3, 'pre-training peak learning rate', { min: 0 }),
  sft_steps: field('int', 600, 'SFT optimizer steps', { min: 1 }),
  sft_batch: field('int', 16, 'SFT chats per step', { min: 1 }),
  sft_lr: field('number', 1e-3, 'SFT peak learning rate', { min: 0 }),
  seq_len: field('int', 256, 'tokens per pre-training sequence', { min: 16 }),
  sft_seq_len: field('int', 384, 'longest SFT chat in tokens (world tool-use chats are ~300)', { min: 16 }),
  optimizer: choice(['adamw', 'muon'], 'muon', 'optimizer of both training stages'),
  length_groups: field('int', 4, 'SFT, the reward model and DPO run each batch as up to N batches of sequences of similar length, each padded to its own longest (same loss and gradient; SFT ~2x and the reward model ~1.2x less CPU per step than one padded batch)', { min: 1 }),
  mixed_precision: choice(MIXED_PRECISION, 'no', '--mixed-precision of pre-training, SFT, the reward model, DPO and EXO: bf16 runs their forward and backward matrix products with bfloat16 operands and float32 sums (float32 weights, gradients and optimizer state); PPO and GRPO stay float32, as their importance ratios compare the trainer\'s log-probs with the float32 sampler\'s'),
  single_digit_numbers: field('boolean', true, 'pre-tokenize numbers digit by digit (instead of GLM-4\'s 1-3 digit groups) so a tiny model can learn column arithmetic'),
  eval_max_new_tokens: field('int', 320, 'generation budget per evaluation answer', { min: 8 }),
  ...longContextFields,
};

export type PipelineConfig = Values<typeof pipelineSchema>;

/** The smoke-run sizes used by --quick. */
export function quickOverrides(cfg: PipelineConfig): PipelineConfig {
  return { ...cfg, pretrain_docs: 300, sft_examples: 60, eval_examples: 8, pretrain_steps: 4, sft_steps: 4, pretrain_batch: 4, sft_batch: 4, seq_len: 128, sft_seq_len: 384, eval_levels: '2', eval_max_new_tokens: 24 };
}
