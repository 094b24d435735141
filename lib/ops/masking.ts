// Triangular masks and masked fill: tril / triu keep the lower / upper triangle of the last two dims
// (the rest becomes 0), maskedFill writes a value where a bool mask is true. All three are `where`
// with a mask built once per call, so their gradients are where's: the kept elements pass it through.
import { noGrad } from '../autograd';
import { TYPED_ARRAY } from '../dtype';
import { shapeStr } from '../shape';
import { Tensor } from '../tensor';
import { where } from './binary';
import { tensor } from './creation';

function check(op: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor`);
  x._check(op);
  return x;
}

/** r cast to x's dtype (only integer and bool x get promoted by where; no gradient flows there). */
function sameDType(r: Tensor, x: Tensor): Tensor {
  if (r.dtype === x.dtype) return r;
  const c = r.to(x.dtype);
  r.dispose();
  return c;
}

/** [rows, cols] bool mask: true where col - row <= diagonal (lower) or >= diagonal (upper). */
export function triangleMask(rows: number, cols: number, diagonal: number, lower: boolean): Tensor {
  const m = new Uint8Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) m[i * cols + j] = (lower ? j - i <= diagonal : j - i >= diagonal) ? 1 : 0;
  }
  return tensor(m, { dtype: 'bool', shape: [rows, cols] });
}

function triangle(op: string, x: Tensor, diagonal: number, lower: boolean): Tensor {
  check(op, x);
  if (x.ndim < 2) throw new Error(`${op}: input must have at least 2 dims, got ${shapeStr(x._shape)}`);
  if (!Number.isInteger(diagonal)) throw new TypeError(`${op}: diagonal must be an integer, got ${diagonal}`);
  // The mask is not disposed here: where's backward reads it.
  const mask = triangleMask(x._shape[x.ndim - 2], x._shape[x.ndim - 1], diagonal, lower);
  return sameDType(where(mask, x, 0), x);
}

/** Lower triangle of the last two dims (col - row <= diagonal), zeros above. Like torch.tril. */
export function tril(x: Tensor, diagonal = 0): Tensor {
  return triangle('tril', x, diagonal, true);
}
/** Upper triangle of the last two dims (col - row >= diagonal), zeros below. Like torch.triu. */
export function triu(x: Tensor, diagonal = 0): Tensor {
  return triangle('triu', x, diagonal, false);
}

/** x with `value` where mask (bool, broadcastable to x) is true. Like Tensor.masked_fill. */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  const op = 'maskedFill';
  check(op, x);
  check(op, mask);
  if (mask.dtype !== 'bool') throw new TypeError(`${op}: mask must be a bool tensor, got ${mask.dtype}`);
  if (typeof value !== 'number') throw new TypeError(`${op}: value must be a number`);
  return sameDType(where(mask, value, x), x);
}

/**
 * The additive causal mask of nn.Transformer: [sz, sz] with -Infinity above the diagonal and 0 on
 * and below it (position i may attend to positions <= i).
 */
export function generateSquareSubsequentMask(sz: number, opts: { dtype?: 'float32' | 'float64' } = {}): Tensor {
  if (!Number.isInteger(sz) || sz < 0) throw new RangeError(`generateSquareSubsequentMask: size must be a non-negative integer, got ${sz}`);
  const dtype = opts.dtype ?? 'float32';
  const m = new TYPED_ARRAY[dtype](sz * sz);
  for (let i = 0; i < sz; i++) for (let j = i + 1; j < sz; j++) m[i * sz + j] = -Infinity;
  return noGrad(() => tensor(m, { dtype, shape: [sz, sz] }));
}
