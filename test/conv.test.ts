// conv1d / conv2d against a direct nested-loop reference (float64 JS) at awkward sizes, in float32
// and float64 on every CPU kernel level; gradcheck for input, weight and bias; argument errors.
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '../lib';
import { _setConvAlgorithm, _setConvChunkElements, type ConvAlgorithm } from '../lib/ops/conv';
import { meta, metaNum, native } from '../lib/native';
import { arrTensor, expectClose, expectThrows, lcg, numel, randArr as randomArr, type Arr } from './helpers';

const rnd = lcg(987654321);
const toTensor = arrTensor;
const randArr = (shape: number[]): Arr => randomArr(shape, rnd);

interface Case {
  name: string;
  x: number[]; // [N, C, ...spatial]
  w: number[]; // [outC, C/groups, ...k]
  bias?: boolean;
  stride?: number | number[];
  padding?: number | number[] | 'same' | 'valid';
  dilation?: number | number[];
  groups?: number;
}

/** Reference convolution of batched x; 1-D is done as 2-D with H = 1. */
function convRef(x: Arr, w: Arr, b: number[] | null, c: Case): Arr {
  const ns = x.shape.length - 2;
  // 1-D as 2-D: a unit H dim (size 1, kernel 1, stride and dilation 1, padding 0).
  const as2 = (v: number[], unit = 1): number[] => (ns === 1 ? [unit, v[0]] : v);
  const tup = (v: number | number[] | undefined, dflt: number, unit = 1): number[] =>
    as2(v === undefined ? new Array(ns).fill(dflt) : typeof v === 'number' ? new Array(ns).fill(v) : v, unit);
  const [N, C] = x.shape;
  const [H, W] = as2(x.shape.slice(2));
  const [outC, Cg] = w.shape;
  const [KH, KW] = as2(w.shape.slice(2));
  const [sh, sw] = tup(c.stride, 1), [dh, dw] = tup(c.dilation, 1);
  const G = c.groups ?? 1, Mg = outC / G;
  let pb: number[], pa: number[];
  if (c.padding === 'same') {
    const tot = [(KH - 1) * dh, (KW - 1) * dw];
    pb = tot.map((t) => Math.floor(t / 2));
    pa = tot.map((t, i) => t - pb[i]);
  } else {
    pb = c.padding === 'valid' ? [0, 0] : tup(c.padding, 0, 0);
    pa = pb;
  }
  const OH = Math.floor((H + pb[0] + pa[0] - dh * (KH - 1) - 1) / sh) + 1;
  const OW = Math.floor((W + pb[1] + pa[1] - dw * (KW - 1) - 1) / sw) + 1;
  const data: number[] = [];
  for (let n = 0; n < N; n++)
    for (let o = 0; o < outC; o++) {
      const g = Math.floor(o / Mg);
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          let s = b ? b[o] : 0;
          for (let ci = 0; ci < Cg; ci++) {
            const cIn = g * Cg + ci;
            for (let kh = 0; kh < KH; kh++)
              for (let kw = 0; kw < KW; kw++) {
                const ih = oh * sh - pb[0] + kh * dh, iw = ow * sw - pb[1] + kw * dw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                s += x.data[((n * C + cIn) * H + ih) * W + iw] * w.data[((o * Cg + ci) * KH + kh) * KW + kw];
              }
          }
          data.push(s);
        }
    }
  return { shape: ns === 1 ? [N, outC, OW] : [N, outC, OH, OW], data };
}

const cases2d: Case[] = [
  { name: 'basic 3x3', x: [2, 3, 7, 9], w: [4, 3, 3, 3], bias: true },
  { name: 'stride [2, 3], padding [1, 0], kernel 3x2', x: [3, 2, 11, 8], w: [5, 2, 3, 2], bias: true, stride: [2, 3], padding: [1, 0] },
  { name: 'stride 3, padding 2', x: [1, 3, 10, 13], w: [2, 3, 4, 4], stride: 3, padding: 2 },
  { name: 'dilation 2, padding 2', x: [1, 3, 10, 9], w: [4, 3, 3, 3], bias: true, dilation: 2, padding: 2 },
  { name: 'dilation [1, 2], stride 2', x: [2, 2, 9, 12], w: [3, 2, 2, 3], dilation: [1, 2], stride: 2 },
  { name: 'groups 2', x: [2, 4, 6, 7], w: [6, 2, 2, 3], bias: true, groups: 2, padding: 1 },
  { name: 'depthwise', x: [3, 5, 8, 6], w: [5, 1, 3, 3], bias: true, groups: 5, padding: 1 },
  { name: 'depthwise multiplier 2, stride 2', x: [2, 3, 9, 9], w: [6, 1, 3, 3], groups: 3, stride: 2, padding: 1 },
  { name: 'depthwise 5x3, stride [2, 1], dilation [1, 2], uneven padding', x: [2, 4, 11, 13], w: [4, 1, 5, 3], bias: true, groups: 4, stride: [2, 1], dilation: [1, 2], padding: [2, 1] },
  { name: 'depthwise, kernel larger than the unpadded input', x: [1, 3, 2, 3], w: [3, 1, 3, 3], groups: 3, padding: 1 },
  { name: '1x1', x: [3, 6, 5, 7], w: [4, 6, 1, 1], bias: true },
  { name: '1x1 groups 3', x: [2, 6, 4, 5], w: [9, 2, 1, 1], groups: 3 },
  { name: '1x1 stride 2', x: [2, 3, 7, 6], w: [2, 3, 1, 1], stride: 2 },
  { name: "'same', even kernel 4x2", x: [2, 3, 7, 8], w: [3, 3, 4, 2], bias: true, padding: 'same' },
  { name: "'same', dilation [2, 1], kernel 2x4", x: [1, 2, 6, 9], w: [4, 2, 2, 4], padding: 'same', dilation: [2, 1] },
  { name: "'valid'", x: [2, 2, 6, 5], w: [3, 2, 3, 2], padding: 'valid' },
  { name: 'kernel = input', x: [2, 3, 5, 4], w: [2, 3, 5, 4], bias: true },
  { name: 'batch 1, 1 channel, LeNet-like 5x5 pad 2', x: [1, 1, 12, 12], w: [6, 1, 5, 5], bias: true, padding: 2 },
  // rows of 37 outputs: the stride-2 gather's vector loop (conv_rows.h) and its scalar tail
  { name: 'stride 2 along rows longer than two vectors', x: [2, 3, 5, 77], w: [4, 3, 3, 5], bias: true, stride: 2, padding: [1, 2] },
];
const cases1d: Case[] = [
  { name: '1-D basic', x: [2, 3, 11], w: [4, 3, 3], bias: true },
  { name: '1-D stride 3, padding 2, kernel 4', x: [3, 2, 13], w: [4, 2, 4], bias: true, stride: 3, padding: 2 },
  { name: '1-D dilation 2', x: [1, 3, 15], w: [2, 3, 3], dilation: 2, padding: 1 },
  { name: "1-D 'same', even kernel, dilation 2", x: [2, 2, 9], w: [3, 2, 4], padding: 'same', dilation: 2 },
  { name: '1-D groups (depthwise)', x: [2, 4, 10], w: [8, 1, 3], bias: true, groups: 4, stride: 2, padding: 1 },
  { name: '1-D depthwise, dilation 2', x: [3, 5, 12], w: [5, 1, 3], bias: true, groups: 5, dilation: 2, padding: 2 },
  { name: '1-D 1x1', x: [2, 5, 7], w: [3, 5, 1] },
];

