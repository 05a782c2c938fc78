// train --task mlm end to end on small text files written here, as a user runs it: a fresh run's
// HF layout and outputs, file lists after one --text and repeated --text, a bit-exact resume,
// bad input as one line, and the saved run as the backbone of classify and qa, and fill-mask's.

import assert from "node:assert/strict";
import { readTrainerPointer } from "../../mod.ts";
import { toySentiment } from "../_data.ts";
import { errorLines, runScript } from "./_run.ts";

const dir = await Deno.makeTempDir({ prefix: "mlm_cli_" });
addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

let s = 11;
const r = () => (s = (s * 48271) % 2147483647) / 2147483647;
const WORDS = "the cat sat on mat dog ran to park a bird flew over tree film was good bad".split(
  " ",
);
const sentence = (n: number) =>
  Array.from({ length: n }, () => WORDS[Math.floor(r() * 18)]).join(" ");

// Plain text (one document a line), SQuAD JSON (its contexts) and an NSMC TSV (its documents);
// the JSON and TSV are also the qa and classify sets the pretrained run is fine-tuned on.
const TXT = `${dir}/a.txt`;
await Deno.writeTextFile(TXT, Array.from({ length: 80 }, () => sentence(12)).join("\n") + "\n");
const CONTEXT = "the cat sat on the mat and the dog ran to the park";
const QA = `${dir}/b.json`;
await Deno.writeTextFile(
  QA,
  JSON.stringify({
    version: "1",
    data: [{
      title: "t",
      paragraphs: [
        ...Array.from({ length: 12 }, () => ({ context: sentence(20), qas: [] })),
        {
          context: CONTEXT,
          qas: [["who sat", "cat"], ["where did the dog run", "park"]].map(([q, a], i) => ({
            id: `q${i}`,
            question: q,
            answers: [{ text: a, answer_start: CONTEXT.indexOf(a) }],
          })),
        },
      ],
    }],
  }),
);
const TSV = `${dir}/c.tsv`;
await Deno.writeTextFile(
  TSV,
  "id\tdocument\tlabel\n" +
    toySentiment(32, 1).map((x) => `${x.id}\t${x.text}\t${x.label}`).join("\n") + "\n",
);

const RECIPE = [
  ...["--task", "mlm", "--config", "tiny", "--max-seq-length", "32", "--batch-size", "8"],
  ...["--max-steps", "6", "--eval-every", "3", "--seed", "4"],
];

let fresh: Promise<{ out: string; result: Awaited<ReturnType<typeof runScript>> }> | null = null;
/** One fresh run of the recipe on all three files (--text A B --text C), made once. */
function freshRun() {
  fresh ??= (async () => {
    const out = `${dir}/run`;
    const result = await runScript("train", [
      ...RECIPE,
      ...["--text", TXT, QA, "--text", TSV, "--out", out],
    ]);
    assert.equal(result.code, 0, result.stderr);
    return { out, result };
  })();
  return fresh;
}

/** Tensor names in a safetensors file's header. */
async function tensorNames(path: string): Promise<string[]> {
  const bytes = await Deno.readFile(path);
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  return Object.keys(header).filter((k) => k !== "__metadata__");
}

Deno.test("train --task mlm: HF layout, metrics, plot, best/, eval_results.json, last line JSON", async () => {
  const { out, result } = await freshRun();
  // --text A B --text C: all three files are read, each in its own format.
  assert.match(result.stderr, /a\.txt: 80 documents \(text; 0 blank skipped\)/);
  assert.match(result.stderr, /b\.json: 13 documents \(squad; 0 blank skipped\)/);
  assert.match(result.stderr, /c\.tsv: 32 documents \(tsv; 0 blank skipped\)/);
  assert.deepEqual(Object.keys(result.last!), [
    "eval_loss",
    "perplexity",
    "accuracy",
    "masked_tokens",
    "seconds",
    "train_seconds",
  ]);
  const last = result.last as Record<string, number>;
  assert.ok(Number.isFinite(last.eval_loss) && last.eval_loss > 0);
  assert.ok(Math.abs(last.perplexity - Math.exp(last.eval_loss)) < 1e-9 * last.perplexity);
  assert.ok(last.accuracy >= 0 && last.accuracy <= 1);
  assert.ok(Number.isInteger(last.masked_tokens) && last.masked_tokens > 0);

  const config = JSON.parse(await Deno.readTextFile(`${out}/config.json`));
  assert.deepEqual(config.architectures, ["BertForMaskedLM"]);
  const names = await tensorNames(`${out}/model.safetensors`);
  assert.ok(names.includes("cls.predictions.bias"));
  assert.ok(names.includes("bert.embeddings.word_embeddings.weight"));
  assert.deepEqual(names.filter((n) => /decoder|pooler/.test(n)), [], "HF's saved layout");
  for (const f of ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "plot.svg"]) {
    assert.ok((await Deno.stat(`${out}/${f}`)).isFile, f);
  }
  assert.ok((await Deno.stat(`${out}/best/model.safetensors`)).isFile);
  const evals = (await Deno.readTextFile(`${out}/metrics.jsonl`)).trim().split("\n")
    .map((l) => JSON.parse(l)).filter((l) => "eval_loss" in l);
  assert.deepEqual(evals.map((l) => l.step), [3, 6]);
  assert.ok(evals.every((l) => "perplexity" in l && "accuracy" in l));
  const results = JSON.parse(await Deno.readTextFile(`${out}/eval_results.json`));
  assert.equal(results.eval_loss, last.eval_loss);
  assert.equal(results.perplexity, last.perplexity);
  assert.equal(results.eval_accuracy, last.accuracy);
  assert.equal(results.eval_masked_tokens, last.masked_tokens);
  assert.equal((await readTrainerPointer(out)).state.task, "mlm");
});

