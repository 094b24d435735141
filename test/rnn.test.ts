// nn.RNN / LSTM / GRU (native time loop, lib/ops/rnn.ts + native/kernels/rnn.cpp) and the cells
// against a float64 reference of PyTorch's equations written out in plain JS loops below: outputs,
// final states, and the gradients of the input, the initial states and every weight (the
// reference's gradients by central differences of the reference itself). Odd sizes, stacked,
// bidirectional, batchFirst, projections, variable lengths; gradcheck; every CPU level; errors.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '../lib';
import { meta, metaNum, native } from '../lib/native';
import { expectClose, expectThrows } from './helpers';

type Mode = 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';
const GATES: Record<Mode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };
const levels = tf.cpuKernelLevels();
const initial = tf.cpuKernelLevel();
afterAll(() => tf.setCpuKernelLevel(initial));

interface Cfg {
  mode: Mode;
  T: number;
  B: number;
  I: number;
  H: number;
  L: number;
  bidirectional: boolean;
  bias: boolean;
  projSize: number;
  batchFirst: boolean;
  lengths: number[] | null;
  withState: boolean;
}
type Params = Record<string, Float64Array>;

const sig = (v: number): number => 1 / (1 + Math.exp(-v));

/**
 * The reference: PyTorch's equations, one batch element and step at a time. x is time-major
 * [T, B, I]; h0 [L*D, B, P], c0 [L*D, B, H] (null: zeros). Returns out [T, B, D*P], hN, cN.
 */
function reference(c: Cfg, x: Float64Array, h0: Float64Array | null, c0: Float64Array | null, p: Params) {
  const { T, B, H, L, mode } = c;
  const D = c.bidirectional ? 2 : 1, P = c.projSize || H, G = GATES[mode];
  const hN = new Float64Array(L * D * B * P), cN = new Float64Array(L * D * B * H);
  let inp = x, inSize = c.I;
  for (let l = 0; l < L; l++) {
    const out = new Float64Array(T * B * D * P);
    for (let d = 0; d < D; d++) {
      const sfx = `_l${l}${d ? '_reverse' : ''}`;
      const wih = p[`weight_ih${sfx}`], whh = p[`weight_hh${sfx}`], whr = c.projSize ? p[`weight_hr${sfx}`] : null;
      const bih = c.bias ? p[`bias_ih${sfx}`] : new Float64Array(G * H), bhh = c.bias ? p[`bias_hh${sfx}`] : new Float64Array(G * H);
      const k = l * D + d;
      for (let b = 0; b < B; b++) {
        const len = c.lengths ? c.lengths[b] : T;
        let h = h0 ? h0.slice((k * B + b) * P, (k * B + b + 1) * P) : new Float64Array(P);
        let cs = c0 ? c0.slice((k * B + b) * H, (k * B + b + 1) * H) : new Float64Array(H);
        for (let s = 0; s < len; s++) {
          const t = d ? len - 1 - s : s;
          const gi = new Float64Array(G * H), gh = new Float64Array(G * H);
          for (let g = 0; g < G * H; g++) {
            let a = bih[g];
            for (let i = 0; i < inSize; i++) a += wih[g * inSize + i] * inp[(t * B + b) * inSize + i];
            gi[g] = a;
            let e = bhh[g];
            for (let j = 0; j < P; j++) e += whh[g * P + j] * h[j];
            gh[g] = e;
          }
          const hr = new Float64Array(H);
          if (mode === 'RNN_TANH' || mode === 'RNN_RELU') {
            for (let j = 0; j < H; j++) hr[j] = mode === 'RNN_TANH' ? Math.tanh(gi[j] + gh[j]) : Math.max(0, gi[j] + gh[j]);
          } else if (mode === 'LSTM') {
            const c2 = new Float64Array(H);
            for (let j = 0; j < H; j++) {
              const ig = sig(gi[j] + gh[j]), fg = sig(gi[H + j] + gh[H + j]);
              const gg = Math.tanh(gi[2 * H + j] + gh[2 * H + j]), og = sig(gi[3 * H + j] + gh[3 * H + j]);
              c2[j] = fg * cs[j] + ig * gg;
              hr[j] = og * Math.tanh(c2[j]);
            }
            cs = c2;
          } else {
            for (let j = 0; j < H; j++) {
              const r = sig(gi[j] + gh[j]), z = sig(gi[H + j] + gh[H + j]);
              const n = Math.tanh(gi[2 * H + j] + r * gh[2 * H + j]);
              hr[j] = (1 - z) * n + z * h[j];
            }
          }
          if (whr) {
            h = new Float64Array(P);
            for (let q = 0; q < P; q++) for (let j = 0; j < H; j++) h[q] += whr[q * H + j] * hr[j];
          } else {
            h = hr;
          }
          for (let j = 0; j < P; j++) out[(t * B + b) * D * P + d * P + j] = h[j];
        }
        hN.set(h, (k * B + b) * P);
        cN.set(cs, (k * B + b) * H);
      }
    }
    inp = out;
    inSize = D * P;
  }
  return { out: inp, hN, cN };
}

