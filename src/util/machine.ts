/**
 * The machine a run ran on, recorded in a pipeline's summary.json (and shown by its report): CPU
 * model, the SIMD flags glmkit's kernels care about, cores, the active backend and ISA path, the
 * measured FMA peak, the glmkit version and the git commit of the checkout when there is one.
 *
 * Two machines that `lscpu` names alike ("AMD EPYC", the same AVX-512 set) can differ twofold in
 * FMA throughput: on 2026-12-07 one measured 114 GFLOP/s on one thread and lacked avx_vnni and
 * avx512_vp2intersect, another ~204 with both (docs/performance.md "Two machines"). The extra
 * flags and the measured peak let a summary say which one it ran on.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { getBackend } from '../tensor/backend/index.js';
import { nativeFmaPeakBest } from '../tensor/backend/native.js';

const FLAGS = ['avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512_bf16', 'avx512_vnni', 'avx_vnni', 'avx512_vp2intersect', 'avx512_fp16', 'amx_bf16'];

export interface MachineInfo {
  cpu: string;
  cores: number;
  simd: string[];
  backend: string;
  /** GFLOP/s of register FMAs over the native threads (best of 3 short bursts), null without the addon */
  fma_peak_gflops: number | null;
  node: string;
  glmkit: string;
  commit: string | null;
  date: string;
}

const root = fileURLToPath(new URL('../../', import.meta.url));

function cpuFlags(): string[] {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    const have = new Set((line ?? '').split(':')[1]?.trim().split(/\s+/) ?? []);
    return FLAGS.filter((f) => have.has(f));
  } catch {
    return []; // not Linux: no flag list
  }
}

function gitCommit(): string | null {
  if (!existsSync(`${root}.git`)) return null;
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) return null;
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).stdout?.trim();
  return `${r.stdout.trim()}${dirty ? '+changes' : ''}`;
}

export function machineInfo(): MachineInfo {
  const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string };
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, simd: cpuFlags(), backend: getBackend().describe(), fma_peak_gflops: fmaPeak(), node: process.version, glmkit: pkg.version, commit: gitCommit(), date: new Date().toISOString().slice(0, 10) };
}

/** Best of 3 bursts of ~10-20 ms over the native threads, to 0.1 GFLOP/s. */
function fmaPeak(): number | null {
  const best = nativeFmaPeakBest(3, 5_000_000);
  return best === null ? null : Math.round(best * 10) / 10;
}
