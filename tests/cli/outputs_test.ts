// Every CLI checks where it will write before any work (src/cli/_outputs.ts): each refusal is
// one `error: <path>: <what>` line with exit 2, and leaves the user's files byte-identical.

import assert from "node:assert/strict";
import { defaultSplits } from "../../mod.ts";
import { toySentiment } from "../_data.ts";
import { errorLines, quickTrain, runScript } from "./_run.ts";

/** The bytes of every file under `dir`, by relative path. */
async function snapshot(dir: string, prefix = ""): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for await (const e of Deno.readDir(`${dir}/${prefix}`)) {
    const rel = `${prefix}${e.name}`;
    if (e.isDirectory) { for (const [k, v] of await snapshot(dir, `${rel}/`)) m.set(k, v); }
    else {
      const h = await crypto.subtle.digest("SHA-256", await Deno.readFile(`${dir}/${rel}`));
      m.set(rel, Array.from(new Uint8Array(h), (b) => b.toString(16).padStart(2, "0")).join(""));
    }
  }
  return m;
}

/** Runs `cli args`, expects exit 2 and one error line matching `re`; `dir` must not change. */
async function refused(cli: string, args: string[], re: RegExp, dir: string): Promise<void> {
  const before = await snapshot(dir);
  const r = await runScript(cli, args);
  assert.equal(r.code, 2, `${cli} ${args.join(" ")}: ${r.stderr}`);
  const errs = errorLines(r.stderr);
  assert.equal(errs.length, 1, r.stderr);
  assert.match(errs[0], re);
  assert.doesNotMatch(errs[0], /os error|tmp-\d+/);
  assert.deepEqual(await snapshot(dir), before, `${cli} ${args.join(" ")} changed ${dir}`);
}