let seed = 7;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648 - 0.5;
}
const randArr = (n: number, scale = 1): Float64Array => Float64Array.from({ length: n }, () => rnd() * 2 * scale);

function makeModule(c: Cfg, dtype: tf.DType): tf.nn.RNN | tf.nn.LSTM | tf.nn.GRU {
  const o = { numLayers: c.L, bidirectional: c.bidirectional, bias: c.bias, batchFirst: c.batchFirst, dtype };
  if (c.mode === 'LSTM') return new tf.nn.LSTM(c.I, c.H, { ...o, projSize: c.projSize });
  if (c.mode === 'GRU') return new tf.nn.GRU(c.I, c.H, o);
  return new tf.nn.RNN(c.I, c.H, { ...o, nonlinearity: c.mode === 'RNN_TANH' ? 'tanh' : 'relu' });
}

/** [T, B, F] time-major data as the module's input layout ([B, T, F] with batchFirst). */
function layout(c: Cfg, data: Float64Array, F: number): Float64Array {
  if (!c.batchFirst) return data;
  const out = new Float64Array(data.length);
  for (let t = 0; t < c.T; t++) for (let b = 0; b < c.B; b++) for (let f = 0; f < F; f++) out[(b * c.T + t) * F + f] = data[(t * c.B + b) * F + f];
  return out;
}

function run(c: Cfg, m: tf.nn.RNN | tf.nn.LSTM | tf.nn.GRU, x: tf.Tensor, h0: tf.Tensor | null, c0: tf.Tensor | null) {
  const opts = { lengths: c.lengths };
  if (m instanceof tf.nn.LSTM) {
    const [out, [hN, cN]] = m.forward(x, h0 && c0 ? [h0, c0] : null, opts);
    return { out, hN, cN };
  }
  const [out, hN] = (m as tf.nn.RNN).forward(x, h0, opts);
  return { out, hN, cN: null as tf.Tensor | null };
}

