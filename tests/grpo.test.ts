// GRPO end to end: multi-turn tool rollouts (scripted policy), force-answer, the clipped surrogate and
// its gradient against an independent computation, the trainer's metrics, the CLI and the pipeline stage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as F from '../src/tensor/ops/index.js';
import { Tensor } from '../src/tensor/tensor.js';
import { loadCausalLM } from '../src/models/glm/checkpoint.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer-json.js';
import { renderChatText } from '../src/tokenizer/chat.js';
import { EOS_TOKEN } from '../src/tokenizer/special-tokens.js';
import type { GenerateOptions, GenerateResult } from '../src/generation/generate.js';
import type { GlmForCausalLM } from '../src/models/glm/model.js';
import type { Tokenizer } from '../src/tokenizer/tokenizer.js';
import { generateWorldTask, writeJsonl } from '../src/data/world/index.js';
import { Rng } from '../src/util/rng.js';
import { resolveConfig } from '../src/trainers/base/config.js';
import { readMetrics } from '../src/trainers/base/metrics.js';
import { sequenceBatch, tokenLogprobs, maskedSum } from '../src/trainers/rl-utils.js';
import { grpoSchema } from '../src/trainers/grpo/grpo-config.js';
import { toRlPrompt } from '../src/trainers/grpo/grpo-data.js';
import { GrpoTrainer, greedyScores, sampledScores, type Sample } from '../src/trainers/grpo/grpo-trainer.js';
import { clipCoefficients, grpoLoss } from '../src/trainers/grpo/grpo-loss.js';
import { rolloutBatch, type Rollout, type RolloutOptions } from '../src/trainers/grpo/rollout.js';
import { DEFAULT_TOOLS, DEFAULT_TOOL_SPECS } from '../src/trainers/grpo/tools.js';
import { TextPolicy } from '../src/trainers/grpo/policy.js';
import { runGrpoStage } from '../src/pipeline/grpo-stage.js';
import { makeFixture, type Fixture } from './fixtures.js';
import { assertFiniteIn, runCli, tempDir } from './helpers.js';

let fx: Fixture;
let model: GlmForCausalLM;
let tok: Tokenizer;

test('setup fixture', async () => {
  fx = await makeFixture(tempDir());
  model = loadCausalLM(fx.model);
  tok = loadTokenizer(fx.model);
});

/** A scripted policy: the i-th generate call of a sample returns script[i] (cut at maxNewTokens). */
function scripted(turns: (ctx: readonly number[]) => string): (m: GlmForCausalLM, prompts: readonly (readonly number[])[], o: GenerateOptions) => GenerateResult {
  return (_m, prompts, o) => {
    const res: GenerateResult = { tokens: [], logprobs: [], finishReason: [] };
    for (const p of prompts) {
      const full = tok.encode(turns(p), { allowSpecial: true });
      const stopAt = full.findIndex((t) => o.stopTokens!.includes(t));
      const upto = stopAt >= 0 ? stopAt + 1 : full.length;
      const toks = full.slice(0, Math.min(upto, o.maxNewTokens));
      res.tokens.push(toks);
      res.logprobs.push(toks.map(() => -0.5));
      res.finishReason.push(stopAt >= 0 && stopAt < o.maxNewTokens ? 'stop' : 'length');
    }
    return res;
  };
}

/** The scripted policy never runs the model; a long context limit lets the tool system prompt fit. */
const scriptModel = () => ({ config: { ...model.config, maxPositionEmbeddings: 8192 } }) as unknown as GlmForCausalLM;
const baseOpts = (extra: Partial<RolloutOptions>): RolloutOptions => ({ samplesPerPrompt: 1, temperature: 1, maxNewTokens: 200, forceAnswer: true, answerTokens: 16, maxTurns: 3, enableThinking: true, tools: DEFAULT_TOOLS, rng: new Rng(0), ...extra });
const CALL = '\n<think>too big</think>\n<tool_call>python\n<arg_key>code</arg_key>\n<arg_value>print(6 * 7)</arg_value>\n</tool_call><|observation|>';
const ANSWER = '\n<think>python printed 42.</think>\nThe answer is <|begin_of_box|>42<|end_of_box|>.<|endoftext|>';

