// convTranspose1d / convTranspose2d against a scatter-form nested-loop reference (float64 JS) at
// awkward sizes; gradcheck for input, weight and bias; the adjoint identity with conv2d; the
// ConvTranspose1d/2d modules (shapes, PyTorch's init bounds, outputSize); argument errors.
import { describe, expect, it } from 'vitest';
import * as tf from '../lib';
import { _setConvTransposeChunkElements } from '../lib/ops/conv_transpose';
import { arrTensor, expectClose, expectThrows, lcg, numel, randArr as randomArr, type Arr } from './helpers';

const rnd = lcg(123456789);
const toTensor = arrTensor;
const randArr = (shape: number[]): Arr => randomArr(shape, rnd);

interface Case {
  name: string;
  x: number[]; // [N, inC, ...spatial]
  w: number[]; // [inC, outC/groups, ...k]
  bias?: boolean;
  stride?: number | number[];
  padding?: number | number[];
  outputPadding?: number | number[];
  dilation?: number | number[];
  groups?: number;
}

/** Scatter-form reference: out[n, o, i*s - p + k*d] += x[n, c, i] * w[c, o', k]; 1-D as 2-D with H = 1. */
function convTRef(x: Arr, w: Arr, b: number[] | null, c: Case): Arr {
  const ns = x.shape.length - 2;
  const as2 = (v: number[], unit: number): number[] => (ns === 1 ? [unit, v[0]] : v);
  const tup = (v: number | number[] | undefined, dflt: number, unit: number): number[] =>
    as2(v === undefined ? new Array(ns).fill(dflt) : typeof v === 'number' ? new Array(ns).fill(v) : v, unit);
  const [N, C] = x.shape;
  const [H, W] = as2(x.shape.slice(2), 1);
  const [, Cog] = w.shape;
  const [KH, KW] = as2(w.shape.slice(2), 1);
  const [sh, sw] = tup(c.stride, 1, 1), [dh, dw] = tup(c.dilation, 1, 1);
  const [ph, pw] = tup(c.padding, 0, 0), [oph, opw] = tup(c.outputPadding, 0, 0);
  const G = c.groups ?? 1, Cig = C / G, outC = Cog * G;
  const OH = (H - 1) * sh - 2 * ph + dh * (KH - 1) + oph + 1;
  const OW = (W - 1) * sw - 2 * pw + dw * (KW - 1) + opw + 1;
  const data = new Array<number>(N * outC * OH * OW).fill(0);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < outC; o++)
      for (let i = 0; i < OH * OW; i++) data[(n * outC + o) * OH * OW + i] = b ? b[o] : 0;
  for (let n = 0; n < N; n++)
    for (let ci = 0; ci < C; ci++) {
      const g = Math.floor(ci / Cig);
      for (let ih = 0; ih < H; ih++)
        for (let iw = 0; iw < W; iw++) {
          const xv = x.data[((n * C + ci) * H + ih) * W + iw];
          for (let oo = 0; oo < Cog; oo++) {
            const o = g * Cog + oo;
            for (let kh = 0; kh < KH; kh++)
              for (let kw = 0; kw < KW; kw++) {
                const oh = ih * sh - ph + kh * dh, ow = iw * sw - pw + kw * dw;
                if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                data[((n * outC + o) * OH + oh) * OW + ow] += xv * w.data[((ci * Cog + oo) * KH + kh) * KW + kw];
              }
          }
        }
    }
  return { shape: ns === 1 ? [N, outC, OW] : [N, outC, OH, OW], data };
}

