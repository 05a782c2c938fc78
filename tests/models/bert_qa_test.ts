// Parity with PyTorch: golden fixtures from tools/bert_golden.py (HF BertForQuestionAnswering
// equations, float64 from float32 weights, dropout off): logits, loss and every gradient.

import { assertMatchesGolden, FIXTURES, loadGolden, withGolden } from "./_parity.ts";

for (const name of ["odd", "batch"]) {
  Deno.test(`BertForQuestionAnswering matches PyTorch: logits, loss, every gradient (${name})`, async () => {
    // Measured on lavapipe: logits and loss within 6.0e-7 of the goldens (both fixtures), the
    // worst of 55 gradients 1.2e-6 relative; the analytically zero ones (attention key biases,
    // and the last LayerNorm bias feeding a softmax over positions) 1.3e-7 absolute. The shared
    // bounds (5e-6, 1e-5 relative, 1e-6 absolute) catch a 2e-5 relative error of logits ~1.
    const dir = `${FIXTURES}bert_qa_${name}`;
    const model = await loadGolden(dir, "BertForQuestionAnswering");
    await withGolden(dir, (g) => assertMatchesGolden(model, g, ["start_logits", "end_logits"]));
    model.dispose();
  });
}
