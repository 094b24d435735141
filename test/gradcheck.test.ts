// Finite-difference gradient checks (float64) for every differentiable op, on small awkward shapes:
// odd/prime sizes, size-1 dims, broadcasting between inputs and non-contiguous inputs.
import { describe, expect, it } from 'vitest';
import * as tf from '../lib';
import { record } from '../lib/autograd';
import type { Tensor } from '../lib';

// Deterministic inputs from a small LCG, so values can be kept away from kinks.
let state = 12345;
function rnd(): number {
  state = (state * 1103515245 + 12345) % 2147483648;
  return state / 2147483648;
}
function numelOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
/** float64 leaf requiring grad with values from gen(). */
function leaf(shape: number[], gen: () => number): Tensor {
  const data = Float64Array.from({ length: numelOf(shape) }, gen);
  return tf.tensor(data, { shape, requiresGrad: true });
}
/** Uniform in [lo, hi). */
const U = (shape: number[], lo = -2, hi = 2): Tensor => leaf(shape, () => lo + (hi - lo) * rnd());
/** Magnitude in [lo, hi), random sign: away from 0. */
const away = (shape: number[], lo = 0.2, hi = 2): Tensor => leaf(shape, () => (rnd() < 0.5 ? -1 : 1) * (lo + (hi - lo) * rnd()));
/** Positive in [lo, hi). */
const pos = (shape: number[], lo = 0.3, hi = 2.5): Tensor => U(shape, lo, hi);
/** Distinct values (a random permutation of a spaced grid), so max/min/sort have no ties. */
function distinct(shape: number[]): Tensor {
  const n = numelOf(shape);
  const vals = Array.from({ length: n }, (_, i) => -1.5 + (3 * i) / n + 0.01 * rnd());
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [vals[i], vals[j]] = [vals[j], vals[i]];
  }
  return tf.tensor(Float64Array.from(vals), { shape, requiresGrad: true });
}

function check(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts?: tf.GradcheckOptions): void {
  tf.tidy(() => {
    expect(tf.gradcheck(fn, inputs, opts)).toBe(true);
  });
}

describe('gradcheck: unary ops', () => {
  const shapes: number[][] = [[3, 5], [2, 1, 3], [7], []];
  const smooth: [string, (x: Tensor) => Tensor][] = [
    ['neg', (x) => x.neg()],
    ['exp', (x) => x.exp()],
    ['expm1', (x) => tf.expm1(x)],
    ['square', (x) => x.square()],
    ['sin', (x) => x.sin()],
    ['cos', (x) => tf.cos(x)],
    ['tanh', (x) => x.tanh()],
    ['sigmoid', (x) => x.sigmoid()],
    ['gelu', (x) => x.gelu()],
    ['gelu tanh', (x) => tf.gelu(x, { approximate: 'tanh' })],
    ['silu', (x) => x.silu()],
    ['pow 3', (x) => x.pow(3)],
    ['pow 2', (x) => tf.pow(x, 2)],
  ];
  for (const [name, f] of smooth) {
    it(name, () => {
      for (const s of shapes) check(f, [U(s)]);
      // non-contiguous input made inside fn
      check((x) => f(x.t()), [U([3, 4])]);
      check((x) => f(x.slice(1, 0, null, 2)), [U([2, 5])]);
      check((x) => f(x.expand(3, 2, 4)), [U([2, 1])]);
    });
  }

  const positive: [string, (x: Tensor) => Tensor][] = [
    ['log', (x) => x.log()],
    ['sqrt', (x) => x.sqrt()],
    ['rsqrt', (x) => tf.rsqrt(x)],
    ['pow 2.5', (x) => x.pow(2.5)],
    ['pow -1.5', (x) => x.pow(-1.5)],
    ['pow 0.5', (x) => tf.pow(x, 0.5)],
  ];
  for (const [name, f] of positive) {
    it(`${name} (positive inputs)`, () => {
      for (const s of shapes) check(f, [pos(s)]);
      check((x) => f(x.t()), [pos([3, 4])]);
      check((x) => f(x.expand(2, 3, 5)), [pos([3, 1])]);
    });
  }

  it('log1p (inputs > -1)', () => {
    check((x) => x.log1p(), [U([3, 5], -0.6, 2)]);
    check((x) => tf.log1p(x.t()), [U([4, 3], -0.6, 2)]);
  });

  const kinked: [string, (x: Tensor) => Tensor][] = [
    ['abs', (x) => x.abs()],
    ['relu', (x) => x.relu()],
    ['leakyRelu default', (x) => x.leakyRelu()],
    ['leakyRelu 0.2', (x) => tf.leakyRelu(x, 0.2)],
    ['reciprocal', (x) => x.reciprocal()],
  ];
  for (const [name, f] of kinked) {
    it(`${name} (inputs away from 0)`, () => {
      for (const s of shapes) check(f, [away(s)]);
      check((x) => f(x.t()), [away([3, 4])]);
      check((x) => f(x.slice(0, 1, null, 2)), [away([5, 3])]);
    });
  }

  it('clamp (inputs away from the bounds)', () => {
    // values in {-2..2} avoiding +-0.05 around -0.5 and 0.7
    const x = leaf([4, 7], () => {
      for (;;) {
        const v = -2 + 4 * rnd();
        if (Math.abs(v + 0.5) > 0.05 && Math.abs(v - 0.7) > 0.05) return v;
      }
    });
    check((t) => t.clamp(-0.5, 0.7), [x]);
    check((t) => tf.clamp(t, -0.5), [x]);
    check((t) => tf.clamp(t, null, 0.7), [x]);
    check((t) => t.t().clamp(-0.5, 0.7), [x]);
  });

  it('float32 <-> float64 casts', () => {
    // cast to float32 and back: linear and quadratic functions, so a large eps is exact up to float32 rounding
    const opts = { eps: 1e-2, atol: 1e-3, rtol: 1e-3 };
    check((x) => x.to('float32').mul(3).to('float64'), [U([2, 3])], opts);
    check((x) => x.float().square().double(), [U([5])], opts);
    check((x) => x.t().float().double().mul(x.t()), [U([3, 2])], opts);
    // float64 -> float64 is the identity
    check((x) => x.to('float64').exp(), [U([3])]);
  });
});

