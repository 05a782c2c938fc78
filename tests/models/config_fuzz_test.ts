// Seeded fuzzing of the config reader: 10,000 mutations of a valid config.json; the only
// allowed outcomes are a config or a ConfigError.

import assert from "node:assert/strict";
import { ConfigError, parseBertConfig } from "../../mod.ts";
import { rng } from "../_helpers.ts";

const VALID = JSON.stringify(
  {
    architectures: ["BertForQuestionAnswering"],
    model_type: "bert",
    vocab_size: 119547,
    hidden_size: 768,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    intermediate_size: 3072,
    hidden_act: "gelu",
    max_position_embeddings: 512,
    type_vocab_size: 2,
    layer_norm_eps: 1e-12,
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    pad_token_id: 0,
    initializer_range: 0.02,
  },
  null,
  2,
);

const VALUES = [
  0,
  -1,
  1,
  7,
  1e12,
  0.5,
  -0.0,
  1e-300,
  "12",
  "",
  null,
  true,
  [],
  {},
  [1],
  "gelu",
  NaN,
];

function mutate(r: () => number): string {
  const kind = Math.floor(r() * 4);
  if (kind === 0) { // bit flips
    const b = new TextEncoder().encode(VALID);
    for (let k = 0; k < 1 + r() * 4; k++) b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8);
    return new TextDecoder().decode(b);
  }
  if (kind === 1) return VALID.slice(0, Math.floor(r() * VALID.length)); // truncation
  const obj = JSON.parse(VALID);
  const keys = Object.keys(obj);
  for (let k = 0; k < 1 + r() * 3; k++) {
    const key = kind === 2 ? keys[Math.floor(r() * keys.length)] : `x${Math.floor(r() * 5)}`;
    if (r() < 0.2) delete obj[key];
    else obj[key] = VALUES[Math.floor(r() * VALUES.length)];
  }
  return JSON.stringify(obj);
}

Deno.test("10,000 mutated configs give a config or a ConfigError, nothing else", () => {
  const r = rng(2024);
  let ok = 0;
  let refused = 0;
  for (let i = 0; i < 10_000; i++) {
    const text = mutate(r);
    try {
      const c = parseBertConfig(text, "fuzz/config.json");
      assert.equal(c.hidden_size % c.num_attention_heads, 0);
      ok++;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw new Error(`case ${i}: ${e} for ${text.slice(0, 200)}`);
      assert.ok(e.message.startsWith("fuzz/config.json: "));
      refused++;
    }
  }
  assert.ok(ok > 100 && refused > 1000, `ok ${ok}, refused ${refused}`);
});
