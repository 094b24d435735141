// Reductions over any list of dims, with { keepdim }: sum mean prod max min argmax argmin var std
// logsumexp any all. The reduced dims are permuted to the end (a view) and native/kernels/reduce.cpp
// reduces the trailing dims; backward broadcasts the gradient back over the reduced dims.
import { noGrad, record } from '../autograd';
import { isFloating, type DType } from '../dtype';
import { callee, meta, metaNum, native, ReduceOp } from '../native';
import { contiguousStrides, normalizeDims, shapeStr } from '../shape';
import { Tensor } from '../tensor';
import { empty } from './util';
import { isHalf } from '../half';
import { contiguousRaw, rawView } from './views';

type ReduceName = keyof typeof ReduceOp;
export interface ReduceOptions {
  keepdim?: boolean;
}
export interface VarOptions extends ReduceOptions {
  /** Bessel's correction: 1 (default) is the unbiased estimate, 0 the population variance. */
  correction?: number;
  /** PyTorch's older flag; unbiased: false means correction 0. */
  unbiased?: boolean;
}
export type Dims = number | number[] | null | undefined;

interface Plan {
  dims: number[];
  keptShape: number[]; // shape without the reduced dims
  keepdimShape: number[]; // shape with the reduced dims as 1
  count: number; // elements reduced into each output
}

