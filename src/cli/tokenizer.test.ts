import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import { testCorpus } from '../tokenizer/test-fixtures.js';
import { tokenizerCommand } from './tokenizer.js';

async function run(argv: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await tokenizerCommand(argv, (l) => lines.push(l));
  return { code, lines };
}

test('tokenizer train (text + JSONL) -> encode -> decode', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glmkit-cli-tok-'));
  try {
    const txt = join(dir, 'corpus.txt');
    const jsonl = join(dir, 'chats.jsonl');
    writeFileSync(txt, testCorpus(300).join('\n'));
    writeFileSync(jsonl, [JSON.stringify({ text: 'the cat sat on the mat' }), '', JSON.stringify({ messages: [{ role: 'user', content: 'naïve cats' }] })].join('\n') + '\n');
    const out = join(dir, 'tok');
    const t = await run(['train', '--data', txt, '--data', jsonl, '--vocab-size', '330', '--min-frequency', '1', '--out', out]);
    assert.equal(t.code, 0);
    const info = JSON.parse(t.lines[0]);
    assert.equal(info.vocab_size, 330);
    assert.equal(info.out, out);
    const tok = loadTokenizer(out);
    assert.equal(tok.vocabSize, 330);

    const e = await run(['encode', '--model', out, '--text', 'the cats<|user|>']);
    const ids = JSON.parse(e.lines[0]).ids as number[];
    assert.deepEqual(ids, tok.encode('the cats<|user|>'));
    assert.ok(!ids.includes(tok.tokenToId('<|user|>')!));
    const e2 = await run(['encode', '--model', out, '--text', 'the cats<|user|>', '--allow-special']);
    assert.equal(JSON.parse(e2.lines[0]).ids.at(-1), tok.tokenToId('<|user|>'));
    writeFileSync(join(dir, 'in.txt'), 'the mat\n');
    assert.deepEqual(JSON.parse((await run(['encode', '--model', out, '--file', join(dir, 'in.txt')])).lines[0]).ids, tok.encode('the mat\n'));

    const d = await run(['decode', '--model', out, '--ids', JSON.stringify(ids)]);
    assert.equal(JSON.parse(d.lines[0]).text, 'the cats<|user|>');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tokenizer CLI errors: usage and data problems are typed errors with a reason', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glmkit-cli-tok-'));
  try {
    await assert.rejects(run(['frobnicate']), (e: Error) => e.name === 'UsageError' && /expected a subcommand train, encode or decode, got 'frobnicate'/.test(e.message));
    await assert.rejects(run(['train', '--vocab-size', '400', '--out', dir]), /--data is required/);
    await assert.rejects(run(['train', '--data', join(dir, 'missing.txt'), '--vocab-size', '400', '--out', dir]), (e: Error) => e.name === 'UsageError' && /--data \S*missing\.txt does not exist; expected a text or JSONL file/.test(e.message));
    writeFileSync(join(dir, 'bad.jsonl'), '{"text": "ok"}\n{oops\n');
    await assert.rejects(run(['train', '--data', join(dir, 'bad.jsonl'), '--vocab-size', '400', '--out', dir]), (e: Error) => e.name === 'DataError' && /bad\.jsonl:2: not valid JSON/.test(e.message));
    await assert.rejects(run(['encode', '--model', dir]), /exactly one of --text T or --file F/);
    await assert.rejects(run(['train', '--data', join(dir, 'bad.jsonl'), '--vocab-size', 'many', '--out', dir]), /--vocab-size: expected an integer, found "many"/);
    await assert.rejects(run([]), (e: Error) => e.name === 'UsageError' && /got nothing/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('JSONL records: "text" wins, else every string value except labels', async () => {
  const { recordText } = await import('../tokenizer/corpus.js');
  assert.equal(recordText({ text: 'a', other: 'b' }), 'a');
  assert.equal(
    recordText({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', reasoning_content: 'r', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"x": 1}' } }] }] }),
    'q\nr\nf\n{"x": 1}',
  );
  // image parts and image references are not text
  assert.equal(
    recordText({ messages: [{ role: 'user', content: [{ type: 'image', image: 'a.images/0.png' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }, { type: 'text', text: 'How many?' }] }], image: 'a.images/0.png' }),
    'How many?',
  );
});

test('tokenizer train refuses a model folder, an empty corpus, and warns when the vocabulary cannot be reached', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glmkit-cli-tok-'));
  try {
    const text = join(dir, 'text.txt');
    writeFileSync(text, 'the cat sat on the mat. the cat ate the rat. '.repeat(20));
    const model = join(dir, 'model');
    mkdirSync(model);
    writeFileSync(join(model, 'config.json'), '{}');
    // a model folder: replacing its tokenizer would leave embeddings sized for another vocabulary
    await assert.rejects(run(['train', '--data', text, '--vocab-size', '300', '--out', model]), (e: Error) => e.name === 'UsageError' && /already holds config\.json.*--overwrite/.test(e.message));
    assert.ok(!existsSync(join(model, 'tokenizer.json')));
    // an earlier tokenizer is not replaced silently either
    const out = join(dir, 'tok');
    assert.equal((await run(['train', '--data', text, '--vocab-size', '300', '--out', out])).code, 0);
    await assert.rejects(run(['train', '--data', text, '--vocab-size', '300', '--out', out]), /already holds tokenizer\.json/);
    assert.equal((await run(['train', '--data', text, '--vocab-size', '300', '--out', out, '--overwrite'])).code, 0);
    // an empty corpus learns nothing: an error, not a 0-merge tokenizer
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '');
    await assert.rejects(run(['train', '--data', empty, '--vocab-size', '300', '--out', join(dir, 'e')]), (e: Error) => e.name === 'DataError' && /no text to train on/.test(e.message));
    // more vocabulary than the data gives: a warning naming what was reached, and the tokenizer is written
    const warnings: string[] = [];
    const err = console.error;
    console.error = (m: string) => warnings.push(m);
    let r;
    try {
      r = await run(['train', '--data', text, '--vocab-size', '5000', '--out', join(dir, 'big')]);
    } finally {
      console.error = err;
    }
    const got = JSON.parse(r.lines[0]);
    assert.ok(got.vocab_size > 256 && got.vocab_size < 5000, `vocab ${got.vocab_size}`);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], new RegExp(`--vocab-size 5000 asked.*wrote a vocabulary of ${got.vocab_size}`));
    assert.ok(existsSync(join(dir, 'big', 'tokenizer.json')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
