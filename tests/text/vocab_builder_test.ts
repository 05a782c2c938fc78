// The WordPiece vocabulary builder: BERT layout of special tokens, determinism, BERT's
// pre-tokenization, and no [UNK] (plus answer spans on token boundaries) when the generated
// Korean QA data is tokenized with greedy longest-match WordPiece. Pure TypeScript: no GPU needed.

import assert from "node:assert/strict";
import { sharedJson, withoutData } from "../_data.ts";
import {
  bertPreTokenize,
  buildWordPieceVocab,
  VOCAB_SPECIAL_TOKENS,
} from "../../src/text/vocab_builder.ts";
import {
  defaultSplits,
  generateKoreanQa,
  koreanQaCharset,
  type SquadJson,
} from "../../src/qa/synthetic.ts";

/** BERT's WordPiece: greedy longest match, `##` continuations, a word with no match is [UNK]. */
function wordPiece(vocab: ReadonlySet<string>, word: string): string[] {
  const chars = [...word];
  if (chars.length > 100) return ["[UNK]"];
  const out: string[] = [];
  for (let start = 0; start < chars.length;) {
    let end = chars.length, piece = "";
    for (; end > start; end--) {
      const sub = (start > 0 ? "##" : "") + chars.slice(start, end).join("");
      if (vocab.has(sub)) {
        piece = sub;
        break;
      }
    }
    if (!piece) return ["[UNK]"];
    out.push(piece);
    start = end;
  }
  return out;
}

/** Tokens of `text` with the UTF-16 offset where each ends. */
function tokenize(vocab: ReadonlySet<string>, text: string): { tok: string; end: number }[] {
  const out: { tok: string; end: number }[] = [];
  let pos = 0;
  for (const w of bertPreTokenize(text)) {
    pos = text.indexOf(w, pos);
    for (const tok of wordPiece(vocab, w)) {
      pos += tok === "[UNK]" ? w.length : tok.replace(/^##/, "").length;
      out.push({ tok, end: pos });
    }
  }
  return out;
}

const textsOf = (s: SquadJson) =>
  s.data.flatMap((a) => a.paragraphs.flatMap((p) => [p.context, ...p.qas.map((q) => q.question)]));

const splits = defaultSplits(0, { trainQuestions: 3000, evalQuestions: 150 });
const trainTexts = textsOf(splits.train);
const vocab = buildWordPieceVocab([...trainTexts, koreanQaCharset()], { size: 2000 });
const vocabSet = new Set(vocab);

Deno.test("special tokens come first: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4", () => {
  assert.deepEqual(vocab.slice(0, 5), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]);
  assert.deepEqual([...VOCAB_SPECIAL_TOKENS], vocab.slice(0, 5));
  assert.equal(vocabSet.size, vocab.length, "no duplicates");
  assert.equal(vocab.length, 2000);
});

Deno.test("deterministic, and independent of text order", () => {
  const again = buildWordPieceVocab([...trainTexts, koreanQaCharset()], { size: 2000 });
  assert.deepEqual(again, vocab);
  const reversed = buildWordPieceVocab([koreanQaCharset(), ...trainTexts].reverse(), {
    size: 2000,
  });
  assert.deepEqual(reversed, vocab);
  const other = buildWordPieceVocab([...trainTexts, koreanQaCharset()], {
    size: 2000,
    scoring: "likelihood",
  });
  assert.deepEqual(other.slice(0, 5), vocab.slice(0, 5));
});

