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
import { intFlag, numberFlag, parseFlags } from './args.js';

const HELP = `usage: glmkit agent --model DIR [options]

Runs the All Tools loop: the model calls tools, glmkit runs them and returns the results, until the
model answers. Without --prompt, reads one question per line from stdin.

  --prompt TEXT        the question (default: read lines from stdin)
  --tools LIST         built-in tools: python,browser (default python; 'none' for only --functions)
  --workdir DIR        the python session folder (default: a new temporary folder)
  --docs PATHS         comma-separated files/folders the browser indexes
  --allow-host LIST    comma-separated hosts the browser may fetch over http(s)
  --functions FILE     a JS module exporting [{name, description, parameters, run}] as 'tools'
  --max-steps N        model turns at most (default 8)
  --max-new-tokens N   tokens per model turn (default 256)
  --temperature T      sampling temperature (default 0)
  --no-thinking        answer without a reasoning block
  --python-timeout S   seconds per python call (default 60)
  --url URL            use an OpenAI-compatible server (…/v1) instead of --model; --model names the model there
  --json               print {answer, reasoning, steps} as JSON
  --world-eval N       score tool use on N held-out world problems that need python (prints JSON)`;

function printStep(step: AgentStep): void {
  if (step.assistant.reasoning_content) console.log(`[thinking] ${step.assistant.reasoning_content}`);
  for (const c of step.calls) {
    console.log(`[call] ${c.call.function.name} ${typeof c.call.function.arguments === 'string' ? c.call.function.arguments : JSON.stringify(c.call.function.arguments)}`);
    console.log(`[result] ${c.observation}`);
  }
  if (step.calls.length === 0) console.log(step.assistant.content ?? '');
}

export async function agentCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('agent', argv, {
    model: { type: 'string' }, prompt: { type: 'string' }, tools: { type: 'string' }, workdir: { type: 'string' }, docs: { type: 'string' },
    'allow-host': { type: 'string' }, functions: { type: 'string' }, 'max-steps': { type: 'string' }, 'max-new-tokens': { type: 'string' },
    temperature: { type: 'string' }, 'no-thinking': { type: 'boolean' }, 'python-timeout': { type: 'string' }, url: { type: 'string' },
    json: { type: 'boolean' }, 'world-eval': { type: 'string' }, help: { type: 'boolean' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.model) throw new UsageError('agent: --model DIR is required (or --url URL --model NAME)');
  const maxNew = intFlag('agent', 'max-new-tokens', values['max-new-tokens'], 256, 1);
  const temperature = numberFlag('agent', 'temperature', values.temperature, 0);
  const thinking = !values['no-thinking'];
  const backend: ChatBackend = values.url
    ? new HttpChatBackend(values.url, values.model, { apiKey: process.env.GLMKIT_API_KEY, temperature, maxTokens: maxNew, enableThinking: thinking })
    : new LocalChatBackend(loadCausalLM(values.model), loadTokenizer(values.model), { maxNewTokens: maxNew, temperature, enableThinking: thinking });
  const names = (values.tools ?? 'python').split(',').map((s) => s.trim()).filter((s) => s && s !== 'none');
  const registry = new ToolRegistry();
  let sandbox: PythonSandbox | null = null;
  for (const name of names) {
    if (name === 'python') {
      sandbox = new PythonSandbox({ dir: values.workdir ?? mkdtempSync(join(tmpdir(), 'glmkit-agent-')), timeoutMs: 1000 * intFlag('agent', 'python-timeout', values['python-timeout'], 60, 1) });
      registry.register(pythonTool(sandbox));
    } else if (name === 'browser') {
      const index = DocumentIndex.fromPaths((values.docs ?? '').split(',').filter(Boolean));
      registry.register(browserTool(new Browser({ index, allowHosts: (values['allow-host'] ?? '').split(',').filter(Boolean) })));
    } else {
      throw new UsageError(`agent: unknown built-in tool '${name}' (expected python, browser or none)`);
    }
  }
  if (values.functions) for (const t of await loadFunctionTools(values.functions)) registry.register(t);
  const maxSteps = intFlag('agent', 'max-steps', values['max-steps'], 8, 1);
  if (values['world-eval'] !== undefined) {
    if (!registry.has('python')) throw new UsageError('agent: --world-eval needs the python tool');
    const { evalWorldToolUse } = await import('../agent/world-eval.js');
    try {
      console.log(JSON.stringify(await evalWorldToolUse(backend, registry, intFlag('agent', 'world-eval', values['world-eval'], 20, 1), { maxSteps: Math.min(maxSteps, 3) })));
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
    if (values.prompt !== undefined) await ask(values.prompt);
    else for await (const line of createInterface({ input: process.stdin })) if (line.trim()) await ask(line.trim());
  } finally {
    await sandbox?.close();
  }
  return 0;
}
