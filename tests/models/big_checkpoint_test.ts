// A generated (never committed) checkpoint with the shapes of bert-base-multilingual-cased:
// vocab 119,547, hidden 768, 12 layers, ~178M parameters, ~711 MB in f32. Loading it must
// stream tensor by tensor: the loader's peak RSS stays under 1.5× the file size (on a
// software adapter that includes the GPU copy of the weights, which lives in host memory).

import assert from "node:assert/strict";
import { runDeno } from "../_data.ts";

const GEN = `
import { writeSafetensors } from "${new URL("../../mod.ts", import.meta.url)}";
const dir = Deno.args[0];
const c = { vocab_size: 119547, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12,
  intermediate_size: 3072, max_position_embeddings: 512, type_vocab_size: 2 };
await Deno.writeTextFile(dir + "/config.json", JSON.stringify({ ...c, model_type: "bert",
  architectures: ["BertForMaskedLM"] }));
const h = c.hidden_size, i = c.intermediate_size;
const shapes = { "bert.embeddings.word_embeddings.weight": [c.vocab_size, h],
  "bert.embeddings.position_embeddings.weight": [512, h], "bert.embeddings.token_type_embeddings.weight": [2, h],
  "bert.embeddings.LayerNorm.weight": [h], "bert.embeddings.LayerNorm.bias": [h],
  "bert.pooler.dense.weight": [h, h], "bert.pooler.dense.bias": [h] };
for (let l = 0; l < 12; l++) {
  const p = "bert.encoder.layer." + l + ".";
  for (const n of ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"]) {
    shapes[p + n + ".weight"] = [h, h]; shapes[p + n + ".bias"] = [h];
  }
  shapes[p + "attention.output.LayerNorm.weight"] = [h]; shapes[p + "attention.output.LayerNorm.bias"] = [h];
  shapes[p + "intermediate.dense.weight"] = [i, h]; shapes[p + "intermediate.dense.bias"] = [i];
  shapes[p + "output.dense.weight"] = [h, i]; shapes[p + "output.dense.bias"] = [h];
  shapes[p + "output.LayerNorm.weight"] = [h]; shapes[p + "output.LayerNorm.bias"] = [h];
}
let s = 1;
const tensors = Object.entries(shapes).map(([name, shape]) => {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let k = 0; k < data.length; k += 97) data[k] = ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5) * 0.04;
  return { name, dtype: "F32", shape, data };
});
await writeSafetensors(dir + "/model.safetensors", tensors);
`;

const LOAD = `
import { initGpu, loadBertForQa } from "${new URL("../../mod.ts", import.meta.url)}";
import { download } from "${new URL("../../src/gpu/kernel.ts", import.meta.url)}";
await initGpu();
const t0 = performance.now();
const { model, report } = await loadBertForQa(Deno.args[0], { quiet: true });
const seconds = (performance.now() - t0) / 1000;
const status = await Deno.readTextFile("/proc/self/status");
const kb = (k) => Number(status.match(new RegExp(k + ":\\\\s+(\\\\d+)"))[1]);
const peakRss = kb("VmHWM") * 1024;
// The word embedding streamed in 4M-element slices: read back windows at the first element,
// across the first two slice boundaries and at the end, to compare with the generator.
const emb = new Map(model.namedParameters()).get("bert.embeddings.word_embeddings.weight");
const windows = [];
for (const start of [0, 4194304 - 300, 2 * 4194304 - 300, emb.size - 600]) {
  const got = new Float32Array(await download(emb.storage.buffer, start * 4, 600 * 4));
  windows.push({ start, values: [...got] });
}
console.log(JSON.stringify({ seconds, peakRss, params: model.parameters().reduce((a, t) => a + t.size, 0),
  unexpected: report.unexpected.length, newly: report.newlyInitialized, windows }));
`;

/** The generator's values at elements [start, start + count) of the first tensor, in f32. */
function generated(start: number, count: number): number[] {
  let s = 1;
  let j = 0; // LCG draws so far: element 97 j is the (j + 1)-th draw
  const out: number[] = [];
  for (let k = start; k < start + count; k++) {
    if (k % 97 !== 0) {
      out.push(0);
      continue;
    }
    for (; j <= k / 97; j++) s = (s * 16807) % 2147483647;
    out.push(Math.fround((s / 2147483647 - 0.5) * 0.04));
  }
  return out;
}

Deno.test("a 711 MB mBERT-shaped checkpoint loads tensor by tensor under 1.5x its size in RSS", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const run = async (code: string) => {
      const p = await runDeno(["eval", "--ext=js", code, dir]);
      assert.equal(p.code, 0, p.stderr);
      return p.stdout;
    };
    await run(GEN);
    const size = (await Deno.stat(`${dir}/model.safetensors`)).size;
    assert.ok(size > 700e6 && size < 720e6, `file is ${size} bytes`);
    const r = JSON.parse((await run(LOAD)).trim().split("\n").pop()!);
    console.log(
      `loaded ${r.params} params (${(size / 1e6).toFixed(0)} MB) in ${r.seconds.toFixed(1)} s, ` +
        `peak RSS ${(r.peakRss / 1e6).toFixed(0)} MB (${(r.peakRss / size).toFixed(2)}x the file)`,
    );
    assert.ok(r.params > 177e6 && r.params < 179e6);
    assert.equal(r.unexpected, 2, "pooler weight and bias are unused");
    assert.deepEqual(r.newly.sort(), ["qa_outputs.bias", "qa_outputs.weight"]);
    assert.ok(r.peakRss < 1.5 * size, `peak RSS ${r.peakRss} ≥ 1.5 × ${size}`);
    for (const w of r.windows as { start: number; values: number[] }[]) {
      const want = generated(w.start, w.values.length);
      assert.deepEqual(w.values, want, `word embedding elements from ${w.start}`);
      assert.ok(want.some((v) => v !== 0), `window at ${w.start} holds generated values`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
