// `npm run example:lstm`: a one-step-ahead forecaster for a noisy mixture of sines, an nn.LSTM over a
// window of past values with a linear head on its final hidden state, trained with Adam (cosine learning-rate decay). It prints
// the validation MSE per epoch next to a naive forecast's (repeat the last value) and the noise floor
// (the variance of the noise no forecaster can predict). Takes a few seconds.
import * as tf from 'tensorforge';

const N = 4000, WINDOW = 40, HIDDEN = 48, BATCH = 64, EPOCHS = 15, LR = 5e-3, NOISE = 0.1;

tf.manualSeed(0);

// The series: three sines of incommensurate periods plus Gaussian noise (Box-Muller on a fixed LCG).
let state = 12345;
const uniform01 = (): number => ((state = (state * 1103515245 + 12345) % 2147483648) + 0.5) / 2147483648;
const gaussian = (): number => Math.sqrt(-2 * Math.log(uniform01())) * Math.cos(2 * Math.PI * uniform01());
const series = Float32Array.from({ length: N }, (_, t) =>
  Math.sin((2 * Math.PI * t) / 25) + 0.6 * Math.sin((2 * Math.PI * t) / 9.7 + 1) + 0.3 * Math.sin((2 * Math.PI * t) / 61) +
  NOISE * gaussian(),
);

// Windows [WINDOW values] -> the next value; the last 20% of the timeline is held out for validation.
function windows(from: number, to: number): { x: tf.Tensor; y: tf.Tensor; last: Float32Array } {
  const n = to - from - WINDOW;
  const xs = new Float32Array(n * WINDOW), ys = new Float32Array(n), last = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    xs.set(series.subarray(from + i, from + i + WINDOW), i * WINDOW);
    ys[i] = series[from + i + WINDOW];
    last[i] = series[from + i + WINDOW - 1];
  }
  return { x: tf.tensor(xs).reshape([n, WINDOW, 1]), y: tf.tensor(ys).reshape([n, 1]), last };
}
const split = Math.floor(N * 0.8);
const train = windows(0, split), val = windows(split, N);

class Forecaster extends tf.nn.Module {
  lstm = new tf.nn.LSTM(1, HIDDEN, { batchFirst: true });
  head = new tf.nn.Linear(HIDDEN, 1);
  forward(x: tf.Tensor): tf.Tensor {
    const [, [h]] = this.lstm.forward(x); // h: [numLayers, B, HIDDEN]
    return this.head.forward(h.select(0, 0));
  }
}

const model = new Forecaster();
const optimizer = new tf.optim.Adam(model.parameters(), { lr: LR });
const schedule = new tf.optim.lrScheduler.CosineAnnealingLR(optimizer, { tMax: EPOCHS });

const mse = (pred: Float32Array, y: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (pred[i] - y[i]) ** 2;
  return s / y.length;
};
const yVal = val.y.dataSync() as Float32Array;
const naive = mse(val.last, yVal);
console.log(`${train.y.shape[0]} training and ${yVal.length} validation windows of ${WINDOW} steps; LSTM(1, ${HIDDEN}) + Linear(${HIDDEN}, 1)`);
console.log(`naive forecast (repeat the last value): validation MSE ${naive.toFixed(4)}; noise floor ${(NOISE * NOISE).toFixed(4)}`);

const start = performance.now();
const nTrain = train.y.shape[0];
for (let epoch = 1; epoch <= EPOCHS; epoch++) {
  const order = tf.randperm(nTrain).dataSync() as Int32Array;
  let total = 0, batches = 0;
  for (let i = 0; i + BATCH <= nTrain; i += BATCH) {
    total += tf.tidy(() => {
      const idx = tf.tensor(order.slice(i, i + BATCH));
      const loss = tf.nn.functional.mseLoss(model.forward(train.x.indexSelect(0, idx)), train.y.indexSelect(0, idx));
      optimizer.zeroGrad();
      loss.backward();
      tf.nn.clipGradNorm_(model.parameters(), 1);
      optimizer.step();
      return loss.item();
    });
    batches++;
  }
  schedule.step();
  const valMse = tf.tidy(() => tf.noGrad(() => mse(model.forward(val.x).dataSync() as Float32Array, yVal)));
  console.log(
    `epoch ${epoch}: train MSE ${(total / batches).toFixed(4)}, validation MSE ${valMse.toFixed(4)} ` +
      `(${(naive / valMse).toFixed(1)}x below naive)  ${((performance.now() - start) / 1000).toFixed(1)} s`,
  );
}
