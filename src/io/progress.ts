// A one-line progress bar on stderr: step, loss, lr, tokens/s and ETA.

/** Values shown after the bar; numbers are formatted compactly. */
export type ProgressFields = Record<string, number | string>;

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${s.toFixed(0)}s`;
}

function fmt(v: number | string): string {
  if (typeof v === "string") return v;
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5)) return v.toExponential(2);
  return Number.isInteger(v) ? String(v) : v.toFixed(4);
}

/**
 * Draws `[####----] step/total key=value … ETA` in place on a terminal, or one line per
 * update (at most every `everySeconds`) when stderr is not a terminal.
 *
 * @example
 * ```ts
 * import { ProgressBar } from "webgpu-bert";
 * const bar = new ProgressBar(10, "train");
 * bar.update(5, { loss: 1.23 });
 * bar.done();
 * ```
 */
export class ProgressBar {
  #start = performance.now();
  #lastPrint = 0;
  #tty = Deno.stderr.isTerminal();
  /** A bar of `total` steps; off a terminal it prints a line at most every `everySeconds`. */
  constructor(readonly total: number, readonly label = "", readonly everySeconds = 5) {}

  /** Redraws at `step` of `total`. */
  update(step: number, fields: ProgressFields = {}): void {
    const now = performance.now();
    if (!this.#tty && now - this.#lastPrint < this.everySeconds * 1000 && step < this.total) return;
    this.#lastPrint = now;
    const elapsed = (now - this.#start) / 1000;
    const frac = Math.min(1, step / Math.max(1, this.total));
    const eta = frac > 0 ? elapsed * (1 - frac) / frac : Infinity;
    const width = 24;
    const bar = "#".repeat(Math.round(frac * width)).padEnd(width, "-");
    const kv = Object.entries(fields).map(([k, v]) => `${k}=${fmt(v)}`).join(" ");
    const line = `${this.label} [${bar}] ${step}/${this.total} ${kv} elapsed=${
      fmtTime(elapsed)
    } eta=${fmtTime(eta)}`;
    const enc = new TextEncoder();
    Deno.stderr.writeSync(enc.encode(this.#tty ? `\r\x1b[2K${line}` : `${line}\n`));
  }

  /** Ends the in-place line. */
  done(): void {
    if (this.#tty) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
  }
}
