// Server pieces without HTTP: the stop-string matcher (pieces may cut a stop string anywhere), the
// OpenAI field validators, and the engine client turning a dead worker into 503s instead of a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { StopMatcher } from './run.js';
import { ApiError, checkModel, optInt, optNumber, optStop } from './api-error.js';
import { EngineClient, OverloadedError } from './engine-client.js';
import { loadPreset } from '../models/glm/config.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { saveModel } from '../models/glm/checkpoint.js';
import { tempDir } from '../util/temp-dir.js';

test('StopMatcher cuts at the first stop string, whatever the piece boundaries', () => {
  const text = 'The answer is 42.\nUser: next question';
  for (let size = 1; size <= 6; size++) {
    const m = new StopMatcher(['\nUser:', 'zzz']);
    let out = '';
    for (let i = 0; i < text.length && !m.stopped; i += size) out += m.push(text.slice(i, i + size));
    out += m.flush();
    assert.equal(out, 'The answer is 42.', `piece size ${size}`);
    assert.equal(m.stopped, true);
  }
  const m = new StopMatcher(['abc']);
  assert.equal(m.push('xxab'), 'xx'); // 'ab' is held back: it may start 'abc'
  assert.equal(m.push('d'), 'abd');
  assert.equal(m.push('ab'), '');
  assert.equal(m.flush(), 'ab'); // generation ended: the held text was not a stop string
});

test('field validators answer 400/404 with the param named', () => {
  const err = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof ApiError);
      return e;
    }
    assert.fail('expected an ApiError');
  };
  assert.equal(optNumber({ t: 0.5 }, 't', 0, 2, 1), 0.5);
  assert.equal(optNumber({}, 't', 0, 2, 1), 1);
  assert.equal(err(() => optNumber({ t: '1' }, 't', 0, 2, 1)).param, 't');
  assert.equal(err(() => optNumber({ t: 3 }, 't', 0, 2, 1)).status, 400);
  assert.equal(err(() => optInt({ n: 1.5 }, 'n', 1, 8, 1)).code, 'invalid_type');
  assert.deepEqual(optStop({ stop: 'x' }), ['x']);
  assert.equal(err(() => optStop({ stop: ['a', 'b', 'c', 'd', 'e'] })).param, 'stop');
  const nf = err(() => checkModel({ model: 'other' }, 'mine'));
  assert.equal(nf.status, 404);
  assert.deepEqual(Object.keys(nf.body().error), ['message', 'type', 'param', 'code']);
});

test('a dead generation worker turns requests into 503s, not a crash', async () => {
  const dir = join(tempDir('glmkit-ec-'), 'model');
  saveModel(dir, new GlmForCausalLM({ ...loadPreset('tiny'), padTokenId: null, eosTokenId: null, bosTokenId: null }, { seed: 1 }));
  const client = await EngineClient.start(dir, { maxSlots: 2, maxPending: 4 });
  const h = client.submit({ prompt: [1, 2, 3], maxTokens: 300, temperature: 0 }, () => {});
  await (client as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
  await assert.rejects(h.done, (e: unknown) => e instanceof OverloadedError && e.status === 503);
  assert.throws(() => client.submit({ prompt: [1], maxTokens: 1 }, () => {}), (e: unknown) => e instanceof OverloadedError && e.status === 503);
  await client.close();
});

test('a request whose client left before it reached the engine is cancelled at once (its slot is never held)', async () => {
  const { scratchModel } = await import('../bench/serve.js');
  const { loadTokenizer } = await import('../tokenizer/index.js');
  const { runGeneration } = await import('./run.js');
  const dir = scratchModel('tiny', tempDir('glmkit-run-'), { neverStop: true });
  const client = await EngineClient.start(dir, { maxSlots: 1, maxPending: 4 });
  try {
    const gone = new AbortController();
    gone.abort();
    const params = { prompt: [1, 2, 3], maxTokens: 300, temperature: 0, topP: 1, stop: [], stopTokens: [] };
    const r = await runGeneration(client, loadTokenizer(dir), params, () => {}, gone.signal);
    assert.ok(r.completionTokens < 300, `stopped early, got ${r.completionTokens} tokens`);
    assert.equal(client.stats.cancelled, 1);
    assert.equal(client.inFlight, 0);
  } finally {
    await client.close();
  }
});
