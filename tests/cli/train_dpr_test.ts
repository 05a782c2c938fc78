// train --task dpr end to end on a small SQuAD file written here: the run's HF layout
// (q_encoder/, p_encoder/ at the root and in best/), a bit-exact resume, and bad input as one
// line.

import assert from "node:assert/strict";
import { readTrainerPointer } from "../../mod.ts";
import { errorLines, runScript } from "./_run.ts";

const dir = await Deno.makeTempDir({ prefix: "dpr_cli_" });
addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

let s = 7;
const r = () => (s = (s * 48271) % 2147483647) / 2147483647;
const WORDS = "cat dog bird tree park river sun moon rain snow red blue old new big small".split(
  " ",
);
const word = () => WORDS[Math.floor(r() * WORDS.length)];

/** Articles of paragraphs, each with questions made of words of their context. */
function squad(paragraphs: number): string {
  const ps = Array.from({ length: paragraphs }, (_, p) => {
    const context = Array.from({ length: 14 }, word).join(" ");
    const words = context.split(" ");
    return {
      context,
      qas: [0, 1, 2].map((i) => ({
        id: `p${p}q${i}`,
        question: `where ${words[i * 3]} ${words[i * 3 + 1]}`,
        answers: [{ text: words[0], answer_start: 0 }],
      })),
    };
  });
  return JSON.stringify({ version: "1", data: [{ title: "t", paragraphs: ps }] });
}
const TRAIN = `${dir}/train.json`, EVAL = `${dir}/eval.json`;
await Deno.writeTextFile(TRAIN, squad(8));
await Deno.writeTextFile(EVAL, squad(4));

const RECIPE = [
  ...["--task", "dpr", "--config", "tiny", "--max-seq-length", "24", "--batch-size", "6"],
  ...["--max-steps", "4", "--eval-every", "2", "--seed", "3", "--train", TRAIN, "--eval", EVAL],
];
const SIDE = ["config.json", "model.safetensors", "vocab.txt", "tokenizer.json"];

Deno.test("train --task dpr: q_encoder/ and p_encoder/ in HF layout; a resume is bit-exact", async () => {
  const a = `${dir}/a`, b = `${dir}/b`;
  const stop = await runScript("train", [...RECIPE, "--out", a, "--stop-after", "3"]);
  assert.equal(stop.code, 130, stop.stderr);
  const resumed = await runScript("train", ["--resume", a]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming .* after step 3/);
  const straight = await runScript("train", [...RECIPE, "--out", b]);
  assert.equal(straight.code, 0, straight.stderr);
  for (const side of ["q_encoder", "p_encoder"]) {
    for (const f of SIDE) {
      assert.ok((await Deno.stat(`${b}/${side}/${f}`)).isFile, `${side}/${f}`);
      assert.ok((await Deno.stat(`${b}/best/${side}/${f}`)).isFile, `best/${side}/${f}`);
    }
    const cfg = JSON.parse(await Deno.readTextFile(`${b}/${side}/config.json`));
    assert.deepEqual(cfg.architectures, ["BertModel"]);
    assert.deepEqual(
      await Deno.readFile(`${a}/${side}/model.safetensors`),
      await Deno.readFile(`${b}/${side}/model.safetensors`),
      side,
    );
  }
  const last = straight.last!;
  assert.deepEqual(Object.keys(last), [
    "recall@1",
    "recall@5",
    "recall@20",
    "eval_loss",
    "questions",
    "passages",
    "seconds",
    "train_seconds",
  ]);
  assert.deepEqual([last.questions, last.passages], [12, 4]);
  assert.equal(resumed.last!.eval_loss, last.eval_loss);
  assert.equal(resumed.last!["recall@1"], last["recall@1"]);
  const p = await readTrainerPointer(b);
  assert.equal(p.state.task, "dpr");
  assert.ok("q_encoder/model.safetensors" in p.sha256, "nested files are verified on resume");
});

Deno.test("train --task dpr: bad input is one error line naming the file or flag, exit 2", async () => {
  const out = ["--out", `${dir}/never`];
  const cases: [string[], RegExp][] = [
    [
      ["--task", "dpr", "--train", TRAIN, ...out],
      /^error: --task dpr needs --train FILE and --eval FILE/,
    ],
    [["--task", "dpr", "--train", `${dir}/no.json`, "--eval", EVAL, ...out], /no\.json/],
    [
      ["--task", "dpr", "--train", TRAIN, "--eval", EVAL, "--hard-negatives", "x", ...out],
      /--hard-negatives/,
    ],
    [["--task", "qa", "--hard-negatives", "2", ...out], /--hard-negatives is a dpr flag/],
    [
      ["--task", "dpr", "--lora", "--train", TRAIN, "--eval", EVAL, ...out],
      /--lora is a qa\/class/,
    ],
  ];
  for (const [args, want] of cases) {
    const res = await runScript("train", args);
    assert.equal(res.code, 2, `${args.join(" ")}: ${res.stderr}`);
    const errs = errorLines(res.stderr);
    assert.equal(errs.length, 1, res.stderr);
    assert.match(errs[0], want);
  }
});
