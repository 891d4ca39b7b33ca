/**
 * Position in a dataset: records are visited in a shuffled order that depends only on the seed and
 * the epoch, so the state (epoch, index) is enough to resume exactly where a run stopped.
 */
import { Rng } from '../../util/rng.js';

export interface CursorState {
  epoch: number;
  index: number;
}

export class DataCursor {
  private order: Int32Array;
  epoch = 0;
  index = 0;

  constructor(readonly size: number, readonly seed: number, readonly shuffle = true) {
    this.order = this.makeOrder(0);
  }

  private makeOrder(epoch: number): Int32Array {
    const order = Int32Array.from({ length: this.size }, (_, i) => i);
    if (this.shuffle) {
      const rng = new Rng(`${this.seed}:epoch:${epoch}`);
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
    }
    return order;
  }

  /** The next record index (wrapping into a new epoch). */
  next(): number {
    if (this.index >= this.size) {
      this.epoch++;
      this.index = 0;
      this.order = this.makeOrder(this.epoch);
    }
    return this.order[this.index++];
  }

  /** Fractional epochs consumed. */
  progress(): number {
    return this.epoch + this.index / this.size;
  }

  getState(): CursorState {
    return { epoch: this.epoch, index: this.index };
  }

  setState(s: CursorState): void {
    this.epoch = s.epoch;
    this.index = s.index;
    this.order = this.makeOrder(s.epoch);
  }
}
