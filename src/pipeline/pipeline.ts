/**
 * `glmkit pipeline`: the whole recipe on the built-in world, resumable stage by stage.
 *   data -> tokenizer -> init -> pretrain -> sft -> eval -> [longctx] -> align (RM, PPO, DPO, EXO) -> grpo (RLCS) -> report
 * (longctx, the context extension of the SFT model, runs only with --long-context L; docs/long-context.md)
 * OUT/final/ is the SFT model, replaced by the best aligned model when one beats SFT on gold reward.
 * Each finished stage is recorded in OUT/pipeline_state.json; an interrupted training stage resumes
 * from its newest checkpoint. OUT/final/ is the final model; OUT/summary.json holds the figures.
 */
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { useThreads } from '../generation/parallel-generate.js';
import { arithmeticRecords, generateWorldTask, writeJsonl, verifyRlAnswer, type RlRecord } from '../data/world/index.js';
import { loadPreset } from '../models/glm/config.js';
import { loadCausalLM, saveModel } from '../models/glm/checkpoint.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { trainBpeFromTexts } from '../tokenizer/bpe-train.js';
import { GLM4_PRE_TOKENIZER, GLM4_SPLIT_PATTERN } from '../tokenizer/pretokenize.js';
import { loadTokenizer, saveTokenizer } from '../tokenizer/tokenizer-json.js';
import { EOS_TOKEN, STOP_TOKENS } from '../tokenizer/special-tokens.js';
import { renderChatText } from '../tokenizer/chat.js';
import { resolveConfig } from '../trainers/base/config.js';
import { PretrainTrainer, packText, pretrainSchema } from '../trainers/pretrain/pretrain-trainer.js';
import { SftTrainer, sftSchema } from '../trainers/sft/sft-trainer.js';
import { loadSftExamples } from '../trainers/sft/sft-data.js';
import { evalChat } from '../eval/chat-eval.js';
import { writeReport } from '../report/report.js';
import { runGrpoStage } from './grpo-stage.js';
import { openPipelineState, savePipelineState, STAGES, type Stage } from './state.js';
import { runExpertsStage } from './experts-stage.js';
import { readJsonl } from '../data/jsonl.js';
import { writeTextAtomic } from '../io/atomic.js';
import { machineInfo } from '../util/machine.js';
import { runAlignmentStages } from './alignment-stage.js';
import { stageClock } from './stage.js';
import { longContextBaseHint, longContextSettings, quickOverrides, type PipelineConfig } from './recipe.js';
import { runLongContextStage } from './longctx-stage.js';