const levels = tf.cpuKernelLevels();
const initialLevel = tf.cpuKernelLevel();
afterAll(() => tf.setCpuKernelLevel(initialLevel));

function runCase(c: Case, dtype: tf.DType, layout: 'contiguous' | 'channels-last' | 'unbatched' = 'contiguous'): void {
  const ns = c.x.length - 2;
  const xa = randArr(c.x), wa = randArr(c.w), ba = c.bias ? randArr([c.w[0]]) : null;
  const expected = convRef(xa, wa, ba ? ba.data : null, c);
  const tol = dtype === 'float64' ? { rtol: 1e-10, atol: 1e-10 } : { rtol: 1e-4, atol: 1e-4 };
  const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
  const f = ns === 1 ? tf.conv1d : tf.conv2d;
  tf.tidy(() => {
    const w = toTensor(wa, dtype), b = ba ? toTensor(ba, dtype) : null;
    if (layout === 'unbatched') {
      // Image by image, without the batch dim.
      const x = toTensor(xa, dtype);
      const per = numel(expected.shape.slice(1));
      for (let n = 0; n < c.x[0]; n++) {
        const y = f(x.select(0, n), w, b, opts);
        expectClose(y, { shape: expected.shape.slice(1), data: expected.data.slice(n * per, (n + 1) * per) }, tol);
      }
      return;
    }
    let x = toTensor(xa, dtype);
    if (layout === 'channels-last') {
      // The same values stored as [N, ...spatial, C], read through a permuted (non-contiguous) view.
      const perm = [0, ...Array.from({ length: ns }, (_, i) => i + 2), 1];
      const back = [0, ns + 1, ...Array.from({ length: ns }, (_, i) => i + 1)];
      x = x.permute(perm).contiguous().permute(back);
      if (c.x[1] > 1) expect(x.isContiguous()).toBe(false);
    }
    expectClose(f(x, w, b, opts), expected, tol);
  });
}

describe('conv2d / conv1d forward against the reference', () => {
  for (const level of levels) {
    for (const dtype of ['float32', 'float64'] as tf.DType[]) {
      it(`${level} ${dtype}`, () => {
        tf.setCpuKernelLevel(level);
        for (const c of [...cases2d, ...cases1d]) {
          try {
            runCase(c, dtype);
          } catch (e) {
            throw new Error(`case "${c.name}": ${(e as Error).message}`);
          }
        }
      });
    }
  }

  it('non-contiguous (channels-last) input and unbatched input', () => {
    for (const c of [...cases2d, ...cases1d]) {
      runCase(c, 'float64', 'channels-last');
      runCase(c, 'float32', 'unbatched');
    }
  });

  it('non-contiguous weight, a bias view, and a batch split into chunks', () => {
    const c: Case = { name: 'chunks', x: [5, 4, 6, 5], w: [6, 2, 3, 3], bias: true, groups: 2, padding: 1, stride: [1, 2] };
    const xa = randArr(c.x), wa = randArr(c.w), ba = randArr([6]);
    const expected = convRef(xa, wa, ba.data, c);
    tf.tidy(() => {
      // weight stored as [kH, kW, inC/g, outC] and permuted back; bias as every other element.
      const w = toTensor(wa, 'float64').permute([2, 3, 1, 0]).contiguous().permute([3, 2, 0, 1]);
      const b2 = tf.stack([toTensor(ba, 'float64'), tf.zeros([6], { dtype: 'float64' })], 1);
      const b = b2.select(1, 0);
      expect(w.isContiguous()).toBe(false);
      expect(b.strides).toEqual([2]);
      const prev = _setConvChunkElements(2 * (4 * 9 * 18 + 6 * 18));
      try {
        expectClose(tf.conv2d(toTensor(xa, 'float64'), w, b, c), expected, 1e-10);
      } finally {
        _setConvChunkElements(prev);
      }
    });
  });

  it('keeps the dtype, and the output shape of PyTorch', () => {
    tf.tidy(() => {
      const y = tf.conv2d(tf.zeros([1, 1, 28, 28]), tf.zeros([6, 1, 5, 5]), null, { padding: 2 });
      expect(y.shape).toEqual([1, 6, 28, 28]);
      expect(y.dtype).toBe('float32');
      const z = tf.conv1d(tf.zeros([4, 10], { dtype: 'float64' }), tf.zeros([2, 4, 3], { dtype: 'float64' }), undefined, { stride: 2 });
      expect(z.shape).toEqual([2, 4]);
      expect(z.dtype).toBe('float64');
      expect(tf.conv2d(tf.zeros([0, 3, 5, 5]), tf.zeros([2, 3, 3, 3])).shape).toEqual([0, 2, 3, 3]);
    });
  });
});

