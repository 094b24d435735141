// UTF-8 conversion shared by the byte-level tokenizers. Decoding never throws: invalid sequences
// (e.g. a multi-byte character cut between two decode calls) become U+FFFD, and a leading BOM is
// kept as U+FEFF rather than dropped (TextDecoder's default) so that decode(encode(s)) === s.
// Encoding follows TextEncoder: a lone UTF-16 surrogate in the input becomes U+FFFD (EF BF BD).

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

export function utf8Decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
