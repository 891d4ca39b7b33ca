/**
 * SEQA diagnostics on the VALIDATION half of the seqa experiment's world questions (never the test
 * half): voter quality and how each setting of SEQA scores. Run from the repository root:
 *   npx tsx scripts/seqa-validation.ts --generator DIR --encoder DIR [--n 60] [--voters 20] [--max-voter-tokens 16] [--out FILE.json]
 * Voters are sampled once per prefix variant (the prefix as is, or after the end-of-text token that
 * separates pre-training documents); the voter variants (cut at the first sentence end or not; cut at
 * the first clause or sentence end or not at all; at the first special token) are derived from the same samples. For each variant it reports the
 * share of voters that say the right choice / a wrong choice verbatim, the accuracy of a plain
 * string vote, and SEQA's accuracy at several T, beside the three LM scorings.
 */
import { writeFileSync } from 'node:fs';
import { generateWorldTask } from '../src/data/world/index.js';
import { loadCausalLM } from '../src/models/glm/checkpoint.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer-json.js';
import { EOS_TOKEN } from '../src/tokenizer/special-tokens.js';
import { loadEncoder } from '../src/embed/st-layout.js';
import { generateFromSharedPrefix } from '../src/generation/generate.js';
import { validationTestSplit } from '../src/eval/splits.js';
import { argmax, firstClause, firstSentence, lmScores, semanticScores, type SeqaQuestion } from '../src/eval/seqa.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const need = (k: string) => args.get(k) ?? (() => { throw new Error(`--${k} is required`); })();
const N = Number(args.get('voters') ?? 20), maxTok = Number(args.get('max-voter-tokens') ?? 16), nQ = Number(args.get('n') ?? 60);
const TS = [0.01, 0.03, 0.1, 0.3, 1];

// the experiment's questions (mcq seed 830, deduplicated), then the validation half only
const all = (generateWorldTask('mcq', { n: 4 * 400, seed: 830 }) as SeqaQuestion[])
  .filter((q, i, xs) => xs.findIndex((o) => o.prefix === q.prefix && o.choices.join() === q.choices.join()) === i)
  .slice(0, 400);
const questions = validationTestSplit(all, (q) => [q.prefix, q.choices]).validation.slice(0, nQ);

const lm = loadCausalLM(need('generator')), tok = loadTokenizer(need('generator'));
const enc = loadEncoder(need('encoder'));
const eos = tok.requireId(EOS_TOKEN);

type Row = Record<string, number>;
const rows: Record<string, Row[]> = {};
const add = (k: string, r: Row) => (rows[k] ??= []).push(r);
const t0 = Date.now();
for (const [qi, q] of questions.entries()) {
  const cvBare = enc.embed(q.choices), cvCtx = enc.embed(q.choices.map((c) => `${q.prefix} ${c}.`));
  for (const prefixMode of ['raw', 'eos'] as const) {
    const p = tok.encode(q.prefix);
    const ids = prefixMode === 'eos' ? [eos, ...p] : p;
    const r = generateFromSharedPrefix(lm, ids, N, { maxNewTokens: maxTok, temperature: 1, topP: 0.9, seed: 1000 + qi, stopTokens: [eos], padId: eos, vocabLimit: tok.vocabSize });
    const lmS = lmScoresWith(q, prefixMode);
    for (const m of ['lm_sum', 'lm_mean', 'lm_pmi'] as const) add(`${prefixMode} ${m}`, { acc: Number(argmax(lmS[m]) === q.answer) });
    for (const special of ['keep', 'cut'] as const) {
      for (const cut of ['clause', 'sentence', 'none'] as const) {
        const voters = r.tokens.map((t) => {
          const k = special === 'cut' ? t.findIndex((x) => tok.isSpecial(x)) : -1;
          const text = tok.decode((k >= 0 ? t.slice(0, k) : t).filter((x) => x !== eos), { skipSpecial: true });
          return cut === 'sentence' ? firstSentence(text) : cut === 'clause' ? firstClause(text) : text.trim();
        }).filter((s) => s.length > 0);
        const low = voters.map((v) => v.toLowerCase());
        const says = q.choices.map((c) => low.filter((v) => v.includes(c.toLowerCase())).length);
        const right = says[q.answer] / Math.max(1, voters.length);
        const wrong = low.filter((v) => q.choices.some((c, j) => j !== q.answer && v.includes(c.toLowerCase()))).length / Math.max(1, voters.length);
        const stats: Row = { voters: voters.length, right, wrong, string_vote: Math.max(...says) > 0 ? Number(argmax(says) === q.answer) : 1 / q.choices.length };
        for (const context of ['bare', 'prefixed'] as const) {
          // bare: the choice and the voter as they are; prefixed: each after the question's prefix
          const cv = context === 'bare' ? cvBare : cvCtx;
          const vv = voters.length === 0 ? [] : enc.embed(context === 'bare' ? voters : voters.map((v) => `${q.prefix} ${v}`));
          const row: Row = { ...stats };
          for (const T of TS) row[`seqa_T${T}`] = Number(argmax(semanticScores(cv, vv, T)) === q.answer);
          add(`${prefixMode} special=${special} cut=${cut} embed=${context}`, row);
        }
      }
    }
  }
  if (qi % 10 === 9) console.error(`${qi + 1}/${questions.length} questions, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

function lmScoresWith(q: SeqaQuestion, mode: 'raw' | 'eos') {
  if (mode === 'raw') return lmScores(lm, tok, q, 'Answer:');
  // the eos variant scores the choices after <|endoftext|> + prefix (a document start, as in
  // pre-training), the neutral PMI prefix likewise
  const startsDoc = Object.create(tok, { encode: { value: (s: string) => (s === q.prefix || s === 'Answer:' ? [eos, ...tok.encode(s)] : tok.encode(s)) } }) as typeof tok;
  return lmScores(lm, startsDoc, q, 'Answer:');
}

const summary = Object.fromEntries(Object.entries(rows).map(([k, rs]) => [k, Object.fromEntries(Object.keys(rs[0]).map((m) => [m, +(rs.reduce((s, r) => s + r[m], 0) / rs.length).toFixed(3)]))]));
const out = { generator: need('generator'), encoder: need('encoder'), questions: questions.length, split: 'validation', voters: N, max_voter_tokens: maxTok, summary };
console.log(JSON.stringify(out, null, 1));
if (args.get('out')) writeFileSync(args.get('out')!, JSON.stringify(out, null, 1) + '\n');
