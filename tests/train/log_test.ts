import assert from "node:assert/strict";
import { appendJsonl, plotSvg, readJsonl, smoothEma } from "../../mod.ts";

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

Deno.test("the SVG plot: raw and smoothed loss, every evaluation a point, labelled axes", () => {
  const svg = plotSvg([
    { step: 10, loss: 3 },
    { step: 20, loss: 2, exact_match: 30, f1: 40, eval_loss: 2.2 },
    { step: 30, loss: 1, exact_match: 60, f1: 70, eval_loss: 1.5 },
  ]);
  assert.match(svg, /^<svg/);
  // Raw loss, its EMA, eval loss, EM and F1 as lines; 2 evaluations x 3 series as points.
  assert.equal(svg.match(/<polyline/g)?.length, 5);
  assert.equal(svg.match(/<circle/g)?.length, 6);
  for (const label of [">step<", ">loss<", ">eval metric<", ">loss (EMA)<"]) {
    assert.ok(svg.includes(label), label);
  }
  assert.ok(!svg.includes("NaN"));
});

Deno.test("a run that evaluated once still shows its scores, as points", () => {
  const svg = plotSvg(
    [{ step: 5, loss: 2 }, {
      step: 10,
      loss: 1,
      accuracy: 0.8,
      eval_loss: 0.9,
    }],
    "t",
    { metrics: ["accuracy"] },
  );
  assert.equal(svg.match(/<circle/g)?.length, 2);
  assert.ok(svg.includes(">accuracy<"));
  assert.ok(svg.includes(">1.00<"), "scores in [0, 1] get a unit axis");
});

Deno.test("smoothEma is debiased: a constant series stays constant", () => {
  assert.deepEqual(smoothEma([2, 2, 2], 0.9).map((v) => +v.toFixed(12)), [2, 2, 2]);
  const s = smoothEma([4, 2], 0.5);
  assert.equal(s[0], 4);
  assert.ok(Math.abs(s[1] - (0.25 * 4 + 0.5 * 2) / 0.75) < 1e-12);
});
