// Helpers the op files share: output allocation, broadcasting views for kernels, and reducing a
// broadcast gradient back to an input's shape.
import type { DType } from '../dtype';
import { Tensor } from '../tensor';
import { shapeStr, sameShape } from '../shape';

/** A new uninitialised contiguous tensor. */
export function empty(shape: number[], dtype: DType): Tensor {
  return Tensor._empty(shape, dtype);
}

/** A stride-0 view of t broadcast to `shape` (no copy, no autograd): what elementwise kernels take. */
export function broadcastView(t: Tensor, shape: number[], op = 'broadcast'): Tensor {
  if (sameShape(t._shape, shape)) return t;
  const nd = shape.length, off = nd - t._shape.length;
  const strides = new Array<number>(nd);
  for (let i = 0; i < nd; i++) {
    const src = i - off;
    if (src < 0) strides[i] = 0;
    else if (t._shape[src] === shape[i]) strides[i] = t._strides[src];
    else if (t._shape[src] === 1) strides[i] = 0;
    else throw new Error(`${op}: cannot broadcast ${shapeStr(t._shape)} to ${shapeStr(shape)}`);
  }
  return t._view(shape.slice(), strides, t._offset);
}

/** Runs fn with temporary views and disposes them afterwards (views created for a kernel call only). */
export function withViews<R>(views: Tensor[], originals: Tensor[], fn: () => R): R {
  try {
    return fn();
  } finally {
    for (let i = 0; i < views.length; i++) if (views[i] !== originals[i]) views[i].dispose();
  }
}

/** Sums a gradient over the dims that broadcasting expanded, giving `shape`. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g._shape, shape)) return g;
  const lead = g._shape.length - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g._shape.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && g._shape[i] !== 1)) dims.push(i);
  }
  let r = dims.length > 0 ? g.sum(dims, { keepdim: true }) : g;
  if (lead > 0 || !sameShape(r._shape, shape)) r = r.reshape([...shape]);
  return r;
}
