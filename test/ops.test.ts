// Forward tests of every op against plain JS reference computations (test/helpers.ts), on random
// inputs of awkward sizes (0-d, zero-sized, size-1, odd and prime dims), for every CPU kernel level.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as tf from '../lib';
import {
  arr, expectClose, expectExact, fromNested, map, matmulRef, numel, pickRef, range, rargmax, rargmin,
  reduce, rlogsumexp, rmax, rmean, rmin, rprod, rsum, rvar, softmaxRef, unravel, zip, zip3, type Arr,
} from './helpers';

// ---- small JS references -------------------------------------------------------------------------

/** erf to ~1e-14: Taylor series for |x| < 2, erfc continued fraction beyond. */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax >= 2) {
    let f = ax;
    for (let k = 80; k >= 1; k--) f = ax + k / 2 / f;
    return Math.sign(x) * (1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f);
  }
  let term = x, sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
const geluRef = (v: number): number => 0.5 * v * (1 + erf(v / Math.SQRT2));
const geluTanhRef = (v: number): number => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
/** Round half to even, as torch.round. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
/** Python-style remainder (sign of the divisor), in float32 for float32 operands. */
function remainderRef(a: number, b: number, fr: (v: number) => number): number {
  let r = a % b;
  if (r !== 0 && r < 0 !== b < 0) r = fr(r + b);
  return r;
}

const SHAPES: number[][] = [[], [0], [1], [7], [13, 1], [3, 0, 2], [2, 31], [5, 7, 3]];

type Domain = 'any' | 'pos' | 'gtm1' | 'away0';
function input(shape: number[], domain: Domain, dtype: tf.DType = 'float32'): tf.Tensor {
  return tf.noGrad(() => {
    const r = tf.randn(shape, { dtype });
    switch (domain) {
      case 'any': return r.mul(3);
      case 'pos': return tf.rand(shape, { dtype }).mul(5).add(0.05);
      case 'gtm1': return tf.rand(shape, { dtype }).mul(6).sub(0.95);
      case 'away0': return r.sign().add(r.eq(0).float()).mul(r.abs().add(0.25));
    }
  });
}

interface UnaryCase {
  name: string;
  f: (x: tf.Tensor) => tf.Tensor;
  ref: (v: number) => number;
  domain: Domain;
  atol?: number;
  rtol?: number;
}
const UNARY: UnaryCase[] = [
  { name: 'neg', f: tf.neg, ref: (v) => -v, domain: 'any' },
  { name: 'abs', f: tf.abs, ref: Math.abs, domain: 'any' },
  { name: 'exp', f: tf.exp, ref: Math.exp, domain: 'any' },
  { name: 'log', f: tf.log, ref: Math.log, domain: 'pos' },
  { name: 'log1p', f: tf.log1p, ref: Math.log1p, domain: 'gtm1' },
  { name: 'expm1', f: tf.expm1, ref: Math.expm1, domain: 'any' },
  { name: 'sqrt', f: tf.sqrt, ref: Math.sqrt, domain: 'pos' },
  { name: 'rsqrt', f: tf.rsqrt, ref: (v) => 1 / Math.sqrt(v), domain: 'pos' },
  { name: 'square', f: tf.square, ref: (v) => v * v, domain: 'any' },
  { name: 'reciprocal', f: tf.reciprocal, ref: (v) => 1 / v, domain: 'away0' },
  { name: 'sin', f: tf.sin, ref: Math.sin, domain: 'any' },
  { name: 'cos', f: tf.cos, ref: Math.cos, domain: 'any' },
  { name: 'tanh', f: tf.tanh, ref: Math.tanh, domain: 'any' },
  { name: 'sigmoid', f: tf.sigmoid, ref: sigmoid, domain: 'any' },
  { name: 'relu', f: tf.relu, ref: (v) => Math.max(v, 0), domain: 'any' },
  { name: 'gelu', f: (x) => tf.gelu(x), ref: geluRef, domain: 'any' },
  { name: "gelu approximate 'none'", f: (x) => x.gelu({ approximate: 'none' }), ref: geluRef, domain: 'any' },
  { name: "gelu approximate 'tanh'", f: (x) => tf.gelu(x, { approximate: 'tanh' }), ref: geluTanhRef, domain: 'any' },
  { name: 'silu', f: tf.silu, ref: (v) => v * sigmoid(v), domain: 'any' },
  { name: 'leakyRelu default slope', f: (x) => tf.leakyRelu(x), ref: (v) => (v > 0 ? v : 0.01 * v), domain: 'any' },
  { name: 'leakyRelu 0.2', f: (x) => x.leakyRelu(0.2), ref: (v) => (v > 0 ? v : 0.2 * v), domain: 'any' },
  { name: 'sign', f: tf.sign, ref: Math.sign, domain: 'any' },
  { name: 'floor', f: tf.floor, ref: Math.floor, domain: 'any' },
  { name: 'ceil', f: tf.ceil, ref: Math.ceil, domain: 'any' },
  { name: 'round', f: tf.round, ref: roundHalfEven, domain: 'any' },
  { name: 'clamp(-1, 0.5)', f: (x) => tf.clamp(x, -1, 0.5), ref: (v) => Math.min(Math.max(v, -1), 0.5), domain: 'any' },
  { name: 'clamp(min only)', f: (x) => x.clamp(0.25), ref: (v) => Math.max(v, 0.25), domain: 'any' },
  { name: 'clamp(null, max)', f: (x) => x.clamp(null, -0.5), ref: (v) => Math.min(v, -0.5), domain: 'any' },
  { name: 'pow 2', f: (x) => x.pow(2), ref: (v) => v ** 2, domain: 'any' },
  { name: 'pow 3', f: (x) => tf.pow(x, 3), ref: (v) => v ** 3, domain: 'any' },
  { name: 'pow 0', f: (x) => x.pow(0), ref: () => 1, domain: 'any' },
  { name: 'pow 1', f: (x) => x.pow(1), ref: (v) => v, domain: 'any' },
  { name: 'pow 0.5', f: (x) => x.pow(0.5), ref: Math.sqrt, domain: 'pos' },
  { name: 'pow -1', f: (x) => x.pow(-1), ref: (v) => 1 / v, domain: 'away0' },
  { name: 'pow -2.5', f: (x) => x.pow(-2.5), ref: (v) => v ** -2.5, domain: 'pos' },
  { name: 'pow 1.7', f: (x) => x.pow(1.7), ref: (v) => v ** 1.7, domain: 'pos' },
];

interface BinaryCase {
  name: string;
  f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
  ref: (a: number, b: number) => number;
  da?: Domain;
  db?: Domain;
  bool?: boolean;
}
const BINARY: BinaryCase[] = [
  { name: 'add', f: tf.add, ref: (a, b) => a + b },
  { name: 'add alpha', f: (a, b) => tf.add(a, b, { alpha: -2 }), ref: (a, b) => a - 2 * b },
  { name: 'sub', f: tf.sub, ref: (a, b) => a - b },
  { name: 'sub alpha', f: (a, b) => a.sub(b, { alpha: 0.5 }), ref: (a, b) => a - 0.5 * b },
  { name: 'mul', f: tf.mul, ref: (a, b) => a * b },
  { name: 'div', f: tf.div, ref: (a, b) => a / b, db: 'away0' },
  { name: 'pow', f: tf.pow, ref: (a, b) => a ** b, da: 'pos' },
  { name: 'remainder', f: tf.remainder, ref: (a, b) => remainderRef(a, b, Math.fround), db: 'away0' },
  { name: 'atan2', f: tf.atan2, ref: Math.atan2 },
  { name: 'maximum', f: tf.maximum, ref: Math.max },
  { name: 'minimum', f: tf.minimum, ref: Math.min },
  { name: 'eq', f: tf.eq, ref: (a, b) => +(a === b), bool: true },
  { name: 'ne', f: tf.ne, ref: (a, b) => +(a !== b), bool: true },
  { name: 'lt', f: tf.lt, ref: (a, b) => +(a < b), bool: true },
  { name: 'le', f: tf.le, ref: (a, b) => +(a <= b), bool: true },
  { name: 'gt', f: tf.gt, ref: (a, b) => +(a > b), bool: true },
  { name: 'ge', f: tf.ge, ref: (a, b) => +(a >= b), bool: true },
  { name: 'logicalAnd', f: tf.logicalAnd, ref: (a, b) => +(a !== 0 && b !== 0), bool: true },
  { name: 'logicalOr', f: tf.logicalOr, ref: (a, b) => +(a !== 0 || b !== 0), bool: true },
];

const BROADCAST_PAIRS: [number[], number[]][] = [
  [[7], [7]],
  [[], []],
  [[], [3, 4]],
  [[31], []],
  [[13, 1], [1, 7]],
  [[2, 1, 3], [5, 1]],
  [[1], [2, 3, 5]],
  [[0, 3], [1, 3]],
  [[4, 0], [1]],
  [[4, 1, 1, 1], [1, 5, 1, 3]],
];

// Equal values appear often in comparisons only if we make them: round the inputs to halves.
function cmpInput(shape: number[]): tf.Tensor {
  return tf.noGrad(() => tf.randn(shape).mul(2).round().div(2));
}

// ---- the forward suite, run once per CPU kernel level ---------------------------------------------

