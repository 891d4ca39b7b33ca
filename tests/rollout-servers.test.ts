// Rollouts on spawned `glmkit serve` processes: /update_weights_from_disk (root check, bad folders,
// the old weights still serving), token-id completions, temperature-0 rollouts equal to in-process
// ones, and a GRPO run on two servers (weight update visible in the next rollout's log-probs, a
// killed server, all servers down -> a clear stop with the last checkpoint intact).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { loadCausalLM, saveModel } from '../src/models/glm/checkpoint.js';
import type { GlmForCausalLM } from '../src/models/glm/model.js';
import { generate, type GenerateResult } from '../src/generation/generate.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer-json.js';
import type { Tokenizer } from '../src/tokenizer/tokenizer.js';
import { STOP_TOKENS } from '../src/tokenizer/special-tokens.js';
import { generateWorldTask, writeJsonl } from '../src/data/world/index.js';
import { Rng } from '../src/util/rng.js';
import { resolveConfig } from '../src/trainers/base/config.js';
import { readMetrics } from '../src/trainers/base/metrics.js';
import { grpoSchema } from '../src/trainers/grpo/grpo-config.js';
import { loadRlPrompts } from '../src/trainers/grpo/grpo-data.js';
import { GrpoTrainer } from '../src/trainers/grpo/grpo-trainer.js';
import { rolloutBatch, type RolloutOptions } from '../src/trainers/grpo/rollout.js';
import { DEFAULT_TOOLS } from '../src/trainers/grpo/tools.js';
import { RolloutClient, RolloutServersDown } from '../src/trainers/remote/rollout-client.js';
import { makeFixture, type Fixture } from './fixtures.js';
import { runCli, tempDir } from './helpers.js';
import { startServer } from './serve-process.js';
import { createServer } from '../src/server/app.js';

let fx: Fixture;
let tok: Tokenizer;
let root: string;
let data: string;
const servers: { proc: ChildProcess; url: string }[] = [];

before(async () => {
  fx = await makeFixture(tempDir());
  tok = loadTokenizer(fx.model);
  root = tempDir();
  data = join(root, 'rl.jsonl');
  await writeJsonl(data, generateWorldTask('rl', { n: 6, seed: 4, split: 'train', difficulty: [1] }));
  const flags = ['--enable-weight-updates', '--weights-root', root];
  servers.push(...(await Promise.all([startServer(fx.model, flags), startServer(fx.model, flags)])));
});

after(() => {
  for (const s of servers) if (s.proc.exitCode === null) s.proc.kill('SIGKILL');
});

const post = async (url: string, path: string, body: object) => {
  const r = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: basename(fx.model), ...body }) });
  return { status: r.status, json: (await r.json()) as Record<string, any> };
};

