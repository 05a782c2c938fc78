import assert from "node:assert/strict";
import {
  CheckpointError,
  initGpu,
  loadBertForQa,
  openSafetensors,
  saveModel,
  writeSafetensors,
} from "../../mod.ts";

await initGpu();
const ODD = new URL("../fixtures/bert_qa_odd", import.meta.url).pathname;

async function copyFixture(): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.copyFile(`${ODD}/config.json`, `${dir}/config.json`);
  await Deno.copyFile(`${ODD}/model.safetensors`, `${dir}/model.safetensors`);
  return dir;
}

async function rewrite(dir: string, edit: (names: Map<string, unknown>) => void): Promise<void> {
  const r = await openSafetensors(`${dir}/model.safetensors`);
  const tensors = new Map<string, { dtype: "F32"; shape: readonly number[]; data: Float32Array }>();
  for (const [n, info] of r.tensors) {
    tensors.set(n, { dtype: "F32", shape: info.shape, data: await r.readFloat32(n) });
  }
  r.close();
  edit(tensors);
  await writeSafetensors(`${dir}/model.safetensors`, tensors as never);
}

Deno.test("save then load gives identical bytes for every tensor", async () => {
  const { model, config } = await loadBertForQa(ODD, { quiet: true });
  const out = await Deno.makeTempDir();
  await saveModel(model, config, out);
  const a = await openSafetensors(`${ODD}/model.safetensors`);
  const b = await openSafetensors(`${out}/model.safetensors`);
  assert.deepEqual([...a.tensors.keys()].sort(), [...b.tensors.keys()].sort());
  for (const n of a.tensors.keys()) {
    assert.deepEqual(await b.readRaw(n), await a.readRaw(n), n);
  }
  a.close();
  b.close();
  const again = await loadBertForQa(out, { quiet: true });
  again.model.dispose();
  model.dispose();
  await Deno.remove(out, { recursive: true });
});

Deno.test("a base-model checkpoint loads: pooler and cls are unused, the QA head is new", async () => {
  const dir = await copyFixture();
  await rewrite(dir, (m) => {
    for (const n of [...m.keys()]) {
      if (n.startsWith("qa_outputs")) m.delete(n);
    }
    m.set(
      "bert.pooler.dense.bias",
      m.get("qa_outputs.bias") ?? m.get("bert.embeddings.LayerNorm.bias"),
    );
    m.set("cls.predictions.bias", m.get("bert.embeddings.LayerNorm.bias"));
  });
  const { model, report } = await loadBertForQa(dir, { quiet: true });
  assert.deepEqual(report.newlyInitialized.sort(), ["qa_outputs.bias", "qa_outputs.weight"]);
  assert.deepEqual(report.unexpected.sort(), ["bert.pooler.dense.bias", "cls.predictions.bias"]);
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a missing encoder weight or a shape that disagrees with the config is an error", async () => {
  const dir = await copyFixture();
  const name = "bert.encoder.layer.1.attention.self.key.weight";
  await rewrite(dir, (m) => m.delete(name));
  await assert.rejects(
    () => loadBertForQa(dir, { quiet: true }),
    (e: Error) => e instanceof CheckpointError && e.message.includes(`missing tensor ${name}`),
  );
  await Deno.copyFile(`${ODD}/model.safetensors`, `${dir}/model.safetensors`);
  const cfg = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ ...cfg, intermediate_size: 40 }));
  await assert.rejects(
    () => loadBertForQa(dir, { quiet: true }),
    (e: Error) =>
      e instanceof CheckpointError &&
      /intermediate\.dense\.weight has shape \[37,24\]/.test(e.message),
  );
  await Deno.remove(dir, { recursive: true });
});
