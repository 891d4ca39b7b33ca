/**
 * The domains of expert iteration on the built-in world, each with train and test prompts (disjoint:
 * different seeds and the world's test split, then deduplicated by question), how a sample of it is
 * judged while distilling, and how a model is scored on it:
 *
 *   reasoning  arithmetic word problems, levels 1-5, in thinking mode; verifier = the boxed answer
 *   tool       python-tool problems (large products, powers, remainders); verifier = the boxed answer
 *              after at least one well-formed tool call
 *   chat       the world's preference prompts; while distilling, the reward model's score; scored by
 *              the world's gold reward (the hidden rubric: correct, concise, polite)
 */
import { generateWorldTask, type RlRecord } from '../../data/world/index.js';
import { goldReward } from '../../data/world/preference.js';
import { WorldRng } from '../../data/world/rng.js';
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import { ConfigError } from '../../errors.js';
import { worldToolPrompts, type RlPrompt } from '../grpo/grpo-data.js';

export const DOMAINS = ['reasoning', 'tool', 'chat'] as const;
export type Domain = (typeof DOMAINS)[number];

export interface DomainPrompts {
  domain: Domain;
  /** verifiable domains: records with an answer; chat: prompts without one */
  train: RlPrompt[];
  test: RlPrompt[];
}

export function isVerifiable(d: Domain): boolean {
  return d !== 'chat';
}

export function parseDomains(list: string): Domain[] {
  const out = list.split(',').map((s) => s.trim()).filter(Boolean);
  for (const d of out) if (!(DOMAINS as readonly string[]).includes(d)) throw new ConfigError(`distill: unknown domain '${d}'; expected some of ${DOMAINS.join(', ')}`);
  if (out.length === 0) throw new ConfigError(`distill: no domains given; expected some of ${DOMAINS.join(', ')}`);
  return [...new Set(out)] as Domain[];
}

const questionOf = (p: RlPrompt) => p.prompt.map((m) => m.content ?? '').join('\n');

/** Up to n prompts whose question is not in `taken` (which it extends). */
function distinct(ps: RlPrompt[], n: number, taken: Set<string>): RlPrompt[] {
  const out: RlPrompt[] = [];
  for (const p of ps) {
    const q = questionOf(p);
    if (taken.has(q)) continue;
    taken.add(q);
    out.push(p);
    if (out.length === n) break;
  }
  return out;
}

/** Train and test prompts of a domain (seeded; the test prompts never appear among the train ones). */
export function domainPrompts(domain: Domain, nTrain: number, nTest: number, seed: number): DomainPrompts {
  const taken = new Set<string>();
  const make = (split: 'train' | 'test', n: number, offset: number): RlPrompt[] => {
    const s = seed + offset;
    if (domain === 'reasoning') {
      const recs = generateWorldTask('rl', { n: 4 * n + 8, seed: s, split, difficulty: [1, 2, 3, 4, 5] }) as RlRecord[];
      return recs.filter((r) => r.task === 'arithmetic').map((r) => ({ prompt: r.prompt, answer: r.answer, task: r.task, difficulty: r.difficulty }));
    }
    if (domain === 'tool') return worldToolPrompts(new WorldRng(s), 2 * n + 8);
    const recs = generateWorldTask('preference', { n: 2 * n + 8, seed: s, split }) as { prompt: ChatMessage[] }[];
    return recs.map((r) => ({ prompt: r.prompt, answer: '', task: 'chat' }));
  };
  // test first, so that a prompt drawn for both stays in the test set
  const test = distinct(make('test', nTest, 9100), nTest, taken);
  const train = distinct(make('train', nTrain, 9000), nTrain, taken);
  return { domain, train, test };
}

/** The gold score of a chat answer (the hidden rubric), in [0, 1]. */
export function chatGold(prompt: readonly ChatMessage[], answer: string): number {
  return goldReward(prompt, answer);
}
