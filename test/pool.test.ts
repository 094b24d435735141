// Pooling ops against direct nested-loop references (float64 JS): max (values and indices), average
// (countIncludePad, ceilMode, divisorOverride) and adaptive average, 1-D and 2-D, batched,
// unbatched and non-contiguous, float32 and float64 on every CPU kernel level; gradcheck; errors.
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '../lib';
import { arrTensor, expectClose, expectThrows, lcg, numel, type Arr } from './helpers';

const rnd = lcg(24681357);
const toTensor = arrTensor;
/** Distinct values (a shuffled grid plus jitter), exactly representable in float32: no max ties. */
function distinctArr(shape: number[]): Arr {
  const n = numel(shape);
  const vals = Array.from({ length: n }, (_, i) => Math.fround(-2 + (4 * i) / n + (0.5 * rnd()) / n));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [vals[i], vals[j]] = [vals[j], vals[i]];
  }
  return { shape, data: vals };
}

interface PoolCase {
  name: string;
  x: number[]; // [N, C, ...spatial]
  k: number | number[];
  stride?: number | number[];
  padding?: number | number[];
  dilation?: number | number[];
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number;
}

/** Window geometry per spatial dim, as 2-D (1-D gets a unit H dim). */
function geom(c: PoolCase): { H: number; W: number; k: number[]; s: number[]; p: number[]; d: number[]; out: number[] } {
  const ns = c.x.length - 2;
  const as2 = (v: number | number[] | undefined, dflt: number, unit: number): number[] => {
    const l = v === undefined ? new Array(ns).fill(dflt) : typeof v === 'number' ? new Array(ns).fill(v) : v;
    return ns === 1 ? [unit, l[0]] : l;
  };
  const k = as2(c.k, 1, 1);
  const s = c.stride === undefined ? k : as2(c.stride, 1, 1);
  const p = as2(c.padding, 0, 0), d = as2(c.dilation, 1, 1);
  const [H, W] = ns === 1 ? [1, c.x[2]] : [c.x[2], c.x[3]];
  const out = [H, W].map((n, i) => {
    let o = Math.floor((n + 2 * p[i] - d[i] * (k[i] - 1) - 1 + (c.ceilMode ? s[i] - 1 : 0)) / s[i]) + 1;
    if (c.ceilMode && (o - 1) * s[i] >= n + p[i]) o--;
    return o;
  });
  return { H, W, k, s, p, d, out };
}

function outShape(c: PoolCase, out: number[]): number[] {
  return c.x.length === 3 ? [c.x[0], c.x[1], out[1]] : [c.x[0], c.x[1], out[0], out[1]];
}

function maxPoolRef(x: Arr, c: PoolCase): { out: Arr; idx: Arr } {
  const { H, W, k, s, p, d, out } = geom(c);
  const planes = c.x[0] * c.x[1];
  const vals: number[] = [], idx: number[] = [];
  for (let pl = 0; pl < planes; pl++)
    for (let oh = 0; oh < out[0]; oh++)
      for (let ow = 0; ow < out[1]; ow++) {
        let best = -Infinity, bi = -1;
        for (let kh = 0; kh < k[0]; kh++)
          for (let kw = 0; kw < k[1]; kw++) {
            const ih = oh * s[0] - p[0] + kh * d[0], iw = ow * s[1] - p[1] + kw * d[1];
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const v = x.data[pl * H * W + ih * W + iw];
            if (v > best || Number.isNaN(v) || bi < 0) {
              best = v;
              bi = ih * W + iw;
            }
          }
        vals.push(best);
        idx.push(bi);
      }
  const shape = outShape(c, out);
  return { out: { shape, data: vals }, idx: { shape, data: idx } };
}

function avgPoolRef(x: Arr, c: PoolCase): Arr {
  const { H, W, k, s, p, out } = geom(c);
  const planes = c.x[0] * c.x[1];
  const cip = c.countIncludePad ?? true;
  const data: number[] = [];
  for (let pl = 0; pl < planes; pl++)
    for (let oh = 0; oh < out[0]; oh++)
      for (let ow = 0; ow < out[1]; ow++) {
        const h0 = oh * s[0] - p[0], w0 = ow * s[1] - p[1];
        const h1 = Math.min(h0 + k[0], H + p[0]), w1 = Math.min(w0 + k[1], W + p[1]);
        const padded = (h1 - h0) * (w1 - w0);
        let sum = 0, count = 0;
        for (let ih = Math.max(h0, 0); ih < Math.min(h1, H); ih++)
          for (let iw = Math.max(w0, 0); iw < Math.min(w1, W); iw++) {
            sum += x.data[pl * H * W + ih * W + iw];
            count++;
          }
        data.push(sum / (c.divisorOverride ?? (cip ? padded : count)));
      }
  return { shape: outShape(c, out), data };
}

