// Loss functions (nn.functional forms; the nn.*Loss modules wrap them). Semantics, defaults and
// reductions follow PyTorch 1.13. Class-index targets are int32.
import { isFloating } from '../dtype';
import { record } from '../autograd';
import { callee, meta, metaNum, native } from '../native';
import { empty } from '../ops/util';
import { contiguousRaw } from '../ops/views';
import { shapeStr, sameShape } from '../shape';
import { Tensor } from '../tensor';
import { halfOperand, viaFloat32 } from '../ops/half_fallback';

export type Reduction = 'none' | 'mean' | 'sum';

function check(op: string, x: unknown, what: string): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: ${what} must be a Tensor`);
  x._check(op);
  return x;
}

function reduce(op: string, loss: Tensor, reduction: Reduction | 'batchmean' = 'mean'): Tensor {
  switch (reduction) {
    case 'none': return loss;
    case 'sum': return loss.sum();
    case 'mean': return loss.mean();
    default: throw new Error(`${op}: reduction must be 'none', 'mean' or 'sum', got ${JSON.stringify(reduction)}`);
  }
}

function sameShapes(op: string, input: Tensor, target: Tensor): void {
  if (!sameShape(input._shape, target._shape)) {
    throw new Error(`${op}: target shape ${shapeStr(target._shape)} must match input shape ${shapeStr(input._shape)}`);
  }
}

export interface NllOptions {
  weight?: Tensor | null;
  ignoreIndex?: number;
  reduction?: Reduction;
}

// Input [N, C] or [N, C, d1, ...] (or [C] unbatched) -> (input moved to [M, C], target [M]).
function flattenClassDim(op: string, input: Tensor, target: Tensor): { x: Tensor; t: Tensor; outShape: number[] } {
  if (input.ndim === 1) {
    if (target.ndim !== 0) throw new Error(`${op}: unbatched input ${shapeStr(input._shape)} needs a 0-d target, got ${shapeStr(target._shape)}`);
    return { x: input.reshape([1, -1]), t: target.reshape([1]), outShape: [] };
  }
  const n = input._shape[0], c = input._shape[1];
  const rest = input._shape.slice(2);
  const want = [n, ...rest];
  if (!sameShape(target._shape, want)) {
    throw new Error(`${op}: expected target of shape ${shapeStr(want)} for input ${shapeStr(input._shape)}, got ${shapeStr(target._shape)}`);
  }
  const x = input.ndim === 2 ? input : input.reshape([n, c, -1]).transpose(1, 2).reshape([-1, c]);
  return { x, t: target.reshape([-1]), outShape: want };
}

/** Negative log-likelihood of class indices given log-probabilities [N, C, ...]. */
export function nllLoss(input: Tensor, target: Tensor, opts: NllOptions = {}): Tensor {
  return nllImpl('nllLoss', input, target, opts);
}

function nllImpl(op: string, input: Tensor, target: Tensor, opts: NllOptions): Tensor {
  check(op, input, 'input');
  check(op, target, 'target');
  if (target.dtype !== 'int32') throw new TypeError(`${op}: target must hold class indices as int32, got ${target.dtype}`);
  const { x, t, outShape } = flattenClassDim(op, input, target);
  const c = x._shape[1];
  const ignore = opts.ignoreIndex ?? -100;
  const valid = t.ne(ignore);
  const safeT = t.where(valid, 0); // ignored rows pick class 0, then get weight 0
  const bad = safeT.lt(0).logicalOr(safeT.ge(c));
  if (bad.any().item()) {
    const v = (safeT.dataSync() as Int32Array).find((k) => k < 0 || k >= c);
    throw new RangeError(`${op}: target ${v} is out of bounds for ${c} classes`);
  }
  let w = valid.to(x.dtype);
  if (opts.weight) {
    check(op, opts.weight, 'weight');
    if (opts.weight.ndim !== 1 || opts.weight._shape[0] !== c) {
      throw new Error(`${op}: weight must be a 1-D tensor of ${c} class weights, got ${shapeStr(opts.weight._shape)}`);
    }
    w = w.mul(opts.weight.indexSelect(0, safeT));
  }
  const picked = x.gather(1, safeT.reshape([-1, 1])).reshape([-1]);
  const losses = picked.neg().mul(w);
  const reduction = opts.reduction ?? 'mean';
  if (reduction === 'none') return losses.reshape(outShape);
  if (reduction === 'sum') return losses.sum();
  if (reduction === 'mean') return losses.sum().div(w.sum());
  throw new Error(`${op}: reduction must be 'none', 'mean' or 'sum', got ${JSON.stringify(reduction)}`);
}

export interface CrossEntropyOptions extends NllOptions {
  /** Mixes the target with the uniform distribution: (1 - s) * target + s / C. */
  labelSmoothing?: number;
}

/**
 * Cross-entropy between logits [N, C, ...] and either int32 class indices [N, ...] or class
 * probabilities of the input's shape. log-softmax then NLL, numerically stable.
 */
export function crossEntropy(input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const op = 'crossEntropy';
  check(op, input, 'input');
  check(op, target, 'target');
  if (!isFloating(input.dtype)) throw new TypeError(`${op}: input must be floating point, got ${input.dtype}`);
  const s = opts.labelSmoothing ?? 0;
  if (!(s >= 0 && s <= 1)) throw new RangeError(`${op}: labelSmoothing must be in [0, 1], got ${s}`);
  const classDim = input.ndim === 1 ? 0 : 1;
  const c = input._shape[classDim];
  const reduction = opts.reduction ?? 'mean';
  if (!isFloating(target.dtype) && input.ndim === 2 && !opts.weight && s === 0) {
    // The common case in one native pass per row (log-sum-exp, pick, and the fused backward).
    const want = [input._shape[0]];
    if (!sameShape(target._shape, want)) {
      throw new Error(`${op}: expected target of shape ${shapeStr(want)} for input ${shapeStr(input._shape)}, got ${shapeStr(target._shape)}`);
    }
    if (target.dtype !== 'int32') throw new TypeError(`${op}: target must hold class indices as int32, got ${target.dtype}`);
    return fusedCrossEntropy(input, target, opts.ignoreIndex ?? -100, reduction);
  }
  const logp = input.logSoftmax(classDim);

  if (isFloating(target.dtype)) {
    // Probability targets.
    sameShapes(op, input, target);
    if (opts.ignoreIndex !== undefined && opts.ignoreIndex !== -100) throw new Error(`${op}: ignoreIndex is only for class-index targets`);
    const tgt = s > 0 ? target.mul(1 - s).add(s / c) : target;
    let terms = logp.mul(tgt);
    if (opts.weight) terms = terms.mul(opts.weight.reshape(classDim === 1 ? [1, c, ...input._shape.slice(2).map(() => 1)] : [c]));
    const losses = terms.sum(classDim).neg();
    // mean: over samples (every position of every batch element), as PyTorch.
    if (reduction === 'mean') return input.ndim === 1 ? losses : losses.sum().div(input.numel() / c);
    return reduce(op, losses, reduction);
  }

  const nll = nllImpl(op, logp, target, { ...opts, reduction });
  if (s === 0) return nll;
  // Smoothing term: -sum_c w_c log p_c per sample, over non-ignored samples.
  const { x, t, outShape } = flattenClassDim(op, logp, target);
  const valid = t.ne(opts.ignoreIndex ?? -100).to(x.dtype);
  let smooth = opts.weight ? x.mul(opts.weight).sum(1).neg() : x.sum(1).neg();
  smooth = smooth.mul(valid);
  let smoothReduced: Tensor;
  if (reduction === 'none') smoothReduced = smooth.reshape(outShape);
  else if (reduction === 'sum') smoothReduced = smooth.sum();
  else {
    const denom = opts.weight
      ? opts.weight.indexSelect(0, t.where(t.ne(opts.ignoreIndex ?? -100), 0)).mul(valid).sum()
      : valid.sum();
    smoothReduced = smooth.sum().div(denom);
  }
  return nll.mul(1 - s).add(smoothReduced.mul(s / c));
}

// loss[n] = logsumexp(x[n]) - x[n, t[n]] natively, with the backward softmax(x) - onehot(t) fused too.
function fusedCrossEntropy(input: Tensor, target: Tensor, ignoreIndex: number, reduction: Reduction): Tensor {
  const half = halfOperand(input);
  if (half) return viaFloat32(half, [input, target], (x, t) => fusedCrossEntropy(x, t, ignoreIndex, reduction));
  const n = input._shape[0];
  const x = input.isContiguous() ? input : contiguousRaw(input);
  const t = target.isContiguous() ? target : contiguousRaw(target);
  const loss = empty([n], input.dtype, input.device), lse = empty([n], input.dtype, input.device);
  meta();
  loss._meta();
  lse._meta();
  x._meta();
  t._meta();
  metaNum(ignoreIndex);
  try {
    callee().crossEntropy(false);
  } catch (e) {
    for (const v of [loss, lse, ...(x !== input ? [x] : []), ...(t !== target ? [t] : [])]) v.dispose();
    throw e;
  }
  const losses = record(
    loss,
    'CrossEntropyBackward',
    [input],
    (g) => {
      const gc = g.isContiguous() ? g : contiguousRaw(g);
      const dx = empty(input._shape.slice(), input.dtype, input.device);
      meta();
      dx._meta();
      gc._meta();
      x._meta();
      lse._meta();
      t._meta();
      metaNum(ignoreIndex);
      callee().crossEntropy(true);
      if (gc !== g) gc.dispose();
      return [dx];
    },
    [x, t, lse],
  );
  if (!losses.gradFn) {
    lse.dispose();
    if (x !== input) x.dispose();
    if (t !== target) t.dispose();
  }
  if (reduction === 'none') return losses;
  if (reduction === 'sum') return losses.sum();
  if (reduction !== 'mean') throw new Error(`crossEntropy: reduction must be 'none', 'mean' or 'sum', got ${JSON.stringify(reduction)}`);
  const targets = t.dataSync() as Int32Array;
  let valid = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] !== ignoreIndex) valid++;
  return losses.sum().div(valid);
}

export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const op = 'mseLoss';
  check(op, input, 'input');
  check(op, target, 'target');
  sameShapes(op, input, target);
  return reduce(op, input.sub(target).square(), opts.reduction);
}

export function l1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const op = 'l1Loss';
  check(op, input, 'input');
  check(op, target, 'target');
  sameShapes(op, input, target);
  return reduce(op, input.sub(target).abs(), opts.reduction);
}

/** Quadratic below beta, linear above: 0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta. */
export function smoothL1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction; beta?: number } = {}): Tensor {
  const op = 'smoothL1Loss';
  check(op, input, 'input');
  check(op, target, 'target');
  sameShapes(op, input, target);
  const beta = opts.beta ?? 1;
  if (!(beta >= 0)) throw new RangeError(`${op}: beta must be >= 0, got ${beta}`);
  const d = input.sub(target).abs();
  const loss = beta === 0 ? d : d.square().mul(0.5 / beta).where(d.lt(beta), d.sub(0.5 * beta));
  return reduce(op, loss, opts.reduction);
}

/** Binary cross-entropy of probabilities in [0, 1]; log terms are clamped at -100 as in PyTorch. */
export function binaryCrossEntropy(input: Tensor, target: Tensor, opts: { weight?: Tensor | null; reduction?: Reduction } = {}): Tensor {
  const op = 'binaryCrossEntropy';
  check(op, input, 'input');
  check(op, target, 'target');
  sameShapes(op, input, target);
  const logP = input.log().clamp(-100);
  const log1mP = input.neg().log1p().clamp(-100);
  let loss = target.mul(logP).add(target.neg().add(1).mul(log1mP)).neg();
  if (opts.weight) loss = loss.mul(opts.weight);
  return reduce(op, loss, opts.reduction);
}

/**
 * Binary cross-entropy on logits, stable for any x:
 *   loss = (1 - y) x + (1 + (pw - 1) y) (log(1 + exp(-|x|)) + max(-x, 0))
 */
export function binaryCrossEntropyWithLogits(
  input: Tensor,
  target: Tensor,
  opts: { weight?: Tensor | null; posWeight?: Tensor | null; reduction?: Reduction } = {},
): Tensor {
  const op = 'binaryCrossEntropyWithLogits';
  check(op, input, 'input');
  check(op, target, 'target');
  sameShapes(op, input, target);
  const softplusNeg = input.abs().neg().exp().log1p().add(input.neg().relu()); // log(1 + exp(-x))
  let loss: Tensor;
  if (opts.posWeight) {
    const lw = opts.posWeight.sub(1).mul(target).add(1);
    loss = target.neg().add(1).mul(input).add(lw.mul(softplusNeg));
  } else {
    loss = target.neg().add(1).mul(input).add(softplusNeg);
  }
  if (opts.weight) loss = loss.mul(opts.weight);
  return reduce(op, loss, opts.reduction);
}

/**
 * Kullback-Leibler divergence with input as log-probabilities: target * (log target - input)
 * (terms with target 0 count 0). reduction 'batchmean' divides the sum by the batch size.
 */
export function klDiv(
  input: Tensor,
  target: Tensor,
  opts: { reduction?: Reduction | 'batchmean'; logTarget?: boolean } = {},
): Tensor {
  const op = 'klDiv';
  check(op, input, 'input');
  check(op, target, 'target');
  sameShapes(op, input, target);
  let loss: Tensor;
  if (opts.logTarget) loss = target.exp().mul(target.sub(input));
  else loss = target.mul(target.log().sub(input)).where(target.gt(0), 0);
  const reduction = opts.reduction ?? 'mean';
  if (reduction === 'batchmean') return input.ndim === 0 ? loss.sum() : loss.sum().div(input._shape[0]);
  return reduce(op, loss, reduction);
}
