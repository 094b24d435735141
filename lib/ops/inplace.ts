// In-place updates (the trailing-underscore methods): they write into the tensor's own storage and
// bump its version, which autograd checks. They are for optimizers and initialisation, so they refuse
// tensors that take part in a recorded graph (as PyTorch refuses leaves that require grad).
import { isGradEnabled } from '../autograd';
import { isFloating } from '../dtype';
import { BinaryOp, meta, metaNum, native, UnaryOp } from '../native';
import { shapeStr } from '../shape';
import { Tensor } from '../tensor';
import { scalarTensor } from './creation';
import { broadcastView } from './util';

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
  if (typeof v === 'number') return scalarTensor(v, x.dtype);
  if (!(v instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor or a number`);
  v._check(op);
  return v;
}

/** Copies src (broadcast to x's shape, any dtype) into x. */
export function copy_(x: Tensor, src: Tensor | number): Tensor {
  const op = 'copy_';
  checkWritable(op, x);
  const s = source(op, x, src);
  const v = broadcastView(s, x._shape);
  meta();
  x._meta();
  v._meta();
  native.copy(x._storage.native, v._storage.native);
  if (v !== s) v.dispose();
  if (s !== src) s.dispose();
  x._storage.version++;
  return x;
}

export function fill_(x: Tensor, value: number | boolean): Tensor {
  checkWritable('fill_', x);
  meta();
  x._meta();
  metaNum(Number(value));
  native.fill(x._storage.native);
  x._storage.version++;
  return x;
}

export const zero_ = (x: Tensor): Tensor => fill_(x, 0);

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
  const v = broadcastView(s, x._shape);
  if (v !== s) temps.push(v);
  meta();
  x._meta();
  x._meta();
  v._meta();
  native.binary(BinaryOp[name], x._storage.native, x._storage.native, v._storage.native);
  for (const t of temps) t.dispose();
  x._storage.version++;
  return x;
}

export function add_(x: Tensor, other: Tensor | number, opts: { alpha?: number } = {}): Tensor {
  if (opts.alpha !== undefined && opts.alpha !== 1) {
    if (typeof other === 'number') return binaryInPlace('add_', 'Add', x, other * opts.alpha);
    const scaled = other.mul(opts.alpha);
    try {
      return binaryInPlace('add_', 'Add', x, scaled);
    } finally {
      scaled.dispose();
    }
  }
  return binaryInPlace('add_', 'Add', x, other);
}
export function sub_(x: Tensor, other: Tensor | number, opts: { alpha?: number } = {}): Tensor {
  return add_(x, typeof other === 'number' ? -other * (opts.alpha ?? 1) : other, typeof other === 'number' ? {} : { alpha: -(opts.alpha ?? 1) });
}
export const mul_ = (x: Tensor, other: Tensor | number): Tensor => binaryInPlace('mul_', 'Mul', x, other);
export const div_ = (x: Tensor, other: Tensor | number): Tensor => binaryInPlace('div_', 'Div', x, other);

/** Clamps in place. */
export function clamp_(x: Tensor, min?: number | null, max?: number | null): Tensor {
  checkWritable('clamp_', x);
  meta();
  x._meta();
  x._meta();
  metaNum(min ?? NaN, max ?? NaN);
  native.unary(UnaryOp.Clamp, x._storage.native, x._storage.native);
  x._storage.version++;
  return x;
}
