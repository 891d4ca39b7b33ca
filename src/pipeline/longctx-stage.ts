/**
 * The long-context stage (`glmkit pipeline --long-context 4096`, or `glmkit long-context --base DIR`):
 * GLM-4's recipe for extending the context of the SFT model (docs/long-context.md).
 *   data      world long documents (longdoc) sized in tokens; validation and test items from other seeds
 *   init      the SFT weights under a config with max_position_embeddings = L and YaRN rope_scaling
 *             (the default) or a larger rope_theta
 *   retrieval (optional) a warm-up on short documents with many questions each: retrieval is learnt
 *             where a step is cheap, then carried to length L (with the same share of ordinary chats)
 *   curriculum (optional) SFT on chats whose documents grow band by band (CURRICULUM_BANDS), each band
 *             mixed with a share of the ordinary SFT chats: the lookup learnt on short documents is
 *             carried outward a step at a time instead of in one jump to L
 *   pretrain  (optional) continued pre-training on L-token sequences (long documents + ordinary world documents)
 *   sft       long-context SFT (long chats mixed with a share of the ordinary SFT chats); after a
 *             curriculum its documents start where the last band ended
 *   rehearsal (optional) a short SFT of the long SFT's final model on the ordinary SFT chats alone
 *             (REHEARSAL): YaRN's stretched rotations cost short-context arithmetic, which the
 *             ordinary chats mixed into the long sub-steps bring back only in part
 *   eval      the rehearsed model, or without rehearsal the long-SFT checkpoint (half-way or final)
 *             with the better validation accuracy, becomes OUT/longctx/final; its test accuracy per
 *             kind, and short-context arithmetic before/after
 * Each sub-step is recorded in OUT/longctx/longctx_state.json; an interrupted training sub-step resumes
 * from its newest checkpoint; a rerun with other settings is refused naming the keys.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { readJsonl } from '../data/jsonl.js';
import { scoreLongdocAnswer, verifyRlAnswer, writeJsonl, type LongdocRecord, type RlRecord, type VisitStyle } from '../data/world/index.js';
import { evalChat, type EvalItem } from '../eval/chat-eval.js';
import { copyProbe, ordinaryIds } from '../eval/copy-probe.js';
import { writeTextAtomic } from '../io/atomic.js';
import { rotaryDim } from '../models/glm/config.js';
import { writeRopeScaling, type RopeScaling } from '../models/glm/rope-scaling.js';
import { loadCausalLM, saveModel } from '../models/glm/checkpoint.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { loadTokenizer, saveTokenizer } from '../tokenizer/tokenizer-json.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { resolveConfig } from '../trainers/base/config.js';
import { PretrainTrainer, pretrainSchema } from '../trainers/pretrain/pretrain-trainer.js';
import { type LossWeighting, SftTrainer, sftSchema } from '../trainers/sft/sft-trainer.js';
import { loadSftExamples } from '../trainers/sft/sft-data.js';
import { configDiff, configHash } from '../util/config-hash.js';
import { curriculumBands, evalRecords, fittedLongSftChat, followUpRoom, interleave, longSftChat, packLongSequences, trainRecords } from './longctx-data.js';
import type { StageContext } from './stage.js';
import { readStateFile } from './state.js';

export interface LongContextSettings {
  /** the new context length in tokens */
  length: number;
  /** rope_theta of the extended model; 0 = ntkTheta(old theta, rotary dim, length / old length) (with yarn: the base's theta) */
  rope_theta: number;
  /** 'yarn': HF rope_scaling yarn with factor length / old length over the old context, in place of a larger theta ('none': plain RoPE) */
  rope_scaling?: LongRopeScaling;
  /** retrieval warm-up steps (sizes in RETRIEVAL; 0 = none) */
  retrieval_steps: number;
  /** optimizer steps of each length-curriculum band (CURRICULUM_BANDS; 0 = no curriculum) */
  curriculum_steps: number;
  /** continued pre-training steps at length L (0 = none) */
  pretrain_steps: number;
  pretrain_lr: number;
  sft_steps: number;
  sft_lr: number;
  /** sequences per optimizer step (the SFT: one micro-batch split over the data-parallel replicas; the pre-training: micro-batches of one sequence) */
  batch: number;
  /** share of ordinary (short) SFT chats in every training sub-step's chats (warm-up, bands, SFT): rehearsal of short-context ability */
  short_share: number;
  /** further questions on the same document per long training text and chat */
  follow_ups: number;
  /** validation and test items per kind */
  eval_items: number;
  /** held-out arithmetic prompts of the short-context check (before and after) */
  short_eval_items: number;
  /** how the long documents and their gold answers write visits (longdoc-facts.ts VisitStyle) */
  visit_style: VisitStyle;
  /** the SFT sub-steps' loss: token (the mean over a step's answer tokens) or sequence (each chat's mean, then over chats) */
  loss_weighting?: LossWeighting;
  /** steps of the rehearsal on ordinary chats after the long SFT (REHEARSAL; 0 or absent = none) */
  rehearsal_steps?: number;
}

