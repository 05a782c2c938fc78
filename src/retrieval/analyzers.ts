// deno-lint-ignore-file no-import-prefix -- a pinned npm: specifier (also in deno.json's
// imports) so that mod.ts loads from other projects, whose import maps do not have ours.
// Analyzers turn text into the terms a sparse index counts. Korean glues particles and endings
// to its words (서울의, 서울에서, 서울은), so whole words barely match between a question and its
// passage; character n-grams within words, subword pieces and morphemes all undo that in their
// own way, and a union of them (each in its own term namespace) keeps what each one catches.
//
// A spec names one analyzer, or several joined by "+":
//   words          lowercased words (runs of letters, digits and marks; NFKC first)
//   charN          character N-grams within each word (a word shorter than N is one term)
//   charA-B        character n-grams for every n in [A, B]
//   pieces:FILE    WordPiece/SentencePiece tokens of a vocab.txt, tokenizer.json or *.model
//   kiwi:DIR       Kiwi morphemes (npm kiwi-nlp), content morphemes only, from a model dir
// File paths are kept as given; an index records the spec, so they must still resolve when it
// is loaded. No analyzer defaults to a vocab or model on disk: the library cannot know where a
// caller keeps them.

import { createRequire } from "node:module";
import { loadTokenizerFile } from "../text/tokenizer_dir.ts";
import { BertTokenizer, type TextTokenizer } from "../text/tokenizer.ts";
import { DataError, UserError } from "../util/errors.ts";

/** Turns texts into terms; the same analyzer must index the passages and read the questions. */
export interface Analyzer {
  /** The spec that rebuilds this analyzer (see {@linkcode createAnalyzer}). */
  readonly spec: string;
  /** The terms of each text, in text order (repeats kept: they are term frequencies). */
  analyze(texts: readonly string[]): Promise<string[][]>;
}

/**
 * The default analyzer: character unigrams and bigrams within words, the best BM25 recall on
 * KorQuAD v1.0 dev among the analyzers that need no vocab or model file (BENCHMARKS.md, "Sparse
 * retrieval (issue 15)"). For English, `words+char3` does better.
 */
export const DEFAULT_ANALYZER = "char1-2";

/**
 * A spec that cannot be parsed; the CLIs report it against `--analyzer`.
 *
 * @example
 * ```ts
 * import { AnalyzerSpecError, createAnalyzer } from "webgpu-bert";
 * const e = await createAnalyzer("char0").catch((e) => e);
 * console.log(e instanceof AnalyzerSpecError, e.message);
 * // true "char0": character n-grams need 1 <= A <= B <= 8
 * ```
 */
export class AnalyzerSpecError extends UserError {
  /** `what` is wrong with `spec`. */
  constructor(readonly spec: string, what: string) {
    super(`${JSON.stringify(spec)}: ${what}`);
    this.name = "AnalyzerSpecError";
  }
}

const WORD = /[\p{L}\p{N}\p{M}]+/gu;
const SURROGATE = /[\ud800-\udfff]/;

/**
 * The lowercased words of `text` after NFKC, split at anything not a letter, digit or mark.
 *
 * @example
 * ```ts
 * import { words } from "webgpu-bert";
 * console.log(words("Seoul은 1394년, 수도가 됐다.")); // ["seoul은", "1394년", "수도가", "됐다"]
 * ```
 */
export function words(text: string): string[] {
  return text.normalize("NFKC").toLowerCase().match(WORD) ?? [];
}

/** Character n-grams of each word for n in [lo, hi], counted in code points. */
function charGrams(text: string, lo: number, hi: number): string[] {
  const out: string[] = [];
  for (const w of words(text)) {
    // Code-unit slices where the word has no surrogate pairs (nearly always): 5x faster.
    const cs: string | string[] = SURROGATE.test(w) ? [...w] : w;
    const gram = typeof cs === "string"
      ? (i: number, n: number) => cs.slice(i, i + n)
      : (i: number, n: number) => cs.slice(i, i + n).join("");
    if (cs.length < lo) out.push(w);
    for (let n = lo; n <= hi; n++) {
      for (let i = 0; i + n <= cs.length; i++) out.push(gram(i, n));
    }
  }
  return out;
}

function plain(spec: string, f: (text: string) => string[]): Analyzer {
  return { spec, analyze: (texts) => Promise.resolve(texts.map(f)) };
}

/** A `vocab.txt` lowercases when no token holds an uppercase letter (bert-base-uncased). */
async function piecesTokenizer(file: string): Promise<TextTokenizer> {
  if (!file.endsWith(".txt")) return await loadTokenizerFile(file);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new DataError(file, e instanceof Deno.errors.NotFound ? "not found" : String(e));
  }
  const tokens = text.split("\n").map((l) => l.trimEnd());
  if (tokens.at(-1) === "") tokens.pop();
  const lowercase = !tokens.some((t) => !/^\[.*\]$/.test(t) && /\p{Lu}/u.test(t));
  return BertTokenizer.fromVocab(tokens, { lowercase });
}

