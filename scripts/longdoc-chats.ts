/**
 * Long-document SFT chats for one step of a length curriculum: `n` world longdoc records (train split)
 * with documents spread over [min, max] tokens of the given tokenizer in 4 length buckets, each a
 * chat whose first user turn holds the document and a question and whose further turns ask
 * `follow-ups` more questions on it (the long-context stage's chat form, src/pipeline/longctx-data.ts
 * `trainRecords` and `longSftChat`). Used for docs/long-context.md "The pair layout": chats of
 * 800-1,600, then 1,600-2,800, then 2,800-3,600 tokens, each trained with `glmkit sft`. Run from the
 * repository root:
 *   npx tsx scripts/longdoc-chats.ts --tokenizer DIR --n 1200 --min 800 --max 1600 --follow-ups 11 --visit-style pair --out chats.jsonl
 */
import { parseArgs } from 'node:util';
import { VISIT_STYLES, type VisitStyle, writeJsonl } from '../src/data/world/index.js';
import { longSftChat, trainRecords } from '../src/pipeline/longctx-data.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer-json.js';

const { values } = parseArgs({
  options: {
    tokenizer: { type: 'string' }, n: { type: 'string' }, min: { type: 'string' }, max: { type: 'string' },
    'follow-ups': { type: 'string', default: '11' }, 'visit-style': { type: 'string', default: 'sentence' }, seed: { type: 'string', default: '9300' }, out: { type: 'string' },
  },
});
const num = (k: 'n' | 'min' | 'max' | 'follow-ups' | 'seed') => {
  const v = Number(values[k]);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`--${k}: expected a whole number, got "${values[k]}"`);
  return v;
};
if (!values.tokenizer || !values.out) throw new Error('usage: --tokenizer DIR --n N --min TOKENS --max TOKENS [--follow-ups 11] [--visit-style sentence|pair] [--seed 9300] --out FILE');
const style = values['visit-style'] as VisitStyle;
if (!VISIT_STYLES.includes(style)) throw new Error(`--visit-style: expected one of ${VISIT_STYLES.join(', ')}, got "${style}"`);
const records = trainRecords(num('n'), num('seed'), loadTokenizer(values.tokenizer), num('min'), num('max'), 4, num('follow-ups'), style);
await writeJsonl(values.out, records.map(longSftChat));
console.log(`wrote ${records.length} chats to ${values.out}`);
