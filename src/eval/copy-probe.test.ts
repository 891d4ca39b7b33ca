// The copy probe's two means are the next-token losses of exactly the tokens inside each copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPreset } from '../models/glm/config.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { Rng } from '../util/rng.js';
import { Tensor } from '../tensor/tensor.js';
import { copyProbe } from './copy-probe.js';

test('copy probe: first and repeat are the mean losses over each copy (first token of each copy skipped)', () => {
  const model = new GlmForCausalLM({ ...loadPreset('tiny'), numHiddenLayers: 1 }, { seed: 3 });
  const ids = Array.from({ length: 50 }, (_, i) => 20 + i);
  const n = 2, L = 7;
  const r = copyProbe(model, ids, { sequences: n, length: L, seed: 's' });
  // the same sequences, drawn the same way, scored by hand
  const rng = new Rng('s');
  const rows: number[][] = [];
  for (let b = 0; b < n; b++) {
    const seq = Array.from({ length: L }, () => ids[Math.floor(rng.random() * ids.length)]);
    rows.push([...seq, ...seq]);
  }
  const logits = model.forward(new Tensor(Int32Array.from(rows.flat()), [n, 2 * L])).logits!.data as Float32Array;
  const V = logits.length / (n * 2 * L);
  const nll = (b: number, t: number) => {
    const row = logits.subarray((b * 2 * L + t) * V, (b * 2 * L + t + 1) * V);
    const mx = Math.max(...row);
    const lse = mx + Math.log(row.reduce((s, x) => s + Math.exp(x - mx), 0));
    return lse - row[rows[b][t + 1]];
  };
  let first = 0, repeat = 0;
  for (let b = 0; b < n; b++) for (let i = 1; i < L; i++) { first += nll(b, i - 1); repeat += nll(b, L + i - 1); }
  assert.ok(Math.abs(r.first - first / (n * (L - 1))) < 1e-4, `${r.first} vs ${first / (n * (L - 1))}`);
  assert.ok(Math.abs(r.repeat - repeat / (n * (L - 1))) < 1e-4, `${r.repeat} vs ${repeat / (n * (L - 1))}`);
  assert.deepEqual([r.sequences, r.length], [n, L]);
});
