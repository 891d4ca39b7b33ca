/**
 * `glmkit agent --model DIR [--prompt TEXT] [options]`: the All Tools agent on a local model (or on
 * an OpenAI-compatible server with --url). Without --prompt it reads one question per line on stdin.
 */
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdtempSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { loadTokenizer, type ChatMessage } from '../tokenizer/index.js';
import { HttpChatBackend, LocalChatBackend, runAgent, type AgentStep, type ChatBackend } from '../agent/agent.js';
import { ToolRegistry } from '../agent/registry.js';
import { PythonSandbox, pythonTool } from '../agent/tools/python.js';
import { Browser, browserTool, DocumentIndex } from '../agent/tools/browser.js';
import { loadFunctionTools } from '../agent/tools/functions.js';
import { field, parseCommand } from './args.js';
import { inputFile, modelDir, outputDir } from './paths.js';

const spec = {
  name: 'agent',
  usage: 'glmkit agent --model DIR [options]',
  description: 'Runs the All Tools loop: the model calls tools, glmkit runs them and returns the results, until the\nmodel answers. Without --prompt, reads one question per line from stdin.',
  schema: {
    model: field('path', '', 'the model folder (with --url: the model name on the server)', { required: true, placeholder: 'dir' }),
    prompt: field<string | null>('string', null, 'the question (default: read lines from stdin)', { nullable: true, placeholder: 'text' }),
    tools: field('string', 'python', "built-in tools: python,browser ('none' for only --functions)", { placeholder: 'list' }),
    workdir: field<string | null>('path', null, 'the python session folder (default: a new temporary folder)', { nullable: true, placeholder: 'dir' }),
    docs: field<string | null>('string', null, 'comma-separated files/folders the browser indexes', { nullable: true, placeholder: 'paths' }),
    allow_host: field<string | null>('string', null, 'comma-separated hosts the browser may fetch over http(s)', { nullable: true, placeholder: 'list' }),
    functions: field<string | null>('path', null, "a JS module exporting [{name, description, parameters, run}] as 'tools'", { nullable: true, placeholder: 'file' }),
    max_steps: field('int', 8, 'model turns at most', { min: 1 }),
    max_new_tokens: field('int', 256, 'tokens per model turn', { min: 1 }),
    temperature: field('number', 0, 'sampling temperature', { min: 0 }),
    thinking: field('boolean', true, 'reason before each answer (on) or answer directly (off)', { onOff: true, switches: { 'no-thinking': false } }),
    python_timeout: field('int', 60, 'seconds per python call', { min: 1 }),
    url: field<string | null>('string', null, 'use an OpenAI-compatible server (.../v1) instead of a local --model folder', { nullable: true, placeholder: 'url' }),
    json: field('boolean', false, 'print {answer, reasoning, steps} as JSON'),
    world_eval: field<number | null>('int', null, 'score tool use on N held-out world problems that need python (prints JSON)', { nullable: true, min: 1 }),
  },
};

function printStep(step: AgentStep): void {
  if (step.assistant.reasoning_content) console.log(`[thinking] ${step.assistant.reasoning_content}`);
  for (const c of step.calls) {
    console.log(`[call] ${c.call.function.name} ${typeof c.call.function.arguments === 'string' ? c.call.function.arguments : JSON.stringify(c.call.function.arguments)}`);
    console.log(`[result] ${c.observation}`);
  }
  if (step.calls.length === 0) console.log(step.assistant.content ?? '');
}

export async function agentCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  const values = { ...v, 'world-eval': v.world_eval ?? undefined };
  const maxNew = v.max_new_tokens;
  const temperature = v.temperature;
  const thinking = v.thinking;
  const names = v.tools.split(',').map((s) => s.trim()).filter((s) => s && s !== 'none');
  for (const n of names) if (n !== 'python' && n !== 'browser') throw new UsageError(`agent: --tools: unknown built-in tool '${n}' (expected python, browser or none)`);
  if (v.functions !== null) inputFile('agent', '--functions', v.functions, 'a JavaScript module');
  if (v.workdir !== null) outputDir('agent', '--workdir', v.workdir, true, 'a folder for the python session');
  if (v.url === null) modelDir('agent', '--model', v.model, true);
  const backend: ChatBackend = v.url !== null
    ? new HttpChatBackend(v.url, v.model, { apiKey: process.env.GLMKIT_API_KEY, temperature, maxTokens: maxNew, enableThinking: thinking })
    : new LocalChatBackend(loadCausalLM(v.model), loadTokenizer(v.model), { maxNewTokens: maxNew, temperature, enableThinking: thinking });
  const registry = new ToolRegistry();
  let sandbox: PythonSandbox | null = null;
  for (const name of names) {
    if (name === 'python') {
      sandbox = new PythonSandbox({ dir: v.workdir ?? mkdtempSync(join(tmpdir(), 'glmkit-agent-')), timeoutMs: 1000 * v.python_timeout });
      registry.register(pythonTool(sandbox));
    } else if (name === 'browser') {
      const index = DocumentIndex.fromPaths((v.docs ?? '').split(',').filter(Boolean));
      registry.register(browserTool(new Browser({ index, allowHosts: (v.allow_host ?? '').split(',').filter(Boolean) })));
    } else {
      throw new UsageError(`agent: unknown built-in tool '${name}' (expected python, browser or none)`);
    }
  }
  if (v.functions !== null) for (const t of await loadFunctionTools(v.functions)) registry.register(t);
  const maxSteps = v.max_steps;
  if (values['world-eval'] !== undefined) {
    if (!registry.has('python')) throw new UsageError('agent: --world-eval needs the python tool');
    const { evalWorldToolUse } = await import('../agent/world-eval.js');
    try {
      console.log(JSON.stringify(await evalWorldToolUse(backend, registry, values['world-eval'], { maxSteps: Math.min(maxSteps, 3) })));
    } finally {
      await sandbox?.close();
    }
    return 0;
  }
  const ask = async (question: string) => {
    const messages: ChatMessage[] = [{ role: 'user', content: question }];
    const r = await runAgent(backend, registry, messages, { maxSteps, onStep: values.json ? undefined : printStep });
    if (values.json) {
      console.log(JSON.stringify({
        answer: r.answer?.content ?? null, reasoning: r.answer?.reasoning_content ?? null, stop_reason: r.stopReason,
        steps: r.steps.map((s) => ({ content: s.assistant.content, reasoning: s.assistant.reasoning_content ?? null, calls: s.calls.map((c) => ({ name: c.call.function.name, arguments: c.call.function.arguments, observation: c.observation, ok: c.ok })) })),
      }));
    } else if (r.stopReason === 'max_steps') {
      console.log(`[stopped after ${maxSteps} steps without an answer]`);
    }
  };
  try {
    if (v.prompt !== null) await ask(v.prompt);
    else for await (const line of createInterface({ input: process.stdin })) if (line.trim()) await ask(line.trim());
  } finally {
    await sandbox?.close();
  }
  return 0;
}
