// Pre-tokenization for byte-level BPE: the text is cut into chunks and merges never cross a chunk
// boundary, so tokens stay inside words, numbers or punctuation runs (as in GPT-2). The pattern:
//
//     / ?[\p{L}\p{M}]+|\p{N}+|[^\s\p{L}\p{M}\p{N}]+|\s+(?!\S)|\s+/gu
//
//   ` ?[\p{L}\p{M}]+`          a run of letters (with combining marks), with an optional leading space
//   `\p{N}+`                   a run of digits (and other numeric characters)
//   `[^\s\p{L}\p{M}\p{N}]+`    a run of other non-space characters (punctuation, symbols, emoji)
//   `\s+(?!\S)|\s+`            a run of whitespace; before a word its last space is left to the word
//                              (GPT-2's trick), so "a  b" is "a", " ", " b"
//
// Every code point falls in exactly one class, so the chunks tile the text: joined they give it back.

export const PRETOKENIZE_PATTERN = / ?[\p{L}\p{M}]+|\p{N}+|[^\s\p{L}\p{M}\p{N}]+|\s+(?!\S)|\s+/gu;

/** The chunks of `text`, in order; `chunks.join('') === text`. */
export function pretokenize(text: string): string[] {
  return text.match(new RegExp(PRETOKENIZE_PATTERN)) ?? [];
}
