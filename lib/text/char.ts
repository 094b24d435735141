// Character-level tokenizer: one token per Unicode code point seen in a corpus (the classic
// "tiny Shakespeare" setup). Text is walked by code point, not by UTF-16 unit, so an emoji or any
// other astral character is one token, not two surrogate halves.
//
// Unknown characters: by default encode() throws an Error naming the character and its code point
// (a silent mapping would hide a vocabulary that does not fit the data). Building the tokenizer
// with `{ unk: '\uFFFD' }` (any single code point) instead adds that character to the vocabulary and
// maps every unknown character to it; decode() then yields the unk character in their place.
import { checkIds } from './ids';
import { checkHeader, describeValue } from './json_checks';

export interface CharTokenizerOptions {
  /** A single character that unknown characters encode to (added to the vocabulary). */
  unk?: string;
}

export interface CharTokenizerJSON {
  type: 'char';
  version: 1;
  /** The vocabulary: code points in increasing order; a code point's id is its index here. */
  codePoints: number[];
  /** The code point unknown characters map to, or null when encode() throws on them. */
  unk: number | null;
}

const MAX_CODE_POINT = 0x10ffff;

export class CharTokenizer {
  private readonly codePoints: Int32Array;
  private readonly idOfCodePoint: Map<number, number>;
  /** The id unknown characters encode to, or undefined when they are an error. */
  readonly unkId: number | undefined;

  private constructor(sortedCodePoints: readonly number[], unkCodePoint: number | null) {
    this.codePoints = Int32Array.from(sortedCodePoints);
    this.idOfCodePoint = new Map(sortedCodePoints.map((cp, id) => [cp, id]));
    this.unkId = unkCodePoint === null ? undefined : this.idOfCodePoint.get(unkCodePoint);
  }

  /** The vocabulary is the sorted set of code points in `text` (plus `options.unk`, if given). */
  static fromText(text: string, options: CharTokenizerOptions = {}): CharTokenizer {
    if (typeof text !== 'string') throw new Error(`CharTokenizer.fromText: text must be a string, got ${describeValue(text)}`);
    const seen = new Set<number>();
    for (const ch of text) seen.add(ch.codePointAt(0)!);
    let unk: number | null = null;
    if (options.unk !== undefined) {
      unk = singleCodePoint(options.unk);
      if (unk === null) {
        throw new Error(`CharTokenizer.fromText: unk must be a single character, got ${describeValue(options.unk)}`);
      }
      seen.add(unk);
    }
    return new CharTokenizer([...seen].sort((a, b) => a - b), unk);
  }

  /** Builds a tokenizer from toJSON()'s output, validating it (it may come from an untrusted file). */
  static fromJSON(json: unknown): CharTokenizer {
    try {
      const obj = checkHeader(json, 'char', 1);
      const cps = obj.codePoints;
      if (!Array.isArray(cps)) throw new Error(`"codePoints" must be an array, got ${describeValue(cps)}`);
      if (cps.length > MAX_CODE_POINT + 1) throw new Error(`"codePoints" has ${cps.length} entries, more than there are code points`);
      for (let i = 0; i < cps.length; i++) {
        const cp: unknown = cps[i];
        if (typeof cp !== 'number' || !Number.isInteger(cp) || cp < 0 || cp > MAX_CODE_POINT) {
          throw new Error(`codePoints[${i}] is ${describeValue(cp)}, not a code point (an integer in [0, 0x10FFFF])`);
        }
        if (i > 0 && cp <= cps[i - 1]) throw new Error(`codePoints must be strictly increasing (codePoints[${i}] = ${cp})`);
      }
      const unk = obj.unk ?? null;
      if (unk !== null && (typeof unk !== 'number' || !cps.includes(unk))) {
        throw new Error(`"unk" must be null or one of codePoints, got ${describeValue(unk)}`);
      }
      return new CharTokenizer(cps as number[], unk as number | null);
    } catch (e) {
      throw new Error(`CharTokenizer.fromJSON: ${(e as Error).message}`);
    }
  }

  toJSON(): CharTokenizerJSON {
    const unk = this.unkId === undefined ? null : this.codePoints[this.unkId];
    return { type: 'char', version: 1, codePoints: Array.from(this.codePoints), unk };
  }

  get vocabSize(): number {
    return this.codePoints.length;
  }

  /** One id per code point of `text`. */
  encode(text: string): Int32Array {
    if (typeof text !== 'string') throw new Error(`CharTokenizer.encode: text must be a string, got ${describeValue(text)}`);
    const out = new Int32Array(text.length); // code points <= UTF-16 units
    let n = 0;
    let index = 0;
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      let id = this.idOfCodePoint.get(cp);
      if (id === undefined) {
        if (this.unkId === undefined) {
          throw new Error(
            `CharTokenizer.encode: character ${JSON.stringify(ch)} (${formatCodePoint(cp)}) at index ${index} ` +
              'is not in the vocabulary (build the tokenizer with { unk } to map unknown characters)',
          );
        }
        id = this.unkId;
      }
      out[n++] = id;
      index += ch.length;
    }
    return out.slice(0, n);
  }

  decode(ids: ArrayLike<number>): string {
    checkIds(ids, this.codePoints.length, 'CharTokenizer.decode');
    const parts: string[] = [];
    const batch = 4096; // String.fromCodePoint takes its code points as arguments
    for (let start = 0; start < ids.length; start += batch) {
      const cps: number[] = [];
      for (let i = start; i < Math.min(ids.length, start + batch); i++) cps.push(this.codePoints[ids[i]]);
      parts.push(String.fromCodePoint(...cps));
    }
    return parts.join('');
  }
}

/** 'U+0041', 'U+1F600'. */
export function formatCodePoint(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

function singleCodePoint(value: unknown): number | null {
  if (typeof value !== 'string' || value.length === 0) return null;
  const cp = value.codePointAt(0)!;
  return String.fromCodePoint(cp).length === value.length ? cp : null;
}
