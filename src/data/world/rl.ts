/**
 * Verifiable RL prompts: `{"prompt": [user message], "answer": "...", "difficulty": n, "task": "..."}`.
 * The prompt asks for a boxed answer; `verifyRlAnswer` checks a model response against the record
 * with the task's verifier (numeric for arithmetic, normalised exact match for world questions).
 */
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import { ARITHMETIC_LEVELS, MAX_ARITHMETIC_LEVEL, arithmeticQuestion } from './arithmetic.js';
import { sampleArithmeticAt } from './pretrain.js';
import { MAX_WORLD_LEVEL } from './questions.js';
import { type Split, type WorldRng } from './rng.js';
import { restrictLevels, sampleWorldQuestionAt } from './sft.js';
import { type ModelResponse, verifyArithmetic, verifyExact } from './verify.js';
import type { World } from './world.js';

export type RlTask = 'arithmetic' | 'world';

export interface RlRecord {
  prompt: ChatMessage[];
  answer: string;
  difficulty: number;
  task: RlTask;
}

const ALL_ARITHMETIC: readonly (readonly [number, number])[] = Object.keys(ARITHMETIC_LEVELS).map((l) => [Number(l), 1] as const);
const ALL_WORLD: readonly (readonly [number, number])[] = Array.from({ length: MAX_WORLD_LEVEL }, (_, i) => [i + 1, 1] as const);

/** Generates `n` RL prompts; `levels` restricts difficulty (arithmetic 1..7, world 1..3). */
export function generateRl(rng: WorldRng, world: World, n: number, opts: { levels?: number[]; split: Split }): RlRecord[] {
  const arith = restrictLevels(ALL_ARITHMETIC, opts.levels);
  const worldLevels = restrictLevels(ALL_WORLD, opts.levels);
  // with an explicit difficulty above the world's levels, only arithmetic has that difficulty
  const worldShare = opts.levels && opts.levels.every((l) => l > MAX_WORLD_LEVEL) ? 0 : 0.3;
  const out: RlRecord[] = [];
  for (let i = 0; i < n; i++) {
    if (rng.next() >= worldShare) {
      const p = sampleArithmeticAt(rng, arith, opts.split);
      out.push({ prompt: [{ role: 'user', content: arithmeticQuestion(p) }], answer: String(p.answer), difficulty: p.level, task: 'arithmetic' });
    } else {
      const q = sampleWorldQuestionAt(rng, world, worldLevels, opts.split);
      out.push({ prompt: [{ role: 'user', content: q.question }], answer: q.answer, difficulty: q.level, task: 'world' });
    }
  }
  return out;
}

/** 1 if `response` answers the RL record correctly (strict boxed verification), else 0. */
export function verifyRlAnswer(record: Pick<RlRecord, 'answer' | 'task'>, response: ModelResponse): number {
  if (record.task === 'arithmetic') return verifyArithmetic(response, record.answer) ? 1 : 0;
  return verifyExact(response, record.answer) ? 1 : 0;
}

export { MAX_ARITHMETIC_LEVEL };
