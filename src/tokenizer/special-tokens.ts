/**
 * The special tokens of GLM's chat format (docs/methods.md §2). They are registered as added tokens: never
 * split by BPE, matched in text only when the caller allows it.
 *
 * The real GLM-4.5 vocabulary also registers `/nothink` as an added token (the renderer appends it
 * to user turns in direct mode) and `<eop>`, `[MASK]`, `[sMASK]` from GLM's blank infilling; glmkit
 * registers them too so its ids line up with the same strings.
 *
 * GLM-4.1V's image markers close the list (appended, so the ids of the tokens above do not move):
 * the chat template writes `<|begin_of_image|><|image|><|end_of_image|>` for an image and the
 * processor repeats `<|image|>` once per image token (docs/data-formats.md "Images in chats").
 */
export const GLM_SPECIAL_TOKENS: readonly string[] = [
  '<|endoftext|>',
  '[MASK]',
  '[gMASK]',
  '[sMASK]',
  '<sop>',
  '<eop>',
  '<|system|>',
  '<|user|>',
  '<|assistant|>',
  '<|observation|>',
  '<think>',
  '</think>',
  '<tool_call>',
  '</tool_call>',
  '<tool_response>',
  '</tool_response>',
  '<arg_key>',
  '</arg_key>',
  '<arg_value>',
  '</arg_value>',
  '/nothink',
  '<|begin_of_box|>',
  '<|end_of_box|>',
  '<|begin_of_image|>',
  '<|image|>',
  '<|end_of_image|>',
];

/** GLM-4.1V's image markers: an image is `<|begin_of_image|>` + N x `<|image|>` + `<|end_of_image|>`. */
export const IMAGE_BEGIN_TOKEN = '<|begin_of_image|>';
export const IMAGE_TOKEN = '<|image|>';
export const IMAGE_END_TOKEN = '<|end_of_image|>';

/** End of text: eos and pad of glmkit tokenizers. */
export const EOS_TOKEN = '<|endoftext|>';
/** Tokens that end a generation (the model hands the turn back). */
export const STOP_TOKENS: readonly string[] = ['<|endoftext|>', '<|user|>', '<|observation|>'];