function forwardSuite(): void {
  describe('unary ops', () => {
    for (const c of UNARY) {
      it(`${c.name} matches the JS reference at awkward shapes (float32 and float64)`, () => {
        for (const dtype of ['float32', 'float64'] as const) {
          for (const shape of SHAPES) {
            const x = input(shape, c.domain, dtype);
            const y = c.f(x);
            expect(y.dtype).toBe(dtype);
            const tol = dtype === 'float64' ? { rtol: 1e-12, atol: 1e-12 } : { rtol: c.rtol ?? 2e-6, atol: c.atol ?? 1e-6 };
            expectClose(y, map(arr(x), c.ref), tol);
          }
        }
      });
    }

    it('round rounds halves to even and keeps -0.0 sign-correct values', () => {
      const x = tf.tensor([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.49, -3.51, 1e7 + 0.5]);
      expect(Array.from(tf.round(x).dataSync())).toEqual([0, 2, 2, -0, -2, -2, 3, -4, roundHalfEven(Math.fround(1e7 + 0.5))]);
    });

    it('sign of 0 is 0 and relu/sign/clamp/leakyRelu propagate NaN', () => {
      const x = tf.tensor([NaN, 0, -0, 3, -3, Infinity, -Infinity]);
      expectClose(tf.sign(x), [NaN, 0, 0, 1, -1, 1, -1]);
      expectClose(tf.relu(x), [NaN, 0, 0, 3, 0, Infinity, 0]);
      expectClose(tf.clamp(x, -1, 1), [NaN, 0, 0, 1, -1, 1, -1]);
      expectClose(tf.leakyRelu(x, 0.5), [NaN, 0, 0, 3, -1.5, Infinity, -Infinity]);
      expectClose(tf.sigmoid(x), [NaN, 0.5, 0.5, sigmoid(3), sigmoid(-3), 1, 0]);
      expectClose(tf.tanh(x), [NaN, 0, 0, Math.tanh(3), -Math.tanh(3), 1, -1]);
    });

    it('clamp with min > max gives max everywhere (as PyTorch)', () => {
      expectClose(tf.clamp(tf.tensor([-5, 0, 5]), 2, 1), [1, 1, 1]);
    });

    it('exp/sigmoid/silu/gelu/tanh at extremes do not produce NaN', () => {
      const x = tf.tensor([-1000, -80, 80, 1000]);
      expectClose(tf.exp(x), [0, Math.exp(-80), Math.exp(80), Infinity], { rtol: 1e-5, atol: 0 });
      expectClose(tf.sigmoid(x), [0, Math.exp(-80), 1, 1], { rtol: 1e-5, atol: 0 });
      expectClose(tf.silu(x), [-0, -80 * Math.exp(-80), 80, 1000], { rtol: 1e-5, atol: 1e-40 });
      expectClose(tf.gelu(x), [-0, -0, 80, 1000], { rtol: 1e-6, atol: 1e-30 });
      expectClose(tf.tanh(x), [-1, -1, 1, 1]);
    });

    it('integer tensors: neg/abs/relu/square/sign/clamp stay int32; exp/sqrt/sin go to float32', () => {
      const x = tf.tensor([-3, 0, 2, 7], { dtype: 'int32' });
      expectExact(tf.neg(x), [3, 0, -2, -7], 'int32');
      expectExact(tf.abs(x), [3, 0, 2, 7], 'int32');
      expectExact(tf.relu(x), [0, 0, 2, 7], 'int32');
      expectExact(tf.square(x), [9, 0, 4, 49], 'int32');
      expectExact(tf.sign(x), [-1, 0, 1, 1], 'int32');
      expectExact(tf.clamp(x, -1, 3), [-1, 0, 2, 3], 'int32');
      expectExact(x.pow(2), [9, 0, 4, 49], 'int32');
      expectClose(tf.clamp(x, -0.5, 2.5), [-0.5, 0, 2, 2.5], { dtype: 'float32' });
      expectClose(tf.exp(x), map(fromNested([-3, 0, 2, 7]), Math.exp), { dtype: 'float32' });
      expectClose(tf.sqrt(tf.tensor([4, 9], { dtype: 'int32' })), [2, 3], { dtype: 'float32' });
      expectClose(tf.sin(x), map(fromNested([-3, 0, 2, 7]), Math.sin), { dtype: 'float32' });
      expectClose(x.pow(0.5), [NaN, 0, Math.SQRT2, Math.sqrt(7)], { dtype: 'float32' });
    });

    it('floor/ceil/round of an int32 tensor keep int32 (as PyTorch)', () => {
      const x = tf.tensor([-3, 0, 7], { dtype: 'int32' });
      expectExact(tf.floor(x), [-3, 0, 7], 'int32');
      expectExact(tf.ceil(x), [-3, 0, 7], 'int32');
      expectExact(tf.round(x), [-3, 0, 7], 'int32');
    });

    it('logicalNot gives bool for every dtype', () => {
      expectExact(tf.logicalNot(tf.tensor([0, 1.5, NaN, -0])), [true, false, false, true], 'bool');
      expectExact(tf.logicalNot(tf.tensor([0, 3], { dtype: 'int32' })), [true, false], 'bool');
      expectExact(tf.tensor([true, false]).logicalNot(), [false, true], 'bool');
      expectExact(tf.logicalNot(tf.zeros([0])), [], 'bool');
    });
  });

  describe('binary ops with broadcasting', () => {
    for (const c of BINARY) {
      it(`${c.name} broadcasts like NumPy and matches the JS reference`, () => {
        for (const [sa, sb] of BROADCAST_PAIRS) {
          const a = c.bool ? cmpInput(sa) : input(sa, c.da ?? 'any');
          const b = c.bool ? cmpInput(sb) : input(sb, c.db ?? 'any');
          for (const [x, y, ax, by] of [[a, b, arr(a), arr(b)], [b, a, arr(b), arr(a)]] as const) {
            const out = c.f(x, y);
            expect(out.dtype).toBe(c.bool ? 'bool' : 'float32');
            expectClose(out, zip(ax, by, c.ref), { rtol: 1e-5, atol: 1e-6 });
          }
        }
      });
    }

    it('float64 binary ops keep full precision', () => {
      const a = tf.tensor([1, 2, 3], { dtype: 'float64' });
      const b = tf.tensor([1e-12, 3, 7], { dtype: 'float64' });
      expectClose(tf.add(a, b), [1 + 1e-12, 5, 10], { rtol: 1e-15, atol: 0, dtype: 'float64' });
      expectClose(tf.div(a, b), [1e12, 2 / 3, 3 / 7], { rtol: 1e-15, atol: 0, dtype: 'float64' });
      expectClose(tf.pow(b, a), [1e-12, 9, 343], { rtol: 1e-14, atol: 0, dtype: 'float64' });
      expectClose(tf.atan2(a, b), [Math.atan2(1, 1e-12), Math.atan2(2, 3), Math.atan2(3, 7)], { rtol: 1e-15, atol: 0 });
    });

    it('number operands work on either side', () => {
      const xs = [-2.5, -1, 0.5, 3];
      const x = tf.tensor(xs);
      const fr = Math.fround;
      expectClose(tf.sub(1, x), xs.map((v) => 1 - v));
      expectClose(tf.sub(x, 1), xs.map((v) => v - 1));
      expectClose(tf.add(2, x), xs.map((v) => 2 + v));
      expectClose(tf.mul(x, -2.5), xs.map((v) => v * -2.5));
      expectClose(tf.div(3, x), xs.map((v) => 3 / v));
      expectClose(tf.div(x, 4), xs.map((v) => v / 4));
      expectClose(tf.pow(2, x), xs.map((v) => 2 ** v));
      expectClose(tf.pow(x, 2), xs.map((v) => v ** 2));
      expectClose(tf.remainder(7, x), xs.map((v) => remainderRef(7, v, fr)));
      expectClose(tf.remainder(x, 2), xs.map((v) => remainderRef(v, 2, fr)));
      expectClose(tf.atan2(1, x), xs.map((v) => Math.atan2(1, v)));
      expectClose(tf.atan2(x, -1), xs.map((v) => Math.atan2(v, -1)));
      expectClose(tf.maximum(x, 0.5), xs.map((v) => Math.max(v, 0.5)));
      expectClose(tf.minimum(x, 0.5), xs.map((v) => Math.min(v, 0.5)));
      expectExact(tf.lt(0, x), [false, false, true, true], 'bool');
      expectExact(tf.ge(x, 0.5), [false, false, true, true], 'bool');
      expectExact(tf.eq(-1, x), [false, true, false, false], 'bool');
      expectExact(tf.ne(x, 3), [true, true, true, false], 'bool');
      expectExact(tf.logicalAnd(x, 0), [false, false, false, false], 'bool');
      expectExact(tf.logicalOr(0, x), [true, true, true, true], 'bool');
      expectExact(tf.logicalOr(tf.tensor([0, 1]), false), [false, true], 'bool');
      // methods with number operands
      expectClose(x.add(1), xs.map((v) => v + 1));
      expectClose(x.mul(2).sub(1, { alpha: 3 }), xs.map((v) => 2 * v - 3));
      expectClose(x.add(x, { alpha: 2 }), xs.map((v) => 3 * v));
    });

    it('remainder follows the sign of the divisor (floats and ints)', () => {
      expectClose(tf.remainder(tf.tensor([-7, 7, -7, 7, 5.5, -0.5]), tf.tensor([3, -3, -3, 3, 2, 2])), [2, -2, -1, 1, 1.5, 1.5]);
      const ai = tf.tensor([-7, 7, -7, 7, 0], { dtype: 'int32' }), bi = tf.tensor([3, -3, -3, 3, 5], { dtype: 'int32' });
      expectExact(tf.remainder(ai, bi), [2, -2, -1, 1, 0], 'int32');
    });

    it('atan2 covers all four quadrants and the axes', () => {
      const ys = [1, 1, -1, -1, 0, 0, 1, -1], xs = [1, -1, 1, -1, 1, -1, 0, 0];
      expectClose(tf.atan2(tf.tensor(ys), tf.tensor(xs)), ys.map((y, i) => Math.atan2(y, xs[i])));
    });

    it('maximum / minimum propagate NaN from either side', () => {
      const a = tf.tensor([NaN, 1, NaN, 2]), b = tf.tensor([1, NaN, NaN, 3]);
      expectClose(tf.maximum(a, b), [NaN, NaN, NaN, 3]);
      expectClose(tf.minimum(a, b), [NaN, NaN, NaN, 2]);
      expectClose(tf.maximum(b, a), [NaN, NaN, NaN, 3]);
      expectClose(tf.minimum(b, a), [NaN, NaN, NaN, 2]);
      expectClose(tf.maximum(a, 0), [NaN, 1, NaN, 2]);
    });

    it('comparisons involving NaN: only ne is true', () => {
      const a = tf.tensor([NaN]), b = tf.tensor([NaN]);
      expectExact(tf.eq(a, b), [false]);
      expectExact(tf.ne(a, b), [true]);
      expectExact(tf.lt(a, 1), [false]);
      expectExact(tf.ge(a, 1), [false]);
    });

    it('where broadcasts condition and both branches, with numbers on either side', () => {
      for (const [sc, sa, sb] of [[[3, 4], [3, 4], [3, 4]], [[4], [3, 1], []], [[2, 1, 5], [1, 7, 1], [7, 5]], [[0, 3], [3], [1]]]) {
        const c = tf.rand(sc).lt(0.5), a = tf.randn(sa), b = tf.randn(sb);
        const ref = zip3(arr(c), arr(a), arr(b), (cv, av, bv) => (cv ? av : bv));
        expectClose(tf.where(c, a, b), ref);
        expectClose(a.where(c, b), ref);
        expectClose(tf.where(c, a, -1), zip(arr(c), arr(a), (cv, av) => (cv ? av : -1)));
        expectClose(tf.where(c, 2, b), zip(arr(c), arr(b), (cv, bv) => (cv ? 2 : bv)));
      }
      expectExact(tf.where(tf.tensor([true, false]), tf.tensor([1, 2], { dtype: 'int32' }), tf.tensor([3, 4], { dtype: 'int32' })), [1, 4], 'int32');
      expectClose(tf.where(tf.tensor([true, false]), tf.tensor([1, 2], { dtype: 'int32' }), 0.5), [1, 0.5], { dtype: 'float32' });
      expectClose(tf.where(tf.tensor([true, false]), tf.tensor([1, 2], { dtype: 'int32' }), tf.tensor([0.25], { dtype: 'float64' })), [1, 0.25], { dtype: 'float64' });
    });
  });

  describe('reductions', () => {
    const shapes: number[][] = [[3, 4, 5], [7, 1, 13], [2, 0, 3], [31], [1]];
    const dimLists: (number | number[] | undefined)[] = [undefined, 0, -1, 1, [0, 2], [-1, 0], [0, 1, 2], [2, 1], -2];
    const valid = (shape: number[], dims: number | number[] | undefined): boolean => {
      if (dims === undefined) return true;
      const l = typeof dims === 'number' ? [dims] : dims;
      const norm = l.map((d) => (d < 0 ? d + shape.length : d));
      return l.every((d) => d < shape.length && d >= -shape.length) && new Set(norm).size === norm.length;
    };
    const reduceCases: {
      name: string;
      f: (x: tf.Tensor, dims: number | number[] | undefined, keepdim: boolean) => tf.Tensor;
      ref: (v: number[]) => number;
      nonEmpty?: boolean;
      tol?: number;
    }[] = [
      { name: 'sum', f: (x, d, k) => tf.sum(x, d, { keepdim: k }), ref: rsum },
      { name: 'mean', f: (x, d, k) => x.mean(d, { keepdim: k }), ref: (v) => (v.length ? rmean(v) : NaN) },
      { name: 'prod', f: (x, d, k) => tf.prod(x, d, { keepdim: k }), ref: rprod },
      { name: 'max', f: (x, d, k) => tf.max(x, d, { keepdim: k }), ref: rmax, nonEmpty: true },
      { name: 'min', f: (x, d, k) => x.min(d, { keepdim: k }), ref: rmin, nonEmpty: true },
      { name: 'amax', f: (x, d, k) => tf.amax(x, d, { keepdim: k }), ref: rmax, nonEmpty: true },
      { name: 'amin', f: (x, d, k) => tf.amin(x, d, { keepdim: k }), ref: rmin, nonEmpty: true },
      { name: 'var (default correction 1)', f: (x, d, k) => tf.var(x, d, { keepdim: k }), ref: rvar(1) },
      { name: 'var correction 0', f: (x, d, k) => x.var(d, { keepdim: k, correction: 0 }), ref: rvar(0) },
      { name: 'var unbiased false', f: (x, d, k) => x.var(d, { keepdim: k, unbiased: false }), ref: rvar(0) },
      { name: 'std correction 1', f: (x, d, k) => tf.std(x, d, { keepdim: k, correction: 1 }), ref: (v) => Math.sqrt(rvar(1)(v)) },
      { name: 'std correction 0', f: (x, d, k) => x.std(d, { keepdim: k, correction: 0 }), ref: (v) => Math.sqrt(rvar(0)(v)) },
      { name: 'logsumexp', f: (x, d, k) => tf.logsumexp(x, d ?? [...Array(x.ndim).keys()], { keepdim: k }), ref: rlogsumexp },
    ];
    for (const c of reduceCases) {
      it(`${c.name} over any dim list, with and without keepdim`, () => {
        for (const shape of shapes) {
          const x = tf.randn(shape);
          const ax = arr(x);
          for (const dims of dimLists) {
            if (!valid(shape, dims)) continue;
            for (const keepdim of [false, true]) {
              const ref = reduce(ax, dims, keepdim, c.ref);
              const empty = ref.data.length > 0 && numel(shape) === 0 && numel(ref.shape) > 0 && (dims === undefined || [dims].flat().some((d) => shape[d < 0 ? d + shape.length : d] === 0));
              if (c.nonEmpty && (empty || (numel(shape) === 0 && dims === undefined))) {
                expect(() => c.f(x, dims, keepdim)).toThrow(/empty/);
                continue;
              }
              expectClose(c.f(x, dims, keepdim), ref, { rtol: 2e-5, atol: 2e-5 });
            }
          }
        }
      });
    }

    it('argmax / argmin over one dim or the flattened tensor, with keepdim', () => {
      for (const shape of [[3, 4, 5], [7, 1, 13], [31], [1]]) {
        const x = tf.randn(shape);
        const ax = arr(x);
        const flat = { shape: [ax.data.length], data: ax.data };
        expectExact(tf.argmax(x), rargmax(ax.data), 'int32');
        expectExact(x.argmin(), rargmin(ax.data), 'int32');
        expect(tf.argmax(x, null, { keepdim: true }).shape).toEqual(shape.map(() => 1));
        expect(tf.argmax(x, null, { keepdim: true }).item()).toBe(rargmax(flat.data));
        for (let d = -shape.length; d < shape.length; d++) {
          for (const keepdim of [false, true]) {
            expectClose(tf.argmax(x, d, { keepdim }), reduce(ax, d, keepdim, rargmax), { dtype: 'int32', rtol: 0, atol: 0 });
            expectClose(x.argmin(d, { keepdim }), reduce(ax, d, keepdim, rargmin), { dtype: 'int32', rtol: 0, atol: 0 });
          }
        }
      }
    });

    it('argmax/argmin return the first of tied extremes and the index of a NaN', () => {
      const x = tf.tensor([[1, 5, 5, 0], [2, NaN, 7, NaN], [-1, -1, 3, -1]]);
      expectExact(tf.argmax(x, 1), [1, 1, 2]);
      expectExact(tf.argmin(x, 1), [3, 1, 0]);
      expectExact(tf.argmax(tf.tensor([1, 2, NaN, 9])), 2);
      expectExact(tf.max(x, 1), [5, NaN, 3]);
      expectExact(tf.min(x, 0), [-1, NaN, 3, NaN]);
    });

    it('sum/prod/max on 0-d tensors, and reductions of int32 and bool tensors', () => {
      const s = tf.tensor(2.5);
      expectClose(tf.sum(s), 2.5);
      expectClose(tf.sum(s, 0), 2.5);
      expectClose(tf.sum(s, -1, { keepdim: true }), 2.5);
      expectClose(tf.prod(s), 2.5);
      expectClose(tf.max(s), 2.5);
      expectClose(tf.mean(s), 2.5);
      expectExact(tf.argmax(s), 0, 'int32');
      const i = tf.tensor([[1, -2, 3], [4, 5, -6]], { dtype: 'int32' });
      expectExact(tf.sum(i), 5, 'int32');
      expectExact(tf.sum(i, 0), [5, 3, -3], 'int32');
      expectExact(tf.prod(i, 1), [-6, -120], 'int32');
      expectExact(tf.max(i, 1), [3, 5], 'int32');
      expectExact(tf.min(i), -6, 'int32');
      const b = tf.tensor([[true, false, true], [true, true, true]]);
      expectExact(tf.sum(b), 5, 'int32');
      expectExact(tf.sum(b, 1), [2, 3], 'int32');
      expectExact(tf.prod(b, 1), [0, 1], 'int32');
    });

    it('float64 reductions keep double precision', () => {
      const x = tf.tensor([1, 1e-10, 1e-10, -1], { dtype: 'float64' });
      expectClose(tf.sum(x), 2e-10, { rtol: 1e-5, atol: 0, dtype: 'float64' }); // float32 would give 0
      const y = tf.tensor([1e8 + 1, 1e8 + 2, 1e8 + 3], { dtype: 'float64' });
      expectClose(tf.var(y), 1, { rtol: 1e-12, atol: 0 });
      expectClose(tf.mean(y), 1e8 + 2, { rtol: 1e-15, atol: 0 });
    });

    it('var/std with correction 1 on a single element give NaN; mean of an empty tensor is NaN', () => {
      expectClose(tf.var(tf.tensor([3])), NaN);
      expectClose(tf.std(tf.tensor([[3], [4]]), 1), [NaN, NaN]);
      expectClose(tf.var(tf.tensor([3]), undefined, { correction: 0 }), 0);
      expectClose(tf.mean(tf.zeros([0])), NaN);
      expectClose(tf.sum(tf.zeros([0, 3]), 0), [0, 0, 0]);
      expectClose(tf.prod(tf.zeros([0, 3]), 0), [1, 1, 1]);
    });

    it('logsumexp is stable for large and -inf inputs', () => {
      expectClose(tf.logsumexp(tf.tensor([1000, 1000]), 0), 1000 + Math.log(2), { rtol: 1e-6, atol: 0 });
      expectClose(tf.logsumexp(tf.tensor([-1000, -1000]), 0), -1000 + Math.log(2), { rtol: 1e-6, atol: 0 });
      expectClose(tf.logsumexp(tf.tensor([[-Infinity, -Infinity], [0, -Infinity]]), 1), [-Infinity, 0]);
      expectClose(tf.logsumexp(tf.tensor([1, Infinity]), 0), Infinity);
      expectClose(tf.logsumexp(tf.tensor([[1, 2], [3, 4]], { dtype: 'float64' }), [0, 1]), rlogsumexp([1, 2, 3, 4]), { rtol: 1e-14, atol: 0 });
    });

    it('any / all over dims (bool, float and int inputs), keepdim, empty reductions', () => {
      for (const shape of [[3, 4, 5], [7, 1, 13], [2, 0, 3], [1]]) {
        const x = tf.rand(shape).lt(0.15);
        const ax = arr(x);
        for (const dims of dimLists) {
          if (!valid(shape, dims)) continue;
          for (const keepdim of [false, true]) {
            const any = reduce(ax, dims, keepdim, (v) => +v.some((e) => e !== 0));
            const all = reduce(ax, dims, keepdim, (v) => +v.every((e) => e !== 0));
            expectClose(tf.any(x, dims, { keepdim }), any, { dtype: 'bool' });
            expectClose(x.logicalNot().all(dims, { keepdim }), map(any, (v) => 1 - v), { dtype: 'bool' });
            expectClose(tf.all(x, dims, { keepdim }), all, { dtype: 'bool' });
          }
        }
      }
      expectExact(tf.any(tf.tensor([0, NaN])), true, 'bool');
      expectExact(tf.all(tf.tensor([1, 0.5, -2])), true, 'bool');
      expectExact(tf.all(tf.tensor([3, 0], { dtype: 'int32' })), false, 'bool');
      expectExact(tf.all(tf.zeros([0])), true, 'bool');
      expectExact(tf.any(tf.zeros([0])), false, 'bool');
    });
  });

  describe('softmax / logSoftmax', () => {
    it('match the reference along every dim (positive and negative), float32 and float64', () => {
      for (const dtype of ['float32', 'float64'] as const) {
        for (const shape of [[3, 4, 5], [7], [1], [2, 1, 13], [0, 3], [4, 0]]) {
          const x = tf.randn(shape, { dtype }).mul(3);
          const ax = arr(x);
          const tol = dtype === 'float64' ? 1e-12 : 2e-6;
          for (let d = -shape.length; d < shape.length; d++) {
            expectClose(tf.softmax(x, d), softmaxRef(ax, d, false), { rtol: tol, atol: tol, dtype });
            expectClose(x.logSoftmax(d), softmaxRef(ax, d, true), { rtol: tol, atol: tol, dtype });
          }
        }
      }
    });

    it('softmax of a 0-d tensor is 1, logSoftmax 0', () => {
      expectClose(tf.softmax(tf.tensor(3), 0), 1);
      expectClose(tf.logSoftmax(tf.tensor(3), -1), 0);
    });

    it('are stable for large inputs (1000)', () => {
      const x = tf.tensor([[1000, 1000, -1000], [1000, 999, 998], [-1000, -1001, -1002]]);
      const ax = arr(x);
      expectClose(tf.softmax(x, 1), softmaxRef(ax, 1, false));
      expectClose(tf.logSoftmax(x, 1), softmaxRef(ax, 1, true), { rtol: 1e-4, atol: 1e-4 });
      expectClose(tf.softmax(x, 0), softmaxRef(ax, 0, false));
      const xd = x.double();
      expectClose(tf.logSoftmax(xd, 1), softmaxRef(ax, 1, true), { rtol: 1e-12, atol: 1e-12 });
    });

    // Native bug (NATIVE_BUGS.md #1): log-softmax computes x - (m + log s) in the input precision
    // instead of (x - m) - log s, losing ~1e-4 relative accuracy for |x| ~ 1000 in float32.
    it('logSoftmax of large float32 inputs is accurate to float32 precision', () => {
      const x = tf.tensor([1000, 1000]);
      expectClose(tf.logSoftmax(x, 0), [-Math.LN2, -Math.LN2], { rtol: 1e-6, atol: 1e-6 });
    });

    it('rows of -inf: all -inf gives NaN (as PyTorch), a finite entry takes all the mass', () => {
      expectClose(tf.softmax(tf.tensor([[-Infinity, -Infinity], [-Infinity, 0]]), 1), [[NaN, NaN], [0, 1]]);
      expectClose(tf.logSoftmax(tf.tensor([-Infinity, 0, -Infinity]), 0), [-Infinity, 0, -Infinity]);
    });

    it('int inputs are computed in float32', () => {
      const y = tf.softmax(tf.tensor([1, 2, 3], { dtype: 'int32' }), 0);
      expectClose(y, softmaxRef(fromNested([1, 2, 3]), 0, false), { dtype: 'float32' });
    });
  });

  describe('matmul', () => {
    const mmTol = (K: number, dtype: tf.DType = 'float32') =>
      dtype === 'float64' ? { rtol: 1e-12, atol: 1e-12 * Math.max(1, K) } : { rtol: 1e-4, atol: 2e-5 * Math.sqrt(Math.max(K, 1)) };

    it('vector@vector, matrix@vector, vector@matrix, matrix@matrix', () => {
      const v = tf.randn([13]), w = tf.randn([13]), m = tf.randn([7, 13]), n = tf.randn([13, 5]);
      for (const [a, b, shape] of [[v, w, []], [m, v, [7]], [v, n, [5]], [m, n, [7, 5]]] as const) {
        const out = tf.matmul(a, b);
        expect(out.shape).toEqual(shape);
        expectClose(out, matmulRef(arr(a), arr(b)), mmTol(13));
      }
      expectClose(m.matmul(n), matmulRef(arr(m), arr(n)), mmTol(13));
      expectClose(tf.mm(m, n), matmulRef(arr(m), arr(n)), mmTol(13));
    });

    it('sizes crossing the GEMM blocks (1, 17, 65, 129, 257 in M, K and N)', () => {
      const dims: [number, number, number][] = [
        [1, 1, 1], [1, 257, 1], [17, 65, 129], [129, 17, 65], [65, 129, 17], [49, 300, 25], [24, 256, 48], [25, 257, 49],
        [2, 513, 3], [97, 3, 1], [1, 31, 97],
      ];
      for (const [M, K, N] of dims) {
        const a = tf.randn([M, K]), b = tf.randn([K, N]);
        expectClose(tf.matmul(a, b), matmulRef(arr(a), arr(b)), mmTol(K));
      }
    });

    it('K = 0 gives zeros; M = 0 or N = 0 give empty results', () => {
      expectClose(tf.matmul(tf.randn([3, 0]), tf.randn([0, 4])), { shape: [3, 4], data: new Array(12).fill(0) });
      expectClose(tf.matmul(tf.randn([2, 3, 0]), tf.randn([0, 5])), { shape: [2, 3, 5], data: new Array(30).fill(0) });
      expectClose(tf.matmul(tf.randn([0]), tf.randn([0])), 0);
      expect(tf.matmul(tf.randn([0, 3]), tf.randn([3, 4])).shape).toEqual([0, 4]);
      expect(tf.matmul(tf.randn([2, 3]), tf.randn([3, 0])).shape).toEqual([2, 0]);
      expect(tf.matmul(tf.randn([0, 2, 3]), tf.randn([3, 4])).shape).toEqual([0, 2, 4]);
    });

    it('batched with broadcast batch dims', () => {
      const cases: [number[], number[], number[]][] = [
        [[2, 1, 3, 4], [5, 4, 6], [2, 5, 3, 6]],
        [[3, 7, 13], [13, 5], [3, 7, 5]],
        [[13], [3, 13, 5], [3, 5]],
        [[3, 7, 13], [13], [3, 7]],
        [[1, 17, 9], [4, 9, 2], [4, 17, 2]],
        [[2, 3, 1, 65, 31], [3, 31, 17], [2, 3, 3, 65, 17]],
        [[2, 1, 65, 31], [1, 3, 31, 17], [2, 3, 65, 17]],
      ];
      for (const [sa, sb, so] of cases) {
        const a = tf.randn(sa), b = tf.randn(sb);
        const out = tf.matmul(a, b);
        expect(out.shape).toEqual(so);
        expectClose(out, matmulRef(arr(a), arr(b)), mmTol(sa[sa.length - 1]));
      }
      const a = tf.randn([4, 7, 13]), b = tf.randn([4, 13, 5]);
      expectClose(tf.bmm(a, b), matmulRef(arr(a), arr(b)), mmTol(13));
    });

    it('transposed, step-sliced, offset and expanded operands give the same result as contiguous ones', () => {
      for (const [M, K, N] of [[7, 13, 5], [65, 129, 17], [17, 257, 33]]) {
        const at = tf.randn([K, M]).t(); // [M, K], column-major
        const bt = tf.randn([N, K]).mT(); // [K, N], column-major
        expect(at.isContiguous()).toBe(false);
        const ref = matmulRef(arr(at), arr(bt));
        expectClose(tf.matmul(at, bt), ref, mmTol(K));
        expectClose(tf.matmul(at.contiguous(), bt), ref, mmTol(K));
        expectClose(tf.matmul(at, bt.contiguous()), ref, mmTol(K));
        const as = tf.randn([M, 2 * K + 1]).slice(1, 1, null, 2); // stride 2 in K
        const bs = tf.randn([2 * K, N + 3]).slice(0, 0, null, 2).narrow(1, 2, N); // strided rows, offset columns
        expectClose(tf.matmul(as, bs), matmulRef(arr(as), arr(bs)), mmTol(K));
        const brow = tf.randn([1, N]).expand([K, N]); // stride 0 in K
        expectClose(tf.matmul(as, brow), matmulRef(arr(as), arr(brow)), mmTol(K));
      }
      const ab = tf.randn([3, 13, 7]).transpose(1, 2); // batched, transposed
      const bb = tf.randn([13, 5]).unsqueeze(0).expand([3, 13, 5]); // batch stride 0
      expectClose(tf.matmul(ab, bb), matmulRef(arr(ab), arr(bb)), mmTol(13));
      const perm = tf.randn([7, 3, 13]).permute(1, 0, 2); // batch dim not outermost in memory
      expectClose(tf.matmul(perm, bb), matmulRef(arr(perm), arr(bb)), mmTol(13));
    });

    it('float64 matmul (and float32 @ float64 promotes to float64)', () => {
      for (const [M, K, N] of [[3, 5, 7], [65, 257, 17]]) {
        const a = tf.randn([M, K], { dtype: 'float64' }), b = tf.randn([K, N], { dtype: 'float64' });
        expectClose(tf.matmul(a, b), matmulRef(arr(a), arr(b)), { ...mmTol(K, 'float64'), dtype: 'float64' });
        expectClose(tf.matmul(a.t().contiguous().t(), b), matmulRef(arr(a), arr(b)), mmTol(K, 'float64'));
      }
      const a = tf.randn([4, 6]), b = tf.randn([6, 3], { dtype: 'float64' });
      expectClose(tf.matmul(a, b), matmulRef(arr(a), arr(b)), { ...mmTol(6, 'float64'), dtype: 'float64' });
    });
  });
}

