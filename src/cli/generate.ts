/**
 * `glmkit generate --model DIR (--ids 1,2,3 | --prompt TEXT [--thinking on|off]) [options]`: raw token
 * continuation, or one chat turn rendered with the GLM template (reasoning and answer shown apart).
 */
import { UsageError } from '../errors.js';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { generate } from '../generation/generate.js';
import { generateSpeculative } from '../generation/speculative.js';
import { dtypeField, field, parseCommand } from './args.js';
import { parseIds } from './logits.js';
import { loadTokenizer } from '../tokenizer/index.js';
import { chatTurn } from './chat-turn.js';
import { modelDir } from './paths.js';

const spec = {
  name: 'generate',
  usage: 'glmkit generate --model DIR (--ids 1,2,3 | --prompt TEXT) [options]',
  description: 'Continue token ids (no template), or answer one user message rendered with the GLM chat template.',
  schema: {
    model: field('path', '', 'the model folder', { required: true, placeholder: 'dir' }),
    ids: field<string | null>('string', null, 'continue these token ids, e.g. 1,2,3 (no template)', { nullable: true, placeholder: 'ids' }),
    prompt: field<string | null>('string', null, "a user message, rendered with the model's GLM chat template", { nullable: true, placeholder: 'text' }),
    thinking: field('boolean', true, 'with --prompt: reason in <think> first (on) or answer directly (off)', { onOff: true }),
    max_new_tokens: field<number | null>('int', null, 'tokens to generate (default 32 with --ids, 256 with --prompt)', { nullable: true, min: 0 }),
    temperature: field<number | null>('number', null, '0 = greedy (default 1 with --ids, 0 with --prompt)', { nullable: true, min: 0 }),
    top_p: field('number', 1, 'nucleus sampling', { min: 0, max: 1 }),
    top_k: field('int', 0, 'top-k sampling (0 = off)', { min: 0 }),
    stop: field<string | null>('string', null, "stop token ids, e.g. 5,6 (default: the config's eos_token_id)", { nullable: true, placeholder: 'ids' }),
    seed: field('int', 0, 'sampling seed'),
    speculative: field('boolean', false, "with --ids: draft with the model's MTP layer and verify with the main model (GLM-4.5 models; same output distribution, greedy output identical)"),
    dtype: dtypeField(),
    json: field('boolean', false, 'print JSON ({"ids": [...]} or the chat turn)'),
  },
};

export async function generateCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  if (v.speculative && v.prompt !== null) throw new UsageError('generate: --speculative works with --ids (raw continuation) only; drop --prompt or --speculative');
  if ((v.ids === null) === (v.prompt === null)) throw new UsageError('generate: give exactly one of --ids 1,2,3 or --prompt TEXT; see glmkit generate --help');
  if (v.prompt !== null) {
    modelDir('generate', '--model', v.model, true);
    const model = loadCausalLM(v.model, { dtype: v.dtype });
    const tok = loadTokenizer(v.model);
    const turn = chatTurn(model, tok, [{ role: 'user', content: v.prompt }], {
      thinking: v.thinking,
      maxNewTokens: v.max_new_tokens ?? 256,
      temperature: v.temperature ?? 0,
      topP: v.top_p,
      seed: v.seed,
    });
    if (v.json) process.stdout.write(JSON.stringify({ text: turn.text, reasoning_content: turn.reasoning_content, content: turn.content, tool_calls: turn.tool_calls, ids: turn.ids, finish_reason: turn.finishReason }) + '\n');
    else {
      if (turn.reasoning_content) console.log(`[thinking]\n${turn.reasoning_content}\n[answer]`);
      console.log(turn.content);
    }
    return 0;
  }
  const ids = parseIds('generate', v.ids ?? undefined);
  const stop = v.stop !== null ? parseIds('generate', v.stop, '--stop') : null;
  modelDir('generate', '--model', v.model);
  const model = loadCausalLM(v.model, { dtype: v.dtype });
  const eos = model.config.eosTokenId;
  const stopTokens = stop ?? (eos === null ? [] : Array.isArray(eos) ? eos : [eos]);
  const sampling = { maxNewTokens: v.max_new_tokens ?? 32, temperature: v.temperature ?? 1, topP: v.top_p, topK: v.top_k, seed: v.seed, stopTokens };
  if (v.speculative) {
    const r = generateSpeculative(model, ids, sampling);
    const rate = r.drafted ? r.accepted / r.drafted : 0;
    if (v.json) process.stdout.write(JSON.stringify({ ids: r.tokens, finish_reason: r.finishReason, drafted: r.drafted, accepted: r.accepted, accept_rate: rate, main_forwards: r.mainForwards }) + '\n');
    else {
      console.log(r.tokens.join(' '));
      console.error(`speculative: ${r.accepted} of ${r.drafted} drafts accepted (${(100 * rate).toFixed(1)}%), ${r.mainForwards} main forwards for ${r.tokens.length} tokens`);
    }
    return 0;
  }
  const res = generate(model, [ids], sampling);
  if (v.json) process.stdout.write(JSON.stringify({ ids: res.tokens[0], finish_reason: res.finishReason[0] }) + '\n');
  else console.log(res.tokens[0].join(' '));
  return 0;
}
