// LongReward end to end: a live `glmkit serve` judge answers exactly as the in-process judge on the
// same model at temperature 0; a document longer than the judge's context is a recorded failure;
// `glmkit longreward score` writes TRL pairs with sub-scores (judge: a fake endpoint in this process);
// train-judge runs; bad inputs get one clear line.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { generateWorldTask, writeJsonl } from '../src/data/world/index.js';
import { JudgeCaller } from '../src/rewards/longreward/caller.js';
import { HttpJudge, LocalJudge } from '../src/rewards/longreward/judge.js';
import { LongRewardScorer } from '../src/rewards/longreward/scorer.js';
import { makeFixture, type Fixture } from './fixtures.js';
import { root, runCli, tempDir } from './helpers.js';
import { startServer } from './serve-process.js';
import { longrewardCommand } from '../src/cli/longreward.js';
import { DataError, UsageError } from '../src/errors.js';
import { loadPreferenceData } from '../src/data/preference.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer-json.js';

let fx: Fixture;
let server: { proc: ChildProcess; url: string };

before(async () => {
  fx = await makeFixture(tempDir());
  server = await startServer(fx.model);
});

after(() => {
  if (server?.proc.exitCode === null) server.proc.kill('SIGKILL');
});

const DOC = 'Alice lives in Oakridge. Bruno visited Millford on day 9. Clara owns a red lamp.';
const items = [
  { context: DOC, question: 'Which town did Bruno visit on day 9?', answer: 'Bruno visited Millford on day 9.' },
  { context: DOC, question: 'Where does Alice live?', answer: 'Oakridge' },
];
const small = { faithChunkTokens: 16, compChunkTokens: 64, ratingTokens: 12, listTokens: 12, supportTokens: 40 }; // support: room for "[[Partially supported]]" under the fixture's tokenizer

test('a live glmkit serve judge gives the in-process judge\'s outputs and scores at temperature 0', async () => {
  const http = new JudgeCaller(new HttpJudge(`${server.url}/v1`, { model: basename(fx.model), enableThinking: false }), { maxAttempts: 1 });
  const local = new JudgeCaller(LocalJudge.fromDir(fx.model), { maxAttempts: 1 });
  const specs = items.map((it) => ({ kind: 'helpfulness' as const, messages: [{ role: 'user' as const, content: `${it.question}\n${it.answer}` }], maxTokens: 10, parse: (t: string) => t }));
  const [a, b] = [await http.callAll(specs), await local.callAll(specs)];
  assert.deepEqual(a, b);
  assert.ok(a.every((o) => o.ok && o.raw.length > 0), 'the raw outputs are compared, not two empty strings');
  const countTokens = (s: string) => Math.ceil(s.length / 4);
  const sa = await new LongRewardScorer(http, null, { ...small, countTokens }).score(items);
  const sb = await new LongRewardScorer(local, null, { ...small, countTokens }).score(items);
  assert.deepEqual(sa, sb);
  assert.equal(http.stats.requests, local.stats.requests);
});

test('a document longer than the local judge\'s context: a recorded failure for the dimensions that need it, the rest scored', async () => {
  const long = Array.from({ length: 200 }, (_, i) => `Person${i} visited Millford on day ${i}.`).join(' ');
  const caller = new JudgeCaller(LocalJudge.fromDir(fx.model), { maxAttempts: 1, cacheDir: tempDir() });
  const [s] = await new LongRewardScorer(caller, null, { ...small, compChunkTokens: 100_000 }).score([{ context: long, question: 'Which town did Person3 visit?', answer: 'Millford' }]);
  assert.equal(s.reward, null);
  const comp = s.failures.find((f) => f.startsWith('completeness'));
  assert.match(comp!, /exceeds the judge's context of 512 tokens/);
  assert.equal(s.failures.filter((f) => /exceeds the judge's context/.test(f)).length, 1, 'short prompts (ratings, statements) are not refused');
});

/** Runs the CLI without blocking this process (the fake judge below answers from it). */
function runCliAsync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/entry.ts'), ...args], { cwd: root });
  let stdout = '', stderr = '';
  p.stdout.on('data', (d) => (stdout += d));
  p.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => p.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

/** A judge that rates answers by length (so answers differ) and supports everything. */
function lengthJudge(): Promise<{ server: Server; url: string }> {
  const s = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const text: string = JSON.parse(body).messages[0].content;
      const answer = text.split('[Answer]\n')[1] ?? '';
      const content = text.startsWith('List the factual') ? 'No statements.' : text.startsWith('Below is a part') ? '- a fact' : text.startsWith('Is the statement') ? '[[Fully supported]]' : `[[${answer.length % 11}]]`;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] }));
    });
  });
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve({ server: s, url: `http://127.0.0.1:${(s.address() as { port: number }).port}/v1` })));
}

