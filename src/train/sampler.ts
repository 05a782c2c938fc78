// Epoch orders of the training items: a seeded shuffle, HF's length grouping, and length buckets.
// The Trainer draws batches from these; they know nothing of any task.

import { mulberry32 } from "../util/rng.ts";

/**
 * The epoch's item order: a seeded Fisher-Yates shuffle.
 *
 * @example
 * ```ts
 * import { epochOrder } from "webgpu-bert";
 * console.log(epochOrder(5, 42, 0)); // a permutation of 0..4
 * ```
 */
export function epochOrder(n: number, seed: number, epoch: number): Int32Array {
  return shuffled(Int32Array.from({ length: n }, (_, i) => i), mulberry32(seed * 1000003 + epoch));
}

/** Fisher-Yates in place, drawing from `r`. */
function shuffled<T extends { length: number; [i: number]: unknown }>(
  xs: T,
  r: () => number,
): T {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/**
 * {@link epochOrder} grouped by length, as Hugging Face's LengthGroupedSampler: the shuffle is
 * cut into megabatches of 50 batches, each sorted by `lengths` descending (ties keep the shuffle's
 * order), and the megabatch with the longest item is swapped to the front.
 *
 * @example
 * ```ts
 * import { groupedEpochOrder } from "webgpu-bert";
 * const order = groupedEpochOrder([5, 9, 2, 7], 2, 0, 0);
 * console.log(order); // all four indices, the longest (1) first
 * ```
 */
export function groupedEpochOrder(
  lengths: ArrayLike<number>,
  batchSize: number,
  seed: number,
  epoch: number,
): Int32Array {
  const order = epochOrder(lengths.length, seed, epoch);
  const mega = 50 * batchSize;
  const groups: number[][] = [];
  for (let i = 0; i < order.length; i += mega) {
    groups.push(Array.from(order.subarray(i, i + mega)).sort((a, b) => lengths[b] - lengths[a]));
  }
  let top = 0;
  groups.forEach((g, k) => {
    if (lengths[g[0]] > lengths[groups[top][0]]) top = k;
  });
  [groups[0], groups[top]] = [groups[top], groups[0]];
  return Int32Array.from(groups.flat());
}

/**
 * An epoch's order in length buckets: items ranked by length (ties by the epoch's shuffle)
 * are cut into `buckets` equal-count buckets; each bucket is shuffled and cut into batches of
 * `batchSize`, and the batches of all buckets are shuffled together. Each batch then holds
 * items of similar length (little padding) drawn at random from its bucket, while unlike
 * {@link groupedEpochOrder} consecutive batches do not run from long to short.
 *
 * @example
 * ```ts
 * import { bucketedEpochOrder } from "webgpu-bert";
 * const order = bucketedEpochOrder([5, 9, 2, 7, 3, 8], 2, 2, 0, 0);
 * console.log(order); // every index once; each aligned pair from one bucket
 * ```
 */
export function bucketedEpochOrder(
  lengths: ArrayLike<number>,
  batchSize: number,
  buckets: number,
  seed: number,
  epoch: number,
): Int32Array {
  const r = mulberry32((seed * 1000003 + epoch) ^ 0x5bd1e995);
  // A stable sort: ties keep the epoch's shuffled order.
  const ranked = Array.from(epochOrder(lengths.length, seed, epoch))
    .sort((a, b) => lengths[a] - lengths[b]);
  // Whole batches per bucket, so that batches stay aligned to `batchSize`; the one short batch
  // (of the longest bucket) goes last.
  const size = batchSize * Math.ceil(ranked.length / Math.max(1, buckets) / batchSize);
  const batches: number[][] = [];
  for (let b0 = 0; b0 < ranked.length; b0 += size) {
    const bucket = shuffled(ranked.slice(b0, b0 + size), r);
    for (let i = 0; i < bucket.length; i += batchSize) batches.push(bucket.slice(i, i + batchSize));
  }
  const tail = batches.at(-1);
  const short = tail && tail.length < batchSize ? batches.pop()! : [];
  return Int32Array.from([...shuffled(batches, r).flat(), ...short]);
}
