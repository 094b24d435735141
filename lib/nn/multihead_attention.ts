// nn.MultiheadAttention, as torch.nn.MultiheadAttention: project query/key/value, split numHeads
// heads, scaled dot-product attention per head, concatenate, project out. Parameters keep PyTorch's
// names (in_proj_weight [3E, E], in_proj_bias [3E], out_proj; q/k/v_proj_weight when kdim or vdim
// differ from embedDim) so state dicts exchange with PyTorch.
//
// Mask conventions are MultiheadAttention's (not scaledDotProductAttention's): in a bool attnMask or
// keyPaddingMask, true means "may NOT attend"; float masks are added to the scores.
import { isFloating, type DType } from '../dtype';
import { where } from '../ops/binary';
import { empty } from '../ops/creation';
import { logicalNot } from '../ops/unary';
import { triangleMask } from '../ops/masking';
import { softmax } from '../ops/softmax';
import { shapeStr } from '../shape';
import { Tensor } from '../tensor';
import { deviceHas } from '../backend';
import { fusedPackedSelfAttention } from '../ops/attention';
import { _fusedAttentionAllowed, scaledDotProductAttention } from './attention';
import { dropout, linear } from './functional_basic';
import * as init from './init';
import { Linear } from './layers';
import { Module, parameter } from './module';

export interface MultiheadAttentionOptions {
  dropout?: number;
  bias?: boolean;
  kdim?: number | null;
  vdim?: number | null;
  batchFirst?: boolean;
  dtype?: DType;
}

export interface MultiheadAttentionForwardOptions {
  /** [N, S] ([S] for unbatched inputs): true (bool) marks keys to ignore; float is added. */
  keyPaddingMask?: Tensor | null;
  /** Return the attention weights too (off by default: it forces the unfused path). */
  needWeights?: boolean;
  /** [L, S] or [N * numHeads, L, S]: true (bool) marks pairs that may not attend; float is added. */
  attnMask?: Tensor | null;
  averageAttnWeights?: boolean;
  /** Causal self-attention: query i attends to keys j <= i. When attnMask is given too it is taken as that mask. */
  isCausal?: boolean;
}

export class MultiheadAttention extends Module {
  in_proj_weight: Tensor | null = null;
  q_proj_weight: Tensor | null = null;
  k_proj_weight: Tensor | null = null;
  v_proj_weight: Tensor | null = null;
  in_proj_bias: Tensor | null;
  out_proj: Linear;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;

