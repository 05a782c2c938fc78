import assert from "node:assert/strict";
import { Tokenizer } from "tokenizers";
import {
  bertTemplate,
  pairWindows,
  singleWindow,
  type TokenSequence,
} from "../../src/text/windows.ts";
import { WordPieceTokenizer } from "../../src/text/wordpiece.ts";
import { mulberry32 } from "../../src/util/rng.ts";

const LETTERS = "abcdefghijklmnopqrstuvwxyz".split("");
const VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", ...LETTERS];
const SPEC = { template: bertTemplate(2, 3), padId: 0, padToken: "[PAD]", name: "T" };

Deno.test("pairWindows equals the library's own Encoding.truncate and template", async () => {
  // The library with truncation left off (huggingface/tokenizers#2091), cut by hand the way
  // its truncation does: the reference the shared windows must equal.
  const lib = Tokenizer.fromString(
    WordPieceTokenizer.fromVocabArray(VOCAB, { lowercase: true }).toJSON(),
  );
  const seq = async (text: string, pair: boolean): Promise<TokenSequence> => {
    const e = await lib.encode(pair ? "" : text, pair ? text : null, { addSpecialTokens: false });
    return {
      ids: e.getIds(),
      tokens: e.getTokens(),
      offsets: e.getOffsets() as [number, number][],
    };
  };
  const rand = mulberry32(16);
  const words = (n: number) =>
    Array.from({ length: n }, () => LETTERS[Math.floor(rand() * 26)]).join(" ");
  let windows = 0;
  for (let trial = 0; trial < 300; trial++) {
    const q = words(1 + Math.floor(rand() * 6)), c = words(1 + Math.floor(rand() * 40));
    const maxLength = 6 + Math.floor(rand() * 20);
    const stride = Math.floor(rand() * 8);
    const qe = await lib.encode(q, null, { addSpecialTokens: false });
    const ce = await lib.encode("", c, { addSpecialTokens: false });
    const budget = maxLength - 3 - qe.getLength();
    let want: { ids: number[]; typeIds: number[]; offsets: number[][] }[] | string;
    if (ce.getLength() <= budget) {
      const e = await lib.encode(q, c);
      want = [{ ids: e.getIds(), typeIds: e.getTypeIds(), offsets: e.getOffsets() }];
    } else if (budget <= 0 || stride >= budget) want = "error";
    else {
      ce.truncate(budget, stride, "right");
      const main = lib.postProcess(qe, ce, true);
      want = [main, ...main.getOverflowing()].map((e) => ({
        ids: e.getIds(),
        typeIds: e.getTypeIds(),
        offsets: e.getOffsets(),
      }));
    }
    const run = async () =>
      pairWindows(SPEC, await seq(q, false), await seq(c, true), { maxLength, stride });
    if (want === "error") {
      await assert.rejects(run, /Truncation error|stride/);
      continue;
    }
    const got = (await run()).map((w) => ({ ids: w.ids, typeIds: w.typeIds, offsets: w.offsets }));
    assert.deepEqual(got, want, `${q} | ${c} | ${maxLength} ${stride}`);
    windows += got.length;
  }
  assert.ok(windows > 300);
});

Deno.test("singleWindow cuts from the end, pads, and refuses a length below the specials", () => {
  const s: TokenSequence = {
    ids: [7, 8, 9],
    tokens: ["a", "b", "c"],
    offsets: [[0, 1], [1, 2], [2, 3]],
  };
  const w = singleWindow(SPEC, s, { maxLength: 4, padding: "max_length" });
  assert.deepEqual(w.ids, [2, 7, 8, 3]);
  assert.deepEqual(singleWindow(SPEC, s, { maxLength: 6, padding: "max_length" }).attentionMask, [
    1,
    1,
    1,
    1,
    1,
    0,
  ]);
  assert.deepEqual(singleWindow(SPEC, s, { addSpecialTokens: false }).sequenceIds, [0, 0, 0]);
  assert.throws(() => singleWindow(SPEC, s, { maxLength: 1 }), /T: maxLength 1 is too small/);
  assert.throws(() => singleWindow(SPEC, s, { padding: "max_length" }), /padding needs maxLength/);
});
