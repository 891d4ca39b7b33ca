// PLACEHOLDER: being written this session.
export function adamw(..._args: unknown[]): void { throw new Error('reference adamw: not written yet'); }
