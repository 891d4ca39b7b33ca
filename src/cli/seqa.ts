/**
 * `glmkit seqa --generator DIR --encoder DIR|URL --data mcq.jsonl --out DIR`: SEQA (semantic voting)
 * and the three LM-scoring baselines on multiple-choice questions {"prefix", "choices", "answer"}
 * (the world's mcq records have them). With --synonym-swap each question is also answered with its
 * choices rewritten by the world's paraphrases (the robustness attack), reusing its voters. Writes OUT/questions.jsonl (per question: every method's
 * scores and prediction, and the voters) and OUT/summary.json (accuracy per method); prints the summary.
 * An http(s) --encoder is an OpenAI-compatible /v1/embeddings endpoint (src/embed/http-encoder.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, UsageError } from '../errors.js';
import { readJsonl } from '../data/jsonl.js';
import { questionPrefix } from '../eval/seqa-prefix.js';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import { loadEncoder } from '../embed/st-layout.js';
import type { SentenceEmbedder } from '../embed/encoder.js';
import { HttpSentenceEncoder, isHttpUrl } from '../embed/http-encoder.js';
import { synonymOf } from '../data/world/lexicon.js';
import { EMBED_CONTEXTS, SEQA_METHODS, seqaQuestion, VOTER_CUTS, type SeqaQuestion } from '../eval/seqa.js';
import { choice, field, parseCommand } from './args.js';
import { inputFile, modelDir, outputDir } from './paths.js';

const spec = {
  name: 'seqa',
  usage: 'glmkit seqa --generator DIR --encoder DIR|URL --data mcq.jsonl --out DIR [options]',
  description: 'SEQA: N voters sampled after each question\'s declarative prefix, embedded with the encoder;\nscore(choice) = mean_j exp(cos(choice, voter_j) / T). Compared with LM scoring (sum, mean, PMI).',
  schema: {
    generator: field('path', '', 'the generator (a causal LM folder with tokenizer)', { required: true, placeholder: 'dir' }),
    encoder: field('path', '', 'the sentence-encoder folder (glmkit embed train), or an http(s) URL of an OpenAI-compatible /v1/embeddings endpoint', { required: true, placeholder: 'dir|url' }),
    encoder_model: field<string | null>('string', null, 'URL encoder (required with a URL): the model name sent in each request', { nullable: true, placeholder: 'name' }),
    encoder_api_key_env: field<string | null>('string', null, 'URL encoder: the environment variable holding the API key (sent as a Bearer token)', { nullable: true, placeholder: 'var' }),
    encoder_batch_size: field('int', 64, 'URL encoder: texts per request', { min: 1, max: 2048 }),
    encoder_timeout_s: field('number', 60, 'URL encoder: seconds per request before giving up', { min: 0.001 }),
    data: field('path', '', 'questions, JSONL {"prefix", "choices", "answer"} (or {"premise", "question": "cause"|"effect"} / {"context", "question"} rewritten to a prefix)', { required: true, placeholder: 'file' }),
    out: field('path', '', 'output folder: questions.jsonl, summary.json', { required: true, placeholder: 'dir' }),
    voters: field('int', 100, 'voters sampled per question', { min: 1 }),
    temperature: field('number', 0.1, 'T of exp(cos / T)', { min: 1e-4 }),
    max_voter_tokens: field('int', 24, 'tokens per voter at most (cut at the first sentence end)', { min: 1 }),
    top_p: field('number', 0.9, 'nucleus of voter sampling (temperature 1)', { min: 0.01, max: 1 }),
    seed: field('int', 0, 'sampling seed', { min: 0 }),
    pmi_prefix: field('string', 'Answer:', 'the neutral prefix of the PMI baseline'),
    voter_cut: choice(VOTER_CUTS, 'clause', 'a voter ends at its first clause end (, ; : . ! ?) or its first sentence end (the paper)'),
    embed_context: choice(EMBED_CONTEXTS, 'prefixed', 'embed choices and voters after the prefix, as statements, or alone (bare, the paper)'),
    synonym_swap: field('boolean', false, 'also answer each question with its choices rewritten by synonyms (same voters) and report every method\'s accuracy drop'),
    limit: field<number | null>('int', null, 'use the first N questions', { nullable: true, min: 1 }),
    overwrite: field('boolean', false, 'write into an --out folder that already holds files'),
  },
};

/**
 * The questions of a JSONL file, each checked (file, line and field named on error); a record without
 * a "prefix" gets one from the rewrite templates (COPA premise + cause/effect, social questions).
 */
