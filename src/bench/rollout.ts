/**
 * `glmkit bench rollout`: rollout generation in-process (`generate`) against the same model behind
 * one and two `glmkit serve` servers reached through the rollout client (HTTP on 127.0.0.1, token
 * ids in, token ids and log-probs out), at batch 1 and 32, temperature 0. The servers run in this
 * process, each with its own engine worker thread; on a small machine they share its cores with each
 * other and with the client, which the figures include.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '../generation/generate.js';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { createServer, type GlmServer } from '../server/app.js';
import { loadTokenizer, STOP_TOKENS } from '../tokenizer/index.js';
import { field } from '../trainers/base/config.js';
import { RolloutClient } from '../trainers/remote/rollout-client.js';
import { scratchModel } from './serve.js';

export interface BenchRolloutOptions {
  model?: string;
  preset?: string;
  maxTokens: number;
  batches: number[];
  /** timed runs per setup (the median is reported) */
  repeats?: number;
  json?: boolean;
}

const now = () => performance.now();

export async function benchRollout(opts: BenchRolloutOptions, print: (line: string) => void): Promise<Record<string, unknown>[]> {
  const work = opts.model ? null : mkdtempSync(join(tmpdir(), 'glmkit-bench-rollout-'));
  const dir = opts.model ?? scratchModel(opts.preset ?? 'tiny', work!, { neverStop: true });
  const model = loadCausalLM(dir).eval();
  const tok = loadTokenizer(dir);
  const stops = STOP_TOKENS.map((t) => tok.tokenToId(t)).filter((x): x is number => x !== undefined);
  const maxB = Math.max(...opts.batches);
  const servers: GlmServer[] = [];
  const rows: Record<string, unknown>[] = [];
  try {
    const urls: string[] = [];
    for (let i = 0; i < 2; i++) {
      const s = await createServer({ modelDir: dir, maxSlots: maxB, maxPending: 4 * maxB });
      servers.push(s);
      urls.push(await s.listen('127.0.0.1', 0));
    }
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
        rows.push(row);
        print(opts.json ? JSON.stringify(row) : `rollout: ${name.padEnd(10)} batch ${String(B).padStart(2)}: ${row.tokens_per_s} tokens/s (${tokens} tokens, median ${row.seconds} s), overhead vs in-process ${row.overhead_ms_per_token} ms/token`);
      }
    }
    return rows;
  } finally {
    for (const s of servers) await s.close();
    if (work) rmSync(work, { recursive: true, force: true });
  }
}

const spec = {
  name: 'bench rollout',
  usage: 'glmkit bench rollout [--model DIR | --preset tiny] [--max-tokens 32] [--batches 1,32] [--json]',
  description: 'Rollout generation in-process vs one and two glmkit serve servers over HTTP (the --rollout-url path), temperature 0.',
  schema: {
    model: field<string | null>('path', null, 'model folder (default: a random model of --preset that never stops early)', { nullable: true, placeholder: 'dir' }),
    preset: field<string | null>('string', null, 'preset of the random model (default tiny)', { nullable: true }),
    max_tokens: field('int', 32, 'new tokens per rollout', { min: 1 }),
    batches: field('string', '1,32', 'comma-separated batch sizes (rollouts generated together)'),
    repeats: field('int', 5, 'timed runs per setup and batch (the median is reported)', { min: 1 }),
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
  await benchRollout({ model: v.model ?? undefined, preset: v.preset ?? undefined, maxTokens: v.max_tokens, batches, repeats: v.repeats, json: v.json }, (l) => console.log(l));
  return 0;
}
