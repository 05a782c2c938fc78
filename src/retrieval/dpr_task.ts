// DPR training as a Trainer task: SQuAD-format questions and their contexts (deduplicated into
// a passage collection), in-batch negatives with optional hard negatives, and recall@k of
// held-out questions over the held-out file's passages.

import { writeFileAtomic } from "../io/atomic.ts";
import { MODEL_FILES } from "../models/checkpoint.ts";
import { textBatch } from "../classify/task.ts";
import type { Tensor } from "../tensor.ts";
import type { TextTokenizer } from "../text/tokenizer.ts";
import type { TaskEvaluation, TrainTask } from "../train/trainer.ts";
import { DataError } from "../util/errors.ts";
import { DenseIndex, encodeTexts } from "./dense.ts";
import { type BiEncoder, DPR_SIDES, type DprBatch } from "./dpr.ts";
import type { Retriever } from "./retriever.ts";

/** Questions and the collection of their passages. */
export interface DprSet {
  /** Distinct passage texts. */
  passages: string[];
  /** Each question with the index of its passage in `passages`. */
  questions: { question: string; passage: number }[];
}

/**
 * Questions and their contexts as a {@linkcode DprSet}: equal contexts become one passage.
 *
 * @example
 * ```ts
 * import { dprSet } from "webgpu-bert";
 * const s = dprSet([{ question: "q1", context: "A" }, { question: "q2", context: "B" },
 *   { question: "q3", context: "A" }]);
 * console.log(s.passages, s.questions.map((q) => q.passage)); // ["A", "B"] [0, 1, 0]
 * ```
 */
export function dprSet(examples: readonly { question: string; context: string }[]): DprSet {
  const at = new Map<string, number>();
  const passages: string[] = [];
  const questions = examples.map((e) => {
    let p = at.get(e.context);
    if (p === undefined) {
      at.set(e.context, p = passages.length);
      passages.push(e.context);
    }
    return { question: e.question, passage: p };
  });
  return { passages, questions };
}

/**
 * Hard-negative candidates for {@linkcode DprTaskOptions.hardNegatives}: each question's top
 * `n + 1` passages by `retriever` (BM25), whose collection must be `set.passages` in order;
 * one more than needed, since a question's own passage is usually among them and is skipped.
 *
 * @example
 * ```ts
 * import { dprSet, hardNegativeLists, type Retriever } from "webgpu-bert";
 * const set = dprSet([{ question: "q", context: "A" }, { question: "r", context: "B" }]);
 * const passages = set.passages.map((text, i) => ({ id: String(i), text }));
 * const all: Retriever = { passages,
 *   search: (qs, k) => Promise.resolve(qs.map(() => [{ index: 0, score: 2 }, { index: 1, score: 1 }].slice(0, k))) };
 * console.log((await hardNegativeLists(all, set, 1)).map((l) => [...l])); // [[0, 1], [0, 1]]
 * ```
 */
export async function hardNegativeLists(
  retriever: Retriever,
  set: DprSet,
  n: number,
): Promise<Int32Array[]> {
  if (
    retriever.passages.length !== set.passages.length ||
    retriever.passages.some((p, i) => p.text !== set.passages[i])
  ) {
    throw new Error("hardNegativeLists: the retriever's passages are not the set's");
  }
  const hits = await retriever.search(set.questions.map((q) => q.question), n + 1);
  return hits.map((h) => Int32Array.from(h, (x) => x.index));
}

/** The cut-offs recall is reported at. */
export const RECALL_AT: readonly number[] = [1, 5, 20];

/** An evaluation of a bi-encoder: recall@k over the held-out passages. */
export interface DprEvaluation extends TaskEvaluation {
  /** Questions evaluated. */
  questions: number;
  /** Passages searched. */
  passages: number;
}

/** Options of {@linkcode DprTask}. */
export interface DprTaskOptions {
  /** Tokens per passage, special tokens included. */
  maxPassageLength: number;
  /** Tokens per question. */
  maxQueryLength: number;
  /** Texts per forward pass when evaluating. */
  evalBatchSize: number;
  /**
   * Hard negatives: `ranked[i]` lists passages for training question i, best first (BM25's
   * top hits); the first `perQuestion` of them that are not its own passage join its batch.
   */
  hardNegatives?: { perQuestion: number; ranked: readonly ArrayLike<number>[] };
}

