import assert from "node:assert/strict";
import { parseSentencePieceModel } from "../../src/text/sentencepiece_model.ts";
import {
  ByteTrie,
  SentencePieceNormalizer,
  utf8Length,
} from "../../src/text/sentencepiece_normalizer.ts";
import { TokenizerError } from "../../src/util/errors.ts";
import { model } from "./_spm.ts";

const FIXTURE = new URL("../fixtures/sentencepiece/nsmc_unigram.model", import.meta.url).pathname;
const enc = new TextEncoder(), dec = new TextDecoder();

function normalizer(bytes: Uint8Array, user: string[] = []): SentencePieceNormalizer {
  const { spec } = parseSentencePieceModel(bytes, "m.model");
  const trie = new ByteTrie();
  user.forEach((u, i) => trie.add(enc.encode(u), i));
  return new SentencePieceNormalizer(spec, user.length ? trie : null, "m.model");
}

function run(n: SentencePieceNormalizer, text: string): [string, number[]] {
  const r = n.normalize(enc.encode(text));
  return [dec.decode(r.bytes), [...r.normToOrig]];
}

Deno.test("nmt_nfkc: NFKC rules, spaces collapsed and escaped, a dummy prefix", () => {
  const n = normalizer(Deno.readFileSync(FIXTURE));
  assert.equal(run(n, "  Ａ\t\tﬁ  ㈜ ")[0], "▁A▁fi▁(주)");
  assert.deepEqual(run(n, ""), ["", [0]]);
  assert.deepEqual(run(n, " \t "), ["", [0]]);
  // Each normalized byte maps to the start of the original bytes it came from; ▁ (3 bytes)
  // of a space to that space; the end to the end of the text before trailing spaces.
  const [text, map] = run(n, " a  b ");
  assert.equal(text, "▁a▁b");
  assert.deepEqual(map, [1, 1, 1, 1, 2, 2, 2, 4, 5]);
});

Deno.test("user-defined pieces pass through unnormalized", () => {
  const n = normalizer(Deno.readFileSync(FIXTURE), ["ＡＢ"]);
  assert.equal(run(n, "ＡＢＣ")[0], "▁ＡＢC");
});

Deno.test("identity rules; remove_extra_whitespaces, escape and dummy prefix off; suffix", () => {
  const pieces: [string, number, number?][] = [["<unk>", 0, 2], ["a", -1]];
  const plain = normalizer(model(pieces, [], [[3, false], [4, false], [5, false]]));
  assert.deepEqual(run(plain, " Ａ  b "), [" Ａ  b ", [0, 1, 1, 1, 4, 5, 6, 7, 8]]);
  const kept = normalizer(model(pieces, [], [[4, false]]));
  assert.equal(run(kept, " a  b ")[0], "▁▁a▁▁b▁");
  const suffix = normalizer(model(pieces, [[24, true]]));
  assert.equal(run(suffix, " a  b ")[0], "a▁b▁");
});

Deno.test("a malformed precompiled charsmap is a TokenizerError", () => {
  const bad = model([["<unk>", 0, 2]], [], [[2, "\u00ff\u00ff\u00ff\u007f tail"]]);
  assert.throws(() => normalizer(bad), TokenizerError);
});

Deno.test("utf8Length reads the lead byte", () => {
  assert.deepEqual([0x41, 0xc3, 0xea, 0xf0, 0x80].map(utf8Length), [1, 2, 3, 4, 1]);
});
