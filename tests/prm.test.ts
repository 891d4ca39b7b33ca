// Process reward models end to end on a micro model: step scores at the step ends, `reward --process`
// (loss falls on a small set, saved as a reward model marked as a PRM), `rerank`, and GRPO with a
// reward model as its reward.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorldTask, writeJsonl } from '../src/data/world/index.js';
import { loadModel, loadCausalLM, saveModel } from '../src/models/glm/checkpoint.js';
import { resolveConfig } from '../src/trainers/base/config.js';
import { grpoSchema } from '../src/trainers/grpo/grpo-config.js';
import { loadRlPrompts } from '../src/trainers/grpo/grpo-data.js';
import { GrpoTrainer } from '../src/trainers/grpo/grpo-trainer.js';
import { rewardModelFromCausal, scoreResponses } from '../src/trainers/reward/reward-trainer.js';
import { renderChat } from '../src/tokenizer/chat.js';
import { initStepRewardModel, trainStepRewardModel } from '../src/experiment/experiments/prm-vs-orm.js';
import { tokenizeStepwise } from '../src/trainers/reward/prm-trainer.js';
import { stepValidationMetrics } from '../src/trainers/reward/prm-metrics.js';
import { GlmForSequenceClassification } from '../src/models/glm/model.js';
import { Tensor } from '../src/tensor/tensor.js';
import { noGrad } from '../src/tensor/autograd.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer-json.js';
import { readMetrics } from '../src/trainers/base/metrics.js';
import { readStepwise, tokenizeSteps } from '../src/data/stepwise.js';
import { scoreSteps, stepRewardInfo, stepRewardModelFromCausal } from '../src/trainers/reward/prm.js';
import { makeFixture, type Fixture } from './fixtures.js';
import { runCli, tempDir } from './helpers.js';

let fx: Fixture;
let steps: string;

test('setup fixture', async () => {
  fx = await makeFixture(tempDir(), { docs: 60, chats: 8 });
  steps = join(fx.dir, 'steps.jsonl');
  await writeJsonl(steps, generateWorldTask('steps', { n: 8, seed: 4, families: ['add'] }));
});

test('a step is scored at its last token: the same score as the sequence cut there', () => {
  const tok = loadTokenizer(fx.model);
  const rm = stepRewardModelFromCausal(loadCausalLM(fx.model), { type: 'process', aggregation: 'min', step_separator: '\n', step_layout: 'plain' }, 1);
  const t = tokenizeSteps(tok, 'What is 4 + 5?', ['4 + 5:', 'ones: 4 + 5 + 0 = 9, write 9, carry 0', '4 + 5 = 9'], '\n', 'plain');
  const [scores] = scoreSteps(rm, [t], tok.requireId('<|endoftext|>'));
  assert.equal(scores.length, 3);
  noGrad(() => {
    t.stepEnds.forEach((e, i) => {
      const cut = t.ids.slice(0, e + 1);
      const s = rm.forward(new Tensor(Int32Array.from(cut), [1, cut.length])).data[0];
      assert.ok(Math.abs(s - scores[i]) < 1e-4, `step ${i}: ${s} vs ${scores[i]}`);
    });
  });
});

test('chat step layout: the exact tokens of the thinking-mode assistant turn, steps read at separator, </think> and end of text', () => {
  const tok = loadTokenizer(fx.model);
  const steps = ['4 + 5:', 'ones: 4 + 5 + 0 = 9, write 9, carry 0', '4 + 5 = 9', '4 + 5 = <|begin_of_box|>9<|end_of_box|>'];
  const t = tokenizeSteps(tok, 'What is 4 + 5?', steps, '\n', 'chat');
  const chat = renderChat(tok, { messages: [{ role: 'user', content: 'What is 4 + 5?' }, { role: 'assistant', reasoning_content: steps.slice(0, 3).join('\n'), content: steps[3] }], enable_thinking: true });
  assert.deepEqual(t.ids, chat.ids);
  const at = t.stepEnds.map((e) => tok.decode([t.ids[e]], { skipSpecial: false }));
  assert.ok(at[0].endsWith('\n') && at[1].endsWith('\n'), JSON.stringify(at));
  assert.deepEqual(at.slice(2), ['</think>', '<|endoftext|>']);
  // the text of step 2 ends right before its separator token
  assert.ok(tok.decode(t.ids.slice(0, t.stepEnds[1] + 1), { skipSpecial: false }).endsWith('carry 0\n'));
  // one step: an empty reasoning block, the answer read at the end of text
  const one = tokenizeSteps(tok, 'What is 4 + 5?', [steps[3]], '\n', 'chat');
  assert.deepEqual(one.stepEnds, [one.ids.length - 1]);
  assert.equal(one.ids.at(-1), tok.requireId('<|endoftext|>'));
});

