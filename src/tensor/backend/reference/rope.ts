// PLACEHOLDER: being written this session.
export function rope(..._args: unknown[]): void { throw new Error('reference rope: not written yet'); }
