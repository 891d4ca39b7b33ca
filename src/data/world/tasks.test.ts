import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  WORLD_TASKS,
  generateWorldTask,
  parseDifficulty,
  toJsonl,
  validateWorldRecord,
  verifyRlAnswer,
  writeJsonl,
} from './index.js';
import { ConfigError, DataError } from '../../errors.js';
import { BOX_CLOSE as C, BOX_OPEN as O } from './verify.js';

const N: Record<string, number> = { pretrain: 300, sft: 400, rl: 400, preference: 200, longqa: 60, longdoc: 20, mrc: 200, mcq: 200, pairs: 100, sts: 100, steps: 100 };

test('same seed -> byte-identical JSONL; a different seed differs (every task)', () => {
  for (const task of WORLD_TASKS) {
    const a = toJsonl(generateWorldTask(task, { n: 30, seed: 12 }));
    const b = toJsonl(generateWorldTask(task, { n: 30, seed: 12 }));
    const c = toJsonl(generateWorldTask(task, { n: 30, seed: 13 }));
    assert.equal(a, b, `${task} is not deterministic`);
    assert.notEqual(a, c, `${task} ignores the seed`);
    assert.equal(a.split('\n').length, 31);
    // a prefix of a longer run is not required, but n is respected exactly
    assert.equal(generateWorldTask(task, { n: 7, seed: 1 }).length, 7);
  }
});

test('every record of every task validates against its schema', () => {
  for (const task of WORLD_TASKS) {
    const recs = generateWorldTask(task, { n: N[task], seed: 3 });
    recs.forEach((r, i) => validateWorldRecord(task, JSON.parse(JSON.stringify(r)), i + 1));
  }
});

test('the validator rejects malformed records with the field named', () => {
  const bad: [string, unknown, string][] = [
    ['pretrain', { text: '' }, 'text'],
    ['sft', { messages: [{ role: 'user', content: 'hi' }] }, 'messages'],
    ['sft', { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a', reasoning_content: 'x' }], enable_thinking: false }, 'reasoning_content'],
    ['sft', { messages: [{ role: 'user', content: 'q' }, { role: 'tool', content: '1' }, { role: 'assistant', content: 'a' }] }, 'messages[1]'],
    [
      'sft',
      { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: '', tool_calls: [{ type: 'function', function: { name: 'python', arguments: '[1' } }] }, { role: 'tool', content: '1' }, { role: 'assistant', content: 'a' }] },
      'arguments',
    ],
    ['rl', { prompt: 'q', answer: '1', difficulty: 0, task: 'arithmetic' }, 'difficulty'],
    ['preference', { prompt: 'q', chosen: 'a', rejected: 'b', score_chosen: 0.2, score_rejected: 0.5 }, 'score_chosen'],
    ['preference', { prompt: 'q', chosen: 'a', rejected: 'b', score_chosen: 1.5, score_rejected: 0.5 }, 'score_chosen'],
    ['mrc', { passage: 'A. B.', sentences: ['A.', 'B.'], question: 'q', options: ['x', 'y'], answer: 0, evidence: [2], difficulty: 1 }, 'evidence'],
    ['mcq', { question: 'q', choices: ['x', 'y'], answer: 2, prefix: 'p' }, 'answer'],
    ['longqa', { document: 'A.', question: 'q', answer: 'a', needle: 'B.', needle_index: 0, distractor_indices: [], difficulty: 1 }, 'needle'],
  ];
  for (const [task, rec, field] of bad) {
    assert.throws(
      () => validateWorldRecord(task as never, rec, 4),
      (e: unknown) => e instanceof DataError && e.field !== undefined && e.field.includes(field) && e.line === 4,
      `${task} ${JSON.stringify(rec)} should fail on ${field}`,
    );
  }
});

