import assert from "node:assert/strict";
import "../_helpers.ts";
import {
  AdapterError,
  applyLora,
  bertConfig,
  BertForMaskedLM,
  BertForQuestionAnswering,
  BertForSequenceClassification,
  countParameters,
  Linear,
  loadAdapter,
  loadModel,
  LoraLinear,
  loraStateOf,
  matchesLoraTarget,
  mergeLora,
  noGrad,
  RobertaForSequenceClassification,
  scopeAsync,
  trainableParametersLine,
} from "../../mod.ts";
import { assertMatchesGolden, FIXTURES, withGolden } from "./_parity.ts";

const tiny = (o: Record<string, unknown> = {}) =>
  bertConfig({
    vocab_size: 50,
    hidden_size: 8,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 12,
    max_position_embeddings: 16,
    ...o,
  });

Deno.test("PEFT's target rule: equal or a .suffix; a string is a whole-path regex", () => {
  const p = "bert.encoder.layer.3.attention.output.dense";
  assert.ok(
    matchesLoraTarget(p, ["output.dense"]),
    "output.dense also matches attention.output.dense",
  );
  assert.ok(matchesLoraTarget(p, [p]));
  assert.ok(!matchesLoraTarget(p, ["put.dense"]), "a suffix starts at a dot");
  assert.ok(!matchesLoraTarget("bert.encoder.layer.3.output.dense", ["attention.output.dense"]));
  assert.ok(matchesLoraTarget(p, ".*layer\\.3\\..*dense"));
  assert.ok(!matchesLoraTarget(p, "layer\\.3"), "the regex must match the whole path");
});

Deno.test("applyLora on QA: query,value by default, base frozen, qa_outputs trained", () => {
  const qa = new BertForQuestionAnswering(tiny(), { seed: 1 });
  const s = applyLora(qa, { r: 2, alpha: 4 });
  assert.deepEqual(
    s.adapted,
    [0, 1].flatMap((l) =>
      ["query", "value"].map((n) => `bert.encoder.layer.${l}.attention.self.${n}`)
    ),
  );
  assert.deepEqual(s.config.modulesToSave, ["qa_outputs"]);
  assert.equal(s.config.taskType, "QUESTION_ANS");
  assert.deepEqual(s.saved, ["qa_outputs.weight", "qa_outputs.bias"]);
  assert.ok(
    qa.bert.layers[0].attention.self.query instanceof LoraLinear,
    "the property is swapped",
  );
  const trainable = qa.namedTrainableParameters().map(([n]) => n);
  assert.deepEqual(trainable, [
    ...[0, 1].flatMap((l) =>
      ["query", "value"].flatMap((n) =>
        ["lora_A", "lora_B"].map((ab) => `bert.encoder.layer.${l}.attention.self.${n}.${ab}.weight`)
      )
    ),
    "qa_outputs.weight",
    "qa_outputs.bias",
  ]);
  // Base names are unchanged: an HF checkpoint still loads into the adapted model.
  assert.ok(
    qa.namedParameters().some(([n]) => n === "bert.encoder.layer.0.attention.self.query.weight"),
  );
  assert.equal(loraStateOf(qa), s);
  assert.throws(() => applyLora(qa), /already has LoRA/);
  qa.dispose();
});

Deno.test("applyLora: classification trains classifier (RoBERTa's whole head), masked LM only adapters", () => {
  const clf = new BertForSequenceClassification(tiny(), { seed: 1 });
  const s = applyLora(clf, { targets: ["key"] });
  assert.equal(s.config.taskType, "SEQ_CLS");
  assert.deepEqual(s.saved, ["classifier.weight", "classifier.bias"]);
  assert.ok(!clf.bert.pooler!.dense.weight.requiresGrad, "the pooler is part of the frozen base");
  clf.dispose();
  const rob = new RobertaForSequenceClassification(
    tiny({ model_type: "roberta", pad_token_id: 1, type_vocab_size: 1 }),
    { seed: 1 },
  );
  // "dense" would match classifier.dense too: PEFT never adapts inside modules_to_save.
  const r = applyLora(rob, { targets: ["dense"] });
  assert.deepEqual(r.saved, [
    "classifier.dense.weight",
    "classifier.dense.bias",
    "classifier.out_proj.weight",
    "classifier.out_proj.bias",
  ]);
  assert.ok(r.adapted.every((p) => !p.startsWith("classifier")), r.adapted.join());
  assert.equal(r.adapted.length, 2 * 3, "attention.output, intermediate and output per layer");
  rob.dispose();
  const mlm = new BertForMaskedLM(tiny(), { seed: 1 });
  const m = applyLora(mlm);
  assert.equal(m.config.taskType, null);
  assert.equal(m.config.modulesToSave, null);
  assert.ok(mlm.namedTrainableParameters().every(([n]) => /lora_[AB]/.test(n)));
  mlm.dispose();
});

