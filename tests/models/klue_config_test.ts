// KLUE's RoBERTa configs (klue/roberta-small, -base, -large; the hub's config.json files
// byte for byte): they read, keep RoBERTa's fields, and pick the RoBERTa QA head by task.

import assert from "node:assert/strict";
import { readBertConfig } from "../../src/models/config.ts";
import { resolveArchitecture } from "../../src/models/registry.ts";
import { fixture } from "../_data.ts";

const SIZES = {
  small: { hidden_size: 768, num_hidden_layers: 6, num_attention_heads: 12 },
  base: { hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12 },
  large: { hidden_size: 1024, num_hidden_layers: 24, num_attention_heads: 16 },
};

for (const [size, dims] of Object.entries(SIZES)) {
  Deno.test(`klue/roberta-${size}: config.json reads with RoBERTa's fields`, async () => {
    const c = await readBertConfig(fixture(`klue/roberta-${size}/config.json`));
    assert.equal(c.model_type, "roberta");
    assert.deepEqual(c.architectures, ["RobertaForMaskedLM"]);
    assert.equal(c.layer_norm_eps, 1e-5);
    assert.equal(c.type_vocab_size, 1);
    assert.equal(c.pad_token_id, 1);
    assert.equal(c.max_position_embeddings, 514);
    assert.equal(c.vocab_size, 32000);
    assert.equal(c.tokenizer_class, "BertTokenizer", "unknown fields are kept");
    for (const [k, v] of Object.entries(dims)) assert.equal(c[k], v, k);
    const qa = resolveArchitecture(c, { task: "question-answering" });
    assert.equal(qa.name, "RobertaForQuestionAnswering");
    assert.equal(qa.arch.prefix, "roberta");
    const tasks = {
      "text-classification": "RobertaForSequenceClassification",
      "fill-mask": "RobertaForMaskedLM",
    };
    for (const [task, name] of Object.entries(tasks)) {
      assert.equal(resolveArchitecture(c, { task }).name, name);
    }
    // With no task, the config's own class: the masked LM the hub checkpoints are.
    assert.equal(resolveArchitecture(c).name, "RobertaForMaskedLM");
  });
}
