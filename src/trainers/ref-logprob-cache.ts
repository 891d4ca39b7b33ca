/**
 * The on-disk cache of reference log-probs (`--ref-logprob-cache DIR`, DPO and EXO): the frozen
 * reference's sequence log-probs depend only on the reference model, the sequences and the
 * temperature, so they are computed once and reused by reruns. The file DIR/ref-logps-<fingerprint>.tsv
 * is named by a SHA-256 fingerprint of the reference's weights and config, of every sequence of the
 * dataset (ids and loss mask, in order) and of the temperature: a changed model or dataset gives
 * another fingerprint, so stale values are never read. Lines are "key<TAB>value", appended as values
 * are computed (a run killed midway keeps what it computed); a torn last line is recomputed.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TokenizedResponse } from '../data/preference.js';
import type { GlmForCausalLM } from '../models/glm/model.js';

/** SHA-256 of a model's config and every tensor of its state dict (names, shapes, values). */
export function modelFingerprint(model: GlmForCausalLM): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(model.config));
  for (const [name, t] of model.stateDict()) {
    h.update(`${name}:${t.shape.join('x')}:`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex');
}

/** SHA-256 of a dataset's sequences (ids and loss masks, in order). */
export function datasetFingerprint(seqs: Iterable<TokenizedResponse>): string {
  const h = createHash('sha256');
  for (const s of seqs) h.update(`${s.ids.join(',')}|${s.mask.join('')};`);
  return h.digest('hex');
}

export class RefLogprobStore {
  readonly file: string;
  /** entries read from the file when opened */
  readonly loaded: Map<string, number>;

  constructor(dir: string, parts: { model: string; dataset: string; temperature: number }) {
    const fp = createHash('sha256').update(`${parts.model}|${parts.dataset}|${parts.temperature}`).digest('hex').slice(0, 24);
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, `ref-logps-${fp}.tsv`);
    this.loaded = new Map();
    if (!existsSync(this.file)) {
      writeFileSync(this.file, `# glmkit reference log-probs: model ${parts.model} dataset ${parts.dataset} temperature ${parts.temperature}\n`);
      return;
    }
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const tab = line.indexOf('\t');
      const v = Number(line.slice(tab + 1));
      if (tab > 0 && line.slice(tab + 1) !== '' && Number.isFinite(v)) this.loaded.set(line.slice(0, tab), v);
    }
  }

  /** Appends newly computed values. */
  append(entries: readonly [string, number][]): void {
    if (entries.length > 0) appendFileSync(this.file, entries.map(([k, v]) => `${k}\t${v}\n`).join(''));
  }
}
