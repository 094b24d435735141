// Every loss against values PyTorch 1.13 printed for the same float64 inputs (the numbers below),
// plus gradchecks and bad-input errors.
import { describe, expect, it } from 'vitest';
import * as tf from '../lib';
import { expectClose, expectThrows } from './helpers';

const F = tf.nn.functional;
const f64 = { dtype: 'float64' as const };
const x = () => tf.tensor([[0.2, -1.3, 0.7, 2.1], [1.5, 0.3, -0.4, -2.2], [-0.6, 0.9, 1.1, 0.05]], f64);
const y = () => tf.tensor([[0.5, -1.0, 0.2, 2.5], [1.0, 0.0, 0.0, -2.0], [0.0, 1.0, 1.5, 0.5]], f64);
const t = () => tf.tensor([3, 0, 2], { dtype: 'int32' });
const tIgnore = () => tf.tensor([3, -100, 2], { dtype: 'int32' });
const w = () => tf.tensor([0.5, 1.0, 2.0, 1.5], f64);
const probs = () => tf.tensor([[1.0, 2.0, 0.5, -1.0], [0.1, 0.2, 0.3, 0.4], [2.0, -2.0, 0.0, 1.0]], f64).softmax(1);
const tBin = () => tf.tensor([[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 0, 0]], f64);

// What PyTorch 1.13 returns for these inputs (torch.nn.functional, float64).
const TORCH = {
  ce: 0.5337766914584005, ceSum: 1.6013300743752015, ceNone: [0.3573519119313818, 0.3889876694110962, 0.8549904930327232],
  ceWeight: 0.6101256721670167, ceIgnore: 0.6061712024820525, ceSmooth: 0.6708600247917338,
  ceSmoothWeightIgnore: 0.7396121955460119, ceProb: 2.503766437316678, ceProbSmooth: 2.3240195135591946,
  mse: 0.1552083333333333, l1: 0.37083333333333335, smoothL1: 0.07760416666666665, smoothL1Beta: 0.22777777777777775,
  bce: 0.7013463990205345, bceLogits: 3.3476060081102923, bceLogitsPosWeight: 0.6941874215579423,
  klBatchmean: 1.4097607854286636, klLogTargetSum: 4.22928235628599,
};

describe('losses match PyTorch', () => {
  it('crossEntropy with class targets: reductions, weight, ignoreIndex, label smoothing', () => {
    expectClose(F.crossEntropy(x(), t()), TORCH.ce, 1e-12);
    expectClose(F.crossEntropy(x(), t(), { reduction: 'sum' }), TORCH.ceSum, 1e-12);
    expectClose(F.crossEntropy(x(), t(), { reduction: 'none' }), TORCH.ceNone, 1e-12);
    expectClose(F.crossEntropy(x(), t(), { weight: w() }), TORCH.ceWeight, 1e-12);
    expectClose(F.crossEntropy(x(), tIgnore()), TORCH.ceIgnore, 1e-12);
    expectClose(F.crossEntropy(x(), t(), { labelSmoothing: 0.1 }), TORCH.ceSmooth, 1e-12);
    expectClose(F.crossEntropy(x(), tIgnore(), { weight: w(), labelSmoothing: 0.2 }), TORCH.ceSmoothWeightIgnore, 1e-12);
    expectClose(F.nllLoss(x().logSoftmax(1), t()), TORCH.ce, 1e-12);
    // [N, C, d] layout: classes in dim 1, positions after it.
    expectClose(F.crossEntropy(x().t().reshape([1, 4, 3]), tf.tensor([[3, 0, 2]], { dtype: 'int32' })), TORCH.ce, 1e-12);
    expectClose(new tf.nn.CrossEntropyLoss({ reduction: 'sum' }).forward(x(), t()), TORCH.ceSum, 1e-12);
  });

  it('crossEntropy with probability targets', () => {
    expectClose(F.crossEntropy(x(), probs()), TORCH.ceProb, 1e-12);
    expectClose(F.crossEntropy(x(), probs(), { labelSmoothing: 0.3 }), TORCH.ceProbSmooth, 1e-12);
  });

  it('regression and binary losses, KL divergence', () => {
    expectClose(F.mseLoss(x(), y()), TORCH.mse, 1e-12);
    expectClose(F.l1Loss(x(), y()), TORCH.l1, 1e-12);
    expectClose(F.smoothL1Loss(x(), y()), TORCH.smoothL1, 1e-12);
    expectClose(F.smoothL1Loss(x(), y(), { beta: 0.3 }), TORCH.smoothL1Beta, 1e-12);
    expectClose(F.binaryCrossEntropy(x().sigmoid(), tBin()), TORCH.bce, 1e-12);
    expectClose(F.binaryCrossEntropyWithLogits(x().mul(10), tBin()), TORCH.bceLogits, 1e-12);
    expectClose(
      F.binaryCrossEntropyWithLogits(x(), tBin(), { posWeight: tf.tensor([1, 2, 0.5, 3], f64) }),
      TORCH.bceLogitsPosWeight,
      1e-12,
    );
    expectClose(F.klDiv(x().logSoftmax(1), probs(), { reduction: 'batchmean' }), TORCH.klBatchmean, 1e-12);
    expectClose(F.klDiv(x().logSoftmax(1), probs().log(), { reduction: 'sum', logTarget: true }), TORCH.klLogTargetSum, 1e-12);
  });

  it('binaryCrossEntropyWithLogits is finite for huge logits', () => {
    const big = tf.tensor([1000, -1000], f64), tgt = tf.tensor([0, 1], f64);
    expectClose(F.binaryCrossEntropyWithLogits(big, tgt, { reduction: 'none' }), [1000, 1000], 1e-9);
    expectClose(F.crossEntropy(tf.tensor([[1000, 0]], f64), tf.tensor([1], { dtype: 'int32' })), 1000, 1e-9);
  });
});

