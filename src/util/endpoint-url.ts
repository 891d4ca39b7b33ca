/**
 * The full URL of one OpenAI-style endpoint from what a user gives: a URL already ending in the
 * endpoint is used as is; one ending in /v1 (OpenAI's base URL) gets the endpoint appended; any
 * other gets /v1/<endpoint>. `what` names the flag in errors (e.g. "judge URL").
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