const levels = tf.cpuKernelLevels();
describe.each(levels)('forward ops on CPU kernel level %s', (level) => {
  const before = tf.cpuKernelLevel();
  beforeAll(() => tf.setCpuKernelLevel(level));
  afterAll(() => tf.setCpuKernelLevel(before));
  beforeEach(() => {
    tf.manualSeed(1234);
  });
  forwardSuite();
});

// ---- type promotion ------------------------------------------------------------------------------

describe('type promotion', () => {
  const i32 = tf.tensor([1, 2, 7], { dtype: 'int32' });
  const f32t = tf.tensor([0.5, 0.25, 2]);
  const f64 = tf.tensor([0.5, 0.25, 2], { dtype: 'float64' });
  const b = tf.tensor([true, false, true]);

  it('tensor-tensor', () => {
    expectClose(tf.add(i32, f32t), [1.5, 2.25, 9], { dtype: 'float32' });
    expectClose(tf.add(f32t, i32), [1.5, 2.25, 9], { dtype: 'float32' });
    expectClose(tf.div(i32, tf.tensor([2, 4, 2], { dtype: 'int32' })), [0.5, 0.5, 3.5], { dtype: 'float32' });
    expectClose(tf.add(f32t, f64), [1, 0.5, 4], { dtype: 'float64' });
    expectClose(tf.mul(f64, i32), [0.5, 0.5, 14], { dtype: 'float64' });
    expectExact(tf.add(b, b), [2, 0, 2], 'int32');
    expectExact(tf.mul(b, tf.tensor([true, true, false])), [1, 0, 0], 'int32');
    expectExact(tf.add(b, i32), [2, 2, 8], 'int32');
    expectClose(tf.add(b, f32t), [1.5, 0.25, 3], { dtype: 'float32' });
    expectExact(tf.sub(i32, i32), [0, 0, 0], 'int32');
    expectExact(tf.mul(i32, i32), [1, 4, 49], 'int32');
    expectExact(tf.pow(i32, tf.tensor([2, 3, 0], { dtype: 'int32' })), [1, 8, 1], 'int32');
    expectExact(tf.maximum(b, tf.tensor([false, false, false])), [true, false, true], 'bool');
    expectClose(tf.atan2(i32, i32), [Math.PI / 4, Math.PI / 4, Math.PI / 4], { dtype: 'float32' });
  });

  it('tensor-number (numbers do not widen float tensors; a fractional number lifts ints to float32)', () => {
    expectExact(tf.add(i32, 2), [3, 4, 9], 'int32');
    expectClose(tf.add(i32, 2.5), [3.5, 4.5, 9.5], { dtype: 'float32' });
    expectClose(tf.mul(0.5, i32), [0.5, 1, 3.5], { dtype: 'float32' });
    expectClose(tf.div(i32, 2), [0.5, 1, 3.5], { dtype: 'float32' });
    expectExact(tf.add(b, 1), [2, 1, 2], 'int32');
    expectClose(tf.add(b, 0.5), [1.5, 0.5, 1.5], { dtype: 'float32' });
    expectClose(tf.add(f64, 1), [1.5, 1.25, 3], { dtype: 'float64' });
    expect(tf.add(f32t, 1e-10).dtype).toBe('float32');
    expectExact(tf.eq(i32, 1.5), [false, false, false], 'bool');
    expectExact(tf.lt(i32, 1.5), [true, false, false], 'bool');
    expectExact(tf.gt(b, 0.5), [true, false, true], 'bool');
  });
});

