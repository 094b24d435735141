// Test helpers: a tiny row-major JS array type (`Arr`) with reference implementations of the ops
// (broadcasting, reductions, matmul), and `expectClose` to compare a Tensor against them.
import { expect } from 'vitest';
import * as tf from '../lib';

export type Nested = number | boolean | Nested[];

/** A dense row-major array in float64 (JS numbers): the reference side of every comparison. */
export interface Arr {
  shape: number[];
  data: number[];
}

export const numel = (shape: readonly number[]): number => shape.reduce((p, c) => p * c, 1);

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let r = 0;
  for (let d = 0; d < shape.length; d++) r = r * shape[d] + idx[d];
  return r;
}

/** Reads a tensor into an Arr (bools as 0/1). */
export function arr(t: tf.Tensor): Arr {
  return { shape: t.shape, data: Array.from(t.dataSync() as ArrayLike<number>, Number) };
}

export function shapeOfNested(n: Nested): number[] {
  const shape: number[] = [];
  let p: Nested = n;
  while (Array.isArray(p)) {
    shape.push(p.length);
    p = p[0];
  }
  return shape;
}

export function flattenNested(n: Nested): number[] {
  if (!Array.isArray(n)) return [Number(n)];
  return n.flatMap((v) => flattenNested(v));
}

export function fromNested(n: Nested): Arr {
  return { shape: shapeOfNested(n), data: flattenNested(n) };
}

export function map(a: Arr, f: (v: number, i: number) => number): Arr {
  return { shape: a.shape.slice(), data: a.data.map(f) };
}

export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da !== db && da !== 1 && db !== 1) throw new Error(`ref broadcast: ${a} vs ${b}`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** The element of `a` at output index `idx` of a broadcast shape. */
function atBroadcast(a: Arr, idx: readonly number[]): number {
  const off = idx.length - a.shape.length;
  let r = 0;
  for (let d = 0; d < a.shape.length; d++) r = r * a.shape[d] + (a.shape[d] === 1 ? 0 : idx[d + off]);
  return a.data[r];
}

export function zip(a: Arr, b: Arr, f: (x: number, y: number) => number): Arr {
  const shape = broadcastShape(a.shape, b.shape);
  const n = numel(shape);
  const data = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const idx = unravel(i, shape);
    data[i] = f(atBroadcast(a, idx), atBroadcast(b, idx));
  }
  return { shape, data };
}

export function zip3(c: Arr, a: Arr, b: Arr, f: (c: number, x: number, y: number) => number): Arr {
  const shape = broadcastShape(broadcastShape(c.shape, a.shape), b.shape);
  const n = numel(shape);
  const data = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const idx = unravel(i, shape);
    data[i] = f(atBroadcast(c, idx), atBroadcast(a, idx), atBroadcast(b, idx));
  }
  return { shape, data };
}

/** Reduces `dims` (undefined: all) with f over each group's values (in row-major order). */
export function reduce(a: Arr, dims: number | number[] | undefined, keepdim: boolean, f: (vals: number[]) => number): Arr {
  const nd = a.shape.length;
  let list = dims === undefined ? a.shape.map((_, i) => i) : typeof dims === 'number' ? [dims] : dims;
  list = list.map((d) => (d < 0 ? d + nd : d));
  const red = new Set(list);
  const outFull = a.shape.map((s, i) => (red.has(i) ? 1 : s));
  const groups: number[][] = Array.from({ length: numel(outFull) }, () => []);
  for (let i = 0; i < a.data.length; i++) {
    const idx = unravel(i, a.shape).map((v, d) => (red.has(d) ? 0 : v));
    groups[ravel(idx, outFull)].push(a.data[i]);
  }
  const shape = keepdim ? outFull : a.shape.filter((_, i) => !red.has(i));
  return { shape, data: groups.map(f) };
}

