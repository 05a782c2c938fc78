import assert from "node:assert/strict";
import { bytesSource, denoFiles, hostFiles } from "../../mod.ts";

Deno.test("hostFiles is Deno's file system under Deno", async () => {
  assert.equal(await hostFiles(), denoFiles);
});

Deno.test("bytesSource reads copies of ranges and refuses reads past the end", async () => {
  const bytes = new Uint8Array([1, 2, 3, 4]);
  const s = bytesSource(bytes);
  assert.equal(s.size, 4);
  const r = await s.readAt(1, 2);
  assert.deepEqual([...r], [2, 3]);
  r[0] = 9;
  assert.equal(bytes[1], 2);
  await assert.rejects(() => s.readAt(3, 2), RangeError);
});

Deno.test("memoryFiles round-trips a saved model and says NotFound for a missing file", async () => {
  const { bertConfig, BertForQuestionAnswering, initGpu, loadQaModel, memoryFiles, saveModel } =
    await import("../../mod.ts");
  await initGpu();
  const config = bertConfig({
    vocab_size: 7,
    hidden_size: 8,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 16,
  });
  const model = new BertForQuestionAnswering(config, { seed: 3 });
  const map = new Map<string, Uint8Array>();
  const files = memoryFiles(map);
  await saveModel(model, config, "out", files);
  assert.deepEqual([...map.keys()].sort(), ["out/config.json", "out/model.safetensors"]);
  const { model: back } = await loadQaModel("out", { files, quiet: true });
  const [a, b] = [model.namedParameters(), back.namedParameters()];
  assert.deepEqual(b.map(([n]) => n), a.map(([n]) => n));
  for (let i = 0; i < a.length; i++) {
    assert.deepEqual(await b[i][1].toArray(), await a[i][1].toArray(), a[i][0]);
  }
  assert.equal(await files.stat("nope"), null);
  await assert.rejects(() => files.readFile("out/nope"), (e: Error) => e.name === "NotFound");
  model.dispose();
  back.dispose();
});
