import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, UsageError } from '../../errors.js';
import { tempDir } from '../../util/temp-dir.js';
import { choice, field, helpText, parseArgv, resolveConfig } from './config.js';

const schema = {
  model: field('path', '', 'model folder', { required: true }),
  data: field<string | string[]>('path', '', 'data', { multiple: true }),
  seed: field('int', 0, 'seed', { min: 0 }),
  shift: field('number', 0, 'any number'),
  quiet: field('boolean', false, 'no output'),
  thinking: field('boolean', true, 'think', { onOff: true, switches: { 'no-think': false } }),
  resume: field<boolean | 'auto'>(['true', 'false', 'auto'] as unknown as readonly string[], false, 'resume', { implicit: 'true' }),
  mode: choice(['a', 'b'], 'a', 'mode'),
};

const usage = (argv: string[]) => (e: unknown) => e instanceof UsageError && e.message.length > 10 && !e.message.includes('\n');

test('parseArgv: --flag value, --flag=value, negative numbers as values', () => {
  assert.deepEqual(parseArgv(schema, ['--model', 'm', '--seed=3', '--shift', '-1.5']).values, { model: 'm', seed: 3, shift: -1.5 });
  assert.deepEqual(parseArgv(schema, ['--shift=-2']).values, { shift: -2 });
  // a negative value reaches the range check, with a clear message naming the flag
  assert.throws(() => parseArgv(schema, ['--seed', '-1']), (e: unknown) => e instanceof UsageError && /--seed: expected a value >= 0, found -1/.test(e.message));
  assert.throws(() => parseArgv(schema, ['--seed', 'abc']), (e: unknown) => e instanceof UsageError && /--seed: expected an integer, found "abc"/.test(e.message));
});

test('parseArgv: bare switches never swallow the next word; --no-x; on|off', () => {
  assert.throws(() => parseArgv(schema, ['--quiet', 'true']), usage([]));
  const p = parseArgv(schema, ['--quiet', 'a.txt'], { positionals: true });
  assert.deepEqual(p.values, { quiet: true });
  assert.deepEqual(p.positionals, ['a.txt']);
  assert.deepEqual(parseArgv(schema, ['--no-quiet']).values, { quiet: false });
  assert.deepEqual(parseArgv(schema, ['--thinking', 'off', '--seed', '1']).values, { thinking: false, seed: 1 });
  assert.deepEqual(parseArgv(schema, ['--thinking', '--seed', '1']).values, { thinking: true, seed: 1 });
  assert.deepEqual(parseArgv(schema, ['--no-think']).values, { thinking: false });
  for (const argv of [['--thinking=maybe'], ['--thinking', 'maybe']]) assert.throws(() => parseArgv(schema, argv), (e: unknown) => e instanceof UsageError && /--thinking: expected on or off, found "maybe"/.test(e.message));
});

test('parseArgv: implicit values of bare flags; every value of a repeated multiple flag', () => {
  assert.deepEqual(parseArgv(schema, ['--resume']).values, { resume: 'true' });
  assert.deepEqual(parseArgv(schema, ['--resume', 'auto']).values, { resume: 'auto' });
  assert.deepEqual(parseArgv(schema, ['--resume', '--seed', '2']).values, { resume: 'true', seed: 2 });
  assert.deepEqual(parseArgv(schema, ['--data', 'a', '--data', 'b', '--data=c']).values, { data: ['a', 'b', 'c'] });
  assert.deepEqual(parseArgv(schema, ['--data', 'a']).values, { data: 'a' });
  assert.deepEqual(parseArgv(schema, ['--seed', '1', '--seed', '2']).values, { seed: 2 }); // single-value flags: the last wins
});

test('parseArgv: unknown flags get one line with a suggestion; missing values are named', () => {
  assert.throws(() => parseArgv(schema, ['--sede', '1'], { command: 'x' }), (e: unknown) => e instanceof UsageError && e.message === 'x: unknown option --sede (did you mean --seed?); see glmkit x --help');
  assert.throws(() => parseArgv(schema, ['--model']), (e: unknown) => e instanceof UsageError && /--model needs a value/.test(e.message));
  assert.throws(() => parseArgv(schema, ['--model', '--quiet']), (e: unknown) => e instanceof UsageError && /--model needs a value, found the option '--quiet'/.test(e.message));
  assert.throws(() => parseArgv(schema, ['stray']), usage([]));
  assert.equal(parseArgv(schema, ['--bogus', '-h']).help, true); // help wins over errors
});

test('values from a --config file are ConfigErrors naming file and key; flags are UsageErrors', () => {
  assert.throws(() => resolveConfig(schema, { object: { seed: -1 }, objectSource: 'c.yaml' }), (e: unknown) => e instanceof ConfigError && /c\.yaml: key "seed": expected a value >= 0/.test(e.message));
  assert.throws(() => resolveConfig(schema, { object: { sed: 1 }, objectSource: 'c.yaml' }), (e: unknown) => e instanceof ConfigError && /unknown key "sed"/.test(e.message));
  assert.throws(() => resolveConfig(schema, { argv: ['--seed', '-1'] }), (e: unknown) => e instanceof UsageError);
  assert.deepEqual(resolveConfig(schema, { object: { data: ['a', 'b'] } }).data, ['a', 'b']);
  const dir = tempDir('glmkit-config-');
  writeFileSync(join(dir, 'c.json'), JSON.stringify({ seed: 4 }));
  const p = parseArgv(schema, ['--config', join(dir, 'c.json')], { config: true });
  assert.equal(p.configFile, join(dir, 'c.json'));
});

test('helpText: required flags as required, optional ones without a fake default, --config and -h listed', () => {
  const h = helpText('usage: x', schema, { config: true });
  assert.match(h, /--model <path> +model folder \(required\)/);
  assert.doesNotMatch(h, /default ""/);
  assert.match(h, /--thinking on\|off +think \(default on; also --no-think\)/);
  assert.match(h, /--data <path> +data \(optional; repeatable/);
  assert.match(h, /--config <file>/);
  assert.match(h, /-h, --help/);
});