describe('fused cross-entropy', () => {
  it('equals log-softmax + NLL for large float32 logits, with ignored rows', () => {
    tf.manualSeed(31);
    const logits = tf.randn([37, 11]).mul(50);
    const target = tf.randint(0, 11, [37]);
    const data = target.dataSync();
    data[3] = -100;
    data[20] = -100;
    const tgt = tf.tensor(data, { shape: [37], dtype: 'int32' });
    for (const reduction of ['none', 'sum', 'mean'] as const) {
      const fused = F.crossEntropy(logits, tgt, { reduction });
      const composite = F.nllLoss(logits.logSoftmax(1), tgt, { reduction });
      expectClose(fused, composite, { rtol: 1e-5, atol: 1e-4 });
    }
  });
});

describe('loss gradients', () => {
  const gc = (fn: (...a: tf.Tensor[]) => tf.Tensor, ...inputs: tf.Tensor[]) =>
    expect(tf.gradcheck(fn, inputs.map((i) => i.requiresGrad_()))).toBe(true);

  it('gradcheck every loss', () => {
    gc((a) => F.crossEntropy(a, tIgnore(), { weight: w(), labelSmoothing: 0.2 }), x());
    gc((a) => F.crossEntropy(a, probs(), { labelSmoothing: 0.1 }), x());
    // The fused kernel (2-D logits, class indices, no weight or smoothing), every reduction.
    gc((a) => F.crossEntropy(a, tIgnore()), x());
    gc((a) => F.crossEntropy(a.t(), tf.tensor([1, 0, 2, 1], { dtype: 'int32' }), { reduction: 'sum' }), x());
    gc((a) => F.crossEntropy(a, t(), { reduction: 'none' }).mul(tf.tensor([1, -2, 3], f64)).sum(), x());
    gc((a) => F.crossEntropy(a.reshape([1, 4, 3]), tf.tensor([[3, 0, 2]], { dtype: 'int32' })), x());
    gc((a) => F.nllLoss(a, t(), { reduction: 'sum' }), x());
    gc((a, b) => F.mseLoss(a, b), x(), y());
    gc((a, b) => F.l1Loss(a, b), x(), y());
    gc((a) => F.smoothL1Loss(a, y(), { beta: 0.3 }), x());
    gc((a) => F.binaryCrossEntropy(a.sigmoid(), tBin()), x());
    gc((a) => F.binaryCrossEntropyWithLogits(a, tBin(), { posWeight: tf.tensor([1, 2, 0.5, 3], f64) }), x());
    gc((a) => F.klDiv(a.logSoftmax(1), probs(), { reduction: 'batchmean' }), x());
  });
});

describe('loss errors', () => {
  it('names the op and the problem', () => {
    expectThrows(() => F.crossEntropy(x(), tf.tensor([0, 1], { dtype: 'int32' })), 'crossEntropy', '[3, 4]', '[2]');
    expectThrows(() => F.crossEntropy(x(), tf.tensor([0, 9, 1], { dtype: 'int32' })), 'crossEntropy', 'target 9 is out of bounds');
    expectThrows(() => F.nllLoss(x(), tf.tensor([0, 1, 2])), 'nllLoss', 'int32');
    expectThrows(() => F.mseLoss(x(), tf.zeros([3, 5], f64)), 'mseLoss', '[3, 5]', '[3, 4]');
    expectThrows(() => F.crossEntropy(x(), t(), { reduction: 'avg' as never }), 'reduction');
    expectThrows(() => F.crossEntropy(x(), t(), { weight: tf.ones([3], f64) }), 'weight', '4 class weights');
  });
});
