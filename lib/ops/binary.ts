// Elementwise functions of two tensors (or a tensor and a number) with NumPy broadcasting and
// PyTorch's type promotion, each with its backward; plus comparisons, logical ops and where().
import { record } from '../autograd';
import { isFloating, promoteTypes, promoteWithScalar, type DType } from '../dtype';
import { BinaryOp, callee, meta } from '../native';
import { broadcastShapes } from '../shape';
import { Tensor } from '../tensor';
import { scalarTensor } from './creation';
import { deviceOf, empty, metaOperand, operandShape, sumToShape, type KernelOperand } from './util';

type BinaryName = keyof typeof BinaryOp;
export type Operand = Tensor | number | boolean;

const COMPARISON = new Set<BinaryName>(['Eq', 'Ne', 'Lt', 'Le', 'Gt', 'Ge']);
const LOGICAL = new Set<BinaryName>(['LogicalAnd', 'LogicalOr']);

function operandDType(op: string, v: Operand): DType | null {
  if (v instanceof Tensor) {
    v._check(op);
    return v.dtype;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return null;
  throw new TypeError(`${op}: expected a Tensor or a number, got ${v === null ? 'null' : typeof v}`);
}

/** The dtype both operands are computed in, and the output dtype. */
function resultTypes(name: BinaryName, op: string, a: Operand, b: Operand): { compute: DType; out: DType } {
  const da = operandDType(op, a), db = operandDType(op, b);
  let compute: DType;
  if (da && db) compute = promoteTypes(da, db);
  else if (da) compute = promoteWithScalar(da, b as number | boolean);
  else if (db) compute = promoteWithScalar(db, a as number | boolean);
  else throw new TypeError(`${op}: at least one operand must be a Tensor`);
  if (LOGICAL.has(name)) return { compute: 'bool', out: 'bool' };
  if (COMPARISON.has(name)) return { compute, out: 'bool' };
  if ((name === 'Div' || name === 'Atan2') && !isFloating(compute)) compute = 'float32';
  if (compute === 'bool' && name !== 'Maximum' && name !== 'Minimum') compute = 'int32';
  return { compute, out: compute };
}

function asTensor(v: Operand, dtype: DType, temps: Tensor[]): Tensor {
  if (v instanceof Tensor) {
    if (v.dtype === dtype) return v;
    const c = v.to(dtype);
    temps.push(c);
    return c;
  }
  const t = scalarTensor(Number(v), dtype);
  temps.push(t);
  return t;
}

// A tensor in the compute dtype (a converted copy goes to temps), or a number passed by value.
function asOperand(v: Operand, dtype: DType, temps: Tensor[]): KernelOperand {
  if (v instanceof Tensor) return asTensor(v, dtype, temps);
  return { scalar: Number(v), dtype };
}

/** Runs the binary kernel: out = a (op) b, broadcast. No autograd. */
function compute(name: BinaryName, op: string, a: Operand, b: Operand): Tensor {
  const { compute: dt, out: outType } = resultTypes(name, op, a, b);
  const temps: Tensor[] = [];
  try {
    const ta = asOperand(a, dt, temps), tb = asOperand(b, dt, temps);
    const shape = broadcastShapes(op, operandShape(ta), operandShape(tb));
    const out = empty(shape, outType, deviceOf(op, a, b));
    meta();
    out._meta();
    metaOperand(ta, shape, op);
    metaOperand(tb, shape, op);
    callee().binary(BinaryOp[name]);
    return out;
  } finally {
    for (const t of temps) t.dispose();
  }
}

// Gradient of an input: g reduced to the input's shape (null for numbers and non-grad tensors).
function gradFor(x: Operand, g: () => Tensor): Tensor | null {
  if (!(x instanceof Tensor) || !x.requiresGrad) return null;
  return sumToShape(g(), x._shape);
}

function tensors(...xs: Operand[]): Tensor[] {
  return xs.filter((x): x is Tensor => x instanceof Tensor);
}

/** The public binary op with autograd. */
export function binaryOp(name: BinaryName, op: string, a: Operand, b: Operand): Tensor {
  const out = compute(name, op, a, b);
  if (COMPARISON.has(name) || LOGICAL.has(name) || !isFloating(out.dtype)) return out;
  const inputs = tensors(a, b);
  const grads = (g: Tensor): (Tensor | null)[] => {
    let ga: Tensor | null = null, gb: Tensor | null = null;
    switch (name) {
      case 'Add':
        ga = gradFor(a, () => g);
        gb = gradFor(b, () => g);
        break;
      case 'Sub':
        ga = gradFor(a, () => g);
        gb = gradFor(b, () => g.neg());
        break;
      case 'Mul':
        ga = gradFor(a, () => g.mul(b));
        gb = gradFor(b, () => g.mul(a));
        break;
      case 'Div':
        ga = gradFor(a, () => g.div(b));
        // -g a / b^2, recomputed rather than read from `out` (not saved: it may be changed in place)
        gb = gradFor(b, () => g.mul(compute('Div', op, a, b)).div(b).neg());
        break;
      case 'Pow':
        // d/da a^b = b a^(b-1);  d/db a^b = a^b log a  (0 where a == 0 and b >= 0, as in PyTorch)
        // (0 where b == 0, as PyTorch: not 0 * a^-1, which is nan at a == 0)
        ga = gradFor(a, () => {
          const d = g.mul(b).mul(compute('Pow', op, a, typeof b === 'number' ? b - 1 : (b as Tensor).sub(1)));
          if (!(b instanceof Tensor)) return Number(b) === 0 ? where(scalarTensor(1, 'bool'), 0, d) : d;
          return where(compute('Eq', op, b, 0), 0, d);
        });
        gb = gradFor(b, () => {
          const base = a instanceof Tensor ? a : scalarTensor(Number(a), out.dtype);
          const term = g.mul(compute('Pow', op, a, b)).mul(base.log());
          const zero = base.eq(0).logicalAnd(compute('Ge', op, b, 0));
          return where(zero, 0, term);
        });
        break;
      case 'Maximum':
      case 'Minimum': {
        // The larger (smaller) input takes the gradient; ties split it evenly, as in PyTorch.
        const wins = (x: Operand, y: Operand): Tensor =>
          compute(name === 'Maximum' ? 'Gt' : 'Lt', op, x, y).to(out.dtype).add(compute('Eq', op, x, y).to(out.dtype).mul(0.5));
        ga = gradFor(a, () => g.mul(wins(a, b)));
        gb = gradFor(b, () => g.mul(wins(b, a)));
        break;
      }
      case 'Remainder':
        ga = gradFor(a, () => g);
        gb = gradFor(b, () => g.mul(compute('Div', op, a, b).floor()).neg());
        break;
      case 'Atan2': {
        // atan2(a, b): d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2)
        const sq = (v: Operand): Operand => (v instanceof Tensor ? compute('Mul', op, v, v) : Number(v) * Number(v));
        const denom = (): Tensor => compute('Add', op, sq(a), sq(b));
        ga = gradFor(a, () => g.mul(b).div(denom()));
        gb = gradFor(b, () => g.mul(a).neg().div(denom()));
        break;
      }
      default:
        break;
    }
    const result: (Tensor | null)[] = [];
    if (a instanceof Tensor) result.push(ga);
    if (b instanceof Tensor) result.push(gb);
    return result;
  };
  const saved = name === 'Add' || name === 'Sub' ? [] : inputs;
  return record(out, `${name}Backward`, inputs, grads, saved);
}

// a (op) alpha * b. The scaled temporary is freed at once unless it is part of a recorded graph.
function withAlpha(name: 'Add' | 'Sub', op: string, a: Operand, b: Operand, alpha: number | undefined): Tensor {
  if (alpha === undefined || alpha === 1) return binaryOp(name, op, a, b);
  if (!(b instanceof Tensor)) return binaryOp(name, op, a, Number(b) * alpha);
  const scaled = binaryOp('Mul', op, b, alpha);
  try {
    return binaryOp(name, op, a, scaled);
  } finally {
    if (!scaled.requiresGrad) scaled.dispose();
  }
}
export const add = (a: Operand, b: Operand, opts: { alpha?: number } = {}): Tensor => withAlpha('Add', 'add', a, b, opts.alpha);
export const sub = (a: Operand, b: Operand, opts: { alpha?: number } = {}): Tensor => withAlpha('Sub', 'sub', a, b, opts.alpha);
export const mul = (a: Operand, b: Operand): Tensor => binaryOp('Mul', 'mul', a, b);
export const div = (a: Operand, b: Operand): Tensor => binaryOp('Div', 'div', a, b);
export const remainder = (a: Operand, b: Operand): Tensor => binaryOp('Remainder', 'remainder', a, b);
export const atan2 = (a: Operand, b: Operand): Tensor => binaryOp('Atan2', 'atan2', a, b);
export const maximum = (a: Tensor, b: Operand): Tensor => binaryOp('Maximum', 'maximum', a, b);
export const minimum = (a: Tensor, b: Operand): Tensor => binaryOp('Minimum', 'minimum', a, b);
export const eq = (a: Operand, b: Operand): Tensor => binaryOp('Eq', 'eq', a, b);
export const ne = (a: Operand, b: Operand): Tensor => binaryOp('Ne', 'ne', a, b);
export const lt = (a: Operand, b: Operand): Tensor => binaryOp('Lt', 'lt', a, b);
export const le = (a: Operand, b: Operand): Tensor => binaryOp('Le', 'le', a, b);
export const gt = (a: Operand, b: Operand): Tensor => binaryOp('Gt', 'gt', a, b);
export const ge = (a: Operand, b: Operand): Tensor => binaryOp('Ge', 'ge', a, b);
export const logicalAnd = (a: Operand, b: Operand): Tensor => binaryOp('LogicalAnd', 'logicalAnd', a, b);
export const logicalOr = (a: Operand, b: Operand): Tensor => binaryOp('LogicalOr', 'logicalOr', a, b);

/** cond ? a : b elementwise, broadcasting all three; cond must be bool. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const op = 'where';
  if (!(cond instanceof Tensor)) throw new TypeError(`${op}: condition must be a Tensor`);
  cond._check(op);
  if (cond.dtype !== 'bool') throw new TypeError(`${op}: condition must be a bool tensor, got ${cond.dtype}`);
  const da = operandDType(op, a), db = operandDType(op, b);
  const dt: DType =
    da && db ? promoteTypes(da, db) : da ? promoteWithScalar(da, b as number) : db ? promoteWithScalar(db, a as number) : 'float32';
  const temps: Tensor[] = [];
  let out: Tensor;
  try {
    const ta = asOperand(a, dt, temps), tb = asOperand(b, dt, temps);
    const shape = broadcastShapes(op, broadcastShapes(op, cond._shape, operandShape(ta)), operandShape(tb));
    out = empty(shape, dt, deviceOf(op, cond, a, b));
    meta();
    out._meta();
    metaOperand(cond, shape, op);
    metaOperand(ta, shape, op);
    metaOperand(tb, shape, op);
    callee().where();
  } finally {
    for (const t of temps) t.dispose();
  }
  if (!isFloating(dt)) return out;
  return record(
    out,
    'WhereBackward',
    tensors(a, b),
    (g) => {
      const r: (Tensor | null)[] = [];
      if (a instanceof Tensor) r.push(gradFor(a, () => where(cond, g, 0)));
      if (b instanceof Tensor) r.push(gradFor(b, () => where(cond, 0, g)));
      return r;
    },
    [cond],
  );
}

/** a ** b for tensor or number operands. */
export function pow(a: Operand, b: Operand): Tensor {
  if (a instanceof Tensor && typeof b === 'number') return a.pow(b);
  return binaryOp('Pow', 'pow', a, b);
}
