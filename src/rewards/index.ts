/**
 * Reward of one RL record: picks the verifier by the record's `verifier` field, else by its task
 * (arithmetic and python-tool problems: exact numeric match; world questions: normalised exact match).
 */
import { ConfigError } from '../errors.js';
import type { ParsedOutput } from '../tokenizer/chat-parser.js';
import { clockMatchReward, editDistanceReward, exactMatchReward, numericMatchReward, toolCallReward, type ToolCallLike } from './verifiers.js';

export * from './verifiers.js';

export type VerifierName = 'numeric' | 'exact' | 'edit_distance' | 'tool_call' | 'clock';

/** What the verifiers need of an RL record. */
export interface VerifiableRecord {
  answer: string;
  task?: string;
  verifier?: VerifierName;
  /** numeric tolerance (relative) for `numeric` */
  tolerance?: number;
  /** expected calls for `tool_call` */
  tool_calls?: ToolCallLike[];
}

/** The verifier a record is checked with. */
export const VERIFIER_NAMES: readonly VerifierName[] = ['numeric', 'exact', 'edit_distance', 'tool_call', 'clock'];

export function verifierOf(record: VerifiableRecord): VerifierName {
  if (record.verifier !== undefined) {
    if (!VERIFIER_NAMES.includes(record.verifier)) throw new ConfigError(`unknown verifier ${JSON.stringify(record.verifier)}; expected one of ${VERIFIER_NAMES.join(', ')}`);
    return record.verifier;
  }
  switch (record.task) {
    case 'arithmetic':
    case 'tool':
      return 'numeric';
    case 'world':
    case undefined:
      return 'exact';
    default:
      throw new ConfigError(`no verifier for task "${record.task}": set "verifier" to numeric, exact, clock, edit_distance or tool_call in the record`);
  }
}

/** Reward in [0, 1] of a parsed model output for `record`. */
export function recordReward(record: VerifiableRecord, out: Pick<ParsedOutput, 'content' | 'reasoning_content' | 'tool_calls' | 'malformed'>): number {
  const msg = { content: out.content, reasoning_content: out.reasoning_content };
  switch (verifierOf(record)) {
    case 'numeric':
      return numericMatchReward(msg, record.answer, { relTol: record.tolerance ?? 0 });
    case 'exact':
      return exactMatchReward(msg, record.answer);
    case 'edit_distance':
      return editDistanceReward(msg, record.answer);
    case 'clock':
      return clockMatchReward(msg, record.answer);
    case 'tool_call':
      if (!record.tool_calls) throw new ConfigError('a tool_call record needs "tool_calls": the expected calls');
      return toolCallReward(out, record.tool_calls);
  }
}
