// Packing documents into fixed-length blocks, as run_mlm.py does without --line_by_line
// (`group_texts`): each document is tokenized whole as `[CLS] … [SEP]`, all of them are
// concatenated, and the stream is cut into blocks of max_seq_length tokens, so a long document
// spans blocks and no block is padded.

import type { TextTokenizer } from "../text/tokenizer.ts";

/** Blocks of token ids, stored back to back, with a flag on every special token. */
export interface PackedBlocks {
  /** Tokens per block: `maxSeqLength`, or the whole corpus when it is shorter than that. */
  seqLength: number;
  /** Number of blocks. */
  count: number;
  /** `count × seqLength` token ids, block after block. */
  ids: Int32Array;
  /** 1 where `ids` holds a special token (`[CLS]`, `[SEP]`, `[PAD]`), else 0; never masked. */
  special: Uint8Array;
  /** Tokens of all documents together, before the remainder was dropped. */
  totalTokens: number;
  /** Tokens after the last whole block, dropped as `group_texts` drops them. */
  dropped: number;
}

/** Options of {@linkcode packDocuments}. */
export interface PackOptions {
  /** Block length in tokens (run_mlm.py's `max_seq_length`). */
  maxSeqLength: number;
  /** Documents tokenized concurrently (default 256): the tokenizer works off the main thread. */
  concurrency?: number;
  /** Called after each group of documents with the number done, for a progress bar. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Tokenizes `docs` without truncation and packs them into blocks of exactly `maxSeqLength`
 * tokens, dropping the tokens after the last whole block, as Hugging Face's `group_texts`
 * with its `if total_length >= block_size` guard: a corpus shorter than one block is kept as
 * one shorter block. Unlike `datasets.map`, which groups each batch of 1,000 documents on its
 * own, the whole corpus is one stream, so at most one partial block is lost.
 *
 * @param tokenizer Gives `[CLS] … [SEP]` per document; its special tokens are flagged.
 * @param docs The documents, in order.
 * @param opts The block length; concurrency and a progress callback.
 * @returns The blocks and their special-token flags.
 * @example
 * ```ts
 * import { BertTokenizer, packDocuments } from "webgpu-bert";
 * const tok = BertTokenizer.fromVocabArray(
 *   ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c"],
 *   { lowercase: true },
 * );
 * const p = await packDocuments(tok, ["a b c", "c b", "a"], { maxSeqLength: 5 });
 * console.log(p.count, p.ids, p.special, p.dropped);
 * // 2 [2, 5, 6, 7, 3,  2, 7, 6, 3, 2] [1, 0, 0, 0, 1,  1, 0, 0, 1, 1] 2
 * ```
 */
export async function packDocuments(
  tokenizer: TextTokenizer,
  docs: readonly string[],
  opts: PackOptions,
): Promise<PackedBlocks> {
  const L = opts.maxSeqLength;
  if (!Number.isInteger(L) || L < 1) throw new RangeError(`maxSeqLength ${L} is not >= 1`);
  const group = Math.max(1, opts.concurrency ?? 256);
  const specialIds = new Set([tokenizer.clsId, tokenizer.sepId, tokenizer.padId]);
  // Growable buffers: the stream's length is known only after tokenizing everything.
  let ids = new Int32Array(1 << 16);
  let special = new Uint8Array(1 << 16);
  let n = 0;
  for (let start = 0; start < docs.length; start += group) {
    const windows = await Promise.all(
      docs.slice(start, start + group).map((d) => tokenizer.encode(d)),
    );
    for (const w of windows) {
      if (n + w.ids.length > ids.length) {
        const size = Math.max(2 * ids.length, n + w.ids.length);
        const [i2, s2] = [new Int32Array(size), new Uint8Array(size)];
        i2.set(ids.subarray(0, n));
        s2.set(special.subarray(0, n));
        [ids, special] = [i2, s2];
      }
      for (let k = 0; k < w.ids.length; k++) {
        ids[n] = w.ids[k];
        // A special token is one the tokenizer added (no source sequence), or a special id
        // that came from the text itself (a literal "[SEP]" is matched as the token).
        special[n++] = w.sequenceIds[k] === null || specialIds.has(w.ids[k]) ? 1 : 0;
      }
    }
    opts.onProgress?.(Math.min(start + group, docs.length), docs.length);
  }
  const seqLength = n >= L ? L : n;
  const count = seqLength === 0 ? 0 : Math.floor(n / seqLength);
  const kept = count * seqLength;
  return {
    seqLength,
    count,
    ids: ids.slice(0, kept),
    special: special.slice(0, kept),
    totalTokens: n,
    dropped: n - kept,
  };
}

/**
 * One block of a {@linkcode PackedBlocks}, as views (no copy).
 *
 * @param packed The packed corpus.
 * @param index The block, in [0, count).
 * @returns Its ids and special-token flags.
 * @example
 * ```ts
 * import { packedBlock } from "webgpu-bert";
 * const packed = {
 *   seqLength: 2, count: 2, ids: new Int32Array([2, 5, 6, 3]),
 *   special: new Uint8Array([1, 0, 0, 1]), totalTokens: 4, dropped: 0,
 * };
 * console.log(packedBlock(packed, 1).ids); // Int32Array [6, 3]
 * ```
 */
export function packedBlock(
  packed: PackedBlocks,
  index: number,
): { ids: Int32Array; special: Uint8Array } {
  if (!Number.isInteger(index) || index < 0 || index >= packed.count) {
    throw new RangeError(`block ${index} is not in [0, ${packed.count})`);
  }
  const [a, b] = [index * packed.seqLength, (index + 1) * packed.seqLength];
  return { ids: packed.ids.subarray(a, b), special: packed.special.subarray(a, b) };
}
