// Optimizers against float64 JS references of PyTorch 1.13's update equations (torch/optim/*.py),
// plus param groups, zeroGrad, stateDict round trips, option checks, training a quadratic, and the
// gradient-clipping utilities.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import * as tf from '../lib';
import { meta, metaNum, native } from '../lib/native';
import { clipGradNorm_, clipGradValue_ } from '../lib/nn/utils';

type Opts = Record<string, unknown>;
type State = Record<string, number[] | number | undefined>;

// ---- float64 references, one element array at a time -----------------------------------------------

function refSGD(p: number[], grad: number[], s: State, o: Opts): void {
  const lr = o.lr as number, mom = (o.momentum as number) ?? 0, damp = (o.dampening as number) ?? 0;
  const wd = (o.weightDecay as number) ?? 0, nesterov = !!o.nesterov, maximize = !!o.maximize;
  const first = s.momentumBuffer === undefined;
  if (mom !== 0 && first) s.momentumBuffer = new Array(p.length).fill(0);
  const buf = s.momentumBuffer as number[];
  for (let i = 0; i < p.length; i++) {
    let d = maximize ? -grad[i] : grad[i];
    if (wd !== 0) d += wd * p[i];
    if (mom !== 0) {
      buf[i] = first ? d : mom * buf[i] + (1 - damp) * d;
      d = nesterov ? d + mom * buf[i] : buf[i];
    }
    p[i] -= lr * d;
  }
}

function refAdam(decoupled: boolean) {
  return (p: number[], grad: number[], s: State, o: Opts): void => {
    const lr = (o.lr as number) ?? 1e-3, [b1, b2] = (o.betas as number[]) ?? [0.9, 0.999], eps = (o.eps as number) ?? 1e-8;
    const wd = (o.weightDecay as number) ?? (decoupled ? 1e-2 : 0), ams = !!o.amsgrad, maximize = !!o.maximize;
    if (s.step === undefined) {
      s.step = 0;
      s.m = new Array(p.length).fill(0);
      s.v = new Array(p.length).fill(0);
      s.vmax = new Array(p.length).fill(0);
    }
    const t = (s.step as number) + 1;
    s.step = t;
    const m = s.m as number[], v = s.v as number[], vmax = s.vmax as number[];
    const bc1 = 1 - b1 ** t, bc2 = 1 - b2 ** t;
    for (let i = 0; i < p.length; i++) {
      let g = maximize ? -grad[i] : grad[i];
      if (decoupled) p[i] *= 1 - lr * wd;
      else if (wd !== 0) g += wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      let second = v[i];
      if (ams) second = vmax[i] = Math.max(vmax[i], v[i]);
      const denom = Math.sqrt(second) / Math.sqrt(bc2) + eps;
      p[i] -= (lr / bc1) * (m[i] / denom);
    }
  };
}

function refRMSprop(p: number[], grad: number[], s: State, o: Opts): void {
  const lr = (o.lr as number) ?? 1e-2, alpha = (o.alpha as number) ?? 0.99, eps = (o.eps as number) ?? 1e-8;
  const wd = (o.weightDecay as number) ?? 0, mom = (o.momentum as number) ?? 0, centered = !!o.centered, maximize = !!o.maximize;
  if (s.sq === undefined) {
    s.sq = new Array(p.length).fill(0);
    s.ga = new Array(p.length).fill(0);
    s.buf = new Array(p.length).fill(0);
  }
  const sq = s.sq as number[], ga = s.ga as number[], buf = s.buf as number[];
  for (let i = 0; i < p.length; i++) {
    let g = maximize ? -grad[i] : grad[i];
    if (wd !== 0) g += wd * p[i];
    sq[i] = alpha * sq[i] + (1 - alpha) * g * g;
    let avg: number;
    if (centered) {
      ga[i] = alpha * ga[i] + (1 - alpha) * g;
      avg = Math.sqrt(sq[i] - ga[i] * ga[i]) + eps;
    } else avg = Math.sqrt(sq[i]) + eps;
    if (mom > 0) {
      buf[i] = mom * buf[i] + g / avg;
      p[i] -= lr * buf[i];
    } else p[i] -= (lr * g) / avg;
  }
}