Deno.test("eval and download refuse outputs over inputs, over each other, or of the wrong kind", async () => {
  const dir = await Deno.makeTempDir();
  const data = `${dir}/dev.json`;
  await Deno.writeTextFile(data, JSON.stringify(defaultSplits(3).eval));
  const tsv = `${dir}/dev.jsonl`;
  await Deno.writeTextFile(tsv, toySentiment(8, 1).map((x) => JSON.stringify(x)).join("\n"));
  await Deno.symlink(data, `${dir}/link.json`);
  await Deno.writeTextFile(`${dir}/file`, "not a directory\n");
  // The model dir is never opened: every refusal comes before it.
  const qa = ["--model", dir, "--data", data];
  const cls = ["--task", "classify", "--model", dir, "--data", tsv];

  await refused("eval", [...qa, "--out", data], /^error: .*dev\.json: is also --data;/, dir);
  // Real paths, not strings: a symlink to the data and a roundabout path are the data too.
  await refused("eval", [...qa, "--out", `${dir}/link.json`], /is also --data/, dir);
  await refused("eval", [...qa, "--out", `${dir}/./x/../dev.json`], /is also --data/, dir);
  await refused("eval", [...cls, "--out", tsv], /is also --data/, dir);
  await refused(
    "eval",
    [...qa, "--out", `${dir}/config.json`],
    /config\.json: is also --model/,
    dir,
  );
  await refused(
    "eval",
    [...qa, "--out", `${dir}/nbest_predictions.json`],
    /nbest_predictions\.json: would hold both the predictions and the n-best list/,
    dir,
  );
  await refused(
    "eval",
    [...cls, "--out", `${dir}/eval_results.json`],
    /eval_results\.json: would hold both the predictions and eval_results\.json/,
    dir,
  );
  await refused("eval", [...qa, "--out", `${dir}/sub/`], /--out takes a file path/, dir);
  await Deno.mkdir(`${dir}/sub`);
  await refused("eval", [...qa, "--out", `${dir}/sub`], /sub: is a directory; --out takes/, dir);
  await refused(
    "eval",
    [...qa, "--out", `${dir}/file/pred.json`],
    /^error: .*\/file: is a file, not a directory$/,
    dir,
  );
  await refused("download", ["korquad-v1", "--to", `${dir}/file`], /file: is a file; --to/, dir);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train refuses a non-empty --out, an --out holding its inputs, and an --out file", async () => {
  const dir = await Deno.makeTempDir();
  const train = `${dir}/train.jsonl`;
  await Deno.writeTextFile(train, toySentiment(8, 1).map((x) => JSON.stringify(x)).join("\n"));
  const cls = ["--task", "classify", "--train", train, "--eval", train];
  await refused("train", [...cls, "--out", train], /train\.jsonl: is also --train/, dir);
  await refused(
    "train",
    [...cls, "--out", dir, "--overwrite-output-dir"],
    /: holds --train .*train\.jsonl; choose another --out$/,
    dir,
  );
  await Deno.writeTextFile(`${dir}/file`, "x\n");
  await refused("train", ["--out", `${dir}/file`], /file: is a file; --out takes a directory/, dir);
  await Deno.mkdir(`${dir}/notes`);
  await Deno.writeTextFile(`${dir}/notes/todo.txt`, "mine\n");
  await refused("train", ["--out", `${dir}/notes`], /notes: is not empty; give --overwrite/, dir);
  // Not a run: --overwrite-output-dir never removes a folder of other files.
  await refused(
    "train",
    ["--out", `${dir}/notes`, "--overwrite-output-dir"],
    /notes: is not a run \(no trainer_state\.json or metrics\.jsonl\)/,
    dir,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a run is replaced only whole, with --overwrite-output-dir; --resume never goes back", async () => {
  const run = await quickTrain();
  const steps = async () => JSON.parse(await Deno.readTextFile(`${run}/trainer_state.json`)).step;
  assert.equal(await steps(), 2);
  const metrics = await Deno.readTextFile(`${run}/metrics.jsonl`);
  const quick = [
    ...["--max-steps", "2", "--max-train-samples", "24", "--max-eval-samples", "8"],
    ...["--batch-size", "4", "--out", run],
  ];
  await refused("train", quick, /is not empty; give --overwrite-output-dir/, run);
  await refused("train", ["--resume", run, "--max-steps", "1"], /--max-steps 1 is not past/, run);
  await refused("train", ["--resume", run, "--max-steps", "2"], /step 2; give a larger/, run);
  // --epochs is checked by the Trainer, which alone knows the steps per epoch: after loading,
  // but before anything is written.
  await refused(
    "train",
    ["--resume", run, "--epochs", "0.01"],
    /is already at step 2 of 1; give a larger --max-steps or --epochs/,
    run,
  );
  await refused(
    "train",
    ["--resume", run, "--overwrite-output-dir"],
    /--overwrite-output-dir starts a fresh run/,
    run,
  );

  // A missing parent directory of eval's --out is created.
  const evalOut = `${run}/new/deeper/pred.json`;
  const e = await runScript("eval", [
    ...["--model", run, "--data", `${run}/none.json`, "--out", evalOut],
  ]);
  assert.equal(e.code, 2, e.stderr);
  assert.match(errorLines(e.stderr)[0], /none\.json/, "the data error, after the output check");
  assert.ok((await Deno.stat(`${run}/new/deeper`)).isDirectory);
  await Deno.remove(`${run}/new`, { recursive: true });

  await Deno.writeTextFile(`${run}/stale.txt`, "from the old run\n");
  const r = await runScript("train", [...quick, "--overwrite-output-dir"]);
  assert.equal(r.code, 0, r.stderr);
  await assert.rejects(Deno.stat(`${run}/stale.txt`), Deno.errors.NotFound);
  // The same recipe again: one run's lines, not two runs' appended.
  assert.equal(
    (await Deno.readTextFile(`${run}/metrics.jsonl`)).split("\n").length,
    metrics.split("\n").length,
  );
  assert.equal(await steps(), 2);
  await Deno.remove(run, { recursive: true });
});
