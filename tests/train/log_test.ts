import assert from "node:assert/strict";
import { appendJsonl, plotSvg, readJsonl } from "../../mod.ts";

Deno.test("metrics.jsonl is appended line by line and survives a torn last line", async () => {
  const dir = await Deno.makeTempDir();
  const p = `${dir}/metrics.jsonl`;
  await appendJsonl(p, { step: 1, loss: 2.5 });
  await appendJsonl(p, { step: 2, loss: 2.0, exact_match: 10 });
  await Deno.writeTextFile(p, '{"step": 3, "lo', { append: true });
  assert.deepEqual(await readJsonl(p), [{ step: 1, loss: 2.5 }, {
    step: 2,
    loss: 2.0,
    exact_match: 10,
  }]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the SVG plot has a line per series with data", () => {
  const svg = plotSvg([
    { step: 10, loss: 3 },
    { step: 20, loss: 2, exact_match: 30, f1: 40, eval_loss: 2.2 },
    { step: 30, loss: 1, exact_match: 60, f1: 70, eval_loss: 1.5 },
  ]);
  assert.match(svg, /^<svg/);
  assert.equal(svg.match(/<polyline/g)?.length, 4);
  assert.ok(!svg.includes("NaN"));
});
