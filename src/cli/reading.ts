/**
 * Reading comprehension commands (docs/reading.md):
 *   glmkit rept pretrain --model DIR (--data docs.jsonl | --world-docs N) --out DIR   REPT (or plain MLM) pre-training
 *   glmkit mrc train --model DIR --data items.jsonl --out DIR                          multiple-choice fine-tuning
 *   glmkit mrc eval --model DIR --data items.jsonl [--out preds.jsonl]                 accuracy (+ evidence precision)
 *   glmkit stm --model DIR --train items.jsonl --eval items.jsonl --out DIR            STM self-training + baselines
 * Items are RACE-like JSONL {"passage" | "sentences", "question", "options", "answer", "evidence"?}.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, UsageError } from '../errors.js';
import { readJsonl } from '../data/jsonl.js';
import { type AnnotatedDocument, annotateText, sampleAnnotatedDocument } from '../data/world/reading-hard.js';
import { splitSentences } from '../data/world/reading.js';
import { WorldRng } from '../data/world/rng.js';
import { getWorld } from '../data/world/world.js';
import { loadReader, saveReader } from '../models/reader/checkpoint.js';
import { evidenceScores, runStm, STM_DEFAULTS, topSentences } from '../models/reader/stm.js';
import { accuracyByKind, loadMrcItems, predictMrc, trainMrc } from '../models/reader/mrc.js';
import { REPT_DEFAULTS, reptPretrain } from '../models/reader/rept.js';
import { choice, commandHelp, field, parseCommand } from './args.js';
import { inputFile, modelDir, outputDir, outputFile } from './paths.js';

/** Documents {"sentences", "annotations"?} or {"text"}; missing annotations come from the heuristic annotator. */
export function loadDocuments(file: string): AnnotatedDocument[] {
  return readJsonl(file).map((rec) => {
    const v = rec.value as Record<string, unknown>;
    const where = (field: string) => ({ file, line: rec.line, field });
    let sentences: string[];
    if (Array.isArray(v.sentences) && v.sentences.every((s) => typeof s === 'string' && s.trim() !== '')) sentences = v.sentences as string[];
    else if (typeof v.text === 'string' && v.text.trim() !== '') sentences = splitSentences(v.text.trim());
    else throw new DataError('expected "text" (a non-empty string) or "sentences" (an array of non-empty strings)', where(v.sentences !== undefined ? 'sentences' : 'text'));
    if (sentences.length < 3) throw new DataError(`expected a document of at least 3 sentences, got ${sentences.length}`, where('text'));
    let annotations = sentences.map((s) => annotateText(s));
    if (v.annotations !== undefined) {
      const a = v.annotations;
      const ok = Array.isArray(a) && a.length === sentences.length && a.every((x) => x && Array.isArray((x as Record<string, unknown>).entities) && Array.isArray((x as Record<string, unknown>).nouns));
      if (!ok) throw new DataError(`expected one {"entities": [...], "nouns": [...]} per sentence (${sentences.length})`, where('annotations'));
      annotations = a as AnnotatedDocument['annotations'];
    }
    return { sentences, annotations };
  });
}

