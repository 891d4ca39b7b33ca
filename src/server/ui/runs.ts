/**
 * The runs dashboard's server side: the run folders under --runs (any folder holding metrics.jsonl,
 * summary.json or result.json: pipeline stages, trainer outputs, experiments), their metrics
 * downsampled for drawing, new metrics lines as server-sent events while a run trains, and their
 * JSON files and plots. Every path comes from the client and is checked to stay inside --runs
 * (symbolic links included); nothing else on the disk can be read.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync, realpathSync, statSync, type Stats } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../api-error.js';

/** Files that make a folder a run. */
const RUN_FILES = ['metrics.jsonl', 'summary.json', 'result.json'];
/** JSON files the dashboard may read from a run folder. */
const JSON_FILES = new Set(['summary.json', 'result.json', 'pipeline_state.json', 'training_config.json', 'experiment.json', 'arm.json']);
const MAX_DEPTH = 5;
const MAX_RUNS = 2000;

export interface RunEntry {
  /** path relative to --runs, '/'-separated ('' for --runs itself) */
  path: string;
  files: string[];
  /** seconds since the epoch of the newest run file */
  mtime: number;
  metrics_bytes: number;
  checkpoints: string[];
  has_final: boolean;
  plots: string[];
  verdict: string | null;
}

function statOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

/** The run folders under `root` (newest first). Checkpoint and final model folders are listed with their run, not as runs. */
export function listRuns(root: string): RunEntry[] {
  const out: RunEntry[] = [];
  const realRoot = realpathSync(root);
  const walk = (dir: string, depth: number) => {
    if (out.length >= MAX_RUNS) return;
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    const present = RUN_FILES.filter((f) => names.includes(f));
    if (present.length > 0) {
      const stats = present.map((f) => statOrNull(join(dir, f)));
      let verdict: string | null = null;
      if (present.includes('result.json')) {
        try {
          const v = (JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { verdict?: unknown }).verdict;
          verdict = typeof v === 'string' ? v : null;
        } catch {
          verdict = null;
        }
      }
      out.push({
        path: relative(root, dir).split(sep).join('/'),
        files: names.filter((n) => RUN_FILES.includes(n) || JSON_FILES.has(n)),
        mtime: Math.max(...stats.map((s) => (s ? s.mtimeMs / 1000 : 0))),
        metrics_bytes: present.includes('metrics.jsonl') ? statOrNull(join(dir, 'metrics.jsonl'))?.size ?? 0 : 0,
        checkpoints: names.filter((n) => /^checkpoint-\d+$/.test(n)).sort((a, b) => Number(a.slice(11)) - Number(b.slice(11))),
        has_final: names.includes('final') && !!statOrNull(join(dir, 'final', 'config.json')),
        plots: names.filter((n) => n.endsWith('.svg')),
        verdict,
      });
    }
    if (depth >= MAX_DEPTH) return;
    for (const n of names) {
      if (n.startsWith('.') || n === 'node_modules' || n === 'final' || /^checkpoint-\d+$/.test(n)) continue;
      const p = join(dir, n);
      if (!statOrNull(p)?.isDirectory()) continue;
      // a link that leads outside --runs is not followed (its files could not be read anyway)
      let real: string;
      try {
        real = realpathSync(p);
      } catch {
        continue;
      }
      if (real.startsWith(realRoot + sep)) walk(p, depth + 1);
    }
  };
  walk(root, 0);
  return out.sort((a, b) => b.mtime - a.mtime || a.path.localeCompare(b.path));
}

