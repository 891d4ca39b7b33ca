/**
 * The recall probe: in-context lookup at short range, in the world's own words. On travel logs with
 * recalls (src/data/world/pretrain.ts `ledgerDoc`), each recalled "On day N, X visited Y." (or, in
 * the adjacent style, "X Y.") names a destination Y drawn for that document, so only the earlier
 * visit with the same key tells it. The probe reads the model's next-token prediction where Y begins: top-1 accuracy and
 * mean loss (nats) of Y's first token. A model without in-context lookup guesses among the world's
 * places; `chance` is the accuracy of guessing uniformly among the places the document's log names.
 */
import * as F from '../tensor/ops/index.js';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import { GlmkitError } from '../errors.js';
import type { GlmForCausalLM } from '../models/glm/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';

export interface RecallProbeResult {
  /** share of recalled destinations whose first token is the model's top prediction */
  accuracy: number;
  /** mean next-token loss of those first tokens */
  loss: number;
  /** mean over recalls of 1 / (distinct destinations in the document's log) */
  chance: number;
  items: number;
}

const VISIT = /On day \d+, [^.]+? visited ([^.]+)\./g;
// adjacent logs (ledgerDoc style 'adjacent'): "Alice Millford." after "Travel log. ", ". " or "Recall: "
const ADJACENT = /(?<=(?:^Travel log|\.|Recall:) )[A-Z][a-z]+ ([A-Z][a-z]+)\./g;
// pair logs (style 'pair'): "On day 9, Alice Millford."
const PAIR = /On day \d+, [A-Z][a-z]+ ([A-Z][a-z]+)\./g;

/** One recalled destination: the document's ids and the position of the destination's first token. */
function recallTargets(tok: Tokenizer, text: string): { ids: number[]; positions: number[]; chance: number } {
  const cut = text.indexOf('\nRecall: ');
  if (cut < 0) throw new GlmkitError('eval', `recall probe: expected a travel log with "\\nRecall: ", got "${text.slice(0, 60)}..."`);
  const ids = tok.encode(text);
  const pattern = text.includes(' visited ') ? VISIT : /On day \d+, /.test(text) ? PAIR : ADJACENT;
  const logged = new Set([...text.slice(0, cut).matchAll(pattern)].map((m) => m[1]));
  const positions: number[] = [];
  for (const m of text.slice(cut).matchAll(pattern)) {
    const at = cut + m.index! + m[0].length - m[1].length - 2; // the space before the destination
    const prefix = tok.encode(text.slice(0, at));
    if (prefix.some((id, i) => ids[i] !== id)) throw new GlmkitError('eval', `recall probe: the tokens before "${m[1]}" differ from the document's own (a merge across the boundary); use documents whose destinations follow a space`);
    positions.push(prefix.length);
  }
  return { ids, positions, chance: 1 / Math.max(1, logged.size) };
}

export function recallProbe(model: GlmForCausalLM, tok: Tokenizer, texts: readonly string[]): RecallProbeResult {
  let hits = 0, loss = 0, chance = 0, items = 0;
  noGrad(() => {
    for (const text of texts) {
      const { ids, positions, chance: c } = recallTargets(tok, text);
      const logits = model.forward(new Tensor(Int32Array.from(ids), [1, ids.length])).logits!; // [1, T, V]
      const V = logits.shape[2];
      const lsm = F.logSoftmax(logits, -1).data as Float32Array;
      for (const p of positions) {
        const row = lsm.subarray((p - 1) * V, p * V);
        let best = 0;
        for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
        if (best === ids[p]) hits++;
        loss -= row[ids[p]];
        chance += c;
        items++;
      }
    }
  });
  return { accuracy: items ? hits / items : NaN, loss: items ? loss / items : NaN, chance: items ? chance / items : NaN, items };
}
