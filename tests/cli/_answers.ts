// The host reference for the eval and predict CLIs: the model loaded in this process, the
// windows' logits, and every valid span ranked on the host (tests/_ref.ts), so a CLI's
// answers are checked against an exhaustive search rather than its own postprocessing.

import "../_helpers.ts";
import { type SpanRef, spansByScore } from "../_ref.ts";
import { predictLogits } from "../../src/qa/evaluate.ts";
import { prepareEvalFeatures, type QaExampleInput } from "../../src/qa/features.ts";
import { loadQaModelDir } from "../../src/qa/model_dir.ts";

/** Every valid span of each example (by id), best first, as the model in `dir` scores them. */
export async function rankedSpans(
  dir: string,
  examples: readonly QaExampleInput[],
  opts: { maxLength: number; stride: number; maxAnswerLength: number },
): Promise<Map<string, SpanRef[]>> {
  const { model, tokenizer } = await loadQaModelDir(dir, { quiet: true });
  try {
    const features = await prepareEvalFeatures(examples, tokenizer, opts);
    const logits = await predictLogits(model, features, 16);
    const out = new Map<string, SpanRef[]>();
    for (const e of examples) {
      const mine = features.flatMap((f, i) => f.exampleId === e.id ? [i] : []);
      out.set(
        e.id,
        spansByScore(
          e.context,
          mine.map((i) => features[i]),
          mine.map((i) => logits.start[i]),
          mine.map((i) => logits.end[i]),
          opts.maxAnswerLength,
        ),
      );
    }
    return out;
  } finally {
    model.dispose();
  }
}