/** A run-relative path from a client, resolved inside `root`, or a 403/404 ApiError. */
export function insideRoot(root: string, rel: unknown, param = 'run'): string {
  if (typeof rel !== 'string' || rel.includes('\0') || isAbsolute(rel) || rel.split(/[\\/]/).includes('..')) {
    throw new ApiError(403, `'${param}' must be a folder inside --runs given relative to it, without '..'`, 'invalid_request_error', param, 'outside_runs');
  }
  const realRoot = realpathSync(root);
  let real: string;
  try {
    real = realpathSync(resolve(realRoot, rel));
  } catch {
    throw new ApiError(404, `no run '${rel}' under --runs`, 'invalid_request_error', param, 'not_found');
  }
  if (real !== realRoot && !real.startsWith(realRoot + sep)) {
    throw new ApiError(403, `'${rel}' leads outside --runs (a symbolic link?); only files inside --runs are served`, 'invalid_request_error', param, 'outside_runs');
  }
  return real;
}

export interface MetricsSeries {
  /** the x of every point: the `step` field, or the line number where there is none */
  x: number[];
  /** numeric fields by name, aligned with x (null where a line has no such field) */
  series: Record<string, (number | null)[]>;
  /** lines read */
  lines: number;
  /** bytes read (the offset to follow the file from) */
  offset: number;
}

/** Parses metrics lines (complete lines only); bad lines are skipped and counted. */
export function parseMetricLines(text: string): { rows: Record<string, unknown>[]; bad: number } {
  const rows: Record<string, unknown>[] = [];
  let bad = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) rows.push(v as Record<string, unknown>);
      else bad++;
    } catch {
      bad++;
    }
  }
  return { rows, bad };
}

/** Columns of metric rows: x (step or line index) and every numeric field. */
export function toColumns(rows: Record<string, unknown>[], firstIndex = 0): { x: number[]; series: Record<string, (number | null)[]> } {
  const keys = new Set<string>();
  for (const r of rows) for (const [k, v] of Object.entries(r)) if (k !== 'step' && typeof v === 'number' && Number.isFinite(v)) keys.add(k);
  const x = rows.map((r, i) => (typeof r.step === 'number' ? r.step : firstIndex + i + 1));
  const series: Record<string, (number | null)[]> = {};
  for (const k of keys) series[k] = rows.map((r) => (typeof r[k] === 'number' && Number.isFinite(r[k]) ? (r[k] as number) : null));
  return { x, series };
}

/**
 * Downsamples aligned columns to at most `2 * buckets` points: each bucket of consecutive points keeps
 * its first and last x, and for every series its lowest and highest value in the order they occur,
 * so spikes survive (a mean would hide a divergence).
 */
export function downsample(x: number[], series: Record<string, (number | null)[]>, buckets: number): { x: number[]; series: Record<string, (number | null)[]> } {
  const n = x.length;
  if (n <= 2 * buckets) return { x, series };
  const outX: number[] = [];
  const outS: Record<string, (number | null)[]> = Object.fromEntries(Object.keys(series).map((k) => [k, []]));
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * n) / buckets), hi = Math.floor(((b + 1) * n) / buckets);
    if (hi <= lo) continue;
    outX.push(x[lo], x[hi - 1]);
    for (const [k, vals] of Object.entries(series)) {
      let iMin = -1, iMax = -1;
      for (let i = lo; i < hi; i++) {
        const v = vals[i];
        if (v === null) continue;
        if (iMin < 0 || v < vals[iMin]!) iMin = i;
        if (iMax < 0 || v > vals[iMax]!) iMax = i;
      }
      if (iMin < 0) outS[k].push(null, null);
      else outS[k].push(...(iMin <= iMax ? [vals[iMin], vals[iMax]] : [vals[iMax], vals[iMin]]));
    }
  }
  return { x: outX, series: outS };
}

/** Reads bytes [from, end of complete lines) of a file. */
function readFrom(file: string, from: number): { text: string; next: number } {
  const size = statSync(file).size;
  if (size <= from) return { text: '', next: size < from ? 0 : from };
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(size - from);
    readSync(fd, buf, 0, buf.length, from);
    const end = buf.lastIndexOf(0x0a) + 1;
    return { text: buf.subarray(0, end).toString('utf8'), next: from + end };
  } finally {
    closeSync(fd);
  }
}