function adaptiveRef(x: Arr, out: number[]): Arr {
  const [N, C, H, W] = x.shape;
  const data: number[] = [];
  for (let pl = 0; pl < N * C; pl++)
    for (let oh = 0; oh < out[0]; oh++)
      for (let ow = 0; ow < out[1]; ow++) {
        const h0 = Math.floor((oh * H) / out[0]), h1 = Math.ceil(((oh + 1) * H) / out[0]);
        const w0 = Math.floor((ow * W) / out[1]), w1 = Math.ceil(((ow + 1) * W) / out[1]);
        let sum = 0;
        for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) sum += x.data[pl * H * W + ih * W + iw];
        data.push(sum / ((h1 - h0) * (w1 - w0)));
      }
  return { shape: [N, C, ...out], data };
}

/** Adaptive max pooling: the values and the flat indices of the first maximum of each window. */
function adaptiveMaxRef(x: Arr, out: number[]): { values: Arr; indices: number[] } {
  const [N, C, H, W] = x.shape;
  const data: number[] = [], indices: number[] = [];
  for (let pl = 0; pl < N * C; pl++)
    for (let oh = 0; oh < out[0]; oh++)
      for (let ow = 0; ow < out[1]; ow++) {
        const h0 = Math.floor((oh * H) / out[0]), h1 = Math.ceil(((oh + 1) * H) / out[0]);
        const w0 = Math.floor((ow * W) / out[1]), w1 = Math.ceil(((ow + 1) * W) / out[1]);
        let best = -Infinity, at = -1;
        for (let ih = h0; ih < h1; ih++)
          for (let iw = w0; iw < w1; iw++) {
            const v = x.data[pl * H * W + ih * W + iw];
            if (at < 0 || v > best) (best = v), (at = ih * W + iw);
          }
        data.push(best);
        indices.push(at);
      }
  return { values: { shape: [N, C, ...out], data }, indices };
}

const maxCases: PoolCase[] = [
  { name: 'k 2 (stride = kernel), odd sizes', x: [2, 3, 7, 9], k: 2 },
  { name: 'k 3, stride 2, padding 1', x: [1, 2, 8, 11], k: 3, stride: 2, padding: 1 },
  { name: 'k [3, 2], stride [2, 1], padding [1, 1], dilation [2, 1]', x: [2, 2, 9, 7], k: [3, 2], stride: [2, 1], padding: [1, 1], dilation: [2, 1] },
  { name: 'dilation 2, stride 3', x: [3, 1, 11, 10], k: 2, stride: 3, dilation: 2 },
  { name: 'ceilMode, k 3, stride 2', x: [1, 3, 8, 8], k: 3, stride: 2, ceilMode: true },
  { name: 'ceilMode, k 3, stride 3, padding 1', x: [2, 2, 10, 7], k: 3, stride: 3, padding: 1, ceilMode: true },
  { name: 'ceilMode, k 2, stride 3', x: [1, 2, 7, 10], k: 2, stride: 3, ceilMode: true },
  { name: 'global 5x6', x: [2, 3, 5, 6], k: [5, 6] },
  { name: '1-D k 3, stride 2, padding 1', x: [2, 3, 10], k: 3, stride: 2, padding: 1 },
  { name: '1-D dilation 2, ceilMode', x: [1, 2, 12], k: 3, stride: 2, dilation: 2, ceilMode: true },
];
const avgCases: PoolCase[] = [
  { name: 'k 2', x: [2, 3, 7, 9], k: 2 },
  { name: 'k 3, stride 2, padding 1', x: [1, 2, 8, 11], k: 3, stride: 2, padding: 1 },
  { name: 'k 3, stride 2, padding 1, countIncludePad false', x: [1, 2, 8, 11], k: 3, stride: 2, padding: 1, countIncludePad: false },
  { name: 'k [3, 2], stride [1, 2], padding [1, 1]', x: [2, 2, 6, 7], k: [3, 2], stride: [1, 2], padding: [1, 1] },
  { name: 'ceilMode, padding 1', x: [2, 2, 10, 7], k: 3, stride: 3, padding: 1, ceilMode: true },
  { name: 'ceilMode, countIncludePad false', x: [1, 3, 8, 8], k: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false },
  { name: 'divisorOverride 5', x: [1, 2, 7, 7], k: 3, stride: 2, padding: 1, divisorOverride: 5 },
  { name: '1-D k 4, stride 3, padding 2', x: [2, 3, 13], k: 4, stride: 3, padding: 2 },
  { name: '1-D ceilMode, countIncludePad false', x: [1, 2, 10], k: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false },
];

