// Every CUDA kernel family on awkward sizes, forward and backward, compared with the CPU; a wrong
// result exits 1, and "ok" is printed at the end. Run two ways:
//  - by test/cuda_asan.test.ts, with libasan preloaded and TENSORFORGE_CUDA=emulate-asan, in each
//    emulator schedule: an out-of-bounds access aborts with AddressSanitizer's report;
//  - by `npm run test:gpu` (scripts/test-gpu.js) on a real GPU under compute-sanitizer's memcheck.
import * as tf from '../../lib';
import type { Tensor } from '../../lib';

function maxDiff(a: Tensor, b: Tensor): number {
  const x = a.dataSync(), y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]) / (1 + Math.abs(y[i])));
  return m;
}

// f on CPU inputs and on their CUDA copies (with gradients of a weighted sum), compared.
function compare(name: string, inputs: Tensor[], f: (...xs: Tensor[]) => Tensor): void {
  const w = tf.tidy(() => f(...inputs).detach());
  const weights = tf.randn(w.shape, { dtype: w.dtype === 'float64' ? 'float64' : 'float32', generator: new tf.Generator(1) });
  w.dispose();
  const run = (device: 'cpu' | 'cuda'): Tensor[] =>
    tf.tidy(() => {
      const xs = inputs.map((x) => (x.dtype === 'float64' || x.dtype === 'float32' ? x.to(device).detach().requiresGrad_() : x.to(device)));
      const y = f(...xs);
      if (y.dtype === 'float32' || y.dtype === 'float64') y.mul(weights.to(device).to(y.dtype)).sum().backward();
      return [y.cpu(), ...xs.filter((x) => x.grad).map((x) => x.grad!.cpu())];
    });
  const [cpu, gpu] = [run('cpu'), run('cuda')];
  for (let k = 0; k < cpu.length; k++) {
    const d = maxDiff(gpu[k], cpu[k]);
    if (!(d < 1e-9)) {
      console.error(`${name}: output ${k} differs by ${d}`);
      process.exit(1);
    }
  }
  tf.dispose([cpu, gpu, weights]);
}

const g = new tf.Generator(42);
const r = (...shape: number[]): Tensor => tf.randn(shape, { dtype: 'float64', generator: g });
const emulated = tf.cuda.status().emulated;
for (const schedule of emulated ? (['in-order', 'reversed', 'random', 'warp-ahead'] as const) : (['device'] as const)) {
  if (schedule !== 'device') tf.cuda._emuSetSchedule(schedule, 7);
  compare('elementwise', [r(7, 1, 5), r(3, 5)], (a, b) => a.mul(b).add(a.gelu()).div(b.abs().add(1)).maximum(b.tanh()));
  compare('reductions', [r(5, 9, 3).permute([2, 0, 1])], (x) => tf.cat([x.sum(1), x.amax(2), x.logsumexp(1), x.var(2)].map((t) => t.flatten())));
  compare('softmax', [r(4, 33, 3)], (x) => x.softmax(1).add(x.logSoftmax(2)));
  compare('matmul', [r(3, 65, 17), r(17, 67)], (a, b) => a.matmul(b));
  compare('matmul-t', [r(2, 13, 9), r(2, 11, 13)], (a, b) => a.mT().matmul(b.mT()));
  compare('conv', [r(2, 3, 11, 9), r(4, 3, 3, 3)], (x, w) => tf.conv2d(x, w, null, { stride: 2, padding: 1, dilation: [1, 2] }));
  compare('depthwise', [r(2, 3, 9, 8), r(3, 1, 3, 3)], (x, w) => tf.conv2d(x, w, null, { stride: 2, padding: 1, groups: 3 }));
  compare('pool', [r(2, 3, 9, 11)], (x) =>
    tf.cat([tf.maxPool2d(x, 3, { stride: 2, padding: 1 }), tf.avgPool2d(x, 2, { ceilMode: true }), tf.adaptiveAvgPool2d(x, [4, 5])].map((t) => t.flatten())));
  compare('norms', [r(6, 4, 5)], (x) => tf.nn.functional.layerNorm(x, [5]).add(tf.nn.functional.batchNorm(x, null, null, { training: true })));
  compare('indexing', [r(7, 6), tf.tensor(new Int32Array([6, 0, 6, 3]))], (x, i) => x.indexSelect(0, i).mul(x.gather(1, tf.zeros([7, 6], { dtype: 'int32', device: i.device })).sum()));
  compare('cross-entropy', [r(9, 7), tf.tensor(new Int32Array([0, 6, 2, 2, 5, 1, 3, 4, 0]))], (x, t) => tf.nn.functional.crossEntropy(x, t));
  compare('attention', [r(2, 2, 37, 9), r(2, 2, 21, 9), r(2, 2, 21, 5)], (q, k, v) => tf.nn.functional.scaledDotProductAttention(q, k, v, { isCausal: true }));
  compare('attention-wide', [r(1, 2, 3, 300), r(1, 2, 4, 300), r(1, 2, 4, 7)], (q, k, v) => tf.nn.functional.scaledDotProductAttention(q, k, v));
  for (const make of [() => new tf.nn.LSTM(5, 6, { projSize: 3, dtype: 'float64' }), () => new tf.nn.GRU(5, 6, { bidirectional: true, dtype: 'float64' })]) {
    tf.manualSeed(3);
    const cpuModel = make();
    tf.manualSeed(3);
    const gpuModel = make().to('cuda');
    compare('rnn', [r(4, 3, 5)], (x) => ((x.device === 'cuda' ? gpuModel : cpuModel).forward(x) as [Tensor, unknown])[0]);
    compare('rnn-lengths', [r(4, 3, 5)], (x) => ((x.device === 'cuda' ? gpuModel : cpuModel).forward(x, null, { lengths: [4, 1, 3] }) as [Tensor, unknown])[0]);
  }
  tf.cuda.setAllowTF32(true);
  const tc = tf.tidy(() => tf.randn([37, 70], { generator: g }).cuda().matmul(tf.randn([70, 29], { generator: g }).cuda()).sum().item());
  tf.cuda.setAllowTF32(false);
  if (!Number.isFinite(tc)) process.exit(1);
  // The 16-bit tensor-core kernels (edges in M, N and K) and the 16-bit elementwise and cast kernels.
  for (const d of ['float16', 'bfloat16'] as const) {
    const h = tf.tidy(() => {
      const a = tf.randn([37, 70], { generator: g }).to(d).cuda(), b = tf.randn([29, 70], { generator: g }).to(d).cuda().t();
      return a.matmul(b).gelu().add(a.sum()).float().sum().item();
    });
    if (!Number.isFinite(h)) process.exit(1);
  }
  if (emulated) for (const selfTest of ['block-sum', 'smem-with-attribute']) tf.cuda._emuSelfTest(selfTest);
}
console.log('ok');
