// End to end: LeNet-5 (examples/lenet/model.ts) trained for one epoch on the Fashion-MNIST subset
// shipped in the repo learns (loss falls, test accuracy well above chance), and the same seed gives
// the same losses bit for bit.
import { describe, expect, it } from 'vitest';
import * as tf from '../lib';
import { accuracy, LeNet } from '../examples/lenet/model';

function trainOneEpoch(seed: number): { losses: number[]; acc: number; live: number[] } {
  tf.manualSeed(seed);
  const train = tf.datasets.FashionMNIST({ train: true, subset: true });
  const test = tf.datasets.FashionMNIST({ train: false, subset: true });
  const model = new LeNet();
  const opt = new tf.optim.Adam(model.parameters(), { lr: 2e-3 });
  const loader = new tf.data.DataLoader(train, { batchSize: 32, shuffle: true, seed });
  const losses: number[] = [];
  const live: number[] = []; // live tensors and bytes after each step
  for (const [x, y] of loader) {
    losses.push(
      tf.tidy(() => {
        const loss = tf.nn.functional.crossEntropy(model.forward(x), y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return loss.item();
      }),
    );
    tf.dispose([x, y]);
    const m = tf.memory();
    live.push(m.tensors * 1e12 + m.bytes);
  }
  const { images, labels } = test.tensors();
  const acc = accuracy(model, images, labels);
  tf.dispose([images, labels]);
  opt.dispose();
  return { losses, acc, live };
}

describe('training LeNet-5 on the Fashion-MNIST subset', () => {
  it('learns, deterministically', () => {
    const a = trainOneEpoch(0);
    const first = a.losses.slice(0, 5).reduce((p, c) => p + c, 0) / 5;
    const last = a.losses.slice(-5).reduce((p, c) => p + c, 0) / 5;
    expect(first).toBeGreaterThan(1.9); // about ln(10) at the start
    expect(last).toBeLessThan(first * 0.6);
    expect(a.acc).toBeGreaterThan(0.6); // chance is 0.1
    const b = trainOneEpoch(0);
    expect(b.losses).toEqual(a.losses);
    expect(b.acc).toBe(a.acc);
    // A flat footprint: after the optimizer's state exists (step 2 on), every step ends with the same
    // live tensors and bytes.
    expect(new Set(a.live.slice(1)).size).toBe(1);
  });
});
