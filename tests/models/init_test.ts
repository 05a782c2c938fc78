import assert from "node:assert/strict";
import {
  bertConfig,
  BertForQuestionAnswering,
  BertModel,
  EncoderWithHead,
  InitCtx,
  initGpu,
  Linear,
  type Module,
  QaHead,
} from "../../mod.ts";

await initGpu();

const cfg = (layers: number) =>
  bertConfig({
    vocab_size: 30,
    hidden_size: 8,
    num_hidden_layers: layers,
    num_attention_heads: 2,
    intermediate_size: 12,
    max_position_embeddings: 10,
  });

async function weights(m: Module) {
  const out = new Map<string, number[]>();
  for (const [n, t] of m.namedParameters()) out.set(n, [...await t.toArray()]);
  return out;
}

Deno.test("InitCtx hands out seed·7919 + k·104729 in order, std from the config", () => {
  const init = new InitCtx(3, 0.05);
  for (let k = 0; k < 4; k++) {
    assert.deepEqual(init.next(), { seed: 3 * 7919 + k * 104729, std: 0.05 });
  }
  assert.equal(init.count, 4);
  assert.equal(InitCtx.of(init, 1), init);
  assert.deepEqual(InitCtx.of(5, 0.02).next(), { seed: 5 * 7919, std: 0.02 });
});

Deno.test("qa_outputs continues the encoder's sequence: k = 3 embeddings + 6 per layer", async () => {
  const c = cfg(2);
  const qa = new BertForQuestionAnswering(c, { seed: 4 });
  const k = 3 + 6 * c.num_hidden_layers;
  const alone = new Linear(c.hidden_size, 2, { seed: 4 * 7919 + k * 104729, std: 0.02 });
  assert.deepEqual([...await qa.qa_outputs.weight.toArray()], [...await alone.weight.toArray()]);
  alone.dispose();
  qa.dispose();
});

Deno.test("two models built interleaved in one process get the weights they get alone", async () => {
  // Different depths, so that a shared counter would shift the second model's head.
  const [ca, cb] = [cfg(2), cfg(1)];
  const alone = async (c: typeof ca, seed: number) => {
    const m = new BertForQuestionAnswering(c, { seed });
    const w = await weights(m);
    m.dispose();
    return w;
  };
  const wantA = await alone(ca, 1);
  const wantB = await alone(cb, 2);
  // A's encoder, then all of B, then A's head: what two encoders in one model (DPR) do.
  const initA = new InitCtx(1, ca.initializer_range);
  const encA = new BertModel(ca, { seed: 1, init: initA });
  const b = new BertForQuestionAnswering(cb, { seed: 2 });
  const extra = new BertModel(cb, { seed: 9 }); // and an unrelated model in between
  const a = new EncoderWithHead(ca, encA, new QaHead(ca, initA), {
    prefix: "bert",
    architecture: "BertForQuestionAnswering",
  });
  assert.deepEqual(await weights(a), wantA);
  assert.deepEqual(await weights(b), wantB);
  for (const m of [a, b, extra]) m.dispose();
});