async function pieces(spec: string, file: string): Promise<Analyzer> {
  const tok = await piecesTokenizer(file);
  return {
    spec,
    analyze: (texts) =>
      Promise.all(texts.map(async (t) => {
        const w = await tok.encode(t, { addSpecialTokens: false });
        return w.tokens.map((p) => p.toLowerCase());
      })),
  };
}

// Kiwi's tags (Sejong tag set): particles (J*), endings (E*), affixes (X*) other than roots
// (XR), and punctuation/symbols (S* other than foreign words, hanja and numbers) carry no topic.
const KIWI_DROP = /^(J|E|XP|XS|SF|SP|SS|SE|SO|SW|SB|UN|W)/;

async function kiwi(spec: string, dir: string): Promise<Analyzer> {
  const files: Record<string, Uint8Array> = {};
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile) files[e.name] = await Deno.readFile(`${dir}/${e.name}`);
    }
  } catch (e) {
    throw new DataError(dir, e instanceof Deno.errors.NotFound ? "not found" : String(e));
  }
  if (!files["sj.morph"]) {
    throw new DataError(
      dir,
      "not a Kiwi model directory (no sj.morph): the npm package kiwi-nlp ships only the " +
        "WASM analyzer; its model files come with Kiwi's releases (kiwi_model_*.tgz)",
    );
  }
  const { KiwiBuilder } = await import("npm:kiwi-nlp@0.23.0");
  const wasm = createRequire(import.meta.url).resolve("kiwi-nlp/dist/kiwi-wasm.wasm");
  const builder = await KiwiBuilder.create(wasm);
  let analyzer;
  try {
    analyzer = await builder.build({ modelFiles: files });
  } catch (e) {
    // The WASM build throws a bare exception pointer (a number) on a bad model.
    throw new DataError(dir, `Kiwi could not load this model (${String(e)})`);
  }
  return {
    spec,
    analyze: (texts) =>
      Promise.resolve(texts.map((t) =>
        analyzer.tokenize(t.normalize("NFKC"))
          .filter((m) => !KIWI_DROP.test(m.tag))
          .map((m) => m.str.toLowerCase())
      )),
  };
}

async function single(spec: string): Promise<Analyzer> {
  if (spec === "words") return plain(spec, words);
  const m = /^char(\d+)(?:-(\d+))?$/.exec(spec);
  if (m) {
    const lo = Number(m[1]);
    const hi = Number(m[2] ?? m[1]);
    if (lo < 1 || hi < lo || hi > 8) {
      throw new AnalyzerSpecError(spec, "character n-grams need 1 <= A <= B <= 8");
    }
    return plain(spec, (t) => charGrams(t, lo, hi));
  }
  const [name, ...rest] = spec.split(":");
  const arg = rest.join(":");
  if ((name === "pieces" || name === "kiwi") && arg === "") {
    throw new AnalyzerSpecError(spec, `${name} needs a file: ${name}:PATH`);
  }
  if (name === "pieces") return await pieces(spec, arg);
  if (name === "kiwi") return await kiwi(spec, arg);
  throw new AnalyzerSpecError(
    spec,
    "unknown analyzer; known: words, charN, charA-B, pieces:FILE, kiwi:DIR, joined by +",
  );
}

/**
 * Builds the analyzer a spec names: `words`, `charN`, `charA-B`, `pieces:FILE`, `kiwi:DIR`, or
 * several joined by `+`, whose term streams are concatenated with each part's terms in a
 * namespace of its own (so a bigram never matches a piece that happens to be spelt alike).
 *
 * @param spec The analyzer spec.
 * @returns The analyzer.
 * @throws {AnalyzerSpecError} For a spec that does not parse.
 * @throws {DataError} For a vocab or model file that is missing or unusable.
 * @example
 * ```ts
 * import { createAnalyzer } from "webgpu-bert";
 * const a = await createAnalyzer("char2");
 * console.log(await a.analyze(["서울에서 살았다"])); // [["서울", "울에", "에서", "살았", "았다"]]
 * const both = await createAnalyzer("words+char2");
 * console.log((await both.analyze(["Seoul"]))[0].length); // 5: one word and four bigrams
 * ```
 */
export async function createAnalyzer(spec: string): Promise<Analyzer> {
  const parts = spec.split("+");
  if (parts.some((p) => p === "")) throw new AnalyzerSpecError(spec, "empty part");
  if (new Set(parts).size !== parts.length) throw new AnalyzerSpecError(spec, "repeated part");
  if (parts.length === 1) return await single(spec);
  const each: Analyzer[] = [];
  for (const p of parts) each.push(await single(p));
  return {
    spec,
    async analyze(texts) {
      const streams = await Promise.all(each.map((a) => a.analyze(texts)));
      // \u001f (unit separator) cannot occur in a term: every analyzer splits at controls.
      return texts.map((_, i) => streams.flatMap((s, k) => s[i].map((t) => `${k}\u001f${t}`)));
    },
  };
}
