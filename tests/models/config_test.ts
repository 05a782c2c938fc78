import assert from "node:assert/strict";
import { bertConfig, ConfigError, readBertConfig } from "../../mod.ts";

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
