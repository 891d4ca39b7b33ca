// Marker ids from a tokenizer: image markers required, missing video markers placed past its vocabulary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { loadVlPreset } from './config.js';
import { glm4vConfigForTokenizer } from './init-model.js';

function stub(tokens: Record<string, number>, vocabSize: number): Tokenizer {
  return {
    vocabSize,
    tokenToId: (t: string) => tokens[t],
    requireId: (t: string) => {
      if (tokens[t] === undefined) throw new Error(`tokenizer has no token ${JSON.stringify(t)}`);
      return tokens[t];
    },
  } as unknown as Tokenizer;
}

const base = { '<|endoftext|>': 0, '<|user|>': 3, '<|observation|>': 4, '<|begin_of_image|>': 10, '<|image|>': 11, '<|end_of_image|>': 12 };

test('image markers come from the tokenizer; absent video markers get unused ids past its vocabulary', () => {
  const cfg = glm4vConfigForTokenizer(loadVlPreset('tiny-vl'), stub(base, 600));
  assert.deepEqual([cfg.imageStartTokenId, cfg.imageTokenId, cfg.imageEndTokenId], [10, 11, 12]);
  assert.deepEqual([cfg.videoStartTokenId, cfg.videoTokenId, cfg.videoEndTokenId], [600, 601, 602]);
  assert.equal(cfg.text.padTokenId, 0);
  assert.throws(() => glm4vConfigForTokenizer(loadVlPreset('tiny-vl'), stub({ ...base, '<|image|>': undefined as unknown as number }, 600)), /<\|image\|>/);
  assert.throws(() => glm4vConfigForTokenizer(loadVlPreset('tiny-vl'), stub(base, 1023)), /outside the model's vocab_size 1024/);
});
