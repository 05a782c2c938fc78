// What the page does, apart from its HTML: load a model in HF layout (picked files or a URL),
// answer, fill masks, classify, evaluate a SQuAD file and fine-tune, all with the library's
// browser entry. The page's buttons and `browser-eval` (through window.webgpuBert) call these.

import {
  batchStream,
  type BertConfig,
  buildWordPieceVocab,
  ClassificationHead,
  decodeUtf8,
  defaultMetric,
  defaultSplits,
  EMBEDDED_QA,
  embeddedQaConfig,
  embeddedQaTexts,
  evaluateQa,
  fillMask,
  type FillMaskCandidate,
  labelNames,
  loadModel,
  MaskedLmModel,
  memoryFiles,
  type MetricName,
  modelFor,
  type NbestEntry,
  parseJson,
  parseSquad,
  postprocessQaPredictions,
  predictLogits,
  predictTexts,
  prepareEvalFeatures,
  QaHead,
  QaLstmHead,
  type QaModel,
  QaTask,
  RobertaClassificationHead,
  saveModel,
  SentencePieceTokenizer,
  type SequenceClassifier,
  type TaskModel,
  textFeatures,
  type TextTokenizer,
  tokenizerSource,
  Trainer,
  truncateQuestions,
  WordPieceTokenizer,
} from "../../browser.ts";

/** A loaded model: what it can do follows from its head. */
export interface Loaded {
  model: TaskModel;
  config: BertConfig;
  tokenizer: TextTokenizer;
  architecture: string;
  /** Where it came from, for messages. */
  source: string;
  kind: "qa" | "fill-mask" | "classify" | "other";
}

/** The model's files live under this directory of the in-memory file map. */
const DIR = "model";
const OPTIONAL = ["tokenizer.json", "vocab.txt", "tokenizer_config.json"];

/** The files of a model directory served at `base` (a URL ending in `/`). */
export async function fetchModel(base: string): Promise<Map<string, Uint8Array>> {
  const map = new Map<string, Uint8Array>();
  for (const name of ["config.json", "model.safetensors", ...OPTIONAL]) {
    const url = new URL(name, new URL(base, location.href));
    const res = await fetch(url).catch((e) => {
      throw new Error(`${url}: ${e.message}`);
    });
    if (res.ok) map.set(`${DIR}/${name}`, new Uint8Array(await res.arrayBuffer()));
    else if (!OPTIONAL.includes(name)) throw new Error(`${url}: HTTP ${res.status}`);
  }
  return map;
}

/**
 * The files the user picked: config.json, model.safetensors, and tokenizer.json, a SentencePiece
 * `*.model` or vocab.txt (a URL gives no listing, so only picked files can hold a `*.model`).
 */
export async function pickedModel(list: ArrayLike<File>): Promise<Map<string, Uint8Array>> {
  const map = new Map<string, Uint8Array>();
  for (const f of Array.from(list)) {
    map.set(`${DIR}/${f.name}`, new Uint8Array(await f.arrayBuffer()));
  }
  for (const name of ["config.json", "model.safetensors"]) {
    if (!map.has(`${DIR}/${name}`)) throw new Error(`pick ${name} too (missing from the files)`);
  }
  return map;
}

/** The directory's tokenizer, by the rule `deno task eval` follows (tokenizerSource). */
function tokenizerOf(map: Map<string, Uint8Array>): TextTokenizer {
  const bytes = (name: string) => map.get(`${DIR}/${name}`) ?? null;
  const text = (name: string) => {
    const b = bytes(name);
    return b ? decodeUtf8(b, name) : null;
  };
  const names = [...map.keys()].map((k) => k.slice(DIR.length + 1));
  const src = tokenizerSource(DIR, names, text("tokenizer_config.json"));
  switch (src.kind) {
    case "tokenizer.json":
      return WordPieceTokenizer.fromJSON(parseJson(text(src.file)!, src.file) as object);
    case "sentencepiece":
      return SentencePieceTokenizer.fromBytes(bytes(src.file)!, src.file);
    case "vocab.txt":
      return WordPieceTokenizer.fromVocabText(text(src.file)!, {
        lowercase: src.lowercase,
        stripAccents: src.stripAccents,
      });
  }
}

function kindOf(model: TaskModel): Loaded["kind"] {
  if (model instanceof MaskedLmModel) return "fill-mask";
  const head = "head" in model ? model.head : null;
  if (head instanceof QaHead || head instanceof QaLstmHead) return "qa";
  if (head instanceof ClassificationHead || head instanceof RobertaClassificationHead) {
    return "classify";
  }
  return "other";
}