const levels = tf.cpuKernelLevels();
const initialLevel = tf.cpuKernelLevel();
afterAll(() => tf.setCpuKernelLevel(initialLevel));

type Layout = 'contiguous' | 'channels-last' | 'unbatched';

/** x in a layout: as is, through a permuted (non-contiguous) view, or image by image unbatched. */
function eachInput(xa: Arr, dtype: tf.DType, layout: Layout, f: (x: tf.Tensor, n: number | null) => void): void {
  const x = toTensor(xa, dtype);
  if (layout === 'unbatched') {
    for (let n = 0; n < xa.shape[0]; n++) f(x.select(0, n), n);
    return;
  }
  if (layout === 'channels-last') {
    const ns = xa.shape.length - 2;
    const perm = [0, ...Array.from({ length: ns }, (_, i) => i + 2), 1];
    const back = [0, ns + 1, ...Array.from({ length: ns }, (_, i) => i + 1)];
    f(x.permute(perm).contiguous().permute(back), null);
    return;
  }
  f(x, null);
}

/** Image n of a batched reference (or all of it). */
function part(a: Arr, n: number | null): Arr {
  if (n === null) return a;
  const per = numel(a.shape.slice(1));
  return { shape: a.shape.slice(1), data: a.data.slice(n * per, (n + 1) * per) };
}

function poolOpts(c: PoolCase): { stride?: number | number[]; padding?: number | number[]; ceilMode?: boolean } {
  return { stride: c.stride, padding: c.padding, ceilMode: c.ceilMode };
}

function runMax(c: PoolCase, dtype: tf.DType, layout: Layout): void {
  const xa = distinctArr(c.x);
  const { out, idx } = maxPoolRef(xa, c);
  tf.tidy(() =>
    eachInput(xa, dtype, layout, (x, n) => {
      const opts = { ...poolOpts(c), dilation: c.dilation, returnIndices: true as const };
      const [y, i] = c.x.length === 3 ? tf.maxPool1d(x, c.k, opts) : tf.maxPool2d(x, c.k, opts);
      expectClose(y, part(out, n), 0);
      expect(i.dtype).toBe('int32');
      expectClose(i, part(idx, n), 0);
    }),
  );
}

function runAvg(c: PoolCase, dtype: tf.DType, layout: Layout): void {
  const xa = distinctArr(c.x);
  const expected = avgPoolRef(xa, c);
  const tol = dtype === 'float64' ? 1e-12 : 1e-5;
  tf.tidy(() =>
    eachInput(xa, dtype, layout, (x, n) => {
      const opts = { ...poolOpts(c), countIncludePad: c.countIncludePad };
      const y = c.x.length === 3 ? tf.avgPool1d(x, c.k, opts) : tf.avgPool2d(x, c.k, { ...opts, divisorOverride: c.divisorOverride });
      expectClose(y, part(expected, n), tol);
    }),
  );
}

const adaptiveCases: [number[], number | (number | null)[]][] = [
  [[2, 3, 7, 9], [3, 4]],
  [[1, 2, 5, 5], [7, 2]],
  [[2, 2, 6, 6], 1],
  [[1, 3, 10, 7], [null, 3]],
  [[3, 1, 4, 8], [4, 8]],
];

