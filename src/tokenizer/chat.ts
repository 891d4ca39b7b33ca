/**
 * Chat rendering for training and generation: conversation -> { text, ids, assistantMask }.
 *
 * Token ids: the template's special tokens map straight to their ids; runs of text between them are
 * BPE-encoded with no special-token matching, so text a user wrote (`<|user|>` inside a message)
 * can never become a control token. Wherever the text holds no special-token strings this equals
 * tokenizer.encode(text, { allowSpecial: true }), i.e. what transformers gets from the same template.
 *
 * SFT loss mask (assistantMask[i] = 1 means token i is a training target), following GLM's recipe:
 * - every token of an assistant turn after its `<|assistant|>` header: the `\n<think>...</think>`
 *   block (empty in direct mode, so the model learns the hybrid switch), the content and the tool
 *   calls;
 * - the token that ends the turn when it is a stop token (`<|user|>`, `<|observation|>` or the
 *   `<|endoftext|>` appended after a final assistant turn): the model must learn to hand the turn back;
 * - the `<|assistant|>` header itself, system / user / tool tokens and the generation prompt are
 *   prompt tokens (0).
 */
import { renderSegments, renderSegmentsText, type Segment } from './chat-template.js';
import { conversationImages, normalizeConversation } from './chat-validate.js';
import type { Conversation } from './chat-types.js';
import { DataError } from '../errors.js';
import { STOP_TOKENS } from './special-tokens.js';
import type { Tokenizer } from './tokenizer.js';

export interface RenderOptions {
  /**
   * Append `<|endoftext|>` (text and ids, trained) after a final assistant turn. Default: true when
   * the last message is an assistant turn and no generation prompt is requested.
   */
  appendEos?: boolean;
  /** Train only on assistant turns after the last user message (default false: all assistant turns). */
  lastTurnOnly?: boolean;
  /** File name for DataError locations. */
  file?: string;
  /**
   * `<|image|>` tokens per image of the conversation, in order (from the image processor's grids);
   * default one per image, the template's unexpanded form.
   */
  imageTokenCounts?: readonly number[];
  /**
   * Render image parts without `imageTokenCounts` (one placeholder each, e.g. to show a template).
   * Default false: ids for a model are either a vision model's (counts given) or a text model's,
   * which cannot see an image, so a conversation with images is a DataError rather than a prompt
   * whose images are silently dropped.
   */
  allowImages?: boolean;
}

export interface RenderedChat {
  text: string;
  ids: number[];
  /** 1 for tokens the SFT loss is computed on, 0 for prompt tokens; same length as ids. */
  assistantMask: number[];
}

function segmentsOf(conv: Conversation | unknown, opts: RenderOptions): Segment[] {
  const norm = normalizeConversation(conv, opts.file);
  if (opts.imageTokenCounts === undefined && !opts.allowImages) {
    const images = conversationImages(norm);
    if (images.length > 0) {
      throw new DataError(`the conversation holds ${images.length} image(s), but it is being rendered for a text-only model, which cannot see them; use a vision model (image chats: src/data/image-chat.ts) or remove the image parts`, { file: opts.file });
    }
  }
  const segs = renderSegments(norm, { lastTurnOnly: opts.lastTurnOnly, imageTokenCounts: opts.imageTokenCounts });
  const last = norm.messages.at(-1);
  const appendEos = opts.appendEos ?? (last?.role === 'assistant' && !norm.addGenerationPrompt);
  if (appendEos) segs.push({ text: '<|endoftext|>', special: true, train: last?.role === 'assistant' });
  // The stop token right after an assistant turn is a target too.
  for (let i = 1; i < segs.length; i++) {
    const prev = segs[i - 1];
    if (segs[i].special && STOP_TOKENS.includes(segs[i].text) && prev.train) segs[i].train = true;
  }
  return segs;
}

/** The prompt text of a conversation, exactly as the Jinja chat template renders it. */
export function renderChatText(conv: Conversation | unknown, opts: { file?: string; imageTokenCounts?: readonly number[] } = {}): string {
  return renderSegmentsText(renderSegments(normalizeConversation(conv, opts.file), { imageTokenCounts: opts.imageTokenCounts }));
}

/** The image references (paths, data URLs, URLs) of a conversation's user messages, in order; validates the conversation. */
export function chatImages(conv: Conversation | unknown, opts: { file?: string } = {}): string[] {
  return conversationImages(normalizeConversation(conv, opts.file));
}

/** Text, token ids and SFT loss mask of a conversation (see the file comment). */
export function renderChat(tok: Tokenizer, conv: Conversation | unknown, opts: RenderOptions = {}): RenderedChat {
  // A template special string the vocabulary lacks (e.g. <think> in a GLM-4 tokenizer) is plain
  // text, as it is for transformers encoding the same rendered text.
  const segs = segmentsOf(conv, opts).map((s) => (s.special && tok.tokenToId(s.text) === undefined ? { ...s, special: false } : s));
  const ids: number[] = [];
  const mask: number[] = [];
  let i = 0;
  while (i < segs.length) {
    const seg = segs[i];
    if (seg.special) {
      ids.push(tok.tokenToId(seg.text)!);
      mask.push(seg.train ? 1 : 0);
      i++;
      continue;
    }
    // A run of text segments with the same mask value is encoded as one string.
    let text = '';
    let j = i;
    while (j < segs.length && !segs[j].special && segs[j].train === seg.train) text += segs[j++].text;
    const run = tok.encodeOrdinary(text);
    for (const id of run) {
      ids.push(id);
      mask.push(seg.train ? 1 : 0);
    }
    i = j;
  }
  return { text: renderSegmentsText(segs), ids, assistantMask: mask };
}
