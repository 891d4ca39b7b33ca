/**
 * Preference pairs judged by a simulated annotator with a hidden rubric, and the same rubric as a gold
 * reward (`goldReward`) that alignment stages use to measure any model output on the world's prompts.
 *
 * The rubric (hidden from the models; a score in [0, 1]):
 *   score = 0.6 * correct + 0.25 * concise + 0.15 * polite
 *   correct: 1 if the one boxed answer is right; 0.5 if there is no box but the answer is stated
 *            unambiguously (the last number, or the only candidate entity named); 0 otherwise
 *            (wrong, several boxes, an empty box, reasoning that never finishes);
 *   concise: 1 up to 60 characters of final answer (box markers not counted), falling linearly to 0
 *            at 300 characters;
 *   polite:  0 if the answer contains a rude phrase, else 1.
 * A correct answer therefore always beats a wrong one, and among equally correct answers the short,
 * polite one wins. Pairs are `{"prompt", "chosen", "rejected", "score_chosen", "score_rejected"}` in
 * TRL's conversational form.
 */
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import { arithmeticExpression, arithmeticQuestion, parseArithmeticQuestion } from './arithmetic.js';
import { sampleArithmeticAt } from './pretrain.js';
import { answerWorldQuestion } from './questions.js';
import { type Split, type WorldRng } from './rng.js';
import { WORLD_QUESTION_LEVELS, sampleWorldQuestionAt } from './sft.js';
import { answerToolQuestion } from './tools.js';
import { BOX_CLOSE, BOX_OPEN, boxed, extractBoxed, finalAnswerText, normalizeAnswer, parseIntegerAnswer } from './verify.js';
import { type World, FOODS, JOBS, getWorld } from './world.js';
import { DataError } from '../../errors.js';

export interface PreferenceRecord {
  prompt: ChatMessage[];
  chosen: ChatMessage[];
  rejected: ChatMessage[];
  score_chosen: number;
  score_rejected: number;
}

/** Phrases the annotator counts as rude. */
export const RUDE_PHRASES: readonly string[] = [
  'obviously',
  'even a child',
  'stop wasting my time',
  'try to keep up',
  'what a silly question',
  'figure it out yourself',
];

const FILLERS: readonly string[] = [
  'Let me walk you through this in great detail before I answer.',
  'This is the kind of question that deserves a careful and thorough explanation.',
  'I have considered many different angles and possibilities here.',
  'It is worth saying that I checked everything several times over.',
  'Questions like this can be tricky, and that is completely understandable.',
  'After a long and careful consideration, here is the result.',
];

/** The exact answer of a world prompt (arithmetic, python-sized or world question), or null. */
export function solveWorldPrompt(world: World, text: string): { answer: string; numeric: boolean } | null {
  const tool = answerToolQuestion(text);
  if (tool !== null) return { answer: tool, numeric: true };
  const arith = parseArithmeticQuestion(text);
  if (arith) return { answer: String(arith.answer), numeric: true };
  const w = answerWorldQuestion(world, text);
  if (w !== null) return { answer: w, numeric: /^-?\d+$/.test(w) };
  return null;
}

function promptText(prompt: string | readonly ChatMessage[]): string {
  if (typeof prompt === 'string') return prompt;
  for (let i = prompt.length - 1; i >= 0; i--) if (prompt[i].role === 'user') return prompt[i].content ?? '';
  throw new DataError('expected a prompt with a user message, got none', { field: 'prompt' });
}

function responseFinalText(response: string | ChatMessage | readonly ChatMessage[]): string | null {
  if (typeof response === 'string') return finalAnswerText(response);
  if (Array.isArray(response)) {
    const msgs = response as readonly ChatMessage[];
    for (let i = msgs.length - 1; i >= 0; i--) if (msgs[i].role === 'assistant') return finalAnswerText(msgs[i]);
    return null;
  }
  return finalAnswerText(response as ChatMessage);
}

function entityCandidates(world: World): string[] {
  return [
    ...world.places.map((p) => p.name),
    ...world.people.map((p) => p.name),
    ...JOBS.map((j) => j.name),
    ...FOODS,
    ...world.people.map((p) => `${p.owns.color} ${p.owns.object.name}`),
  ];
}

function mentions(text: string, phrase: string): boolean {
  return new RegExp(`(^|[^a-z])${phrase.toLowerCase()}([^a-z]|$)`).test(text.toLowerCase());
}

/** The correctness part of the rubric: 1, 0.5 or 0 (see the module comment). */
export function rubricCorrectness(world: World, question: string, text: string, solved: { answer: string; numeric: boolean }): number {
  const box = extractBoxed(text);
  if (box !== null) {
    if (solved.numeric) {
      const v = parseIntegerAnswer(box);
      return v !== null && v === BigInt(solved.answer) ? 1 : 0;
    }
    return normalizeAnswer(box) === normalizeAnswer(solved.answer) ? 1 : 0;
  }
  if (text.includes(BOX_OPEN) || text.includes(BOX_CLOSE)) return 0; // broken or multiple boxes
  if (solved.numeric) {
    const nums = text.match(/-?\d[\d,]*/g);
    if (!nums) return 0;
    const last = parseIntegerAnswer(nums[nums.length - 1]);
    return last !== null && last === BigInt(solved.answer) ? 0.5 : 0;
  }
  const named = entityCandidates(world).filter((c) => mentions(text, c) && !mentions(question, c));
  return named.length === 1 && normalizeAnswer(named[0]) === normalizeAnswer(solved.answer) ? 0.5 : 0;
}

