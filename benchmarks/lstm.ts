// `npx tsx benchmarks/lstm.ts`: times one nn.LSTM layer (T 128, B 32, input and hidden 256, float32),
// forward alone (under noGrad) and forward + backward, medians of 10 runs after 2 warm-ups. The same
// in PyTorch: benchmarks/peers/lstm.py (`/usr/bin/python3 benchmarks/peers/lstm.py`).
import * as tf from '../lib';

const [T, B, I, H] = [128, 32, 256, 256];
tf.manualSeed(0);
const m = new tf.nn.LSTM(I, H);
const x = tf.randn([T, B, I]).requiresGrad_();
const median = (f: () => void, n = 10): number => {
  for (let i = 0; i < 2; i++) f();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  return ts.sort((a, b) => a - b)[n >> 1];
};
const fwd = median(() => tf.tidy(() => void tf.noGrad(() => m.forward(x))));
const fb = median(() =>
  tf.tidy(() => {
    const [y] = m.forward(x);
    y.sum().backward();
    m.zeroGrad();
    x.grad?.dispose();
    x.grad = null;
  }),
);
console.log(
  `LSTM(${I}, ${H}) T=${T} B=${B} float32, ${tf.getNumThreads()} threads, ${tf.cpuKernelLevel()}: ` +
    `forward ${fwd.toFixed(1)} ms, forward + backward ${fb.toFixed(1)} ms`,
);
