// Checks the token ids given to a tokenizer's decode()/idToBytes(): each must be an integer in
// [0, vocabSize). A bad id is a bug in the caller (or corrupted data), so it is an Error naming the id
// and its position rather than something silently skipped or decoded as garbage.

/** Throws unless `id` is an integer in [0, vocabSize); `where` prefixes the message. */
export function checkId(id: unknown, vocabSize: number, where: string, position?: number): asserts id is number {
  if (typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < vocabSize) return;
  const at = position === undefined ? '' : ` at position ${position}`;
  throw new Error(`${where}: id ${describeId(id)}${at} is not an integer in [0, ${vocabSize})`);
}

/** Throws unless `ids` is array-like and every element passes checkId. */
export function checkIds(ids: ArrayLike<number>, vocabSize: number, where: string): void {
  if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number') {
    throw new Error(`${where}: ids must be an array or typed array of integers, got ${describeId(ids)}`);
  }
  for (let i = 0; i < ids.length; i++) checkId(ids[i], vocabSize, where, i);
}

function describeId(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
