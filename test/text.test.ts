// Tokenizers (lib/text): character, byte and byte-level BPE. Round trips on ASCII, multi-byte UTF-8
// and emoji; BPE training against merges worked out by hand and against a naive reference trainer
// (recounting every pair at every step); encoding against GPT-2's rescanning loop; compression on a
// synthetic corpus and, when present, /usr/share/common-licenses; save/load; and hostile files.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BPETokenizer,
  ByteTokenizer,
  CharTokenizer,
  MAX_BPE_FILE_BYTES,
  MAX_MERGES,
  pretokenize,
} from '../lib/text';

const dir = mkdtempSync(join(tmpdir(), 'tf-text-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
const tmp = (): string => join(dir, `tok-${fileNo++}.json`);

const ASCII = 'Hello, world! The quick brown fox jumps over the lazy dog 1234567890.\n\tTabs  and  spaces.';
const MULTIBYTE = 'Grüße aus Köln, naïve café; Ελληνικά, русский, 中文字符, 日本語のテキスト, עברית.';
const EMOJI = 'Emoji: 😀 👍🏽 👨‍👩‍👧‍👦 🇫🇷 and math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟘𝟙𝟚.';
const SAMPLES = [ASCII, MULTIBYTE, EMOJI, '', ' ', '\uFEFFstarts with a BOM'];

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
function rng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** About `chars` characters of word-like text with Zipf-ish word frequencies. */
function syntheticCorpus(chars: number, seed = 1): string {
  const rand = rng(seed);
  const syllables = ['ka', 'to', 'ri', 'en', 'sa', 'mo', 'lu', 'the', 'ing', 'er', 'qu', 'ä', 'ö', '中'];
  const vocab: string[] = [];
  for (let i = 0; i < 400; i++) {
    let word = '';
    const n = 1 + Math.floor(rand() * 4);
    for (let j = 0; j < n; j++) word += syllables[Math.floor(rand() * syllables.length)];
    vocab.push(word);
  }
  const parts: string[] = [];
  let length = 0;
  while (length < chars) {
    const word = vocab[Math.floor(vocab.length * rand() * rand())];
    const r = rand();
    const piece = word + (r < 0.08 ? '.\n' : r < 0.12 ? ', ' : r < 0.14 ? ` ${Math.floor(rand() * 100)} ` : ' ');
    parts.push(piece);
    length += piece.length;
  }
  return parts.join('');
}

const utf8 = (s: string): number[] => Array.from(new TextEncoder().encode(s));

// ---------------------------------------------------------------------------------------------
// Reference implementations: slow and obvious.

/** BPE training by recounting every pair at every step. */
function naiveTrain(text: string, numMerges: number, minFrequency: number): Array<[number, number]> {
  const counts = new Map<string, number>();
  for (const chunk of pretokenize(text)) counts.set(chunk, (counts.get(chunk) ?? 0) + 1);
  const words = [...counts.keys()].map(utf8);
  const freq = [...counts.values()];
  const merges: Array<[number, number]> = [];
  while (merges.length < numMerges) {
    const pairs = new Map<string, number>();
    words.forEach((w, k) => {
      for (let i = 0; i + 1 < w.length; i++) pairs.set(`${w[i]},${w[i + 1]}`, (pairs.get(`${w[i]},${w[i + 1]}`) ?? 0) + freq[k]);
    });
    let best: [number, number] | null = null;
    let bestCount = 0;
    for (const [key, count] of pairs) {
      const [a, b] = key.split(',').map(Number);
      if (count > bestCount || (count === bestCount && best !== null && (a < best[0] || (a === best[0] && b < best[1])))) {
        best = [a, b];
        bestCount = count;
      }
    }
    if (best === null || bestCount < minFrequency) break;
    const id = 256 + merges.length;
    merges.push(best);
    for (let k = 0; k < words.length; k++) words[k] = mergeAll(words[k], best, id);
  }
  return merges;
}

function mergeAll(word: number[], [a, b]: [number, number], id: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < word.length; ) {
    if (word[i] === a && word[i + 1] === b && i + 1 < word.length) {
      out.push(id);
      i += 2;
    } else {
      out.push(word[i++]);
    }
  }
  return out;
}

/** GPT-2's encoder: merge the lowest-rank adjacent pair everywhere, rescan, repeat. */
function naiveEncode(text: string, merges: Array<[number, number]>): number[] {
  const rank = new Map(merges.map(([a, b], r) => [`${a},${b}`, r]));
  const out: number[] = [];
  for (const chunk of pretokenize(text)) {
    let word = utf8(chunk);
    for (;;) {
      let bestRank = Infinity;
      for (let i = 0; i + 1 < word.length; i++) bestRank = Math.min(bestRank, rank.get(`${word[i]},${word[i + 1]}`) ?? Infinity);
      if (bestRank === Infinity) break;
      word = mergeAll(word, merges[bestRank], 256 + bestRank);
    }
    out.push(...word);
  }
  return out;
}

/** A random string over a small alphabet (so pairs repeat and overlap: "aaaa", "abab"). */
function randomText(rand: () => number, length: number, alphabet = ['a', 'b', 'a', 'c', ' ', 'é', '😀', '1', '.']): string {
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

// ---------------------------------------------------------------------------------------------

describe('CharTokenizer', () => {
  it('builds its vocabulary from the sorted code points of the text', () => {
    const tok = CharTokenizer.fromText('banana😀');
    expect(tok.vocabSize).toBe(4);
    expect(tok.toJSON().codePoints).toEqual([0x61, 0x62, 0x6e, 0x1f600]);
    expect(Array.from(tok.encode('nab😀'))).toEqual([2, 0, 1, 3]);
  });

  it('treats an astral character as one token', () => {
    const tok = CharTokenizer.fromText('a😀b𝔘');
    expect(tok.vocabSize).toBe(4);
    expect(tok.encode('😀😀𝔘').length).toBe(3);
  });

  it('round-trips ASCII, multi-byte UTF-8 and emoji', () => {
    const tok = CharTokenizer.fromText(SAMPLES.join(''));
    for (const s of SAMPLES) {
      const ids = tok.encode(s);
      expect(ids).toBeInstanceOf(Int32Array);
      expect(ids.length).toBe([...s].length);
      expect(tok.decode(ids)).toBe(s);
    }
    const long = ASCII.repeat(2000); // decode batches String.fromCodePoint
    expect(tok.decode(tok.encode(long))).toBe(long);
  });

  it('throws on an unknown character, naming it and its code point', () => {
    const tok = CharTokenizer.fromText('abc');
    expect(() => tok.encode('ab😀')).toThrow(/"😀" \(U\+1F600\) at index 2/);
    expect(() => tok.encode('x')).toThrow(/"x" \(U\+0078\)/);
    expect(() => tok.encode('\n')).toThrow(/"\\n" \(U\+000A\)/);
  });

  it('maps unknown characters to unk when built with one', () => {
    const tok = CharTokenizer.fromText('abc', { unk: '\uFFFD' });
    expect(tok.vocabSize).toBe(4);
    expect(tok.unkId).toBe(3);
    expect(Array.from(tok.encode('axé😀'))).toEqual([0, 3, 3, 3]);
    expect(tok.decode(tok.encode('a😀c'))).toBe('a\uFFFDc');
    // unk already in the text: no extra token
    expect(CharTokenizer.fromText('ab?', { unk: '?' }).vocabSize).toBe(3);
    expect(() => CharTokenizer.fromText('abc', { unk: 'ab' })).toThrow(/single character/);
    expect(() => CharTokenizer.fromText('abc', { unk: '' })).toThrow(/single character/);
    expect(CharTokenizer.fromText('abc', { unk: '😀' }).vocabSize).toBe(4);
  });

  it('rejects invalid ids in decode, naming the id', () => {
    const tok = CharTokenizer.fromText('abc');
    expect(() => tok.decode([0, 3])).toThrow(/id 3 at position 1 is not an integer in \[0, 3\)/);
    expect(() => tok.decode([-1])).toThrow(/id -1 at position 0/);
    expect(() => tok.decode([1.5])).toThrow(/id 1.5/);
    expect(() => tok.decode([NaN])).toThrow(/id NaN/);
    expect(() => tok.decode(['1' as unknown as number])).toThrow(/id "1"/);
    expect(() => tok.decode(null as unknown as number[])).toThrow(/ids must be an array/);
    expect(tok.decode(new Int32Array([2, 1, 0]))).toBe('cba');
    expect(tok.decode([])).toBe('');
  });

  it('survives toJSON/fromJSON through JSON text', () => {
    for (const tok of [CharTokenizer.fromText(SAMPLES.join('')), CharTokenizer.fromText('xyz', { unk: '?' })]) {
      const back = CharTokenizer.fromJSON(JSON.parse(JSON.stringify(tok)));
      expect(back.toJSON()).toEqual(tok.toJSON());
      expect(back.unkId).toBe(tok.unkId);
      expect(back.decode(back.encode('zyx'))).toBe('zyx');
    }
  });

  it('rejects malformed JSON objects', () => {
    const ok = { type: 'char', version: 1, codePoints: [97, 98], unk: null };
    expect(() => CharTokenizer.fromJSON(ok)).not.toThrow();
    const bad: Array<[unknown, RegExp]> = [
      [null, /expected a JSON object/],
      [[], /expected a JSON object/],
      [{ ...ok, type: 'bpe' }, /"type" must be "char"/],
      [{ ...ok, version: 2 }, /unsupported "version"/],
      [{ ...ok, codePoints: 'ab' }, /"codePoints" must be an array/],
      [{ ...ok, codePoints: [98, 97] }, /strictly increasing/],
      [{ ...ok, codePoints: [97, 97] }, /strictly increasing/],
      [{ ...ok, codePoints: [97, 0x110000] }, /codePoints\[1\].*not a code point/],
      [{ ...ok, codePoints: [-1] }, /not a code point/],
      [{ ...ok, codePoints: [1.5] }, /not a code point/],
      [{ ...ok, unk: 99 }, /"unk" must be null or one of codePoints/],
      [{ ...ok, unk: '?' }, /"unk"/],
    ];
    for (const [json, message] of bad) expect(() => CharTokenizer.fromJSON(json), JSON.stringify(json)).toThrow(message);
    expect(() => CharTokenizer.fromJSON(null)).toThrow(/^CharTokenizer.fromJSON: /);
  });
});

describe('ByteTokenizer', () => {
  const tok = new ByteTokenizer();

  it('encodes UTF-8 bytes and round-trips ASCII, multi-byte UTF-8 and emoji', () => {
    expect(tok.vocabSize).toBe(256);
    expect(Array.from(tok.encode('aé😀'))).toEqual([0x61, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80]);
    for (const s of SAMPLES) {
      const ids = tok.encode(s);
      expect(ids).toBeInstanceOf(Int32Array);
      expect(ids.length).toBe(Buffer.byteLength(s));
      expect(tok.decode(ids)).toBe(s);
    }
  });

  it('replaces invalid UTF-8 with U+FFFD', () => {
    expect(tok.decode([0xff])).toBe('\uFFFD');
    expect(tok.decode([0x61, 0xe2, 0x82])).toBe('a\uFFFD'); // truncated 3-byte sequence
    expect(tok.decode(tok.encode('😀').slice(0, 2))).toBe('\uFFFD');
    expect(tok.decode(tok.encode('\uD800'))).toBe('\uFFFD'); // lone surrogate encodes as U+FFFD
  });

  it('rejects invalid ids', () => {
    expect(() => tok.decode([256])).toThrow(/ByteTokenizer.decode: id 256 at position 0 is not an integer in \[0, 256\)/);
    expect(() => tok.decode([1, -1])).toThrow(/id -1 at position 1/);
    expect(() => tok.decode([0.5])).toThrow(/id 0.5/);
  });

  it('has a JSON form', () => {
    expect(ByteTokenizer.fromJSON(JSON.parse(JSON.stringify(tok))).vocabSize).toBe(256);
    expect(() => ByteTokenizer.fromJSON({ type: 'char', version: 1 })).toThrow(/"type" must be "byte"/);
  });
});

describe('pretokenize', () => {
  it('splits letters (with a leading space), digits, other symbols and whitespace', () => {
    expect(pretokenize("Hello, world!  It's 2024.\n")).toEqual([
      'Hello', ',', ' world', '!', ' ', ' It', "'", 's', ' ', '2024', '.', '\n',
    ]);
    expect(pretokenize('naïve café 中文 😀😀 x')).toEqual(['naïve', ' café', ' 中文', ' ', '😀😀', ' x']);
    expect(pretokenize('e\u0301t\u00e9')).toEqual(['e\u0301t\u00e9']); // combining marks stay in the word
    expect(pretokenize('a   \n\n  b')).toEqual(['a', '   \n\n ', ' b']);
    expect(pretokenize('')).toEqual([]);
  });

  it('tiles the text: the chunks join back to it, lone surrogates included', () => {
    const rand = rng(3);
    const alphabet = ['a', 'Z', ' ', '  ', '\n', '\t', '7', '.', '!?', 'é', 'e\u0301', '中', '😀', '\uD800', '\uDC00', '\u00A0', '\u2028'];
    for (let trial = 0; trial < 200; trial++) {
      const s = randomText(rand, Math.floor(rand() * 40), alphabet);
      expect(pretokenize(s).join('')).toBe(s);
    }
  });
});

describe('BPETokenizer training', () => {
  it('learns the merges worked out by hand for "aaabdaaabac"', () => {
    // Pairs: aa 4, ab 2, bd da ba ac 1 -> merge (a,a) = 256: [256 a b d 256 a b a c]
    // Pairs: (256,a) 2, (a,b) 2 -> tie, smallest ids: (97,98) = 257: [256 257 d 256 257 a c]
    // Pairs: (256,257) 2 -> 258: [258 d 258 a c]; every pair now occurs once < minFrequency 2.
    const tok = BPETokenizer.train('aaabdaaabac', { vocabSize: 1000 });
    expect(tok.toJSON().merges).toEqual([
      [97, 97],
      [97, 98],
      [256, 257],
    ]);
    expect(tok.vocabSize).toBe(259);
    expect(Array.from(tok.encode('aaabdaaabac'))).toEqual([258, 100, 258, 97, 99]);
    expect(new TextDecoder().decode(tok.idToBytes(258))).toBe('aaab');
    // vocabSize stops it early; minFrequency 1 goes further.
    expect(BPETokenizer.train('aaabdaaabac', { vocabSize: 257 }).toJSON().merges).toEqual([[97, 97]]);
    expect(BPETokenizer.train('aaabdaaabac', { vocabSize: 256 }).vocabSize).toBe(256);
    expect(BPETokenizer.train('aaabdaaabac', { vocabSize: 1000, minFrequency: 1 }).toJSON().merges).toEqual([
      [97, 97],
      [97, 98],
      [256, 257],
      // Then every pair occurs once; the smallest goes first: [258 d 258 a c] -> (a,c) = 259,
      // [258 d 258 259] -> (d,258) = 260, [258 260 259] -> (258,260) = 261, [261 259] -> 262.
      [97, 99],
      [100, 258],
      [258, 260],
      [261, 259],
    ]);
    // minFrequency 3: only "aa" (4) qualifies.
    expect(BPETokenizer.train('aaabdaaabac', { vocabSize: 1000, minFrequency: 3 }).toJSON().merges).toEqual([[97, 97]]);
  });

  it('never merges across chunk boundaries', () => {
    // Chunks "ab", " ab", " ab": (a,b) 3, (' ',a) 2, then (' ', ab) 2. No (b,' ').
    const tok = BPETokenizer.train('ab ab ab', { vocabSize: 1000 });
    expect(tok.toJSON().merges).toEqual([
      [97, 98],
      [32, 256],
    ]);
    const merges = BPETokenizer.train(syntheticCorpus(20_000), { vocabSize: 600 }).toJSON().merges;
    const bytesOf = (id: number): number[] => (id < 256 ? [id] : [...bytesOf(merges[id - 256][0]), ...bytesOf(merges[id - 256][1])]);
    for (let id = 256; id < 256 + merges.length; id++) {
      const text = new TextDecoder().decode(Uint8Array.from(bytesOf(id)));
      if (!text.includes('\uFFFD')) expect(pretokenize(text), `token ${JSON.stringify(text)}`).toHaveLength(1);
    }
  });

  it('learns the same merges as a trainer that recounts everything at each step', () => {
    const rand = rng(11);
    for (let trial = 0; trial < 12; trial++) {
      const text = randomText(rand, 50 + Math.floor(rand() * 400));
      const minFrequency = 1 + Math.floor(rand() * 3);
      const numMerges = 1 + Math.floor(rand() * 60);
      const tok = BPETokenizer.train(text, { vocabSize: 256 + numMerges, minFrequency });
      expect(tok.toJSON().merges, `trial ${trial}`).toEqual(naiveTrain(text, numMerges, minFrequency));
    }
    const text = syntheticCorpus(5_000, 5);
    expect(BPETokenizer.train(text, { vocabSize: 400 }).toJSON().merges).toEqual(naiveTrain(text, 144, 2));
  });

  it('is deterministic across runs', () => {
    const text = syntheticCorpus(30_000, 2);
    const a = BPETokenizer.train(text, { vocabSize: 700, specialTokens: ['<|eot|>'] });
    const b = BPETokenizer.train(text, { vocabSize: 700, specialTokens: ['<|eot|>'] });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  it('validates its options', () => {
    expect(() => BPETokenizer.train('abc', { vocabSize: 255 })).toThrow(/vocabSize must be an integer in \[256, /);
    expect(() => BPETokenizer.train('abc', { vocabSize: 256, specialTokens: ['<s>'] })).toThrow(/\[257, /);
    expect(() => BPETokenizer.train('abc', { vocabSize: 300.5 })).toThrow(/vocabSize/);
    expect(() => BPETokenizer.train('abc', { vocabSize: 256 + MAX_MERGES + 1 })).toThrow(/vocabSize/);
    expect(() => BPETokenizer.train('abc', { vocabSize: 300, minFrequency: 0 })).toThrow(/minFrequency/);
    expect(() => BPETokenizer.train('abc', { vocabSize: 300, specialTokens: ['<s>', '<s>'] })).toThrow(/given twice/);
    expect(() => BPETokenizer.train('abc', { vocabSize: 300, specialTokens: [''] })).toThrow(/non-empty string/);
    expect(() => BPETokenizer.train(42 as unknown as string, { vocabSize: 300 })).toThrow(/text must be a string/);
  });
});

describe('BPETokenizer encoding', () => {
  const corpus = syntheticCorpus(60_000, 4);
  const tok = BPETokenizer.train(corpus, { vocabSize: 800 });

  it('round-trips ASCII, multi-byte UTF-8 and emoji, seen in training or not', () => {
    const withText = BPETokenizer.train(SAMPLES.join('\n').repeat(3), { vocabSize: 400 });
    for (const t of [tok, withText]) {
      for (const s of [...SAMPLES, corpus.slice(0, 5000)]) {
        const ids = t.encode(s);
        expect(ids).toBeInstanceOf(Int32Array);
        expect(t.decode(ids)).toBe(s);
      }
    }
    expect(withText.encode(EMOJI).length).toBeLessThan(Buffer.byteLength(EMOJI));
  });

  it('matches GPT-2-style rescanning merge application', () => {
    const rand = rng(21);
    for (let trial = 0; trial < 10; trial++) {
      const train = randomText(rand, 300);
      const t = BPETokenizer.train(train, { vocabSize: 256 + 40, minFrequency: 1 });
      const { merges } = t.toJSON();
      for (const text of [train, randomText(rand, 200)]) expect(Array.from(t.encode(text))).toEqual(naiveEncode(text, merges));
    }
    const sample = corpus.slice(10_000, 14_000);
    expect(Array.from(tok.encode(sample))).toEqual(naiveEncode(sample, tok.toJSON().merges));
    // The cache gives the same answer the second time.
    expect(Array.from(tok.encode(sample))).toEqual(naiveEncode(sample, tok.toJSON().merges));
  });

  it('compresses a synthetic corpus well below one token per byte', () => {
    const bytes = Buffer.byteLength(corpus);
    const ids = tok.encode(corpus);
    expect(ids.length).toBeLessThan(0.45 * bytes);
    expect(tok.decode(ids)).toBe(corpus);
    // Held-out text from the same distribution compresses too.
    const heldOut = syntheticCorpus(10_000, 99);
    expect(tok.encode(heldOut).length).toBeLessThan(0.5 * Buffer.byteLength(heldOut));
  });

  const licenses = '/usr/share/common-licenses';
  it.skipIf(!existsSync(licenses))('compresses real English (/usr/share/common-licenses)', () => {
    const files = readdirSync(licenses)
      .sort()
      .map((name) => join(licenses, name))
      .filter((path) => lstatSync(path).isFile()); // skip the GPL -> GPL-3 style links
    const text = files.map((path) => readFileSync(path, 'utf8')).join('\n');
    if (text.length < 10_000) return; // too little to say anything
    const english = BPETokenizer.train(text, { vocabSize: 256 + 1000 });
    const ids = english.encode(text);
    expect(ids.length).toBeLessThan(0.4 * Buffer.byteLength(text));
    expect(english.decode(ids)).toBe(text);
  });

  it('handles a long chunk without quadratic cost', () => {
    const t = BPETokenizer.train('aaaaaaaa bbbb', { vocabSize: 300, minFrequency: 1 }); // aa, aaaa, aaaaaaaa, bb, bbbb, ...
    const long = 'a'.repeat(200_000) + 'b'.repeat(3);
    const ids = t.encode(long);
    expect(ids.length).toBe(200_000 / 8 + 2);
    expect(t.decode(ids)).toBe(long);
  });

  it('rejects invalid ids in decode and idToBytes', () => {
    expect(() => tok.decode([0, tok.vocabSize])).toThrow(new RegExp(`id ${tok.vocabSize} at position 1 is not an integer in \\[0, ${tok.vocabSize}\\)`));
    expect(() => tok.decode([-1])).toThrow(/BPETokenizer.decode: id -1/);
    expect(() => tok.decode([2.5])).toThrow(/id 2.5/);
    expect(() => tok.decode([Infinity])).toThrow(/id Infinity/);
    expect(() => tok.idToBytes(tok.vocabSize)).toThrow(/BPETokenizer.idToBytes: id/);
    expect(Array.from(tok.idToBytes(65))).toEqual([65]);
    // idToBytes returns a copy
    const bytes = tok.idToBytes(300);
    bytes.fill(0);
    expect(tok.idToBytes(300)).not.toEqual(bytes);
  });

  it('decodes a multi-byte character split across tokens, and cut ones to U+FFFD', () => {
    const t = BPETokenizer.train('', { vocabSize: 300 });
    const ids = t.encode('😀');
    expect(ids.length).toBe(4);
    expect(t.decode(ids)).toBe('😀');
    expect(t.decode(ids.slice(0, 3))).toBe('\uFFFD');
  });
});

describe('BPETokenizer special tokens', () => {
  const EOT = '<|endoftext|>';
  const corpus = `the cat sat${EOT}the cat ran${EOT}`.repeat(20);
  const tok = BPETokenizer.train(corpus, { vocabSize: 1000, specialTokens: [EOT, '<|pad|>'] });
  const eot = 256 + tok.numMerges;

  it('get the ids after the merges and are never split or trained on', () => {
    expect(tok.numMerges).toBeGreaterThan(5);
    expect(tok.vocabSize).toBe(eot + 2);
    expect(tok.specialTokens).toEqual(new Map([[EOT, eot], ['<|pad|>', eot + 1]]));
    expect(BPETokenizer.train(corpus, { vocabSize: 260, specialTokens: [EOT, '<|pad|>'] }).vocabSize).toBe(260);
    // No merge contains the bytes of "<|" or "|>": special text is not training data.
    const lt = '<'.charCodeAt(0);
    for (const [a, b] of tok.toJSON().merges) expect([a, b]).not.toContain(lt);
    const ids = Array.from(tok.encode(`the cat${EOT}<|pad|><|pad|>x`));
    expect(ids.slice(-4)).toEqual([eot, eot + 1, eot + 1, 'x'.charCodeAt(0)]);
    expect(tok.decode(ids)).toBe(`the cat${EOT}<|pad|><|pad|>x`);
    expect(new TextDecoder().decode(tok.idToBytes(eot))).toBe(EOT);
  });

  it('encodeOrdinary treats them as plain text', () => {
    const ids = Array.from(tok.encodeOrdinary(`a${EOT}b`));
    expect(ids).not.toContain(eot);
    expect(tok.decode(ids)).toBe(`a${EOT}b`);
  });

  it('match the longest special token first, regex characters included', () => {
    const t = BPETokenizer.train('', { vocabSize: 259, specialTokens: ['[a]', '[a][b]', '.*'] });
    expect(Array.from(t.encode('[a][b][a].*x'))).toEqual([257, 256, 258, 'x'.charCodeAt(0)]);
    expect(Array.from(t.encode('ab'))).toEqual([97, 98]); // '.*' is literal, not a pattern
  });

  it('survive save/load', () => {
    const path = tmp();
    tok.save(path);
    const back = BPETokenizer.load(path);
    expect(back.specialTokens).toEqual(tok.specialTokens);
    expect(Array.from(back.encode(corpus))).toEqual(Array.from(tok.encode(corpus)));
  });
});

describe('BPETokenizer save/load', () => {
  const tok = BPETokenizer.train(syntheticCorpus(20_000, 8), { vocabSize: 600, specialTokens: ['<s>'] });

  it('round-trips through a file in the documented format', () => {
    const path = tmp();
    tok.save(path);
    const json = JSON.parse(readFileSync(path, 'utf8'));
    expect(json.type).toBe('bpe');
    expect(json.version).toBe(1);
    expect(json.merges).toHaveLength(599 - 256);
    expect(json.specialTokens).toEqual({ '<s>': 599 });
    const back = BPETokenizer.load(path);
    expect(back.toJSON()).toEqual(tok.toJSON());
    expect(back.vocabSize).toBe(tok.vocabSize);
    for (const s of SAMPLES) expect(Array.from(back.encode(s))).toEqual(Array.from(tok.encode(s)));
    expect(BPETokenizer.fromJSON(JSON.parse(JSON.stringify(tok))).toJSON()).toEqual(tok.toJSON());
    // Saving over an existing file replaces it and leaves no temporary files behind.
    tok.save(path);
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  const good = { type: 'bpe', version: 1, merges: [[97, 98], [256, 99]], specialTokens: { '<s>': 258 } };
  const hostile: Array<[string, unknown, RegExp]> = [
    ['not an object', [1, 2], /expected a JSON object/],
    ['null', null, /expected a JSON object/],
    ['wrong type', { ...good, type: 'char' }, /"type" must be "bpe"/],
    ['missing version', { ...good, version: undefined }, /unsupported "version"/],
    ['future version', { ...good, version: 2 }, /unsupported "version" the number 2/],
    ['merges not an array', { ...good, merges: { 0: [97, 98] } }, /"merges" must be an array/],
    ['merge not a pair', { ...good, merges: [[97, 98, 99]] }, /merges\[0\] must be a pair/],
    ['merge is a string', { ...good, merges: ['a b'] }, /merges\[0\] must be a pair/],
    ['id a string', { ...good, merges: [['97', 98]] }, /merges\[0\] contains the string "97"/],
    ['id fractional', { ...good, merges: [[97, 98.5]] }, /merges\[0\] contains the number 98.5/],
    ['id negative', { ...good, merges: [[-1, 98]] }, /merges\[0\] contains the number -1/],
    ['id out of range', { ...good, merges: [[97, 98], [97, 1e9]] }, /merges\[1\] uses id 1000000000, which is not defined before it/],
    ['self reference', { ...good, merges: [[256, 97]] }, /merges\[0\] uses id 256.*only use ids 0..255/],
    ['future reference', { ...good, merges: [[97, 98], [258, 97], [97, 99]] }, /merges\[1\] uses id 258/],
    ['repeated merge', { ...good, merges: [[97, 98], [97, 98]] }, /merges\[1\] repeats the pair \[97, 98\] of merges\[0\]/],
    ['specials not an object', { ...good, specialTokens: ['<s>'] }, /"specialTokens" must be an object/],
    ['special id a string', { ...good, specialTokens: { '<s>': '258' } }, /special token "<s>" has id the string "258"/],
    ['special id clashes with a merge', { ...good, specialTokens: { '<s>': 257 } }, /ids must be 258..258/],
    ['special ids with a gap', { ...good, specialTokens: { '<s>': 258, '</s>': 260 } }, /ids must be 258..259/],
    ['special ids repeated', { ...good, specialTokens: { '<s>': 258, '</s>': 258 } }, /have the same id 258/],
    ['empty special token', { ...good, specialTokens: { '': 258 } }, /non-empty string/],
    ['huge special token', { ...good, specialTokens: { ['x'.repeat(5000)]: 258 } }, /longer than/],
    ['too many merges', { ...good, merges: new Array(MAX_MERGES + 1).fill([97, 98]) }, /"merges" has 1000001 entries, more than the limit 1000000/],
    [
      'tokens that double in size at every merge',
      { ...good, merges: [[97, 97], ...Array.from({ length: 40 }, (_, i) => [256 + i, 256 + i])] },
      /bytes in all \(limit\)/,
    ],
  ];

  it('fromJSON rejects hostile objects with clear errors', () => {
    expect(() => BPETokenizer.fromJSON(good)).not.toThrow();
    for (const [what, json, message] of hostile) {
      expect(() => BPETokenizer.fromJSON(json), what).toThrow(message);
      expect(() => BPETokenizer.fromJSON(json), what).toThrow(/^BPETokenizer.fromJSON: /);
    }
  });

  it('load rejects hostile files, naming the file and the problem', () => {
    for (const [what, json, message] of hostile) {
      const path = tmp();
      writeFileSync(path, JSON.stringify(json));
      let error: Error | undefined;
      try {
        BPETokenizer.load(path);
      } catch (e) {
        error = e as Error;
      }
      expect(error, what).toBeInstanceOf(Error);
      expect(error!.message, what).toMatch(message);
      expect(error!.message, what).toContain(`BPETokenizer.load: ${path}: `);
    }
  });

  it('load rejects files that are not JSON, too big, missing or not files', () => {
    const notJson = tmp();
    writeFileSync(notJson, '{"type": "bpe", "version": 1, "merges": [[97, 98]');
    expect(() => BPETokenizer.load(notJson)).toThrow(new RegExp(`${notJson}: not valid JSON`));
    const binary = tmp();
    writeFileSync(binary, Uint8Array.from([0xff, 0xfe, 0x00, 0x01]));
    expect(() => BPETokenizer.load(binary)).toThrow(/not valid JSON/);
    const deep = tmp();
    writeFileSync(deep, '['.repeat(100_000) + ']'.repeat(100_000));
    expect(() => BPETokenizer.load(deep)).toThrow(/BPETokenizer.load: .*: /);
    const big = tmp();
    writeFileSync(big, JSON.stringify(good));
    truncateSync(big, MAX_BPE_FILE_BYTES + 1); // sparse: cheap to make
    expect(() => BPETokenizer.load(big)).toThrow(new RegExp(`${big}: ${MAX_BPE_FILE_BYTES + 1} bytes, more than the limit`));
    expect(() => BPETokenizer.load(join(dir, 'missing.json'))).toThrow(/missing.json: ENOENT/);
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    expect(() => BPETokenizer.load(sub)).toThrow(/a-directory: not a regular file/);
  });
});