function runAdaptive(shape: number[], size: number | (number | null)[], dtype: tf.DType, layout: Layout): void {
  const xa = distinctArr(shape);
  const out = (typeof size === 'number' ? [size, size] : size).map((v, i) => v ?? shape[2 + i]);
  const expected = adaptiveRef(xa, out);
  const tol = dtype === 'float64' ? 1e-12 : 1e-5;
  tf.tidy(() => eachInput(xa, dtype, layout, (x, n) => expectClose(tf.adaptiveAvgPool2d(x, size), part(expected, n), tol)));
  const max = adaptiveMaxRef(xa, out);
  const per = numel(max.values.shape.slice(1));
  tf.tidy(() =>
    eachInput(xa, dtype, layout, (x, n) => {
      const [y, i] = tf.adaptiveMaxPool2d(x, size, { returnIndices: true });
      expectClose(y, part(max.values, n), 0);
      const want = n === null ? max.indices : max.indices.slice(n * per, (n + 1) * per);
      expect(Array.from(i.dataSync())).toEqual(want);
      expect(i.dtype).toBe('int32');
      expectClose(tf.adaptiveMaxPool2d(x, size), part(max.values, n), 0);
    }),
  );
}

function runAll(dtype: tf.DType, layout: Layout): void {
  for (const c of maxCases) {
    try {
      runMax(c, dtype, layout);
    } catch (e) {
      throw new Error(`maxPool case "${c.name}" (${layout}): ${(e as Error).message}`);
    }
  }
  for (const c of avgCases) {
    try {
      runAvg(c, dtype, layout);
    } catch (e) {
      throw new Error(`avgPool case "${c.name}" (${layout}): ${(e as Error).message}`);
    }
  }
  for (const [shape, size] of adaptiveCases) {
    try {
      runAdaptive(shape, size, dtype, layout);
    } catch (e) {
      throw new Error(`adaptive pooling ${JSON.stringify(shape)} -> ${JSON.stringify(size)} (${layout}): ${(e as Error).message}`);
    }
  }
}

describe('pooling forward against the references', () => {
  for (const level of levels) {
    for (const dtype of ['float32', 'float64'] as tf.DType[]) {
      it(`${level} ${dtype}`, () => {
        tf.setCpuKernelLevel(level);
        runAll(dtype, 'contiguous');
      });
    }
  }
  it('non-contiguous and unbatched inputs', () => {
    tf.setCpuKernelLevel(initialLevel);
    runAll('float32', 'channels-last');
    runAll('float64', 'unbatched');
  });

  it('max pooling ignores padding, propagates NaN, and defaults stride to the kernel', () => {
    tf.tidy(() => {
      const x = tf.tensor([[[[-5, -6], [-7, -8]]]]);
      expectClose(tf.maxPool2d(x, 3, { stride: 1, padding: 1 }), [[[[-5, -5], [-5, -5]]]], 0);
      const [y, i] = tf.maxPool2d(tf.tensor([[[1, NaN, 3, 4], [5, 6, 7, 8]]]), 2, { returnIndices: true });
      expect(y.shape).toEqual([1, 1, 2]);
      expect(Number.isNaN(y.dataSync()[0])).toBe(true);
      expect(Array.from(i.dataSync())).toEqual([1, 7]);
      expect(tf.maxPool2d(tf.zeros([1, 1, 6, 6]), 3).shape).toEqual([1, 1, 2, 2]);
      expect(tf.maxPool2d(tf.zeros([1, 1, 6, 6]), 3, { stride: [] }).shape).toEqual([1, 1, 2, 2]);
      expect(tf.avgPool2d(tf.zeros([0, 2, 6, 6]), 2).shape).toEqual([0, 2, 3, 3]);
    });
  });
});

