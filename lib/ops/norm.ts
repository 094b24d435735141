// Layer and batch normalisation as single native passes (native/kernels/norm.cpp), forward and
// backward, with the mean and 1/std of each statistic group saved by the forward for the backward.
// nn.functional.layerNorm / batchNorm / groupNorm check their arguments and call these.
import { record } from '../autograd';
import { shapeStr } from '../shape';
import { callee, meta, metaNum, native } from '../native';
import { Tensor } from '../tensor';
import { empty } from './util';
import { contiguousRaw } from './views';
import { halfOperand, viaFloat32 } from './half_fallback';

/** t itself when contiguous, else a contiguous copy added to `temps`. */
function dense(t: Tensor, temps: Tensor[]): Tensor {
  if (t.isContiguous()) return t;
  const c = contiguousRaw(t);
  temps.push(c);
  return c;
}

/** An optional operand: a flag, then the tensor. */
function optional(t: Tensor | null): void {
  metaNum(t ? 1 : 0);
  if (t) t._meta();
}

function sameDtype(op: string, input: Tensor, others: [string, Tensor | null][]): void {
  for (const [name, t] of others) {
    if (t && t.dtype !== input.dtype) throw new TypeError(`${op}: ${name} (${t.dtype}) must have the input's dtype (${input.dtype})`);
  }
}

function vector(op: string, name: string, t: Tensor | null, n: number): void {
  if (t && t.numel() !== n) throw new Error(`${op}: ${name} ${shapeStr(t._shape)} must hold ${n} elements`);
}

/**
 * The backward both norms share: gradients for the inputs that want them, from the saved input,
 * mean and 1/std; `finish` writes the op's remaining metadata and calls the kernel.
 */
function normGrads(g: Tensor, input: Tensor, weight: Tensor | null, bias: Tensor | null, saved: Tensor[], finish: () => void): (Tensor | null)[] {
  const temps: Tensor[] = [];
  const gc = dense(g, temps);
  const dx = input.requiresGrad ? empty(input._shape.slice(), input.dtype, input.device) : null;
  const dw = weight?.requiresGrad ? empty(weight._shape.slice(), input.dtype, input.device) : null;
  const db = bias?.requiresGrad ? empty(bias._shape.slice(), input.dtype, input.device) : null;
  meta();
  optional(dx);
  optional(dw);
  optional(db);
  gc._meta();
  for (const t of saved) t._meta();
  finish();
  for (const t of temps) t.dispose();
  return [dx, ...(weight ? [dw] : []), ...(bias ? [db] : [])];
}

/**
 * y = (x - mean) / sqrt(var + eps) * weight + bias over the trailing `d` elements of each row of
 * x (biased variance); weight and bias hold d elements (or are null).
 */
