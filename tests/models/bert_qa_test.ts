// Parity with PyTorch: golden fixtures from tools/bert_golden.py (HF BertForQuestionAnswering
// equations, float64 from float32 weights, dropout off): logits, loss and every gradient.

import assert from "node:assert/strict";
import { backward, loadBertForQa, openSafetensors, scopeAsync } from "../../mod.ts";
import { assertClose } from "../_helpers.ts";
import { relErr } from "../_ref.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;

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
