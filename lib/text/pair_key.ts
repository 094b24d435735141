// BPE pairs of token ids packed into one number, for use as Map keys: a * 2^24 + b. Ids stay below
// 2^24 (256 bytes + at most 1,000,000 merges + special tokens), so keys are exact integers < 2^48,
// and key order is (a, b) order: the smallest key is the pair with the smallest ids.

export const MAX_PAIR_ID = 2 ** 24;

export function pairKey(a: number, b: number): number {
  return a * MAX_PAIR_ID + b;
}

export function pairLeft(key: number): number {
  return Math.floor(key / MAX_PAIR_ID);
}

export function pairRight(key: number): number {
  return key % MAX_PAIR_ID;
}
