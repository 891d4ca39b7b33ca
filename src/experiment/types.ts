/**
 * What an experiment is: a paper's claim, arms that run resumably, and comparisons whose 95%
 * intervals decide the verdict (src/experiment/stats.ts).
 */
import type { Verdict } from './stats.js';

/** One claimed difference a - b, measured with an interval. */
export interface Comparison {
  metric: string;
  a: string;
  b: string;
  /** point estimate of a - b */
  diff: number;
  ci95: [number, number];
  /** paired prompts (bootstrap) or seeds (t-interval) */
  n: number;
  /** the claimed side of a - b relative to `margin` */
  claim: 'greater' | 'less';
  margin: number;
  method: 'paired bootstrap over prompts' | 't-interval over seeds';
  verdict: Verdict;
  /** whether this comparison decides the experiment's verdict (others are reported checks) */
  decides: boolean;
}

/** A per-prompt score row of an arm, saved in DIR/<arm>/scores.jsonl. */
export type ScoreRow = Record<string, number | string>;

export interface ArmResult<M> {
  metrics: M;
  scores: ScoreRow[];
}

/** The model folders and data an experiment builds on (a pipeline output, or one built under DIR/base). */
export interface BaseArtifacts {
  dir: string;
  dataDir: string;
  /** the tokenizer and the randomly initialised model (pipeline stage init) */
  initDir: string;
  /** the pre-trained model (present when the experiment needs stage 'pretrain' or later) */
  pretrainDir: string;
  /** the SFT model (present when the experiment needs stage 'sft' or later) */
  sftDir: string;
  /** the pipeline's reward model (present when the experiment needs stage 'reward') */
  rewardDir: string;
  /** the long-context model, when the base ran the long-context stage (`--long-context L`) */
  longctx?: { dir: string; length: number; visitStyle: 'sentence' | 'pair' };
}

export interface ExperimentContext {
  out: string;
  quick: boolean;
  seeds: number[];
  log: (s: string) => void;
  /** the base recipe's artifacts (built under DIR/base when --base is not given) */
  base(): Promise<BaseArtifacts>;
  /**
   * Runs one arm once: its result is stored in DIR/<name>/arm.json (+ scores.jsonl) and returned
   * from there on a rerun; a rerun with another config for the arm is an error naming the keys.
   */
  arm<M extends Record<string, unknown>>(name: string, config: Record<string, unknown>, run: (dir: string) => Promise<ArmResult<M>>): Promise<ArmResult<M>>;
}

export interface Plot {
  /** file name under DIR, e.g. frontier.svg */
  file: string;
  caption: string;
  svg: string;
}

export interface ExperimentOutcome {
  settings: Record<string, unknown>;
  arms: Record<string, Record<string, unknown>>;
  comparisons: Comparison[];
  plots: Plot[];
  /** what was measured, in words, for report.md (including why a claim did not reproduce) */
  notes: string[];
}

export interface Experiment {
  name: string;
  /** the paper the claim comes from */
  paper: string;
  /** the claim tested, in one sentence */
  claim: string;
  /** estimated minutes of the default run on 2 cores, without --base (and with it) */
  minutes: { alone: number; withBase: number };
  /** the last stage of the base recipe the experiment builds on ('vision-sft': a `pipeline --preset tiny-vl` output) */
  needs: 'init' | 'pretrain' | 'sft' | 'reward' | 'vision-sft';
  /** seeds when --seeds is not given */
  defaultSeeds?: (quick: boolean) => number[];
  /** true when no arm's config or run reads another arm's result, so arms may run in worker processes (--jobs) */
  independentArms?: boolean;
  /** worker processes when --jobs is not given (default 1; needs independentArms) */
  defaultJobs?: (quick: boolean) => number;
  /** the settings of a run (everything that changes the result), resolved before anything runs */
  settings(quick: boolean): Record<string, unknown>;
  run(ctx: ExperimentContext, settings: Record<string, unknown>): Promise<ExperimentOutcome>;
}
