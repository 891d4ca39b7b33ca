/**
 * `glmkit longreward score|train-judge` (docs/longreward.md):
 *   score       --policy DIR --prompts F --k 5 (--judge DIR | --judge-url URL --judge-model NAME) --out pairs.jsonl
 *               sample K answers per prompt, score them on the four LongReward dimensions, write best vs
 *               worst in TRL preference format (sub-scores and rationale in extra fields);
 *   train-judge --model DIR --out DIR [--docs N] [--eval-docs N]
 *               SFT a glmkit model on world judge transcripts, then report its agreement with the world's gold.
 * The judge's calls are cached under --cache (default: beside --out), so reruns cost nothing.
 */
import { writeFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { HttpSentenceEncoder, isHttpUrl } from '../embed/http-encoder.js';
import type { SentenceEmbedder } from '../embed/encoder.js';
import { loadEncoder } from '../embed/st-layout.js';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import { JudgeCaller, RETRY_TEMPERATURES } from '../rewards/longreward/caller.js';
import { ChunkRetriever } from '../rewards/longreward/chunks.js';
import { HttpJudge, LocalJudge, type Judge } from '../rewards/longreward/judge.js';
import { loadScorePrompts, scorePairs } from '../rewards/longreward/pairs.js';
import { LongRewardScorer } from '../rewards/longreward/scorer.js';
import { choice, field, parseCommand, type CommandSpec } from './args.js';
import { inputFile, modelDir, outputFile } from './paths.js';

/** The judge, retrieval and calling flags both subcommands share. */
export const judgeSchema = {
  judge: field('path', '', 'a glmkit model folder run in-process as the judge (or use --judge-url)', { placeholder: 'dir' }),
  judge_url: field('string', '', 'an OpenAI-compatible endpoint (…/v1) whose chat completions judge (vLLM, SGLang, llama.cpp, glmkit serve)', { placeholder: 'url' }),
  judge_model: field<string | null>('string', null, 'with --judge-url: the model name sent in each request', { nullable: true, placeholder: 'name' }),
  judge_api_key_env: field<string | null>('string', null, 'with --judge-url: the environment variable holding the API key', { nullable: true, placeholder: 'var' }),
  judge_thinking: choice(['default', 'on', 'off'], 'default', 'thinking mode of the judge: local default off; URL default sends nothing (on/off send chat_template_kwargs.enable_thinking)'),
  judge_concurrency: field('int', 8, 'URL judge: requests in flight at once', { min: 1 }),
  judge_timeout_s: field('number', 120, 'URL judge: seconds per request', { min: 0.001 }),
  judge_batch_size: field('int', 8, 'local judge: sequences per generation batch', { min: 1 }),
  judge_attempts: field('int', RETRY_TEMPERATURES.length, `tries per judge call on unparsable output (temperatures ${RETRY_TEMPERATURES.join(', ')})`, { min: 1, max: RETRY_TEMPERATURES.length }),
  cache: field('path', '', 'folder of the judge-call cache (default: <out>.judge-cache)'),
  encoder: field('path', '', 'faithfulness retrieval by embeddings: an encoder folder (glmkit embed train) or a /v1/embeddings URL; default BM25'),
  encoder_model: field<string | null>('string', null, 'with a URL --encoder: the model name', { nullable: true }),
  faith_chunk_tokens: field('int', 128, 'tokens per faithfulness chunk', { min: 8 }),
  top_k: field('int', 5, 'chunks retrieved per statement', { min: 1 }),
  comp_chunk_tokens: field('int', 4096, 'tokens per completeness chunk', { min: 16 }),
  rating_tokens: field('int', 256, 'judge tokens per rating answer (helpfulness, logicality, coverage)', { min: 1 }),
  list_tokens: field('int', 384, 'judge tokens per list answer (statements, extracted information)', { min: 1 }),
  support_tokens: field('int', 64, 'judge tokens per support judgment', { min: 1 }),
  info_tokens: field('int', 0, 'most tokens of extracted information a coverage rating sees: beyond it the items least relevant to the question are left out (0 = no bound; a local judge always cuts to its context)', { min: 0 }),
};

type JudgeValues = { [K in keyof typeof judgeSchema]: (typeof judgeSchema)[K]['default'] };

/** The judge of the flags (a UsageError when both or neither kind is given). */
export function openJudge(cmd: string, v: JudgeValues): Judge {
  const thinking = v.judge_thinking === 'default' ? undefined : v.judge_thinking === 'on';
  if ((v.judge === '') === (v.judge_url === '')) throw new UsageError(`${cmd}: give the judge as --judge DIR (a glmkit model folder) or --judge-url URL --judge-model NAME, not ${v.judge === '' ? 'neither' : 'both'}`);
  if (v.judge !== '') {
    modelDir(cmd, '--judge', v.judge, true);
    return LocalJudge.fromDir(v.judge, { batchSize: v.judge_batch_size, thinking: thinking ?? false });
  }
  if (!isHttpUrl(v.judge_url)) throw new UsageError(`${cmd}: --judge-url: expected an http(s) URL like http://127.0.0.1:8000/v1, got "${v.judge_url}"`);
  if (v.judge_model === null) throw new UsageError(`${cmd}: --judge-url needs --judge-model NAME (the model name the endpoint serves, as GET /v1/models lists)`);
  let apiKey: string | null = null;
  if (v.judge_api_key_env !== null) {
    apiKey = process.env[v.judge_api_key_env] ?? null;
    if (!apiKey) throw new UsageError(`${cmd}: --judge-api-key-env names ${v.judge_api_key_env}, which is not set or empty; export it or drop the flag`);
  }
  return new HttpJudge(v.judge_url, { model: v.judge_model, apiKey, concurrency: v.judge_concurrency, timeoutMs: v.judge_timeout_s * 1000, enableThinking: thinking });
}

/** The scorer of the flags: judge, cache, retrieval. */
export function openScorer(cmd: string, v: JudgeValues, defaultCache: string): LongRewardScorer {
  const judge = openJudge(cmd, v);
  let embedder: SentenceEmbedder | null = null;
  if (v.encoder !== '') {
    if (isHttpUrl(v.encoder)) {
      if (v.encoder_model === null) throw new UsageError(`${cmd}: --encoder is a URL, so --encoder-model NAME is required`);
      embedder = new HttpSentenceEncoder(v.encoder, { model: v.encoder_model });
    } else {
      modelDir(cmd, '--encoder', v.encoder, true);
      embedder = loadEncoder(v.encoder);
    }
  }
  const caller = new JudgeCaller(judge, { cacheDir: v.cache || defaultCache, maxAttempts: v.judge_attempts });
  return new LongRewardScorer(caller, new ChunkRetriever(embedder), { faithChunkTokens: v.faith_chunk_tokens, topK: v.top_k, compChunkTokens: v.comp_chunk_tokens, ratingTokens: v.rating_tokens, listTokens: v.list_tokens, supportTokens: v.support_tokens, ...(v.info_tokens > 0 ? { infoTokens: v.info_tokens } : {}) });
}

const scoreSchema = {
  policy: field('path', '', 'the policy model folder (with tokenizer)', { required: true, placeholder: 'dir' }),
  prompts: field('path', '', 'JSONL prompts: world longdoc records, or {"context", "question", "prompt"?}', { required: true, placeholder: 'file' }),
  out: field('path', '', 'output JSONL of preference pairs', { required: true, placeholder: 'file' }),
  k: field('int', 5, 'answers sampled per prompt', { min: 1 }),
  min_scored: field('int', 5, 'drop prompts with fewer fully scored answers', { min: 2 }),
  min_margin: field('number', 0, 'drop prompts whose best and worst judge rewards (0-10) differ by less (ties are always dropped)', { min: 0 }),
  max_new_tokens: field('int', 256, 'tokens per answer', { min: 1 }),
  temperature: field('number', 1, 'policy sampling temperature', { min: 0 }),
  seed: field('int', 0, 'sampling seed', { min: 0 }),
  scores_out: field('path', '', 'also write every scored answer (JSONL) here'),
  limit: field<number | null>('int', null, 'use the first N prompts', { nullable: true, min: 1 }),
  overwrite: field('boolean', false, 'replace an existing --out file'),
  ...judgeSchema,
};

const scoreSpec: CommandSpec<typeof scoreSchema> = {
  name: 'longreward score',
  usage: 'glmkit longreward score --policy DIR --prompts F --k 5 (--judge DIR | --judge-url URL --judge-model NAME) --out pairs.jsonl [options]',
  description: 'Sample K answers per prompt, score them with the LongReward judge (helpfulness, logicality, faithfulness,\ncompleteness; reward = mean), write best vs worst as TRL preference pairs.',
  schema: scoreSchema,
};

export async function longrewardScoreCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(scoreSpec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  const cmd = 'longreward score';
  modelDir(cmd, '--policy', v.policy, true);
  inputFile(cmd, '--prompts', v.prompts, 'a JSONL file of prompts');
  if (v.min_scored > v.k) throw new UsageError(`${cmd}: --min-scored ${v.min_scored} exceeds --k ${v.k}; every prompt would be dropped`);
  outputFile(cmd, '--out', v.out, v.overwrite, 'a JSONL file');
  if (v.scores_out) outputFile(cmd, '--scores-out', v.scores_out, v.overwrite, 'a JSONL file');
  const scorer = openScorer(cmd, v, `${v.out}.judge-cache`);
  let prompts = loadScorePrompts(v.prompts);
  if (v.limit !== null) prompts = prompts.slice(0, v.limit);
  writeFileSync(v.out, '');
  if (v.scores_out) writeFileSync(v.scores_out, '');
  const policy = loadCausalLM(v.policy).eval(), tok = loadTokenizer(v.policy);
  const summary = await scorePairs(policy, tok, scorer, prompts, {
    k: v.k, minScored: v.min_scored, minMargin: v.min_margin, maxNewTokens: v.max_new_tokens, temperature: v.temperature, seed: v.seed, out: v.out, scoresOut: v.scores_out || null, log: (l) => process.stderr.write(l + '\n'),
  });
  console.log(JSON.stringify({ ...summary, judge: scorer.caller.judge.source, retrieval: scorer.retriever.method, calls: scorer.caller.stats, out: v.out }));
  return 0;
}

export const LONGREWARD_HELP = [
  'usage: glmkit longreward score|train-judge [options]',
  '',
  '  score        sample K answers per prompt, score them with the judge, write best-vs-worst preference pairs',
  '  train-judge  SFT a glmkit model on world judge transcripts; report its agreement with the world\'s gold',
  '',
  'See glmkit longreward score --help and glmkit longreward train-judge --help.',
].join('\n');

/** Runs `glmkit longreward ...`. */
export async function longrewardCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '-h' || sub === '--help') {
    console.log(LONGREWARD_HELP);
    return 0;
  }
  if (sub === 'score') return longrewardScoreCommand(rest);
  if (sub === 'train-judge') return (await import('./longreward-train.js')).trainJudgeCommand(rest);
  throw new UsageError(`longreward: expected the subcommand score or train-judge, got ${sub === undefined ? 'nothing' : `'${sub}'`}; see glmkit longreward --help`);
}

