/** glmkit's tokenizer and GLM chat format: the public surface of src/tokenizer. */
export { Tokenizer, DecodeStream, type AddedToken, type EncodeOptions, type TokenizerConfig, type TokenizerSpec } from './tokenizer.js';
export { trainBpe, trainBpeFromTexts, WordCounter, type TrainOptions } from './bpe-train.js';
export { GLM4_PRE_TOKENIZER, GLM4_SPLIT_PATTERN, PreTokenizer, toJsRegex, type PreTokenizerSpec } from './pretokenize.js';
export { loadTokenizer, saveTokenizer, parseTokenizerJson, tokenizerToJson, tokenizerConfigToJson } from './tokenizer-json.js';
export { GLM_SPECIAL_TOKENS, EOS_TOKEN, STOP_TOKENS, IMAGE_BEGIN_TOKEN, IMAGE_TOKEN, IMAGE_END_TOKEN } from './special-tokens.js';
export { GLM_CHAT_TEMPLATE, pythonJson } from './chat-template.js';
export { chatImages, renderChat, renderChatText, type RenderOptions, type RenderedChat } from './chat.js';
export { conversationImages, imageRefOfPart, normalizeConversation, normalizeToolCall, type NormalConversation, type NormalMessage, type NormalPart, type NormalToolCall } from './chat-validate.js';
export { ChatOutputParser, parseChatOutput, type MalformedToolCall, type OutputDelta, type ParsedOutput, type ParserOptions } from './chat-parser.js';
export { readCorpusFile, recordText } from './corpus.js';
export type { ChatMessage, ChatRole, ContentPart, Conversation, ImagePart, MultimodalMessage, TextPart, ToolCall, ToolSpec } from './chat-types.js';
