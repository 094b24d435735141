// Elementwise functions of one tensor, each with its derivative (native/kernels/elementwise.cpp
// computes both: forward via `unary`, dL/dx via `unaryBackward`).
import { record } from '../autograd';
import { isFloating } from '../dtype';
import { callee, meta, metaNum, native, UnaryOp } from '../native';
import { Tensor } from '../tensor';
import { binaryOp } from './binary';
import { empty } from './util';

type UnaryName = keyof typeof UnaryOp;

// Ops defined on integer tensors too; all others compute in float32 for int/bool inputs (as PyTorch
// does for exp(int) etc.).
const INTEGER_OK = new Set<UnaryName>(['Neg', 'Abs', 'Relu', 'Square', 'Sign', 'Clamp', 'LogicalNot']);
// Ops whose derivative is zero everywhere (or undefined): no graph is recorded.
const NOT_DIFFERENTIABLE = new Set<UnaryName>(['LogicalNot', 'Floor', 'Ceil', 'Round', 'Sign']);

function checkTensor(op: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${x === null ? 'null' : typeof x}`);
  x._check(op);
  return x;
}

/** @internal dx = g * f'(x) for unary op `code`, given its input x and output y. */
export function unaryGrad(code: number, g: Tensor, x: Tensor, y: Tensor, p0 = NaN, p1 = NaN): Tensor {
  const dx = empty(x._shape.slice(), x.dtype, x.device);
  meta();
  dx._meta();
  g._meta();
  x._meta();
  y._meta();
  metaNum(p0, p1);
  callee().unaryBackward(code);
  return dx;
}

export function unary(name: UnaryName, opName: string, xIn: Tensor, p0 = NaN, p1 = NaN): Tensor {
  const x = checkTensor(opName, xIn);
  const code = UnaryOp[name];
  // Rounding an integer tensor is the identity: a copy of the same dtype, as in PyTorch.
  if (!isFloating(x.dtype) && (name === 'Floor' || name === 'Ceil' || name === 'Round')) return x.clone();
  let src = x;
  if (!isFloating(x.dtype) && !INTEGER_OK.has(name)) src = x.to('float32');
  try {
    const out = empty(src._shape.slice(), name === 'LogicalNot' ? 'bool' : src.dtype, src.device);
    meta();
    out._meta();
    src._meta();
    metaNum(p0, p1);
    callee().unary(code);
    if (NOT_DIFFERENTIABLE.has(name)) return out;
    return record(out, `${name}Backward`, [x], (g) => [unaryGrad(code, g, x, out, p0, p1)], [x, out]);
  } finally {
    if (src !== x) src.dispose();
  }
}

export const neg = (x: Tensor): Tensor => unary('Neg', 'neg', x);
export const abs = (x: Tensor): Tensor => unary('Abs', 'abs', x);
export const exp = (x: Tensor): Tensor => unary('Exp', 'exp', x);
export const log = (x: Tensor): Tensor => unary('Log', 'log', x);
export const log1p = (x: Tensor): Tensor => unary('Log1p', 'log1p', x);
export const expm1 = (x: Tensor): Tensor => unary('Expm1', 'expm1', x);
export const sqrt = (x: Tensor): Tensor => unary('Sqrt', 'sqrt', x);
export const rsqrt = (x: Tensor): Tensor => unary('Rsqrt', 'rsqrt', x);
export const square = (x: Tensor): Tensor => unary('Square', 'square', x);
export const reciprocal = (x: Tensor): Tensor => unary('Reciprocal', 'reciprocal', x);
export const sin = (x: Tensor): Tensor => unary('Sin', 'sin', x);
export const cos = (x: Tensor): Tensor => unary('Cos', 'cos', x);
export const tanh = (x: Tensor): Tensor => unary('Tanh', 'tanh', x);
export const sigmoid = (x: Tensor): Tensor => unary('Sigmoid', 'sigmoid', x);
export const relu = (x: Tensor): Tensor => unary('Relu', 'relu', x);
export const silu = (x: Tensor): Tensor => unary('Silu', 'silu', x);
export const sign = (x: Tensor): Tensor => unary('Sign', 'sign', x);
export const floor = (x: Tensor): Tensor => unary('Floor', 'floor', x);
export const ceil = (x: Tensor): Tensor => unary('Ceil', 'ceil', x);
export const round = (x: Tensor): Tensor => unary('Round', 'round', x);
export const logicalNot = (x: Tensor): Tensor => unary('LogicalNot', 'logicalNot', x);

/** GELU; `approximate: 'tanh'` uses the tanh approximation, as in PyTorch. */
export function gelu(x: Tensor, opts: { approximate?: 'none' | 'tanh' } = {}): Tensor {
  const a = opts.approximate ?? 'none';
  if (a !== 'none' && a !== 'tanh') throw new Error(`gelu: approximate must be 'none' or 'tanh', got ${JSON.stringify(a)}`);
  return unary(a === 'tanh' ? 'GeluTanh' : 'Gelu', 'gelu', x);
}

export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  if (typeof negativeSlope !== 'number') throw new TypeError('leakyRelu: negativeSlope must be a number');
  return unary('LeakyRelu', 'leakyRelu', x, negativeSlope);
}

/** Clamps to [min, max]; either bound may be omitted (null/undefined). */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  const lo = min ?? NaN, hi = max ?? NaN;
  if (min == null && max == null) throw new Error('clamp: at least one of min and max must be given');
  for (const v of [min, max]) if (v != null && typeof v !== 'number') throw new TypeError('clamp: min and max must be numbers');
  if (!isFloating(x.dtype) && ((min != null && !Number.isInteger(min)) || (max != null && !Number.isInteger(max)))) {
    const xf = x.to('float32');
    try {
      return unary('Clamp', 'clamp', xf, lo, hi);
    } finally {
      xf.dispose();
    }
  }
  return unary('Clamp', 'clamp', x, lo, hi);
}

/** x ** exponent for a number exponent (tensor exponents go through the binary pow). */
export function powScalar(x: Tensor, exponent: number): Tensor {
  if (typeof exponent !== 'number') throw new TypeError('pow: exponent must be a number or a Tensor');
  if (!isFloating(x.dtype)) {
    // Integer base: an integer power stays exact in the binary integer kernel; others go to float32.
    if (Number.isInteger(exponent) && exponent >= 0) return binaryOp('Pow', 'pow', x, exponent);
    const xf = x.to('float32');
    try {
      return unary('PowScalar', 'pow', xf, exponent);
    } finally {
      xf.dispose();
    }
  }
  return unary('PowScalar', 'pow', x, exponent);
}