// ---- indexing ------------------------------------------------------------------------------------

const int = (data: number[], shape?: number[]): tf.Tensor => tf.tensor(data, { dtype: 'int32', shape });

describe('gather / indexSelect / scatterAdd / indexAdd', () => {
  beforeEach(() => tf.manualSeed(7));

  it('gather along every dim matches the reference (index smaller than input in other dims)', () => {
    const shape = [3, 4, 5];
    const x = tf.randn(shape);
    const ax = arr(x);
    for (let d = -3; d < 3; d++) {
      const dd = d < 0 ? d + 3 : d;
      const ishape = [2, 3, 4];
      ishape[dd] = 7; // longer than the input along dim: indices repeat
      const index = tf.randint(0, shape[dd], ishape);
      const ai = arr(index);
      const out = tf.gather(x, d, index);
      const ref: Arr = { shape: ishape, data: ai.data.map((v, i) => { const p = unravel(i, ishape); p[dd] = v; return ax.data[p[0] * 20 + p[1] * 5 + p[2]]; }) };
      expectClose(out, ref, { rtol: 0, atol: 0, dtype: 'float32' });
      expectClose(x.gather(d, index), ref, { rtol: 0, atol: 0 });
    }
    expectExact(tf.gather(int([10, 20, 30]), 0, int([2, 2, 0])), [30, 30, 10], 'int32');
    expect(tf.gather(x, 1, tf.zeros([3, 0, 5], { dtype: 'int32' })).shape).toEqual([3, 0, 5]);
  });

  it('indexSelect along every dim, with repeated indices, 0-d index and empty index', () => {
    const x = tf.randn([4, 5, 3]);
    const ax = arr(x);
    for (let d = -3; d < 3; d++) {
      const dd = d < 0 ? d + 3 : d;
      const idx = [x.shape[dd] - 1, 0, 0, 1];
      const pick = x.shape.map((s) => range(0, s));
      pick[dd] = idx;
      expectClose(tf.indexSelect(x, d, int(idx)), pickRef(ax, pick), { rtol: 0, atol: 0 });
      expectClose(x.indexSelect(d, int([])), pickRef(ax, pick.map((p, k) => (k === dd ? [] : p))), { rtol: 0, atol: 0 });
    }
    const scalarIdx = tf.tensor(2, { dtype: 'int32' });
    expectClose(tf.indexSelect(x, 0, scalarIdx), pickRef(ax, [[2], range(0, 5), range(0, 3)]), { rtol: 0, atol: 0 });
    expectExact(tf.indexSelect(tf.tensor([true, false]), 0, int([1, 0, 1])), [false, true, false], 'bool');
  });

  it('scatterAdd accumulates repeated indices (and uses only the part of src index covers)', () => {
    const x = tf.randn([3, 5]);
    const index = int([0, 1, 2, 0, 0, 2, 2, 2, 1, 0], [2, 5]);
    const src = tf.randn([3, 6]);
    const ax = arr(x), as = arr(src), ai = arr(index);
    for (const d of [0, 1, -1]) {
      const dd = d < 0 ? d + 2 : d;
      const ref = { shape: [3, 5], data: ax.data.slice() };
      ai.data.forEach((v, i) => {
        const [r, c] = unravel(i, [2, 5]);
        const p = [r, c];
        p[dd] = v;
        ref.data[p[0] * 5 + p[1]] += as.data[r * 6 + c];
      });
      expectClose(tf.scatterAdd(x, d, index, src), ref, { rtol: 1e-6, atol: 1e-6 });
    }
    // every index hitting one place
    expectExact(tf.scatterAdd(int([0, 0, 0]), 0, int([1, 1, 1, 1]), int([1, 2, 3, 4])), [0, 10, 0], 'int32');
    // the input is not modified
    const before = arr(x).data;
    tf.scatterAdd(x, 0, index, src);
    expect(arr(x).data).toEqual(before);
  });

  it('indexAdd accumulates repeated indices, with alpha', () => {
    const x = tf.randn([4, 3]);
    const src = tf.randn([5, 3]);
    const idx = [3, 0, 3, 3, 1];
    const ax = arr(x), as = arr(src);
    for (const alpha of [undefined, 1, -2.5]) {
      const ref = { shape: [4, 3], data: ax.data.slice() };
      idx.forEach((r, i) => { for (let c = 0; c < 3; c++) ref.data[r * 3 + c] += (alpha ?? 1) * as.data[i * 3 + c]; });
      expectClose(tf.indexAdd(x, 0, int(idx), src, { alpha }), ref, { rtol: 1e-6, atol: 1e-6 });
    }
    // along dim 1 (negative)
    const src2 = tf.randn([4, 2]);
    const ref2 = { shape: [4, 3], data: ax.data.slice() };
    const as2 = arr(src2);
    for (let r = 0; r < 4; r++) { ref2.data[r * 3 + 2] += as2.data[r * 2] + as2.data[r * 2 + 1]; }
    expectClose(x.indexAdd(-1, int([2, 2]), src2), ref2, { rtol: 1e-6, atol: 1e-6 });
    expectExact(tf.indexAdd(int([1, 1]), 0, int([1, 1]), int([5, 6]), { alpha: 2 }), [1, 23], 'int32');
  });

  it('non-contiguous inputs, indices and sources', () => {
    const x = tf.randn([5, 4]).t(); // [4, 5] transposed
    const idx = int([0, 4, 1, 2, 3, 0, 4, 4]).slice(0, 0, null, 2); // [0, 1, 3, 4], stride 2
    expectClose(tf.indexSelect(x, 1, idx), pickRef(arr(x), [range(0, 4), [0, 1, 3, 4]]), { rtol: 0, atol: 0 });
    const gi = tf.randint(0, 5, [5, 4]).t();
    expectClose(tf.gather(x, 1, gi), tf.gather(x.contiguous(), 1, gi.contiguous()), { rtol: 0, atol: 0 });
    const srcT = tf.randn([5, 4]).t();
    expectClose(tf.scatterAdd(x, 1, gi, srcT), arr(tf.scatterAdd(x.contiguous(), 1, gi.contiguous(), srcT.contiguous())), { rtol: 0, atol: 0 });
    const src2 = tf.randn([4, 9]).slice(1, 0, null, 2); // [4, 5] with stride 2
    const i2 = int([4, 0, 0, 1, 3, 9]).narrow(0, 1, 4); // offset view: [0, 0, 1, 3]
    const xs = tf.randn([8, 5]).slice(0, 1, null, 2); // [4, 5]
    expectClose(tf.indexAdd(xs, 0, i2, src2), arr(tf.indexAdd(xs.contiguous(), 0, i2.contiguous(), src2.contiguous())), { rtol: 0, atol: 0 });
  });
});

