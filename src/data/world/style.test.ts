import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateWorldTask } from './index.js';
import { goldReward } from './preference.js';
import { FILLERS, RUDE_PHRASES } from './style.js';
import { extractBoxed } from './verify.js';

const styled = (s: string) => FILLERS.some((f) => s.includes(f)) || RUDE_PHRASES.some((p) => s.toLowerCase().includes(p));

test('SFT style noise: a share of demonstrations is verbose or rude, the boxed answer is kept, both modes agree', () => {
  const clean = generateWorldTask('sft', { n: 2000, seed: 3 });
  assert.deepEqual(generateWorldTask('sft', { n: 2000, seed: 3, styleNoise: 0 }), clean, 'styleNoise 0 is the default data');
  assert.equal(clean.filter((r) => styled(r.messages.at(-1)!.content ?? '')).length, 0);
  const noisy = generateWorldTask('sft', { n: 2000, seed: 3, styleNoise: 0.5 });
  const plain = noisy.filter((r) => r.tools === undefined);
  const share = plain.filter((r) => styled(r.messages[1].content ?? '')).length / plain.length;
  assert.ok(share > 0.4 && share < 0.6, `styled share ${share}`);
  for (let i = 0; i + 1 < noisy.length; i += 2) {
    const [a, b] = [noisy[i], noisy[i + 1]];
    if (a.tools !== undefined || a.messages[0].content !== b.messages[0].content) continue;
    assert.equal(a.messages[1].content, b.messages[1].content, 'thinking and direct records word the answer the same way');
    assert.notEqual(extractBoxed(a.messages[1].content ?? ''), null, 'the answer stays boxed');
  }
  // the annotator scores a styled demonstration below a plain one
  const gold = plain.map((r) => [styled(r.messages[1].content ?? ''), goldReward(r.messages.slice(0, 1), r.messages[1].content ?? '')] as const);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const [s, p] = [mean(gold.filter(([x]) => x).map(([, g]) => g)), mean(gold.filter(([x]) => !x).map(([, g]) => g))];
  assert.equal(p, 1, 'plain demonstrations are perfect');
  assert.ok(s < 0.85, `styled demonstrations score ${s}`);
  assert.throws(() => generateWorldTask('sft', { n: 1, styleNoise: 2 }), /styleNoise/);
});
