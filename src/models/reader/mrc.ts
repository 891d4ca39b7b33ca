/**
 * Multiple-choice reading comprehension with the reader: items (RACE-like JSONL), training with an
 * optional evidence loss, and prediction (answer, its probability, the soft evidence).
 */
import { DataError } from '../../errors.js';
import { readJsonl } from '../../data/jsonl.js';
import { splitSentences } from '../../data/world/reading.js';
import { noGrad } from '../../tensor/autograd.js';
import * as F from '../../tensor/ops/index.js';
import { Tensor } from '../../tensor/tensor.js';
import { AdamW } from '../../optim/adamw.js';
import { clipGradNorm } from '../../optim/clip.js';
import { Rng } from '../../util/rng.js';
import { evidenceLoss } from './evidence.js';
import { type Reader, type TokenizedPassage, tokenizeSentences } from './reader.js';

export interface MrcItem {
  sentences: string[];
  question: string;
  options: string[];
  answer: number;
  /** gold evidence sentence indices, when known */
  evidence?: number[];
  kind?: string;
}

/**
 * Reads RACE-like JSONL rows {"passage" | "sentences", "question", "options", "answer", "evidence"?}
 * ("answer": an index or a letter A-D...); a bad row is a DataError naming file, line and field.
 */
export function loadMrcItems(file: string): MrcItem[] {
  return readJsonl(file).map((rec) => {
    const v = rec.value as Record<string, unknown>;
    const where = (field: string) => ({ file, line: rec.line, field });
    let sentences: string[];
    if (Array.isArray(v.sentences)) {
      if (v.sentences.length === 0 || v.sentences.some((s) => typeof s !== 'string' || s.trim() === '')) throw new DataError('expected a non-empty array of non-empty strings', where('sentences'));
      sentences = v.sentences as string[];
    } else if (typeof v.passage === 'string' && v.passage.trim() !== '') {
      sentences = splitSentences(v.passage.trim());
    } else {
      throw new DataError(`expected "passage" (a non-empty string) or "sentences" (an array of strings), got ${JSON.stringify(v.passage ?? v.sentences)?.slice(0, 40) ?? 'neither'}`, where('passage'));
    }
    if (typeof v.question !== 'string' || v.question.trim() === '') throw new DataError(`expected a non-empty string, got ${JSON.stringify(v.question)}`, where('question'));
    const options = v.options;
    if (!Array.isArray(options) || options.length < 2 || options.some((o) => typeof o !== 'string' || o.trim() === '')) throw new DataError('expected an array of at least 2 non-empty strings', where('options'));
    let answer = v.answer;
    if (typeof answer === 'string' && /^[A-Z]$/.test(answer)) answer = answer.charCodeAt(0) - 65;
    if (typeof answer !== 'number' || !Number.isInteger(answer) || answer < 0 || answer >= options.length) {
      throw new DataError(`expected an option index 0..${options.length - 1} or a letter, got ${JSON.stringify(v.answer)}`, where('answer'));
    }
    let evidence: number[] | undefined;
    if (v.evidence !== undefined) {
      const e = v.evidence;
      if (!Array.isArray(e) || e.some((x) => !Number.isInteger(x) || x < 0 || x >= sentences.length)) {
        throw new DataError(`expected an array of sentence indices in [0, ${sentences.length}), got ${JSON.stringify(e)}`, where('evidence'));
      }
      evidence = e as number[];
    }
    return { sentences, question: v.question, options: options as string[], answer, evidence, kind: typeof v.kind === 'string' ? v.kind : undefined };
  });
}

export interface TrainMrcOptions {
  steps: number;
  batch: number;
  lr: number;
  seed: number;
  /** weight of the evidence loss (0 = answers only) */
  evidenceWeight: number;
  /** evidence labels per item index (pseudo or gold); items without one get no evidence loss */
  evidence?: Map<number, number[]>;
  clip?: number;
  log?: (s: string) => void;
}

