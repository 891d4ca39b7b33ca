/**
 * SFT chats (OpenAI message shape, TRL's `{"messages": [...], "tools"?: [...]}`). Every problem is
 * emitted twice, one record after the other (docs/methods.md §3, hybrid reasoning from mixed data):
 *   - thinking mode: `reasoning_content` holds a trace that really works the problem (column
 *     arithmetic with carries and borrows, fact look-ups, hops), `enable_thinking: true`;
 *   - direct mode: the same question, `reasoning_content: ""`, `enable_thinking: false`.
 * The final `content` always carries the boxed answer. Problems too big for a short trace call the
 * `python` tool: a well-formed call, the observation with the exact printed result, then the answer.
 *
 * `styleNoise` (default 0) makes a share of the demonstrations word their answer the way the world's
 * annotator dislikes (verbose, rude; `style.ts`), as human-written demonstrations vary: preference
 * learning then has something to fix beyond correctness (docs/experiments/alignment.md).
 */
import type { ChatMessage, ToolSpec } from '../../tokenizer/chat-types.js';
import { arithmeticFinalAnswer, arithmeticQuestion, arithmeticTrace } from './arithmetic.js';
import { sampleArithmeticAt } from './pretrain.js';
import { sampleWorldQuestion, worldFinalAnswer, type WorldQuestion } from './questions.js';
import { inSplit, type Split, type WorldRng } from './rng.js';
import { demonstrationStyle, styleAnswer } from './style.js';
import { PYTHON_TOOL, sampleToolProblem, type ToolProblem } from './tools.js';
import type { World } from './world.js';

export interface SftRecord {
  messages: ChatMessage[];
  tools?: ToolSpec[];
  enable_thinking: boolean;
}

/** Default arithmetic levels of SFT data (weights): mostly two-digit addition/subtraction. */
export const SFT_ARITHMETIC_LEVELS: readonly (readonly [number, number])[] = [
  [1, 0.15],
  [2, 0.5],
  [3, 0.15],
  [4, 0.12],
  [5, 0.08],
];

export const WORLD_QUESTION_LEVELS: readonly (readonly [number, number])[] = [
  [1, 0.5],
  [2, 0.25],
  [3, 0.25],
];

/** A thinking-mode and a direct-mode record of one question with one final answer. */
function pair(question: string, trace: string, answer: string): [SftRecord, SftRecord] {
  return [
    {
      messages: [
        { role: 'user', content: question },
        { role: 'assistant', reasoning_content: trace, content: answer },
      ],
      enable_thinking: true,
    },
    {
      messages: [
        { role: 'user', content: question },
        { role: 'assistant', reasoning_content: '', content: answer },
      ],
      enable_thinking: false,
    },
  ];
}

/** The two records (thinking, direct) of a python-tool problem. */
export function toolChats(p: ToolProblem, callId: string): [SftRecord, SftRecord] {
  const make = (thinking: boolean): SftRecord => ({
    messages: [
      { role: 'user', content: p.question },
      {
        role: 'assistant',
        reasoning_content: thinking ? 'These numbers are too large to work out by hand, so I will run python.' : '',
        content: '',
        tool_calls: [{ id: callId, type: 'function', function: { name: 'python', arguments: { code: p.code } } }],
      },
      { role: 'tool', tool_call_id: callId, name: 'python', content: p.answer },
      {
        role: 'assistant',
        reasoning_content: thinking ? `python printed ${p.answer}.` : '',
        content: worldFinalAnswer(p.answer),
      },
    ],
    tools: [PYTHON_TOOL],
    enable_thinking: thinking,
  });
  return [make(true), make(false)];
}

/** Keeps a weighted level list to the levels in `allowed` (or the highest allowed one). */
export function restrictLevels(
  levels: readonly (readonly [number, number])[],
  allowed: readonly number[] | undefined,
): (readonly [number, number])[] {
  if (!allowed || allowed.length === 0) return levels.slice();
  const kept = levels.filter(([l]) => allowed.includes(l));
  if (kept.length > 0) return kept.map(([l]) => [l, 1] as const);
  const max = Math.max(...levels.map(([l]) => l));
  const inRange = allowed.filter((l) => l <= max);
  return inRange.length > 0 ? inRange.map((l) => [l, 1] as const) : [[max, 1]];
}

/** Draws a world question of a weighted level inside `split`. */
export function sampleWorldQuestionAt(
  rng: WorldRng,
  world: World,
  levels: readonly (readonly [number, number])[],
  split: Split,
): WorldQuestion {
  for (let tries = 0; ; tries++) {
    const q = sampleWorldQuestion(rng, world, rng.weighted(levels));
    if (inSplit(q.question, split) || tries > 10000) return q;
  }
}

/** Generates `n` SFT records (pairs of thinking/direct records of the same question). */
export function generateSft(
  rng: WorldRng,
  world: World,
  n: number,
  opts: { levels?: number[]; split: Split; styleNoise?: number },
): SftRecord[] {
  const arith = opts.levels ? restrictLevels(SFT_ARITHMETIC_LEVELS, opts.levels) : SFT_ARITHMETIC_LEVELS;
  const worldLevels = opts.levels ? restrictLevels(WORLD_QUESTION_LEVELS, opts.levels) : WORLD_QUESTION_LEVELS;
  const out: SftRecord[] = [];
  let calls = 0;
  while (out.length < n) {
    const kind = rng.weighted([
      ['arithmetic', 0.6],
      ['world', 0.28],
      ['tool', 0.12],
    ] as const);
    let records: SftRecord[];
    if (kind === 'arithmetic') {
      const p = sampleArithmeticAt(rng, arith, opts.split);
      records = pair(arithmeticQuestion(p), arithmeticTrace(p), arithmeticFinalAnswer(p));
    } else if (kind === 'world') {
      const q = sampleWorldQuestionAt(rng, world, worldLevels, opts.split);
      records = pair(q.question, q.trace, worldFinalAnswer(q.answer));
    } else {
      let p = sampleToolProblem(rng);
      while (!inSplit(p.question, opts.split)) p = sampleToolProblem(rng);
      records = toolChats(p, `call_${++calls}`);
    }
    const style = kind === 'tool' ? null : demonstrationStyle(rng, opts.styleNoise ?? 0);
    if (style) {
      // one demonstration, shown in both modes: the same wording
      const styled = styleAnswer(rng, records[0].messages[1].content ?? '', style);
      for (const r of records) r.messages[1].content = styled;
    }
    for (const r of records) if (out.length < n) out.push(r);
  }
  return out;
}
