// `serve`: the web page (answer, fill masks, classify and fine-tune in the browser over
// WebGPU), its bundle, the shaders and an optional model, on 127.0.0.1.

import { parseFlags, runCli, UsageError } from "./_common.ts";
import { intFlag } from "./_flags.ts";
import { MODEL_PATH, startServer } from "./_web.ts";

const USAGE = "usage: deno task serve [--port 8000] [--model DIR]";

const HELP = `${USAGE}

Serves the page of examples/web/ on http://127.0.0.1:PORT/: open it in a browser with WebGPU
(Chrome/Chromium; headless Chromium needs --enable-unsafe-webgpu). The page bundle is built
from examples/web/app.ts at start.

  --port N     port (default 8000; 0 picks a free one)
  --model DIR  HF-layout model directory (config.json, model.safetensors, tokenizer.json or
               vocab.txt) served at ${MODEL_PATH}, which the page loads by default
  --help       show this help

Stop with Ctrl-C.`;

/** Runs the CLI on `args` (without the program name). */
export async function main(args: string[]): Promise<void> {
  const f = parseFlags(args, {
    port: { type: "string" },
    model: { type: "string" },
    help: { type: "boolean" },
  }, USAGE);
  if (f.help) {
    console.log(HELP);
    return;
  }
  const port = intFlag(f.port, "port", USAGE, 0, 65535) ?? 8000;
  const server = await startServer({ port, model: f.model }).catch((e) => {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new UsageError(`--port: ${port} is in use`, USAGE);
    }
    throw e;
  });
  console.error(`serving ${server.url}${f.model ? ` (model ${f.model} at ${MODEL_PATH})` : ""}`);
  // The last stdout line says where, for scripts that start it.
  console.log(JSON.stringify({ url: server.url }));
  await new Promise<void>((resolve) => Deno.addSignalListener("SIGINT", resolve));
  await server.close();
}

if (import.meta.main) await runCli(main);
