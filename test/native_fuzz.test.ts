// The binding's second line of defence: every native entry point gets garbage metadata (wrong,
// negative, fractional, NaN and huge shapes, strides, offsets and storage handles, unknown op codes)
// and must either run or throw a JS Error; the process must never crash or touch memory it does not
// own. (lib/ validates first; this calls the addon directly, as hostile code could.)
import { describe, expect, it } from 'vitest';
import * as tf from '../lib';
import { meta, metaNum, native } from '../lib/native';

const ENTRY_POINTS: [string, () => void][] = [
  ['unary', () => native.unary(pick([0, 2, 15, 25, 26, -1, 99]))],
  ['unaryBackward', () => native.unaryBackward(pick([0, 9, 12, 99]))],
  ['binary', () => native.binary(pick([0, 3, 7, 15, 17, -3]))],
  ['where', () => native.where()],
  ['copy', () => native.copy()],
  ['fill', () => native.fill()],
  ['reduce', () => native.reduce(pick([0, 2, 5, 7, 10, 11]))],
  ['softmax', () => native.softmax(pick([true, false]))],
  ['softmaxBackward', () => native.softmaxBackward(pick([true, false]))],
  ['gemm', () => native.gemm()],
  ['gemmEpilogue', () => native.gemmEpilogue()],
  ['indexSelect', () => native.indexSelect()],
  ['indexAdd', () => native.indexAdd()],
  ['gather', () => native.gather()],
  ['scatterAdd', () => native.scatterAdd()],
  ['random', () => native.random(pick([0, 1, 2, 7]))],
  ['im2col', () => native.im2col()],
  ['col2im', () => native.col2im()],
  ['convDirect', () => native.convDirect()],
  ['convDirectWeightGrad', () => native.convDirectWeightGrad()],
  ['convBiasGrad', () => native.convBiasGrad()],
  ['convDepthwise', () => native.convDepthwise(pick([0, 1, 2, 3]))],
  ['convImplicit', () => native.convImplicit(pick([0, 1, 2, 3, -1]))],
  ['convDepthwiseBackward', () => native.convDepthwiseBackward()],
  ['maxPool', () => native.maxPool()],
  ['maxPoolBackward', () => native.maxPoolBackward()],
  ['avgPool', () => native.avgPool()],
  ['avgPoolBackward', () => native.avgPoolBackward()],
  ['adaptiveAvgPool', () => native.adaptiveAvgPool(pick([true, false]))],
  ['adaptiveMaxPool', () => native.adaptiveMaxPool()],
  ['sgdStep', () => native.sgdStep()],
  ['adamStep', () => native.adamStep()],
  ['rmspropStep', () => native.rmspropStep()],
  ['adagradStep', () => native.adagradStep()],
  ['crossEntropy', () => native.crossEntropy(pick([true, false]))],
  ['layerNorm', () => native.layerNorm(pick([true, false]))],
  ['batchNorm', () => native.batchNorm(pick([true, false]))],
  ['rnnForward', () => native.rnnForward(pick([0, 1, 2, 3, 4, -1]))],
  ['rnnBackward', () => native.rnnBackward(pick([0, 1, 2, 3, 4, -1]))],
  ['attentionForward', () => native.attentionForward()],
  ['attentionBackward', () => native.attentionBackward()],
];

let seed = 12345;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
function pick<T>(xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)];
}

describe('native entry points reject garbage without crashing', () => {
  it('survives random metadata on every entry point', () => {
    // Real storages of every dtype and a few sizes, so some descriptors pass the handle check.
    const tensors = [
      tf.zeros([3, 4]), tf.zeros([2, 3, 5, 5]), tf.zeros([7], { dtype: 'float64' }), tf.zeros([6], { dtype: 'int32' }),
      tf.zeros([4], { dtype: 'bool' }), tf.zeros([1]), tf.zeros([0]),
    ];
    const freed = tf.zeros([5]);
    const freedHandle = freed._storage.handle;
    freed.dispose();
    const handles = [...tensors.map((t) => t._storage.handle), freedHandle, -1, -2, 0.5, NaN, 1e300, 2 ** 53, 123456789];
    const sizes = [0, 1, 2, 3, 4, 5, 7, 25, -1, -7, 2.5, NaN, Infinity, 1e9, 2 ** 40, 2 ** 62];
    const params = [0, 1, 2, -1, 0.5, NaN, Infinity, -Infinity, 1e18, 3, 4, 5];

    for (const [name, call] of ENTRY_POINTS) {
      expect(typeof (native as unknown as Record<string, unknown>)[name], name).toBe('function');
      let errors = 0;
      for (let iter = 0; iter < 300; iter++) {
        meta();
        const nviews = 1 + Math.floor(rnd() * 5);
        for (let v = 0; v < nviews; v++) {
          const ndim = pick([0, 1, 2, 3, 4, 5, 17, -1, 2.5]);
          metaNum(pick(handles), pick(sizes), ndim);
          const n = Number.isInteger(ndim) && ndim > 0 && ndim < 17 ? ndim : 2;
          for (let d = 0; d < 2 * n; d++) metaNum(rnd() < 0.7 ? pick([0, 1, 2, 3, 4, 5]) : pick(sizes));
        }
        for (let k = 0; k < 24; k++) metaNum(pick(params));
        try {
          call();
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          errors++;
        }
      }
      expect(errors, `${name} rejected some garbage`).toBeGreaterThan(0);
    }
    // The allocator still works and the data is intact after all that.
    const check = tf.arange(10).float().sum().item();
    expect(check).toBe(45);
  });
});