describe('conv gradients', () => {
  const check = (fn: (...xs: tf.Tensor[]) => tf.Tensor, shapes: number[][]): void => {
    tf.tidy(() => {
      const inputs = shapes.map((s) => toTensor(randArr(s), 'float64', true));
      expect(tf.gradcheck(fn, inputs)).toBe(true);
    });
  };
  const gradCases: [string, Case][] = [
    ['conv2d stride/padding/dilation', { name: '', x: [2, 2, 5, 6], w: [3, 2, 3, 2], stride: [2, 1], padding: [1, 2], dilation: [1, 2] }],
    ['conv2d groups 2', { name: '', x: [2, 4, 4, 4], w: [4, 2, 2, 2], groups: 2, padding: 1 }],
    ['conv2d depthwise', { name: '', x: [1, 3, 5, 4], w: [3, 1, 3, 3], groups: 3, padding: 1, stride: 2 }],
    // stride 1 (conv_depthwise.cpp's register-blocked correlations; the input gradient correlates the
    // output gradient, placed in a plane of zeros, with the flipped filter)
    ['conv2d depthwise stride 1', { name: '', x: [2, 3, 7, 19], w: [3, 1, 3, 3], groups: 3, padding: 1 }],
    ['conv2d depthwise 5x3, dilation [2, 1], uneven padding', { name: '', x: [1, 2, 9, 7], w: [2, 1, 5, 3], groups: 2, dilation: [2, 1], padding: [3, 0] }],
    ['conv2d depthwise, padding past the kernel', { name: '', x: [1, 2, 4, 5], w: [2, 1, 3, 3], groups: 2, padding: 3 }],
    ['conv2d depthwise 5x5 (the 5-row grid)', { name: '', x: [1, 2, 8, 9], w: [2, 1, 5, 5], groups: 2, padding: 2 }],
    ['conv2d depthwise 7x5, stride [2, 3], dilation [1, 2] (column phases)', { name: '', x: [1, 2, 11, 14], w: [2, 1, 7, 5], groups: 2, stride: [2, 3], dilation: [1, 2], padding: [3, 4] }],
    ['conv2d depthwise 9x9 (more taps than kept in registers)', { name: '', x: [1, 2, 10, 11], w: [2, 1, 9, 9], groups: 2, padding: 4 }],
    ['conv2d 1x1', { name: '', x: [2, 3, 3, 4], w: [2, 3, 1, 1] }],
    ["conv2d 'same' even kernel", { name: '', x: [1, 2, 5, 5], w: [2, 2, 2, 4], padding: 'same' }],
    ['conv1d', { name: '', x: [2, 3, 9], w: [2, 3, 3], stride: 2, padding: 2, dilation: 2 }],
    ['conv1d groups', { name: '', x: [2, 4, 7], w: [6, 2, 2], groups: 2, padding: 'same' }],
  ];
  for (const [name, c] of gradCases) {
    it(`${name}: input, weight and bias`, () => {
      const f = c.x.length === 3 ? tf.conv1d : tf.conv2d;
      const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
      check((x, w, b) => f(x, w, b, opts), [c.x, c.w, [c.w[0]]]);
    });
  }
  it('on every CPU level, unbatched, chunked, and with only some inputs requiring grad', () => {
    for (const level of levels) {
      tf.setCpuKernelLevel(level);
      check((x, w, b) => tf.conv2d(x, w, b, { padding: 1, stride: 2 }), [[3, 4, 4], [2, 3, 3, 3], [2]]);
      check((x, w, b) => tf.conv2d(x, w, b, { padding: 1, groups: 2 }), [[1, 2, 5, 21], [2, 1, 3, 3], [2]]);
    }
    tf.setCpuKernelLevel(initialLevel);
    const prev = _setConvChunkElements(1);
    try {
      check((x, w, b) => tf.conv2d(x, w, b, { padding: 1 }), [[3, 2, 4, 3], [2, 2, 3, 2], [2]]);
      check((x, w) => tf.conv2d(x, w, null, { stride: 1 }), [[3, 2, 3, 3], [4, 2, 1, 1]]);
    } finally {
      _setConvChunkElements(prev);
    }
    tf.tidy(() => {
      const x = toTensor(randArr([2, 3, 5, 5]), 'float64');
      const w = toTensor(randArr([4, 3, 3, 3]), 'float64', true);
      expect(tf.gradcheck((wt) => tf.conv2d(x, wt, null, { padding: 1 }), [w])).toBe(true);
      const x2 = toTensor(randArr([2, 3, 5, 5]), 'float64', true);
      const w2 = toTensor(randArr([4, 3, 3, 3]), 'float64');
      expect(tf.gradcheck((xt) => tf.conv2d(xt, w2, null, { padding: 1 }), [x2])).toBe(true);
    });
  });

  it('a second backward (retainGraph) gives the same gradients', () => {
    tf.tidy(() => {
      const x = toTensor(randArr([2, 3, 6, 5]), 'float64', true);
      const w = toTensor(randArr([4, 3, 3, 3]), 'float64', true);
      const b = toTensor(randArr([4]), 'float64', true);
      const y = tf.conv2d(x, w, b, { padding: 1 }).square().sum();
      y.backward(undefined, { retainGraph: true });
      const first = [x, w, b].map((t) => Array.from(t.grad!.dataSync()));
      for (const t of [x, w, b]) {
        t.grad!.dispose();
        t.grad = null;
      }
      y.backward();
      [x, w, b].forEach((t, i) => expectClose(t.grad!, { shape: t.shape, data: first[i] }, 1e-12));
      for (const t of [x, w, b]) t.grad!.dispose();
    });
  });

  it('float32 gradients agree with float64 ones', () => {
    const xa = randArr([3, 4, 9, 8]), wa = randArr([6, 2, 3, 3]), ba = randArr([6]);
    const grads = (dtype: tf.DType): number[][] =>
      tf.tidy(() => {
        const x = toTensor(xa, dtype, true), w = toTensor(wa, dtype, true), b = toTensor(ba, dtype, true);
        tf.conv2d(x, w, b, { groups: 2, stride: 2, padding: 1 }).square().sum().backward();
        const r = [x, w, b].map((t) => Array.from(t.grad!.dataSync() as ArrayLike<number>));
        for (const t of [x, w, b]) t.grad!.dispose();
        return r;
      });
    const g32 = grads('float32'), g64 = grads('float64');
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < g64[i].length; j++) expect(Math.abs(g32[i][j] - g64[i][j])).toBeLessThan(1e-3 * (1 + Math.abs(g64[i][j])));
    }
  });
});

