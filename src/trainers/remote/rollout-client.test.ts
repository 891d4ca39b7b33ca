// RolloutClient against stub HTTP servers: least outstanding work, stale policy versions retried
// elsewhere, 429 retried without marking the server down, and a clear stop when all are down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { RolloutClient, RolloutServersDown } from './rollout-client.js';

interface Stub {
  url: string;
  hits: number;
  close(): Promise<void>;
}

/** A completions server answering `tokens` with log-prob -1 each, as policy `version` (or `status`). */
async function stub(o: { version?: number; status?: number; delayMs?: number; tokens?: number[] }): Promise<Stub> {
  const s: { hits: number } = { hits: 0 };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const send = (code: number, obj: object) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(obj));
      };
      if (req.url === '/v1/models') return send(200, { data: [{ id: 'm' }] });
      if (req.url === '/update_weights_from_disk') return send(200, { success: true, message: 'ok', policy_version: o.version ?? 0 });
      s.hits++;
      const toks = o.tokens ?? [5, 6];
      setTimeout(() => {
        if (o.status) return send(o.status, { error: { message: `stub ${o.status}` } });
        send(200, { policy_version: o.version ?? 0, choices: [{ text: 'x', token_ids: toks, logprobs: { token_logprobs: toks.map(() => -1) }, finish_reason: 'length' }] });
      }, o.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get hits() {
      return s.hits;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const req = { prompt: [1, 2, 3], maxTokens: 4, temperature: 0 };

test('requests go to the server with the least outstanding work', async () => {
  const [a, b] = [await stub({ delayMs: 50 }), await stub({ delayMs: 50 })];
  try {
    const c = new RolloutClient([a.url, b.url]);
    const outs = await Promise.all([c.complete(req), c.complete(req), c.complete(req), c.complete(req)]);
    assert.deepEqual(outs.map((x) => x.tokens), [[5, 6], [5, 6], [5, 6], [5, 6]]);
    assert.deepEqual([a.hits, b.hits], [2, 2]);
  } finally {
    await a.close();
    await b.close();
  }
});

test('a sample from another policy version is never returned; it is retried on a server with the pushed weights', async () => {
  const [stale, good] = [await stub({ version: 0, tokens: [9] }), await stub({ version: 1, tokens: [7] })];
  try {
    const c = new RolloutClient([stale.url, good.url]);
    // the first server reports version 1 for our push but keeps sampling from version 0 (a stale server)
    await c.updateWeights('/w/step-1');
    (c as unknown as { servers: { version: number | null }[] }).servers[0].version = 1;
    const out = await c.complete(req);
    assert.deepEqual(out.tokens, [7]);
    assert.equal(out.version, 1);
    assert.equal(c.stats.stale, 1);
  } finally {
    await stale.close();
    await good.close();
  }
});

test('429 is retried elsewhere without marking the server down; all down stops with each server named', async () => {
  const [busy, ok] = [await stub({ status: 429 }), await stub({})];
  const c = new RolloutClient([busy.url, ok.url]);
  const out = await c.complete(req);
  assert.deepEqual(out.tokens, [5, 6]);
  assert.equal(c.stats.marked_down, 0);
  await busy.close();
  await ok.close();
  const dead = new RolloutClient([busy.url, ok.url], { downMs: 60_000 });
  await assert.rejects(dead.complete(req), (e: Error) => {
    assert.ok(e instanceof RolloutServersDown);
    assert.match(e.message, /all 2 rollout servers are down/);
    assert.ok(e.message.includes(busy.url) && e.message.includes(ok.url));
    return true;
  });
  await assert.rejects(dead.updateWeights('/w/step-2'), RolloutServersDown);
});
