// A GPT: token and learned position embeddings, nLayer pre-norm Transformer blocks with causal
// self-attention and a GELU MLP (nn.TransformerEncoderLayer with normFirst), a final LayerNorm and
// an output head tied to the token embedding.
//   idx [B, T] int32 -> logits [B, T, vocabSize]
import * as tf from 'tensorforge';

export interface GPTConfig {
  vocabSize: number;
  contextLength: number;
  nLayer: number;
  nHead: number;
  dModel: number;
  dropout: number;
}

export class GPT extends tf.nn.Module {
  tokEmb: tf.nn.Embedding;
  posEmb: tf.nn.Embedding;
  drop: tf.nn.Dropout;
  blocks: tf.nn.TransformerEncoderLayer[];
  lnF: tf.nn.LayerNorm;

  constructor(readonly config: GPTConfig) {
    super();
    const { vocabSize, contextLength, nLayer, nHead, dModel, dropout } = config;
    this.tokEmb = new tf.nn.Embedding(vocabSize, dModel);
    this.posEmb = new tf.nn.Embedding(contextLength, dModel);
    this.drop = new tf.nn.Dropout(dropout);
    this.blocks = Array.from({ length: nLayer }, () =>
      new tf.nn.TransformerEncoderLayer(dModel, nHead, { dimFeedforward: 4 * dModel, dropout, activation: 'gelu', batchFirst: true, normFirst: true }));
    this.lnF = new tf.nn.LayerNorm(dModel);
    // GPT-2's initialisation: N(0, 0.02) for every matrix and embedding, zero biases.
    tf.noGrad(() => {
      for (const [name, p] of this.namedParameters()) {
        if (p.ndim >= 2) tf.nn.init.normal_(p, 0, 0.02);
        else if (name.endsWith('bias')) tf.nn.init.zeros_(p);
      }
    });
  }

  forward(idx: tf.Tensor): tf.Tensor {
    const [B, T] = idx.shape;
    if (T > this.config.contextLength) throw new Error(`GPT: sequence length ${T} exceeds the context length ${this.config.contextLength}`);
    const pos = tf.arange(T);
    let x = this.drop.forward(this.tokEmb.forward(idx).add(this.posEmb.forward(pos)));
    for (const block of this.blocks) x = block.forward(x, { isCausal: true });
    x = this.lnF.forward(x);
    // The head shares the token embedding's weights: logits = x @ E^T.
    return x.reshape([B * T, this.config.dModel]).matmul(this.tokEmb.weight.t()).reshape([B, T, this.config.vocabSize]);
  }

  /**
   * Continues `prompt` by maxNewTokens tokens, sampling each from softmax(logits / temperature)
   * restricted to the topK most likely tokens (random numbers from tf's seeded generator).
   */
  generate(prompt: ArrayLike<number>, maxNewTokens: number, opts: { temperature?: number; topK?: number } = {}): number[] {
    const temperature = opts.temperature ?? 1, topK = Math.min(opts.topK ?? this.config.vocabSize, this.config.vocabSize);
    if (!(temperature > 0)) throw new RangeError(`generate: temperature must be positive, got ${temperature}`);
    const ids = Array.from(prompt);
    const wasTraining = this.training;
    this.eval();
    try {
      for (let n = 0; n < maxNewTokens; n++) {
        const window = ids.slice(-this.config.contextLength);
        const next = tf.tidy(() => tf.noGrad(() => {
          const logits = this.forward(tf.tensor(Int32Array.from(window), { shape: [1, window.length] }));
          const last = Array.from(logits.select(1, window.length - 1).reshape([-1]).dataSync() as Float32Array);
          return sampleTopK(last, temperature, topK, tf.rand([1]).item() as number);
        }));
        ids.push(next);
      }
    } finally {
      this.train(wasTraining);
    }
    return ids;
  }
}

/** The token whose cumulative probability first exceeds u, among the topK logits scaled by 1/temperature. */
export function sampleTopK(logits: number[], temperature: number, topK: number, u: number): number {
  const order = logits.map((l, i) => [l / temperature, i]).sort((a, b) => b[0] - a[0]).slice(0, Math.max(1, topK));
  const m = order[0][0];
  const w = order.map(([l]) => Math.exp(l - m));
  const z = w.reduce((p, c) => p + c, 0);
  let acc = 0;
  for (let i = 0; i < order.length; i++) {
    acc += w[i] / z;
    if (u < acc) return order[i][1];
  }
  return order[order.length - 1][1];
}