// Every algorithm on every case: the direct kernel (stride 1, no dilation; other cases fall back to
// im2col), im2col + GEMM over whole images, and im2col + GEMM a tile of output rows at a time
// (conv_tiled.cpp), forced, whatever the per-shape choice would be. The tiled runs also go with a
// tile budget of one output row, so every case crosses tile edges.
describe('convolution algorithms: direct kernel, im2col + GEMM, tiled im2col + GEMM', () => {
  const forced = (algo: ConvAlgorithm | 'tiled, one row per tile', body: () => void): void => {
    const oneRow = algo === 'tiled, one row per tile';
    const prev = _setConvAlgorithm(oneRow ? 'tiled' : algo);
    if (oneRow) process.env.TENSORFORGE_CONV_TILE_BYTES = '1';
    try {
      body();
    } finally {
      _setConvAlgorithm(prev);
      delete process.env.TENSORFORGE_CONV_TILE_BYTES;
    }
  };
  for (const algo of ['direct', 'im2col', 'tiled', 'tiled, one row per tile'] as (ConvAlgorithm | 'tiled, one row per tile')[]) {
    it(`${algo}: forward against the reference, every level, dtype and layout`, () => {
      forced(algo, () => {
        for (const level of levels) {
          tf.setCpuKernelLevel(level);
          for (const c of [...cases2d, ...cases1d]) {
            try {
              runCase(c, 'float64');
              runCase(c, 'float32', level === initialLevel ? 'channels-last' : 'unbatched');
            } catch (e) {
              throw new Error(`${level}, case "${c.name}": ${(e as Error).message}`);
            }
          }
        }
        tf.setCpuKernelLevel(initialLevel);
      });
    });

    it(`${algo}: gradcheck of input, weight and bias (LeNet's layers at odd sizes; the adjoint and im2col input gradients)`, () => {
      forced(algo, () => {
        // [spatial dims, x, weight, options]; the last is an unbatched 2-D input.
        const cases: [number, number[], number[], tf.ConvOptions][] = [
          [2, [2, 1, 9, 11], [3, 1, 5, 5], { padding: 2 }],
          [2, [1, 2, 7, 10], [4, 1, 3, 4], { padding: [0, 1], groups: 2 }],
          [1, [2, 3, 13], [2, 3, 3], { padding: 'same' }],
          [2, [3, 5, 9], [2, 3, 5, 3], {}],
          // padding past kernel - 1: the input gradient cannot be the adjoint convolution
          [2, [1, 2, 5, 9], [3, 2, 1, 2], { padding: 1 }],
          // whole vectors of output channels: the kernels with lanes over channels (conv_direct_oc.cpp)
          [2, [2, 3, 8, 9], [16, 3, 5, 5], { padding: 2 }],
          [2, [1, 2, 7, 6], [8, 2, 3, 3], { padding: [1, 0] }],
          [1, [2, 2, 15], [16, 2, 4], { padding: 'same' }],
          // rows of 23 outputs at stride 2: col2im's vector scatter-add and its tail
          [2, [1, 2, 3, 45], [3, 2, 2, 3], { stride: 2, padding: 1 }],
        ];
        for (const [ns, xs, ws, opts] of cases) {
          tf.tidy(() => {
            const inputs = [xs, ws, [ws[0]]].map((s) => toTensor(randArr(s), 'float64', true));
            const f = ns === 1 ? tf.conv1d : tf.conv2d;
            expect(tf.gradcheck((x, w, b) => f(x, w, b, opts), inputs), `${JSON.stringify([xs, ws, opts])}`).toBe(true);
          });
        }
      });
    });
  }

  it('agree with each other on LeNet conv1 and conv2 at full size, float32, on every level', () => {
    for (const [xs, ws, padding] of [[[16, 1, 28, 28], [6, 1, 5, 5], 2], [[16, 6, 14, 14], [16, 6, 5, 5], 0], [[5, 6, 11, 13], [32, 6, 3, 3], 1]] as const) {
      agree([...xs], [...ws], padding);
    }
  });
  function agree(xs: number[], ws: number[], padding: number, channelsLast = false): void {
    for (const level of levels) {
      tf.setCpuKernelLevel(level);
      agreeAll(xs, ws, padding, channelsLast);
    }
    tf.setCpuKernelLevel(initialLevel);
  }

  // The lanes-over-channels kernels with two channel vectors per block (3x3, one group, channels in
  // whole vectors: ResNet's layers), which 'auto' picks for them: the forward, and the input gradient
  // as the adjoint convolution through a flipped view of the weight.
  it('two channel vectors per block (3x3, many channels): gradcheck in float64', () => {
    forced('direct', () => {
      const cases: [number[], number[], tf.ConvOptions][] = [
        [[2, 16, 5, 7], [32, 16, 3, 3], { padding: 1 }], // 7 columns: two output rows per block; 5 rows: a last single one
        [[1, 16, 4, 17], [16, 16, 3, 3], {}], // 15 columns: a full block of 14 and a ragged one
      ];
      for (const [xs, ws, opts] of cases) {
        tf.tidy(() => {
          const inputs = [xs, ws, [ws[0]]].map((s) => toTensor(randArr(s), 'float64', true));
          expect(tf.gradcheck((x, w, b) => tf.conv2d(x, w, b, opts), inputs), `${JSON.stringify([xs, ws, opts])}`).toBe(true);
        });
      }
    });
  });

  it('two channel vectors per block: direct, auto and im2col agree (output and every gradient), every level', () => {
    const cases: [number[], number[], number, boolean][] = [
      [[3, 32, 9, 16], [64, 32, 3, 3], 1, false],
      [[4, 64, 7, 7], [64, 64, 3, 3], 1, true], // channels-last input (strided rows)
      [[2, 16, 30, 31], [32, 16, 3, 3], 1, false],
      [[3, 48, 6, 5], [96, 48, 3, 3], 0, false],
      [[3, 32, 5, 5], [32, 32, 3, 3], 1, false], // rows paired across images; an odd last row and image
      // 576 KB of weights: image-major where 3/4 of the L2 holds them and a 28 KB image (here, 2 MB)
      [[2, 128, 5, 6], [128, 128, 3, 3], 1, false],
      [[2, 256, 3, 4], [256, 256, 3, 3], 1, false], // 2.4 MB of weights: block-major tasks, each packing its block
    ];
    for (const [xs, ws, padding, channelsLast] of cases) agree(xs, ws, padding, channelsLast);
  });

  // The input gradient of layers with few input channels and whole vectors of output channels
  // (LeNet's conv2: 16 -> 6) sums over the output channels in the vector lanes
  // (conv_direct_oc_dx.cpp): channel blocks of 6 and a remainder, positions in pairs with an odd
  // last one, rows longer than a vector of sums, taps skipped where they fall in the padding.
  it('input gradient with lanes over the output channels: gradcheck in float64 on every level', () => {
    forced('direct', () => {
      const cases: [number, number[], number[], tf.ConvOptions][] = [
        [2, [2, 3, 8, 9], [16, 3, 5, 5], { padding: 2 }],
        [2, [1, 7, 5, 17], [32, 7, 3, 3], { padding: [1, 0] }], // 7 channels: blocks of 6 and 1; 17 columns
        [2, [2, 1, 3, 1], [16, 1, 3, 1], {}], // one column: a single odd position
        [2, [1, 13, 4, 6], [16, 13, 2, 5], { padding: [1, 4] }], // padding = kernel - 1: taps past every row's data
        [1, [2, 2, 15], [8, 2, 4], { padding: 'same' }], // 8 channels: whole vectors for float64 only on AVX-512
      ];
      for (const level of levels) {
        tf.setCpuKernelLevel(level);
        for (const [ns, xs, ws, opts] of cases) {
          tf.tidy(() => {
            const inputs = [toTensor(randArr(xs), 'float64', true), toTensor(randArr(ws), 'float64')];
            const f = ns === 1 ? tf.conv1d : tf.conv2d;
            expect(tf.gradcheck((x, w) => f(x, w, null, opts), inputs), `${level} ${JSON.stringify([xs, ws, opts])}`).toBe(true);
          });
        }
      }
      tf.setCpuKernelLevel(initialLevel);
    });
  });

  it('input gradient with lanes over the output channels: direct, auto and im2col agree, every level', () => {
    const cases: [number[], number[], number, boolean][] = [
      [[5, 6, 14, 14], [16, 6, 5, 5], 0, true], // LeNet's conv2 with a channels-last input
      [[3, 13, 9, 33], [32, 13, 3, 3], 1, false], // three vectors of sums per row, the last ragged
    ];
    for (const [xs, ws, padding, channelsLast] of cases) agree(xs, ws, padding, channelsLast);
  });

  it('two channel vectors per block: a batch padded in several chunks', () => {
    agreeAll([10, 32, 82, 82], [32, 32, 3, 3], 1, false); // 0.9 MB padded images, 8 MiB chunks
  });

  function agreeAll(xs: number[], ws: number[], padding: number, channelsLast: boolean): void {
    const xa = randArr(xs), wa = randArr(ws), ba = randArr([ws[0]]);
    const run = (algo: ConvAlgorithm): number[][] =>
      tf.tidy(() => {
        const prev = _setConvAlgorithm(algo);
        try {
          const x0 = toTensor(xa, 'float32');
          const x = (channelsLast ? x0.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2]) : x0).detach().requiresGrad_();
          const w = toTensor(wa, 'float32', true), b = toTensor(ba, 'float32', true);
          const y = tf.conv2d(x, w, b, { padding });
          y.square().sum().backward();
          const r = [y, x.grad!, w.grad!, b.grad!].map((t) => Array.from(t.dataSync() as ArrayLike<number>));
          for (const t of [x, w, b]) t.grad!.dispose();
          return r;
        } finally {
          _setConvAlgorithm(prev);
        }
      });
    const ref = run('im2col');
    for (const algo of ['direct', 'auto'] as ConvAlgorithm[]) {
      const got = run(algo);
      // Relative to the largest magnitude: float32 sums of hundreds (gradients: tens of thousands)
      // of terms in another order differ by far more than 1e-4 of a result that nearly cancels,
      // while a wrong tap, channel or row is off by the order of the results themselves.
      for (let k = 0; k < 4; k++) {
        let worst = 0, scale = 0;
        for (let j = 0; j < ref[k].length; j++) {
          worst = Math.max(worst, Math.abs(got[k][j] - ref[k][j]));
          scale = Math.max(scale, Math.abs(ref[k][j]));
        }
        expect(worst / scale, `${algo} ${JSON.stringify([xs, ws, padding])} result ${k}`).toBeLessThan(1e-4);
      }
    }
  }

  it('no input channels: the output is the bias, through the tiled path that auto picks', () => {
    tf.tidy(() => {
      const x = tf.zeros([1, 0, 40, 40], { requiresGrad: true }), w = tf.zeros([4, 0, 3, 3], { requiresGrad: true });
      const b = tf.tensor([1, -2, 3, 0.5], { requiresGrad: true });
      const y = tf.conv2d(x, w, b, { stride: 2 });
      expect(y.shape).toEqual([1, 4, 19, 19]);
      const v = y.dataSync();
      for (let o = 0; o < 4; o++) expect(Array.from(v.subarray(o * 361, (o + 1) * 361))).toEqual(new Array(361).fill([1, -2, 3, 0.5][o]));
      y.sum().backward();
      expect(x.grad!.shape).toEqual([1, 0, 40, 40]);
      expect(w.grad!.shape).toEqual([4, 0, 3, 3]);
      expect(Array.from(b.grad!.dataSync())).toEqual([361, 361, 361, 361]);
    });
  });

  it('no input channels at stride 1 (where the direct kernels would take the layer): the output is the bias', () => {
    for (const [outC, algo] of [[32, 'auto'], [160, 'direct'], [32, 'im2col']] as const) {
      forced(algo, () => {
        tf.tidy(() => {
          const x = tf.zeros([2, 0, 9, 9], { requiresGrad: true }), w = tf.zeros([outC, 0, 3, 3], { requiresGrad: true });
          const b = tf.arange(outC).float().requiresGrad_();
          const y = tf.conv2d(x, w, b, { padding: 1 });
          expect(y.shape).toEqual([2, outC, 9, 9]);
          const v = y.dataSync();
          for (let i = 0; i < v.length; i++) if (v[i] !== Math.floor(i / 81) % outC) throw new Error(`outC ${outC}: y[${i}] = ${v[i]}`);
          y.sum().backward();
          expect(w.grad!.shape).toEqual([outC, 0, 3, 3]);
          expect(Array.from(b.grad!.dataSync())).toEqual(new Array(outC).fill(162));
        });
      });
    }
  });

  it('an empty batch gives zero gradients through the direct kernel', () => {
    forced('direct', () => {
      tf.tidy(() => {
        const x = tf.zeros([0, 1, 8, 8], { requiresGrad: true }), w = tf.randn([2, 1, 3, 3], { requiresGrad: true });
        const y = tf.conv2d(x, w, null, { padding: 1 });
        expect(y.shape).toEqual([0, 2, 8, 8]);
        y.sum().backward();
        expect(Array.from(w.grad!.dataSync())).toEqual(new Array(18).fill(0));
      });
    });
  });
});

