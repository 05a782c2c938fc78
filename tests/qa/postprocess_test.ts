import assert from "node:assert/strict";
import {
  type PostprocessOptions,
  postprocessQaPredictions,
  writePredictions,
} from "../../src/qa/postprocess.ts";
import "../_helpers.ts";

type Off = [number, number] | null;
const CONTEXT = "aaa bbb ccc ddd";
// [CLS] question [SEP] aaa bbb ccc [SEP]: context tokens at positions 1..3.
const OFF3: Off[] = [null, [0, 3], [4, 7], [8, 11], null];

function one(start: number[], end: number[], offsets: Off[], opts: PostprocessOptions = {}) {
  const out = postprocessQaPredictions(
    [{ id: "x", context: CONTEXT }],
    [{ exampleId: "x", offsets }],
    [start],
    [end],
    opts,
  );
  return { pred: out.predictions.x, nbest: out.nbest.x, texts: out.nbest.x.map((n) => n.text) };
}

Deno.test("spans past the offsets or outside the context (null offsets) are skipped", () => {
  // Positions 4 and 5 have logits but no offsets; 0 and 4 are not context.
  const r = one([9, 1, 0, 0, 9, 20], [9, 0, 2, 0, 9, 20], OFF3);
  assert.equal(r.pred, "aaa bbb");
  assert.ok(r.nbest.every((n) => n.text !== ""));
  assert.equal(r.nbest[0].start_logit, 1);
  assert.equal(r.nbest[0].end_logit, 2);
});

Deno.test("spans ending before they start are skipped; equal scores keep generation order", () => {
  // (start 3, end 2) would score 10. Of the two best valid spans, both 6, (3,3) is generated
  // first (start indexes by descending logit), and the stable sort keeps it first.
  const r = one([0, 0, 1, 5, 0], [0, 0, 5, 1, 0], OFF3);
  assert.equal(r.pred, "ccc");
  assert.deepEqual(r.texts.slice(0, 2), ["ccc", "bbb"]);
  assert.ok(!r.texts.includes(""));
});

Deno.test("spans longer than maxAnswerLength tokens are skipped (the limit itself is allowed)", () => {
  const s = [0, 5, 0, 0, 0], e = [0, 0, 0, 5, 0];
  assert.equal(one(s, e, OFF3, { maxAnswerLength: 3 }).pred, "aaa bbb ccc");
  const r = one(s, e, OFF3, { maxAnswerLength: 2 });
  assert.equal(r.pred, "aaa bbb");
  assert.ok(!r.texts.includes("aaa bbb ccc"));
  assert.equal(one(s, e, OFF3).pred, "aaa bbb ccc"); // default limit 30
});

Deno.test("the best span over two windows wins; n-best mixes windows, keeps duplicates", () => {
  const out = postprocessQaPredictions(
    [{ id: "x", context: CONTEXT }, { id: "y", context: "zz" }],
    [
      { exampleId: "x", offsets: OFF3 },
      { exampleId: "y", offsets: [null, [0, 2], null] },
      { exampleId: "x", offsets: [null, [8, 11], [12, 15], null, null] },
    ],
    [[0, 1, 0, 0, 0], [0, 1, 0], [0, 2, 3, 0, 0]],
    [[0, 1, 0, 0, 0], [0, 1, 0], [0, 2, 2, 0, 0]],
  );
  assert.deepEqual(out.predictions, { x: "ddd", y: "zz" });
  const texts = out.nbest.x.map((n) => n.text);
  assert.equal(texts[0], "ddd");
  assert.ok(texts.includes("aaa") && texts.includes("ccc"));
  // "ccc" appears in both windows: window 0 as (3,3), window 1 as (1,1).
  assert.equal(texts.filter((t) => t === "ccc").length, 2);
  const scores = out.nbest.x.map((n) => n.start_logit + n.end_logit);
  assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
});

Deno.test("probabilities are the softmax of the n-best scores and sum to 1; nBestSize caps", () => {
  const r = one([0, 3, 2, 1, 0], [0, 1, 2, 3, 0], OFF3);
  const sum = r.nbest.reduce((a, n) => a + n.probability, 0);
  assert.ok(Math.abs(sum - 1) < 1e-12, `sum ${sum}`);
  const [a, b] = r.nbest;
  const ratio = a.probability / b.probability;
  const want = Math.exp(a.start_logit + a.end_logit - b.start_logit - b.end_logit);
  assert.ok(Math.abs(ratio - want) < 1e-12);
  assert.equal(r.nbest.length, 6); // all valid spans of 3 tokens
  // Top-2 starts (1, 2) by top-2 ends (3, 2) give 4 spans, of which 2 are kept.
  const capped = one([0, 3, 2, 1, 0], [0, 1, 2, 3, 0], OFF3, { nBestSize: 2 });
  assert.equal(capped.nbest.length, 2);
  assert.deepEqual(capped.texts, ["aaa bbb ccc", "aaa bbb"]);
});

