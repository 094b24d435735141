// Gather / scatter along a dim (graph networks and embeddings need them). Index tensors are int32
// (bounds are checked in native before any access).
//   indexSelect(x, dim, index)           out[.., i, ..] = x[.., index[i], ..]
//   indexAdd(x, dim, index, source)      out = x; out[.., index[i], ..] += alpha * source[.., i, ..]
//   gather(x, dim, index)                out[p] = x[p with p[dim] = index[p]]
//   scatterAdd(x, dim, index, src)       out = x; out[p with p[dim] = index[p]] += src[p]
// Each one's gradient is the other of its pair.
import { record } from '../autograd';
import { callee, meta, metaNum, native } from '../native';
import { normalizeDim, shapeStr } from '../shape';
import { Tensor } from '../tensor';
import { empty } from './util';
import { contiguousRaw, rawView } from './views';
import { halfOperand, viaFloat32 } from './half_fallback';

function check(op: string, x: unknown, what: string): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: ${what} must be a Tensor`);
  x._check(op);
  return x;
}
function checkIndex(op: string, index: unknown): Tensor {
  const t = check(op, index, 'index');
  if (t.dtype !== 'int32') throw new TypeError(`${op}: index must be an int32 tensor, got ${t.dtype}`);
  return t;
}

export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  const op = 'indexSelect';
  check(op, x, 'input');
  checkIndex(op, index);
  const half = halfOperand(x);
  if (half) return viaFloat32(half, [x], (xf) => indexSelect(xf, dim, index));
  if (index.ndim > 1) throw new Error(`${op}: index must be 0-d or 1-D, got shape ${shapeStr(index._shape)}`);
  const idx = index.ndim === 0 ? index.reshape([1]) : index;
  const d = normalizeDim(op, dim, x.ndim);
  const src = x.ndim === 0 ? x.reshape([1]) : x;
  const shape = src._shape.slice();
  shape[d] = idx._shape[0];
  const out = empty(shape, x.dtype, x.device);
  meta();
  out._meta();
  src._meta();
  idx._meta();
  metaNum(d);
  callee().indexSelect();
  // 0-d input or index: free the [1]-shaped temporaries (the result view keeps out's storage).
  if (idx !== index) idx.dispose();
  if (src !== x) src.dispose();
  const result = x.ndim === 0 ? rawView(out, [], [], 0) : out;
  if (result !== out) out.dispose();
  const xShape = x._shape.slice();
  return record(
    result,
    'IndexSelectBackward',
    [x],
    (g) => {
      const i1 = index.ndim === 0 ? index.reshape([1]) : index;
      return [Tensor._empty(xShape, g.dtype, true, g.device).indexAdd(d, i1, g.reshape(shape))];
    },
    [index],
  );
}

export function indexAdd(x: Tensor, dim: number, index: Tensor, source: Tensor, opts: { alpha?: number } = {}): Tensor {
  const op = 'indexAdd';
  check(op, x, 'input');
  checkIndex(op, index);
  check(op, source, 'source');
  const half = halfOperand(x, source);
  if (half) return viaFloat32(half, [x, source], (xf, sf) => indexAdd(xf, dim, index, sf, opts));
  if (index.ndim !== 1) throw new Error(`${op}: index must be 1-D, got shape ${shapeStr(index._shape)}`);
  const d = normalizeDim(op, dim, x.ndim);
  if (source.ndim !== x.ndim || source._shape[d] !== index._shape[0] || source._shape.some((s, k) => k !== d && s !== x._shape[k])) {
    throw new Error(`${op}: source shape ${shapeStr(source._shape)} does not fit input ${shapeStr(x._shape)} with ${index._shape[0]} indices along dim ${d}`);
  }
  const alpha = opts.alpha ?? 1;
  const src = source.dtype === x.dtype ? source : source.to(x.dtype);
  const out = contiguousRaw(x);
  meta();
  out._meta();
  index._meta();
  src._meta();
  metaNum(d, alpha);
  callee().indexAdd();
  if (src !== source) src.dispose();
  return record(out, 'IndexAddBackward', [x, source], (g) => [g, source.requiresGrad ? g.indexSelect(d, index).mul(alpha) : null], [index]);
}

function checkGatherShapes(op: string, x: Tensor, d: number, index: Tensor, what: string): void {
  if (index.ndim !== x.ndim) {
    throw new Error(`${op}: index ${shapeStr(index._shape)} and ${what} ${shapeStr(x._shape)} must have the same number of dims`);
  }
  for (let k = 0; k < x.ndim; k++) {
    if (k !== d && index._shape[k] > x._shape[k]) {
      throw new Error(`${op}: index ${shapeStr(index._shape)} is larger than ${what} ${shapeStr(x._shape)} at dim ${k}`);
    }
  }
}

export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  const op = 'gather';
  check(op, x, 'input');
  checkIndex(op, index);
  const half = halfOperand(x);
  if (half) return viaFloat32(half, [x], (xf) => gather(xf, dim, index));
  const d = normalizeDim(op, dim, x.ndim);
  checkGatherShapes(op, x, d, index, 'input');
  const out = empty(index._shape.slice(), x.dtype, x.device);
  meta();
  out._meta();
  x._meta();
  index._meta();
  metaNum(d);
  callee().gather();
  const xShape = x._shape.slice();
  return record(out, 'GatherBackward', [x], (g) => [Tensor._empty(xShape, g.dtype, true, g.device).scatterAdd(d, index, g)], [index]);
}

export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const op = 'scatterAdd';
  check(op, x, 'input');
  checkIndex(op, index);
  check(op, src, 'src');
  const half = halfOperand(x, src);
  if (half) return viaFloat32(half, [x, src], (xf, sf) => scatterAdd(xf, dim, index, sf));
  const d = normalizeDim(op, dim, x.ndim);
  checkGatherShapes(op, x, d, index, 'input');
  if (src.ndim !== index.ndim || index._shape.some((s, k) => s > src._shape[k])) {
    throw new Error(`${op}: index ${shapeStr(index._shape)} is larger than src ${shapeStr(src._shape)}`);
  }
  // Only the part of src that index covers is used, as in PyTorch.
  const srcView = index._shape.every((s, k) => s === src._shape[k]) ? src : src._view(index._shape.slice(), src._strides.slice(), src._offset);
  const srcCast = srcView.dtype === x.dtype ? srcView : srcView.to(x.dtype);
  const out = contiguousRaw(x);
  meta();
  out._meta();
  index._meta();
  srcCast._meta();
  metaNum(d);
  callee().scatterAdd();
  if (srcCast !== srcView) srcCast.dispose();
  if (srcView !== src) srcView.dispose();
  const srcShape = src._shape.slice();
  return record(
    out,
    'ScatterAddBackward',
    [x, src],
    (g) => {
      if (!src.requiresGrad) return [g, null];
      const part = g.gather(d, index);
      if (index._shape.every((s, k) => s === srcShape[k])) return [g, part];
      // Positions of src outside index's extent get no gradient.
      const full = Tensor._empty(srcShape, g.dtype, true, g.device);
      const region = full._view(index._shape.slice(), full._strides.slice(), 0);
      meta();
      region._meta();
      part._meta();
      callee().copy();
      region.dispose();
      return [g, full];
    },
    [index],
  );
}