test('tool rollout: call, observation (masked), answer; the tokens render like the chat template', async () => {
  const record = toRlPrompt({ prompt: 'What is 6 * 7? Box the final answer.', answer: '42', task: 'tool', tools: ['python'] });
  const obsId = tok.requireId('<|observation|>');
  const gen = scripted((ctx) => (ctx.includes(obsId) ? ANSWER : CALL));
  const [r] = await rolloutBatch(scriptModel(), tok, [record], baseOpts({ generateFn: gen }));
  assert.equal(r.finish, 'stop');
  assert.equal(r.toolCalls, 1);
  assert.equal(GrpoTrainer.reward(record, r), 1);
  const text = tok.decode([...r.promptIds, ...r.completion]);
  const conv = {
    messages: [
      ...record.prompt,
      { role: 'assistant', content: '', reasoning_content: 'too big', tool_calls: [{ type: 'function', function: { name: 'python', arguments: { code: 'print(6 * 7)' } } }] },
      { role: 'tool', content: '42' },
      { role: 'assistant', content: 'The answer is <|begin_of_box|>42<|end_of_box|>.', reasoning_content: 'python printed 42.' },
    ],
    tools: record.tools,
  };
  assert.equal(text, renderChatText(conv) + EOS_TOKEN);
  // exactly the observation tokens are masked out
  const masked = r.completion.filter((_, i) => r.mask[i] === 0);
  assert.equal(tok.decode(masked), '\n<tool_response>\n42\n</tool_response><|assistant|>');
  assert.equal(r.generated, r.mask.filter((m) => m === 1).length);
  assert.ok(r.logprobs.every((lp, i) => (r.mask[i] ? lp === -0.5 : lp === 0)));
  // the transcript is the same conversation as messages, and renders to the same text
  assert.deepEqual(r.transcript.map((m) => [m.role, m.content, m.reasoning_content ?? null, m.tool_calls?.length ?? 0]), [
    ['assistant', '', 'too big', 1],
    ['tool', '42', null, 0],
    ['assistant', 'The answer is <|begin_of_box|>42<|end_of_box|>.', 'python printed 42.', 0],
  ]);
  assert.equal(renderChatText({ messages: [...record.prompt, ...r.transcript], tools: record.tools }) + EOS_TOKEN, text);
});

test('malformed or unknown tool calls end the rollout with reward 0', async () => {
  const record = toRlPrompt({ prompt: 'What is 6 * 7?', answer: '42', task: 'tool', tools: ['python'] });
  const cases = [
    '<tool_call>python\n<arg_key>code</arg_key>\n</tool_call><|observation|>', // key without value
    '<tool_call>shell\n<arg_key>code</arg_key>\n<arg_value>ls</arg_value>\n</tool_call><|observation|>', // unknown tool
    '<tool_call>python\n<arg_key>source</arg_key>\n<arg_value>print(1)</arg_value>\n</tool_call><|observation|>', // wrong argument
    'no call at all <|begin_of_box|>42<|end_of_box|><|observation|>', // observation without a call
  ];
  for (const script of cases) {
    // a policy that would answer correctly after any observation: the reward must still be 0
    const obsId = tok.requireId('<|observation|>');
    const gen = scripted((ctx) => (ctx.filter((t) => t === obsId).length > 0 && !ctx.slice(-1).includes(obsId) ? ANSWER : script));
    const [r] = await rolloutBatch(scriptModel(), tok, [record], baseOpts({ generateFn: gen }));
    assert.equal(r.finish, 'malformed_tool', script);
    assert.equal(GrpoTrainer.reward(record, r), 0, script);
    assert.equal(r.toolCalls, 0);
  }
});