// ---- joining and splitting -----------------------------------------------------------------------

describe('cat / stack / split / chunk / unbind', () => {
  beforeEach(() => tf.manualSeed(11));

  it('cat along every dim matches the reference, including empty pieces', () => {
    const a = tf.randn([2, 3, 4]), b = tf.randn([2, 5, 4]), e = tf.randn([2, 0, 4]);
    const out = tf.cat([a, e, b, e], 1);
    expect(out.shape).toEqual([2, 8, 4]);
    const aa = arr(a), ab = arr(b);
    const ref: Arr = { shape: [2, 8, 4], data: [] };
    for (let i = 0; i < 2; i++) for (let j = 0; j < 8; j++) for (let k = 0; k < 4; k++) {
      ref.data.push(j < 3 ? aa.data[i * 12 + j * 4 + k] : ab.data[i * 20 + (j - 3) * 4 + k]);
    }
    expectClose(out, ref, { rtol: 0, atol: 0 });
    expectClose(tf.cat([a, b], -2), ref, { rtol: 0, atol: 0 });
    // dim 0 and the last dim
    const c = tf.randn([3, 3, 4]);
    expectClose(tf.cat([a, c], 0), { shape: [5, 3, 4], data: [...aa.data, ...arr(c).data] }, { rtol: 0, atol: 0 });
    const d = tf.randn([2, 3, 1]);
    const ad = arr(d);
    const refLast: Arr = { shape: [2, 3, 5], data: [] };
    for (let i = 0; i < 6; i++) refLast.data.push(...aa.data.slice(i * 4, i * 4 + 4), ad.data[i]);
    expectClose(tf.cat([a, d], 2), refLast, { rtol: 0, atol: 0 });
    // a single piece, all-empty pieces, and legacy 1-D empty tensors being skipped
    expectClose(tf.cat([a]), aa, { rtol: 0, atol: 0 });
    expect(tf.cat([e, e], 1).shape).toEqual([2, 0, 4]);
    expectClose(tf.cat([tf.zeros([0]), a, tf.zeros([0])], 0), aa, { rtol: 0, atol: 0 });
  });

  it('cat promotes mixed dtypes', () => {
    const out = tf.cat([tf.tensor([1.5]), tf.tensor([2, -3], { dtype: 'int32' }), tf.tensor([true, false])]);
    expectClose(out, [1.5, 2, -3, 1, 0], { dtype: 'float32', rtol: 0, atol: 0 });
    expectExact(tf.cat([tf.tensor([1], { dtype: 'int32' }), tf.tensor([true])]), [1, 1], 'int32');
    expectClose(tf.cat([tf.tensor([0.1]), tf.tensor([0.1], { dtype: 'float64' })]), [Math.fround(0.1), 0.1], { dtype: 'float64', rtol: 0, atol: 0 });
  });

  it('cat of non-contiguous pieces', () => {
    const a = tf.randn([4, 3]).t(), b = tf.randn([3, 10]).slice(1, 0, null, 2);
    expectClose(tf.cat([a, b], 1), tf.cat([a.contiguous(), b.contiguous()], 1), { rtol: 0, atol: 0 });
    const x = tf.randn([1, 3]).expand([4, 3]);
    expectClose(tf.cat([x, x], 0), { shape: [8, 3], data: [...arr(x).data, ...arr(x).data] }, { rtol: 0, atol: 0 });
  });

  it('stack along every dim (positive and negative)', () => {
    const ts = [tf.randn([2, 3]), tf.randn([2, 3]), tf.randn([2, 3])];
    const as = ts.map(arr);
    for (let d = -3; d < 3; d++) {
      const dd = d < 0 ? d + 3 : d;
      const out = tf.stack(ts, d);
      const shape = [2, 3];
      shape.splice(dd, 0, 3);
      const data = range(0, 18).map((i) => {
        const p = unravel(i, shape);
        const which = p[dd];
        p.splice(dd, 1);
        return as[which].data[p[0] * 3 + p[1]];
      });
      expectClose(out, { shape, data }, { rtol: 0, atol: 0 });
    }
    expectExact(tf.stack([tf.tensor(1), tf.tensor(2)]), [1, 2]);
    expect(tf.stack([tf.zeros([0, 2]), tf.zeros([0, 2])], 1).shape).toEqual([0, 2, 2]);
  });

  it('split by size (last piece smaller), by sections, on negative dims; views of the input', () => {
    const x = tf.randn([7, 4]);
    const ax = arr(x);
    const parts = tf.split(x, 3);
    expect(parts.map((p) => p.shape)).toEqual([[3, 4], [3, 4], [1, 4]]);
    parts.forEach((p, i) => expectClose(p, pickRef(ax, [range(3 * i, Math.min(3 * i + 3, 7)), range(0, 4)]), { rtol: 0, atol: 0 }));
    const secs = x.split([1, 0, 6]);
    expect(secs.map((p) => p.shape)).toEqual([[1, 4], [0, 4], [6, 4]]);
    expectClose(secs[2], pickRef(ax, [range(1, 7), range(0, 4)]), { rtol: 0, atol: 0 });
    const cols = tf.split(x, [3, 1], -1);
    expectClose(cols[1], pickRef(ax, [range(0, 7), [3]]), { rtol: 0, atol: 0 });
    expect(tf.split(x, 7).length).toBe(1);
    expect(tf.split(x, 100).map((p) => p.shape)).toEqual([[7, 4]]);
    expect(parts[1].storageOffset).toBe(12); // a view
    expect(tf.split(tf.zeros([0, 2]), 2).map((p) => p.shape)).toEqual([[0, 2]]);
  });

  it('chunk gives ceil(size / chunks)-sized pieces (maybe fewer than chunks)', () => {
    const x = tf.arange(7);
    expect(tf.chunk(x, 3).map((p) => p.toArray())).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(tf.chunk(tf.arange(6), 4).map((p) => p.toArray())).toEqual([[0, 1], [2, 3], [4, 5]]);
    expect(tf.chunk(tf.arange(5), 5).map((p) => p.toArray())).toEqual([[0], [1], [2], [3], [4]]);
    expect(tf.chunk(tf.arange(2), 5).map((p) => p.toArray())).toEqual([[0], [1]]);
    const m = tf.arange(12).reshape(3, 4);
    expect(m.chunk(2, 1).map((p) => p.toArray())).toEqual([[[0, 1], [4, 5], [8, 9]], [[2, 3], [6, 7], [10, 11]]]);
  });

  it('unbind along each dim', () => {
    const x = tf.arange(24).reshape(2, 3, 4);
    const ax = arr(x);
    for (let d = -3; d < 3; d++) {
      const dd = d < 0 ? d + 3 : d;
      const parts = tf.unbind(x, d);
      expect(parts.length).toBe(x.shape[dd]);
      parts.forEach((p, i) => {
        const pick = x.shape.map((s) => range(0, s));
        pick[dd] = [i];
        const ref = pickRef(ax, pick);
        expectClose(p, { shape: ref.shape.filter((_, k) => k !== dd), data: ref.data }, { rtol: 0, atol: 0, dtype: 'int32' });
      });
    }
    expect(x.unbind().length).toBe(2);
  });
});

