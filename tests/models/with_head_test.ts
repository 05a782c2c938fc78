import assert from "node:assert/strict";
import {
  type BertBatch,
  bertConfig,
  BertModel,
  EncoderWithHead,
  Head,
  InitCtx,
  initGpu,
  Linear,
  scopeAsync,
  type Tensor,
} from "../../mod.ts";

await initGpu();

const cfg = bertConfig({
  model_type: "roberta",
  vocab_size: 20,
  hidden_size: 8,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 12,
  max_position_embeddings: 10,
  type_vocab_size: 1,
});

/** A head with a nested HF name (as `cls.predictions.*`) that records what it was given. */
class Probe extends Head<BertBatch, Tensor> {
  proj: Linear;
  seen: { hidden?: Tensor; batch?: BertBatch } = {};
  constructor(init: InitCtx) {
    super();
    this.proj = this.child("cls.proj", new Linear(8, 3, init.next()));
  }
  forward(hidden: Tensor, batch: BertBatch): Tensor {
    this.seen = { hidden, batch };
    return this.proj.forward(hidden);
  }
}

Deno.test("encoder + head: encoder under its prefix, head params under their own names", async () => {
  const init = new InitCtx(2, cfg.initializer_range);
  const model = new EncoderWithHead(cfg, new BertModel(cfg, { seed: 2, init }), new Probe(init), {
    prefix: "roberta",
    architecture: "RobertaForProbing",
  });
  const names = model.namedParameters().map(([n]) => n);
  assert.equal(names[0], "roberta.embeddings.word_embeddings.weight");
  assert.deepEqual(names.slice(-2), ["cls.proj.weight", "cls.proj.bias"]);
  assert.ok(names.every((n) => n.startsWith("roberta.") || n.startsWith("cls.proj.")));
  assert.equal(model.prefix, "roberta");
  assert.equal(model.architecture, "RobertaForProbing");
  model.train(false);
  assert.equal(model.head.training, false);
  const batch = { batch: 1, seq: 4, inputIds: new Int32Array([0, 5, 6, 2]) };
  await scopeAsync(async () => {
    const out = model.forward(batch);
    assert.deepEqual(out.shape, [1, 4, 3]);
    assert.equal(model.head.seen.batch, batch, "the head gets the batch, for its labels");
    const h = await model.encoder.forward(batch).toArray();
    assert.deepEqual([...await model.head.seen.hidden!.toArray()], [...h]);
  });
  model.dispose();
});
