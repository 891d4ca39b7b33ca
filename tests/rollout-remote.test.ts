// Remote generation and scoring beyond GRPO's basics (tests/rollout-servers.test.ts): PPO with
// --rollout-url equal to in-process at temperature 0, GRPO --rollout-ahead (K = 0 is the synchronous
// run, K = 1 trains on samples one update old with importance weights), and a reward model served on
// /v1/score (--reward-url) giving the in-process --reward-model scores. Two spawned servers: one
// chat model with weight updates and a pairwise reward model, one with only a process reward model.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { loadCausalLM, saveModel } from '../src/models/glm/checkpoint.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer-json.js';
import type { Tokenizer } from '../src/tokenizer/tokenizer.js';
import { generateWorldTask, writeJsonl } from '../src/data/world/index.js';
import { resolveConfig } from '../src/trainers/base/config.js';
import { readMetrics } from '../src/trainers/base/metrics.js';
import { grpoSchema } from '../src/trainers/grpo/grpo-config.js';
import { loadRlPrompts } from '../src/trainers/grpo/grpo-data.js';
import { GrpoTrainer } from '../src/trainers/grpo/grpo-trainer.js';
import { PpoTrainer, ppoSchema } from '../src/trainers/ppo/ppo-trainer.js';
import { ValueModel } from '../src/trainers/ppo/value-model.js';
import { rewardModelFromCausal } from '../src/trainers/reward/reward-trainer.js';
import { stepRewardModelFromCausal } from '../src/trainers/reward/prm.js';
import { loadRewardScorer } from '../src/trainers/reward/reward-scorer.js';
import { RemoteRewardScorer } from '../src/trainers/remote/reward-client.js';
import type { RolloutOptions } from '../src/generation/rollout.js';
import type { ChatMessage } from '../src/tokenizer/chat-types.js';
import { makeFixture, type Fixture } from './fixtures.js';
import { assertFiniteIn, runCli, tempDir } from './helpers.js';
import { startServer } from './serve-process.js';

let fx: Fixture;
let tok: Tokenizer;
let root: string, data: string, rmDir: string, prmDir: string;
let gen: { proc: ChildProcess; url: string }, prm: { proc: ChildProcess; url: string };

const withTokenizer = (dir: string) => {
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) if (existsSync(join(fx.model, f))) copyFileSync(join(fx.model, f), join(dir, f));
  return dir;
};

before(async () => {
  fx = await makeFixture(tempDir(), { docs: 60, chats: 4 });
  tok = loadTokenizer(fx.model);
  root = tempDir();
  data = join(root, 'rl.jsonl');
  await writeJsonl(data, generateWorldTask('rl', { n: 6, seed: 4, split: 'train', difficulty: [1] }));
  const sft = loadCausalLM(fx.model);
  rmDir = join(root, 'rm');
  saveModel(rmDir, rewardModelFromCausal(sft, 1));
  withTokenizer(rmDir);
  prmDir = join(root, 'prm');
  saveModel(prmDir, stepRewardModelFromCausal(sft, { type: 'process', aggregation: 'min', step_separator: '\n', step_layout: 'chat' }, 2));
  withTokenizer(prmDir);
  [gen, prm] = await Promise.all([
    startServer(fx.model, ['--enable-weight-updates', '--weights-root', root, '--reward-model', rmDir]),
    startServer(null, ['--reward-model', prmDir]),
  ]);
});

after(() => {
  for (const s of [gen, prm]) if (s && s.proc.exitCode === null) s.proc.kill('SIGKILL');
});

/** A reward of the tokens (the untrained model never earns the verifier's): groups get a spread. */
const tokenReward = (_rec: unknown, r: { completion: number[] }) => (r.completion.reduce((a, b) => a + b, 0) % 97) / 96;

async function withTokenReward<T>(run: () => Promise<T>): Promise<T> {
  const verifier = GrpoTrainer.reward;
  GrpoTrainer.reward = tokenReward;
  try {
    return await run();
  } finally {
    GrpoTrainer.reward = verifier;
  }
}

