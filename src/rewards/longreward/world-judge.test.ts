import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateWorldTask } from '../../data/world/index.js';
import { answerClaims, longdocFacts } from '../../data/world/longdoc-rubric.js';
import { longdocGoldAnswer } from '../../data/world/longdoc.js';
import { type LongdocFact, parseLongdocStatement } from '../../data/world/longdoc-facts.js';
import { WorldRng } from '../../data/world/rng.js';
import { JudgeCaller } from './caller.js';
import type { Judge, JudgeReply, JudgeRequest } from './judge.js';
import { parseSupport } from './prompts.js';
import { type LongRewardScore, LongRewardScorer } from './scorer.js';
import { CANDIDATE_KINDS, candidateAnswer, countSupport, goldJudgement, judgeAgreement, judgeItem, judgeTranscripts, nearMisses } from './world-judge.js';

const opts = { faithChunkTokens: 60, compChunkTokens: 300, topK: 5, countTokens: (s: string) => Math.ceil(s.length / 4) };

/** A judge that answers exactly what the transcripts teach (an oracle in the judge's formats). */
class TranscriptJudge implements Judge {
  readonly id = 'oracle';
  readonly source = 'transcripts';
  readonly answers = new Map<string, string>();
  misses = 0;
  async complete(reqs: readonly JudgeRequest[]): Promise<JudgeReply[]> {
    return reqs.map((r) => {
      const a = this.answers.get(r.messages[0].content!);
      if (a === undefined) this.misses++;
      return a === undefined ? { ok: true, text: 'unknown prompt' } : { ok: true, text: a };
    });
  }
}

test('candidate answers spread the gold scores; the gold answer is best', () => {
  const [r] = generateWorldTask('longdoc', { n: 1, seed: 4, docTokens: 900, longdocKinds: ['aggregation'] });
  const rng = new WorldRng(1);
  const g = Object.fromEntries(CANDIDATE_KINDS.map((k) => [k, goldJudgement(r, candidateAnswer(rng, r, k))]));
  assert.deepEqual([g.gold.helpfulness, g.gold.logicality, g.gold.faithfulness, g.gold.completeness], [10, 10, 10, 10]);
  assert.ok(g.hallucinated.faithfulness < 10 && g.hallucinated.logicality < 10);
  assert.ok(g.partial.completeness < 10 && g.partial.faithfulness === 10);
  assert.equal(g.wrong_answer.logicality, 5);
  assert.ok(g.no_box.helpfulness < 10 && g.rambling.helpfulness < 10);
  for (const k of CANDIDATE_KINDS) if (k !== 'gold') assert.ok(g[k].reward < g.gold.reward, k);
});

test('transcripts are in the scorer\'s exact prompt formats: a judge answering them agrees perfectly with gold', async () => {
  const recs = generateWorldTask('longdoc', { n: 4, seed: 9, docTokens: 900 });
  const rng = new WorldRng(2);
  const judge = new TranscriptJudge();
  const answers: string[] = [], recordOf: number[] = [];
  for (const [i, r] of recs.entries()) {
    const as = CANDIDATE_KINDS.map((k) => candidateAnswer(rng, r, k));
    for (const t of await judgeTranscripts(r, as, opts)) judge.answers.set(t.messages[0].content!, t.messages[1].content!);
    answers.push(...as);
    recordOf.push(...as.map(() => i));
  }
  const scorer = new LongRewardScorer(new JudgeCaller(judge, { maxAttempts: 1 }), null, opts);
  const scores = await scorer.score(answers.map((a, i) => judgeItem(recs[recordOf[i]], a)));
  assert.equal(judge.misses, 0, 'every scorer prompt was taught');
  const rep = judgeAgreement(recs, answers, recordOf, scores);
  assert.equal(rep.failure_rate, 0);
  for (const d of ['helpfulness', 'logicality', 'faithfulness', 'completeness', 'reward'] as const) assert.ok(rep.spearman[d] > 0.999, `${d}: ${rep.spearman[d]}`);
  assert.equal(rep.support_accuracy, 1);
  assert.ok(rep.support_labels >= 20);
  assert.equal(rep.order_agreement, 1);
  // a judge that rates everything the same agrees with nothing
  const flat = judgeAgreement(recs, answers, recordOf, scores.map((s) => ({ ...s, helpfulness: 5, reward: 5 })));
  assert.equal(flat.spearman.helpfulness, 0);
});

