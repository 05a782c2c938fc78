import assert from "node:assert/strict";
import { prepareEvalFeatures } from "../../src/qa/features.ts";
import { SentencePieceTokenizer } from "../../src/text/sentencepiece.ts";
import { TokenizerError } from "../../src/util/errors.ts";
import { model } from "./_spm.ts";

const DIR = new URL("../fixtures/sentencepiece/", import.meta.url).pathname;
const tok = await SentencePieceTokenizer.fromFile(`${DIR}nsmc_unigram.model`);

interface Golden {
  kind: "nsmc" | "adversarial";
  text: string;
  ids: number[];
  offsets: number[];
  pieces?: string[];
  decoded?: string;
}
// tools/spm_golden.py: the sentencepiece library's output (python3-sentencepiece 0.1.97).
const GOLDEN: Golden[] = Deno.readTextFileSync(`${DIR}golden.jsonl`).trim().split("\n")
  .map((l) => JSON.parse(l));

Deno.test("ids, pieces and offsets equal the sentencepiece library's on NSMC and adversarial text", () => {
  const docs = GOLDEN.filter((g) => g.kind === "nsmc");
  assert.ok(docs.length >= 2000, `${docs.length} documents`);
  const mismatches: string[] = [];
  for (const g of GOLDEN) {
    const p = tok.pieces(g.text);
    const same = JSON.stringify(p.ids) === JSON.stringify(g.ids) &&
      JSON.stringify(p.offsets.flat()) === JSON.stringify(g.offsets) &&
      (!g.pieces || JSON.stringify(p.pieces) === JSON.stringify(g.pieces));
    if (!same) mismatches.push(JSON.stringify(g.text));
  }
  assert.deepEqual(mismatches, []);
});

Deno.test("decoding gives the library's text, unknown surface included", async () => {
  for (const g of GOLDEN.filter((g) => g.decoded !== undefined)) {
    assert.equal(await tok.decode(g.ids, false), g.decoded, JSON.stringify(g.text));
  }
});

Deno.test("offsets: each piece's text maps back to its span of the original, NFKC-normalized", () => {
  const norm = (s: string) => s.normalize("NFKC").replace(/\s+/g, " ").trim();
  for (const g of GOLDEN) {
    const p = tok.pieces(g.text);
    let last = 0;
    for (const [b, e] of p.offsets) {
      assert.ok(last <= b && b <= e && e <= g.text.length, JSON.stringify(g.text));
      last = b;
    }
    if (g.kind !== "nsmc") continue;
    // The library gives the characters a piece expands from to the last of its pieces (the
    // others get empty spans), so the pieces are compared by runs that end on a non-empty span.
    let run = "", start = -1;
    p.pieces.forEach((piece, i) => {
      const [b, e] = p.offsets[i];
      if (start < 0) start = b;
      run += piece;
      if (e === b) return;
      assert.equal(norm(run.replaceAll("\u2581", " ")), norm(g.text.slice(start, e)), g.text);
      run = "";
      start = -1;
    });
  }
});

Deno.test("BERT wrapper: [CLS] text [SEP] from the model's own pieces, truncation, padding", async () => {
  assert.deepEqual([tok.unkId, tok.padId, tok.clsId, tok.sepId], [0, 1, 2, 3]);
  assert.equal(tok.tokenToId("[MASK]"), 4);
  assert.equal(tok.tokenToId("no such piece"), null);
  const text = "아 더빙.. 진짜 짜증나네요 목소리";
  const p = tok.pieces(text);
  const w = await tok.encode(text);
  assert.deepEqual(w.ids, [2, ...p.ids, 3]);
  assert.deepEqual(w.offsets, [[0, 0], ...p.offsets, [0, 0]]);
  assert.deepEqual(w.sequenceIds, [null, ...p.ids.map(() => 0), null]);
  // As HF's tokenizer(text, truncation=True, max_length=5): three pieces and the two specials.
  const cut = await tok.encode(text, { maxLength: 5 });
  assert.deepEqual(cut.ids, [2, ...p.ids.slice(0, 3), 3]);
  const padded = await tok.encode("굳", { maxLength: 6, padding: "max_length" });
  assert.deepEqual(padded.ids.slice(3), [1, 1, 1]);
  assert.deepEqual(padded.attentionMask, [1, 1, 1, 0, 0, 0]);
  assert.deepEqual((await tok.encode(text, { addSpecialTokens: false })).ids, p.ids);
  assert.equal(await tok.decode(w.ids), "아 더빙.. 진짜 짜증나네요 목소리");
  assert.equal(await tok.decode(w.ids, false), "[CLS]아 더빙.. 진짜 짜증나네요 목소리[SEP]");
});

