// A one-line terminal progress bar: `epoch 1/3 [=========>          ] 45%  loss 0.5312  2480 img/s  ETA 12s`.
// On a terminal it redraws in place; otherwise (CI logs) it prints a line every `logEvery` updates.

export class ProgressBar {
  private readonly start = performance.now();
  private lastLine = 0;
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly opts: { width?: number; logEvery?: number; stream?: NodeJS.WriteStream; unit?: string } = {},
  ) {}

  /** done: items processed so far; fields: extra text such as `loss 0.53`. */
  update(done: number, fields: Record<string, string>): void {
    const stream = this.opts.stream ?? process.stderr;
    const elapsed = (performance.now() - this.start) / 1000;
    const rate = done / Math.max(elapsed, 1e-9);
    const eta = rate > 0 ? (this.total - done) / rate : 0;
    const frac = Math.min(1, done / this.total);
    const width = this.opts.width ?? 28;
    const filled = Math.round(frac * width);
    const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? (frac >= 1 ? '=' : '>') : '') + ' '.repeat(width - filled);
    const extra = Object.entries(fields).map(([k, v]) => `${k} ${v}`).join('  ');
    const line = `${this.label} [${bar}] ${String(Math.round(frac * 100)).padStart(3)}%  ${extra}  ${rate >= 10 ? rate.toFixed(0) : rate.toFixed(1)} ${this.opts.unit ?? 'img'}/s  ETA ${eta.toFixed(0)}s`;
    if (stream.isTTY) {
      stream.write(`\r${line}\x1b[K`);
      if (frac >= 1) stream.write('\n');
    } else if (frac >= 1 || performance.now() - this.lastLine > (this.opts.logEvery ?? 5000)) {
      stream.write(`${line}\n`);
      this.lastLine = performance.now();
    }
  }
}