test('sft: thinking and direct records of the same question come in pairs with the same answer', () => {
  const recs = generateWorldTask('sft', { n: 400, seed: 2 });
  let tool = 0;
  for (let i = 0; i + 1 < recs.length; i += 2) {
    const [t, d] = [recs[i], recs[i + 1]];
    assert.equal(t.enable_thinking, true);
    assert.equal(d.enable_thinking, false);
    assert.equal(t.messages[0].content, d.messages[0].content);
    assert.equal(t.messages.at(-1)!.content, d.messages.at(-1)!.content);
    assert.ok(t.messages.filter((m) => m.role === 'assistant').every((m) => (m.reasoning_content ?? '').length > 0));
    assert.ok(d.messages.filter((m) => m.role === 'assistant').every((m) => m.reasoning_content === ''));
    assert.equal(t.messages.at(-1)!.content!.split(O).length, 2, 'one box in the final answer');
    if (t.tools) tool++;
  }
  assert.ok(tool > 10, `${tool} tool pairs`);
  // short enough for a tiny model: arithmetic chats of level 1-3 stay within ~300 characters
  const arith = recs.filter((r) => /^What is \d+ [-+] \d+\?/.test(r.messages[0].content!) && r.enable_thinking && !r.tools);
  for (const r of arith) {
    const len = r.messages.reduce((s, m) => s + (m.content ?? '').length + (m.reasoning_content ?? '').length, 0);
    if (/^What is \d\d [-+] \d\d\?/.test(r.messages[0].content!)) assert.ok(len <= 300, `${len} chars: ${r.messages[0].content}`);
  }
});

/** Evaluates the python one-liners the tool data uses, independently of the generator. */
function runPython(code: string): string {
  let m: RegExpExecArray | null;
  if ((m = /^print\((\d+) \* (\d+)\)$/.exec(code))) return (BigInt(m[1]) * BigInt(m[2])).toString();
  if ((m = /^print\((\d+) \*\* (\d+)\)$/.exec(code))) return (BigInt(m[1]) ** BigInt(m[2])).toString();
  if ((m = /^print\((\d+) % (\d+)\)$/.exec(code))) return (BigInt(m[1]) % BigInt(m[2])).toString();
  if ((m = /^print\(sum\(i \* i for i in range\(1, (\d+)\)\)\)$/.exec(code))) {
    let s = 0n;
    for (let i = 1n; i < BigInt(m[1]); i++) s += i * i;
    return s.toString();
  }
  throw new Error(`unexpected code ${code}`);
}

test('sft tool chats: well-formed python calls, correct observations, boxed final answer', () => {
  const recs = generateWorldTask('sft', { n: 800, seed: 21 }).filter((r) => r.tools);
  assert.ok(recs.length > 40);
  for (const r of recs) {
    assert.deepEqual(r.messages.map((m) => m.role), ['user', 'assistant', 'tool', 'assistant']);
    assert.equal(r.tools![0].function.name, 'python');
    const call = r.messages[1].tool_calls![0];
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, 'python');
    const args = call.function.arguments as { code: string };
    assert.deepEqual(Object.keys(args), ['code']);
    const out = runPython(args.code);
    assert.equal(r.messages[2].content, out);
    assert.equal(r.messages[2].tool_call_id, call.id);
    assert.equal(r.messages[3].content, `The answer is ${O}${out}${C}.`);
    // the code computes what the question asks
    const q = r.messages[0].content!;
    const sumTo = /from 1 to (\d+)\?/.exec(q);
    if (sumTo) assert.ok(args.code.includes(`range(1, ${Number(sumTo[1]) + 1})`), `${q} vs ${args.code}`);
    else for (const n of q.match(/\d+/g)!) assert.ok(args.code.includes(n), `${q} vs ${args.code}`);
  }
});

test('rl: exact answers verify, wrong ones do not, difficulty matches the problem size', () => {
  const recs = generateWorldTask('rl', { n: 400, seed: 4 });
  const tasks = new Set<string>();
  const levels = new Set<number>();
  for (const r of recs) {
    tasks.add(r.task);
    levels.add(r.difficulty);
    const prompt = typeof r.prompt === 'string' ? r.prompt : r.prompt[0].content!;
    assert.match(prompt, /Box the final answer\.$/);
    assert.equal(verifyRlAnswer(r, `<think>work</think>So: ${O}${r.answer}${C}`), 1);
    assert.equal(verifyRlAnswer(r, `${O}${r.answer}${C} ${O}${r.answer}${C}`), 0);
    assert.equal(verifyRlAnswer(r, `<think>${O}${r.answer}${C}</think>`), 0);
    const wrong = /^\d+$/.test(r.answer) ? String(Number(r.answer) + 1) : `${r.answer}x`;
    assert.equal(verifyRlAnswer(r, `${O}${wrong}${C}`), 0);
    if (r.task === 'arithmetic' && r.difficulty === 2) assert.match(prompt, /^What is \d\d [-+] \d\d\?/);
    if (r.task === 'arithmetic' && r.difficulty === 4) assert.match(prompt, /^What is \d\d [-+] \d\d [-+] \d\d\?/);
  }
  assert.deepEqual([...tasks].sort(), ['arithmetic', 'world']);
  assert.ok(levels.size >= 7);
  const only2 = generateWorldTask('rl', { n: 100, seed: 4, difficulty: [2] });
  assert.ok(only2.every((r) => r.difficulty === 2));
});

