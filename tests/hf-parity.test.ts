/**
 * Parity with Hugging Face transformers (optional oracle: skips, printing why, without a Python that
 * has torch and transformers; GLMKIT_PYTHON names one). Both directions, dense GLM-4 and GLM-4.5 MoE:
 * - a folder glmkit saves loads in transformers and gives the same logits;
 * - a random model transformers writes (save_pretrained) loads in glmkit and gives the same logits,
 *   so config keys glmkit never writes (transformers 5.x `rope_parameters`) and HF's own tensor
 *   layout are read as transformers reads them.
 * Weights are drawn wide (std 0.2, router biases spread) so every layer and the router's expert
 * choice move the logits; the tolerance is relative to the largest logit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadCausalLM, saveModel } from '../src/models/glm/checkpoint.js';
import { loadPreset, type GlmConfig } from '../src/models/glm/config.js';
import { GlmForCausalLM } from '../src/models/glm/model.js';
import { noGrad } from '../src/tensor/autograd.js';
import { Tensor } from '../src/tensor/tensor.js';
import { Rng } from '../src/util/rng.js';
import { hfPythonForTests } from '../src/util/test-skip.js';
import { root, tempDir } from './helpers.js';

const hf = hfPythonForTests();
const skip = hf.skip;
if (skip) console.log(`# hf-parity: skipped: ${skip}`);
const work = tempDir('glmkit-hf-parity-');
const script = join(root, 'tests', 'python', 'hf_glm.py');
const IDS = [3, 17, 42, 5, 60, 8, 33, 21, 1, 50, 12, 9];

function python(args: string[]): string {
  const r = spawnSync(hf.python!, [script, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python ${args[0]} failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-5).join('\n')}`);
  return r.stdout;
}

function hfLogits(dir: string): number[][] {
  const out = python(['logits', dir, JSON.stringify(IDS)]).trim().split('\n').at(-1)!;
  return (JSON.parse(out) as { logits: number[][] }).logits;
}

function ourLogits(dir: string): number[][] {
  const model = loadCausalLM(dir);
  const V = model.config.vocabSize;
  const logits = noGrad(() => model.forward(Tensor.ids(IDS, [1, IDS.length])).logits!);
  return IDS.map((_, t) => Array.from(logits.data.subarray(t * V, (t + 1) * V)));
}

/** max |a - b| over all logits, relative to max |b| (and that scale, to show the test is not trivial) */
function compare(a: number[][], b: number[][]): { rel: number; scale: number } {
  assert.equal(a.length, b.length);
  let diff = 0, scale = 0;
  for (let t = 0; t < a.length; t++) {
    assert.equal(a[t].length, b[t].length, `vocabulary width at position ${t}`);
    for (let v = 0; v < a[t].length; v++) {
      diff = Math.max(diff, Math.abs(a[t][v] - b[t][v]));
      scale = Math.max(scale, Math.abs(b[t][v]));
    }
  }
  return { rel: diff / scale, scale };
}

/** A small config of the preset's kind (vocabulary 64, two layers; the MoE one has a dense first layer). */
function smallConfig(preset: 'tiny' | 'tiny-moe'): GlmConfig {
  const c = loadPreset(preset);
  return { ...c, vocabSize: 64, numHiddenLayers: 2, ...(c.modelType === 'glm4_moe' ? { firstKDenseReplace: 1, numNextnPredictLayers: 0 } : {}) };
}

/** glmkit's model with every weight redrawn wide (seeded), saved as an HF folder. */
function saveWideModel(dir: string, cfg: GlmConfig, seed: number): void {
  const model = new GlmForCausalLM(cfg, { seed });
  const rng = new Rng(seed);
  for (const [name, t] of model.stateDict()) {
    const norm = /norm\.weight$/.test(name);
    for (let i = 0; i < t.data.length; i++) t.data[i] = norm ? 1 + 0.1 * rng.normal() : (/e_score_correction_bias$/.test(name) ? 0.1 : 0.2) * rng.normal();
  }
  saveModel(dir, model);
}

