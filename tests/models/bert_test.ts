// Parity with PyTorch: golden fixtures from tools/bert_golden.py (HF BertForQuestionAnswering
// equations, float64 from float32 weights, dropout off).

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

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

for (const name of ["odd", "batch"]) {
  Deno.test(`BertForQuestionAnswering matches PyTorch: logits, loss, every gradient (${name})`, async () => {
    const dir = `${FIXTURES}bert_qa_${name}`;
    const { model } = await loadBertForQa(dir, { quiet: true });
    const g = await openSafetensors(`${dir}/golden.safetensors`);
    const ids = await g.readInt32("input_ids");
    const [b, s] = g.tensors.get("input_ids")!.shape;
    const batch = {
      batch: b,
      seq: s,
      inputIds: ids,
      tokenTypeIds: await g.readInt32("token_type_ids"),
      attentionMask: await g.readInt32("attention_mask"),
      startPositions: await g.readInt32("start_positions"),
      endPositions: await g.readInt32("end_positions"),
    };
    model.train(false); // dropout off, as in the fixture
    const got = await scopeAsync(async () => {
      const out = model.forward(batch);
      backward(out.loss!);
      return {
        start: await out.startLogits.toArray(),
        end: await out.endLogits.toArray(),
        loss: await out.loss!.item(),
      };
    });
    // Measured on lavapipe: logits and loss within 6.0e-7 of the goldens (both fixtures);
    // bound 5e-6, 8x that. A 2e-5 relative error of logits ~1 exceeds it.
    const tol = { atol: 5e-6, rtol: 0 };
    assertClose(got.start, await g.readFloat32("start_logits"), tol, "start logits");
    assertClose(got.end, await g.readFloat32("end_logits"), tol, "end logits");
    assertClose([got.loss], await g.readFloat32("loss"), tol, "loss");
    let checked = 0;
    for (const [pname, t] of model.namedParameters()) {
      const want = await g.readFloat32(`grad.${pname}`);
      const have = await t.grad!.toArray();
      const err = relErr(have, want);
      // Measured on lavapipe: the worst parameter's relative error is 1.2e-6 (of 55 checked
      // tensors); bound 1e-5, 8x that.
      const wantNorm = Math.sqrt(want.reduce((a, v) => a + v * v, 0));
      if (wantNorm < 1e-12) {
        // Analytically zero gradients (attention key biases shift every score of a row equally;
        // the last LayerNorm bias feeds a softmax over positions): a relative error is undefined,
        // so bound the absolute noise instead, at f32 rounding of the summed terms (measured
        // 1.3e-7 at most; bound 1e-6, 7.5x).
        const maxAbs = Array.from(have).reduce((a, v) => Math.max(a, Math.abs(v)), 0);
        assert.ok(maxAbs <= 1e-6, `${pname}: should be ~0, max |grad| ${maxAbs}`);
      } else {
        assert.ok(err <= 1e-5, `${pname}: relative error ${err}`);
      }
      checked++;
    }
    assert.equal(checked, g.tensors.size - 8);
    g.close();
    model.dispose();
  });
}

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