/**
 * The gold reward of `response` to `prompt` under the hidden rubric, in [0, 1]. `prompt` is the user
 * text or the message list; `response` raw text (a `<think>` part is ignored), a message, or TRL's
 * one-message list. Throws DataError for a prompt the world did not generate.
 */
export function goldReward(
  prompt: string | readonly ChatMessage[],
  response: string | ChatMessage | readonly ChatMessage[],
  worldSeed = 0,
): number {
  const world = getWorld(worldSeed);
  const question = promptText(prompt);
  const solved = solveWorldPrompt(world, question);
  if (!solved) {
    throw new DataError(`goldReward: expected a prompt generated by the world (seed ${worldSeed}), got ${JSON.stringify(question.slice(0, 80))}`, {
      field: 'prompt',
    });
  }
  const text = responseFinalText(response);
  if (text === null) return 0;
  const correct = rubricCorrectness(world, question, text, solved);
  const length = text.split(BOX_OPEN).join('').split(BOX_CLOSE).join('').trim().length;
  const concise = length <= 60 ? 1 : Math.max(0, 1 - (length - 60) / 240);
  const polite = RUDE_PHRASES.some((r) => text.toLowerCase().includes(r)) ? 0 : 1;
  return Math.round((0.6 * correct + 0.25 * concise + 0.15 * polite) * 10000) / 10000;
}

interface Style {
  correct: boolean;
  verbose: boolean;
  rude: boolean;
  boxed: boolean;
}

function renderResponse(rng: WorldRng, answerSentence: (a: string) => string, answer: string, style: Style): string {
  const a = style.boxed ? boxed(answer) : answer;
  const parts: string[] = [];
  if (style.rude) parts.push(rng.pick(['Obviously,', 'What a silly question.']));
  else if (rng.chance(0.5)) parts.push(rng.pick(['Sure!', 'Happy to help.', 'Good question.']));
  if (style.verbose) parts.push(...rng.sample(FILLERS, rng.int(2, 4)));
  parts.push(answerSentence(a));
  if (style.rude) parts.push(rng.pick(['Even a child could do this.', 'Stop wasting my time.', 'Try to keep up.']));
  return parts.join(' ');
}

function wrongAnswer(rng: WorldRng, world: World, answer: string, numeric: boolean, pool: readonly string[]): string {
  if (numeric) {
    const v = Number(answer);
    for (;;) {
      const w = v + rng.pick([1, -1, 10, -10, 2, 100]);
      if (w >= 0 && w !== v) return String(w);
    }
  }
  const others = pool.filter((x) => x !== answer);
  return others.length > 0 ? rng.pick(others) : `${answer} (unsure)`;
}

/** Generates `n` preference pairs over arithmetic and world prompts. */
export function generatePreference(
  rng: WorldRng,
  world: World,
  n: number,
  opts: { levels?: number[]; split: Split; worldSeed: number },
): PreferenceRecord[] {
  const arithLevels = (opts.levels?.filter((l) => l <= 5) ?? [1, 2, 3]).map((l) => [l, 1] as const);
  const out: PreferenceRecord[] = [];
  while (out.length < n) {
    let question: string;
    let answer: string;
    let sentence: (a: string) => string;
    let pool: string[] = [];
    if (rng.chance(0.5) && arithLevels.length > 0) {
      const p = sampleArithmeticAt(rng, arithLevels, opts.split);
      question = arithmeticQuestion(p);
      answer = String(p.answer);
      sentence = (a) => `${arithmeticExpression(p)} = ${a}.`;
    } else {
      const q = sampleWorldQuestionAt(rng, world, WORLD_QUESTION_LEVELS, opts.split);
      question = q.question;
      answer = q.answer;
      sentence = (a) => `The answer is ${a}.`;
      pool = /^\d+$/.test(answer)
        ? []
        : [
            ...new Set(
              [world.places.map((p) => p.name), world.people.map((p) => p.name), JOBS.map((j) => j.name), FOODS, world.people.map((p) => `${p.owns.color} ${p.owns.object.name}`)].find(
                (list) => list.includes(answer),
              ) ?? [],
            ),
          ];
    }
    const numeric = /^\d+$/.test(answer);
    const style = (): Style => ({ correct: rng.chance(0.6), verbose: rng.chance(0.4), rude: rng.chance(0.25), boxed: rng.chance(0.85) });
    const sa = style();
    const sb = style();
    const ra = renderResponse(rng, sentence, sa.correct ? answer : wrongAnswer(rng, world, answer, numeric, pool), sa);
    const rb = renderResponse(rng, sentence, sb.correct ? answer : wrongAnswer(rng, world, answer, numeric, pool), sb);
    const prompt: ChatMessage[] = [{ role: 'user', content: question }];
    const score = (r: string) => goldReward(prompt, r, opts.worldSeed);
    const [a, b] = [score(ra), score(rb)];
    if (Math.abs(a - b) < 0.05) continue; // the annotator sees no clear preference: no pair
    const [chosen, rejected, sc, sr] = a > b ? [ra, rb, a, b] : [rb, ra, b, a];
    out.push({
      prompt,
      chosen: [{ role: 'assistant', content: chosen }],
      rejected: [{ role: 'assistant', content: rejected }],
      score_chosen: sc,
      score_rejected: sr,
    });
  }
  return out;
}
