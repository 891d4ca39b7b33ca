/**
 * Preference labels in SQLite (better-sqlite3, WAL journal, so several annotators and processes can
 * write at once; each label is one transaction, so a killed server loses at most the label being
 * submitted). The file is created and migrated on first use (PRAGMA user_version).
 *
 * A comparison holds a prompt and two answers, `a` and `b`, with the model and sampling settings that
 * made them. Each annotator sees the two answers in an order drawn for that annotator and comparison
 * (blind: the page never learns which answer is which), and chooses left / right / tie / both bad;
 * the choice is stored as `a`, `b`, `tie` or `both_bad`.
 */
import { createHash, randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { DataError } from '../../errors.js';
import { readJsonl } from '../../data/jsonl.js';

export type Choice = 'a' | 'b' | 'tie' | 'both_bad';
export type SideChoice = 'left' | 'right' | 'tie' | 'both_bad';
export const REASONS = ['helpful', 'harmless', 'correct', 'concise'] as const;

export interface Message {
  role: string;
  content: string;
  reasoning_content?: string;
}

export interface Answer {
  model: string;
  content: string;
  reasoning?: string | null;
}

export interface ComparisonRow {
  id: number;
  prompt_id: number | null;
  messages: Message[];
  a: Answer;
  b: Answer;
  sampling: Record<string, unknown>;
  created_by: string;
  created_at: string;
}

export interface LabelRow {
  id: number;
  comparison_id: number;
  annotator: string;
  choice: Choice;
  reasons: string[];
  note: string;
  /** the models whose answers this annotator saw on the left and on the right (null in rows labelled before schema 2) */
  left_model: string | null;
  right_model: string | null;
  created_at: string;
}

/** The schema, one step per version: the database is brought to the newest on opening. */
const MIGRATIONS: string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE prompts (id INTEGER PRIMARY KEY, messages TEXT NOT NULL, source TEXT NOT NULL UNIQUE,
     claimed_by TEXT, claimed_at INTEGER, created_at TEXT NOT NULL);
   CREATE TABLE comparisons (id INTEGER PRIMARY KEY, prompt_id INTEGER REFERENCES prompts(id), messages TEXT NOT NULL,
     answer_a TEXT NOT NULL, answer_b TEXT NOT NULL, sampling TEXT NOT NULL, created_by TEXT NOT NULL, created_at TEXT NOT NULL);
   CREATE TABLE labels (id INTEGER PRIMARY KEY, comparison_id INTEGER NOT NULL REFERENCES comparisons(id),
     annotator TEXT NOT NULL, choice TEXT NOT NULL CHECK (choice IN ('a', 'b', 'tie', 'both_bad')),
     reasons TEXT NOT NULL, note TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE (comparison_id, annotator));
   CREATE INDEX labels_annotator ON labels (annotator);`,
  `ALTER TABLE labels ADD COLUMN left_model TEXT;
   ALTER TABLE labels ADD COLUMN right_model TEXT;`,
];

/** How long a drawn prompt stays reserved for the annotator who drew it. */
const CLAIM_MS = 10 * 60_000;

/** A comparison is offered to other annotators until it has this many labels (for agreement). */
export const LABELS_PER_COMPARISON = 2;

export function checkAnnotator(name: unknown): string {
  if (typeof name !== 'string' || !/^[\p{L}\p{N} ._-]{1,64}$/u.test(name.trim())) {
    throw new DataError(`annotator: expected a name of 1-64 letters, digits, spaces, '.', '_' or '-', got ${JSON.stringify(name)}`);
  }
  return name.trim();
}

export class LabelStore {
  readonly db: Database.Database;
  private readonly salt: string;

  constructor(readonly file: string) {
    try {
      this.db = new Database(file);
    } catch (e) {
      throw new DataError(`cannot open the labels database: ${(e as Error).message}; give --labels a writable file path`, { file });
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 10000');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'side_salt'").get() as { value: string } | undefined;
    if (row) this.salt = row.value;
    else {
      const salt = randomBytes(16).toString('hex');
      this.db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('side_salt', ?)").run(salt);
      this.salt = (this.db.prepare("SELECT value FROM meta WHERE key = 'side_salt'").get() as { value: string }).value;
    }
  }

  private migrate(): void {
    const step = this.db.transaction(() => {
      const version = this.db.pragma('user_version', { simple: true }) as number;
      if (version > MIGRATIONS.length) throw new DataError(`the labels database has schema version ${version}, newer than this glmkit knows (${MIGRATIONS.length}); update glmkit`, { file: this.file });
      for (let v = version; v < MIGRATIONS.length; v++) this.db.exec(MIGRATIONS[v]);
      this.db.pragma(`user_version = ${MIGRATIONS.length}`);
    });
    step.immediate();
  }

  close(): void {
    this.db.close();
  }

  /** Whether `annotator` sees answer `b` on the left for this comparison (a fixed, blind draw). */
  swapped(comparisonId: number, annotator: string): boolean {
    return (createHash('sha256').update(`${this.salt}:${comparisonId}:${annotator}`).digest()[0] & 1) === 1;
  }

  /** Queues the prompts of a JSONL file ({"prompt": text | messages} or {"messages": [...]}); lines already queued are kept. */
  queuePrompts(file: string): number {
    const records = readJsonl(file);
    const insert = this.db.prepare('INSERT OR IGNORE INTO prompts (messages, source, created_at) VALUES (?, ?, ?)');
    let added = 0;
    this.db.transaction(() => {
      for (const r of records) {
        const messages = promptMessages(r.value, file, r.line);
        added += insert.run(JSON.stringify(messages), `${file}:${r.line}`, new Date().toISOString()).changes;
      }
    }).immediate();
    return added;
  }

  /** Reserves the oldest unreserved prompt without a comparison for `annotator` (null: none left). */
  claimPrompt(annotator: string): { id: number; messages: Message[] } | null {
    const now = Date.now();
    return this.db.transaction(() => {
      const row = this.db.prepare(
        `SELECT id, messages FROM prompts p WHERE NOT EXISTS (SELECT 1 FROM comparisons c WHERE c.prompt_id = p.id)
         AND (claimed_by IS NULL OR claimed_by = ? OR claimed_at < ?) ORDER BY (claimed_by = ?) DESC, id LIMIT 1`,
      ).get(annotator, now - CLAIM_MS, annotator) as { id: number; messages: string } | undefined;
      if (!row) return null;
      this.db.prepare('UPDATE prompts SET claimed_by = ?, claimed_at = ? WHERE id = ?').run(annotator, now, row.id);
      return { id: row.id, messages: JSON.parse(row.messages) as Message[] };
    }).immediate();
  }

  addComparison(c: { promptId: number | null; messages: Message[]; a: Answer; b: Answer; sampling: Record<string, unknown>; createdBy: string }): number {
    const r = this.db.prepare('INSERT INTO comparisons (prompt_id, messages, answer_a, answer_b, sampling, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(c.promptId, JSON.stringify(c.messages), JSON.stringify(c.a), JSON.stringify(c.b), JSON.stringify(c.sampling), c.createdBy, new Date().toISOString());
    return Number(r.lastInsertRowid);
  }

  comparison(id: number): ComparisonRow | null {
    const r = this.db.prepare('SELECT * FROM comparisons WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return r ? comparisonOf(r) : null;
  }

  /** The comparison `annotator` should label next: one labelled by others but fewer than LABELS_PER_COMPARISON times first. */
  nextComparison(annotator: string): ComparisonRow | null {
    const r = this.db.prepare(
      `SELECT c.*, (SELECT COUNT(*) FROM labels l WHERE l.comparison_id = c.id) AS n FROM comparisons c
       WHERE n < ? AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.comparison_id = c.id AND l.annotator = ?)
       ORDER BY n DESC, c.id LIMIT 1`,
    ).get(LABELS_PER_COMPARISON, annotator) as Record<string, unknown> | undefined;
    return r ? comparisonOf(r) : null;
  }

  /** Stores (or replaces) `annotator`'s label; `side` is what the annotator saw, mapped back to a/b. */
  label(l: { comparisonId: number; annotator: string; side: SideChoice; reasons: string[]; note: string }): Choice {
    const swapped = this.swapped(l.comparisonId, l.annotator);
    const choice: Choice = l.side === 'left' ? (swapped ? 'b' : 'a') : l.side === 'right' ? (swapped ? 'a' : 'b') : l.side;
    const c = this.comparison(l.comparisonId);
    const [left, right] = c ? (swapped ? [c.b.model, c.a.model] : [c.a.model, c.b.model]) : [null, null];
    this.db.prepare(
      `INSERT INTO labels (comparison_id, annotator, choice, reasons, note, left_model, right_model, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (comparison_id, annotator) DO UPDATE SET choice = excluded.choice, reasons = excluded.reasons, note = excluded.note,
         left_model = excluded.left_model, right_model = excluded.right_model, created_at = excluded.created_at`,
    ).run(l.comparisonId, l.annotator, choice, JSON.stringify(l.reasons), l.note, left, right, new Date().toISOString());
    return choice;
  }

  labels(): LabelRow[] {
    return (this.db.prepare('SELECT * FROM labels ORDER BY id').all() as Record<string, unknown>[]).map((r) => ({ ...(r as unknown as LabelRow), reasons: JSON.parse(r.reasons as string) as string[] }));
  }

  comparisons(): ComparisonRow[] {
    return (this.db.prepare('SELECT * FROM comparisons ORDER BY id').all() as Record<string, unknown>[]).map(comparisonOf);
  }

  progress(annotator: string | null): { labelled_by_you: number; labels: number; comparisons: number; queued: number } {
    const one = (sql: string, ...args: unknown[]) => (this.db.prepare(sql).get(...args) as { n: number }).n;
    return {
      labelled_by_you: annotator ? one('SELECT COUNT(*) AS n FROM labels WHERE annotator = ?', annotator) : 0,
      labels: one('SELECT COUNT(*) AS n FROM labels'),
      comparisons: one('SELECT COUNT(*) AS n FROM comparisons'),
      queued: one('SELECT COUNT(*) AS n FROM prompts p WHERE NOT EXISTS (SELECT 1 FROM comparisons c WHERE c.prompt_id = p.id)'),
    };
  }
}

function comparisonOf(r: Record<string, unknown>): ComparisonRow {
  return {
    id: r.id as number, prompt_id: r.prompt_id as number | null, messages: JSON.parse(r.messages as string) as Message[],
    a: JSON.parse(r.answer_a as string) as Answer, b: JSON.parse(r.answer_b as string) as Answer,
    sampling: JSON.parse(r.sampling as string) as Record<string, unknown>, created_by: r.created_by as string, created_at: r.created_at as string,
  };
}

/** The prompt messages of one --label-prompts line. */
function promptMessages(v: Record<string, unknown>, file: string, line: number): Message[] {
  const p = v.prompt ?? v.messages;
  const field = v.prompt !== undefined ? 'prompt' : 'messages';
  if (typeof p === 'string' && p.trim()) return [{ role: 'user', content: p }];
  if (Array.isArray(p) && p.length > 0 && p.every((m) => m && typeof m === 'object' && typeof m.role === 'string' && typeof m.content === 'string')) {
    if (p.at(-1).role !== 'user') throw new DataError('the last message must be a user message (the answers follow it)', { file, line, field });
    return p as Message[];
  }
  throw new DataError('expected {"prompt": "text"}, {"prompt": [messages]} or {"messages": [messages]} with {role, content} messages', { file, line, field });
}
