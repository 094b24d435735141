// softmax / logSoftmax along one dim (native/kernels/softmax.cpp computes forward and backward on
// the contiguous [outer, n, inner] layout).
import { record } from '../autograd';
import { isFloating } from '../dtype';
import { callee, meta, metaNum, native } from '../native';
import { normalizeDim } from '../shape';
import { Tensor } from '../tensor';
import { empty } from './util';
import { contiguousRaw } from './views';
import { halfOperand, viaFloat32 } from './half_fallback';

function split(x: Tensor, d: number): [number, number, number] {
  let outer = 1, inner = 1;
  for (let i = 0; i < d; i++) outer *= x._shape[i];
  for (let i = d + 1; i < x.ndim; i++) inner *= x._shape[i];
  return [outer, x.ndim === 0 ? 1 : x._shape[d], inner];
}

function softmaxImpl(log: boolean, op: string, x: Tensor, dim: number): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor`);
  x._check(op);
  if (dim === undefined) throw new Error(`${op}: dim is required`);
  const d = normalizeDim(op, dim, x.ndim);
  const half = halfOperand(x);
  if (half) return viaFloat32(half, [x], (xf) => softmaxImpl(log, op, xf, dim));
  const src = isFloating(x.dtype) ? (x.isContiguous() ? x : contiguousRaw(x)) : x.to('float32');
  const [outer, n, inner] = split(src, d);
  const out = empty(src._shape.slice(), src.dtype, src.device);
  // Empty tensors: nothing to compute.
  if (out.numel() > 0) {
    meta();
    out._meta();
    src._meta();
    metaNum(outer, n, inner);
    callee().softmax(log);
  }
  if (src !== x) src.dispose();
  return record(
    out,
    log ? 'LogSoftmaxBackward' : 'SoftmaxBackward',
    [x],
    (g) => {
      if (out.numel() === 0) return [empty(out._shape.slice(), out.dtype, out.device)];
      const gc = g.isContiguous() ? g : contiguousRaw(g);
      const dx = empty(out._shape.slice(), out.dtype, out.device);
      meta();
      dx._meta();
      gc._meta();
      out._meta();
      metaNum(outer, n, inner);
      callee().softmaxBackward(log);
      if (gc !== g) gc.dispose();
      return [dx];
    },
    [out],
  );
}

export const softmax = (x: Tensor, dim: number): Tensor => softmaxImpl(false, 'softmax', x, dim);
export const logSoftmax = (x: Tensor, dim: number): Tensor => softmaxImpl(true, 'logSoftmax', x, dim);
