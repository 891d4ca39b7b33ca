/**
 * The chat message shapes glmkit reads and writes: OpenAI's (as vLLM/SGLang serve GLM), with
 * `reasoning_content` for the thinking part. Shared by the renderer, the data loaders, the world
 * generator and the server.
 */
export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

export interface ToolCall {
  id?: string;
  type: 'function';
  function: {
    name: string;
    /** An object, or a JSON string encoding one (OpenAI sends a string). */
    arguments: string | Record<string, unknown>;
  };
}

/** A text part of a message's content. */
export interface TextPart {
  type: 'text';
  text: string;
}

/**
 * An image part (user messages only): HF's `{"type": "image", "image": REF}` or OpenAI's
 * `{"type": "image_url", "image_url": {"url": REF}}`, where REF is a file path (relative to the
 * data file), a data URL, or an http(s) URL (fetched only from allow-listed hosts).
 */
export type ImagePart = { type: 'image'; image: string } | { type: 'image_url'; image_url: { url: string; detail?: string } };

export type ContentPart = TextPart | ImagePart;

/** A chat message whose content may hold images (what the vision data and `glmkit data vision` write). */
export interface MultimodalMessage extends Omit<ChatMessage, 'content'> {
  content: string | null | ContentPart[];
}

export interface ChatMessage {
  role: ChatRole;
  content: string | null;
  /** The thinking part of an assistant turn (rendered inside <think>...</think>). */
  reasoning_content?: string;
  tool_calls?: ToolCall[];
  /** For role 'tool': the id of the call it answers. */
  tool_call_id?: string;
  name?: string;
}

export interface ToolSpec {
  type: 'function';
  function: {
    name: string;
    description?: string;
    /** JSON schema of the arguments object. */
    parameters?: Record<string, unknown>;
  };
}

export interface Conversation {
  messages: ChatMessage[];
  tools?: ToolSpec[];
  /** Hybrid reasoning switch; default true. */
  enable_thinking?: boolean;
  add_generation_prompt?: boolean;
}
