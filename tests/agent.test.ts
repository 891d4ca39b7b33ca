// The All Tools agent end to end: a micro GLM SFT-trained (in this test, briefly) on tool-use chats
// from the built-in world calls `python` in GLM's format; the agent parses the call, runs the code in
// the Pyodide sandbox, feeds the output back as an observation and the model boxes the answer.
// Also: the loop turns tool errors into observations and stops at the step limit; `glmkit agent`
// runs the same loop from the command line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { extractBoxed, generateWorldTask } from '../src/data/world/index.js';
import { PYTHON_TOOL } from '../src/data/world/tools.js';
import { loadCausalLM } from '../src/models/glm/checkpoint.js';
import { loadTokenizer, type ChatMessage, type Conversation } from '../src/tokenizer/index.js';
import { LocalChatBackend, PythonSandbox, pythonTool, runAgent, ToolRegistry, functionTool } from '../src/agent/index.js';
import { runCli, tempDir } from './helpers.js';
import { trainChatModel } from './tool-model.js';

const work = tempDir('glmkit-agent-');
let modelDir = '';
let toolChats: Conversation[] = [];
const box = new PythonSandbox({ dir: join(work, 'py'), timeoutMs: 10_000 });

before(async () => {
  const sft = generateWorldTask('sft', { n: 400, seed: 9 }) as Conversation[];
  toolChats = sft.filter((c) => c.messages.some((m) => m.tool_calls?.some((t) => t.function.name === 'python'))).slice(0, 4);
  assert.equal(toolChats.length, 4);
  modelDir = await trainChatModel(join(work, 'model'), toolChats, { steps: 250, hidden: 64 });
});

after(async () => {
  await box.close();
  rmSync(work, { recursive: true, force: true });
});

test('a world tool-use task is solved end to end: call python, run it sandboxed, box the printed answer', async () => {
  const model = loadCausalLM(modelDir);
  const tok = loadTokenizer(modelDir);
  const backend = new LocalChatBackend(model, tok, { maxNewTokens: 120 });
  const registry = new ToolRegistry().register(pythonTool(box));
  for (const chat of toolChats) {
    const user = chat.messages.find((m) => m.role === 'user')!;
    const gold = chat.messages.find((m) => m.role === 'tool')!.content!; // what python prints: the answer
    const r = await runAgent(backend, registry, [user], { maxSteps: 3 });
    assert.equal(r.stopReason, 'answer', JSON.stringify(r.messages).slice(0, 600));
    const pyCalls = r.steps.flatMap((s) => s.calls).filter((c) => c.call.function.name === 'python');
    assert.ok(pyCalls.length >= 1, 'the model called python');
    // The observation is what the sandbox really printed for the model's code.
    assert.equal(pyCalls[0].observation, gold);
    assert.equal(extractBoxed(r.answer!.content ?? ''), gold);
  }
});

test('tool errors become observations; the loop stops at the step limit', async () => {
  const model = loadCausalLM(modelDir);
  const tok = loadTokenizer(modelDir);
  const backend = new LocalChatBackend(model, tok, { maxNewTokens: 120 });
  // A python tool whose runs always fail: the model sees the error text and the run does not crash.
  let runs = 0;
  const failing = new ToolRegistry().register(functionTool({
    name: 'python', description: PYTHON_TOOL.function.description, parameters: PYTHON_TOOL.function.parameters,
    run: () => {
      runs++;
      throw new Error('interpreter unavailable');
    },
  }));
  const user = toolChats[0].messages.find((m) => m.role === 'user')! as ChatMessage;
  const r = await runAgent(backend, failing, [user], { maxSteps: 1 });
  assert.equal(runs, 1);
  assert.equal(r.steps[0].calls[0].observation, 'Error: interpreter unavailable');
  assert.equal(r.steps[0].calls[0].ok, false);
  assert.equal(r.messages.at(-1)!.role, 'tool');
  assert.equal(r.stopReason, 'max_steps');
  assert.equal(r.answer, null);
});

test('glmkit agent runs the loop from the command line', () => {
  const chat = toolChats[1];
  const user = chat.messages.find((m) => m.role === 'user')!.content!;
  const gold = chat.messages.find((m) => m.role === 'tool')!.content!;
  const r = runCli(['agent', '--model', modelDir, '--prompt', user, '--workdir', join(work, 'cli'), '--json', '--max-new-tokens', '120'], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { answer: string; steps: { calls: { name: string; observation: string }[] }[] };
  assert.equal(out.steps[0].calls[0].name, 'python');
  assert.equal(out.steps[0].calls[0].observation, gold);
  assert.equal(extractBoxed(out.answer), gold);
});

test('server-side execution: the agent field runs python in the server and returns the transcript', async () => {
  const { createServer } = await import('../src/server/app.js');
  const server = await createServer({ modelDir, modelId: 'world', agent: { dir: join(work, 'server-sessions'), pythonTimeoutMs: 10_000 } });
  try {
    const url = await server.listen('127.0.0.1', 0);
    const chat = toolChats[2];
    const user = chat.messages.find((m) => m.role === 'user')!;
    const gold = chat.messages.find((m) => m.role === 'tool')!.content!;
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'world', messages: [user], temperature: 0, max_tokens: 120, agent: { tools: ['python'], max_steps: 3, session: 's1' } }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { choices: { message: { content: string }; finish_reason: string }[]; agent_steps: { tool_calls: { function: { name: string } }[]; observations: { content: string }[] }[] };
    assert.equal(body.choices[0].finish_reason, 'stop');
    assert.equal(body.agent_steps[0].tool_calls[0].function.name, 'python');
    assert.equal(body.agent_steps[0].observations[0].content, gold);
    assert.equal(extractBoxed(body.choices[0].message.content), gold);
    // A tool the server does not run is refused with an OpenAI-shaped 400.
    const bad = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'world', messages: [user], agent: { tools: ['browser'] } }),
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { param: string } }).error.param, 'agent.tools');
  } finally {
    await server.close();
  }
});

test('a call to a tool the caller runs ends the loop with the call unrun', async () => {
  const backend = new LocalChatBackend(loadCausalLM(modelDir), loadTokenizer(modelDir), { maxNewTokens: 120 });
  const user = toolChats[3].messages.find((m) => m.role === 'user')! as ChatMessage;
  const r = await runAgent(backend, new ToolRegistry(), [user], { maxSteps: 3, external: [PYTHON_TOOL] });
  assert.equal(r.stopReason, 'external_tool');
  assert.equal(r.answer!.tool_calls![0].function.name, 'python');
  assert.equal(r.steps[0].calls.length, 0);
});

test('held-out world tool problems for --world-eval: test split, answers checked by the sandbox', async () => {
  const { worldToolProblems } = await import('../src/agent/world-eval.js');
  const probs = worldToolProblems(5);
  assert.equal(probs.length, 5);
  for (const p of probs) {
    assert.equal(p.prompt.length, 1);
    assert.equal(p.prompt[0].role, 'user');
    assert.match(p.answer, /^\d+$/);
  }
  // The recorded answer is what python prints for the problem: run the data's own code in the sandbox.
  const sft = generateWorldTask('sft', { n: 400, seed: 12345, split: 'test' }) as Conversation[];
  const chat = sft.find((c) => c.messages.some((m) => m.tool_calls))!;
  const code = (chat.messages.find((m) => m.tool_calls)!.tool_calls![0].function.arguments as { code: string }).code;
  assert.equal((await box.run(code)).output.trim(), chat.messages.find((m) => m.role === 'tool')!.content);
});
