// PLACEHOLDER: being written this session.
export function swigluForward(..._args: unknown[]): void { throw new Error('reference swigluForward: not written yet'); }
export function swigluBackward(..._args: unknown[]): void { throw new Error('reference swigluBackward: not written yet'); }
export function embeddingForward(..._args: unknown[]): void { throw new Error('reference embeddingForward: not written yet'); }
export function embeddingBackward(..._args: unknown[]): void { throw new Error('reference embeddingBackward: not written yet'); }
