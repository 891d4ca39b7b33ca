/**
 * Scaled RoPE as an HF `config.json` expresses it (docs/long-context.md): transformers 4.x writes
 * `rope_scaling: {"rope_type" | "type": ..., "factor": ...}`, 5.x writes the same keys inside
 * `rope_parameters` (beside `rope_theta`). Three variants are implemented, with the formulas of
 * transformers' rope utilities, over the rotating dims only (partial rotary: dim = rotary_dim):
 *   linear   inv_freq_i = theta^(-2i/dim) / factor
 *   dynamic  (NTK) theta' = theta * (factor * L / max_pos - (factor - 1))^(dim / (dim - 2)) with
 *            L = max(seq_len, max_pos), seq_len = the largest position of the call + 1
 *   yarn     per-dim blend of interpolated (inv_freq / factor) and original frequencies by a linear
 *            ramp over the correction range [low, high] found from beta_fast / beta_slow rotations at
 *            original_max_position_embeddings; cos and sin are multiplied by the attention factor
 *            (0.1 ln(factor) + 1, or mscale / mscale_all_dim, or `attention_factor` as given).
 * Plain RoPE is `null` (HF `rope_scaling: null` or `rope_type: "default"`).
 */
import { ConfigError } from '../../errors.js';

export type RopeType = 'linear' | 'dynamic' | 'yarn';
export const ROPE_TYPES: readonly RopeType[] = ['linear', 'dynamic', 'yarn'];

export interface RopeScaling {
  ropeType: RopeType;
  /** context multiplier; for yarn null means max_position_embeddings / original_max_position_embeddings */
  factor: number | null;
  /** yarn: the pre-training context (default: max_position_embeddings) */
  originalMaxPositionEmbeddings: number | null;
  /** yarn: multiplies cos and sin (default from factor / mscale) */
  attentionFactor: number | null;
  betaFast: number | null;
  betaSlow: number | null;
  mscale: number | null;
  mscaleAllDim: number | null;
  /** yarn: round the correction range outwards (default true) */
  truncate: boolean | null;
}

/** The HF key of each optional field, in the order they are written. */
const OPTIONAL_KEYS: [keyof RopeScaling, string, 'number' | 'posint' | 'bool'][] = [
  ['originalMaxPositionEmbeddings', 'original_max_position_embeddings', 'posint'],
  ['attentionFactor', 'attention_factor', 'number'],
  ['betaFast', 'beta_fast', 'number'],
  ['betaSlow', 'beta_slow', 'number'],
  ['mscale', 'mscale', 'number'],
  ['mscaleAllDim', 'mscale_all_dim', 'number'],
  ['truncate', 'truncate', 'bool'],
];

/** Keys of a scaling dict that are not scaling parameters (5.x keeps rope_theta etc. beside them). */
const SCALING_KEYS = new Set(['rope_type', 'type', 'factor', ...OPTIONAL_KEYS.map((k) => k[1])]);

/**
 * Reads a `rope_scaling` / `rope_parameters` dict; `null` for plain RoPE. `where` names the key for
 * error messages (e.g. `cfg.json: key "rope_scaling"`).
 */
export function parseRopeScaling(raw: Record<string, unknown>, where: string): RopeScaling | null {
  const type = raw.rope_type ?? raw.type;
  if (type === undefined || type === 'default') return null;
  const fail = (what: string, found: unknown): never => {
    throw new ConfigError(`${where}: ${what}, found ${JSON.stringify(found)}; fix the value in config.json`);
  };
  if (typeof type !== 'string' || !(ROPE_TYPES as readonly string[]).includes(type)) {
    fail(`"rope_type": expected "default" or one of ${ROPE_TYPES.map((t) => `"${t}"`).join(', ')} (glmkit does not implement other scaled RoPE variants)`, type);
  }
  const out: RopeScaling = { ropeType: type as RopeType, factor: null, originalMaxPositionEmbeddings: null, attentionFactor: null, betaFast: null, betaSlow: null, mscale: null, mscaleAllDim: null, truncate: null };
  const f = raw.factor;
  if (f !== undefined && f !== null) {
    if (typeof f !== 'number' || !(f >= 1)) fail('"factor": expected a number >= 1', f);
    out.factor = f as number;
  } else if (type !== 'yarn') {
    fail(`"factor": expected a number >= 1 (required for rope_type "${type}")`, f);
  }
  for (const [field, key, kind] of OPTIONAL_KEYS) {
    const v = raw[key];
    if (v === undefined || v === null) continue;
    if (kind === 'bool' ? typeof v !== 'boolean' : typeof v !== 'number' || !Number.isFinite(v) || (kind === 'posint' && (!Number.isInteger(v) || v <= 0)) || (kind === 'number' && v <= 0)) {
      fail(`"${key}": expected ${kind === 'bool' ? 'true or false' : kind === 'posint' ? 'a positive integer' : 'a positive number'}`, v);
    }
    (out as unknown as Record<string, unknown>)[field] = v;
  }
  return out;
}

