// `npx tsx benchmarks/conv_activation.ts`: conv2d with a fused ReLU ({ activation: 'relu' }) against
// conv2d then relu, on the conv suite's layers and a 1x1 layer, float32, all threads: forward under
// noGrad, and forward + backward (input, weight and bias gradients). Five rounds alternate the two
// forms in one process (this machine's speed drifts); it prints each round's time ratio fused /
// unfused and the medians.
import * as tf from '../lib';
import { timeIt } from './harness';

const LAYERS: [string, number[], number[], tf.ConvOptions][] = [
  ['LeNet conv2 (6→16, 14×14, k5), N 64', [64, 6, 14, 14], [16, 6, 5, 5], {}],
  ['ResNet-18 stem (3→64, 224×224, k7 s2 p3), N 8', [8, 3, 224, 224], [64, 3, 7, 7], { padding: 3, stride: 2 }],
  ['ResNet-18 64→64, 56×56, k3 p1, N 8', [8, 64, 56, 56], [64, 64, 3, 3], { padding: 1 }],
  ['ResNet-18 256→256, 14×14, k3 p1, N 8', [8, 256, 14, 14], [256, 256, 3, 3], { padding: 1 }],
  ['1x1 256→64, 28×28, N 8', [8, 256, 28, 28], [64, 256, 1, 1], {}],
  ['depthwise 3×3 (C 128, 56×56, p1), N 8', [8, 128, 56, 56], [128, 1, 3, 3], { padding: 1, groups: 128 }],
];
const ROUNDS = 5;
const TIMING = { minSeconds: 0.3, warmup: 2 };

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ms = (s: number): string => (s * 1e3).toFixed(3);

console.log(`${tf.getNumThreads()} threads, CPU kernels ${tf.cpuKernelLevel()}`);
for (const [name, xs, ws, opts] of LAYERS) {
  tf.manualSeed(0);
  const x = tf.randn(xs), w = tf.randn(ws), b = tf.randn([ws[0]]);
  const g = tf.noGrad(() => tf.randnLike(tf.conv2d(x, w, b, opts)));
  const forward = (fused: boolean) => (): tf.Tensor =>
    fused ? tf.conv2d(x, w, b, { ...opts, activation: 'relu' }) : tf.conv2d(x, w, b, opts).relu();
  const inference = (fused: boolean) => (): void => tf.tidy(() => void tf.noGrad(forward(fused)));
  const training = (fused: boolean) => (): void =>
    tf.tidy(() => {
      forward(fused)().backward(g);
      for (const t of [x, w, b]) {
        t.grad?.dispose();
        t.grad = null;
      }
    });
  const t = { fwd: [[], []] as number[][], fwdbwd: [[], []] as number[][] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const t0 of [x, w, b]) t0.requiresGrad_(false);
    t.fwd[0].push(timeIt(inference(true), TIMING));
    t.fwd[1].push(timeIt(inference(false), TIMING));
    for (const t0 of [x, w, b]) t0.requiresGrad_(true);
    t.fwdbwd[0].push(timeIt(training(true), TIMING));
    t.fwdbwd[1].push(timeIt(training(false), TIMING));
  }
  for (const pass of ['fwd', 'fwdbwd'] as const) {
    const [f, u] = t[pass];
    const ratios = f.map((v, i) => (v / u[i]).toFixed(2)).join(' ');
    console.log(`${name}, ${pass === 'fwd' ? 'forward' : 'forward + backward'}: fused / unfused ${ratios} ` +
      `(medians ${ms(median(f))} / ${ms(median(u))} ms)`);
  }
  tf.dispose([x, w, b, g]);
}
