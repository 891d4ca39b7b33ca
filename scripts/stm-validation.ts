/**
 * STM diagnostics on VALIDATION items (world MRC task seed 77; the stm experiment trains on task
 * seed 4 and tests on 904, never used here): trains one answer-only reader as the stm experiment's
 * iteration 0 does and reports held-out accuracy per kind, the evidence precision of its attention
 * against word overlap and random, and how many training items each (confidence, min value) pair of
 * STM's pseudo-label selection would keep, with the pseudo-labels' precision. Run from the repository root:
 *   GLMKIT_THREADS=1 npx tsx scripts/stm-validation.ts [--steps 300] [--batch 8] [--lr 2e-3] [--hidden 64]
 *     [--layers 2] [--init-range 0.02] [--train 1000] [--val 200] [--kinds two_hop,three_hop,...] [--model DIR]
 * `--model DIR` starts from a pre-trained causal LM folder (its tokenizer) instead of a fresh GLM.
 */
import { generateWorldTask, HARD_MRC_KINDS, type MrcKind } from '../src/data/world/index.js';
import { readingTokenizer } from '../src/experiment/experiments/reading-common.js';
import { configFromHf } from '../src/models/glm/config.js';
import { GlmForCausalLM } from '../src/models/glm/model.js';
import { loadReader } from '../src/models/reader/checkpoint.js';
import { accuracyByKind, predictMrc, trainMrc } from '../src/models/reader/mrc.js';
import { Reader } from '../src/models/reader/reader.js';
import { evidenceScores, overlapEvidence, selectPseudoEvidence, topSentences } from '../src/models/reader/stm.js';
import { EOS_TOKEN } from '../src/tokenizer/special-tokens.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const num = (k: string, d: number) => Number(args.get(k) ?? d);
const hidden = num('hidden', 64), layers = num('layers', 2), steps = num('steps', 300), batch = num('batch', 8), lr = num('lr', 2e-3);
const kinds = (args.get('kinds') ?? HARD_MRC_KINDS.join(',')).split(',') as MrcKind[];
const model = args.get('model');
const avg = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

const t0 = Date.now();
const train = generateWorldTask('mrc', { n: num('train', 1000), seed: 4, mrcKinds: kinds });
const val = generateWorldTask('mrc', { n: num('val', 200), seed: 77, mrcKinds: kinds });
let reader: Reader;
if (model) reader = loadReader(model);
else {
  const tok = readingTokenizer(), eos = tok.requireId(EOS_TOKEN);
  reader = new Reader(new GlmForCausalLM(configFromHf({
    model_type: 'glm4', vocab_size: tok.vocabSize, hidden_size: hidden, intermediate_size: Math.round(2.75 * hidden), num_hidden_layers: layers,
    num_attention_heads: 4, num_key_value_heads: 2, head_dim: hidden / 4, partial_rotary_factor: 0.5, max_position_embeddings: 512,
    attention_bias: true, tie_word_embeddings: false, initializer_range: num('init-range', 0.02), eos_token_id: eos, pad_token_id: eos,
  }, 'stm-validation'), { seed: 0 }), tok, undefined, 0);
}
const res = trainMrc(reader, train, { steps, batch, lr, seed: 0, evidenceWeight: 0, log: (s) => console.log(s) });
console.log(`train: answer loss (last 50 steps) ${avg(res.answerLoss.slice(-50)).toFixed(3)}, ${((Date.now() - t0) / 1000).toFixed(0)} s`);

const pv = predictMrc(reader, val);
console.log('validation accuracy', JSON.stringify(Object.fromEntries(Object.entries(accuracyByKind(val, pv)).map(([k, v]) => [k, +v.toFixed(3)]))));
const attn = evidenceScores(val, (i, k) => topSentences(pv[i].evidence, k));
const overlap = evidenceScores(val, (i, k) => overlapEvidence(val[i], val[i].answer, k));
console.log(`validation evidence P@k: attention ${avg(attn.pk).toFixed(3)} (P@1 ${avg(attn.p1).toFixed(3)}), word overlap with the gold option ${avg(overlap.pk).toFixed(3)}, random ${avg(val.map((r) => r.evidence.length / r.sentences.length)).toFixed(3)}`);

const sub = train.slice(0, 300);
const pt = predictMrc(reader, sub);
console.log(`training items (first 300): accuracy ${avg(pt.map((p, i) => Number(p.predicted === sub[i].answer))).toFixed(3)}`);
for (const confidence of [0.9, 0.8, 0.7, 0.6, 0.5]) {
  const row = [0.5, 0.3].map((minValue) => {
    const sel = selectPseudoEvidence(sub, pt, { confidence, maxK: 3, minValue, topK: Infinity });
    const prec = avg(sel.map((x) => x.sentences.filter((j) => sub[x.index].evidence.includes(j)).length / x.sentences.length));
    return `min value ${minValue}: ${sel.length} kept (pseudo-label precision ${sel.length ? prec.toFixed(2) : '-'})`;
  });
  console.log(`confidence ${confidence}: ${row.join('; ')}`);
}
