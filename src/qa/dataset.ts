// SQuAD-format (SQuAD v1.1, KorQuAD v1.0) loading with validation. Structural faults stop the
// run with a DataError naming the file and the question; content faults (empty text, answers
// that do not match their context) are counted and handled per mode.

import { DataError } from "../util/errors.ts";
import { parseJson, readUtf8 } from "../io/text_file.ts";

/** One question, flattened in the Hugging Face `datasets` SQuAD layout. */
export interface QAExample {
  /** The question id, unique in the file. */
  id: string;
  /** The article's title. */
  title: string;
  /** The paragraph the answers are spans of. */
  context: string;
  /** The question text. */
  question: string;
  /**
   * Gold answers. `answer_start` is a JS string (UTF-16) index into `context`, so
   * `context.slice(s, s + text.length) === text` for every valid answer; it equals the file's
   * code-point offset unless the context holds characters outside the BMP.
   */
  answers: { text: string[]; answer_start: number[] };
  /** Index of the question's article in the file's `data` array. */
  article: number;
}

/** Questions left out, by reason. */
export interface SkipCounts {
  /** The paragraph's context is empty or whitespace. */
  emptyContext: number;
  /** The question text is empty or whitespace. */
  emptyQuestion: number;
  /** The `answers` list is empty. */
  noAnswer: number;
  /** Train mode only: every answer mismatched its context. */
  noValidAnswer: number;
}

/** The result of {@linkcode loadSquad}. */
export interface SquadLoad {
  /** The questions kept, in file order. */
  examples: QAExample[];
  /** Articles in the file, before skipping. */
  articles: number;
  /** Questions in the file, before skipping. */
  questions: number;
  /** Questions left out, by reason. */
  skipped: SkipCounts;
  /** Answers whose `answer_start` does not locate their text (including out of range). */
  mismatched: number;
  /** One line describing what was loaded, skipped and mismatched. */
  summary(): string;
}

