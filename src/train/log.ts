// Run logs: metrics.jsonl appended one line at a time, and an SVG plot of loss and EM/F1.

/** One logged record; `step` is required, the rest are metrics. */
export type MetricRecord = { step: number; [k: string]: number | string | null };

/**
 * Appends `record` as one JSON line (opened in append mode, so an interrupted run keeps
 * every complete line written before).
 */
export async function appendJsonl(path: string, record: MetricRecord): Promise<void> {
  const f = await Deno.open(path, { append: true, create: true });
  try {
    await f.write(new TextEncoder().encode(JSON.stringify(record) + "\n"));
  } finally {
    f.close();
  }
}

/** Reads a metrics.jsonl back, skipping a torn last line. */
export async function readJsonl(path: string): Promise<MetricRecord[]> {
  const out: MetricRecord[] = [];
  for (const line of (await Deno.readTextFile(path)).split("\n")) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch { /* a line cut by a crash */ }
  }
  return out;
}

function polyline(points: [number, number][], color: string, width = 1.5, opacity = 1): string {
  if (points.length < 2) return "";
  const d = points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  return `<polyline fill="none" stroke="${color}" stroke-width="${width}" ` +
    `stroke-opacity="${opacity}" points="${d}"/>`;
}

function dots(points: [number, number][], color: string): string {
  return points.map(([x, y]) =>
    `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${color}"/>`
  ).join("");
}

/**
 * An exponential moving average of `values`, debiased as TensorBoard's smoothing is, so the
 * first points are not pulled towards 0.
 *
 * @example
 * ```ts
 * import { smoothEma } from "webgpu-bert";
 * console.log(smoothEma([4, 2, 2, 2], 0.5)); // [4, 2.666…, 2.285…, 2.133…]
 * ```
 */
export function smoothEma(values: readonly number[], weight: number): number[] {
  let acc = 0;
  let norm = 0;
  return values.map((v) => {
    acc = weight * acc + (1 - weight) * v;
    norm = weight * norm + (1 - weight);
    return acc / norm;
  });
}

/** What {@linkcode plotSvg} draws in its second panel. */
export interface PlotOptions {
  /** The evaluation metrics, by their keys in the records (default QA's exact_match and f1). */
  metrics?: string[];
}

const COLORS = ["#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"];

/**
 * An SVG with two panels over the step axis: the training loss (raw, faint, and an EMA over it)
 * with the eval loss, and the evaluation metrics. Every evaluation is a point, joined by lines,
 * so a run that evaluated once still shows its result. Axes are labelled.
 *
 * @example
 * ```ts
 * import { plotSvg } from "webgpu-bert";
 * const svg = plotSvg([{ step: 1, loss: 2 }, { step: 2, loss: 1, exact_match: 50, f1: 60 }]);
 * console.log(svg.startsWith("<svg")); // true
 * ```
 */
export function plotSvg(
  records: MetricRecord[],
  title = "training",
  opts: PlotOptions = {},
): string {
  const W = 640, H = 240, left = 56, pad = 36;
  const maxStep = Math.max(1, ...records.map((r) => r.step));
  const num = (r: MetricRecord, k: string) =>
    typeof r[k] === "number" && isFinite(r[k] as number) ? r[k] as number : null;
  // One point per step: an evaluation's record repeats the step's training loss.
  const series = (k: string): [number, number][] => {
    const byStep = new Map<number, number>();
    for (const r of records) if (num(r, k) !== null) byStep.set(r.step, num(r, k)!);
    return [...byStep];
  };
  const x = (s: number) => left + (s / maxStep) * (W - left - pad);
  const panel = (
    top: number,
    yLabel: string,
    hi: number,
    draw: (y: (v: number) => number) => string,
    legend: [string, string][],
  ): string => {
    const y = (v: number) => top + H - pad - (v / hi) * (H - 2 * pad);
    const base = top + H - pad;
    const axes = `<line x1="${left}" y1="${base}" x2="${W - pad}" y2="${base}" stroke="#888"/>` +
      `<line x1="${left}" y1="${top + pad}" x2="${left}" y2="${base}" stroke="#888"/>` +
      `<text x="${left - 4}" y="${top + pad + 4}" font-size="10" text-anchor="end">${
        hi.toPrecision(3)
      }</text>` +
      `<text x="${left - 4}" y="${base}" font-size="10" text-anchor="end">0</text>` +
      `<text x="${left}" y="${base + 14}" font-size="10">0</text>` +
      `<text x="${W - pad}" y="${base + 14}" font-size="10" text-anchor="end">${maxStep}</text>` +
      `<text x="${(left + W - pad) / 2}" y="${base + 26}" font-size="11" ` +
      `text-anchor="middle">step</text>` +
      `<text x="14" y="${top + H / 2}" font-size="11" text-anchor="middle" ` +
      `transform="rotate(-90 14 ${top + H / 2})">${yLabel}</text>`;
    const keys = legend.map(([k, c], i) =>
      `<text x="${left + 10 + i * 120}" y="${top + 20}" fill="${c}" font-size="12">${k}</text>`
    ).join("");
    return axes + draw(y) + keys;
  };
  const pts = (s: [number, number][], y: (v: number) => number) =>
    s.map(([st, v]) => [x(st), y(v)] as [number, number]);

  // Loss panel: per-step samples faint, their EMA bold, eval loss as points.
  const loss = series("loss");
  const ema = smoothEma(loss.map(([, v]) => v), 0.9).map((v, i) => [loss[i][0], v]) as [
    number,
    number,
  ][];
  const evalLoss = series("eval_loss");
  const lossHi = Math.max(1e-9, ...loss.map(([, v]) => v), ...evalLoss.map(([, v]) => v));
  const lossPanel = panel(
    10,
    "loss",
    lossHi,
    (y) =>
      polyline(pts(loss, y), "#1f77b4", 1, 0.3) + polyline(pts(ema, y), "#1f77b4", 2) +
      polyline(pts(evalLoss, y), "#ff7f0e") + dots(pts(evalLoss, y), "#ff7f0e"),
    [
      ["loss (EMA)", "#1f77b4"],
      ["eval_loss", "#ff7f0e"],
    ],
  );

  // Metric panel: each evaluation a point; scores in [0, 1] get a unit axis, else 0-100.
  const metrics = (opts.metrics ?? ["exact_match", "f1"]).map((k, i) =>
    [k, COLORS[i % COLORS.length], series(k)] as const
  );
  const all = metrics.flatMap(([, , s]) => s.map(([, v]) => v));
  const metricHi = all.every((v) => v <= 1) ? 1 : Math.max(100, ...all);
  const metricPanel = panel(
    H + 10,
    "eval metric",
    metricHi,
    (y) => metrics.map(([, c, s]) => polyline(pts(s, y), c) + dots(pts(s, y), c)).join(""),
    metrics.map(([k, c]) => [k, c]),
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${2 * H + 20}" ` +
    `font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>` +
    `<text x="${W / 2}" y="14" text-anchor="middle" font-size="13">${title}</text>` +
    lossPanel + metricPanel + `</svg>\n`;
}
