/**
 * `glmkit bench rollout`: generation in-process (`generate`) against the same model behind one and
 * two `glmkit serve` processes reached through the rollout client (HTTP on 127.0.0.1, token ids in,
 * token ids and log-probs out), at the given batch sizes and temperature 0; then short GRPO runs
 * (steps/s and rollout tokens/s) in-process, on one and on two servers, and with --rollout-ahead 1.
 * The servers are child processes (spawned with this process's own CLI); on a small machine they
 * share its cores with each other and with the trainer, which the figures include.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '../generation/generate.js';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { spawnServe, type ServeProcess } from '../server/spawn-serve.js';
import { loadTokenizer, STOP_TOKENS } from '../tokenizer/index.js';
import { field, resolveConfig } from '../trainers/base/config.js';
import { RolloutClient } from '../trainers/remote/rollout-client.js';
import { generateWorldTask, writeJsonl } from '../data/world/index.js';
import { grpoSchema } from '../trainers/grpo/grpo-config.js';
import { loadRlPrompts } from '../trainers/grpo/grpo-data.js';
import { GrpoTrainer } from '../trainers/grpo/grpo-trainer.js';
import { scratchModel } from './serve.js';

export interface BenchRolloutOptions {
  model?: string;
  preset?: string;
  maxTokens: number;
  batches: number[];
  /** timed runs per setup (the median is reported) */
  repeats?: number;
  /** GRPO optimizer steps per setup (0: no GRPO runs) */
  grpoSteps?: number;
  /** GRPO completions per step */
  grpoBatch?: number;
  json?: boolean;
}

const now = () => performance.now();

export async function benchRollout(opts: BenchRolloutOptions, print: (line: string) => void): Promise<Record<string, unknown>[]> {
  const work = mkdtempSync(join(tmpdir(), 'glmkit-bench-rollout-'));
  const dir = opts.model ?? scratchModel(opts.preset ?? 'tiny', work, { neverStop: true });
  const model = loadCausalLM(dir).eval();
  const tok = loadTokenizer(dir);
  const stops = STOP_TOKENS.map((t) => tok.tokenToId(t)).filter((x): x is number => x !== undefined);
  const maxB = Math.max(...opts.batches, opts.grpoBatch ?? 16);
  const servers: ServeProcess[] = [];
  const rows: Record<string, unknown>[] = [];
  const emit = (row: Record<string, unknown>, text: string) => {
    rows.push(row);
    print(opts.json ? JSON.stringify(row) : text);
  };
  try {
    const root = join(work, 'weights');
    mkdirSync(root);
    servers.push(...(await Promise.all([0, 1].map(() => spawnServe(['--model', dir, '--max-batch', String(maxB), '--max-pending', String(4 * maxB), '--enable-weight-updates', '--weights-root', root])))));
    const urls = servers.map((s) => s.url);
    const prompt = (i: number) => tok.encode(`Question ${i}: how many apples does Alice have?`);
    const o = { maxNewTokens: opts.maxTokens, temperature: 0, stopTokens: stops, vocabLimit: tok.vocabSize };
    const setups: [string, (p: number[][]) => Promise<number>][] = [
      ['in-process', async (p) => generate(model, p, o).tokens.reduce((a, t) => a + t.length, 0)],
      ...[1, 2].map((k): [string, (p: number[][]) => Promise<number>] => {
        const client = new RolloutClient(urls.slice(0, k));
        return [`${k} server${k > 1 ? 's' : ''}`, async (p) => (await client.generate(p, o)).tokens.reduce((a, t) => a + t.length, 0)];
      }),
    ];
    for (const B of opts.batches) {
      const prompts = Array.from({ length: B }, (_, i) => prompt(i));
      let base = 0;
      for (const [name, run] of setups) {
        await run(prompts.slice(0, 1)); // warm-up
        const times: number[] = [];
        let tokens = 0;
        for (let r = 0; r < (opts.repeats ?? 3); r++) {
          const t0 = now();
          tokens = await run(prompts);
          times.push((now() - t0) / 1000);
        }
        const s = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
        if (name === 'in-process') base = s;
        const row = { bench: 'rollout', setup: name, batch: B, tokens, seconds: +s.toFixed(3), tokens_per_s: +(tokens / s).toFixed(1), overhead_ms_per_token: name === 'in-process' ? 0 : +(((s - base) * 1000) / tokens).toFixed(3) };
        emit(row, `rollout: ${name.padEnd(10)} batch ${String(B).padStart(2)}: ${row.tokens_per_s} tokens/s (${tokens} tokens, median ${row.seconds} s), overhead vs in-process ${row.overhead_ms_per_token} ms/token`);
      }
    }
    if ((opts.grpoSteps ?? 0) > 0) await benchGrpo(dir, urls, work, opts, emit);
    return rows;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(work, { recursive: true, force: true });
  }
}

