/**
 * Images in chat requests (`{"type": "image_url", "image_url": {"url": ...}}` or HF's
 * `{"type": "image", "image": ...}` content parts). A served GLM-4.1V model reads them: data URLs
 * always; file paths only under `--image-root DIR` (relative paths resolve against it, links are
 * followed before the check); http(s) URLs only from `--image-allow-host` hosts, fetched with the
 * byte cap. Each image is decoded and preprocessed here, on the HTTP thread, and travels to the
 * engine as pixel values with its grid. Every refusal is an OpenAI-shaped 400 naming the part.
 */
import { join } from 'node:path';
import { GlmkitError } from '../errors.js';
import { renderImageChat, type ImageProcessorLike, type ProcessedImage } from '../data/image-chat.js';
import { classifyImageRef, DEFAULT_MAX_IMAGE_BYTES, type ImageSourceOptions } from '../data/image-source.js';
import { readGlm4vConfigFile } from '../models/glm4v/config.js';
import { imageProcessor, readImageProcessorConfig } from '../models/glm4v/preprocess.js';
import { conversationImageParts, normalizeConversation } from '../tokenizer/chat-validate.js';
import { renderChat, type Tokenizer } from '../tokenizer/index.js';
import { ApiError, badParam } from './api-error.js';

/** Where a server may read request images from. */
export interface ServerImageOptions {
  /** file paths are read only inside this folder (null: no file paths at all) */
  root?: string | null;
  /** hosts http(s) images may be fetched from (default none) */
  allowHosts?: readonly string[];
  /** largest image in bytes (default 32 MiB) */
  maxBytes?: number;
}

/** A served vision model's image processor and the image sources it accepts. */
export interface VisionServing {
  processor: ImageProcessorLike;
  source: Omit<ImageSourceOptions, 'where'>;
  root: string | null;
}

/** The image side of a served glm4v folder: its preprocessor_config.json and the request image sources. */
export function visionServing(modelDir: string, opts: ServerImageOptions = {}): VisionServing {
  const cfg = readGlm4vConfigFile(join(modelDir, 'config.json'));
  const root = opts.root ?? null;
  return {
    processor: imageProcessor(readImageProcessorConfig(modelDir, cfg.vision)),
    source: { baseDir: root ?? process.cwd(), allowedRoot: root ?? undefined, allowRemote: opts.allowHosts ?? [], maxBytes: opts.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES },
    root,
  };
}

function imageError(e: GlmkitError, fallbackParam: string): ApiError {
  const field = (e as { field?: unknown }).field;
  const param = typeof field === 'string' ? field : fallbackParam;
  return badParam(param, e.message, /content\[\d+\]/.test(param) ? 'invalid_image' : 'invalid_value');
}

/**
 * Renders a chat request (`conv`: messages, tools, thinking switch, generation prompt) to prompt ids,
 * with the images read and preprocessed when the model is a vision model (`vision` non-null). A
 * text-only model given an image part, a file path without --image-root or outside it, a remote URL
 * not allow-listed, an undecodable image and one too large for max_pixels are each a 400.
 */
export async function renderRequestChat(tok: Tokenizer, conv: Record<string, unknown>, vision: VisionServing | null, modelId: string): Promise<{ ids: number[]; images: ProcessedImage[] }> {
  let parts: { image: string; field: string }[];
  try {
    parts = conversationImageParts(normalizeConversation(conv));
  } catch (e) {
    if (e instanceof GlmkitError) throw badParam('messages', e.message);
    throw e;
  }
  if (parts.length > 0 && !vision) {
    throw badParam(parts[0].field, `the model '${modelId}' is a text-only model and cannot read images (the request holds ${parts.length} image part(s)); send text only, or serve a GLM-4.1V (glm4v) model folder`, 'image_not_supported');
  }
  if (parts.length === 0 || !vision) {
    try {
      return { ids: renderChat(tok, conv).ids, images: [] };
    } catch (e) {
      if (e instanceof GlmkitError) throw badParam('messages', e.message);
      throw e;
    }
  }
  for (const p of parts) {
    let kind: string;
    try {
      kind = classifyImageRef(p.image, { ...vision.source, where: { field: p.field } }).kind;
    } catch (e) {
      if (e instanceof GlmkitError) throw imageError(e, p.field);
      throw e;
    }
    if (kind === 'file' && vision.root === null) {
      throw badParam(p.field, `${p.field}: image file paths are not read by this server (started without --image-root DIR); send the image as a data URL (data:image/png;base64,...)`, 'invalid_image');
    }
  }
  try {
    const r = await renderImageChat(tok, conv, { processor: vision.processor, source: vision.source });
    return { ids: r.ids, images: r.images };
  } catch (e) {
    if (e instanceof GlmkitError) throw imageError(e, 'messages');
    throw e;
  }
}
