import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateWorldTask } from '../../data/world/index.js';
import { WorldRng } from '../../data/world/rng.js';
import { JudgeCaller } from './caller.js';
import type { Judge, JudgeReply, JudgeRequest } from './judge.js';
import { LongRewardScorer } from './scorer.js';
import { CANDIDATE_KINDS, candidateAnswer, goldJudgement, judgeAgreement, judgeItem, judgeTranscripts } from './world-judge.js';

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