test('support transcripts name the context\'s entry for the statement, and near misses of the gold facts are taught as unsupported', async () => {
  const recs = generateWorldTask('longdoc', { n: 6, seed: 11, docTokens: 900, longdocVisitStyle: 'pair', longdocKinds: ['needle', 'multi_hop'] });
  let misses = 0, traced = 0;
  for (const r of recs) {
    const chats = await judgeTranscripts(r, [candidateAnswer(new WorldRng(3), r, 'gold')], opts);
    const support = chats.filter((c) => c.messages[0].content!.startsWith('Is the statement supported'));
    const statementOf = (c: (typeof support)[number]) => c.messages[0].content!.split('[Statement]\n')[1];
    const facts = longdocFacts(r);
    for (const c of support) {
      const reply = c.messages[1].content!;
      const claim = parseLongdocStatement(statementOf(c))!;
      // the label is the world's truth, last, in the parser's format
      assert.equal(parseSupport(reply), facts.supports(claim) ? 1 : 0, reply);
      const m = /^The context says: (.+) The statement says (.+) (too|instead)\. \[\[/.exec(reply);
      if (!m) continue;
      traced++;
      // the entry is a sentence of the document, present in the prompt's context, with the statement's keys
      assert.ok(r.sentences.includes(m[1]), m[1]);
      assert.ok(c.messages[0].content!.split('[Statement]')[0].includes(m[1]));
      assert.equal(m[3], facts.supports(claim) ? 'too' : 'instead');
      assert.ok(statementOf(c).includes(m[2]), m[2]);
    }
    const near = support.filter((c) => parseSupport(c.messages[1].content!) === 0);
    misses += near.length;
    for (const c of near) {
      // a near miss keeps the gold statement's keys: the same sentence with one value changed
      const s = statementOf(c);
      assert.ok(nearMisses(r, [s]).length === 0, 'a near miss is itself unsupported');
      const f = (parseLongdocStatement(s) as { fact: LongdocFact }).fact;
      assert.ok(r.statements.some((g) => {
        const gc = parseLongdocStatement(g);
        return gc?.type === 'fact' && gc.fact.subject === f.subject && gc.fact.relation === f.relation && gc.fact.day === f.day && gc.fact.object !== f.object;
      }), s);
    }
  }
  assert.ok(misses >= recs.length, `near misses: ${misses}`);
  assert.ok(traced >= misses, `traced: ${traced}`);
});

test('countSupport counts the judge\'s support labels of statements against the world\'s truth, adding to what it is given', () => {
  const [r] = generateWorldTask('longdoc', { n: 1, seed: 5, docTokens: 600, longdocVisitStyle: 'pair', longdocKinds: ['needle'] });
  const right = answerClaims(longdocGoldAnswer(r)).map((c) => c.statement);
  const wrong = nearMisses(r, right);
  assert.ok(right.length >= 1 && wrong.length >= 1);
  const score = (statements: { statement: string; support: number | null }[]): LongRewardScore => ({ helpfulness: 5, logicality: 5, faithfulness: 5, completeness: 5, reward: 5, failures: [], rationale: { statements } });
  // a judge that calls everything supported: right on the true statements, wrong on every near miss
  const counts = countSupport(r, [score(right.map((s) => ({ statement: s, support: 1 }))), score([...wrong.map((s) => ({ statement: s, support: 1 })), { statement: 'I read it.', support: 1 }, { statement: right[0], support: null }])]);
  assert.deepEqual(counts, { labels: right.length + wrong.length, right: right.length, unsupported: wrong.length, unsupported_right: 0 });
  assert.equal(countSupport(r, [score(wrong.map((s) => ({ statement: s, support: 0 })))], counts), counts);
  assert.deepEqual(counts, { labels: right.length + 2 * wrong.length, right: right.length + wrong.length, unsupported: 2 * wrong.length, unsupported_right: wrong.length });
});
