/**
 * Backend selection. The native backend is used when its addon loads, unless
 * GLMKIT_BACKEND=reference forces the pure-TypeScript one. f64 data always runs on the reference
 * backend (see `backendFor`).
 */
import { ConfigError } from '../../errors.js';
import type { TypedData } from '../dtype.js';
import type { Backend, BackendName } from './backend.js';
import { createNativeBackend, loadNativeAddon, nativeLoadError } from './native.js';
import { referenceBackend } from './reference/index.js';

export type { Backend, BackendName } from './backend.js';

let nativeBackend: Backend | null | undefined;
let active: Backend | undefined;

export function getNativeBackend(): Backend | null {
  if (nativeBackend === undefined) {
    const addon = loadNativeAddon();
    nativeBackend = addon ? createNativeBackend(addon) : null;
  }
  return nativeBackend;
}

function initialBackend(): Backend {
  const forced = process.env.GLMKIT_BACKEND;
  if (forced && forced !== 'native' && forced !== 'reference') {
    throw new ConfigError(`GLMKIT_BACKEND must be 'native' or 'reference', got '${forced}'`);
  }
  if (forced === 'reference') return referenceBackend;
  const native = getNativeBackend();
  if (native) return native;
  if (forced === 'native') throw new ConfigError(`GLMKIT_BACKEND=native but ${nativeLoadError()}`);
  return referenceBackend;
}

export function getBackend(): Backend {
  active ??= initialBackend();
  return active;
}

/** The backend an op should use for this data: f64 always goes to the reference backend. */
export function backendFor(data: TypedData): Backend {
  return data instanceof Float64Array ? referenceBackend : getBackend();
}

export function setBackend(name: BackendName): Backend {
  if (name === 'reference') {
    active = referenceBackend;
  } else {
    const native = getNativeBackend();
    if (!native) throw new ConfigError(`native backend requested but ${nativeLoadError()}`);
    active = native;
  }
  return active;
}

/** Runs fn with the named backend active, restoring the previous one afterwards. */
export function withBackend<T>(name: BackendName, fn: () => T): T {
  const prev = getBackend();
  setBackend(name);
  try {
    return fn();
  } finally {
    active = prev;
  }
}

/** Why the native backend is not active, or null when it is. */
export function nativeUnavailableReason(): string | null {
  return getNativeBackend() ? null : nativeLoadError();
}

export { referenceBackend };
