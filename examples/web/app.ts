/// <reference lib="dom" />
// The page's wiring: buttons call examples/web/session.ts, results and errors go to the page.
// `window.webgpuBert` exposes the same calls for `deno task browser-eval` and the tests.

import { initGpu, NoAdapterError } from "../../browser.ts";
import {
  answer,
  classify,
  evaluate,
  fetchModel,
  fill,
  type Loaded,
  loadFiles,
  modelFiles,
  pickedModel,
  type StepReport,
  trainHere,
  type TrainSettings,
} from "./session.ts";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const value = (id: string) => $<HTMLInputElement>(id).value;

let current: Loaded | null = null;
let busy = false;

function status(text: string, error = false): void {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

/** An error as the page shows it: its message, one line, no stack. */
function message(e: unknown): string {
  if (e instanceof NoAdapterError || (e instanceof Error && /adapter/i.test(e.message))) {
    return "This browser offers no WebGPU adapter: use Chrome or Chromium with WebGPU enabled " +
      "(headless: --enable-unsafe-webgpu).";
  }
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}

/** Runs one piece of long work at a time; its failure becomes the status line. */
async function work<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  if (busy) {
    status("busy: wait for the current work to finish");
    return;
  }
  busy = true;
  status(`${what}…`);
  try {
    return await fn();
  } catch (e) {
    status(`${what} failed: ${message(e)}`, true);
  } finally {
    busy = false;
  }
}

function table(id: string, head: string[], rows: (string | number)[][]): void {
  const t = $<HTMLTableElement>(id);
  t.replaceChildren();
  const tr = (cells: (string | number)[], tag: string) => {
    const r = t.insertRow();
    for (const c of cells) {
      const td = document.createElement(tag);
      td.textContent = String(c);
      r.append(td);
    }
  };
  tr(head, "th");
  rows.forEach((r) => tr(r, "td"));
}

function show(l: Loaded): void {
  current?.model !== l.model && current?.model.dispose();
  current = l;
  const params = l.model.namedParameters().reduce((n, [, t]) => n + t.size, 0);
  $("model-info").textContent = `${l.architecture} from ${l.source}: ` +
    `${l.config.num_hidden_layers} layers, hidden ${l.config.hidden_size}, ` +
    `${(params / 1e6).toFixed(2)}M parameters, vocabulary ${l.tokenizer.vocabSize}`;
  $("qa").hidden = l.kind !== "qa";
  $("fill").hidden = l.kind !== "fill-mask";
  $("sentiment").hidden = l.kind !== "classify";
  status(`loaded ${l.architecture}`);
}

async function loadUrl(url: string): Promise<Loaded | undefined> {
  return await work(`loading ${url}`, async () => {
    const l = await loadFiles(await fetchModel(url), url);
    show(l);
    return l;
  });
}

/** Answers the question in the page's boxes, after filling them with any given. */
async function ask(question?: string, context?: string): Promise<string | undefined> {
  if (question !== undefined) $<HTMLInputElement>("question").value = question;
  if (context !== undefined) $<HTMLTextAreaElement>("context").value = context;
  return await work("answering", async () => {
    const context = $<HTMLTextAreaElement>("context").value;
    const spans = await answer(current!, value("question"), context);
    const best = spans[0];
    const box = $("highlight");
    box.replaceChildren();
    if (best?.offsets) {
      const [s, e] = best.offsets;
      const mark = document.createElement("mark");
      mark.textContent = context.slice(s, e);
      box.append(context.slice(0, s), mark, context.slice(e));
    } else box.append(context);
    $("answer").textContent = best?.offsets
      ? `Answer: ${best.text} (probability ${best.probability.toFixed(3)})`
      : "No answer span found.";
    table(
      "spans",
      ["#", "span", "probability", "start logit", "end logit"],
      spans.map((p, i) => [
        i + 1,
        p.text,
        p.probability.toFixed(4),
        p.start_logit.toFixed(3),
        p.end_logit.toFixed(3),
      ]),
    );
    status("answered");
    return best?.text;
  });
}