/** Loads a model from its files, as its config.json's `architectures` names it. */
export async function loadFiles(map: Map<string, Uint8Array>, source: string): Promise<Loaded> {
  const tokenizer = tokenizerOf(map);
  const { model, config, architecture } = await loadModel(DIR, {
    files: memoryFiles(map),
    quiet: true,
  });
  if (tokenizer.vocabSize > config.vocab_size) {
    model.dispose();
    throw new Error(
      `the tokenizer has ${tokenizer.vocabSize} tokens, the model only ${config.vocab_size}`,
    );
  }
  return { model, config, tokenizer, architecture, source, kind: kindOf(model) };
}

/** One answer span with its place in the context. */
export type Span = NbestEntry;

/** The `topK` best spans of `question` in `context`, best first, with probabilities. */
export async function answer(
  l: Loaded,
  question: string,
  context: string,
  topK = 5,
): Promise<Span[]> {
  if (l.kind !== "qa") throw new Error(`${l.architecture} does not answer questions`);
  const examples = [{ id: "q", question, context, answers: { text: [], answer_start: [] } }];
  const features = await prepareEvalFeatures(examples, l.tokenizer, {
    maxLength: 384,
    stride: 128,
    maxQueryLength: 64,
  });
  const logits = await predictLogits(l.model as QaModel, features, 8);
  const post = postprocessQaPredictions(examples, features, logits.start, logits.end, {
    withOffsets: true,
  });
  return post.nbest.q.slice(0, topK);
}

/** The fill-mask pipeline's candidates at each [MASK]. */
export function fill(l: Loaded, text: string, topK = 5): Promise<FillMaskCandidate[][]> {
  if (l.kind !== "fill-mask") throw new Error(`${l.architecture} is not a masked-LM model`);
  return fillMask(l.model as MaskedLmModel, l.tokenizer, text, { topK });
}

/** The classifier's label for `text` and its probability. */
export async function classify(l: Loaded, text: string): Promise<{ label: string; score: number }> {
  if (l.kind !== "classify") throw new Error(`${l.architecture} is not a text classifier`);
  const model = l.model as SequenceClassifier;
  // Any label: the loss predictTexts also reports is not used here.
  const features = await textFeatures([{ id: "t", text, label: 0 }], l.tokenizer, 128);
  const p = await predictTexts(model, features, 1, l.tokenizer.padId);
  return { label: labelNames(model)[p.labels[0]], score: p.scores[0] };
}

/** What `eval` takes besides the data; the defaults are the CLI's. */
export interface EvalSettings {
  batchSize?: number;
  maxSeqLength?: number;
  docStride?: number;
  maxQueryLength?: number;
  nBest?: number;
  maxAnswerLength?: number;
  metric?: MetricName;
}

/** `deno task eval` in the page: predictions and EM/F1 on a SQuAD-format file's text. */
export async function evaluate(
  l: Loaded,
  dataText: string,
  name: string,
  s: EvalSettings = {},
  onBatch?: (done: number, total: number) => void,
) {
  if (l.kind !== "qa") throw new Error(`${l.architecture} does not answer questions`);
  const data = parseSquad(parseJson(dataText, name), name, { mode: "eval" });
  const maxQueryLength = s.maxQueryLength ?? 64;
  const cut = await truncateQuestions(data.examples, l.tokenizer, maxQueryLength);
  const r = await evaluateQa(l.model as QaModel, l.tokenizer, cut.examples, {
    maxSeqLength: s.maxSeqLength ?? 384,
    docStride: s.docStride ?? 128,
    maxQueryLength,
    batchSize: s.batchSize ?? 32,
    nBest: s.nBest ?? 20,
    maxAnswerLength: s.maxAnswerLength ?? 30,
    metric: s.metric ?? defaultMetric(data.examples),
  }, onBatch);
  return {
    predictions: r.predictions,
    exact_match: r.exact_match,
    f1: r.f1,
    examples: r.examples,
    features: r.features,
    seconds: r.seconds,
  };
}

/** One training step's report. */
export interface StepReport {
  step: number;
  loss: number;
  /** Training tokens (padding included) per second so far. */
  tokensPerS: number;
}

