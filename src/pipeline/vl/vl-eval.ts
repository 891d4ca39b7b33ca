/**
 * Held-out accuracy of a GLM-4.1V model per visual family: greedy thinking-mode answers to the
 * test-split prompts of each family, scored by the record's verifier (the box inside `<answer>`),
 * beside the family's chance level (the majority-answer baseline on the same prompts). The prompts of
 * a family are halved by a hash into validation (where settings are chosen) and test (reported).
 */
import { dirname } from 'node:path';
import { readJsonl } from '../../data/jsonl.js';
import { renderImageChat, type ImageProcessorLike } from '../../data/image-chat.js';
import { majorityBaseline, type VisionFamily } from '../../data/vision/index.js';
import { validationTestSplit } from '../../eval/splits.js';
import type { Glm4vForConditionalGeneration } from '../../models/glm4v/model.js';
import { recordReward, type VerifiableRecord } from '../../rewards/index.js';
import { noGrad } from '../../tensor/autograd.js';
import { Tensor } from '../../tensor/tensor.js';
import { parseChatOutput } from '../../tokenizer/chat-parser.js';
import { STOP_TOKENS } from '../../tokenizer/special-tokens.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';

/** A held-out prompt as the data stage writes it (`glmkit data vision --task rl`). */
export interface VisionEvalRecord extends VerifiableRecord {
  prompt: unknown[];
  answer: string;
  family: string;
}

export interface FamilyAccuracy {
  accuracy: number;
  /** majority-answer accuracy on the same prompts */
  chance: number;
  n: number;
  /** share of answers cut by the token budget */
  truncated: number;
}

export interface VisionEvalResult {
  validation: Record<string, FamilyAccuracy>;
  test: Record<string, FamilyAccuracy>;
  /** a few test outputs per family, for reading */
  samples: Record<string, { answer: string; output: string }[]>;
}

export interface VisionEvalOptions {
  processor: ImageProcessorLike;
  maxNewTokens: number;
}

/** One greedy thinking-mode answer to an image prompt (KV cache, one prompt at a time). */
export async function greedyImageAnswer(model: Glm4vForConditionalGeneration, tok: Tokenizer, rec: VisionEvalRecord, baseDir: string, opts: VisionEvalOptions): Promise<{ text: string; truncated: boolean }> {
  const chat = await renderImageChat(tok, { messages: rec.prompt, enable_thinking: true, add_generation_prompt: true }, { processor: opts.processor, source: { baseDir } });
  const stops = new Set(STOP_TOKENS.map((t) => tok.requireId(t)));
  const ids = chat.ids;
  const rows = chat.images.reduce((n, im) => n + im.gridThw[0] * im.gridThw[1] * im.gridThw[2], 0);
  const pixels = new Float32Array(chat.images.reduce((n, im) => n + im.pixelValues.length, 0));
  let at = 0;
  for (const im of chat.images) {
    pixels.set(im.pixelValues, at);
    at += im.pixelValues.length;
  }
  const out: number[] = [];
  return noGrad(() => {
    const cache = model.createCache(1, ids.length + opts.maxNewTokens + 1);
    let o = model.forward({
      inputIds: new Tensor(Int32Array.from(ids), [1, ids.length]),
      pixelValues: chat.images.length ? new Tensor(pixels, [rows, pixels.length / rows]) : null,
      imageGridThw: chat.images.map((im) => im.gridThw),
      cache,
    });
    const deltas = o.ropeDeltas;
    for (let step = 0; step < opts.maxNewTokens; step++) {
      const V = o.logits.shape[2], T = o.logits.shape[1];
      const row = (o.logits.data as Float32Array).subarray((T - 1) * V, T * V);
      let best = 0;
      for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
      if (stops.has(best)) return { text: tok.decode(out), truncated: false };
      out.push(best);
      o = model.forward({ inputIds: new Tensor(Int32Array.of(best), [1, 1]), cache, ropeDeltas: deltas });
    }
    return { text: tok.decode(out), truncated: true };
  });
}

/** Accuracy per family on the validation and test halves of each family's held-out prompts. */
export async function evalVisionFamilies(model: Glm4vForConditionalGeneration, tok: Tokenizer, files: Record<string, string>, opts: VisionEvalOptions): Promise<VisionEvalResult> {
  const res: VisionEvalResult = { validation: {}, test: {}, samples: {} };
  model.eval();
  for (const [family, file] of Object.entries(files)) {
    const records = readJsonl(file).map((r) => r.value as unknown as VisionEvalRecord);
    const halves = validationTestSplit(records, (r) => JSON.stringify(r.prompt));
    res.samples[family] = [];
    for (const half of ['validation', 'test'] as const) {
      let correct = 0, truncated = 0;
      for (const rec of halves[half]) {
        const g = await greedyImageAnswer(model, tok, rec, dirname(file), opts);
        const parsed = parseChatOutput(g.text);
        correct += recordReward(rec, parsed);
        if (g.truncated) truncated++;
        if (half === 'test' && res.samples[family].length < 3) res.samples[family].push({ answer: rec.answer, output: g.text });
      }
      const n = halves[half].length;
      const chance = n > 0 ? majorityBaseline(halves[half].map((r) => ({ family, answer: r.answer })))[family].accuracy : NaN;
      res[half][family as VisionFamily] = { accuracy: n > 0 ? correct / n : NaN, chance, n, truncated: n > 0 ? truncated / n : 0 };
    }
  }
  return res;
}