describe('gradcheck: binary ops', () => {
  // shape pairs that broadcast in different ways
  const pairs: [number[], number[]][] = [
    [[3, 5], [3, 5]],
    [[2, 3, 1], [4]],
    [[1, 4], [3, 1]],
    [[5], [2, 1, 5]],
    [[], [2, 3]],
    [[3, 2], []],
  ];
  const ops: [string, (a: Tensor, b: Tensor) => Tensor][] = [
    ['add', (a, b) => a.add(b)],
    ['sub', (a, b) => tf.sub(a, b)],
    ['mul', (a, b) => a.mul(b)],
    ['add alpha', (a, b) => a.add(b, { alpha: -2.5 })],
    ['sub alpha', (a, b) => tf.sub(a, b, { alpha: 0.5 })],
    ['atan2', (a, b) => a.atan2(b)],
  ];
  for (const [name, f] of ops) {
    it(name, () => {
      for (const [sa, sb] of pairs) check(f, [U(sa), away(sb)]);
      // non-contiguous operands
      check((a, b) => f(a.t(), b.slice(0, 0, null, 2)), [U([4, 3]), away([5, 4])]);
      // only one input requires grad
      check((a, b) => f(a, b), [U([3, 2]), away([2]).requiresGrad_(false)]);
    });
  }
  it('div', () => {
    for (const [sa, sb] of pairs) check((a, b) => a.div(b), [U(sa), away(sb, 0.5, 2)]);
    check((a, b) => tf.div(a.t(), b.expand(4, 3)), [U([3, 4]), away([3], 0.5, 2)]);
  });
  it('pow with a tensor exponent (positive base)', () => {
    for (const [sa, sb] of pairs) check((a, b) => a.pow(b), [pos(sa, 0.5, 2), U(sb, -1.5, 1.5)]);
    check((a, b) => tf.pow(a.t(), b), [pos([3, 2], 0.5, 2), U([3], -1.5, 1.5)]);
    // number base, tensor exponent
    check((b) => tf.pow(2.5, b), [U([2, 3])]);
  });
  it('maximum / minimum (no ties)', () => {
    for (const [sa, sb] of pairs) {
      // resample until no pair of broadcast elements is within 1e-3 (a tie is a kink)
      let a = U(sa), b = U(sb);
      while (tf.noGrad(() => a.sub(b).abs().min().item()) < 1e-3) {
        a = U(sa);
        b = U(sb);
      }
      check((x, y) => x.maximum(y), [a, b]);
      check((x, y) => tf.minimum(x, y), [a, b]);
    }
    check((x, y) => x.t().maximum(y.expand(3, 4)), [distinct([4, 3]), distinct([4]).add(0.003).detach().requiresGrad_()]);
  });
  it('remainder (away from the jumps)', () => {
    // a = b * (k + f) with f in [0.2, 0.8]: a / b is never near an integer
    const bv = [1.3, -1.7, 0.9];
    const b = tf.tensor(Float64Array.from(bv), { requiresGrad: true });
    const a = leaf([2, 3], (() => {
      let i = 0;
      return () => bv[i++ % 3] * (Math.floor(rnd() * 5) - 2 + 0.2 + 0.6 * rnd());
    })());
    check((x, y) => x.remainder(y), [a, b]);
    check((x, y) => tf.remainder(x.t(), y.unsqueeze(1)), [a, b]);
    // number dividend
    check((y) => tf.remainder(5.5, y), [tf.tensor(Float64Array.from([1.3, -1.7, 2.1]), { requiresGrad: true })]);
    // number divisor
    check((x) => x.remainder(1.3), [leaf([5], () => 1.3 * (Math.floor(rnd() * 5) - 2 + 0.2 + 0.6 * rnd()))]);
  });
  it('number operands on either side', () => {
    const x = away([2, 3], 0.5, 2);
    check((t) => t.add(2.5), [x]);
    check((t) => tf.add(2.5, t), [x]);
    check((t) => t.sub(1.5), [x]);
    check((t) => tf.sub(1.5, t), [x]);
    check((t) => tf.sub(1.5, t, { alpha: 3 }), [x]);
    check((t) => t.mul(-0.7), [x]);
    check((t) => tf.mul(-0.7, t), [x]);
    check((t) => t.div(3), [x]);
    check((t) => tf.div(3, t), [x]);
    check((t) => tf.atan2(t, 0.7), [x]);
    check((t) => tf.atan2(0.7, t), [x]);
    check((t) => t.maximum(0.1), [x]);
    check((t) => t.minimum(0.1), [x]);
  });
  it('where with broadcasting', () => {
    const cond = tf.tensor([[true], [false], [true]]);
    check((a, b) => tf.where(cond, a, b), [U([3, 4]), U([4])]);
    check((a, b) => a.where(cond, b), [U([1, 4]), U([3, 1])]);
    check((a) => tf.where(cond, a, 0), [U([3, 4])]);
    check((b) => tf.where(cond, 1.5, b), [U([4])]);
    const c2 = tf.tensor([true, false, false, true, true]);
    check((a, b) => tf.where(c2, a.t(), b), [U([5, 2]), U([2, 1])]);
  });
});