test('force answer: at the length limit inside <think>, </think> is inserted (masked) and the model answers', async () => {
  const record = toRlPrompt({ prompt: 'What is 40 + 2?', answer: '42', task: 'arithmetic' });
  const endThink = tok.requireId('</think>');
  const gen = scripted((ctx) => (ctx.at(-1) === endThink ? '\n40 + 2 = <|begin_of_box|>42<|end_of_box|><|endoftext|>' : '\n<think>' + 'ones: 0 + 2 = 2, '.repeat(30)));
  const [r] = await rolloutBatch(model, tok, [record], baseOpts({ generateFn: gen, maxNewTokens: 20 }));
  assert.equal(r.finish, 'forced');
  assert.equal(GrpoTrainer.reward(record, r), 1);
  const i = r.completion.indexOf(endThink);
  assert.equal(i, 20, 'the forced </think> follows the 20 budget tokens');
  assert.equal(r.mask[i], 0);
  assert.ok(r.mask.slice(i + 1).every((m) => m === 1));
  // without force answering the cut rollout has no answer
  const [r2] = await rolloutBatch(model, tok, [record], baseOpts({ generateFn: gen, maxNewTokens: 20, forceAnswer: false }));
  assert.equal(r2.finish, 'length');
  assert.equal(GrpoTrainer.reward(record, r2), 0);
});

test('clipCoefficients equals -min(rA, clip(r)A) in value and slope', () => {
  const ratio = [0.5, 0.79, 0.81, 1, 1.27, 1.29, 2, 0.5, 1.5, 1.1];
  const adv = [1, -1, -1, 0.5, 1, 1, -2, -1, 1, 1];
  const mask = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0];
  const { coef, constant, tokens, low, high } = clipCoefficients(ratio, adv, mask, 0.2, 0.28);
  const f = (r: number, a: number) => -Math.min(r * a, Math.min(Math.max(r, 0.8), 1.28) * a);
  for (let i = 0; i < 9; i++) {
    assert.ok(Math.abs(coef[i] * ratio[i] + constant[i] - f(ratio[i], adv[i])) < 1e-6, `value ${i}`);
    const slope = (f(ratio[i] + 1e-6, adv[i]) - f(ratio[i] - 1e-6, adv[i])) / 2e-6;
    assert.ok(Math.abs(coef[i] - slope) < 1e-4, `slope ${i}: ${coef[i]} vs ${slope}`);
  }
  assert.equal(coef[9], 0);
  assert.deepEqual([tokens, low, high], [9, 2, 2]); // low: r 0.79 and 0.5 with A < 0; high: r 1.29 and 1.5 with A > 0
});

test('grpoLoss gradient on-policy equals the gradient of -sum(A logp) / tokens (independent)', () => {
  const prompts = [tok.encode('What is 2 + 2?'), tok.encode('Name a lake.')];
  const comps = [tok.encode(' 4 is it'), tok.encode(' Blue lake')];
  const samples: Sample[] = prompts.map((p, i) => ({
    r: { prompt: i, promptIds: p, completion: comps[i], mask: comps[i].map((_, t) => (t === 1 ? 0 : 1)), logprobs: [], parsed: { reasoning_content: null, content: '', tool_calls: [], malformed: [] }, transcript: [], finish: 'stop', toolCalls: 0, generated: comps[i].length - 1 } as Rollout,
    advantage: i === 0 ? 1.5 : -0.7,
    old: null,
  }));
  const totals = { tokens: samples.reduce((a, s) => a + s.r.generated, 0), samples: 2 };
  const pad = tok.requireId(EOS_TOKEN);
  const grads = (fn: () => Tensor) => {
    model.zeroGrad();
    fn().backward();
    return model.parameters().map((p) => Float64Array.from(p.grad!.data as Float32Array));
  };
  for (const loss_type of ['token_mean', 'sample_mean'] as const) {
    const opts = { temperature: 0.8, epsilon: 0.2, epsilon_high: 0.28, beta: 0, loss_type, padId: pad, totals };
    let value = NaN;
    const g1 = grads(() => {
      const r = grpoLoss(model, null, samples, opts);
      value = r.value;
      return r.loss;
    });
    // independent: -sum_b w_b sum_t A_b logp_bt over masked tokens
    const batch = sequenceBatch(samples.map((s) => s.r.promptIds), samples.map((s) => s.r.completion), pad, samples.map((s) => s.r.mask));
    const w = samples.map((s) => (loss_type === 'token_mean' ? 1 / totals.tokens : 1 / s.r.generated / totals.samples));
    const g2 = grads(() => {
      const lp = tokenLogprobs(model, batch, 0.8);
      return F.neg(F.sum(F.mul(maskedSum(lp, batch.lossMask), new Tensor(Float32Array.from(samples.map((s, i) => s.advantage * w[i])), [2]))));
    });
    const wantValue = -samples.reduce((a, s, i) => a + s.advantage * s.r.generated * w[i], 0); // ratio = 1
    assert.ok(Math.abs(value - wantValue) < 1e-5, `${loss_type} value ${value} vs ${wantValue}`);
    let maxDiff = 0, maxAbs = 0;
    g1.forEach((g, k) => g.forEach((v, j) => {
      maxDiff = Math.max(maxDiff, Math.abs(v - g2[k][j]));
      maxAbs = Math.max(maxAbs, Math.abs(g2[k][j]));
    }));
    assert.ok(maxAbs > 1e-4, 'the gradient is not trivially zero');
    assert.ok(maxDiff < 1e-5 * Math.max(1, maxAbs) + 1e-6, `${loss_type}: max gradient difference ${maxDiff}`);
  }
  model.zeroGrad();
});

