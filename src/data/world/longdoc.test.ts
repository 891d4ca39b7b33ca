import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateWorldTask, toJsonl, validateWorldRecord } from './index.js';
import { LONGDOC_CHARS_PER_TOKEN, LONGDOC_KINDS, type LongdocRecord, longdocGoldAnswer, longdocPrompt } from './longdoc.js';
import { factStatement, parseLongdocStatement } from './longdoc-facts.js';
import { longdocFacts, scoreLongdocAnswer } from './longdoc-rubric.js';
import { boxed } from './verify.js';
import { DataError } from '../../errors.js';

const gen = (n: number, seed: number, extra: Record<string, unknown> = {}) => generateWorldTask('longdoc', { n, seed, docTokens: 700, ...extra });

/** The statement each sentence makes, pronoun/alias sentences resolved. */
function statementsOf(r: LongdocRecord): string[] {
  const res = new Map(r.resolved.map((x) => [x.id, x.statement]));
  return r.sentences.map((s, i) => res.get(i) ?? s.replace(' also owns ', ' owns '));
}

test('longdoc: deterministic, every kind drawn, records validate, lengths near the target', () => {
  const a = gen(40, 5);
  assert.equal(toJsonl(a), toJsonl(gen(40, 5)));
  assert.notEqual(toJsonl(a), toJsonl(gen(40, 6)));
  assert.deepEqual(new Set(a.map((r) => r.kind)), new Set(LONGDOC_KINDS));
  a.forEach((r, i) => validateWorldRecord('longdoc', JSON.parse(JSON.stringify(r)), i + 1));
  for (const r of a) {
    assert.equal(r.doc_tokens, Math.ceil(r.document.length / LONGDOC_CHARS_PER_TOKEN));
    assert.ok(r.doc_tokens <= 700 && r.doc_tokens > 600, `doc_tokens ${r.doc_tokens}`);
    assert.equal(r.messages[0].content, longdocPrompt(r));
    assert.equal(r.messages[1].content, longdocGoldAnswer(r));
    assert.equal(r.difficulty, 2);
  }
  // a tokenizer (here: one token per word) decides the length when given
  const words = (s: string) => s.split(/\s+/).filter((w) => w.length > 0).length;
  for (const r of generateWorldTask('longdoc', { n: 5, seed: 1, docTokens: 1500, countTokens: words })) {
    assert.equal(r.doc_tokens, words(r.document));
    assert.ok(r.doc_tokens <= 1500 && r.doc_tokens > 1350, `doc_tokens ${r.doc_tokens}`);
  }
  // default levels are the 2k and 4k-token documents
  assert.deepEqual(new Set(generateWorldTask('longdoc', { n: 12, seed: 2 }).map((r) => r.doc_tokens_target)), new Set([2048, 4096]));
});

