// tensorforge.text: tokenizers turning text into token ids and back (pure TypeScript).
export { CharTokenizer, type CharTokenizerJSON, type CharTokenizerOptions } from './char';
export { ByteTokenizer, type ByteTokenizerJSON } from './byte';
export { BPETokenizer, MAX_BPE_FILE_BYTES, type BPETrainOptions } from './bpe';
export {
  MAX_MERGES,
  MAX_SPECIAL_TOKENS,
  MAX_SPECIAL_TOKEN_LENGTH,
  MAX_VOCAB_BYTES,
  type BPETokenizerJSON,
} from './bpe_format';
export { pretokenize, PRETOKENIZE_PATTERN } from './pretokenize';