// Threads split the convolution kernels' tasks (parallel_for_balanced: several chunks per thread,
// each thread's own first, then what the others have not started): every task must run exactly once
// whatever the thread count, and no result may depend on which thread ran it.
describe('convolution on any number of threads', () => {
  it('output and gradients are the same bits on 1, 2, 3 and 7 threads', () => {
    const threads = tf.getNumThreads();
    tf.manualSeed(31);
    const layers: [number[], number[], { padding?: number; stride?: number; groups?: number }][] = [
      [[3, 32, 9, 11], [32, 32, 3, 3], { padding: 1 }], // lanes over channels, image-major tasks
      [[2, 256, 3, 4], [256, 256, 3, 3], { padding: 1 }], // block-major tasks (2.4 MB of weights)
      [[3, 40, 13, 10], [40, 1, 3, 3], { padding: 1, groups: 40 }], // depthwise
      [[5, 3, 23, 21], [16, 3, 7, 7], { padding: 3, stride: 2 }], // strided: im2col, dot-product dW
    ];
    try {
      for (const [xs, ws, opts] of layers) {
        const x = tf.randn(xs), w = tf.randn(ws), b = tf.randn([ws[0]]);
        const g = tf.randn(tf.conv2d(x, w, b, opts).shape);
        const run = (t: number): number[][] => {
          tf.setNumThreads(t);
          return tf.tidy(() => {
            const xg = x.detach().requiresGrad_(), wg = w.detach().requiresGrad_(), bg = b.detach().requiresGrad_();
            const y = tf.conv2d(xg, wg, bg, opts);
            y.backward(g);
            return [y, xg.grad!, wg.grad!, bg.grad!].map((v) => Array.from(v.dataSync()));
          });
        };
        const one = run(1);
        for (const t of [2, 3, 7]) {
          const many = run(t);
          many.forEach((r, i) => expect(r, `${JSON.stringify(xs)} ${['y', 'dx', 'dw', 'db'][i]} on ${t} threads`).toEqual(one[i]));
        }
      }
    } finally {
      tf.setNumThreads(threads);
    }
  });
});

