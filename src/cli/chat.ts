/**
 * `glmkit chat --model DIR [--thinking on|off]`: an interactive terminal chat. Each answer shows the
 * reasoning (dimmed, when the model thinks) apart from the reply. Commands: /think, /nothink,
 * /reset, /exit.
 */
import { createInterface } from 'node:readline';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { loadTokenizer, type ChatMessage } from '../tokenizer/index.js';
import { dtypeField, field, parseCommand } from './args.js';
import { chatTurn } from './chat-turn.js';
import { modelDir } from './paths.js';

const spec = {
  name: 'chat',
  usage: 'glmkit chat --model DIR [--thinking on|off] [--max-new-tokens N] [--temperature T] [--system TEXT]',
  description: 'Type a message and press enter. /think and /nothink switch reasoning, /reset clears the history,\n/exit (or end of input) quits.',
  schema: {
    model: field('path', '', 'the model folder (with tokenizer.json)', { required: true, placeholder: 'dir' }),
    thinking: field('boolean', true, 'reason in <think> before answering (on) or answer directly (off)', { onOff: true }),
    max_new_tokens: field('int', 256, 'tokens per answer at most', { min: 1 }),
    temperature: field('number', 0.7, 'sampling temperature (0 = greedy)', { min: 0 }),
    system: field<string | null>('string', null, 'a system message', { nullable: true, placeholder: 'text' }),
    seed: field('int', 0, 'sampling seed of the first answer (then +1 per answer)'),
    dtype: dtypeField(),
  },
};

export async function chatCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const values = parsed.values;
  modelDir('chat', '--model', values.model, true);
  const model = loadCausalLM(values.model, { dtype: values.dtype });
  const tok = loadTokenizer(values.model);
  let thinking = values.thinking;
  const maxNewTokens = values.max_new_tokens;
  const temperature = values.temperature;
  let seed = values.seed;
  const start: ChatMessage[] = values.system ? [{ role: 'system', content: values.system }] : [];
  let history: ChatMessage[] = [...start];
  const tty = !!process.stdout.isTTY;
  const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: tty, prompt: tty ? '> ' : '' });
  console.log(`glmkit chat (${thinking ? 'thinking' : 'direct'} mode; /think, /nothink, /reset, /exit)`);
  rl.prompt();
  for await (const line of rl) {
    const text = line.trim();
    if (text === '/exit') break;
    if (text === '/think' || text === '/nothink') {
      thinking = text === '/think';
      console.log(`(${thinking ? 'thinking' : 'direct'} mode)`);
    } else if (text === '/reset') {
      history = [...start];
      console.log('(history cleared)');
    } else if (text) {
      history.push({ role: 'user', content: text });
      const turn = chatTurn(model, tok, history, { thinking, maxNewTokens, temperature, topP: 1, seed: seed++ });
      if (turn.reasoning_content) console.log(dim(`[thinking] ${turn.reasoning_content}`));
      console.log(turn.content + (turn.finishReason === 'length' ? dim(' [cut at the token limit]') : ''));
      history.push({ role: 'assistant', content: turn.content, reasoning_content: turn.reasoning_content ?? '' });
    }
    rl.prompt();
  }
  rl.close();
  return 0;
}
