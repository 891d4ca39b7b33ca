// Top-p sampling sorts only the ids above a cutoff: the same candidates, draws and log-probs as
// sorting the whole vocabulary, for peaked and flat distributions alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/rng.js';
import { sampleToken, samplingDistribution } from './sampler.js';

/** The nucleus by a full sort (the reference): ids most likely first, ties by id, and the probabilities. */
function referenceNucleus(logits: Float32Array, topP: number): { keep: number[]; p: Float64Array } {
  let max = -Infinity;
  for (const x of logits) max = Math.max(max, x);
  const p = Float64Array.from(logits, (x) => Math.exp(x - max));
  const z = p.reduce((a, b) => a + b, 0);
  for (let i = 0; i < p.length; i++) p[i] /= z;
  const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a] || a - b);
  let acc = 0, n = 0;
  while (n < order.length && acc < topP) acc += p[order[n++]];
  return { keep: order.slice(0, Math.max(1, n)), p };
}

function referenceDistribution(logits: Float32Array, topP: number): Float64Array {
  const { keep, p } = referenceNucleus(logits, topP);
  const mass = keep.reduce((a, i) => a + p[i], 0);
  const out = new Float64Array(p.length);
  for (const i of keep) out[i] = p[i] / mass;
  return out;
}

test('top-p: the candidates of a full sort, for peaked, flat and tied logits', () => {
  const rng = new Rng(3);
  const V = 3000;
  for (const scale of [0, 0.1, 1, 4, 12, 40]) {
    for (const topP of [0.1, 0.5, 0.9, 0.99]) {
      const logits = Float32Array.from({ length: V }, () => scale * rng.normal());
      // ties: a block of equal logits near the top
      for (let i = 0; i < 20; i++) logits[100 + i] = logits[0];
      const got = samplingDistribution(logits, { topP });
      assert.deepEqual(Array.from(got), Array.from(referenceDistribution(logits, topP)), `scale ${scale} top-p ${topP}`);
      // the same draws for the same seed as walking the fully sorted nucleus
      const { keep, p } = referenceNucleus(logits, topP);
      const mass = keep.reduce((acc, i) => acc + p[i], 0);
      const a = new Rng(9), b = new Rng(9);
      for (let k = 0; k < 20; k++) {
        let u = b.random() * mass, want = keep[keep.length - 1];
        for (const c of keep) if ((u -= p[c]) < 0) {
          want = c;
          break;
        }
        const got = sampleToken(logits, { topP }, a);
        assert.equal(got.token, want, `scale ${scale} top-p ${topP} draw ${k}`);
        assert.ok(Math.abs(got.logprob - Math.log(p[want])) < 1e-9);
      }
    }
  }
});
