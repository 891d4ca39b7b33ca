import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createUiServer } from '../app.js';
import { tempDir } from '../../util/temp-dir.js';
import { downsample, listRuns } from './runs.js';

function runsFixture(): string {
  const root = tempDir('glmkit-runs-');
  mkdirSync(join(root, 'pipe', 'sft', 'checkpoint-10'), { recursive: true });
  mkdirSync(join(root, 'pipe', 'sft', 'checkpoint-2'), { recursive: true });
  mkdirSync(join(root, 'pipe', 'sft', 'final'), { recursive: true });
  writeFileSync(join(root, 'pipe', 'sft', 'final', 'config.json'), '{}');
  writeFileSync(join(root, 'pipe', 'sft', 'metrics.jsonl'), '{"step":1,"loss":2}\n{"step":2,"loss":1.5,"lr":0.1}\n');
  writeFileSync(join(root, 'pipe', 'summary.json'), '{"sft":{"loss":1.5}}');
  mkdirSync(join(root, 'exp'), { recursive: true });
  writeFileSync(join(root, 'exp', 'result.json'), '{"verdict":"reproduced"}');
  writeFileSync(join(root, 'exp', 'gain.svg'), '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
  const outside = tempDir('glmkit-outside-');
  writeFileSync(join(outside, 'summary.json'), '{"secret":1}');
  writeFileSync(join(outside, 'metrics.jsonl'), '{"step":1,"secret":1}\n');
  symlinkSync(outside, join(root, 'link'));
  return root;
}

test('run folders are listed with their checkpoints, final model, plots and verdict', () => {
  const root = runsFixture();
  const runs = listRuns(root);
  const byPath = Object.fromEntries(runs.map((r) => [r.path, r]));
  assert.deepEqual(Object.keys(byPath).sort(), ['exp', 'pipe', 'pipe/sft'], 'the link leading outside is not listed');
  assert.deepEqual(byPath['pipe/sft'].checkpoints, ['checkpoint-2', 'checkpoint-10']);
  assert.equal(byPath['pipe/sft'].has_final, true);
  assert.deepEqual(byPath.exp.plots, ['gain.svg']);
  assert.equal(byPath.exp.verdict, 'reproduced');
});

test('the runs routes read only inside --runs: .., absolute paths and links out are refused', async () => {
  const root = runsFixture();
  const server = await createUiServer({ ui: { runsDir: root } });
  const get = (url: string) => server.app.inject({ method: 'GET', url });
  try {
    const ok = await get('/ui/api/runs/metrics?run=pipe/sft');
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json().x, [1, 2]);
    assert.deepEqual(ok.json().series, { loss: [2, 1.5], lr: [null, 0.1] });
    assert.deepEqual((await get('/ui/api/runs/json?run=pipe&file=summary.json')).json(), { sft: { loss: 1.5 } });
    for (const url of [
      '/ui/api/runs/metrics?run=../', '/ui/api/runs/metrics?run=pipe/../..', '/ui/api/runs/metrics?run=%2Fetc',
      '/ui/api/runs/json?run=..&file=summary.json', '/ui/api/runs/json?run=link&file=summary.json', '/ui/api/runs/metrics?run=link',
      '/ui/api/runs/metrics/stream?run=../x', '/ui/api/runs/plot?run=..&file=gain.svg',
    ]) {
      const r = await get(url);
      assert.equal(r.statusCode, 403, `${url}: ${r.body}`);
      assert.equal(r.json().error.code, 'outside_runs');
      assert.doesNotMatch(r.body, /secret/);
    }
    assert.equal((await get('/ui/api/runs/json?run=pipe&file=../exp/result.json')).statusCode, 400);
    assert.equal((await get('/ui/api/runs/json?run=pipe&file=config.json')).statusCode, 400);
    assert.equal((await get('/ui/api/runs/metrics?run=nope')).statusCode, 404);
    const plot = await get('/ui/api/runs/plot?run=exp&file=gain.svg');
    assert.equal(plot.statusCode, 200);
    assert.match(String(plot.headers['content-security-policy']), /sandbox/);
  } finally {
    await server.close();
  }
});

test('a 100,000-line metrics.jsonl is downsampled to the points asked for, spikes kept', async () => {
  const root = tempDir('glmkit-runs-');
  mkdirSync(join(root, 'big'));
  const lines: string[] = [];
  for (let s = 1; s <= 100_000; s++) lines.push(JSON.stringify({ step: s, loss: s === 77_777 ? 50 : 3 - s / 50_000, ...(s % 100 === 0 ? { eval_loss: 2 } : {}) }));
  appendFileSync(join(root, 'big', 'metrics.jsonl'), lines.join('\n') + '\n');
  const server = await createUiServer({ ui: { runsDir: root } });
  try {
    const r = (await server.app.inject({ method: 'GET', url: '/ui/api/runs/metrics?run=big&points=2000' })).json();
    assert.equal(r.lines, 100_000);
    assert.equal(r.x.length, 2000);
    assert.equal(r.x[0], 1);
    assert.equal(r.x.at(-1), 100_000);
    assert.equal(Math.max(...r.series.loss), 50, 'the spike survives');
    assert.ok(Math.abs(Math.min(...r.series.loss) - 1) < 1e-4);
    assert.ok(r.series.eval_loss.filter((v: number | null) => v === 2).length > 100);
  } finally {
    await server.close();
  }
  // the min and max of each bucket are kept in the order they occur
  const d = downsample([1, 2, 3, 4, 5, 6], { y: [5, 1, 9, 2, null, 7] }, 1);
  assert.deepEqual(d, { x: [1, 6], series: { y: [1, 9] } });
  const e = downsample([1, 2, 3, 4, 5, 6], { y: [9, 1, 3, 4, 5, 6] }, 1);
  assert.deepEqual(e.series.y, [9, 1]);
});
