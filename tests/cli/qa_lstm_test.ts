// `train --head lstm`: the run saves the LSTM-LayerNorm head with its config fields, `eval` loads
// it back with no extra flags and reproduces the run's final EM/F1, and the head is part of the
// recipe that `--resume` checks.

import assert from "node:assert/strict";
import "../_helpers.ts";
import { openSafetensors } from "../../mod.ts";
import { errorLines, runScript } from "./_run.ts";

const CONTEXT = "김민수는 1987년에 부산에서 태어났다. 서울은 1394년에 수도가 되었다.";

async function squad(dir: string): Promise<string> {
  const qas = [["김민수는 언제 태어났나?", "1987년"], ["김민수는 어디서 태어났나?", "부산"], [
    "서울은 언제 수도가 되었나?",
    "1394년",
  ]].map(([question, text], i) => ({
    id: `q${i}`,
    question,
    answers: [{ text, answer_start: CONTEXT.indexOf(text) }],
  }));
  const path = `${dir}/eval.json`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      version: "1",
      data: [{ title: "t", paragraphs: [{ context: CONTEXT, qas }] }],
    }),
  );
  return path;
}

Deno.test("train --head lstm saves the head; eval loads it and reproduces the run's EM/F1", async () => {
  const work = await Deno.makeTempDir();
  const data = await squad(work);
  const out = `${work}/run`;
  const t = await runScript("train", [
    "--head",
    "lstm",
    "--head-dropout",
    "0.5",
    "--eval",
    data,
    "--max-steps",
    "3",
    "--max-train-samples",
    "24",
    "--batch-size",
    "4",
    "--lr",
    "3e-3",
    "--out",
    out,
  ]);
  assert.equal(t.code, 0, t.stderr);
  const config = JSON.parse(await Deno.readTextFile(`${out}/config.json`));
  assert.deepEqual(config.architectures, ["BertForQuestionAnsweringWithLSTMLNHead"]);
  assert.equal(config.head_dropout, 0.5);
  assert.equal(config.qa_lstm_hidden_size, config.hidden_size);
  const st = await openSafetensors(`${out}/model.safetensors`);
  const head = [...st.tensors.keys()].filter((n) => !n.startsWith("bert.")).sort();
  st.close();
  assert.deepEqual(head, [
    "layer_norm.bias",
    "layer_norm.weight",
    "lstm.bias_hh_l0",
    "lstm.bias_hh_l0_reverse",
    "lstm.bias_ih_l0",
    "lstm.bias_ih_l0_reverse",
    "lstm.weight_hh_l0",
    "lstm.weight_hh_l0_reverse",
    "lstm.weight_ih_l0",
    "lstm.weight_ih_l0_reverse",
    "qa_outputs.bias",
    "qa_outputs.weight",
  ]);

  // Another batch size than the run's (4): the packed LSTM makes each window's logits its own.
  const e = await runScript("eval", [
    "--model",
    out,
    "--data",
    data,
    "--out",
    `${work}/p.json`,
    "--max-seq-length",
    "96",
    "--doc-stride",
    "32",
    "--batch-size",
    "3",
  ]);
  assert.equal(e.code, 0, e.stderr);
  assert.deepEqual(errorLines(e.stderr), []);
  assert.ok(!e.stderr.includes("newly initialized"), e.stderr);
  assert.equal(e.last!.exact_match, t.last!.exact_match);
  assert.equal(e.last!.f1, t.last!.f1);
  assert.deepEqual(
    JSON.parse(await Deno.readTextFile(`${work}/p.json`)),
    JSON.parse(await Deno.readTextFile(`${out}/predictions.json`)),
  );

  const r = await runScript("train", ["--resume", out, "--head", "qa", "--max-steps", "4"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--head qa disagrees with the run being resumed \("lstm"\)/);
  await Deno.remove(work, { recursive: true });
});

Deno.test("--head and --head-dropout are checked: usage errors, exit 2", async () => {
  for (
    const [args, msg] of [
      [["--head", "cnn"], /--head: must be qa or lstm, got "cnn"/],
      [["--head-dropout", "0.5"], /--head-dropout goes with --head lstm/],
      [
        ["--head", "lstm", "--head-dropout", "1"],
        /--head-dropout: must be a number in \[0, 0.99\]/,
      ],
      [
        ["--head", "lstm", "--lora", "--model", "tests/fixtures/bert_qa_odd"],
        /--head lstm does not combine with LoRA/,
      ],
      [["--task", "classify", "--head", "lstm"], /--head is a qa flag/],
    ] as const
  ) {
    const r = await runScript("train", [...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(errorLines(r.stderr).join("\n"), msg);
  }
});
