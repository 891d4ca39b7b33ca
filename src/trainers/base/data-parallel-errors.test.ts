// A failing training worker: its error reaches the trainer as a TrainingError naming the worker and
// the way out, and leaves no answer behind for the next step. (A separate file: the test hook is
// read by workers started in this process.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrainingError } from '../../errors.js';
import { loadPreset } from '../../models/glm/config.js';
import { GlmForCausalLM } from '../../models/glm/model.js';
import { DataParallel } from './data-parallel.js';
import { lmShards } from './shard-losses.js';

process.env.GLMKIT_TEST_TRAIN_WORKER_FAIL = '1';

test('a worker error is thrown to the trainer, and the next step gets its own answer', () => {
  const model = new GlmForCausalLM(loadPreset('tiny'), { seed: 1 });
  const rows = Array.from({ length: 4 }, (_, s) => ({ ids: Int32Array.from({ length: 17 }, (_, t) => 3 + ((s + t) % 50)), mask: new Uint8Array(0) }));
  const dp = DataParallel.create(model, model.parameters(), 2)!;
  for (let i = 0; i < 2; i++) {
    assert.throws(() => dp.run(lmShards(rows, true, 2, { padId: 0, lengthGroups: 1, accumulation: 1 })), (e: unknown) => e instanceof TrainingError && /data-parallel worker 1: test failure .*--data-parallel 1/.test(e.message));
  }
  assert.equal(DataParallel.create(model, model.parameters(), 1), null, 'one thread: no runner');
});
