/**
 * `glmkit ppo | dpo | exo`: preference alignment from an SFT model folder (docs/methods.md §4-5).
 *   glmkit dpo --model SFT --data pairs.jsonl --out DIR [--beta 0.1] [--rpo-alpha 0.05]
 *   glmkit exo --model SFT --data prompts-or-pairs.jsonl --reward-model RM --out DIR [--mode rw|pref]
 *   glmkit ppo --model SFT --data prompts.jsonl --reward-model RM [--sft-data sft.jsonl] --out DIR
 * Each prints a JSON line with the final model folder; --eval-data (prompts from the built-in world)
 * adds the gold reward and the KL to the SFT policy of the result.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { choice, field, resolveConfig } from '../trainers/base/config.js';
import { CheckpointError, DataError, UsageError } from '../errors.js';
import { loadCausalLM, loadModel, type WeightDtype } from '../models/glm/checkpoint.js';
import { GlmForSequenceClassification, type GlmForCausalLM } from '../models/glm/model.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import type { ChatMessage } from '../tokenizer/chat-types.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { dataFilesLabel, readJsonlFiles, type DataFiles } from '../data/jsonl.js';
import { loadPreferenceData } from '../data/preference.js';
import { goldReward } from '../data/world/index.js';
import { DpoTrainer, dpoSchema } from '../trainers/dpo/dpo-trainer.js';
import { ExoTrainer, candidatePairs, candidateStats, exoSchema, pairGroups, sampleCandidates } from '../trainers/exo/exo-trainer.js';
import { PpoTrainer, ppoSchema, preparePpoPrompts } from '../trainers/ppo/ppo-trainer.js';
import { ValueModel } from '../trainers/ppo/value-model.js';
import { loadSftExamples } from '../trainers/sft/sft-data.js';
import { evaluateAlignment } from '../eval/alignment-eval.js';
import { scoreResponses } from '../trainers/reward/reward-trainer.js';
import { uniquePrompts } from '../pipeline/alignment-stage.js';
import { resolveCommandConfig } from './train.js';

/** Prompts of a JSONL file with a "prompt" field (a string becomes one user message), deduplicated. */
export function readPrompts(files: DataFiles): ChatMessage[][] {
  const recs = readJsonlFiles(files).map((r) => {
    const p = r.value.prompt;
    if (typeof p === 'string') return { prompt: [{ role: 'user' as const, content: p }] };
    if (Array.isArray(p) && p.length > 0) return { prompt: p as ChatMessage[] };
    throw new DataError('expected "prompt": a string or a list of messages', { file: r.file, line: r.line, field: 'prompt' });
  });
  return uniquePrompts(recs);
}

export function loadRewardModel(dir: string, dtype: WeightDtype = 'f32'): GlmForSequenceClassification {
  const m = loadModel(dir, { dtype });
  if (!(m instanceof GlmForSequenceClassification)) throw new CheckpointError(`${dir}: holds a causal LM; expected a reward model (glmkit reward output, architectures *ForSequenceClassification)`);
  return m;
}

function require(command: string, cfg: Record<string, unknown>, keys: string[]): void {
  for (const k of keys) if (!cfg[k]) throw new UsageError(`${command}: --${k.replace(/_/g, '-')} is required (see glmkit ${command} --help)`);
}

/** Gold reward / KL of the trained policy on --eval-data prompts (world prompts only). */
function finalEval(policy: GlmForCausalLM, sftDir: string, tok: Tokenizer, evalData: string | null, maxNew: number, seed: number, thinking: boolean): Record<string, number> {
  if (!evalData) return {};
  const prompts = readPrompts(evalData);
  const ref = loadCausalLM(sftDir);
  const gold = (p: ChatMessage[], r: string) => goldReward(p, r);
  const policyEval = evaluateAlignment(policy, ref, tok, prompts, gold, { maxNewTokens: maxNew, seed, thinking });
  const sftEval = evaluateAlignment(ref, ref, tok, prompts, gold, { maxNewTokens: maxNew, seed, thinking });
  return { gold_reward: policyEval.gold_reward, kl: policyEval.kl, sft_gold_reward: sftEval.gold_reward };
}