// ---- creation ------------------------------------------------------------------------------------

describe('creation', () => {
  it('tensor() from numbers, booleans and nested arrays', () => {
    expectExact(tf.tensor(3.5), 3.5, 'float32');
    expectExact(tf.tensor(true), true, 'bool');
    expectExact(tf.tensor([]), [], 'float32');
    expect(tf.tensor([[], [], []]).shape).toEqual([3, 0]);
    expectExact(tf.tensor([[1, 2, 3], [4, 5, 6]]), [[1, 2, 3], [4, 5, 6]], 'float32');
    expectExact(tf.tensor([[[true], [false]]]), [[[true], [false]]], 'bool');
    expectClose(tf.tensor([0.1, -1e30, NaN, Infinity]), [Math.fround(0.1), Math.fround(-1e30), NaN, Infinity], { rtol: 0, atol: 0 });
    expectExact(tf.tensor([1.9, -1.9, 7], { dtype: 'int32' }), [1, -1, 7], 'int32');
    expectExact(tf.tensor([0, 2, -1], { dtype: 'bool' }), [false, true, true], 'bool');
    expectExact(tf.tensor([true, false], { dtype: 'float64' }), [1, 0], 'float64');
    expectClose(tf.tensor([0.1], { dtype: 'float64' }), [0.1], { rtol: 0, atol: 0 });
    expectExact(tf.tensor([1, 2, 3, 4, 5, 6], { shape: [3, 2] }), [[1, 2], [3, 4], [5, 6]]);
    expectExact(tf.tensor([5], { shape: [] }), 5);
    expect(tf.tensor([[1, 2]], { requiresGrad: true }).requiresGrad).toBe(true);
  });

  it('tensor() from typed arrays (dtype from the array, shape option, copies the data)', () => {
    const f = new Float32Array([1, 2, 3, 4, 5, 6]);
    const t = tf.tensor(f, { shape: [2, 3] });
    expectExact(t, [[1, 2, 3], [4, 5, 6]], 'float32');
    f[0] = 100;
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expectExact(tf.tensor(new Float64Array([0.1, 0.2])), [0.1, 0.2], 'float64');
    expectExact(tf.tensor(new Int32Array([1, -2]), { shape: [2, 1] }), [[1], [-2]], 'int32');
    expectExact(tf.tensor(new Uint8Array([0, 1, 5])), [false, true, true], 'bool');
    expectExact(tf.tensor(new Int32Array([1, -2]), { dtype: 'float32' }), [1, -2], 'float32');
    expectExact(tf.tensor(new Float64Array([1.5, -2.5]), { dtype: 'int32' }), [1, -2], 'int32');
    expectExact(tf.tensor(new Float32Array(0)), [], 'float32');
  });

  it('zeros / ones / full / empty (shape as array or varargs, with dtype)', () => {
    expectExact(tf.zeros([2, 3]), [[0, 0, 0], [0, 0, 0]], 'float32');
    expectExact(tf.zeros(2, 1), [[0], [0]], 'float32');
    expectExact(tf.zeros([]), 0);
    expectExact(tf.zeros([3], { dtype: 'bool' }), [false, false, false], 'bool');
    expectExact(tf.ones([2], { dtype: 'int32' }), [1, 1], 'int32');
    expectExact(tf.ones(1, 2, { dtype: 'float64' }), [[1, 1]], 'float64');
    expectExact(tf.ones([2, 0]), [[], []]);
    expectExact(tf.full([2, 2], 7.5), [[7.5, 7.5], [7.5, 7.5]], 'float32');
    expectExact(tf.full([2], true), [true, true], 'bool');
    expectExact(tf.full([2], -3, { dtype: 'int32' }), [-3, -3], 'int32');
    expectClose(tf.full([1], NaN), [NaN]);
    const e = tf.empty([3, 0, 2], { dtype: 'float64' });
    expect(e.shape).toEqual([3, 0, 2]);
    expect(e.dtype).toBe('float64');
    expect(tf.empty(4, 5).shape).toEqual([4, 5]);
  });

  it('arange: int32 for integer arguments, float32 otherwise, negative steps, empty ranges', () => {
    expectExact(tf.arange(5), [0, 1, 2, 3, 4], 'int32');
    expectExact(tf.arange(2, 7, 2), [2, 4, 6], 'int32');
    expectExact(tf.arange(5, 0, -2), [5, 3, 1], 'int32');
    expectExact(tf.arange(3, 3), [], 'int32');
    expectExact(tf.arange(-3, 0), [-3, -2, -1], 'int32');
    expectClose(tf.arange(0, 1, 0.25), [0, 0.25, 0.5, 0.75], { dtype: 'float32' });
    expectClose(tf.arange(0, 1, 0.1), range(0, 10).map((i) => i * 0.1), { dtype: 'float32' });
    expectClose(tf.arange(1.5), [0, 1], { dtype: 'float32' });
    expectClose(tf.arange(0, 3, 1, { dtype: 'float64' }), [0, 1, 2], { dtype: 'float64' });
  });

  it('linspace: endpoints exact, steps 0 and 1', () => {
    expectClose(tf.linspace(0, 1, 5), [0, 0.25, 0.5, 0.75, 1], { rtol: 0, atol: 0, dtype: 'float32' });
    expectClose(tf.linspace(-1, 1, 7), range(0, 7).map((i) => -1 + i / 3), { rtol: 1e-6, atol: 1e-7 });
    expectClose(tf.linspace(3, -3, 4, { dtype: 'float64' }), [3, 1, -1, -3], { rtol: 1e-15, atol: 1e-15, dtype: 'float64' });
    const l = tf.linspace(0.1, 0.7, 13).dataSync();
    expect(l[0]).toBe(Math.fround(0.1));
    expect(l[12]).toBe(Math.fround(0.7));
    expectExact(tf.linspace(2, 5, 1), [2]);
    expectExact(tf.linspace(2, 5, 0), []);
  });

  it('eye: square, rectangular, dtype', () => {
    expectExact(tf.eye(3), [[1, 0, 0], [0, 1, 0], [0, 0, 1]], 'float32');
    expectExact(tf.eye(2, 4), [[1, 0, 0, 0], [0, 1, 0, 0]]);
    expectExact(tf.eye(3, 1), [[1], [0], [0]]);
    expectExact(tf.eye(2, 2, { dtype: 'int32' }), [[1, 0], [0, 1]], 'int32');
    expect(tf.eye(0).shape).toEqual([0, 0]);
    expect(tf.eye(0, 3).shape).toEqual([0, 3]);
  });

  it('zerosLike / onesLike / fullLike / randnLike keep shape and dtype', () => {
    const x = tf.tensor([[1, 2, 3]], { dtype: 'float64' });
    expectExact(tf.zerosLike(x), [[0, 0, 0]], 'float64');
    expectExact(tf.onesLike(x), [[1, 1, 1]], 'float64');
    expectExact(tf.onesLike(tf.arange(2)), [1, 1], 'int32');
    expectExact(tf.zerosLike(x, { dtype: 'int32' }), [[0, 0, 0]], 'int32');
    expectExact(tf.fullLike(x, 2), [[2, 2, 2]], 'float64');
    const r = tf.randnLike(x.t());
    expect(r.shape).toEqual([3, 1]);
    expect(r.dtype).toBe('float64');
    expect(tf.randnLike(tf.zeros([2, 0])).shape).toEqual([2, 0]);
  });
});

