/**
 * Worker-thread entry of parallel generation (src/generation/parallel-generate.ts): keeps a replica
 * of each model it is sent (built from its config, the last 4 kept), copies the current weights in
 * from the shared buffer, decodes its rows with its kernels inline on this thread, answers on the
 * port and sets the shared flag the caller waits on. Any error is answered, never thrown.
 *
 * Test hook: GLMKIT_TEST_GEN_WORKER_FAIL=1 makes every job fail, as a bug in the worker would.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { GlmForCausalLM } from '../models/glm/model.js';
import { setNativeCallerInline } from '../tensor/backend/native.js';
import { generateSequences } from './generate.js';
import type { GenerationJob, GenerationReply } from './parallel-generate.js';

const { port, flag } = workerData as { port: MessagePort; flag: Int32Array };
const replicas = new Map<number, GlmForCausalLM>();
const KEEP = 4;

function replica(job: GenerationJob): GlmForCausalLM {
  let model = replicas.get(job.modelId);
  if (!model) {
    model = new GlmForCausalLM(job.config);
    model.eval();
    replicas.set(job.modelId, model);
    if (replicas.size > KEEP) replicas.delete(replicas.keys().next().value!);
  }
  const f = new Float32Array(job.weights);
  let off = 0;
  for (const t of model.stateDict().values()) {
    (t.data as Float32Array).set(f.subarray(off, off + t.size));
    off += t.size;
  }
  if (off !== f.length) throw new Error(`the shared weights hold ${f.length} values, the replica ${off}`);
  return model;
}

setNativeCallerInline(true);
port.on('message', (job: GenerationJob) => {
  let reply: GenerationReply;
  try {
    if (process.env.GLMKIT_TEST_GEN_WORKER_FAIL === '1') throw new Error('test failure (GLMKIT_TEST_GEN_WORKER_FAIL)');
    reply = { result: generateSequences(replica(job), job.prompts, job.opts, job.base, job.indices) };
  } catch (e) {
    reply = { error: (e as Error).message };
  }
  port.postMessage(reply);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