/**
 * DPR training for the {@linkcode Trainer}. A batch is Q questions and the distinct passages
 * they need: their own, then their hard negatives, each passage once, in order of first use.
 * The loss is {@linkcode BiEncoder.loss} with each question's target its own passage's column
 * (the diagonal when every question of the batch has a passage of its own).
 *
 * Dedupe: a SQuAD context has several questions, so two questions of one batch often share a
 * passage. Listing it once makes it the positive of both and a negative of neither, where a
 * column per question would teach each to score its own passage low. A hard negative that is
 * another question's passage is likewise that same column, a negative only for the others.
 *
 * The evaluation encodes the held-out passages and questions, searches exactly
 * ({@linkcode DenseIndex}) and reports `recall@1`, `recall@5` and `recall@20` (the fraction of
 * questions whose passage is in the top k); its loss is the cross-entropy with the whole
 * held-out collection as negatives. The best checkpoint has the highest recall@5.
 *
 * @example
 * ```ts
 * import { BertTokenizer, BiEncoder, bertConfig, DprTask, dprSet, initGpu, Trainer } from "webgpu-bert";
 * await initGpu();
 * const tok = BertTokenizer.fromVocabArray(
 *   ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "cats", "dogs", "purr", "bark", "who"], { lowercase: true });
 * const cfg = bertConfig({ vocab_size: 9, hidden_size: 8, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 });
 * const set = dprSet([{ question: "who purr", context: "cats purr" },
 *   { question: "who bark", context: "dogs bark" }]);
 * const task = await DprTask.create(new BiEncoder(cfg, cfg, 0), tok, set, set,
 *   { maxPassageLength: 8, maxQueryLength: 8, evalBatchSize: 2 });
 * const t = new Trainer(task, { out: await Deno.makeTempDir(), epochs: 5, batchSize: 2,
 *   gradAccum: 1, evalEvery: 100, seed: 0, lr: 1e-2, warmupRatio: 0, weightDecay: 0,
 *   logEvery: 5, quiet: true });
 * console.log(Object.keys((await t.fit()).final.metrics)); // ["recall@1", "recall@5", "recall@20"]
 * t.dispose();
 * ```
 */
export class DprTask implements TrainTask<DprBatch, DprEvaluation> {
  /** Shown in logs and the plot. */
  readonly title: string = "DPR";
  /** The best checkpoint has the highest recall@5. */
  readonly best: { metric: string; greaterIsBetter: boolean } = {
    metric: "recall@5",
    greaterIsBetter: true,
  };
  /** Each side's HF-layout files, linked at the run dir's root. */
  readonly rootFiles: readonly string[];
  /** One line on the data. */
  readonly summary: string;

  private constructor(
    readonly model: BiEncoder,
    readonly tokenizer: TextTokenizer,
    readonly train: DprSet,
    readonly held: DprSet,
    readonly o: DprTaskOptions,
    readonly questionIds: Int32Array[],
    readonly passageIds: Int32Array[],
  ) {
    this.rootFiles = DPR_SIDES.flatMap((s) =>
      [...MODEL_FILES, ...tokenizer.savedFiles].map((f) => `${s}/${f}`)
    );
    const hard = o.hardNegatives ? `, ${o.hardNegatives.perQuestion} hard negatives each` : "";
    this.summary = `${train.questions.length} questions over ${train.passages.length} passages` +
      `${hard}; ${held.questions.length} held-out questions over ${held.passages.length} passages`;
  }

  /** Tokenizes the training questions and passages once; checks the sets are usable. */
  static async create(
    model: BiEncoder,
    tokenizer: TextTokenizer,
    train: DprSet,
    held: DprSet,
    o: DprTaskOptions,
  ): Promise<DprTask> {
    if (!train.questions.length) throw new DataError("--train", "no training questions");
    if (!held.questions.length) throw new DataError("--eval", "no evaluation questions");
    const ranked = o.hardNegatives?.ranked;
    if (ranked && ranked.length !== train.questions.length) {
      throw new Error(
        `DprTask: ${ranked.length} hard-negative lists for ${train.questions.length} questions`,
      );
    }
    const ids = async (texts: string[], maxLength: number) => {
      const out: Int32Array[] = [];
      for (const t of texts) {
        out.push(Int32Array.from((await tokenizer.encode(t, { maxLength })).ids));
      }
      return out;
    };
    return new DprTask(
      model,
      tokenizer,
      train,
      held,
      o,
      await ids(train.questions.map((q) => q.question), o.maxQueryLength),
      await ids(train.passages, o.maxPassageLength),
    );
  }

