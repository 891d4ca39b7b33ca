/**
 * The `glmkit` command line: one thin file per command, loaded on demand, every one parsing its flags
 * with the one schema-driven parser (cli/args.ts). Every command exits non-zero with one clear line
 * on bad input (`glmkit: error[code]: message`).
 *
 * Exit codes (the one convention of every command, see EXIT):
 *   0  success
 *   1  a runtime or data error: bad data, a bad --config FILE value (named by file and key), a
 *      checkpoint that cannot be read, a failure while working, an unexpected internal error
 *   2  a usage error: an unknown, missing or repeated flag, a bad flag value (wrong type, out of
 *      range, not one of the choices), a wrong path (missing, a folder where a file is expected,
 *      an --out that would be overwritten without --overwrite), an unknown command or subcommand
 */
import { GlmkitError, UsageError } from '../errors.js';
import { BENCHMARK_NAMES } from './bench-list.js';

/** The exit codes of every glmkit command (see the file comment). */
export const EXIT = { ok: 0, error: 1, usage: 2 } as const;

type CommandFn = (argv: string[]) => Promise<number>;

interface Command {
  summary: string;
  load: () => Promise<CommandFn>;
}

const commands: Record<string, Command> = {
  pipeline: { summary: 'run the whole recipe on the built-in world: data, tokenizer, init, pretrain, sft, eval, align, grpo, report', load: async () => (await import('./pipeline.js')).pipelineCommand },
  'long-context': { summary: "extend a pipeline's SFT model to a longer context: long continued pre-training with a larger rope_theta, long-context SFT, needle accuracy", load: async () => (await import('./long-context.js')).longContextCommand },
  info: { summary: 'show the version, the active backend and the CPU features', load: async () => (await import('./info.js')).infoCommand },
  bench: { summary: `benchmarks: ${BENCHMARK_NAMES.join(' | ')}`, load: async () => (await import('./bench.js')).benchCommand },
  init: { summary: 'write a randomly initialised HF model folder from a preset', load: async () => (await import('./init.js')).initCommand },
  logits: { summary: 'print next-token logits for token ids', load: async () => (await import('./logits.js')).logitsCommand },
  generate: { summary: 'generate tokens from a model', load: async () => (await import('./generate.js')).generateCommand },
  chat: { summary: 'interactive terminal chat; reasoning shown apart from the answer', load: async () => (await import('./chat.js')).chatCommand },
  pretrain: { summary: 'pre-train a model on text (next-token loss, packed sequences)', load: async () => (await import('./train.js')).pretrainCommand },
  sft: { summary: 'supervised fine-tuning on chats (loss on assistant tokens)', load: async () => (await import('./train.js')).sftCommand },
  vlm: { summary: 'GLM-4.1V training stages: vlm prealign (vision tower + merger on captions, language model frozen); image SFT is glmkit sft on a glm4v folder', load: async () => (await import('./vlm.js')).vlmCommand },
  grpo: { summary: 'GRPO with verifiable rewards, RLCS curriculum and tool rollouts', load: async () => (await import('./grpo.js')).grpoCommand },
  distill: { summary: 'expert iteration: domain experts, rejection-sampled distillation data, one hybrid-reasoning student (GLM-4.5)', load: async () => (await import('./distill.js')).distillCommand },
  reward: { summary: 'train a reward model on preference pairs (pairwise loss, length balancing), or with --process on step-labelled traces', load: async () => (await import('./reward.js')).rewardCommand },
  rerank: { summary: 'best-of-N: sample N responses per prompt, keep the one a reward model (ORM or PRM) scores highest', load: async () => (await import('./rerank.js')).rerankCommand },
  embed: { summary: 'sentence vectors of texts (embed --model DIR --text T), or train an encoder (embed train ...)', load: async () => (await import('./embed.js')).embedCommand },
  rept: { summary: 'REPT retrieval-based pre-training of a reader (rept pretrain --model DIR --world-docs N --out DIR)', load: async () => (await import('./reading.js')).reptCommand },
  mrc: { summary: 'multiple-choice reading comprehension with a reader (mrc train|eval --model DIR --data F)', load: async () => (await import('./reading.js')).mrcCommand },
  stm: { summary: 'STM self-training for evidence extraction, with baselines (stm --model DIR --train F --eval F --out DIR)', load: async () => (await import('./reading.js')).stmCommand },
  seqa: { summary: 'SEQA semantic voting vs LM scoring on multiple-choice questions (seqa --generator DIR --encoder DIR --data F --out DIR)', load: async () => (await import('./seqa.js')).seqaCommand },
  ppo: { summary: 'PPO against a reward model, as ChatGLM-RLHF (reference baseline, KL, PPO-ptx)', load: async () => (await import('./align.js')).ppoCommand },
  longreward: { summary: 'LongReward: judge-scored long-context answers -> preference pairs (longreward score ...), and a world-trained judge (longreward train-judge ...)', load: async () => (await import('./longreward.js')).longrewardCommand },
  dpo: { summary: 'DPO on preference pairs (optional SFT loss on the chosen)', load: async () => (await import('./align.js')).dpoCommand },
  exo: { summary: 'EXO: reverse-KL alignment on sampled candidates scored by a reward model, or on pairs', load: async () => (await import('./align.js')).exoCommand },
  'align-sweep': { summary: 'reward vs KL of DPO and EXO at several betas from one SFT model', load: async () => (await import('./align.js')).alignSweepCommand },
  report: { summary: 'write OUT/report.html with the training curves', load: async () => (await import('./report.js')).reportCommand },
  inspect: { summary: 'write OUT/inspect.html: per-token view of the rollouts dumped by grpo/ppo --dump-rollouts', load: async () => (await import('./inspect.js')).inspectCommand },
  tokenizer: { summary: 'train | encode | decode a byte-level BPE tokenizer', load: async () => (await import('./tokenizer.js')).tokenizerCommand },
  template: { summary: 'render a conversation with the GLM chat template', load: async () => (await import('./template.js')).templateCommand },
  data: { summary: 'generate data from the built-in worlds (data world|vision --task T ...)', load: async () => (await import('./data.js')).dataCommand },
  serve: { summary: 'OpenAI-compatible server (serve --model DIR [--host H] [--port P] [--api-key K])', load: async () => (await import('./serve.js')).serveCommand },
  ui: { summary: 'the web UI without a model: runs dashboard and label stats (ui --runs DIR)', load: async () => (await import('./ui.js')).uiCommand },
  labels: { summary: 'preference labels made in the web UI: labels export --db F --out pairs.jsonl | labels stats --db F', load: async () => (await import('./labels.js')).labelsCommand },
  agent: { summary: 'chat with a model that calls tools (python, browser, your functions)', load: async () => (await import('./agent.js')).agentCommand },
  experiment: { summary: 'a paper\'s claim as one reproducible command with 95% CIs (experiment list | run NAME --out DIR)', load: async () => (await import('./experiment.js')).experimentCommand },
  export: { summary: 'export a model folder for llama.cpp / Ollama (export gguf --model DIR --out FILE.gguf)', load: async () => (await import('./export.js')).exportCommand },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'usage: glmkit <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    'Run `glmkit <command> --help` (or -h) for a command\'s options; `glmkit --version` (-V) prints the version.',
    'Exit codes: 0 success, 1 runtime or data error, 2 usage error (bad or missing flag, bad flag value or path).',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    if (!name) {
      console.error(usage());
      return EXIT.usage;
    }
    console.log(usage());
    return EXIT.ok;
  }
  if (name === '--version' || name === '-V' || name === '-v') {
    console.log((await import('./info.js')).version());
    return EXIT.ok;
  }
  const cmd = Object.hasOwn(commands, name) ? commands[name] : undefined;
  try {
    if (!cmd) throw new UsageError(`unknown command '${name}'${suggestCommand(name)}; run glmkit --help for the list`);
    const fn = await cmd.load();
    return await fn(rest);
  } catch (e) {
    return reportError(e);
  }
}

/** Prints one line for a known error (a stack only for unexpected ones) and returns the exit code. */
export function reportError(e: unknown): number {
  if (e instanceof GlmkitError) {
    console.error(`glmkit: error[${e.code}]: ${oneLine(e.message)}`);
    return e instanceof UsageError ? EXIT.usage : EXIT.error;
  }
  const err = e as Error;
  console.error(`glmkit: internal error: ${oneLine(err?.message ?? String(e))}`);
  if (process.env.GLMKIT_DEBUG) console.error(err?.stack);
  return EXIT.error;
}

/** Messages are printed on one line (a multi-line message would read as several errors). */
function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ');
}

function suggestCommand(name: string): string {
  const close = Object.keys(commands).filter((c) => c.startsWith(name.slice(0, 3)) || name.startsWith(c));
  return close.length ? ` (did you mean ${close.slice(0, 3).join(', ')}?)` : '';
}

/** The names of every command (for tests and completions). */
export function commandNames(): string[] {
  return Object.keys(commands);
}
