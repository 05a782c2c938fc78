import assert from "node:assert/strict";
import { loadPredictions, loadSquad } from "../../src/qa/dataset.ts";
import {
  korquadExactMatch,
  korquadF1,
  korquadScore,
  normalizeKorquad,
  normalizeSquad,
  squadExactMatch,
  squadF1,
  squadScore,
} from "../../src/qa/metrics.ts";
import { shared, withoutData } from "../_data.ts";

// Scores are sums of a few rationals; 1e-12 only absorbs float rounding, never a real miss.
const close = (a: number, e: number, what = "") =>
  assert.ok(Math.abs(a - e) <= 1e-12, `${what}: got ${a}, expected ${e}`);

Deno.test("normalizeKorquad: brackets and quotes become spaces, then lowercase, punct, spaces", () => {
  assert.equal(normalizeKorquad("《반지의 제왕》"), "반지의 제왕");
  assert.equal(normalizeKorquad("〈훈민정음〉"), "훈민정음");
  // " b 굵게 /b ": "<" and ">" became spaces, then "/" is deleted.
  assert.equal(normalizeKorquad("<b>굵게</b>"), "b 굵게 b");
  assert.equal(normalizeKorquad("(주)LG전자"), "주 lg전자");
  assert.equal(normalizeKorquad("‘한강의 기적’"), "한강의 기적");
  // Curly double quotes are not in the list and not ASCII: they stay.
  assert.equal(normalizeKorquad("“한강”"), "“한강”");
  assert.equal(normalizeKorquad("Let It Be"), "let it be");
  assert.equal(normalizeKorquad("1,000원."), "1000원");
  assert.equal(normalizeKorquad("  서울   특별시 "), "서울 특별시");
  // No article removal in KorQuAD.
  assert.equal(normalizeKorquad("The Beatles"), "the beatles");
  // Non-ASCII punctuation (middle dot) is kept.
  assert.equal(normalizeKorquad("한·미"), "한·미");
});

Deno.test("normalizers follow Python 3 str.lower/str.split/re \\b, not JS defaults", () => {
  // Expected strings were produced by the Python 3.11 expressions of the official scripts.
  // Final sigma: str.lower() maps a word-final capital sigma to U+03C2.
  assert.equal(
    normalizeSquad("\u039f\u0394\u039f\u03a3 \u03a3\u0391"),
    "\u03bf\u03b4\u03bf\u03c2 \u03c3\u03b1",
  );
  // Full case mapping: dotted capital I lowers to "i" + combining dot above.
  assert.equal(normalizeKorquad("\u0130stanbul"), "i\u0307stanbul");
  // str.split() splits on NBSP, U+0085 and U+001C, but not on the BOM U+FEFF.
  assert.equal(normalizeKorquad("a\u00a0b\u0085c\x1cd\ufeffe"), "a b c d\ufeffe");
  assert.equal(normalizeSquad("a\u00a0b\u0085c\x1cd\ufeffe"), "b c d\ufeffe");
  // \b is Unicode: an Arabic-Indic digit or a Latin letter with accent is a word character,
  // "_" is deleted as punctuation before articles are removed, and a combining mark is not.
  assert.equal(normalizeSquad("the\u0663 the_x th\u00e9a a-the"), "the\u0663 thex th\u00e9a athe");
  assert.equal(normalizeSquad("an\u0301 the"), "\u0301");
});

Deno.test("normalizeSquad: lowercase, punctuation, articles, whitespace", () => {
  assert.equal(normalizeSquad("The  Beatles!"), "beatles");
  assert.equal(normalizeSquad("a an the"), "");
  assert.equal(normalizeSquad("Theatre Anne"), "theatre anne"); // articles only as whole words
  assert.equal(normalizeSquad("A-Team"), "ateam"); // the hyphen goes first, then no "a" word
  assert.equal(normalizeSquad("(1,000)"), "1000");
});

Deno.test("korquad per-pair EM and character F1, worked by hand", () => {
  assert.equal(korquadExactMatch("《반지의 제왕》", "반지의 제왕"), 1);
  assert.equal(korquadExactMatch("〈훈민정음〉", "훈민정음"), 1);
  assert.equal(korquadExactMatch("LET IT BE", "Let It Be"), 1);
  assert.equal(korquadExactMatch("1,000원.", "1000원"), 1);
  assert.equal(korquadExactMatch(" 서울   특별시", "서울 특별시"), 1);
  // Spaces matter for EM but not for F1: chars 서울특별시 vs 서울 특별시 are the same multiset.
  assert.equal(korquadExactMatch("서울특별시", "서울 특별시"), 0);
  close(korquadF1("서울특별시", "서울 특별시"), 1, "spacing");
  // Particle: pred 세종대왕이 (5 chars), gold 세종대왕 (4); overlap 4; P 4/5, R 1;
  // F1 = 2 * 0.8 * 1 / 1.8 = 8/9.
  assert.equal(korquadExactMatch("세종대왕이", "세종대왕"), 0);
  close(korquadF1("세종대왕이", "세종대왕"), 8 / 9, "particle");
  // Middle dot kept: pred 한·미 (3 chars), gold 한미 (2); overlap 2; P 2/3, R 1; F1 = 0.8.
  close(korquadF1("한·미", "한미"), 0.8, "middle dot");
  // Multiset: pred 아아아, gold 아; overlap min(3, 1) = 1; P 1/3, R 1; F1 = (2/3)/(4/3) = 0.5.
  close(korquadF1("아아아", "아"), 0.5, "multiset");
  // Curly quotes kept: pred “한강” (4 chars), gold 한강 (2); P 1/2, R 1; F1 = 1/(3/2) = 2/3.
  close(korquadF1("“한강”", "한강"), 2 / 3, "curly quotes");
  // Empty prediction: no overlap, F1 0 and EM 0; both empty: EM 1 but F1 0 (official quirk).
  assert.equal(korquadExactMatch("", "서울"), 0);
  assert.equal(korquadF1("", "서울"), 0);
  assert.equal(korquadExactMatch("()", ""), 1);
  assert.equal(korquadF1("()", ""), 0);
});