test('an ORM started from the pipeline reward model scores the answer step as the reward model scores the chat-rendered response', () => {
  const tok = loadTokenizer(fx.model);
  const rmDir = join(fx.dir, 'pairwise-rm');
  saveModel(rmDir, rewardModelFromCausal(loadCausalLM(fx.model), 3));
  const pairwise = loadModel(rmDir) as GlmForSequenceClassification;
  const { rm } = initStepRewardModel({ kind: 'orm', init: 'reward', layout: 'chat', sftDir: fx.model, rewardDir: rmDir, seed: 0 });
  assert.deepEqual(stepRewardInfo(rm), { type: 'outcome', aggregation: 'last', step_separator: '\n', step_layout: 'chat' });
  const response = { role: 'assistant' as const, reasoning_content: '4 + 5:\nones: 4 + 5 + 0 = 9, write 9, carry 0\n4 + 5 = 9', content: '4 + 5 = <|begin_of_box|>9<|end_of_box|>' };
  const [want] = scoreResponses(pairwise, tok, [[{ role: 'user', content: 'What is 4 + 5?' }]], [response]);
  const [steps] = scoreSteps(rm, [tokenizeSteps(tok, 'What is 4 + 5?', [...response.reasoning_content.split('\n'), response.content], '\n', 'chat')], tok.requireId('<|endoftext|>'));
  assert.ok(Math.abs(steps[3] - want) < 1e-4, `${steps[3]} vs ${want}`);
  // the plain layout (no thinking tags, a separator after the answer) reads another token
  const [plain] = scoreSteps(rm, [tokenizeSteps(tok, 'What is 4 + 5?', [...response.reasoning_content.split('\n'), response.content], '\n', 'plain')], tok.requireId('<|endoftext|>'));
  assert.ok(Math.abs(plain[3] - want) > 1e-4);
});

test('a micro PRM trained as prm-vs-orm trains it beats the constant and the step-position predictors on held-out step labels', async () => {
  const tok = loadTokenizer(fx.model);
  // 5-step traces; a step is wrong when it says "bad", and every step from the first wrong one on says so
  let state = 7;
  const rand = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  const trace = () => {
    const first = Math.floor(rand() * 8); // 0..4: the first wrong step; 5..7: a right trace
    const labels = Array.from({ length: 5 }, (_, i) => i < first);
    return { prompt: 'Check the list.', completions: labels.map((y, i) => `item ${i + 1}: ${y ? 'good' : 'bad'}`), labels };
  };
  const train = tokenizeStepwise(tok, Array.from({ length: 48 }, trace), 512, '\n', 'chat').examples;
  const held = tokenizeStepwise(tok, Array.from({ length: 24 }, trace), 512, '\n', 'chat').examples;
  const { rm } = await trainStepRewardModel({ kind: 'prm', tok, train, seed: 0, steps: 30, batch: 8, learningRate: 3e-3, warmup: 2, balance: false, init: 'sft', layout: 'chat', sftDir: fx.model, rewardDir: '', threads: 1, out: join(fx.dir, 'prm-heldout') });
  const m = stepValidationMetrics(scoreSteps(rm, held, tok.requireId('<|endoftext|>')), held, train, 'min');
  assert.ok(m.step_accuracy > m.step_accuracy_constant + 0.1 && m.step_accuracy > m.step_accuracy_position, JSON.stringify(m));
  assert.ok(m.step_auc > m.step_auc_position + 0.1, JSON.stringify(m));
});

test('reward --process: a micro PRM overfits 8 traces (loss falls) and is saved as a reward model marked as a PRM', () => {
  const out = join(fx.dir, 'prm');
  const r = runCli(['reward', '--process', '--model', fx.model, '--data', steps, '--eval-data', steps, '--out', out, '--max-steps', '40', '--per-device-train-batch-size', '8', '--learning-rate', '0.01', '--warmup-steps', '0', '--max-seq-length', '512', '--reward-aggregation', 'prod', '--quiet'], { timeoutMs: 240_000 });
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  const losses = readMetrics(join(out, 'metrics.jsonl')).filter((m) => typeof m.loss === 'number').map((m) => m.loss as number);
  const first = losses.slice(0, 3).reduce((a, b) => a + b, 0) / 3, last = losses.slice(-3).reduce((a, b) => a + b, 0) / 3;
  assert.ok(last < 0.5 * first, `loss ${first} -> ${last}`);
  assert.ok(summary.eval.step_accuracy > 0.9, JSON.stringify(summary.eval));
  const cfg = JSON.parse(readFileSync(join(out, 'final', 'config.json'), 'utf8'));
  assert.deepEqual(cfg.glmkit_reward_model, { type: 'process', aggregation: 'prod', step_separator: '\n', step_layout: 'chat' });
  assert.deepEqual(cfg.architectures, ['Glm4ForSequenceClassification']);
  const rm = loadModel(join(out, 'final'));
  assert.ok(rm instanceof GlmForSequenceClassification);
  assert.equal(stepRewardInfo(rm)?.type, 'process');
  // bad step data names file:line
  const bad = join(fx.dir, 'bad.jsonl');
  writeJsonlSync(bad, [{ prompt: 'q', completions: ['a'], labels: [true, true] }]);
  const e = runCli(['reward', '--process', '--model', fx.model, '--data', bad, '--out', join(fx.dir, 'prm-bad'), '--quiet']);
  assert.equal(e.code, 1);
  assert.match(e.stderr, /bad\.jsonl:1: labels: expected 1 labels/);
});