export const LONG_ROPE_SCALINGS = ['none', 'yarn'] as const;
export type LongRopeScaling = (typeof LONG_ROPE_SCALINGS)[number];

/** Tokens of an evaluation prompt beyond its document: question, template, and the answer budget (room - 96). */
const EVAL_ROOM = 256;

/** The document target of the stage's evaluation items at context L (the question, template and answer fit beside it). */
export function longEvalDocTokens(L: number): number {
  return L - EVAL_ROOM;
}

/** The retrieval warm-up: chats per step, document tokens, questions per document (first + follow-ups), tokens per chat. */
const RETRIEVAL = { batch: 4, minTokens: 150, maxTokens: 400, followUps: 11, seqLen: 1400 } as const;

/**
 * The rehearsal: ordinary SFT chats per step, learning rate, tokens per chat (the pipeline's SFT chats
 * are at most 384). Steps chosen on the long validation items: 150 steps brought level-2 arithmetic from
 * 0.58 to 0.92 at the same needle accuracy, 300 steps to 0.96 but validation multi-hop fell from 0.64 to 0.48
 * (docs/long-context.md "Rehearsal after the long SFT").
 */
const REHEARSAL = { batch: 16, lr: 2e-4, seqLen: 384 } as const;

/** Sub-steps in order. */
const STEPS = ['data', 'init', 'retrieval', 'curriculum', 'pretrain', 'sft', 'rehearsal', 'eval'] as const;
type Step = (typeof STEPS)[number];

export interface LongContextState {
  settings: LongContextSettings & { seed: number; base_sft: string };
  hash: string;
  done: Step[];
  summary: Record<string, unknown>;
}

/**
 * The NTK-aware base for a context `scale` times longer: theta * scale^(d / (d - 2)) (d = rotary dim),
 * which keeps the slowest rotating pair's wavelength growing with the context, rounded up to 2
 * significant digits.
 */
export function ntkTheta(theta: number, dim: number, scale: number): number {
  const t = theta * Math.pow(scale, dim / (dim - 2));
  const mag = Math.pow(10, Math.floor(Math.log10(t)) - 1);
  return Math.ceil(t / mag) * mag;
}

/** HF `rope_scaling` yarn stretching `original` positions by `factor` (beta_fast, beta_slow and the attention factor at their defaults). */
export function yarnScaling(factor: number, original: number): RopeScaling {
  return { ropeType: 'yarn', factor, originalMaxPositionEmbeddings: original, attentionFactor: null, betaFast: null, betaSlow: null, mscale: null, mscaleAllDim: null, truncate: null };
}

