// nn.functional.scaledDotProductAttention, with torch's semantics:
//   out = softmax(q @ k^T * scale + mask) @ v        q [..., L, E], k [..., S, E], v [..., S, Ev] -> [..., L, Ev]
// Batch dims broadcast. attnMask is bool (true = may attend) or additive (added to the scores);
// isCausal lets query i attend to keys j <= i (top-left aligned, as torch.tril). A row that may
// attend to nothing gives NaN, as in PyTorch; the fused path sends it no gradient (zeros, as
// PyTorch 2's fused kernels), the unfused one NaN for v. dropoutP drops attention weights (always, like torch:
// callers pass 0 in eval mode).
import { isFloating } from '../dtype';
import { deviceHas } from '../backend';
import { fusedAttention } from '../ops/attention';
import { where } from '../ops/binary';
import { triangleMask } from '../ops/masking';
import { matmul } from '../ops/matmul';
import { softmax } from '../ops/softmax';
import { broadcastShapes, shapeStr } from '../shape';
import { Tensor } from '../tensor';
import { dropout } from './functional_basic';

export interface ScaledDotProductAttentionOptions {
  /** bool (true = take part in attention) or float (added to the scores), broadcastable to [..., L, S]. */
  attnMask?: Tensor | null;
  dropoutP?: number;
  isCausal?: boolean;
  /** Defaults to 1 / sqrt(E). */
  scale?: number | null;
}

function check(op: string, x: unknown, what: string): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: ${what} must be a Tensor`);
  x._check(op);
  if (!isFloating(x.dtype)) throw new TypeError(`${op}: ${what} must be floating point, got ${x.dtype}`);
  if (x.ndim < 2) throw new Error(`${op}: ${what} must have at least 2 dims, got ${shapeStr(x._shape)}`);
  return x;
}

export function scaledDotProductAttention(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  opts: ScaledDotProductAttentionOptions = {},
): Tensor {
  const op = 'scaledDotProductAttention';
  check(op, query, 'query');
  check(op, key, 'key');
  check(op, value, 'value');
  if (query.dtype !== key.dtype || query.dtype !== value.dtype) {
    throw new TypeError(`${op}: query, key and value must share a dtype, got ${query.dtype}, ${key.dtype} and ${value.dtype}`);
  }
  const L = query._shape[query.ndim - 2], E = query._shape[query.ndim - 1];
  const S = key._shape[key.ndim - 2];
  if (key._shape[key.ndim - 1] !== E) {
    throw new Error(`${op}: query ${shapeStr(query._shape)} and key ${shapeStr(key._shape)} must have the same embedding size`);
  }
  if (value._shape[value.ndim - 2] !== S) {
    throw new Error(`${op}: key ${shapeStr(key._shape)} and value ${shapeStr(value._shape)} must have the same sequence length`);
  }
  const { attnMask = null, dropoutP = 0, isCausal = false } = opts;
  if (!(dropoutP >= 0 && dropoutP <= 1)) throw new RangeError(`${op}: dropoutP must be in [0, 1], got ${dropoutP}`);
  if (isCausal && attnMask) throw new Error(`${op}: pass either attnMask or isCausal, not both`);
  const scale = opts.scale ?? 1 / Math.sqrt(E);
  if (typeof scale !== 'number' || !Number.isFinite(scale)) throw new TypeError(`${op}: scale must be a finite number, got ${scale}`);
  if (attnMask) {
    if (!(attnMask instanceof Tensor)) throw new TypeError(`${op}: attnMask must be a Tensor`);
    attnMask._check(op);
    if (attnMask.dtype !== 'bool' && attnMask.dtype !== query.dtype) {
      throw new TypeError(`${op}: attnMask must be bool or ${query.dtype} (the query's dtype), got ${attnMask.dtype}`);
    }
  }
  const batch = broadcastShapes(op, broadcastShapes(op, query._shape.slice(0, -2), key._shape.slice(0, -2)), value._shape.slice(0, -2));
  if (attnMask) broadcastShapes(op, attnMask._shape, [...batch, L, S]); // the mask must broadcast to the scores
  if (useFused(query, key, value, attnMask, dropoutP, batch)) return fusedAttention(query, key, value, attnMask, isCausal, scale, batch);
  return attentionMath(query, key, value, attnMask, isCausal, dropoutP, scale);
}

let impl: 'auto' | 'math' | 'fused' = 'auto';
/** @internal Whether callers may use the fused kernels at all (not pinned to the unfused path). */
export function _fusedAttentionAllowed(): boolean {
  return impl !== 'math';
}
/** @internal Pins the implementation ('math': the unfused reference) for tests and benchmarks. */
export function _setAttentionImpl(i: 'auto' | 'math' | 'fused'): void {
  impl = i;
}

/**
 * The fused kernel takes everything except attention dropout, a float mask that wants a gradient,
 * a mask that adds batch dims of its own, and empty sizes (where the unfused path is trivial).
 */
function useFused(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, dropoutP: number, batch: number[]): boolean {
  if (impl === 'math' || !deviceHas(q.device, 'attentionForward')) return false;
  if (dropoutP > 0 || (mask && mask.requiresGrad)) return false;
  if (mask && mask.ndim - 2 > batch.length) return false;
  if (mask) {
    const mb = mask._shape.slice(0, -2);
    if (mb.some((s, i) => s !== 1 && s !== batch[batch.length - mb.length + i])) return false;
  }
  const sizes = [q._shape[q.ndim - 2], q._shape[q.ndim - 1], k._shape[k.ndim - 2], v._shape[v.ndim - 1], ...batch];
  return sizes.every((s) => s > 0) && v._shape[v.ndim - 1] <= 65536 && q._shape[q.ndim - 1] <= 65536;
}

/** The unfused reference: materialises the [..., L, S] scores. */
export function attentionMath(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  attnMask: Tensor | null,
  isCausal: boolean,
  dropoutP: number,
  scale: number,
): Tensor {
  const L = q._shape[q.ndim - 2], E = q._shape[q.ndim - 1], S = k._shape[k.ndim - 2];
  // Scale whichever of q [L, E] and the scores [L, S] is smaller.
  const scaleQ = E <= S;
  let scores = matmul(scaleQ ? q.mul(scale) : q, k.mT());
  if (!scaleQ) scores = scores.mul(scale);
  const mask = isCausal ? triangleMask(L, S, 0, true) : attnMask;
  if (mask) scores = mask.dtype === 'bool' ? where(mask, scores, -Infinity) : scores.add(mask);
  let p = softmax(scores, -1);
  if (dropoutP > 0) p = dropout(p, { p: dropoutP, training: true });
  return matmul(p, v);
}
