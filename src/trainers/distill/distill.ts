/**
 * Expert iteration with self-distillation (GLM-4.5's post-training): domain experts from one base,
 * then one student fine-tuned on what they generate, filtered.
 *
 *   for round r = 1..R:
 *     experts: given folders, or trained from the current base (experts.ts)
 *     each expert samples K responses on its domain's training prompts (thinking mode, tools on)
 *     rejection filter (filters.ts): verifier right / reward-model score above the quantile, well
 *       formed, deduplicated
 *     hybrid rule (hybrid.ts): a verifiable prompt the base already answers directly at least
 *       `direct_threshold` of the time is stored in direct mode (no reasoning)
 *     the student = SFT of the base on the union, mixed by per-domain weights; it is the next base
 *   report: every expert on its own domain's test prompts, the base and the student on every domain
 *
 * Outputs under OUT: round<r>/experts/<domain>/final, round<r>/distill.jsonl (TRL `messages`, with
 * `reasoning_content` where kept and `enable_thinking`), round<r>/student/final, summary.json.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonl } from '../../data/world/index.js';
import { ConfigError } from '../../errors.js';
import { loadCausalLM } from '../../models/glm/checkpoint.js';
import type { GlmForCausalLM } from '../../models/glm/model.js';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { Rng } from '../../util/rng.js';
import { choice, field, resolveConfig, type Values } from '../base/config.js';
import { baseSchema } from '../base/schema.js';
import { rolloutBatch, type RolloutOptions } from '../grpo/rollout.js';
import { GrpoTrainer } from '../grpo/grpo-trainer.js';
import type { RlPrompt } from '../grpo/grpo-data.js';
import { DEFAULT_TOOLS } from '../grpo/tools.js';
import { scoreResponses } from '../reward/reward-trainer.js';
import { SftTrainer, sftSchema } from '../sft/sft-trainer.js';
import { loadSftExamples } from '../sft/sft-data.js';
import { chatGold, domainPrompts, isVerifiable, parseDomains, type Domain, type DomainPrompts } from './domains.js';
import { loadRewardModelDir, trainExpert } from './experts.js';
import { rejectionFilter, type DistillSample, type FilterStats } from './filters.js';
import { chooseMode, sftRecord, type HybridRule } from './hybrid.js';

export const distillSchema = {
  base: field('path', '', 'the SFT model the experts start from and the student is fine-tuned from (round 1)'),
  out: field('path', '', 'output folder (rounds, experts, data, student, summary.json)'),
  domains: field('string', 'reasoning,tool,chat', 'comma list of domains: reasoning (arithmetic, verifier), tool (python tool, verifier), chat (world preference prompts, reward model)'),
  expert: field<string | string[]>('string', [], 'DOMAIN=DIR: a finished expert for a domain in round 1 (repeatable); domains without one are trained', { multiple: true }),
  reward_model: field<string | null>('path', null, 'reward model: filters chat samples (and trains the chat expert)', { nullable: true }),
  rounds: field('int', 1, 'rounds of expert training + distillation; the student of a round is the next base', { min: 1 }),
  expert_steps: field('int', 30, 'optimizer steps of each trained expert', { min: 1 }),
  prompts_per_domain: field('int', 64, 'training prompts per domain that the experts sample on', { min: 1 }),
  eval_prompts: field('int', 64, 'held-out test prompts per domain', { min: 1 }),
  samples_per_prompt: field('int', 4, 'K: responses each expert samples per prompt', { min: 1 }),
  temperature: field('number', 0.8, 'sampling temperature of the experts', { min: 0 }),
  max_new_tokens: field('int', 256, 'generated tokens per response (thinking included)', { min: 1 }),
  score_quantile: field('number', 0.5, 'chat: keep samples whose reward-model score is at least this quantile of the domain', { min: 0, max: 1 }),
  min_score: field('number', -1e9, 'chat: and at least this score'),
  direct_threshold: field('number', 0.75, 'store a verifiable example in direct mode when the base answers its prompt directly this often', { min: 0, max: 1 }),
  direct_samples: field('int', 4, 'direct-mode samples of the base per prompt for that estimate (0 = never direct)', { min: 0 }),
  direct_domains: field('string', '', 'domains always stored in direct mode (comma list; e.g. chat)'),
  mix: field('string', '', 'DOMAIN=WEIGHT comma list: share of each domain in the student data (default: as kept)'),
  sft_steps: field('int', 60, "student's SFT steps", { min: 1 }),
  sft_batch: field('int', 16, "student's SFT batch", { min: 1 }),
  sft_learning_rate: field('number', 1e-4, "student's SFT peak learning rate", { min: 0 }),
  max_seq_length: field('int', 512, 'longest distilled example in tokens (longer ones are dropped and counted)', { min: 2 }),
  eval_mode: choice(['thinking', 'direct'], 'thinking', 'the mode every model is scored in'),
  seed: baseSchema.seed,
  quiet: baseSchema.quiet,
};
export type DistillConfig = Values<typeof distillSchema>;

/** `reasoning=DIR` entries of --expert as a map (a ConfigError for a bad entry). */
export function parseExperts(list: readonly string[], domains: readonly Domain[]): Map<Domain, string> {
  const out = new Map<Domain, string>();
  for (const e of list) {
    const m = /^([a-z]+)=(.+)$/.exec(e);
    if (!m || !domains.includes(m[1] as Domain)) throw new ConfigError(`distill: --expert takes DOMAIN=DIR with DOMAIN one of ${domains.join(', ')}, got '${e}'`);
    out.set(m[1] as Domain, m[2]);
  }
  return out;
}

