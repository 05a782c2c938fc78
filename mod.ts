/**
 * A WebGPU deep-learning framework for Deno: tensors, reverse-mode autograd and
 * hand-written WGSL kernels for BERT, with Hugging Face checkpoints and KorQuAD/SQuAD
 * question answering on top.
 *
 * The examples import this module as `webgpu-bert`, which the repository's deno.json maps to
 * `./mod.ts` (that is what lets `deno task test` run them from beside each source file); in
 * your own project, map that name to this file's path or URL, or import `mod.ts` directly.
 *
 * @example
 * ```ts
 * import { backward, initGpu, mean, mul, Tensor } from "webgpu-bert";
 * await initGpu();
 * const w = Tensor.fromArray([1, 2, 3]);
 * w.requiresGrad = true;
 * backward(mean(mul(w, w)));
 * console.log(await w.grad!.toArray());
 * ```
 * @module
 */

// Everything a web page can load (no Deno API, no native module): the core, ops, layers,
// models, QA/classification/fill-mask inference, the TS tokenizer. See browser.ts.
export * from "./browser.ts";

// Host-only: files, checkpoints and logs on disk, progress bars.
export * from "./src/io/deno_files.ts";
export * from "./src/io/atomic.ts";
export * from "./src/io/text_file.ts";
export * from "./src/io/progress.ts";
export * from "./src/io/csv.ts";
export * from "./src/io/download.ts";
export * from "./src/train/log.ts";
export * from "./src/train/checkpoint.ts";

// Models: initialisation, positions, LoRA and PEFT adapters, model directories.
export * from "./src/models/init.ts";
export * from "./src/models/positions.ts";
export * from "./src/nn/lora.ts";
export * from "./src/models/lora.ts";
export * from "./src/models/peft.ts";
export * from "./src/qa/model_dir.ts";

// Open-domain QA: retrievers behind one interface.
export * from "./src/retrieval/retriever.ts";
export * from "./src/retrieval/passages.ts";
export * from "./src/retrieval/analyzers.ts";
export * from "./src/retrieval/inverted_index.ts";
export * from "./src/retrieval/sparse.ts";
export * from "./src/retrieval/dpr.ts";
export * from "./src/retrieval/dpr_task.ts";
export * from "./src/retrieval/dense.ts";
export * from "./src/retrieval/hybrid.ts";
export * from "./src/retrieval/read.ts";
export * from "./src/retrieval/retrieved_csv.ts";
export * from "./src/retrieval/elasticsearch.ts";

// Masked-LM pretraining data.
export * from "./src/mlm/corpus.ts";
export * from "./src/mlm/packing.ts";
export * from "./src/mlm/masking.ts";
export * from "./src/mlm/task.ts";

// Tokenizers that read files (the native binding, model directories).
export * from "./src/text/tokenizer.ts";
export * from "./src/text/tokenizer_dir.ts";