test('PPO --rollout-url at temperature 0: the rollouts, rewards and first update equal the in-process ones', async () => {
  const pairs = join(root, 'pairs.jsonl');
  await writeJsonl(pairs, generateWorldTask('preference', { n: 4, seed: 5 }));
  const prompts = generateWorldTask('preference', { n: 4, seed: 5 }).map((r) => ({ messages: r.prompt as ChatMessage[], baseline: 0.1 }));
  class Greedy extends PpoTrainer {
    protected override rolloutOptions(): RolloutOptions {
      return { ...super.rolloutOptions(), temperature: 0 };
    }
  }
  const run = async (out: string, extra: Record<string, unknown>) => {
    const cfg = resolveConfig(ppoSchema, { object: { model: fx.model, data: pairs, reward_model: rmDir, out, max_steps: 1, per_device_train_batch_size: 4, num_ppo_epochs: 1, response_length: 8, ptx_coef: 0, warmup_steps: 0, learning_rate: 1e-2, quiet: true, dump_rollouts: 1, ...extra } });
    const sft = loadCausalLM(fx.model);
    const t = new Greedy(cfg, loadCausalLM(fx.model), sft, new ValueModel(rewardModelFromCausal(sft, 1)), rewardModelFromCausal(sft, 1), tok, prompts, null);
    await t.train();
    return t;
  };
  const local = await run(join(root, 'ppo-local'), {});
  const remote = await run(join(root, 'ppo-remote'), { rollout_url: gen.url });
  assert.ok((remote.remote!.client.stats.requests as number) >= 4 && remote.remote!.client.stats.weight_updates === 1);
  const dump = (dir: string) => readFileSync(join(dir, 'rollouts', 'step-1.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  const [dl, dr] = [dump(join(root, 'ppo-local')), dump(join(root, 'ppo-remote'))];
  assert.equal(dr.length, 4);
  dr.forEach((r, i) => {
    assert.deepEqual(r.token_ids, dl[i].token_ids, `rollout ${i}: tokens`);
    assert.equal(r.reward_parts.rm_score, dl[i].reward_parts.rm_score, `rollout ${i}: reward`);
    assert.equal(r.reward, dl[i].reward);
  });
  const [ml, mr] = [readMetrics(join(root, 'ppo-local', 'metrics.jsonl'))[0], readMetrics(join(root, 'ppo-remote', 'metrics.jsonl'))[0]];
  for (const k of ['objective/scores', 'val/mean_response_length']) assert.equal(mr[k], ml[k], k);
  // the sampler's log-probs come from the server's engine (equal to ~1e-6): the update matches to that precision
  for (const k of ['loss', 'objective/kl', 'loss/policy_avg']) assert.ok(Math.abs((mr[k] as number) - (ml[k] as number)) < 1e-4, `${k}: ${mr[k]} vs ${ml[k]}`);
  assert.ok(Math.abs((mr.grad_norm as number) - (ml.grad_norm as number)) < 1e-4 * (ml.grad_norm as number), `grad_norm ${mr.grad_norm} vs ${ml.grad_norm}`);
  // the update: Adam's first step is ~lr * sign(g), so parameters with a near-zero gradient may flip on
  // ~1e-6 log-prob differences; the update vectors agree to within 1% in L2
  const w0 = loadCausalLM(fx.model).stateDict(), wl = local.policy.stateDict();
  let diff = 0, step = 0;
  for (const [name, t] of remote.policy.stateDict()) {
    const a = wl.get(name)!.data, z = w0.get(name)!.data;
    t.data.forEach((x, i) => {
      diff += (x - a[i]) ** 2;
      step += (a[i] - z[i]) ** 2;
    });
  }
  assert.ok(step > 1e-6, `the first update moved the weights (${Math.sqrt(step)})`);
  assert.ok(Math.sqrt(diff / step) < 1e-2, `remote and in-process updates agree: |remote - local| / |local step| = ${Math.sqrt(diff / step)}`);
});

test('PPO --rollout-ahead 1: the next rollout samples while this one trains; lag 1 and importance weights recorded', async () => {
  const pairs = join(root, 'pairs-ahead.jsonl');
  await writeJsonl(pairs, generateWorldTask('preference', { n: 4, seed: 5 }));
  const prompts = generateWorldTask('preference', { n: 4, seed: 5 }).map((r) => ({ messages: r.prompt as ChatMessage[], baseline: 0.1 }));
  const out = join(root, 'ppo-ahead');
  const cfg = (extra: Record<string, unknown>) => resolveConfig(ppoSchema, { object: { model: fx.model, data: pairs, reward_model: rmDir, out, max_steps: 3, per_device_train_batch_size: 4, num_ppo_epochs: 1, response_length: 8, ptx_coef: 0, warmup_steps: 0, learning_rate: 1e-2, quiet: true, rollout_ahead: 1, ...extra } });
  const sft = loadCausalLM(fx.model);
  const make = (c: ReturnType<typeof cfg>) => new PpoTrainer(c, loadCausalLM(fx.model), sft, new ValueModel(rewardModelFromCausal(sft, 1)), rewardModelFromCausal(sft, 1), tok, prompts, null);
  assert.throws(() => make(cfg({ out: tempDir() })), /--rollout-ahead 1 .* needs --rollout-url/);
  await make(cfg({ rollout_url: gen.url })).train();
  const m = readMetrics(join(out, 'metrics.jsonl'));
  assert.deepEqual(m.map((x) => x['rollout/lag_mean']), [0, 1, 1]);
  for (const x of m) {
    assertFiniteIn(x.loss, 'loss');
    assertFiniteIn(x['rollout/is_weight_mean'], 'importance weight', 0, 2);
  }
  assert.ok(Math.abs((m[0]['rollout/is_weight_mean'] as number) - 1) < 1e-3, 'the first rollout is on-policy');
  assert.ok(new Set(m.map((x) => x.loss)).size === 3, `the loss moves: ${m.map((x) => x.loss).join(', ')}`);
  assert.equal(m[2]['rollout/weight_updates'], 2, 'rollouts 1 and 2 on the initial weights, rollout 3 on those after step 1');
});

const grpoBase = { model: '', data: '', num_generations: 2, per_device_train_batch_size: 4, max_completion_length: 8, prepass_k: 0, quiet: true, learning_rate: 1e-2, dynamic_sampling: false, seed: 3, temperature: 1 };

test('GRPO --rollout-ahead 0 reproduces the synchronous run exactly', async () => {
  const base = { ...grpoBase, model: fx.model, data, max_steps: 2, rollout_url: gen.url };
  const [a, b] = await withTokenReward(async () => {
    const sync = new GrpoTrainer(resolveConfig(grpoSchema, { object: { ...base, out: join(root, 'sync') } }), loadCausalLM(fx.model), tok, loadRlPrompts(data), null);
    await sync.train();
    const k0 = new GrpoTrainer(resolveConfig(grpoSchema, { object: { ...base, out: join(root, 'ahead0'), rollout_ahead: 0 } }), loadCausalLM(fx.model), tok, loadRlPrompts(data), null);
    await k0.train();
    return [sync, k0];
  });
  const [ms, m0] = [readMetrics(join(root, 'sync', 'metrics.jsonl')), readMetrics(join(root, 'ahead0', 'metrics.jsonl'))];
  assert.equal(ms.length, 2);
  for (let s = 0; s < 2; s++) for (const k of ['reward', 'loss', 'completions/mean_length', 'grad_norm']) assert.equal(m0[s][k], ms[s][k], `step ${s + 1} ${k}`);
  assert.equal(m0[1]['rollout/lag_mean'], undefined);
  assert.ok((ms[0].reward_std as number) > 0, 'the groups have a reward spread');
  const wb = b.model.stateDict();
  for (const [name, t] of a.model.stateDict()) assert.deepEqual(Array.from(t.data), Array.from(wb.get(name)!.data), name);
});

test('GRPO --rollout-ahead 1: samples one update old (lag 1), importance-weighted, and it still trains', async () => {
  const out = join(root, 'ahead1');
  const cfg = resolveConfig(grpoSchema, { object: { ...grpoBase, model: fx.model, data, out, max_steps: 3, rollout_url: gen.url, rollout_ahead: 1 } });
  const t = new GrpoTrainer(cfg, loadCausalLM(fx.model), tok, loadRlPrompts(data), null);
  await withTokenReward(() => t.train());
  const m = readMetrics(join(out, 'metrics.jsonl'));
  assert.equal(m.length, 3);
  assert.deepEqual(m.map((x) => x['rollout/lag_mean']), [0, 1, 1], 'the first batch is on-policy, the next ones one update old');
  for (const x of m) {
    assertFiniteIn(x.loss, 'loss');
    assertFiniteIn(x['rollout/is_weight_mean'], 'importance weight', 0, cfg.rollout_is_cap);
    assertFiniteIn(x['rollout/is_capped_ratio'], 'capped share', 0, 1);
  }
  // step 1 trains on its own sampler: the weights are ~1 (server vs trainer log-probs); later ones are off-policy
  assert.ok(Math.abs((m[0]['rollout/is_weight_mean'] as number) - 1) < 1e-3);
  assert.ok(m[1]['rollout/is_weight_mean'] !== 1 && m[2]['rollout/is_weight_mean'] !== 1);
  assert.ok(new Set(m.map((x) => x.loss)).size === 3, `the loss moves: ${m.map((x) => x.loss).join(', ')}`);
  // pushes: the initial weights (batches 1 and 2 sample on them), then the weights after step 1 (batch 3)
  assert.equal(m[2]['rollout/weight_updates'], 2);
  assert.equal(m[2]['rollout/stale'], 0);
  // --rollout-ahead without servers is refused (it overlaps server generation with the update)
  assert.throws(() => new GrpoTrainer(resolveConfig(grpoSchema, { object: { ...grpoBase, model: fx.model, data, out: tempDir(), rollout_ahead: 1 } }), loadCausalLM(fx.model), tok, loadRlPrompts(data), null), /--rollout-ahead 1 .* needs --rollout-url/);
});

test('/v1/score: remote scores equal the in-process --reward-model ones (pairwise and process reward models)', async () => {
  const items = generateWorldTask('preference', { n: 3, seed: 7 }) as { prompt: ChatMessage[]; chosen: ChatMessage[] | string }[];
  const prompts = items.map((x) => x.prompt);
  const responses: ChatMessage[] = [
    { role: 'assistant', content: 'The answer is 4.' },
    { role: 'assistant', content: 'Alice has 3 apples.\nShe buys 2 more.\nSo 5.', reasoning_content: 'add them' },
    { role: 'assistant', content: '' },
  ];
  for (const [dir, url] of [[rmDir, gen.url], [prmDir, prm.url]] as const) {
    const local = loadRewardScorer(dir, tok).score(prompts, responses);
    const remote = await new RemoteRewardScorer(url).score(prompts, responses);
    assert.deepEqual(remote, local, dir);
    assert.ok(new Set(local).size > 1, 'the scores differ between responses');
  }
  // the process reward model with another aggregation, asked per request
  assert.deepEqual(await new RemoteRewardScorer(prm.url, { aggregation: 'last' }).score(prompts, responses), loadRewardScorer(prmDir, tok, 'last').score(prompts, responses));
  // a conversation that does not end with the assistant turn is refused, naming the field
  const bad = await fetch(`${prm.url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'prm', messages: [prompts[0]] }) });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: { message: string } }).error.message, /must be the assistant turn to score|at least two chat messages/);
});

test('GRPO --reward-url trains on the same rewards as --reward-model', async () => {
  const base = { ...grpoBase, model: fx.model, data, max_steps: 1, rollout_url: gen.url };
  const run = async (out: string, extra: Record<string, unknown>) => {
    await new GrpoTrainer(resolveConfig(grpoSchema, { object: { ...base, out, ...extra } }), loadCausalLM(fx.model), tok, loadRlPrompts(data), null).train();
    return readMetrics(join(out, 'metrics.jsonl'))[0];
  };
  const [a, b] = [await run(join(root, 'rm-local'), { reward_model: rmDir }), await run(join(root, 'rm-remote'), { reward_url: gen.url })];
  for (const k of ['reward', 'reward_std', 'loss']) assert.equal(b[k], a[k], k);
  assert.ok((a.reward_std as number) > 0);
});

test('CLI: ppo --help lists the remote options; grpo --help says --rollout-ahead needs --rollout-url; serve takes --reward-model', () => {
  const ppo = runCli(['ppo', '--help']);
  assert.equal(ppo.code, 0);
  for (const flag of ['--rollout-url', '--rollout-api-key-env', '--reward-url']) assert.match(ppo.stdout, new RegExp(flag));
  const grpo = runCli(['grpo', '--help']);
  assert.match(grpo.stdout, /--rollout-ahead[^\n]*\n?[^\n]*Needs --rollout-url|--rollout-ahead[\s\S]{0,400}Needs --rollout-url/);
  const serve = runCli(['serve', '--help']);
  assert.match(serve.stdout, /--reward-model/);
  assert.match(serve.stdout, /\/v1\/score/);
});