async function rlData(dir: string): Promise<{ train: string; eval: string }> {
  const train = join(dir, 'rl.jsonl'), evalFile = join(dir, 'rl_eval.jsonl');
  await writeJsonl(train, [...generateWorldTask('rl', { n: 10, seed: 4, split: 'train', difficulty: [1, 2] }), { prompt: 'What is 12345 * 678? Box the final answer.', answer: String(12345 * 678), task: 'tool', tools: ['python'] }]);
  await writeJsonl(evalFile, generateWorldTask('rl', { n: 4, seed: 5, split: 'test', difficulty: [1] }));
  return { train, eval: evalFile };
}

test('trainer: a short run logs TRL-named metrics, keeps KL when asked, writes final/', async () => {
  const dir = tempDir();
  const data = await rlData(dir);
  const prompts = (await import('../src/trainers/grpo/grpo-data.js')).loadRlPrompts(data.train);
  for (const [curriculum, extra] of [['rlcs', { loss_type: 'sample_mean' }], ['uniform', { dynamic_sampling: false, num_iterations: 2, beta: 0.05 }]] as const) {
    const out = join(dir, curriculum);
    const cfg = resolveConfig(grpoSchema, { object: { model: fx.model, data: data.train, out, max_steps: 2, num_generations: 2, per_device_train_batch_size: 4, max_completion_length: 12, prepass_k: 2, quiet: true, eval_max_examples: 2, learning_rate: 1e-3, curriculum, ...extra } });
    const trainer = new GrpoTrainer(cfg, loadCausalLM(fx.model), tok, prompts, prompts.slice(0, 2));
    const r = await trainer.train();
    assert.equal(r.steps, 2);
    const m = readMetrics(join(out, 'metrics.jsonl'));
    const ranges: Record<string, [number, number]> = {
      reward: [-Infinity, Infinity], reward_std: [0, Infinity], frac_reward_zero_std: [0, 1], 'completions/clipped_ratio': [0, 1],
      'completions/mean_length': [0, 12], rollouts: [1, Infinity], loss: [-Infinity, Infinity], entropy: [0, Infinity], clip_ratio: [0, 1],
    };
    for (const k of ['reward', 'reward_std', 'frac_reward_zero_std', 'completions/clipped_ratio', 'completions/mean_length', 'rollouts', 'loss']) assertFiniteIn(m[0][k], `${curriculum}: ${k}`, ...ranges[k]);
    if (m[0].groups_kept as number > 0) for (const k of ['entropy', 'clip_ratio']) assertFiniteIn(m[0][k], `${curriculum}: ${k}`, ...ranges[k]);
    if (curriculum === 'rlcs') {
      assert.equal(trainer.prepassRollouts, prompts.length * 2);
    } else {
      // without dynamic sampling every group is trained on (advantage 0 when all rewards are equal)
      assert.equal(m[0].groups_kept, 2);
      for (const k of ['entropy', 'clip_ratio', 'kl']) assertFiniteIn(m[0][k], k, ...(ranges[k] ?? [0, Infinity]));
      assert.ok((m[0].kl as number) >= 0 && (m[0].kl as number) < 1e-6, `kl to the starting model at step 1: ${m[0].kl}`);
      assert.equal(trainer.prepassRollouts, 0);
      assert.equal(m[1].rollouts, m[0].rollouts, 'num_iterations 2: the second step reuses the rollouts');
    }
    assertFiniteIn(m.at(-1)!.eval_accuracy, 'eval_accuracy', 0, 1);
    assert.ok(existsSync(join(out, 'final', 'model.safetensors')));
  }
});

