// PLACEHOLDER: being written this session.
export function attentionForward(..._args: unknown[]): void { throw new Error('reference attentionForward: not written yet'); }
export function attentionBackward(..._args: unknown[]): void { throw new Error('reference attentionBackward: not written yet'); }
