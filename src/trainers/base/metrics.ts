/**
 * Training metrics: OUT/metrics.jsonl (one object per logged step, TRL names where they exist),
 * and a progress bar with ETA on a terminal (plain log lines otherwise).
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readJsonl } from '../../data/jsonl.js';

export type Metrics = Record<string, number | string>;

export class MetricsLog {
  constructor(readonly file: string) {}

  /** Drops logged steps after `step` (used when resuming, so the file holds one curve). */
  truncateAfter(step: number): void {
    if (!existsSync(this.file)) return;
    const kept = readFileSync(this.file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .filter((l) => {
        try {
          return (JSON.parse(l) as { step?: number }).step! <= step;
        } catch {
          return false;
        }
      });
    writeFileSync(this.file, kept.map((l) => l + '\n').join(''));
  }

  write(m: Metrics): void {
    appendFileSync(this.file, JSON.stringify(m) + '\n');
  }
}

/** Reads metrics.jsonl back (for reports and tests); a bad line is a DataError naming file:line. */
export function readMetrics(file: string): Metrics[] {
  if (!existsSync(file)) return [];
  return readJsonl(file, { allowEmpty: true }).map((r) => r.value as Metrics);
}

export class Progress {
  private readonly tty: boolean;
  private readonly start = Date.now();
  constructor(readonly total: number, readonly label: string, readonly quiet = false) {
    this.tty = !!process.stderr.isTTY && !quiet;
  }

  update(step: number, m: Metrics): void {
    if (this.quiet) return;
    const elapsed = (Date.now() - this.start) / 1000;
    const eta = step > 0 ? (elapsed / step) * (this.total - step) : 0;
    const loss = typeof m.loss === 'number' ? m.loss.toFixed(4) : String(m.loss ?? '');
    const alarms = Number(m['alarm/active'] ?? 0);
    const extra = `loss ${loss} lr ${Number(m.learning_rate ?? 0).toExponential(2)} ${Math.round(Number(m.tokens_per_s ?? 0))} tok/s${alarms > 0 ? ` alarms ${alarms}` : ''}`;
    if (this.tty) {
      const width = 24;
      const filled = Math.round((width * step) / Math.max(1, this.total));
      process.stderr.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${step}/${this.total} ${extra} eta ${fmtTime(eta)}   `);
    } else {
      process.stderr.write(`${this.label} step ${step}/${this.total} ${extra} eta ${fmtTime(eta)}\n`);
    }
  }

  done(): void {
    if (this.tty) process.stderr.write('\n');
  }
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${Math.round(s % 60)}s` : `${Math.round(s)}s`;
}
