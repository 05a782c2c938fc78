// A small deterministic WordPiece vocabulary builder, so the default training run needs no
// downloaded vocab. The pre-tokenization mirrors BERT's BasicTokenizer with do_lower_case=False
// (the cased setting Korean needs: lowercasing also strips accents via NFD, which splits Hangul
// syllables into jamo), and the vocabulary always holds every seen character both word-initially
// and as a `##` continuation, so greedy longest-match WordPiece never falls back to [UNK] on text
// made of those characters.

/**
 * The special tokens and their ids in vocabularies built here: [PAD]=0, [UNK]=1, [CLS]=2,
 * [SEP]=3, [MASK]=4. (bert-base-uncased instead has [PAD]=0, [unused0..98]=1..99, [UNK]=100,
 * [CLS]=101, [SEP]=102, [MASK]=103; code must look ids up by token, never assume them.)
 */
export const VOCAB_SPECIAL_TOKENS: readonly string[] = [
  "[PAD]",
  "[UNK]",
  "[CLS]",
  "[SEP]",
  "[MASK]",
];

/** Options of {@link buildWordPieceVocab}. */
export interface VocabBuilderOptions {
  /** Target vocabulary size including special tokens and characters; default 3000. */
  size?: number;
  /** A merged piece must occur at least this often (counting word frequency); default 2. */
  minFreq?: number;
  /** Word endings never merged with what precedes them; default {@link KOREAN_PARTICLES}. */
  suffixes?: readonly string[];
  /**
   * Merge score: `frequency`, the pair count (fewer tokens per text at a given size), or
   * `likelihood`, count(ab) / (count(a) count(b)) (favours rare pairs that always co-occur);
   * default `frequency`.
   */
  scoring?: "likelihood" | "frequency";
}

/** BERT's `_is_punctuation`: ASCII non-alphanumeric printables, or Unicode category P*. */
function isPunct(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96)) return true;
  if (cp >= 123 && cp <= 126) return true;
  return /\p{P}/u.test(ch);
}

/** BERT's `_is_chinese_char`: CJK ideographs, which it splits one per word (not Hangul, kana). */
function isCjk(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) || (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

/**
 * BERT's BasicTokenizer without lowercasing: drops NUL, U+FFFD and control characters, splits on
 * whitespace, splits off every punctuation character and every CJK ideograph as its own word.
 *
 * @example
 * ```ts
 * import { bertPreTokenize } from "webgpu-bert";
 * console.log(bertPreTokenize("《별의 노래》는 1,208미터이다.")); // 《 별의 노래 》 는 1 , 208미터이다 .
 * ```
 */
export function bertPreTokenize(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  const flush = () => {
    if (cur) out.push(cur);
    cur = "";
  };
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ch === "\t" || ch === "\n" || ch === "\r" || /\p{Zs}/u.test(ch)) {
      flush();
    } else if (cp === 0 || cp === 0xfffd || /\p{Cc}|\p{Cf}/u.test(ch)) {
      continue;
    } else if (isPunct(ch) || isCjk(cp)) {
      flush();
      out.push(ch);
    } else {
      cur += ch;
    }
  }
  flush();
  return out;
}

/**
 * Korean particles and copula endings that {@link buildWordPieceVocab} keeps out of learned
 * pieces by default, so that in "서울에서" the answer "서울" ends on a token boundary.
 */
export const KOREAN_PARTICLES: readonly string[] =
  "은,는,이,가,을,를,의,에,에서,에게,에는,으로,로,와,과,도,만,까지,부터,보다,처럼,이다,이었다,였다,이며,이고"
    .split(",");

/**
 * `word` as training units: the stem, then up to two trailing particles as `##` units, each split
 * off only while the stem keeps at least two characters (so "높이" or "해는" stay whole).
 */