export async function dpoCommand(argv: string[]): Promise<number> {
  const cfg = resolveCommandConfig('dpo', dpoSchema, argv);
  if (!cfg) return 0;
  require('dpo', cfg, ['model', 'data', 'out']);
  const tok = loadTokenizer(cfg.model);
  const train = loadPreferenceData(cfg.data, tok, { maxLen: cfg.max_seq_length });
  if (!cfg.quiet) console.error(`dpo: ${train.pairs.length} pairs from ${dataFilesLabel(cfg.data)} (${JSON.stringify(train.stats)})`);
  const policy = loadCausalLM(cfg.model);
  const r = await new DpoTrainer(cfg, policy, loadCausalLM(cfg.ref_model ?? cfg.model, { dtype: cfg.frozen_dtype }), tok, train.pairs, null).train();
  console.log(JSON.stringify({ steps: r.steps, loss: r.finalLoss, final: join(r.out, 'final'), eval: finalEval(policy, cfg.ref_model ?? cfg.model, tok, cfg.eval_data, cfg.eval_max_new_tokens, cfg.seed, cfg.enable_thinking) }));
  return 0;
}

export async function exoCommand(argv: string[]): Promise<number> {
  const cfg = resolveCommandConfig('exo', exoSchema, argv, 'glmkit exo --model SFT_DIR --data FILE.jsonl --out DIR [--mode rw --reward-model RM_DIR | --mode pref] [options]');
  if (!cfg) return 0;
  require('exo', cfg, ['model', 'data', 'out']);
  const tok = loadTokenizer(cfg.model);
  const sft = loadCausalLM(cfg.model, { dtype: cfg.frozen_dtype });
  let groups;
  if (cfg.mode === 'rw') {
    if (!cfg.reward_model) throw new UsageError('exo: --mode rw needs --reward-model (or use --mode pref with preference pairs)');
    let prompts = readPrompts(cfg.data);
    if (cfg.max_prompts > 0) prompts = prompts.slice(0, cfg.max_prompts);
    groups = sampleCandidates(sft, loadRewardModel(cfg.reward_model, cfg.frozen_dtype), tok, prompts, { K: cfg.num_candidates, temperature: cfg.temperature, maxNewTokens: cfg.max_new_tokens, betaR: cfg.beta_r, seed: cfg.seed, maxLen: cfg.max_seq_length, thinking: cfg.enable_thinking });
    if (!cfg.quiet) console.error(`exo: ${groups.length} prompts x ${cfg.num_candidates} candidates (${JSON.stringify(candidateStats(groups))})`);
  } else {
    groups = pairGroups(loadPreferenceData(cfg.data, tok, { maxLen: cfg.max_seq_length }).pairs);
  }
  if (groups.length === 0) throw new DataError('no candidate groups fit --max-seq-length', { file: dataFilesLabel(cfg.data) });
  const policy = loadCausalLM(cfg.model);
  const r = await new ExoTrainer(cfg, policy, sft, tok, groups).train();
  console.log(JSON.stringify({ steps: r.steps, loss: r.finalLoss, final: join(r.out, 'final'), eval: finalEval(policy, cfg.model, tok, cfg.eval_data, cfg.max_new_tokens, cfg.seed, cfg.enable_thinking) }));
  return 0;
}

