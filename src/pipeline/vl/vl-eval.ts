/**
 * Held-out accuracy of a GLM-4.1V model per visual family: greedy thinking-mode answers (batched
 * image rollouts, src/generation/vlm-rollout.ts) to the
 * test-split prompts of each family, scored by the record's verifier (the box inside `<answer>`),
 * beside the family's chance level (the majority-answer baseline on the same prompts). The prompts of
 * a family are halved by a hash into validation (where settings are chosen) and test (reported).
 */
import { dirname } from 'node:path';
import { readJsonl } from '../../data/jsonl.js';
import type { ImageProcessorLike } from '../../data/image-chat.js';
import { majorityBaseline, type VisionFamily } from '../../data/vision/index.js';
import { validationTestSplit } from '../../eval/splits.js';
import type { Glm4vForConditionalGeneration } from '../../models/glm4v/model.js';
import { recordReward, type VerifiableRecord } from '../../rewards/index.js';
import { rolloutWithImages } from '../../generation/vlm-rollout.js';
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
  /** prompts per generation call (default 16) */
  batchSize?: number;
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
      const rows = await rolloutWithImages(model, tok, halves[half].map((r) => r.prompt), {
        processor: opts.processor, source: { baseDir: dirname(file) }, thinking: true, maxNewTokens: opts.maxNewTokens, temperature: 0, batchSize: opts.batchSize ?? 16,
      });
      for (const row of rows) {
        const rec = halves[half][row.promptIndex];
        correct += recordReward(rec, row.parsed);
        if (row.finishReason === 'length') truncated++;
        if (half === 'test' && res.samples[family].length < 3) res.samples[family].push({ answer: rec.answer, output: row.text });
      }
      const n = halves[half].length;
      const chance = n > 0 ? majorityBaseline(halves[half].map((r) => ({ family, answer: r.answer })))[family].accuracy : NaN;
      res[half][family as VisionFamily] = { accuracy: n > 0 ? correct / n : NaN, chance, n, truncated: n > 0 ? truncated / n : 0 };
    }
  }
  return res;
}
