// GRPO with image prompts on a tiny random GLM-4.1V: the log-probs the loss recomputes through the VLM
// forward (same pixel values, right-padded batch) equal the sampler's at temperature 1; a step changes
// the policy and not the KL reference; `glmkit grpo` trains a glm4v folder on `data vision --task rl`
// records and refuses image prompts for a text model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '../src/tensor/autograd.js';
import { presetDir } from '../src/models/glm/config.js';
import { initGlm4vForTokenizer } from '../src/models/glm4v/init-model.js';
import { saveGlm4vModel } from '../src/models/glm4v/checkpoint.js';
import { imageProcessorConfigFromHf, type ImageProcessorConfig } from '../src/models/glm4v/preprocess-config.js';
import { writeVisionTask } from '../src/data/vision/index.js';
import { trainBpeFromTexts } from '../src/tokenizer/bpe-train.js';
import { GLM_SPECIAL_TOKENS } from '../src/tokenizer/special-tokens.js';
import { testCorpus } from '../src/tokenizer/test-fixtures.js';
import { saveTokenizer } from '../src/tokenizer/tokenizer-json.js';
import type { Tokenizer } from '../src/tokenizer/tokenizer.js';
import { Rng } from '../src/util/rng.js';
import { resolveConfig } from '../src/trainers/base/config.js';
import { samplingLogits, sequenceBatch, targetLogprobs } from '../src/trainers/rl-utils.js';
import { grpoSchema } from '../src/trainers/grpo/grpo-config.js';
import { loadRlPrompts, type RlPrompt } from '../src/trainers/grpo/grpo-data.js';
import { GrpoTrainer } from '../src/trainers/grpo/grpo-trainer.js';
import { DEFAULT_TOOLS } from '../src/trainers/grpo/tools.js';
import type { GrpoPolicy } from '../src/trainers/grpo/policy.js';
import { VisionPolicy } from '../src/trainers/grpo/vision-policy.js';
import { makeFixture } from './fixtures.js';
import { assertFiniteIn, runCli, tempDir } from './helpers.js';

let tok: Tokenizer;
let pre: ImageProcessorConfig;
let prompts: RlPrompt[];
let dataFile: string;

test('setup: tokenizer, image processor and visual-world RL prompts', () => {
  tok = trainBpeFromTexts(testCorpus(150), { vocabSize: 256 + 100 + GLM_SPECIAL_TOKENS.length });
  pre = imageProcessorConfigFromHf(JSON.parse(readFileSync(join(presetDir(), 'tiny-vl.preprocessor_config.json'), 'utf8')), 'tiny-vl');
  dataFile = join(tempDir('grpo-vision-'), 'rl.jsonl');
  writeVisionTask('rl', { n: 4, seed: 1, split: 'train', families: ['count', 'digits'], size: 56, difficulty: [1] }, dataFile);
  prompts = loadRlPrompts(dataFile);
  assert.equal(prompts.length, 4);
  assert.ok(prompts.every((p) => typeof p.image_dir === 'string'), 'image prompts remember their folder');
});

const rolloutOpts = (temperature: number, G: number, maxNewTokens: number) => ({
  samplesPerPrompt: G, temperature, maxNewTokens, forceAnswer: true, answerTokens: 4, maxTurns: 1, enableThinking: true, tools: DEFAULT_TOOLS, rng: new Rng(7),
});

test('vision rollouts: the log-probs recomputed through the VLM forward equal the sampler log-probs (temperature 1)', async () => {
  const policy = new VisionPolicy(initGlm4vForTokenizer('tiny-vl', tok, 3), tok, pre);
  policy.module.eval();
  // the image markers are the tokenizer's last ids: never sampled (a sampled <|image|> would be an image slot when rescored)
  assert.equal(policy.vocabLimit, tok.vocabSize - 3);
  assert.equal(tok.decode([policy.vocabLimit]), '<|begin_of_image|>');
  await policy.prepare(prompts);
  const rolls = await policy.rollouts(prompts, rolloutOpts(1, 2, 10));
  assert.equal(rolls.length, 8);
  const imageId = policy.module.config.imageTokenId;
  for (const r of rolls) assert.equal(r.promptIds.filter((t) => t === imageId).length, 4, 'a 56 px image is 2 x 2 image tokens');
  const lengths = new Set(rolls.map((r) => r.completion.length));
  const pad = tok.requireId('<|endoftext|>');
  const batch = sequenceBatch(rolls.map((r) => r.promptIds), rolls.map((r) => r.completion), pad, rolls.map((r) => r.mask));
  const lp = noGrad(() => targetLogprobs(samplingLogits(policy.logits(rolls.map((r) => prompts[r.prompt]), batch, null), 1, policy.vocabLimit), batch));
  const T = batch.ids.shape[1];
  let maxDev = 0, compared = 0;
  rolls.forEach((r, b) => {
    r.completion.forEach((_, t) => {
      if (!r.mask[t]) return;
      maxDev = Math.max(maxDev, Math.abs((lp.data[b * T + r.promptIds.length - 1 + t] as number) - r.logprobs[t]));
      compared++;
    });
  });
  assert.ok(compared >= 8, `compared ${compared} tokens`);
  assert.ok(maxDev < 1e-4, `max |trainer - sampler| log-prob ${maxDev} over ${compared} tokens (completion lengths ${[...lengths].join(', ')})`);
  // the same tokens scored without their images give other log-probs: the images are really used
  const blank = new VisionPolicy(policy.module, tok, pre);
  const other = prompts.map((p) => ({ ...p }));
  await blank.prepare(other);
  for (const p of other) for (const im of blank.images(p)) im.pixelValues.fill(0);
  const lp0 = noGrad(() => targetLogprobs(samplingLogits(blank.logits(rolls.map((r) => other[r.prompt]), batch, null), 1, policy.vocabLimit), batch));
  let diff = 0;
  for (let i = 0; i < lp0.data.length; i++) diff = Math.max(diff, Math.abs((lp0.data[i] as number) - (lp.data[i] as number)));
  assert.ok(diff > 1e-4, `zeroed pixels change the log-probs (max difference ${diff})`);
});