export interface TrainMrcResult {
  answerLoss: number[];
  evidenceLoss: number[];
}

const cache = new WeakMap<MrcItem, TokenizedPassage>();
function passageOf(reader: Reader, item: MrcItem): TokenizedPassage {
  let p = cache.get(item);
  if (!p) {
    p = tokenizeSentences(reader.tokenizer, item.sentences);
    cache.set(item, p);
  }
  return p;
}

/** Trains the reader on items: answer cross-entropy + evidenceWeight x the sequential evidence loss. */
export function trainMrc(reader: Reader, items: readonly MrcItem[], o: TrainMrcOptions): TrainMrcResult {
  if (items.length === 0) throw new DataError('mrc train: no items to train on');
  const opt = new AdamW(reader.parameters(), { lr: o.lr, weightDecay: 0.01 });
  const rng = new Rng(o.seed);
  const res: TrainMrcResult = { answerLoss: [], evidenceLoss: [] };
  for (let step = 0; step < o.steps; step++) {
    reader.zeroGrad();
    let aSum = 0, eSum = 0;
    for (let b = 0; b < o.batch; b++) {
      const idx = rng.int(items.length);
      const it = items[idx];
      const out = reader.choose(passageOf(reader, it), it.question, it.options);
      let loss = F.crossEntropy(out.logits, Tensor.ids([it.answer], [1]));
      aSum += loss.item();
      const ev = o.evidenceWeight > 0 ? o.evidence?.get(idx) : undefined;
      if (ev && ev.length > 0) {
        const S = it.sentences.length;
        const el = evidenceLoss(F.reshape(F.indexSelect(out.evidenceLogp, 0, Tensor.ids([it.answer], [1])), [S]), ev);
        eSum += el.item();
        loss = F.add(loss, F.scale(el, o.evidenceWeight));
      }
      F.scale(loss, 1 / o.batch).backward();
    }
    clipGradNorm(reader.parameters(), o.clip ?? 1);
    opt.update();
    res.answerLoss.push(aSum / o.batch);
    res.evidenceLoss.push(eSum / o.batch);
    if (o.log && (step + 1) % 10 === 0) o.log(`step ${step + 1}/${o.steps} answer_loss ${(aSum / o.batch).toFixed(4)} evidence_loss ${(eSum / o.batch).toFixed(4)}`);
  }
  return res;
}

export interface MrcPrediction {
  predicted: number;
  /** probability of each option */
  probs: number[];
  /** soft evidence: the sentence distribution of the predicted option's row */
  evidence: number[];
}

/** Predicts every item (no graph). */
export function predictMrc(reader: Reader, items: readonly MrcItem[]): MrcPrediction[] {
  return noGrad(() => items.map((it) => {
    const out = reader.choose(passageOf(reader, it), it.question, it.options);
    const probs = Array.from(F.softmax(out.logits, -1).data as Float32Array);
    let predicted = 0;
    probs.forEach((p, i) => { if (p > probs[predicted]) predicted = i; });
    const S = it.sentences.length;
    const ev = Array.from((out.evidenceLogp.data as Float32Array).subarray(predicted * S, (predicted + 1) * S), Math.exp);
    return { predicted, probs, evidence: ev };
  }));
}

/** Accuracy over items, overall and per kind. */
export function accuracyByKind(items: readonly MrcItem[], preds: readonly MrcPrediction[]): Record<string, number> {
  const tot = new Map<string, [number, number]>();
  items.forEach((it, i) => {
    for (const k of ['all', ...(it.kind ? [it.kind] : [])]) {
      const t = tot.get(k) ?? [0, 0];
      t[0] += Number(preds[i].predicted === it.answer);
      t[1]++;
      tot.set(k, t);
    }
  });
  return Object.fromEntries([...tot].map(([k, [c, n]]) => [k, c / n]));
}