/** `reasoning=2,chat=1` as weights per domain (missing domains: 0 when any is given). */
export function parseMix(list: string, domains: readonly Domain[]): Map<Domain, number> | null {
  if (!list.trim()) return null;
  const out = new Map<Domain, number>(domains.map((d) => [d, 0]));
  for (const e of list.split(',')) {
    const m = /^\s*([a-z]+)\s*=\s*([0-9.]+)\s*$/.exec(e);
    if (!m || !out.has(m[1] as Domain) || !(Number(m[2]) >= 0)) throw new ConfigError(`distill: --mix takes DOMAIN=WEIGHT pairs over ${domains.join(', ')}, got '${e}'`);
    out.set(m[1] as Domain, Number(m[2]));
  }
  return out;
}

/**
 * Per-domain counts of the student data for weights `mix`: the total stays the number kept, split by
 * the weights; a domain is drawn from its kept examples in order, cycling when it needs more.
 */
export function mixRecords<T>(byDomain: Map<Domain, T[]>, mix: Map<Domain, number> | null, rng: Rng): T[] {
  const total = [...byDomain.values()].reduce((a, xs) => a + xs.length, 0);
  if (!mix) return [...byDomain.values()].flat();
  const wsum = [...mix.values()].reduce((a, b) => a + b, 0);
  const out: T[] = [];
  for (const [d, xs] of byDomain) {
    const want = wsum > 0 ? Math.round((total * (mix.get(d) ?? 0)) / wsum) : 0;
    if (xs.length === 0) continue;
    const order = rng.shuffle(xs.map((_, i) => i));
    for (let i = 0; i < want; i++) out.push(xs[order[i % xs.length]]);
  }
  return out;
}

function rolloutOpts(cfg: DistillConfig, samples: number, temperature: number, thinking: boolean, rng: Rng): RolloutOptions {
  return { samplesPerPrompt: samples, temperature, topP: 1, maxNewTokens: cfg.max_new_tokens, forceAnswer: thinking, answerTokens: 32, maxTurns: 3, enableThinking: thinking, tools: DEFAULT_TOOLS, rng };
}

/** K samples of an expert on its domain's prompts, judged for the filter. */
export async function sampleExpert(expert: GlmForCausalLM, tok: Tokenizer, dp: DomainPrompts, cfg: DistillConfig, rm: ((p: RlPrompt[], answers: string[]) => number[]) | null, rng: Rng): Promise<DistillSample[]> {
  const rolls = await rolloutBatch(expert, tok, dp.train, rolloutOpts(cfg, cfg.samples_per_prompt, cfg.temperature, true, rng));
  const scores = dp.domain === 'chat' && rm ? rm(rolls.map((r) => dp.train[r.prompt]), rolls.map((r) => r.parsed.content)) : null;
  return rolls.map((r, i) => {
    const p = dp.train[r.prompt];
    const wellFormed = r.finish === 'stop' && r.parsed.content.trim() !== '' && (dp.domain !== 'tool' || r.toolCalls > 0);
    return {
      domain: dp.domain, prompt: r.prompt, messages: [...p.prompt, ...r.transcript], ...(p.tools ? { tools: p.tools } : {}),
      correct: isVerifiable(dp.domain) ? GrpoTrainer.reward(p, r) === 1 : null,
      score: scores ? scores[i] : null,
      wellFormed,
    };
  });
}

