/**
 * `glmkit template --conversation FILE.json [--model DIR] [--ids]`
 * Prints the conversation rendered in GLM's chat format. FILE holds
 * {"messages": [...], "tools"?: [...], "enable_thinking"?: bool, "add_generation_prompt"?: bool}
 * with tool calls in OpenAI's shape (arguments an object or a JSON string).
 * With --model, a folder whose tokenizer_config.json carries a chat_template other than glmkit's is
 * rendered with that Jinja template (through @huggingface/jinja); --ids prints
 * {"text", "ids", "assistant_mask"} instead of the bare text (needs --model).
 */
import { readFileSync } from 'node:fs';
import { DataError, UsageError } from '../errors.js';
import { renderChat, renderChatText } from '../tokenizer/chat.js';
import { GLM_CHAT_TEMPLATE } from '../tokenizer/chat-template.js';
import { normalizeConversation } from '../tokenizer/chat-validate.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import { commandHelp, field, parseCommand } from './args.js';
import { inputDir, inputFile } from './paths.js';

const spec = {
  name: 'template',
  usage: 'glmkit template --conversation FILE.json [--model DIR] [--ids]',
  schema: {
    conversation: field('path', '', '{"messages": [...], "tools"?: [...], "enable_thinking"?: bool, "add_generation_prompt"?: bool}', { required: true, placeholder: 'file' }),
    model: field<string | null>('path', null, "tokenizer folder: its chat_template (when not glmkit's) and its tokenizer for --ids", { nullable: true, placeholder: 'dir' }),
    ids: field('boolean', false, 'print {"text", "ids", "assistant_mask"} (SFT loss mask) instead of the text (needs --model)'),
  },
};

export const TEMPLATE_HELP = commandHelp(spec);

type Write = (text: string) => void;

/** Runs `glmkit template ...`; writes the rendered text (no newline added) and returns the exit code. */
export async function templateCommand(argv: string[], write: Write = (t) => process.stdout.write(t)): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  const values = { ...v, model: v.model ?? undefined };
  const file = v.conversation;
  if (values.ids && !values.model) throw new UsageError('template: --ids needs --model DIR (the tokenizer); see glmkit template --help');
  inputFile('template', '--conversation', file, 'a JSON conversation file');
  if (values.model) inputDir('template', '--model', values.model, 'a folder with tokenizer.json', ['tokenizer.json']);
  let conv: unknown;
  try {
    conv = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DataError(`cannot read a JSON conversation (${(e as Error).message})`, { file });
  }
  if (values.ids) {
    if (!values.model) throw new UsageError('template: --ids needs --model DIR (the tokenizer)');
    const r = renderChat(loadTokenizer(values.model), conv, { file, allowImages: true });
    write(JSON.stringify({ text: r.text, ids: r.ids, assistant_mask: r.assistantMask }) + '\n');
    return 0;
  }
  const custom = values.model ? loadTokenizer(values.model).config.chatTemplate : null;
  if (custom !== null && custom !== GLM_CHAT_TEMPLATE) {
    write(await renderJinja(custom, conv, file));
    return 0;
  }
  write(renderChatText(conv, { file }));
  return 0;
}

/** Renders a folder's own Jinja template, with tool-call arguments given as objects (as transformers does). */
async function renderJinja(template: string, conv: unknown, file: string): Promise<string> {
  const norm = normalizeConversation(conv, file); // validates; the raw messages go to the template
  const raw = conv as { messages: Array<Record<string, unknown>> };
  const messages = raw.messages.map((m, i) =>
    m.role === 'assistant' && norm.messages[i].toolCalls.length > 0
      ? { ...m, tool_calls: norm.messages[i].toolCalls.map((c) => ({ type: 'function', function: { name: c.name, arguments: c.arguments } })) }
      : m,
  );
  const { Template } = await import('@huggingface/jinja');
  const ctx: Record<string, unknown> = { ...(conv as object), messages, tools: norm.tools.length > 0 ? norm.tools : undefined };
  return new Template(template).render(ctx);
}