  constructor(readonly embedDim: number, readonly numHeads: number, opts: MultiheadAttentionOptions = {}) {
    super();
    const op = 'MultiheadAttention';
    for (const [n, v] of [['embedDim', embedDim], ['numHeads', numHeads]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${op}: ${n} must be a positive integer, got ${v}`);
    }
    if (embedDim % numHeads !== 0) throw new Error(`${op}: embedDim ${embedDim} must be divisible by numHeads ${numHeads}`);
    this.headDim = embedDim / numHeads;
    this.kdim = opts.kdim ?? embedDim;
    this.vdim = opts.vdim ?? embedDim;
    this.dropout = opts.dropout ?? 0;
    if (!(this.dropout >= 0 && this.dropout <= 1)) throw new RangeError(`${op}: dropout must be in [0, 1], got ${this.dropout}`);
    this.batchFirst = opts.batchFirst ?? false;
    const dtype = opts.dtype ?? 'float32';
    const bias = opts.bias ?? true;
    if (this.kdim === embedDim && this.vdim === embedDim) {
      this.in_proj_weight = parameter(init.xavierUniform_(empty([3 * embedDim, embedDim], { dtype })));
    } else {
      this.q_proj_weight = parameter(init.xavierUniform_(empty([embedDim, embedDim], { dtype })));
      this.k_proj_weight = parameter(init.xavierUniform_(empty([embedDim, this.kdim], { dtype })));
      this.v_proj_weight = parameter(init.xavierUniform_(empty([embedDim, this.vdim], { dtype })));
    }
    this.in_proj_bias = bias ? parameter(init.zeros_(empty([3 * embedDim], { dtype }))) : null;
    this.out_proj = new Linear(embedDim, embedDim, { bias, dtype });
    if (this.out_proj.bias) init.zeros_(this.out_proj.bias);
  }

  /** Returns [attnOutput, attnWeights or null]; shapes as PyTorch ([N, L, E] with batchFirst, else [L, N, E]; or [L, E] unbatched). */
  forward(query: Tensor, key: Tensor, value: Tensor, opts: MultiheadAttentionForwardOptions = {}): [Tensor, Tensor | null] {
    const op = 'MultiheadAttention';
    for (const [n, t] of [['query', query], ['key', key], ['value', value]] as const) {
      if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${n} must be a Tensor`);
      t._check(op);
      if (!isFloating(t.dtype)) throw new TypeError(`${op}: ${n} must be floating point, got ${t.dtype}`);
    }
    const batched = query.ndim === 3;
    if (!batched && query.ndim !== 2) throw new Error(`${op}: query must be 2-D (unbatched) or 3-D, got ${shapeStr(query._shape)}`);
    if (key.ndim !== query.ndim || value.ndim !== query.ndim) {
      throw new Error(`${op}: query ${shapeStr(query._shape)}, key ${shapeStr(key._shape)} and value ${shapeStr(value._shape)} must have the same number of dims`);
    }
    // Everything below works on [N, T, E].
    const toNTE = (t: Tensor): Tensor => (!batched ? t.unsqueeze(0) : this.batchFirst ? t : t.transpose(0, 1));
    const q0 = toNTE(query), k0 = toNTE(key), v0 = toNTE(value);
    const [N, L, E] = q0._shape;
    const S = k0._shape[1];
    if (E !== this.embedDim) throw new Error(`${op}: query has ${E} features, expected embedDim ${this.embedDim}`);
    if (k0._shape[2] !== this.kdim) throw new Error(`${op}: key has ${k0._shape[2]} features, expected kdim ${this.kdim}`);
    if (v0._shape[2] !== this.vdim) throw new Error(`${op}: value has ${v0._shape[2]} features, expected vdim ${this.vdim}`);
    if (k0._shape[0] !== N || v0._shape[0] !== N || v0._shape[1] !== S) {
      throw new Error(`${op}: query ${shapeStr(query._shape)}, key ${shapeStr(key._shape)} and value ${shapeStr(value._shape)} disagree on batch or sequence sizes`);
    }

    const H = this.numHeads, D = this.headDim;
    const p = this.training ? this.dropout : 0;
    // Self-attention with no mask but a causal one: one projection GEMM straight into the fused
    // kernel, which reads the heads in place and returns them merged.
    const noMask = !opts.attnMask && !opts.keyPaddingMask && !opts.needWeights;
    if (noMask && p === 0 && query === key && key === value && this.in_proj_weight && _fusedAttentionAllowed() && deviceHas(query.device, 'attentionForward') && N * L > 0) {
      const qkv = linear(q0, this.in_proj_weight, this.in_proj_bias);
      const merged = fusedPackedSelfAttention(qkv, H, !!opts.isCausal, 1 / Math.sqrt(D));
      const y = this.out_proj.forward(merged);
      return [!batched ? y.squeeze(0) : this.batchFirst ? y : y.transpose(0, 1), null];
    }
    const [q, k, v] = this.project(query, key, value, q0, k0, v0);
    const heads = (t: Tensor, T: number): Tensor => t.reshape([N, T, H, D]).transpose(1, 2); // [N, H, T, D]
    const qh = heads(q, L), kh = heads(k, S), vh = heads(v, S);
    // Causal alone goes to the kernels as a flag (the fused kernel then skips the masked half).
    const causalOnly = !!opts.isCausal && !opts.attnMask && !opts.keyPaddingMask && !opts.needWeights;
    const mask = causalOnly ? null : this.mergeMasks(op, N, L, S, q.dtype, opts, batched);
    let out: Tensor, weights: Tensor | null = null;
    if (opts.needWeights) {
      let scores = qh.mul(1 / Math.sqrt(D)).matmul(kh.mT());
      if (mask) scores = mask.dtype === 'bool' ? where(mask, scores, -Infinity) : scores.add(mask);
      let attn = softmax(scores, -1);
      if (p > 0) attn = dropout(attn, { p, training: true });
      out = attn.matmul(vh);
      weights = opts.averageAttnWeights ?? true ? attn.mean(1) : attn;
      if (!batched) weights = weights.squeeze(0);
    } else {
      out = scaledDotProductAttention(qh, kh, vh, { attnMask: mask, dropoutP: p, isCausal: causalOnly });
    }
    // [N, H, L, D] -> [N, L, E] (or [L, N, E]) then the output projection.
    let merged = this.batchFirst || !batched ? out.transpose(1, 2).reshape([N, L, E]) : out.permute([2, 0, 1, 3]).reshape([L, N, E]);
    if (!batched) merged = merged.squeeze(0);
    return [this.out_proj.forward(merged), weights];
  }

