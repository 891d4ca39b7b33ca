/**
 * The autograd tape. Every differentiable op that runs while gradients are enabled and has an input
 * that requires grad attaches a GradNode to its output: the inputs and a backward function that
 * maps the output gradient to one gradient per input. `backward()` walks the graph in reverse
 * topological order, sums gradients flowing into each tensor, and accumulates them into the `.grad`
 * of leaf tensors (parameters), across calls, until `zeroGrad`.
 */
import { GlmkitError, ShapeError } from '../errors.js';
import { fmt, shapesEqual } from './shape.js';
import type { Tensor } from './tensor.js';
import { poolActive, poolClock, poolOwns, poolRelease } from './buffer-pool.js';

export interface GradNode {
  op: string;
  inputs: readonly Tensor[];
  /** Gradient w.r.t. each input (null where the input needs none). Runs with grad disabled. */
  backward: (gradOut: Tensor) => readonly (Tensor | null)[];
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn with the tape off: no graph is recorded (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Attaches a node to `out` if the tape is on and some input requires grad. Returns out. */
export function record(out: Tensor, op: string, inputs: readonly Tensor[], backward: GradNode['backward']): Tensor {
  if (!gradEnabled) return out;
  let any = false;
  for (const t of inputs) if (t.requiresGrad) any = true;
  if (!any) return out;
  out.requiresGrad = true;
  out.node = { op, inputs, backward };
  return out;
}

/** Reverse-mode differentiation from `root`. `grad` defaults to 1 for a single-element root. */
export function runBackward(root: Tensor, grad: Tensor | undefined, add: (a: Tensor, b: Tensor) => Tensor, ones: (t: Tensor) => Tensor): void {
  if (!root.requiresGrad) {
    throw new GlmkitError('autograd', 'backward() called on a tensor that does not require grad (no parameter contributed to it, or it was computed under noGrad)');
  }
  if (!grad) {
    if (root.size !== 1) throw new ShapeError(`backward: a gradient is needed for a non-scalar output of shape ${fmt(root.shape)}`);
    grad = ones(root);
  } else if (!shapesEqual(grad.shape, root.shape)) {
    throw new ShapeError(`backward: gradient shape ${fmt(grad.shape)} does not match output shape ${fmt(root.shape)}`);
  }

  // Iterative DFS for a topological order (deep graphs would overflow a recursive one).
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node ? t.node.inputs : [];
    if (i < inputs.length) {
      top[1] = i + 1;
      const next = inputs[i];
      if (next.requiresGrad && !visited.has(next)) {
        visited.add(next);
        stack.push([next, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }

  const grads = new Map<Tensor, Tensor>();
  grads.set(root, grad);
  const recycle = poolActive() ? new BufferRefs(order, root) : null;
  recycle?.hold(grad);
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    for (let idx = order.length - 1; idx >= 0; idx--) {
      const t = order[idx];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (!t.node) {
        // A leaf: accumulate into .grad (a private copy, so later in-place updates are safe).
        t.grad = t.grad ? add(t.grad, g) : g.clone();
        recycle?.drop(g);
        continue;
      }
      const node = t.node;
      const inGrads = node.backward(g);
      for (let j = 0; j < node.inputs.length; j++) {
        const x = node.inputs[j];
        const gx = inGrads[j];
        if (!gx || !x.requiresGrad) continue;
        if (!shapesEqual(gx.shape, x.shape)) {
          throw new ShapeError(`backward of ${node.op}: gradient for input ${j} has shape ${fmt(gx.shape)}, expected ${fmt(x.shape)}`);
        }
        const acc = grads.get(x);
        recycle?.hold(gx);
        if (acc) {
          const sum = add(acc, gx);
          recycle?.hold(sum);
          recycle?.drop(acc);
          recycle?.drop(gx);
          grads.set(x, sum);
        } else grads.set(x, gx);
      }
      recycle?.drop(g);
      // Free the graph behind this tensor so activations can be collected.
      t.node = null;
    }
    recycle?.releaseActivations();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Which pooled buffers a backward pass may hand back (src/tensor/buffer-pool.ts): a count of the
 * pending gradients and graph activations that use each buffer. A gradient's buffer goes back when
 * its last user is consumed; activations go back together at the end, since a view can share its
 * input's buffer. The root's buffer is never handed back, nor any the pool did not make.
 */
class BufferRefs {
  private readonly refs = new Map<ArrayBufferLike, number>();
  private readonly activations: Tensor[] = [];
  /** gradients in buffers handed out before this are not tracked (a backward that returns some other tensor's data) */
  private readonly start = poolClock();

  constructor(order: readonly Tensor[], private readonly root: Tensor) {
    for (const t of order) {
      if (!t.node || !poolOwns(t.data)) continue;
      this.activations.push(t);
      this.refs.set(t.data.buffer, (this.refs.get(t.data.buffer) ?? 0) + 1);
    }
    this.refs.set(root.data.buffer, Number.POSITIVE_INFINITY);
  }

  hold(t: Tensor): void {
    if (this.refs.has(t.data.buffer) || poolOwns(t.data, this.start)) this.refs.set(t.data.buffer, (this.refs.get(t.data.buffer) ?? 0) + 1);
  }

  drop(t: Tensor): void {
    const buf = t.data.buffer;
    const n = this.refs.get(buf);
    if (n === undefined) return;
    if (n > 1) this.refs.set(buf, n - 1);
    else {
      this.refs.delete(buf);
      poolRelease(t.data);
    }
  }

  releaseActivations(): void {
    for (const t of this.activations) if (t !== this.root) this.drop(t);
  }
}
