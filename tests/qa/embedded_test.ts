import assert from "node:assert/strict";
import {
  buildWordPieceVocab,
  defaultSplits,
  EMBEDDED_QA,
  embeddedQaConfig,
  embeddedQaTexts,
  parseSquad,
  PRESETS,
} from "../../mod.ts";

Deno.test("the embedded vocabulary covers every character the generator writes", () => {
  const train = parseSquad(defaultSplits(3, { trainQuestions: 40 }).train, "t").examples;
  const vocab = new Set(buildWordPieceVocab(embeddedQaTexts(train), { size: 300 }));
  const heldOut = parseSquad(defaultSplits(9, { trainQuestions: 40 }).train, "h").examples;
  const chars = new Set(heldOut.flatMap((e) => [...e.context, ...e.question]));
  chars.delete(" ");
  assert.deepEqual([...chars].filter((c) => !vocab.has(c) && !vocab.has(`##${c}`)), []);
});

Deno.test("the embedded config is tiny with a 256 FFN and no dropout; a preset keeps its FFN", () => {
  const c = embeddedQaConfig(EMBEDDED_QA.vocabSize);
  assert.equal(c.vocab_size, 2000);
  assert.equal(c.intermediate_size, 256);
  assert.equal(c.hidden_size, PRESETS.tiny.hidden_size);
  assert.equal(c.hidden_dropout_prob + c.attention_probs_dropout_prob, 0);
  assert.deepEqual(c.architectures, ["BertForQuestionAnswering"]);
  assert.equal(embeddedQaConfig(50, "mini").intermediate_size, PRESETS.mini.intermediate_size);
});
