// Byte-level tokenizer: the UTF-8 bytes of the text are the tokens (vocabulary 256). It needs no
// training and can encode any string; it is the base alphabet that BPETokenizer merges on top of.
// decode() replaces invalid UTF-8 (e.g. a sequence cut in half) with U+FFFD rather than throwing.
import { checkIds } from './ids';
import { checkHeader, describeValue } from './json_checks';
import { utf8Decode, utf8Encode } from './utf8';

export interface ByteTokenizerJSON {
  type: 'byte';
  version: 1;
}

export class ByteTokenizer {
  readonly vocabSize = 256;

  static fromJSON(json: unknown): ByteTokenizer {
    try {
      checkHeader(json, 'byte', 1);
    } catch (e) {
      throw new Error(`ByteTokenizer.fromJSON: ${(e as Error).message}`);
    }
    return new ByteTokenizer();
  }

  toJSON(): ByteTokenizerJSON {
    return { type: 'byte', version: 1 };
  }

  /** The UTF-8 bytes of `text`, one id each (lone surrogates become U+FFFD's three bytes). */
  encode(text: string): Int32Array {
    if (typeof text !== 'string') throw new Error(`ByteTokenizer.encode: text must be a string, got ${describeValue(text)}`);
    return Int32Array.from(utf8Encode(text));
  }

  decode(ids: ArrayLike<number>): string {
    checkIds(ids, 256, 'ByteTokenizer.decode');
    return utf8Decode(Uint8Array.from(ids));
  }
}
