/**
 * Worker-thread entry of data-parallel training (src/trainers/base/data-parallel.ts): keeps a replica
 * of the model of each run it is sent (built from its config; the last 2 kept), copies the current
 * weights in, runs its shard's forward and backward with its kernels inline on this thread, writes
 * the gradients of the trained tensors into its shared buffer, answers on the port and sets the
 * shared flag the caller waits on. Any error is answered, never thrown.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { GlmForCausalLM, GlmForSequenceClassification } from '../../models/glm/model.js';
import { setNativeCallerInline } from '../../tensor/backend/native.js';
import { withBf16Compute } from '../../tensor/ops/precision.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { TrainJob, TrainReply } from './data-parallel.js';
import { shardLoss } from './shard-losses.js';
import { clearBufferPool, withBufferPool } from '../../tensor/buffer-pool.js';

const { port, flag } = workerData as { port: MessagePort; flag: Int32Array };
const replicas = new Map<number, { model: GlmForCausalLM | GlmForSequenceClassification; tensors: Tensor[] }>();
const KEEP = 2;

function replica(job: TrainJob): { model: GlmForCausalLM | GlmForSequenceClassification; tensors: Tensor[] } {
  let r = replicas.get(job.runId);
  if (!r) {
    clearBufferPool(); // a new run: the last one's idle buffers have its batch sizes
    const model = job.model.kind === 'causal' ? new GlmForCausalLM(job.model.config) : new GlmForSequenceClassification(job.model.config, job.model.numLabels);
    model.train();
    const tensors = [...model.stateDict().values()];
    const trained = new Set(job.trained);
    tensors.forEach((t, i) => t.requireGrad(trained.has(i)));
    r = { model, tensors };
    replicas.set(job.runId, r);
    if (replicas.size > KEEP) replicas.delete(replicas.keys().next().value!);
  }
  const f = new Float32Array(job.weights);
  let off = 0;
  for (const t of r.tensors) {
    (t.data as Float32Array).set(f.subarray(off, off + t.size));
    off += t.size;
  }
  if (off !== f.length) throw new Error(`the shared weights hold ${f.length} values, the replica ${off}`);
  return r;
}

function run(job: TrainJob): TrainReply {
  const { model, tensors } = replica(job);
  for (const t of tensors) t.zeroGrad();
  const r = withBufferPool(() => {
    const r = withBf16Compute(job.bf16Compute, () => shardLoss(model, job.shard));
    r.loss.backward();
    return r;
  });
  const g = new Float32Array(job.grads);
  let off = 0;
  for (const i of job.trained) {
    const t = tensors[i];
    if (t.grad) g.set(t.grad.data as Float32Array, off);
    else g.fill(0, off, off + t.size);
    off += t.size;
    t.zeroGrad();
  }
  return { lossValue: r.lossValue, tokens: r.tokens, metrics: r.metrics };
}

setNativeCallerInline(true);
port.on('message', (job: TrainJob) => {
  let reply: TrainReply;
  try {
    if (process.env.GLMKIT_TEST_TRAIN_WORKER_FAIL === '1') throw new Error('test failure (GLMKIT_TEST_TRAIN_WORKER_FAIL)');
    reply = run(job);
  } catch (e) {
    reply = { error: (e as Error).message };
  }
  port.postMessage(reply);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
