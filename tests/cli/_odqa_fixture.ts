// The setup odqa_test.ts and odqa_eval_test.ts share: a quickly trained reader and a small
// generated Korean SQuAD file, in a temp dir removed at exit.

import { generateKoreanQa } from "../../mod.ts";
import { quickTrain } from "./_run.ts";

export const dir = await Deno.makeTempDir({ prefix: "odqa_cli_" });
addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
export const model = await quickTrain();
addEventListener("unload", () => Deno.removeSync(model, { recursive: true }));
export const data = `${dir}/dev.json`;
const squad = generateKoreanQa({ seed: 3, articles: 3 });
await Deno.writeTextFile(data, JSON.stringify(squad));
/** Every question, with its context. */
export const qas = squad.data.flatMap((a) =>
  a.paragraphs.flatMap((p) => p.qas.map((q) => ({ ...q, context: p.context })))
);

/** pandas' to_csv of rows, with the unnamed index column first. */
export function toCsv(rows: { id: string; question: string; context: string }[]): string {
  const q = (s: string) => /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  return ",id,question,context\n" +
    rows.map((r, i) => [String(i), r.id, r.question, r.context].map(q).join(",")).join("\n") + "\n";
}