function refAdagrad(p: number[], grad: number[], s: State, o: Opts): void {
  const lr = (o.lr as number) ?? 1e-2, lrDecay = (o.lrDecay as number) ?? 0, wd = (o.weightDecay as number) ?? 0;
  const init = (o.initialAccumulatorValue as number) ?? 0, eps = (o.eps as number) ?? 1e-10, maximize = !!o.maximize;
  if (s.sum === undefined) {
    s.step = 0;
    s.sum = new Array(p.length).fill(init);
  }
  const t = (s.step as number) + 1;
  s.step = t;
  const sum = s.sum as number[];
  const clr = lr / (1 + (t - 1) * lrDecay);
  for (let i = 0; i < p.length; i++) {
    let g = maximize ? -grad[i] : grad[i];
    if (wd !== 0) g += wd * p[i];
    sum[i] += g * g;
    p[i] -= (clr * g) / (Math.sqrt(sum[i]) + eps);
  }
}

type Ref = (p: number[], g: number[], s: State, o: Opts) => void;
type Ctor = new (params: tf.optim.Params, o: Opts) => tf.optim.Optimizer;
const OPTIMIZERS: Record<string, [Ctor, Ref]> = {
  SGD: [tf.optim.SGD as unknown as Ctor, refSGD],
  Adam: [tf.optim.Adam as unknown as Ctor, refAdam(false)],
  AdamW: [tf.optim.AdamW as unknown as Ctor, refAdam(true)],
  RMSprop: [tf.optim.RMSprop as unknown as Ctor, refRMSprop],
  Adagrad: [tf.optim.Adagrad as unknown as Ctor, refAdagrad],
};

const CASES: [string, Opts][] = [
  ['SGD', { lr: 0.1 }],
  ['SGD', { lr: 0.05, momentum: 0.9 }],
  ['SGD', { lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 0.01 }],
  ['SGD', { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.1 }],
  ['SGD', { lr: 0.05, momentum: 0.9, maximize: true, weightDecay: 0.05 }],
  ['Adam', {}],
  ['Adam', { lr: 0.01, betas: [0.8, 0.95], weightDecay: 0.1 }],
  ['Adam', { lr: 0.01, amsgrad: true }],
  ['Adam', { lr: 0.02, amsgrad: true, maximize: true, weightDecay: 0.01, eps: 1e-3 }],
  ['AdamW', { lr: 0.01 }],
  ['AdamW', { lr: 0.01, weightDecay: 0.1, amsgrad: true, betas: [0.5, 0.9] }],
  ['AdamW', { lr: 0.01, maximize: true }],
  ['RMSprop', {}],
  ['RMSprop', { lr: 0.01, centered: true }],
  ['RMSprop', { lr: 0.01, momentum: 0.9 }],
  ['RMSprop', { lr: 0.01, centered: true, momentum: 0.5, weightDecay: 0.1, alpha: 0.9 }],
  ['RMSprop', { lr: 0.01, maximize: true, eps: 1e-4 }],
  ['Adagrad', {}],
  ['Adagrad', { lr: 0.1, lrDecay: 0.1, weightDecay: 0.05, initialAccumulatorValue: 0.1 }],
  ['Adagrad', { lr: 0.1, maximize: true, eps: 1e-6 }],
];

// Deterministic values in [-1, 1) (a small LCG), with a per-step scale so second moments also shrink
// (which is what makes AMSGrad's max differ from Adam).
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}
const SCALES = [1, 3, 0.2, 0.5, 2, 0.1];
const SHAPES = [[3, 5], [7], [2, 3, 1], [], [201, 180]]; // the last one is split across threads
const round = (dtype: tf.DType) => (x: number): number => (dtype === 'float32' ? Math.fround(x) : x);
const typed = (dtype: tf.DType, xs: number[]) => (dtype === 'float32' ? Float32Array.from(xs) : Float64Array.from(xs));
const numelOf = (s: number[]): number => s.reduce((a, b) => a * b, 1);