Deno.test("every character appears both as itself and as ##c, before learned pieces", () => {
  const chars = new Set(trainTexts.flatMap((t) => bertPreTokenize(t).flatMap((w) => [...w])));
  for (const c of chars) {
    assert.ok(vocabSet.has(c), c);
    assert.ok(vocabSet.has("##" + c), "##" + c);
  }
  const firstLearned = vocab.findIndex((t) => [...t.replace(/^##/, "")].length > 1 && t[0] !== "[");
  assert.ok(vocab.slice(firstLearned).every((t) => [...t.replace(/^##/, "")].length > 1));
});

Deno.test("size caps learned pieces but never drops characters", () => {
  const tiny = buildWordPieceVocab(["가나다 가나"], { size: 3 });
  assert.deepEqual(tiny, [...VOCAB_SPECIAL_TOKENS, "가", "나", "다", "##가", "##나", "##다"]);
  const some = buildWordPieceVocab(["가나다 가나"], { size: 12, minFreq: 2 });
  assert.deepEqual(some.slice(11), ["가나"]);
  assert.equal(some.length, 12);
  // No pair reaches minFreq any more: the vocabulary stops short of size.
  assert.equal(buildWordPieceVocab(["가나다 가나"], { size: 100, minFreq: 2 }).length, 12);
});

Deno.test("bertPreTokenize splits like BERT's BasicTokenizer (cased)", () => {
  assert.deepEqual(bertPreTokenize("《별의 노래》는 1,208미터이다."), [
    "《",
    "별의",
    "노래",
    "》",
    "는",
    "1",
    ",",
    "208미터이다",
    ".",
  ]);
  assert.deepEqual(bertPreTokenize("漢字테스트\tAbc\u0000d\u200b e$5~"), [
    "漢",
    "字",
    "테스트",
    "Abcd",
    "e",
    "$",
    "5",
    "~",
  ]);
  assert.deepEqual(bertPreTokenize("  \n "), []);
});

Deno.test({
  name: "bertPreTokenize, lowercased and accent-stripped, gives the goldens' basic tokens",
  ignore: withoutData(
    "tokenization/question_tokens.json",
    "tokenization/basic_tokenized_questions.json",
  ),
}, async () => {
  const questions: { original: string }[] = await sharedJson("tokenization/question_tokens.json");
  const basic: string[][] = await sharedJson("tokenization/basic_tokenized_questions.json");
  assert.equal(basic.length, 10570);
  // BasicTokenizer(do_lower_case=True) lowercases and strips accents per word before splitting
  // punctuation, which neither changes; a word of combining marks alone becomes nothing.
  const uncased = (t: string) => t.toLowerCase().normalize("NFD").replace(/\p{Mn}/gu, "");
  for (let i = 0; i < basic.length; i++) {
    const got = bertPreTokenize(questions[i].original).map(uncased).filter((t) => t);
    assert.deepEqual(got, basic[i], `question ${i}: ${questions[i].original}`);
  }
});

Deno.test("no [UNK] on generated train and held-out eval text", () => {
  for (const t of [...trainTexts, ...textsOf(splits.eval)]) {
    for (const { tok } of tokenize(vocabSet, t)) assert.notEqual(tok, "[UNK]", t);
  }
  // Another seed's data, with a vocabulary from this seed's text plus the charset.
  for (const t of textsOf(defaultSplits(9, { trainQuestions: 100, evalQuestions: 1 }).train)) {
    for (const { tok } of tokenize(vocabSet, t)) assert.notEqual(tok, "[UNK]", t);
  }
});

Deno.test("answer spans start and end on token boundaries; particles become ## tokens", () => {
  let total = 0, aligned = 0;
  for (const a of splits.eval.data) {
    for (const p of a.paragraphs) {
      const toks = tokenize(vocabSet, p.context);
      const ends = new Set(toks.map((t) => t.end));
      const starts = new Set(toks.map((t, i) => t.end - (toks[i].tok.replace(/^##/, "").length)));
      for (const q of p.qas) {
        const { text, answer_start } = q.answers[0];
        total++;
        if (starts.has(answer_start) && ends.has(answer_start + text.length)) aligned++;
      }
    }
  }
  // Every span aligns on this data; 99% leaves room for template changes, not for regressions.
  assert.ok(aligned >= total * 0.99, `${aligned}/${total}`);
  const toks = tokenize(vocabSet, "서울에서 태어났다").map((t) => t.tok);
  assert.equal(toks[0], "서울");
  assert.ok(toks[1].startsWith("##에"), toks.join(" "));
});

Deno.test("the default splits have contexts over the embedded default's 96-token window", () => {
  const counts = splits.train.data.flatMap((a) =>
    a.paragraphs.map((p) => tokenize(vocabSet, p.context).length)
  );
  const long = counts.filter((n) => n > 100).length;
  assert.ok(long >= counts.length * 0.03, `${long}/${counts.length} contexts of > 100 tokens`);
  assert.ok(counts.filter((n) => n <= 60).length >= counts.length * 0.9);
});

Deno.test("generateKoreanQa's default long contexts exceed a 384-token window", () => {
  const s = generateKoreanQa({ seed: 4, articles: 40 });
  const counts = s.data.flatMap((a) =>
    a.paragraphs.map((p) => tokenize(vocabSet, p.context).length)
  );
  const long = counts.filter((n) => n >= 450).length;
  assert.ok(long >= counts.length * 0.05, `${long}/${counts.length} contexts of >= 450 tokens`);
  assert.ok(counts.filter((n) => n <= 384).length >= counts.length * 0.7);
});
