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
 * polite one wins. Pairs are `{"prompt", "chosen", "rejected", "score_chosen", "score_rejected",
 * "chosen_correct", "rejected_correct"}` in TRL's conversational form.
 */
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import { type ArithmeticProblem, applyOp, arithmeticExpression, arithmeticQuestion, arithmeticTrace, parseArithmeticQuestion } from './arithmetic.js';
import { sampleArithmeticAt } from './pretrain.js';
import { type WorldQuestion, answerWorldQuestion, sampleWorldQuestion } from './questions.js';
import { WorldRng, type Split } from './rng.js';
import { WORLD_QUESTION_LEVELS, sampleWorldQuestionAt } from './sft.js';
import { answerToolQuestion } from './tools.js';
import { type AnswerStyle, RUDE_PHRASES, styleAnswer } from './style.js';
import { BOX_CLOSE, BOX_OPEN, boxed, extractBoxed, finalAnswerText, normalizeAnswer, parseIntegerAnswer } from './verify.js';
import { type World, FOODS, JOBS, getWorld } from './world.js';
import { DataError } from '../../errors.js';

export interface PreferenceRecord {
  prompt: ChatMessage[];
  chosen: ChatMessage[];
  rejected: ChatMessage[];
  score_chosen: number;
  score_rejected: number;
  /** 1 when the response's one boxed answer is right (the labels of the reward model's multi-task BCE) */
  chosen_correct: number;
  rejected_correct: number;
}

export { RUDE_PHRASES } from './style.js';

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
  return goldRubric(prompt, response, worldSeed).score;
}

/**
 * The rubric's parts of `response` (see the module comment) and the gold reward they make; all 0 when
 * the response has no final answer. Throws DataError for a prompt the world did not generate.
 */
export function goldRubric(
  prompt: string | readonly ChatMessage[],
  response: string | ChatMessage | readonly ChatMessage[],
  worldSeed = 0,
): { correct: number; concise: number; polite: number; score: number } {
  const world = getWorld(worldSeed);
  const question = promptText(prompt);
  const solved = solveWorldPrompt(world, question);
  if (!solved) {
    throw new DataError(`goldReward: expected a prompt generated by the world (seed ${worldSeed}), got ${JSON.stringify(question.slice(0, 80))}`, {
      field: 'prompt',
    });
  }
  const text = responseFinalText(response);
  if (text === null) return { correct: 0, concise: 0, polite: 0, score: 0 };
  const correct = rubricCorrectness(world, question, text, solved);
  const length = text.split(BOX_OPEN).join('').split(BOX_CLOSE).join('').trim().length;
  const concise = length <= 60 ? 1 : Math.max(0, 1 - (length - 60) / 240);
  const polite = RUDE_PHRASES.some((r) => text.toLowerCase().includes(r)) ? 0 : 1;
  return { correct, concise, polite, score: Math.round((0.6 * correct + 0.25 * concise + 0.15 * polite) * 10000) / 10000 };
}

/** How a response of a pair is made: its wording, and whether (and how) its answer is wrong. */
interface ResponseSpec extends AnswerStyle {
  boxed: boolean;
  /** right; a slip (the reasoning is right, the stated answer is not); a misread (the reasoning works a
   *  slightly different problem, and the answer follows it) */
  error: 'none' | 'slip' | 'misread';
}

/** One problem of a pair: its right worked solution and a way to make each kind of wrong one. */
interface PairProblem {
  question: string;
  answer: string;
  numeric: boolean;
  trace: string;
  sentence: (a: string) => string;
  /** a plausible wrong answer (a slip) */
  wrong: () => string;
  /** the trace, answer and sentence of a misread problem (another operand, another person) */
  misread: () => { trace: string; answer: string; sentence: (a: string) => string };
}

function wrongNumber(rng: WorldRng, answer: string): string {
  const v = Number(answer);
  for (;;) {
    const w = v + rng.pick([1, -1, 10, -10, 2, 100]);
    if (w >= 0 && w !== v) return String(w);
  }
}

function arithmeticPairProblem(rng: WorldRng, p: ArithmeticProblem): PairProblem {
  const sentenceOf = (q: Pick<ArithmeticProblem, 'operands' | 'ops'>) => (a: string) => `${arithmeticExpression(q)} = ${a}.`;
  return {
    question: arithmeticQuestion(p),
    answer: String(p.answer),
    numeric: true,
    trace: arithmeticTrace(p),
    sentence: sentenceOf(p),
    wrong: () => wrongNumber(rng, String(p.answer)),
    misread: () => {
      // one operand read with one digit off; every intermediate value stays >= 0
      for (;;) {
        const i = rng.int(0, p.operands.length - 1);
        const operands = p.operands.slice();
        const v = operands[i] + rng.pick([1, -1, 10, -10]);
        if (v < 0 || String(v).length !== String(operands[i]).length) continue;
        operands[i] = v;
        let value = operands[0], ok = true;
        for (let k = 0; k < p.ops.length; k++) if ((value = applyOp(value, p.ops[k], operands[k + 1])) < 0) ok = false;
        if (!ok || value === p.answer) continue;
        const q = { operands, ops: p.ops };
        return { trace: arithmeticTrace(q), answer: String(value), sentence: sentenceOf(q) };
      }
    },
  };
}

