// `download`: fetch a Hugging Face checkpoint, the KorQuAD v1.0 files, or one URL into a folder,
// resumably and with sha256 checks. Progress goes to stderr; the last stdout line is JSON.

import { download } from "../io/download.ts";
import { DownloadError } from "../util/errors.ts";
import { DataError, parseFlags, runCli, UsageError } from "./_common.ts";
import { checkOutputs } from "./_outputs.ts";

const USAGE = "usage: deno task download NAME[@REVISION] | korquad-v1 | URL --to DIR";

const HELP = `${USAGE}

Downloads into DIR (created if needed):
  NAME[@REVISION]  a Hugging Face model repo (bert-base-multilingual-cased, klue/bert-base),
                   revision default main: config.json, model.safetensors (or its index and
                   every shard), tokenizer.json / vocab.txt / tokenizer_config.json /
                   special_tokens_map.json where present
  korquad-v1       KorQuAD_v1.0_train.json, KorQuAD_v1.0_dev.json, evaluate-v1.0.py
  URL              one http(s) file, saved under its last path segment

  --to DIR         target folder (required)
  --quiet, -q      no progress bar or per-file lines
  --help, -h       show this help

Files go to FILE.part first; an interrupted download resumes on the next run (HTTP Range).
The sha256 is checked whenever it is known (the hub's LFS ETag, KorQuAD dev), and a file
that is already complete is skipped. Pickle checkpoints (pytorch_model.bin) are refused:
convert them to safetensors as weights/README.md explains. Nothing downloaded is executed.

Environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (private or gated
repos; sent to the hub only), KORQUAD_ENDPOINT (default https://korquad.github.io/dataset).
The last line of stdout is JSON: {"to": DIR, "files": [{name, bytes, sha256, verified, status}]}.
Errors exit with code 2 and one line "error: <url-or-file>: <what>".`;

/** Separates the one positional NAME from the flags, since `parseFlags` takes flags only. */
function split(args: string[]): [string[], string[]] {
  const flags: string[] = [];
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      names.push(...args.slice(i + 1));
      break;
    } else if (!a.startsWith("-") || a === "-") names.push(a);
    else {
      flags.push(a);
      if (a === "--to" && i + 1 < args.length) flags.push(args[++i]);
    }
  }
  return [names, flags];
}

/** Runs the CLI on `args` (without the program name). */
export async function main(args: string[]): Promise<void> {
  const [names, rest] = split(args);
  const flags = parseFlags(rest, {
    to: { type: "string" },
    quiet: { type: "boolean", short: "q" },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (flags.help) {
    console.log(HELP);
    return;
  }
  if (names.length !== 1) {
    throw new UsageError(
      names.length ? `one NAME expected, got ${names.length}` : "NAME is required",
      USAGE,
    );
  }
  if (!flags.to) throw new UsageError("--to DIR is required", USAGE);
  await checkOutputs([{ flag: "--to", path: flags.to, kind: "dir", what: "the downloads" }]);
  const files = await download(names[0], flags.to, {
    progress: !flags.quiet,
    log: flags.quiet ? () => {} : (line) => console.error(line),
  }).catch((e) => {
    throw e instanceof DownloadError ? new DataError(e.source, e.fault) : e;
  });
  const fresh = files.filter((f) => f.status !== "skipped");
  const mb = (fresh.reduce((a, f) => a + f.bytes, 0) / 1e6).toFixed(1);
  console.log(
    `${flags.to}: ${files.length} file${files.length === 1 ? "" : "s"}, ` +
      `${fresh.length} fetched (${mb} MB), ` +
      `${files.length - fresh.length} already complete`,
  );
  console.log(JSON.stringify({
    to: flags.to,
    files: files.map(({ name, bytes, sha256, verified, status }) => ({
      name,
      bytes,
      sha256: sha256 ?? null,
      verified,
      status,
    })),
  }));
}

if (import.meta.main) await runCli(main);
