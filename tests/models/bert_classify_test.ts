// BertForSequenceClassification: parity with PyTorch (tools/bert_golden.py classify: HF
// equations, float64 from float32 weights, dropout off), loading a QA checkpoint as the
// backbone, and save → load with the label maps.

import assert from "node:assert/strict";
import {
  BertForSequenceClassification,
  CheckpointError,
  initGpu,
  loadBertForSequenceClassification,
  loadModel,
  openSafetensors,
  saveModel,
} from "../../mod.ts";
import { assertMatchesGolden, loadGolden, withGolden } from "./_parity.ts";

await initGpu();
const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;
const CLS = `${FIXTURES}bert_classify_odd`;
const QA = `${FIXTURES}bert_qa_odd`;

Deno.test("BertForSequenceClassification matches PyTorch: logits, loss, every gradient", async () => {
  // The labels hold one -100, left out of the mean. Measured on lavapipe: logits and loss
  // within 3.0e-7 of the goldens, the worst of 41 gradients (pooler and classifier included)
  // 6.9e-7 relative; the shared bounds are 5e-6 and 1e-5.
  const model = await loadGolden(CLS, "BertForSequenceClassification");
  assert.ok(model.namedParameters().some(([n]) => n === "bert.pooler.dense.weight"));
  await withGolden(CLS, (g) => assertMatchesGolden(model, g, ["logits"]));
  model.dispose();
});

Deno.test("a QA checkpoint loads as the backbone: pooler and classifier newly initialized", async () => {
  const { model, report, architecture } = await loadModel(QA, {
    task: "text-classification",
    quiet: true,
  });
  assert.equal(architecture, "BertForSequenceClassification");
  assert.ok(model instanceof BertForSequenceClassification);
  // The head draws its dropout masks from the encoder's context (seed, step), so resume is exact.
  assert.equal(model.head.drop, model.bert.drop);
  assert.deepEqual(report.newlyInitialized.sort(), [
    "bert.pooler.dense.bias",
    "bert.pooler.dense.weight",
    "classifier.bias",
    "classifier.weight",
  ]);
  assert.deepEqual(report.unexpected, ["qa_outputs.bias", "qa_outputs.weight"].sort());
  // HF's defaults: 2 classes named LABEL_i; the classifier follows them.
  assert.deepEqual(model.classifier.weight.shape, [2, 24]);
  assert.deepEqual(model.config.id2label, { 0: "LABEL_0", 1: "LABEL_1" });
  // The new head continues the encoder's init: classifier N(0, initializer_range), bias 0.
  const w = Array.from(await model.classifier.weight.toArray());
  const std = Math.sqrt(w.reduce((a, v) => a + v * v, 0) / w.length);
  assert.ok(std > 0.005 && std < 0.05, `classifier std ${std}`);
  assert.deepEqual([...await model.classifier.bias.toArray()], [0, 0]);
  model.dispose();

  // The data's classes replace the config's; a classifier of another size is a shape error.
  const three = await loadBertForSequenceClassification(QA, {
    quiet: true,
    labels: ["neg", "neu", "pos"],
  });
  assert.deepEqual((three.model as BertForSequenceClassification).classifier.weight.shape, [3, 24]);
  assert.deepEqual(three.config.label2id, { neg: 0, neu: 1, pos: 2 });
  three.model.dispose();
  await assert.rejects(
    () => loadBertForSequenceClassification(CLS, { quiet: true, labels: ["a", "b"] }),
    (e: Error) =>
      e instanceof CheckpointError && /classifier\.weight has shape \[3,21\]/.test(e.message),
  );
});

Deno.test("save → load keeps every tensor and writes id2label/label2id in HF layout", async () => {
  const { model, config } = await loadBertForSequenceClassification(CLS, { quiet: true });
  const out = await Deno.makeTempDir();
  await saveModel(model, model.config, out);
  const saved = JSON.parse(await Deno.readTextFile(`${out}/config.json`));
  assert.deepEqual(saved.architectures, ["BertForSequenceClassification"]);
  assert.deepEqual(saved.id2label, { 0: "negative", 1: "neutral", 2: "positive" });
  assert.deepEqual(Object.keys(saved.id2label), ["0", "1", "2"]);
  assert.deepEqual(saved.label2id, { negative: 0, neutral: 1, positive: 2 });
  const a = await openSafetensors(`${CLS}/model.safetensors`);
  const b = await openSafetensors(`${out}/model.safetensors`);
  assert.deepEqual([...b.tensors.keys()].sort(), [...a.tensors.keys()].sort());
  for (const n of a.tensors.keys()) assert.deepEqual(await b.readRaw(n), await a.readRaw(n), n);
  a.close();
  b.close();
  // Without a task, config.json's architectures picks the classifier back.
  const again = await loadModel(out, { quiet: true });
  assert.ok(again.model instanceof BertForSequenceClassification);
  assert.deepEqual(again.config.id2label, config.id2label);
  again.model.dispose();
  model.dispose();
  await Deno.remove(out, { recursive: true });
});