test('train and test splits do not share problems; the world stays the same across seeds', () => {
  const key = (r: { prompt: unknown }) => JSON.stringify(r.prompt);
  const train = new Set(generateWorldTask('rl', { n: 2000, seed: 1, split: 'train', difficulty: [2] }).map(key));
  const held = generateWorldTask('rl', { n: 300, seed: 2, split: 'test', difficulty: [2] });
  for (const r of held) assert.ok(!train.has(key(r)), `${key(r)} is in both splits`);
  // SFT and pretrain training data avoid held-out arithmetic too
  const heldQ = new Set(held.filter((r) => r.task === 'arithmetic').map((r) => (r.prompt as { content: string }[])[0].content));
  for (const r of generateWorldTask('sft', { n: 1000, seed: 5, split: 'train' })) assert.ok(!heldQ.has(r.messages[0].content!));
  const heldExpr = [...heldQ].map((q) => /What is (.+)\?/.exec(q)![1]);
  const lines = generateWorldTask('pretrain', { n: 500, seed: 5, split: 'train' }).flatMap((r) => r.text.split('\n'));
  for (const e of heldExpr) assert.ok(!lines.includes(`${e}:`) && !lines.some((l) => l.startsWith(`${e} = `)), `held-out ${e} in the corpus`);
  // (the same check finds them in an unsplit corpus, so it can fail)
  const allLines = generateWorldTask('pretrain', { n: 3000, seed: 5, difficulty: [2] }).flatMap((r) => r.text.split('\n'));
  assert.ok(heldExpr.some((e) => allLines.includes(`${e}:`) || allLines.some((l) => l.startsWith(`${e} = `))));
  // world facts do not depend on the task seed
  const facts = (seed: number) => generateWorldTask('mrc', { n: 50, seed }).flatMap((r) => r.sentences);
  const all = new Set([...facts(1), ...facts(2)]);
  const world1 = generateWorldTask('mrc', { n: 50, seed: 1, worldSeed: 1 }).flatMap((r) => r.sentences);
  assert.ok(world1.some((s) => !all.has(s)), 'another world seed gives another world');
});

test('difficulty parsing and option checks', () => {
  assert.deepEqual(parseDifficulty('2', 7), [2]);
  assert.deepEqual(parseDifficulty('1-3', 7), [1, 2, 3]);
  assert.deepEqual(parseDifficulty('5,1, 2', 7), [1, 2, 5]);
  assert.throws(() => parseDifficulty('8', 7), ConfigError);
  assert.throws(() => parseDifficulty('x', 7), ConfigError);
  assert.throws(() => parseDifficulty('3-1', 7), ConfigError);
  assert.throws(() => generateWorldTask('poetry', { n: 1 }), ConfigError);
  assert.throws(() => generateWorldTask('rl', { n: -1 }), ConfigError);
  assert.throws(() => generateWorldTask('rl', { n: 1, difficulty: [9] }), ConfigError);
  assert.throws(() => generateWorldTask('rl', { n: 1, seed: 1.5 }), ConfigError);
});

test('writeJsonl writes what toJsonl renders', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'glmkit-world-'));
  try {
    const recs = generateWorldTask('mcq', { n: 25, seed: 1 });
    const path = join(dir, 'sub', 'mcq.jsonl');
    assert.equal(await writeJsonl(path, recs), 25);
    const text = await readFile(path, 'utf8');
    assert.equal(text, toJsonl(recs));
    assert.deepEqual(text.trim().split('\n').map((l) => JSON.parse(l)), JSON.parse(JSON.stringify(recs)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
