/**
 * seqa (SEQA, "Semantic voting for unsupervised multiple-choice QA"): answering by semantic support
 * among sampled continuations is more accurate than scoring the choices with the LM, and loses less
 * when the choices are rewritten with synonyms.
 * The generator (and the LM of the three scorings) is the base recipe's pre-trained model: SEQA
 * continues a plain-text prefix, which the SFT chat model does not do (docs/embeddings.md "Why SEQA
 * scored low"). The sentence encoder is trained from the same model on the world's paraphrase
 * triples (`glmkit embed train`'s trainer; its held-out STS Spearman is reported).
 * On the TEST half (validationTestSplit) of world multiple-choice questions (the mcq task, seed 830;
 * never trained on as questions; the voter cut and the embedding context were chosen on the
 * validation half with scripts/seqa-validation.ts), per question: SEQA with N voters (the
 * first N of one batch of the largest N, so the voter-count curve shares its samples) and the three
 * LM scorings (sum, mean, PMI), on the original choices and on their synonym-swapped rewrite
 * (the same voters). Claims, paired bootstrap over questions:
 *   1. accuracy(SEQA at the largest N) - accuracy(each LM scoring) > 0;
 *   2. drop(SEQA) - drop(LM sum) < 0, drop = accuracy on the original - on the swapped choices.
 */
import { mkdirSync } from 'node:fs';
import { ConfigError } from '../../errors.js';
import { join } from 'node:path';
import { generateWorldTask, synonymOf, writeJsonl } from '../../data/world/index.js';
import { loadCausalLM } from '../../models/glm/checkpoint.js';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import { resolveConfig } from '../../trainers/base/config.js';
import { EmbedTrainer, embedSchema } from '../../trainers/embed/embed-trainer.js';
import { evaluateSts, loadStsPairs, loadTriples } from '../../embed/data.js';
import { loadEncoder } from '../../embed/st-layout.js';
import { argmax, embedTexts, lmScores, sampleVoters, semanticScores, type EmbedContext, type SeqaQuestion, type VoterCut } from '../../eval/seqa.js';
import { validationTestSplit } from '../../eval/splits.js';
import { bootstrapMean, pairedBootstrap, verdictOf } from '../stats.js';
import { barChart } from '../../report/svg.js';
import type { Comparison, Experiment, ExperimentContext, ScoreRow } from '../types.js';

interface Settings extends Record<string, unknown> {
  encoder_steps: number;
  encoder_batch: number;
  encoder_learning_rate: number;
  train_triples: number;
  sts_pairs: number;
  questions: number;
  voter_counts: number[];
  max_voter_tokens: number;
  temperature: number;
  voter_cut: VoterCut;
  embed_context: EmbedContext;
  resamples: number;
}

const LM_METHODS = ['lm_sum', 'lm_mean', 'lm_pmi'] as const;

/**
 * The first n questions of the test half of the world's mcq questions (seed 830, deduplicated); the
 * validation half is where SEQA's settings were chosen (scripts/seqa-validation.ts).
 */
export function testQuestions(n: number): SeqaQuestion[] {
  const unique = (generateWorldTask('mcq', { n: 8 * n, seed: 830 }) as SeqaQuestion[])
    .filter((q, i, all) => all.findIndex((o) => o.prefix === q.prefix && o.choices.join() === q.choices.join()) === i);
  const test = validationTestSplit(unique, (q) => [q.prefix, q.choices]).test;
  if (test.length < n) throw new ConfigError(`seqa: only ${test.length} distinct test-half questions from ${8 * n} draws; ask for fewer questions`);
  return test.slice(0, n);
}

