/**
 * Client helpers for OpenAI-style endpoints (the LongReward judge, the embeddings client, the rollout
 * and reward clients). `openAiEndpointUrl`: a URL already ending in the endpoint is used as is; one
 * ending in /v1 (OpenAI's base URL) gets the endpoint appended; any other gets /v1/<endpoint>.
 * `what` names the flag in errors (e.g. "judge URL").
 */
import { ConfigError } from '../errors.js';

export function openAiEndpointUrl(url: string, endpoint: 'embeddings' | 'chat/completions', what: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`${what}: expected an http(s) URL like http://127.0.0.1:8000/v1, got "${url}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(`${what}: expected http or https, got "${u.protocol}" in "${url}"`);
  const path = u.pathname.replace(/\/+$/, '');
  if (path.endsWith(`/${endpoint}`)) u.pathname = path;
  else if (/\/v1$/.test(path)) u.pathname = `${path}/${endpoint}`;
  else u.pathname = `${path}/v1/${endpoint}`;
  return u.toString();
}

/** Request headers of a JSON POST to an OpenAI-style endpoint, with the bearer key when there is one. */
export function jsonHeaders(apiKey?: string | null): Record<string, string> {
  return { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) };
}

/** Why a fetch threw, in a few words: the timeout, or the socket's error code (ECONNREFUSED, ...). */
export function fetchFailureReason(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  return err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err.cause?.code ?? err.cause?.message ?? err.message);
}