/** Short GRPO runs: steps/s and generated tokens per second of wall time, per setup. */
async function benchGrpo(dir: string, urls: string[], work: string, opts: BenchRolloutOptions, emit: (row: Record<string, unknown>, text: string) => void): Promise<void> {
  const data = join(work, 'rl.jsonl');
  await writeJsonl(data, generateWorldTask('rl', { n: 32, seed: 4, split: 'train' }));
  const prompts = loadRlPrompts(data);
  const steps = opts.grpoSteps!, batch = opts.grpoBatch ?? 16;
  const setups: [string, Record<string, unknown>][] = [
    ['in-process', {}],
    ['1 server', { rollout_url: urls[0] }],
    ['2 servers', { rollout_url: urls }],
    ['1 server, ahead 1', { rollout_url: urls[0], rollout_ahead: 1 }],
    ['2 servers, ahead 1', { rollout_url: urls, rollout_ahead: 1 }],
  ];
  for (const [k, [name, extra]] of setups.entries()) {
    // the weights folder lives under the servers' --weights-root
    const out = join(work, 'weights', `grpo-${k}`);
    const cfg = resolveConfig(grpoSchema, { object: {
      model: dir, data, out, max_steps: steps, num_generations: 4, per_device_train_batch_size: batch, max_completion_length: opts.maxTokens,
      // every group is trained (the random model earns no reward): the update costs what it would
      prepass_k: 0, dynamic_sampling: false, force_answer: false, quiet: true, save_steps: 0, temperature: 1, ...extra,
    } });
    const trainer = new GrpoTrainer(cfg, loadCausalLM(dir), loadTokenizer(dir), prompts, null);
    const t0 = now();
    const r = await trainer.train();
    const s = (now() - t0) / 1000;
    const tokens = r.metrics.filter((m) => typeof m['completions/mean_length'] === 'number').reduce((a, m) => a + (m['completions/mean_length'] as number) * batch, 0);
    const row = { bench: 'rollout-grpo', setup: name, steps, batch, tokens: Math.round(tokens), seconds: +s.toFixed(2), steps_per_s: +(steps / s).toFixed(3), rollout_tokens_per_s: +(tokens / s).toFixed(1) };
    emit(row, `grpo: ${name.padEnd(18)} ${row.steps_per_s} steps/s, ${row.rollout_tokens_per_s} rollout tokens/s (${steps} steps of ${batch} completions, ${row.seconds} s)`);
  }
}

const spec = {
  name: 'bench rollout',
  usage: 'glmkit bench rollout [--model DIR | --preset tiny] [--max-tokens 32] [--batches 1,32] [--grpo-steps 4] [--json]',
  description: 'Rollout generation in-process vs one and two glmkit serve processes over HTTP (the --rollout-url path), temperature 0, and short GRPO runs (steps/s, rollout tokens/s) in-process, on one and two servers, and with --rollout-ahead 1.',
  schema: {
    model: field<string | null>('path', null, 'model folder (default: a random model of --preset that never stops early)', { nullable: true, placeholder: 'dir' }),
    preset: field<string | null>('string', null, 'preset of the random model (default tiny)', { nullable: true }),
    max_tokens: field('int', 32, 'new tokens per rollout', { min: 1 }),
    batches: field('string', '1,32', 'comma-separated batch sizes (rollouts generated together)'),
    repeats: field('int', 5, 'timed runs per setup and batch (the median is reported)', { min: 1 }),
    grpo_steps: field('int', 4, 'GRPO optimizer steps per setup (0 = skip the GRPO runs)', { min: 0 }),
    grpo_batch: field('int', 16, 'GRPO completions per step (4 per prompt)', { min: 4 }),
    json: field('boolean', false, 'one JSON object per line'),
  },
};

export async function benchRolloutCommand(argv: string[]): Promise<number> {
  const { parseCommand, usageError } = await import('../cli/args.js');
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  const batches = v.batches.split(',').map(Number);
  if (batches.some((b) => !Number.isInteger(b) || b < 1)) throw usageError('bench rollout', `--batches must be positive integers separated by commas, got '${v.batches}'`);
  await benchRollout({ model: v.model ?? undefined, preset: v.preset ?? undefined, maxTokens: v.max_tokens, batches, repeats: v.repeats, grpoSteps: v.grpo_steps, grpoBatch: v.grpo_batch, json: v.json }, (l) => console.log(l));
  return 0;
}