const cases2d: Case[] = [
  { name: 'basic 3x3', x: [2, 3, 5, 7], w: [3, 4, 3, 3], bias: true },
  { name: 'stride 2, padding 1, outputPadding 1 (U-Net up)', x: [2, 4, 5, 6], w: [4, 3, 3, 3], bias: true, stride: 2, padding: 1, outputPadding: 1 },
  { name: 'stride [2, 3], padding [1, 0], outputPadding [1, 2], kernel 3x2', x: [3, 2, 7, 5], w: [2, 5, 3, 2], bias: true, stride: [2, 3], padding: [1, 0], outputPadding: [1, 2] },
  { name: 'stride 3, padding 2, kernel 4', x: [1, 3, 5, 7], w: [3, 2, 4, 4], stride: 3, padding: 2 },
  { name: 'dilation 2, padding 2', x: [1, 3, 6, 5], w: [3, 4, 3, 3], bias: true, dilation: 2, padding: 2 },
  { name: 'dilation 3, stride 1, outputPadding 2 (< dilation), padding 0', x: [2, 2, 4, 5], w: [2, 3, 3, 2], dilation: 3, outputPadding: 2 },
  { name: 'dilation [2, 3], stride [1, 2], outputPadding [1, 2], padding [1, 0]', x: [2, 2, 5, 4], w: [2, 3, 2, 3], bias: true, dilation: [2, 3], stride: [1, 2], outputPadding: [1, 2], padding: [1, 0] },
  { name: 'groups 2', x: [2, 4, 6, 5], w: [4, 3, 2, 3], bias: true, groups: 2, padding: 1, stride: 2 },
  { name: 'groups 3, stride 3, outputPadding 2', x: [2, 6, 3, 4], w: [6, 2, 3, 3], bias: true, groups: 3, stride: 3, outputPadding: 2, padding: 1 },
  { name: 'depthwise', x: [3, 5, 4, 6], w: [5, 1, 3, 3], bias: true, groups: 5, padding: 1 },
  { name: '1x1 stride 2', x: [2, 3, 5, 4], w: [3, 2, 1, 1], stride: 2, outputPadding: 1 },
  { name: 'kernel 2 stride 2 (exact upsampling)', x: [2, 3, 7, 5], w: [3, 2, 2, 2], bias: true, stride: 2 },
  { name: 'big padding: output smaller than input', x: [1, 2, 7, 11], w: [2, 3, 3, 3], stride: 1, padding: 3 },
  { name: 'batch 0', x: [0, 3, 4, 5], w: [3, 2, 3, 3], bias: true, stride: 2 },
];
const cases1d: Case[] = [
  { name: '1-D basic', x: [2, 3, 11], w: [3, 4, 3], bias: true },
  { name: '1-D stride 3, padding 2, outputPadding 2, kernel 4', x: [3, 2, 13], w: [2, 5, 4], bias: true, stride: 3, padding: 2, outputPadding: 2 },
  { name: '1-D dilation 2, outputPadding 1', x: [1, 3, 7], w: [3, 2, 3], dilation: 2, padding: 1, outputPadding: 1 },
  { name: '1-D groups 2, stride 2', x: [2, 4, 5], w: [4, 3, 3], bias: true, groups: 2, stride: 2, padding: 1, outputPadding: 1 },
  { name: '1-D groups 3', x: [1, 6, 7], w: [6, 1, 5], groups: 3, padding: 2 },
  { name: '1-D 1x1', x: [2, 5, 7], w: [5, 3, 1] },
];

function optsOf(c: Case): tf.ConvTransposeOptions {
  return { stride: c.stride, padding: c.padding, outputPadding: c.outputPadding, dilation: c.dilation, groups: c.groups };
}

function runCase(c: Case, dtype: tf.DType, layout: 'contiguous' | 'channels-last' | 'unbatched' = 'contiguous'): void {
  const ns = c.x.length - 2;
  const xa = randArr(c.x), wa = randArr(c.w), ba = c.bias ? randArr([c.w[1] * (c.groups ?? 1)]) : null;
  const expected = convTRef(xa, wa, ba ? ba.data : null, c);
  const tol = dtype === 'float64' ? { rtol: 1e-10, atol: 1e-10 } : { rtol: 1e-4, atol: 1e-4 };
  const f = ns === 1 ? tf.convTranspose1d : tf.convTranspose2d;
  tf.tidy(() => {
    const w = toTensor(wa, dtype), b = ba ? toTensor(ba, dtype) : null;
    if (layout === 'unbatched') {
      const x = toTensor(xa, dtype);
      const per = numel(expected.shape.slice(1));
      for (let n = 0; n < c.x[0]; n++) {
        const y = f(x.select(0, n), w, b, optsOf(c));
        expectClose(y, { shape: expected.shape.slice(1), data: expected.data.slice(n * per, (n + 1) * per) }, tol);
      }
      return;
    }
    let x = toTensor(xa, dtype);
    if (layout === 'channels-last') {
      const perm = [0, ...Array.from({ length: ns }, (_, i) => i + 2), 1];
      const back = [0, ns + 1, ...Array.from({ length: ns }, (_, i) => i + 1)];
      x = x.permute(perm).contiguous().permute(back);
      if (c.x[1] > 1 && c.x[0] > 0) expect(x.isContiguous()).toBe(false);
    }
    expectClose(f(x, w, b, optsOf(c)), expected, tol);
  });
}

