// A failing generation worker: its error reaches the caller as a GlmkitError naming the worker and
// the way out, and leaves no answer behind for the next call. (A separate file: the test hook is
// read by workers started in this process.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GlmkitError } from '../errors.js';
import { loadPreset } from '../models/glm/config.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { generate } from './generate.js';
import { setGenerationThreads } from './parallel-generate.js';

process.env.GLMKIT_TEST_GEN_WORKER_FAIL = '1';
const model = new GlmForCausalLM(loadPreset('tiny'), { seed: 1 }).eval();
const prompts = Array.from({ length: 24 }, (_, i) => [1 + i, 2, 3]);

test('a worker error is thrown to the caller, and a next call gets its own answer', () => {
  setGenerationThreads(3);
  try {
    for (let i = 0; i < 2; i++) {
      assert.throws(() => generate(model, prompts, { maxNewTokens: 4, seed: i }), (e: unknown) => e instanceof GlmkitError && /generation worker 1: test failure .*GLMKIT_GEN_THREADS=1/.test(e.message));
    }
  } finally {
    setGenerationThreads(1);
  }
  assert.equal(generate(model, prompts, { maxNewTokens: 4, seed: 0 }).tokens.length, 24, 'one thread still generates');
});
