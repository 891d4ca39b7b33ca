import { generateWorldTask } from './src/data/world/index.js';
import { loadCausalLM } from './src/models/glm/checkpoint.js';
import { loadTokenizer } from './src/tokenizer/tokenizer-json.js';
import { sampleVoters, type SeqaQuestion } from './src/eval/seqa.js';
import { validationTestSplit } from './src/eval/splits.js';
const all = (generateWorldTask('mcq', { n: 1600, seed: 830 }) as SeqaQuestion[]).filter((q, i, xs) => xs.findIndex((o) => o.prefix === q.prefix && o.choices.join() === q.choices.join()) === i).slice(0, 400);
const qs = validationTestSplit(all, (q) => [q.prefix, q.choices]).validation.slice(0, 4);
for (const g of process.argv.slice(2)) {
  const lm = loadCausalLM(g), tok = loadTokenizer(g);
  for (const q of qs) {
    console.log('\n##', g.split('/').slice(-2).join('/'), '|', q.prefix, '| right:', q.choices[q.answer], '| choices:', q.choices.join(' / '));
    for (const v of sampleVoters(lm, tok, q.prefix, { voters: 8, maxVoterTokens: 16, topP: 0.9, seed: 1 })) console.log('   ', JSON.stringify(v));
  }
}
