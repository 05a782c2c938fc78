// RoBERTa heads: parity with PyTorch (tools/mlm_golden.py roberta_qa, roberta_classify,
// roberta_mlm: HF's equations, float64 from float32 weights, dropout off). The fixtures are
// what RoBERTa differs in: one token type, pad id 1 with padding-offset positions (a position
// table of exactly seq + 2 rows) and LayerNorm eps 1e-5.

import assert from "node:assert/strict";
import { initGpu } from "../../mod.ts";
import { assertMatchesGolden, FIXTURES, loadGolden, withGolden } from "./_parity.ts";

await initGpu();

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
