/**
 * OpenAI-shaped errors: every failure the server answers is
 * `{"error": {"message", "type", "param", "code"}}` with the matching HTTP status.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400 for a field that is missing or has the wrong type or range. */
export function badParam(param: string, message: string, code = 'invalid_value'): ApiError {
  return new ApiError(400, message, 'invalid_request_error', param, code);
}

type Body = Record<string, unknown>;

/** The request body as an object (400 when it is JSON but not an object). */
export function objectBody(body: unknown): Body {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError(400, `the request body must be a JSON object, got ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}`, 'invalid_request_error', null, 'invalid_body');
  }
  return body as Body;
}

/** An optional number field in [min, max]. */
export function optNumber(b: Body, key: string, min: number, max: number, def: number): number {
  const v = b[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw badParam(key, `'${key}' must be a number, got ${JSON.stringify(v)}`, 'invalid_type');
  if (v < min || v > max) throw badParam(key, `'${key}' must be between ${min} and ${max}, got ${v}`);
  return v;
}

/** An optional integer field in [min, max]. */
export function optInt(b: Body, key: string, min: number, max: number, def: number | null): number | null {
  const v = b[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw badParam(key, `'${key}' must be an integer, got ${JSON.stringify(v)}`, 'invalid_type');
  if (v < min || v > max) throw badParam(key, `'${key}' must be between ${min} and ${max}, got ${v}`);
  return v;
}

export function optBool(b: Body, key: string, def: boolean): boolean {
  const v = b[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'boolean') throw badParam(key, `'${key}' must be a boolean, got ${JSON.stringify(v)}`, 'invalid_type');
  return v;
}

/** `stop`: a string or up to 4 strings. */
export function optStop(b: Body): string[] {
  const v = b.stop;
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.some((s) => typeof s !== 'string' || s.length === 0) || list.length > 4) {
    throw badParam('stop', `'stop' must be a non-empty string or a list of up to 4 non-empty strings, got ${JSON.stringify(v)}`, 'invalid_type');
  }
  return list as string[];
}

/** The `model` field: required, and it must name the served model (404 otherwise, as OpenAI does). */
export function checkModel(b: Body, served: string): void {
  const m = b.model;
  if (typeof m !== 'string') throw badParam('model', `'model' is required and must be a string, got ${JSON.stringify(m)}`, 'invalid_type');
  if (m !== served) throw new ApiError(404, `The model '${m}' does not exist; this server serves '${served}' (GET /v1/models)`, 'invalid_request_error', 'model', 'model_not_found');
}

/** `stream_options.include_usage`. */
export function includeUsage(b: Body, stream: boolean): boolean {
  const so = b.stream_options;
  if (so === undefined || so === null) return false;
  if (typeof so !== 'object' || Array.isArray(so)) throw badParam('stream_options', "'stream_options' must be an object", 'invalid_type');
  if (!stream) throw badParam('stream_options', "'stream_options' is only allowed with 'stream': true");
  const iu = (so as Body).include_usage;
  if (iu !== undefined && typeof iu !== 'boolean') throw badParam('stream_options.include_usage', "'stream_options.include_usage' must be a boolean", 'invalid_type');
  return iu === true;
}