describe('convTranspose2d / convTranspose1d forward against the scatter reference', () => {
  for (const dtype of ['float32', 'float64'] as tf.DType[]) {
    it(dtype, () => {
      for (const c of [...cases2d, ...cases1d]) {
        try {
          runCase(c, dtype);
        } catch (e) {
          throw new Error(`case "${c.name}": ${(e as Error).message}`);
        }
      }
    });
  }

  it('non-contiguous (channels-last and sliced) input, unbatched input, non-contiguous weight and bias', () => {
    for (const c of [...cases2d, ...cases1d]) {
      try {
        runCase(c, 'float64', 'channels-last');
        runCase(c, 'float32', 'unbatched');
      } catch (e) {
        throw new Error(`case "${c.name}": ${(e as Error).message}`);
      }
    }
    const c: Case = { name: 'views', x: [3, 4, 5, 6], w: [4, 3, 3, 2], bias: true, groups: 2, stride: [2, 1], padding: 1, outputPadding: [1, 0] };
    const xa = randArr(c.x), wa = randArr(c.w), ba = randArr([6]);
    const expected = convTRef(xa, wa, ba.data, c);
    tf.tidy(() => {
      // x read through a spatial slice of a bigger tensor (no flat spatial stride), weight permuted back,
      // bias every other element.
      const big = toTensor(randArr([3, 4, 5, 9]), 'float64');
      const xs = big.narrow(3, 2, 6);
      xs.copy_(toTensor(xa, 'float64'));
      const w = toTensor(wa, 'float64').permute([2, 3, 1, 0]).contiguous().permute([3, 2, 0, 1]);
      const b = tf.stack([toTensor(ba, 'float64'), tf.zeros([6], { dtype: 'float64' })], 1).select(1, 0);
      expect(xs.isContiguous()).toBe(false);
      expect(w.isContiguous()).toBe(false);
      const prev = _setConvTransposeChunkElements(2 * 6 * 3 * 2 * 30);
      try {
        expectClose(tf.convTranspose2d(xs, w, b, optsOf(c)), expected, 1e-10);
      } finally {
        _setConvTransposeChunkElements(prev);
      }
    });
  });

  it('output shapes and dtype as PyTorch', () => {
    tf.tidy(() => {
      const y = tf.convTranspose2d(tf.zeros([1, 16, 14, 14]), tf.zeros([16, 8, 2, 2]), null, { stride: 2 });
      expect(y.shape).toEqual([1, 8, 28, 28]);
      expect(y.dtype).toBe('float32');
      const z = tf.convTranspose1d(tf.zeros([4, 5], { dtype: 'float64' }), tf.zeros([4, 3, 3], { dtype: 'float64' }), undefined, { padding: 3 });
      expect(z.shape).toEqual([3, 1]);
      expect(z.dtype).toBe('float64');
      expect(tf.convTranspose1d(tf.zeros([0, 4, 5]), tf.zeros([4, 3, 3])).shape).toEqual([0, 3, 7]);
      // A tap-free output (every tap lands past the end): only the bias.
      const b = tf.tensor([1.5, -2]);
      expectClose(
        tf.convTranspose1d(tf.ones([1, 1, 1]), tf.ones([1, 2, 1]), b, { dilation: 5, padding: 2, outputPadding: 4 }),
        [[[1.5], [-2]]],
      );
    });
  });
});

