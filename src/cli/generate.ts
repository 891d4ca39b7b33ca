/**
 * `glmkit generate --model DIR (--ids 1,2,3 | --prompt TEXT [--image F]... | --prompts FILE.jsonl)`:
 * raw token continuation, one chat turn rendered with the GLM template (reasoning and answer shown
 * apart), or one turn per JSONL chat. A GLM-4.1V folder (glm4v) reads images: `--image` files with
 * --prompt, image parts in the JSONL messages (relative paths resolve against the JSONL's folder).
 */
import { dirname, resolve } from 'node:path';
import { DataError, UsageError } from '../errors.js';
import { readJsonl } from '../data/jsonl.js';
import { generate } from '../generation/generate.js';
import { generateSpeculative } from '../generation/speculative.js';
import { generateWithImages } from '../generation/vlm-generate.js';
import type { ImageChatPrompt } from '../generation/vlm-rollout.js';
import { conversationImageParts, normalizeConversation } from '../tokenizer/chat-validate.js';
import { dtypeField, field, parseCommand } from './args.js';
import type { Values as Values_ } from '../trainers/base/config.js';
import { parseIds } from './logits.js';
import { chatTurns, loadChatModel, loadGenerationModel, requireVision, type ChatModel, type TurnResult } from './chat-turn.js';
import { inputFile, modelDir } from './paths.js';

const spec = {
  name: 'generate',
  usage: 'glmkit generate --model DIR (--ids 1,2,3 | --prompt TEXT [--image FILE]... | --prompts FILE.jsonl) [options]',
  description: 'Continue token ids (no template), answer one user message rendered with the GLM chat template, or answer\nevery chat of a JSONL file ({"messages": [...]} or {"prompt": "..."} per line; one JSON answer per line).\nA GLM-4.1V model folder (glm4v) reads images: --image FILE with --prompt, image parts in the JSONL messages.',
  schema: {
    model: field('path', '', 'the model folder', { required: true, placeholder: 'dir' }),
    ids: field<string | null>('string', null, 'continue these token ids, e.g. 1,2,3 (no template)', { nullable: true, placeholder: 'ids' }),
    prompt: field<string | null>('string', null, "a user message, rendered with the model's GLM chat template", { nullable: true, placeholder: 'text' }),
    image: field<string | string[] | null>('path', null, 'with --prompt: an image the message is about, placed before the text (repeatable; needs a GLM-4.1V model)', { nullable: true, multiple: true, placeholder: 'file' }),
    prompts: field<string | null>('path', null, 'a JSONL file of chats to answer; image paths in it are relative to its folder', { nullable: true, placeholder: 'file' }),
    batch_size: field('int', 8, 'with --prompts: chats sampled together', { min: 1 }),
    thinking: field('boolean', true, 'with --prompt/--prompts: reason in <think> first (on) or answer directly (off); a record\'s "enable_thinking" wins', { onOff: true }),
    max_new_tokens: field<number | null>('int', null, 'tokens to generate (default 32 with --ids, 256 with --prompt/--prompts)', { nullable: true, min: 0 }),
    temperature: field<number | null>('number', null, '0 = greedy (default 1 with --ids, 0 with --prompt/--prompts)', { nullable: true, min: 0 }),
    top_p: field('number', 1, 'nucleus sampling', { min: 0, max: 1 }),
    top_k: field('int', 0, 'top-k sampling (0 = off)', { min: 0 }),
    stop: field<string | null>('string', null, "stop token ids, e.g. 5,6 (default: the config's eos_token_id)", { nullable: true, placeholder: 'ids' }),
    seed: field('int', 0, 'sampling seed'),
    speculative: field('boolean', false, "with --ids: draft with the model's MTP layer and verify with the main model (GLM-4.5 models; same output distribution, greedy output identical)"),
    dtype: dtypeField(),
    json: field('boolean', false, 'print JSON ({"ids": [...]} or the chat turn); --prompts always prints JSON lines'),
  },
};

type Values = Values_<typeof spec.schema>;

function turnJson(t: TurnResult): Record<string, unknown> {
  return { text: t.text, reasoning_content: t.reasoning_content, content: t.content, tool_calls: t.tool_calls, ids: t.ids, finish_reason: t.finishReason };
}

/** The chats of a prompts JSONL file: `messages` (content may hold image parts) or `prompt` text; enable_thinking optional. */
function readPrompts(file: string, m: ChatModel): { prompts: ImageChatPrompt[]; where: { file: string; line: number }[] } {
  const prompts: ImageChatPrompt[] = [], where: { file: string; line: number }[] = [];
  for (const rec of readJsonl(file)) {
    const v = rec.value, loc = { file, line: rec.line };
    let messages: unknown[];
    if (Array.isArray(v.messages)) messages = v.messages;
    else if (typeof v.prompt === 'string') messages = [{ role: 'user', content: v.prompt }];
    else throw new DataError('expected "messages": a list of chat messages, or "prompt": a string', { ...loc, field: 'messages' });
    if (v.enable_thinking !== undefined && typeof v.enable_thinking !== 'boolean') throw new DataError(`expected a boolean, got ${JSON.stringify(v.enable_thinking)}`, { ...loc, field: 'enable_thinking' });
    const parts = conversationImageParts(normalizeConversation({ messages }, `${file}:${rec.line}`));
    if (parts.length > 0 && m.kind !== 'vision') {
      throw new DataError(`holds ${parts.length} image(s), but ${m.dir} is a text-only model; use a GLM-4.1V (glm4v) model folder or drop the image parts`, { ...loc, field: parts[0].field });
    }
    prompts.push({ messages, enable_thinking: v.enable_thinking as boolean | undefined });
    where.push(loc);
  }
  return { prompts, where };
}