describe('gradcheck: reductions', () => {
  const shape = [3, 4, 2];
  const dimsList: (number | number[] | undefined)[] = [0, 1, -1, [0, 2], [1, 2], [0, 1, 2], undefined];
  const reductions: [string, (x: Tensor, dim: number | number[] | undefined, keepdim: boolean) => Tensor, () => Tensor][] = [
    ['sum', (x, d, k) => x.sum(d, { keepdim: k }), () => U(shape)],
    ['mean', (x, d, k) => x.mean(d, { keepdim: k }), () => U(shape)],
    ['prod', (x, d, k) => x.prod(d, { keepdim: k }), () => away(shape, 0.5, 1.5)],
    ['max', (x, d, k) => x.max(d, { keepdim: k }), () => distinct(shape)],
    ['min', (x, d, k) => tf.min(x, d, { keepdim: k }), () => distinct(shape)],
    ['amax', (x, d, k) => tf.amax(x, d, { keepdim: k }), () => distinct(shape)],
    ['var', (x, d, k) => x.var(d, { keepdim: k }), () => U(shape)],
    ['var correction 0', (x, d, k) => tf.var(x, d, { keepdim: k, correction: 0 }), () => U(shape)],
    ['std', (x, d, k) => x.std(d, { keepdim: k }), () => U(shape)],
    ['std unbiased false', (x, d, k) => tf.std(x, d, { keepdim: k, unbiased: false }), () => U(shape)],
    ['logsumexp', (x, d, k) => x.logsumexp(d === undefined ? [0, 1, 2] : d, { keepdim: k }), () => U(shape)],
  ];
  for (const [name, f, make] of reductions) {
    it(name, () => {
      const x = make();
      for (const d of dimsList) {
        for (const k of [false, true]) check((t) => f(t, d, k), [x]);
      }
      // non-contiguous input and a size-1 dim
      check((t) => f(t.permute(2, 0, 1), 1, false), [x]);
      check((t) => f(t.unsqueeze(1), [1, 2], true), [x]);
    });
  }
  it('prod with zeros (prod is multilinear, so smooth at 0)', () => {
    const oneZero = tf.tensor(Float64Array.from([0.5, 0, -1.2, 1.5, 0.8, -0.7]), { shape: [2, 3], requiresGrad: true });
    const twoZeros = tf.tensor(Float64Array.from([0.5, 0, 0, 1.5, 0.8, -0.7]), { shape: [2, 3], requiresGrad: true });
    for (const x of [oneZero, twoZeros]) {
      check((t) => t.prod(), [x]);
      check((t) => t.prod(1), [x]);
      check((t) => t.prod(0, { keepdim: true }), [x]);
      check((t) => t.t().prod(0), [x]);
    }
  });
  it('reductions over a size-1 dim and of a 0-d tensor', () => {
    check((t) => t.sum(1), [U([3, 1, 2])]);
    check((t) => t.mean([1, 2], { keepdim: true }), [U([3, 1, 2])]);
    check((t) => t.prod(1), [away([3, 1, 2], 0.5, 1.5)]);
    check((t) => t.max(1), [distinct([3, 1, 2])]);
    check((t) => t.sum(), [U([])]);
    check((t) => t.mean(), [U([])]);
    check((t) => t.logsumexp(1), [U([3, 1])]);
  });
});