describe('convTranspose gradients', () => {
  const check = (fn: (...xs: tf.Tensor[]) => tf.Tensor, shapes: number[][]): void => {
    tf.tidy(() => {
      const inputs = shapes.map((s) => toTensor(randArr(s), 'float64', true));
      expect(tf.gradcheck(fn, inputs)).toBe(true);
    });
  };
  const gradCases: Case[] = [
    { name: '2-D stride/padding/outputPadding/dilation', x: [2, 2, 3, 4], w: [2, 3, 3, 2], stride: [2, 1], padding: [1, 0], outputPadding: [1, 0], dilation: [1, 2] },
    { name: '2-D groups 2, stride 2', x: [2, 4, 3, 3], w: [4, 1, 2, 3], groups: 2, stride: 2, padding: 1 },
    { name: '2-D dilation 3, outputPadding 2 (cropped core)', x: [1, 2, 3, 3], w: [2, 2, 2, 2], dilation: 3, outputPadding: 2 },
    { name: '1-D groups 3, stride 3', x: [2, 3, 4], w: [3, 2, 3], groups: 3, stride: 3, padding: 1, outputPadding: 2 },
    { name: '1-D dilation 2', x: [2, 2, 5], w: [2, 3, 3], dilation: 2, padding: 2 },
  ];
  for (const c of gradCases) {
    it(`${c.name}: input, weight and bias`, () => {
      const f = c.x.length === 3 ? tf.convTranspose1d : tf.convTranspose2d;
      check((x, w, b) => f(x, w, b, optsOf(c)), [c.x, c.w, [c.w[1] * (c.groups ?? 1)]]);
    });
  }
  it('unbatched, chunked, and with only some inputs requiring grad', () => {
    check((x, w, b) => tf.convTranspose2d(x, w, b, { padding: 1, stride: 2, outputPadding: 1 }), [[3, 3, 4], [3, 2, 3, 3], [2]]);
    const prev = _setConvTransposeChunkElements(1);
    try {
      check((x, w, b) => tf.convTranspose2d(x, w, b, { padding: 1, stride: 2 }), [[3, 2, 3, 2], [2, 2, 3, 2], [2]]);
      check((x, w) => tf.convTranspose1d(x, w, null, { stride: 2 }), [[3, 2, 3], [2, 4, 1]]);
    } finally {
      _setConvTransposeChunkElements(prev);
    }
    tf.tidy(() => {
      const x = toTensor(randArr([2, 3, 3, 3]), 'float64');
      const w = toTensor(randArr([3, 2, 3, 3]), 'float64', true);
      expect(tf.gradcheck((wt) => tf.convTranspose2d(x, wt, null, { stride: 2 }), [w])).toBe(true);
      const x2 = toTensor(randArr([2, 3, 3, 3]), 'float64', true);
      const w2 = toTensor(randArr([3, 2, 3, 3]), 'float64');
      expect(tf.gradcheck((xt) => tf.convTranspose2d(xt, w2, null, { stride: 2 }), [x2])).toBe(true);
    });
  });
  it('forward and backward free every temporary (cropped core, copies of views, chunks)', () => {
    const run = (): void => {
      const x = tf.randn([3, 4, 5, 6], { dtype: 'float64', requiresGrad: true });
      const xs = tf.randn([3, 4, 5, 9], { dtype: 'float64' }).narrow(3, 1, 6).detach().requiresGrad_(true);
      const wl = tf.randn([4, 3, 2, 3], { dtype: 'float64', requiresGrad: true });
      const w = wl.permute([0, 1, 3, 2]);
      const b = tf.randn([6], { dtype: 'float64', requiresGrad: true });
      const y = tf.convTranspose2d(x, w, b, { groups: 2, stride: 2, dilation: 3, outputPadding: 2 });
      const y2 = tf.convTranspose2d(xs, w, b, { groups: 2, stride: 2, padding: 1, outputPadding: 1 });
      y.sum().add(y2.sum()).backward();
      for (const t of [x, xs, wl, b]) {
        t.grad!.dispose();
        t.grad = null;
      }
    };
    const prev = _setConvTransposeChunkElements(1);
    try {
      tf.tidy(run);
      const before = tf.memory();
      tf.tidy(run);
      expect(tf.memory().tensors).toBe(before.tensors);
      expect(tf.memory().bytes).toBe(before.bytes);
    } finally {
      _setConvTransposeChunkElements(prev);
    }
  });
  it('batch 0: zero gradients of the right shapes', () => {
    tf.tidy(() => {
      const x = tf.zeros([0, 3, 4], { dtype: 'float64', requiresGrad: true });
      const w = tf.ones([3, 2, 3], { dtype: 'float64', requiresGrad: true });
      const b = tf.ones([2], { dtype: 'float64', requiresGrad: true });
      tf.convTranspose1d(x, w, b, { stride: 2 }).sum().backward();
      expect(x.grad!.shape).toEqual([0, 3, 4]);
      expectClose(w.grad!, { shape: [3, 2, 3], data: new Array(18).fill(0) });
      expectClose(b.grad!, [0, 0]);
    });
  });
});