export async function ppoCommand(argv: string[]): Promise<number> {
  const cfg = resolveCommandConfig('ppo', ppoSchema, argv, 'glmkit ppo --model SFT_DIR --data PROMPTS.jsonl --reward-model RM_DIR --out DIR [options]', { required: ['model', 'data', 'reward_model', 'out'] });
  if (!cfg) return 0;
  require('ppo', cfg, ['model', 'data', 'reward_model', 'out']);
  const tok = loadTokenizer(cfg.model);
  let prompts = readPrompts(cfg.data);
  if (cfg.max_prompts > 0) prompts = prompts.slice(0, cfg.max_prompts);
  const rm = loadRewardModel(cfg.reward_model, cfg.frozen_dtype);
  const sft = loadCausalLM(cfg.model, { dtype: cfg.frozen_dtype });
  const prep = preparePpoPrompts(sft, rm, tok, prompts, cfg);
  if (!cfg.quiet) console.error(`ppo: ${JSON.stringify(prep.stats)}`);
  const sftEx = cfg.sft_data && cfg.ptx_coef > 0 ? loadSftExamples(cfg.sft_data, tok, cfg.max_seq_length).examples : null;
  const policy = loadCausalLM(cfg.model);
  const r = await new PpoTrainer(cfg, policy, sft, new ValueModel(loadRewardModel(cfg.reward_model)), rm, tok, prep.prompts, sftEx).train();
  console.log(JSON.stringify({ steps: r.steps, loss: r.finalLoss, final: join(r.out, 'final'), eval: finalEval(policy, cfg.model, tok, cfg.eval_data, cfg.response_length, cfg.seed, cfg.enable_thinking) }));
  return 0;
}

const sweepSchema = {
  model: field('path', '', 'SFT model folder (policy start, reference, candidate sampler)'),
  reward_model: field('path', '', 'reward model folder (EXO-rw candidates)'),
  data: field<string | string[]>('path', '', 'preference pairs or prompts: their prompts get K SFT samples scored by the reward model (EXO-rw groups; DPO pairs from the same groups, see --dpo-pairs)', { multiple: true }),
  eval_data: field('path', '', 'held-out world prompts (JSONL with "prompt") for gold reward and KL'),
  out: field('path', '', 'output folder: <method>-beta<b>/ runs and sweep.json'),
  betas: field('string', '0.05,0.2,1', 'comma list: DPO beta and EXO beta_pi (beta_r fixed by --beta-r)'),
  beta_r: field('number', 0.5, 'EXO beta_r', { min: 0 }),
  max_steps: field('int', 0, "optimizer steps of each run (0 = each method's default)", { min: 0 }),
  learning_rate: field('number', 0, "peak learning rate of each run (0 = each method's default)", { min: 0 }),
  oracle: field('boolean', false, "score EXO's candidates with the world's gold reward instead of the reward model (diagnostic: is the reward model the bottleneck?)"),
  exo_prompts: field('int', 300, 'EXO-rw prompts (K candidates each)', { min: 1 }),
  eval_prompts: field('int', 150, 'held-out prompts evaluated', { min: 1 }),
  max_new_tokens: field('int', 40, 'token budget of candidates and evaluation samples', { min: 1 }),
  enable_thinking: field('boolean', false, 'sample candidates and evaluation responses in thinking mode'),
  dpo_pairs: choice(['all', 'best_worst'], 'all', "DPO pairs from each group: every two candidates, or the best against the worst"),
  max_seq_length: field('int', 256, 'longest prompt + response of pairs and candidates', { min: 2 }),
  seed: field('int', 0, 'seed', { min: 0 }),
  quiet: field('boolean', false, 'no progress output'),
};

/**
 * `glmkit align-sweep`: reward vs KL of DPO and EXO at several betas, from the same SFT model (the
 * EXO paper's comparison at small scale). Writes OUT/sweep.json and prints a markdown table.
 */
