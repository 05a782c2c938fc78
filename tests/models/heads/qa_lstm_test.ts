// The LSTM-LayerNorm QA head: parity with PyTorch on a tiny BERT and a tiny RoBERTa
// (tools/qa_lstm_golden.py: nn.LSTM packed by the attention mask, nn.LayerNorm, HF's span loss;
// logits, loss and every parameter gradient), padding independence, dropout, and the config
// round trip through the registry.

import assert from "node:assert/strict";
import {
  bertConfig,
  BertForQuestionAnsweringWithLSTMLNHead,
  initGpu,
  loadQaModel,
  modelFor,
  noGrad,
  QaLstmHead,
  saveModel,
  scopeAsync,
  withQaHead,
} from "../../../mod.ts";
import { assertClose } from "../../_helpers.ts";
import { assertMatchesGolden, FIXTURES, loadGolden, withGolden } from "../_parity.ts";

await initGpu();

for (
  const [dir, arch] of [
    ["bert_qa_lstm_odd", "BertForQuestionAnsweringWithLSTMLNHead"],
    ["roberta_qa_lstm_odd", "RobertaForQuestionAnsweringWithLSTMLNHead"],
  ]
) {
  Deno.test(`${arch} matches PyTorch: logits, loss and every gradient (${dir})`, async () => {
    const model = await loadGolden(FIXTURES + dir, arch);
    await withGolden(
      FIXTURES + dir,
      (g) => assertMatchesGolden(model, g, ["start_logits", "end_logits"]),
    );
    model.dispose();
  });
}

const cfg = bertConfig({
  vocab_size: 30,
  hidden_size: 8,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 16,
  max_position_embeddings: 16,
  hidden_dropout_prob: 0,
  attention_probs_dropout_prob: 0,
  qa_lstm_hidden_size: 3,
});

Deno.test("a window's logits do not depend on its batch's padding", async () => {
  const model = new BertForQuestionAnsweringWithLSTMLNHead(cfg, { seed: 3 }).train(false);
  const ids = [2, 7, 9, 4, 3];
  const logits = (seq: number) =>
    scopeAsync(async () => {
      const inputIds = Int32Array.from({ length: seq }, (_, i) => ids[i] ?? 0);
      const attentionMask = Int32Array.from({ length: seq }, (_, i) => (i < ids.length ? 1 : 0));
      const out = noGrad(() => model.forward({ batch: 1, seq, inputIds, attentionMask }));
      return (await out.startLogits.toArray()).slice(0, ids.length);
    });
  assertClose(await logits(9), await logits(5), { atol: 1e-6, rtol: 0 }, "padded vs not");
  model.dispose();
});

Deno.test("head dropout acts while training only, with the config's rate", async () => {
  const model = new BertForQuestionAnsweringWithLSTMLNHead({ ...cfg, head_dropout: 0.5 });
  assert.ok(model.head instanceof QaLstmHead);
  assert.equal(model.head.dropout, 0.5);
  const batch = { batch: 1, seq: 4, inputIds: new Int32Array([2, 5, 6, 3]) };
  const run = (training: boolean) =>
    scopeAsync(async () => {
      model.train(training);
      model.setDropoutStep(1, 7);
      return await noGrad(() => model.forward(batch)).startLogits.toArray();
    });
  const [a, b, off] = [await run(true), await run(true), await run(false)];
  assertClose(a, b, { atol: 0, rtol: 0 }, "same step, same mask");
  assert.ok(a.some((v, i) => Math.abs(v - off[i]) > 1e-6), "dropout changed nothing");
  model.dispose();
});

Deno.test("withQaHead records the head; the saved config loads the same model back", async () => {
  const roberta = withQaHead(
    bertConfig({ ...cfg, model_type: "roberta", pad_token_id: 1, type_vocab_size: 1 }),
    { head: "lstm", headDropout: 0.25 },
  );
  assert.deepEqual(roberta.architectures, ["RobertaForQuestionAnsweringWithLSTMLNHead"]);
  assert.equal(roberta.head_dropout, 0.25);
  assert.equal(roberta.qa_lstm_hidden_size, 3);
  assert.deepEqual(withQaHead(roberta, { head: "qa" }).architectures, [
    "RobertaForQuestionAnswering",
  ]);
  // The config's own QA class wins over the task's default.
  const { model, architecture } = modelFor(roberta, { task: "question-answering", seed: 1 });
  assert.equal(architecture, "RobertaForQuestionAnsweringWithLSTMLNHead");
  const names = model.namedParameters().map(([n]) => n).filter((n) => !n.startsWith("roberta."));
  assert.deepEqual(names, [
    "lstm.weight_ih_l0",
    "lstm.weight_hh_l0",
    "lstm.bias_ih_l0",
    "lstm.bias_hh_l0",
    "lstm.weight_ih_l0_reverse",
    "lstm.weight_hh_l0_reverse",
    "lstm.bias_ih_l0_reverse",
    "lstm.bias_hh_l0_reverse",
    "layer_norm.weight",
    "layer_norm.bias",
    "qa_outputs.weight",
    "qa_outputs.bias",
  ]);
  const dir = await Deno.makeTempDir();
  await saveModel(model, model.config, dir);
  const loaded = await loadQaModel(dir, { quiet: true });
  assert.equal(loaded.model.architecture, "RobertaForQuestionAnsweringWithLSTMLNHead");
  assert.deepEqual(loaded.report, { unexpected: [], newlyInitialized: [] });
  assert.equal((loaded.model.head as QaLstmHead).dropout, 0.25);
  const w = await model.head.namedParameters()[1][1].toArray();
  assertClose(await loaded.model.head.namedParameters()[1][1].toArray(), w, {
    atol: 0,
    rtol: 0,
  }, "lstm.weight_hh_l0");
  model.dispose();
  loaded.model.dispose();
  await Deno.remove(dir, { recursive: true });
});