/** Compares outputs and every gradient with the reference, in float64 (and float32 when asked). */
function checkAgainstReference(c: Cfg, dtype: tf.DType = 'float64'): void {
  const D = c.bidirectional ? 2 : 1, P = c.projSize || c.H;
  const f64 = dtype === 'float64';
  const m = makeModule(c, dtype);
  // Parameters: fresh random values loaded through the state dict (PyTorch's names).
  const params: Params = {};
  const state: Record<string, tf.Tensor> = {};
  for (const [name, t] of m.namedParameters()) {
    params[name] = randArr(t.numel(), 0.6);
    state[name] = tf.tensor(params[name], { dtype: 'float64' }).reshape(t.shape).to(dtype);
  }
  m.loadStateDict(state);
  const xs = randArr(c.T * c.B * c.I), h0s = c.withState ? randArr(c.L * D * c.B * P) : null;
  const c0s = c.withState && c.mode === 'LSTM' ? randArr(c.L * D * c.B * c.H) : null;
  const ro = randArr(c.T * c.B * D * P), rh = randArr(c.L * D * c.B * P), rc = randArr(c.L * D * c.B * c.H);
  const loss = (x: Float64Array, h0: Float64Array | null, c0: Float64Array | null, p: Params): number => {
    const r = reference(c, x, h0, c0, p);
    let s = 0;
    for (let i = 0; i < ro.length; i++) s += r.out[i] * ro[i];
    for (let i = 0; i < rh.length; i++) s += r.hN[i] * rh[i];
    if (c.mode === 'LSTM') for (let i = 0; i < rc.length; i++) s += r.cN[i] * rc[i];
    return s;
  };
  // Reference gradients by central differences of the reference.
  const fd = (arr: Float64Array, f: () => number): Float64Array => {
    const g = new Float64Array(arr.length), eps = 1e-6;
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i];
      arr[i] = v + eps;
      const up = f();
      arr[i] = v - eps;
      const down = f();
      arr[i] = v;
      g[i] = (up - down) / (2 * eps);
    }
    return g;
  };
  const ref = reference(c, xs, h0s, c0s, params);
  const L = (): number => loss(xs, h0s, c0s, params);

  tf.tidy(() => {
    const xShape = c.batchFirst ? [c.B, c.T, c.I] : [c.T, c.B, c.I];
    const x = tf.tensor(layout(c, xs, c.I), { dtype: 'float64' }).reshape(xShape).to(dtype).requiresGrad_();
    const h0 = h0s ? tf.tensor(h0s, { dtype: 'float64' }).reshape([c.L * D, c.B, P]).to(dtype).requiresGrad_() : null;
    const c0 = c0s ? tf.tensor(c0s, { dtype: 'float64' }).reshape([c.L * D, c.B, c.H]).to(dtype).requiresGrad_() : null;
    const r = run(c, m, x, h0, c0);
    const outShape = c.batchFirst ? [c.B, c.T, D * P] : [c.T, c.B, D * P];
    const tol = f64 ? { atol: 1e-10, rtol: 1e-9 } : { atol: 2e-5, rtol: 1e-4 };
    expectClose(r.out, { shape: outShape, data: Array.from(layout(c, ref.out, D * P)) }, tol);
    expectClose(r.hN, { shape: [c.L * D, c.B, P], data: Array.from(ref.hN) }, tol);
    if (r.cN) expectClose(r.cN, { shape: [c.L * D, c.B, c.H], data: Array.from(ref.cN) }, tol);

    const t = (a: Float64Array, shape: number[]): tf.Tensor => tf.tensor(a, { dtype: 'float64' }).reshape(shape).to(dtype);
    let l = r.out.mul(t(layout(c, ro, D * P), outShape)).sum().add(r.hN.mul(t(rh, [c.L * D, c.B, P])).sum());
    if (r.cN) l = l.add(r.cN.mul(t(rc, [c.L * D, c.B, c.H])).sum());
    expect(l.item()).toBeCloseTo(L(), f64 ? 9 : 3);
    l.backward();
    const gtol = f64 ? { atol: 1e-7, rtol: 1e-6 } : { atol: 1e-4, rtol: 1e-3 };
    expectClose(x.grad!, { shape: xShape, data: Array.from(layout(c, fd(xs, L), c.I)) }, gtol);
    if (h0) expectClose(h0.grad!, { shape: h0.shape, data: Array.from(fd(h0s!, L)) }, gtol);
    if (c0) expectClose(c0.grad!, { shape: c0.shape, data: Array.from(fd(c0s!, L)) }, gtol);
    for (const [name, p] of m.namedParameters()) {
      expect(p.grad, name).not.toBeNull();
      expectClose(p.grad!, { shape: p.shape, data: Array.from(fd(params[name], L)) }, gtol);
    }
  });
}

const base: Cfg = {
  mode: 'LSTM', T: 5, B: 3, I: 7, H: 6, L: 1, bidirectional: false, bias: true, projSize: 0, batchFirst: false,
  lengths: null, withState: true,
};

describe('nn.RNN / LSTM / GRU against the reference equations (float64, all gradients)', () => {
  it('RNN tanh: 2 layers, bidirectional, initial state; relu: batchFirst, no bias, lengths', () => {
    checkAgainstReference({ ...base, mode: 'RNN_TANH', L: 2, bidirectional: true });
    checkAgainstReference({ ...base, mode: 'RNN_RELU', batchFirst: true, bias: false, lengths: [5, 2, 4] });
  });
  it('LSTM: 2 layers, bidirectional, projSize, lengths; batchFirst without initial state', () => {
    checkAgainstReference({ ...base, L: 2, bidirectional: true, projSize: 4, lengths: [3, 5, 1] });
    checkAgainstReference({ ...base, batchFirst: true, withState: false });
    checkAgainstReference({ ...base, L: 2, bidirectional: true, batchFirst: true, lengths: [5, 4, 2] });
  });
  it('GRU: 2 layers, bidirectional, lengths; batchFirst, no bias, projected-free single layer', () => {
    checkAgainstReference({ ...base, mode: 'GRU', L: 2, bidirectional: true, lengths: [2, 5, 3] });
    checkAgainstReference({ ...base, mode: 'GRU', batchFirst: true, bias: false, withState: false });
  });
  it('float32 on every CPU level', () => {
    for (const level of levels) {
      tf.setCpuKernelLevel(level);
      checkAgainstReference({ ...base, L: 2, bidirectional: true, projSize: 5, lengths: [4, 5, 2] }, 'float32');
      checkAgainstReference({ ...base, mode: 'GRU', batchFirst: true, lengths: [1, 5, 3] }, 'float32');
      checkAgainstReference({ ...base, mode: 'RNN_TANH', L: 2 }, 'float32');
    }
    tf.setCpuKernelLevel(initial);
  });
});

