import assert from "node:assert/strict";
import { bertConfig, ConfigError, readBertConfig, withLabels } from "../../mod.ts";

Deno.test("HF defaults fill missing fields", () => {
  const c = bertConfig({ vocab_size: 100 });
  assert.equal(c.hidden_size, 768);
  assert.equal(c.layer_norm_eps, 1e-12);
  assert.equal(c.vocab_size, 100);
});

Deno.test("invalid configs are refused with the file and the fault", async () => {
  const bad: [unknown, RegExp][] = [
    [[], /JSON object/],
    [{ hidden_size: 100, num_attention_heads: 12 }, /does not divide/],
    [{ hidden_size: 0 }, /hidden_size must be a positive integer/],
    [{ vocab_size: -3 }, /vocab_size/],
    [{ num_hidden_layers: 1.5 }, /num_hidden_layers/],
    [{ hidden_dropout_prob: 1 }, /hidden_dropout_prob/],
    [{ hidden_act: "relu" }, /hidden_act/],
    [{ vocab_size: 10, pad_token_id: 10 }, /pad_token_id/],
    [{ model_type: "gpt2" }, /model_type "gpt2" is not supported \(bert, roberta, /],
    [{ model_type: null }, /model_type null is not supported/],
  ];
  for (const [raw, re] of bad) {
    assert.throws(() => bertConfig(raw, "x/config.json"), (e: Error) => {
      return e instanceof ConfigError && e.message.startsWith("x/config.json: ") &&
        re.test(e.message);
    }, JSON.stringify(raw));
  }
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/config.json`, "{not json");
  await assert.rejects(() => readBertConfig(`${dir}/config.json`), /invalid JSON/);
  await assert.rejects(() => readBertConfig(`${dir}/none.json`), /file not found/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("RoBERTa-family configs are accepted, with HF's RoBERTa defaults", () => {
  const r = bertConfig({ model_type: "roberta" });
  assert.equal(r.pad_token_id, 1);
  assert.equal(r.vocab_size, 50265);
  const x = bertConfig({ model_type: "xlm-roberta", vocab_size: 250002, type_vocab_size: 1 });
  assert.equal(x.pad_token_id, 1);
  assert.equal(x.type_vocab_size, 1);
  assert.equal(bertConfig({ model_type: "camembert", pad_token_id: 3 }).pad_token_id, 3);
  assert.equal(bertConfig({}).model_type, "bert");
});

Deno.test("labels: HF's defaults, id2label decides num_labels, inconsistent maps are refused", () => {
  const d = bertConfig({});
  assert.equal(d.num_labels, 2);
  assert.deepEqual(d.id2label, { 0: "LABEL_0", 1: "LABEL_1" });
  assert.deepEqual(d.label2id, { LABEL_0: 0, LABEL_1: 1 });
  assert.deepEqual(bertConfig({ num_labels: 3 }).id2label, {
    0: "LABEL_0",
    1: "LABEL_1",
    2: "LABEL_2",
  });
  const named = bertConfig({ id2label: { 1: "pos", 0: "neg" }, label2id: { neg: 0, pos: 1 } });
  assert.equal(named.num_labels, 2);
  assert.deepEqual(named.label2id, { neg: 0, pos: 1 });
  // A label2id left at the defaults beside renamed labels (common on the hub) is rebuilt.
  const stale = bertConfig({
    id2label: { 0: "neg", 1: "pos" },
    label2id: { LABEL_0: 0, LABEL_1: 1 },
  });
  assert.deepEqual(stale.label2id, { neg: 0, pos: 1 });
  assert.equal(withLabels(named, ["a", "b", "c"]).label2id.c, 2);
  const bad: [unknown, RegExp][] = [
    [{ num_labels: 0 }, /num_labels must be a positive integer/],
    [{ num_labels: "2" }, /num_labels must be a positive integer/],
    [{ id2label: ["a", "b"] }, /id2label must be an object/],
    [{ id2label: {} }, /id2label must name 1 to 1e6 labels/],
    [{ id2label: { 0: "a", 2: "b" } }, /each id 0\.\.1 to a name \(id 1\)/],
    [{ id2label: { 0: "a", 1: 7 } }, /each id 0\.\.1 to a name/],
    [{ id2label: { 0: "a", 1: "a" } }, /names "a" twice/],
    [{ num_labels: 3, id2label: { 0: "a", 1: "b" } }, /num_labels 3 disagrees with id2label's 2/],
    [{ id2label: { 0: "a", 1: "b" }, label2id: { a: 1, b: 0 } }, /not the inverse of id2label/],
    [{ id2label: { 0: "a", 1: "b" }, label2id: { a: 0 } }, /not the inverse of id2label/],
    [{ label2id: [0, 1] }, /label2id must be an object/],
    [{ classifier_dropout: 1 }, /classifier_dropout must be null or in \[0, 1\)/],
  ];
  for (const [raw, re] of bad) {
    assert.throws(
      () => bertConfig(raw, "x/config.json"),
      (e: Error) =>
        e instanceof ConfigError && e.message.startsWith("x/config.json: ") && re.test(e.message),
      JSON.stringify(raw),
    );
  }
});
