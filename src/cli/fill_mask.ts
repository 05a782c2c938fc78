// `fill-mask`: HF's fill-mask pipeline on one text: the top-k tokens at each [MASK].

import { initGpu } from "../gpu/device.ts";
import { fillMask, type FillMaskCandidate, loadMaskedLmDir } from "../mlm/fill_mask.ts";
import { parseFlags, runCli, UsageError } from "./_common.ts";
import { intFlag } from "./_flags.ts";

const USAGE = 'usage: deno task fill-mask --model DIR --text "… [MASK] …" [--top-k K]';

const HELP = `${USAGE}

Prints, for every [MASK] in the text, the K most probable tokens with their probabilities and
the sentence each makes, then one JSON line in the format of Hugging Face's fill-mask pipeline:
a list of {"score", "token", "token_str", "sequence"} (best first), or a list of such lists
when the text has several masks.

  --model DIR   HF-layout model directory (a *ForMaskedLM checkpoint; any other gets a new head)
  --text T      the text, with one or more [MASK]
  --top-k K     candidates per mask (default 5)
  --help        show this help`;

/** Runs the CLI on `args` (without the program name). */
export async function main(args: string[]): Promise<void> {
  const f = parseFlags(args, {
    model: { type: "string" },
    text: { type: "string" },
    "top-k": { type: "string" },
    help: { type: "boolean" },
  }, USAGE);
  if (f.help) {
    console.log(HELP);
    return;
  }
  if (!f.model) throw new UsageError("--model is required", USAGE);
  if (f.text === undefined) throw new UsageError("--text is required", USAGE);
  const topK = intFlag(f["top-k"], "top-k", USAGE, 1, 100_000) ?? 5;
  await initGpu();
  const { model, tokenizer } = await loadMaskedLmDir(f.model);
  const masks = await fillMask(model, tokenizer, f.text, { topK, source: "--text" });
  masks.forEach((cands, m) => {
    if (masks.length > 1) console.log(`[MASK] ${m + 1} of ${masks.length}`);
    printTable(cands);
  });
  console.log(JSON.stringify(masks.length === 1 ? masks[0] : masks));
}

function printTable(cands: FillMaskCandidate[]): void {
  const rows = cands.map((c, i) => [
    String(i + 1),
    c.score.toFixed(4),
    String(c.token),
    c.token_str,
    c.sequence,
  ]);
  const head = ["rank", "score", "id", "token", "sequence"];
  const width = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (r: string[]) => r.map((x, j) => j === 4 ? x : x.padEnd(width[j])).join("  ");
  console.log(line(head));
  rows.forEach((r) => console.log(line(r)));
}

if (import.meta.main) await runCli(main);