function plan(op: string, x: Tensor, dim: Dims): Plan {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${x === null ? 'null' : typeof x}`);
  x._check(op);
  const dims = normalizeDims(op, dim, x.ndim);
  const reduced = new Set(dims);
  const keptShape = x._shape.filter((_, i) => !reduced.has(i));
  const keepdimShape = x._shape.map((s, i) => (reduced.has(i) ? 1 : s));
  let count = 1;
  for (const d of dims) count *= x._shape[d];
  return { dims, keptShape, keepdimShape, count };
}

/** Runs the kernel: returns the reduction with the reduced dims removed. */
function reduceRaw(name: ReduceName, x: Tensor, p: Plan, outType: DType, correction = 0): Tensor {
  if (isHalf(x.dtype)) {
    // 16-bit inputs are summed in float32 (a float32 copy), and the result rounded once.
    const xf = contiguousRaw(x, 'float32'), rf = reduceRaw(name, xf, p, outType === x.dtype ? 'float32' : outType, correction);
    xf.dispose();
    if (rf.dtype === outType) return rf;
    const r = contiguousRaw(rf, outType);
    rf.dispose();
    return r;
  }
  const reduced = new Set(p.dims);
  const kept = x._shape.map((_, i) => i).filter((i) => !reduced.has(i));
  const perm = [...kept, ...p.dims];
  // Reduced dims must come last; most reductions (last dims, all dims) need no permuted view.
  const identity = perm.every((d, i) => d === i);
  const xv = identity ? x : rawView(x, perm.map((i) => x._shape[i]), perm.map((i) => x._strides[i]));
  const out = empty(p.keptShape.slice(), outType, x.device);
  try {
    // An empty output has nothing to compute.
    if (out.numel() === 0) return out;
    meta();
    out._meta();
    xv._meta();
    metaNum(p.dims.length, correction);
    callee().reduce(ReduceOp[name]);
  } finally {
    if (xv !== x) xv.dispose();
  }
  return out;
}

function finishShape(out: Tensor, p: Plan, keepdim: boolean | undefined): Tensor {
  if (!keepdim || p.dims.length === 0) return out;
  const v = rawView(out, p.keepdimShape.slice(), contiguousStrides(p.keepdimShape), out._offset);
  out.dispose();
  return v;
}

// g (keepdim or not) broadcast back to x's shape, as a view.
function expandGrad(g: Tensor, p: Plan, xShape: number[]): Tensor {
  return g.reshape(p.keepdimShape).expand(xShape);
}

export function sum(x: Tensor, dim?: Dims, opts: ReduceOptions = {}): Tensor {
  const p = plan('sum', x, dim);
  const src = x.dtype === 'bool' ? x.to('int32') : x;
  const out = finishShape(reduceRaw('Sum', src, p, src.dtype), p, opts.keepdim);
  if (src !== x) src.dispose();
  const xShape = x._shape.slice();
  return record(out, 'SumBackward', [x], (g) => [expandGrad(g, p, xShape)]);
}

export function mean(x: Tensor, dim?: Dims, opts: ReduceOptions = {}): Tensor {
  const p = plan('mean', x, dim);
  if (!isFloating(x.dtype)) {
    throw new TypeError(`mean: expected a floating-point tensor, got ${x.dtype} (convert it with .float())`);
  }
  const out = finishShape(reduceRaw('Mean', x, p, x.dtype), p, opts.keepdim);
  const xShape = x._shape.slice();
  return record(out, 'MeanBackward', [x], (g) => [expandGrad(g.div(p.count), p, xShape)]);
}

export function prod(x: Tensor, dim?: Dims, opts: ReduceOptions = {}): Tensor {
  const p = plan('prod', x, dim);
  const src = x.dtype === 'bool' ? x.to('int32') : x;
  const out = finishShape(reduceRaw('Prod', src, p, src.dtype), p, opts.keepdim);
  if (src !== x) src.dispose();
  const xShape = x._shape.slice();
  // d/dx_i prod = product of the other elements: prod / x_i when the slice has no zero; with exactly
  // one zero, the product of the non-zeros at the zero and 0 elsewhere; with two or more zeros, 0.
  return record(
    out,
    'ProdBackward',
    [x],
    (g) => {
      const isZero = x.eq(0);
      const safe = x.where(isZero.logicalNot(), 1); // zeros replaced by 1
      const prodNonZero = safe.prod(p.dims, { keepdim: true });
      const zeros = isZero.sum(p.dims, { keepdim: true });
      const atSingleZero = prodNonZero.where(zeros.eq(1).logicalAnd(isZero), 0);
      const others = prodNonZero.div(safe).where(zeros.eq(0), atSingleZero);
      return [expandGrad(g, p, xShape).mul(others)];
    },
    [x],
  );
}

function extreme(name: 'Max' | 'Min', op: string, x: Tensor, dim: Dims, opts: ReduceOptions): Tensor {
  const p = plan(op, x, dim);
  if (p.count === 0) throw new Error(`${op}: cannot reduce over an empty dim (shape ${shapeStr(x._shape)})`);
  const out = finishShape(reduceRaw(name, x, p, x.dtype), p, opts.keepdim);
  const xShape = x._shape.slice();
  // The gradient goes to the elements equal to the result, split evenly among ties.
  return record(
    out,
    `${name}Backward`,
    [x],
    (g) => {
      const mask = x.eq(out.reshape(p.keepdimShape)).to(x.dtype);
      const count = mask.sum(p.dims, { keepdim: true });
      return [expandGrad(g, p, xShape).mul(mask).div(count)];
    },
    [x, out],
  );
}
export const max = (x: Tensor, dim?: Dims, opts: ReduceOptions = {}): Tensor => extreme('Max', 'max', x, dim, opts);
export const min = (x: Tensor, dim?: Dims, opts: ReduceOptions = {}): Tensor => extreme('Min', 'min', x, dim, opts);
export const amax = max;
export const amin = min;

function argExtreme(name: 'ArgMax' | 'ArgMin', op: string, x: Tensor, dim: number | null | undefined, opts: ReduceOptions): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${x === null ? 'null' : typeof x}`);
  x._check(op);
  if (Array.isArray(dim)) throw new TypeError(`${op}: dim must be a single integer`);
  if (dim === undefined || dim === null) {
    // Over the flattened tensor, as PyTorch.
    const flat = x.reshape([-1]);
    const p = plan(op, flat, 0);
    if (p.count === 0) throw new Error(`${op}: cannot reduce an empty tensor`);
    const r = reduceRaw(name, flat, p, 'int32');
    flat.dispose();
    if (!opts.keepdim) return r;
    const shaped = r.reshape(x._shape.map(() => 1));
    r.dispose();
    return shaped;
  }
  const p = plan(op, x, dim);
  if (p.count === 0) throw new Error(`${op}: cannot reduce over an empty dim (shape ${shapeStr(x._shape)})`);
  return finishShape(reduceRaw(name, x, p, 'int32'), p, opts.keepdim);
}
export const argmax = (x: Tensor, dim?: number | null, opts: ReduceOptions = {}): Tensor =>
  argExtreme('ArgMax', 'argmax', x, dim, opts);
