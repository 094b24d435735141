// Position information for sequence models:
//  - sinusoidalPositionEncoding(length, dim): the fixed table of "Attention Is All You Need",
//      pe[pos, 2i] = sin(pos / base^(2i/dim)),  pe[pos, 2i+1] = cos(pos / base^(2i/dim))
//  - rotaryEmbedding(length, dim) and applyRotaryEmb(x, cos, sin): rotary position embeddings (RoPE),
//    which rotate each pair of features of queries and keys by an angle pos * base^(-2i/dim), so the
//    dot product of a query and a key depends on their relative position only.
// (Learned position embeddings are a plain nn.Embedding over positions.)
import { TYPED_ARRAY, type DType } from '../dtype';
import { cat } from '../ops/join';
import { tensor } from '../ops/creation';
import { shapeStr } from '../shape';
import { Tensor } from '../tensor';

function positiveInt(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${op}: ${name} must be a positive integer, got ${v}`);
}

/** [length, dim] sinusoidal table (dim even); add its first T rows to [..., T, dim] embeddings. */
export function sinusoidalPositionEncoding(length: number, dim: number, opts: { base?: number; dtype?: DType } = {}): Tensor {
  const op = 'sinusoidalPositionEncoding';
  positiveInt(op, 'length', length);
  positiveInt(op, 'dim', dim);
  if (dim % 2 !== 0) throw new RangeError(`${op}: dim must be even, got ${dim}`);
  const base = opts.base ?? 10000, dtype = opts.dtype ?? 'float32';
  const pe = new TYPED_ARRAY[dtype](length * dim);
  for (let pos = 0; pos < length; pos++) {
    for (let i = 0; i < dim; i += 2) {
      const angle = pos / Math.pow(base, i / dim);
      pe[pos * dim + i] = Math.sin(angle);
      pe[pos * dim + i + 1] = Math.cos(angle);
    }
  }
  return tensor(pe, { dtype, shape: [length, dim] });
}

/**
 * The cos and sin tables of rotary embeddings, each [length, dim / 2]: angle[pos, i] = pos * base^(-2i/dim).
 * Slice rows with narrow(0, start, T) for an offset (e.g. when decoding with a cache).
 */
export function rotaryEmbedding(length: number, dim: number, opts: { base?: number; dtype?: DType } = {}): { cos: Tensor; sin: Tensor } {
  const op = 'rotaryEmbedding';
  positiveInt(op, 'length', length);
  positiveInt(op, 'dim', dim);
  if (dim % 2 !== 0) throw new RangeError(`${op}: dim must be even, got ${dim}`);
  const base = opts.base ?? 10000, dtype = opts.dtype ?? 'float32', half = dim / 2;
  const c = new TYPED_ARRAY[dtype](length * half), s = new TYPED_ARRAY[dtype](length * half);
  for (let pos = 0; pos < length; pos++) {
    for (let i = 0; i < half; i++) {
      const angle = pos * Math.pow(base, (-2 * i) / dim);
      c[pos * half + i] = Math.cos(angle);
      s[pos * half + i] = Math.sin(angle);
    }
  }
  return { cos: tensor(c, { dtype, shape: [length, half] }), sin: tensor(s, { dtype, shape: [length, half] }) };
}

/**
 * Rotates x [..., T, D] by the angles of rotaryEmbedding (cos, sin: [T, D/2], broadcast over the
 * leading dims). Pairs are (x[i], x[i + D/2]) — the GPT-NeoX / Hugging Face "rotate half" layout —
 * or, with interleaved, (x[2i], x[2i+1]) as in the original RoFormer and Meta's LLaMA code:
 *   out_a = a cos - b sin,   out_b = b cos + a sin
 */
export function applyRotaryEmb(x: Tensor, cos: Tensor, sin: Tensor, opts: { interleaved?: boolean } = {}): Tensor {
  const op = 'applyRotaryEmb';
  for (const [n, t] of [['x', x], ['cos', cos], ['sin', sin]] as const) {
    if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${n} must be a Tensor`);
    t._check(op);
  }
  if (x.ndim < 2) throw new Error(`${op}: x must be [..., T, D], got ${shapeStr(x._shape)}`);
  const T = x._shape[x.ndim - 2], D = x._shape[x.ndim - 1];
  if (D % 2 !== 0) throw new Error(`${op}: the feature size of x ${shapeStr(x._shape)} must be even`);
  const want = [T, D / 2];
  for (const [n, t] of [['cos', cos], ['sin', sin]] as const) {
    if (t.ndim !== 2 || t._shape[0] !== T || t._shape[1] !== D / 2) {
      throw new Error(`${op}: ${n} must be ${shapeStr(want)} for x ${shapeStr(x._shape)}, got ${shapeStr(t._shape)}`);
    }
  }
  if (opts.interleaved) {
    const pairs = x.reshape([...x._shape.slice(0, -1), D / 2, 2]);
    const a = pairs.select(-1, 0), b = pairs.select(-1, 1);
    const ra = a.mul(cos).sub(b.mul(sin)), rb = b.mul(cos).add(a.mul(sin));
    return cat([ra.unsqueeze(-1), rb.unsqueeze(-1)], -1).reshape(x._shape.slice());
  }
  const a = x.narrow(-1, 0, D / 2), b = x.narrow(-1, D / 2, D / 2);
  return cat([a.mul(cos).sub(b.mul(sin)), b.mul(cos).add(a.mul(sin))], -1);
}
