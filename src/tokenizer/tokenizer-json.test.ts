import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainBpeFromTexts } from './bpe-train.js';
import { GLM_CHAT_TEMPLATE } from './chat-template.js';
import { GLM_SPECIAL_TOKENS } from './special-tokens.js';
import { loadTokenizer, saveTokenizer } from './tokenizer-json.js';
import { testCorpus, tinyTokenizerJson } from './test-fixtures.js';

test('saveTokenizer / loadTokenizer round trip: same ids, same config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glmkit-tokjson-'));
  try {
    const tok = trainBpeFromTexts(testCorpus(200), { vocabSize: 256 + 80 + GLM_SPECIAL_TOKENS.length });
    tok.config = { ...tok.config, modelMaxLength: 4096 };
    saveTokenizer(tok, dir);
    const back = loadTokenizer(dir);
    for (const t of testCorpus(30, 5)) assert.deepEqual(back.encode(t, { allowSpecial: true }), tok.encode(t, { allowSpecial: true }));
    assert.equal(back.vocabSize, tok.vocabSize);
    assert.deepEqual(back.spec.merges, tok.spec.merges);
    assert.deepEqual(back.config, { eosToken: '<|endoftext|>', padToken: '<|endoftext|>', modelMaxLength: 4096, chatTemplate: GLM_CHAT_TEMPLATE });

    const doc = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    assert.equal(doc.model.type, 'BPE');
    assert.equal(doc.pre_tokenizer.type, 'Sequence');
    assert.deepEqual(doc.pre_tokenizer.pretokenizers.map((p: { type: string }) => p.type), ['Split', 'ByteLevel']);
    assert.equal(doc.decoder.type, 'ByteLevel');
    assert.equal(doc.added_tokens.length, GLM_SPECIAL_TOKENS.length);
    const cfg = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
    assert.equal(cfg.eos_token, '<|endoftext|>');
    assert.equal(cfg.pad_token, '<|endoftext|>');
    assert.equal(cfg.added_tokens_decoder[String(tok.tokenToId('[gMASK]'))].content, '[gMASK]');
    assert.equal(typeof cfg.chat_template, 'string');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a folder with only tokenizer.json loads with GLM defaults; a missing folder is a CheckpointError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glmkit-tokjson-'));
  try {
    writeFileSync(join(dir, 'tokenizer.json'), tinyTokenizerJson());
    const tok = loadTokenizer(dir);
    assert.deepEqual(tok.encode('hello world'), [11, 16]);
    assert.equal(tok.config.chatTemplate, null);
    assert.equal(tok.config.eosToken, '<|endoftext|>');
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: { content: '<|user|>' }, chat_template: '{{ 1 }}' }));
    assert.equal(loadTokenizer(dir).config.eosToken, '<|user|>');
    assert.equal(loadTokenizer(dir).config.chatTemplate, '{{ 1 }}');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => loadTokenizer(join(dir, 'nope')), (e: Error) => e.name === 'CheckpointError' && /tokenizer.json: not found/.test(e.message));
});