Deno.test("train --task mlm: repeated --text reads the files as one list after one flag does", async () => {
  const out = `${dir}/repeated`;
  const res = await runScript("train", [
    ...RECIPE,
    ...["--text", TXT, "--text", QA, "--text", TSV, "--out", out, "--max-steps", "1"],
  ]);
  assert.equal(res.code, 0, res.stderr);
  const { result } = await freshRun();
  const summary = (e: string) => e.split("\n").filter((l) => /documents|training tokens/.test(l));
  assert.deepEqual(summary(res.stderr), summary(result.stderr));
});

Deno.test("train --task mlm: a stop and a resume give the same bytes as a straight run", async () => {
  const a = `${dir}/a`, b = `${dir}/b`;
  const args = [...RECIPE, "--text", TXT, QA];
  const stop = await runScript("train", [...args, "--out", a, "--stop-after", "4"]);
  assert.equal(stop.code, 130, stop.stderr);
  const other = await runScript("train", ["--resume", a, "--text", TSV]);
  assert.equal(other.code, 2);
  assert.match(errorLines(other.stderr)[0], /--text .*c\.tsv disagrees with the run being resumed/);
  const resumed = await runScript("train", ["--resume", a]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming .* after step 4/);
  const straight = await runScript("train", [...args, "--out", b]);
  assert.equal(straight.code, 0, straight.stderr);
  assert.deepEqual(
    await Deno.readFile(`${a}/model.safetensors`),
    await Deno.readFile(`${b}/model.safetensors`),
  );
  assert.deepEqual(resumed.last!.eval_loss, straight.last!.eval_loss);
  assert.deepEqual(
    await Deno.readTextFile(`${a}/eval_results.json`),
    await Deno.readTextFile(`${b}/eval_results.json`),
  );
});

Deno.test("train --task mlm: bad input is one error line naming the file or flag, exit 2", async () => {
  const empty = `${dir}/empty.txt`;
  await Deno.writeTextFile(empty, "\n  \n");
  const out = ["--out", `${dir}/never`];
  const cases: [string[], RegExp][] = [
    [["--task", "mlm", ...out], /^error: --task mlm needs --text FILE/],
    [["--task", "mlm", "--text", `${dir}/nope.txt`, ...out], /nope\.txt: no such file/],
    [["--task", "mlm", "--text", empty, ...out], /empty\.txt: no documents \(2 blank lines\)/],
    [["--task", "mlm", "--text", TXT, "--mlm-probability", "0", ...out], /--mlm-probability/],
    [["--task", "mlm", "--text", TXT, "--mlm-probability", "2", ...out], /--mlm-probability/],
    [
      ["--task", "mlm", "--text", TXT, "--eval-text", QA, "--validation-split-percentage", "5"],
      /--eval-text or --validation-split-percentage, not both/,
    ],
    [["--task", "qa", "--text", TXT, ...out], /--text is a .*mlm flag; --task qa does not/],
    [["--task", "mlm", "--text", TXT, QA, "--out", QA], /b\.json: is also --text/],
    [["--task", "mlm", "--text", TXT, "--eval-text", TSV, "--out", TSV], /c\.tsv: is also/],
  ];
  for (const [args, re] of cases) {
    const res = await runScript("train", args);
    assert.equal(res.code, 2, `${args.join(" ")}: ${res.stderr}`);
    const errs = errorLines(res.stderr);
    assert.equal(errs.length, 1, res.stderr);
    assert.match(errs[0], re);
  }
  assert.ok(JSON.parse(await Deno.readTextFile(QA)).data, "the input is untouched");
});

Deno.test("the pretrained run is the backbone of --task classify and qa (new heads), and fill-mask's model", async () => {
  const { out } = await freshRun();
  const few = ["--max-steps", "2", "--batch-size", "4", "--max-seq-length", "32"];
  const cls = await runScript("train", [
    ...["--task", "classify", "--model", out, "--train", TSV, "--eval", TSV],
    ...few,
    ...["--out", `${dir}/cls`],
  ]);
  const qa = await runScript("train", [
    ...["--model", out, "--train", QA, "--eval", QA, "--doc-stride", "8"],
    ...few,
    ...["--out", `${dir}/qa`],
  ]);
  const fill = await runScript("fill_mask", [
    "--model",
    out,
    "--text",
    "the cat [MASK] on the mat",
  ]);
  assert.equal(cls.code, 0, cls.stderr);
  assert.match(
    cls.stderr,
    /not initialized from the model checkpoint .* newly initialized: .*classifier\.weight/,
  );
  assert.match(cls.stderr, /were not used .*cls\.predictions\.bias/);
  assert.equal(cls.last!.examples, 32);
  assert.equal(qa.code, 0, qa.stderr);
  assert.match(qa.stderr, /newly initialized: qa_outputs\.weight, qa_outputs\.bias/);
  assert.equal(qa.last!.examples, 2);
  assert.equal(fill.code, 0, fill.stderr);
  const candidates = fill.last as unknown as { token_str: string; sequence: string }[];
  assert.equal(candidates.length, 5);
  for (const c of candidates) assert.match(c.sequence, /^the cat .*on the mat$/);
});