async function chatMode(v: Values): Promise<number> {
  modelDir('generate', '--model', v.model, true);
  const images = v.image === null ? [] : Array.isArray(v.image) ? v.image : [v.image];
  for (const f of images) inputFile('generate', '--image', f, 'an image file (PNG, JPEG, WebP, ...)');
  if (v.prompts !== null) inputFile('generate', '--prompts', v.prompts, 'a JSONL file of chats');
  const m = loadChatModel(v.model, v.dtype);
  if (images.length > 0) requireVision('generate', m, '--image');
  const opts = { thinking: v.thinking, maxNewTokens: v.max_new_tokens ?? 256, temperature: v.temperature ?? 0, topP: v.top_p, seed: v.seed };
  if (v.prompts !== null) {
    const { prompts, where } = readPrompts(v.prompts, m);
    const turns = await chatTurns(m, prompts, { ...opts, baseDir: dirname(resolve(v.prompts)), batchSize: v.batch_size, where });
    for (const [i, t] of turns.entries()) process.stdout.write(JSON.stringify({ index: i, ...turnJson(t) }) + '\n');
    return 0;
  }
  const content = images.length === 0 ? v.prompt! : [...images.map((f) => ({ type: 'image', image: resolve(f) })), { type: 'text', text: v.prompt! }];
  const [turn] = await chatTurns(m, [{ messages: [{ role: 'user', content }] }], { ...opts, baseDir: process.cwd() });
  if (v.json) process.stdout.write(JSON.stringify(turnJson(turn)) + '\n');
  else {
    if (turn.reasoning_content) console.log(`[thinking]\n${turn.reasoning_content}\n[answer]`);
    console.log(turn.content);
  }
  return 0;
}

export async function generateCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  const modes = [v.ids, v.prompt, v.prompts].filter((x) => x !== null).length;
  if (modes !== 1) throw new UsageError('generate: give exactly one of --ids 1,2,3, --prompt TEXT or --prompts FILE.jsonl; see glmkit generate --help');
  if (v.speculative && v.ids === null) throw new UsageError('generate: --speculative works with --ids (raw continuation) only; drop --prompt/--prompts or --speculative');
  if (v.image !== null && v.prompt === null) throw new UsageError('generate: --image goes with --prompt TEXT (a JSONL file names its images in its messages)');
  if (v.ids === null) return chatMode(v);
  const ids = parseIds('generate', v.ids ?? undefined);
  const stop = v.stop !== null ? parseIds('generate', v.stop, '--stop') : null;
  modelDir('generate', '--model', v.model);
  const m = loadGenerationModel(v.model, v.dtype);
  const eos = m.kind === 'text' ? m.model.config.eosTokenId : m.model.config.text.eosTokenId;
  const stopTokens = stop ?? (eos === null ? [] : Array.isArray(eos) ? eos : [eos]);
  const sampling = { maxNewTokens: v.max_new_tokens ?? 32, temperature: v.temperature ?? 1, topP: v.top_p, topK: v.top_k, seed: v.seed, stopTokens };
  if (v.speculative) {
    if (m.kind !== 'text') throw new UsageError(`generate: --speculative needs a GLM-4.5 model with an MTP layer; ${v.model} is a vision-language model`);
    const r = generateSpeculative(m.model, ids, sampling);
    const rate = r.drafted ? r.accepted / r.drafted : 0;
    if (v.json) process.stdout.write(JSON.stringify({ ids: r.tokens, finish_reason: r.finishReason, drafted: r.drafted, accepted: r.accepted, accept_rate: rate, main_forwards: r.mainForwards }) + '\n');
    else {
      console.log(r.tokens.join(' '));
      console.error(`speculative: ${r.accepted} of ${r.drafted} drafts accepted (${(100 * rate).toFixed(1)}%), ${r.mainForwards} main forwards for ${r.tokens.length} tokens`);
    }
    return 0;
  }
  const res = m.kind === 'text' ? generate(m.model, [ids], { ...sampling, logprobs: false }) : generateWithImages(m.model, [{ ids }], sampling);
  if (v.json) process.stdout.write(JSON.stringify({ ids: res.tokens[0], finish_reason: res.finishReason[0] }) + '\n');
  else console.log(res.tokens[0].join(' '));
  return 0;
}