describe('gradcheck: softmax / logSoftmax', () => {
  for (const [name, f] of [
    ['softmax', (x: Tensor, d: number) => x.softmax(d)],
    ['logSoftmax', (x: Tensor, d: number) => tf.logSoftmax(x, d)],
  ] as const) {
    it(name, () => {
      const x = U([2, 3, 4]);
      for (const d of [0, 1, 2, -1]) check((t) => f(t, d), [x]);
      check((t) => f(t.transpose(0, 2), 1), [x]);
      check((t) => f(t.slice(2, 0, null, 3), -1), [x]);
      check((t) => f(t, 0), [U([7])]);
      check((t) => f(t, 1), [U([3, 1])]);
    });
  }
});

describe('gradcheck: matmul', () => {
  const cases: [string, number[], number[]][] = [
    ['1-D @ 1-D', [5], [5]],
    ['2-D @ 1-D', [3, 5], [5]],
    ['1-D @ 2-D', [5], [5, 2]],
    ['2-D @ 2-D', [3, 5], [5, 2]],
    ['1-D @ 3-D', [4], [2, 4, 3]],
    ['3-D @ 1-D', [2, 3, 4], [4]],
    ['3-D @ 2-D', [2, 3, 4], [4, 2]],
    ['2-D @ 3-D', [3, 4], [2, 4, 2]],
    ['broadcast batch dims', [2, 1, 2, 3], [3, 3, 2]],
    ['size-1 inner dim', [3, 1], [1, 4]],
  ];
  for (const [name, sa, sb] of cases) {
    it(name, () => {
      check((a, b) => a.matmul(b), [U(sa), U(sb)]);
      check((a, b) => tf.matmul(a, b), [U(sa), U(sb).requiresGrad_(false)]);
      check((a, b) => tf.matmul(a, b), [U(sa).requiresGrad_(false), U(sb)]);
    });
  }
  it('transposed and strided operands, mm, bmm', () => {
    check((a, b) => a.mT().matmul(b.t()), [U([5, 3]), U([2, 5])]);
    check((a, b) => tf.mm(a.slice(1, 0, null, 2), b), [U([3, 5]), U([3, 2])]);
    check((a, b) => tf.bmm(a, b.mT()), [U([2, 3, 4]), U([2, 2, 4])]);
    check((a, b) => a.matmul(b.expand(2, 4, 3)), [U([2, 3, 4]), U([4, 3])]);
  });
});