const reptSpec = {
  name: 'rept pretrain',
  usage: 'glmkit rept pretrain --model DIR (--data docs.jsonl | --world-docs N) --out DIR [options]',
  description: 'REPT pre-training of a reader: Surrounding Sentences Prediction + retrieval-based masked span prediction\n(or --objective mlm: plain masked LM, the baseline). Writes a reader folder and losses.jsonl.',
  schema: {
    model: field('path', '', 'a causal LM or reader folder (with tokenizer)', { required: true, placeholder: 'dir' }),
    data: field<string | null>('path', null, 'documents JSONL {"text"} or {"sentences", "annotations"?}', { nullable: true, placeholder: 'file' }),
    world_docs: field('int', 0, 'instead of --data: this many annotated documents of the built-in world', { min: 0 }),
    out: field('path', '', 'output reader folder', { required: true, placeholder: 'dir' }),
    objective: choice(['rept', 'mlm', 'clm'], 'rept', 'rept (SSP + retrieval MSP), or a baseline: mlm (plain masked LM) or clm (causal LM)'),
    steps: field('int', 200, 'optimizer steps', { min: 1 }),
    batch: field('int', 4, 'documents per step', { min: 1 }),
    learning_rate: field('number', 1e-3, 'AdamW learning rate', { min: 0 }),
    query_ratio: field('number', REPT_DEFAULTS.queryRatio, 'share of sentences that become queries', { min: 0.01, max: 0.9 }),
    entity_mask: field('number', REPT_DEFAULTS.entityMask, 'chosen entities masked', { min: 0, max: 1 }),
    entity_replace: field('number', REPT_DEFAULTS.entityReplace, 'chosen entities replaced by another entity', { min: 0, max: 1 }),
    noun_mask: field('number', REPT_DEFAULTS.nounMask, 'nouns (found elsewhere) masked', { min: 0, max: 1 }),
    seed: field('int', 0, 'seed (heads, masking, world documents)', { min: 0 }),
    overwrite: field('boolean', false, 'write into an --out folder that already holds files'),
  },
};

const mrcTrainSpec = {
  name: 'mrc train',
  usage: 'glmkit mrc train --model DIR --data items.jsonl --out DIR [options]',
  description: 'Fine-tune a reader on multiple-choice reading comprehension (answer loss, + evidence loss on gold evidence when --evidence-weight > 0).',
  schema: {
    model: field('path', '', 'a reader folder (e.g. from rept pretrain) or a causal LM folder (fresh heads)', { required: true, placeholder: 'dir' }),
    data: field('path', '', 'items JSONL {"passage" | "sentences", "question", "options", "answer", "evidence"?}', { required: true, placeholder: 'file' }),
    out: field('path', '', 'output reader folder', { required: true, placeholder: 'dir' }),
    steps: field('int', 300, 'optimizer steps', { min: 1 }),
    batch: field('int', 8, 'items per step', { min: 1 }),
    learning_rate: field('number', 1e-3, 'AdamW learning rate', { min: 0 }),
    evidence_weight: field('number', 0, 'weight of the evidence loss on the items\' gold evidence (0: answers only)', { min: 0 }),
    seed: field('int', 0, 'seed', { min: 0 }),
    overwrite: field('boolean', false, 'write into an --out folder that already holds files'),
  },
};

const mrcEvalSpec = {
  name: 'mrc eval',
  usage: 'glmkit mrc eval --model DIR --data items.jsonl [--out preds.jsonl]',
  description: 'Accuracy (overall and per "kind") and, where rows have gold "evidence", evidence precision@1 and @|gold| of the soft evidence.',
  schema: {
    model: field('path', '', 'a reader folder', { required: true, placeholder: 'dir' }),
    data: field('path', '', 'items JSONL', { required: true, placeholder: 'file' }),
    out: field<string | null>('path', null, 'per-item predictions JSONL', { nullable: true, placeholder: 'file' }),
    overwrite: field('boolean', false, 'replace an existing --out file'),
  },
};

