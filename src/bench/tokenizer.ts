/**
 * `glmkit bench tokenizer`: byte-level BPE training speed on a generated ~10 MB corpus (1 MB with
 * --quick), then encoding speed of glmkit against @huggingface/tokenizers (tokenizers.js, a
 * devDependency) on the same text with the same tokenizer.json. Both encoders start cold (fresh
 * instances, empty caches); the ids are checked to be identical. Goal: glmkit encodes at least as fast.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WordCounter, trainBpe } from '../tokenizer/bpe-train.js';
import { loadTokenizer, saveTokenizer } from '../tokenizer/tokenizer-json.js';

export interface BenchTokenizerOptions {
  json?: boolean;
  quick?: boolean;
  threads?: number;
}

/** Deterministic mixed corpus: English-like prose, numbers, code, some non-ASCII, chat tags. */
export function benchCorpus(bytes: number, seed = 1): string {
  let s = seed >>> 0;
  const rnd = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const syll = ['ka', 'lo', 'mi', 'ne', 'ra', 'to', 'su', 'vi', 'an', 'el', 'or', 'th', 'ing', 'er', 'st', 'qu', 'é', 'ü', 'ß'];
  const words: string[] = [];
  for (let i = 0; i < 4000; i++) {
    let w = '';
    const n = 1 + Math.floor(rnd() * 4);
    for (let j = 0; j < n; j++) w += syll[Math.floor(rnd() * syll.length)];
    words.push(w);
  }
  const cjk = '的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经';
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    let p: string;
    const r = rnd();
    if (r < 0.7) {
      const n = 5 + Math.floor(rnd() * 25);
      const ws: string[] = [];
      for (let i = 0; i < n; i++) {
        // Zipf-like word choice: small indices are much more frequent.
        let w = words[Math.floor(words.length * rnd() ** 3)];
        if (i === 0) w = w[0].toUpperCase() + w.slice(1);
        ws.push(w);
      }
      p = ws.join(' ') + (rnd() < 0.2 ? `, ${Math.floor(rnd() * 100000)} items.` : '.') + (rnd() < 0.3 ? '\n\n' : ' ');
    } else if (r < 0.85) {
      const v = words[Math.floor(rnd() * 200)];
      p = `def ${v}(x, y=${Math.floor(rnd() * 10)}):\n    return x * ${rnd().toFixed(3)} + y  # ${v}\n\n`;
    } else if (r < 0.95) {
      let t = '';
      for (let i = 0; i < 10 + rnd() * 30; i++) t += cjk[Math.floor(cjk.length * rnd() ** 2)];
      p = t + '。\n';
    } else p = `<|user|>\n${words[Math.floor(rnd() * 100)]}?<|assistant|>\n<think></think>\n${words[Math.floor(rnd() * 100)]}.`;
    parts.push(p);
    size += Buffer.byteLength(p);
  }
  return parts.join('');
}

/** Runs the benchmark and prints one line per figure (JSON objects with json). */
export async function benchTokenizer(opts: BenchTokenizerOptions, print: (line: string) => void): Promise<void> {
  const corpusBytes = opts.quick ? 1 << 20 : 10 << 20;
  const vocabSize = opts.quick ? 4096 : 16384;
  const text = benchCorpus(corpusBytes);
  const mb = Buffer.byteLength(text) / 1e6;
  const emit = (name: string, fields: Record<string, unknown>, human: string) => print(opts.json ? JSON.stringify({ bench: 'tokenizer', name, ...fields }) : human);

  // Training.
  let t0 = performance.now();
  const counter = new WordCounter();
  counter.add(text);
  const tCount = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const trained = trainBpe(counter, { vocabSize });
  const tMerge = (performance.now() - t0) / 1000;
  emit(
    'train',
    { corpus_mb: +mb.toFixed(2), vocab_size: trained.vocabSize, unique_words: counter.counts.size, count_s: +tCount.toFixed(3), merge_s: +tMerge.toFixed(3), total_s: +(tCount + tMerge).toFixed(3) },
    `train: ${mb.toFixed(1)} MB, vocab ${trained.vocabSize}, ${counter.counts.size} unique words: count ${tCount.toFixed(2)} s + merges ${tMerge.toFixed(2)} s = ${(tCount + tMerge).toFixed(2)} s`,
  );

  const dir = mkdtempSync(join(tmpdir(), 'glmkit-bench-tok-'));
  try {
    saveTokenizer(trained, dir);
    // glmkit encode: a freshly loaded tokenizer (cold cache).
    const ours = loadTokenizer(dir);
    t0 = performance.now();
    const ids = ours.encode(text, { allowSpecial: true });
    const tOurs = (performance.now() - t0) / 1000;
    emit('encode_glmkit', { mb_per_s: +(mb / tOurs).toFixed(2), tokens_per_s: Math.round(ids.length / tOurs), tokens: ids.length, seconds: +tOurs.toFixed(3) }, `encode glmkit: ${(mb / tOurs).toFixed(2)} MB/s, ${Math.round(ids.length / tOurs)} tokens/s (${ids.length} tokens in ${tOurs.toFixed(2)} s)`);

    let peer: { Tokenizer: new (json: object, config: object) => { encode(t: string): { ids: number[] } } } | null = null;
    try {
      const name = '@huggingface/tokenizers';
      peer = await import(name);
    } catch {
      emit('encode_peer', { available: false }, 'encode @huggingface/tokenizers: not installed (devDependency); skipped');
      return;
    }
    const hf = new peer!.Tokenizer(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')));
    t0 = performance.now();
    const hfIds = hf.encode(text).ids;
    const tHf = (performance.now() - t0) / 1000;
    let same = hfIds.length === ids.length;
    for (let i = 0; same && i < ids.length; i++) same = ids[i] === hfIds[i];
    emit('encode_peer', { available: true, mb_per_s: +(mb / tHf).toFixed(2), tokens_per_s: Math.round(hfIds.length / tHf), seconds: +tHf.toFixed(3), identical_ids: same }, `encode @huggingface/tokenizers: ${(mb / tHf).toFixed(2)} MB/s (${tHf.toFixed(2)} s); ids identical: ${same}`);
    emit('encode_ratio', { glmkit_over_peer: +(tHf / tOurs).toFixed(2) }, `glmkit / tokenizers.js encode speed: ${(tHf / tOurs).toFixed(2)}x`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
