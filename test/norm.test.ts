// The fused layer / batch / group normalisation kernels against a composition of plain ops (the
// reference: mean, biased variance, rsqrt), at awkward sizes, on every CPU level; gradcheck of
// every input combination, running statistics, and bad arguments.
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '../lib';
import { expectClose, expectThrows } from './helpers';

const F = tf.nn.functional;
const f64 = { dtype: 'float64' as const };
const levels = tf.cpuKernelLevels();
const initial = tf.cpuKernelLevel();
afterAll(() => tf.setCpuKernelLevel(initial));

function normRef(x: tf.Tensor, dims: number[], eps: number): tf.Tensor {
  const mean = x.mean(dims, { keepdim: true });
  const v = x.var(dims, { correction: 0, keepdim: true });
  return x.sub(mean).mul(v.add(eps).rsqrt());
}

describe('layerNorm', () => {
  it('matches the reference: multi-dim shapes, affine or not, non-contiguous, every level and dtype', () => {
    tf.manualSeed(31);
    for (const level of levels) {
      tf.setCpuKernelLevel(level);
      for (const dtype of ['float32', 'float64'] as const) {
        const tol = dtype === 'float64' ? 1e-10 : 2e-5;
        tf.tidy(() => {
          const x = tf.randn([3, 5, 7], { dtype }).mul(3).add(1);
          const w = tf.randn([5, 7], { dtype }), b = tf.randn([5, 7], { dtype });
          expectClose(F.layerNorm(x, [5, 7], { weight: w, bias: b }), normRef(x, [1, 2], 1e-5).mul(w).add(b), tol);
          expectClose(F.layerNorm(x, [7], { eps: 0.1 }), normRef(x, [2], 0.1), tol);
          expectClose(F.layerNorm(x, [7], { weight: w.select(0, 1) }), normRef(x, [2], 1e-5).mul(w.select(0, 1)), tol);
          expectClose(F.layerNorm(x, [7], { bias: b.select(0, 2) }), normRef(x, [2], 1e-5).add(b.select(0, 2)), tol);
          const xt = x.transpose(0, 2); // [7, 5, 3], not contiguous
          expect(xt.isContiguous()).toBe(false);
          expectClose(F.layerNorm(xt, [3]), normRef(xt, [2], 1e-5), tol);
          expect(F.layerNorm(tf.zeros([0, 4], { dtype }), [4]).shape).toEqual([0, 4]);
        });
      }
    }
    tf.setCpuKernelLevel(initial);
  });

  it('gradcheck: input, weight and bias, with and without affine, odd sizes', () => {
    tf.manualSeed(32);
    const gc = (fn: (...a: tf.Tensor[]) => tf.Tensor, ...inputs: tf.Tensor[]) =>
      expect(tf.gradcheck(fn, inputs.map((i) => i.requiresGrad_()))).toBe(true);
    gc((a, w, b) => F.layerNorm(a, [3, 5], { weight: w, bias: b }), tf.randn([2, 3, 5], f64), tf.randn([3, 5], f64), tf.randn([3, 5], f64));
    gc((a) => F.layerNorm(a, [7]), tf.randn([3, 7], f64));
    const x43 = tf.randn([4, 3], f64);
    gc((w) => F.layerNorm(x43, [3], { weight: w }), tf.randn([3], f64));
    gc((a, b) => F.layerNorm(a.transpose(0, 1), [2], { bias: b }), tf.randn([2, 5], f64), tf.randn([2], f64));
  });

  it('rejects weights of the wrong shape or dtype, and integer inputs', () => {
    const x = tf.randn([2, 4]);
    expectThrows(() => F.layerNorm(x, [4], { weight: tf.ones([3]) }), 'layerNorm', 'weight', '[3]', '[4]');
    expectThrows(() => F.layerNorm(x, [4], { bias: tf.ones([4], f64) }), 'layerNorm', 'bias', 'float64', 'float32');
    expectThrows(() => F.layerNorm(tf.zeros([2, 4], { dtype: 'int32' }), [4]), 'layerNorm', 'int32');
    expectThrows(() => F.layerNorm(x, [3]), 'layerNorm', '[2, 4]', '[3]');
  });
});