describe('convTranspose2d is the input gradient of conv2d', () => {
  const cases: [string, number[], number[], tf.ConvTransposeOptions][] = [
    // [name, conv input shape, weight [C, outC/g... as conv weight [M, C/g, k]], options]
    ['stride 2, padding 1', [2, 3, 9, 8], [4, 3, 3, 3], { stride: 2, padding: 1 }],
    ['stride [3, 2], dilation 2, groups 2', [1, 4, 11, 10], [6, 2, 2, 3], { stride: [3, 2], dilation: 2, groups: 2 }],
  ];
  for (const [name, xs, ws, o] of cases) {
    it(name, () => {
      tf.tidy(() => {
        const x = toTensor(randArr(xs), 'float64', true);
        const w = toTensor(randArr(ws), 'float64');
        const y = tf.conv2d(x, w, null, { stride: o.stride, padding: o.padding as number, dilation: o.dilation, groups: o.groups });
        const gy = toTensor(randArr(y.shape), 'float64');
        y.backward(gy);
        // The conv's weight [M, C/g, k] is the transposed conv's [inC = M, outC/g = C/g, k]; the
        // outputPadding that recovers the conv's input size.
        const ns = 2, k = ws.slice(2);
        const st = typeof o.stride === 'number' ? [o.stride, o.stride] : (o.stride as number[]) ?? [1, 1];
        const dl = typeof o.dilation === 'number' ? [o.dilation, o.dilation] : (o.dilation as number[]) ?? [1, 1];
        const pd = typeof o.padding === 'number' ? [o.padding, o.padding] : [0, 0];
        const op = Array.from({ length: ns }, (_, i) => xs[2 + i] - ((y.shape[2 + i] - 1) * st[i] - 2 * pd[i] + dl[i] * (k[i] - 1) + 1));
        const z = tf.convTranspose2d(gy, w, null, { ...o, outputPadding: op });
        expectClose(z, x.grad!, 1e-10);
        x.grad!.dispose();
      });
    });
  }
});

describe('nn.ConvTranspose1d / nn.ConvTranspose2d', () => {
  it('shapes, PyTorch init bounds, bias, and the functional forms', () => {
    tf.tidy(() => {
      const m = new tf.nn.ConvTranspose2d(4, 6, 3, { groups: 2, stride: 2, padding: 1, outputPadding: 1 });
      expect(m.weight.shape).toEqual([4, 3, 3, 3]);
      expect(m.bias!.shape).toEqual([6]);
      // kaiming uniform a = sqrt(5) on [in, out/g, k]: bound 1/sqrt(fanIn), fanIn = out/g * k*k = 27.
      const bound = 1 / Math.sqrt(27);
      const wv = Array.from(m.weight.dataSync() as Float32Array);
      expect(Math.max(...wv.map(Math.abs))).toBeLessThanOrEqual(bound + 1e-7);
      expect(Math.max(...wv.map(Math.abs))).toBeGreaterThan(bound * 0.8);
      expect(Math.max(...Array.from(m.bias!.dataSync() as Float32Array, Math.abs))).toBeLessThanOrEqual(bound + 1e-7);
      const x = tf.randn([2, 4, 5, 7]);
      const y = m.forward(x);
      expect(y.shape).toEqual([2, 6, 10, 14]);
      expectClose(y, tf.nn.functional.convTranspose2d(x, m.weight, m.bias, { groups: 2, stride: 2, padding: 1, outputPadding: 1 }), 1e-6);
      const m1 = new tf.nn.ConvTranspose1d(3, 5, 4, { stride: 3, bias: false, dtype: 'float64' });
      expect(m1.weight.shape).toEqual([3, 5, 4]);
      expect(m1.weight.dtype).toBe('float64');
      expect(m1.bias).toBeNull();
      expect(m1.forward(tf.zeros([2, 3, 6], { dtype: 'float64' })).shape).toEqual([2, 5, 19]);
      expect(m1.parameters().length).toBe(1);
    });
  });

  it('forward(x, { outputSize }) picks the outputPadding, and rejects unreachable sizes', () => {
    tf.tidy(() => {
      const m = new tf.nn.ConvTranspose2d(2, 3, 3, { stride: 2, padding: 1 });
      const x = tf.randn([1, 2, 4, 5]);
      expect(m.forward(x).shape).toEqual([1, 3, 7, 9]);
      expect(m.forward(x, { outputSize: [8, 9] }).shape).toEqual([1, 3, 8, 9]);
      expect(m.forward(x, { outputSize: [1, 3, 7, 10] }).shape).toEqual([1, 3, 7, 10]);
      expectThrows(() => m.forward(x, { outputSize: [9, 9] }), 'ConvTranspose2d', 'outputSize [9, 9]', 'between 7 and 8');
      expectThrows(() => m.forward(x, { outputSize: [6, 9] }), 'between 7 and 8');
      const m1 = new tf.nn.ConvTranspose1d(2, 2, 2, { stride: 3 });
      expect(m1.forward(tf.randn([2, 2, 4]), { outputSize: [13] }).shape).toEqual([2, 2, 13]);
    });
  });

  it('a U-Net style up block trains (gradients reach the weight and bias)', () => {
    tf.tidy(() => {
      const m = new tf.nn.ConvTranspose2d(3, 2, 2, { stride: 2 });
      const x = tf.randn([2, 3, 4, 4]);
      m.forward(x).square().mean().backward();
      expect(m.weight.grad!.shape).toEqual([3, 2, 2, 2]);
      expect(m.bias!.grad!.shape).toEqual([2]);
    });
  });
});