export const rsum = (v: number[]): number => v.reduce((p, c) => p + c, 0);
export const rmean = (v: number[]): number => rsum(v) / v.length;
export const rprod = (v: number[]): number => v.reduce((p, c) => p * c, 1);
export const rmax = (v: number[]): number => (v.some(Number.isNaN) ? NaN : Math.max(...v));
export const rmin = (v: number[]): number => (v.some(Number.isNaN) ? NaN : Math.min(...v));
export function rargmax(v: number[]): number {
  let best = 0;
  for (let i = 0; i < v.length; i++) {
    if (Number.isNaN(v[i])) return i;
    if (v[i] > v[best]) best = i;
  }
  return best;
}
export function rargmin(v: number[]): number {
  let best = 0;
  for (let i = 0; i < v.length; i++) {
    if (Number.isNaN(v[i])) return i;
    if (v[i] < v[best]) best = i;
  }
  return best;
}
export const rvar = (correction: number) => (v: number[]): number => {
  if (v.length === 0) return NaN;
  const m = rmean(v);
  return rsum(v.map((x) => (x - m) ** 2)) / (v.length - correction);
};
export function rlogsumexp(v: number[]): number {
  const m = Math.max(...v);
  if (!Number.isFinite(m)) return m;
  return m + Math.log(rsum(v.map((x) => Math.exp(x - m))));
}

/** Softmax (or log-softmax) of a along dim. */
export function softmaxRef(a: Arr, dim: number, log: boolean): Arr {
  const nd = a.shape.length;
  const d = dim < 0 ? dim + nd : dim;
  const lse = reduce(a, d, true, rlogsumexp);
  return zip(a, lse, (x, l) => (log ? x - l : Math.exp(x - l)));
}

/** torch.matmul semantics in float64. */
export function matmulRef(a: Arr, b: Arr): Arr {
  const A = a.shape.length === 1 ? { shape: [1, a.shape[0]], data: a.data } : a;
  const B = b.shape.length === 1 ? { shape: [b.shape[0], 1], data: b.data } : b;
  const M = A.shape[A.shape.length - 2], K = A.shape[A.shape.length - 1], N = B.shape[B.shape.length - 1];
  if (B.shape[B.shape.length - 2] !== K) throw new Error('ref matmul: K mismatch');
  const batch = broadcastShape(A.shape.slice(0, -2), B.shape.slice(0, -2));
  const nb = numel(batch);
  const data: number[] = [];
  const batchIndex = (x: Arr, bi: number[]): number => {
    const bs = x.shape.slice(0, -2);
    const off = bi.length - bs.length;
    let r = 0;
    for (let d = 0; d < bs.length; d++) r = r * bs[d] + (bs[d] === 1 ? 0 : bi[d + off]);
    return r;
  };
  for (let t = 0; t < nb; t++) {
    const bi = unravel(t, batch);
    const oa = batchIndex(A, bi) * M * K, ob = batchIndex(B, bi) * K * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += A.data[oa + i * K + k] * B.data[ob + k * N + j];
        data.push(s);
      }
    }
  }
  const shape = [...batch];
  if (a.shape.length !== 1) shape.push(M);
  if (b.shape.length !== 1) shape.push(N);
  return { shape, data };
}

/** Permutes the dims of a (reference for permute/transpose). */
export function permuteRef(a: Arr, perm: number[]): Arr {
  const shape = perm.map((p) => a.shape[p]);
  const data = new Array<number>(a.data.length);
  for (let i = 0; i < data.length; i++) {
    const idx = unravel(i, shape);
    const src = new Array<number>(perm.length);
    perm.forEach((p, k) => (src[p] = idx[k]));
    data[i] = a.data[ravel(src, a.shape)];
  }
  return { shape, data };
}

/** Elements of a where each dim d runs over `pick[d]` (a list of indices): a general slice. */
export function pickRef(a: Arr, pick: number[][]): Arr {
  const shape = pick.map((p) => p.length);
  const data: number[] = [];
  for (let i = 0; i < numel(shape); i++) {
    const idx = unravel(i, shape).map((v, d) => pick[d][v]);
    data.push(a.data[ravel(idx, a.shape)]);
  }
  return { shape, data };
}

