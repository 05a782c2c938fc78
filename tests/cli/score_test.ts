import assert from "node:assert/strict";
import { runDeno, shared, withoutData } from "../_data.ts";
import { errorLines, runScript } from "./_run.ts";

const DEV = "korquad/KorQuAD_v1.0_dev.json";
const GOLD = "korquad/KorQuAD_v1.0_dev_gold_predictions.json";

const dir = await Deno.makeTempDir({ prefix: "score_cli_test_" });
addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

/** Runs the score CLI as a user would, returning exit code and output lines. */
async function score(...args: string[]) {
  const out = await runDeno(["run", "-A", "src/cli/score.ts", ...args], {
    env: { NO_COLOR: "1", DEBUG: "" },
  });
  const lines = (t: string) => t.split("\n").filter((l) => l);
  return { code: out.code, stdout: lines(out.stdout), stderr: lines(out.stderr) };
}

/** A user-facing error: exit 2, exactly one `error:` line, no stack trace. */
function assertUserError(r: Awaited<ReturnType<typeof score>>, prefix: string) {
  assert.equal(r.code, 2, r.stderr.join("\n"));
  const errors = r.stderr.filter((l) => l.startsWith("error: "));
  assert.equal(errors.length, 1, r.stderr.join("\n"));
  assert.ok(errors[0].startsWith(prefix), `"${errors[0]}" does not start with "${prefix}"`);
  assert.ok(!r.stderr.some((l) => /^\s+at /.test(l)), "no stack trace");
}

Deno.test({
  name: "score: the KorQuAD gold predictions score 100/100; the last line is JSON",
  ignore: withoutData(DEV, GOLD),
}, async () => {
  const r = await score("--data", shared(DEV), "--predictions", shared(GOLD));
  assert.equal(r.code, 0, r.stderr.join("\n"));
  assert.deepEqual(JSON.parse(r.stdout.at(-1)!), {
    exact_match: 100,
    f1: 100,
    examples: 5774,
    missing: 0,
  });
  assert.ok(r.stdout.some((l) => l.startsWith("korquad ")), "metric chosen automatically");
});

Deno.test(
  { name: "score: missing predictions score 0 and are counted", ignore: withoutData(DEV) },
  async () => {
    const preds = `${dir}/two.json`;
    // One correct answer (the first dev question) and one id that is not in the data.
    await Deno.writeTextFile(preds, JSON.stringify({ "6548850-0-0": "1989년 2월 15일", x: "y" }));
    const r = await score("--data", shared(DEV), "--predictions", preds, "--metric", "squad");
    assert.equal(r.code, 0, r.stderr.join("\n"));
    const last = JSON.parse(r.stdout.at(-1)!);
    assert.equal(last.missing, 5773);
    assert.equal(last.examples, 5774);
    assert.equal(last.exact_match, 100 / 5774);
    assert.ok(r.stderr.some((l) => l.startsWith("warning: 5773 questions have no prediction")));
  },
);

Deno.test("score: a missing file is one error line, exit 2", async () => {
  const nope = `${dir}/nope.json`;
  assertUserError(
    await score("--data", nope, "--predictions", nope),
    `error: ${nope}: no such file`,
  );
});

Deno.test("score: invalid JSON is one error line naming the file, exit 2", async () => {
  const bad = `${dir}/bad.json`;
  await Deno.writeTextFile(bad, '{"data": [\n  {"title": "t",\n');
  assertUserError(await score("--data", bad, "--predictions", bad), `error: ${bad}: invalid JSON`);
  const wrong = `${dir}/wrong.json`;
  await Deno.writeTextFile(wrong, JSON.stringify({ data: [{ title: "t" }] }));
  assertUserError(await score("--data", wrong, "--predictions", bad), `error: ${wrong}: data[0]`);
});

Deno.test("score: an unknown flag is a usage error, exit 2, no stack trace", async () => {
  const r = await score("--data", "x", "--predictions", "y", "--bogus");
  assertUserError(r, "error: Unknown option '--bogus'");
  // The only other stderr line is the usage line.
  assert.deepEqual(r.stderr.slice(1).map((l) => l.split(" ")[0]), ["usage:"]);
  assertUserError(await score("--data", "x"), "error: --predictions is required");
  assertUserError(
    await score("--data", "x", "--predictions", "y", "--metric", "bleu"),
    "error: --metric",
  );
});

Deno.test("score --help lists every flag and exits 0", async () => {
  const r = await score("--help");
  assert.equal(r.code, 0);
  const text = r.stdout.join("\n");
  for (const f of ["--data", "--predictions", "--metric", "--help"]) assert.ok(text.includes(f), f);
});

Deno.test("score counts every question whatever its text, as the official scripts; no questions or a duplicate id is an error", async () => {
  const dir = await Deno.makeTempDir();
  const qa = (id: string, question: string) => ({
    id,
    question,
    answers: [{ text: "서울", answer_start: 0 }],
  });
  const data = (qas: unknown[]) => ({
    version: "1",
    data: [{ title: "t", paragraphs: [{ context: "서울은 수도다.", qas }] }],
  });
  await Deno.writeTextFile(
    `${dir}/d.json`,
    JSON.stringify(data([qa("a", "수도는?"), qa("b", "  ")])),
  );
  await Deno.writeTextFile(`${dir}/p.json`, JSON.stringify({ a: "서울", b: "부산" }));
  const r = await runScript("score", ["--data", `${dir}/d.json`, "--predictions", `${dir}/p.json`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.last!.examples, 2);
  assert.equal(r.last!.exact_match, 50);

  await Deno.writeTextFile(`${dir}/empty.json`, JSON.stringify({ version: "1", data: [] }));
  await Deno.writeTextFile(`${dir}/dup.json`, JSON.stringify(data([qa("a", "q"), qa("a", "r")])));
  for (
    const [file, re] of [
      ["empty.json", /empty\.json: no questions to score$/],
      ["dup.json", /dup\.json: .*\(id "a"\): duplicate question id$/],
    ] as const
  ) {
    const bad = await runScript("score", [
      "--data",
      `${dir}/${file}`,
      "--predictions",
      `${dir}/p.json`,
    ]);
    assert.equal(bad.code, 2, bad.stderr);
    const errs = errorLines(bad.stderr);
    assert.equal(errs.length, 1, bad.stderr);
    assert.match(errs[0], re);
  }
  await Deno.remove(dir, { recursive: true });
});
