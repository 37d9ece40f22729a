/**
 * Progress with ETA. Updates one line in place in a terminal and in a Jupyter notebook (both
 * honour '\r'); elsewhere (CI logs, pipes) prints a line every `every` seconds so logs stay short.
 */

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '--:--';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(r).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** True inside a Jupyter kernel (the launcher sets JPY_PARENT_PID) or on a terminal. */
export function canRewriteLine(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) || process.env.JPY_PARENT_PID !== undefined;
}

export interface ProgressOptions {
  /** Where to write (stdout by default). */
  write?: (s: string) => void;
  /** Rewrite one line in place (default: detected). */
  inPlace?: boolean;
  /** Seconds between lines when not in place; minimum seconds between in-place redraws is 0.25. */
  every?: number;
  /** Width of the bar in characters. */
  width?: number;
  /** What is counted (`it` steps, `run` runs). */
  unit?: string;
  /**
   * Redraw on a timer every `tick` seconds even without updates (the clock and the ETA move while a
   * worker has not reported yet); default 1 in place, `every` otherwise; 0 = only on updates.
   */
  tick?: number;
}

export class ProgressBar {
  private readonly start = Date.now();
  private last = 0;
  private readonly write: (s: string) => void;
  private readonly inPlace: boolean;
  private readonly every: number;
  private readonly width: number;
  private readonly unit: string;
  private done = 0;
  private info = '';
  private timer: NodeJS.Timeout | null = null;
  /** The first update with progress: the rate (and ETA) is measured from there, so start-up time
   * (engine, data, worker start) does not stretch the ETA of the work itself. */
  private first: { at: number; done: number } | null = null;

  constructor(
    readonly label: string,
    public total: number,
    opts: ProgressOptions = {},
  ) {
    this.write = opts.write ?? ((s) => process.stdout.write(s));
    this.inPlace = opts.inPlace ?? canRewriteLine();
    this.every = opts.every ?? 30;
    this.width = opts.width ?? 24;
    this.unit = opts.unit ?? 'it';
    const tick = opts.tick ?? (this.inPlace ? 1 : this.every);
    if (tick > 0) {
      this.timer = setInterval(() => this.draw(false), tick * 1000);
      this.timer.unref(); // never keeps a script alive
    }
  }

  /** Stops the timer (finish() does too); the line stays as it was last drawn. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Items per second since the first progress, or 0 before there is a rate to speak of. */
  private rate(now: number): number {
    if (!this.first) return 0;
    const dt = (now - this.first.at) / 1000;
    const dd = this.done - this.first.done;
    return dt >= 1 && dd > 0 ? dd / dt : 0;
  }

  /** Set by finish(): the line is final (no ETA; when stopped short, what was done, not a full bar). */
  private ended = false;

  /**
   * Renders the line as it stands: `label [####......] 40/100 40% 00:12<00:18 3.3 it/s info`; the final
   * line of a call stopped short (interrupted) shows only what was done: `label [......] 0/16 0% 00:07 info`.
   */
  render(): string {
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 0;
    const now = Date.now();
    const elapsed = (now - this.start) / 1000;
    const rate = this.rate(now);
    const eta = rate > 0 ? (this.total - this.done) / rate : NaN;
    const filled = Math.round(frac * this.width);
    const bar = '#'.repeat(filled) + '.'.repeat(this.width - filled);
    const u = this.unit;
    const speed = rate >= 1 ? `${rate.toFixed(1)} ${u}/s` : rate > 0 ? `${formatDuration(1 / rate)}/${u}` : '';
    const count = `${this.label} [${bar}] ${Math.floor(this.done)}/${this.total} ${(frac * 100).toFixed(0)}%`;
    const info = this.info ? ' ' + this.info : '';
    if (this.ended && this.done < this.total) return `${count} ${formatDuration(elapsed)}${info}`;
    return `${count} ${formatDuration(elapsed)}<${formatDuration(eta)} ${speed}${info}`;
  }

  private lastLength = 0;

  /** '\r' + the line, padded with spaces over a longer previous line (no ANSI codes: notebooks show them raw). */
  private padded(): string {
    const line = this.render();
    const pad = Math.max(0, this.lastLength - line.length);
    this.lastLength = line.length;
    return `\r${line}${' '.repeat(pad)}`;
  }

  update(done: number, info?: string): void {
    this.done = done;
    if (info !== undefined) this.info = info;
    if (!this.first && done > 0) this.first = { at: Date.now(), done };
    this.draw(done >= this.total);
  }

  private draw(final: boolean): void {
    const now = Date.now();
    if (this.inPlace) {
      if (!final && now - this.last < 250) return;
      this.last = now;
      this.write(this.padded());
    } else if (final || now - this.last >= this.every * 1000) {
      this.last = now;
      this.write(this.render() + '\n');
    }
  }

  /**
   * Ends the line (in place) or prints the final line. `done`: how many items really finished, when the
   * call stopped short (an interrupt): the bar then shows that count, not a full bar and 100 %.
   * Without it the work is taken as complete.
   */
  finish(info?: string, done?: number): void {
    this.stop();
    this.ended = true;
    if (info !== undefined) this.info = info;
    this.done = done === undefined ? Math.max(this.done, this.total) : Math.max(0, Math.min(done, this.total));
    if (this.inPlace) this.write(this.padded() + '\n');
    else this.write(this.render() + '\n');
  }
}
