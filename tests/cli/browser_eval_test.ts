import assert from "node:assert/strict";
import { defaultSplits } from "../../mod.ts";
import { withoutChromium } from "../_browser.ts";
import { errorLines, quickTrain, runScript } from "./_run.ts";

const ignore = withoutChromium();

Deno.test({
  name: "browser-eval in Chromium gives byte-equal predictions and the scores of deno task eval",
  ignore,
  async fn() {
    const model = await quickTrain();
    const dir = await Deno.makeTempDir();
    const data = `${dir}/dev.json`;
    await Deno.writeTextFile(
      data,
      JSON.stringify(defaultSplits(5, { trainQuestions: 4, evalQuestions: 12 }).eval),
    );
    const cli = await runScript("eval", [
      "--model",
      model,
      "--data",
      data,
      "--out",
      `${dir}/a.json`,
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    const web = await runScript("browser_eval", [
      ...["--model", model, "--data", data, "--out", `${dir}/b.json`],
    ]);
    assert.equal(web.code, 0, web.stderr);
    assert.equal(
      await Deno.readTextFile(`${dir}/b.json`),
      await Deno.readTextFile(`${dir}/a.json`),
    );
    const { seconds: _, ...a } = cli.last!;
    const { seconds: __, ...b } = web.last!;
    assert.deepEqual(b, a);
    assert.equal(b.examples, 12);
  },
});

Deno.test("browser-eval: a missing flag, file or browser is one error line and exit 2", async () => {
  const dir = await Deno.makeTempDir();
  const cases: [string[], RegExp][] = [
    [["--data", "x.json", "--out", `${dir}/p.json`], /^error: --model is required/],
    [["--model", "m", "--data", `${dir}/none.json`, "--out", `${dir}/p.json`], /none\.json/],
    [
      ["--model", "tests/fixtures/bert_qa_odd", "--data", "deno.json", "--out", `${dir}/p.json`],
      /^error: deno\.json: /,
    ],
  ];
  await Deno.writeTextFile(`${dir}/dev.json`, JSON.stringify(defaultSplits(1).eval));
  for (const [args, want] of cases) {
    const r = await runScript("browser_eval", args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    const errs = errorLines(r.stderr);
    assert.equal(errs.length, 1, r.stderr);
    assert.match(errs[0], want);
  }
  const r = await runScript("browser_eval", [
    ...["--model", "tests/fixtures/bert_qa_odd", "--data", `${dir}/dev.json`],
    ...["--out", `${dir}/p.json`, "--chromium", `${dir}/no-chromium`],
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.deepEqual(errorLines(r.stderr), [
    `error: ${dir}/no-chromium: chromium not found: apt-get install chromium (or give --chromium)`,
  ]);
});