// The depthwise backward runs as one native call (conv_depthwise_backward: the three gradients in
// one pass over gOut and x for stride 1, the separate passes otherwise).
describe('depthwise backward in one call', () => {
  type Opts = { padding?: number | number[]; stride?: number | number[]; dilation?: number | number[] };
  const cases: [string, number[], number[], Opts][] = [
    ['3x3, odd sizes', [3, 7, 13, 17], [7, 1, 3, 3], { padding: 1 }],
    ['5x5, no padding', [2, 5, 9, 11], [5, 1, 5, 5], {}],
    ['3x3, stride 2 (separate passes)', [2, 3, 9, 8], [3, 1, 3, 3], { padding: 1, stride: 2 }],
    ['1-D, dilation 2', [3, 6, 29], [6, 1, 3], { padding: 2, dilation: 2 }],
    // rows whose last group of vectors is 4 wide on some level (56: AVX-512 float32; 30: 8-lane)
    ['3x3, rows of 56', [2, 3, 6, 56], [3, 1, 3, 3], { padding: 1 }],
    ['3x3, rows of 30', [1, 2, 5, 30], [2, 1, 3, 3], { padding: 1 }],
    // the 5- and 7-row grids (correlate_grid_tile), full and partial column groups, dilated columns
    ['7x7, rows of 56', [1, 2, 9, 56], [2, 1, 7, 7], { padding: 3 }],
    ['5x5, 13 rows of 45', [1, 3, 13, 45], [3, 1, 5, 5], { padding: 2 }],
    ['5x5, columns dilated 2', [1, 2, 11, 40], [2, 1, 5, 5], { padding: [2, 4], dilation: [1, 2] }],
    ['7x5, rows dilated 2 (general tile)', [1, 2, 17, 19], [2, 1, 7, 5], { padding: [6, 2], dilation: [2, 1] }],
    // strided: column phases (2: vector split, 3: the general one), phases no tap reaches
    ['3x3, stride 2, rows of 57', [2, 3, 11, 57], [3, 1, 3, 3], { padding: 1, stride: 2 }],
    ['3x3, stride 2, rows of 64, no padding', [1, 2, 7, 64], [2, 1, 3, 3], { stride: 2 }],
    ['5x5, stride 3', [1, 2, 17, 23], [2, 1, 5, 5], { padding: 2, stride: 3 }],
    ['7x3, stride [1, 2], dilation [1, 2]', [1, 3, 12, 35], [3, 1, 7, 3], { padding: [3, 2], stride: [1, 2], dilation: [1, 2] }],
    ['3x3, stride [2, 1], dilation 2', [2, 2, 13, 15], [2, 1, 3, 3], { padding: 2, stride: [2, 1], dilation: 2 }],
    ['1x1, stride 2', [1, 3, 9, 10], [3, 1, 1, 1], { stride: 2 }],
    ['2x2, stride 3', [1, 2, 10, 11], [2, 1, 2, 2], { padding: 1, stride: 3 }],
    ['1-D, 5 taps, stride 2', [2, 4, 37], [4, 1, 5], { padding: 2, stride: 2 }],
  ];
  // The gradients of sum(y * g) for the inputs in `needs` (x, w, b), then y itself, under `algo`.
  const grads = (xs: number[], ws: number[], opts: object, needs: boolean[], algo: ConvAlgorithm, dtype: tf.DType,
    data: number[][]): (number[] | null)[] =>
    tf.tidy(() => {
      const prev = _setConvAlgorithm(algo);
      try {
        const [x, w, b] = [xs, ws, [ws[0]]].map((s, i) => toTensor({ shape: s, data: data[i] }, dtype, needs[i]));
        const f = xs.length === 3 ? tf.conv1d : tf.conv2d;
        const y = f(x, w, b, { ...opts, groups: xs[1] });
        y.mul(toTensor({ shape: y.shape, data: data[3].slice(0, y.numel()) }, dtype)).sum().backward();
        return [...[x, w, b].map((t) => (t.grad ? Array.from(t.grad.dataSync() as ArrayLike<number>) : null)),
          Array.from(y.dataSync() as ArrayLike<number>)];
      } finally {
        _setConvAlgorithm(prev);
      }
    });
  it('each gradient alone and all together, and the output, agree with im2col + GEMM, every level, float32 and float64', () => {
    for (const level of levels) {
      tf.setCpuKernelLevel(level);
      for (const [name, xs, ws, opts] of cases) {
        const data = [randArr(xs).data, randArr(ws).data, randArr([ws[0]]).data, randArr([xs.reduce((a, b) => a * b) * 2]).data];
        for (const needs of [[true, true, true], [true, false, false], [false, true, false], [false, false, true]]) {
          for (const dtype of ['float64', 'float32'] as tf.DType[]) {
            const want = grads(xs, ws, opts, needs, 'im2col', dtype, data);
            const got = grads(xs, ws, opts, needs, 'auto', dtype, data);
            const tol = dtype === 'float64' ? 1e-12 : 1e-4;
            for (let k = 0; k < 4; k++) {  // the three gradients, then the output
              expect(got[k] === null, `${level} ${name} ${needs} grad ${k}`).toBe(want[k] === null);
              if (!want[k]) continue;
              const scale = Math.max(1, ...want[k]!.map(Math.abs));
              const worst = Math.max(...want[k]!.map((v, j) => Math.abs(v - got[k]![j])));
              expect(worst / scale, `${level} ${dtype} ${name} ${needs} grad ${k}`).toBeLessThan(tol);
            }
          }
        }
      }
    }
    tf.setCpuKernelLevel(initialLevel);
  });
  it('an empty batch gives zero weight and bias gradients', () => {
    tf.tidy(() => {
      const x = tf.zeros([0, 3, 6, 6], { requiresGrad: true });
      const w = tf.randn([3, 1, 3, 3], { requiresGrad: true }), b = tf.randn([3], { requiresGrad: true });
      tf.conv2d(x, w, b, { padding: 1, groups: 3 }).sum().backward();
      expect(Array.from(w.grad!.dataSync())).toEqual(new Array(27).fill(0));
      expect(Array.from(b.grad!.dataSync())).toEqual([0, 0, 0]);
    });
  });
});

