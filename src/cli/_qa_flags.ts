// Flag parsing shared by the QA CLIs: numbers are validated, with usage errors (exit 2).

import { UsageError } from "./_common.ts";

/** Parses an integer flag within [min, max]; undefined stays undefined. */
export function intFlag(
  v: string | undefined,
  name: string,
  usage: string,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got "${v}"`, usage);
  }
  return n;
}

/** Parses a number flag within [min, max]. */
export function numFlag(
  v: string | undefined,
  name: string,
  usage: string,
  min: number,
  max: number,
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a number in [${min}, ${max}], got "${v}"`, usage);
  }
  return n;
}

/** Checks `--metric`. */
export function metricFlag(v: string | undefined, usage: string): "korquad" | "squad" | undefined {
  if (v === undefined || v === "korquad" || v === "squad") return v;
  throw new UsageError(`--metric must be korquad or squad, got "${v}"`, usage);
}

/** Checks `--precision`. */
export function precisionFlag(v: string | undefined, usage: string): "f32" | "f16" | undefined {
  if (v === undefined || v === "f32" || v === "f16") return v;
  throw new UsageError(`--precision must be f32 or f16, got "${v}"`, usage);
}

/** The windowing flags, checked together: the stride must be shorter than the window. */
export function windowFlags(
  f: { "max-seq-length"?: string; "doc-stride"?: string },
  usage: string,
  defaults: { maxSeqLength: number; docStride: number },
): { maxSeqLength: number; docStride: number } {
  const maxSeqLength = intFlag(f["max-seq-length"], "max-seq-length", usage, 8, 512) ??
    defaults.maxSeqLength;
  const docStride = intFlag(f["doc-stride"], "doc-stride", usage, 0) ?? defaults.docStride;
  if (docStride >= maxSeqLength) {
    throw new UsageError(
      `--doc-stride (${docStride}) must be smaller than --max-seq-length (${maxSeqLength})`,
      usage,
    );
  }
  return { maxSeqLength, docStride };
}