export const seqa: Experiment = {
  name: 'seqa',
  paper: 'SEQA: Semantic voting for unsupervised multiple-choice question answering',
  claim: 'Semantic voting over sampled answers is more accurate than LM scoring of the choices and loses less accuracy when the choices are rewritten with synonyms.',
  minutes: { alone: 30, withBase: 25 },
  needs: 'pretrain',
  settings(quick) {
    return quick
      ? { encoder_steps: 2, encoder_batch: 8, encoder_learning_rate: 1e-3, train_triples: 64, sts_pairs: 20, questions: 4, voter_counts: [2, 4], max_voter_tokens: 8, temperature: 0.1, voter_cut: 'clause', embed_context: 'prefixed', resamples: 2000 }
      : { encoder_steps: 800, encoder_batch: 32, encoder_learning_rate: 1e-3, train_triples: 8000, sts_pairs: 500, questions: 200, voter_counts: [5, 20, 100, 500], max_voter_tokens: 16, temperature: 0.1, voter_cut: 'clause', embed_context: 'prefixed', resamples: 2000 };
  },
  async run(ctx: ExperimentContext, raw) {
    const S = raw as Settings;
    const base = await ctx.base();
    const dataDir = join(ctx.out, 'data');
    mkdirSync(dataDir, { recursive: true });
    const triplesFile = join(dataDir, 'pairs.jsonl'), stsFile = join(dataDir, 'sts_test.jsonl');
    await writeJsonl(triplesFile, generateWorldTask('pairs', { n: S.train_triples, seed: 1, split: 'train' }));
    await writeJsonl(stsFile, generateWorldTask('sts', { n: S.sts_pairs, seed: 2, split: 'test' }));
    const encoder = await ctx.arm('encoder', { base: base.dir, from: 'pretrain', steps: S.encoder_steps, batch: S.encoder_batch, learning_rate: S.encoder_learning_rate, triples: S.train_triples }, async (dir) => {
      const cfg = resolveConfig(embedSchema, { object: { model: base.pretrainDir, data: triplesFile, out: join(dir, 'train'), max_steps: S.encoder_steps, per_device_train_batch_size: S.encoder_batch, learning_rate: S.encoder_learning_rate, warmup_steps: Math.min(30, S.encoder_steps), save_steps: 0, logging_steps: 10, quiet: true }, objectSource: 'seqa' });
      const trainer = new EmbedTrainer(cfg, loadCausalLM(base.pretrainDir), loadTokenizer(base.pretrainDir), loadTriples(triplesFile), null);
      await trainer.train();
      const sts = evaluateSts(trainer.encoder, loadStsPairs(stsFile));
      return { metrics: { sts_spearman: sts.spearman, sts_pearson: sts.pearson, dir: join(dir, 'train', 'final') }, scores: [] };
    });
    const questions = testQuestions(S.questions);
    const maxN = Math.max(...S.voter_counts);
    const answers = await ctx.arm('answers', { base: base.dir, generator: 'pretrain', split: 'test', encoder: encoder.metrics, questions: questions.length, voter_counts: S.voter_counts, max_voter_tokens: S.max_voter_tokens, temperature: S.temperature, voter_cut: S.voter_cut, embed_context: S.embed_context }, async () => {
      const lm = loadCausalLM(base.pretrainDir), tok = loadTokenizer(base.pretrainDir);
      const enc = loadEncoder(encoder.metrics.dir as string);
      const rows: ScoreRow[] = questions.map((q, i) => {
        const voters = sampleVoters(lm, tok, q.prefix, { voters: maxN, maxVoterTokens: S.max_voter_tokens, topP: 0.9, seed: 1000 + i, voterCut: S.voter_cut });
        const vv = voters.length > 0 ? enc.embed(embedTexts(q.prefix, voters, S.embed_context)) : [];
        const row: ScoreRow = { question: i, voters: voters.length };
        for (const [tag, choices] of [['', q.choices], ['swap_', q.choices.map(synonymOf)]] as const) {
          const cv = enc.embed(embedTexts(q.prefix, choices, S.embed_context));
          for (const n of S.voter_counts) row[`${tag}seqa_${n}`] = Number(argmax(semanticScores(cv, vv.slice(0, n), S.temperature)) === q.answer);
          const lmS = lmScores(lm, tok, { ...q, choices: [...choices] }, 'Answer:');
          for (const m of LM_METHODS) row[`${tag}${m}`] = Number(argmax(lmS[m]) === q.answer);
        }
        return row;
      });
      const acc = (k: string) => rows.reduce((s, r) => s + (r[k] as number), 0) / rows.length;
      const keys = Object.keys(rows[0] ?? {}).filter((k) => k !== 'question' && k !== 'voters');
      return { metrics: Object.fromEntries(keys.map((k) => [k, acc(k)])), scores: rows };
    });
    const col = (k: string) => answers.scores.map((r) => r[k] as number);
    const seqaKey = `seqa_${maxN}`;
    const comparisons: Comparison[] = [];
    for (const m of LM_METHODS) {
      const r = pairedBootstrap(col(seqaKey), col(m), { resamples: S.resamples, seed: 0 });
      comparisons.push({ metric: 'accuracy on world questions', a: `SEQA (N=${maxN})`, b: m, diff: r.estimate, ci95: r.ci, n: r.n, claim: 'greater', margin: 0, method: 'paired bootstrap over prompts', verdict: verdictOf(r.ci, 'greater'), decides: true });
    }
    const drop = (k: string) => col(k).map((v, i) => v - col(`swap_${k}`)[i]);
    const d = pairedBootstrap(drop(seqaKey), drop('lm_sum'), { resamples: S.resamples, seed: 0 });
    comparisons.push({ metric: 'accuracy drop under synonym swap', a: `SEQA (N=${maxN})`, b: 'lm_sum', diff: d.estimate, ci95: d.ci, n: d.n, claim: 'less', margin: 0, method: 'paired bootstrap over prompts', verdict: verdictOf(d.ci, 'less'), decides: true });
    const bar = (k: string, label: string) => ({ label, value: bootstrapMean(col(k), { resamples: S.resamples }).estimate, ci: bootstrapMean(col(k), { resamples: S.resamples }).ci });
    return {
      settings: S,
      arms: { encoder: encoder.metrics, answers: answers.metrics },
      comparisons,
      plots: [
        { file: 'accuracy.svg', caption: 'Accuracy on world questions, original choices (95% bootstrap CIs over questions)', svg: barChart({ title: 'SEQA vs LM scoring', yLabel: 'accuracy', bars: [bar(seqaKey, `SEQA N=${maxN}`), ...LM_METHODS.map((m) => bar(m, m))] }) },
        { file: 'voters.svg', caption: 'SEQA accuracy by number of voters (the first N of one sample)', svg: barChart({ title: 'SEQA voter-count curve', yLabel: 'accuracy', bars: S.voter_counts.map((n) => bar(`seqa_${n}`, `N=${n}`)) }) },
      ],
      notes: [
        `Generator and LM scorer: the pre-trained model. Voters cut at the first ${S.voter_cut} end; choices and voters embedded ${S.embed_context === 'prefixed' ? 'after the prefix' : 'alone'} (chosen on the validation half; these are test-half questions).`,
        `Encoder trained ${S.encoder_steps} steps from the pre-trained model on ${S.train_triples} world triples; held-out STS Spearman ${(encoder.metrics.sts_spearman as number).toFixed(3)}.`,
        `${questions.length} questions; ${LM_METHODS.map((m) => `${m} ${(answers.metrics[m] as number).toFixed(3)} (swapped ${(answers.metrics[`swap_${m}`] as number).toFixed(3)})`).join(', ')}; SEQA ${S.voter_counts.map((n) => `N=${n} ${(answers.metrics[`seqa_${n}`] as number).toFixed(3)}`).join(', ')} (swapped N=${maxN} ${(answers.metrics[`swap_${seqaKey}`] as number).toFixed(3)}).`,
        'Voters are sampled as one batch per question after one prefill of the prefix (its KV cache copied into the N rows).',
      ],
    };
  },
};