describe('gradcheck: views', () => {
  const views: [string, (x: Tensor) => Tensor, number[]][] = [
    ['reshape', (x) => x.reshape(2, 3, 5), [3, 10]],
    ['reshape -1 after transpose (copies)', (x) => x.t().reshape(-1), [3, 5]],
    ['view', (x) => x.view([5, 3]), [3, 5]],
    ['transpose', (x) => x.transpose(0, 2), [2, 3, 4]],
    ['permute', (x) => x.permute([2, 0, 1]), [2, 3, 4]],
    ['slice with step', (x) => x.slice(1, 1, null, 2), [3, 7]],
    ['slice negative bounds', (x) => x.slice(0, -4, -1, 2), [7, 3]],
    ['narrow', (x) => x.narrow(1, 2, 3), [3, 7]],
    ['select', (x) => x.select(1, -2), [3, 5, 2]],
    ['select 0', (x) => tf.select(x, 0, 1), [3, 5]],
    ['expand', (x) => x.expand(2, 3, 5), [3, 1]],
    ['expand new dims only', (x) => x.expand([4, 3]), [3]],
    ['broadcastTo', (x) => tf.broadcastTo(x, [2, 3, 4]), [1, 4]],
    ['squeeze all', (x) => x.squeeze(), [3, 1, 5, 1]],
    ['squeeze dim', (x) => x.squeeze(1), [3, 1, 5]],
    ['unsqueeze', (x) => x.unsqueeze(-1), [3, 5]],
    ['unsqueeze 0', (x) => tf.unsqueeze(x, 0), [3, 5]],
    ['flatten', (x) => x.flatten(), [2, 3, 4]],
    ['flatten 1..2', (x) => x.flatten(1, 2), [2, 3, 2, 2]],
    ['unflatten', (x) => x.unflatten(1, [2, 3]), [3, 6]],
    ['contiguous', (x) => x.t().contiguous(), [3, 5]],
    ['clone', (x) => x.clone(), [3, 5]],
    ['t', (x) => x.t(), [3, 5]],
    ['mT', (x) => x.mT(), [2, 3, 4]],
  ];
  for (const [name, f, shape] of views) {
    it(name, () => {
      check(f, [U(shape)]);
      // the same view followed by an elementwise op (non-contiguous into a kernel)
      check((x) => f(x).mul(f(x)), [U(shape)]);
    });
  }
  it('chains of views', () => {
    check((x) => x.t().slice(0, 1, null, 2).unsqueeze(0).expand(3, 2, 3).sum(0), [U([3, 5])]);
    check((x) => x.permute(1, 0, 2).select(2, 1).reshape(-1).narrow(0, 1, 4), [U([2, 3, 2])]);
    check((x) => x.expand(2, 3).t().reshape(6).exp(), [U([3])]);
  });
});

describe('gradcheck: join and split', () => {
  it('cat', () => {
    check((a, b, c) => tf.cat([a, b, c], 1), [U([2, 3]), U([2, 1]), U([2, 4])]);
    check((a, b) => tf.cat([a.t(), b], 0), [U([3, 2]), U([5, 3])]);
    check((a, b) => tf.cat([a, b]), [U([3]), U([0]).requiresGrad_(false)]);
    check((a, b) => tf.cat([a, a.mul(b)], -1), [U([2, 2]), U([2, 2])]);
  });
  it('stack', () => {
    check((a, b) => tf.stack([a, b]), [U([2, 3]), U([2, 3])]);
    check((a, b) => tf.stack([a, b.t(), a], -1), [U([2, 3]), U([3, 2])]);
    check((a, b) => tf.stack([a, b], 1), [U([5]), U([5])]);
  });
  it('split', () => {
    check((x) => {
      const [p, q, r] = x.split([1, 3, 1], 1);
      return tf.cat([r.mul(2), p, q.exp()], 1);
    }, [U([2, 5])]);
    check((x) => {
      const parts = tf.split(x, 2, 0); // sizes 2, 2, 1
      expect(parts.map((p) => p.shape[0])).toEqual([2, 2, 1]);
      return parts[0].sum(0).mul(parts[2].squeeze(0)).add(parts[1].prod(0));
    }, [away([5, 3], 0.5, 1.5)]);
  });
  it('chunk and unbind', () => {
    check((x) => {
      const parts = x.chunk(3, 1); // 7 -> 3, 3, 1
      expect(parts.map((p) => p.shape[1])).toEqual([3, 3, 1]);
      return parts[0].mul(parts[1]).sum(1).add(parts[2].squeeze(1).square());
    }, [U([2, 7])]);
    check((x) => {
      const [a, b, c] = x.unbind(1);
      return a.mul(b).sub(c);
    }, [U([4, 3])]);
  });
});

