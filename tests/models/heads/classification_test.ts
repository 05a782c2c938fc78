import assert from "node:assert/strict";
import {
  bertConfig,
  BertPooler,
  ClassificationHead,
  ConfigError,
  DataError,
  DropoutCtx,
  InitCtx,
  initGpu,
  scope,
  scopeAsync,
  Tensor,
} from "../../../mod.ts";
import { assertClose } from "../../_helpers.ts";

await initGpu();

const [b, s, h] = [3, 2, 4];
const hidden = Float32Array.from({ length: b * s * h }, (_, i) => Math.cos(i * 0.7));
const batch = { batch: b, seq: s, inputIds: new Int32Array(b * s) };

function head(raw: Record<string, unknown> = {}) {
  const cfg = bertConfig({ hidden_size: h, num_attention_heads: 2, num_labels: 3, ...raw });
  const init = new InitCtx(1, 0.5);
  const pooler = new BertPooler(cfg, init);
  const drop = new DropoutCtx();
  return { head: new ClassificationHead(cfg, init, pooler, drop), pooler, drop };
}

Deno.test("ClassificationHead: classifier(tanh(pooler(x[:, 0]))), mean CE with -100 left out", async () => {
  const { head: cls, pooler } = head();
  cls.train(false); // no dropout
  // The pooler is the encoder's: the head owns the classifier alone.
  assert.deepEqual(cls.namedParameters().map(([n]) => n), ["classifier.weight", "classifier.bias"]);
  const pw = await pooler.dense.weight.toArray();
  const cw = await cls.classifier.weight.toArray();
  cls.classifier.bias.write(Float32Array.from([0.1, -0.2, 0.3]));
  const cb = [0.1, -0.2, 0.3];
  const logit = (r: number) => {
    const first = hidden.subarray(r * s * h, r * s * h + h);
    const pooled = Array.from({ length: h }, (_, o) => {
      let v = 0; // the pooler's bias starts at zero
      for (let j = 0; j < h; j++) v += first[j] * pw[o * h + j];
      return Math.tanh(v);
    });
    return cb.map((bias, k) => pooled.reduce((a, p, j) => a + p * cw[k * h + j], bias));
  };
  const ce = (z: number[], y: number) => {
    const m = Math.max(...z);
    return Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0)) + m - z[y];
  };
  const got = await scopeAsync(async () => {
    const out = cls.forward(Tensor.fromArray(hidden, [b, s, h]), {
      ...batch,
      labels: [2, -100, 0],
    });
    return { logits: await out.logits.toArray(), loss: await out.loss!.item() };
  });
  const tol = { atol: 1e-5, rtol: 1e-5 };
  assertClose(got.logits, [0, 1, 2].flatMap(logit), tol, "logits");
  assertClose([got.loss], [(ce(logit(0), 2) + ce(logit(2), 0)) / 2], tol, "loss");
  assert.equal(scope(() => cls.forward(Tensor.fromArray(hidden, [b, s, h]), batch).loss), null);
  cls.dispose();
  pooler.dispose();
});

Deno.test("ClassificationHead refuses labels PyTorch would: out of range, wrong count, regression", () => {
  const { head: cls, pooler } = head();
  const run = (labels: number[]) =>
    scope(() => cls.forward(Tensor.fromArray(hidden, [b, s, h]), { ...batch, labels }));
  assert.throws(
    () => run([0, 3, 1]),
    (e: Error) => e instanceof DataError && /label 3 of sequence 1/.test(e.message),
  );
  assert.throws(() => run([0, 1.5, 1]), DataError);
  assert.throws(() => run([0, 1]), /2 labels for 3 sequences/);
  cls.dispose();
  pooler.dispose();
  // HF treats one label as regression (MSE), which this head does not do.
  const one = head({ num_labels: 1 });
  assert.throws(
    () =>
      scope(() =>
        one.head.forward(Tensor.fromArray(hidden, [b, s, h]), { ...batch, labels: [0, 0, 0] })
      ),
    (e: Error) => e instanceof ConfigError && /problem_type "regression"/.test(e.message),
  );
  one.head.dispose();
  one.pooler.dispose();
});

Deno.test("ClassificationHead dropout: classifier_dropout (else hidden_dropout_prob) from the model's DropoutCtx", async () => {
  const logits = (cls: ClassificationHead) =>
    scopeAsync(() => cls.forward(Tensor.fromArray(hidden, [b, s, h]), batch).logits.toArray());
  const a = head({ classifier_dropout: 0.5, hidden_dropout_prob: 0 });
  const plain = await logits(a.head.train(false));
  a.head.train(true);
  a.drop.step = 4;
  const first = await logits(a.head);
  assert.equal(a.drop.site, 1, "one dropout site");
  a.drop.site = 0;
  assert.deepEqual(await logits(a.head), first, "same step and site: the same mask");
  assert.notDeepEqual(first, plain);
  a.drop.site = 0;
  a.drop.step = 5;
  assert.notDeepEqual(await logits(a.head), first, "a new step draws a new mask");
  // classifier_dropout 0 wins over hidden_dropout_prob; null falls back to it.
  const off = head({ classifier_dropout: 0, hidden_dropout_prob: 0.5 });
  off.head.train(true);
  assert.deepEqual(await logits(off.head), plain);
  const fallback = head({ classifier_dropout: null, hidden_dropout_prob: 0.5 });
  fallback.head.train(true);
  assert.notDeepEqual(await logits(fallback.head), plain);
  for (const x of [a, off, fallback]) {
    x.head.dispose();
    x.pooler.dispose();
  }
});