export const argmin = (x: Tensor, dim?: number | null, opts: ReduceOptions = {}): Tensor =>
  argExtreme('ArgMin', 'argmin', x, dim, opts);

function correctionOf(opts: VarOptions): number {
  if (opts.correction !== undefined) return opts.correction;
  if (opts.unbiased !== undefined) return opts.unbiased ? 1 : 0;
  return 1;
}

export function variance(x: Tensor, dim?: Dims, opts: VarOptions = {}): Tensor {
  const op = 'var';
  const p = plan(op, x, dim);
  if (!isFloating(x.dtype)) throw new TypeError(`${op}: expected a floating-point tensor, got ${x.dtype}`);
  const c = correctionOf(opts);
  const out = finishShape(reduceRaw('Var', x, p, x.dtype, c), p, opts.keepdim);
  const xShape = x._shape.slice();
  // d var / dx_i = 2 (x_i - mean) / (N - correction)
  return record(
    out,
    'VarBackward',
    [x],
    (g) => [expandGrad(g, p, xShape).mul(x.sub(x.mean(p.dims, { keepdim: true }))).mul(2 / (p.count - c))],
    [x],
  );
}

export function std(x: Tensor, dim?: Dims, opts: VarOptions = {}): Tensor {
  const p = plan('std', x, dim);
  const out = noGrad(() => {
    const v = variance(x, dim, opts);
    const s = v.sqrt();
    v.dispose();
    return s;
  });
  const c = correctionOf(opts);
  const xShape = x._shape.slice();
  // d std / dx_i = (x_i - mean) / ((N - correction) std), and 0 where std is 0 (as PyTorch), not 0/0.
  return record(
    out,
    'StdBackward',
    [x],
    (g) => {
      const s = out.reshape(p.keepdimShape);
      const gs = g.reshape(p.keepdimShape).div(s.mul(p.count - c)).where(s.ne(0), 0);
      return [expandGrad(gs, p, xShape).mul(x.sub(x.mean(p.dims, { keepdim: true })))];
    },
    [x, out],
  );
}

export function logsumexp(x: Tensor, dim: Dims, opts: ReduceOptions = {}): Tensor {
  const op = 'logsumexp';
  const p = plan(op, x, dim);
  if (!isFloating(x.dtype)) throw new TypeError(`${op}: expected a floating-point tensor, got ${x.dtype}`);
  const out = finishShape(reduceRaw('LogSumExp', x, p, x.dtype), p, opts.keepdim);
  const xShape = x._shape.slice();
  // d lse / dx_i = softmax(x)_i = exp(x_i - lse)
  return record(
    out,
    'LogsumexpBackward',
    [x],
    (g) => [expandGrad(g, p, xShape).mul(x.sub(out.reshape(p.keepdimShape)).exp())],
    [x, out],
  );
}

export function any(x: Tensor, dim?: Dims, opts: ReduceOptions = {}): Tensor {
  const p = plan('any', x, dim);
  return finishShape(reduceRaw('Any', x, p, 'bool'), p, opts.keepdim);
}
export function all(x: Tensor, dim?: Dims, opts: ReduceOptions = {}): Tensor {
  const p = plan('all', x, dim);
  return finishShape(reduceRaw('All', x, p, 'bool'), p, opts.keepdim);
}