test('longdoc: support sentences state every statement; questions have one answer in the document', () => {
  for (const r of gen(60, 7)) {
    const stated = statementsOf(r);
    const supported = new Set(r.support.map((i) => stated[i]));
    const facts = longdocFacts(r);
    for (const s of r.statements) {
      const c = parseLongdocStatement(s);
      assert.ok(c, `statement "${s}" parses`);
      if (c.type === 'fact') {
        const friend = c.fact.relation === 'friend_of' ? `${c.fact.object} is a friend of ${c.fact.subject}.` : '';
        assert.ok(supported.has(s) || supported.has(friend), `${r.kind}: "${s}" is stated by a support sentence`);
      }
      assert.ok(facts.supports(c), `the document supports "${s}"`);
    }
    assert.ok(r.statements.some((s) => s.includes(r.answer)), `${r.answer} appears in the statements`);
    const visit = /^Which town did (\w+) visit on day (\d+)\?$/.exec(r.question);
    if (visit) {
      const answers = stated.filter((s) => s.startsWith(`On day ${visit[2]}, ${visit[1]} visited `));
      assert.deepEqual(answers, [`On day ${visit[2]}, ${visit[1]} visited ${r.answer}.`]);
    }
    if (r.kind === 'pronoun') {
      const [first, second] = r.support;
      assert.equal(second, first + 1);
      assert.match(r.sentences[second], /^On day \d+, (she|he) visited /);
      assert.equal(r.sentences[first].split(' ')[3], r.statements[0].split(' ')[3]); // "On day N, Name visited ..." names the person
    }
    if (r.kind === 'alias') {
      const fact = r.sentences[r.support.find((i) => /^On day \d+, /.test(r.sentences[i]))!];
      assert.match(fact, /^On day \d+, (\w+'s friend|the \w+ from \w+) visited /);
      assert.ok(!fact.includes(` ${r.statements[0].split(' ')[3]} visited`), 'the alias sentence does not name the person');
    }
    if (r.kind === 'multi_hop') assert.equal(r.support.length, 2);
    if (r.kind === 'aggregation') {
      // recount by brute force over the resolved sentences
      const own = /^How many people in (\w+) own an? (\w+)\?$/.exec(r.question);
      const times = /^How many times did (\w+) visit (\w+)\?$/.exec(r.question);
      let n: number;
      if (own) {
        const residents = stated.filter((s) => s.endsWith(` lives in ${own[1]}.`)).map((s) => s.split(' ')[0]);
        n = residents.filter((p) => stated.some((s) => s.startsWith(`${p} owns `) && s.endsWith(` ${own[2]}.`))).length;
      } else {
        assert.ok(times, r.question);
        n = stated.filter((s) => /^On day \d+, /.test(s) && s.endsWith(`, ${times[1]} visited ${times[2]}.`)).length;
        assert.ok(n >= 2);
      }
      assert.equal(r.answer, String(n));
    }
  }
});

test('longdoc follow-ups: further distinct questions on the same document, each supported and in the split', () => {
  const plain = gen(6, 11);
  const rs = gen(6, 11, { longdocFollowUps: 5, split: 'train' });
  assert.equal(plain[0].follow_ups, undefined); // opt-in: the default records are unchanged
  assert.deepEqual(gen(6, 11, { longdocFollowUps: 5, split: 'train' }), rs);
  for (const r of rs) {
    const fus = r.follow_ups!;
    assert.equal(fus.length, 5);
    assert.equal(new Set([r.question, ...fus.map((f) => f.question)]).size, 6, 'questions are distinct');
    const facts = longdocFacts(r);
    for (const f of fus) {
      assert.ok(LONGDOC_KINDS.includes(f.kind));
      for (const st of f.statements) assert.ok(facts.supports(parseLongdocStatement(st)!), `the document supports "${st}"`);
      assert.ok(f.support.every((i) => i >= 0 && i < r.sentences.length));
      const g = scoreLongdocAnswer({ ...r, ...f }, { content: longdocGoldAnswer(f), reasoning_content: null });
      assert.equal(g.correctness, 1);
    }
  }
});

test('a visit parses to one claim in either order; the canonical sentence puts the day and person first', () => {
  const claim = { type: 'fact', fact: { subject: 'Alice', relation: 'visited', object: 'Millford', day: 9 } };
  assert.deepEqual(parseLongdocStatement('On day 9, Alice visited Millford.'), claim);
  assert.deepEqual(parseLongdocStatement('Alice visited Millford on day 9.'), claim);
  assert.equal(factStatement({ subject: 'Alice', relation: 'visited', object: 'Millford', day: 9 }), 'On day 9, Alice visited Millford.');
  assert.equal(parseLongdocStatement('On day 9, she visited Millford.'), null); // a pronoun states nothing by itself (records resolve it)
});

test('pair visit style: documents and gold answers write "On day 9, Alice Millford.", which parses to the same claim; the gold answer scores 1', () => {
  const claim = { type: 'fact', fact: { subject: 'Alice', relation: 'visited', object: 'Millford', day: 9 } };
  assert.equal(factStatement({ subject: 'Alice', relation: 'visited', object: 'Millford', day: 9 }, 'pair'), 'On day 9, Alice Millford.');
  assert.deepEqual(parseLongdocStatement('On day 9, Alice Millford.'), claim);
  assert.equal(parseLongdocStatement('On day 9, she Millford.'), null);
  const recs = gen(30, 11, { longdocVisitStyle: 'pair' });
  for (const r of recs) {
    assert.ok(!r.document.includes(' visited '), r.document.slice(0, 200));
    assert.ok(/On day \d+, [A-Z][a-z]+ [A-Z][a-z]+\./.test(r.document));
    assert.ok(!r.statements.some((x) => x.includes(' visited ') && x.startsWith('On day')), r.statements.join(' '));
    validateWorldRecord('longdoc', r);
    const sc = scoreLongdocAnswer(r, longdocGoldAnswer(r));
    assert.deepEqual([sc.correctness, sc.faithfulness, sc.completeness, sc.style], [1, 1, 1, 1], `${r.kind}: ${r.question}`);
  }
});

test('longdoc splits are disjoint by question', () => {
  const key = (r: LongdocRecord) => `${r.kind}|${r.question}|${r.answer}`;
  const train = gen(100, 1, { split: 'train' }).map(key);
  const held = gen(20, 2, { split: 'test' }).map(key);
  assert.equal(held.filter((k) => new Set(train).has(k)).length, 0);
  assert.ok(new Set(held).size >= 15, `${new Set(held).size} distinct held-out questions`);
  assert.ok(new Set(train).size >= 80);
});

test('the gold rubric: the gold answer scores 1 everywhere; each fault lowers its own dimension', () => {
  const recs = gen(30, 11);
  for (const r of recs) {
    const s = scoreLongdocAnswer(r, longdocGoldAnswer(r));
    assert.deepEqual([s.correctness, s.faithfulness, s.completeness, s.style, s.overall], [1, 1, 1, 1, 1], `${r.kind}: ${r.question}`);
  }
  const r = recs.find((x) => x.kind === 'aggregation' && x.statements.length >= 3)!;
  assert.ok(r);
  const k = r.statements.length;
  // wrong final answer, same statements: correctness 0 only
  const wrong = scoreLongdocAnswer(r, `${r.statements.join(' ')} ${boxed(Number(r.answer) + 1)}`);
  assert.deepEqual([wrong.correctness, wrong.faithfulness, wrong.completeness, wrong.style], [0, 1, 1, 1]);
  // an unsupported statement: faithfulness 1 - 1/(k+1)
  const hall = scoreLongdocAnswer(r, `${r.statements.join(' ')} Zoe visited Atlantis on day 99. ${boxed(r.answer)}`);
  assert.equal(hall.faithfulness, k / (k + 1));
  assert.equal(hall.claims.filter((c) => !c.supported).length, 1);
  // a wrong count is unsupported too (checked by counting the document's facts)
  const last = r.statements[k - 1];
  const badCount = last.replace(/^(\w+ visited \w+ )(\d+)( times?)/, (_, a, n) => `${a}${Number(n) + 3} times`).replace(/^(\d+) (people|person)/, (_, n) => `${Number(n) + 3} people`).replace(' owns ', ' own ');
  assert.notEqual(badCount, last);
  assert.equal(scoreLongdocAnswer(r, `${r.statements.slice(0, -1).join(' ')} ${badCount} ${boxed(r.answer)}`).faithfulness, (k - 1) / k);
  // dropping statements: completeness is the share kept
  const part = scoreLongdocAnswer(r, `${r.statements.slice(1).join(' ')} ${boxed(r.answer)}`);
  assert.equal(part.completeness, (k - 1) / k);
  assert.equal(part.faithfulness, 1);
  // no box: style 0.5, correctness from the whole text
  assert.equal(scoreLongdocAnswer(r, r.answer).style, 0.5);
  assert.equal(scoreLongdocAnswer(r, r.answer).correctness, 1);
  // repeated sentences and rambling: style 0.5 (box present)
  const ramble = `${r.statements.join(' ')} ${'It was a long week. '.repeat(80)}${boxed(r.answer)}`;
  assert.equal(scoreLongdocAnswer(r, ramble).style, 0.5);
  // a statement that the grammar does not know is not a claim
  assert.equal(scoreLongdocAnswer(r, `I read the document carefully. ${boxed(r.answer)}`).faithfulness, 1);
});

test('the longdoc validator names the broken field', () => {
  const r = JSON.parse(JSON.stringify(gen(1, 3)[0])) as Record<string, unknown>;
  const bad: [string, unknown][] = [
    ['support', [99999]],
    ['statements', []],
    ['document', 'nope'],
    ['resolved', [{ id: 'x' }]],
    ['messages', [{ role: 'user', content: 'q' }]],
    ['follow_ups', {}],
    ['follow_ups', [{ kind: 'needle', question: 'q', answer: 'a', support: [99999], statements: ['s'] }]],
    ['follow_ups', [{ kind: 'needle', question: '', answer: 'a', support: [0], statements: ['s'] }]],
    ['follow_ups', [{ kind: 'essay', question: 'q', answer: 'a', support: [0], statements: ['s'] }]],
  ];
  for (const [field, value] of bad) {
    assert.throws(() => validateWorldRecord('longdoc', { ...r, [field]: value }, 3), (e: unknown) => e instanceof DataError && e.line === 3 && (e.field ?? '').startsWith(field));
  }
});