export function loadQuestions(file: string): SeqaQuestion[] {
  return readJsonl(file).map((rec) => {
    const where = { file, line: rec.line };
    const prefix = questionPrefix(rec.value, where);
    const choices = rec.value.choices;
    if (!Array.isArray(choices) || choices.length < 2 || choices.some((c) => typeof c !== 'string' || c.trim() === '')) {
      throw new DataError('expected an array of at least 2 non-empty strings', { ...where, field: 'choices' });
    }
    const answer = rec.value.answer;
    if (typeof answer !== 'number' || !Number.isInteger(answer) || answer < 0 || answer >= choices.length) {
      throw new DataError(`expected an index into choices (0..${choices.length - 1}), got ${JSON.stringify(answer)}`, { ...where, field: 'answer' });
    }
    return { prefix, choices: choices as string[], answer };
  });
}

/** The local encoder folder, or the HTTP endpoint with its model, key, batch size and timeout. */
function openEncoder(v: { encoder: string; encoder_model: string | null; encoder_api_key_env: string | null; encoder_batch_size: number; encoder_timeout_s: number }): SentenceEmbedder {
  if (!isHttpUrl(v.encoder)) return loadEncoder(v.encoder);
  let apiKey: string | null = null;
  if (v.encoder_api_key_env !== null) {
    apiKey = process.env[v.encoder_api_key_env] ?? null;
    if (!apiKey) throw new UsageError(`seqa: --encoder-api-key-env names ${v.encoder_api_key_env}, which is not set or empty; export it or drop the flag`);
  }
  return new HttpSentenceEncoder(v.encoder, { model: v.encoder_model!, apiKey, batchSize: v.encoder_batch_size, timeoutMs: v.encoder_timeout_s * 1000 });
}

export async function seqaCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  modelDir('seqa', '--generator', v.generator, true);
  if (!isHttpUrl(v.encoder)) modelDir('seqa', '--encoder', v.encoder, true);
  else if (v.encoder_model === null) throw new UsageError('seqa: --encoder is a URL, so --encoder-model NAME is required (the model name the endpoint serves, e.g. what GET /v1/models lists)');
  inputFile('seqa', '--data', v.data, 'a JSONL file');
  outputDir('seqa', '--out', v.out, v.overwrite, 'an output folder');
  let questions = loadQuestions(v.data);
  if (v.limit !== null) questions = questions.slice(0, v.limit);
  const lm = loadCausalLM(v.generator), tok = loadTokenizer(v.generator);
  const enc = openEncoder(v);
  const opts = { voters: v.voters, temperature: v.temperature, maxVoterTokens: v.max_voter_tokens, topP: v.top_p, seed: v.seed, pmiPrefix: v.pmi_prefix, voterCut: v.voter_cut, embedContext: v.embed_context };
  mkdirSync(v.out, { recursive: true });
  const correct = Object.fromEntries(SEQA_METHODS.map((m) => [m, 0])) as Record<string, number>;
  const correctSwap = { ...correct };
  let lines = '';
  for (const [i, q] of questions.entries()) {
    const r = await seqaQuestion(lm, tok, enc, q, { ...opts, seed: v.seed + i });
    for (const m of SEQA_METHODS) correct[m] += Number(r.predictions[m] === q.answer);
    const row: Record<string, unknown> = { index: i, answer: q.answer, predictions: r.predictions, scores: r.scores, voters: r.voters };
    if (v.synonym_swap) {
      const swapped = { ...q, choices: q.choices.map(synonymOf) };
      const s = await seqaQuestion(lm, tok, enc, swapped, opts, r.voters);
      for (const m of SEQA_METHODS) correctSwap[m] += Number(s.predictions[m] === q.answer);
      Object.assign(row, { swapped_choices: swapped.choices, swapped_predictions: s.predictions, swapped_scores: s.scores });
    }
    lines += JSON.stringify(row) + '\n';
  }
  writeFileSync(join(v.out, 'questions.jsonl'), lines);
  const n = questions.length;
  const acc = (c: Record<string, number>) => Object.fromEntries(SEQA_METHODS.map((m) => [m, c[m] / n]));
  const summary: Record<string, unknown> = { n, accuracy: acc(correct) };
  if (v.synonym_swap) {
    summary.accuracy_synonym_swap = acc(correctSwap);
    summary.accuracy_drop = Object.fromEntries(SEQA_METHODS.map((m) => [m, (correct[m] - correctSwap[m]) / n]));
  }
  summary.options = { ...opts, encoder: enc.source };
  writeFileSync(join(v.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  console.log(JSON.stringify(summary));
  return 0;
}