  /** Training questions. */
  get size(): number {
    return this.train.questions.length;
  }

  /** The questions `indices`, their distinct passages and hard negatives, and the targets. */
  batch(indices: Int32Array): DprBatch {
    const cols = new Map<number, number>();
    const column = (p: number) => {
      let c = cols.get(p);
      if (c === undefined) cols.set(p, c = cols.size);
      return c;
    };
    const own = Array.from(indices, (i) => this.train.questions[i].passage);
    const targets = Int32Array.from(own, column);
    const hard = this.o.hardNegatives;
    if (hard) {
      indices.forEach((i, r) => {
        let taken = 0;
        for (const p of Array.from(hard.ranked[i])) {
          if (taken >= hard.perQuestion) break;
          if (p === own[r]) continue;
          column(p);
          taken++;
        }
      });
    }
    const pad = this.tokenizer.padId;
    const row = (ids: Int32Array) => ({ ids, label: 0 });
    return {
      questions: textBatch(Array.from(indices, (i) => row(this.questionIds[i])), pad),
      passages: textBatch([...cols.keys()].map((p) => row(this.passageIds[p])), pad),
      targets,
    };
  }

  /** Tokens of both sides' padded batches. */
  tokens(b: DprBatch): number {
    return b.questions.batch * b.questions.seq + b.passages.batch * b.passages.seq;
  }

  /** The in-batch negatives loss. */
  loss(b: DprBatch): Tensor {
    return this.model.loss(b);
  }

  /** recall@1/5/20 and the full-collection loss of the held-out questions. */
  async evaluate(): Promise<DprEvaluation> {
    const t0 = performance.now();
    const o = { batchSize: this.o.evalBatchSize };
    const pv = await encodeTexts(this.model.p, this.tokenizer, this.held.passages, {
      ...o,
      maxLength: this.o.maxPassageLength,
    });
    const qv = await encodeTexts(
      this.model.q,
      this.tokenizer,
      this.held.questions.map((q) => q.question),
      { ...o, maxLength: this.o.maxQueryLength },
    );
    const index = new DenseIndex(
      this.held.passages.map((_, i) => String(i)),
      pv,
      this.model.p.config.hidden_size,
    );
    try {
      const hits = await index.search(qv, Math.max(...RECALL_AT));
      const targets = this.held.questions.map((q) => q.passage);
      const metrics: Record<string, number> = {};
      for (const k of RECALL_AT) {
        const found = hits.filter((h, i) => h.slice(0, k).some((x) => x.index === targets[i]));
        metrics[`recall@${k}`] = found.length / targets.length;
      }
      return {
        metrics,
        loss: await index.crossEntropy(qv, targets),
        seconds: (performance.now() - t0) / 1000,
        questions: targets.length,
        passages: this.held.passages.length,
      };
    } finally {
      index.dispose();
    }
  }

  /** `recall@1 a recall@5 b recall@20 c`. */
  describe(e: DprEvaluation): string {
    return RECALL_AT.map((k) => `recall@${k} ${e.metrics[`recall@${k}`].toFixed(4)}`).join(" ");
  }

  /** `q_encoder/` and `p_encoder/` in HF layout, each with the tokenizer. */
  async save(dir: string): Promise<void> {
    await this.model.save(dir, this.tokenizer);
  }

  /** eval_results.json: the recalls, the loss and the counts. */
  async writeArtifacts(dir: string, e: DprEvaluation): Promise<void> {
    const results = {
      ...e.metrics,
      eval_loss: e.loss,
      questions: e.questions,
      passages: e.passages,
    };
    await writeFileAtomic(
      `${dir}/eval_results.json`,
      new TextEncoder().encode(JSON.stringify(results) + "\n"),
    );
  }
}
