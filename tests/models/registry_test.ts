import assert from "node:assert/strict";
import {
  bertConfig,
  BertForQuestionAnswering,
  ConfigError,
  initGpu,
  knownArchitectures,
  modelFor,
  registerArchitecture,
  resolveArchitecture,
} from "../../mod.ts";

await initGpu();

const tiny = {
  vocab_size: 20,
  hidden_size: 8,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 12,
  max_position_embeddings: 12,
};

Deno.test("config.json's architectures picks the class; a task picks by model_type", () => {
  const bert = bertConfig({ ...tiny, architectures: ["BertForQuestionAnswering"] });
  assert.equal(resolveArchitecture(bert).name, "BertForQuestionAnswering");
  // A base checkpoint saved as BertForMaskedLM still gets a QA model for the QA task.
  const base = bertConfig({ ...tiny, architectures: ["BertForMaskedLM"] });
  assert.equal(
    resolveArchitecture(base, { task: "question-answering" }).name,
    "BertForQuestionAnswering",
  );
  assert.equal(
    resolveArchitecture(base, { task: "text-classification" }).name,
    "BertForSequenceClassification",
  );
  for (
    const [type, name] of [
      ["roberta", "RobertaForQuestionAnswering"],
      ["xlm-roberta", "XLMRobertaForQuestionAnswering"],
      ["camembert", "CamembertForQuestionAnswering"],
    ]
  ) {
    const c = bertConfig({ ...tiny, model_type: type });
    const r = resolveArchitecture(c, { task: "question-answering" });
    assert.equal(r.name, name);
    assert.equal(r.arch.prefix, "roberta");
  }
});

Deno.test("unknown or mismatched architectures are ConfigErrors listing the known ones", () => {
  const fails = (raw: Record<string, unknown>, opts: object, re: RegExp) =>
    assert.throws(
      () => resolveArchitecture(bertConfig({ ...tiny, ...raw }), opts, "m/config.json"),
      (e: Error) =>
        e instanceof ConfigError && e.message.startsWith("m/config.json: ") && re.test(e.message),
      JSON.stringify(raw),
    );
  fails(
    { architectures: ["BertForTokenClassification"] },
    {},
    /architecture BertForTokenClassification is not supported \(known: .*BertForQuestionAnswering, .*RobertaForQuestionAnswering/,
  );
  fails({ architectures: undefined }, {}, /names no architectures: pass a task \(known: /);
  fails(
    {},
    { task: "token-classification" },
    /no token-classification architecture for model_type "bert" \(known: /,
  );
  fails(
    { model_type: "roberta", architectures: ["BertForQuestionAnswering"] },
    {},
    /BertForQuestionAnswering is for model_type bert, not "roberta"/,
  );
});

Deno.test("modelFor builds under the entry's prefix; a new architecture is one registration", () => {
  const c = bertConfig({ ...tiny, model_type: "roberta", type_vocab_size: 1 });
  const { model, architecture, prefix } = modelFor(c, { task: "question-answering", seed: 1 });
  assert.equal(architecture, "RobertaForQuestionAnswering");
  assert.equal(prefix, "roberta");
  assert.ok(model instanceof BertForQuestionAnswering);
  assert.equal(model.architecture, "RobertaForQuestionAnswering");
  const names = model.namedParameters().map(([n]) => n);
  assert.ok(names.every((n) => n.startsWith("roberta.") || n.startsWith("qa_outputs.")));
  assert.equal(names.filter((n) => n.startsWith("qa_outputs.")).length, 2);
  model.dispose();

  registerArchitecture("TestBertForSpans", {
    task: "span-test",
    modelTypes: ["bert"],
    prefix: "encoder",
    build: (cfg, o) => new BertForQuestionAnswering(cfg, o),
  });
  assert.ok(knownArchitectures().includes("TestBertForSpans"));
  const built = modelFor(bertConfig({ ...tiny, architectures: ["TestBertForSpans"] }));
  assert.equal(built.model.namedParameters()[0][0], "encoder.embeddings.word_embeddings.weight");
  assert.equal(built.model.architecture, "TestBertForSpans");
  built.model.dispose();
});