// ---- random --------------------------------------------------------------------------------------

describe('random', () => {
  it('manualSeed: the same seed gives the same numbers, a different seed different ones', () => {
    tf.manualSeed(42);
    const a = Array.from(tf.randn([100]).dataSync()), a2 = Array.from(tf.rand([50]).dataSync()), a3 = Array.from(tf.randint(0, 1000, [50]).dataSync());
    tf.manualSeed(42);
    const b = Array.from(tf.randn([100]).dataSync()), b2 = Array.from(tf.rand([50]).dataSync()), b3 = Array.from(tf.randint(0, 1000, [50]).dataSync());
    expect(b).toEqual(a);
    expect(b2).toEqual(a2);
    expect(b3).toEqual(a3);
    tf.manualSeed(43);
    const c = Array.from(tf.randn([100]).dataSync());
    expect(c.filter((v, i) => v === a[i]).length).toBeLessThan(3);
    // consecutive draws differ
    tf.manualSeed(42);
    const d1 = Array.from(tf.rand([20]).dataSync()), d2 = Array.from(tf.rand([20]).dataSync());
    expect(d1).not.toEqual(d2);
  });

  it('a Generator gives its own reproducible stream, independent of the default one', () => {
    const g1 = new tf.Generator(5), g2 = new tf.Generator(5);
    const x = Array.from(tf.rand([30], { generator: g1 }).dataSync());
    tf.manualSeed(5);
    tf.rand([7]); // advancing the default generator does not affect g2
    expect(Array.from(tf.rand([30], { generator: g2 }).dataSync())).toEqual(x);
  });

  it('rand is in [0, 1) with mean 1/2 and variance 1/12', () => {
    tf.manualSeed(1);
    const v = tf.rand([100_000]).dataSync();
    let min = Infinity, max = -Infinity, s = 0, s2 = 0;
    for (const x of v) { min = Math.min(min, x); max = Math.max(max, x); s += x; s2 += x * x; }
    const m = s / v.length;
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(min).toBeLessThan(1e-3);
    expect(max).toBeGreaterThan(1 - 1e-3);
    expect(Math.abs(m - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(s2 / v.length - m * m - 1 / 12)).toBeLessThan(0.002);
    const d = tf.rand([10_000], { dtype: 'float64' }).dataSync();
    expect(d).toBeInstanceOf(Float64Array);
    expect(Math.min(...d)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...d)).toBeLessThan(1);
  });

  it('randn has mean ~0, std ~1 over 100k samples, with normal tails', () => {
    tf.manualSeed(2);
    for (const dtype of ['float32', 'float64'] as const) {
      const v = tf.randn([100_000], { dtype }).dataSync();
      let s = 0, s2 = 0, beyond2 = 0;
      for (const x of v) { s += x; s2 += x * x; if (Math.abs(x) > 2) beyond2++; }
      const m = s / v.length, sd = Math.sqrt(s2 / v.length - m * m);
      expect(Math.abs(m)).toBeLessThan(0.015);
      expect(Math.abs(sd - 1)).toBeLessThan(0.015);
      expect(Math.abs(beyond2 / v.length - 0.0455)).toBeLessThan(0.005); // P(|z| > 2)
    }
    // odd sizes (normals are drawn in pairs)
    expect(tf.randn([7]).shape).toEqual([7]);
    expect(tf.randn([]).shape).toEqual([]);
  });

  it('uniform / normal take their parameters; randperm is a reproducible permutation', () => {
    tf.manualSeed(4);
    const u = Array.from(tf.uniform([20_000], -2, 3).dataSync());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...u)).toBeLessThan(3);
    expect(Math.abs(rmean(u) - 0.5)).toBeLessThan(0.05);
    const n = Array.from(tf.normal([20_000], 10, 0.5, { dtype: 'float64' }).dataSync());
    expect(Math.abs(rmean(n) - 10)).toBeLessThan(0.02);
    expect(Math.abs(Math.sqrt(rvar(0)(n)) - 0.5)).toBeLessThan(0.02);
    tf.manualSeed(4);
    const p = Array.from(tf.randperm(50).dataSync());
    expect([...p].sort((a, b) => a - b)).toEqual(range(0, 50));
    expect(p).not.toEqual(range(0, 50));
    tf.manualSeed(4);
    expect(Array.from(tf.randperm(50).dataSync())).toEqual(p);
    expect(tf.randperm(0).shape).toEqual([0]);
  });

  it('randint covers [low, high) and nothing else', () => {
    tf.manualSeed(3);
    const v = Array.from(tf.randint(-3, 4, [10_000]).dataSync());
    expect(Math.min(...v)).toBe(-3);
    expect(Math.max(...v)).toBe(3);
    expect(v.every(Number.isInteger)).toBe(true);
    const counts = range(-3, 4).map((k) => v.filter((x) => x === k).length);
    for (const c of counts) expect(Math.abs(c - 10_000 / 7)).toBeLessThan(200);
    const r = tf.randint(0, 1, [5]);
    expect(r.dtype).toBe('int32');
    expect(Array.from(r.dataSync())).toEqual([0, 0, 0, 0, 0]);
    const big = Array.from(tf.randint(1_000_000, 1_000_003, [300], { dtype: 'float32' }).dataSync());
    expect(new Set(big)).toEqual(new Set([1_000_000, 1_000_001, 1_000_002]));
  });
});

// ---- reading back --------------------------------------------------------------------------------

describe('reading data back', () => {
  it('dataSync returns a fresh typed array of the dtype, in logical order for views', () => {
    const x = tf.tensor([[1, 2], [3, 4]]);
    const d = x.dataSync();
    expect(d).toBeInstanceOf(Float32Array);
    expect(Array.from(d)).toEqual([1, 2, 3, 4]);
    d[0] = 99;
    expect(x.dataSync()[0]).toBe(1);
    expect(Array.from(x.t().dataSync())).toEqual([1, 3, 2, 4]);
    expect(Array.from(x.select(1, 1).dataSync())).toEqual([2, 4]);
    expect(tf.arange(3).dataSync()).toBeInstanceOf(Int32Array);
    expect(tf.zeros([2], { dtype: 'float64' }).dataSync()).toBeInstanceOf(Float64Array);
    expect(tf.tensor([true]).dataSync()).toBeInstanceOf(Uint8Array);
    expect(tf.zeros([0, 3]).dataSync().length).toBe(0);
  });

  it('data() resolves to the same values', async () => {
    const x = tf.arange(6).reshape(2, 3).t();
    const d = await x.data();
    expect(d).toBeInstanceOf(Int32Array);
    expect(Array.from(d)).toEqual([0, 3, 1, 4, 2, 5]);
  });

  it('toArray gives nested arrays (bools as booleans, 0-d as a number)', () => {
    expect(tf.tensor([[1, 2], [3, 4]]).toArray()).toEqual([[1, 2], [3, 4]]);
    expect(tf.tensor([[true, false]]).toArray()).toEqual([[true, false]]);
    expect(tf.tensor(2.5).toArray()).toBe(2.5);
    expect(tf.tensor(false).toArray()).toBe(false);
    expect(tf.zeros([2, 0, 1]).toArray()).toEqual([[], []]);
    expect(tf.arange(6).reshape(3, 2).t().toArray()).toEqual([[0, 2, 4], [1, 3, 5]]);
  });

  it('item reads one-element tensors of any rank', () => {
    expect(tf.tensor(3.25).item()).toBe(3.25);
    expect(tf.tensor([[7]], { dtype: 'int32' }).item()).toBe(7);
    expect(tf.tensor([0.1], { dtype: 'float64' }).item()).toBe(0.1);
    expect(tf.arange(10).select(0, 7).item()).toBe(7);
    expect(Number(tf.tensor([true]).item())).toBe(1);
  });
});

