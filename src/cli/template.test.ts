import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainBpeFromTexts } from '../tokenizer/bpe-train.js';
import { saveTokenizer } from '../tokenizer/tokenizer-json.js';
import { GLM_SPECIAL_TOKENS } from '../tokenizer/special-tokens.js';
import { testCorpus } from '../tokenizer/test-fixtures.js';
import { templateCommand } from './template.js';

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await templateCommand(argv, (t) => (out += t));
  return { code, out };
}

const CONV = {
  messages: [
    { role: 'user', content: 'Add 2 and 3' },
    { role: 'assistant', content: '', tool_calls: [{ type: 'function', function: { name: 'add', arguments: '{"a": 2, "b": 3}' } }] },
    { role: 'tool', content: '5' },
  ],
  tools: [{ type: 'function', function: { name: 'add', parameters: { type: 'object' } } }],
  enable_thinking: false,
  add_generation_prompt: true,
};

test('template prints the rendered text; --ids adds token ids and the loss mask', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glmkit-cli-tpl-'));
  try {
    const file = join(dir, 'conv.json');
    writeFileSync(file, JSON.stringify(CONV));
    const { code, out } = await run(['--conversation', file]);
    assert.equal(code, 0);
    assert.ok(out.startsWith('[gMASK]<sop><|system|>\n# Tools\n'));
    assert.ok(
      out.endsWith(
        '<|user|>\nAdd 2 and 3/nothink<|assistant|>\n<think></think>\n<tool_call>add\n<arg_key>a</arg_key>\n<arg_value>2</arg_value>\n<arg_key>b</arg_key>\n<arg_value>3</arg_value>\n</tool_call>' +
          '<|observation|>\n<tool_response>\n5\n</tool_response><|assistant|>\n<think></think>',
      ),
    );
    const model = join(dir, 'tok');
    const tok = trainBpeFromTexts(testCorpus(100), { vocabSize: 300 + GLM_SPECIAL_TOKENS.length });
    saveTokenizer(tok, model);
    assert.equal((await run(['--conversation', file, '--model', model])).out, out);
    const withIds = JSON.parse((await run(['--conversation', file, '--model', model, '--ids'])).out);
    assert.equal(withIds.text, out);
    assert.deepEqual(withIds.ids, tok.encode(out, { allowSpecial: true }));
    assert.equal(withIds.assistant_mask.length, withIds.ids.length);

    // A folder with a different chat_template is rendered with that template.
    tok.config = { ...tok.config, chatTemplate: '{% for m in messages %}[{{ m.role }}]{% endfor %}' };
    saveTokenizer(tok, model);
    assert.equal((await run(['--conversation', file, '--model', model])).out, '[user][assistant][tool]');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('template errors: missing flag, unreadable file, bad conversation', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glmkit-cli-tpl-'));
  try {
    await assert.rejects(run([]), (e: Error) => e.name === 'UsageError' && /--conversation is required/.test(e.message));
    await assert.rejects(run(['--conversation', join(dir, 'none.json')]), (e: Error) => e.name === 'UsageError' && /--conversation \S*none\.json does not exist; expected a JSON conversation file/.test(e.message));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ messages: [{ role: 'user', content: 'x' }, { role: 'tool', content: 'y' }] }));
    await assert.rejects(run(['--conversation', file]), (e: Error) => e.name === 'DataError' && /bad\.json: messages\[1\]: tool message with no preceding tool call/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
