// Never lose work: resume is bit-exact, SIGKILL during saves never corrupts the last
// checkpoint, SIGINT saves a resumable one, and a NaN stops the run before any save.

import assert from "node:assert/strict";
import {
  checkpointsToDelete,
  loadBertForQa,
  openSafetensors,
  readTrainerPointer,
} from "../../mod.ts";
import { errorLines, runScript, spawnScript } from "../cli/_run.ts";
import { HAS_F16, rng } from "../_helpers.ts";

const SMALL = [
  "--max-train-samples",
  "48",
  "--max-eval-samples",
  "8",
  "--batch-size",
  "4",
  "--seed",
  "5",
];

Deno.test("10 steps, a stop, and a resume to 20 give the same model bytes as 20 steps", async () => {
  const a = await Deno.makeTempDir();
  const b = await Deno.makeTempDir();
  const stop = await runScript("train", [
    "--max-steps",
    "20",
    "--stop-after",
    "10",
    "--out",
    a,
    ...SMALL,
  ]);
  assert.equal(stop.code, 130, stop.stderr);
  assert.equal((await readTrainerPointer(a)).step, 10);
  // A recipe flag that disagrees with the run is refused before anything is touched.
  for (
    const [flags, re] of [
      [["--lr", "0.5"], /^error: --lr 0\.5 disagrees with the run being resumed \(0\.001\)/],
      [["--adam-beta2", "0.999"], /^error: --adam-beta2 0\.999 disagrees .* \(0\.98\)/],
      [["--max-train-samples", "40"], /^error: --max-train-samples 40 disagrees .* \(48\)/],
      [["--group-by-length"], /^error: --group-by-length disagrees .* \(false\)/],
    ] as const
  ) {
    const bad = await runScript("train", ["--resume", a, ...flags]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(errorLines(bad.stderr)[0], re);
    assert.equal((await readTrainerPointer(a)).step, 10);
  }
  // Flags that agree with the run are accepted.
  const resumed = await runScript("train", ["--resume", a, ...SMALL, "--adam-beta2", "0.98"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  const straight = await runScript("train", ["--max-steps", "20", "--out", b, ...SMALL]);
  assert.equal(straight.code, 0, straight.stderr);
  assert.deepEqual(
    await Deno.readFile(`${a}/model.safetensors`),
    await Deno.readFile(`${b}/model.safetensors`),
  );
  await Deno.remove(a, { recursive: true });
  await Deno.remove(b, { recursive: true });
});

Deno.test("--precision f16: a stop and a resume give the same bytes; the loss scale is saved", async () => {
  const a = await Deno.makeTempDir();
  const b = await Deno.makeTempDir();
  const f16 = ["--precision", "f16", "--max-steps", "4", ...SMALL];
  const stop = await runScript("train", [...f16, "--stop-after", "2", "--out", a]);
  assert.equal(stop.code, 130, stop.stderr);
  const p = await readTrainerPointer(a);
  // Without shader-f16 the run falls back to f32 (and saves no scaler state). Whether f16 ran
  // is decided from the device's features, not from the run's own report.
  assert.equal(
    (p.state.options as { precision: string }).precision,
    HAS_F16 ? "f16" : "f32",
  );
  assert.equal(
    typeof (p.state.lossScale as { scale?: number })?.scale,
    HAS_F16 ? "number" : "undefined",
  );
  const resumed = await runScript("train", ["--resume", a]);
  assert.equal(resumed.code, 0, resumed.stderr);
  const straight = await runScript("train", [...f16, "--out", b]);
  assert.equal(straight.code, 0, straight.stderr);
  assert.deepEqual(
    await Deno.readFile(`${a}/model.safetensors`),
    await Deno.readFile(`${b}/model.safetensors`),
  );
  assert.deepEqual(
    (await readTrainerPointer(a)).state.lossScale,
    (await readTrainerPointer(b)).state.lossScale,
  );
  await Deno.remove(a, { recursive: true });
  await Deno.remove(b, { recursive: true });
});

async function verifyRun(dir: string): Promise<number> {
  const p = await readTrainerPointer(dir); // checks every file's sha256
  const { model } = await loadBertForQa(p.dir, { quiet: true });
  model.dispose();
  const root = await openSafetensors(`${dir}/model.safetensors`); // complete, valid file
  root.close();
  return p.step;
}

Deno.test("SIGKILL at random moments during saves never breaks the last checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const r = rng(11);
  let steps = 0;
  for (let round = 0; round < 6; round++) {
    const args = round === 0
      ? ["--max-steps", "400", "--save-every", "1", "--out", dir, ...SMALL]
      : ["--resume", dir, "--save-every", "1"];
    const child = spawnScript("train", args);
    // Wait until the run is saving every step, then kill at a random moment.
    const t0 = Date.now();
    while (Date.now() - t0 < 60_000) {
      try {
        if ((await readTrainerPointer(dir)).step > steps) break;
      } catch { /* no checkpoint yet */ }
      await new Promise((res) => setTimeout(res, 100));
    }
    await new Promise((res) => setTimeout(res, 200 + r() * 1500));
    child.kill("SIGKILL");
    await child.status;
    const now = await verifyRun(dir);
    assert.ok(now >= steps, `step went back from ${steps} to ${now}`);
    steps = now;
  }
  assert.ok(steps > 1);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("SIGINT saves a resumable checkpoint and exits cleanly", async () => {
  const dir = await Deno.makeTempDir();
  const child = spawnScript(
    "train",
    ["--max-steps", "400", "--save-every", "3", "--out", dir, ...SMALL],
    true,
  );
  const t0 = Date.now();
  while (Date.now() - t0 < 60_000) {
    try {
      if ((await readTrainerPointer(dir)).step >= 3) break;
    } catch { /* not yet */ }
    await new Promise((res) => setTimeout(res, 100));
  }
  child.kill("SIGINT");
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 130, stderr);
  assert.match(stderr, /resumable checkpoint/);
  const step = await verifyRun(dir);
  const resumed = await runScript("train", ["--resume", dir, "--max-steps", String(step + 2)]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal((await readTrainerPointer(dir)).step, step + 2);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an injected NaN stops the run naming the step; the last good checkpoint stays", async () => {
  const dir = await Deno.makeTempDir();
  const r = await runScript("train", [
    "--max-steps",
    "30",
    "--save-every",
    "2",
    "--inject-nan-at",
    "5",
    "--out",
    dir,
    ...SMALL,
  ]);
  assert.equal(r.code, 1, r.stderr);
  const errs = errorLines(r.stderr);
  assert.equal(errs.length, 1, r.stderr);
  assert.match(errs[0], /non-finite loss or gradient norm at step 5/);
  assert.equal(await verifyRun(dir), 4);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkpointsToDelete rotates as HF's save_total_limit, keeping the best's", () => {
  const c = (...steps: number[]) => steps.map((k) => `checkpoint-${String(k).padStart(7, "0")}`);
  // [saved (any order), limit, best step, deleted]
  const table: [string[], number, number | undefined, string[]][] = [
    [c(300, 100, 200), 1, undefined, c(100, 200)],
    [c(100, 200, 300), 2, undefined, c(100)],
    [c(100, 200, 300), 5, undefined, []],
    [c(100, 200, 300), 2, 100, c(200)],
    [c(100, 200, 300, 400), 2, 200, c(100, 300)],
    [c(100, 200, 300), 2, 300, c(100)],
    // A limit of 1 keeps the newest and the best while they differ.
    [c(100, 200, 300), 1, 100, c(200)],
    [c(100, 200, 300), 1, 300, c(100, 200)],
    // A best whose checkpoint is gone changes nothing.
    [c(200, 300), 1, 100, c(200)],
  ];
  for (const [names, limit, keepStep, want] of table) {
    assert.deepEqual(
      checkpointsToDelete(names, { limit, keepStep }),
      want,
      `${names} limit ${limit} best ${keepStep}`,
    );
  }
});