function expectAllClose(actual: ArrayLike<number>, expected: number[], rtol: number, atol: number, what: string): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0, at = -1;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) - rtol * Math.abs(expected[i]);
    if (!(err <= atol) && (err > worst || at < 0)) {
      worst = err;
      at = i;
    }
  }
  if (at >= 0) throw new Error(`${what}: element ${at} is ${actual[at]}, expected ${expected[at]}`);
}

function runCase(name: string, opts: Opts, dtype: tf.DType, steps = 6): void {
  const [Ctor, ref] = OPTIMIZERS[name];
  const rnd = lcg(7);
  const r = round(dtype);
  const params = SHAPES.map((shape) => tf.tensor(typed(dtype, Array.from({ length: numelOf(shape) }, rnd)), { shape }));
  const refP = params.map((p) => Array.from(p.dataSync() as ArrayLike<number>));
  const refS: State[] = params.map(() => ({}));
  const opt = new Ctor(params, opts);
  for (let step = 0; step < steps; step++) {
    params.forEach((p, i) => {
      const g = Array.from({ length: p.numel() }, () => r(rnd() * SCALES[step % SCALES.length]));
      p.grad = tf.tensor(typed(dtype, g), { shape: p.shape });
      ref(refP[i], g, refS[i], opts);
    });
    opt.step();
  }
  const [rtol, atol] = dtype === 'float32' ? [2e-5, 2e-6] : [1e-12, 1e-14];
  params.forEach((p, i) => expectAllClose(p.dataSync() as ArrayLike<number>, refP[i], rtol, atol, `${name} ${JSON.stringify(opts)} ${dtype} param ${i}`));
  tf.dispose(params.map((p) => p.grad));
  opt.dispose();
  tf.dispose(params);
}

describe('optimizers match the PyTorch equations', () => {
  for (const [name, opts] of CASES) {
    test(`${name} ${JSON.stringify(opts)}`, () => {
      runCase(name, opts, 'float64');
      runCase(name, opts, 'float32');
    });
  }
});