Deno.test("no valid span: the dummy 'empty' entry, prediction '' (or 'empty' as utils_qa.py)", () => {
  const r = one([5, 1, 1], [5, 1, 1], [null, null, null]);
  assert.equal(r.pred, "");
  assert.deepEqual(r.nbest, [{ text: "empty", start_logit: 0, end_logit: 0, probability: 1 }]);
  assert.equal(
    one([5, 1, 1], [5, 1, 1], [null, null, null], { emptyPrediction: "empty" }).pred,
    "empty",
  );
  // A single valid span with empty text also gets the dummy in front.
  const z = one([0, 2, 0], [0, 1, 0], [null, [5, 5], null]);
  assert.equal(z.pred, "");
  assert.deepEqual(z.texts, ["empty", ""]);
  assert.ok(Math.abs(z.nbest[1].probability - 1 / (1 + Math.exp(-3))) < 1e-12);
  // An example without features gets the dummy too.
  const out = postprocessQaPredictions([{ id: "n", context: "c" }], [], [], []);
  assert.deepEqual(out.predictions, { n: "" });
});

Deno.test("argsort ties take the higher index first (numpy stable argsort, reversed)", () => {
  // With one start and one end index, the tie between positions 1 and 2 picks 2.
  assert.equal(one([0, 1, 1, 0, 0], [0, 0, 1, 0, 0], OFF3, { nBestSize: 1 }).pred, "bbb");
  // NaN sorts above every number, as numpy does, and is then tried first.
  assert.equal(one([0, 1, NaN, 0, 0], [0, 1, 0, 0, 0], OFF3, { nBestSize: 1 }).pred, "");
});

Deno.test("float32 logits are summed in float32, as numpy does", () => {
  const s = Float32Array.from([0, 0.1, 0, 0, 0]);
  const e = Float32Array.from([0, 0.2, 0, 0, 0]);
  const out = postprocessQaPredictions(
    [{ id: "x", context: CONTEXT }],
    [{ exampleId: "x", offsets: OFF3 }],
    [s],
    [e],
  );
  const [best] = out.nbest.x;
  assert.equal(best.start_logit, Math.fround(0.1));
  assert.equal(best.text, "aaa");
});

Deno.test("mismatched logits and unknown example ids are errors", () => {
  assert.throws(
    () =>
      postprocessQaPredictions(
        [{ id: "x", context: "" }],
        [{ exampleId: "x", offsets: [] }],
        [],
        [],
      ),
    /1 features/,
  );
  assert.throws(
    () =>
      postprocessQaPredictions(
        [{ id: "x", context: "" }],
        [{ exampleId: "y", offsets: [] }],
        [[]],
        [[]],
      ),
    /unknown example id y/,
  );
});

Deno.test("features without offsets (train features) are refused, naming the feature", () => {
  assert.throws(
    () =>
      postprocessQaPredictions(
        [{ id: "x", context: CONTEXT }],
        [
          { exampleId: "x", offsets: OFF3 },
          { exampleId: "x" } as { exampleId: string; offsets: Off[] },
        ],
        [[0, 1, 2, 3, 0], [0, 1, 2, 3, 0]],
        [[0, 1, 2, 3, 0], [0, 1, 2, 3, 0]],
      ),
    /^Error: feature 1 has no offsets \(use prepareEvalFeatures\)$/,
  );
});

Deno.test("writePredictions writes predictions.json and nbest_predictions.json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const result = postprocessQaPredictions(
      [{ id: "k", context: "서울은 수도" }],
      [{ exampleId: "k", offsets: [null, [0, 2], [2, 3], [4, 6], null] }],
      [[0, 3, 0, 0, 0]],
      [[0, 3, 0, 0, 0]],
    );
    const paths = await writePredictions(`${dir}/out`, result);
    assert.deepEqual(paths, {
      predictions: `${dir}/out/predictions.json`,
      nbest: `${dir}/out/nbest_predictions.json`,
    });
    const text = await Deno.readTextFile(paths.predictions);
    assert.equal(text, '{\n    "k": "서울"\n}\n');
    assert.deepEqual(JSON.parse(await Deno.readTextFile(paths.nbest)), result.nbest);
    const custom = { predictions: `${dir}/p.json`, nbest: `${dir}/n.json` };
    assert.deepEqual(await writePredictions(custom, result), custom);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(custom.predictions)), { k: "서울" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
