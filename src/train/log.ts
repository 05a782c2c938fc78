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

function polyline(points: [number, number][], color: string): string {
  if (!points.length) return "";
  const d = points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  return `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${d}"/>`;
}

/**
 * An SVG with two panels: training loss (and eval loss) by step, and EM/F1 by step.
 *
 * @example
 * ```ts
 * import { plotSvg } from "webgpu-bert";
 * const svg = plotSvg([{ step: 1, loss: 2 }, { step: 2, loss: 1, exact_match: 50, f1: 60 }]);
 * console.log(svg.startsWith("<svg")); // true
 * ```
 */
export function plotSvg(records: MetricRecord[], title = "training"): string {
  const W = 640, H = 240, pad = 40;
  const steps = records.map((r) => r.step);
  const maxStep = Math.max(1, ...steps);
  const panel = (keys: [string, string][], top: number, fixedMax?: number): string => {
    const vals = records.flatMap((r) =>
      keys.map(([k]) => r[k]).filter((v): v is number => typeof v === "number" && isFinite(v))
    );
    const hi = fixedMax ?? Math.max(1e-9, ...vals);
    const x = (s: number) => pad + (s / maxStep) * (W - 2 * pad);
    const y = (v: number) => top + H - pad - (v / hi) * (H - 2 * pad);
    const lines = keys.map(([k, color]) =>
      polyline(
        records.filter((r) => typeof r[k] === "number" && isFinite(r[k] as number))
          .map((r) => [x(r.step), y(r[k] as number)]),
        color,
      )
    ).join("");
    const legend = keys.map(([k, c], i) =>
      `<text x="${pad + 10 + i * 110}" y="${top + 20}" fill="${c}" font-size="12">${k}</text>`
    ).join("");
    const axes = `<line x1="${pad}" y1="${top + H - pad}" x2="${W - pad}" y2="${top + H - pad}" ` +
      `stroke="#888"/><line x1="${pad}" y1="${top + pad}" x2="${pad}" y2="${
        top + H - pad
      }" stroke="#888"/>` +
      `<text x="${pad - 4}" y="${top + pad + 4}" font-size="10" text-anchor="end">${
        hi.toPrecision(3)
      }</text>` +
      `<text x="${pad - 4}" y="${top + H - pad}" font-size="10" text-anchor="end">0</text>` +
      `<text x="${W - pad}" y="${
        top + H - pad + 14
      }" font-size="10" text-anchor="end">step ${maxStep}</text>`;
    return axes + lines + legend;
  };
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${2 * H + 20}" ` +
    `font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>` +
    `<text x="${W / 2}" y="14" text-anchor="middle" font-size="13">${title}</text>` +
    panel([["loss", "#1f77b4"], ["eval_loss", "#ff7f0e"]], 10) +
    panel([["exact_match", "#2ca02c"], ["f1", "#d62728"]], H + 10, 100) + `</svg>\n`;
}
