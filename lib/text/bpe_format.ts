// The BPE tokenizer's JSON form and its validation. The form:
//
//   { "type": "bpe", "version": 1,
//     "merges": [[a, b], ...],            // merge i makes token 256 + i from tokens a and b
//     "specialTokens": { "<|eot|>": id } } // ids 256 + merges.length onwards, one each
//
// A file may be hostile, so everything is checked before a tokenizer is built: the structure and
// types, that merge i only uses ids that exist before it (< 256 + i), no repeated merge, sizes
// bounded (merges, special tokens, the total bytes of all tokens, which chained merges can double
// at each step), and special token ids that exactly fill the ids after the merges. Every problem is
// an Error saying what is wrong and where.
import { checkHeader, describeValue, isPlainObject } from './json_checks';
import { pairKey } from './pair_key';

export const MAX_MERGES = 1_000_000;
export const MAX_SPECIAL_TOKENS = 10_000;
/** In UTF-16 units. */
export const MAX_SPECIAL_TOKEN_LENGTH = 1_000;
/** The bytes of all tokens together (they are kept expanded, for decoding). */
export const MAX_VOCAB_BYTES = 2 ** 28;

export interface BPETokenizerJSON {
  type: 'bpe';
  version: 1;
  merges: Array<[number, number]>;
  specialTokens: Record<string, number>;
}

export interface BPEVocabulary {
  merges: Array<[number, number]>;
  /** Special token -> id, in id order. */
  specialTokens: Map<string, number>;
}

/** Validates a parsed BPE JSON object (see the header comment); throws an Error on any problem. */
export function parseBPEJSON(json: unknown): BPEVocabulary {
  const obj = checkHeader(json, 'bpe', 1);
  const merges = checkMerges(obj.merges);
  const specials = obj.specialTokens ?? {};
  if (!isPlainObject(specials)) {
    throw new Error(`"specialTokens" must be an object mapping token -> id, got ${describeValue(specials)}`);
  }
  const entries = Object.entries(specials);
  if (entries.length > MAX_SPECIAL_TOKENS) {
    throw new Error(`"specialTokens" has ${entries.length} entries, more than the limit ${MAX_SPECIAL_TOKENS}`);
  }
  const firstId = 256 + merges.length;
  const byId = new Array<string | undefined>(entries.length);
  for (const [token, id] of entries) {
    checkSpecialToken(token);
    if (typeof id !== 'number' || !Number.isInteger(id) || id < firstId || id >= firstId + entries.length) {
      throw new Error(
        `special token ${JSON.stringify(token)} has id ${describeValue(id)}; with ${merges.length} merges and ` +
          `${entries.length} special tokens their ids must be ${firstId}..${firstId + entries.length - 1}`,
      );
    }
    const other = byId[id - firstId];
    if (other !== undefined) {
      throw new Error(`special tokens ${JSON.stringify(other)} and ${JSON.stringify(token)} have the same id ${id}`);
    }
    byId[id - firstId] = token;
  }
  return { merges, specialTokens: new Map(byId.map((token, i) => [token!, firstId + i])) };
}

function checkMerges(value: unknown): Array<[number, number]> {
  if (!Array.isArray(value)) throw new Error(`"merges" must be an array of [a, b] pairs, got ${describeValue(value)}`);
  if (value.length > MAX_MERGES) throw new Error(`"merges" has ${value.length} entries, more than the limit ${MAX_MERGES}`);
  const merges: Array<[number, number]> = [];
  const seen = new Map<number, number>();
  const tokenBytes: number[] = new Array<number>(256).fill(1);
  let totalBytes = 256;
  for (let i = 0; i < value.length; i++) {
    const merge: unknown = value[i];
    if (!Array.isArray(merge) || merge.length !== 2) {
      throw new Error(`merges[${i}] must be a pair [a, b] of token ids, got ${describeValue(merge)}`);
    }
    const newId = 256 + i;
    for (const id of merge as unknown[]) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
        throw new Error(`merges[${i}] contains ${describeValue(id)}, not a token id (a non-negative integer)`);
      }
      if (id >= newId) {
        throw new Error(
          `merges[${i}] uses id ${id}, which is not defined before it (merge ${i} makes id ${newId}; ` +
            `it may only use ids 0..${newId - 1})`,
        );
      }
    }
    const [a, b] = merge as [number, number];
    const key = pairKey(a, b);
    const earlier = seen.get(key);
    if (earlier !== undefined) throw new Error(`merges[${i}] repeats the pair [${a}, ${b}] of merges[${earlier}]`);
    seen.set(key, i);
    const length = tokenBytes[a] + tokenBytes[b];
    totalBytes += length;
    if (totalBytes > MAX_VOCAB_BYTES) {
      throw new Error(`the tokens made by merges[0..${i}] hold more than ${MAX_VOCAB_BYTES} bytes in all (limit)`);
    }
    tokenBytes.push(length);
    merges.push([a, b]);
  }
  return merges;
}

/** Throws unless `token` can be a special token (a non-empty string up to the length limit). */
export function checkSpecialToken(token: unknown): asserts token is string {
  if (typeof token !== 'string' || token.length === 0) {
    throw new Error(`a special token must be a non-empty string, got ${describeValue(token)}`);
  }
  if (token.length > MAX_SPECIAL_TOKEN_LENGTH) {
    throw new Error(`special token ${JSON.stringify(token.slice(0, 20))}... is longer than ${MAX_SPECIAL_TOKEN_LENGTH} characters`);
  }
}
