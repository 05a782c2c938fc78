// The official extractive-QA metrics, reproduced from their Python reference scripts:
// KorQuAD v1.0 `evaluate-v1.0.py` (character-level F1) and SQuAD v1.1 `evaluate-v1.1.py`
// (token-level F1). Every detail below mirrors a Python 3 behaviour the scripts rely on.

/** Python's `string.punctuation`, the ASCII characters both scripts delete. */
const PUNCT = new Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~");

/** Characters KorQuAD replaces with a space before anything else. */
const KORQUAD_SPACED = /['"《》<>〈〉()‘’]/g;

// Python's str.split() splits on str.isspace(), which differs from JS `\s`: it includes the
// separators U+001C..U+001F and U+0085 and excludes the BOM U+FEFF.
// deno-lint-ignore no-control-regex -- U+001C..U+001F are whitespace to Python.
const PY_WS = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;

/** Python's `" ".join(s.split())`. */
function pySplit(s: string): string[] {
  return s.split(PY_WS).filter((t) => t !== "");
}

// Python 3's str.lower() and JS toLowerCase() both apply the full, locale-independent Unicode
// lowercase mapping (e.g. "İ" becomes "i" + U+0307, final "Σ" becomes "ς"), so they agree.
function removePunct(s: string): string {
  let out = "";
  for (const ch of s) if (!PUNCT.has(ch)) out += ch;
  return out;
}

// Python 3 `re` on str: \b is a boundary of \w = str.isalnum() or "_", i.e. Unicode letters
// and numbers, not JS's ASCII-only \w.
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;

/**
 * KorQuAD v1.0 answer normalization: each of `' " 《 》 < > 〈 〉 ( ) ‘ ’` becomes a space, then
 * lowercase, delete ASCII punctuation (Python's `string.punctuation`), collapse whitespace.
 *
 * @example
 * ```ts
 * import { normalizeKorquad } from "webgpu-bert";
 * console.log(normalizeKorquad("《Let It Be》(1970년)")); // "let it be 1970년"
 * ```
 */
export function normalizeKorquad(s: string): string {
  return pySplit(removePunct(s.replace(KORQUAD_SPACED, " ").toLowerCase())).join(" ");
}

/**
 * SQuAD v1.1 answer normalization: lowercase, delete ASCII punctuation, delete the articles
 * a/an/the as whole words, collapse whitespace.
 *
 * @example
 * ```ts
 * import { normalizeSquad } from "webgpu-bert";
 * console.log(normalizeSquad("The  Beatles!")); // "beatles"
 * ```
 */
export function normalizeSquad(s: string): string {
  return pySplit(removePunct(s.toLowerCase()).replace(ARTICLES, " ")).join(" ");
}

/** `sum((Counter(a) & Counter(b)).values())`: the size of the multiset intersection. */
function overlap(a: string[], b: string[]): number {
  const counts = new Map<string, number>();
  for (const x of a) counts.set(x, (counts.get(x) ?? 0) + 1);
  let same = 0;
  for (const x of b) {
    const c = counts.get(x) ?? 0;
    if (c > 0) {
      counts.set(x, c - 1);
      same++;
    }
  }
  return same;
}

function f1Of(pred: string[], gold: string[]): number {
  const same = overlap(pred, gold);
  // The scripts return 0 here, which also covers an empty prediction or gold (no 0/0).
  if (same === 0) return 0;
  const precision = same / pred.length;
  const recall = same / gold.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Code points of the whitespace-split tokens (Python iterates a str by code point). */
function chars(normalized: string): string[] {
  const out: string[] = [];
  for (const tok of pySplit(normalized)) for (const ch of tok) out.push(ch);
  return out;
}

/**
 * KorQuAD v1.0 exact match of one prediction against one gold answer: 1 or 0.
 *
 * @example
 * ```ts
 * import { korquadExactMatch } from "webgpu-bert";
 * console.log(korquadExactMatch("(주)LG", "주 LG")); // 1
 * ```
 */
export function korquadExactMatch(prediction: string, gold: string): number {
  return normalizeKorquad(prediction) === normalizeKorquad(gold) ? 1 : 0;
}

/**
 * KorQuAD v1.0 F1 of one prediction against one gold answer, in [0, 1]: precision and recall
 * over the multiset of characters of the normalized, whitespace-split tokens.
 *
 * @example
 * ```ts
 * import { korquadF1 } from "webgpu-bert";
 * console.log(korquadF1("서울에서", "서울")); // 2 * (2/4) * (2/2) / (2/4 + 1) = 0.666...
 * ```
 */
export function korquadF1(prediction: string, gold: string): number {
  return f1Of(chars(normalizeKorquad(prediction)), chars(normalizeKorquad(gold)));
}

/**
 * SQuAD v1.1 exact match of one prediction against one gold answer: 1 or 0.
 *
 * @example
 * ```ts
 * import { squadExactMatch } from "webgpu-bert";
 * console.log(squadExactMatch("the Eiffel Tower.", "Eiffel tower")); // 1
 * ```
 */
export function squadExactMatch(prediction: string, gold: string): number {
  return normalizeSquad(prediction) === normalizeSquad(gold) ? 1 : 0;
}

/**
 * SQuAD v1.1 F1 of one prediction against one gold answer, in [0, 1], over whitespace tokens.
 *
 * @example
 * ```ts
 * import { squadF1 } from "webgpu-bert";
 * console.log(squadF1("in Paris France", "Paris")); // 2 * (1/3) * 1 / (1/3 + 1) = 0.5
 * ```
 */
export function squadF1(prediction: string, gold: string): number {
  return f1Of(pySplit(normalizeSquad(prediction)), pySplit(normalizeSquad(gold)));
}

/** What the scorers need of a question: its id and gold answer texts (HF datasets layout). */
export interface GoldQuestion {
  /** The question id, as predictions are keyed. */
  id: string;
  /** Gold answer texts; a prediction scores its best match among them. */
  answers: { text: readonly string[] };
}

/** Scores in 0–100, as the official scripts print them, plus the counts behind them. */
export interface QAScore {
  /** Exact match, 0–100. */
  exact_match: number;
  /** Token-overlap F1, 0–100. */
  f1: number;
  /** Questions scored (the denominator). */
  total: number;
  /** Questions with no prediction; each scored 0. */
  missing: number;
  /** Up to 20 ids of missing predictions, in dataset order, for messages. */
  missingIds: string[];
}

function score(
  dataset: readonly GoldQuestion[],
  predictions: Readonly<Record<string, string>>,
  em: (p: string, g: string) => number,
  f1: (p: string, g: string) => number,
): QAScore {
  let emSum = 0;
  let f1Sum = 0;
  const missingIds: string[] = [];
  let missing = 0;
  for (const q of dataset) {
    if (!Object.hasOwn(predictions, q.id)) {
      missing++;
      if (missingIds.length < 20) missingIds.push(q.id);
      continue;
    }
    const p = predictions[q.id];
    const golds = q.answers.text;
    // Python's max() of an empty list raises; a question without gold answers scores 0 here.
    let bestEm = 0;
    let bestF1 = 0;
    for (const g of golds) {
      bestEm = Math.max(bestEm, em(p, g));
      bestF1 = Math.max(bestF1, f1(p, g));
    }
    emSum += bestEm;
    f1Sum += bestF1;
  }
  const total = dataset.length;
  return {
    exact_match: total ? (100 * emSum) / total : 0,
    f1: total ? (100 * f1Sum) / total : 0,
    total,
    missing,
    missingIds,
  };
}

/**
 * The KorQuAD v1.0 score of `predictions` (`{id: answer}`): EM and character-level F1, each
 * the max over gold answers, averaged over every question in `dataset`, times 100. A missing
 * prediction scores 0 and is counted in `missing`.
 *
 * @example
 * ```ts
 * import { korquadScore } from "webgpu-bert";
 * const gold = [{ id: "q1", answers: { text: ["1989년"] } }, { id: "q2", answers: { text: ["서울"] } }];
 * const s = korquadScore(gold, { q1: "1989년" });
 * console.log(s.exact_match, s.f1, s.missing); // 50 50 1
 * ```
 */
export function korquadScore(
  dataset: readonly GoldQuestion[],
  predictions: Readonly<Record<string, string>>,
): QAScore {
  return score(dataset, predictions, korquadExactMatch, korquadF1);
}

/**
 * The SQuAD v1.1 score of `predictions` (`{id: answer}`): EM and token-level F1, each the max
 * over gold answers, averaged over every question in `dataset`, times 100. A missing
 * prediction scores 0 and is counted in `missing`.
 *
 * @example
 * ```ts
 * import { squadScore } from "webgpu-bert";
 * const gold = [{ id: "q1", answers: { text: ["Denver Broncos", "The Broncos"] } }];
 * console.log(squadScore(gold, { q1: "the Denver Broncos" }).exact_match); // 100
 * ```
 */
export function squadScore(
  dataset: readonly GoldQuestion[],
  predictions: Readonly<Record<string, string>>,
): QAScore {
  return score(dataset, predictions, squadExactMatch, squadF1);
}