test('trainer: greedy evaluation does not move the training stream (same rollouts with or without it)', async () => {
  const dir = tempDir();
  const data = await rlData(dir);
  const prompts = (await import('../src/trainers/grpo/grpo-data.js')).loadRlPrompts(data.train);
  const rolloutsAfter = async (evaluated: number) => {
    const cfg = resolveConfig(grpoSchema, { object: { model: fx.model, data: data.train, out: join(dir, `eval-${evaluated}`), max_steps: 2, num_generations: 2, per_device_train_batch_size: 4, max_completion_length: 12, prepass_k: 0, quiet: true, learning_rate: 1e-3, curriculum: 'uniform', dynamic_sampling: false, save_steps: 0 } });
    const m = loadCausalLM(fx.model);
    const trainer = new GrpoTrainer(cfg, m, tok, prompts, null);
    // as the pipeline's stage does: accuracy before training, greedily, with the trainer's rollout options
    if (evaluated > 0) greedyScores(m, tok, prompts.slice(0, evaluated), trainer.rolloutOptions(1, 0), 2);
    await trainer.train();
    // what the sampled completions were, step by step (tokens, lengths, entropy of the sampled tokens)
    return readMetrics(join(dir, `eval-${evaluated}`, 'metrics.jsonl')).map((r) => [r.num_tokens, r['completions/mean_length'], r.reward, r.entropy]);
  };
  const none = await rolloutsAfter(0);
  assert.equal(none.length, 2);
  assert.deepEqual(await rolloutsAfter(6), none);
});

test('sampledScores: avg@k per prompt from a seeded stream of its own (the same seed, the same draws)', () => {
  const records = [0, 1, 2, 3, 4, 5].map((i) => toRlPrompt({ prompt: `What is ${i} + 1? Box the final answer.`, answer: String(i + 1), task: 'arithmetic' }));
  // a policy that answers right when its stream's next draw is under 0.5, one draw per sample
  const coin: typeof import('../src/generation/generate.js').generate = (_m, prompts, o) => {
    const res: GenerateResult = { tokens: [], logprobs: [], finishReason: [] };
    for (const p of prompts) {
      const right = o.rng!.random() < 0.5;
      const answer = tok.decode(p).match(/What is (\d+) \+ 1/)![1];
      const toks = tok.encode(`\n<think>add one</think>\nThe answer is <|begin_of_box|>${right ? Number(answer) + 1 : 0}<|end_of_box|>.<|endoftext|>`, { allowSpecial: true });
      res.tokens.push(toks);
      res.logprobs.push(toks.map(() => -0.5));
      res.finishReason.push('stop');
    }
    return res;
  };
  const opts = baseOpts({ generateFn: coin, temperature: 0.7, tools: new Map(), enableThinking: true });
  const policy = new TextPolicy(scriptModel(), tok);
  const a = sampledScores(policy, tok, records, opts, 4, 7, 2);
  assert.equal(a.length, records.length);
  for (const x of a) assert.ok([0, 0.25, 0.5, 0.75, 1].includes(x), `score ${x} is not a mean of 4 rewards`);
  assert.ok(new Set(a).size > 1, 'different prompts drew different outcomes');
  assert.deepEqual(sampledScores(policy, tok, records, opts, 4, 7, 2), a, 'the same seed gives the same draws');
  assert.notDeepEqual(sampledScores(policy, tok, records, opts, 4, 8, 2), a);
  // the caller's stream is not touched
  const rng = new Rng(5), next = new Rng(5).random();
  sampledScores(policy, tok, records, { ...opts, rng }, 2, 7);
  assert.equal(rng.random(), next);
  assert.throws(() => sampledScores(policy, tok, records, { ...opts, temperature: 0 }, 4), /temperature > 0/);
  assert.throws(() => sampledScores(policy, tok, records, opts, 0), /samples per prompt >= 1/);
});

