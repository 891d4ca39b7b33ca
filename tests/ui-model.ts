/**
 * The model of the web UI's browser tests: a micro GLM SFT-trained on the server-test chats (the
 * thinking switch: "Say hello." answers with reasoning, or "Hi!" without) and one world chat that calls
 * `python`, so the chat view shows reasoning, the switch and a real tool step.
 */
import { generateWorldTask } from '../src/data/world/index.js';
import type { Conversation } from '../src/tokenizer/index.js';
import { serverChats, trainChatModel } from './tool-model.js';

export function uiChats(): { chats: Conversation[]; python: Conversation } {
  const sft = generateWorldTask('sft', { n: 400, seed: 9 }) as Conversation[];
  const python = sft.find((c) => c.messages.some((m) => m.tool_calls?.some((t) => t.function.name === 'python')));
  if (!python) throw new Error('the world SFT draw has no python tool chat');
  return { chats: [...serverChats().slice(2), python], python };
}

/** Trains (or reuses, when `dir` holds it) the UI test model; returns its folder. */
export async function trainUiModel(dir: string): Promise<string> {
  return trainChatModel(dir, uiChats().chats, { steps: 200, hidden: 64 });
}