const stmSpec = {
  name: 'stm',
  usage: 'glmkit stm --model DIR --train items.jsonl --eval items.jsonl --out DIR [options]',
  description: 'STM self-training for evidence extraction (gold evidence in --train is never trained on, only scored);\nbaselines: the answer-only reader (iteration 0) and word overlap with question + option.\nWrites OUT/iter-<n>/{metrics.json,pseudo_labels.jsonl}, OUT/summary.json and OUT/reader.',
  schema: {
    model: field('path', '', 'the initial model (causal LM or reader); every iteration starts afresh from it', { required: true, placeholder: 'dir' }),
    train: field('path', '', 'training items JSONL', { required: true, placeholder: 'file' }),
    eval: field('path', '', 'evaluation items JSONL (gold "evidence" for evidence precision)', { required: true, placeholder: 'file' }),
    out: field('path', '', 'output folder', { required: true, placeholder: 'dir' }),
    iterations: field('int', STM_DEFAULTS.iterations, 'self-training iterations after iteration 0', { min: 0 }),
    confidence: field('number', STM_DEFAULTS.confidence, 'a candidate is answered correctly with probability above this', { min: 0, max: 1 }),
    max_k: field('int', STM_DEFAULTS.maxK, 'evidence sentences per item at most (adaptive k)', { min: 1 }),
    min_value: field('number', STM_DEFAULTS.minValue, 'keep a candidate when exp(mean sequential log-prob) is above this', { min: 0, max: 1 }),
    top_k: field('int', STM_DEFAULTS.topK, 'pseudo-labels added per iteration', { min: 1 }),
    evidence_weight: field('number', STM_DEFAULTS.evidenceWeight, 'weight of the evidence loss', { min: 0 }),
    steps: field('int', STM_DEFAULTS.steps, 'optimizer steps per iteration', { min: 1 }),
    batch: field('int', STM_DEFAULTS.batch, 'items per step', { min: 1 }),
    learning_rate: field('number', STM_DEFAULTS.lr, 'AdamW learning rate', { min: 0 }),
    seed: field('int', STM_DEFAULTS.seed, 'seed', { min: 0 }),
    overwrite: field('boolean', false, 'write into an --out folder that already holds files'),
  },
};

const log = (s: string) => process.stderr.write(s + '\n');

export async function reptCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '-h' || sub === '--help') {
    console.log(commandHelp(reptSpec).trimEnd());
    return 0;
  }
  if (sub !== 'pretrain') throw new UsageError(`rept: expected the subcommand "pretrain", got ${sub === undefined ? 'nothing' : `'${sub}'`}; see glmkit rept pretrain --help`);
  const parsed = parseCommand(reptSpec, rest);
  if (!parsed) return 0;
  const v = parsed.values;
  modelDir('rept pretrain', '--model', v.model, true);
  if ((v.data === null) === (v.world_docs === 0)) throw new UsageError('rept pretrain: give exactly one of --data FILE or --world-docs N');
  if (v.data !== null) inputFile('rept pretrain', '--data', v.data, 'a JSONL file');
  outputDir('rept pretrain', '--out', v.out, v.overwrite, 'an output folder');
  const docs = v.data !== null ? loadDocuments(v.data) : worldDocuments(v.world_docs, v.seed);
  const reader = loadReader(v.model, v.seed);
  const losses = reptPretrain(reader, docs, { steps: v.steps, batch: v.batch, lr: v.learning_rate, seed: v.seed, objective: v.objective, data: { queryRatio: v.query_ratio, entityMask: v.entity_mask, entityReplace: v.entity_replace, nounMask: v.noun_mask }, log });
  saveReader(v.out, reader, { trained_by: `glmkit rept pretrain --objective ${v.objective}`, steps: v.steps });
  writeFileSync(join(v.out, 'losses.jsonl'), losses.map((l) => JSON.stringify({ step: l.step, ssp_prev: l.prev, ssp_next: l.next, mlm: l.mlm })).join('\n') + '\n');
  const last = losses.slice(-Math.min(10, losses.length));
  const avg = (k: 'prev' | 'next' | 'mlm') => last.reduce((a, r) => a + r[k], 0) / last.length;
  console.log(JSON.stringify({ documents: docs.length, steps: v.steps, objective: v.objective, ssp_prev: avg('prev'), ssp_next: avg('next'), mlm: avg('mlm') }));
  return 0;
}

/** `n` annotated documents of the default world. */
export function worldDocuments(n: number, seed: number): AnnotatedDocument[] {
  const rng = new WorldRng(seed, 'rept-docs');
  return Array.from({ length: n }, () => sampleAnnotatedDocument(rng, getWorld(0)));
}

