import assert from "node:assert/strict";
import { parseSentencePieceModel, PieceType } from "../../src/text/sentencepiece_model.ts";
import { TokenizerError } from "../../src/util/errors.ts";
import { field, model } from "./_spm.ts";

const FIXTURE = new URL("../fixtures/sentencepiece/nsmc_unigram.model", import.meta.url).pathname;

Deno.test("the spm_train fixture: pieces, types, KoBERT's special ids and nmt_nfkc", () => {
  const { pieces, spec } = parseSentencePieceModel(Deno.readFileSync(FIXTURE), "m.model");
  assert.equal(pieces.length, 8000);
  assert.deepEqual(pieces.slice(0, 6).map((p) => [p.piece, p.type]), [
    ["[UNK]", PieceType.UNKNOWN],
    ["[PAD]", PieceType.CONTROL],
    ["[CLS]", PieceType.CONTROL],
    ["[SEP]", PieceType.CONTROL],
    ["[MASK]", PieceType.USER_DEFINED],
    ["\u2581", PieceType.NORMAL],
  ]);
  // Scores are float32 (the python binding's get_score of "▁").
  assert.equal(pieces[5].score, Math.fround(-3.028118848800659));
  assert.deepEqual(
    [spec.modelType, spec.unkId, spec.padId, spec.bosId, spec.eosId, spec.byteFallback],
    [1, 0, 1, 2, 3, false],
  );
  assert.equal(spec.normalizerName, "nmt_nfkc");
  assert.ok(spec.precompiledCharsmap.length > 100_000);
  assert.deepEqual(
    [spec.addDummyPrefix, spec.removeExtraWhitespaces, spec.escapeWhitespaces],
    [true, true, true],
  );
});

Deno.test("absent fields take the .proto defaults; negative ids and unknown fields read", () => {
  const bytes = model([["<unk>", 0, 2], ["a", -1]], [[43, -1], [99, 7]], [[9, "x"]]);
  const { pieces, spec } = parseSentencePieceModel(bytes, "m.model");
  assert.deepEqual(pieces.map((p) => p.piece), ["<unk>", "a"]);
  assert.equal(spec.padId, -1);
  assert.deepEqual([spec.unkId, spec.bosId, spec.eosId], [0, 1, 2]);
  assert.equal(spec.unkSurface, " \u2047 ");
  assert.equal(spec.precompiledCharsmap.length, 0);
});

Deno.test("malformed bytes are a one-line TokenizerError naming the file", () => {
  const good = Deno.readFileSync(FIXTURE);
  const cases: [Uint8Array, RegExp][] = [
    [good.subarray(0, 1000), /runs past the end|truncated/],
    [new TextEncoder().encode("not a model at all\n"), /not a SentencePiece model/],
    [new Uint8Array(0), /holds no pieces/],
    [Uint8Array.from(field(1, 5)), /pieces has wire type 0/],
    [Uint8Array.from([0x0b]), /wire type 3/],
    [Uint8Array.from([0x98, 0x06, 0xff]), /truncated varint/],
  ];
  for (const [bytes, re] of cases) {
    assert.throws(() => parseSentencePieceModel(bytes, "bad.model"), (e) => {
      assert.ok(e instanceof TokenizerError, String(e));
      assert.ok(e.message.startsWith("bad.model: "), e.message);
      assert.match(e.message, re);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
});
