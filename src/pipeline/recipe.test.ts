import { test } from 'node:test';
import assert from 'node:assert/strict';
import { longContextBaseHint } from './recipe.js';

test('the long-context hint names the pair-log recipe for a pair-visit stage on a base pre-trained without travel logs, and only then', () => {
  assert.match(longContextBaseHint({ long_visit_style: 'pair', pretrain_ledger_share: 0 }) ?? '', /without pair travel logs .*--pretrain-ledger-share 0\.5 --pretrain-ledger-style pair/);
  assert.equal(longContextBaseHint({ long_visit_style: 'pair', pretrain_ledger_share: 0.5 }), null);
  assert.equal(longContextBaseHint({ long_visit_style: 'sentence', pretrain_ledger_share: 0 }), null);
});
