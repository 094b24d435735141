// Byte-level BPE tokenizer (GPT-2 style): the base vocabulary is the 256 byte values, and each
// learned merge (a, b) adds one token, id 256 + its rank. Text is first split into chunks by
// pretokenize() (merges never cross chunks); special tokens, matched before anything else, get the
// ids after the merges. Training is in bpe_train.ts, merge application in bpe_apply.ts and the JSON
// form with its validation in bpe_format.ts; this file ties them into the tokenizer class.
import { readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../atomic_write';
import { applyMerges } from './bpe_apply';
import {
  checkSpecialToken,
  MAX_MERGES,
  MAX_VOCAB_BYTES,
  parseBPEJSON,
  type BPETokenizerJSON,
} from './bpe_format';
import { learnMerges } from './bpe_train';
import { checkId, checkIds } from './ids';
import { describeValue } from './json_checks';
import { pairKey } from './pair_key';
import { pretokenize } from './pretokenize';
import { utf8Decode, utf8Encode } from './utf8';

export interface BPETrainOptions {
  /** Wanted vocabulary size: 256 bytes + merges + special tokens. Training may stop short of it. */
  vocabSize: number;
  /** A pair is merged only if it occurs at least this often (default 2). */
  minFrequency?: number;
  /** Tokens kept whole (e.g. '<|endoftext|>'), given the ids after the merges in this order. */
  specialTokens?: readonly string[];
}

/** Largest tokenizer file load() reads. */
export const MAX_BPE_FILE_BYTES = 64 * 2 ** 20;
/** Chunks up to this many UTF-16 units have their encoding cached... */
const MAX_CACHED_CHUNK_LENGTH = 256;
/** ...in a cache that is emptied when it reaches this many entries. */
const MAX_CACHE_ENTRIES = 100_000;

export class BPETokenizer {
  private readonly merges: ReadonlyArray<readonly [number, number]>;
  /** pairKey(a, b) -> rank of the merge (a, b). */
  private readonly ranks: Map<number, number>;
  /** id -> the token's bytes (views into one buffer). */
  private readonly tokenBytes: Uint8Array[];
  private readonly specialIds: ReadonlyMap<string, number>;
  /** Matches any special token, longest first; null when there are none. */
  private readonly specialPattern: RegExp | null;
  private readonly cache = new Map<string, Int32Array>();

  /** `merges` and `specialTokens` must be valid (see parseBPEJSON). */
  private constructor(merges: Array<[number, number]>, specialTokens: Map<string, number>) {
    this.merges = merges;
    this.ranks = new Map(merges.map(([a, b], rank) => [pairKey(a, b), rank]));
    this.specialIds = specialTokens;
    this.tokenBytes = buildTokenBytes(merges, [...specialTokens.keys()]);
    this.specialPattern = specialTokens.size === 0 ? null : specialRegExp([...specialTokens.keys()]);
  }

  /**
   * Learns merges from `text`: it is split on special tokens and pre-tokenized, chunk frequencies
   * are counted once, then the most frequent adjacent pair (ties: smallest ids) is merged until the
   * vocabulary reaches `vocabSize` or no pair occurs `minFrequency` times.
   */
  static train(text: string, options: BPETrainOptions): BPETokenizer {
    const where = 'BPETokenizer.train';
    if (typeof text !== 'string') throw new Error(`${where}: text must be a string, got ${describeValue(text)}`);
    const { vocabSize, minFrequency = 2, specialTokens = [] } = options ?? ({} as BPETrainOptions);
    if (!Array.isArray(specialTokens)) throw new Error(`${where}: specialTokens must be an array of strings`);
    const specials = new Map<string, number>();
    for (const token of specialTokens) {
      try {
        checkSpecialToken(token);
      } catch (e) {
        throw new Error(`${where}: ${(e as Error).message}`);
      }
      if (specials.has(token)) throw new Error(`${where}: special token ${JSON.stringify(token)} is given twice`);
      specials.set(token, -1);
    }
    const minVocab = 256 + specials.size;
    if (typeof vocabSize !== 'number' || !Number.isInteger(vocabSize) || vocabSize < minVocab || vocabSize > minVocab + MAX_MERGES) {
      throw new Error(
        `${where}: vocabSize must be an integer in [${minVocab}, ${minVocab + MAX_MERGES}] ` +
          `(256 bytes + merges + ${specials.size} special tokens), got ${describeValue(vocabSize)}`,
      );
    }
    if (typeof minFrequency !== 'number' || !Number.isInteger(minFrequency) || minFrequency < 1) {
      throw new Error(`${where}: minFrequency must be a positive integer, got ${describeValue(minFrequency)}`);
    }

    // Chunk frequencies, never counting the special tokens' text.
    const chunkCounts = new Map<string, number>();
    const countChunks = (piece: string): void => {
      for (const chunk of pretokenize(piece)) chunkCounts.set(chunk, (chunkCounts.get(chunk) ?? 0) + 1);
    };
    if (specials.size === 0) countChunks(text);
    else for (const piece of text.split(specialRegExp([...specials.keys()]))) countChunks(piece);

    const words: Int32Array[] = [];
    const counts: number[] = [];
    for (const [chunk, count] of chunkCounts) {
      words.push(Int32Array.from(utf8Encode(chunk)));
      counts.push(count);
    }
    const merges = learnMerges(words, counts, vocabSize - minVocab, minFrequency);
    let id = 256 + merges.length;
    for (const token of specials.keys()) specials.set(token, id++);
    try {
      return new BPETokenizer(merges, specials);
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
  }

  /** Builds a tokenizer from toJSON()'s output, validating it (it may come from an untrusted file). */
  static fromJSON(json: unknown): BPETokenizer {
    try {
      const { merges, specialTokens } = parseBPEJSON(json);
      return new BPETokenizer(merges, specialTokens);
    } catch (e) {
      throw new Error(`BPETokenizer.fromJSON: ${(e as Error).message}`);
    }
  }

  /** Reads a tokenizer saved by save(); any problem with the file is an Error naming it. */
  static load(path: string): BPETokenizer {
    try {
      const { merges, specialTokens } = parseBPEJSON(readJSONFile(path, MAX_BPE_FILE_BYTES));
      return new BPETokenizer(merges, specialTokens);
    } catch (e) {
      throw new Error(`BPETokenizer.load: ${path}: ${(e as Error).message}`);
    }
  }

  /** Writes toJSON() to `path` (atomically: a failed write leaves any old file as it was). */
  save(path: string): void {
    writeFileAtomic(path, 'BPETokenizer.save', JSON.stringify(this.toJSON()) + '\n');
  }

  toJSON(): BPETokenizerJSON {
    return {
      type: 'bpe',
      version: 1,
      merges: this.merges.map(([a, b]) => [a, b]),
      specialTokens: Object.fromEntries(this.specialIds),
    };
  }

  /** 256 + merges + special tokens. */
  get vocabSize(): number {
    return this.tokenBytes.length;
  }

  get numMerges(): number {
    return this.merges.length;
  }

  /** Special token -> id (a copy). */
  get specialTokens(): Map<string, number> {
    return new Map(this.specialIds);
  }

  /** The bytes token `id` stands for (a copy; a special token's text as UTF-8). */
  idToBytes(id: number): Uint8Array {
    checkId(id, this.tokenBytes.length, 'BPETokenizer.idToBytes');
    return this.tokenBytes[id].slice();
  }

  /** Token ids for `text`; special tokens in it are recognized and emitted as their ids. */
  encode(text: string): Int32Array {
    this.checkText(text, 'encode');
    const out: number[] = [];
    const pattern = this.specialPattern;
    if (pattern === null) {
      this.encodeChunks(text, out);
    } else {
      pattern.lastIndex = 0;
      let start = 0;
      for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
        this.encodeChunks(text.slice(start, match.index), out);
        out.push(this.specialIds.get(match[0])!);
        start = match.index + match[0].length;
      }
      this.encodeChunks(text.slice(start), out);
    }
    return Int32Array.from(out);
  }

  /** Token ids for `text` with special tokens treated as plain text (for untrusted input). */
  encodeOrdinary(text: string): Int32Array {
    this.checkText(text, 'encodeOrdinary');
    const out: number[] = [];
    this.encodeChunks(text, out);
    return Int32Array.from(out);
  }

  /** The tokens' bytes concatenated and decoded as UTF-8 (invalid sequences become U+FFFD). */
  decode(ids: ArrayLike<number>): string {
    checkIds(ids, this.tokenBytes.length, 'BPETokenizer.decode');
    let length = 0;
    for (let i = 0; i < ids.length; i++) length += this.tokenBytes[ids[i]].length;
    const bytes = new Uint8Array(length);
    let offset = 0;
    for (let i = 0; i < ids.length; i++) {
      const token = this.tokenBytes[ids[i]];
      bytes.set(token, offset);
      offset += token.length;
    }
    return utf8Decode(bytes);
  }

  private checkText(text: unknown, method: string): void {
    if (typeof text !== 'string') throw new Error(`BPETokenizer.${method}: text must be a string, got ${describeValue(text)}`);
  }

  private encodeChunks(text: string, out: number[]): void {
    for (const chunk of pretokenize(text)) {
      let ids = this.cache.get(chunk);
      if (ids === undefined) {
        ids = applyMerges(utf8Encode(chunk), this.ranks);
        if (chunk.length <= MAX_CACHED_CHUNK_LENGTH) {
          if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.clear();
          this.cache.set(chunk, ids);
        }
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i]);
    }
  }
}