function worldPairProblem(rng: WorldRng, world: World, q: WorldQuestion): PairProblem {
  const numeric = /^\d+$/.test(q.answer);
  const pool = numeric
    ? []
    : [
        ...new Set(
          [world.places.map((p) => p.name), world.people.map((p) => p.name), JOBS.map((j) => j.name), FOODS, world.people.map((p) => `${p.owns.color} ${p.owns.object.name}`)].find((list) =>
            list.includes(q.answer),
          ) ?? [],
        ),
      ];
  const sentence = (a: string) => `The answer is ${a}.`;
  return {
    question: q.question,
    answer: q.answer,
    numeric,
    trace: q.trace,
    sentence,
    wrong: () => {
      if (numeric) return wrongNumber(rng, q.answer);
      const others = pool.filter((x) => x !== q.answer);
      return others.length > 0 ? rng.pick(others) : `${q.answer} (unsure)`;
    },
    misread: () => {
      // the same kind of question about someone else, worked correctly: the wrong facts were recalled
      for (let tries = 0; tries < 200; tries++) {
        const other = sampleWorldQuestion(rng, world, q.level);
        if (other.kind === q.kind && other.answer !== q.answer) return { trace: other.trace, answer: other.answer, sentence };
      }
      return { trace: q.trace, answer: numeric ? wrongNumber(rng, q.answer) : `${q.answer} (unsure)`, sentence };
    },
  };
}

/** One response of a pair; `wording` draws the style's words (the error's draws come from `rng`). */
function renderPairResponse(rng: WorldRng, prob: PairProblem, spec: ResponseSpec, wording: WorldRng = rng): ChatMessage {
  let trace = prob.trace, answer = prob.answer, sentence = prob.sentence;
  if (spec.error === 'slip') answer = prob.wrong();
  else if (spec.error === 'misread') ({ trace, answer, sentence } = prob.misread());
  return { role: 'assistant', reasoning_content: trace, content: styleAnswer(wording, sentence(spec.boxed ? boxed(answer) : answer), spec) };
}

/**
 * A contrastive pair: one right and one wrong response (a slip or a misread) worded alike (same
 * style, same filler sentences), so only correctness tells them apart.
 */
function contrastivePair(rng: WorldRng, prob: PairProblem): [ChatMessage, ChatMessage] {
  const style = { verbose: rng.chance(0.4), rude: rng.chance(0.25), boxed: rng.chance(0.85) };
  const wordingSeed = rng.nextU32();
  const right = renderPairResponse(rng, prob, { ...style, error: 'none' }, new WorldRng(wordingSeed, 'wording'));
  const wrong = renderPairResponse(rng, prob, { ...style, error: rng.chance(0.5) ? 'slip' : 'misread' }, new WorldRng(wordingSeed, 'wording'));
  return [right, wrong];
}

/**
 * Generates `n` preference pairs over arithmetic and world prompts. Responses are thinking-mode
 * answers: `reasoning_content` holds a worked trace (the same as SFT data's) and `content` the final
 * answer in some style. A wrong response either slips (right reasoning, another answer stated) or
 * misreads (reasoning that correctly works a slightly different problem), so a reward model that
 * reads the reasoning can tell right from wrong; the annotator itself scores the final answer only.
 * A share `contrastive` of pairs (default 0) are contrastive pairs (see `contrastivePair`): training
 * data that leaves a reward model no style cue to lean on when correctness decides.
 */
export function generatePreference(
  rng: WorldRng,
  world: World,
  n: number,
  opts: { levels?: number[]; split: Split; worldSeed: number; contrastive?: number },
): PreferenceRecord[] {
  const contrastive = opts.contrastive ?? 0;
  const arithLevels = (opts.levels?.filter((l) => l <= 5) ?? [1, 2, 3]).map((l) => [l, 1] as const);
  const out: PreferenceRecord[] = [];
  while (out.length < n) {
    const prob =
      rng.chance(0.5) && arithLevels.length > 0
        ? arithmeticPairProblem(rng, sampleArithmeticAt(rng, arithLevels, opts.split))
        : worldPairProblem(rng, world, sampleWorldQuestionAt(rng, world, WORLD_QUESTION_LEVELS, opts.split));
    const spec = (): ResponseSpec => ({
      error: rng.chance(0.6) ? 'none' : rng.chance(0.5) ? 'slip' : 'misread',
      verbose: rng.chance(0.4),
      rude: rng.chance(0.25),
      boxed: rng.chance(0.85),
    });
    // (no draw when contrastive is 0: the stream, and so the data, stays as before the option existed)
    const [ra, rb] = contrastive > 0 && rng.chance(contrastive) ? contrastivePair(rng, prob) : [renderPairResponse(rng, prob, spec()), renderPairResponse(rng, prob, spec())];
    const prompt: ChatMessage[] = [{ role: 'user', content: prob.question }];
    const [ga, gb] = [goldRubric(prompt, ra, opts.worldSeed), goldRubric(prompt, rb, opts.worldSeed)];
    if (Math.abs(ga.score - gb.score) < 0.05) continue; // the annotator sees no clear preference: no pair
    const [[chosen, gc], [rejected, gr]] = ga.score > gb.score ? [[ra, ga], [rb, gb]] : [[rb, gb], [ra, ga]];
    const right = (g: { correct: number }) => (g.correct === 1 ? 1 : 0);
    out.push({ prompt, chosen: [chosen], rejected: [rejected], score_chosen: gc.score, score_rejected: gr.score, chosen_correct: right(gc), rejected_correct: right(gr) });
  }
  return out;
}
