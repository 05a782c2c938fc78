// The page in headless Chromium: "Train here" fine-tunes the embedded default in the tab, and
// the page answers with the trained weights; a screenshot of it is saved as a PNG.

import assert from "node:assert/strict";
import { withoutChromium } from "./_browser.ts";
import { pageScreenshot } from "../examples/web/screenshot.ts";

Deno.test({
  name: "20 training steps in the page lower the loss; the answered page is saved as a PNG",
  ignore: withoutChromium(),
  async fn() {
    const r = await pageScreenshot(20, 300);
    assert.equal(r.losses.length, 20);
    assert.ok(r.losses.every(Number.isFinite), `${r.losses}`);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // Measured on SwiftShader (300 questions): the first five steps average 3.52, the last five 2.18.
    assert.ok(mean(r.losses.slice(-5)) < 0.85 * mean(r.losses.slice(0, 5)), `${r.losses}`);
    assert.ok(r.tokensPerS > 0);
    assert.equal(typeof r.answer, "string");
    const path = `${await Deno.makeTempDir()}/page.png`;
    await Deno.writeFile(path, r.png);
    assert.deepEqual([...(await Deno.readFile(path)).subarray(0, 8)], [
      0x89,
      0x50,
      0x4e,
      0x47,
      0x0d,
      0x0a,
      0x1a,
      0x0a,
    ]);
    console.log(`screenshot: ${path}; losses ${r.losses.map((l) => l.toFixed(2)).join(" ")}`);
  },
});