/**
 * The scaling keys of `s` written into `base` (a copy): other keys of `base` are kept, stale scaling
 * keys removed. `typeKey` is the name the source used for the type ("rope_type", or "type" in old
 * 4.x files). With `s` null the dict says `rope_type: "default"`.
 */
export function writeRopeScaling(s: RopeScaling | null, base: Record<string, unknown>, typeKey: 'rope_type' | 'type' = 'rope_type'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(base)) if (!SCALING_KEYS.has(k)) out[k] = v;
  if (!s) return { rope_type: 'default', ...out };
  const res: Record<string, unknown> = { [typeKey]: s.ropeType };
  if (typeKey === 'type' && 'rope_type' in base) res.rope_type = s.ropeType;
  if (s.factor !== null) res.factor = s.factor;
  for (const [field, key] of OPTIONAL_KEYS) if (s[field] !== null) res[key] = s[field];
  return { ...res, ...out };
}

/** What the RoPE of a call needs: the inverse frequency of each rotating pair and the cos/sin factor. */
export interface RopeFrequencies {
  invFreq: Float64Array;
  attentionFactor: number;
}

export interface RopeSettings {
  rotaryDim: number;
  ropeTheta: number;
  maxPositionEmbeddings: number;
  ropeScaling: RopeScaling | null;
}

function baseInvFreq(theta: number, dim: number): Float64Array {
  const inv = new Float64Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) inv[i] = 1 / Math.pow(theta, (2 * i) / dim);
  return inv;
}

function yarnMscale(scale: number, m = 1): number {
  return scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1;
}

/** inv_freq and attention factor for a call whose largest position is `seqLen - 1` (dynamic NTK reads it). */
export function ropeFrequencies(cfg: RopeSettings, seqLen: number): RopeFrequencies {
  const dim = cfg.rotaryDim;
  const s = cfg.ropeScaling;
  if (!s) return { invFreq: baseInvFreq(cfg.ropeTheta, dim), attentionFactor: 1 };
  if (s.ropeType === 'linear') {
    const inv = baseInvFreq(cfg.ropeTheta, dim);
    for (let i = 0; i < inv.length; i++) inv[i] /= s.factor!;
    return { invFreq: inv, attentionFactor: 1 };
  }
  if (s.ropeType === 'dynamic') {
    const maxPos = cfg.maxPositionEmbeddings;
    const L = Math.max(seqLen, maxPos);
    const theta = cfg.ropeTheta * Math.pow((s.factor! * L) / maxPos - (s.factor! - 1), dim / (dim - 2));
    return { invFreq: baseInvFreq(theta, dim), attentionFactor: 1 };
  }
  // yarn
  const orig = s.originalMaxPositionEmbeddings ?? cfg.maxPositionEmbeddings;
  const factor = s.factor ?? cfg.maxPositionEmbeddings / orig;
  let attentionFactor = s.attentionFactor;
  if (attentionFactor === null) {
    attentionFactor = s.mscale && s.mscaleAllDim ? yarnMscale(factor, s.mscale) / yarnMscale(factor, s.mscaleAllDim) : yarnMscale(factor);
  }
  const betaFast = s.betaFast ?? 32, betaSlow = s.betaSlow ?? 1;
  const correctionDim = (rotations: number) => (dim * Math.log(orig / (rotations * 2 * Math.PI))) / (2 * Math.log(cfg.ropeTheta));
  let low = correctionDim(betaFast), high = correctionDim(betaSlow);
  if (s.truncate ?? true) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  low = Math.max(low, 0);
  high = Math.min(high, dim - 1);
  if (low === high) high += 0.001;
  const base = baseInvFreq(cfg.ropeTheta, dim);
  const inv = new Float64Array(dim / 2);
  for (let i = 0; i < inv.length; i++) {
    const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
    const extrapolation = 1 - ramp; // 1: keep the original frequency (high-frequency dims)
    inv[i] = (base[i] / factor) * (1 - extrapolation) + base[i] * extrapolation;
  }
  return { invFreq: inv, attentionFactor };
}

/** Checks that a scaling fits the rest of the config (yarn's original context within the new one). */
export function validateRopeScaling(s: RopeScaling | null, maxPositionEmbeddings: number, fail: (key: string, expected: string, found: unknown) => never): void {
  if (!s) return;
  if (s.factor !== null && !(s.factor >= 1)) fail('rope_scaling.factor', 'a number >= 1', s.factor);
  if (s.originalMaxPositionEmbeddings !== null && s.originalMaxPositionEmbeddings > maxPositionEmbeddings) {
    fail('rope_scaling.original_max_position_embeddings', `at most max_position_embeddings (${maxPositionEmbeddings})`, s.originalMaxPositionEmbeddings);
  }
}
