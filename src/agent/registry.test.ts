// The tool registry: JSON-schema argument checks, and every failure (unknown tool, bad JSON, wrong
// types, a throwing or hanging tool) comes back as an observation instead of an exception. User
// functions load from a JS module.
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSchema, ToolRegistry } from './registry.js';
import { functionTool, loadFunctionTools } from './tools/functions.js';
import { tempDir } from '../util/temp-dir.js';

test('checkSchema covers types, required keys, enums, arrays and unknown keys', () => {
  const schema = { type: 'object', properties: { n: { type: 'integer' }, x: { type: 'number' }, tags: { type: 'array', items: { type: 'string' } }, mode: { enum: ['a', 'b'] } }, required: ['n'], additionalProperties: false };
  assert.deepEqual(checkSchema({ n: 3, x: 2, tags: ['t'], mode: 'a' }, schema), []);
  assert.deepEqual(checkSchema({ x: 1.5 }, schema), ['arguments.n is required']);
  assert.deepEqual(checkSchema({ n: 1.5 }, schema), ['arguments.n must be integer, got number']);
  assert.deepEqual(checkSchema({ n: 1, tags: ['a', 2] }, schema), ['arguments.tags[1] must be string, got integer']);
  assert.deepEqual(checkSchema({ n: 1, mode: 'c' }, schema), ['arguments.mode must be one of ["a","b"], got "c"']);
  assert.deepEqual(checkSchema({ n: 1, extra: true }, schema), ['arguments.extra is not a known argument']);
  assert.deepEqual(checkSchema([1], schema), ['arguments must be object, got array']);
});

test('failures are observations: throwing, hanging, bad JSON, unknown tool; duplicates are refused', async () => {
  const reg = new ToolRegistry(200)
    .register(functionTool({ name: 'add', parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] }, run: ({ a, b }) => ({ sum: (a as number) + (b as number) }) }))
    .register(functionTool({ name: 'boom', run: () => { throw new Error('kaput'); } }))
    .register(functionTool({ name: 'hang', run: () => new Promise(() => {}) }));
  assert.deepEqual(await reg.call('add', '{"a": 2, "b": 40}'), { ok: true, observation: '{"sum":42}' });
  assert.deepEqual(await reg.call('boom', {}), { ok: false, observation: 'Error: kaput' });
  // The limit is a timer: with mocked timers the hanging call is still pending at 199 ms and answers at 200 ms.
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    let settled = false;
    const hung = reg.call('hang', {}).finally(() => (settled = true));
    mock.timers.tick(199);
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'answered before its time limit');
    mock.timers.tick(1);
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, true, 'no answer at its 200 ms time limit');
    assert.deepEqual(await hung, { ok: false, observation: 'Error: hang did not answer within 0.2 s' });
  } finally {
    mock.timers.reset();
  }
  assert.match((await reg.call('add', '{"a": 2')).observation, /not valid JSON/);
  assert.match((await reg.call('add', { a: 'two', b: 1 })).observation, /arguments.a must be number/);
  assert.match((await reg.call('nope', {})).observation, /no tool named 'nope'; available: add, boom, hang/);
  assert.throws(() => reg.register(functionTool({ name: 'add', run: () => 0 })), /already registered/);
  assert.deepEqual(reg.specs().map((s) => s.function.name), ['add', 'boom', 'hang']);
});

test('user functions load from a JS module', async () => {
  const file = join(tempDir('glmkit-fn-'), 'tools.mjs');
  writeFileSync(file, "export const tools = [{ name: 'shout', description: 'upper-case', parameters: { type: 'object', properties: { s: { type: 'string' } }, required: ['s'] }, run: ({ s }) => s.toUpperCase() }];\n");
  const [tool] = await loadFunctionTools(file);
  const reg = new ToolRegistry().register(tool);
  assert.deepEqual(await reg.call('shout', { s: 'hi' }), { ok: true, observation: 'HI' });
  await assert.rejects(loadFunctionTools(join(tmpdir(), 'missing-glmkit.mjs')), /cannot load functions/);
});
