/**
 * Training a judge for the built-in world (`glmkit longreward train-judge`, the longreward
 * experiment; docs/longreward.md): world judge transcripts -> SFT -> agreement with the world's gold
 * on held-out documents.
 */
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { generateWorldTask, writeJsonl, type VisitStyle } from '../../data/world/index.js';
import type { LongdocRecord } from '../../data/world/longdoc.js';
import { WorldRng } from '../../data/world/rng.js';
import { loadCausalLM } from '../../models/glm/checkpoint.js';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import { resolveConfig } from '../../trainers/base/config.js';
import { loadSftExamples } from '../../trainers/sft/sft-data.js';
import { SftTrainer, sftSchema } from '../../trainers/sft/sft-trainer.js';
import { JudgeCaller } from './caller.js';
import { LocalJudge } from './judge.js';
import { LongRewardScorer, type ScorerOptions } from './scorer.js';
import { type AgreementReport, CANDIDATE_KINDS, candidateAnswer, judgeAgreement, judgeItem, judgeTranscripts } from './world-judge.js';

export interface TrainJudgeOptions {
  model: string;
  out: string;
  docs: number;
  evalDocs: number;
  answersPerDoc: number;
  docTokens: number;
  seed: number;
  worldSeed: number;
  /** how the world documents write visits (default sentence; the policy's documents' style) */
  visitStyle?: VisitStyle;
  chunking: { faithChunkTokens: number; compChunkTokens: number; topK: number };
  /** token budgets of the judge's answers (default the scorer's) */
  budgets?: Pick<ScorerOptions, 'ratingTokens' | 'listTokens' | 'supportTokens'>;
  /** null: no training, report on `model` */
  sft: { maxSteps: number; learningRate: number; batchSize: number; maxSeqLength: number } | null;
  log?: (line: string) => void;
}

export interface TrainJudgeReport {
  judge: string;
  transcripts?: number;
  dropped_long?: number;
  steps?: number;
  loss?: number;
  agreement: AgreementReport;
  calls: Record<string, number>;
}

/** Candidate answers to each record (always the gold one, then other kinds); `recordOf[i]` is answer i's record. */
export function candidateSet(recs: readonly LongdocRecord[], perDoc: number, seed: number): { answers: string[]; recordOf: number[] } {
  const rng = new WorldRng(seed, 'judge-candidates');
  const answers: string[] = [], recordOf: number[] = [];
  recs.forEach((r, i) => {
    for (const k of ['gold' as const, ...rng.sample(CANDIDATE_KINDS.filter((x) => x !== 'gold'), perDoc - 1)]) {
      answers.push(candidateAnswer(rng, r, k));
      recordOf.push(i);
    }
  });
  return { answers, recordOf };
}

export async function trainWorldJudge(o: TrainJudgeOptions): Promise<TrainJudgeReport> {
  const tok = loadTokenizer(o.model);
  const countTokens = (s: string) => tok.encode(s).length;
  const chunking = { ...o.chunking, countTokens };
  let judgeDir = o.model;
  const report: Partial<TrainJudgeReport> = {};
  if (o.sft) {
    const recs = generateWorldTask('longdoc', { n: o.docs, seed: o.seed, worldSeed: o.worldSeed, docTokens: o.docTokens, split: 'train', countTokens, longdocVisitStyle: o.visitStyle });
    const { answers, recordOf } = candidateSet(recs, o.answersPerDoc, o.seed);
    const chats = [];
    for (const [i, r] of recs.entries()) chats.push(...(await judgeTranscripts(r, answers.filter((_, j) => recordOf[j] === i), chunking)));
    const data = join(o.out, 'judge_sft.jsonl');
    await writeJsonl(data, chats);
    const { examples, dropped } = loadSftExamples(data, tok, o.sft.maxSeqLength);
    if (examples.length === 0) throw new ConfigError(`train-judge: every transcript is longer than max_seq_length ${o.sft.maxSeqLength}; lower the document tokens or raise max_seq_length`);
    o.log?.(`${chats.length} transcripts from ${recs.length} documents${dropped ? `, ${dropped} dropped as longer than ${o.sft.maxSeqLength} tokens` : ''}; training`);
    const cfg = resolveConfig(sftSchema, { values: { model: o.model, data, out: join(o.out, 'sft'), max_steps: o.sft.maxSteps, learning_rate: o.sft.learningRate, per_device_train_batch_size: o.sft.batchSize, max_seq_length: o.sft.maxSeqLength, seed: o.seed, quiet: true } });
    const r = await new SftTrainer(cfg, loadCausalLM(o.model), tok, examples, null).train();
    judgeDir = join(r.out, 'final');
    Object.assign(report, { transcripts: chats.length, dropped_long: dropped, steps: r.steps, loss: r.finalLoss });
  }
  const held = generateWorldTask('longdoc', { n: o.evalDocs, seed: o.seed + 1, worldSeed: o.worldSeed, docTokens: o.docTokens, split: 'test', countTokens, longdocVisitStyle: o.visitStyle });
  const { answers, recordOf } = candidateSet(held, o.answersPerDoc, o.seed + 1);
  const scorer = new LongRewardScorer(new JudgeCaller(LocalJudge.fromDir(judgeDir), { cacheDir: join(o.out, 'judge-cache') }), null, { ...chunking, ...o.budgets });
  const scores = await scorer.score(answers.map((a, i) => judgeItem(held[recordOf[i]], a)));
  return { judge: judgeDir, ...report, agreement: judgeAgreement(held, answers, recordOf, scores), calls: { ...scorer.caller.stats } };
}