export const range = (start: number, end: number, step = 1): number[] => {
  const r: number[] = [];
  for (let i = start; step > 0 ? i < end : i > end; i += step) r.push(i);
  return r;
};

export interface CloseOptions {
  rtol?: number;
  atol?: number;
  dtype?: tf.DType;
}

function isArr(v: unknown): v is Arr {
  return typeof v === 'object' && v !== null && !(v instanceof tf.Tensor) && !Array.isArray(v) && 'shape' in v && 'data' in v;
}

/**
 * Asserts the tensor matches `expected` (an Arr, nested arrays, or a number for a 0-d tensor) in
 * shape and, elementwise, |a - e| <= atol + rtol |e|. NaN must meet NaN and infinities must match.
 */
export function expectClose(actual: tf.Tensor, expected: tf.Tensor | Arr | Nested, tol: number | CloseOptions = {}): void {
  const o: CloseOptions = typeof tol === 'number' ? { atol: tol, rtol: tol } : tol;
  const rtol = o.rtol ?? 1e-5, atol = o.atol ?? 1e-6;
  const e = expected instanceof tf.Tensor ? arr(expected) : isArr(expected) ? expected : fromNested(expected);
  expect(actual).toBeInstanceOf(tf.Tensor);
  expect(actual.shape, 'shape').toEqual(e.shape);
  if (o.dtype) expect(actual.dtype, 'dtype').toBe(o.dtype);
  const got = Array.from(actual.dataSync() as ArrayLike<number>, Number);
  expect(got.length).toBe(e.data.length);
  const bad: string[] = [];
  for (let i = 0; i < got.length; i++) {
    const g = got[i], w = e.data[i];
    let ok: boolean;
    if (Number.isNaN(w)) ok = Number.isNaN(g);
    else if (!Number.isFinite(w)) ok = g === w;
    else ok = Number.isFinite(g) && Math.abs(g - w) <= atol + rtol * Math.abs(w);
    if (!ok && bad.length < 8) bad.push(`[${unravel(i, e.shape).join(', ')}]: got ${g}, expected ${w}`);
  }
  expect(bad, `mismatches (rtol ${rtol}, atol ${atol})`).toEqual([]);
}

/** Exact comparison: shape, dtype (optional) and values (bools compared as booleans via toArray). */
export function expectExact(actual: tf.Tensor, expected: Nested, dtype?: tf.DType): void {
  expect(actual).toBeInstanceOf(tf.Tensor);
  if (dtype) expect(actual.dtype).toBe(dtype);
  expect(actual.shape).toEqual(shapeOfNested(expected));
  expect(actual.toArray()).toEqual(expected);
}

/** Expects fn to throw an Error whose message contains every fragment (strings or regexps). */
export function expectThrows(fn: () => unknown, ...fragments: (string | RegExp)[]): Error {
  let caught: unknown = undefined;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a throw').toBeInstanceOf(Error);
  const msg = (caught as Error).message;
  for (const f of fragments) {
    if (typeof f === 'string') expect(msg).toContain(f);
    else expect(msg).toMatch(f);
  }
  return caught as Error;
}

/** A seeded uniform [0, 1) generator (an LCG): reproducible test data independent of tf's generator. */
export function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

/** An Arr of uniform values in [-1, 1) drawn from rnd. */
export function randArr(shape: number[], rnd: () => number): Arr {
  return { shape, data: Array.from({ length: numel(shape) }, () => 2 * rnd() - 1) };
}

/** An Arr as a float tensor. */
export function arrTensor(a: Arr, dtype: tf.DType, requiresGrad = false): tf.Tensor {
  const data = dtype === 'float64' ? Float64Array.from(a.data) : Float32Array.from(a.data);
  return tf.tensor(data, { shape: a.shape, requiresGrad });
}