/** How answers that do not match their context are treated. */
export interface LoadOptions {
  /**
   * "eval" (default) keeps mismatched answers, since the metrics use only the text;
   * "train" drops them, and skips a question left with no answer; "score" keeps every question
   * of the file whatever its text, as the official evaluation scripts read only ids and answers.
   */
  mode?: "eval" | "train" | "score";
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function kind(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : `a ${typeof v}`;
}

/** Python-style code-point offset to a UTF-16 index, or -1 when past the end. */
function utf16Index(s: string, cp: number): number {
  if (!/[\ud800-\udfff]/.test(s)) return cp <= s.length ? cp : -1;
  let i = 0;
  for (let k = 0; k < cp; k++) {
    if (i >= s.length) return -1;
    i += (s.codePointAt(i)! > 0xffff) ? 2 : 1;
  }
  return i;
}

/**
 * Validates parsed SQuAD-format JSON and flattens it; `path` names the source in errors.
 * See {@linkcode loadSquad}.
 *
 * @example
 * ```ts
 * import { parseSquad } from "webgpu-bert";
 * const json = { data: [{ title: "t", paragraphs: [{ context: "서울은 수도", qas: [
 *   { id: "q1", question: "수도는?", answers: [{ text: "서울", answer_start: 0 }] }] }] }] };
 * console.log(parseSquad(json, "inline").examples[0].answers.text); // ["서울"]
 * ```
 */
export function parseSquad(json: unknown, path: string, opts: LoadOptions = {}): SquadLoad {
  const train = opts.mode === "train";
  const everyQuestion = opts.mode === "score";
  const seen = new Set<string>();
  function fail(where: string, what: string): never {
    throw new DataError(path, `${where}: ${what}`);
  }
  if (!isObj(json)) fail("top level", `expected an object, got ${kind(json)}`);
  if (!Array.isArray(json.data)) fail("top level", `"data" must be an array`);
  const skipped: SkipCounts = { emptyContext: 0, emptyQuestion: 0, noAnswer: 0, noValidAnswer: 0 };
  let mismatched = 0;
  let questions = 0;
  let paragraphs = 0;
  const examples: QAExample[] = [];
  for (const [a, art] of (json.data as unknown[]).entries()) {
    const wa = `data[${a}]`;
    if (!isObj(art)) fail(wa, `expected an object, got ${kind(art)}`);
    const { title, paragraphs: paras } = art;
    if (typeof title !== "string") fail(wa, `"title" must be a string`);
    if (!Array.isArray(paras)) fail(wa, `"paragraphs" must be an array`);
    for (const [p, para] of (paras as unknown[]).entries()) {
      const wp = `${wa}.paragraphs[${p}]`;
      if (!isObj(para)) fail(wp, `expected an object, got ${kind(para)}`);
      const { context, qas } = para;
      if (typeof context !== "string") fail(wp, `"context" must be a string`);
      if (!Array.isArray(qas)) fail(wp, `"qas" must be an array`);
      paragraphs++;
      for (const [q, qa] of (qas as unknown[]).entries()) {
        let wq = `${wp}.qas[${q}]`;
        if (!isObj(qa)) fail(wq, `expected an object, got ${kind(qa)}`);
        const { id, question, answers } = qa;
        if (typeof id !== "string" || id === "") fail(wq, `"id" must be a non-empty string`);
        wq += ` (id ${JSON.stringify(id)})`;
        if (seen.has(id)) fail(wq, "duplicate question id");
        seen.add(id);
        if (typeof question !== "string") fail(wq, `"question" must be a string`);
        if (!Array.isArray(answers)) fail(wq, `"answers" must be an array`);
        const text: string[] = [];
        const answerStart: number[] = [];
        let bad = 0;
        for (const [k, ans] of (answers as unknown[]).entries()) {
          if (!isObj(ans)) fail(wq, `answers[${k}] must be an object, got ${kind(ans)}`);
          const { text: t, answer_start: s } = ans;
          if (typeof t !== "string") fail(wq, `answers[${k}].text must be a string`);
          if (typeof s !== "number" || !Number.isInteger(s)) {
            fail(wq, `answers[${k}].answer_start must be an integer`);
          }
          // The file counts code points (Python); JS strings index UTF-16 units.
          const start = s >= 0 ? utf16Index(context, s) : -1;
          const ok = start >= 0 && t.trim() !== "" && context.slice(start, start + t.length) === t;
          if (!ok) bad++;
          if (ok || !train) {
            text.push(t);
            answerStart.push(ok ? start : s);
          }
        }
        questions++;
        // Mismatches count only where the question would otherwise be usable.
        if (everyQuestion) {
          mismatched += bad;
          examples.push({
            id,
            title,
            context,
            question,
            answers: { text, answer_start: answerStart },
            article: a,
          });
        } else if (context.trim() === "") skipped.emptyContext++;
        else if (question.trim() === "") skipped.emptyQuestion++;
        else if (answers.length === 0) skipped.noAnswer++;
        else {
          mismatched += bad;
          if (text.length === 0) skipped.noValidAnswer++;
          else {
            const answers = { text, answer_start: answerStart };
            examples.push({ id, title, context, question, answers, article: a });
          }
        }
      }
    }
  }
  const articles = json.data.length;
  const summary = () => {
    const s = skipped;
    const nSkip = s.emptyContext + s.emptyQuestion + s.noAnswer + s.noValidAnswer;
    return `${path}: ${examples.length} of ${questions} questions loaded ` +
      `(${articles} articles, ${paragraphs} paragraphs); skipped ${nSkip} ` +
      `(empty context ${s.emptyContext}, empty question ${s.emptyQuestion}, ` +
      `no answer ${s.noAnswer}, no valid answer ${s.noValidAnswer}); ` +
      `${mismatched} answers do not match their context` +
      (mismatched ? (train ? " (dropped)" : " (kept: metrics use the text)") : "");
  };
  return { examples, articles, questions, skipped, mismatched, summary };
}

/**
 * Loads and validates a SQuAD-format file (`{data: [{title, paragraphs: [{context, qas:
 * [{id, question, answers: [{text, answer_start}]}]}]}]}`) into flat examples.
 *
 * Faults that stop the run with a {@linkcode DataError} naming the file and the question:
 * a missing file, bytes that are not UTF-8, invalid JSON, a missing or mistyped field.
 * Counted, not fatal: an empty context or question (skipped), an empty answer list (skipped),
 * an answer whose `answer_start` is out of range or does not locate its text (kept in "eval"
 * mode; dropped in "train" mode, where a question left with no answer is skipped).
 *
 * @example
 * ```ts
 * import { generateKoreanQa, loadSquad } from "webgpu-bert";
 * const path = await Deno.makeTempFile({ suffix: ".json" });
 * await Deno.writeTextFile(path, JSON.stringify(generateKoreanQa({ seed: 1, articles: 2 })));
 * const dev = await loadSquad(path); // or a KorQuAD_v1.0_dev.json from `deno task download`
 * console.log(dev.summary()); // ...: 24 of 24 questions loaded (2 articles, ...
 * ```
 */
export async function loadSquad(path: string, opts: LoadOptions = {}): Promise<SquadLoad> {
  return parseSquad(parseJson(await readUtf8(path), path), path, opts);
}

/**
 * Splits examples by article, in file order: the first `nTrain` articles train, the rest
 * eval (the unofficial KorQuAD split used when only the dev set is at hand). Articles are
 * runs of equal `article` index.
 *
 * @example
 * ```ts
 * import { generateKoreanQa, parseSquad, splitByArticle } from "webgpu-bert";
 * const dev = parseSquad(generateKoreanQa({ seed: 1, articles: 3 }), "generated", { mode: "train" });
 * const { train, eval: held } = splitByArticle(dev.examples, 2);
 * console.log(train.length, held.length); // 24 12
 * ```
 */
export function splitByArticle<T extends Pick<QAExample, "article">>(
  examples: readonly T[],
  nTrain: number,
): { train: T[]; eval: T[] } {
  let seen = 0;
  let cut = examples.length;
  for (let i = 0; i < examples.length; i++) {
    if (i === 0 || examples[i].article !== examples[i - 1].article) {
      if (seen === nTrain) {
        cut = i;
        break;
      }
      seen++;
    }
  }
  if (!Number.isInteger(nTrain) || nTrain < 0 || (cut === examples.length && seen < nTrain)) {
    throw new RangeError(`splitByArticle: nTrain ${nTrain} must be an integer in [0, ${seen}]`);
  }
  return { train: examples.slice(0, cut), eval: examples.slice(cut) };
}

/**
 * Loads a predictions file: a JSON object mapping question id to answer text. Anything else
 * (not UTF-8, invalid JSON, not an object, a non-string answer) is a {@linkcode DataError}.
 *
 * @example
 * ```ts
 * import { loadPredictions } from "webgpu-bert";
 * const path = await Deno.makeTempFile({ suffix: ".json" });
 * await Deno.writeTextFile(path, JSON.stringify({ "q1": "서울", "q2": "1392년" }));
 * console.log(Object.keys(await loadPredictions(path)).length); // 2
 * ```
 */
export async function loadPredictions(path: string): Promise<Record<string, string>> {
  const json = parseJson(await readUtf8(path), path);
  if (!isObj(json)) {
    throw new DataError(path, `expected an object {id: answer}, got ${kind(json)}`);
  }
  for (const [id, v] of Object.entries(json)) {
    if (typeof v !== "string") {
      throw new DataError(
        path,
        `answer for id ${JSON.stringify(id)} must be a string, got ${kind(v)}`,
      );
    }
  }
  return json as Record<string, string>;
}