describe('pooling gradients', () => {
  const check = (fn: (x: tf.Tensor) => tf.Tensor, shape: number[]): void => {
    tf.tidy(() => expect(tf.gradcheck(fn, [toTensor(distinctArr(shape), 'float64', true)])).toBe(true));
  };
  it('maxPool2d / maxPool1d (overlapping windows, padding, dilation, ceilMode)', () => {
    check((x) => tf.maxPool2d(x, 3, { stride: 2, padding: 1 }), [2, 2, 5, 6]);
    check((x) => tf.maxPool2d(x, [2, 3], { stride: [1, 2], dilation: [2, 1], ceilMode: true }), [1, 2, 6, 7]);
    check((x) => tf.maxPool2d(x, 2), [3, 5, 4]);
    check((x) => tf.maxPool1d(x, 3, { stride: 2, padding: 1, ceilMode: true }), [2, 3, 8]);
  });
  it('avgPool2d / avgPool1d (countIncludePad, ceilMode, divisorOverride)', () => {
    check((x) => tf.avgPool2d(x, 3, { stride: 2, padding: 1 }), [2, 2, 5, 6]);
    check((x) => tf.avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }), [1, 2, 6, 5]);
    check((x) => tf.avgPool2d(x, [2, 3], { stride: 1, divisorOverride: 4 }), [1, 1, 4, 5]);
    check((x) => tf.avgPool1d(x, 4, { stride: 3, padding: 2 }), [2, 2, 9]);
  });
  it('adaptiveMaxPool2d (shrinking, growing with windows sharing inputs, unbatched)', () => {
    check((x) => tf.adaptiveMaxPool2d(x, [2, 3]), [2, 2, 5, 7]);
    check((x) => tf.adaptiveMaxPool2d(x, [5, 3]), [1, 2, 3, 4]);
    check((x) => tf.adaptiveMaxPool2d(x, 1), [3, 4, 4]);
  });
  it('adaptiveMaxPool2d: NaN wins its window, a float16 input pools in float32, and nn.AdaptiveMaxPool2d', () => {
    tf.tidy(() => {
      const [y, i] = tf.adaptiveMaxPool2d(tf.tensor([[[1, NaN, 3, 4], [5, 6, 7, 8]]]), [1, 2], { returnIndices: true });
      expect(Number.isNaN(y.dataSync()[0])).toBe(true);
      expect(y.dataSync()[1]).toBe(8);
      expect(Array.from(i.dataSync())).toEqual([1, 7]);
      const x = tf.randn([2, 3, 7, 5]);
      expectClose(tf.adaptiveMaxPool2d(x.half(), [3, 2]).float(), tf.adaptiveMaxPool2d(x.half().float(), [3, 2]), 0);
      expect(tf.adaptiveMaxPool2d(x.half(), 2).dtype).toBe('float16');
      // Through float32 and back with a graph: the indices stay alive for the backward.
      const xh = x.half().requiresGrad_(), xf = x.half().float().requiresGrad_();
      tf.adaptiveMaxPool2d(xh, [3, 2]).sum().backward();
      tf.adaptiveMaxPool2d(xf, [3, 2]).sum().backward();
      expect(xh.grad!.dtype).toBe('float16');
      expectClose(xh.grad!.float(), xf.grad!, 0);
      expectClose(new tf.nn.AdaptiveMaxPool2d([3, 2]).forward(x), tf.adaptiveMaxPool2d(x, [3, 2]), 0);
    });
  });
  it('adaptiveAvgPool2d (shrinking, growing, unbatched)', () => {
    check((x) => tf.adaptiveAvgPool2d(x, [2, 3]), [2, 2, 5, 7]);
    check((x) => tf.adaptiveAvgPool2d(x, [5, 2]), [1, 2, 3, 4]);
    check((x) => tf.adaptiveAvgPool2d(x, 1), [3, 4, 4]);
  });
  it('on every CPU level', () => {
    for (const level of levels) {
      tf.setCpuKernelLevel(level);
      check((x) => tf.maxPool2d(x, 3, { stride: 2, padding: 1 }).add(tf.avgPool2d(x, 3, { stride: 2, padding: 1 })), [1, 2, 5, 5]);
      check((x) => tf.adaptiveAvgPool2d(x, [2, 4]), [1, 2, 5, 5]);
      check((x) => tf.adaptiveMaxPool2d(x, [3, 4]), [1, 2, 5, 5]);
    }
    tf.setCpuKernelLevel(initialLevel);
  });
});

describe('pooling and convolution memory', () => {
  it('free every temporary (indices, columns, gradients buffers)', () => {
    const x = tf.randn([3, 4, 9, 8], { requiresGrad: true });
    const w = tf.randn([6, 2, 3, 3], { requiresGrad: true }), b = tf.randn([6], { requiresGrad: true });
    const before = tf.memory().storages;
    for (let i = 0; i < 2; i++) {
      tf.tidy(() => {
        tf.conv2d(x, w, b, { groups: 2, padding: 1 }).sum().backward();
        tf.maxPool2d(x, 2).sum().backward();
        tf.avgPool2d(x, 3, { padding: 1 }).sum().backward();
        tf.adaptiveAvgPool2d(x, 3).sum().backward();
        tf.adaptiveMaxPool2d(x, [4, 3]).sum().backward();
        tf.conv2d(x, w, b, { groups: 2, padding: 1, activation: 'relu' }).sum().backward();
      });
      for (const t of [x, w, b]) {
        t.grad!.dispose();
        t.grad = null;
      }
      tf.noGrad(() => {
        for (const y of [tf.conv2d(x, w, b, { groups: 2 }), tf.maxPool2d(x, 2), tf.maxPool1d(x.select(0, 0), 3), tf.adaptiveMaxPool2d(x, 2)]) y.dispose();
      });
    }
    expect(tf.memory().storages).toBe(before);
    for (const t of [x, w, b]) t.dispose();
  });
});