/** The smoke-run sizes (`--quick`): at most a 1024-token context, a few steps, a few items (after a curriculum, no follow-ups: at 1,024 tokens they would not leave room for documents longer than its last band). */
export function quickLongContext(s: LongContextSettings): LongContextSettings {
  return { ...s, length: Math.min(s.length, 1024), retrieval_steps: Math.min(s.retrieval_steps, 2), curriculum_steps: Math.min(s.curriculum_steps, 2), pretrain_steps: Math.min(s.pretrain_steps, 2), sft_steps: 2, batch: 1, rehearsal_steps: Math.min(s.rehearsal_steps ?? 0, 2), eval_items: 2, short_eval_items: 2, follow_ups: s.curriculum_steps > 0 ? 0 : s.follow_ups };
}

function readRecords<T>(file: string): T[] {
  return readJsonl(file).map((r) => r.value as T);
}

/** Gold-rubric scores per kind of `model` on long records (direct mode, greedy): correctness is the accuracy. */
export function evalLong(model: GlmForCausalLM, tok: Tokenizer, records: LongdocRecord[], maxNewTokens: number, batchSize = 2): Record<string, { accuracy: number; faithfulness: number; completeness: number; n: number }> {
  const out: Record<string, { accuracy: number; faithfulness: number; completeness: number; n: number }> = {};
  for (const kind of [...new Set(records.map((r) => r.kind))]) {
    const rs = records.filter((r) => r.kind === kind);
    const faith: number[] = [], comp: number[] = [];
    const items: EvalItem[] = rs.map((r) => ({
      prompt: [r.messages[0]],
      score: (o) => {
        const sc = scoreLongdocAnswer(r, { content: o.content, reasoning_content: o.reasoning_content });
        faith.push(sc.faithfulness);
        comp.push(sc.completeness);
        return sc.correctness;
      },
    }));
    const res = evalChat(model, tok, items, { thinking: false, maxNewTokens, batchSize });
    const avg = (x: number[]) => x.reduce((a, b) => a + b, 0) / Math.max(1, x.length);
    out[kind] = { accuracy: res.accuracy, faithfulness: avg(faith), completeness: avg(comp), n: rs.length };
  }
  return out;
}

function shortEval(model: GlmForCausalLM, tok: Tokenizer, records: RlRecord[]): number {
  const items = records.map((r) => ({ prompt: r.prompt as EvalItem['prompt'], score: (o: { content: string; reasoning_content: string | null }) => verifyRlAnswer(r, { content: o.content, reasoning_content: o.reasoning_content }) }));
  return evalChat(model, tok, items, { thinking: true, maxNewTokens: 320, batchSize: 32 }).accuracy;
}

/** Checkpoint folders of a trainer output, oldest first. */
function checkpoints(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((d) => /^checkpoint-\d+$/.test(d)).sort((a, b) => Number(a.split('-')[1]) - Number(b.split('-')[1])).map((d) => join(dir, d));
}

/**
 * Runs (or resumes) the stage under `ctx.out`/longctx from the SFT model `ctx.sftDir`, with the
 * pipeline's data in `ctx.dataDir` (pretrain.jsonl, sft.jsonl, eval_arith_l2.jsonl). Returns the summary.
 */
