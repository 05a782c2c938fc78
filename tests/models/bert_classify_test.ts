// BertForSequenceClassification: parity with PyTorch (tools/bert_golden.py classify: HF
// equations, float64 from float32 weights, dropout off), loading a QA checkpoint as the
// backbone, and save → load with the label maps.

import assert from "node:assert/strict";
import {
  backward,
  BertForSequenceClassification,
  CheckpointError,
  initGpu,
  loadBertForSequenceClassification,
  loadModel,
  openSafetensors,
  saveModel,
  scopeAsync,
} from "../../mod.ts";
import { assertClose } from "../_helpers.ts";
import { relErr } from "../_ref.ts";

await initGpu();
const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;
const CLS = `${FIXTURES}bert_classify_odd`;
const QA = `${FIXTURES}bert_qa_odd`;

Deno.test("BertForSequenceClassification matches PyTorch: logits, loss, every gradient", async () => {
  const { model, report } = await loadBertForSequenceClassification(CLS, { quiet: true });
  assert.deepEqual(report, { unexpected: [], newlyInitialized: [] });
  const g = await openSafetensors(`${CLS}/golden.safetensors`);
  const [b, s] = g.tensors.get("input_ids")!.shape;
  const batch = {
    batch: b,
    seq: s,
    inputIds: await g.readInt32("input_ids"),
    tokenTypeIds: await g.readInt32("token_type_ids"),
    attentionMask: await g.readInt32("attention_mask"),
    labels: await g.readInt32("labels"), // one -100: left out of the mean
  };
  model.train(false); // dropout off, as in the fixture
  const got = await scopeAsync(async () => {
    const out = model.forward(batch);
    assert.deepEqual(out.logits.shape, [b, 3]);
    backward(out.loss!);
    return { logits: await out.logits.toArray(), loss: await out.loss!.item() };
  });
  // Measured on lavapipe: logits and loss within 3.0e-7 of the goldens; bound 5e-6, as QA's.
  const tol = { atol: 5e-6, rtol: 0 };
  assertClose(got.logits, await g.readFloat32("logits"), tol, "logits");
  assertClose([got.loss], await g.readFloat32("loss"), tol, "loss");
  let checked = 0;
  let worst = 0;
  for (const [pname, t] of model.namedParameters()) {
    const want = await g.readFloat32(`grad.${pname}`);
    const have = await t.grad!.toArray();
    const wantNorm = Math.sqrt(want.reduce((a, v) => a + v * v, 0));
    if (wantNorm < 1e-12) {
      // Attention key biases: analytically zero (see bert_qa_test.ts); bound the noise.
      const maxAbs = Array.from(have).reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      assert.ok(maxAbs <= 1e-6, `${pname}: should be ~0, max |grad| ${maxAbs}`);
    } else {
      const err = relErr(have, want);
      worst = Math.max(worst, err);
      // Measured on lavapipe: the worst parameter's relative error is 6.9e-7 (of 41 tensors,
      // pooler and classifier included); bound 1e-5, as QA's.
      assert.ok(err <= 1e-5, `${pname}: relative error ${err}`);
    }
    checked++;
  }
  const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) =>
    Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  const outErr = Math.max(
    maxAbs(got.logits, await g.readFloat32("logits")),
    maxAbs([got.loss], await g.readFloat32("loss")),
  );
  console.log(
    `logits/loss max abs error ${outErr.toExponential(2)}, ` +
      `worst gradient relative error ${worst.toExponential(2)} over ${checked} tensors`,
  );
  assert.equal(checked, g.tensors.size - 6);
  assert.ok(model.namedParameters().some(([n]) => n === "bert.pooler.dense.weight"));
  g.close();
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
