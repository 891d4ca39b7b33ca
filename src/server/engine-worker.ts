/**
 * Worker-thread entry of the server's generation engine: loads the model, then runs engine steps
 * whenever work is pending, yielding between steps so submits and cancels from the HTTP thread are
 * taken at step boundaries. Messages in: submit | cancel | shutdown. Messages out: ready | fatal |
 * rejected | events (one batch per step).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { GenerationEngine, type EngineRequest } from '../generation/engine.js';

export interface WorkerInit {
  modelDir: string;
  maxSlots: number;
  slotCapacity?: number;
  /** the tokenizer's size: ids past it are never sampled */
  vocabLimit?: number;
}

export type ToWorker = { type: 'submit'; req: EngineRequest } | { type: 'cancel'; id: number } | { type: 'shutdown' };

const port = parentPort!;
const init = workerData as WorkerInit;

let engine: GenerationEngine;
try {
  const model = loadCausalLM(init.modelDir).eval();
  engine = new GenerationEngine(model, { maxSlots: init.maxSlots, slotCapacity: init.slotCapacity, vocabLimit: init.vocabLimit });
  port.postMessage({ type: 'ready', slotCapacity: engine.slotCapacity, vocabSize: model.config.vocabSize });
} catch (e) {
  port.postMessage({ type: 'fatal', message: (e as Error).message });
  process.exit(1);
}

let scheduled = false;

function schedule(): void {
  if (scheduled || engine.idle) return;
  scheduled = true;
  setImmediate(run);
}

function run(): void {
  scheduled = false;
  try {
    const events = engine.step();
    if (events.length > 0) port.postMessage({ type: 'events', events });
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
