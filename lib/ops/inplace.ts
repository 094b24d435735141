// In-place updates (the trailing-underscore methods): they write into the tensor's own storage and
// bump its version, which autograd checks. They are for optimizers and initialisation, so they refuse
// tensors that take part in a recorded graph (as PyTorch refuses leaves that require grad).
import { isGradEnabled, noGrad } from '../autograd';
import { isFloating } from '../dtype';
import { BinaryOp, callee, meta, metaNum, UnaryOp } from '../native';
import { shapeStr } from '../shape';
import { Tensor } from '../tensor';
import { toDevice } from './cast';
import { scalarTensor } from './creation';
import { broadcastView } from './util';
import { contiguousRaw } from './views';

function checkWritable(op: string, x: Tensor): void {
  x._check(op);
  if (isGradEnabled() && x.requiresGrad) {
    throw new Error(
      `${op}: a tensor that requires grad is being used in an in-place operation; ` +
        'wrap the update in noGrad(() => ...) or use the out-of-place op',
    );
  }
  for (let d = 0; d < x.ndim; d++) {
    if (x._strides[d] === 0 && x._shape[d] > 1) {
      throw new Error(`${op}: cannot write into an expanded tensor (shape ${shapeStr(x._shape)} has a broadcast dim)`);
    }
  }
}

function source(op: string, x: Tensor, v: Tensor | number): Tensor {
  if (typeof v === 'number') {
    if (!isFloating(x.dtype) && !Number.isInteger(v) && op !== 'copy_') {
      throw new Error(`${op}: result type float32 can't be cast to the desired output type ${x.dtype} (value ${v})`);
    }
    const s = scalarTensor(v, x.dtype);
    if (x.device === 'cpu') return s;
    const moved = toDevice(s, x.device, op);
    s.dispose();
    return moved;
  }
  if (!(v instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor or a number`);
  v._check(op);
  // copy_ copies across devices, as PyTorch's does (the other in-place ops want one device).
  if (op === 'copy_' && v.device !== x.device) return noGrad(() => toDevice(v, x.device, op));
  return v;
}

// A source that shares x's memory in another layout (x.add_(x.t()), x.copy_(x.flip...)) would be read
// after some of its elements were overwritten: read it from a copy instead. Same-layout aliases
// (x.add_(x)) are safe, since each element only reads itself.
function unaliased(x: Tensor, v: Tensor): Tensor {
  if (v._storage !== x._storage || v.numel() === 0) return v;
  let same = v._offset === x._offset;
  for (let d = 0; same && d < x.ndim; d++) same = x._shape[d] === 1 || v._strides[d] === x._strides[d];
  return same ? v : contiguousRaw(v);
}

/** Copies src (broadcast to x's shape, any dtype) into x. */
export function copy_(x: Tensor, src: Tensor | number): Tensor {
  const op = 'copy_';
  checkWritable(op, x);
  const s = source(op, x, src);
  const v = broadcastView(s, x._shape, op);
  const r = unaliased(x, v);
  meta();
  x._meta();
  r._meta();
  callee().copy();
  if (r !== v) r.dispose();
  if (v !== s) v.dispose();
  if (s !== src) s.dispose();
  x._storage.version++;
  return x;
}

export function fill_(x: Tensor, value: number | boolean, op = 'fill_'): Tensor {
  checkWritable(op, x);
  meta();
  x._meta();
  metaNum(Number(value));
  callee().fill();
  x._storage.version++;
  return x;
}

export const zero_ = (x: Tensor): Tensor => fill_(x, 0, 'zero_');

function binaryInPlace(op: string, name: keyof typeof BinaryOp, x: Tensor, other: Tensor | number): Tensor {
  checkWritable(op, x);
  let s = source(op, x, other);
  const temps: Tensor[] = [];
  if (s !== other) temps.push(s);
  if (s.dtype !== x.dtype) {
    if (isFloating(s.dtype) && !isFloating(x.dtype)) {
      throw new Error(`${op}: result type ${s.dtype} can't be cast to the desired output type ${x.dtype}`);
    }
    s = s.to(x.dtype);
    temps.push(s);
  }
  let v: Tensor;
  try {
    v = broadcastView(s, x._shape, op);
  } catch (e) {
    for (const t of temps) t.dispose();
    throw e;
  }
  if (v !== s) temps.push(v);
  const r = unaliased(x, v);
  if (r !== v) temps.push(r);
  meta();
  x._meta();
  x._meta();
  r._meta();
  callee().binary(BinaryOp[name]);
  for (const t of temps) t.dispose();
  x._storage.version++;
  return x;
}

// x += alpha * other (sub_ is alpha negated); errors name `op`.
function addScaled(op: string, x: Tensor, other: Tensor | number, alpha: number): Tensor {
  if (alpha === 1) return binaryInPlace(op, 'Add', x, other);
  if (typeof other === 'number') return binaryInPlace(op, 'Add', x, other * alpha);
  checkWritable(op, x);
  const scaled = source(op, x, other).mul(alpha);
  try {
    return binaryInPlace(op, 'Add', x, scaled);
  } finally {
    scaled.dispose();
  }
}
export function add_(x: Tensor, other: Tensor | number, opts: { alpha?: number } = {}): Tensor {
  return addScaled('add_', x, other, opts.alpha ?? 1);
}
export function sub_(x: Tensor, other: Tensor | number, opts: { alpha?: number } = {}): Tensor {
  return addScaled('sub_', x, other, -(opts.alpha ?? 1));
}
export const mul_ = (x: Tensor, other: Tensor | number): Tensor => binaryInPlace('mul_', 'Mul', x, other);
export function div_(x: Tensor, other: Tensor | number): Tensor {
  x._check('div_');
  // True division gives floats: an integer tensor cannot hold the result (as PyTorch).
  if (!isFloating(x.dtype)) throw new Error(`div_: result type float32 can't be cast to the desired output type ${x.dtype}`);
  return binaryInPlace('div_', 'Div', x, other);
}

/** Clamps in place. */
export function clamp_(x: Tensor, min?: number | null, max?: number | null): Tensor {
  checkWritable('clamp_', x);
  meta();
  x._meta();
  x._meta();
  metaNum(min ?? NaN, max ?? NaN);
  callee().unary(UnaryOp.Clamp);
  x._storage.version++;
  return x;
}