test('trainer: two_stage curriculum with dynamic temperature moves to the highest equally good temperature', async () => {
  const dir = tempDir();
  const data = await rlData(dir);
  const prompts = (await import('../src/trainers/grpo/grpo-data.js')).loadRlPrompts(data.train);
  const cfg = resolveConfig(grpoSchema, { object: { model: fx.model, data: data.train, out: join(dir, 'ts'), max_steps: 3, num_generations: 2, per_device_train_batch_size: 4, max_completion_length: 8, prepass_k: 2, quiet: true, eval_max_examples: 2, curriculum: 'two_stage', stage_switch: 0.5, stage2_num_generations: 4, dynamic_temperature: true, temperature_patience: 1, temperature_candidates: '0.5,1.5' } });
  const trainer = new GrpoTrainer(cfg, loadCausalLM(fx.model), tok, prompts, prompts.slice(0, 2));
  await trainer.train();
  const m = readMetrics(join(dir, 'ts', 'metrics.jsonl'));
  // the untrained micro model scores 0 at every temperature: a plateau after one flat step, then the highest candidate
  assert.deepEqual(m.slice(0, 3).map((x) => x.temperature), [1, 1, 1.5]);
  // second stage (step 2 of 3 >= 0.5): 4 samples per prompt, so 1 prompt of 4 completions
  assert.equal(m[2].rollouts as number - (m[1].rollouts as number), 4);
});

test('glmkit grpo CLI: help, a run, and a clear error for bad data', async () => {
  const help = runCli(['grpo', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--num-generations/);
  assert.match(help.stdout, /--curriculum/);
  const dir = tempDir();
  const data = await rlData(dir);
  const out = join(dir, 'out');
  const r = runCli(['grpo', '--model', fx.model, '--data', data.train, '--eval-data', data.eval, '--out', out, '--max-steps', '1', '--num-generations', '2', '--per-device-train-batch-size', '4', '--max-completion-length', '8', '--prepass-k', '0', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(res.steps, 1);
  assert.ok(res.rollouts >= 4);
  assertFiniteIn(res.eval_accuracy, 'eval_accuracy', 0, 1);
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, JSON.stringify({ prompt: 'x' }) + '\n');
  const e = runCli(['grpo', '--model', fx.model, '--data', bad, '--out', join(dir, 'o2'), '--quiet']);
  assert.notEqual(e.code, 0);
  assert.match(e.stderr, /bad\.jsonl:1: answer/);
});

test('pipeline GRPO stage (quick) returns the summary with accuracies, rollouts and tiers', async () => {
  const out = tempDir();
  const s = await runGrpoStage({ out, dataDir: join(out, 'data'), sftDir: fx.model, seed: 0, quick: true, quiet: true, log: () => {} });
  assertFiniteIn(s.accuracy_before, 'accuracy_before', 0, 1);
  assertFiniteIn(s.accuracy_after, 'accuracy_after', 0, 1);
  const sampled = s.sampled as { samples_per_prompt: number; accuracy_before: number; accuracy_after: number; gain: number };
  assert.equal(sampled.samples_per_prompt, 2); // --quick: avg@2
  assertFiniteIn(sampled.accuracy_before, 'sampled.accuracy_before', 0, 1);
  assertFiniteIn(sampled.accuracy_after, 'sampled.accuracy_after', 0, 1);
  assert.ok(Math.abs(sampled.gain - (sampled.accuracy_after - sampled.accuracy_before)) < 1e-9);
  assert.ok((s.rollouts as number) > 0);
  const cur = s.curriculum as { tiers: Record<string, { prompts: number }> };
  const total = Object.values(cur.tiers).reduce((a, t) => a + t.prompts, 0);
  assert.ok(total > 0, 'every prompt is in a tier');
  assert.ok(existsSync(join(out, 'grpo', 'final', 'model.safetensors')));
  assert.ok(DEFAULT_TOOL_SPECS.python);
});
