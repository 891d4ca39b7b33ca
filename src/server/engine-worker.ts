/**
 * Worker-thread entry of the server's generation engine: loads the model, then runs engine steps
 * whenever work is pending, yielding between steps so submits and cancels from the HTTP thread are
 * taken at step boundaries. Messages in: submit | cancel | shutdown. Messages out: ready | fatal |
 * rejected | events (one batch per step, with `active`: the slots in use after it).
 *
 * Test hook: GLMKIT_TEST_CRASH_WORKER_AFTER=N makes the first worker (not its restarts) fail its
 * engine step once it has generated N tokens, as a crash in the engine would;
 * GLMKIT_TEST_STEP_DELAY_MS=D waits D ms between engine steps (a slow engine, for timeout tests).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadCausalLM, type WeightDtype } from '../models/glm/checkpoint.js';
import { isGlm4vFolder, loadGlm4vModel } from '../models/glm4v/checkpoint.js';
import { GenerationEngine, type EngineRequest } from '../generation/engine.js';
import { VisionEngine } from '../generation/vlm-engine.js';

export interface WorkerInit {
  modelDir: string;
  dtype?: WeightDtype;
  maxSlots: number;
  slotCapacity?: number;
  /** the tokenizer's size: ids past it are never sampled */
  vocabLimit?: number;
  /** 0 for the first worker, k for its k-th restart after a crash */
  generation?: number;
}

export type ToWorker = { type: 'submit'; req: EngineRequest } | { type: 'cancel'; id: number } | { type: 'shutdown' };

const port = parentPort!;
const init = workerData as WorkerInit;

// A GLM-4.1V folder is served by the vision engine (static batches with images), a text model by the
// continuous-batching engine; both take the same messages and give the same events.
let engine: GenerationEngine | VisionEngine;
try {
  const opts = { maxSlots: init.maxSlots, slotCapacity: init.slotCapacity, vocabLimit: init.vocabLimit };
  let vocabSize: number;
  if (isGlm4vFolder(init.modelDir)) {
    const model = loadGlm4vModel(init.modelDir, { dtype: init.dtype }).eval();
    engine = new VisionEngine(model, opts);
    vocabSize = model.config.text.vocabSize;
  } else {
    const model = loadCausalLM(init.modelDir, { dtype: init.dtype }).eval();
    engine = new GenerationEngine(model, opts);
    vocabSize = model.config.vocabSize;
  }
  port.postMessage({ type: 'ready', slotCapacity: engine.slotCapacity, vocabSize });
} catch (e) {
  port.postMessage({ type: 'fatal', message: (e as Error).message });
  process.exit(1);
}

let scheduled = false;
let lastActive = 0;
const crashAfter = (init.generation ?? 0) === 0 ? Number(process.env.GLMKIT_TEST_CRASH_WORKER_AFTER ?? NaN) : NaN;
let tokensOut = 0;
const stepDelayMs = Number(process.env.GLMKIT_TEST_STEP_DELAY_MS ?? 0) || 0;

function schedule(): void {
  if (scheduled || engine.idle) return;
  scheduled = true;
  if (stepDelayMs > 0) setTimeout(run, stepDelayMs);
  else setImmediate(run);
}

function run(): void {
  scheduled = false;
  try {
    const events = engine.step();
    for (const e of events) if (e.type === 'token') tokensOut++;
    if (tokensOut >= crashAfter) throw new Error(`test crash after ${tokensOut} tokens (GLMKIT_TEST_CRASH_WORKER_AFTER)`);
    if (events.length > 0 || engine.active !== lastActive) port.postMessage({ type: 'events', events, active: engine.active });
    lastActive = engine.active;
  } catch (e) {
    port.postMessage({ type: 'fatal', message: `engine step failed: ${(e as Error).message}` });
    process.exit(1);
  }
  schedule();
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'submit') {
    try {
      engine.submit(msg.req);
    } catch (e) {
      port.postMessage({ type: 'rejected', id: msg.req.id, message: (e as Error).message });
      return;
    }
  } else if (msg.type === 'cancel') {
    engine.cancel(msg.id);
  } else if (msg.type === 'shutdown') {
    process.exit(0);
  }
  schedule();
});
