// BertForMaskedLM: the tied decoder loads from checkpoints with or without HF's
// `cls.predictions.decoder.*`, saves in HF's layout, and gets one gradient for both uses.
// PyTorch parity lives in bert_mlm_test.ts (goldens from tools/bert_golden.py mlm).

import assert from "node:assert/strict";
import {
  backward,
  bertConfig,
  BertForMaskedLM,
  initGpu,
  loadModel,
  openSafetensors,
  saveModel,
  scopeAsync,
  writeSafetensors,
} from "../../mod.ts";
import { relErr } from "../_ref.ts";

await initGpu();

const cfg = bertConfig({
  vocab_size: 23,
  hidden_size: 12,
  num_hidden_layers: 1,
  num_attention_heads: 3,
  intermediate_size: 20,
  max_position_embeddings: 16,
  hidden_dropout_prob: 0,
  attention_probs_dropout_prob: 0,
});
const batch = {
  batch: 2,
  seq: 5,
  inputIds: new Int32Array([2, 7, 4, 9, 3, 2, 4, 11, 3, 0]),
  attentionMask: [1, 1, 1, 1, 1, 1, 1, 1, 1, 0],
  labels: [-100, -100, 12, -100, -100, -100, 5, -100, -100, -100],
};

async function logitsOf(m: BertForMaskedLM): Promise<ArrayLike<number>> {
  return await scopeAsync(async () => await m.forward(batch).logits.toArray());
}

Deno.test("BertForMaskedLM saves HF's layout: no decoder weight, no pooler; reloads identically", async () => {
  const m = new BertForMaskedLM(cfg, { seed: 3 });
  const dir = await Deno.makeTempDir();
  await saveModel(m, cfg, dir);
  const names = [...(await openSafetensors(`${dir}/model.safetensors`)).tensors.keys()];
  assert.ok(names.includes("cls.predictions.bias"));
  assert.ok(names.includes("cls.predictions.transform.LayerNorm.weight"));
  assert.ok(!names.some((n) => n.includes("decoder") || n.includes("pooler")), names.join());
  const { model, report, architecture } = await loadModel(dir, { quiet: true });
  assert.equal(architecture, "BertForMaskedLM");
  assert.deepEqual(report, { unexpected: [], newlyInitialized: [] });
  assert.deepEqual(await logitsOf(model as BertForMaskedLM), await logitsOf(m));
});

Deno.test("a checkpoint with the tied decoder weight and bias loads as one without them", async () => {
  const m = new BertForMaskedLM(cfg, { seed: 4 });
  const tensors = [];
  for (const [name, t] of m.namedParameters()) {
    const data = await t.toArray();
    tensors.push({ name, dtype: "F32" as const, shape: t.shape, data });
    if (name === "bert.embeddings.word_embeddings.weight") {
      tensors.push({
        name: "cls.predictions.decoder.weight",
        dtype: "F32" as const,
        shape: t.shape,
        data,
      });
    }
    if (name === "cls.predictions.bias") {
      tensors.push({
        name: "cls.predictions.decoder.bias",
        dtype: "F32" as const,
        shape: t.shape,
        data,
      });
    }
  }
  const dir = await Deno.makeTempDir();
  await saveModel(m, cfg, dir);
  await writeSafetensors(`${dir}/model.safetensors`, tensors);
  const { model, report } = await loadModel(dir, { quiet: true });
  assert.deepEqual(report, { unexpected: [], newlyInitialized: [] });
  assert.deepEqual(await logitsOf(model as BertForMaskedLM), await logitsOf(m));
  // An old checkpoint holding the bias only under the decoder's name fills the head's bias.
  await writeSafetensors(
    `${dir}/model.safetensors`,
    tensors.filter((t) => t.name !== "cls.predictions.bias"),
  );
  const old = await loadModel(dir, { quiet: true });
  assert.deepEqual(old.report, { unexpected: [], newlyInitialized: [] });
  assert.deepEqual(await logitsOf(old.model as BertForMaskedLM), await logitsOf(m));
});

Deno.test("the tied table gets one gradient: the lookup's plus the decoder's (finite differences)", async () => {
  const m = new BertForMaskedLM(cfg, { seed: 5 });
  const words = m.encoder.embeddings.word_embeddings.weight;
  assert.equal(m.namedParameters().filter(([, t]) => t === words).length, 1);
  const grad = await scopeAsync(async () => {
    backward(m.forward(batch).loss!);
    return await words.grad!.toArray();
  });
  const loss = () => scopeAsync(async () => await m.forward(batch).loss!.item());
  // Row 4 is looked up (token 4 in both rows) and, like every row, decodes; row 12 is a
  // target only; row 9 is looked up once. Both uses move the loss, so a gradient missing
  // either one misses the central difference by far more than the bound.
  const h = cfg.hidden_size, eps = 1e-2;
  for (const row of [4, 9, 12]) {
    for (const col of [0, 5, 11]) {
      const i = row * h + col;
      const x = (await words.toArray())[i];
      words.write(new Float32Array([x + eps]), i);
      const up = await loss();
      words.write(new Float32Array([x - eps]), i);
      const down = await loss();
      words.write(new Float32Array([x]), i);
      const fd = (up - down) / (2 * eps);
      assert.ok(
        Math.abs(fd - grad[i]) < 2e-3 + 0.02 * Math.abs(fd),
        `[${row}, ${col}] ${fd} vs ${grad[i]}`,
      );
    }
  }
});

Deno.test("predictAt: logits of the chosen rows, the same loss and gradients as the full product", async () => {
  const m = new BertForMaskedLM(cfg, { seed: 6 });
  const full = await scopeAsync(async () => {
    const out = m.forward(batch);
    backward(out.loss!);
    return {
      logits: await out.logits.toArray(),
      loss: await out.loss!.item(),
      g: await m.encoder.embeddings.word_embeddings.weight.grad!.toArray(),
    };
  });
  for (const p of m.parameters()) p.grad = null;
  const at = new Int32Array([2, 6]);
  const part = await scopeAsync(async () => {
    const out = m.forward({ ...batch, predictAt: at });
    backward(out.loss!);
    return {
      logits: await out.logits.toArray(),
      shape: out.logits.shape,
      loss: await out.loss!.item(),
      g: await m.encoder.embeddings.word_embeddings.weight.grad!.toArray(),
    };
  });
  const v = cfg.vocab_size;
  assert.deepEqual(part.shape, [2, v]);
  assert.ok(relErr(part.logits.slice(0, v), full.logits.slice(2 * v, 3 * v)) < 1e-6);
  assert.ok(relErr(part.logits.slice(v), full.logits.slice(6 * v, 7 * v)) < 1e-6);
  assert.ok(Math.abs(part.loss - full.loss) < 1e-6);
  assert.ok(relErr(part.g, full.g) < 1e-5);
});