describe('Optimizer', () => {
  test('param groups with their own lr and options', () => {
    const a = tf.tensor([1, 2, 3], { dtype: 'float64' });
    const b = tf.tensor([[-1, 0.5]], { dtype: 'float64' });
    const opt = new tf.optim.SGD([{ params: [a] }, { params: b, lr: 0.01, momentum: 0 }], { lr: 0.1, momentum: 0.9 });
    expect(opt.paramGroups.map((g) => [g.lr, g.momentum])).toEqual([[0.1, 0.9], [0.01, 0]]);
    const ra = [1, 2, 3], rb = [-1, 0.5], sa: State = {}, sb: State = {};
    for (let step = 0; step < 3; step++) {
      const ga = [0.5 * step + 1, -2, 0.25], gb = [step - 1, 3];
      a.grad = tf.tensor(ga, { dtype: 'float64' });
      b.grad = tf.tensor([gb], { dtype: 'float64' });
      refSGD(ra, ga, sa, { lr: 0.1, momentum: 0.9 });
      refSGD(rb, gb, sb, { lr: 0.01, momentum: 0 });
      opt.step();
    }
    expectAllClose(a.dataSync(), ra, 1e-14, 0, 'group 0');
    expectAllClose(b.dataSync(), rb, 1e-14, 0, 'group 1');
    // Changing a group's lr between steps takes effect (what schedulers do).
    opt.paramGroups[1].lr = 0;
    const before = Array.from(b.dataSync());
    opt.step();
    expect(Array.from(b.dataSync())).toEqual(before);
  });

  test('parameters without a gradient are skipped; updates bump the version and record nothing', () => {
    const w = tf.tensor([1, 2], { requiresGrad: true });
    const frozen = tf.tensor([5, 6], { requiresGrad: true });
    const opt = new tf.optim.Adam([w, frozen], { lr: 0.1 });
    w.square().sum().backward();
    const version = w._storage.version;
    opt.step(); // grad mode on, params require grad: fine (unlike the in-place ops)
    expect(w._storage.version).toBeGreaterThan(version);
    expect(w.gradFn).toBeNull();
    expect(w.requiresGrad).toBe(true);
    expect(Array.from(frozen.dataSync())).toEqual([5, 6]);
    expect(opt.state.has(frozen)).toBe(false);
    expect(Object.keys(opt.stateDict().state)).toEqual(['0']);
    // A graph that saved w sees the in-place update.
    const y = w.mul(w).sum();
    w.grad = tf.tensor([1, 1]);
    opt.step();
    expect(() => y.backward()).toThrow();
  });

  test('strided parameters and gradients', () => {
    const base = tf.tensor(Float64Array.from([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
    const p = base.t(); // [3, 2] view, not contiguous
    const opt = new tf.optim.SGD([p], { lr: 0.5, momentum: 0.5 });
    const gBase = tf.tensor(Float64Array.from([1, -1, 2, -2, 3, -3]), { shape: [2, 3] });
    p.grad = gBase.t();
    opt.step();
    opt.step();
    // p[i][j] = base[j][i]; g[i][j] = gBase[j][i]; two steps with buf = g then 1.5 g: p -= 0.5 * 2.5 * g
    expect(Array.from(base.dataSync())).toEqual([1, 2, 3, 4, 5, 6].map((x, i) => x - 1.25 * [1, -1, 2, -2, 3, -3][i]));
  });

  test('zeroGrad', () => {
    const w = tf.tensor([1, 2], { requiresGrad: true });
    const opt = new tf.optim.SGD([w], { lr: 0.1 });
    w.square().sum().backward();
    const g = w.grad!;
    opt.zeroGrad({ setToNone: false });
    expect(w.grad).toBe(g);
    expect(Array.from(w.grad!.dataSync())).toEqual([0, 0]);
    opt.zeroGrad();
    expect(w.grad).toBeNull();
    expect(g.isDisposed).toBe(true);
    opt.step(); // nothing to do
    expect(Array.from(w.dataSync())).toEqual([1, 2]);
  });

  test('state survives tidy() and memory stays flat', () => {
    const w = tf.tensor([[1, -2, 3]], { requiresGrad: true });
    const opt = new tf.optim.RMSprop([w], { lr: 0.01, momentum: 0.9, centered: true });
    const step = () =>
      tf.tidy(() => {
        opt.zeroGrad();
        w.square().sum().backward();
        opt.step();
      });
    step();
    const live = tf.memory().tensors;
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().tensors).toBe(live);
    for (const v of Object.values(opt.state.get(w)!)) if (v instanceof tf.Tensor) expect(v.isDisposed).toBe(false);
  });

  test('stateDict layout and a round trip that continues identically', () => {
    for (const [name, opts] of [
      ['Adam', { lr: 0.01, amsgrad: true, weightDecay: 0.1 }],
      ['SGD', { lr: 0.1, momentum: 0.9, nesterov: true }],
      ['RMSprop', { lr: 0.01, momentum: 0.5, centered: true }],
      ['Adagrad', { lr: 0.1, lrDecay: 0.01 }],
    ] as [string, Opts][]) {
      const [Ctor] = OPTIMIZERS[name];
      const rnd = lcg(3);
      const make = () => [tf.tensor(Float32Array.from([0.5, -1, 2, 0.25, 1, -3]), { shape: [2, 3] }), tf.tensor([1.5, -0.5])];
      const p1 = make();
      const opt1 = new Ctor([{ params: [p1[0]] }, { params: [p1[1]], lr: 0.05 }], opts);
      const grads = Array.from({ length: 6 }, () => [Float32Array.from({ length: 6 }, rnd), Float32Array.from({ length: 2 }, rnd)]);
      const apply = (ps: tf.Tensor[], o: tf.optim.Optimizer, k: number) => {
        ps[0].grad = tf.tensor(grads[k][0], { shape: [2, 3] });
        ps[1].grad = tf.tensor(grads[k][1]);
        o.step();
      };
      for (let k = 0; k < 3; k++) apply(p1, opt1, k);
      const sd = opt1.stateDict();
      expect(sd.paramGroups.map((g) => g.params)).toEqual([[0], [1]]);
      expect(sd.paramGroups[1].lr).toBe(0.05);
      expect(Object.keys(sd.state).sort()).toEqual(['0', '1']);
      if (name !== 'SGD') expect(sd.state['0'].step).toBe(3);
      // A second optimizer with other options and the same parameter values picks up where opt1 is.
      const p2 = p1.map((p) => p.clone());
      const opt2 = new Ctor([{ params: [p2[0]] }, { params: [p2[1]] }], { lr: 123 });
      opt2.loadStateDict(sd);
      expect(opt2.paramGroups[1].lr).toBe(0.05);
      for (let k = 3; k < 6; k++) {
        apply(p1, opt1, k);
        apply(p2, opt2, k);
      }
      expect(Array.from(p2[0].dataSync())).toEqual(Array.from(p1[0].dataSync()));
      expect(Array.from(p2[1].dataSync())).toEqual(Array.from(p1[1].dataSync()));
      // The loaded state is a copy, not shared with opt1.
      const t1 = opt1.stateDict().state['0'], t2 = opt2.stateDict().state['0'];
      for (const k of Object.keys(t1)) if (t1[k] instanceof tf.Tensor) expect(t2[k]).not.toBe(t1[k]);
    }
  });

  test('stateDict goes through saveCheckpoint / loadCheckpoint', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tf-optim-'));
    try {
      const w = tf.tensor([1, 2, 3], { dtype: 'float64' });
      const opt = new tf.optim.Adam([w], { lr: 0.1, betas: [0.8, 0.9] });
      w.grad = tf.tensor([0.1, -0.2, 0.3], { dtype: 'float64' });
      opt.step();
      const file = join(dir, 'ckpt.safetensors');
      tf.saveCheckpoint(file, { model: { w }, optimizer: opt.stateDict() });
      const ck = tf.loadCheckpoint<tf.optim.OptimizerStateDict>(file);
      const w2 = ck.model.w;
      const opt2 = new tf.optim.Adam([w2]);
      opt2.loadStateDict(ck.optimizer!);
      expect(opt2.paramGroups[0].betas).toEqual([0.8, 0.9]);
      opt.step();
      w2.grad = w.grad;
      opt2.step();
      expect(Array.from(w2.dataSync())).toEqual(Array.from(w.dataSync()));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('loadStateDict rejects mismatched dicts with clear errors and changes nothing', () => {
    const w = tf.tensor([[1, 2, 3]]);
    const opt = new tf.optim.Adam([w], { lr: 0.1 });
    w.grad = tf.tensor([[1, 1, 1]]);
    opt.step();
    const good = opt.stateDict();
    const other = new tf.optim.Adam([tf.tensor([1, 2, 3]), tf.tensor([1])]);
    expect(() => other.loadStateDict(good)).toThrow(/has 1 parameters in the state dict but 2/);
    const two = new tf.optim.Adam([{ params: [tf.tensor([1])] }, { params: [tf.tensor([2])] }]);
    expect(() => two.loadStateDict(good)).toThrow(/1 parameter groups, the optimizer has 2/);
    const fresh = new tf.optim.Adam([tf.tensor([[0, 0, 0]])], { lr: 0.5 });
    const badShape = { ...good, state: { 0: { ...good.state['0'], expAvg: tf.zeros([3, 1]) } } };
    expect(() => fresh.loadStateDict(badShape)).toThrow(/expAvg has shape \[3, 1\], expected \[1, 3\]/);
    const missing = { ...good, state: { 0: { step: 1, expAvg: tf.zeros([1, 3]) } } };
    expect(() => fresh.loadStateDict(missing)).toThrow(/missing expAvgSq/);
    const extra = { ...good, state: { 0: { ...good.state['0'], momentumBuffer: tf.zeros([1, 3]) } } };
    expect(() => fresh.loadStateDict(extra)).toThrow(/unexpected entry "momentumBuffer"/);
    const badIndex = { ...good, state: { 5: good.state['0'] } };
    expect(() => fresh.loadStateDict(badIndex)).toThrow(/parameter "5", which no group lists/);
    const badOption = { ...good, paramGroups: [{ ...good.paramGroups[0], lr: -1 }] };
    expect(() => fresh.loadStateDict(badOption)).toThrow(/invalid learning rate/);
    expect(() => fresh.loadStateDict({} as tf.optim.OptimizerStateDict)).toThrow(/paramGroups/);
    expect(fresh.paramGroups[0].lr).toBe(0.5);
    expect(fresh.state.size).toBe(0);
  });

  test('bad options and parameters are rejected', () => {
    const w = tf.tensor([1, 2]);
    expect(() => new tf.optim.SGD([w], { lr: -0.1 })).toThrow(/SGD: invalid learning rate \(lr\): -0.1/);
    expect(() => new tf.optim.SGD([w])).toThrow(/required option "lr"/);
    expect(() => new tf.optim.SGD([w], { lr: 0.1, momentum: -1 })).toThrow(/invalid momentum/);
    expect(() => new tf.optim.SGD([w], { lr: 0.1, nesterov: true })).toThrow(/Nesterov momentum requires a momentum and zero dampening/);
    expect(() => new tf.optim.SGD([w], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true })).toThrow(/Nesterov/);
    expect(() => new tf.optim.Adam([w], { lr: -1 })).toThrow(/Adam: invalid learning rate/);
    expect(() => new tf.optim.Adam([w], { betas: [1, 0.999] })).toThrow(/invalid beta parameter at index 0: 1/);
    expect(() => new tf.optim.AdamW([w], { betas: [0.9, -0.1] })).toThrow(/AdamW: invalid beta parameter at index 1/);
    expect(() => new tf.optim.Adam([w], { eps: -1e-8 })).toThrow(/invalid epsilon/);
    expect(() => new tf.optim.Adam([w], { weightDecay: -1 })).toThrow(/invalid weightDecay/);
    expect(() => new tf.optim.Adam([w], { lr: NaN })).toThrow(/lr/);
    expect(() => new tf.optim.Adam([w], { weight_decay: 0.1 } as Opts)).toThrow(/unknown option "weight_decay" \(did you mean "weightDecay"\?\)/);
    expect(() => new tf.optim.RMSprop([w], { alpha: -0.5 })).toThrow(/invalid alpha/);
    expect(() => new tf.optim.RMSprop([w], { momentum: -0.5 })).toThrow(/invalid momentum/);
    expect(() => new tf.optim.Adagrad([w], { lrDecay: -1 })).toThrow(/invalid lrDecay/);
    expect(() => new tf.optim.Adagrad([w], { initialAccumulatorValue: -1 })).toThrow(/invalid initialAccumulatorValue/);
    expect(() => new tf.optim.Adam([w], { amsgrad: 1 as unknown as boolean })).toThrow(/amsgrad must be a boolean/);
    expect(() => new tf.optim.Adam([{ params: [w], lr: -2 }])).toThrow(/invalid learning rate/);
    expect(() => new tf.optim.Adam([])).toThrow(/empty parameter list/);
    expect(() => new tf.optim.Adam(w as unknown as tf.Tensor[])).toThrow(/iterable of Tensors/);
    expect(() => new tf.optim.Adam([tf.tensor([1, 2], { dtype: 'int32' })])).toThrow(/float32 or float64 tensors, got int32/);
    expect(() => new tf.optim.Adam([tf.zeros([2], { dtype: 'bfloat16', requiresGrad: true })])).toThrow(/got bfloat16 .*keep float32 parameters/);
    const leaf = tf.tensor([1], { requiresGrad: true });
    expect(() => new tf.optim.Adam([leaf.mul(2)])).toThrow(/non-leaf/);
    expect(() => new tf.optim.Adam([w, w])).toThrow(/twice/);
    expect(() => new tf.optim.Adam([{ params: [w] }, { params: [w] }])).toThrow(/more than one parameter group/);
    // A bad lr set later (say by hand) is caught at step().
    const opt = new tf.optim.Adam([w]);
    opt.paramGroups[0].lr = -1;
    w.grad = tf.tensor([1, 1]);
    expect(() => opt.step()).toThrow(/invalid learning rate/);
    w.grad = tf.tensor([1, 1, 1]);
    opt.paramGroups[0].lr = 0.1;
    expect(() => opt.step()).toThrow(/gradient shape \[3\] does not match parameter shape \[2\]/);
  });

  test('the native entry points validate their buffers', () => {
    const call = (fn: () => void, ...ts: tf.Tensor[]) => {
      meta();
      metaNum(0.1, 0.9, 0, 0, 0, 0, 1); // sgdStep: lr, momentum, dampening, weightDecay, nesterov, maximize, init
      for (const t of ts) t._meta();
      fn();
    };
    const p = tf.zeros([2, 3]), g = tf.zeros([2, 3]), buf = tf.zeros([2, 3]);
    expect(() => call(() => native.sgdStep(), p, tf.zeros([3, 2]), buf)).toThrow(/sgdStep: shapes \[2, 3\] and \[3, 2\] differ/);
    expect(() => call(() => native.sgdStep(), p, g, tf.zeros([2, 3], { dtype: 'float64' }))).toThrow(/expected float32, got float64/);
    expect(() => call(() => native.sgdStep(), p, tf.zeros([3, 2]).t(), buf)).toThrow(/contiguous/);
    expect(() => call(() => native.sgdStep(), p, g, p)).toThrow(/overlap/);
    const ints = [0, 1, 2].map(() => tf.zeros([2], { dtype: 'int32' }));
    expect(() => call(() => native.sgdStep(), ...ints)).toThrow(/floating-point/);
    call(() => native.sgdStep(), p, g, buf); // fine
  });

  test('step(closure) returns the loss', () => {
    const w = tf.tensor([3], { requiresGrad: true });
    const opt = new tf.optim.SGD([w], { lr: 0.25 });
    const loss = tf.noGrad(() =>
      opt.step(() => {
        opt.zeroGrad();
        const l = w.square().sum();
        l.backward();
        return l.item();
      }),
    );
    expect(loss).toBe(9);
    expect(w.item()).toBe(3 - 0.25 * 6);
  });

  test('every optimizer minimises a quadratic', () => {
    const target = tf.tensor([[1, -2, 3], [0.5, 4, -1]]);
    const scales = tf.tensor([[1, 2, 0.5], [3, 1, 0.25]]);
    const configs: [string, Opts, number][] = [
      ['SGD', { lr: 0.05, momentum: 0.9 }, 200],
      ['SGD', { lr: 0.05, momentum: 0.9, nesterov: true }, 200],
      ['Adam', { lr: 0.1 }, 400],
      ['AdamW', { lr: 0.1, weightDecay: 0 }, 400],
      ['Adam', { lr: 0.1, amsgrad: true }, 400],
      ['RMSprop', { lr: 0.01, momentum: 0.9, centered: true }, 400],
      ['Adagrad', { lr: 1 }, 400],
    ];
    for (const [name, opts, steps] of configs) {
      const [Ctor] = OPTIMIZERS[name];
      const w = tf.zeros([2, 3], { requiresGrad: true });
      const opt = new Ctor([w], opts);
      const lossOf = () => w.sub(target).square().mul(scales).sum();
      for (let i = 0; i < steps; i++) {
        tf.tidy(() => {
          opt.zeroGrad();
          lossOf().backward();
          opt.step();
        });
      }
      const loss = tf.tidy(() => tf.noGrad(() => lossOf().item()));
      expect(loss, `${name} ${JSON.stringify(opts)}`).toBeLessThan(1e-4);
      opt.zeroGrad();
      opt.dispose();
    }
  });
});

describe('gradient clipping', () => {
  const setup = () => {
    const a = tf.tensor(Float32Array.from([3, -4, 1, 0, 2, -2]), { shape: [2, 3] });
    const b = tf.tensor(Float64Array.from([1, -1, 5]));
    const c = tf.tensor([7, 7]); // no gradient
    a.grad = tf.tensor(Float32Array.from([0.5, -1.5, 2, 0, 1, -3]), { shape: [2, 3] });
    b.grad = tf.tensor(Float64Array.from([4, -2, 0.25]));
    return [a, b, c];
  };
  const all = [0.5, -1.5, 2, 0, 1, -3, 4, -2, 0.25];
  const pnorm = (xs: number[], p: number) =>
    p === Infinity ? Math.max(...xs.map(Math.abs)) : xs.reduce((s, x) => s + Math.abs(x) ** p, 0) ** (1 / p);

  for (const p of [2, 1, 3, Infinity]) {
    test(`clipGradNorm_ normType ${p}`, () => {
      const ps = setup();
      const expected = pnorm(all, p);
      const total = clipGradNorm_(ps, 1.5, { normType: p });
      expect(total.dtype).toBe('float64');
      expect(total.shape).toEqual([]);
      expect(total.item()).toBeCloseTo(expected, 5);
      const coef = 1.5 / (expected + 1e-6);
      const got = [...ps[0].grad!.dataSync(), ...ps[1].grad!.dataSync()];
      expectAllClose(got, all.map((x) => x * coef), 1e-6, 1e-7, 'clipped grads');
      expect(ps[2].grad).toBeNull();
      // Below the limit: unchanged.
      const qs = setup();
      expect(clipGradNorm_(qs, 1e6, { normType: p }).item()).toBeCloseTo(expected, 5);
      expect(Array.from(qs[1].grad!.dataSync())).toEqual([4, -2, 0.25]);
    });
  }

  test('clipGradNorm_ of one tensor, of no gradients', () => {
    const w = tf.tensor([3, 4]);
    w.grad = tf.tensor([3, 4]);
    expect(clipGradNorm_(w, 1).item()).toBeCloseTo(5, 6);
    expectAllClose(w.grad.dataSync(), [3 / (5 + 1e-6), 4 / (5 + 1e-6)], 1e-6, 0, 'one tensor');
    const none = clipGradNorm_([tf.tensor([1])], 1);
    expect(none.item()).toBe(0);
    expect(none.dtype).toBe('float32');
  });

  test('clipGradNorm_ with non-finite gradients', () => {
    const w = tf.tensor([1, 2, 3]);
    w.grad = tf.tensor([1, NaN, 2]);
    expect(() => clipGradNorm_([w], 1, { errorIfNonfinite: true })).toThrow(/non-finite/);
    expect(Array.from(w.grad.dataSync())).toEqual([1, NaN, 2]);
    expect(clipGradNorm_([w], 1).item()).toBeNaN();
    expect(Array.from(w.grad.dataSync()).every(Number.isNaN)).toBe(true);

    w.grad = tf.tensor([1, Infinity, -2]);
    expect(() => clipGradNorm_([w], 1, { normType: Infinity, errorIfNonfinite: true })).toThrow(/order Infinity/);
    expect(clipGradNorm_([w], 1).item()).toBe(Infinity);
    // Scaled by 1 / inf = 0: finite entries become 0, the infinite one NaN (as PyTorch).
    const g = Array.from(w.grad.dataSync());
    expect(g[0]).toBe(0);
    expect(g[1]).toBeNaN();
    expect(Math.abs(g[2])).toBe(0);
    expect(() => clipGradNorm_([w], 1, { normType: -2 })).toThrow(/normType/);
  });

  test('clipGradValue_', () => {
    const ps = setup();
    ps[0].grad!.dataSync();
    clipGradValue_(ps, 1);
    expect(Array.from(ps[0].grad!.dataSync())).toEqual([0.5, -1, 1, 0, 1, -1]);
    expect(Array.from(ps[1].grad!.dataSync())).toEqual([1, -1, 0.25]);
    expect(ps[2].grad).toBeNull();
    const w = tf.tensor([0]);
    w.grad = tf.tensor([NaN]);
    clipGradValue_(w, 1);
    expect(w.grad.item()).toBeNaN();
    expect(() => clipGradValue_(ps, NaN)).toThrow(/clipValue/);
  });
});
