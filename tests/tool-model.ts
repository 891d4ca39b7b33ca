/**
 * Fixture models that really speak the GLM chat format: a micro GLM trained briefly (SFT, through
 * the `glmkit sft` command) on a handful of chats until it reproduces them. Tests of the server and
 * the agent use them to get reasoning, tool calls and answers from a real model, not from a stub.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonl } from '../src/data/world/index.js';
import { configFromHf } from '../src/models/glm/config.js';
import { saveModel } from '../src/models/glm/checkpoint.js';
import { GlmForCausalLM } from '../src/models/glm/model.js';
import { renderChatText, type Conversation, type ToolSpec } from '../src/tokenizer/index.js';
import { trainBpeFromTexts } from '../src/tokenizer/bpe-train.js';
import { saveTokenizer } from '../src/tokenizer/tokenizer-json.js';
import { EOS_TOKEN } from '../src/tokenizer/special-tokens.js';
import { runCli } from './helpers.js';

export const WEATHER_TOOL: ToolSpec = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather of a city.',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

/** The chats the server-test model learns: a tool-call round trip (with and without thinking) and the thinking switch. */
export function serverChats(): Conversation[] {
  return [
    {
      tools: [WEATHER_TOOL],
      messages: [
        { role: 'user', content: 'What is the weather in Paris?' },
        { role: 'assistant', reasoning_content: 'I need the weather tool.', content: '', tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: { city: 'Paris' } } }] },
        { role: 'tool', tool_call_id: 'call_0', content: 'sunny' },
        { role: 'assistant', reasoning_content: 'The tool said sunny.', content: 'It is sunny in Paris.' },
      ],
    },
    {
      tools: [WEATHER_TOOL],
      enable_thinking: false,
      messages: [
        { role: 'user', content: 'What is the weather in Paris?' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: { city: 'Paris' } } }] },
      ],
    },
    { messages: [{ role: 'user', content: 'Say hello.' }, { role: 'assistant', reasoning_content: 'The user greets me.', content: 'Hello there!' }], enable_thinking: true },
    { messages: [{ role: 'user', content: 'Say hello.' }, { role: 'assistant', content: 'Hi!' }], enable_thinking: false },
  ];
}

/**
 * Writes a micro model folder under `dir` and SFT-trains it on `chats` for `steps` steps
 * (all chats in every batch). Returns the trained model folder (`dir/sft/final`). Reuses a finished
 * folder when called again with the same dir.
 */
export async function trainChatModel(dir: string, chats: Conversation[], opts: { steps?: number; hidden?: number; lr?: number } = {}): Promise<string> {
  const final = join(dir, 'sft', 'final');
  if (existsSync(join(final, 'model.safetensors'))) return final;
  mkdirSync(dir, { recursive: true });
  const texts = chats.map((c) => renderChatText({ ...c, add_generation_prompt: false }));
  const tok = trainBpeFromTexts([...texts, ...texts, ...texts], { vocabSize: 400 });
  const hidden = opts.hidden ?? 64;
  const cfg = configFromHf(
    {
      model_type: 'glm4', vocab_size: tok.vocabSize, hidden_size: hidden, intermediate_size: 2 * hidden, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, head_dim: hidden / 4, partial_rotary_factor: 0.5, max_position_embeddings: 512,
      attention_bias: true, tie_word_embeddings: false, initializer_range: 0.05,
      pad_token_id: tok.requireId(EOS_TOKEN), eos_token_id: tok.requireId(EOS_TOKEN), bos_token_id: null,
    },
    'tool-fixture',
  );
  const init = join(dir, 'init');
  saveModel(init, new GlmForCausalLM(cfg, { seed: 11 }));
  saveTokenizer(tok, init);
  const data = join(dir, 'chats.jsonl');
  await writeJsonl(data, chats);
  const r = runCli([
    'sft', '--model', init, '--data', data, '--out', join(dir, 'sft'), '--max-steps', String(opts.steps ?? 200),
    '--per-device-train-batch-size', String(chats.length), '--learning-rate', String(opts.lr ?? 5e-3), '--warmup-steps', '5',
    '--weight-decay', '0', '--quiet',
  ], { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`sft of the fixture model failed: ${r.stderr}`);
  return final;
}