describe('pooling argument errors', () => {
  it('names the op and the shapes', () => {
    tf.tidy(() => {
      const x = tf.zeros([1, 2, 6, 6]);
      expectThrows(() => tf.maxPool2d(tf.zeros([6, 6]), 2), 'maxPool2d: expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got [6, 6]');
      expectThrows(() => tf.maxPool1d(x, 2), 'maxPool1d: expected a 2-D [C, L] or 3-D [N, C, L] input, got [1, 2, 6, 6]');
      expectThrows(() => tf.maxPool2d(x, 3, { padding: 2 }), 'maxPool2d: padding [2, 2] should be at most half of kernelSize [3, 3]');
      expectThrows(() => tf.maxPool2d(x, 7), 'maxPool2d: input [1, 2, 6, 6] is too small for kernelSize [7, 7]');
      expectThrows(() => tf.maxPool2d(x, 0), 'maxPool2d: kernelSize must be');
      expectThrows(() => tf.maxPool2d(x, [2, 2, 2]), 'maxPool2d: kernelSize must be');
      expectThrows(() => tf.maxPool2d(x, 2, { stride: 0 }), 'maxPool2d: stride must be');
      expectThrows(() => tf.maxPool2d(x, 2, { dilation: 0 }), 'maxPool2d: dilation must be');
      expectThrows(() => tf.avgPool2d(x, 2, { divisorOverride: 0 }), 'avgPool2d: divisorOverride must be a positive integer');
      expectThrows(() => tf.avgPool2d(tf.zeros([1, 2, 6, 6], { dtype: 'int32' }), 2), 'avgPool2d: expected a floating-point input, got int32');
      expectThrows(() => tf.avgPool1d(tf.zeros([1, 2, 0]), 1), 'avgPool1d: expected non-empty spatial dims');
      expectThrows(() => tf.adaptiveAvgPool2d(x, 0), 'adaptiveAvgPool2d: outputSize must be');
      expectThrows(() => tf.adaptiveAvgPool2d(x, [2]), 'adaptiveAvgPool2d: outputSize must be');
      expectThrows(() => tf.adaptiveMaxPool2d(x, [2, 0]), 'adaptiveMaxPool2d: outputSize must be');
      expectThrows(() => tf.adaptiveMaxPool2d(tf.zeros([2, 3]), 2), 'adaptiveMaxPool2d: expected a 3-D');
      expectThrows(() => tf.maxPool2d(null as unknown as tf.Tensor, 2), 'maxPool2d: expected input to be a Tensor');
    });
  });
});

