// View ops: new shape/strides/offset over the same storage, no copy (reshape copies only when no
// strides can express the result, as in PyTorch). Each records a backward that maps the gradient
// back through the view.
import { record } from '../autograd';
import type { DType } from '../dtype';
import { callee, meta } from '../native';
import { contiguousStrides, MAX_DIMS, normalizeDim, numelOf, sameShape, shapeStr } from '../shape';
import { Tensor } from '../tensor';
import { empty, sumToShape } from './util';

function check(op: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor`);
  x._check(op);
  return x;
}

/** Resolves one -1 in a requested shape against numel; validates the rest. */
export function inferShape(op: string, srcShape: readonly number[], shape: readonly number[]): number[] {
  const out = [...shape];
  let infer = -1, known = 1;
  for (let i = 0; i < out.length; i++) {
    const s = out[i];
    if (s === -1) {
      if (infer >= 0) throw new Error(`${op}: only one dimension can be inferred (-1) in ${shapeStr(shape)}`);
      infer = i;
    } else if (!Number.isInteger(s) || s < 0) {
      throw new RangeError(`${op}: invalid size ${s} in shape ${shapeStr(shape)}`);
    } else known *= s;
  }
  const n = numelOf(srcShape);
  if (infer >= 0) {
    if (known === 0 || n % known !== 0) {
      throw new Error(`${op}: shape ${shapeStr(shape)} is invalid for input of size ${n} (shape ${shapeStr(srcShape)})`);
    }
    out[infer] = n / known;
  } else if (known !== n) {
    throw new Error(`${op}: shape ${shapeStr(shape)} is invalid for input of size ${n} (shape ${shapeStr(srcShape)})`);
  }
  if (out.length > MAX_DIMS) throw new RangeError(`${op}: at most ${MAX_DIMS} dims`);
  return out;
}

/**
 * Strides that let `x`'s memory be read as `shape` without a copy, or null (PyTorch's computeStride):
 * dims of x are grouped into contiguous chunks, and each chunk is split into the new sizes.
 */
function viewStrides(x: Tensor, shape: number[]): number[] | null {
  const oldShape = x._shape, oldStrides = x._strides;
  if (numelOf(oldShape) === 0 || x.isContiguous()) return contiguousStrides(shape);
  const newStrides = new Array<number>(shape.length);
  let viewD = shape.length - 1;
  let chunkBase = oldStrides[oldStrides.length - 1];
  let tensorNumel = 1, viewNumel = 1;
  for (let d = oldShape.length - 1; d >= 0; d--) {
    tensorNumel *= oldShape[d];
    if (d === 0 || (oldShape[d - 1] !== 1 && oldStrides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || shape[viewD] === 1)) {
        newStrides[viewD] = viewNumel * chunkBase;
        viewNumel *= shape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBase = oldStrides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) return null;
  return newStrides;
}

/** @internal A view with no autograd record (for kernels and backward passes). */
export function rawView(x: Tensor, shape: number[], strides: number[], offset = x._offset): Tensor {
  return x._view(shape, strides, offset);
}

function reshapeImpl(op: string, x: Tensor, shape: readonly number[], allowCopy: boolean): Tensor {
  check(op, x);
  const s = inferShape(op, x._shape, shape);
  const strides = viewStrides(x, s);
  let out: Tensor;
  if (strides) out = rawView(x, s, strides);
  else if (!allowCopy) {
    throw new Error(
      `${op}: view size is not compatible with input tensor's size and stride (shape ${shapeStr(x._shape)}, strides ` +
        `${shapeStr(x._strides)}); use reshape() instead`,
    );
  } else {
    const c = contiguousRaw(x);
    out = rawView(c, s, contiguousStrides(s), 0);
    c.dispose();
  }
  const xShape = x._shape.slice();
  return record(out, 'ReshapeBackward', [x], (g) => [g.reshape(xShape)]);
}

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  return reshapeImpl('reshape', x, shape, true);
}
export function view(x: Tensor, shape: readonly number[]): Tensor {
  return reshapeImpl('view', x, shape, false);
}

/** @internal dst[...] = src (same shape), cast to dst's dtype, without autograd; returns dst. */
export function copyRaw(dst: Tensor, src: Tensor): Tensor {
  meta();
  dst._meta();
  src._meta();
  callee().copy();
  return dst;
}

/** @internal A new contiguous copy of x in `dtype` (x's own by default), without autograd. */
export function contiguousRaw(x: Tensor, dtype: DType = x.dtype): Tensor {
  return copyRaw(empty(x._shape.slice(), dtype, x.device), x);
}

