import assert from "node:assert/strict";
import {
  AnalyzerSpecError,
  createAnalyzer,
  DataError,
  DEFAULT_ANALYZER,
  words,
} from "../../mod.ts";
import { hasData, shared } from "../_data.ts";

Deno.test("words: NFKC, lowercase, split at anything not a letter, digit or mark", () => {
  assert.deepEqual(words("ＡＢＣ-def 서울은, 1394년!"), ["abc", "def", "서울은", "1394년"]);
});

Deno.test("char n-grams stay within words; a short word is one term", async () => {
  const a = await createAnalyzer("char2");
  assert.deepEqual(await a.analyze(["가나다 라", ""]), [["가나", "나다", "라"], []]);
  const r = await createAnalyzer("char1-2");
  assert.deepEqual((await r.analyze(["ab c"]))[0], ["a", "b", "ab", "c"]);
  // Counted in code points: a character outside the BMP is one character.
  assert.deepEqual((await (await createAnalyzer("char2")).analyze(["a𠀀b"]))[0], ["a𠀀", "𠀀b"]);
});

Deno.test("a union keeps each part's terms in its own namespace", async () => {
  const a = await createAnalyzer("words+char2");
  const [terms] = await a.analyze(["ab"]);
  assert.deepEqual(terms, ["0\u001fab", "1\u001fab"]);
  assert.equal(new Set(terms).size, 2, "the word ab and the bigram ab are different terms");
});

Deno.test("bad specs are AnalyzerSpecErrors; missing files are DataErrors", async () => {
  for (const spec of ["", "char0", "char3-2", "bigrams", "char2+", "words+words", "pieces"]) {
    await assert.rejects(createAnalyzer(spec), AnalyzerSpecError, spec);
  }
  await assert.rejects(createAnalyzer("pieces:/no/such/vocab.txt"), DataError);
  await assert.rejects(createAnalyzer("kiwi:/no/such/dir"), DataError);
});

Deno.test("kiwi: a directory without Kiwi's model files says where they come from", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/readme.txt`, "not a model\n");
  await assert.rejects(createAnalyzer(`kiwi:${dir}`), /no sj\.morph.*kiwi-nlp ships only/);
});

Deno.test("pieces: WordPiece tokens of a vocab.txt, lowercased when the vocab is uncased", async () => {
  const vocab = await Deno.makeTempFile({ suffix: ".txt" });
  await Deno.writeTextFile(vocab, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n서울\n##은\nSeoul\n");
  const cased = await createAnalyzer(`pieces:${vocab}`);
  assert.deepEqual(await cased.analyze(["서울은 Seoul"]), [["서울", "##은", "seoul"]]);
  await Deno.writeTextFile(vocab, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nseoul\n");
  const uncased = await createAnalyzer(`pieces:${vocab}`);
  assert.deepEqual(await uncased.analyze(["Seoul"]), [["seoul"]]);
});

Deno.test({
  name: "pieces: KoELECTRA's cased vocab (shared data)",
  ignore: !hasData("vocab/koelectra-v1-cased-vocab.txt"),
  async fn() {
    const a = await createAnalyzer(`pieces:${shared("vocab/koelectra-v1-cased-vocab.txt")}`);
    const [terms] = await a.analyze(["대한민국의 수도는 서울이다"]);
    assert.ok(terms.length >= 4 && terms.some((t) => t.startsWith("##")), terms.join(" "));
  },
});

Deno.test("the default analyzer needs no file", async () => {
  assert.ok(!DEFAULT_ANALYZER.includes(":"));
  await createAnalyzer(DEFAULT_ANALYZER);
});