export function readMetrics(file: string, buckets: number): MetricsSeries {
  const { text, next } = readFrom(file, 0);
  const { rows } = parseMetricLines(text);
  const cols = toColumns(rows);
  const d = downsample(cols.x, cols.series, buckets);
  return { ...d, lines: rows.length, offset: next };
}

function queryOf(req: FastifyRequest): Record<string, string | undefined> {
  return req.query as Record<string, string | undefined>;
}

export function registerRunRoutes(app: FastifyInstance, root: string, pollMs = 500): void {
  // Open event streams end when the server closes (they would otherwise hold it open).
  const streams = new Set<import('node:http').ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of streams) res.end();
  });
  app.get('/ui/api/runs', async () => ({ root: resolve(root), now: Date.now() / 1000, runs: listRuns(root) }));

  app.get('/ui/api/runs/metrics', async (req) => {
    const q = queryOf(req);
    const dir = insideRoot(root, q.run);
    const points = Math.min(Math.max(Number(q.points ?? 2000) || 2000, 100), 20_000);
    const file = join(dir, 'metrics.jsonl');
    if (!statOrNull(file)?.isFile()) throw new ApiError(404, `run '${q.run}' has no metrics.jsonl`, 'invalid_request_error', 'run', 'not_found');
    return readMetrics(file, Math.floor(points / 2));
  });

  // New complete lines of metrics.jsonl from byte `offset` on, as events {x, series, offset}.
  app.get('/ui/api/runs/metrics/stream', async (req: FastifyRequest, reply: FastifyReply) => {
    const q = queryOf(req);
    const file = join(insideRoot(root, q.run), 'metrics.jsonl');
    let offset = Math.max(0, Number(q.offset ?? 0) || 0);
    let line = 0;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(': following metrics.jsonl\n\n');
    const tick = () => {
      if (res.destroyed) return;
      try {
        if (!statOrNull(file)) return;
        const { text, next } = readFrom(file, offset);
        if (next < offset) offset = 0; // the file was replaced: start over
        if (!text) return;
        offset = next;
        const { rows } = parseMetricLines(text);
        const cols = toColumns(rows, line);
        line += rows.length;
        res.write(`data: ${JSON.stringify({ ...cols, offset })}\n\n`);
      } catch (e) {
        res.write(`event: error\ndata: ${JSON.stringify({ message: (e as Error).message })}\n\n`);
      }
    };
    const timer = setInterval(tick, pollMs);
    streams.add(res);
    tick();
    res.on('close', () => {
      clearInterval(timer);
      streams.delete(res);
    });
  });

  app.get('/ui/api/runs/json', async (req) => {
    const q = queryOf(req);
    const dir = insideRoot(root, q.run);
    if (typeof q.file !== 'string' || !JSON_FILES.has(q.file)) throw new ApiError(400, `'file' must be one of ${[...JSON_FILES].join(', ')}`, 'invalid_request_error', 'file', 'invalid_value');
    const path = insideRoot(root, `${q.run ? `${q.run}/` : ''}${q.file}`, 'file');
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as unknown;
    } catch (e) {
      throw new ApiError(422, `${q.run}/${q.file} is not valid JSON: ${(e as Error).message}`, 'invalid_request_error', 'file', 'bad_json');
    }
  });

  // An experiment's plot (SVG), served so that it can only be shown as an image: a sandbox and no scripts.
  app.get('/ui/api/runs/plot', async (req, reply) => {
    const q = queryOf(req);
    insideRoot(root, q.run);
    if (typeof q.file !== 'string' || !/^[\w.-]+\.svg$/.test(q.file)) throw new ApiError(400, "'file' must be an .svg file name of the run folder", 'invalid_request_error', 'file', 'invalid_value');
    const path = insideRoot(root, `${q.run ? `${q.run}/` : ''}${q.file}`, 'file');
    return reply.header('content-type', 'image/svg+xml').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox")
      .header('x-content-type-options', 'nosniff').send(readFileSync(path));
  });
}