Deno.test("applyLora: targets that match nothing, or not a Linear, are AdapterErrors", () => {
  const qa = new BertForQuestionAnswering(tiny(), { seed: 1 });
  assert.throws(
    () => applyLora(qa, { targets: ["nope"] }),
    (e) => e instanceof AdapterError && /\["nope"\] match no Linear layer/.test(e.message),
  );
  assert.throws(
    () => applyLora(qa, { targets: ["attention.output"] }),
    (e) =>
      e instanceof AdapterError &&
      /attention\.output matches the targets but is a BertOutput/.test(e.message),
  );
  assert.equal(loraStateOf(qa), null, "nothing changed");
  assert.ok(qa.parameters().every((t) => t.requiresGrad));
  qa.dispose();
});

// Counting from the model's own tensors: bert-base-uncased (config only, random weights) is
// 109M parameters, 437 MB of f32 on the adapter.
Deno.test("bert-base-uncased QA, r 8 on query,value: PEFT's line exactly", () => {
  const qa = new BertForQuestionAnswering(bertConfig({ vocab_size: 30522 }), { seed: 0 });
  try {
    applyLora(qa, { r: 8, alpha: 1, dropout: 0.1 });
    assert.equal(
      trainableParametersLine(qa),
      "trainable params: 296,450 || all params: 109,189,636 || trainable%: 0.2715",
    );
    assert.deepEqual(countParameters(qa), { trainable: 296450, all: 109189636 });
  } finally {
    qa.dispose();
  }
});

// Logits, loss and the gradient of every trainable parameter (lora_A, lora_B, qa_outputs)
// against tools/lora_golden.py (PEFT's equations in float64, B non-zero); frozen parameters
// get no gradient.
for (const name of ["odd", "all"]) {
  Deno.test(`LoRA parity with PyTorch: lora_qa_${name}`, async () => {
    const dir = `${FIXTURES}lora_qa_${name}`;
    const { model } = await loadModel(dir, { quiet: true });
    const s = await loadAdapter(model, `${dir}/adapter`);
    assert.equal(s.adapted.length, name === "odd" ? 4 : 6);
    await withGolden(
      dir,
      (g) => assertMatchesGolden(model as never, g, ["start_logits", "end_logits"]),
    );
    model.dispose();
  });
}

Deno.test("mergeLora: plain Linear layers, HF names only, logits within 1e-5 of the adapter's", async () => {
  const dir = `${FIXTURES}lora_qa_all`;
  const { model } = await loadModel(dir, { quiet: true });
  await loadAdapter(model, `${dir}/adapter`);
  model.train(false);
  const batch = {
    batch: 2,
    seq: 9,
    inputIds: Int32Array.from({ length: 18 }, (_, i) => 1 + (i * 7) % 49),
  };
  const logits = () =>
    scopeAsync(async () => {
      const out = noGrad(() => model.forward(batch)) as {
        startLogits: { toArray(): Promise<ArrayLike<number>> };
      };
      return Array.from(await out.startLogits.toArray());
    });
  const before = await logits();
  const names = new Set(
    model.namedParameters().map(([n]) => n).filter((n) => !/lora_[AB]/.test(n)),
  );
  assert.equal(mergeLora(model).length, 6);
  assert.equal(loraStateOf(model), null);
  assert.deepEqual(new Set(model.namedParameters().map(([n]) => n)), names);
  const q = (model as unknown as BertForQuestionAnswering).bert.layers[0].attention.self.query;
  assert.ok(q instanceof Linear && !(q instanceof LoraLinear));
  const after = await logits();
  const err = Math.max(...after.map((v, i) => Math.abs(v - before[i])));
  assert.ok(err <= 1e-5, `merged logits differ by ${err}`);
  console.log(`merged vs adapter: max |Δ logit| ${err.toExponential(2)}`);
  model.dispose();
});