/** The loss curve so far, drawn on the canvas. */
function plot(points: StepReport[]): void {
  const c = $<HTMLCanvasElement>("loss");
  const g = c.getContext("2d")!;
  g.clearRect(0, 0, c.width, c.height);
  if (!points.length) return;
  const max = Math.max(...points.map((p) => p.loss));
  const last = points[points.length - 1].step;
  const [px, py] = [40, 16];
  const x = (s: number) => px + (c.width - 2 * px) * (last > 1 ? (s - 1) / (last - 1) : 0);
  const y = (v: number) => py + (c.height - 2 * py) * (1 - v / max);
  g.strokeStyle = "#bbb";
  g.strokeRect(px, py, c.width - 2 * px, c.height - 2 * py);
  g.fillStyle = "#555";
  g.font = "11px sans-serif";
  g.fillText(max.toFixed(2), 2, py + 4);
  g.fillText("0", 2, c.height - py);
  g.fillText(`step ${last}`, c.width - px - 30, c.height - 2);
  g.strokeStyle = "#1f6feb";
  g.beginPath();
  points.forEach((p, i) => i ? g.lineTo(x(p.step), y(p.loss)) : g.moveTo(x(p.step), y(p.loss)));
  g.stroke();
}

async function train(s: TrainSettings): Promise<StepReport[] | undefined> {
  return await work("training", async () => {
    const points: StepReport[] = [];
    const l = await trainHere(s, current, (r) => {
      points.push(r);
      plot(points);
      $("train-info").textContent = `step ${r.step}/${s.steps}: loss ${r.loss.toFixed(4)}, ` +
        `${Math.round(r.tokensPerS)} tokens/s`;
      status(`training: step ${r.step} of ${s.steps}`);
    }, status);
    show(l);
    $("downloads").hidden = false;
    status(`trained ${s.steps} steps: ask it a question`);
    return points;
  });
}

async function trainClicked(): Promise<void> {
  const onFile = document.querySelector<HTMLInputElement>('input[name="train-on"]:checked')!
    .value === "file";
  const file = $<HTMLInputElement>("train-file").files?.[0];
  if (onFile && !file) return status("pick a SQuAD-format training file first", true);
  const num = (id: string) => value(id).trim() === "" ? undefined : Number(value(id));
  const steps = num("steps") ?? 0;
  if (!Number.isInteger(steps) || steps < 1) return status("steps: a whole number ≥ 1", true);
  await train({
    steps,
    batchSize: num("batch"),
    lr: num("lr"),
    ...(onFile ? { dataText: await file!.text(), dataName: file!.name } : {}),
  });
}

async function download(): Promise<void> {
  await work("saving", async () => {
    for (const [name, bytes] of await modelFiles(current!)) {
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([bytes as BlobPart]));
      a.download = name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    }
    status("saved model.safetensors, config.json and the tokenizer files");
  });
}

$("load-url").onclick = () => loadUrl(value("model-url"));
$<HTMLInputElement>("model-files").onchange = (ev) => {
  const files = (ev.target as HTMLInputElement).files;
  if (files?.length) {
    work(
      "loading the picked files",
      async () => show(await loadFiles(await pickedModel(files), "picked files")),
    );
  }
};
$("ask").onclick = () => ask();
$("fill-go").onclick = () =>
  work("filling", async () => {
    const masks = await fill(current!, value("masked"));
    table(
      "fills",
      ["mask", "token", "score", "sequence"],
      masks.flatMap((cands, m) =>
        cands.map((c) => [m + 1, c.token_str, c.score.toFixed(4), c.sequence])
      ),
    );
    status("filled");
  });
$("classify-go").onclick = () =>
  work("classifying", async () => {
    const r = await classify(current!, value("review"));
    $("label").textContent = `${r.label} (probability ${r.score.toFixed(3)})`;
    status("classified");
  });
$("train-go").onclick = trainClicked;
$("download").onclick = download;

/** What `browser-eval` and the tests drive. */
const api = {
  loadUrl,
  ask,
  train,
  evaluate: (dataText: string, name: string, settings = {}) =>
    work(
      "evaluating",
      () =>
        evaluate(current!, dataText, name, settings, (d, t) =>
          status(`evaluating: ${d} of ${t} windows`)),
    ),
  fill: (text: string, topK = 5) => fill(current!, text, topK),
  classify: (text: string) => classify(current!, text),
  adapter: "",
  lastStatus: () => ({
    text: $("status").textContent,
    error: $("status").classList.contains("error"),
  }),
};
(globalThis as unknown as { webgpuBert: typeof api }).webgpuBert = api;

const ready = await work("starting WebGPU", async () => (await initGpu()).info.name);
if (ready !== undefined) {
  api.adapter = ready;
  status(`WebGPU ready (${ready})`);
  // The served model, when there is one, loads by default.
  const probe = await fetch(new URL(value("model-url") + "config.json", location.href), {
    method: "HEAD",
  }).catch(() => null);
  if (probe?.ok) await loadUrl(value("model-url"));
  else status(`WebGPU ready (${ready}): load a model, or train one here`);
}
document.body.dataset.ready = ready === undefined ? "error" : "yes";