/** The parsed contents of a JSON file of at most `maxBytes` bytes. */
function readJSONFile(path: string, maxBytes: number): unknown {
  const stat = statSync(path);
  if (!stat.isFile()) throw new Error('not a regular file');
  if (stat.size > maxBytes) throw new Error(`${stat.size} bytes, more than the limit ${maxBytes}`);
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`not valid JSON (${(e as Error).message})`);
  }
}

/** A RegExp matching any of `tokens`, longest first. */
function specialRegExp(tokens: readonly string[]): RegExp {
  return new RegExp(
    [...tokens]
      .sort((x, y) => y.length - x.length)
      .map((token) => token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('|'),
    'g',
  );
}

/** id -> bytes for the 256 bytes, the merges (in order) and the special tokens, in one buffer. */
function buildTokenBytes(merges: ReadonlyArray<readonly [number, number]>, specialTokens: readonly string[]): Uint8Array[] {
  const lengths: number[] = new Array<number>(256).fill(1);
  for (const [a, b] of merges) lengths.push(lengths[a] + lengths[b]);
  const specialBytes = specialTokens.map(utf8Encode);
  let total = 0;
  for (const length of lengths) total += length;
  for (const bytes of specialBytes) total += bytes.length;
  if (total > MAX_VOCAB_BYTES) throw new Error(`the tokens hold ${total} bytes in all, more than the limit ${MAX_VOCAB_BYTES}`);
  const buffer = new Uint8Array(total);
  const tokens: Uint8Array[] = [];
  let offset = 0;
  const add = (length: number): Uint8Array => {
    const view = buffer.subarray(offset, offset + length);
    offset += length;
    tokens.push(view);
    return view;
  };
  for (let byte = 0; byte < 256; byte++) add(1)[0] = byte;
  for (const [a, b] of merges) {
    const left = tokens[a];
    const right = tokens[b];
    const view = add(left.length + right.length);
    view.set(left, 0);
    view.set(right, left.length);
  }
  for (const bytes of specialBytes) add(bytes.length).set(bytes);
  return tokens;
}
