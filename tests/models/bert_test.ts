// The BERT encoder: fused and unfused attention agree, inference frees per layer, every
// projection goes through Linear.project, and RoBERTa positions. Parity of the whole QA model
// with PyTorch is in bert_qa_test.ts.

import assert from "node:assert/strict";
import {
  backward,
  bertConfig,
  BertLayer,
  BertModel,
  DropoutCtx,
  InitCtx,
  Linear,
  loadBertForQa,
  openSafetensors,
  scale,
  scopeAsync,
  Tensor,
} from "../../mod.ts";
import { assertClose } from "../_helpers.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;

Deno.test("fused and unfused attention paths give the same logits and gradients", async () => {
  const { attentionPolicy } = await import("../../mod.ts");
  const dir = `${FIXTURES}bert_qa_batch`;
  const g = await openSafetensors(`${dir}/golden.safetensors`);
  const [b, s] = g.tensors.get("input_ids")!.shape;
  const batch = {
    batch: b,
    seq: s,
    inputIds: await g.readInt32("input_ids"),
    attentionMask: await g.readInt32("attention_mask"),
    startPositions: await g.readInt32("start_positions"),
    endPositions: await g.readInt32("end_positions"),
  };
  g.close();
  const run = async (mode: "fused" | "unfused") => {
    attentionPolicy.mode = mode;
    const { model } = await loadBertForQa(dir, { quiet: true });
    model.train(false);
    const out = await scopeAsync(async () => {
      const o = model.forward(batch);
      backward(o.loss!);
      return await o.startLogits.toArray();
    });
    const grads = await Promise.all(model.parameters().map((p) => p.grad!.toArray()));
    model.dispose();
    return { out, grads };
  };
  try {
    const f = await run("fused");
    const u = await run("unfused");
    // Measured on lavapipe: logits differ by 4.8e-7, gradients by 1.6e-7 (0.8% of the old
    // 1e-5 + 1e-4|g| bound); these bounds are 5-12x the measurement.
    assertClose(f.out, u.out, { atol: 5e-6, rtol: 5e-6 }, "logits");
    f.grads.forEach((gr, i) =>
      assertClose(gr, u.grads[i], { atol: 1e-6, rtol: 1e-5 }, `grad ${i}`)
    );
  } finally {
    attentionPolicy.mode = "auto";
  }
});

Deno.test("inference frees each layer's intermediates: peak memory does not grow with depth", async () => {
  const { BertForQuestionAnswering, bertConfig, gpu, noGrad, sync } = await import("../../mod.ts");
  const peak = async (layers: number) => {
    const m = new BertForQuestionAnswering(
      bertConfig({
        vocab_size: 100,
        hidden_size: 64,
        num_hidden_layers: layers,
        num_attention_heads: 2,
        intermediate_size: 256,
      }),
      { seed: 1 },
    );
    m.train(false);
    const batch = { batch: 4, seq: 64, inputIds: new Int32Array(256).fill(7) };
    await sync();
    const pool = gpu().pool;
    const base = pool.stats().liveBytes;
    pool.resetPeak();
    await scopeAsync(async () => await noGrad(() => m.forward(batch)).startLogits.toArray());
    const extra = pool.stats().peakBytes - base;
    m.dispose();
    return extra;
  };
  const one = await peak(1);
  const four = await peak(4);
  assert.ok(four < 1.5 * one, `1 layer: ${one} bytes, 4 layers: ${four} bytes`);
});

Deno.test("a Linear overriding project is honoured by BertLayer on the fused and dropout paths", async () => {
  // project doubled: exactly x·(2W), so a layer with doubled weights is the bitwise reference.
  class Doubled extends Linear {
    override project(x: Tensor): Tensor {
      return scale(super.project(x), 2);
    }
  }
  const c = bertConfig({
    vocab_size: 20,
    hidden_size: 8,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 12,
    hidden_dropout_prob: 0.25,
    attention_probs_dropout_prob: 0.25,
  });
  const make = () => {
    const drop = new DropoutCtx();
    drop.seed = 5;
    return new BertLayer(c, new InitCtx(5, c.initializer_range), drop);
  };
  const x = Tensor.fromArray(Float32Array.from({ length: 2 * 3 * 8 }, (_, i) => Math.sin(i)), [
    2,
    3,
    8,
  ]);
  const mask = Tensor.fromArray(new Float32Array(6), [2, 3]);
  const run = async (layer: ReturnType<typeof make>, training: boolean) => {
    layer.train(training);
    layer.attention.output.drop.site = 0;
    return [...await layer.forward(x, mask).toArray()];
  };
  const plain = make();
  const wrapped = make();
  for (const block of [wrapped.intermediate, wrapped.output]) {
    const d = block.dense;
    const w = block.replaceChild("dense", new Doubled(d.inFeatures, d.outFeatures, { seed: 0 }));
    w.weight.write(await d.weight.toArray());
    w.bias.write(await d.bias.toArray());
    d.dispose();
  }
  const doubledWeights = make();
  for (const d of [doubledWeights.intermediate.dense, doubledWeights.output.dense]) {
    d.weight.write((await d.weight.toArray()).map((v) => 2 * v));
  }
  for (const training of [false, true]) {
    const path = training ? "dropout" : "fused";
    const got = await run(wrapped, training);
    assert.deepEqual(got, await run(doubledWeights, training), `${path}: x·(2W) exactly`);
    assert.notDeepEqual(got, await run(plain, training), `${path}: the override changes it`);
  }
  for (const m of [plain, wrapped, doubledWeights]) m.dispose();
});

