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
import { trainWorldJudge } from '../rewards/longreward/train-judge.js';
import { CANDIDATE_KINDS } from '../rewards/longreward/world-judge.js';
import { field, parseCommand, type CommandSpec } from './args.js';
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
  rating_tokens: field('int', 24, 'judge tokens per rating answer in the report', { min: 1 }),
  list_tokens: field('int', 64, 'judge tokens per list answer in the report', { min: 1 }),
  support_tokens: field('int', 64, 'judge tokens per support judgment in the report (the entry the context gives and the label; at least the tokens of "[[Partially supported]]" + 1)', { min: 1 }),
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

export async function trainJudgeCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  const cmd = 'longreward train-judge';
  modelDir(cmd, '--model', v.model, true);
  outputDir(cmd, '--out', v.out, v.overwrite, 'an output folder');
  const report = await trainWorldJudge({
    model: v.model, out: v.out, docs: v.docs, evalDocs: v.eval_docs, answersPerDoc: v.answers_per_doc, docTokens: v.doc_tokens, seed: v.seed, worldSeed: v.world_seed,
    chunking: { faithChunkTokens: v.faith_chunk_tokens, compChunkTokens: v.comp_chunk_tokens, topK: v.top_k },
    budgets: { ratingTokens: v.rating_tokens, listTokens: v.list_tokens, supportTokens: v.support_tokens },
    sft: v.eval_only ? null : { maxSteps: v.max_steps, learningRate: v.learning_rate, batchSize: v.per_device_train_batch_size, maxSeqLength: v.max_seq_length },
    log: (l) => process.stderr.write(`${cmd}: ${l}\n`),
  });
  writeFileSync(join(v.out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  console.log(JSON.stringify(report));
  return 0;
}
