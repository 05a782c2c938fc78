// The page in headless Chromium: "Train here" fine-tunes the embedded default in the tab, and
// the page answers with the trained weights; a screenshot of it is saved as a PNG. It also
// fills masks and classifies as the CLIs do, from an HF directory it loads.

import assert from "node:assert/strict";
import { withoutChromium } from "./_browser.ts";
import { pageScreenshot } from "../examples/web/screenshot.ts";
import {
  bertConfig,
  BertForMaskedLM,
  BertForSequenceClassification,
  initGpu,
  saveModel,
} from "../mod.ts";
import { launchPage } from "../src/cli/_web.ts";
import { runScript } from "./cli/_run.ts";

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

// A random BERT of `kind` with a 14-token lowercase vocab, saved as an HF directory.
async function tinyModelDir(kind: "mlm" | "classify"): Promise<string> {
  const vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "movie", "was", "good"];
  vocab.push("bad", "a", "great", "film", ".");
  const config = bertConfig({
    vocab_size: vocab.length,
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 64,
    ...(kind === "classify"
      ? { id2label: { "0": "negative", "1": "positive" }, label2id: { negative: 0, positive: 1 } }
      : {}),
  });
  const model = kind === "mlm"
    ? new BertForMaskedLM(config, { seed: 3 })
    : new BertForSequenceClassification(config, { seed: 3 });
  const dir = await Deno.makeTempDir();
  await saveModel(model, model.config, dir);
  await Deno.writeTextFile(`${dir}/vocab.txt`, vocab.join("\n") + "\n");
  await Deno.writeTextFile(`${dir}/tokenizer_config.json`, '{"do_lower_case": true}');
  model.dispose();
  return dir;
}

Deno.test({
  name: "the page fills masks and classifies as deno task fill-mask and predict do",
  ignore: withoutChromium(),
  async fn() {
    await initGpu();
    const mlm = await tinyModelDir("mlm");
    const text = "the movie was [MASK] .";
    const cli = await runScript("fill_mask", ["--model", mlm, "--text", text, "--top-k", "3"]);
    assert.equal(cli.code, 0, cli.stderr);
    const want = cli.last as unknown as { token: number; token_str: string; score: number }[];
    let page = await launchPage({ model: mlm });
    try {
      const [got] = await page.call<typeof want[]>("fill", text, 3);
      assert.deepEqual(got.map((c) => c.token_str), want.map((c) => c.token_str));
      got.forEach((c, i) => assert.ok(Math.abs(c.score - want[i].score) < 1e-5, `${c.score}`));
    } finally {
      await page.close();
    }
    const clf = await tinyModelDir("classify");
    const review = "a great film .";
    const p = await runScript("predict", ["--task", "classify", "--model", clf, "--text", review]);
    assert.equal(p.code, 0, p.stderr);
    const { label_name, score } = p.last as { label_name: string; score: number };
    page = await launchPage({ model: clf });
    try {
      const got = await page.call<{ label: string; score: number }>("classify", review);
      assert.equal(got.label, label_name);
      assert.ok(Math.abs(got.score - score) < 1e-5, `${got.score} vs ${score}`);
    } finally {
      await page.close();
    }
  },
});
