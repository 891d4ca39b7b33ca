/**
 * `glmkit chat --model DIR [--thinking on|off] [--image FILE]...`: an interactive terminal chat. Each
 * answer shows the reasoning (dimmed, when the model thinks) apart from the reply. Commands: /think,
 * /nothink, /image FILE (a GLM-4.1V model: attach an image to the next message), /reset, /exit.
 * `--image` files go with the first message.
 */
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { GlmkitError } from '../errors.js';
import { dtypeField, field, parseCommand } from './args.js';
import { chatTurns, loadChatModel, requireVision } from './chat-turn.js';
import { inputFile, modelDir } from './paths.js';

const spec = {
  name: 'chat',
  usage: 'glmkit chat --model DIR [--thinking on|off] [--image FILE]... [--max-new-tokens N] [--temperature T] [--system TEXT]',
  description: 'Type a message and press enter. /think and /nothink switch reasoning, /image FILE attaches an image to\nthe next message (GLM-4.1V models), /reset clears the history, /exit (or end of input) quits.',
  schema: {
    model: field('path', '', 'the model folder (with tokenizer.json)', { required: true, placeholder: 'dir' }),
    thinking: field('boolean', true, 'reason in <think> before answering (on) or answer directly (off)', { onOff: true }),
    max_new_tokens: field('int', 256, 'tokens per answer at most', { min: 1 }),
    temperature: field('number', 0.7, 'sampling temperature (0 = greedy)', { min: 0 }),
    system: field<string | null>('string', null, 'a system message', { nullable: true, placeholder: 'text' }),
    seed: field('int', 0, 'sampling seed of the first answer (then +1 per answer)'),
    image: field<string | string[] | null>('path', null, 'an image sent with the first message (repeatable; needs a GLM-4.1V model)', { nullable: true, multiple: true, placeholder: 'file' }),
    dtype: dtypeField(),
  },
};

type Message = { role: string; content: unknown; reasoning_content?: string };

export async function chatCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const values = parsed.values;
  modelDir('chat', '--model', values.model, true);
  let pending = values.image === null ? [] : Array.isArray(values.image) ? values.image : [values.image];
  for (const f of pending) inputFile('chat', '--image', f, 'an image file (PNG, JPEG, WebP, ...)');
  const m = loadChatModel(values.model, values.dtype);
  if (pending.length > 0) requireVision('chat', m, '--image');
  pending = pending.map((f) => resolve(f));
  let thinking = values.thinking;
  const maxNewTokens = values.max_new_tokens;
  const temperature = values.temperature;
  let seed = values.seed;
  const start: Message[] = values.system ? [{ role: 'system', content: values.system }] : [];
  let history: Message[] = [...start];
  const tty = !!process.stdout.isTTY;
  const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: tty, prompt: tty ? '> ' : '' });
  console.log(`glmkit chat (${thinking ? 'thinking' : 'direct'} mode; /think, /nothink,${m.kind === 'vision' ? ' /image FILE,' : ''} /reset, /exit)`);
  rl.prompt();
  for await (const line of rl) {
    const text = line.trim();
    if (text === '/exit') break;
    if (text === '/think' || text === '/nothink') {
      thinking = text === '/think';
      console.log(`(${thinking ? 'thinking' : 'direct'} mode)`);
    } else if (text.startsWith('/image')) {
      const file = text.slice('/image'.length).trim();
      try {
        requireVision('chat', m, '/image');
        if (!file) throw new GlmkitError('usage', '/image needs a file: /image path/to/picture.png');
        inputFile('chat', '/image', file, 'an image file (PNG, JPEG, WebP, ...)');
        pending.push(resolve(file));
        console.log(`(${pending.length} image(s) go with the next message)`);
      } catch (e) {
        if (!(e instanceof GlmkitError)) throw e;
        console.log(`(${e.message})`);
      }
    } else if (text === '/reset') {
      history = [...start];
      pending = [];
      console.log('(history cleared)');
    } else if (text) {
      const content = pending.length === 0 ? text : [...pending.map((f) => ({ type: 'image', image: f })), { type: 'text', text }];
      history.push({ role: 'user', content });
      try {
        const [turn] = await chatTurns(m, [{ messages: history }], { thinking, maxNewTokens, temperature, topP: 1, seed: seed++, baseDir: process.cwd() });
        pending = [];
        if (turn.reasoning_content) console.log(dim(`[thinking] ${turn.reasoning_content}`));
        console.log(turn.content + (turn.finishReason === 'length' ? dim(' [cut at the token limit]') : ''));
        history.push({ role: 'assistant', content: turn.content, reasoning_content: turn.reasoning_content ?? '' });
      } catch (e) {
        // an unreadable image: say so and let the user go on without that message
        if (!(e instanceof GlmkitError)) throw e;
        history.pop();
        pending = [];
        console.log(`(${e.message}; the message was not sent)`);
      }
    }
    rl.prompt();
  }
  rl.close();
  return 0;
}
