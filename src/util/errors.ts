// The user-facing error classes, at the bottom of the layers so that every layer can throw them
// and the CLIs can tell a user's mistake (exit 2) from a bug (exit 1) by class, not by name.

/**
 * Base of the errors about the user's own input (files, flags, configs, checkpoints): the CLIs
 * print its one-line message and exit with code 2 instead of showing a stack trace.
 *
 * @example
 * ```ts
 * import { DataError, UserError } from "webgpu-bert";
 * console.log(new DataError("dev.json", "not JSON") instanceof UserError); // true
 * ```
 */
export class UserError extends Error {}

/**
 * A bad command line (unknown flag, missing or malformed value). `runCli` prints
 * `error: <what>` and the usage line, and exits with code 2.
 *
 * @example
 * ```ts
 * import { UsageError } from "webgpu-bert";
 * const e = new UsageError("--data is required", "usage: score --data FILE");
 * console.log(e.message, e.usage); // --data is required usage: score --data FILE
 * ```
 */
export class UsageError extends UserError {
  /** `what` is wrong with the command line; `usage` is printed after it. */
  constructor(what: string, readonly usage = "") {
    super(what);
    this.name = "UsageError";
  }
}

/**
 * Bad input data: a file that is missing, not UTF-8, not JSON or not in the expected layout.
 * The message is `<file>: <what>`; `runCli` prints `error: <file>: <what>` and exits with code 2.
 *
 * @example
 * ```ts
 * import { DataError } from "webgpu-bert";
 * const e = new DataError("dev.json", "data[0]: missing \"paragraphs\"");
 * console.log(e.message); // dev.json: data[0]: missing "paragraphs"
 * ```
 */
export class DataError extends UserError {
  /** An error about `file`; `what` says what is wrong. */
  constructor(readonly file: string, readonly what: string) {
    super(`${file}: ${what}`);
    this.name = "DataError";
  }
}

/**
 * An output path that cannot be written safely: it is one of the command's inputs, another of
 * its outputs, an existing run, or a file where a directory is expected (or the reverse). The
 * message is `<path>: <what>`; `runCli` prints `error: <path>: <what>` and exits with code 2.
 *
 * @example
 * ```ts
 * import { OutputError, UserError } from "webgpu-bert";
 * const e = new OutputError("dev.json", "is also --data; writing it would overwrite the input");
 * console.log(e.message, e instanceof UserError); // dev.json: is also --data; ... input true
 * ```
 */
export class OutputError extends UserError {
  /** An error about the output `path`; `what` says what is wrong. */
  constructor(readonly path: string, readonly what: string) {
    super(`${path}: ${what}`);
    this.name = "OutputError";
  }
}

/**
 * A tokenizer file that cannot be used (a malformed SentencePiece `.model`, a vocab without the
 * special tokens it needs); the message is `<file>: <what>`.
 *
 * @example
 * ```ts
 * import { TokenizerError, UserError } from "webgpu-bert";
 * const e = new TokenizerError("kobert.model", "not a SentencePiece model");
 * console.log(e.message, e instanceof UserError); // kobert.model: not a SentencePiece model true
 * ```
 */
export class TokenizerError extends UserError {
  /** An error about the tokenizer file `file`; `what` says what is wrong. */
  constructor(readonly file: string, readonly what: string) {
    super(`${file}: ${what}`);
    this.name = "TokenizerError";
  }
}

/** A config.json that cannot be used; the message starts with the file path. */
export class ConfigError extends UserError {
  /** An error about the config at `path`; `what` says what is wrong. */
  constructor(readonly path: string, what: string) {
    super(`${path}: ${what}`);
    this.name = "ConfigError";
  }
}

/** A checkpoint whose tensors do not fit the model; the message names the tensor. */
export class CheckpointError extends UserError {
  /** An error about the checkpoint at `path`; `what` says what is wrong. */
  constructor(readonly path: string, what: string) {
    super(`${path}: ${what}`);
    this.name = "CheckpointError";
  }
}

/**
 * An adapter (PEFT's `adapter_config.json` + `adapter_model.safetensors`) that does not fit the
 * model: a wrong base, a tensor of another shape, an unknown or missing key, an unsupported
 * setting, or targets that match no layer. The message is `<path>: <what>`, one line.
 *
 * @example
 * ```ts
 * import { AdapterError, UserError } from "webgpu-bert";
 * const e = new AdapterError("adapter/adapter_model.safetensors", "unknown key x.lora_A.weight");
 * console.log(e.message, e instanceof UserError);
 * // adapter/adapter_model.safetensors: unknown key x.lora_A.weight true
 * ```
 */
export class AdapterError extends UserError {
  /** An error about the adapter file or setting `path`; `what` says what is wrong. */
  constructor(readonly path: string, readonly what: string) {
    super(`${path}: ${what}`);
    this.name = "AdapterError";
  }
}

/** Thrown for every malformed or refused safetensors file; the message is `<path>: <what is wrong>`. */
export class SafetensorsError extends UserError {
  /** The file (or directory) at fault, as the caller named it. */
  readonly path: string;
  /** What is wrong with it. */
  readonly fault: string;

  /** Builds the `<path>: <fault>` message; `options.cause` keeps an underlying error. */
  constructor(path: string, fault: string, options?: ErrorOptions) {
    super(`${path}: ${fault}`, options);
    this.path = path;
    this.fault = fault;
    this.name = "SafetensorsError";
  }
}

/**
 * Thrown for every refused or failed download; the message is `<url-or-file>: <what>`. Not a
 * {@linkcode UserError}: a network failure exits with code 1.
 */
export class DownloadError extends Error {
  /** The URL, repo id or file name at fault. */
  readonly source: string;
  /** What went wrong. */
  readonly fault: string;
  /** The HTTP status, when the server answered with an error. */
  readonly status?: number;

  /** Builds the `<source>: <fault>` message. */
  constructor(source: string, fault: string, status?: number) {
    super(`${source}: ${fault}`);
    this.source = source;
    this.fault = fault;
    this.status = status;
    this.name = "DownloadError";
  }
}
