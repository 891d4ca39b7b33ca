/**
 * Chats with images, ready for a vision model: the images of a conversation are loaded
 * (`image-source.ts`), preprocessed by the model's image processor, and the chat is rendered with
 * each image's `<|image|>` placeholder repeated once per image token, so the token ids line up with
 * the image features the model inserts (docs/data-formats.md "Images in chats").
 *
 * The image processor is passed in (`ImageProcessorLike`), so this module does not depend on a model:
 * with GLM-4.1V's processor it is
 *   { preprocess: (b) => preprocessImage(b, cfg), tokenCount: (g) => imageTokenCount(g, cfg.mergeSize) }
 * (src/models/glm4v/preprocess.ts).
 */
import { dirname } from 'node:path';
import { DataError, GlmkitError } from '../errors.js';
import { renderChat, type RenderOptions, type RenderedChat } from '../tokenizer/chat.js';
import { conversationImageParts, normalizeConversation } from '../tokenizer/chat-validate.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { loadImageBytes, type ImageSourceOptions } from './image-source.js';
import { dataFilesLabel, readJsonlFiles, type DataFiles } from './jsonl.js';

/** One preprocessed image: flattened patches and its (t, h, w) patch grid. */
export interface ProcessedImage {
  pixelValues: Float32Array;
  gridThw: [number, number, number];
}

/** What the chat side needs of an image processor. */
export interface ImageProcessorLike {
  /** Decodes, resizes and normalises one image (throws on undecodable or too large images). */
  preprocess(bytes: Uint8Array): Promise<ProcessedImage>;
  /** `<|image|>` tokens the language model sees for an image of this grid. */
  tokenCount(gridThw: [number, number, number]): number;
}

export interface ImageChat extends RenderedChat {
  /** The conversation's images in order, as the processor returned them. */
  images: ProcessedImage[];
}

export interface ImageChatOptions extends Omit<RenderOptions, 'imageTokenCounts' | 'file'> {
  /** Where relative image paths are resolved and remote hosts allowed (see image-source.ts). */
  source: Omit<ImageSourceOptions, 'where'>;
  processor: ImageProcessorLike;
  /** Location of the record, for errors: `file` and `line`. */
  where?: { file?: string; line?: number };
}

/** Loads and preprocesses the images of `conv`, then renders it with the matching image-token counts. */
export async function renderImageChat(tok: Tokenizer, conv: unknown, opts: ImageChatOptions): Promise<ImageChat> {
  const loc = opts.where?.file !== undefined && opts.where.line !== undefined ? `${opts.where.file}:${opts.where.line}` : opts.where?.file;
  const norm = normalizeConversation(conv, loc);
  const images: ProcessedImage[] = [];
  for (const part of conversationImageParts(norm)) {
    const where = { ...opts.where, field: part.field };
    const bytes = await loadImageBytes(part.image, { ...opts.source, where });
    try {
      images.push(await opts.processor.preprocess(bytes));
    } catch (e) {
      if (e instanceof GlmkitError) throw new DataError(`image ${part.image.slice(0, 80)}: ${e.message}`, where);
      throw e;
    }
  }
  const counts = images.map((im) => opts.processor.tokenCount(im.gridThw));
  const rendered = renderChat(tok, conv, { appendEos: opts.appendEos, lastTurnOnly: opts.lastTurnOnly, file: loc, imageTokenCounts: counts });
  return { ...rendered, images };
}

/** A tokenized SFT example with its images. */
export interface ImageSftExample {
  ids: Int32Array;
  mask: Uint8Array;
  images: ProcessedImage[];
}

/**
 * SFT examples from JSONL chats that may hold images (`{"messages", "enable_thinking"?}`), images
 * resolved relative to each file's folder. Examples longer than `maxLen` + 1 tokens (image tokens
 * included) are dropped and counted; a record without assistant tokens is a DataError.
 */
export async function loadImageSftExamples(files: DataFiles, tok: Tokenizer, maxLen: number, processor: ImageProcessorLike, source: Omit<ImageSourceOptions, 'where' | 'baseDir'> = {}): Promise<{ examples: ImageSftExample[]; dropped: number }> {
  const examples: ImageSftExample[] = [];
  let dropped = 0;
  for (const rec of readJsonlFiles(files)) {
    const v = rec.value;
    if (!Array.isArray(v.messages)) throw new DataError('expected "messages": a list of chat messages', { file: rec.file, line: rec.line, field: 'messages' });
    const chat = await renderImageChat(tok, { messages: v.messages, tools: v.tools, enable_thinking: v.enable_thinking }, { processor, source: { ...source, baseDir: dirname(rec.file) }, where: { file: rec.file, line: rec.line } });
    if (!chat.assistantMask.some((m) => m === 1)) throw new DataError('has no assistant tokens to train on', { file: rec.file, line: rec.line });
    if (chat.ids.length > maxLen + 1) {
      dropped++;
      continue;
    }
    examples.push({ ids: Int32Array.from(chat.ids), mask: Uint8Array.from(chat.assistantMask), images: chat.images });
  }
  if (examples.length === 0) throw new DataError(`all ${dropped} examples are longer than max_seq_length ${maxLen}; raise --max-seq-length`, { file: dataFilesLabel(files) });
  return { examples, dropped };
}