for (const preset of ['tiny', 'tiny-moe'] as const) {
  test(`${preset}: a folder glmkit saves gives transformers' logits`, { skip }, () => {
    const dir = join(work, `ours-${preset}`);
    saveWideModel(dir, smallConfig(preset), 7);
    const { rel, scale } = compare(ourLogits(dir), hfLogits(dir));
    console.log(`# ${preset} glmkit -> transformers ${hf.version}: max rel diff ${rel.toExponential(2)} (logit scale ${scale.toFixed(2)})`);
    assert.ok(scale > 1, `the logits are not trivially small (max |logit| ${scale})`);
    assert.ok(rel < 1e-4, `max relative logit difference ${rel}`);
  });

  test(`${preset}: a random transformers model (save_pretrained) gives the same logits in glmkit`, { skip }, () => {
    const c = smallConfig(preset);
    const dir = join(work, `theirs-${preset}`);
    const hfCfg: Record<string, unknown> = {
      model_type: c.modelType, vocab_size: c.vocabSize, hidden_size: c.hiddenSize, intermediate_size: c.intermediateSize,
      num_hidden_layers: c.numHiddenLayers, num_attention_heads: c.numAttentionHeads, num_key_value_heads: c.numKeyValueHeads,
      head_dim: c.headDim, partial_rotary_factor: c.partialRotaryFactor, attention_bias: c.attentionBias, rope_theta: 10000,
      pad_token_id: 0, eos_token_id: [1, 2],
    };
    if (c.modelType === 'glm4_moe') {
      Object.assign(hfCfg, {
        moe_intermediate_size: c.moeIntermediateSize, n_routed_experts: c.nRoutedExperts, n_shared_experts: c.nSharedExperts,
        num_experts_per_tok: c.numExpertsPerTok, first_k_dense_replace: 1, n_group: c.nGroup, topk_group: c.topkGroup,
        routed_scaling_factor: 2.5, use_qk_norm: true, num_nextn_predict_layers: 0,
      });
    }
    python(['random', dir, JSON.stringify(hfCfg), '3']);
    const { rel, scale } = compare(ourLogits(dir), hfLogits(dir));
    console.log(`# ${preset} transformers ${hf.version} -> glmkit: max rel diff ${rel.toExponential(2)} (logit scale ${scale.toFixed(2)})`);
    assert.ok(scale > 1, `the logits are not trivially small (max |logit| ${scale})`);
    assert.ok(rel < 1e-4, `max relative logit difference ${rel}`);
  });
}

// Scaled RoPE as transformers 5.x writes it (`rope_parameters`): glmkit reads the folder and computes
// the same frequencies and attention factor (src/models/glm/rope-scaling.ts). Dynamic NTK only
// rescales past `max_position_embeddings`, so that case sets it below the probe's length.
const SCALINGS: { name: string; rope: Record<string, unknown>; maxPositions: number }[] = [
  { name: 'linear', rope: { rope_type: 'linear', factor: 2.0 }, maxPositions: 512 },
  { name: 'yarn', rope: { rope_type: 'yarn', factor: 4.0, original_max_position_embeddings: 128 }, maxPositions: 512 },
  { name: 'dynamic', rope: { rope_type: 'dynamic', factor: 2.0 }, maxPositions: 8 },
];
for (const s of SCALINGS) {
  test(`tiny with ${s.name} RoPE scaling (rope_parameters) gives transformers' logits in glmkit`, { skip }, () => {
    const c = smallConfig('tiny');
    const dir = join(work, `rope-${s.name}`);
    python(['random', dir, JSON.stringify({
      model_type: c.modelType, vocab_size: c.vocabSize, hidden_size: c.hiddenSize, intermediate_size: c.intermediateSize,
      num_hidden_layers: c.numHiddenLayers, num_attention_heads: c.numAttentionHeads, num_key_value_heads: c.numKeyValueHeads,
      head_dim: c.headDim, partial_rotary_factor: c.partialRotaryFactor, attention_bias: c.attentionBias,
      pad_token_id: 0, eos_token_id: [1, 2], max_position_embeddings: s.maxPositions,
      rope_parameters: { rope_theta: 10000, partial_rotary_factor: c.partialRotaryFactor, ...s.rope },
    }), '5']);
    const { rel, scale } = compare(ourLogits(dir), hfLogits(dir));
    console.log(`# tiny ${s.name} RoPE, transformers ${hf.version} -> glmkit: max rel diff ${rel.toExponential(2)} (logit scale ${scale.toFixed(2)})`);
    assert.ok(rel < 1e-4, `max relative logit difference ${rel}`);
  });
}
