// `deno run -A tools/sparse_scale.ts [--passages N] [--data FILE] [--analyzer SPEC] [--save]`:
// builds a BM25 index over N passages made by repeating FILE's contexts (KorQuAD v1.0 dev by
// default) and reports the build's time and peak RSS, the index's sizes, search time for the
// file's first 200 questions, and with --save the save/load times and bytes on disk.
// The repeated texts are shared strings, so the peak RSS is the index's and the term
// dictionary's (small: repeats add no terms), not the corpus's.

import { parseArgs } from "node:util";
import { loadPassages } from "../src/retrieval/passages.ts";
import type { Passage } from "../src/retrieval/retriever.ts";
import { SparseRetriever } from "../src/retrieval/sparse.ts";

const f = parseArgs({
  args: Deno.args,
  options: {
    passages: { type: "string", default: "1000000" },
    data: { type: "string", default: "../shared/data/korquad/KorQuAD_v1.0_dev.json" },
    analyzer: { type: "string" },
    save: { type: "boolean" },
  },
}).values;

/** Peak resident set size so far (Linux's VmHWM), in MiB. */
function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? Number(m[1]) / 1024 : NaN;
}

const n = Number(f.passages);
const { passages: base, questions } = await loadPassages(f.data!);
const passages: Passage[] = Array.from({ length: n }, (_, i) => ({
  id: String(i),
  text: base[i % base.length].text,
}));
const before = peakRssMiB();
let t = performance.now();
const r = await SparseRetriever.build(passages, { scoring: "bm25", analyzer: f.analyzer }, true);
const buildS = (performance.now() - t) / 1000;
const peak = peakRssMiB();
const qs = (questions ?? []).slice(0, 200).map((q) => q.question);
t = performance.now();
await r.search(qs, 20);
const queryMs = (performance.now() - t) / Math.max(1, qs.length);
const out: Record<string, unknown> = {
  passages: n,
  analyzer: r.options.analyzer,
  ...r.index.sizes,
  build_seconds: +buildS.toFixed(1),
  rss_before_build_mib: Math.round(before),
  peak_rss_mib: Math.round(peak),
  index_arrays_mib: Math.round(
    (r.index.starts.byteLength + r.index.docs.byteLength + r.index.tfs.byteLength +
      r.index.docLengths.byteLength) / 2 ** 20,
  ),
  mean_query_ms: +queryMs.toFixed(2),
};
// Printed before saving, so a failure there keeps the build's numbers.
console.log(JSON.stringify(out));
if (f.save) {
  const dir = await Deno.makeTempDir({ prefix: "sparse_scale_" });
  t = performance.now();
  await r.save(dir);
  out.save_seconds = +((performance.now() - t) / 1000).toFixed(1);
  let bytes = 0;
  for await (const e of Deno.readDir(dir)) bytes += (await Deno.stat(`${dir}/${e.name}`)).size;
  out.disk_mib = Math.round(bytes / 2 ** 20);
  t = performance.now();
  await SparseRetriever.load(dir);
  out.load_seconds = +((performance.now() - t) / 1000).toFixed(1);
  out.peak_rss_after_load_mib = Math.round(peakRssMiB());
  await Deno.remove(dir, { recursive: true });
  console.log(JSON.stringify(out));
}