// ---- non-contiguous inputs to every op family ----------------------------------------------------

describe('non-contiguous inputs give the same results as contiguous ones', () => {
  beforeEach(() => tf.manualSeed(99));

  // Each family: op(x) for an input x of shape [5, 6] (or as given).
  const families: { name: string; f: (x: tf.Tensor) => tf.Tensor; domain?: Domain }[] = [
    { name: 'exp', f: tf.exp },
    { name: 'log', f: tf.log, domain: 'pos' },
    { name: 'gelu', f: (x) => tf.gelu(x) },
    { name: 'relu', f: tf.relu },
    { name: 'clamp', f: (x) => x.clamp(-0.5, 0.5) },
    { name: 'pow 3', f: (x) => x.pow(3) },
    { name: 'round', f: tf.round },
    { name: 'logicalNot', f: tf.logicalNot },
    { name: 'add (with itself, broadcast row)', f: (x) => tf.add(x, x.select(0, 1)) },
    { name: 'mul by number', f: (x) => tf.mul(2, x) },
    { name: 'div', f: (x) => tf.div(x.select(1, 0).unsqueeze(1), x) },
    { name: 'maximum', f: (x) => tf.maximum(x, x.t().narrow(0, 0, 5).narrow(1, 0, 5).sum(1, { keepdim: true })) },
    { name: 'comparison', f: (x) => tf.gt(x, 0.1) },
    { name: 'where', f: (x) => tf.where(x.gt(0), x, x.neg()) },
    { name: 'sum dim 0', f: (x) => x.sum(0) },
    { name: 'sum all', f: (x) => x.sum() },
    { name: 'mean keepdim', f: (x) => x.mean(1, { keepdim: true }) },
    { name: 'prod', f: (x) => x.prod([0, 1]) },
    { name: 'max', f: (x) => x.max(1) },
    { name: 'argmax', f: (x) => x.argmax(0) },
    { name: 'argmin flat', f: (x) => x.argmin() },
    { name: 'var', f: (x) => x.var(0) },
    { name: 'logsumexp', f: (x) => x.logsumexp(1) },
    { name: 'any', f: (x) => x.gt(1).any(1) },
    { name: 'softmax 0', f: (x) => x.softmax(0) },
    { name: 'logSoftmax 1', f: (x) => x.logSoftmax(1) },
    { name: 'matmul', f: (x) => tf.matmul(x, x.t()) },
    { name: 'matmul vector', f: (x) => tf.matmul(x, x.select(0, 2)) },
    { name: 'gather', f: (x) => tf.gather(x, 1, tf.tensor([[0, 5], [1, 1], [2, 0], [3, 4], [4, 4]], { dtype: 'int32' })) },
    { name: 'indexSelect', f: (x) => tf.indexSelect(x, 0, tf.tensor([4, 0, 4], { dtype: 'int32' })) },
    { name: 'scatterAdd', f: (x) => tf.scatterAdd(x, 0, tf.tensor([[4, 0, 4, 1, 1, 2]], { dtype: 'int32' }), x) },
    { name: 'indexAdd', f: (x) => tf.indexAdd(x, 1, tf.tensor([5, 5], { dtype: 'int32' }), x.narrow(1, 0, 2)) },
    { name: 'cat', f: (x) => tf.cat([x, x], 1) },
    { name: 'stack', f: (x) => tf.stack([x, x], 2) },
    { name: 'to float64', f: (x) => x.double() },
    { name: 'to int32', f: (x) => x.mul(3).int() },
    { name: 'to bool', f: (x) => x.round().bool() },
    { name: 'clone', f: (x) => x.clone() },
    { name: 'reshape (copies)', f: (x) => x.reshape(30) },
    { name: 'flatten', f: (x) => x.flatten() },
  ];

  const variants = (shape: number[], domain: Domain): { name: string; t: tf.Tensor }[] => {
    const base = input(shape, domain);
    const vals = arr(base);
    const contiguous = tf.tensor(vals.data, { shape });
    // transposed storage
    const tr = input([shape[1], shape[0]], domain).t();
    tf.noGrad(() => tr.copy_(contiguous));
    // every other element along the last dim, at an offset
    const st = tf.zeros([shape[0], 2 * shape[1] + 3]).slice(1, 3, null, 2);
    tf.noGrad(() => st.copy_(contiguous));
    // every other row, reversed memory order of dims via permute of a 3-D buffer
    const buf = tf.zeros([shape[1], 2, shape[0]]);
    const pm = buf.select(1, 1).t();
    tf.noGrad(() => pm.copy_(contiguous));
    return [{ name: 'contiguous', t: contiguous }, { name: 'transposed', t: tr }, { name: 'step-sliced', t: st }, { name: 'permuted+selected', t: pm }];
  };

  for (const fam of families) {
    it(fam.name, () => {
      const vs = variants([5, 6], fam.domain ?? 'any');
      for (const v of vs.slice(1)) expect(v.t.isContiguous(), v.name).toBe(false);
      const want = arr(fam.f(vs[0].t));
      for (const v of vs.slice(1)) {
        expect(arr(v.t).data).toEqual(vs[0] && arr(vs[0].t).data);
        expectClose(fam.f(v.t), want, { rtol: 1e-5, atol: 1e-6 });
      }
    });
  }

  it('expanded (stride-0) inputs', () => {
    const row = tf.randn([1, 6]);
    const ex = row.expand([5, 6]);
    const dense = ex.contiguous();
    expect(ex.strides).toEqual([0, 1]);
    for (const fam of families) {
      if (fam.domain === 'pos') continue;
      expectClose(fam.f(ex), arr(fam.f(dense)), { rtol: 1e-5, atol: 1e-6 });
    }
    const col = tf.randn([5]).unsqueeze(1).expand(5, 6);
    expectClose(tf.softmax(col, 1), { shape: [5, 6], data: new Array(30).fill(1 / 6) });
    expectClose(col.sum(1), map(arr(col.select(1, 0)), (v) => 6 * v), { rtol: 1e-5, atol: 1e-5 });
  });

  it('parallel ops run right after the thread pool workers spin, nap and block (idle 0, 20 and 150 ms)', async () => {
    const n = tf.getNumThreads();
    tf.setNumThreads(2);
    try {
      const x = tf.randn([512, 300]), w = tf.randn([300, 256]);
      const ref = matmulRef(arr(x), arr(w));
      for (const idle of [0, 20, 150, 0, 150, 20]) {
        await new Promise((r) => setTimeout(r, idle));
        expectClose(tf.matmul(x, w), ref, { rtol: 1e-4, atol: 1e-3 });
      }
    } finally {
      tf.setNumThreads(n);
    }
  });

  it('results are the same with 1 thread and with all threads', () => {
    const n = tf.getNumThreads();
    const x = tf.randn([301, 257]);
    const w = tf.randn([257, 129]);
    const run = () => [tf.matmul(x, w), x.sum(1), x.exp(), x.softmax(0), x.t().add(1)].map(arr);
    const many = run();
    tf.setNumThreads(1);
    try {
      const one = run();
      one.forEach((r, i) => expectClose(tf.tensor(r.data, { shape: r.shape }), many[i], { rtol: 1e-5, atol: 1e-4 }));
    } finally {
      tf.setNumThreads(n);
    }
  });
});

// ---- in-place ops (forward values) ---------------------------------------------------------------

describe('in-place ops', () => {
  it('add_/sub_ (alpha), mul_/div_ (broadcast), clamp_, fill_, zero_, copy_ (dtype cast) write the right values', () => {
    expect(tf.ones([3]).add_(tf.arange(3), { alpha: 2 }).toArray()).toEqual([1, 3, 5]);
    expect(tf.ones([3]).sub_(tf.arange(3), { alpha: 2 }).toArray()).toEqual([1, -1, -3]);
    expect(tf.ones([3]).sub_(0.5).toArray()).toEqual([0.5, 0.5, 0.5]);
    expect(tf.ones([2, 3]).mul_(tf.arange(3)).toArray()).toEqual([[0, 1, 2], [0, 1, 2]]);
    expect(tf.ones([3]).div_(tf.tensor([2, 4, 8])).toArray()).toEqual([0.5, 0.25, 0.125]);
    expect(tf.tensor([-2, 0.5, 3, NaN]).clamp_(0, 1).toArray()).toEqual([0, 0.5, 1, NaN]);
    expect(tf.tensor([-2, 5], { dtype: 'int32' }).clamp_(-1, 2).toArray()).toEqual([-1, 2]);
    expect(tf.zeros([2]).fill_(2.5).toArray()).toEqual([2.5, 2.5]);
    expect(tf.zeros([2], { dtype: 'bool' }).fill_(true).toArray()).toEqual([true, true]);
    expect(tf.ones([2]).zero_().toArray()).toEqual([0, 0]);
    expect(tf.zeros([3], { dtype: 'int32' }).copy_(tf.tensor([1.7, -1.7, 2.5])).toArray()).toEqual([1, -1, 2]);
    expect(tf.zeros([2, 2]).copy_(tf.tensor([true, false])).toArray()).toEqual([[1, 0], [1, 0]]);
    expect(tf.zeros([2]).copy_(3).toArray()).toEqual([3, 3]);
    const x = tf.zeros([2, 3]);
    x.narrow(1, 1, 2).add_(1).mul_(tf.tensor([[2], [3]]));
    expect(x.toArray()).toEqual([[0, 2, 2], [0, 3, 3]]);
  });

  it('sources that overlap the destination in another layout are read before being overwritten', () => {
    const x = tf.arange(4).float().reshape(2, 2);
    x.add_(x.t());
    expect(x.toArray()).toEqual([[0, 3], [3, 6]]);
    const y = tf.arange(4).float().reshape(2, 2);
    y.copy_(y.t());
    expect(y.toArray()).toEqual([[0, 2], [1, 3]]);
    const z = tf.arange(5).float();
    z.narrow(0, 1, 4).copy_(z.narrow(0, 0, 4)); // shift right by one
    expect(z.toArray()).toEqual([0, 0, 1, 2, 3]);
    const w = tf.arange(1, 4).float();
    w.add_(w.select(0, 0)); // broadcast of its own first element
    expect(w.toArray()).toEqual([2, 3, 4]);
    const s = tf.arange(3).float();
    s.add_(s); // same layout
    expect(s.toArray()).toEqual([0, 2, 4]);
  });
});
