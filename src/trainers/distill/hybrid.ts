/**
 * Hybrid reasoning in the distilled data (GLM-4.5's unified model answers simple prompts without
 * thinking): a kept example is stored in direct mode (no reasoning, `enable_thinking: false`) when
 * reasoning does not help there:
 *
 *   a domain listed in `directDomains` (e.g. chat: no verifier to say reasoning helps): always direct;
 *   a verifiable domain: direct when the student's own direct answers to that prompt are already right
 *     at least `directThreshold` of the time (estimated from `directSamples` direct-mode samples);
 *   otherwise thinking mode, with the expert's reasoning kept.
 */
import type { ChatMessage } from '../../tokenizer/chat-types.js';

export interface HybridRule {
  /** direct-mode success rate of the student at or above which a prompt is stored in direct mode */
  directThreshold: number;
  /** domains stored in direct mode whatever the success rate */
  directDomains: readonly string[];
}

export type Mode = 'direct' | 'thinking';

/** The mode of an example of `domain` whose prompt the student answers directly with `directRate` (null: not measured). */
export function chooseMode(domain: string, directRate: number | null, rule: HybridRule): Mode {
  if (rule.directDomains.includes(domain)) return 'direct';
  return directRate !== null && directRate >= rule.directThreshold ? 'direct' : 'thinking';
}

/** The messages with every assistant turn's reasoning removed (the direct-mode form of an example). */
export function withoutReasoning(messages: readonly ChatMessage[]): ChatMessage[] {
  return messages.map((m) => {
    if (m.role !== 'assistant' || m.reasoning_content === undefined) return m;
    const { reasoning_content: _dropped, ...rest } = m;
    return rest;
  });
}

/** A TRL conversational SFT record of an example in the given mode. */
export function sftRecord(messages: readonly ChatMessage[], mode: Mode, tools?: readonly unknown[]): { messages: ChatMessage[]; enable_thinking: boolean; tools?: unknown[] } {
  return { messages: mode === 'direct' ? withoutReasoning(messages) : [...messages], enable_thinking: mode === 'thinking', ...(tools && tools.length > 0 ? { tools: [...tools] } : {}) };
}
