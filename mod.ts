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

// Shared at the bottom: the user-facing errors, the host PRNG, environment access.
export * from "./src/util/errors.ts";
export * from "./src/util/rng.ts";
export * from "./src/util/env.ts";

// Core: device, tensors, tape.
export * from "./src/gpu/device.ts";
export * from "./src/gpu/errors.ts";
export type { PoolStats } from "./src/gpu/pool.ts";
export { BufferPool, sizeClass } from "./src/gpu/pool.ts";
export { counters, sync } from "./src/gpu/kernel.ts";
export type { Binding } from "./src/gpu/kernel.ts";
export * from "./src/tensor.ts";
export * from "./src/autograd.ts";

// Ops, each with its backward.
export * from "./src/ops/elementwise.ts";
export * from "./src/ops/reduce.ts";
export * from "./src/ops/matmul.ts";
export * from "./src/ops/layernorm.ts";
export * from "./src/ops/softmax.ts";
export * from "./src/ops/activations.ts";
export * from "./src/ops/dropout.ts";
export * from "./src/ops/random.ts";
export * from "./src/ops/permute.ts";
export * from "./src/ops/slice.ts";
export * from "./src/ops/embedding.ts";
export * from "./src/ops/cross_entropy.ts";
export * from "./src/ops/argmax.ts";
export * from "./src/ops/topk.ts";
export * from "./src/ops/attention.ts";
export * from "./src/ops/fused.ts";
export * from "./src/ops/lstm.ts";

// Layers, optimizer, training utilities.
export * from "./src/nn/module.ts";
export * from "./src/nn/layers.ts";
export * from "./src/nn/lora.ts";
export * from "./src/optim/adamw.ts";
export * from "./src/optim/clip.ts";
export * from "./src/optim/loss_scale.ts";
export * from "./src/optim/schedule.ts";
export * from "./src/train/log.ts";
export * from "./src/train/checkpoint.ts";
export * from "./src/train/sampler.ts";
export * from "./src/train/save_policy.ts";
export * from "./src/train/trainer.ts";

// Models and checkpoints.
export * from "./src/io/files.ts";
export * from "./src/io/deno_files.ts";
export * from "./src/io/safetensors.ts";
export * from "./src/io/atomic.ts";
export * from "./src/io/text_file.ts";
export * from "./src/io/progress.ts";
export * from "./src/io/csv.ts";
export * from "./src/models/config.ts";
export * from "./src/models/init.ts";
export * from "./src/models/positions.ts";
export * from "./src/models/bert.ts";
export * from "./src/models/bert_qa.ts";
export * from "./src/models/bert_classify.ts";
export * from "./src/models/with_head.ts";
export * from "./src/models/heads/qa.ts";
export * from "./src/models/heads/qa_lstm.ts";
export * from "./src/models/heads/classification.ts";
export * from "./src/models/heads/mlm.ts";
export * from "./src/models/masked_lm.ts";
export * from "./src/models/roberta.ts";
export * from "./src/models/registry.ts";
export * from "./src/models/checkpoint.ts";
export * from "./src/models/lora.ts";
export * from "./src/models/peft.ts";

// Question answering.
export * from "./src/qa/dataset.ts";
export * from "./src/qa/metrics.ts";
export * from "./src/qa/features.ts";
export * from "./src/qa/postprocess.ts";
export * from "./src/qa/evaluate.ts";
export * from "./src/qa/task.ts";
export * from "./src/qa/model_dir.ts";
export * from "./src/qa/synthetic.ts";
export * from "./src/qa/embedded.ts";

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

// Text classification.
export * from "./src/classify/dataset.ts";
export * from "./src/classify/metrics.ts";
export * from "./src/classify/task.ts";
export * from "./src/mlm/fill_mask.ts";

// Masked-LM pretraining data.
export * from "./src/mlm/corpus.ts";
export * from "./src/mlm/packing.ts";
export * from "./src/mlm/masking.ts";
export * from "./src/mlm/task.ts";

// Text.
export * from "./src/text/tokenizer.ts";
export * from "./src/text/windows.ts";
export * from "./src/text/wordpiece.ts";
export * from "./src/text/wordpiece_normalizer.ts";
export * from "./src/text/sentencepiece.ts";
export * from "./src/text/vocab_builder.ts";
export * from "./src/text/tokenizer_dir.ts";
export * from "./src/io/download.ts";
