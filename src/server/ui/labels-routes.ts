/**
 * The labelling routes (under /ui/api/label). The page draws the next item, has the answers of a new
 * comparison generated through /v1/chat/completions like any client, stores them here, and submits
 * the annotator's choice as the side it saw; the store maps sides back to answers.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api-error.js';
import { labelStats } from './labels-report.js';
import { checkAnnotator, LabelStore, REASONS, type Answer, type ComparisonRow, type Message, type SideChoice } from './labels-store.js';

type Body = Record<string, unknown>;

function bad(param: string, message: string): ApiError {
  return new ApiError(400, message, 'invalid_request_error', param, 'invalid_value');
}

function body(raw: unknown): Body {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw bad('body', 'expected a JSON object');
  return raw as Body;
}

function annotatorOf(b: Body): string {
  try {
    return checkAnnotator(b.annotator);
  } catch (e) {
    throw bad('annotator', (e as Error).message);
  }
}

function messagesOf(v: unknown): Message[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((m) => m && typeof m === 'object' && typeof m.role === 'string' && typeof m.content === 'string')) {
    throw bad('messages', "'messages' must be a non-empty list of {role, content}");
  }
  if (v.at(-1).role !== 'user') throw bad('messages', 'the last message must be from the user');
  return v.map((m) => ({ role: m.role as string, content: m.content as string }));
}

function answerOf(v: unknown, i: number): Answer {
  const a = v as Body | null;
  if (!a || typeof a.model !== 'string' || typeof a.content !== 'string' || (a.reasoning != null && typeof a.reasoning !== 'string')) {
    throw bad(`answers[${i}]`, `answers[${i}] must be {model: string, content: string, reasoning?: string}`);
  }
  return { model: a.model, content: a.content, reasoning: (a.reasoning as string | null | undefined) ?? null };
}

/** A comparison as an annotator sees it: two sides in that annotator's drawn order, no model names. */
function view(store: LabelStore, c: ComparisonRow, annotator: string) {
  const side = (a: Answer) => ({ content: a.content, reasoning: a.reasoning ?? null });
  const [left, right] = store.swapped(c.id, annotator) ? [c.b, c.a] : [c.a, c.b];
  return { id: c.id, messages: c.messages, left: side(left), right: side(right) };
}

export function registerLabelRoutes(app: FastifyInstance, store: LabelStore): void {
  app.post('/ui/api/label/next', async (req) => {
    const annotator = annotatorOf(body(req.body));
    const c = store.nextComparison(annotator);
    if (c) return { comparison: view(store, c, annotator), prompt: null, progress: store.progress(annotator) };
    const prompt = store.claimPrompt(annotator);
    return { comparison: null, prompt, progress: store.progress(annotator) };
  });

  app.post('/ui/api/label/comparisons', async (req) => {
    const b = body(req.body);
    const annotator = annotatorOf(b);
    const messages = messagesOf(b.messages);
    if (!Array.isArray(b.answers) || b.answers.length !== 2) throw bad('answers', "'answers' must hold exactly two answers");
    const [a, bb] = b.answers.map(answerOf);
    const promptId = b.prompt_id === undefined || b.prompt_id === null ? null : Number(b.prompt_id);
    if (promptId !== null && !Number.isInteger(promptId)) throw bad('prompt_id', "'prompt_id' must be an integer or null");
    const sampling = b.sampling && typeof b.sampling === 'object' && !Array.isArray(b.sampling) ? b.sampling as Record<string, unknown> : {};
    const id = store.addComparison({ promptId, messages, a, b: bb, sampling, createdBy: annotator });
    return { comparison: view(store, store.comparison(id)!, annotator), progress: store.progress(annotator) };
  });

  app.post('/ui/api/label', async (req) => {
    const b = body(req.body);
    const annotator = annotatorOf(b);
    const id = Number(b.comparison_id);
    if (!Number.isInteger(id) || !store.comparison(id)) throw bad('comparison_id', `no comparison ${JSON.stringify(b.comparison_id)}`);
    const side = b.choice as SideChoice;
    if (!['left', 'right', 'tie', 'both_bad'].includes(side)) throw bad('choice', `'choice' must be "left", "right", "tie" or "both_bad", got ${JSON.stringify(b.choice)}`);
    const reasons = b.reasons ?? [];
    if (!Array.isArray(reasons) || !reasons.every((r) => (REASONS as readonly unknown[]).includes(r))) throw bad('reasons', `'reasons' must be a list of ${REASONS.join(', ')}`);
    const note = b.note ?? '';
    if (typeof note !== 'string' || note.length > 10_000) throw bad('note', "'note' must be a string of at most 10,000 characters");
    store.label({ comparisonId: id, annotator, side, reasons: reasons as string[], note });
    return { ok: true, progress: store.progress(annotator) };
  });

  app.get('/ui/api/label/stats', async () => labelStats(store));
}
