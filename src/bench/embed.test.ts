import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchEmbed } from './embed.js';

test('bench embed prints one JSON line with embeddings/s and the plain forward speed', async () => {
  const lines: string[] = [];
  const r = await benchEmbed({ json: true, quick: true, preset: 'tiny', batch: 2, seqLen: 4 }, (l) => lines.push(l));
  assert.equal(lines.length, 1);
  const o = JSON.parse(lines[0]);
  assert.equal(o.bench, 'embed');
  assert.equal(o.batch, 2);
  assert.equal(o.seq_len, 4);
  for (const k of ['embeddings_per_s', 'embed_tokens_per_s', 'forward_tokens_per_s']) assert.ok(Number.isFinite(o[k]) && o[k] > 0, k);
  assert.equal(o.embed_tokens_per_s, Math.round(r.embeddingsPerS * 4));
});