function writeJsonlSync(file: string, rows: unknown[]): void {
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

test('rerank: best-of-N with the PRM keeps the highest-scored sample; the aggregation can be overridden', () => {
  const prompts = join(fx.dir, 'rl.jsonl');
  writeJsonlSync(prompts, [{ prompt: 'What is 4 + 5? Box the final answer.', answer: '9', task: 'arithmetic' }, { prompt: [{ role: 'user', content: 'What is 12 + 7? Box the final answer.' }], answer: '19', task: 'arithmetic' }]);
  const out = join(fx.dir, 'rerank.jsonl');
  const r = runCli(['rerank', '--reward-model', join(fx.dir, 'prm', 'final'), '--policy', fx.model, '--prompts', prompts, '--n', '3', '--max-new-tokens', '6', '--out', out, '--reward-aggregation', 'last', '--steps-out', join(fx.dir, 'sampled-steps.jsonl')], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout.trim());
  assert.equal(summary.reward_model, 'process');
  assert.equal(summary.aggregation, 'last');
  assert.equal(summary.prompts, 2);
  // the untrained micro policy never answers right
  assert.deepEqual([summary.best_of_n_accuracy, summary.oracle_accuracy], [0, 0]);
  // every sample labelled by the step checker: the untrained policy's first step is already wrong
  assert.equal(summary.step_labelled, 6);
  const labelled = readStepwise(join(fx.dir, 'sampled-steps.jsonl'));
  assert.equal(labelled.length, 6);
  for (const l of labelled) assert.ok(l.labels.every((x) => !x), JSON.stringify(l));
  const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.length, 2);
  for (const row of rows) {
    assert.equal(row.scores.length, 3);
    assert.equal(row.score, Math.max(...row.scores));
    assert.equal(row.scores[row.index], row.score);
    assert.ok(row.score >= 0 && row.score <= 1);
  }
  const pw = join(fx.dir, 'pairwise');
  saveModel(pw, rewardModelFromCausal(loadCausalLM(fx.model), 2));
  const bad = runCli(['rerank', '--reward-model', pw, '--policy', fx.model, '--prompts', prompts, '--n', '2', '--reward-aggregation', 'min']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /pairwise reward model .*aggregation applies to a process reward model/);
});

test('GRPO with --reward-model: the PRM score is the training reward, the verifier is still logged', async () => {
  const tok = loadTokenizer(fx.model);
  const data = join(fx.dir, 'rl-train.jsonl');
  await writeJsonl(data, generateWorldTask('rl', { n: 6, seed: 3, difficulty: [1] }));
  const out = join(fx.dir, 'grpo-prm');
  const cfg = resolveConfig(grpoSchema, { object: { model: fx.model, data, out, max_steps: 1, num_generations: 2, per_device_train_batch_size: 4, max_completion_length: 8, prepass_k: 0, curriculum: 'uniform', quiet: true, learning_rate: 1e-3, reward_model: join(fx.dir, 'prm', 'final'), reward_aggregation: 'min' } });
  await new GrpoTrainer(cfg, loadCausalLM(fx.model), tok, loadRlPrompts(data), null).train();
  const [m] = readMetrics(join(out, 'metrics.jsonl'));
  assert.ok(typeof m.reward === 'number' && m.reward > 0 && m.reward < 1, `PRM reward ${m.reward}`);
  assert.equal(m.verified_reward, 0);
});

test('PPO with a PRM as its reward model: rewards are aggregated step probabilities', () => {
  const prompts = join(fx.dir, 'ppo-prompts.jsonl');
  writeJsonlSync(prompts, ['What is 4 + 5? Box the final answer.', 'What is 12 + 7? Box the final answer.', 'What is 30 - 8? Box the final answer.', 'What is 6 * 3? Box the final answer.'].map((prompt) => ({ prompt })));
  const out = join(fx.dir, 'ppo-prm');
  const r = runCli(['ppo', '--model', fx.model, '--data', prompts, '--reward-model', join(fx.dir, 'prm', 'final'), '--reward-aggregation', 'last', '--out', out, '--max-steps', '1', '--per-device-train-batch-size', '4', '--response-length', '6', '--filter-min-std', '0', '--ptx-coef', '0', '--quiet'], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const [m] = readMetrics(join(out, 'metrics.jsonl'));
  const score = m['objective/scores'];
  assert.ok(typeof score === 'number' && score > 0 && score < 1, `PPO score ${score}: a PRM's last-step probability`);
});