/** Share of `samples` direct-mode answers of `model` that are right, per prompt. */
export async function directRates(model: GlmForCausalLM, tok: Tokenizer, prompts: RlPrompt[], cfg: DistillConfig, rng: Rng): Promise<number[]> {
  const rates = new Array<number>(prompts.length).fill(0);
  if (cfg.direct_samples === 0 || prompts.length === 0) return rates;
  const rolls = await rolloutBatch(model, tok, prompts, rolloutOpts(cfg, cfg.direct_samples, 0.7, false, rng));
  for (const r of rolls) rates[r.prompt] += GrpoTrainer.reward(prompts[r.prompt], r) / cfg.direct_samples;
  return rates;
}

/** Per-prompt score of `model` on a domain's test prompts, greedy: 1/0 by the verifier, or the chat gold reward. */
export async function scoreDomain(model: GlmForCausalLM, tok: Tokenizer, dp: DomainPrompts, cfg: DistillConfig): Promise<number[]> {
  const rolls = await rolloutBatch(model, tok, dp.test, rolloutOpts(cfg, 1, 0, cfg.eval_mode === 'thinking', new Rng(cfg.seed)));
  return rolls.map((r) => (dp.domain === 'chat' ? chatGold(dp.test[r.prompt].prompt, r.parsed.content) : GrpoTrainer.reward(dp.test[r.prompt], r)));
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

export interface RoundResult {
  round: number;
  base: string;
  experts: Record<string, string>;
  filter: FilterStats;
  /** per domain: examples kept, stored in direct mode, and the share in direct mode */
  data: Record<string, { kept: number; direct: number; direct_share: number }>;
  /** the student's folder (the round's base when the filter kept nothing) */
  student: string;
  student_trained: boolean;
  /** mean test score: experts on their own domain; base and student on every domain */
  scores: { experts: Record<string, number>; base: Record<string, number>; student: Record<string, number> };
  /** per-prompt test scores (for paired intervals): model -> domain -> scores */
  perPrompt: Record<string, Record<string, number[]>>;
}

/** Runs all rounds; returns the round results (also written to OUT/summary.json). */
export async function runDistill(cfg: DistillConfig, log: (line: string) => void): Promise<RoundResult[]> {
  const domains = parseDomains(cfg.domains);
  const given = parseExperts(Array.isArray(cfg.expert) ? cfg.expert : cfg.expert ? [cfg.expert] : [], domains);
  const mix = parseMix(cfg.mix, domains);
  const hybrid: HybridRule = { directThreshold: cfg.direct_threshold, directDomains: cfg.direct_domains.split(',').map((s) => s.trim()).filter(Boolean) };
  if (domains.includes('chat') && !cfg.reward_model) throw new ConfigError('distill: the chat domain needs --reward-model DIR (it filters the chat samples)');
  const data = new Map(domains.map((d) => [d, domainPrompts(d, cfg.prompts_per_domain, cfg.eval_prompts, cfg.seed)]));
  const rm = cfg.reward_model ? loadRewardModelDir(cfg.reward_model) : null;
  let base = cfg.base;
  const results: RoundResult[] = [];
  for (let round = 1; round <= cfg.rounds; round++) {
    const dir = join(cfg.out, `round${round}`);
    mkdirSync(dir, { recursive: true });
    const tok = loadTokenizer(base);
    const rmScore = rm ? (ps: RlPrompt[], answers: string[]) => scoreResponses(rm, tok, ps.map((p) => p.prompt), answers.map((a) => ({ role: 'assistant' as const, content: a }))) : null;
    const rng = new Rng(`${cfg.seed}:distill:${round}`);
    // 1. experts
    const experts: Record<string, string> = {};
    for (const d of domains) {
      const ready = round === 1 ? given.get(d) : undefined;
      const out = join(dir, 'experts', d);
      if (ready) experts[d] = ready;
      else if (existsSync(join(out, 'final', 'config.json'))) experts[d] = join(out, 'final');
      else {
        log(`distill: round ${round}: training the ${d} expert from ${base}`);
        experts[d] = await trainExpert(d, base, out, data.get(d)!.train, { steps: cfg.expert_steps, maxNewTokens: cfg.max_new_tokens, seed: cfg.seed, quiet: cfg.quiet }, cfg.reward_model);
      }
    }
    // 2. samples, filter, hybrid rule
    const samples: DistillSample[] = [];
    const expertModels = new Map(domains.map((d) => [d, loadCausalLM(experts[d])]));
    for (const d of domains) {
      const s = await sampleExpert(expertModels.get(d)!, tok, data.get(d)!, cfg, rmScore, rng);
      samples.push(...s);
      log(`distill: round ${round}: ${d}: ${s.length} samples, ${s.filter((x) => x.correct !== false && x.wellFormed).length} well formed and right`);
    }
    const { kept, stats } = rejectionFilter(samples, { scoreQuantile: cfg.score_quantile, minScore: cfg.min_score }, (s) => data.get(s.domain as Domain)!.train[s.prompt].prompt.length);
    const baseModel = loadCausalLM(base);
    const byDomain = new Map<Domain, object[]>();
    const dataStats: RoundResult['data'] = {};
    for (const d of domains) {
      const mine = kept.filter((s) => s.domain === d);
      const prompts = [...new Set(mine.map((s) => s.prompt))];
      const rates = isVerifiable(d) && !hybrid.directDomains.includes(d) ? await directRates(baseModel, tok, prompts.map((i) => data.get(d)!.train[i]), cfg, rng) : prompts.map(() => null);
      const rateOf = new Map(prompts.map((p, i) => [p, rates[i]]));
      const recs = mine.map((s) => {
        const mode = chooseMode(d, rateOf.get(s.prompt) ?? null, hybrid);
        return { mode, rec: sftRecord(s.messages, mode, s.tools) };
      });
      const direct = recs.filter((r) => r.mode === 'direct').length;
      dataStats[d] = { kept: recs.length, direct, direct_share: recs.length ? direct / recs.length : 0 };
      byDomain.set(d, recs.map((r) => r.rec));
    }
    const records = mixRecords(byDomain, mix, rng);
    const file = join(dir, 'distill.jsonl');
    await writeJsonl(file, records);
    log(`distill: round ${round}: ${records.length} examples -> ${file} (${JSON.stringify(dataStats)})`);
    // 3. the student (none when the filter kept nothing: the round's student is its base, and says so)
    const studentOut = join(dir, 'student');
    const studentModel = loadCausalLM(base);
    let student = base;
    if (records.length === 0) {
      log(`distill: round ${round}: the filter kept no sample (${JSON.stringify(stats)}); no student is trained (sample more with --samples-per-prompt / --prompts-per-domain, or train the experts longer)`);
    } else {
      const sc = resolveConfig(sftSchema, {
        object: { model: base, data: file, out: studentOut, max_steps: cfg.sft_steps, per_device_train_batch_size: cfg.sft_batch, learning_rate: cfg.sft_learning_rate, warmup_steps: Math.max(1, Math.round(cfg.sft_steps / 20)), max_seq_length: cfg.max_seq_length, seed: cfg.seed, quiet: cfg.quiet, save_steps: 0, logging_steps: 5 },
        objectSource: 'distill student',
      });
      const { examples, dropped } = loadSftExamples(file, tok, sc.max_seq_length);
      if (dropped > 0) log(`distill: round ${round}: ${dropped} examples longer than ${sc.max_seq_length} tokens dropped`);
      await new SftTrainer(sc, studentModel, tok, examples, null).train();
      student = join(studentOut, 'final');
    }
    // 4. scores on the test prompts
    const perPrompt: RoundResult['perPrompt'] = { base: {}, student: {} };
    const scores: RoundResult['scores'] = { experts: {}, base: {}, student: {} };
    for (const d of domains) {
      const dp = data.get(d)!;
      perPrompt.base[d] = await scoreDomain(baseModel, tok, dp, cfg);
      perPrompt.student[d] = await scoreDomain(studentModel.eval(), tok, dp, cfg);
      scores.base[d] = mean(perPrompt.base[d]);
      scores.student[d] = mean(perPrompt.student[d]);
    }
    for (const d of domains) {
      const em = expertModels.get(d)!;
      perPrompt[`expert_${d}`] = {};
      for (const d2 of domains) perPrompt[`expert_${d}`][d2] = await scoreDomain(em, tok, data.get(d2)!, cfg);
      scores.experts[d] = mean(perPrompt[`expert_${d}`][d]);
    }
    log(`distill: round ${round}: experts on their domain ${JSON.stringify(scores.experts)}; base ${JSON.stringify(scores.base)}; student ${JSON.stringify(scores.student)}`);
    results.push({ round, base, experts, filter: stats, data: dataStats, student, student_trained: records.length > 0, scores, perPrompt });
    base = student;
  }
  writeFileSync(join(cfg.out, 'summary.json'), JSON.stringify(results.map(({ perPrompt: _p, ...r }) => r), null, 2) + '\n');
  return results;
}

/** Resolves a config object (experiments, tests) against the schema. */
export function distillConfig(object: Record<string, unknown>): DistillConfig {
  return resolveConfig(distillSchema, { object, objectSource: 'distill' });
}