describe('recurrent modules', () => {
  it('registers parameters under PyTorch names, shapes and order, initialised in +-1/sqrt(H)', () => {
    const m = new tf.nn.LSTM(7, 6, { numLayers: 2, bidirectional: true, projSize: 4 });
    const names = [...m.namedParameters()].map(([k, p]) => `${k}:${p.shape.join('x')}`);
    const layer = (l: number, s: string, inp: number): string[] => [
      `weight_ih_l${l}${s}:24x${inp}`, `weight_hh_l${l}${s}:24x4`, `bias_ih_l${l}${s}:24`, `bias_hh_l${l}${s}:24`, `weight_hr_l${l}${s}:4x6`,
    ];
    expect(names).toEqual([...layer(0, '', 7), ...layer(0, '_reverse', 7), ...layer(1, '', 8), ...layer(1, '_reverse', 8)]);
    expect(Object.keys(m.stateDict())).toEqual(names.map((n) => n.split(':')[0]));
    expect(m.allWeights.length).toBe(4);
    for (const p of m.parameters()) {
      const v = p.dataSync();
      expect(Math.max(...Array.from(v, Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(6));
    }
    const g = new tf.nn.GRU(3, 5, { bias: false });
    expect([...g.namedParameters()].map(([k, p]) => `${k}:${p.shape.join('x')}`)).toEqual(['weight_ih_l0:15x3', 'weight_hh_l0:15x5']);
    const r = new tf.nn.RNN(3, 5, { nonlinearity: 'relu', numLayers: 2 });
    expect([...r.namedParameters()].map(([k]) => k)).toEqual([
      'weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', 'weight_ih_l1', 'weight_hh_l1', 'bias_ih_l1', 'bias_hh_l1',
    ]);
    expect(m.toString()).toBe('LSTM(7, 6, projSize=4, numLayers=2, bidirectional=true)');
    const c = new tf.nn.LSTMCell(3, 4);
    expect([...c.namedParameters()].map(([k, p]) => `${k}:${p.shape.join('x')}`)).toEqual([
      'weight_ih:16x3', 'weight_hh:16x4', 'bias_ih:16', 'bias_hh:16',
    ]);
  });

  it('unbatched input, lengths as a tensor, shapes of every result', () => {
    tf.manualSeed(3);
    tf.tidy(() => {
      const m = new tf.nn.GRU(4, 3, { numLayers: 2, bidirectional: true, dtype: 'float64' });
      const x = tf.randn([6, 4], { dtype: 'float64' }), h0 = tf.randn([4, 3], { dtype: 'float64' });
      const [y, h] = m.forward(x, h0);
      expect(y.shape).toEqual([6, 6]);
      expect(h.shape).toEqual([4, 3]);
      const [yb, hb] = m.forward(x.unsqueeze(1), h0.unsqueeze(1));
      expectClose(y, yb.squeeze(1), 1e-12);
      expectClose(h, hb.squeeze(1), 1e-12);
      const lstm = new tf.nn.LSTM(4, 5, { batchFirst: true, projSize: 2 });
      const xb = tf.randn([3, 6, 4]);
      const [o, [hn, cn]] = lstm.forward(xb, null, { lengths: tf.tensor([6, 2, 3], { dtype: 'int32' }) });
      expect([o.shape, hn.shape, cn.shape]).toEqual([[3, 6, 2], [1, 3, 2], [1, 3, 5]]);
      // Past each length: zeros in the output, and hN is the output at the last valid step.
      const ov = o.toArray() as number[][][];
      expect(ov[1][2]).toEqual([0, 0]);
      expect(ov[2][5]).toEqual([0, 0]);
      expectClose(hn.select(0, 0).select(0, 1), o.select(0, 1).select(0, 1), 1e-7);
      // A sequence of full length equals running it alone.
      const [alone] = lstm.forward(xb.narrow(0, 0, 1));
      expectClose(o.narrow(0, 0, 1), alone, 1e-6);
    });
  });

  it('dropout between layers in training mode only', () => {
    tf.manualSeed(4);
    tf.tidy(() => {
      const m = new tf.nn.LSTM(3, 8, { numLayers: 2, dropout: 0.5 });
      const x = tf.randn([4, 2, 3]);
      m.eval();
      const [a] = m.forward(x), [b] = m.forward(x);
      expectClose(a, b, 0);
      m.train();
      const [c] = m.forward(x);
      expect(Math.max(...Array.from(c.sub(a).abs().dataSync()))).toBeGreaterThan(1e-4);
      const single = new tf.nn.GRU(3, 4, { dropout: 0.5 }); // one layer: nothing to drop
      const [s1] = single.forward(x);
      single.eval();
      expectClose(single.forward(x)[0], s1, 0);
    });
  });

  it('gradcheck (float64) through every input and weight: RNN, LSTM (projection), GRU', () => {
    tf.manualSeed(5);
    const cases: [string, () => tf.nn.RNN | tf.nn.LSTM | tf.nn.GRU][] = [
      ['RNN', () => new tf.nn.RNN(3, 2, { numLayers: 2, bidirectional: true, dtype: 'float64' })],
      ['LSTM', () => new tf.nn.LSTM(3, 3, { bidirectional: true, projSize: 2, dtype: 'float64' })],
      ['GRU', () => new tf.nn.GRU(2, 3, { numLayers: 2, batchFirst: true, dtype: 'float64' })],
    ];
    for (const [name, make] of cases) {
      const m = make();
      const names = [...m.namedParameters()].map(([k]) => k);
      const self = m as unknown as Record<string, tf.Tensor>;
      const D = m.bidirectional ? 2 : 1, P = m.projSize || m.hiddenSize;
      const x = tf.randn(m.batchFirst ? [2, 3, m.inputSize] : [3, 2, m.inputSize], { dtype: 'float64' });
      const h0 = tf.randn([m.numLayers * D, 2, P], { dtype: 'float64' });
      const c0 = tf.randn([m.numLayers * D, 2, m.hiddenSize], { dtype: 'float64' });
      const lstm = m instanceof tf.nn.LSTM;
      const fn = (...args: tf.Tensor[]): tf.Tensor => {
        const saved = names.map((n) => self[n]);
        names.forEach((n, i) => (self[n] = args[(lstm ? 3 : 2) + i]));
        try {
          if (m instanceof tf.nn.LSTM) {
            const [o, [h, c]] = m.forward(args[0], [args[1], args[2]], { lengths: [3, 2] });
            return tf.cat([o.flatten(), h.flatten(), c.flatten()]);
          }
          const [o, h] = (m as tf.nn.GRU).forward(args[0], args[1], { lengths: [2, 3] });
          return tf.cat([o.flatten(), h.flatten()]);
        } finally {
          names.forEach((n, i) => (self[n] = saved[i]));
        }
      };
      const inputs = [x, h0, ...(lstm ? [c0] : []), ...names.map((n) => self[n].detach().clone())].map((t) => t.requiresGrad_());
      expect(tf.gradcheck(fn, inputs), name).toBe(true);
    }
  });
});

describe('cells', () => {
  it('match one step of the reference, batched and unbatched, with gradients (gradcheck)', () => {
    tf.manualSeed(6);
    for (const [mode, make] of [
      ['RNN_TANH', () => new tf.nn.RNNCell(5, 4, { dtype: 'float64' })],
      ['RNN_RELU', () => new tf.nn.RNNCell(5, 4, { nonlinearity: 'relu', dtype: 'float64' })],
      ['LSTM', () => new tf.nn.LSTMCell(5, 4, { dtype: 'float64' })],
      ['GRU', () => new tf.nn.GRUCell(5, 4, { dtype: 'float64' })],
    ] as [Mode, () => tf.nn.RNNCell | tf.nn.LSTMCell | tf.nn.GRUCell][]) {
      tf.tidy(() => {
        const cell = make();
        const c: Cfg = { ...base, mode, T: 1, B: 3, I: 5, H: 4 };
        const params: Params = {};
        for (const [k, p] of cell.namedParameters()) params[`${k}_l0`] = p.dataSync() as Float64Array;
        const x = tf.randn([3, 5], { dtype: 'float64' }), h = tf.randn([3, 4], { dtype: 'float64' }), cc = tf.randn([3, 4], { dtype: 'float64' });
        const ref = reference(c, x.dataSync() as Float64Array, h.dataSync() as Float64Array, cc.dataSync() as Float64Array, params);
        if (cell instanceof tf.nn.LSTMCell) {
          const [h2, c2] = cell.forward(x, [h, cc]);
          expectClose(h2, { shape: [3, 4], data: Array.from(ref.hN) }, 1e-12);
          expectClose(c2, { shape: [3, 4], data: Array.from(ref.cN) }, 1e-12);
          const [hu, cu] = cell.forward(x.select(0, 1), [h.select(0, 1), cc.select(0, 1)]);
          expectClose(hu, h2.select(0, 1), 1e-12);
          expectClose(cu, c2.select(0, 1), 1e-12);
          expect(cell.forward(x)[0].shape).toEqual([3, 4]);
          const w = cell.parameters().map((p) => p.detach().clone());
          expect(tf.gradcheck((a, b, d) => tf.cat(cell.forward(a, [b, d]).map((t) => t.flatten())), [x, h, cc].map((t) => t.requiresGrad_()))).toBe(true);
          expect(w.length).toBe(4);
        } else {
          const h2 = (cell as tf.nn.GRUCell).forward(x, h);
          expectClose(h2, { shape: [3, 4], data: Array.from(ref.hN) }, 1e-12);
          expectClose((cell as tf.nn.GRUCell).forward(x.select(0, 2), h.select(0, 2)), h2.select(0, 2), 1e-12);
          expect((cell as tf.nn.GRUCell).forward(x).shape).toEqual([3, 4]);
          expect(tf.gradcheck((a, b) => (cell as tf.nn.GRUCell).forward(a, b), [x, h].map((t) => t.requiresGrad_()))).toBe(true);
        }
        // Weight gradients reach the cell's parameters.
        const out = cell instanceof tf.nn.LSTMCell ? cell.forward(x)[0] : (cell as tf.nn.GRUCell).forward(x);
        out.sum().backward();
        for (const [k, p] of cell.namedParameters()) expect(p.grad, k).not.toBeNull();
      });
    }
  });
});

describe('errors', () => {
  it('bad constructor arguments and forward arguments name the op and the shapes', () => {
    expectThrows(() => new tf.nn.LSTM(3, 4, { projSize: 4 }), 'LSTM', 'projSize (4) has to be smaller than hiddenSize (4)');
    expectThrows(() => new tf.nn.RNN(3, 4, { nonlinearity: 'gelu' as 'relu' }), 'RNN', "nonlinearity 'gelu'");
    expectThrows(() => new tf.nn.GRU(0, 4), 'GRU', 'inputSize');
    expectThrows(() => new tf.nn.GRU(3, 4, { numLayers: 1.5 }), 'numLayers');
    expectThrows(() => new tf.nn.GRU(3, 4, { dropout: 2 }), 'dropout');
    const m = new tf.nn.LSTM(3, 4, { numLayers: 2 });
    tf.tidy(() => {
      const x = tf.randn([5, 2, 3]);
      expectThrows(() => m.forward(tf.randn([5, 2, 4])), 'LSTM', '[5, 2, 4]', 'inputSize 3');
      expectThrows(() => m.forward(tf.randn([5, 2, 3, 1])), 'LSTM', '[5, 2, 3, 1]');
      expectThrows(() => m.forward(x.double()), 'LSTM', 'float64', 'float32');
      expectThrows(() => m.forward(x, [tf.zeros([2, 3, 4]), tf.zeros([2, 2, 4])]), 'LSTM', 'h0', '[2, 2, 4]', '[2, 3, 4]');
      expectThrows(() => m.forward(x, [tf.zeros([2, 2, 4]), tf.zeros([1, 2, 4])]), 'LSTM', 'c0', '[1, 2, 4]');
      expectThrows(() => m.forward(x, [tf.zeros([2, 2, 4]), tf.zeros([2, 2, 4], { dtype: 'float64' })]), 'c0', 'float64');
      expectThrows(() => m.forward(x, null, { lengths: [5] }), 'LSTM', '1 lengths for a batch of 2');
      expectThrows(() => m.forward(x, null, { lengths: [5, 0] }), 'lengths[1] = 0', '1..5');
      expectThrows(() => m.forward(x, null, { lengths: [6, 1] }), 'lengths[0] = 6');
      expectThrows(() => m.forward(x, null, { lengths: [2.5, 1] }), 'lengths[0] = 2.5');
      expectThrows(() => m.forward(tf.zeros([0, 2, 3])), 'LSTM', 'empty');
      const cell = new tf.nn.GRUCell(3, 4);
      expectThrows(() => cell.forward(tf.zeros([2, 5])), 'GRUCell', '[2, 5]');
      expectThrows(() => cell.forward(tf.zeros([2, 3]), tf.zeros([3, 4])), 'GRUCell', 'hx', '[3, 4]', '[2, 4]');
    });
  });

  it('the native entry points validate every tensor before touching memory', () => {
    tf.tidy(() => {
      // A valid GRU call (T 3, B 2, H 4), then each argument broken in turn.
      const T = 3, B = 2, H = 4, GH = 12;
      const ok = {
        out: tf.zeros([T, B, H]), h: tf.zeros([B, H]), hprev: tf.zeros([T, B, H]), ws: tf.zeros([T, B, 4 * H]),
        scratch: tf.zeros([B * (GH + H + H) + H * GH]), xg: tf.zeros([T, B, GH]), wHh: tf.zeros([GH, H]), bHh: tf.zeros([GH]),
        lengths: tf.tensor([3, 1], { dtype: 'int32' }),
      };
      type Args = typeof ok;
      const call = (a: Args, mode = 3): void => {
        meta();
        a.out._meta();
        a.h._meta();
        metaNum(0);
        a.hprev._meta();
        a.ws._meta();
        a.scratch._meta();
        a.xg._meta();
        a.wHh._meta();
        metaNum(1);
        a.bHh._meta();
        metaNum(0, 0, 0, 1);
        a.lengths._meta();
        metaNum(1);
        native.rnnForward(mode);
      };
      call(ok);
      const bad: [Partial<Args>, string][] = [
        [{ out: tf.zeros([T, B, H + 1]) }, 'output has shape [3, 2, 5], expected [3, 2, 4]'],
        [{ h: tf.zeros([B + 1, H]) }, 'final hidden state'],
        [{ hprev: tf.zeros([T, B, H], { dtype: 'float64' }) }, 'saved states is float64'],
        [{ ws: tf.zeros([T, B, 3 * H]) }, 'saved activations'],
        [{ scratch: tf.zeros([5]) }, 'scratch'],
        [{ xg: tf.zeros([T, B, 13]) }, 'multiple of 3'],
        [{ xg: tf.zeros([T, B, GH], { dtype: 'int32' }) }, 'floating-point'],
        [{ wHh: tf.zeros([GH, H + 1]) }, 'hidden size'],
        [{ wHh: tf.zeros([H, GH]).t() }, 'weight_hh must be contiguous'],
        [{ bHh: tf.zeros([GH + 1]) }, 'bias_hh'],
        [{ lengths: tf.tensor([3, 4], { dtype: 'int32' }) }, 'lengths[1] = 4 is outside 1..3'],
        [{ lengths: tf.tensor([0, 1], { dtype: 'int32' }) }, 'lengths[0] = 0'],
        [{ lengths: tf.tensor([3, 1]) }, 'lengths is float32'],
        [{ lengths: tf.tensor([3], { dtype: 'int32' }) }, 'lengths has shape [1]'],
      ];
      for (const [change, msg] of bad) expectThrows(() => call({ ...ok, ...change }), 'rnn', msg);
      expectThrows(() => call(ok, 9), 'unknown op code');
      expectThrows(() => call(ok, 2), 'rnn'); // the LSTM reading of these sizes does not fit
      // Garbage after a valid prefix: still an Error, never a crash.
      for (const v of [NaN, -1, 1e300, 0.5, 7]) {
        meta();
        for (let i = 0; i < 40; i++) metaNum(v);
        expect(() => native.rnnForward(3)).toThrow();
        expect(() => native.rnnBackward(2)).toThrow();
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The same modules in PyTorch (when /usr/bin/python3 has torch): our state dict loads into
// torch.nn.LSTM / GRU / RNN strictly (names and shapes), and outputs, final states and every
// gradient agree, lengths going through pack_padded_sequence (enforce_sorted=False).

const PY = '/usr/bin/python3';
const hasTorch =
  existsSync(PY) &&
  spawnSync(PY, ['-c', 'import importlib.util, sys; sys.exit(importlib.util.find_spec("torch") is None)'], { encoding: 'utf8' }).status === 0;

const PY_RNN = `
import json, sys, torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
torch.set_num_threads(1)
T64 = lambda v: torch.tensor(v['data'], dtype=torch.float64).reshape(v['shape'])
res = []
for c in json.load(sys.stdin):
    kw = dict(num_layers=c['L'], bias=c['bias'], batch_first=c['batchFirst'], bidirectional=c['bidirectional'])
    if c['mode'] == 'LSTM': m = torch.nn.LSTM(c['I'], c['H'], proj_size=c['projSize'], **kw)
    elif c['mode'] == 'GRU': m = torch.nn.GRU(c['I'], c['H'], **kw)
    else: m = torch.nn.RNN(c['I'], c['H'], nonlinearity='tanh' if c['mode'] == 'RNN_TANH' else 'relu', **kw)
    m = m.double()
    m.load_state_dict({k: T64(v) for k, v in c['state'].items()})
    x = T64(c['x']).requires_grad_()
    h0 = T64(c['h0']).requires_grad_()
    c0 = T64(c['c0']).requires_grad_() if c['mode'] == 'LSTM' else None
    inp = x
    if c['lengths']:
        inp = pack_padded_sequence(x, torch.tensor(c['lengths']), batch_first=c['batchFirst'], enforce_sorted=False)
    out, hn = m(inp, (h0, c0) if c0 is not None else h0)
    if c['lengths']:
        out, _ = pad_packed_sequence(out, batch_first=c['batchFirst'], total_length=x.shape[1 if c['batchFirst'] else 0])
    cn = None
    if c0 is not None: hn, cn = hn
    loss = (out * T64(c['ro'])).sum() + (hn * T64(c['rh'])).sum()
    if cn is not None: loss = loss + (cn * T64(c['rc'])).sum()
    loss.backward()
    flat = lambda t: t.detach().flatten().tolist()
    res.append({'out': flat(out), 'hN': flat(hn), 'cN': flat(cn) if cn is not None else None, 'gx': flat(x.grad),
                'gh0': flat(h0.grad), 'gc0': flat(c0.grad) if c0 is not None else None,
                'grads': {k: flat(p.grad) for k, p in m.named_parameters()}})
print(json.dumps(res))
`;

describe.skipIf(!hasTorch)('against PyTorch (/usr/bin/python3 + torch)', () => {
  it('state dicts load into torch.nn modules and every output and gradient agrees', () => {
    tf.manualSeed(9);
    const cases: Cfg[] = [
      { ...base, L: 2, bidirectional: true, projSize: 4, lengths: [3, 5, 1] },
      { ...base, batchFirst: true, lengths: [2, 5, 4] },
      { ...base, mode: 'GRU', L: 2, bidirectional: true, batchFirst: true, lengths: [2, 5, 3] },
      { ...base, mode: 'RNN_RELU', L: 2, bias: false },
      { ...base, mode: 'RNN_TANH', bidirectional: true, lengths: [4, 1, 5] },
    ];
    const spec = (t: tf.Tensor) => ({ shape: t.shape, data: Array.from(t.dataSync() as Float64Array) });
    const f64 = { dtype: 'float64' as const };
    tf.tidy(() => {
      const runs = cases.map((c) => {
        const m = makeModule(c, 'float64');
        const D = c.bidirectional ? 2 : 1, P = c.projSize || c.H;
        const x = tf.randn(c.batchFirst ? [c.B, c.T, c.I] : [c.T, c.B, c.I], f64).requiresGrad_();
        const h0 = tf.randn([c.L * D, c.B, P], f64).requiresGrad_();
        const c0 = tf.randn([c.L * D, c.B, c.H], f64).requiresGrad_();
        const r = run(c, m, x, h0, c.mode === 'LSTM' ? c0 : null);
        const ro = tf.randn(r.out.shape, f64), rh = tf.randn(r.hN.shape, f64), rc = tf.randn([c.L * D, c.B, c.H], f64);
        let loss = r.out.mul(ro).sum().add(r.hN.mul(rh).sum());
        if (r.cN) loss = loss.add(r.cN.mul(rc).sum());
        loss.backward();
        const state = Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, spec(t)]));
        const job = { ...c, state, x: spec(x), h0: spec(h0), c0: spec(c0), ro: spec(ro), rh: spec(rh), rc: spec(rc) };
        return { m, x, h0, c0, r, job };
      });
      const py = spawnSync(PY, ['-c', PY_RNN], { input: JSON.stringify(runs.map((r) => r.job)), encoding: 'utf8' });
      expect(py.stderr).toBe('');
      const torchRes = JSON.parse(py.stdout) as Record<string, any>[];
      runs.forEach(({ m, x, h0, c0, r }, i) => {
        const t = torchRes[i];
        const close = (a: tf.Tensor, data: number[]) => expectClose(a, { shape: a.shape, data }, 1e-10);
        close(r.out, t.out);
        close(r.hN, t.hN);
        if (r.cN) close(r.cN, t.cN);
        close(x.grad!, t.gx);
        close(h0.grad!, t.gh0);
        if (r.cN) close(c0.grad!, t.gc0);
        expect(Object.keys(t.grads)).toEqual([...m.namedParameters()].map(([k]) => k));
        for (const [k, p] of m.namedParameters()) close(p.grad!, t.grads[k]);
      });
    });
  });
});