function splitParticles(word: string, suffixes: readonly string[]): string[] {
  const tail: string[] = [];
  let stem = word;
  for (let k = 0; k < 2; k++) {
    const sfx = suffixes.find((x) => stem.endsWith(x) && [...stem].length - [...x].length >= 2);
    if (!sfx) break;
    tail.unshift("##" + sfx);
    stem = stem.slice(0, stem.length - sfx.length);
  }
  return [stem, ...tail];
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const SEP = "\u0000";

/**
 * Builds a WordPiece vocabulary from `texts`, in id order: the special tokens (see
 * {@link VOCAB_SPECIAL_TOKENS}), then every character seen as a word start `c` (most frequent
 * first), then each as a continuation `##c`, then learned pieces, up to `size`.
 *
 * Words come from {@link bertPreTokenize}; trailing particles (`suffixes`) are split off each word
 * for training, so no piece spans a stem and its particle and, in "서울에서", an answer "서울" ends
 * on a token boundary. Pieces are then learned as in WordPiece/BPE training: starting from
 * characters, repeatedly merge the adjacent pair with the highest score among pairs seen at least
 * `minFreq` times, ties to the higher count, then string order. The vocabulary always keeps the
 * whole character inventory, even past `size`, and is shorter than `size` once no pair reaches
 * `minFreq`. Tokenizing text made of seen characters with BERT's pre-tokenization and greedy
 * longest-match WordPiece never yields [UNK] (except for words over 100 characters, which BERT
 * maps to [UNK] whole).
 *
 * @example
 * ```ts
 * import { buildWordPieceVocab } from "webgpu-bert";
 * const vocab = buildWordPieceVocab(["서울에서 태어났다.", "부산에서 태어났다."], { size: 40 });
 * console.log(vocab.slice(0, 5), vocab.length); // [PAD] [UNK] [CLS] [SEP] [MASK]
 * ```
 */
export function buildWordPieceVocab(texts: string[], opts: VocabBuilderOptions = {}): string[] {
  const size = opts.size ?? 3000;
  const minFreq = Math.max(1, opts.minFreq ?? 2);
  const suffixes = [...(opts.suffixes ?? KOREAN_PARTICLES)].sort((x, y) => y.length - x.length);
  // Training units: a word's stem and its particles, so no learned piece crosses between them.
  const wordFreq = new Map<string, number>();
  const unitFreq = new Map<string, number>();
  for (const t of texts) {
    for (const w of bertPreTokenize(t)) wordFreq.set(w, (wordFreq.get(w) ?? 0) + 1);
  }
  for (const [w, f] of wordFreq) {
    for (const u of splitParticles(w, suffixes)) unitFreq.set(u, (unitFreq.get(u) ?? 0) + f);
  }
  const words = [...unitFreq.keys()].sort(cmp);
  const freqs = words.map((w) => unitFreq.get(w)!);
  const segs = words.map((w) => {
    const cont = w.startsWith("##");
    return [...(cont ? w.slice(2) : w)].map((c, i) => (i === 0 && !cont ? c : "##" + c));
  });

  const charFreq = new Map<string, number>();
  for (const [w, f] of wordFreq) {
    for (const c of w) charFreq.set(c, (charFreq.get(c) ?? 0) + f);
  }
  const chars = [...charFreq.keys()].sort((a, b) =>
    charFreq.get(b)! - charFreq.get(a)! || cmp(a, b)
  );
  const vocab = [...VOCAB_SPECIAL_TOKENS, ...chars, ...chars.map((c) => "##" + c)];
  const inVocab = new Set(vocab);

  // Pair and symbol counts, kept up to date as merges rewrite the words that contain a pair.
  const symCount = new Map<string, number>();
  const pairCount = new Map<string, number>();
  const pairWords = new Map<string, Set<number>>();
  const account = (i: number, sign: number) => {
    const s = segs[i], f = freqs[i] * sign;
    for (let k = 0; k < s.length; k++) {
      symCount.set(s[k], (symCount.get(s[k]) ?? 0) + f);
      if (k + 1 === s.length) continue;
      const key = s[k] + SEP + s[k + 1];
      pairCount.set(key, (pairCount.get(key) ?? 0) + f);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (!set) pairWords.set(key, set = new Set());
        set.add(i);
      }
    }
  };
  segs.forEach((_, i) => account(i, 1));

  const freqScore = opts.scoring !== "likelihood";
  while (vocab.length < size) {
    let best = "", bestScore = -1, bestCount = 0;
    for (const [key, c] of pairCount) {
      if (c < minFreq) continue;
      let score = c;
      if (!freqScore) {
        const [a, b] = key.split(SEP);
        score = c / (symCount.get(a)! * symCount.get(b)!);
      }
      if (
        score > bestScore ||
        (score === bestScore && (c > bestCount || (c === bestCount && cmp(key, best) < 0)))
      ) {
        best = key;
        bestScore = score;
        bestCount = c;
      }
    }
    if (!best) break;
    const [a, b] = best.split(SEP);
    const merged = a + b.slice(2);
    for (const i of [...pairWords.get(best)!].sort((x, y) => x - y)) {
      const s = segs[i];
      account(i, -1);
      const next: string[] = [];
      for (let k = 0; k < s.length; k++) {
        if (k + 1 < s.length && s[k] === a && s[k + 1] === b) {
          next.push(merged);
          k++;
        } else next.push(s[k]);
      }
      segs[i] = next;
      account(i, 1);
    }
    pairCount.delete(best);
    pairWords.delete(best);
    if (!inVocab.has(merged)) {
      inVocab.add(merged);
      vocab.push(merged);
    }
  }
  return vocab;
}
