import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
    await assert.rejects(run(['frobnicate']), (e: Error) => e.name === 'UsageError' && /unknown subcommand 'frobnicate'/.test(e.message));
    await assert.rejects(run(['train', '--vocab-size', '400', '--out', dir]), /expected --data FILE/);
    await assert.rejects(run(['train', '--data', join(dir, 'missing.txt'), '--vocab-size', '400', '--out', dir]), (e: Error) => e.name === 'DataError' && /missing\.txt: training file not found/.test(e.message));
    writeFileSync(join(dir, 'bad.jsonl'), '{"text": "ok"}\n{oops\n');
    await assert.rejects(run(['train', '--data', join(dir, 'bad.jsonl'), '--vocab-size', '400', '--out', dir]), (e: Error) => e.name === 'DataError' && /bad\.jsonl:2: not valid JSON/.test(e.message));
    await assert.rejects(run(['encode', '--model', dir]), /exactly one of --text T or --file F/);
    await assert.rejects(run(['train', '--data', join(dir, 'bad.jsonl'), '--vocab-size', 'many', '--out', dir]), /--vocab-size must be an integer/);
    assert.equal((await run([])).code, 2);
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
});
