import assert from "node:assert/strict";
import { bertConfig, InitCtx, initGpu, QaHead, scope, scopeAsync, Tensor } from "../../../mod.ts";
import { assertClose } from "../../_helpers.ts";

await initGpu();

Deno.test("QaHead: start/end logits from qa_outputs, loss = mean CE, positions clamped to [0, S]", async () => {
  const cfg = bertConfig({ hidden_size: 4, num_attention_heads: 2 });
  const head = new QaHead(cfg, new InitCtx(1, 0.5));
  assert.deepEqual(head.namedParameters().map(([n]) => n), [
    "qa_outputs.weight",
    "qa_outputs.bias",
  ]);
  const [b, s, h] = [2, 3, 4];
  const hidden = Float32Array.from({ length: b * s * h }, (_, i) => Math.cos(i * 0.7));
  const w = await head.qa_outputs.weight.toArray();
  // Row 1's end position 9 clamps to S = 3, which is ignored: its end CE is left out.
  const batch = {
    batch: b,
    seq: s,
    inputIds: new Int32Array(b * s),
    startPositions: [2, -4],
    endPositions: [1, 9],
  };
  const got = await scopeAsync(async () => {
    const out = head.forward(Tensor.fromArray(hidden, [b, s, h]), batch);
    return {
      start: await out.startLogits.toArray(),
      end: await out.endLogits.toArray(),
      loss: await out.loss!.item(),
    };
  });
  const logit = (r: number, t: number, k: number) => {
    let v = 0; // the bias starts at zero (std init)
    for (let j = 0; j < h; j++) v += hidden[(r * s + t) * h + j] * w[k * h + j];
    return v;
  };
  const ce = (r: number, k: number, p: number) => {
    const z = [0, 1, 2].map((t) => logit(r, t, k));
    const m = Math.max(...z);
    return Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0)) + m - z[p];
  };
  const want = (r: number, k: number) => [0, 1, 2].map((t) => logit(r, t, k));
  assertClose(got.start, [...want(0, 0), ...want(1, 0)], { atol: 1e-5, rtol: 1e-5 }, "start");
  assertClose(got.end, [...want(0, 1), ...want(1, 1)], { atol: 1e-5, rtol: 1e-5 }, "end");
  // Start: rows 0 (at 2) and 1 (clamped to 0); end: row 0 only (row 1 ignored).
  const startLoss = (ce(0, 0, 2) + ce(1, 0, 0)) / 2;
  const endLoss = ce(0, 1, 1);
  assertClose([got.loss], [(startLoss + endLoss) / 2], { atol: 1e-5, rtol: 1e-5 }, "loss");
  // labelSmoothing smooths each of the two: (1 - eps) nll + eps mean over positions of -log p.
  const eps = 0.2;
  const smoothedLoss = await scopeAsync(() =>
    head.forward(Tensor.fromArray(hidden, [b, s, h]), { ...batch, labelSmoothing: eps }).loss!
      .item()
  );
  const sce = (r: number, k: number, p: number) =>
    (1 - eps) * ce(r, k, p) + eps * [0, 1, 2].reduce((a, t) => a + ce(r, k, t), 0) / s;
  const smoothed = ((sce(0, 0, 2) + sce(1, 0, 0)) / 2 + sce(0, 1, 1)) / 2;
  assertClose([smoothedLoss], [smoothed], { atol: 1e-5, rtol: 1e-5 }, "smoothed loss");
  const noLabels = scope(() =>
    head.forward(Tensor.fromArray(hidden, [b, s, h]), { ...batch, startPositions: undefined }).loss
  );
  assert.equal(noLabels, null);
  head.dispose();
});
