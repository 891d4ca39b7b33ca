// PLACEHOLDER: being written this session.
export function softmaxForward(..._args: unknown[]): void { throw new Error('reference softmaxForward: not written yet'); }
export function softmaxBackward(..._args: unknown[]): void { throw new Error('reference softmaxBackward: not written yet'); }
export function logSoftmaxForward(..._args: unknown[]): void { throw new Error('reference logSoftmaxForward: not written yet'); }
export function logSoftmaxBackward(..._args: unknown[]): void { throw new Error('reference logSoftmaxBackward: not written yet'); }
export function crossEntropyForward(..._args: unknown[]): void { throw new Error('reference crossEntropyForward: not written yet'); }
export function crossEntropyBackward(..._args: unknown[]): void { throw new Error('reference crossEntropyBackward: not written yet'); }
