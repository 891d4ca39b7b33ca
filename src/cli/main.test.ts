import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandNames, EXIT, main } from './main.js';
import { BENCHMARK_NAMES } from './bench-list.js';

/** Runs main() in this process, capturing what it prints. */
async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const log = console.log, error = console.error;
  console.log = (...a: unknown[]) => void (out += a.join(' ') + '\n');
  console.error = (...a: unknown[]) => void (err += a.join(' ') + '\n');
  try {
    return { code: await main(argv), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

const SUBCOMMANDS = [['data', 'world'], ['tokenizer', 'train'], ['tokenizer', 'encode'], ['tokenizer', 'decode'], ['export', 'gguf'], ['bench', 'kernels'], ['bench', 'generate'], ['bench', 'serve'], ['experiment', 'run'], ['labels', 'export'], ['labels', 'stats'], ['longreward', 'score'], ['longreward', 'train-judge']];
const TRAINERS = ['pretrain', 'sft', 'grpo', 'reward', 'ppo', 'dpo', 'exo', 'align-sweep', 'pipeline'];

test('-h and --help work on every command and subcommand, from the schema that parses', async () => {
  for (const argv of [...commandNames().map((c) => [c]), ...SUBCOMMANDS]) {
    for (const flag of ['-h', '--help']) {
      const r = await capture([...argv, flag]);
      assert.equal(r.code, 0, `${argv.join(' ')} ${flag}: ${r.err}`);
      assert.match(r.out, /^usage: glmkit /, `${argv.join(' ')} ${flag}`);
      assert.doesNotMatch(r.out, /default ""/, argv.join(' '));
    }
  }
});

test('trainer help: required flags, --config, repeatable --data, the files the output holds, true --save-steps', async () => {
  for (const t of TRAINERS) {
    const h = (await capture([t, '--help'])).out;
    assert.match(h, /--out <path> .*\(required\)/, t);
    assert.match(h, /--config <file>/, t);
  }
  const sft = (await capture(['sft', '--help'])).out;
  assert.match(sft, /--model <path> .*\(required\)/);
  assert.match(sft, /--data <path> .*repeatable/);
  assert.match(sft, /training_config\.json/);
  assert.doesNotMatch(sft.split("\n").find((l) => l.includes("--out <path>"))!, /[ ,]config\.json/);
  assert.doesNotMatch(sft, /only the final model/);
  assert.match(sft, /--save-steps <int> .*the last step is always saved/);
  // one spelling of thinking: --thinking on|off, on trainers as on generate and chat
  for (const c of ['dpo', 'exo', 'ppo', 'align-sweep', 'generate', 'chat', 'agent']) assert.match((await capture([c, '--help'])).out, /--thinking on\|off/, c);
  // pipeline documents its stage flags as the trainers' flags
  assert.match((await capture(['pipeline', '--help'])).out, /--pretrain-lr += glmkit pretrain --learning-rate/);
});

test('glmkit --help: the pipeline stages as they run, the benchmarks, the exit codes; -V prints the version', async () => {
  const h = (await capture(['--help'])).out;
  assert.match(h, /data, tokenizer, init, pretrain, sft, eval, align, grpo, report/);
  assert.match(h, new RegExp(`benchmarks: ${BENCHMARK_NAMES.join(' \\| ')}`));
  assert.equal(BENCHMARK_NAMES.length, 7);
  assert.match(h, /Exit codes: 0 success, 1 runtime or data error, 2 usage error/);
  const bench = (await capture(['bench', '--help'])).out;
  for (const b of BENCHMARK_NAMES) assert.match(bench, new RegExp(`^  ${b} `, 'm'));
  for (const v of ['-V', '--version']) {
    const r = await capture([v]);
    assert.equal(r.code, EXIT.ok);
    assert.match(r.out, /^\d+\.\d+\.\d+/);
  }
});

test('exit codes: usage errors 2, bad --config values 1, with one line', async () => {
  const u = await capture(['sft', '--max-steps', '0']);
  assert.equal(u.code, EXIT.usage);
  assert.match(u.err, /^glmkit: error\[usage\]: sft: --max-steps: expected a value >= 1, found 0\n$/);
  const n = await capture(['data', 'world', '--task', 'rl', '--n', 'abc', '--out', '-']);
  assert.equal(n.code, EXIT.usage);
  const neg = await capture(['data', 'world', '--task', 'rl', '--seed', '-1', '--n', '1', '--out', '-']);
  assert.match(neg.err, /--seed: expected a value >= 0, found -1/);
});
