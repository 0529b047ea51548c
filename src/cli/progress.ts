/**
 * A one-line progress bar, redrawn in place, shown only on a terminal: piped or
 * captured output gets nothing but the final summary.
 */
import type { CliIo } from './io.js';

const WIDTH = 30;
/** Redraw at most this often, so that fast runs do not spend their time drawing. */
const REDRAW_MS = 80;

export class ProgressBar {
  private lastDrawMs = Number.NEGATIVE_INFINITY;
  private drawn = false;

  constructor(
    private readonly io: CliIo,
    private readonly total: number,
  ) {}

  update(done: number, violations: number): void {
    if (!this.io.isTTY || this.total <= 1) return;
    const now = this.io.now();
    if (done < this.total && now - this.lastDrawMs < REDRAW_MS) return;
    this.lastDrawMs = now;
    const filled = Math.round((done / this.total) * WIDTH);
    this.io.write(`\r[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${done}/${this.total} seeds, ${violations} violations`);
    this.drawn = true;
  }

  clear(): void {
    if (this.drawn) this.io.write('\r\u001b[K');
    this.drawn = false;
  }
}
