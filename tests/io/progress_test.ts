import assert from "node:assert/strict";
import { runDeno } from "../_data.ts";

Deno.test("the progress bar prints step, fields and ETA when stderr is not a terminal", async () => {
  const code = `import { ProgressBar } from "${new URL("../../mod.ts", import.meta.url)}";
    const b = new ProgressBar(4, "train", 0);
    for (let i = 1; i <= 4; i++) b.update(i, { loss: 1 / i, "tok/s": 1234.5 });
    b.done();`;
  const p = await runDeno(["eval", code]);
  const err = p.stderr.split("\n").filter((l) => l.includes("train"));
  assert.equal(err.length, 4);
  assert.match(err[3], /\[#{24}\] 4\/4 loss=0\.2500 tok\/s=1234\.5000 elapsed=\S+ eta=0s/);
});