  /** q [N, L, E], k [N, S, E], v [N, S, E] after the input projections (one GEMM for self-attention). */
  private project(query: Tensor, key: Tensor, value: Tensor, q0: Tensor, k0: Tensor, v0: Tensor): Tensor[] {
    const E = this.embedDim, b = this.in_proj_bias;
    const bq = b ? b.narrow(0, 0, E) : null, bk = b ? b.narrow(0, E, E) : null, bv = b ? b.narrow(0, 2 * E, E) : null;
    if (this.in_proj_weight) {
      const w = this.in_proj_weight;
      if (query === key && key === value) return linear(q0, w, b).chunk(3, -1);
      return [
        linear(q0, w.narrow(0, 0, E), bq),
        linear(k0, w.narrow(0, E, E), bk),
        linear(v0, w.narrow(0, 2 * E, E), bv),
      ];
    }
    return [linear(q0, this.q_proj_weight!, bq), linear(k0, this.k_proj_weight!, bk), linear(v0, this.v_proj_weight!, bv)];
  }

  /**
   * The attnMask, keyPaddingMask and causal mask as one mask for scaledDotProductAttention's
   * conventions (bool true = may attend, or additive), broadcastable to [N, H, L, S].
   */
  private mergeMasks(op: string, N: number, L: number, S: number, dtype: DType, opts: MultiheadAttentionForwardOptions, batched: boolean): Tensor | null {
    const masks: Tensor[] = [];
    let attnMask = opts.attnMask ?? null;
    if (attnMask) {
      attnMask._check(op);
      const H = this.numHeads;
      if (attnMask.ndim === 3 && attnMask._shape[0] === N * H && attnMask._shape[1] === L && attnMask._shape[2] === S) {
        attnMask = attnMask.reshape([N, H, L, S]);
      } else if (!(attnMask.ndim === 2 && attnMask._shape[0] === L && attnMask._shape[1] === S)) {
        throw new Error(`${op}: attnMask must be [${L}, ${S}] or [${N * H}, ${L}, ${S}], got ${shapeStr(attnMask._shape)}`);
      }
      masks.push(attnMask);
    } else if (opts.isCausal) {
      masks.push(logicalNot(triangleMask(L, S, 0, true)));
    }
    let kpm = opts.keyPaddingMask ?? null;
    if (kpm) {
      kpm._check(op);
      // Unbatched inputs take a [S] mask, as torch does.
      if (!batched && kpm.ndim === 1 && kpm._shape[0] === S) kpm = kpm.reshape([1, S]);
      if (kpm.ndim !== 2 || kpm._shape[0] !== N || kpm._shape[1] !== S) {
        throw new Error(`${op}: keyPaddingMask must be [${N}, ${S}], got ${shapeStr(kpm._shape)}`);
      }
      masks.push(kpm.reshape([N, 1, 1, S]));
    }
    for (const m of masks) {
      if (m.dtype !== 'bool' && m.dtype !== dtype) throw new TypeError(`${op}: masks must be bool or ${dtype}, got ${m.dtype}`);
    }
    if (masks.length === 0) return null;
    // One bool mask: flip it to "may attend". Otherwise add them up as additive masks.
    if (masks.length === 1 && masks[0].dtype === 'bool') return logicalNot(masks[0]);
    let sum: Tensor | null = null;
    for (const m of masks) {
      const additive = m.dtype === 'bool' ? where(m, -Infinity, 0).to(dtype) : m;
      sum = sum ? sum.add(additive) : additive;
    }
    return sum;
  }

  override extraRepr(): string {
    return `embedDim=${this.embedDim}, numHeads=${this.numHeads}, batchFirst=${this.batchFirst}`;
  }
}
