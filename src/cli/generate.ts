/**
 * `glmkit generate --model DIR (--ids 1,2,3 | --prompt TEXT [--thinking on|off]) [options]`: raw token
 * continuation, or one chat turn rendered with the GLM template (reasoning and answer shown apart).
 */
import { UsageError } from '../errors.js';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { generate } from '../generation/generate.js';
import { intFlag, numberFlag, parseFlags } from './args.js';
import { parseIds } from './logits.js';
import { loadTokenizer } from '../tokenizer/index.js';
import { chatTurn } from './chat-turn.js';

const HELP = `usage: glmkit generate --model DIR (--ids 1,2,3 | --prompt TEXT) [options]

  --ids 1,2,3          continue these token ids (no template)
  --prompt TEXT        a user message, rendered with the model's GLM chat template
  --thinking on|off    with --prompt: reason in <think> first (on, default) or answer directly (off)
  --max-new-tokens N   tokens to generate (default 32)
  --temperature T      0 = greedy (default 1)
  --top-p P            nucleus sampling (default 1)
  --top-k K            top-k sampling (default 0 = off)
  --stop 5,6           stop token ids (default: the config's eos_token_id)
  --seed S             sampling seed (default 0)
  --json               print {"ids": [...new token ids...]}`;

export async function generateCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('generate', argv, {
    model: { type: 'string' },
    ids: { type: 'string' },
    prompt: { type: 'string' },
    thinking: { type: 'string' },
    'max-new-tokens': { type: 'string' },
    temperature: { type: 'string' },
    'top-p': { type: 'string' },
    'top-k': { type: 'string' },
    stop: { type: 'string' },
    seed: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.model) throw new UsageError('generate: --model DIR is required');
  if ((values.ids === undefined) === (values.prompt === undefined)) throw new UsageError('generate: give exactly one of --ids 1,2,3 or --prompt TEXT');
  const thinking = values.thinking ?? 'on';
  if (thinking !== 'on' && thinking !== 'off') throw new UsageError(`generate: --thinking must be on or off, got '${thinking}'`);
  if (values.prompt !== undefined) {
    const model = loadCausalLM(values.model);
    const tok = loadTokenizer(values.model);
    const turn = chatTurn(model, tok, [{ role: 'user', content: values.prompt }], {
      thinking: thinking === 'on',
      maxNewTokens: intFlag('generate', 'max-new-tokens', values['max-new-tokens'], 256, 0),
      temperature: numberFlag('generate', 'temperature', values.temperature, 0),
      topP: numberFlag('generate', 'top-p', values['top-p'], 1),
      seed: intFlag('generate', 'seed', values.seed, 0),
    });
    if (values.json) process.stdout.write(JSON.stringify({ text: turn.text, reasoning_content: turn.reasoning_content, content: turn.content, tool_calls: turn.tool_calls, ids: turn.ids, finish_reason: turn.finishReason }) + '\n');
    else {
      if (turn.reasoning_content) console.log(`[thinking]\n${turn.reasoning_content}\n[answer]`);
      console.log(turn.content);
    }
    return 0;
  }
  const ids = parseIds('generate', values.ids);
  const model = loadCausalLM(values.model);
  const eos = model.config.eosTokenId;
  const stopTokens = values.stop ? parseIds('generate', values.stop) : eos === null ? [] : Array.isArray(eos) ? eos : [eos];
  const res = generate(model, [ids], {
    maxNewTokens: intFlag('generate', 'max-new-tokens', values['max-new-tokens'], 32, 0),
    temperature: numberFlag('generate', 'temperature', values.temperature, 1),
    topP: numberFlag('generate', 'top-p', values['top-p'], 1),
    topK: intFlag('generate', 'top-k', values['top-k'], 0, 0),
    seed: intFlag('generate', 'seed', values.seed, 0),
    stopTokens,
  });
  if (values.json) process.stdout.write(JSON.stringify({ ids: res.tokens[0], finish_reason: res.finishReason[0] }) + '\n');
  else console.log(res.tokens[0].join(' '));
  return 0;
}
