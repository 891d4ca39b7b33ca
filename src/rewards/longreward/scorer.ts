/**
 * LongReward scores (docs/longreward.md): four judge dimensions of an answer to a question about a
 * long context, each 0..10, and the reward = their mean.
 *   helpfulness  — judge sees question and answer: `[[n]]`;
 *   logicality   — the same, for consistency and reasoning;
 *   faithfulness — the judge lists the answer's factual statements; for each, the top-k (5) chunks
 *                  of ~128 tokens by similarity, in document order, go to a support judgment
 *                  (1 / 0.5 / 0); score = 10 x mean (10 when the answer states nothing);
 *   completeness — the judge extracts the question-relevant information from each large chunk
 *                  (~4096 tokens, labelled with its position), then rates how well the answer covers it;
 *                  when the collected information does not fit the judge's context (a local judge
 *                  says so; `infoTokens` bounds it for any judge), the items least relevant to the
 *                  question (BM25) are left out until it fits, and the rationale says how many.
 * All calls of a round go to the judge together (batched by the local judge, in parallel over HTTP).
 * A dimension whose calls failed is null with the reason in `failures`; the reward is then null too.
 */
import { ConfigError } from '../../errors.js';
import { JudgeCaller, type CallOutcome, type CallSpec } from './caller.js';
import { type Chunk, ChunkRetriever, bm25Scores, chunkDocument } from './chunks.js';
import {
  NO_RELEVANT, NO_STATEMENTS, SUPPORT_LABELS, coveragePrompt, extractPrompt, helpfulnessPrompt, logicalityPrompt, parseList, parseRating, parseSupport, statementsPrompt, supportPrompt,
} from './prompts.js';