describe('gradcheck: gather / scatter', () => {
  it('gather', () => {
    const index = tf.tensor(Int32Array.from([0, 3, 3, 1, 2, 0]), { shape: [3, 2] });
    check((x) => x.gather(1, index), [U([3, 4])]);
    const idx0 = tf.tensor(Int32Array.from([2, 0, 1, 1, 2]), { shape: [1, 5] });
    check((x) => tf.gather(x, 0, idx0), [U([3, 5])]);
    check((x) => x.t().gather(1, index), [U([4, 3])]);
  });
  it('indexSelect (repeated indices)', () => {
    const index = tf.tensor(Int32Array.from([2, 0, 2, 1]));
    check((x) => x.indexSelect(0, index), [U([3, 5])]);
    check((x) => tf.indexSelect(x, 1, index), [U([2, 3])]);
    check((x) => x.t().indexSelect(-1, index), [U([5, 3])]);
  });
  it('scatterAdd (grad w.r.t. input and src)', () => {
    const index = tf.tensor(Int32Array.from([0, 3, 3, 1, 2, 0]), { shape: [3, 2] });
    check((x, src) => x.scatterAdd(1, index, src), [U([3, 4]), U([3, 2])]);
    // src larger than index: only the covered part gets gradient
    check((x, src) => tf.scatterAdd(x, 1, index, src), [U([3, 4]), U([3, 5])]);
    check((x, src) => x.scatterAdd(1, index, src.t()), [U([3, 4]), U([2, 3])]);
    check((x, src) => x.scatterAdd(1, index, src), [U([3, 4]).requiresGrad_(false), U([3, 2])]);
  });
  it('indexAdd (grad w.r.t. input and source)', () => {
    const index = tf.tensor(Int32Array.from([2, 0, 2]));
    check((x, s) => x.indexAdd(0, index, s), [U([4, 3]), U([3, 3])]);
    check((x, s) => tf.indexAdd(x, 1, index, s, { alpha: -1.5 }), [U([2, 5]), U([2, 3])]);
    check((x, s) => x.t().indexAdd(0, index, s), [U([3, 4]), U([3, 3])]);
    check((x, s) => x.indexAdd(0, index, s), [U([4, 3]).requiresGrad_(false), U([3, 3])]);
  });
});