describe('maxPool2d 2x2 stride 2 fast path', () => {
  it('agrees with the general kernel on ties, NaN, -inf, odd and even sizes (values and indices), every level', () => {
    tf.manualSeed(21);
    const initial = tf.cpuKernelLevel();
    // Odd and even sizes; rows shorter than a vector (loads run into the next rows and planes, the
    // last plane's through a padded copy), rows of several vectors with a ragged last one (35
    // outputs), a single output per plane.
    for (const shape of [[3, 4, 9, 7], [2, 3, 8, 10], [1, 2, 7, 6], [2, 1, 2, 34], [4, 3, 10, 10], [1, 2, 6, 70], [3, 5, 2, 2]]) {
      // Rounded values make ties common; NaN (single and several in a window) and -inf windows.
      const x = tf.randn(shape).mul(2).round();
      const data = x.dataSync();
      const n = data.length;
      for (const i of [5, 40, 41, n - 1, Math.floor(n / 2)]) if (i < n) data[i] = NaN;
      for (const i of [100, 101, 107, 108]) if (i < n) data[i] = -Infinity;
      const xs = tf.tensor(data, { shape });
      // The transposed copy is not row-contiguous, so it takes the general kernel.
      const general = xs.transpose(2, 3).contiguous().transpose(2, 3);
      for (const level of tf.cpuKernelLevels()) {
        tf.setCpuKernelLevel(level);
        const [fast, fastIdx] = tf.maxPool2d(xs, 2, { returnIndices: true }) as unknown as [tf.Tensor, tf.Tensor];
        const [slow, slowIdx] = tf.maxPool2d(general, 2, { returnIndices: true }) as unknown as [tf.Tensor, tf.Tensor];
        expect(Array.from(fast.dataSync()), `${level} ${shape}`).toEqual(Array.from(slow.dataSync()));
        expect(Array.from(fastIdx.dataSync()), `${level} ${shape}`).toEqual(Array.from(slowIdx.dataSync()));
        // float64, and a channel slice (planes apart, the view ending before its storage does)
        const [f64] = tf.maxPool2d(xs.double(), 2, { returnIndices: true }) as unknown as [tf.Tensor, tf.Tensor];
        expect(Array.from(f64.dataSync()), `${level} ${shape} float64`).toEqual(Array.from(slow.dataSync()));
        if (shape[1] > 1) {
          const sliced = xs.narrow(1, 0, shape[1] - 1);
          const [fs, fsIdx] = tf.maxPool2d(sliced, 2, { returnIndices: true }) as unknown as [tf.Tensor, tf.Tensor];
          const [ss, ssIdx] = tf.maxPool2d(sliced.contiguous(), 2, { returnIndices: true }) as unknown as [tf.Tensor, tf.Tensor];
          expect(Array.from(fs.dataSync()), `${level} ${shape} sliced`).toEqual(Array.from(ss.dataSync()));
          expect(Array.from(fsIdx.dataSync()), `${level} ${shape} sliced`).toEqual(Array.from(ssIdx.dataSync()));
        }
      }
    }
    tf.setCpuKernelLevel(initial);
  });

  it('backward: g scattered through the indices (2x2 and other windows, strided g), every level', () => {
    tf.manualSeed(22);
    const initial = tf.cpuKernelLevel();
    const configs: [number[], number | number[], tf.MaxPoolOptions][] = [
      [[2, 3, 9, 7], 2, {}], // odd rows and columns: a row and a column no window reads
      [[1, 2, 6, 70], 2, {}], // rows of several vectors and a ragged last one
      [[2, 2, 2, 2], 2, {}],
      [[2, 2, 8, 9], 3, { stride: 2 }], // overlapping windows: indices outside the 2x2 blocks
      [[1, 3, 7, 8], 2, { stride: 2, padding: 1 }], // shifted windows: the general kernel
      [[1, 2, 9, 9], [2, 1], { stride: [2, 3] }], // blocks apart: 2 * outputs fit, indices in blocks or not
    ];
    for (const [shape, k, opts] of configs) {
      for (const level of tf.cpuKernelLevels()) {
        tf.setCpuKernelLevel(level);
        for (const dtype of ['float32', 'float64'] as const) {
          tf.tidy(() => {
            const x = tf.randn(shape, { dtype }).requiresGrad_();
            const [y, idx] = tf.maxPool2d(x, k, { ...opts, returnIndices: true }) as unknown as [tf.Tensor, tf.Tensor];
            const g = tf.randn(y.shape, { dtype });
            // A transposed copy of g (rows not unit-strided) as well as the contiguous one.
            for (const gv of [g, g.transpose(2, 3).contiguous().transpose(2, 3)]) {
              y.backward(gv, { retainGraph: true });
              const plane = shape[2] * shape[3], outPlane = y.shape[2] * y.shape[3];
              const ref = new Float64Array(x.numel());
              const gd = g.dataSync(), id = idx.dataSync();
              for (let p = 0; p < shape[0] * shape[1]; p++)
                for (let o = 0; o < outPlane; o++) ref[p * plane + id[p * outPlane + o]] += gd[p * outPlane + o];
              const got = Array.from(x.grad!.dataSync() as ArrayLike<number>);
              for (let i = 0; i < ref.length; i++) {
                expect(Math.abs(got[i] - ref[i]), `${level} ${dtype} ${shape} ${JSON.stringify([k, opts])} at ${i}`).toBeLessThan(1e-5);
              }
              x.grad!.dispose();
              x.grad = null;
            }
          });
        }
      }
    }
    tf.setCpuKernelLevel(initial);
  });
});