export async function alignSweepCommand(argv: string[]): Promise<number> {
  const cfg = resolveCommandConfig('align-sweep', sweepSchema, argv, 'glmkit align-sweep --model SFT_DIR --reward-model RM_DIR --data FILE.jsonl --eval-data PROMPTS.jsonl --out DIR [options]', { required: ['model', 'reward_model', 'data', 'eval_data', 'out'] });
  if (!cfg) return 0;
  require('align-sweep', cfg, ['model', 'reward_model', 'data', 'eval_data', 'out']);
  const betas = cfg.betas.split(',').map((s) => Number(s.trim()));
  if (betas.some((b) => !(b > 0))) throw new UsageError(`align-sweep: --betas must be a comma list of positive numbers, got '${cfg.betas}'`);
  const tok = loadTokenizer(cfg.model);
  const ref = loadCausalLM(cfg.model);
  const gold = (p: ChatMessage[], r: string) => goldReward(p, r);
  const evalPrompts = readPrompts(cfg.eval_data).slice(0, cfg.eval_prompts);
  const rm = loadRewardModel(cfg.reward_model);
  const evalOpts = { maxNewTokens: cfg.max_new_tokens, seed: cfg.seed, thinking: cfg.enable_thinking, proxy: (p: ChatMessage[][], r: ChatMessage[]) => scoreResponses(rm, tok, p, r) };
  const rows: Record<string, number | string>[] = [];
  const sft = evaluateAlignment(ref, ref, tok, evalPrompts, gold, evalOpts);
  rows.push({ method: 'sft', beta: 0, gold_reward: sft.gold_reward, rm_score: sft.proxy_reward, kl: sft.kl, length: sft.length });
  const oracle = (p: ChatMessage[][], r: ChatMessage[]) => r.map((m, i) => goldReward(p[i], m.content ?? ''));
  const groups = sampleCandidates(ref, cfg.oracle ? oracle : rm, tok, readPrompts(cfg.data).slice(0, cfg.exo_prompts), { K: 4, temperature: 0.8, maxNewTokens: cfg.max_new_tokens, betaR: cfg.beta_r, seed: cfg.seed, maxLen: cfg.max_seq_length, thinking: cfg.enable_thinking });
  // DPO trains on the same scored samples as EXO, as the EXO paper compares them
  const pairs = candidatePairs(groups, 0, cfg.dpo_pairs as 'all' | 'best_worst');
  const common = { model: cfg.model, data: cfg.data, seed: cfg.seed, quiet: true, logging_steps: 10, ...(cfg.max_steps > 0 ? { max_steps: cfg.max_steps } : {}), ...(cfg.learning_rate > 0 ? { learning_rate: cfg.learning_rate } : {}) };
  for (const beta of betas) {
    for (const method of cfg.oracle ? (['exo'] as const) : (['dpo', 'exo'] as const)) {
      const out = join(cfg.out, `${method}-beta${beta}`);
      const policy = loadCausalLM(cfg.model);
      if (method === 'dpo') await new DpoTrainer(resolveConfig(dpoSchema, { object: { ...common, out, beta, max_seq_length: cfg.max_seq_length } }), policy, ref, tok, pairs, null).train();
      else await new ExoTrainer(resolveConfig(exoSchema, { object: { ...common, out, beta_pi: beta, beta_r: cfg.beta_r, reward_model: cfg.reward_model, max_new_tokens: cfg.max_new_tokens, max_seq_length: cfg.max_seq_length, enable_thinking: cfg.enable_thinking } }), policy, ref, tok, groups).train();
      const r = evaluateAlignment(policy, ref, tok, evalPrompts, gold, evalOpts);
      rows.push({ method, beta, gold_reward: r.gold_reward, rm_score: r.proxy_reward, kl: r.kl, length: r.length });
      if (!cfg.quiet) console.error(`align-sweep: ${method} beta ${beta}: gold ${r.gold_reward.toFixed(3)} RM ${r.proxy_reward.toFixed(3)} KL ${r.kl.toFixed(2)}`);
    }
  }
  mkdirSync(cfg.out, { recursive: true });
  writeFileSync(join(cfg.out, 'sweep.json'), JSON.stringify(rows, null, 2) + '\n');
  console.log(['| method | beta | gold reward | reward-model score | KL to SFT (nats) | response tokens |', '|---|---|---|---|---|---|', ...rows.map((r) => `| ${r.method} | ${r.beta} | ${(r.gold_reward as number).toFixed(3)} | ${(r.rm_score as number).toFixed(3)} | ${(r.kl as number).toFixed(2)} | ${(r.length as number).toFixed(1)} |`)].join('\n'));
  return 0;
}
