import assert from "node:assert/strict";
import {
  BertForQuestionAnswering,
  CheckpointError,
  ConfigError,
  initGpu,
  loadBertForQa,
  loadModel,
  openSafetensors,
  saveModel,
  scopeAsync,
  writeSafetensors,
} from "../../mod.ts";
import { copyFixture, fixture } from "../_data.ts";

await initGpu();
const ODD = fixture("bert_qa_odd");

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

/** The odd fixture as a RoBERTa checkpoint: `roberta.*` names, one token-type row, pad id 1. */
async function robertaFixture(architectures: string[]): Promise<string> {
  const dir = await copyFixture();
  await rewrite(dir, (m) => {
    for (const n of [...m.keys()]) {
      const t = m.get(n) as { shape: readonly number[]; data: Float32Array };
      m.delete(n);
      if (n === "bert.embeddings.token_type_embeddings.weight") {
        m.set("roberta.embeddings.token_type_embeddings.weight", {
          ...t,
          shape: [1, t.shape[1]],
          data: t.data.slice(0, t.shape[1]),
        });
      } else m.set(n.replace(/^bert\./, "roberta."), t);
    }
  });
  const cfg = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify({
      ...cfg,
      model_type: "roberta",
      type_vocab_size: 1,
      pad_token_id: 1,
      architectures,
    }),
  );
  return dir;
}

Deno.test("a RoBERTa QA checkpoint loads by its architectures, runs with padding, and round-trips", async () => {
  const dir = await robertaFixture(["RobertaForQuestionAnswering"]);
  const { model, report, architecture } = await loadModel(dir, { quiet: true });
  assert.equal(architecture, "RobertaForQuestionAnswering");
  assert.deepEqual(report, { unexpected: [], newlyInitialized: [] });
  assert.ok(model instanceof BertForQuestionAnswering);
  const byName = new Map(model.namedParameters());
  const src = await openSafetensors(`${dir}/model.safetensors`);
  assert.deepEqual([...byName.keys()].sort(), [...src.tensors.keys()].sort());
  assert.deepEqual(
    [...await byName.get("roberta.encoder.layer.1.output.dense.weight")!.toArray()],
    [...await src.readFloat32("roberta.encoder.layer.1.output.dense.weight")],
  );
  src.close();
  model.train(false);
  const batch = {
    batch: 2,
    seq: 5,
    inputIds: new Int32Array([0, 7, 8, 2, 1, 0, 9, 2, 1, 1]),
    attentionMask: [1, 1, 1, 1, 0, 1, 1, 1, 0, 0],
    startPositions: [1, 1],
    endPositions: [2, 1],
  };
  const loss = await scopeAsync(async () => await model.forward(batch).loss!.item());
  assert.ok(Number.isFinite(loss));
  const out = await Deno.makeTempDir();
  await saveModel(model, model.config, out);
  const saved = JSON.parse(await Deno.readTextFile(`${out}/config.json`));
  assert.deepEqual(saved.architectures, ["RobertaForQuestionAnswering"]);
  const again = await loadBertForQa(out, { quiet: true });
  assert.equal(
    await scopeAsync(async () => await again.model.forward(batch).loss!.item()),
    loss,
  );
  again.model.dispose();
  model.dispose();
  await Deno.remove(out, { recursive: true });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a RoBERTa checkpoint of another task gets a new QA head; unknown heads are refused", async () => {
  const dir = await robertaFixture(["RobertaForTokenClassification"]);
  await rewrite(dir, (m) => {
    const bias = m.get("qa_outputs.bias");
    m.delete("qa_outputs.weight");
    m.delete("qa_outputs.bias");
    m.set("lm_head.bias", bias);
  });
  const { model, report } = await loadBertForQa(dir, { quiet: true });
  assert.equal(model.architecture, "RobertaForQuestionAnswering");
  assert.deepEqual(report.newlyInitialized.sort(), ["qa_outputs.bias", "qa_outputs.weight"]);
  assert.deepEqual(report.unexpected, ["lm_head.bias"]);
  model.dispose();
  await assert.rejects(
    () => loadModel(dir, { quiet: true }),
    (e: Error) =>
      e instanceof ConfigError &&
      /RobertaForTokenClassification is not supported \(known: .*RobertaForQuestionAnswering/.test(
        e.message,
      ),
  );
  await Deno.remove(dir, { recursive: true });
});