Deno.test("a RoBERTa encoder looks positions up from pad_token_id + 1, padding at pad", async () => {
  const base = {
    vocab_size: 20,
    hidden_size: 8,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 12,
    max_position_embeddings: 8,
    type_vocab_size: 1,
    pad_token_id: 1,
  };
  const roberta = new BertModel(bertConfig({ ...base, model_type: "roberta" }), { seed: 3 });
  const bert = new BertModel(bertConfig(base), { seed: 3 });
  roberta.train(false);
  bert.train(false);
  const table = await roberta.embeddings.position_embeddings.weight.toArray();
  assert.ok(table.subarray(8, 16).every((v) => v === 0), "the padding row starts at zero");
  // ids [5, 6, 7, 1, 1]: RoBERTa positions [2, 3, 4, 1, 1]; give BERT those rows at 0..4.
  const rows = [2, 3, 4, 1, 1];
  const shifted = new Float32Array(table);
  rows.forEach((r, i) => shifted.set(table.subarray(r * 8, r * 8 + 8), i * 8));
  bert.embeddings.position_embeddings.weight.write(shifted);
  const batch = {
    batch: 1,
    seq: 5,
    inputIds: new Int32Array([5, 6, 7, 1, 1]),
    attentionMask: [1, 1, 1, 0, 0],
  };
  const got = await scopeAsync(async () => await roberta.forward(batch).toArray());
  const want = await scopeAsync(async () => await bert.forward(batch).toArray());
  assert.deepEqual([...got], [...want]);
  // 7 real tokens need position 8, past a table of 8 rows; 6 real ones with padding fit.
  assert.throws(
    () => roberta.forward({ batch: 1, seq: 7, inputIds: new Int32Array(7).fill(5) }),
    /position id 8 exceeds max_position_embeddings 8/,
  );
  const fits = { batch: 1, seq: 7, inputIds: new Int32Array([5, 5, 5, 5, 5, 5, 1]) };
  await scopeAsync(async () => await roberta.forward(fits).toArray());
  assert.throws(
    () => roberta.forward({ ...batch, tokenTypeIds: new Int32Array([0, 0, 1, 0, 0]) }),
    /token type id 1 is outside \[0, type_vocab_size 1\)/,
  );
  roberta.dispose();
  bert.dispose();
});

Deno.test("forwardOutputs: HF's hidden states, attention maps and pooler output", async () => {
  const cfg = bertConfig({
    vocab_size: 30,
    hidden_size: 12,
    num_hidden_layers: 3,
    num_attention_heads: 3,
    intermediate_size: 20,
    max_position_embeddings: 16,
  });
  const bert = new BertModel(cfg, { seed: 2, pooler: true });
  bert.train(false);
  const batch = {
    batch: 2,
    seq: 5,
    inputIds: new Int32Array([2, 7, 8, 9, 3, 2, 11, 3, 0, 0]),
    attentionMask: [1, 1, 1, 1, 1, 1, 1, 1, 0, 0],
  };
  await scopeAsync(async () => {
    const out = bert.forwardOutputs(batch, { hiddenStates: true, attentions: true });
    assert.equal(out.hiddenStates!.length, 4);
    assert.equal(out.attentions!.length, 3);
    assert.equal(out.hiddenStates![3], out.lastHiddenState);
    // Collecting the maps takes the unfused path; the fused one gives the same states.
    assertClose(
      await bert.forward(batch).toArray(),
      await out.lastHiddenState.toArray(),
      { atol: 5e-6, rtol: 0 },
      "last hidden state",
    );
    const maps = await out.attentions![1].toArray();
    assert.deepEqual(out.attentions![1].shape, [2, 3, 5, 5]);
    for (let r = 0; r < 2 * 3 * 5; r++) {
      const row = Array.from(maps.slice(r * 5, r * 5 + 5));
      assert.ok(Math.abs(row.reduce((a, v) => a + v, 0) - 1) < 1e-5);
      // Padded keys of the second sequence get no attention.
      if (r >= 15) assert.ok(row[3] === 0 && row[4] === 0);
    }
    assert.deepEqual(out.poolerOutput!.shape, [2, 12]);
    const pooled = await out.poolerOutput!.toArray();
    assert.ok(pooled.every((v) => Math.abs(v) < 1));
    const plain = bert.forwardOutputs(batch);
    assert.equal(plain.hiddenStates, undefined);
    assert.equal(plain.attentions, undefined);
  });
});