describe('convTranspose errors', () => {
  it('name the op and the shapes', () => {
    tf.tidy(() => {
      const x = tf.zeros([1, 4, 5, 5]);
      expectThrows(() => tf.convTranspose2d(x, tf.zeros([3, 2, 3, 3])), 'convTranspose2d', 'C = 3', '[3, 2, 3, 3]', '[1, 4, 5, 5]');
      expectThrows(() => tf.convTranspose2d(x, tf.zeros([4, 2, 3])), 'convTranspose2d', 'expected weight [inC, outC / groups, kH, kW]', '[4, 2, 3]');
      expectThrows(() => tf.convTranspose2d(x, tf.zeros([4, 2, 3, 3]), null, { groups: 3 }), 'convTranspose2d', 'not divisible by groups 3');
      expectThrows(
        () => tf.convTranspose2d(x, tf.zeros([4, 2, 3, 3]), null, { stride: 2, outputPadding: 2 }),
        'convTranspose2d', 'outputPadding must be smaller than either stride or dilation', 'outputPadding [2, 2]',
      );
      expectThrows(() => tf.convTranspose1d(tf.zeros([1, 4, 5]), tf.zeros([4, 2, 3]), null, { outputPadding: 1 }), 'convTranspose1d', 'outputPadding');
      expectThrows(() => tf.convTranspose2d(x, tf.zeros([4, 2, 3, 3]), tf.zeros([3])), 'convTranspose2d', 'expected bias [2]', 'got [3]');
      expectThrows(() => tf.convTranspose1d(tf.zeros([1, 4, 5]), tf.zeros([4, 3, 3]), null, { padding: 5 }), 'convTranspose1d', 'too small');
      expectThrows(() => tf.convTranspose2d(tf.zeros([4, 5]), tf.zeros([4, 2, 3, 3])), 'convTranspose2d', '3-D', '4-D', '[4, 5]');
      expectThrows(() => tf.convTranspose2d(x, tf.zeros([4, 2, 3, 3], { dtype: 'float64' })), 'convTranspose2d', 'same dtype');
      expectThrows(() => tf.convTranspose1d(tf.zeros([1, 4, 5]), tf.zeros([4, 2, 3]), null, { stride: 0 }), 'convTranspose1d', 'stride');
      expectThrows(() => new tf.nn.ConvTranspose2d(4, 6, 3, { groups: 4 }), 'ConvTranspose2d', 'divisible by groups 4');
      expectThrows(() => new tf.nn.ConvTranspose1d(4, 6, 3, { stride: 2, outputPadding: 2 }), 'ConvTranspose1d', 'outputPadding');
    });
  });
});
