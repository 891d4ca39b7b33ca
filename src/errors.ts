/**
 * The one error hierarchy of glmkit. Every error says what was expected, what was got, and what to do.
 * `code` is stable and machine readable; the CLI prints `error[code]: message` and exits non-zero.
 */
export class GlmkitError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Tensor shapes that do not fit an op: names the op and the shapes involved. */
export class ShapeError extends GlmkitError {
  constructor(message: string) {
    super('shape', message);
  }
}

/** A dtype an op does not accept (e.g. f64 on the native backend, float ids). */
export class DTypeError extends GlmkitError {
  constructor(message: string) {
    super('dtype', message);
  }
}

/** Bad configuration: an unknown key, a wrong type, inconsistent values. */
export class ConfigError extends GlmkitError {
  constructor(message: string) {
    super('config', message);
  }
}

/** Bad input data; `file:line: field: problem` where a location is known. */
export class DataError extends GlmkitError {
  readonly file?: string;
  readonly line?: number;
  readonly field?: string;
  constructor(message: string, where: { file?: string; line?: number; field?: string } = {}) {
    const loc = [where.file, where.line !== undefined ? String(where.line) : undefined].filter(Boolean).join(':');
    const prefix = [loc, where.field].filter(Boolean).join(': ');
    super('data', prefix ? `${prefix}: ${message}` : message);
    this.file = where.file;
    this.line = where.line;
    this.field = where.field;
  }
}

/** A checkpoint that cannot be read or written: names the file, tensor or key, expected and found. */
export class CheckpointError extends GlmkitError {
  constructor(message: string) {
    super('checkpoint', message);
  }
}

/** A failure inside the native addon, turned into a JavaScript exception. */
export class NativeError extends GlmkitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('native', message, options);
  }
}

/** Bad command-line usage. */
export class UsageError extends GlmkitError {
  constructor(message: string) {
    super('usage', message);
  }
}

/** A training run that cannot go on (e.g. repeated non-finite losses); its last good checkpoint is kept. */
export class TrainingError extends GlmkitError {
  constructor(message: string) {
    super('training', message);
  }
}