/** What "Train here" trains on. */
export interface TrainSettings {
  steps: number;
  /** A SQuAD-format training file's text (with `loaded`); else the embedded default. */
  dataText?: string;
  dataName?: string;
  /** Generated training questions of the embedded default (default 2000). */
  questions?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
}

/**
 * Fine-tunes for `s.steps` steps with the library's Trainer.step: the embedded default of
 * `deno task train` (generated Korean QA, its vocabulary and BERT-tiny recipe, fewer questions)
 * or `loaded` on a picked SQuAD file. Yields to the page after every step, so the tab stays
 * responsive; returns the trained model, ready to answer.
 */
export async function trainHere(
  s: TrainSettings,
  loaded: Loaded | null,
  onStep: (r: StepReport) => void,
  onStatus: (line: string) => void,
): Promise<Loaded> {
  const seed = s.seed ?? 42;
  let l: Loaded;
  let train;
  let window: { maxSeqLength: number; docStride: number };
  let recipe: { batchSize: number; lr: number; beta2: number; lengthBuckets: number };
  if (s.dataText === undefined) {
    onStatus("generating the embedded default's questions and vocabulary…");
    const splits = defaultSplits(seed, { trainQuestions: s.questions ?? 2000, evalQuestions: 1 });
    train = parseSquad(splits.train, "<generated train>", { mode: "eval" }).examples;
    const vocab = buildWordPieceVocab(embeddedQaTexts(train), { size: EMBEDDED_QA.vocabSize });
    const tokenizer = WordPieceTokenizer.fromVocabArray(vocab, {
      lowercase: false,
      stripAccents: false,
    });
    const config = embeddedQaConfig(tokenizer.vocabSize);
    const { model, architecture } = modelFor(config, { task: "question-answering", seed });
    l = { model, config, tokenizer, architecture, source: "embedded default", kind: "qa" };
    window = EMBEDDED_QA;
    recipe = EMBEDDED_QA;
  } else {
    if (!loaded || loaded.kind !== "qa") throw new Error("load a question-answering model first");
    l = loaded;
    const name = s.dataName ?? "training file";
    const data = parseSquad(parseJson(s.dataText, name), name, { mode: "train" });
    if (!data.examples.length) throw new Error(`${name}: no usable training examples`);
    train = data.examples;
    window = { maxSeqLength: 384, docStride: 128 };
    recipe = { batchSize: 8, lr: 3e-5, beta2: 0.999, lengthBuckets: 1 };
  }
  onStatus(`windowing ${train.length} questions…`);
  const qa = l.model as QaModel;
  const task = await QaTask.create(qa, l.tokenizer, train, [], {
    ...window,
    maxQueryLength: 64,
    nBest: 20,
    maxAnswerLength: 30,
    batchSize: s.batchSize ?? recipe.batchSize,
    metric: "korquad",
  });
  const o = {
    out: "",
    epochs: 1,
    maxSteps: s.steps,
    batchSize: s.batchSize ?? recipe.batchSize,
    gradAccum: 1,
    evalEvery: s.steps,
    seed,
    lr: s.lr ?? recipe.lr,
    warmupRatio: 0.1,
    weightDecay: 0.01,
    adamBetas: [0.9, recipe.beta2] as [number, number],
    logEvery: 1,
    lengthBuckets: recipe.lengthBuckets,
    quiet: true,
  };
  const trainer = new Trainer(task, o);
  const batches = batchStream(task, o);
  onStatus(`training: ${task.summary}, ${s.steps} steps of ${o.batchSize}`);
  qa.train(true);
  const t0 = performance.now();
  try {
    for (let step = 1; step <= s.steps; step++) {
      const loss = await trainer.step(step, () => batches.next(), true);
      onStep({ step, loss, tokensPerS: batches.tokens / ((performance.now() - t0) / 1000) });
      // Let the page paint and take input between steps.
      await new Promise((r) => setTimeout(r, 0));
    }
  } finally {
    trainer.dispose();
    qa.train(false);
  }
  return l;
}

/** `model.safetensors` and `config.json` of a model, as saveModel writes them. */
export async function modelFiles(l: Loaded): Promise<Map<string, Uint8Array>> {
  const map = new Map<string, Uint8Array>();
  await saveModel(l.model, l.config, "out", memoryFiles(map));
  // The tokenizer too (the embedded default's vocabulary exists only in the page), so that the
  // download loads back, here or in deno task eval.
  await l.tokenizer.save("out", memoryFiles(map));
  return new Map([...map].map(([k, v]) => [k.replace(/^out\//, ""), v]));
}