export async function mrcCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '-h' || sub === '--help') {
    console.log(`${commandHelp(mrcTrainSpec).trimEnd()}\n\n${commandHelp(mrcEvalSpec).trimEnd()}`);
    return 0;
  }
  if (sub === 'train') {
    const parsed = parseCommand(mrcTrainSpec, rest);
    if (!parsed) return 0;
    const v = parsed.values;
    modelDir('mrc train', '--model', v.model, true);
    inputFile('mrc train', '--data', v.data, 'a JSONL file');
    outputDir('mrc train', '--out', v.out, v.overwrite, 'an output folder');
    const items = loadMrcItems(v.data);
    const reader = loadReader(v.model, v.seed);
    const evidence = new Map(items.flatMap((it, i) => (it.evidence ? [[i, it.evidence] as [number, number[]]] : [])));
    const res = trainMrc(reader, items, { steps: v.steps, batch: v.batch, lr: v.learning_rate, seed: v.seed, evidenceWeight: v.evidence_weight, evidence, log });
    saveReader(v.out, reader, { trained_by: 'glmkit mrc train', steps: v.steps });
    writeFileSync(join(v.out, 'losses.jsonl'), res.answerLoss.map((a, i) => JSON.stringify({ step: i + 1, answer_loss: a, evidence_loss: res.evidenceLoss[i] })).join('\n') + '\n');
    console.log(JSON.stringify({ items: items.length, steps: v.steps, final_answer_loss: res.answerLoss.at(-1), final_evidence_loss: res.evidenceLoss.at(-1) }));
    return 0;
  }
  if (sub === 'eval') {
    const parsed = parseCommand(mrcEvalSpec, rest);
    if (!parsed) return 0;
    const v = parsed.values;
    modelDir('mrc eval', '--model', v.model, true);
    inputFile('mrc eval', '--data', v.data, 'a JSONL file');
    if (v.out !== null) outputFile('mrc eval', '--out', v.out, v.overwrite, 'a JSONL file');
    const items = loadMrcItems(v.data);
    const preds = predictMrc(loadReader(v.model), items);
    const ev = evidenceScores(items, (i, k) => topSentences(preds[i].evidence, k));
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
    if (v.out !== null) {
      writeFileSync(v.out, preds.map((p, i) => JSON.stringify({ index: i, answer: items[i].answer, predicted: p.predicted, probs: p.probs, evidence: topSentences(p.evidence, 3), evidence_probs: p.evidence })).join('\n') + '\n');
    }
    console.log(JSON.stringify({ items: items.length, accuracy: accuracyByKind(items, preds), evidence_items: ev.p1.length, evidence_p1: mean(ev.p1), evidence_pk: mean(ev.pk) }));
    return 0;
  }
  throw new UsageError(`mrc: expected the subcommand "train" or "eval", got ${sub === undefined ? 'nothing' : `'${sub}'`}; see glmkit mrc --help`);
}

export async function stmCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(stmSpec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  modelDir('stm', '--model', v.model, true);
  inputFile('stm', '--train', v.train, 'a JSONL file');
  inputFile('stm', '--eval', v.eval, 'a JSONL file');
  outputDir('stm', '--out', v.out, v.overwrite, 'an output folder');
  const train = loadMrcItems(v.train), evalItems = loadMrcItems(v.eval);
  mkdirSync(v.out, { recursive: true });
  const cfg = { iterations: v.iterations, confidence: v.confidence, maxK: v.max_k, minValue: v.min_value, topK: v.top_k, evidenceWeight: v.evidence_weight, steps: v.steps, batch: v.batch, lr: v.learning_rate, seed: v.seed };
  const run = runStm((it) => loadReader(v.model, v.seed + it), train, evalItems, cfg, v.out, log);
  const summary = {
    config: cfg,
    iterations: run.iterations.map(({ perItem, ...r }) => r),
    baselines: { answer_only_attention: { evidence_p1: run.iterations[0].evidence_p1, evidence_pk: run.iterations[0].evidence_pk }, word_overlap: { evidence_p1: run.overlap.evidence_p1, evidence_pk: run.overlap.evidence_pk } },
  };
  writeFileSync(join(v.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  const last = run.iterations.at(-1)!;
  console.log(JSON.stringify({ iterations: run.iterations.length, answer_accuracy: last.answer_accuracy, evidence_p1: last.evidence_p1, evidence_pk: last.evidence_pk, baselines: summary.baselines }));
  return 0;
}
