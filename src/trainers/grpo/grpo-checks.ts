/**
 * GRPO's side of the RL checks (trainers/checks/): the chat-template boundary of each drawn prompt,
 * the rollout-level alarm inputs of a step, and the rollout dump records of a step's samples.
 */
import { DataError } from '../../errors.js';
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import type { DumpRecord } from '../checks/rl-checks.js';
import { round6 } from '../checks/rl-checks.js';
import { chatBoundaryProblems, type RenderIds } from '../checks/sequence-checks.js';
import type { RlPrompt } from './grpo-data.js';
import type { Rollout } from './rollout.js';

/** A training sample of a step, with what the dump and the alarms need. */
export interface CheckedSample {
  r: Rollout;
  advantage: number;
  reward?: number;
}

/**
 * Boundary problems of a rollout's prompt: rendering the record's prompt with the generation prompt
 * must give the rollout's prompt ids, a prefix of the rendering with the sampled reply.
 */
export function rolloutBoundaryProblems(tok: Tokenizer, record: RlPrompt, r: Rollout, thinking: boolean, render?: RenderIds): string[] {
  const reply: ChatMessage = { role: 'assistant', content: r.parsed.content };
  if (thinking && r.parsed.reasoning_content) reply.reasoning_content = r.parsed.reasoning_content;
  return chatBoundaryProblems(tok, { messages: record.prompt, tools: record.tools, enable_thinking: thinking }, r.promptIds, reply, render);
}

/** The DataError of a boundary violation, naming the prompt (its index in --data and its first words). */
export function boundaryError(record: RlPrompt, index: number, problems: readonly string[]): DataError {
  const text = record.prompt.map((m) => (typeof m.content === 'string' ? m.content : '')).join(' ').slice(0, 60);
  return new DataError(`prompt ${index} (${JSON.stringify(text)}): chat-template boundary: ${problems.join('; ')}; the policy would be trained on a context the template never produces. Fix the template or the prompt`, { field: 'prompt' });
}

/** Alarm inputs of one rollout batch (alarm/* fields of metrics.jsonl). */
export function rolloutAlarmFields(rolls: readonly Rollout[], rewards: readonly number[], zeroVarShare: number): Record<string, number> {
  const truncated = rolls.map((r, i) => [r, rewards[i]] as const).filter(([r]) => r.finish === 'length' || r.finish === 'forced');
  const f: Record<string, number> = {
    'alarm/zero_var_groups': zeroVarShare,
    'alarm/truncated': truncated.length / rolls.length,
    'alarm/mean_length': rolls.reduce((a, r) => a + r.generated, 0) / rolls.length,
  };
  if (truncated.length > 0) f['alarm/truncated_reward'] = truncated.reduce((a, [, x]) => a + x, 0) / truncated.length;
  return f;
}

/** Per-position grids of the trainer's forward over a micro-batch (absent for samples never trained). */
export interface DumpGrids {
  T: number;
  logp: Float32Array;
  ref: Float32Array | null;
  entropy: Float32Array;
}

/** Dump records of samples; `grids` null for samples of dropped groups (sampler values only). */
export function grpoDumpRecords(tok: Tokenizer, step: number, samples: readonly CheckedSample[], grids: DumpGrids | null, first: number, groupOf: (s: CheckedSample) => number, promptIndex: (s: CheckedSample) => number): DumpRecord[] {
  return samples.map((s, b) => {
    const r = s.r;
    const at = (g: Float32Array | null, t: number) => (g && grids ? round6(g[b * grids.T + r.promptIds.length - 1 + t]) : null);
    const trained = (t: number) => r.mask[t] === 1;
    return {
      step, sample: first + b, prompt_index: promptIndex(s), group: groupOf(s), kept: grids !== null,
      prompt: tok.decode(r.promptIds), completion: tok.decode(r.completion), finish: r.finish, reward: s.reward ?? NaN,
      reward_parts: { verifier: r.finish === 'malformed_tool' ? null : s.reward ?? null, malformed_tool: r.finish === 'malformed_tool', tool_calls: r.toolCalls, answer: r.parsed.content.slice(0, 200) },
      token_ids: r.completion.slice(), pieces: r.completion.map((t) => tok.decode([t])), mask: r.mask.slice(),
      sampler_logprob: r.logprobs.map((x, t) => (trained(t) ? round6(x) : null)),
      trainer_logprob: r.completion.map((_, t) => (trained(t) ? at(grids?.logp ?? null, t) : null)),
      ref_logprob: grids?.ref ? r.completion.map((_, t) => (trained(t) ? at(grids.ref, t) : null)) : null,
      entropy: r.completion.map((_, t) => (trained(t) ? at(grids?.entropy ?? null, t) : null)),
      advantage: r.completion.map((_, t) => (trained(t) ? round6(s.advantage) : null)),
    };
  });
}