export const DIMENSIONS = ['helpfulness', 'logicality', 'faithfulness', 'completeness'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export interface ScoreItem {
  context: string;
  question: string;
  answer: string;
}

export interface LongRewardScore {
  helpfulness: number | null;
  logicality: number | null;
  faithfulness: number | null;
  completeness: number | null;
  /** mean of the four (0..10), null when any failed */
  reward: number | null;
  failures: string[];
  rationale: {
    helpfulness?: string;
    logicality?: string;
    statements?: { statement: string; support: number | null }[];
    completeness?: string;
    /** extracted items the coverage rating saw, of all, when some were left out to fit the judge */
    completeness_info?: { kept: number; of: number };
  };
}

export interface ScorerOptions {
  /** tokens per faithfulness chunk (default 128) */
  faithChunkTokens?: number;
  /** chunks retrieved per statement (default 5) */
  topK?: number;
  /** tokens per completeness chunk (default 4096) */
  compChunkTokens?: number;
  /** token counter for chunking (default: the judge's tokenizer, else characters / 4) */
  countTokens?: (text: string) => number;
  /** new tokens per call kind */
  ratingTokens?: number;
  listTokens?: number;
  supportTokens?: number;
  /** most tokens of collected information in a coverage request (default: no bound beyond the judge's context) */
  infoTokens?: number;
}

/** The information the coverage rating sees: each extracted item labelled with its chunk's position. */
export function collectInfo(chunks: readonly Chunk[], lists: readonly (readonly string[])[]): string {
  return infoText(infoLines(chunks, lists));
}

function infoLines(chunks: readonly Chunk[], lists: readonly (readonly string[])[]): string[] {
  return lists.flatMap((items, i) => items.map((v) => `- [${chunks[i].position}] ${v}`));
}

function infoText(lines: readonly string[]): string {
  return lines.length > 0 ? lines.join('\n') : `${NO_RELEVANT} was found in the document.`;
}

/**
 * The information lines that fit: all when `fits` accepts them, else the fewest drops of the lines
 * least relevant to the question (BM25; ties: later lines first), kept in document order. When not
 * even one line fits, all are returned (the request then fails as too long, and says so).
 */
export function fitInfo(lines: readonly string[], question: string, fits: (info: string) => boolean): string[] {
  if (fits(infoText(lines))) return [...lines];
  const scores = bm25Scores(question, lines);
  const worstFirst = lines.map((_, i) => i).sort((a, b) => scores[a] - scores[b] || b - a);
  const keep = new Set(lines.map((_, i) => i));
  for (const i of worstFirst) {
    keep.delete(i);
    const kept = lines.filter((_, j) => keep.has(j));
    if (kept.length > 0 && fits(infoText(kept))) return kept;
  }
  return [...lines];
}

const charCount = (s: string) => Math.ceil(s.length / 4);

export class LongRewardScorer {
  readonly retriever: ChunkRetriever;
  private readonly count: (s: string) => number;

  constructor(readonly caller: JudgeCaller, retriever: ChunkRetriever | null = null, readonly opts: ScorerOptions = {}) {
    this.retriever = retriever ?? new ChunkRetriever(null);
    this.count = opts.countTokens ?? (caller.judge.countTokens ? (s) => caller.judge.countTokens!(s) : charCount);
    // a support budget that cuts "[[Partially supported]]" short makes every judgment unparsable
    const label = Object.keys(SUPPORT_LABELS).map((k) => `[[${k}]]`).reduce((a, b) => (this.count(b) > this.count(a) ? b : a));
    const need = this.count(label) + 1;
    if ((opts.supportTokens ?? 64) < need) {
      throw new ConfigError(`longreward: a support budget of ${opts.supportTokens} tokens cannot hold the judge's answer "${label}" (${need - 1} tokens with this judge's tokenizer); expected --support-tokens >= ${need}`);
    }
  }

  private chunks(context: string, tokens: number): Chunk[] {
    return chunkDocument(context, tokens, this.count);
  }

  /** Scores the items; one result per item, in order. */
  async score(items: readonly ScoreItem[]): Promise<LongRewardScore[]> {
    const o = this.opts;
    const rt = o.ratingTokens ?? 256, lt = o.listTokens ?? 384, st = o.supportTokens ?? 64;
    // completeness extraction is per (context, question), shared by every answer to it
    const groups = new Map<string, { item: ScoreItem; chunks: Chunk[] }>();
    const groupOf = (it: ScoreItem) => `${it.question}\u0000${it.context}`;
    for (const it of items) if (!groups.has(groupOf(it))) groups.set(groupOf(it), { item: it, chunks: this.chunks(it.context, o.compChunkTokens ?? 4096) });
    const rating = (kind: 'helpfulness' | 'logicality' | 'coverage', messages: CallSpec<number>['messages']): CallSpec<number> => ({ kind, messages, maxTokens: rt, parse: parseRating });
    const list = (kind: 'statements' | 'extract', messages: CallSpec<string[]>['messages'], empty: string): CallSpec<string[]> => ({ kind, messages, maxTokens: lt, parse: (t) => parseList(t, empty) });
    // round 1: ratings, statement lists, extractions
    const r1: CallSpec<number | string[]>[] = [];
    for (const it of items) {
      r1.push(rating('helpfulness', helpfulnessPrompt(it.question, it.answer)), rating('logicality', logicalityPrompt(it.question, it.answer)), list('statements', statementsPrompt(it.question, it.answer), NO_STATEMENTS));
    }
    const groupList = [...groups.values()];
    const extractAt: number[] = [];
    for (const g of groupList) {
      extractAt.push(r1.length);
      for (const c of g.chunks) r1.push(list('extract', extractPrompt(g.item.question, c.text, c.position), NO_RELEVANT));
    }
    const o1 = await this.caller.callAll(r1);
    // the collected information of each group (or the failures of its extraction)
    const info = new Map<string, { lines: string[] } | { error: string }>();
    groupList.forEach((g, gi) => {
      const outs = o1.slice(extractAt[gi], extractAt[gi] + g.chunks.length) as CallOutcome<string[]>[];
      const bad = outs.find((x) => !x.ok);
      if (bad && !bad.ok) info.set(groupOf(g.item), { error: bad.error });
      else {
        info.set(groupOf(g.item), { lines: infoLines(g.chunks, outs.map((x) => (x.ok ? x.value : []))) });
      }
    });
    // round 2: support judgments and coverage ratings
    const r2: CallSpec<number>[] = [];
    const supportAt: { start: number; statements: string[] }[] = [];
    const coverageAt: (number | null)[] = [];
    const coverageKept: { kept: number; of: number }[] = [];
    const judge = this.caller.judge;
    const faithChunks = new Map<string, Chunk[]>();
    const queries: { query: string; chunks: Chunk[] }[] = [];
    items.forEach((it, i) => {
      const st = o1[3 * i + 2] as CallOutcome<string[]>;
      const statements = st.ok ? st.value : [];
      if (!faithChunks.has(it.context)) faithChunks.set(it.context, this.chunks(it.context, o.faithChunkTokens ?? 128));
      for (const s of statements) queries.push({ query: s, chunks: faithChunks.get(it.context)! });
      supportAt.push({ start: -1, statements });
    });
    const picks = await this.retriever.retrieve(queries, o.topK ?? 5);
    let q = 0;
    items.forEach((it, i) => {
      supportAt[i].start = r2.length;
      for (const s of supportAt[i].statements) {
        const chunks = queries[q].chunks;
        const context = picks[q++].map((c) => chunks[c].text).join('\n');
        r2.push({ kind: 'support', messages: supportPrompt(s, context), maxTokens: st, parse: parseSupport });
      }
      const inf = info.get(groupOf(it))!;
      if ('lines' in inf) {
        const fits = (text: string) => (o.infoTokens === undefined || this.count(text) <= o.infoTokens) && (judge.fits?.(coveragePrompt(it.question, text, it.answer), rt) ?? true);
        const kept = fitInfo(inf.lines, it.question, fits);
        coverageKept[i] = { kept: kept.length, of: inf.lines.length };
        coverageAt.push(r2.length);
        r2.push(rating('coverage', coveragePrompt(it.question, infoText(kept), it.answer)));
      } else coverageAt.push(null);
    });
    const o2 = await this.caller.callAll(r2);
    return items.map((it, i) => {
      const failures: string[] = [];
      const rationale: LongRewardScore['rationale'] = {};
      const num = (x: CallOutcome<number | string[]>, dim: Dimension): number | null => {
        if (!x.ok) {
          failures.push(`${dim}: ${x.error}`);
          return null;
        }
        return x.value as number;
      };
      const h = o1[3 * i], l = o1[3 * i + 1], s = o1[3 * i + 2];
      const helpfulness = num(h, 'helpfulness');
      if (h.ok) rationale.helpfulness = h.raw;
      const logicality = num(l, 'logicality');
      if (l.ok) rationale.logicality = l.raw;
      let faithfulness: number | null = null;
      if (!s.ok) failures.push(`faithfulness: ${s.error}`);
      else {
        const sup = supportAt[i].statements.map((_, j) => o2[supportAt[i].start + j]);
        rationale.statements = supportAt[i].statements.map((statement, j) => ({ statement, support: sup[j].ok ? (sup[j].value as number) : null }));
        const bad = sup.find((x) => !x.ok);
        if (bad && !bad.ok) failures.push(`faithfulness: ${bad.error}`);
        else faithfulness = sup.length === 0 ? 10 : (10 * sup.reduce((a, x) => a + (x.ok ? x.value : 0), 0)) / sup.length;
      }
      let completeness: number | null = null;
      const ci = coverageAt[i];
      if (ci === null) failures.push(`completeness: ${(info.get(groupOf(it)) as { error: string }).error}`);
      else {
        completeness = num(o2[ci], 'completeness');
        if (o2[ci].ok) rationale.completeness = (o2[ci] as { raw: string }).raw;
        if (coverageKept[i].kept < coverageKept[i].of) rationale.completeness_info = coverageKept[i];
      }
      const dims = [helpfulness, logicality, faithfulness, completeness];
      const reward = dims.every((d) => d !== null) ? (dims as number[]).reduce((a, b) => a + b, 0) / 4 : null;
      return { helpfulness, logicality, faithfulness, completeness, reward, failures, rationale };
    });
  }
}