describe('fused activation (conv2d / conv1d { activation })', () => {
  type Act = 'relu' | 'gelu' | 'gelu-tanh' | 'silu';
  const acts: Act[] = ['relu', 'gelu', 'gelu-tanh', 'silu'];
  const unfused = (y: tf.Tensor, act: Act): tf.Tensor =>
    act === 'relu' ? y.relu() : act === 'gelu' ? y.gelu() : act === 'gelu-tanh' ? y.gelu({ approximate: 'tanh' }) : y.silu();
  // One layer per forward kernel the auto choice reaches (and, forced, im2col and tiled take them all).
  const layers: [string, number[], number[], tf.ConvOptions][] = [
    ['direct, lanes over positions', [2, 1, 13, 11], [6, 1, 5, 5], { padding: 2 }],
    ['direct, lanes over output channels', [2, 6, 14, 13], [16, 6, 5, 5], {}],
    ['direct, two channel vectors', [2, 16, 9, 10], [32, 16, 3, 3], { padding: 1 }],
    ['direct, two channel vectors, two rows per block', [3, 16, 5, 5], [32, 16, 3, 3], { padding: 1 }],
    ['depthwise 3x3', [2, 5, 9, 11], [5, 1, 3, 3], { padding: 1, groups: 5 }],
    ['depthwise stride 2', [2, 4, 12, 13], [4, 1, 3, 3], { padding: 1, stride: 2, groups: 4 }],
    ['depthwise 7x7 grid', [1, 3, 15, 14], [3, 1, 7, 7], { padding: 3, groups: 3 }],
    ['depthwise 9x9 (past the register taps)', [1, 2, 12, 12], [2, 1, 9, 9], { padding: 4, groups: 2 }],
    ['depthwise strided and dilated', [1, 3, 10, 9], [3, 1, 5, 3], { stride: [2, 1], dilation: [1, 2], padding: [2, 1], groups: 3 }],
    ['tiled im2col + GEMM', [1, 3, 20, 20], [4, 3, 3, 3], { dilation: 2 }],
    ['tiled, groups 2', [1, 4, 21, 19], [6, 2, 3, 3], { groups: 2, padding: 1 }],
    ['folded images', [3, 4, 9, 9], [5, 4, 3, 3], { stride: 2 }],
    ['folded images, groups 2', [3, 4, 9, 9], [6, 2, 3, 3], { stride: 2, groups: 2 }],
    ['one GEMM per image', [1, 3, 9, 9], [5, 3, 3, 3], { stride: 2 }],
    ['1x1 as a GEMM on the input', [2, 5, 7, 6], [7, 5, 1, 1], {}],
    ['conv1d, direct', [2, 2, 40], [3, 2, 5], { padding: 2 }],
    ['conv1d, strided', [2, 3, 17], [4, 3, 3], { stride: 2 }],
  ];

  it('equals the convolution then the activation op: every kernel, algorithm, level, activation, float32 and float64', () => {
    for (const level of levels) {
      tf.setCpuKernelLevel(level);
      for (const algo of ['auto', 'im2col', 'tiled'] as ConvAlgorithm[]) {
        const prev = _setConvAlgorithm(algo);
        try {
          layers.forEach(([name, xs, ws, opts], i) => {
            const f = xs.length === 3 ? tf.conv1d : tf.conv2d;
            for (const dtype of ['float64', 'float32'] as tf.DType[]) {
              tf.tidy(() => {
                const x = toTensor(randArr(xs), dtype), w = toTensor(randArr(ws), dtype);
                const b = i % 2 === 0 ? toTensor(randArr([ws[0]]), dtype) : null;
                const pre = f(x, w, b, opts);
                const tol = dtype === 'float64' ? { rtol: 1e-12, atol: 1e-12 } : { rtol: 1e-5, atol: 1e-6 };
                for (const act of acts) {
                  const what = `${level} ${algo} ${dtype} ${name} ${act}`;
                  try {
                    expectClose(f(x, w, b, { ...opts, activation: act }), unfused(pre, act), tol);
                  } catch (e) {
                    throw new Error(`${what}: ${(e as Error).message}`);
                  }
                }
              });
            }
          });
        } finally {
          _setConvAlgorithm(prev);
        }
      }
    }
    tf.setCpuKernelLevel(initialLevel);
  });

  it('a fused ReLU keeps NaN, as the relu op does', () => {
    tf.tidy(() => {
      for (const [, xs, ws, opts] of layers) {
        const f = xs.length === 3 ? tf.conv1d : tf.conv2d;
        const x = toTensor(randArr(xs), 'float32');
        x.view([-1]).narrow(0, 0, 1).fill_(NaN);
        const w = toTensor(randArr(ws), 'float32');
        const got = f(x, w, null, { ...opts, activation: 'relu' }).dataSync();
        const want = f(x, w, null, opts).relu().dataSync();
        expect(Array.from(want).some(Number.isNaN)).toBe(true); // the NaN reaches the output
        for (let i = 0; i < want.length; i++) expect(Number.isNaN(got[i])).toBe(Number.isNaN(want[i]));
      }
    });
  });

  it('gradients: ReLU fused (its backward masks by the output), GELU and SiLU after the convolution; gradcheck in float64', () => {
    const grads: [string, number[], number[], tf.ConvOptions][] = [
      ['lanes over output channels', [1, 2, 7, 8], [16, 2, 3, 3], { padding: 1 }],
      ['depthwise stride 2', [1, 3, 7, 6], [3, 1, 3, 3], { padding: 1, stride: 2, groups: 3 }],
      ['folded, groups 2', [2, 4, 5, 5], [4, 2, 3, 3], { stride: 2, groups: 2 }],
      ['conv1d', [2, 3, 9], [2, 3, 3], { padding: 1 }],
    ];
    // Its own generator: the inputs (checked below to keep clear of ReLU's kink) do not depend on
    // which tests ran before.
    const own = lcg(2718281);
    for (const [name, xs, ws, opts] of grads) {
      tf.tidy(() => {
        const f = xs.length === 3 ? tf.conv1d : tf.conv2d;
        const x = toTensor(randomArr(xs, own), 'float64', true), w = toTensor(randomArr(ws, own), 'float64', true);
        const b = toTensor(randomArr([ws[0]], own), 'float64', true);
        // Finite differences across ReLU's kink would not match: the pre-activations stay clear of 0.
        const pre = tf.noGrad(() => f(x, w, b, opts)).abs().min().item();
        expect(pre, `${name}: a pre-activation near 0`).toBeGreaterThan(1e-4);
        expect(f(x, w, b, { ...opts, activation: 'relu' }).gradFn?.name, name).toBe('ConvolutionReluBackward');
        expect(f(x, w, b, { ...opts, activation: 'silu' }).gradFn?.name, name).not.toMatch(/^Convolution/);
        for (const act of acts)
          expect(tf.gradcheck((xi, wi, bi) => f(xi, wi, bi, { ...opts, activation: act }), [x, w, b]), `${name} ${act}`).toBe(true);
      });
    }
  });

  it('rejects an unknown activation, naming the op', () => {
    tf.tidy(() => {
      const x = tf.zeros([1, 2, 5, 5]), w = tf.zeros([3, 2, 3, 3]);
      expectThrows(() => tf.conv2d(x, w, null, { activation: 'tanh' as 'relu' }), "conv2d: unknown activation 'tanh'");
      expectThrows(() => tf.conv1d(tf.zeros([1, 2, 5]), tf.zeros([3, 2, 3]), null, { activation: 'none' as 'relu' }), "conv1d: unknown activation 'none'");
    });
  });
});

describe('conv argument errors', () => {
  it('names the op and the shapes', () => {
    tf.tidy(() => {
      const w = tf.zeros([6, 3, 5, 5]);
      expectThrows(
        () => tf.conv2d(tf.zeros([2, 4, 8, 8]), w),
        'conv2d: expected input [N, C, H, W] with C = 3 (weight [6, 3, 5, 5], groups 1), got [2, 4, 8, 8]',
      );
      expectThrows(() => tf.conv2d(tf.zeros([4, 8, 8]), w), 'conv2d: expected input [C, H, W] with C = 3', 'got [4, 8, 8]');
      expectThrows(() => tf.conv2d(tf.zeros([8, 8]), w), 'conv2d: expected a 3-D', 'got [8, 8]');
      expectThrows(() => tf.conv2d(tf.zeros([1, 3, 8, 8]), tf.zeros([6, 3, 5])), 'conv2d: expected weight', '[6, 3, 5]');
      expectThrows(() => tf.conv2d(tf.zeros([1, 3, 4, 4]), w), 'conv2d: kernel [5, 5]', 'larger than the padded input [4, 4]');
      expectThrows(() => tf.conv2d(tf.zeros([1, 3, 8, 8]), w, tf.zeros([5])), 'conv2d: expected bias [6]', 'got [5]');
      expectThrows(() => tf.conv2d(tf.zeros([1, 4, 8, 8]), tf.zeros([6, 2, 3, 3]), null, { groups: 4 }), 'conv2d', 'groups 4');
      expectThrows(() => tf.conv2d(tf.zeros([1, 4, 8, 8]), tf.zeros([5, 2, 3, 3]), null, { groups: 2 }), 'not divisible by groups 2');
      expectThrows(() => tf.conv2d(tf.zeros([1, 3, 8, 8]), w, null, { stride: 0 }), 'conv2d: stride must be');
      expectThrows(() => tf.conv2d(tf.zeros([1, 3, 8, 8]), w, null, { stride: [1, 2, 3] }), 'conv2d: stride must be');
      expectThrows(() => tf.conv2d(tf.zeros([1, 3, 8, 8]), w, null, { padding: -1 }), 'conv2d: padding must be');
      expectThrows(() => tf.conv2d(tf.zeros([1, 3, 8, 8]), w, null, { padding: 'same', stride: 2 }), "padding 'same' is not supported");
      expectThrows(() => tf.conv2d(tf.zeros([1, 3, 8, 8]), w, null, { dilation: 1.5 }), 'conv2d: dilation must be');
      expectThrows(() => tf.conv2d(tf.zeros([1, 3, 8, 8], { dtype: 'float64' }), w), 'conv2d: input (float64), weight (float32)');
      expectThrows(() => tf.conv2d(tf.zeros([1, 3, 8, 8], { dtype: 'int32' }), w), 'conv2d: expected a floating-point input');
      expectThrows(() => tf.conv1d(tf.zeros([1, 3, 8]), tf.zeros([2, 3, 9])), 'conv1d: kernel [9]');
      expectThrows(() => tf.conv1d(tf.zeros([1, 2, 3, 8]), tf.zeros([2, 3, 3])), 'conv1d: expected a 2-D', 'got [1, 2, 3, 8]');
      expectThrows(() => tf.conv2d(null as unknown as tf.Tensor, w), 'conv2d: expected input to be a Tensor');
    });
  });
});

