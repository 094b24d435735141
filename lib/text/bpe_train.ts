// Learning BPE merges from chunk frequencies (the core of BPETokenizer.train).
//
// Each distinct chunk ("word") is a sequence of token ids with a count. Pair counts are kept
// incrementally: a merge rewrites only the words that contain the merged pair (found through a
// pair -> words index) and adjusts the counts of the pairs those words lose and gain, instead of
// recounting the corpus. The next merge comes from a max-heap of (count, pair) with lazy deletion:
// an entry whose count is out of date is re-pushed with the current count (counts of existing pairs
// only go down; pairs that gain are new pairs with the new token, pushed after each merge).
// Ties are broken by the smallest pair: smallest left id, then smallest right id.
import { FIRST_MERGE_ID } from './bpe_apply';
import { BinaryHeap } from './heap';
import { pairKey, pairLeft, pairRight } from './pair_key';

interface PairEntry {
  count: number;
  key: number;
}

const comesFirst = (x: PairEntry, y: PairEntry): boolean =>
  x.count > y.count || (x.count === y.count && x.key < y.key);

/**
 * Up to `maxMerges` merges, most frequent pair first, stopping early when no pair occurs at least
 * `minFrequency` times. `words` (byte ids per distinct chunk) are rewritten in place.
 */
export function learnMerges(
  words: Int32Array[],
  wordCounts: readonly number[],
  maxMerges: number,
  minFrequency: number,
): Array<[number, number]> {
  const pairCounts = new Map<number, number>();
  // pair -> the words it occurs in. May list a word twice, or one that lost the pair: harmless,
  // since a merge skips words it has seen and words it does not change.
  const pairWords = new Map<number, number[]>();
  const indexPair = (key: number, w: number): void => {
    const list = pairWords.get(key);
    if (list === undefined) pairWords.set(key, [w]);
    else if (list[list.length - 1] !== w) list.push(w);
  };
  for (let w = 0; w < words.length; w++) {
    const word = words[w];
    for (let i = 0; i + 1 < word.length; i++) {
      const key = pairKey(word[i], word[i + 1]);
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + wordCounts[w]);
      indexPair(key, w);
    }
  }
  const heap = new BinaryHeap<PairEntry>(comesFirst);
  for (const [key, count] of pairCounts) if (count >= minFrequency) heap.push({ count, key });

  const merges: Array<[number, number]> = [];
  const delta = new Map<number, number>(); // pair -> change of its count in this merge
  const change = (key: number, by: number): void => {
    delta.set(key, (delta.get(key) ?? 0) + by);
  };
  const lastMergeSeen = new Int32Array(words.length).fill(-1); // word -> last merge that visited it
  while (merges.length < maxMerges) {
    const top = heap.pop();
    if (top === undefined) break;
    const current = pairCounts.get(top.key) ?? 0;
    if (current !== top.count) {
      // Out of date. A lower count goes back in; a higher one already has its own entry.
      if (current < top.count && current >= minFrequency) heap.push({ count: current, key: top.key });
      continue;
    }
    const a = pairLeft(top.key);
    const b = pairRight(top.key);
    const mergeIndex = merges.length;
    const newId = FIRST_MERGE_ID + mergeIndex;
    merges.push([a, b]);

    // Rewrite each word holding (a, b) in place, left to right. Per occurrence, the pair with the
    // symbol before it (already rewritten) becomes (prev, new) and the pair with the symbol after it
    // (not yet rewritten) becomes (new, next); back-to-back occurrences cancel out correctly.
    delta.clear();
    for (const w of pairWords.get(top.key) ?? []) {
      if (lastMergeSeen[w] === mergeIndex) continue;
      lastMergeSeen[w] = mergeIndex;
      const word = words[w];
      const count = wordCounts[w];
      let length = 0;
      for (let i = 0; i < word.length; ) {
        if (word[i] === a && i + 1 < word.length && word[i + 1] === b) {
          if (length > 0) {
            const prev = word[length - 1];
            change(pairKey(prev, a), -count);
            change(pairKey(prev, newId), count);
            indexPair(pairKey(prev, newId), w);
          }
          if (i + 2 < word.length) {
            const next = word[i + 2];
            change(pairKey(b, next), -count);
            change(pairKey(newId, next), count);
            indexPair(pairKey(newId, next), w);
          }
          word[length++] = newId;
          i += 2;
        } else {
          word[length++] = word[i++];
        }
      }
      if (length < word.length) words[w] = word.subarray(0, length);
    }
    pairCounts.delete(top.key);
    pairWords.delete(top.key);

    for (const [key, by] of delta) {
      if (by === 0 || key === top.key) continue;
      const count = (pairCounts.get(key) ?? 0) + by;
      if (count <= 0) {
        // Gone for good: no later merge can make two old tokens adjacent again.
        pairCounts.delete(key);
        pairWords.delete(key);
      } else {
        pairCounts.set(key, count);
        if (by > 0 && count >= minFrequency) heap.push({ count, key });
      }
    }
  }
  return merges;
}