export function contiguous(x: Tensor): Tensor {
  check('contiguous', x);
  if (x.isContiguous()) return x;
  return record(contiguousRaw(x), 'ContiguousBackward', [x], (g) => [g]);
}

export function clone(x: Tensor): Tensor {
  check('clone', x);
  return record(contiguousRaw(x), 'CloneBackward', [x], (g) => [g]);
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const op = 'permute';
  check(op, x);
  if (dims.length !== x.ndim) {
    throw new Error(`${op}: number of dims ${dims.length} does not match the tensor's ${x.ndim} (shape ${shapeStr(x._shape)})`);
  }
  const perm = dims.map((d) => normalizeDim(op, d, x.ndim));
  if (new Set(perm).size !== perm.length) throw new Error(`${op}: repeated dim in [${dims.join(', ')}]`);
  const out = rawView(x, perm.map((p) => x._shape[p]), perm.map((p) => x._strides[p]));
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  return record(out, 'PermuteBackward', [x], (g) => [g.permute(inverse)]);
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const op = 'transpose';
  check(op, x);
  const a = normalizeDim(op, dim0, x.ndim), b = normalizeDim(op, dim1, x.ndim);
  if (x.ndim === 0) return x;
  const perm = x._shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  const out = rawView(x, perm.map((p) => x._shape[p]), perm.map((p) => x._strides[p]));
  return record(out, 'TransposeBackward', [x], (g) => [g.transpose(a, b)]);
}

/** Transpose of a matrix (<= 2 dims), as torch.t. */
export function t(x: Tensor): Tensor {
  check('t', x);
  if (x.ndim > 2) throw new Error(`t: expects a tensor with <= 2 dimensions, got ${x.ndim} (use transpose or mT)`);
  return x.ndim < 2 ? x : transpose(x, 0, 1);
}

/** Elements start..start+length-1 of one dim. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const op = 'narrow';
  check(op, x);
  if (x.ndim === 0) throw new Error(`${op}: cannot narrow a 0-d tensor`);
  const d = normalizeDim(op, dim, x.ndim);
  const size = x._shape[d];
  if (!Number.isInteger(start) || !Number.isInteger(length)) throw new TypeError(`${op}: start and length must be integers`);
  const s = start < 0 ? start + size : start;
  if (s < 0 || length < 0 || s + length > size) {
    throw new RangeError(`${op}: start ${start} and length ${length} exceed dim ${d} of size ${size} (shape ${shapeStr(x._shape)})`);
  }
  return sliceImpl(op, x, d, s, length, 1);
}

/** Python-style slice x[..., start:end:step, ...] of one dim; bounds are clamped, negatives count from the end. */
export function slice(x: Tensor, dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
  const op = 'slice';
  check(op, x);
  if (x.ndim === 0) throw new Error(`${op}: cannot slice a 0-d tensor`);
  const d = normalizeDim(op, dim, x.ndim);
  if (!Number.isInteger(step) || step <= 0) throw new RangeError(`${op}: step must be a positive integer, got ${step}`);
  const size = x._shape[d];
  const clampIdx = (v: number): number => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
  const s = start == null ? 0 : clampIdx(start);
  const e = end == null ? size : clampIdx(end);
  const len = e > s ? Math.ceil((e - s) / step) : 0;
  return sliceImpl(op, x, d, s, len, step);
}

function sliceImpl(op: string, x: Tensor, d: number, start: number, length: number, step: number): Tensor {
  const shape = x._shape.slice(), strides = x._strides.slice();
  shape[d] = length;
  strides[d] = x._strides[d] * step;
  const out = rawView(x, shape, strides, x._offset + start * x._strides[d]);
  const xShape = x._shape.slice();
  return record(out, 'SliceBackward', [x], (g) => [scatterIntoZeros(g, xShape, d, start, length, step)]);
}

// Gradient of a slice: zeros of the input's shape with g written into the sliced region.
function scatterIntoZeros(g: Tensor, shape: number[], d: number, start: number, length: number, step: number): Tensor {
  const z = Tensor._empty(shape, g.dtype, true, g.device);
  const strides = z._strides.slice();
  const vshape = shape.slice();
  vshape[d] = length;
  strides[d] *= step;
  const region = rawView(z, vshape, strides, start * z._strides[d]);
  const src = g._shape.length === vshape.length ? g : g.reshape(vshape);
  meta();
  region._meta();
  src._meta();
  callee().copy();
  region.dispose();
  return z;
}

