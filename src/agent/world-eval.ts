/**
 * Tool use on the built-in world: held-out problems that need the `python` tool, run through the
 * agent loop. Scores separately whether the model called python, whether the code it wrote printed
 * the right number (the sandbox really runs it), and whether the boxed final answer is right.
 */
import { extractBoxed, generateWorldTask } from '../data/world/index.js';
import type { Conversation } from '../tokenizer/index.js';
import { runAgent, type ChatBackend } from './agent.js';
import type { ToolRegistry } from './registry.js';

export interface WorldToolEval {
  n: number;
  /** share of problems where the model called python */
  called: number;
  /** share where the first python call printed the exact answer */
  code_correct: number;
  /** share where the boxed final answer is the exact answer */
  solved: number;
}

/** The first n tool-use chats of the world's test split (prompt = the user turn, answer = what python prints). */
export function worldToolProblems(n: number, seed = 12345): { prompt: Conversation['messages']; answer: string }[] {
  const out: { prompt: Conversation['messages']; answer: string }[] = [];
  for (let pool = 4 * n + 100; out.length < n && pool < 1_000_000; pool *= 4) {
    out.length = 0;
    const chats = generateWorldTask('sft', { n: pool, seed, split: 'test' }) as Conversation[];
    for (const c of chats) {
      const tool = c.messages.find((m) => m.role === 'tool');
      if (!c.messages.some((m) => m.tool_calls?.some((t) => t.function.name === 'python')) || !tool?.content) continue;
      out.push({ prompt: [c.messages.find((m) => m.role === 'user')!], answer: tool.content });
      if (out.length === n) break;
    }
  }
  return out;
}

/** Runs the agent (with a registry holding `python`) on n held-out world tool problems. */
export async function evalWorldToolUse(backend: ChatBackend, registry: ToolRegistry, n: number, opts: { seed?: number; maxSteps?: number } = {}): Promise<WorldToolEval> {
  const problems = worldToolProblems(n, opts.seed);
  let called = 0, code = 0, solved = 0;
  for (const p of problems) {
    const r = await runAgent(backend, registry, p.prompt, { maxSteps: opts.maxSteps ?? 3 });
    const calls = r.steps.flatMap((s) => s.calls).filter((c) => c.call.function.name === 'python');
    if (calls.length > 0) called++;
    if (calls[0]?.observation === p.answer) code++;
    if (extractBoxed(r.answer?.content ?? '') === p.answer) solved++;
  }
  const k = Math.max(problems.length, 1);
  return { n: problems.length, called: called / k, code_correct: code / k, solved: solved / k };
}
