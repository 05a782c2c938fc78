// A RoBERTa QA checkpoint in KLUE's layout (type_vocab_size 1, [PAD] = 1, a vocab.txt with
// KLUE's special-token order and tokenizer_config.json) evaluates and fine-tunes through the
// CLIs with no extra flags: the architecture comes from config.json, the type ids from it too.

import assert from "node:assert/strict";
import "../_helpers.ts";
import { fixture } from "../_data.ts";
import { bertConfig } from "../../src/models/config.ts";
import { modelFor } from "../../src/models/registry.ts";
import { saveModel } from "../../src/models/checkpoint.ts";
import { errorLines, runScript } from "./_run.ts";

const KLUE_FILES = ["vocab.txt", "tokenizer_config.json", "special_tokens_map.json"];
const CONTEXT = "서울은 한국의 수도이다. Seoul is the capital.";

/** A tiny random RobertaForQuestionAnswering beside KLUE's tokenizer files. */
async function klueQaDir(): Promise<string> {
  const dir = await Deno.makeTempDir();
  const config = bertConfig({
    model_type: "roberta",
    architectures: ["RobertaForQuestionAnswering"],
    vocab_size: 24,
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 66,
    type_vocab_size: 1,
    pad_token_id: 1,
    bos_token_id: 0,
    eos_token_id: 2,
    layer_norm_eps: 1e-5,
  });
  const { model } = modelFor(config, { task: "question-answering", seed: 3 });
  await saveModel(model, config, dir);
  model.dispose();
  for (const f of KLUE_FILES) await Deno.copyFile(fixture(`klue/tokenizer/${f}`), `${dir}/${f}`);
  return dir;
}

/** A SQuAD-format file of `n` questions over CONTEXT. */
async function squad(dir: string, n: number): Promise<string> {
  const answers = ["서울", "한국", "Seoul", "capital"];
  const qas = Array.from({ length: n }, (_, i) => {
    const text = answers[i % answers.length];
    return {
      id: `q${i}`,
      question: `어디야 ${i}?`,
      answers: [{ text, answer_start: CONTEXT.indexOf(text) }],
    };
  });
  const path = `${dir}/squad.json`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      version: "1",
      data: [{ title: "t", paragraphs: [{ context: CONTEXT, qas }] }],
    }),
  );
  return path;
}

const WINDOW = ["--max-seq-length", "64", "--doc-stride", "16"];

Deno.test("eval and train --task qa run a KLUE-layout RoBERTa QA checkpoint with no extra flags", async () => {
  const model = await klueQaDir();
  const work = await Deno.makeTempDir();
  const data = await squad(work, 4);

  const e = await runScript("eval", [
    "--model",
    model,
    "--data",
    data,
    "--out",
    `${work}/p.json`,
    ...WINDOW,
  ]);
  assert.equal(e.code, 0, e.stderr);
  assert.deepEqual(errorLines(e.stderr), []);
  assert.equal(e.last?.examples, 4);
  assert.equal(typeof e.last?.exact_match, "number");
  assert.equal(typeof e.last?.f1, "number");

  const out = `${work}/run`;
  const t = await runScript("train", [
    "--task",
    "qa",
    "--model",
    model,
    "--train",
    data,
    "--eval",
    data,
    "--max-steps",
    "2",
    "--batch-size",
    "2",
    "--out",
    out,
    ...WINDOW,
  ]);
  assert.equal(t.code, 0, t.stderr);
  const saved = JSON.parse(await Deno.readTextFile(`${out}/config.json`));
  assert.deepEqual(saved.architectures, ["RobertaForQuestionAnswering"]);
  assert.equal(saved.type_vocab_size, 1);
  // The run directory evaluates as the checkpoint did.
  const again = await runScript("eval", [
    "--model",
    out,
    "--data",
    data,
    "--out",
    `${work}/q.json`,
    ...WINDOW,
  ]);
  assert.equal(again.code, 0, again.stderr);
});