Deno.test("squad per-pair EM and token F1, worked by hand", () => {
  assert.equal(squadExactMatch("the Eiffel Tower.", "Eiffel tower"), 1);
  // pred [denver, broncos, won], gold [denver, broncos]; P 2/3, R 1; F1 = (4/3)/(5/3) = 0.8.
  close(squadF1("Denver Broncos won", "the Denver Broncos"), 0.8, "extra token");
  // Counter &: pred {new: 2, york: 1}, gold {new: 1, york: 1}; overlap 2; P 2/3, R 1; F1 0.8.
  close(squadF1("new york new", "New York"), 0.8, "multiset");
  // Tokens, not characters: "broncos" and "bronco" share nothing.
  assert.equal(squadF1("bronco", "broncos"), 0);
  assert.equal(squadF1("", "Denver"), 0);
  assert.equal(squadExactMatch("", "the"), 1); // both normalize to ""
  assert.equal(squadF1("", "the"), 0);
});

Deno.test("korquadScore: max over gold answers, mean over all questions, missing = 0", () => {
  const gold = [
    { id: "q1", answers: { text: ["서울", "서울특별시"] } },
    { id: "q2", answers: { text: ["1989년"] } },
    { id: "q3", answers: { text: ["한강"] } },
  ];
  const s = korquadScore(gold, { q1: "서울특별시의", q2: "1989년", extra: "ignored" });
  // q1: EM 0 against both. F1 vs 서울: P 2/6, R 1 -> 0.5; vs 서울특별시: overlap 5, P 5/6, R 1
  // -> (10/6)/(11/6) = 10/11; max 10/11. q2: EM 1, F1 1. q3 missing: 0 and 0.
  close(s.exact_match, 100 / 3, "EM");
  close(s.f1, (100 * (10 / 11 + 1)) / 3, "F1");
  assert.equal(s.total, 3);
  assert.equal(s.missing, 1);
  assert.deepEqual(s.missingIds, ["q3"]);
});

Deno.test("a question without gold answers scores 0 (where Python's max() would raise)", () => {
  for (const scorer of [korquadScore, squadScore]) {
    const gold = [{ id: "q1", answers: { text: [] } }, { id: "q2", answers: { text: ["x"] } }];
    const s = scorer(gold, { q1: "", q2: "x" });
    assert.deepEqual([s.exact_match, s.f1, s.total, s.missing], [50, 50, 2, 0]);
  }
});

Deno.test("missing predictions: all counted, the first 20 ids listed in dataset order", () => {
  const gold = Array.from(
    { length: 45 },
    (_, i) => ({ id: `q${44 - i}`, answers: { text: ["a"] } }),
  );
  const s = korquadScore(gold, { q44: "a", q0: "a" });
  assert.equal(s.missing, 43);
  assert.deepEqual(s.missingIds, Array.from({ length: 20 }, (_, i) => `q${43 - i}`));
  close(s.exact_match, (100 * 2) / 45, "EM");
  assert.deepEqual(korquadScore([], {}), {
    exact_match: 0,
    f1: 0,
    total: 0,
    missing: 0,
    missingIds: [],
  });
});

Deno.test("squadScore: several gold answers and an empty prediction", () => {
  const gold = [
    { id: "a", answers: { text: ["Denver Broncos", "The Broncos", "Broncos"] } },
    { id: "b", answers: { text: ["1990"] } },
  ];
  const s = squadScore(gold, { a: "the Broncos team", b: "" });
  // a: vs "broncos": pred [broncos, team], P 1/2, R 1 -> 2/3; vs "denver broncos": P 1/2,
  // R 1/2 -> 1/2; max 2/3, EM 0. b: empty, 0 and 0.
  close(s.exact_match, 0, "EM");
  close(s.f1, (100 * (2 / 3)) / 2, "F1");
  assert.equal(s.missing, 0);
  assert.equal(squadScore([], {}).f1, 0);
});

Deno.test({
  name: "KorQuAD dev gold predictions score 100/100",
  ignore: withoutData(
    "korquad/KorQuAD_v1.0_dev.json",
    "korquad/KorQuAD_v1.0_dev_gold_predictions.json",
  ),
}, async () => {
  const dev = await loadSquad(shared("korquad/KorQuAD_v1.0_dev.json"));
  const gold = await loadPredictions(shared("korquad/KorQuAD_v1.0_dev_gold_predictions.json"));
  const s = korquadScore(dev.examples, gold);
  assert.equal(s.total, 5774);
  assert.equal(s.missing, 0);
  assert.equal(s.exact_match, 100);
  assert.equal(s.f1, 100);
});

Deno.test({
  name: "SQuAD dev: the first gold answer as prediction scores 100/100",
  ignore: withoutData("squad/dev-v1.1.json"),
}, async () => {
  const dev = await loadSquad(shared("squad/dev-v1.1.json"));
  const preds = Object.fromEntries(dev.examples.map((e) => [e.id, e.answers.text[0]]));
  const s = squadScore(dev.examples, preds);
  assert.equal(s.total, 10570);
  assert.equal(s.exact_match, 100);
  assert.equal(s.f1, 100);
  // Dropping one prediction costs exactly one question.
  delete preds[dev.examples[0].id];
  close(squadScore(dev.examples, preds).exact_match, (100 * 10569) / 10570, "one missing");
});