test('update_weights_from_disk refuses paths outside its root and bad folders; the old weights keep serving', async () => {
  const url = servers[0].url;
  const prompt = tok.encode('Alice has 3 apples.');
  const before = await post(url, '/v1/completions', { prompt, max_tokens: 6, temperature: 0, logprobs: 0, return_token_ids: true });
  assert.equal(before.status, 200);
  const c0 = before.json.choices[0];
  assert.equal(before.json.policy_version, 0);
  // six tokens, or fewer when the model ends its turn first
  assert.ok(c0.token_ids.length >= 1 && c0.token_ids.length <= 6, `${c0.token_ids.length} tokens`);
  assert.equal(c0.finish_reason, c0.token_ids.length === 6 ? 'length' : 'stop');
  assert.deepEqual(c0.prompt_token_ids, prompt);
  assert.equal(c0.logprobs.token_logprobs.length, c0.token_ids.length);

  const outside = await post(url, '/update_weights_from_disk', { model_path: fx.model });
  assert.equal(outside.status, 400);
  assert.equal(outside.json.success, false);
  assert.match(outside.json.message, /outside the server's --weights-root/);
  const dotdot = await post(url, '/update_weights_from_disk', { model_path: join(root, '..') });
  assert.equal(dotdot.json.success, false);
  const bad = join(root, 'bad');
  mkdirSync(bad);
  writeFileSync(join(bad, 'config.json'), '{"model_type": "glm4"');
  const broken = await post(url, '/update_weights_from_disk', { model_path: bad });
  assert.equal(broken.status, 400);
  assert.equal(broken.json.success, false);
  assert.match(broken.json.message, /still serving policy version 0/);
  const missing = await post(url, '/update_weights_from_disk', { model_path: join(root, 'nope') });
  assert.equal(missing.json.success, false);

  // still the old weights: the same tokens and log-probs, version 0
  const again = await post(url, '/v1/completions', { prompt, max_tokens: 6, temperature: 0, logprobs: 0, return_token_ids: true });
  assert.equal(again.json.policy_version, 0);
  assert.deepEqual(again.json.choices[0].token_ids, c0.token_ids);
  assert.deepEqual(again.json.choices[0].logprobs.token_logprobs, c0.logprobs.token_logprobs);

  // a good folder under the root is loaded as version 1
  const good = join(root, 'good');
  saveModel(good, loadCausalLM(fx.model));
  const ok = await post(url, '/update_weights_from_disk', { model_path: good });
  assert.deepEqual([ok.status, ok.json.success, ok.json.policy_version], [200, true, 1]);
  const after1 = await post(url, '/v1/completions', { prompt, max_tokens: 6, temperature: 0, logprobs: 0, return_token_ids: true });
  assert.equal(after1.json.policy_version, 1);
  assert.deepEqual(after1.json.choices[0].token_ids, c0.token_ids);
});

test('rollouts at temperature 0 on a server equal the in-process ones (tokens, log-probs, finish, rewards)', async () => {
  const model = loadCausalLM(fx.model);
  const prompts = loadRlPrompts(data).slice(0, 3);
  const opts = (): RolloutOptions => ({ samplesPerPrompt: 2, temperature: 0, maxNewTokens: 10, forceAnswer: true, answerTokens: 4, maxTurns: 2, enableThinking: true, tools: DEFAULT_TOOLS, rng: new Rng(0) });
  const local = await rolloutBatch(model, tok, prompts, opts());
  // the first url has nothing listening: of the 6 first requests (sent together, spread by outstanding
  // work) the 3 sent to it are retried on the live server; it is marked down once
  const client = new RolloutClient(['http://127.0.0.1:1', servers[0].url]);
  const remote = await rolloutBatch(model, tok, prompts, { ...opts(), remoteGenerate: (p, o) => client.generate(p, o) });
  assert.equal(remote.length, 6);
  for (const [i, r] of remote.entries()) {
    const l = local[i];
    assert.deepEqual(r.completion, l.completion, `rollout ${i}: tokens`);
    assert.deepEqual(r.mask, l.mask);
    assert.deepEqual(r.finish, l.finish);
    for (const [k, lp] of r.logprobs.entries()) assert.ok(Math.abs(lp - l.logprobs[k]) < 1e-5, `rollout ${i} token ${k}: ${lp} vs ${l.logprobs[k]}`);
    assert.equal(GrpoTrainer.reward(prompts[r.prompt], r), GrpoTrainer.reward(prompts[l.prompt], l));
  }
  assert.equal(client.stats.completion_tokens, remote.reduce((a, r) => a + r.generated, 0));
  assert.equal(client.stats.retokenised, 0);
  assert.equal(client.stats.marked_down, 1);
  assert.equal(client.stats.retries, 3);
});

test('GRPO: the first update from server rollouts equals the in-process update from the same rollouts', async () => {
  const base = { model: fx.model, data, max_steps: 1, num_generations: 2, per_device_train_batch_size: 4, max_completion_length: 8, prepass_k: 0, quiet: true, learning_rate: 1e-2, dynamic_sampling: false, seed: 3 };
  const log: GenerateResult[] = [];
  class Recording extends GrpoTrainer {
    override rolloutOptions(G: number, t: number): RolloutOptions {
      const o = super.rolloutOptions(G, t);
      const remote = o.remoteGenerate!;
      return { ...o, remoteGenerate: async (p, g) => { const r = await remote(p, g); log.push(r); return r; } };
    }
  }
  let next = 0;
  class Replaying extends GrpoTrainer {
    override rolloutOptions(G: number, t: number): RolloutOptions {
      // the same tokens and log-probs, and the same draws from the trainer's generator (one seed per prompt)
      return { ...super.rolloutOptions(G, t), generateFn: (_m, p, g) => { p.forEach(() => g.rng!.random()); return log[next++]; } };
    }
  }
  // the untrained model never earns the verifier's reward: a deterministic reward of the tokens gives the
  // groups a spread, so the update is not zero
  const verifier = GrpoTrainer.reward;
  GrpoTrainer.reward = (_rec, r) => (r.completion.reduce((a, b) => a + b, 0) % 97) / 96;
  let remote: GrpoTrainer, local: GrpoTrainer;
  try {
    remote = new Recording(resolveConfig(grpoSchema, { object: { ...base, out: join(root, 'eq-remote'), rollout_url: servers[0].url } }), loadCausalLM(fx.model), tok, loadRlPrompts(data), null);
    await remote.train();
    assert.ok(log.length > 0 && remote.remote!.client.stats.requests > 0);
    local = new Replaying(resolveConfig(grpoSchema, { object: { ...base, out: join(root, 'eq-local') } }), loadCausalLM(fx.model), tok, loadRlPrompts(data), null);
    await local.train();
  } finally {
    GrpoTrainer.reward = verifier;
  }
  assert.equal(next, log.length);
  const [mr, ml] = [readMetrics(join(root, 'eq-remote', 'metrics.jsonl'))[0], readMetrics(join(root, 'eq-local', 'metrics.jsonl'))[0]];
  for (const k of ['reward', 'loss', 'completions/mean_length', 'entropy']) assert.equal(mr[k], ml[k], k);
  assert.ok((mr.reward_std as number) > 0, 'the groups have a reward spread');
  const wl = local.model.stateDict(), w0 = loadCausalLM(fx.model).stateDict();
  let moved = false;
  for (const [name, t] of remote.model.stateDict()) {
    assert.deepEqual(Array.from(t.data), Array.from(wl.get(name)!.data), name);
    moved ||= t.data.some((x, i) => x !== w0.get(name)!.data[i]);
  }
  assert.ok(moved, 'the first update changed the weights');
});

test('GRPO on a server with sampling: the same seed gives the same groups and update, another seed other groups', async () => {
  const base = { model: fx.model, data, max_steps: 1, num_generations: 2, per_device_train_batch_size: 4, max_completion_length: 8, prepass_k: 0, quiet: true, learning_rate: 1e-2, dynamic_sampling: false, temperature: 1, rollout_url: servers[0].url, dump_rollouts: 4 };
  const run = async (seed: number, name: string) => {
    const policy = loadCausalLM(fx.model);
    await new GrpoTrainer(resolveConfig(grpoSchema, { object: { ...base, seed, out: join(root, name) } }), policy, tok, loadRlPrompts(data), null).train();
    const rolls = readFileSync(join(root, name, 'rollouts', 'step-1.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).completion as string);
    return { rolls, weights: Array.from(policy.stateDict().values()).map((p) => Array.from(p.data.subarray(0, 8))) };
  };
  const a = await run(11, 'seed-a'), b = await run(11, 'seed-b'), c = await run(12, 'seed-c');
  assert.ok(a.rolls.length > 0);
  assert.deepEqual(b.rolls, a.rolls, 'same seed: the same sampled completions');
  assert.deepEqual(b.weights, a.weights, 'same seed: the same update');
  assert.notDeepEqual(c.rolls, a.rolls, 'another seed: other completions');
});

test('GRPO on two servers: the update shows in the next rollout, a killed server is routed around, all down stops clearly', async () => {
  const out = join(root, 'run');
  const [A, B] = servers;
  const probe = tok.encode('Bob counts 7 coins.');
  const stops = STOP_TOKENS.map((t) => tok.requireId(t));
  const initial = loadCausalLM(fx.model);
  const greedy = (m: GlmForCausalLM) => generate(m, [probe], { maxNewTokens: 5, temperature: 0, stopTokens: stops, vocabLimit: tok.vocabSize });
  const seen: string[] = [];
  class Probed extends GrpoTrainer {
    protected override async prepareStep(): Promise<void> {
      if (this.step === 3) {
        A.proc.kill('SIGKILL'); // the last server goes: the next push finds none
        seen.push('killed A');
      }
      await super.prepareStep();
      if (this.step === 1) {
        // the servers now serve the weights after step 1: the server's greedy log-probs are the trainer's
        const r = await this.remote!.client.complete({ prompt: probe, maxTokens: 5, temperature: 0, stopTokens: stops });
        const mine = greedy(this.model as GlmForCausalLM), old = greedy(initial);
        assert.deepEqual(r.tokens, mine.tokens[0]);
        r.logprobs.forEach((lp, k) => assert.ok(Math.abs(lp - mine.logprobs[0][k]) < 1e-4, `token ${k}: ${lp} vs ${mine.logprobs[0][k]}`));
        assert.ok(r.logprobs.some((lp, k) => Math.abs(lp - old.logprobs[0][k]) > 1e-4) || r.tokens.join() !== old.tokens[0].join(), 'the update is visible');
        assert.ok((r.version ?? 0) >= 1);
        B.proc.kill('SIGKILL');
        await new Promise((res) => B.proc.once('exit', res));
        seen.push('killed B');
      }
    }
  }
  const cfg = resolveConfig(grpoSchema, { object: {
    model: fx.model, data, out, max_steps: 5, save_steps: 1, num_generations: 2, per_device_train_batch_size: 4, max_completion_length: 8, prepass_k: 0,
    // the untrained model earns reward 0 everywhere (zero advantages): weight decay makes the update visible
    quiet: true, learning_rate: 5e-2, weight_decay: 0.5, dynamic_sampling: false, rollout_url: [A.url, B.url], rollout_down_seconds: 600,
  } });
  const trainer = new Probed(cfg, loadCausalLM(fx.model), tok, loadRlPrompts(data), null);
  await assert.rejects(trainer.train(), (e: Error) => {
    assert.ok(e instanceof RolloutServersDown, String(e));
    assert.match(e.message, /all 2 rollout servers are down/);
    assert.match(e.message, new RegExp(B.url.replace(/[.:/]/g, '\\$&')));
    return true;
  });
  assert.deepEqual(seen, ['killed B', 'killed A']);
  const m = readMetrics(join(out, 'metrics.jsonl'));
  assert.equal(m.length, 3, 'steps 1-3 ran (step 3 on the surviving server)');
  assert.equal(m[1]['rollout/marked_down'], 0);
  assert.equal(m[2]['rollout/marked_down'], 1, 'B failed the push of the step-2 weights');
  assert.equal(m[2]['rollout/weight_updates'], 3);
  assert.ok((m[2].rollouts as number) > (m[1].rollouts as number));
  assert.ok(existsSync(join(out, 'checkpoint-3', 'model.safetensors')), 'the last checkpoint is intact');
  loadCausalLM(join(out, 'checkpoint-3'));
});

test('a weight update during a request: it finishes on the old weights, the next one runs on the new', async () => {
  const dir = tempDir();
  const fresh = loadCausalLM(fx.model);
  for (const [name, t] of fresh.stateDict()) if (name.includes('lm_head')) t.data.forEach((x, i, a) => (a[i] = x * 3));
  saveModel(join(dir, 'v1'), fresh);
  // a slow engine (GLMKIT_TEST_STEP_DELAY_MS, read when the worker starts) keeps the first request in flight
  process.env.GLMKIT_TEST_STEP_DELAY_MS = '100';
  const server = await createServer({ modelDir: fx.model, weightsRoot: dir });
  delete process.env.GLMKIT_TEST_STEP_DELAY_MS;
  try {
    const url = await server.listen('127.0.0.1', 0);
    const prompt = tok.encode('Carol has 5 pears.');
    const N = 64;
    const ask = () => post(url, '/v1/completions', { prompt, max_tokens: N, temperature: 0, logprobs: 0, return_token_ids: true });
    let settled = false;
    const first = ask().finally(() => (settled = true));
    while (server.context!.engine.activeSlots === 0) await new Promise((r) => setTimeout(r, 5));
    const upd = await post(url, '/update_weights_from_disk', { model_path: 'v1' });
    assert.deepEqual([upd.json.success, upd.json.policy_version], [true, 1]);
    assert.equal(settled, false, 'the first request is still running when the new weights take over');
    const [a, b] = [await first, await ask()];
    const stops = STOP_TOKENS.map((t) => tok.requireId(t));
    const greedy = (m: GlmForCausalLM) => generate(m, [prompt], { maxNewTokens: N, temperature: 0, stopTokens: stops, vocabLimit: tok.vocabSize });
    const old = greedy(loadCausalLM(fx.model)), neu = greedy(fresh);
    assert.equal(a.json.policy_version, 0);
    assert.deepEqual(a.json.choices[0].token_ids, old.tokens[0]);
    a.json.choices[0].logprobs.token_logprobs.forEach((lp: number, k: number) => assert.ok(Math.abs(lp - old.logprobs[0][k]) < 1e-4));
    assert.equal(b.json.policy_version, 1);
    assert.deepEqual(b.json.choices[0].token_ids, neu.tokens[0]);
    b.json.choices[0].logprobs.token_logprobs.forEach((lp: number, k: number) => assert.ok(Math.abs(lp - neu.logprobs[0][k]) < 1e-4));
    assert.ok(b.json.choices[0].logprobs.token_logprobs.some((lp: number, k: number) => Math.abs(lp - old.logprobs[0][k]) > 1e-3), 'the new weights differ');
  } finally {
    await server.close();
  }
});

test('CLI: serve weight-update flags go together; grpo --help lists the rollout options', () => {
  const r = runCli(['serve', '--model', fx.model, '--enable-weight-updates']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--enable-weight-updates needs --weights-root DIR/);
  const h = runCli(['grpo', '--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /--rollout-url/);
  assert.match(h.stdout, /--rollout-api-key-env/);
});
