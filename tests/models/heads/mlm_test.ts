// The masked-LM head on its own: names per family, and labels checked as PyTorch would.

import assert from "node:assert/strict";
import {
  BERT_MLM_NAMES,
  bertConfig,
  DataError,
  Embedding,
  InitCtx,
  initGpu,
  MaskedLmHead,
  ROBERTA_MLM_NAMES,
  scope,
  Tensor,
} from "../../../mod.ts";

await initGpu();
const cfg = bertConfig({ vocab_size: 10, hidden_size: 8, num_attention_heads: 2 });
const words = new Embedding(10, 8, { seed: 1, std: 0.02 });
const hidden = () => Tensor.fromArray(new Float32Array(48).map((_, i) => Math.sin(i)), [2, 3, 8]);

Deno.test("MaskedLmHead: HF's names per family, the decoder weight not among them", () => {
  const bert = new MaskedLmHead(cfg, new InitCtx(0, 0.02), words, BERT_MLM_NAMES);
  assert.deepEqual(
    new Set(bert.namedParameters().map(([n]) => n)),
    new Set([
      "cls.predictions.bias",
      "cls.predictions.transform.dense.weight",
      "cls.predictions.transform.dense.bias",
      "cls.predictions.transform.LayerNorm.weight",
      "cls.predictions.transform.LayerNorm.bias",
    ]),
  );
  const roberta = new MaskedLmHead(cfg, new InitCtx(0, 0.02), words, ROBERTA_MLM_NAMES);
  assert.deepEqual(
    new Set(roberta.namedParameters().map(([n]) => n)),
    new Set([
      "lm_head.bias",
      "lm_head.dense.weight",
      "lm_head.dense.bias",
      "lm_head.layer_norm.weight",
      "lm_head.layer_norm.bias",
    ]),
  );
});

Deno.test("MaskedLmHead: a label outside the vocab or a wrong count is a DataError", () => {
  const head = new MaskedLmHead(cfg, new InitCtx(0, 0.02), words, BERT_MLM_NAMES);
  const base = { batch: 2, seq: 3, inputIds: new Int32Array(6) };
  scope(() => {
    assert.throws(
      () => head.forward(hidden(), { ...base, labels: [-100, 10, -100, -100, -100, -100] }),
      (e) =>
        e instanceof DataError &&
        /label 10 of token 1 is outside \[0, vocab_size 10\)/.test(e.message),
    );
    assert.throws(() => head.forward(hidden(), { ...base, labels: [1, 2] }), DataError);
    assert.throws(
      () =>
        head.forward(hidden(), {
          ...base,
          labels: new Array(6).fill(1),
          predictAt: new Int32Array([6]),
        }),
      DataError,
    );
    const ok = head.forward(hidden(), { ...base, labels: [-100, 9, -100, -100, 0, -100] });
    assert.deepEqual(ok.logits.shape, [2, 3, 10]);
  });
});