/** Index one position of a dim, removing that dim. */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const op = 'select';
  check(op, x);
  if (x.ndim === 0) throw new Error(`${op}: cannot select from a 0-d tensor`);
  const d = normalizeDim(op, dim, x.ndim);
  const size = x._shape[d];
  if (!Number.isInteger(index) || index < -size || index >= size) {
    throw new RangeError(`${op}: index ${index} is out of bounds for dim ${d} with size ${size}`);
  }
  const i = index < 0 ? index + size : index;
  const shape = x._shape.filter((_, k) => k !== d), strides = x._strides.filter((_, k) => k !== d);
  const out = rawView(x, shape, strides, x._offset + i * x._strides[d]);
  const xShape = x._shape.slice();
  return record(out, 'SelectBackward', [x], (g) => {
    const gs = xShape.slice();
    gs[d] = 1;
    return [scatterIntoZeros(g.reshape(gs), xShape, d, i, 1, 1)];
  });
}

/** Broadcasts to a larger shape without copying (-1 keeps a size). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const op = 'expand';
  check(op, x);
  if (shape.length < x.ndim) {
    throw new Error(`${op}: the number of sizes (${shape.length}) must be >= the tensor's dims (${x.ndim}); shape ${shapeStr(x._shape)}`);
  }
  if (shape.length > MAX_DIMS) throw new RangeError(`${op}: at most ${MAX_DIMS} dims`);
  const lead = shape.length - x.ndim;
  const outShape: number[] = [], strides: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    const want = shape[i];
    if (i < lead) {
      if (!Number.isInteger(want) || want < 0) throw new RangeError(`${op}: invalid size ${want} for a new leading dim`);
      outShape.push(want);
      strides.push(0);
      continue;
    }
    const have = x._shape[i - lead];
    const size = want === -1 ? have : want;
    if (size !== have && have !== 1) {
      throw new Error(`${op}: the expanded size ${want} must match the existing size ${have} at dim ${i} (shape ${shapeStr(x._shape)} to ${shapeStr(shape)})`);
    }
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`${op}: invalid size ${want}`);
    outShape.push(size);
    strides.push(size === have ? x._strides[i - lead] : 0);
  }
  const out = rawView(x, outShape, strides);
  const xShape = x._shape.slice();
  if (sameShape(outShape, xShape)) return record(out, 'ExpandBackward', [x], (g) => [g]);
  return record(out, 'ExpandBackward', [x], (g) => [sumToShape(g, xShape)]);
}

export function squeeze(x: Tensor, dim?: number | number[]): Tensor {
  const op = 'squeeze';
  check(op, x);
  let drop: Set<number>;
  if (dim === undefined) drop = new Set(x._shape.flatMap((s, i) => (s === 1 ? [i] : [])));
  else {
    const dims = (Array.isArray(dim) ? dim : [dim]).map((d) => normalizeDim(op, d, x.ndim));
    drop = new Set(dims.filter((d) => x.ndim > 0 && x._shape[d] === 1));
  }
  const shape = x._shape.filter((_, i) => !drop.has(i));
  return reshapeAsView(op, x, shape, x._strides.filter((_, i) => !drop.has(i)));
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const op = 'unsqueeze';
  check(op, x);
  const d = normalizeDim(op, dim, x.ndim + 1);
  const shape = x._shape.slice(), strides = x._strides.slice();
  shape.splice(d, 0, 1);
  strides.splice(d, 0, d < x.ndim ? x._strides[d] * x._shape[d] : 1);
  return reshapeAsView(op, x, shape, strides);
}

function reshapeAsView(op: string, x: Tensor, shape: number[], strides: number[]): Tensor {
  if (shape.length > MAX_DIMS) throw new RangeError(`${op}: at most ${MAX_DIMS} dims`);
  const out = rawView(x, shape, strides);
  const xShape = x._shape.slice();
  return record(out, 'ReshapeBackward', [x], (g) => [g.reshape(xShape)]);
}

/** Merges dims startDim..endDim into one. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  const op = 'flatten';
  check(op, x);
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeDim(op, startDim, x.ndim), e = normalizeDim(op, endDim, x.ndim);
  if (s > e) throw new Error(`${op}: startDim ${startDim} cannot come after endDim ${endDim}`);
  const shape = [...x._shape.slice(0, s), numelOf(x._shape.slice(s, e + 1)), ...x._shape.slice(e + 1)];
  return reshape(x, shape);
}

/** Splits one dim into several: unflatten(x, 1, [2, 3]). */
export function unflatten(x: Tensor, dim: number, sizes: readonly number[]): Tensor {
  const op = 'unflatten';
  check(op, x);
  const d = normalizeDim(op, dim, x.ndim);
  const part = inferShape(op, [x._shape[d]], sizes);
  return reshape(x, [...x._shape.slice(0, d), ...part, ...x._shape.slice(d + 1)]);
}