export async function runLongContextStage(ctx: StageContext, input: LongContextSettings): Promise<Record<string, unknown>> {
  const s = ctx.quick ? quickLongContext(input) : input;
  const dir = join(ctx.out, 'longctx');
  mkdirSync(dir, { recursive: true });
  const stateFile = join(dir, 'longctx_state.json');
  // rope_scaling 'none', loss_weighting 'token' and no rehearsal leave their keys out, so runs made before they existed continue
  const { rope_scaling: scaling = 'none', loss_weighting: weighting = 'token', rehearsal_steps: rehearsal = 0, ...rest } = s;
  const settings = { ...rest, ...(scaling === 'none' ? {} : { rope_scaling: scaling }), ...(weighting === 'token' ? {} : { loss_weighting: weighting }), ...(rehearsal === 0 ? {} : { rehearsal_steps: rehearsal }), seed: ctx.seed, base_sft: ctx.sftDir };
  const hash = configHash(settings);
  let state: LongContextState = { settings, hash, done: [], summary: {} };
  if (existsSync(stateFile)) {
    const old = readStateFile<LongContextState>(stateFile, `remove ${dir} to redo the long-context stage`);
    const diff = configDiff(old.settings as unknown as Record<string, unknown>, settings as unknown as Record<string, unknown>);
    if (diff.length > 0 && old.done.length > 0) {
      throw new ConfigError(`${dir} holds a long-context run with other settings (${diff.join('; ')}); rerun with the same settings to continue it, remove ${dir} (pipeline: --force-stage longctx) to redo it, or choose another --out`);
    }
    if (diff.length === 0) state = old;
  }
  const save = () => writeTextAtomic(stateFile, JSON.stringify(state, null, 2) + '\n');
  const L = s.length;
  const tok = loadTokenizer(ctx.sftDir);
  const paths = { data: join(dir, 'data'), init: join(dir, 'init'), retrieval: join(dir, 'retrieval'), curriculum: join(dir, 'curriculum'), pretrain: join(dir, 'pretrain'), sft: join(dir, 'sft'), rehearsal: join(dir, 'rehearsal'), final: join(dir, 'final') };
  const bands = curriculumBands(L, RETRIEVAL.followUps, EVAL_ROOM);
  // what every training sub-step shares: `steps` optimizer steps, warm-up a tenth of them, a log line every fiftieth, Muon, resumable
  const schedule = (steps: number) => ({ max_steps: steps, warmup_steps: Math.max(1, Math.round(steps / 10)), logging_steps: Math.max(1, Math.round(steps / 50)), optimizer: 'muon', seed: ctx.seed, resume: 'auto', quiet: ctx.quiet });
  // the model a training sub-step starts from: the output of the last earlier sub-step that trained
  const trained: [Step, number, string][] = [['retrieval', s.retrieval_steps, join(paths.retrieval, 'final')], ['curriculum', s.curriculum_steps, join(paths.curriculum, `band_${bands.length}`, 'final')], ['pretrain', s.pretrain_steps, join(paths.pretrain, 'final')]];
  const source = (step: Step): string => trained.filter(([t, n]) => n > 0 && STEPS.indexOf(t) < STEPS.indexOf(step)).at(-1)?.[2] ?? paths.init;
  // an SFT sub-step: by default chats of RETRIEVAL.batch a step with the stage's loss weighting, a checkpoint every quarter, the newest kept (the warm-up and each curriculum band)
  type SftOptions = { batch?: number; saveSteps?: number; saveLimit?: number; lossWeighting?: LossWeighting };
  const sft = async (from: string, data: string, out: string, steps: number, lr: number, seqLen: number, o: SftOptions = {}) => {
    const tc = resolveConfig(sftSchema, {
      object: { model: from, data, out, per_device_train_batch_size: o.batch ?? RETRIEVAL.batch, max_seq_length: seqLen, learning_rate: lr, save_steps: o.saveSteps ?? Math.max(1, Math.round(steps / 4)), save_total_limit: o.saveLimit ?? 1, loss_weighting: o.lossWeighting ?? weighting, ...schedule(steps) },
      objectSource: 'longctx',
    });
    const { examples, dropped } = loadSftExamples(tc.data, tok, seqLen);
    const r = await new SftTrainer(tc, loadCausalLM(from), tok, examples, null).train();
    return { loss: r.finalLoss, tokens: r.tokens, steps: r.steps, examples: examples.length, dropped_examples: dropped };
  };
  const t0 = Date.now();
  const seconds = (state.summary.seconds as Record<string, number>) ?? {};
  for (const step of STEPS) {
    if (state.done.includes(step)) {
      ctx.log(`longctx: ${step} already done`);
      continue;
    }
    ctx.log(`longctx: ${step} ...`);
    const s0 = Date.now();
    switch (step) {
      case 'data': {
        mkdirSync(paths.data, { recursive: true });
        const docTokens = longEvalDocTokens(L);
        const trainMax = Math.max(Math.floor(L / 4), docTokens - followUpRoom(s.follow_ups)); // pre-training documents leave room for the follow-ups
        // after a curriculum the SFT documents start where its last band ended; they reach the
        // evaluation's length (a chat keeps as many follow-ups as fit: fittedLongSftChat)
        const sftMin = s.curriculum_steps > 0 ? bands[bands.length - 1].maxTokens : Math.floor(L / 4);
        if (sftMin >= docTokens) throw new ConfigError(`longctx: at --long-context ${L} the SFT documents (up to ${docTokens} tokens) cannot start above the curriculum's last band (${sftMin}); choose a longer context`);
        await writeJsonl(join(paths.data, 'eval_val.jsonl'), evalRecords(s.eval_items, ctx.seed + 7001, tok, docTokens, undefined, s.visit_style));
        await writeJsonl(join(paths.data, 'eval_test.jsonl'), evalRecords(s.eval_items, ctx.seed + 7002, tok, docTokens, undefined, s.visit_style));
        const allShort = readRecords<Record<string, unknown>>(join(ctx.dataDir, 'sft.jsonl'));
        // `n` ordinary chats spread over the whole ordinary file (every task), starting at `offset`; the
        // stride is odd because the file holds each question twice in a row (thinking, then direct
        // mode), so an even one would rehearse one mode only
        const shortChats = (n: number, offset: number) => {
          const even = Math.max(1, Math.floor(allShort.length / Math.max(1, n)));
          const stride = even % 2 === 0 ? even - 1 : even;
          return Array.from({ length: Math.min(n, allShort.length) }, (_, i) => allShort[(i * stride + offset) % allShort.length]);
        };
        // about `n` chats: long ones (documents in [lo, hi], `spare` more than their share) and a share
        // of ordinary ones; each long record becomes a chat fitted to L unless `toChat` says otherwise
        type ToChat = (r: LongdocRecord) => Record<string, unknown>;
        const fitted: ToChat = (r) => fittedLongSftChat(r, tok, L);
        const mix = (n: number, seed: number, lo: number, hi: number, followUps: number, offset: number, toChat = fitted, spare = 1) => {
          const nShort = Math.round(n * s.short_share);
          const longChats = trainRecords(n - nShort + spare, seed, tok, lo, hi, 4, followUps, s.visit_style).map(toChat);
          return interleave(longChats, shortChats(nShort, offset), s.short_share);
        };
        if (s.pretrain_steps > 0) {
          // continued pre-training: one long document with its questions and answers per sequence (packed with ordinary documents at the pretrain step)
          await writeJsonl(join(paths.data, 'pretrain_long.jsonl'), trainRecords(s.pretrain_steps * s.batch, ctx.seed + 7003, tok, Math.floor(L / 4), trainMax, 4, s.follow_ups, s.visit_style));
        }
        if (s.retrieval_steps > 0) {
          // the warm-up rehearses too: its learning rate is the pre-training's, and without ordinary
          // chats it turns short answers into longdoc statements (exactly n chats, unfitted: at share
          // 0 the file is as before)
          const chats = mix(s.retrieval_steps * RETRIEVAL.batch, ctx.seed + 7005, RETRIEVAL.minTokens, RETRIEVAL.maxTokens, RETRIEVAL.followUps, bands.length + 1, longSftChat, 0);
          await writeJsonl(join(paths.data, 'retrieval.jsonl'), chats);
        }
        if (s.curriculum_steps > 0) {
          for (const [k, b] of bands.entries()) await writeJsonl(join(paths.data, `curriculum_${k + 1}.jsonl`), mix(s.curriculum_steps * RETRIEVAL.batch, ctx.seed + 8000 + 100 * k, b.minTokens, b.maxTokens, b.followUps, k + 1));
        }
        // long-context SFT: long chats and a share of the ordinary ones
        await writeJsonl(join(paths.data, 'sft_long.jsonl'), mix(s.sft_steps * s.batch, ctx.seed + 7004, sftMin, docTokens, s.follow_ups, 0));
        break;
      }
      case 'init': {
        const model = loadCausalLM(ctx.sftDir);
        const cfg = model.config;
        if (L <= cfg.maxPositionEmbeddings) {
          throw new ConfigError(`longctx: --long-context ${L} does not extend ${ctx.sftDir}, whose max_position_embeddings is already ${cfg.maxPositionEmbeddings}; choose a longer context`);
        }
        const yarn = scaling === 'yarn';
        if (yarn && cfg.ropeScaling !== null) throw new ConfigError(`longctx: ${ctx.sftDir} already has rope_scaling ${cfg.ropeScaling.ropeType}; --long-rope-scaling yarn extends plain RoPE only`);
        const theta = s.rope_theta > 0 ? s.rope_theta : yarn ? cfg.ropeTheta : ntkTheta(cfg.ropeTheta, rotaryDim(cfg), L / cfg.maxPositionEmbeddings);
        const ropeScaling = yarn ? yarnScaling(L / cfg.maxPositionEmbeddings, cfg.maxPositionEmbeddings) : cfg.ropeScaling;
        state.summary.rope_theta = { before: cfg.ropeTheta, after: theta, rule: s.rope_theta > 0 ? 'given' : yarn ? 'kept (yarn scaling)' : 'ntk: theta * (L / L0)^(d / (d - 2))', max_position_embeddings: { before: cfg.maxPositionEmbeddings, after: L } };
        if (yarn) state.summary.rope_scaling = writeRopeScaling(ropeScaling, {}); // as config.json writes it
        const extended = new GlmForCausalLM({ ...cfg, ropeTheta: theta, ropeScaling, maxPositionEmbeddings: L }, { seed: 0 });
        extended.loadStateDict(model.stateDict());
        saveModel(paths.init, extended);
        saveTokenizer(tok, paths.init);
        break;
      }
      case 'retrieval': {
        if (s.retrieval_steps === 0) break;
        state.summary.retrieval = await sft(paths.init, join(paths.data, 'retrieval.jsonl'), paths.retrieval, s.retrieval_steps, s.pretrain_lr, Math.min(RETRIEVAL.seqLen, L)); // longer chats are dropped and counted
        break;
      }
      case 'curriculum': {
        if (s.curriculum_steps === 0) break;
        const done = (state.summary.curriculum as Record<string, unknown>[] | undefined) ?? [];
        for (const [k, b] of bands.entries()) {
          if (k < done.length) continue; // an interrupted curriculum resumes at its first unfinished band
          const from = k === 0 ? source('curriculum') : join(paths.curriculum, `band_${k}`, 'final');
          const r = await sft(from, join(paths.data, `curriculum_${k + 1}.jsonl`), join(paths.curriculum, `band_${k + 1}`), s.curriculum_steps, s.sft_lr, L);
          done.push({ ...r, doc_tokens: [b.minTokens, b.maxTokens], follow_ups: b.followUps });
          state.summary.curriculum = done;
          save();
        }
        break;
      }
      case 'pretrain': {
        if (s.pretrain_steps === 0) break;
        const from = source('pretrain');
        const tc = resolveConfig(pretrainSchema, {
          object: { model: from, data: join(paths.data, 'pretrain_long.jsonl'), out: paths.pretrain, per_device_train_batch_size: 1, gradient_accumulation_steps: s.batch, max_seq_length: L, learning_rate: s.pretrain_lr, save_steps: Math.max(1, Math.round(s.pretrain_steps / 4)), save_total_limit: 1, ...schedule(s.pretrain_steps) },
          objectSource: 'longctx',
        });
        const shortDocs = readRecords<{ text: string }>(join(ctx.dataDir, 'pretrain.jsonl')).map((d) => d.text);
        const seqs = packLongSequences(readRecords<LongdocRecord>(join(paths.data, 'pretrain_long.jsonl')), shortDocs, tok, L);
        const r = await new PretrainTrainer(tc, loadCausalLM(from), tok, seqs, null).train();
        state.summary.pretrain = { loss: r.finalLoss, tokens: r.tokens, steps: r.steps, sequences: seqs.length };
        break;
      }
      case 'sft': {
        // the half-way checkpoint is kept: the evaluation may choose it
        state.summary.sft = await sft(source('sft'), join(paths.data, 'sft_long.jsonl'), paths.sft, s.sft_steps, s.sft_lr, L, { batch: s.batch, saveSteps: Math.max(1, Math.round(s.sft_steps / 2)), saveLimit: 0 });
        break;
      }
      case 'rehearsal': {
        if (rehearsal === 0) break;
        // the ordinary SFT chats as the base SFT saw them (the trainer draws from the whole file), each chat's tokens as they come
        state.summary.rehearsal = await sft(join(paths.sft, 'final'), join(ctx.dataDir, 'sft.jsonl'), paths.rehearsal, rehearsal, REHEARSAL.lr, REHEARSAL.seqLen, { batch: REHEARSAL.batch, saveSteps: 0, lossWeighting: 'token' });
        break;
      }
      case 'eval': {
        const val = readRecords<LongdocRecord>(join(paths.data, 'eval_val.jsonl'));
        const test = readRecords<LongdocRecord>(join(paths.data, 'eval_test.jsonl'));
        const answerTokens = EVAL_ROOM - 96;
        // the rehearsed model; without rehearsal the half-way checkpoint and the final model compete on validation items
        // (validation reads the long kinds only, so it would pass over what the rehearsal brings back)
        const candidates = rehearsal > 0 ? [join(paths.rehearsal, 'final')] : [...new Set([...checkpoints(paths.sft).slice(-2, -1), join(paths.sft, 'final')])];
        const scores = candidates.map((c) => ({ dir: c, val: evalLong(loadCausalLM(c), tok, val, answerTokens) }));
        for (const c of scores) ctx.log(`longctx: validation ${c.dir}: ${JSON.stringify(c.val)}`);
        const best = scores.reduce((a, b) => (mean(b.val) > mean(a.val) ? b : a));
        rmSync(paths.final, { recursive: true, force: true });
        cpSync(best.dir, paths.final, { recursive: true });
        for (const f of ['optimizer.safetensors', 'trainer_state.json', 'rng_state.json']) rmSync(join(paths.final, f), { force: true });
        const model = loadCausalLM(paths.final);
        const testAcc = evalLong(model, tok, test, answerTokens);
        const arith = readRecords<RlRecord>(join(ctx.dataDir, 'eval_arith_l2.jsonl')).slice(0, s.short_eval_items);
        const sftModel = loadCausalLM(ctx.sftDir);
        const before = shortEval(sftModel, tok, arith);
        const after = shortEval(model, tok, arith);
        const probeIds = ordinaryIds(tok);
        state.summary.eval = {
          selected: best.dir,
          selected_on: 'validation items (seed + 7001)',
          validation: Object.fromEntries(scores.map((c) => [c.dir, c.val])),
          test: testAcc,
          test_items_per_kind: s.eval_items,
          test_doc_tokens: { min: Math.min(...test.map((t) => t.doc_tokens)), max: Math.max(...test.map((t) => t.doc_tokens)) },
          short_context: { task: 'arithmetic level 2, thinking', n: arith.length, before, after },
          // in-context copying (eval/copy-probe.ts): loss on a random sequence's first and repeated copy
          copy_probe: { before: copyProbe(sftModel, probeIds), after: copyProbe(model, probeIds) },
        };
        ctx.log(`longctx: test ${Object.entries(testAcc).map(([k, v]) => `${k} ${v.accuracy.toFixed(3)}`).join(', ')}; arithmetic level 2 before ${before.toFixed(3)} after ${after.toFixed(3)}`);
        break;
      }
    }
    seconds[step] = (Date.now() - s0) / 1000;
    state.summary.seconds = seconds;
    state.done.push(step);
    save();
  }
  ctx.log(`longctx: done in ${((Date.now() - t0) / 1000).toFixed(0)}s; final model ${paths.final}`);
  return { ...state.summary, length: L, final_model: paths.final };
}

function mean(r: Record<string, { accuracy: number }>): number {
  const v = Object.values(r).map((x) => x.accuracy);
  return v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
}
