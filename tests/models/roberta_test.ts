// RoBERTa classes: the family check, HF's names, the registry's choice by config, and parity
// with PyTorch (tools/mlm_golden.py roberta_qa, roberta_classify, roberta_mlm: HF's equations,
// float64 from float32 weights, dropout off). The fixtures hold what RoBERTa differs in: one
// token type, pad id 1 with padding-offset positions (a position table of exactly seq + 2 rows)
// and LayerNorm eps 1e-5.

import assert from "node:assert/strict";
import {
  bertConfig,
  ConfigError,
  initGpu,
  modelFor,
  RobertaForMaskedLM,
  RobertaForQuestionAnswering,
  RobertaForSequenceClassification,
  RobertaModel,
} from "../../mod.ts";
import { assertMatchesGolden, FIXTURES, loadGolden, withGolden } from "./_parity.ts";

await initGpu();
const cfg = bertConfig({
  model_type: "roberta",
  vocab_size: 30,
  hidden_size: 8,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 16,
  max_position_embeddings: 20,
  type_vocab_size: 1,
  pad_token_id: 1,
  layer_norm_eps: 1e-5,
});

Deno.test("RoBERTa classes refuse a BERT config", () => {
  const bert = bertConfig({ hidden_size: 8, num_attention_heads: 2 });
  for (
    const C of [
      RobertaModel,
      RobertaForQuestionAnswering,
      RobertaForSequenceClassification,
      RobertaForMaskedLM,
    ]
  ) {
    assert.throws(() => new C(bert), ConfigError);
  }
});

Deno.test("each RoBERTa task model comes from the registry with HF's names and no pooler", () => {
  const want: [string, string, string[]][] = [
    ["question-answering", "RobertaForQuestionAnswering", ["qa_outputs.weight"]],
    ["text-classification", "RobertaForSequenceClassification", [
      "classifier.dense.weight",
      "classifier.out_proj.weight",
    ]],
    ["fill-mask", "RobertaForMaskedLM", [
      "lm_head.dense.weight",
      "lm_head.layer_norm.weight",
      "lm_head.bias",
    ]],
  ];
  for (const [task, arch, heads] of want) {
    const { model, architecture } = modelFor(cfg, { task });
    assert.equal(architecture, arch);
    const names = model.namedParameters().map(([n]) => n);
    for (const h of heads) assert.ok(names.includes(h), `${arch} lacks ${h}`);
    assert.ok(names.every((n) => !n.includes("pooler") && !n.includes("decoder")), names.join());
    assert.ok(
      names.filter((n) => !heads.some((h) => n.startsWith(h.split(".")[0]))).every((n) =>
        n.startsWith("roberta.")
      ),
    );
  }
  const base = new RobertaModel(cfg);
  assert.ok(base.namedParameters().some(([n]) => n === "pooler.dense.weight"));
});

const CASES: [string, string, string[]][] = [
  ["roberta_qa_odd", "RobertaForQuestionAnswering", ["start_logits", "end_logits"]],
  ["roberta_classify_odd", "RobertaForSequenceClassification", ["logits"]],
  ["roberta_mlm_odd", "RobertaForMaskedLM", ["logits"]],
];

for (const [fixture, architecture, names] of CASES) {
  Deno.test(`${architecture} matches PyTorch: outputs, loss, every gradient`, async () => {
    const dir = `${FIXTURES}${fixture}`;
    const model = await loadGolden(dir, architecture);
    try {
      const params = model.namedParameters().map(([n]) => n);
      // HF's names: the encoder under roberta.*, no pooler, the MLM decoder tied (no name).
      assert.ok(params.every((n) => !n.startsWith("bert.") && !n.includes("pooler")));
      assert.ok(params.every((n) => !n.includes("decoder")));
      await withGolden(dir, (g) => assertMatchesGolden(model, g, names));
    } finally {
      model.dispose();
    }
  });
}