test('a GRPO step on image prompts changes the policy, not the reference, and matches the sampler', async () => {
  const policy = new VisionPolicy(initGlm4vForTokenizer('tiny-vl', tok, 4), tok, pre);
  const before = new Map([...policy.module.stateDict()].map(([k, t]) => [k, Float32Array.from(t.data as Float32Array)]));
  const cfg = resolveConfig(grpoSchema, {
    object: { model: 'unused', data: dataFile, out: join(tempDir('grpo-vision-'), 'run'), quiet: true, max_steps: 1, per_device_train_batch_size: 8, num_generations: 2, max_completion_length: 8, prepass_k: 0, beta: 0.1, learning_rate: 1e-3, dynamic_sampling: false, save_steps: 0, seed: 1 },
    objectSource: 'test',
  });
  const trainer = new GrpoTrainer(cfg, policy, tok, prompts, null);
  // a random model never answers right: alternate rewards 0, 1 so every group of two has spread
  const verifier = GrpoTrainer.reward;
  let k = 0;
  GrpoTrainer.reward = () => k++ % 2;
  let r;
  try {
    r = await trainer.train();
  } finally {
    GrpoTrainer.reward = verifier;
  }
  const m = r.metrics.find((x) => typeof x.loss === 'number')!;
  assertFiniteIn(m.loss, 'loss');
  assertFiniteIn(m.kl, 'kl', 0, 1e-6); // the first step starts at the reference
  assertFiniteIn(m['check/logprob_max_dev'], 'trainer vs sampler log-prob deviation', 0, 1e-4);
  assertFiniteIn(m.grad_norm, 'grad_norm', 1e-9);
  let moved = 0;
  for (const [k, t] of policy.module.stateDict()) {
    const b = before.get(k)!;
    for (let i = 0; i < b.length; i++) moved = Math.max(moved, Math.abs((t.data[i] as number) - b[i]));
  }
  assert.ok(moved > 1e-5, `the policy moved (max change ${moved})`);
  const ref = (trainer as unknown as { ref: GrpoPolicy }).ref;
  for (const [k, t] of ref.module.stateDict()) assert.deepEqual(t.data, before.get(k), `reference tensor ${k} is unchanged`);
  assert.ok(existsSync(join(cfg.out, 'final', 'preprocessor_config.json')));
  assert.equal(JSON.parse(readFileSync(join(cfg.out, 'final', 'config.json'), 'utf8')).model_type, 'glm4v');
});

test('glmkit grpo trains a glm4v folder on image prompts and refuses them for a text model', async () => {
  const dir = tempDir('grpo-vision-cli-');
  const vl = join(dir, 'vl');
  saveGlm4vModel(vl, initGlm4vForTokenizer('tiny-vl', tok, 2));
  saveTokenizer(tok, vl);
  const out = join(dir, 'run');
  const r = runCli(['grpo', '--model', vl, '--data', dataFile, '--out', out, '--max-steps', '1', '--per-device-train-batch-size', '4', '--num-generations', '2', '--max-completion-length', '6', '--prepass-k', '0', '--quiet'], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(res.steps, 1);
  assert.equal(res.rollouts, 4);
  assert.equal(JSON.parse(readFileSync(join(out, 'final', 'config.json'), 'utf8')).model_type, 'glm4v');
  const fx = await makeFixture(join(dir, 'text'), { docs: 20, chats: 4 });
  const bad = runCli(['grpo', '--model', fx.model, '--data', dataFile, '--out', join(dir, 'bad'), '--quiet']);
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /record 1 has image parts, but the model is a text GLM, which cannot see images/);
});
