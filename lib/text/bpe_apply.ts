// Applies learned BPE merges to one chunk's bytes, GPT-2 style: repeatedly take the adjacent pair
// whose merge has the lowest rank and merge its occurrences left to right, until no pair has a merge.
//
// Done with a linked list over the symbols and a min-heap of (rank, position) so a chunk of n bytes
// costs O(n log n) rather than GPT-2's O(n^2) rescans; a pathological input (a megabyte without a
// space) stays fast. Same result as the rescanning loop: occurrences of one rank pop left to right,
// and a merge only creates pairs that contain the new token, whose merges (if any) rank later.
import { BinaryHeap } from './heap';
import { pairKey } from './pair_key';

/** The id of the token made by the merge of rank r (the bytes are ids 0..255). */
export const FIRST_MERGE_ID = 256;

const POSITION_LIMIT = 2 ** 32; // heap keys are rank * 2^32 + position

/**
 * Token ids for `bytes`, given `ranks`: pairKey(a, b) -> rank of the merge (a, b) -> 256 + rank.
 */
export function applyMerges(bytes: Uint8Array, ranks: ReadonlyMap<number, number>): Int32Array {
  const n = bytes.length;
  if (n < 2) return Int32Array.from(bytes);
  if (n >= POSITION_LIMIT) throw new Error(`BPE: a chunk of ${n} bytes is too long`);
  const ids = Int32Array.from(bytes); // -1 marks a position merged into its left neighbour
  const next = new Int32Array(n); // n: none
  const prev = new Int32Array(n); // -1: none
  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  const heap = new BinaryHeap<number>((a, b) => a < b);
  const pushPairAt = (left: number): void => {
    const right = next[left];
    if (right >= n) return;
    const rank = ranks.get(pairKey(ids[left], ids[right]));
    if (rank !== undefined) heap.push(rank * POSITION_LIMIT + left);
  };
  for (let i = 0; i + 1 < n; i++) pushPairAt(i);

  while (heap.size > 0) {
    const entry = heap.pop()!;
    const rank = Math.floor(entry / POSITION_LIMIT);
    const left = entry - rank * POSITION_LIMIT;
    if (ids[left] < 0) continue; // merged away
    const right = next[left];
    if (right >= n || ranks.get(pairKey(ids[left], ids[right])) !== rank) continue; // stale
    ids[left] = FIRST_MERGE_ID + rank;
    ids[right] = -1;
    const after = next[right];
    next[left] = after;
    if (after < n) prev[after] = left;
    if (prev[left] >= 0) pushPairAt(prev[left]);
    pushPairAt(left);
  }

  let count = 0;
  for (let i = 0; i < n; i = next[i]) count++;
  const out = new Int32Array(count);
  let k = 0;
  for (let i = 0; i < n; i = next[i]) out[k++] = ids[i];
  return out;
}