Deno.test("question/context windows: stride, type ids, offsets into the context", async () => {
  const q = "누가 나와?", c = "배우 연기가 정말 좋았고 음악도 좋았다. 다시 보고 싶은 영화";
  const qp = tok.pieces(q), cp = tok.pieces(c);
  const maxLength = qp.ids.length + 3 + 6;
  const ws = await tok.encodePair(q, c, { maxLength, stride: 2 });
  // Window k holds context pieces [4k, 4k + 6); the last is the first to reach the end.
  assert.equal(ws.length, Math.ceil((cp.ids.length - 6) / 4) + 1);
  ws.forEach((w, k) => {
    const ctx = cp.ids.slice(4 * k, 4 * k + 6);
    assert.deepEqual(w.ids, [2, ...qp.ids, 3, ...ctx, 3]);
    assert.deepEqual(w.typeIds, [
      ...Array(qp.ids.length + 2).fill(0),
      ...Array(ctx.length + 1).fill(1),
    ]);
    assert.deepEqual(w.offsets.slice(qp.ids.length + 2, -1), cp.offsets.slice(4 * k, 4 * k + 6));
  });
  const whole = await tok.encodePair(q, c);
  assert.equal(whole.length, 1);
  assert.equal(whole[0].ids.length, qp.ids.length + cp.ids.length + 3);
  await assert.rejects(() => tok.encodePair(q, c, { maxLength: qp.ids.length + 3 }), /too short/);
  await assert.rejects(() => tok.encodePair(q, c, { maxLength, stride: 6 }), /stride/);
  // The QA features take it where they take a BertTokenizer.
  const [f] = await prepareEvalFeatures(
    [{ id: "x", question: q, context: c, answers: { text: [], answer_start: [] } }],
    tok,
    {
      maxLength: 64,
      stride: 8,
    },
  );
  const spans = f.offsets!.filter((o) => o !== null).map(([b, e]) => c.slice(b, e)).join("");
  assert.equal(spans, c); // a ▁ piece covers the space before its word
});

Deno.test("user-defined pieces always win; unused pieces never; unknown runs merge", () => {
  const t = SentencePieceTokenizer.fromBytes(
    model([
      ["<unk>", 0, 2],
      ["<s>", 0, 3],
      ["</s>", 0, 3],
      ["\u2581", -1],
      ["a", -2],
      ["b", -2],
      ["ab", -1],
      ["\u2581ab", -0.5, 5], // unused: skipped although best
      ["ba", -20, 4], // user-defined: beats a + b (-4) and ab (-1)
      ["<pad>", 0, 3],
    ]),
    "m.model",
  );
  assert.deepEqual(t.pieces("ab").pieces, ["\u2581", "ab"]);
  assert.deepEqual(t.pieces("aba").pieces, ["\u2581", "a", "ba"]);
  assert.deepEqual(t.pieces("a xyz b").pieces, ["\u2581", "a", "\u2581", "xyz", "\u2581", "b"]);
  assert.deepEqual(t.pieces("a xyz b").ids, [3, 4, 3, 0, 3, 5]);
  assert.deepEqual([t.clsId, t.sepId], [1, 2]);
});

Deno.test("byte fallback: an unknown character becomes its UTF-8 byte pieces", async () => {
  const bytes = Array.from({ length: 256 }, (_, i): [string, number, number] => [
    `<0x${i.toString(16).toUpperCase().padStart(2, "0")}>`,
    0,
    6,
  ]);
  const t = SentencePieceTokenizer.fromBytes(
    model([["<unk>", 0, 2], ["<pad>", 0, 3], ...bytes, ["\u2581", -1], ["a", -1]], [[35, true]]),
    "m.model",
  );
  const p = t.pieces("aé");
  assert.deepEqual(p.pieces, ["\u2581", "a", "<0xC3>", "<0xA9>"]);
  assert.deepEqual(p.offsets, [[0, 0], [0, 1], [1, 1], [1, 2]]);
  assert.equal(await t.decode(p.ids), "aé");
});

Deno.test("a malformed or unsupported model is a one-line TokenizerError naming the file", async () => {
  const bad = await Deno.makeTempFile({ suffix: ".model" });
  await Deno.writeFile(bad, Deno.readFileSync(`${DIR}nsmc_unigram.model`).subarray(0, 5000));
  const cases: [() => unknown, RegExp][] = [
    [() => SentencePieceTokenizer.fromFile(bad), /runs past the end|truncated/],
    [() => SentencePieceTokenizer.fromFile(`${bad}.missing`), /cannot read/],
    [() => SentencePieceTokenizer.fromBytes(model([["<unk>", 0, 2]], [[3, 2]]), "m"), /BPE/],
    [() => SentencePieceTokenizer.fromBytes(model([["a", 0]]), "m"), /no unknown piece/],
    [
      () => SentencePieceTokenizer.fromBytes(model([["<unk>", 0, 2], ["a", 0], ["a", 0]]), "m"),
      /twice/,
    ],
    [
      () => SentencePieceTokenizer.fromBytes(model([["<unk>", 0, 2], ["<0x00>", 0, 6]]), "m"),
      /byte_fallback/,
    ],
    [() => SentencePieceTokenizer.fromBytes(model([["<unk>", 0, 2]]), "m"), /no CLS piece/],
  ];
  for (const [f, re] of cases) {
    await assert.rejects(async () => await f(), (e) => {
      assert.ok(e instanceof TokenizerError, String(e));
      assert.match(e.message, re);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
  await Deno.remove(bad);
});
