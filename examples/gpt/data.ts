// The corpus for the GPT example: text files read whole (by default the licence texts every Debian
// machine has under /usr/share/common-licenses), a character tokenizer over them, a 90/10 split, and
// random [B, T + 1] windows cut into inputs and next-token targets.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from 'tensorforge';

export const DEFAULT_CORPUS = '/usr/share/common-licenses';

/** Text of a file, or of every regular file in a folder (sorted; symlinks skipped, they repeat files). */
export function readCorpus(source: string = DEFAULT_CORPUS): string {
  if (!fs.existsSync(source)) throw new Error(`GPT example: corpus ${source} does not exist (name a text file or a folder of them)`);
  if (fs.statSync(source).isFile()) return fs.readFileSync(source, 'utf8');
  const files = fs.readdirSync(source).sort().map((f) => path.join(source, f)).filter((f) => fs.lstatSync(f).isFile());
  if (files.length === 0) throw new Error(`GPT example: no regular files in ${source}`);
  return files.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
}

/** Entropy in nats of the corpus's character frequencies: the loss of the best context-free model. */
export function unigramEntropy(ids: Int32Array, vocabSize: number): number {
  const counts = new Float64Array(vocabSize);
  for (const id of ids) counts[id]++;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / ids.length) * Math.log(c / ids.length);
  return h;
}

export class TokenStream {
  constructor(readonly ids: Int32Array) {}
  /** Every non-overlapping window of context + 1 tokens in order, as [x, y] batches (the last may be smaller). */
  *windows(batch: number, context: number): Generator<[tf.Tensor, tf.Tensor]> {
    const count = Math.floor((this.ids.length - 1) / context);
    for (let w0 = 0; w0 < count; w0 += batch) {
      const n = Math.min(batch, count - w0);
      const x = new Int32Array(n * context), y = new Int32Array(n * context);
      for (let b = 0; b < n; b++) {
        const s = (w0 + b) * context;
        x.set(this.ids.subarray(s, s + context), b * context);
        y.set(this.ids.subarray(s + 1, s + context + 1), b * context);
      }
      yield [tf.tensor(x, { shape: [n, context] }), tf.tensor(y, { shape: [n, context] })];
    }
  }

  /** x, y: [batch, context] int32, y shifted by one token; window starts drawn from tf's generator. */
  batch(batch: number, context: number): [tf.Tensor, tf.Tensor] {
    const span = this.ids.length - context - 1;
    if (span < 1) throw new Error(`GPT example: ${this.ids.length} tokens are too few for a context of ${context}`);
    const starts = tf.tidy(() => tf.randint(0, span, [batch]).dataSync() as Int32Array);
    const x = new Int32Array(batch * context), y = new Int32Array(batch * context);
    for (let b = 0; b < batch; b++) {
      x.set(this.ids.subarray(starts[b], starts[b] + context), b * context);
      y.set(this.ids.subarray(starts[b] + 1, starts[b] + context + 1), b * context);
    }
    return [tf.tensor(x, { shape: [batch, context] }), tf.tensor(y, { shape: [batch, context] })];
  }
}

export interface Corpus {
  tokenizer: tf.text.CharTokenizer;
  train: TokenStream;
  val: TokenStream;
  unigramEntropy: number;
}

export function loadCorpus(source?: string): Corpus {
  const text = readCorpus(source);
  const tokenizer = tf.text.CharTokenizer.fromText(text);
  const ids = tokenizer.encode(text);
  const cut = Math.floor(ids.length * 0.9);
  return {
    tokenizer,
    train: new TokenStream(ids.subarray(0, cut)),
    val: new TokenStream(ids.subarray(cut)),
    unigramEntropy: unigramEntropy(ids, tokenizer.vocabSize),
  };
}
