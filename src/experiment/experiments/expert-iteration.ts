/**
 * expert-iteration (GLM-4.5): domain experts trained from one SFT model (reasoning: GRPO + RLCS on
 * arithmetic; tool: GRPO with python-tool rollouts; chat: EXO against the reward model), then one
 * student fine-tuned on their rejection-sampled outputs (`glmkit distill`, one round). The claim has
 * two parts, both on held-out test prompts with paired bootstrap intervals over prompts:
 *   - on each expert's own domain the student is within `margin` of the expert (non-inferiority:
 *     the interval of student - expert lies above -margin);
 *   - over all domains together the student beats every single expert (interval above 0).
 * The settings were not tuned on the test prompts; the distillation recipe is `glmkit distill`'s
 * default except for the budgets below.
 */
import { join } from 'node:path';
import { distillConfig, runDistill } from '../../trainers/distill/distill.js';
import { DOMAINS } from '../../trainers/distill/domains.js';
import { pairedBootstrap, verdictOf } from '../stats.js';
import { barChart } from '../../report/svg.js';
import type { Comparison, Experiment, ExperimentContext, ScoreRow } from '../types.js';

interface Settings extends Record<string, unknown> {
  prompts_per_domain: number;
  eval_prompts: number;
  expert_steps: number;
  samples_per_prompt: number;
  max_new_tokens: number;
  sft_steps: number;
  margin: number;
  resamples: number;
  seeds: number[];
}

interface Metrics extends Record<string, unknown> {
  scores: { experts: Record<string, number>; base: Record<string, number>; student: Record<string, number> };
  data: Record<string, { kept: number; direct: number; direct_share: number }>;
  filter: Record<string, unknown>;
  student_trained: boolean;
}

export const expertIteration: Experiment = {
  name: 'expert-iteration',
  paper: 'GLM-4.5: Agentic, Reasoning, and Coding (ARC) Foundation Models',
  claim: 'A student distilled from domain experts (reasoning, tool use, chat) stays within a small margin of each expert on its own domain and beats every single expert across all domains together.',
  // measured 2026-12-06 from a fresh clone on an idle 2-core machine (docs/experiments/results/README.md): 16.3 minutes, of which the base ~14
  minutes: { alone: 17, withBase: 3 },
  needs: 'reward',
  defaultSeeds: () => [0],
  settings(quick) {
    return quick
      ? { prompts_per_domain: 3, eval_prompts: 3, expert_steps: 1, samples_per_prompt: 2, max_new_tokens: 24, sft_steps: 2, margin: 0.05, resamples: 2000 }
      : { prompts_per_domain: 64, eval_prompts: 80, expert_steps: 30, samples_per_prompt: 4, max_new_tokens: 256, sft_steps: 80, margin: 0.05, resamples: 2000 };
  },
  async run(ctx: ExperimentContext, raw) {
    const S = raw as Settings;
    const base = await ctx.base();
    const seed = S.seeds[0];
    const arm = await ctx.arm<Metrics>('distill', { base: base.dir, ...S, seed }, async (dir) => {
      const cfg = distillConfig({
        base: base.sftDir, out: join(dir, 'distill'), reward_model: base.rewardDir, prompts_per_domain: S.prompts_per_domain, eval_prompts: S.eval_prompts,
        expert_steps: S.expert_steps, samples_per_prompt: S.samples_per_prompt, max_new_tokens: S.max_new_tokens, sft_steps: S.sft_steps, seed, quiet: true,
      });
      const [r] = await runDistill(cfg, ctx.log);
      const scores: ScoreRow[] = [];
      for (const [model, byDomain] of Object.entries(r.perPrompt)) for (const [domain, xs] of Object.entries(byDomain)) xs.forEach((score, prompt) => scores.push({ split: 'test', model, domain, prompt, score }));
      return { metrics: { scores: r.scores, data: r.data, filter: r.filter as unknown as Record<string, unknown>, student_trained: r.student_trained }, scores };
    });
    const rows = arm.scores;
    const series = (model: string, domains: readonly string[]) => domains.flatMap((d) => rows.filter((x) => x.model === model && x.domain === d).sort((a, b) => (a.prompt as number) - (b.prompt as number)).map((x) => x.score as number));
    const comparisons: Comparison[] = [];
    const bars: { label: string; value: number; ci: [number, number] }[] = [];
    for (const d of DOMAINS) {
      const own = pairedBootstrap(series('student', [d]), series(`expert_${d}`, [d]), { resamples: S.resamples, seed: 0 });
      comparisons.push({ metric: `${d} test score (non-inferiority, margin ${S.margin})`, a: 'student', b: `${d} expert`, diff: own.estimate, ci95: own.ci, n: own.n, claim: 'greater', margin: -S.margin, method: 'paired bootstrap over prompts', verdict: verdictOf(own.ci, 'greater', -S.margin), decides: true });
      const all = pairedBootstrap(series('student', DOMAINS), series(`expert_${d}`, DOMAINS), { resamples: S.resamples, seed: 0 });
      comparisons.push({ metric: 'mean test score over all domains', a: 'student', b: `${d} expert`, diff: all.estimate, ci95: all.ci, n: all.n, claim: 'greater', margin: 0, method: 'paired bootstrap over prompts', verdict: verdictOf(all.ci, 'greater'), decides: true });
      const vsBase = pairedBootstrap(series('student', [d]), series('base', [d]), { resamples: S.resamples, seed: 0 });
      comparisons.push({ metric: `${d} test score`, a: 'student', b: 'SFT base', diff: vsBase.estimate, ci95: vsBase.ci, n: vsBase.n, claim: 'greater', margin: 0, method: 'paired bootstrap over prompts', verdict: verdictOf(vsBase.ci, 'greater'), decides: false });
      bars.push({ label: `student − ${d} expert (${d})`, value: own.estimate, ci: own.ci }, { label: `student − ${d} expert (all)`, value: all.estimate, ci: all.ci });
    }
    const m = arm.metrics;
    const fmt = (o: Record<string, number>) => DOMAINS.map((d) => `${d} ${Number(o[d]).toFixed(3)}`).join(', ');
    return {
      settings: S,
      arms: { distill: { ...m } },
      comparisons,
      plots: [{ file: 'differences.svg', caption: `Student minus each expert, on the expert's own domain and over all domains (paired bootstrap 95% CIs; the non-inferiority margin is ${S.margin})`, svg: barChart({ title: 'Student − expert (95% CI)', yLabel: 'difference in test score', bars }) }],
      notes: [
        `Test scores (greedy, thinking mode; reasoning and tool: share right by the verifier; chat: the world's gold reward): experts on their own domain ${fmt(m.scores.experts)}; SFT base ${fmt(m.scores.base)}; student ${fmt(m.scores.student)}.`,
        `Distilled data: ${DOMAINS.map((d) => `${d} ${m.data[d]?.kept ?? 0} kept, ${((m.data[d]?.direct_share ?? 0) * 100).toFixed(0)}% in direct mode`).join('; ')}. Filter: ${JSON.stringify(m.filter)}.`,
        m.student_trained ? 'The student was fine-tuned from the SFT base on the distilled data.' : 'The filter kept no sample, so no student was trained: the student is the SFT base itself.',
      ],
    };
  },
};