describe('gradcheck: non-contiguous incoming gradients', () => {
  // A transpose after the op makes the gradient reaching the op's backward non-contiguous.
  it('unary, binary, where', () => {
    for (const f of [(x: Tensor) => x.exp(), (x: Tensor) => x.tanh(), (x: Tensor) => x.gelu(), (x: Tensor) => x.pow(3), (x: Tensor) => x.abs()]) {
      check((x) => f(x).t(), [away([3, 4])]);
    }
    check((a, b) => a.mul(b).t(), [U([3, 4]), U([4])]);
    check((a, b) => a.div(b).t(), [U([3, 4]), away([3, 1])]);
    check((a, b) => a.atan2(b).t(), [U([3, 4]), away([3, 4])]);
    check((a, b) => tf.where(tf.tensor([true, false, true, false]), a, b).t(), [U([3, 4]), U([3, 1])]);
  });
  it('reductions, softmax, matmul', () => {
    check((x) => x.sum(2).t(), [U([3, 4, 2])]);
    check((x) => x.prod(2).t(), [away([3, 4, 2], 0.5, 1.5)]);
    check((x) => x.var(0).t(), [U([3, 4, 2])]);
    check((x) => x.logsumexp(2).t(), [U([3, 4, 2])]);
    check((x) => x.softmax(1).t(), [U([3, 4])]);
    check((x) => x.logSoftmax(0).t(), [U([3, 4])]);
    check((a, b) => a.matmul(b).t(), [U([3, 5]), U([5, 2])]);
    check((a, b) => a.matmul(b).mT(), [U([2, 3, 4]), U([4, 2])]);
  });
  it('views, joins, indexing', () => {
    check((x) => x.reshape(4, 3).t(), [U([3, 4])]);
    check((x) => x.slice(1, 0, null, 2).t(), [U([3, 5])]);
    check((x) => x.select(0, 1).unsqueeze(1).expand(4, 2).t(), [U([3, 4])]);
    check((a, b) => tf.cat([a, b], 1).t(), [U([2, 3]), U([2, 2])]);
    check((a, b) => tf.stack([a, b], 0).permute(2, 0, 1), [U([2, 3]), U([2, 3])]);
    const index = tf.tensor(Int32Array.from([0, 3, 3, 1, 2, 0]), { shape: [3, 2] });
    check((x) => x.gather(1, index).t(), [U([3, 4])]);
    check((x, src) => x.scatterAdd(1, index, src).t(), [U([3, 4]), U([3, 2])]);
    const idx = tf.tensor(Int32Array.from([2, 0, 2]));
    check((x) => x.indexSelect(0, idx).t(), [U([3, 4])]);
    check((x, s) => x.indexAdd(0, idx, s).t(), [U([4, 3]), U([3, 3])]);
    check((x) => x.to('float32').to('float64').t(), [U([2, 3])], { eps: 1e-2, atol: 1e-3 });
  });
});

describe('gradcheck itself', () => {
  it('detects a wrong backward', () => {
    const bad = (x: Tensor): Tensor => {
      const out = tf.noGrad(() => x.mul(2));
      return record(out, 'BadBackward', [x], (g) => [g.mul(3)]);
    };
    expect(() => tf.gradcheck(bad, [U([2, 3])])).toThrow(/gradient mismatch/);
    // one wrong Jacobian entry among many is caught too
    const oneOff = (x: Tensor): Tensor => {
      const out = tf.noGrad(() => x.mul(2));
      return record(out, 'OneOffBackward', [x], (g) => {
        const r = g.mul(2);
        const d = r.dataSync() as Float64Array;
        d[4] += 0.5;
        return [tf.tensor(d, { shape: r.shape })];
      });
    };
    expect(() => tf.gradcheck(oneOff, [U([3, 3])])).toThrow(/element 4/);
    // a missing gradient (no graph recorded) is caught
    const detached = (x: Tensor): Tensor => x.detach().mul(2);
    expect(() => tf.gradcheck(detached, [U([3])])).toThrow(/gradient mismatch/);
  });
  it('accepts a correct custom backward', () => {
    const good = (x: Tensor): Tensor => {
      const out = tf.noGrad(() => x.mul(2));
      return record(out, 'GoodBackward', [x], (g) => [g.mul(2)]);
    };
    expect(tf.gradcheck(good, [U([2, 3])])).toBe(true);
  });
  it('checks each input independently', () => {
    const badSecond = (a: Tensor, b: Tensor): Tensor => {
      const out = tf.noGrad(() => a.mul(b));
      return record(out, 'BadMul', [a, b], (g) => [g.mul(b), g.mul(b)]);
    };
    expect(() => tf.gradcheck(badSecond, [U([3]), U([3])])).toThrow(/input 1/);
  });
  it('rejects non-float64 inputs and inputs that do not require grad', () => {
    expect(() => tf.gradcheck((x) => x.exp(), [tf.ones([2], { requiresGrad: true })])).toThrow(/float64/);
    expect(() => tf.gradcheck((x) => x.exp(), [tf.ones([2], { dtype: 'float64' })])).toThrow(/require/);
  });
  it("leaves the caller's tensors untouched and frees its temporaries", () => {
    const x = U([2, 3]);
    const before = x.dataSync().slice();
    const mem = tf.memory();
    tf.gradcheck((t) => t.exp().sum(1), [x]);
    expect(x.grad).toBeNull();
    expect(x.dataSync()).toEqual(before);
    expect(tf.memory().tensors).toBe(mem.tensors);
    expect(tf.memory().bytes).toBe(mem.bytes);
  });
});