export async function runPipeline(input: PipelineConfig, log: (s: string) => void = (s) => console.error(s)): Promise<Record<string, unknown>> {
  const cfg = input.quick ? quickOverrides(input) : input;
  if (!cfg.out) throw new ConfigError('pipeline: --out is required');
  if (cfg.threads > 0) useThreads(cfg.threads);
  const out = cfg.out;
  mkdirSync(out, { recursive: true });
  const state = openPipelineState(out, cfg, (cfg.force_stage as Stage | 'none') === 'none' ? null : (cfg.force_stage as Stage), log);
  const saveState = () => savePipelineState(out, state);
  const paths = {
    data: join(out, 'data'),
    tokenizer: join(out, 'tokenizer'),
    init: join(out, 'init'),
    pretrain: join(out, 'pretrain'),
    sft: join(out, 'sft'),
  };
  const t0 = Date.now();
  const machine = machineInfo(); // once per run (it asks git for the commit)
  const timings: Record<string, number> = (state.summary.seconds as Record<string, number>) ?? {};
  const cpuSeconds: Record<string, number> = (state.summary.cpu_seconds as Record<string, number>) ?? {};
  const loads: Record<string, number> = (state.summary.load_average as Record<string, number>) ?? {};

  const last = STAGES.indexOf(cfg.until);
  for (const stage of STAGES) {
    if (stage !== 'report' && STAGES.indexOf(stage) > last) {
      log(`pipeline: ${stage} skipped (--until ${cfg.until})`);
      continue;
    }
    if (state.done.includes(stage) && stage !== 'report') {
      log(`pipeline: ${stage} already done`);
      continue;
    }
    log(`pipeline: ${stage} ...`);
    const clock = stageClock();
    switch (stage) {
      case 'data': {
        mkdirSync(paths.data, { recursive: true });
        await writeJsonl(join(paths.data, 'pretrain.jsonl'), generateWorldTask('pretrain', { n: cfg.pretrain_docs, seed: cfg.seed, split: 'train', ledgerShare: cfg.pretrain_ledger_share, ledgerStyle: cfg.pretrain_ledger_style, copyShare: cfg.pretrain_copy_share }));
        await writeJsonl(join(paths.data, 'sft.jsonl'), generateWorldTask('sft', { n: cfg.sft_examples, seed: cfg.seed + 1, split: 'train', styleNoise: cfg.sft_style_noise }));
        await writeJsonl(join(paths.data, 'sft_eval.jsonl'), generateWorldTask('sft', { n: Math.max(2, Math.min(200, cfg.sft_examples)), seed: cfg.seed + 2, split: 'test', styleNoise: cfg.sft_style_noise }));
        for (const level of levels(cfg)) {
          await writeJsonl(join(paths.data, `eval_arith_l${level}.jsonl`), arithmeticRecords(cfg.eval_examples, 4, { seed: cfg.seed + 100 + level, split: 'test', difficulty: [level] }));
        }
        break;
      }
      case 'tokenizer': {
        const texts = [...readTexts(join(paths.data, 'pretrain.jsonl')), ...readChats(join(paths.data, 'sft.jsonl'))];
        const preset = loadPreset(cfg.preset);
        const preTokenizer = cfg.single_digit_numbers ? { ...GLM4_PRE_TOKENIZER, patterns: [GLM4_SPLIT_PATTERN.replace('\\p{N}{1,3}', '\\p{N}')] } : GLM4_PRE_TOKENIZER;
        const tok = trainBpeFromTexts(texts, { vocabSize: preset.vocabSize, preTokenizer });
        saveTokenizer(tok, paths.tokenizer);
        break;
      }
      case 'init': {
        const tok = loadTokenizer(paths.tokenizer);
        const preset = loadPreset(cfg.preset);
        const eos = tok.requireId(EOS_TOKEN);
        const model = new GlmForCausalLM({ ...preset, padTokenId: eos, eosTokenId: STOP_TOKENS.map((t) => tok.requireId(t)), bosTokenId: null }, { seed: cfg.seed });
        saveModel(paths.init, model);
        saveTokenizer(tok, paths.init);
        break;
      }
      case 'pretrain': {
        const tc = resolveConfig(pretrainSchema, {
          object: { model: paths.init, data: join(paths.data, 'pretrain.jsonl'), out: paths.pretrain, max_steps: cfg.pretrain_steps, per_device_train_batch_size: cfg.pretrain_batch, max_seq_length: cfg.seq_len, learning_rate: cfg.pretrain_lr, warmup_steps: Math.max(1, Math.round(cfg.pretrain_steps / 20)), optimizer: cfg.optimizer, mixed_precision: cfg.mixed_precision, seed: cfg.seed, save_steps: Math.max(1, Math.round(cfg.pretrain_steps / 4)), save_total_limit: 1, logging_steps: Math.max(1, Math.round(cfg.pretrain_steps / 100)), resume: 'auto', quiet: cfg.quiet },
          objectSource: 'pipeline',
        });
        const tok = loadTokenizer(paths.init);
        const seqs = packText(tc.data, tok, tc.max_seq_length);
        const r = await new PretrainTrainer(tc, loadCausalLM(paths.init), tok, seqs, null).train();
        state.summary.pretrain = { loss: r.finalLoss, tokens: r.tokens, steps: r.steps };
        break;
      }
      case 'sft': {
        const src = join(paths.pretrain, 'final');
        const tc = resolveConfig(sftSchema, {
          object: { model: src, data: join(paths.data, 'sft.jsonl'), eval_data: join(paths.data, 'sft_eval.jsonl'), out: paths.sft, max_steps: cfg.sft_steps, per_device_train_batch_size: cfg.sft_batch, max_seq_length: cfg.sft_seq_len, length_groups: cfg.length_groups, learning_rate: cfg.sft_lr, warmup_steps: Math.max(1, Math.round(cfg.sft_steps / 20)), optimizer: cfg.optimizer, mixed_precision: cfg.mixed_precision, seed: cfg.seed, save_steps: Math.max(1, Math.round(cfg.sft_steps / 4)), save_total_limit: 1, logging_steps: Math.max(1, Math.round(cfg.sft_steps / 100)), resume: 'auto', quiet: cfg.quiet },
          objectSource: 'pipeline',
        });
        const tok = loadTokenizer(src);
        const { examples, dropped } = loadSftExamples(tc.data, tok, tc.max_seq_length);
        const evalEx = loadSftExamples(tc.eval_data!, tok, tc.max_seq_length).examples;
        const r = await new SftTrainer(tc, loadCausalLM(src), tok, examples, evalEx).train();
        state.summary.sft = { ...(state.summary.sft as object), loss: r.finalLoss, tokens: r.tokens, steps: r.steps, dropped_examples: dropped, eval_loss: r.metrics.at(-1)?.eval_loss };
        break;
      }
      case 'eval': {
        const dir = join(paths.sft, 'final');
        const model = loadCausalLM(dir);
        const tok = loadTokenizer(dir);
        const accuracy: Record<string, number> = {};
        const byLevel: Record<string, Record<string, number>> = {};
        for (const level of levels(cfg)) {
          const records = readJsonlRecords<RlRecord>(join(paths.data, `eval_arith_l${level}.jsonl`));
          const items = records.map((r) => ({ prompt: r.prompt, score: (o: { content: string; reasoning_content: string | null }) => verifyRlAnswer(r, { content: o.content, reasoning_content: o.reasoning_content }) }));
          byLevel[`level_${level}`] = {};
          for (const thinking of [true, false]) {
            const res = evalChat(model, tok, items, { thinking, maxNewTokens: cfg.eval_max_new_tokens, batchSize: 32 });
            byLevel[`level_${level}`][thinking ? 'thinking' : 'direct'] = res.accuracy;
            if (level === 2) accuracy[thinking ? 'thinking' : 'direct'] = res.accuracy;
            log(`pipeline: eval arithmetic level ${level} ${thinking ? 'thinking' : 'direct'}: ${(100 * res.accuracy).toFixed(1)}% of ${res.n} (truncated ${(100 * res.truncated).toFixed(0)}%)`);
          }
        }
        state.summary.sft = { ...(state.summary.sft as object), accuracy, accuracy_by_level: byLevel };
        rmSync(join(out, 'final'), { recursive: true, force: true });
        cpSync(dir, join(out, 'final'), { recursive: true });
        break;
      }
      case 'longctx': {
        if (cfg.long_context === 0) {
          log('pipeline: longctx skipped (no --long-context)');
          continue; // not recorded as done: a later rerun with --long-context L runs it
        }
        const hint = longContextBaseHint(cfg);
        if (hint) log(`pipeline: ${hint}`);
        state.summary.longctx = await runLongContextStage({ out, dataDir: paths.data, sftDir: join(paths.sft, 'final'), seed: cfg.seed, quick: cfg.quick, quiet: cfg.quiet, log }, longContextSettings(cfg));
        break;
      }
      case 'align': {
        const ctx = { out, dataDir: paths.data, sftDir: join(paths.sft, 'final'), seed: cfg.seed, quick: cfg.quick, quiet: cfg.quiet, log, lengthGroups: cfg.length_groups, mixedPrecision: cfg.mixed_precision };
        const a = await runAlignmentStages(ctx);
        const { sft, best_model: best, best_beats_sft: beats, ...rest } = a as { sft?: object; best_model?: string; best_beats_sft?: boolean } & Record<string, unknown>;
        Object.assign(state.summary, rest);
        state.summary.sft = { ...(state.summary.sft as object), ...sft };
        state.summary.final_model = beats && best ? best : join(paths.sft, 'final');
        if (beats && best) {
          rmSync(join(out, 'final'), { recursive: true, force: true });
          cpSync(best, join(out, 'final'), { recursive: true });
        }
        break;
      }
      case 'grpo':
        state.summary.grpo = await runGrpoStage({ out, dataDir: paths.data, sftDir: join(paths.sft, 'final'), seed: cfg.seed, quick: cfg.quick, quiet: cfg.quiet, log });
        break;
      case 'experts':
        state.summary.experts = await runExpertsStage({ out, sftDir: join(paths.sft, 'final'), seed: cfg.seed, quick: cfg.quick, quiet: cfg.quiet, log }, state.summary.final_model as string | undefined);
        break;
      case 'report':
        break;
    }
    const cost = clock();
    timings[stage] = cost.seconds;
    cpuSeconds[stage] = cost.cpu_seconds;
    loads[stage] = cost.load_average;
    // wall seconds, CPU seconds of this process, and the 1-minute load average when each stage ended
    Object.assign(state.summary, { seconds: timings, cpu_seconds: cpuSeconds, load_average: loads });
    state.summary.preset = cfg.preset;
    state.summary.machine = machine;
    if (!state.done.includes(stage)) state.done.push(stage);
    state.stage_config_hash[stage] = state.config_hash;
    writeTextAtomic(join(out, 'summary.json'), JSON.stringify(state.summary, null, 2) + '\n');
    if (stage === 'report') writeReport(out);
    saveState();
  }
  log(`pipeline: done in ${((Date.now() - t0) / 1000).toFixed(0)}s; ${join(out, 'summary.json')}, ${join(out, 'report.html')}`);
  return state.summary;
}

function levels(cfg: PipelineConfig): number[] {
  return cfg.eval_levels.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`pipeline: eval_levels must be a comma list of levels, got '${cfg.eval_levels}'`);
    return n;
  });
}

function readJsonlRecords<T>(file: string): T[] {
  return readJsonl(file).map((r) => r.value as T);
}

function readTexts(file: string): string[] {
  return readJsonlRecords<{ text: string }>(file).map((r) => r.text);
}

function readChats(file: string): string[] {
  return readJsonlRecords<Record<string, unknown>>(file).map((r) => renderChatText({ messages: r.messages, tools: r.tools, enable_thinking: r.enable_thinking }));
}