export function fusedLayerNorm(op: string, input: Tensor, d: number, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  const half = halfOperand(input, weight, bias);
  if (half) return viaFloat32(half, [input, weight, bias], (x, w, b) => fusedLayerNorm(op, x, d, w, b, eps));
  sameDtype(op, input, [['weight', weight], ['bias', bias]]);
  vector(op, 'weight', weight, d);
  vector(op, 'bias', bias, d);
  // An empty normalized shape only occurs with an empty input: any row length serves.
  if (d === 0) d = 1;
  const temps: Tensor[] = [];
  const x = dense(input, temps), w = weight ? dense(weight, temps) : null, b = bias ? dense(bias, temps) : null;
  const rows = x.numel() / d;
  const y = empty(input._shape.slice(), input.dtype, input.device);
  const mean = empty([rows], input.dtype, input.device), rstd = empty([rows], input.dtype, input.device);
  meta();
  y._meta();
  mean._meta();
  rstd._meta();
  x._meta();
  metaNum(d, eps);
  optional(w);
  optional(b);
  callee().layerNorm(false);
  const inputs = [input, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  record(
    y,
    'NativeLayerNormBackward',
    inputs,
    (g) =>
      normGrads(g, input, weight, bias, [x, mean, rstd], () => {
        metaNum(d);
        optional(w);
        callee().layerNorm(true);
      }),
    [x, mean, rstd, ...(w ? [w] : [])],
  );
  const keep = new Set<Tensor>(y.gradFn ? [x, mean, rstd, ...(w ? [w] : [])] : []);
  for (const t of [mean, rstd, ...temps]) if (!keep.has(t)) t.dispose();
  return y;
}

export interface FusedBatchNormArgs {
  runningMean: Tensor | null;
  runningVar: Tensor | null;
  weight: Tensor | null;
  bias: Tensor | null;
  training: boolean;
  momentum: number;
  eps: number;
}

/**
 * Batch normalisation over dim 1 of input [N, C, ...]: in training with the batch's statistics,
 * moving runningMean / runningVar (when given) by momentum with the unbiased variance; otherwise
 * with the running statistics.
 */
export function fusedBatchNorm(op: string, input: Tensor, a: FusedBatchNormArgs): Tensor {
  const c = input._shape[1];
  const { runningMean, runningVar, weight, bias } = a;
  const halfStats = halfOperand(runningMean, runningVar), half = halfOperand(input, weight, bias);
  if (half || halfStats) {
    // The running statistics are updated in float32 copies, then written back in their own dtype;
    // the result has the input's dtype (16-bit statistics alone do not make it 16-bit).
    const wide = (t: Tensor | null): Tensor | null => (t && t.dtype !== 'float32' ? t.to('float32') : t);
    const rm = wide(runningMean), rv = wide(runningVar);
    const run = (x: Tensor, w: Tensor | null, b: Tensor | null): Tensor =>
      fusedBatchNorm(op, x, { ...a, weight: w, bias: b, runningMean: rm, runningVar: rv });
    const y = half ? viaFloat32(half, [input, weight, bias], run) : run(input, weight, bias);
    for (const [dst, src] of [[runningMean, rm], [runningVar, rv]] as const) {
      if (!dst || !src || src === dst) continue;
      if (a.training) dst.copy_(src);
      src.dispose();
    }
    return y;
  }
  sameDtype(op, input, [['weight', weight], ['bias', bias], ['runningMean', runningMean], ['runningVar', runningVar]]);
  for (const [name, t] of [['weight', weight], ['bias', bias], ['runningMean', runningMean], ['runningVar', runningVar]] as const) {
    vector(op, name, t, c);
  }
  const temps: Tensor[] = [];
  const x = dense(input, temps), w = weight ? dense(weight, temps) : null, b = bias ? dense(bias, temps) : null;
  const running = runningMean && runningVar;
  // The kernel updates the running statistics in place: non-contiguous ones go through copies.
  const rm = running ? dense(runningMean, temps) : null, rv = running ? dense(runningVar, temps) : null;
  const y = empty(input._shape.slice(), input.dtype, input.device);
  const mean = empty([c], input.dtype, input.device), rstd = empty([c], input.dtype, input.device);
  meta();
  y._meta();
  mean._meta();
  rstd._meta();
  x._meta();
  metaNum(a.training ? 1 : 0, a.momentum, a.eps);
  optional(w);
  optional(b);
  metaNum(running ? 1 : 0);
  if (running) {
    rm!._meta();
    rv!._meta();
  }
  callee().batchNorm(false);
  if (running && a.training) {
    for (const [dst, src] of [[runningMean, rm!], [runningVar, rv!]] as const) {
      if (src !== dst) dst.copy_(src);
      else dst._storage.version++;
    }
  }
  const inputs = [input, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  record(
    y,
    'NativeBatchNormBackward',
    inputs,
    (g) =>
      normGrads(g, input, weight, bias, [x, mean, rstd], () => {
        metaNum(a.training ? 1 : 0);
        optional(w);
        callee().batchNorm(true);
      }),
    [x, mean, rstd, ...(w ? [w] : [])],
  );
  const keep = new Set<Tensor>(y.gradFn ? [x, mean, rstd, ...(w ? [w] : [])] : []);
  for (const t of [mean, rstd, ...temps]) if (!keep.has(t)) t.dispose();
  return y;
}
