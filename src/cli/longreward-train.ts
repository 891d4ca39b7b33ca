/**
 * `glmkit longreward train-judge --model DIR --out DIR [--docs N] [--eval-docs N] [--doc-tokens T]`
 * (docs/longreward.md): writes world judge transcripts (OUT/judge_sft.jsonl: every call kind of the
 * judge on answers of spread quality to longdoc questions, with the ideal outputs the world knows),
 * SFTs the model on them (OUT/sft/final), then scores answers to held-out documents with the trained
 * judge and reports its agreement with the world's gold (OUT/report.json: Spearman per dimension and
 * for the reward, support-label accuracy, best-vs-worst order agreement, failure rate).
 * `--eval-only` skips training and reports on --model itself (e.g. a judge trained before).
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { generateWorldTask, writeJsonl } from '../data/world/index.js';
import { WorldRng } from '../data/world/rng.js';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import { resolveConfig } from '../trainers/base/config.js';
import { loadSftExamples } from '../trainers/sft/sft-data.js';
import { SftTrainer, sftSchema } from '../trainers/sft/sft-trainer.js';
import { JudgeCaller } from '../rewards/longreward/caller.js';
import { LocalJudge } from '../rewards/longreward/judge.js';
import { LongRewardScorer } from '../rewards/longreward/scorer.js';
import { CANDIDATE_KINDS, candidateAnswer, judgeAgreement, judgeItem, judgeTranscripts } from '../rewards/longreward/world-judge.js';
import { commandHelp, field, parseCommand, type CommandSpec } from './args.js';
import { modelDir, outputDir } from './paths.js';

const schema = {
  model: field('path', '', 'the glmkit model folder to train as a judge (with tokenizer)', { required: true, placeholder: 'dir' }),
  out: field('path', '', 'output folder: judge_sft.jsonl, sft/final (the judge), report.json', { required: true, placeholder: 'dir' }),
  docs: field('int', 200, 'world longdoc documents for the transcripts (train split)', { min: 1 }),
  eval_docs: field('int', 20, 'held-out documents for the agreement report (test split)', { min: 1 }),
  answers_per_doc: field('int', 4, `candidate answers per document (of ${CANDIDATE_KINDS.join(', ')})`, { min: 1, max: CANDIDATE_KINDS.length }),
  doc_tokens: field('int', 512, 'target document length in tokens (keep transcripts within --max-seq-length)', { min: 64 }),
  seed: field('int', 0, 'world sampling seed', { min: 0 }),
  world_seed: field('int', 0, 'seed of the world', { min: 0 }),
  faith_chunk_tokens: field('int', 128, 'tokens per faithfulness chunk', { min: 8 }),
  top_k: field('int', 5, 'chunks retrieved per statement', { min: 1 }),
  comp_chunk_tokens: field('int', 4096, 'tokens per completeness chunk', { min: 16 }),
  max_steps: field('int', 300, 'SFT optimizer steps', { min: 1 }),
  learning_rate: field('number', 5e-4, 'SFT peak learning rate', { min: 0 }),
  per_device_train_batch_size: field('int', 8, 'SFT sequences per micro-batch', { min: 1 }),
  max_seq_length: field('int', 2048, 'SFT tokens per transcript (longer ones are dropped and counted)', { min: 2 }),
  eval_only: field('boolean', false, 'skip training: report the agreement of --model as it is'),
  overwrite: field('boolean', false, 'write into an --out folder that already holds files'),
};

const spec: CommandSpec<typeof schema> = {
  name: 'longreward train-judge',
  usage: 'glmkit longreward train-judge --model DIR --out DIR [options]',
  description: "SFT a glmkit model on world judge transcripts (the judge's exact prompt formats, ideal outputs from the\nworld's truth) and report its agreement with the world's gold on held-out documents.",
  schema,
};

export const TRAIN_JUDGE_HELP = commandHelp(spec);

/** Candidate answers to each record; `recordOf[i]` is the record of answer i. */
function candidates(recs: readonly ReturnType<typeof generateWorldTask<'longdoc'>>[number][], perDoc: number, seed: number): { answers: string[]; recordOf: number[] } {
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

export async function trainJudgeCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  const cmd = 'longreward train-judge';
  modelDir(cmd, '--model', v.model, true);
  outputDir(cmd, '--out', v.out, v.overwrite, 'an output folder');
  const tok = loadTokenizer(v.model);
  const countTokens = (s: string) => tok.encode(s).length;
  const chunking = { faithChunkTokens: v.faith_chunk_tokens, compChunkTokens: v.comp_chunk_tokens, topK: v.top_k, countTokens };
  let judgeDir = v.model;
  const summary: Record<string, unknown> = {};
  if (!v.eval_only) {
    const recs = generateWorldTask('longdoc', { n: v.docs, seed: v.seed, worldSeed: v.world_seed, docTokens: v.doc_tokens, split: 'train', countTokens });
    const { answers, recordOf } = candidates(recs, v.answers_per_doc, v.seed);
    const chats = [];
    for (const [i, r] of recs.entries()) chats.push(...(await judgeTranscripts(r, answers.filter((_, j) => recordOf[j] === i), chunking)));
    const data = join(v.out, 'judge_sft.jsonl');
    await writeJsonl(data, chats);
    const cfg = resolveConfig(sftSchema, { values: { model: v.model, data, out: join(v.out, 'sft'), max_steps: v.max_steps, learning_rate: v.learning_rate, per_device_train_batch_size: v.per_device_train_batch_size, max_seq_length: v.max_seq_length, seed: v.seed, quiet: true } });
    const { examples, dropped } = loadSftExamples(data, tok, v.max_seq_length);
    if (examples.length === 0) throw new UsageError(`${cmd}: every transcript is longer than --max-seq-length ${v.max_seq_length}; lower --doc-tokens or raise --max-seq-length`);
    process.stderr.write(`${cmd}: ${chats.length} transcripts from ${recs.length} documents${dropped ? `, ${dropped} dropped as longer than ${v.max_seq_length} tokens` : ''}; training\n`);
    const r = await new SftTrainer(cfg, loadCausalLM(v.model), tok, examples, null).train();
    judgeDir = join(r.out, 'final');
    Object.assign(summary, { transcripts: chats.length, dropped_long: dropped, steps: r.steps, loss: r.finalLoss, judge: judgeDir });
  }
  const held = generateWorldTask('longdoc', { n: v.eval_docs, seed: v.seed + 1, worldSeed: v.world_seed, docTokens: v.doc_tokens, split: 'test', countTokens });
  const { answers, recordOf } = candidates(held, v.answers_per_doc, v.seed + 1);
  const judge = LocalJudge.fromDir(judgeDir);
  const scorer = new LongRewardScorer(new JudgeCaller(judge, { cacheDir: join(v.out, 'judge-cache') }), null, chunking);
  const scores = await scorer.score(answers.map((a, i) => judgeItem(held[recordOf[i]], a)));
  const report = { ...summary, agreement: judgeAgreement(held, answers, recordOf, scores), calls: scorer.caller.stats };
  writeFileSync(join(v.out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  console.log(JSON.stringify(report));
  return 0;
}
