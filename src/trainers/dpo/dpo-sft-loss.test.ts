import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configFromHf } from '../../models/glm/config.js';
import { GlmForCausalLM } from '../../models/glm/model.js';
import { trainBpeFromTexts } from '../../tokenizer/bpe-train.js';
import { EOS_TOKEN } from '../../tokenizer/special-tokens.js';
import { tokenizePairs, type PreferencePair } from '../../data/preference.js';
import { noGrad } from '../../tensor/autograd.js';
import { tempDir } from '../../util/temp-dir.js';
import { resolveConfig } from '../base/config.js';
import { DpoTrainer, dpoSchema, sequenceLogps } from './dpo-trainer.js';
import { responseBatch } from '../../data/preference.js';

test('--sft-loss-weight: weight 0 is plain DPO; weight w adds exactly w x NLL(chosen) (token mean)', () => {
  const tok = trainBpeFromTexts(['Alice visited Millford on day 9. Bruno lives in Oakridge.'], { vocabSize: 300 });
  const cfg = configFromHf({
    model_type: 'glm4', vocab_size: tok.vocabSize, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8,
    partial_rotary_factor: 0.5, max_position_embeddings: 128, attention_bias: true, tie_word_embeddings: false, initializer_range: 0.2,
    pad_token_id: tok.requireId(EOS_TOKEN), eos_token_id: tok.requireId(EOS_TOKEN), bos_token_id: null,
  }, 'micro');
  const raw: PreferencePair[] = [
    { prompt: [{ role: 'user', content: 'Which town did Alice visit on day 9?' }], chosen: [{ role: 'assistant', content: 'Alice visited Millford on day 9.' }], rejected: [{ role: 'assistant', content: 'Oakridge' }] } as PreferencePair,
    { prompt: [{ role: 'user', content: 'Where does Bruno live?' }], chosen: [{ role: 'assistant', content: 'Bruno lives in Oakridge.' }], rejected: [{ role: 'assistant', content: 'Bruno visited Millford.' }] } as PreferencePair,
  ];
  const { pairs } = tokenizePairs(tok, raw, 128);
  assert.equal(pairs.length, 2);
  const policy = new GlmForCausalLM(cfg, { seed: 1 });
  const ref = new GlmForCausalLM(cfg, { seed: 2 });
  const trainer = (argv: string[]) => new DpoTrainer(resolveConfig(dpoSchema, { argv: ['--model', 'x', '--out', tempDir(), ...argv] }), policy, ref, tok, pairs, null);
  const plain = noGrad(() => trainer([]).pairLoss([0, 1], pairs, 't:'));
  const zero = noGrad(() => trainer(['--sft-loss-weight', '0']).pairLoss([0, 1], pairs, 't:'));
  const w = 0.7;
  const withNll = noGrad(() => trainer(['--sft-loss-weight', String(w)]).pairLoss([0, 1], pairs, 't:'));
  assert.equal(zero.loss.item(), plain.loss.item());
  assert.equal(plain.metrics.nll_loss, undefined);
  // the NLL term computed here from scratch: -(sum of chosen-token log-probs) / chosen tokens
  const lp = noGrad(() => sequenceLogps(policy, responseBatch(pairs.map((p) => p.chosen), tok.requireId(EOS_TOKEN))));
  const ntok = pairs.reduce((a, p) => a + p.chosen.length, 0);
  const nll = -(lp.data[0] + lp.data[1]) / ntok;
  assert.ok(nll > 0.5, `NLL of an untrained model is large, got ${nll}`);
  assert.ok(Math.abs(withNll.metrics.nll_loss - nll) < 1e-4, `${withNll.metrics.nll_loss} vs ${nll}`);
  assert.ok(Math.abs(withNll.loss.item() - (plain.loss.item() + w * nll)) < 1e-4);
  assert.equal(withNll.dpo, plain.dpo);
});