describe('native conv/pool entry points', () => {
  it('validate shapes, dtypes, layouts and indices before any kernel runs', () => {
    tf.tidy(() => {
      const call = (fn: () => void, ts: tf.Tensor[], nums: number[]): void => {
        meta();
        for (const t of ts) t._meta();
        metaNum(...nums);
        fn();
      };
      const x = tf.zeros([2, 3, 6, 6]);
      const conv = [2, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1]; // ns, kernel, stride, padBefore, padAfter, dilation
      call(() => native.im2col(), [tf.zeros([2, 27, 16]), x], conv); // fine
      expect(() => call(() => native.im2col(), [tf.zeros([2, 27, 15]), x], conv)).toThrow(/im2col: columns \[2, 27, 15\] do not match input/);
      expect(() => call(() => native.im2col(), [tf.zeros([2, 16, 27]).transpose(1, 2), x], conv)).toThrow(/unit stride on the last dim/);
      expect(() => call(() => native.im2col(), [tf.zeros([2, 27, 16], { dtype: 'float64' }), x], conv)).toThrow(/expected float32/);
      expect(() => call(() => native.im2col(), [tf.zeros([2, 27, 16]), x], [2, 7, 7, 1, 1, 0, 0, 0, 0, 1, 1])).toThrow(/larger than the padded input/);
      expect(() => call(() => native.im2col(), [tf.zeros([2, 27, 16]), x], [2, 3, 3, 0, 1, 0, 0, 0, 0, 1, 1])).toThrow(/stride must be/);
      expect(() => call(() => native.col2im(), [tf.zeros([2, 3, 6, 6]).permute([0, 1, 3, 2]), tf.zeros([2, 27, 16])], conv)).toThrow(/contiguous/);
      // The activation code after groups (convImplicit) or after adjoint (convDirect): forward only.
      const y = tf.zeros([2, 4, 4, 4]), w = tf.zeros([4, 3, 3, 3]);
      call(() => native.convImplicit(0), [y, x, w], [0, ...conv, 1, 1]); // fine: y = relu(conv)
      expect(() => call(() => native.convImplicit(0), [y, x, w], [0, ...conv, 1, 5])).toThrow(/unknown activation 5/);
      expect(() => call(() => native.convImplicit(1), [y, tf.zeros([2, 3, 6, 6]), w], [0, ...conv, 1, 1])).toThrow(/only the forward applies an activation/);
      call(() => native.convDirect(), [y, x, w], [0, ...conv, 1, 0, 2]); // fine: y = gelu(conv)
      expect(() => call(() => native.convDirect(), [y, x, w], [0, ...conv, 1, 0, -1])).toThrow(/unknown activation -1/);
      expect(() => call(() => native.convDirect(), [tf.zeros([2, 3, 6, 6]), y, w], [0, 2, 3, 3, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 1])).toThrow(/only the forward applies an activation/);
      const pool = [2, 2, 2, 2, 2, 0, 0, 1, 1, 0]; // ns, kernel, stride, padding, dilation, ceilMode
      const out = tf.zeros([2, 3, 3, 3]), ind = tf.zeros([2, 3, 3, 3], { dtype: 'int32' });
      call(() => native.maxPool(), [out, ind, x], pool); // fine
      expect(() => call(() => native.maxPool(), [tf.zeros([2, 3, 3, 4]), ind, x], pool)).toThrow(/output has shape/);
      expect(() => call(() => native.maxPool(), [out, tf.zeros([2, 3, 3, 3]), x], pool)).toThrow(/expected int32/);
      expect(() => call(() => native.maxPool(), [out, ind, x], [2, 2, 2, 2, 2, 2, 2, 1, 1, 0])).toThrow(/at most half/);
      const bad = tf.full([2, 3, 3, 3], 36, { dtype: 'int32' });
      expect(() => call(() => native.maxPoolBackward(), [tf.zeros([2, 3, 6, 6]), out, bad], [2])).toThrow(/out of bounds/);
      expect(() => call(() => native.avgPoolBackward(), [tf.zeros([2, 3, 6, 6]), tf.zeros([2, 3, 2, 3])], [2, 2, 2, 2, 2, 0, 0, 0, 1, 0])).toThrow(/gradient has shape/);
      expect(() => call(() => native.adaptiveAvgPool(false), [tf.zeros([2, 4, 2, 2]), x], [2])).toThrow(/batch or channels/);
      expect(() => call(() => native.adaptiveAvgPool(false), [tf.zeros([2, 3, 2]), x], [2])).toThrow(/must have 4 dims/);
      const ind2 = tf.zeros([2, 3, 2, 2], { dtype: 'int32' });
      call(() => native.adaptiveMaxPool(), [tf.zeros([2, 3, 2, 2]), ind2, x], [2]); // fine
      expect(() => call(() => native.adaptiveMaxPool(), [tf.zeros([2, 4, 2, 2]), tf.zeros([2, 4, 2, 2], { dtype: 'int32' }), x], [2])).toThrow(/batch or channels/);
      expect(() => call(() => native.adaptiveMaxPool(), [tf.zeros([2, 3, 2, 2]), tf.zeros([2, 3, 2, 2]), x], [2])).toThrow(/expected int32/);
      expect(() => call(() => native.adaptiveMaxPool(), [tf.zeros([2, 3, 2, 2]), tf.zeros([2, 3, 2, 1], { dtype: 'int32' }), x], [2])).toThrow(/adaptiveMaxPool/);
      expect(() => call(() => native.adaptiveMaxPool(), [tf.zeros([2, 3, 2, 2]).permute([0, 1, 3, 2]), ind2, x], [2])).toThrow(/contiguous/);
    });
  });
});
