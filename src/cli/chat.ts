/**
 * `glmkit chat --model DIR [--thinking on|off]`: an interactive terminal chat. Each answer shows the
 * reasoning (dimmed, when the model thinks) apart from the reply. Commands: /think, /nothink,
 * /reset, /exit.
 */
import { createInterface } from 'node:readline';
import { UsageError } from '../errors.js';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { loadTokenizer, type ChatMessage } from '../tokenizer/index.js';
import { intFlag, numberFlag, parseFlags } from './args.js';
import { chatTurn } from './chat-turn.js';

const HELP = `usage: glmkit chat --model DIR [--thinking on|off] [--max-new-tokens N] [--temperature T] [--system TEXT]

Type a message and press enter. /think and /nothink switch reasoning, /reset clears the history,
/exit (or end of input) quits.`;

export async function chatCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('chat', argv, {
    model: { type: 'string' }, thinking: { type: 'string' }, 'max-new-tokens': { type: 'string' },
    temperature: { type: 'string' }, system: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.model) throw new UsageError('chat: --model DIR is required');
  if (values.thinking && values.thinking !== 'on' && values.thinking !== 'off') throw new UsageError(`chat: --thinking must be on or off, got '${values.thinking}'`);
  const model = loadCausalLM(values.model);
  const tok = loadTokenizer(values.model);
  let thinking = values.thinking !== 'off';
  const maxNewTokens = intFlag('chat', 'max-new-tokens', values['max-new-tokens'], 256, 1);
  const temperature = numberFlag('chat', 'temperature', values.temperature, 0.7);
  let seed = intFlag('chat', 'seed', values.seed, 0);
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