test('longreward score: K answers per prompt, best vs worst in TRL format with sub-scores; a rerun asks the judge nothing', async () => {
  const dir = tempDir();
  const prompts = join(dir, 'prompts.jsonl');
  // two short prompts, and a world longdoc record longer than the micro policy's context (512 tokens)
  await writeJsonl(prompts, [
    { context: DOC, question: 'Which town did Bruno visit on day 9?' },
    { context: DOC, question: 'Who owns a red lamp?', prompt: [{ role: 'user', content: `${DOC}\nWho owns a red lamp?` }] },
    ...generateWorldTask('longdoc', { n: 1, seed: 1, docTokens: 150 }),
  ]);
  const judge = await lengthJudge();
  try {
    const out = join(dir, 'pairs.jsonl');
    const args = ['longreward', 'score', '--policy', fx.model, '--prompts', prompts, '--k', '3', '--min-scored', '3', '--max-new-tokens', '8', '--judge-url', judge.url, '--judge-model', 'm', '--out', out, '--scores-out', join(dir, 'scores.jsonl'), '--faith-chunk-tokens', '32', '--comp-chunk-tokens', '64'];
    const r = await runCliAsync(args);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.equal(summary.prompts, 3);
    assert.equal(summary.dropped_too_long, 1);
    assert.match(r.stderr, /line 3: prompt of \d+ tokens \+ 8 new tokens exceeds the policy's context of 512/);
    assert.equal(summary.answers, 6);
    const pairs = readFileSync(out, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.equal(pairs.length, summary.pairs);
    assert.equal(pairs.length + summary.dropped_ties + summary.dropped_few_scored + summary.dropped_too_long, 3);
    assert.ok(pairs.length >= 1, 'answers of different lengths get different ratings');
    for (const p of pairs) {
      assert.equal(p.prompt[0].role, 'user');
      assert.equal(p.chosen[0].role, 'assistant');
      assert.ok(p.score_chosen > p.score_rejected);
      assert.equal(p.scores_chosen.reward, (p.scores_chosen.helpfulness + p.scores_chosen.logicality + p.scores_chosen.faithfulness + p.scores_chosen.completeness) / 4);
      assert.equal(p.scores_chosen.faithfulness, 10);
      assert.ok(typeof p.rationale_chosen.helpfulness === 'string' && p.n_scored === 3);
    }
    assert.equal(readFileSync(join(dir, 'scores.jsonl'), 'utf8').trim().split('\n').length, summary.answers);
    // the pairs are what glmkit dpo reads
    assert.equal(loadPreferenceData(out, loadTokenizer(fx.model), { maxLen: 512 }).pairs.length, pairs.length);
    const again = await runCliAsync([...args, '--overwrite']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout.trim().split('\n').at(-1)!).calls.requests, 0);
    assert.equal(readFileSync(out, 'utf8').trim().split('\n').filter(Boolean).length, pairs.length);
    // --min-margin: pairs whose judge rewards differ by less are dropped and counted
    const gaps = pairs.map((p) => p.scores_chosen.reward - p.scores_rejected.reward);
    const atGap = JSON.parse((await runCliAsync([...args, '--overwrite', '--min-margin', String(Math.min(...gaps))])).stdout.trim().split('\n').at(-1)!);
    assert.equal(atGap.pairs, pairs.length, 'a margin equal to the smallest gap keeps every pair');
    const strict = await runCliAsync([...args, '--overwrite', '--min-margin', String(Math.max(...gaps) + 0.01)]);
    assert.equal(strict.code, 0, strict.stderr);
    const s2 = JSON.parse(strict.stdout.trim().split('\n').at(-1)!);
    assert.equal(s2.pairs, 0);
    assert.equal(s2.dropped_small_margin, pairs.length);
    assert.equal(s2.dropped_ties, summary.dropped_ties);
    assert.equal(readFileSync(out, 'utf8'), '');
  } finally {
    judge.server.close();
  }
});

test('longreward train-judge: transcripts, a trained judge folder and an agreement report', () => {
  const out = join(tempDir(), 'judge');
  const r = runCli(['longreward', 'train-judge', '--model', fx.model, '--out', out, '--docs', '2', '--eval-docs', '1', '--answers-per-doc', '2', '--doc-tokens', '100', '--max-steps', '2', '--per-device-train-batch-size', '2', '--max-seq-length', '512', '--comp-chunk-tokens', '64', '--faith-chunk-tokens', '32'], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  assert.ok(rep.transcripts >= 10, `transcripts ${rep.transcripts}`);
  assert.equal(rep.steps, 2);
  assert.ok(existsSync(join(out, 'sft', 'final', 'model.safetensors')));
  assert.equal(rep.agreement.n, 2);
  assert.ok(rep.agreement.failure_rate >= 0 && rep.agreement.failure_rate <= 1);
  assert.ok(readFileSync(join(out, 'judge_sft.jsonl'), 'utf8').includes('[['));
});

test('longreward: bad inputs are usage errors (exit 2) or data errors naming file, line and field (exit 1)', async () => {
  const dir = tempDir();
  const prompts = join(dir, 'p.jsonl');
  writeFileSync(prompts, JSON.stringify({ context: 'A text.', question: 'Q?' }) + '\n' + JSON.stringify({ question: 'no context' }) + '\n');
  const base = ['score', '--policy', fx.model, '--prompts', prompts, '--out', join(dir, 'o.jsonl')];
  const cases: [string[], RegExp][] = [
    [[], /expected the subcommand score or train-judge/],
    [['grade'], /expected the subcommand/],
    [base, /give the judge as --judge DIR .* not neither/],
    [[...base, '--judge', fx.model, '--judge-url', 'http://127.0.0.1:9/v1'], /not both/],
    [[...base, '--judge-url', 'http://127.0.0.1:9/v1'], /--judge-url needs --judge-model/],
    [[...base, '--judge-url', 'localhost:9', '--judge-model', 'm'], /expected an http\(s\) URL/],
    [[...base, '--judge', fx.model, '--k', '3'], /--min-scored 5 exceeds --k 3/],
    [[...base, '--judge', join(dir, 'nope')], /--judge .* does not exist/],
    [[...base, '--judge-url', 'http://127.0.0.1:9/v1', '--judge-model', 'm', '--judge-api-key-env', 'GLMKIT_NO_SUCH_VAR'], /GLMKIT_NO_SUCH_VAR, which is not set/],
    [[...base, '--judge', fx.model, '--k', 'five'], /--k/],
    [['train-judge', '--model', fx.model], /--out/],
  ];
  for (const [args, re] of cases) await assert.rejects(() => longrewardCommand(args), (e: unknown) => e instanceof UsageError && re.test((e as Error).message), args.join(' '));
  await assert.rejects(() => longrewardCommand([...base, '--judge', fx.model]), (e: unknown) => e instanceof DataError && /p\.jsonl:2: context: expected the long context/.test((e as Error).message));
  // through the CLI: one line, exit 1 for the data error
  const r = runCli(['longreward', ...base, '--judge', fx.model, '--overwrite']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});

test('longreward score: an unreachable judge endpoint stops with a clear error and keeps the pairs file', async () => {
  const dir = tempDir();
  const prompts = join(dir, 'prompts.jsonl');
  await writeJsonl(prompts, [{ context: DOC, question: 'Where does Alice live?' }]);
  const r = await runCliAsync(['longreward', 'score', '--policy', fx.model, '--prompts', prompts, '--k', '2', '--min-scored', '2', '--max-new-tokens', '4', '--judge-url', 'http://127.0.0.1:9/v1', '--judge-model', 'm', '--judge-timeout-s', '2', '--out', join(dir, 'pairs.jsonl')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /judge endpoint http:\/\/127\.0\.0\.1:9\/v1\/chat\/completions unreachable/);
  assert.ok(existsSync(join(dir, 'pairs.jsonl')));
});
