// `glmkit pipeline --quick`: every stage runs, summary.json has the documented keys, OUT/final is a
// loadable HF folder with tokenizer files, report.html exists, and a rerun resumes (skips done stages).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCausalLM } from '../src/models/glm/checkpoint.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer-json.js';
import { assertFiniteIn, runCli, tempDir } from './helpers.js';

test('pipeline --quick runs every stage and resumes', () => {
  const out = tempDir();
  // The base recipe first (--until eval), then the rest: the second run only adds the later stages.
  const base = runCli(['pipeline', '--preset', 'tiny', '--out', out, '--quick', '--until', 'eval'], { timeoutMs: 300_000 });
  assert.equal(base.code, 0, base.stderr);
  assert.match(base.stderr, /grpo skipped \(--until eval\)/);
  assert.equal(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).grpo, undefined);
  const r = runCli(['pipeline', '--preset', 'tiny', '--out', out, '--quick'], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /sft already done/);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assertFiniteIn(summary.pretrain.loss, 'pretrain loss', 0);
  assert.ok(summary.pretrain.tokens > 0);
  assertFiniteIn(summary.sft.accuracy.thinking, 'sft accuracy (thinking)', 0, 1);
  assertFiniteIn(summary.sft.accuracy.direct, 'sft accuracy (direct)', 0, 1);
  assertFiniteIn(summary.reward_model.accuracy, 'reward model accuracy', 0, 1);
  // held-out accuracy split by what decides a world pair: style, or correctness (a slip or a misread)
  for (const k of ['style', 'correctness', 'slip', 'misread']) assertFiniteIn(summary.reward_model[`accuracy_${k}_pairs`], `reward model accuracy on ${k} pairs`, 0, 1);
  assert.equal(summary.reward_model.count_slip_pairs + summary.reward_model.count_misread_pairs, summary.reward_model.count_correctness_pairs);
  // the reward model's curriculum: contrastive pairs first, then mixed, then world pairs; one final folder
  assert.deepEqual(summary.reward_model.curriculum.map((p: { data: string }) => p.data), ['contrastive', 'mixed', 'mixed', 'world']);
  for (const p of summary.reward_model.curriculum) assert.ok(p.steps > 0 && p.pairs > 0, JSON.stringify(p));
  assert.ok(existsSync(join(out, 'reward', 'final')) && !existsSync(join(out, 'reward', 'phase-1')));
  assertFiniteIn(summary.sft.gold_reward, 'sft gold reward', 0, 1);
  for (const m of ['ppo', 'dpo', 'exo']) {
    assertFiniteIn(summary[m].gold_reward, `${m} gold reward`, 0, 1);
    assertFiniteIn(summary[m].kl, `${m} kl`);
  }
  // final/ is chosen on validation prompts; each gain is reported on test prompts with a 95% interval
  assert.equal(summary.final_model_selected_on, 'validation');
  assert.ok(summary.eval_prompts.validation >= 2 && summary.eval_prompts.test >= 2, JSON.stringify(summary.eval_prompts));
  for (const m of ['ppo', 'dpo', 'exo', 'grpo']) {
    const [lo, hi] = summary[m].gain_ci95;
    assertFiniteIn(summary[m].gain, `${m} gain`, lo - 1e-12, hi + 1e-12);
  }
  assertFiniteIn(summary.reward_model.validation_accuracy, 'reward model validation accuracy', 0, 1);
  // each stage's wall seconds, CPU seconds of the process and load average; training stages use CPU
  for (const stage of ['data', 'tokenizer', 'init', 'pretrain', 'sft', 'eval', 'align', 'grpo']) {
    assertFiniteIn(summary.seconds[stage], `${stage} seconds`, 0);
    assertFiniteIn(summary.cpu_seconds[stage], `${stage} cpu seconds`, 0);
    assertFiniteIn(summary.load_average[stage], `${stage} load average`, 0);
  }
  assert.ok(summary.cpu_seconds.pretrain > 0 && summary.cpu_seconds.align > 0, JSON.stringify(summary.cpu_seconds));
  for (const k of ['reward', 'ppo', 'dpo', 'exo', 'alignment-eval']) assertFiniteIn(summary.alignment_cpu_seconds[k], `${k} cpu seconds`, 0);
  for (const p of summary.reward_model.curriculum) assertFiniteIn(p.cpu_seconds, 'reward phase cpu seconds', 0);
  assertFiniteIn(summary.grpo.parts.train.cpu_seconds, 'grpo training cpu seconds', 0);
  assert.ok(summary.machine.cores >= 1 && /native|reference/.test(summary.machine.backend), JSON.stringify(summary.machine));
  assert.ok(summary.machine.fma_peak_gflops === null || summary.machine.fma_peak_gflops > 0, JSON.stringify(summary.machine));
  assertFiniteIn(summary.grpo.accuracy_before, 'grpo accuracy before', 0, 1);
  assertFiniteIn(summary.grpo.accuracy_after, 'grpo accuracy after', 0, 1);
  assert.ok(summary.grpo.rollouts > 0);
  assert.ok(Object.keys(summary.grpo.curriculum.tiers).length > 0);
  assert.ok(existsSync(join(out, 'report.html')));
  assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /<svg/);
  assert.ok(loadCausalLM(join(out, 'final')));
  assert.ok(loadTokenizer(join(out, 'final')).vocabSize > 256);
  // The final folder chats: text prompts in both modes, and the interactive chat on piped input.
  const gen = runCli(['generate', '--model', join(out, 'final'), '--prompt', 'What is 12 + 34?', '--thinking', 'off', '--max-new-tokens', '8', '--json']);
  assert.equal(gen.code, 0, gen.stderr);
  const turn = JSON.parse(gen.stdout);
  assert.equal(typeof turn.content, 'string');
  assert.ok(turn.ids.length > 0 && turn.ids.length <= 8);
  const chat = runCli(['chat', '--model', join(out, 'final'), '--max-new-tokens', '4'], { input: 'hello\n/nothink\nhi again\n/exit\n' });
  assert.equal(chat.code, 0, chat.stderr);
  assert.match(chat.stdout, /\(direct mode\)/);
  assert.equal(runCli(['generate', '--model', join(out, 'final'), '--prompt', 'x', '--thinking', 'maybe']).code, 2);
  // A rerun finds every stage done; an interrupted pipeline (state rolled back) redoes only the rest.
  const again = runCli(['pipeline', '--preset', 'tiny', '--out', out, '--quick']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /sft already done/);
  const statePath = join(out, 'pipeline_state.json');
  const state = JSON.parse(readFileSync(statePath, 'utf8'));
  state.done = state.done.filter((s: string) => !['eval', 'report'].includes(s));
  writeFileSync(statePath, JSON.stringify(state));
  const third = runCli(['pipeline', '--preset', 'tiny', '--out', out, '--quick']);
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stderr, /pretrain already done/);
  assert.match(third.stderr, /eval arithmetic level 2 thinking/);
  // Settings are recorded: another seed or preset into the same folder is refused, naming the keys;
  // settings that only change how it runs (threads, quiet) are not.
  const recorded = JSON.parse(readFileSync(statePath, 'utf8'));
  assert.equal(recorded.config.seed, 0);
  assert.match(recorded.config_hash, /^[0-9a-f]{16}$/);
  const other = runCli(['pipeline', '--preset', 'tiny', '--out', out, '--quick', '--seed', '1']);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /^glmkit: error\[config\]: .* holds a pipeline run with other settings \(seed: 0 -> 1\); .*--force-stage/);
  const moe = runCli(['pipeline', '--preset', 'tiny-moe', '--out', out, '--quick']);
  assert.equal(moe.code, 1);
  assert.match(moe.stderr, /preset: "tiny" -> "tiny-moe"/);
  const threads = runCli(['pipeline', '--preset', 'tiny', '--out', out, '--quick', '--threads', '1', '--quiet']);
  assert.equal(threads.code, 0, threads.stderr);
  // --force-stage redoes that stage and the later ones under the new settings, keeping the earlier ones
  const forced = runCli(['pipeline', '--preset', 'tiny', '--out', out, '--quick', '--seed', '1', '--force-stage', 'grpo']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stderr, /--force-stage grpo: redoing grpo, experts, report with seed: 0 -> 1/);
  assert.match(forced.stderr, /align already done/);
  assert.match(forced.stderr, /pipeline: grpo \.\.\./);
  assert.match(forced.stderr, /experts skipped \(--until grpo\)/);
  assert.equal(JSON.parse(readFileSync(statePath, 'utf8')).config.seed, 1);
  // --until experts adds expert iteration on top of the finished run (docs/distill.md)
  const experts = runCli(['pipeline', '--preset', 'tiny', '--out', out, '--quick', '--seed', '1', '--until', 'experts']);
  assert.equal(experts.code, 0, experts.stderr);
  assert.match(experts.stderr, /grpo already done/);
  const withExperts = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.deepEqual(Object.keys(withExperts.experts.experts).sort(), ['chat', 'reasoning', 'tool']);
  assert.equal(withExperts.experts.experts.reasoning, join(out, 'grpo', 'final'));
  for (const who of ['experts', 'base', 'student']) assert.ok(withExperts.experts.scores[who], who);
});
