// Joining and splitting: cat and stack copy each input into a slice of one output; split and chunk
// return narrow views.
import { record } from '../autograd';
import { promoteTypes, type DType } from '../dtype';
import { callee, meta } from '../native';
import { normalizeDim, shapeStr } from '../shape';
import { Tensor } from '../tensor';
import { deviceOf, empty } from './util';
import { narrow, rawView } from './views';

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  const op = 'cat';
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error(`${op}: expected a non-empty array of tensors`);
  tensors.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new TypeError(`${op}: element ${i} is not a Tensor`);
    t._check(op);
  });
  // As in PyTorch, 1-D empty tensors are skipped for shape checks.
  const parts = tensors.filter((t) => !(t.ndim === 1 && t._shape[0] === 0));
  const ref = parts.length > 0 ? parts[0] : tensors[0];
  if (ref.ndim === 0) throw new Error(`${op}: zero-dimensional tensor (at position 0) cannot be concatenated`);
  const d = normalizeDim(op, dim, ref.ndim);
  let dtype: DType = tensors[0].dtype;
  for (const t of tensors) dtype = promoteTypes(dtype, t.dtype);
  let total = 0;
  parts.forEach((t) => {
    if (t.ndim !== ref.ndim) {
      throw new Error(`${op}: tensors must have the same number of dims: got ${shapeStr(ref._shape)} and ${shapeStr(t._shape)}`);
    }
    for (let k = 0; k < ref.ndim; k++) {
      if (k !== d && t._shape[k] !== ref._shape[k]) {
        throw new Error(`${op}: sizes of tensors must match except in dim ${d}: got ${shapeStr(ref._shape)} and ${shapeStr(t._shape)} (dim ${k})`);
      }
    }
    total += t._shape[d];
  });
  const shape = ref._shape.slice();
  shape[d] = total;
  const out = empty(shape, dtype, deviceOf('cat', ...tensors));
  let at = 0;
  for (const t of parts) {
    const len = t._shape[d];
    if (len > 0) {
      const s = shape.slice();
      s[d] = len;
      const region = rawView(out, s, out._strides.slice(), at * out._strides[d]);
      meta();
      region._meta();
      t._meta();
      callee().copy();
      region.dispose();
    }
    at += len;
  }
  const sizes = parts.map((t) => t._shape[d]);
  return record(out, 'CatBackward', [...parts], (g) => {
    let off = 0;
    return sizes.map((len, i) => {
      const gi = narrow(g, d, off, len);
      off += len;
      return parts[i].requiresGrad ? gi : null;
    });
  });
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  const op = 'stack';
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error(`${op}: expected a non-empty array of tensors`);
  const first = tensors[0];
  if (!(first instanceof Tensor)) throw new TypeError(`${op}: element 0 is not a Tensor`);
  tensors.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new TypeError(`${op}: element ${i} is not a Tensor`);
    t._check(op);
    if (t.ndim !== first.ndim || t._shape.some((s, k) => s !== first._shape[k])) {
      throw new Error(`${op}: expects each tensor to be equal size, but got ${shapeStr(first._shape)} at entry 0 and ${shapeStr(t._shape)} at entry ${i}`);
    }
  });
  const d = normalizeDim(op, dim, first.ndim + 1);
  const expanded = tensors.map((t) => t.unsqueeze(d));
  try {
    return cat(expanded, d);
  } finally {
    // The unsqueezed views are graph nodes only when they require grad; free the others now.
    for (const e of expanded) if (!e.requiresGrad) e.dispose();
  }
}

function checkSplittable(op: string, x: unknown): void {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor`);
  x._check(op);
  if (x.ndim === 0) throw new Error(`${op}: cannot split a 0-d tensor (it has no dims)`);
}

/** Splits into pieces of `splitSize` along dim (the last may be smaller), or into the given sizes. */
export function split(x: Tensor, splitSizeOrSections: number | readonly number[], dim = 0): Tensor[] {
  const op = 'split';
  checkSplittable(op, x);
  const d = normalizeDim(op, dim, x.ndim);
  const size = x._shape[d];
  let sizes: number[];
  if (typeof splitSizeOrSections === 'number') {
    const s = splitSizeOrSections;
    if (!Number.isInteger(s) || s < 0 || (s === 0 && size !== 0)) throw new RangeError(`${op}: split size must be a positive integer, got ${s}`);
    sizes = [];
    for (let at = 0; at < size; at += s) sizes.push(Math.min(s, size - at));
    if (sizes.length === 0) sizes.push(0);
  } else {
    sizes = [...splitSizeOrSections];
    const total = sizes.reduce((p, c) => p + c, 0);
    if (sizes.some((s) => !Number.isInteger(s) || s < 0) || total !== size) {
      throw new Error(`${op}: sizes [${sizes.join(', ')}] must be non-negative and sum to ${size}, the size of dim ${d}`);
    }
  }
  let at = 0;
  return sizes.map((len) => {
    const v = narrow(x, d, at, len);
    at += len;
    return v;
  });
}

/** Splits into `chunks` nearly equal pieces (ceil(size / chunks) each), as torch.chunk. */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  const op = 'chunk';
  checkSplittable(op, x);
  if (!Number.isInteger(chunks) || chunks <= 0) throw new RangeError(`${op}: chunks must be a positive integer, got ${chunks}`);
  const d = normalizeDim(op, dim, x.ndim);
  const size = x._shape[d];
  return split(x, Math.max(Math.ceil(size / chunks), size === 0 ? 0 : 1), d);
}

/** Removes dim, returning its slices (as torch.unbind). */
export function unbind(x: Tensor, dim = 0): Tensor[] {
  checkSplittable('unbind', x);
  const d = normalizeDim('unbind', dim, x.ndim);
  return Array.from({ length: x._shape[d] }, (_, i) => x.select(d, i));
}
