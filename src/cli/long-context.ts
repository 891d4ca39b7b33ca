/**
 * `glmkit long-context --base PIPELINE_DIR --out OUT [--long-context 4096]`: the pipeline's
 * long-context stage on a finished pipeline folder (its sft/final and data/), written under OUT
 * (the base folder is only read). Resumable: the same command continues an interrupted run.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { runLongContextStage } from '../pipeline/longctx-stage.js';
import { longContextBaseHint, longContextFields, longContextSettings } from '../pipeline/recipe.js';
import { type PipelineState, readStateFile } from '../pipeline/state.js';
import { field } from '../trainers/base/config.js';
import { resolveCommandConfig } from './train.js';

const schema = {
  base: field('path', '', 'a pipeline folder with sft/final and data/ (pretrain.jsonl, sft.jsonl, eval_arith_l2.jsonl); only read', { required: true }),
  out: field('path', '', 'output folder: OUT/longctx/{data,init,pretrain,sft,final}, OUT/longctx/longctx_state.json', { required: true }),
  seed: field('int', 0, 'seed of the long documents and training', { min: 0 }),
  quick: field('boolean', false, 'a smoke run: 512 tokens, a few steps and items'),
  quiet: field('boolean', false, 'no progress output'),
  ...longContextFields,
  long_context: field('int', 4096, 'the new context length in tokens', { min: 64 }),
};

export async function longContextCommand(argv: string[]): Promise<number> {
  const cfg = resolveCommandConfig('long-context', schema, argv, 'glmkit long-context --base PIPELINE_DIR --out OUT [options]', {
    required: ['base', 'out'],
    description: 'Extends the SFT model of a pipeline folder to a longer context: YaRN rope scaling (or a larger rope_theta), a retrieval warm-up on short documents, a length curriculum and long-context SFT, each mixed with ordinary SFT chats (optionally continued pre-training on long documents, GLM-4\'s recipe); reports needle, multi-hop and aggregation accuracy and short-context arithmetic before/after (docs/long-context.md).',
  });
  if (!cfg) return 0;
  const sftDir = join(cfg.base, 'sft', 'final');
  for (const need of [join(sftDir, 'config.json'), join(cfg.base, 'data', 'pretrain.jsonl'), join(cfg.base, 'data', 'sft.jsonl'), join(cfg.base, 'data', 'eval_arith_l2.jsonl')]) {
    if (!existsSync(need)) throw new ConfigError(`long-context: --base ${cfg.base} lacks ${need}; expected a folder written by glmkit pipeline (at least --until eval)`);
  }
  const log = cfg.quiet ? () => {} : (s: string) => console.error(s);
  // the base's pipeline settings say how it was pre-trained
  const baseState = join(cfg.base, 'pipeline_state.json');
  const baseCfg = existsSync(baseState) ? (readStateFile<PipelineState>(baseState, `remove or repair it in ${cfg.base}`).config as { pretrain_ledger_share?: number }) : {};
  const hint = typeof baseCfg.pretrain_ledger_share === 'number' ? longContextBaseHint({ long_visit_style: cfg.long_visit_style, pretrain_ledger_share: baseCfg.pretrain_ledger_share }) : null;
  if (hint) log(`long-context: ${hint}`);
  const summary = await runLongContextStage({ out: cfg.out, dataDir: join(cfg.base, 'data'), sftDir, seed: cfg.seed, quick: cfg.quick, quiet: cfg.quiet, log }, longContextSettings(cfg));
  console.log(JSON.stringify(summary));
  return 0;
}