describe('batchNorm', () => {
  it('training: batch statistics, running statistics moved with the unbiased variance; eval: running ones', () => {
    tf.manualSeed(33);
    for (const level of levels) {
      tf.setCpuKernelLevel(level);
      tf.tidy(() => {
        for (const shape of [[5, 3, 4, 3], [7, 2], [2, 3, 5]]) {
          const x = tf.randn(shape, f64).mul(2).add(0.5);
          const c = shape[1];
          const dims = [0, ...shape.slice(2).map((_, i) => i + 2)];
          const bshape = shape.map((s, i) => (i === 1 ? s : 1));
          const w = tf.randn([c], f64), b = tf.randn([c], f64);
          const rm = tf.randn([c], f64), rv = tf.rand([c], f64).add(0.5);
          const rm0 = rm.clone(), rv0 = rv.clone();
          const y = F.batchNorm(x, rm, rv, { weight: w, bias: b, training: true, momentum: 0.3 });
          expectClose(y, normRef(x, dims, 1e-5).mul(w.reshape(bshape)).add(b.reshape(bshape)), 1e-10);
          const count = x.numel() / c;
          const batchMean = x.mean(dims), batchVar = x.var(dims, { correction: 0 });
          expectClose(rm, rm0.mul(0.7).add(batchMean.mul(0.3)), 1e-12);
          expectClose(rv, rv0.mul(0.7).add(batchVar.mul((0.3 * count) / (count - 1))), 1e-12);
          const ye = F.batchNorm(x, rm, rv, { weight: w, training: false, eps: 0.01 });
          expectClose(ye, x.sub(rm.reshape(bshape)).div(rv.reshape(bshape).add(0.01).sqrt()).mul(w.reshape(bshape)), 1e-12);
        }
      });
    }
    tf.setCpuKernelLevel(initial);
  });

  it('non-contiguous input and running statistics (updated in place all the same), float32', () => {
    tf.manualSeed(34);
    tf.tidy(() => {
      const x = tf.randn([3, 4, 6]).permute([2, 0, 1]); // [6, 3, 4], a permuted view
      expect(x.isContiguous()).toBe(false);
      const store = tf.zeros([3, 2]), rm = store.select(1, 0), rv = store.select(1, 1).add_(1);
      expect(rm.isContiguous()).toBe(false);
      const y = F.batchNorm(x, rm, rv, { training: true });
      expectClose(y, normRef(x, [0, 2], 1e-5), 2e-5);
      expectClose(rm, x.mean([0, 2]).mul(0.1), 1e-6);
      expect(store.select(1, 0).sum().item()).not.toBe(0);
    });
  });

  it('gradcheck: training (with and without affine, 2-D and 4-D) and eval', () => {
    tf.manualSeed(35);
    const gc = (fn: (...a: tf.Tensor[]) => tf.Tensor, ...inputs: tf.Tensor[]) =>
      expect(tf.gradcheck(fn, inputs.map((i) => i.requiresGrad_()))).toBe(true);
    gc((a, w, b) => F.batchNorm(a, null, null, { weight: w, bias: b, training: true }), tf.randn([3, 2, 3, 2], f64), tf.randn([2], f64), tf.randn([2], f64));
    gc((a) => F.batchNorm(a, null, null, { training: true }), tf.randn([5, 3], f64));
    const rm = tf.randn([3], f64), rv = tf.rand([3], f64).add(0.5);
    gc((a, w, b) => F.batchNorm(a, rm, rv, { weight: w, bias: b, training: false }), tf.randn([2, 3, 4], f64), tf.randn([3], f64), tf.randn([3], f64));
    const x432 = tf.randn([4, 3, 2], f64);
    gc((w) => F.batchNorm(x432, null, null, { weight: w, training: true }), tf.randn([3], f64));
  });

  it('rejects mismatched running statistics, missing ones in eval, and one value per channel', () => {
    const x = tf.randn([2, 3, 4]);
    expectThrows(() => F.batchNorm(x, tf.zeros([2]), tf.ones([2]), { training: true }), 'batchNorm', 'runningMean', '[2]', '3');
    expectThrows(() => F.batchNorm(x, null, null, { training: false }), 'batchNorm', 'running statistics');
    expectThrows(() => F.batchNorm(tf.randn([1, 3]), null, null, { training: true }), 'batchNorm', 'more than 1 value');
    expectThrows(() => F.batchNorm(x, null, null, { training: true, weight: tf.ones([3], f64) }), 'batchNorm', 'float64');
  });
});

describe('groupNorm', () => {
  it('matches the reference and gradchecks, on every level', () => {
    tf.manualSeed(36);
    for (const level of levels) {
      tf.setCpuKernelLevel(level);
      tf.tidy(() => {
        const x = tf.randn([3, 6, 5], f64);
        const w = tf.randn([6], f64), b = tf.randn([6], f64);
        const ref = normRef(x.reshape([3, 3, 10]), [2], 1e-5).reshape([3, 6, 5]).mul(w.reshape([1, 6, 1])).add(b.reshape([1, 6, 1]));
        expectClose(F.groupNorm(x, 3, { weight: w, bias: b }), ref, 1e-10);
      });
    }
    tf.setCpuKernelLevel(initial);
    expect(tf.gradcheck((a) => F.groupNorm(a, 2), [tf.randn([2, 4, 3], f64).requiresGrad_()])).toBe(true);
    expect(F.groupNorm(tf.zeros([0, 4, 3]), 2).shape).toEqual([0, 4, 3]);
  });
});
