/**
 * How an answer is worded: the style features the world's simulated annotator judges (conciseness,
 * politeness) and that its demonstrations and preference pairs vary. One renderer serves both, so the
 * SFT demonstrations' defects are exactly the ones preference data teaches a policy to avoid.
 */
import type { WorldRng } from './rng.js';

/** Phrases the annotator counts as rude. */
export const RUDE_PHRASES: readonly string[] = [
  'obviously',
  'even a child',
  'stop wasting my time',
  'try to keep up',
  'what a silly question',
  'figure it out yourself',
];

/** Padding sentences of a verbose answer (each ~60-80 characters of final answer). */
export const FILLERS: readonly string[] = [
  'Let me walk you through this in great detail before I answer.',
  'This is the kind of question that deserves a careful and thorough explanation.',
  'I have considered many different angles and possibilities here.',
  'It is worth saying that I checked everything several times over.',
  'Questions like this can be tricky, and that is completely understandable.',
  'After a long and careful consideration, here is the result.',
];

export interface AnswerStyle {
  /** 2-4 filler sentences before the answer */
  verbose: boolean;
  /** a rude opener and closer */
  rude: boolean;
}

/** Wraps the answer sentence in `style`: `[opener] [fillers] sentence [rude closer]`. */
export function styleAnswer(rng: WorldRng, sentence: string, style: AnswerStyle): string {
  const parts: string[] = [];
  if (style.rude) parts.push(rng.pick(['Obviously,', 'What a silly question.']));
  else if (rng.chance(0.5)) parts.push(rng.pick(['Sure!', 'Happy to help.', 'Good question.']));
  if (style.verbose) parts.push(...rng.sample(FILLERS, rng.int(2, 4)));
  parts.push(sentence);
  if (style.rude) parts.push(rng.pick(['Even a child could do this.', 'Stop wasting my time.', 'Try to keep up.']));
  return parts.join(' ');
}

/**
 * The style of one SFT demonstration when a share `noise` of demonstrations carry a defect the
 * annotator dislikes (of those: 60% verbose, 25% rude, 15% both); `noise` 0 keeps every answer plain.
 */
export function demonstrationStyle(rng: WorldRng, noise: number): AnswerStyle | null {
  if (noise <= 0 || !rng.chance(noise)) return null;
  const kind = rng.weighted([
    ['verbose', 0.6],
    ['rude', 0.25],
    ['both', 0.15],
  ] as const);
  return { verbose: kind !== 'rude', rude: kind !== 'verbose' };
}
