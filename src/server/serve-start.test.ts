import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exposureWarning, isLoopback } from './serve-start.js';

test('the server says so when it listens beyond this machine, louder without an API key', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) {
    assert.equal(isLoopback(h), true, h);
    assert.equal(exposureWarning(h, false), null, h);
  }
  assert.match(exposureWarning('0.0.0.0', false)!, /^glmkit: warning: listening on 0\.0\.0\.0 without --api-key/);
  assert.match(exposureWarning('192.168.1.5', true)!, /other machines can reach this server; they need the API key/);
});
