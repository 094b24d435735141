// The CUDA backend, run on the CPU by our emulator (TENSORFORGE_CUDA=emulate; cuda/emu/): every
// CUDA kernel is compared with the CPU backend on fresh random inputs at awkward sizes, in each of
// the emulator's thread schedules (a kernel whose result depends on the schedule has a race), plus
// the emulator's own checks and the device API.
//
// On a machine with a GPU, `npm run test:gpu` (TENSORFORGE_TEST_GPU=1) runs the same comparisons on
// the real device instead (the emulator's own checks are skipped).
const onGpu = process.env.TENSORFORGE_TEST_GPU === '1';
if (!onGpu) process.env.TENSORFORGE_CUDA = 'emulate';

import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '../lib';
import type { Tensor } from '../lib';

const available = tf.cuda.isAvailable();
// Test files may share a worker process: do not leave the setting to the next file.
afterAll(() => {
  delete process.env.TENSORFORGE_CUDA;
});
const EMU_SCHEDULES = ['in-order', 'reversed', 'random', 'warp-ahead'] as const;
const SCHEDULES = onGpu ? (['device'] as const) : EMU_SCHEDULES;
type Schedule = (typeof EMU_SCHEDULES)[number];
function setSchedule(s: Schedule | 'device', seed = 1): void {
  if (s !== 'device') tf.cuda._emuSetSchedule(s, seed);
}

// Compares a result computed on 'cuda' with the same computation on the CPU.
function same(gpu: Tensor, cpu: Tensor, tol = 1e-5): void {
  expect(gpu.device).toBe('cuda');
  expect(gpu.shape).toEqual(cpu.shape);
  expect(gpu.dtype).toBe(cpu.dtype);
  const a = gpu.dataSync(), b = cpu.dataSync();
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i];
    if (Number.isNaN(y)) expect(Number.isNaN(x), `element ${i}: ${x} vs NaN`).toBe(true);
    else if (!Number.isFinite(y)) expect(x).toBe(y);
    else expect(Math.abs(x - y), `element ${i}: ${x} vs ${y}`).toBeLessThanOrEqual(tol * (1 + Math.abs(y)));
  }
}

// Runs f on CPU inputs and on copies of them on 'cuda', and compares the outputs.
function check(inputs: Tensor[], f: (...xs: Tensor[]) => Tensor, tol = 1e-5): void {
  tf.tidy(() => {
    const cpu = f(...inputs);
    const gpu = f(...inputs.map((x) => x.to('cuda')));
    same(gpu, cpu, tol);
  });
}

describe.skipIf(!available && process.platform !== 'linux' && !onGpu)(onGpu ? 'CUDA on the GPU' : 'CUDA under the emulator', () => {
  it(onGpu ? 'is available (a real device)' : 'is available (the emulated addon is built on Linux)', () => {
    expect(tf.cuda.isAvailable(), tf.cuda.unavailableReason()).toBe(true);
    const s = tf.cuda.status();
    expect(s.emulated).toBe(!onGpu);
    expect(s.deviceCount).toBeGreaterThanOrEqual(1);
    expect(tf.cuda.deviceCount()).toBe(s.deviceCount);
    expect(tf.defaultDevice()).toBe('cuda');
  });

  describe.skipIf(onGpu)('the emulator itself', () => {
    it('computes a shuffle + shared-memory + atomic reduction the same in every schedule', () => {
      for (const s of EMU_SCHEDULES) {
        tf.cuda._emuSetSchedule(s, 5);
        expect(Math.abs(tf.cuda._emuSelfTest('block-sum'))).toBeLessThan(1e-2);
        expect(tf.cuda._emuSelfTest('smem-with-attribute')).toBe(0);
        expect(tf.cuda._emuSelfTest('smem-fresh')).toBe(0);  // shared memory starts poisoned in every block
      }
      tf.cuda._emuSetSchedule('in-order');
    });
    it('exposes a missing __syncthreads in some schedule', () => {
      let wrong = 0;
      for (const s of EMU_SCHEDULES) {
        tf.cuda._emuSetSchedule(s, 9);
        wrong += tf.cuda._emuSelfTest('racy');
      }
      tf.cuda._emuSetSchedule('in-order');
      expect(wrong).toBeGreaterThan(0);
    });
    it('aborts launches CUDA leaves undefined, saying where', () => {
      expect(() => tf.cuda._emuSelfTest('divergent-barrier')).toThrow(/different barriers: .*selftest\.cu:\d+.*selftest\.cu:\d+/);
      expect(() => tf.cuda._emuSelfTest('barrier-after-return')).toThrow(/__syncthreads at selftest\.cu:\d+ is reached by 63 threads while 1 have already returned/);
      expect(() => tf.cuda._emuSelfTest('shuffle-exited-lane')).toThrow(/mask names lane 7 .* which has exited/);
      expect(() => tf.cuda._emuSelfTest('bad-config')).toThrow(/cudaErrorInvalidConfiguration/);
      expect(() => tf.cuda._emuSelfTest('smem-over-limit')).toThrow(/exceed the kernel's limit.*cudaFuncSetAttribute/);
      expect(() => tf.cuda._emuSelfTest('wmma-bad-ldm')).toThrow(/load_matrix_sync: ldm 6 is not a multiple of 16 bytes \(at selftest\.cu:\d+\)/);
      expect(() => tf.cuda._emuSelfTest('wmma-divergent')).toThrow(/warp collective at selftest\.cu:\d+: its mask names lane 16 .* which has exited/);
    });
  });

  describe('device API', () => {
    it('moves tensors both ways, and an op on two devices is an Error naming both', () => {
      const x = tf.randn([3, 5]);
      const g = x.to('cuda');
      expect(g.device).toBe('cuda');
      expect(g.cuda()).toBe(g);
      expect(g.cpu().toArray()).toEqual(x.toArray());
      expect(() => x.add(g)).toThrow(/add: expected all tensors on one device, got cpu and cuda/);
      expect(tf.zeros([2, 3], { device: 'cuda' }).device).toBe('cuda');
      expect(tf.ones([2], { device: 'auto' }).device).toBe('cuda');
      expect(tf.tensor([1, 2, 3], { device: 'cuda' }).toArray()).toEqual([1, 2, 3]);
      expect(() => tf.zeros([2], { device: 'tpu' as 'cpu' })).toThrow(/unknown device "tpu"/);
    });
    it('checks device-side arguments the binding reads (lengths, indices) before any kernel runs', () => {
      const lstm = new tf.nn.LSTM(3, 4).to('cuda');
      const x = tf.randn([5, 2, 3], { device: 'cuda' });
      expect(() => lstm.forward(x, null, { lengths: tf.tensor(Int32Array.of(5, 6), { device: 'cuda' }) })).toThrow(/LSTM: lengths\[1\] = 6 must be an integer in 1\.\.5/);
      expect(() => x.indexSelect(0, tf.tensor(Int32Array.of(0, 5), { device: 'cuda' }))).toThrow(/index 5 is out of bounds for dimension of size 5/);
    });
    it('reports device memory and frees it on dispose', () => {
      tf.cuda.emptyCache();
      const before = tf.cuda.memory();
      const t = tf.zeros([1000], { device: 'cuda' });
      expect(tf.cuda.memory().allocated - before.allocated).toBe(4000);
      t.dispose();
      expect(tf.cuda.memory().allocated).toBe(before.allocated);
      expect(tf.cuda.memory().reserved).toBeGreaterThanOrEqual(before.allocated);
      tf.cuda.emptyCache();
      expect(tf.cuda.memory().reserved).toBe(tf.cuda.memory().allocated);
      tf.cuda.synchronize();
    });
    it('moves a module in place, parameters keeping their identity', () => {
      const m = new tf.nn.Linear(4, 3);
      const w = m.weight, before = w.toArray();
      m.to('cuda');
      expect(m.weight).toBe(w);
      expect(w.device).toBe('cuda');
      expect(w.toArray()).toEqual(before);
      m.to('cpu');
      expect(w.device).toBe('cpu');
    });
    it.skipIf(onGpu)('falls back cleanly when CUDA is unusable (no device)', () => {
      const script =
        "const tf = require('./lib'); const s = tf.cuda.status(); " +
        "let err = ''; try { tf.zeros([1], { device: 'cuda' }); } catch (e) { err = e.message; } " +
        "console.log(JSON.stringify({ s, auto: tf.defaultDevice(), err }));";
      const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
        cwd: `${__dirname}/..`,
        encoding: 'utf8',
        env: { ...process.env, TENSORFORGE_CUDA: 'emulate', TENSORFORGE_CUDA_EMU_DEVICES: '0' },
      });
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout.trim().split('\n').pop() as string);
      expect(out.s.available).toBe(false);
      expect(out.s.reason).toMatch(/cudaErrorNoDevice/);
      expect(out.auto).toBe('cpu');
      expect(out.err).toMatch(/device 'cuda' is not available: cudaErrorNoDevice/);
    });
  });

  describe('models on the emulated device match the CPU', () => {
    // The same seeded model, data and optimizer on both devices: per-step losses and final weights.
    function trainBoth(make: () => tf.nn.Module, [x, y]: [Tensor, Tensor], loss: (out: Tensor, y: Tensor) => Tensor, steps: number) {
      const runs = (['cpu', 'cuda'] as const).map((device) => {
        tf.manualSeed(21);
        const model = make().to(device);
        const opt = new tf.optim.Adam(model.parameters(), { lr: 2e-3 });
        const xs = x.to(device), ys = y.to(device);
        const losses: number[] = [];
        for (let step = 0; step < steps; step++) {
          tf.tidy(() => {
            opt.zeroGrad();
            const l = loss(model.forward(xs) as Tensor, ys);
            l.backward();
            opt.step();
            losses.push(l.item());
          });
        }
        return { losses, weights: model.parameters().map((p) => p.cpu()) };
      });
      return runs;
    }

    it('LeNet-5: a few training steps (conv, pooling, linear, cross-entropy, Adam)', () => {
      setSchedule(onGpu ? 'device' : 'random', 2);
      const g = new tf.Generator(8);
      const runs = trainBoth(
        () => new tf.nn.Sequential(
          new tf.nn.Conv2d(1, 6, 5, { padding: 2 }), new tf.nn.ReLU(), new tf.nn.MaxPool2d(2),
          new tf.nn.Conv2d(6, 16, 5), new tf.nn.ReLU(), new tf.nn.MaxPool2d(2), new tf.nn.Flatten(),
          new tf.nn.Linear(400, 120), new tf.nn.ReLU(), new tf.nn.Linear(120, 84), new tf.nn.ReLU(), new tf.nn.Linear(84, 10),
        ),
        [tf.rand([6, 1, 28, 28], { generator: g }), tf.randint(0, 10, [6], { generator: g })],
        (out, y) => tf.nn.functional.crossEntropy(out, y),
        3,
      );
      setSchedule(onGpu ? 'device' : 'in-order');
      for (let i = 0; i < 3; i++) expect(runs[1].losses[i]).toBeCloseTo(runs[0].losses[i], 5);
      runs[1].weights.forEach((w, k) => same(w.cuda(), runs[0].weights[k], 1e-4));
    });

    it('a causal Transformer block with dropout: same losses (the dropout masks come from one generator)', () => {
      const g = new tf.Generator(9);
      const T = 9, V = 13;
      class Tiny extends tf.nn.Module {
        emb = new tf.nn.Embedding(V, 16);
        block = new tf.nn.TransformerEncoderLayer(16, 2, { dimFeedforward: 24, dropout: 0.1, activation: 'gelu', normFirst: true, batchFirst: true });
        head = new tf.nn.Linear(16, V);
        forward(ids: Tensor): Tensor {
          const mask = tf.nn.Transformer.generateSquareSubsequentMask(T).to(ids.device);
          return this.head.forward(this.block.forward(this.emb.forward(ids), { srcMask: mask, isCausal: true }));
        }
      }
      const runs = trainBoth(
        () => new Tiny(),
        [tf.randint(0, V, [3, T], { generator: g }), tf.randint(0, V, [3 * T], { generator: g })],
        (out, y) => tf.nn.functional.crossEntropy(out.reshape([-1, V]), y),
        3,
      );
      for (let i = 0; i < 3; i++) expect(runs[1].losses[i]).toBeCloseTo(runs[0].losses[i], 4);
    });
  });

  for (const schedule of SCHEDULES) {
    describe(`kernels against the CPU backend (${schedule} schedule)`, () => {
      const setup = (): void => setSchedule(schedule, 17);
      const g = new tf.Generator(schedule.length * 101);
      const randn = (shape: number[], dtype: 'float32' | 'float64' = 'float32'): Tensor => tf.randn(shape, { dtype, generator: g });

      it('unary ops and their gradients, on transposed inputs', () => {
        setup();
        for (const dtype of ['float32', 'float64'] as const) {
          const x = randn([7, 13], dtype).t();
          const pos = x.abs().add(0.1);
          const fs: ((t: Tensor) => Tensor)[] = [
            (t) => t.neg(), (t) => t.abs(), (t) => t.exp(), (t) => t.tanh(), (t) => t.sigmoid(), (t) => t.relu(),
            (t) => t.gelu(), (t) => t.gelu({ approximate: 'tanh' }), (t) => t.silu(), (t) => t.sin(), (t) => t.cos(),
            (t) => t.leakyRelu(0.1), (t) => t.clamp(-0.5, 0.7), (t) => t.square(), (t) => t.sign(), (t) => t.floor(),
            (t) => t.ceil(), (t) => t.round(),
          ];
          for (const f of fs) check([x], f, 1e-5);
          for (const f of [(t: Tensor) => t.log(), (t: Tensor) => t.sqrt(), (t: Tensor) => t.rsqrt(), (t: Tensor) => t.reciprocal(), (t: Tensor) => t.pow(1.7)])
            check([pos], f, 1e-5);
          // Gradients through every derivative kernel.
          for (const f of [...fs.slice(0, 13), (t: Tensor) => t.abs().add(0.1).log(), (t: Tensor) => t.abs().add(0.1).sqrt()]) {
            const weights = randn([13, 7], dtype);
            const grads = ['cpu', 'cuda'].map((d) =>
              tf.tidy(() => {
                const leaf = x.to(d as 'cpu').detach().requiresGrad_();
                f(leaf).mul(weights.to(d as 'cpu')).sum().backward();
                return leaf.grad!.cpu();
              }),
            );
            same(grads[1].cuda(), grads[0], 1e-5);
          }
        }
      });

      it('binary ops with broadcasting, number operands, integers and comparisons', () => {
        setup();
        const a = randn([5, 1, 7]), b = randn([3, 1]);
        for (const f of [
          (x: Tensor, y: Tensor) => x.add(y), (x: Tensor, y: Tensor) => x.sub(y), (x: Tensor, y: Tensor) => x.mul(y),
          (x: Tensor, y: Tensor) => x.div(y), (x: Tensor, y: Tensor) => x.maximum(y), (x: Tensor, y: Tensor) => x.minimum(y),
          (x: Tensor, y: Tensor) => x.remainder(y), (x: Tensor, y: Tensor) => x.lt(y), (x: Tensor, y: Tensor) => x.ge(y),
          (x: Tensor, y: Tensor) => x.eq(y), (x: Tensor, y: Tensor) => x.abs().pow(y),
          (x: Tensor) => x.mul(2.5).add(-1), (x: Tensor) => x.gt(0).logicalAnd(x.lt(0.5)),
        ])
          check([a, b], f);
        const i = tf.randint(-50, 50, [4, 9], { generator: g }), j = tf.randint(-7, 8, [9], { generator: g });
        for (const f of [(x: Tensor, y: Tensor) => x.add(y), (x: Tensor, y: Tensor) => x.mul(y), (x: Tensor, y: Tensor) => x.div(y),
          (x: Tensor, y: Tensor) => x.remainder(y), (x: Tensor, y: Tensor) => x.maximum(y), (x: Tensor, y: Tensor) => x.ne(y)])
          check([i, j], f, 0);
        check([a, b], (x, y) => tf.where(x.gt(0), x, y));
        // Casts (NaN to int32 gives INT_MIN on both), fill, zero-sized tensors.
        check([tf.tensor([1.7, -2.5, NaN, 3e9, 0])], (x) => x.to('int32'), 0);
        check([a], (x) => x.to('float64').to('bool'), 0);
        check([randn([0, 5])], (x) => x.add(1), 0);
        check([a], (x) => x.clone().fill_(3.25), 0);
      });

      it('reductions over any dims, with NaN and empty rows', () => {
        setup();
        const x = randn([6, 11, 5]).permute([2, 0, 1]);
        const withNan = tf.tidy(() => tf.where(randn([4, 9]).gt(1.2), tf.tensor(NaN), randn([4, 9])));
        for (const f of [
          (t: Tensor) => t.sum(), (t: Tensor) => t.sum([0, 2]), (t: Tensor) => t.mean(1), (t: Tensor) => t.amax(0),
          (t: Tensor) => t.amin([1, 2]), (t: Tensor) => t.prod(2), (t: Tensor) => t.argmax(1), (t: Tensor) => t.argmin(),
          (t: Tensor) => t.var(2), (t: Tensor) => t.std(0, { correction: 0 }), (t: Tensor) => t.logsumexp(1),
          (t: Tensor) => t.gt(0.5).any(1), (t: Tensor) => t.gt(-2).all(0),
        ])
          check([x], f, 1e-5);
        for (const f of [(t: Tensor) => t.amax(1), (t: Tensor) => t.argmax(1), (t: Tensor) => t.argmin(0), (t: Tensor) => t.sum(1)])
          check([withNan], f, 1e-5);
        check([randn([3, 0])], (t) => t.sum(1), 0);
        check([tf.randint(-9, 9, [5, 8], { generator: g })], (t) => t.sum(1), 0);
      });

      it('softmax and logSoftmax along any dim, forward and backward', () => {
        setup();
        for (const dim of [0, 1, 2]) {
          check([randn([3, 17, 5], 'float64')], (t) => t.softmax(dim), 1e-12);
          check([randn([3, 17, 5])], (t) => t.logSoftmax(dim), 1e-5);
        }
        // Same inputs on both devices for the gradient comparison.
        const base = randn([4, 9, 3], 'float64');
        const grads = ['cpu', 'cuda'].map((d) =>
          tf.tidy(() => {
            const leaf = base.to(d as 'cpu').detach().requiresGrad_();
            leaf.logSoftmax(1).mul(leaf.softmax(2)).sum().backward();
            return leaf.grad!.cpu();
          }),
        );
        same(grads[1].cuda(), grads[0], 1e-12);
      });

      it('matmul: odd and prime sizes, transposes, broadcast batches, K = 0, batch-reduce gradients', () => {
        setup();
        for (const [m, k, n] of [[1, 1, 1], [37, 53, 29], [65, 17, 130], [3, 0, 4]]) {
          check([randn([m, k], 'float64'), randn([k, n], 'float64')], (a, b) => a.matmul(b), 1e-12);
          check([randn([k, m]), randn([n, k])], (a, b) => a.t().matmul(b.t()), 1e-5);
        }
        check([randn([2, 3, 9, 7], 'float64'), randn([3, 7, 5], 'float64')], (a, b) => a.matmul(b), 1e-12);
        // A weight shared across a batch: its gradient sums over the batch (C stride 0 in the kernel).
        const base = randn([4, 6, 5], 'float64'), w = randn([5, 3], 'float64');
        const grads = ['cpu', 'cuda'].map((d) =>
          tf.tidy(() => {
            const x = base.to(d as 'cpu').detach().requiresGrad_(), wt = w.to(d as 'cpu').detach().requiresGrad_();
            x.matmul(wt).square().sum().backward();
            return [x.grad!.cpu(), wt.grad!.cpu()];
          }),
        );
        same(grads[1][0].cuda(), grads[0][0], 1e-12);
        same(grads[1][1].cuda(), grads[0][1], 1e-12);
      });

      it('matmul on tensor cores (TF32, when allowed): within TF32 error of the float64 product, batched and transposed', () => {
        setup();
        tf.cuda.setAllowTF32(true);
        try {
          const cases: [Tensor, Tensor][] = [
            [randn([70, 45]), randn([45, 33])],
            [randn([1, 1]), randn([1, 17])],
            [randn([2, 3, 19, 40]), randn([3, 40, 21])],
            [randn([40, 19]).t(), randn([21, 40]).t()],
          ];
          let maxRel = 0;
          for (const [a, b] of cases) {
            const got = a.cuda().matmul(b.cuda()).cpu().double();
            const exact = a.double().matmul(b.double());
            const scale = a.double().abs().matmul(b.double().abs());  // sum_k |a_ik| |b_kj|
            const rel = got.sub(exact).abs().div(scale.add(1e-30)).amax().item();
            expect(rel).toBeLessThan(2 ** -10);
            maxRel = Math.max(maxRel, rel);
          }
          expect(maxRel).toBeGreaterThan(1e-6);  // TF32 rounding shows: the tensor-core path ran
          // The batch-reduce GEMM of a shared weight's gradient.
          const x = randn([4, 6, 5]), w = randn([5, 3]);
          const wl = w.cuda().detach().requiresGrad_();
          x.cuda().matmul(wl).sum().backward();
          const exact = x.double().reshape([24, 5]).t().matmul(tf.ones([24, 3], { dtype: 'float64' }));
          expect(wl.grad!.cpu().double().sub(exact).abs().amax().item()).toBeLessThan(1e-2);
        } finally {
          tf.cuda.setAllowTF32(false);
        }
        expect(tf.cuda.allowTF32()).toBe(false);
      });

      it('linear with the GEMM epilogue (bias, ReLU/GELU/SiLU), forward and backward', () => {
        setup();
        const x = randn([3, 7, 19], 'float64'), w = randn([13, 19], 'float64'), b = randn([13], 'float64');
        for (const activation of [null, 'relu', 'gelu', 'gelu-tanh', 'silu'] as const) {
          check([x, w, b], (xi, wi, bi) => tf.noGrad(() => tf.nn.functional.linear(xi, wi, bi, { activation })), 1e-12);
          const results = ['cpu', 'cuda'].map((d) =>
            tf.tidy(() => {
              const [xl, wl, bl] = [x, w, b].map((t) => t.to(d as 'cpu').detach().requiresGrad_());
              const y = tf.nn.functional.linear(xl, wl, bl, { activation });
              y.square().sum().backward();
              return [y.cpu(), xl.grad!.cpu(), wl.grad!.cpu(), bl.grad!.cpu()];
            }),
          );
          for (let i = 0; i < 4; i++) same(results[1][i].cuda(), results[0][i], 1e-10);
        }
      });

      it('float16 and bfloat16: casts, elementwise ops and reductions as on the CPU; matmul and linear on tensor cores', () => {
        setup();
        for (const d of ['float16', 'bfloat16'] as const) {
          // One unit in the last place: the device's float math may round a value near a 16-bit
          // boundary the other way; casts use the same conversions and must agree exactly.
          const ulp = d === 'float16' ? 2 ** -10 : 2 ** -7;
          const x = randn([9, 13]).to(d).t(), y = randn([13, 1]).to(d);
          check([tf.tensor([0, -0, 1.5, 65519, 65520, 1e-8, 6e-8, 3e38, NaN, -Infinity])], (t) => t.to(d), 0);
          check([x], (t) => t.to('float32'), 0);
          check([x], (t) => t.to('int32'), 0);
          check([randn([5, 4], 'float64')], (t) => t.to(d).to('float64'), 0);
          for (const f of [
            (t: Tensor) => t.exp(), (t: Tensor) => t.gelu(), (t: Tensor) => t.sigmoid(), (t: Tensor, u: Tensor) => t.mul(u).add(1.25),
            (t: Tensor, u: Tensor) => t.maximum(u), (t: Tensor, u: Tensor) => tf.where(t.gt(0), t, u), (t: Tensor) => t.sum(1),
            (t: Tensor) => t.amax(0), (t: Tensor) => t.softmax(1), (t: Tensor) => t.clone().fill_(0.1),
          ])
            check([x, y], f, ulp);
          check([x, y], (t, u) => t.gt(u), 0);
          // Gradients through 16-bit elementwise ops reach float32 leaves.
          const base = randn([13, 9]);
          const grads = ['cpu', 'cuda'].map((dev) =>
            tf.tidy(() => {
              const leaf = base.to(dev as 'cpu').detach().requiresGrad_();
              leaf.to(d).tanh().mul(leaf.to(d)).sum().backward();
              return leaf.grad!.cpu();
            }),
          );
          same(grads[1].cuda(), grads[0], 2 * ulp);
          // matmul: within the 16-bit rounding of the result plus float32 accumulation error of the
          // float64 product of the same 16-bit inputs; tiles with edges, batches, transposes, K = 0.
          const cases: [Tensor, Tensor][] = [
            [randn([70, 45]), randn([45, 33])],
            [randn([1, 1]), randn([1, 17])],
            [randn([2, 3, 19, 40]), randn([3, 40, 21])],
            [randn([40, 19]).t(), randn([21, 40]).t()],
            [randn([3, 0]), randn([0, 4])],
          ];
          for (const [a32, b32] of cases) {
            const a = a32.to(d), b = b32.to(d);
            const got = a.cuda().matmul(b.cuda());
            expect(got.dtype).toBe(d);
            const exact = a.double().matmul(b.double());
            const bound = exact.abs().mul(ulp).add(a.double().abs().matmul(b.double().abs()).mul(1e-6));
            expect(got.cpu().double().sub(exact).abs().sub(bound).amax().item()).toBeLessThanOrEqual(0);
          }
          // The linear epilogue (bias, GELU) and the batch-reduce gradient of a shared weight.
          const xi = randn([3, 7, 19]).to(d), wi = randn([13, 19]).to(d), bi = randn([13]).to(d);
          const lin = tf.nn.functional.linear(xi.cuda(), wi.cuda(), bi.cuda(), { activation: 'gelu' });
          const ref = tf.nn.functional.linear(xi.double(), wi.double(), bi.double(), { activation: 'gelu' });
          expect(lin.cpu().double().sub(ref).abs().sub(ref.abs().mul(2 * ulp).add(1e-3)).amax().item()).toBeLessThanOrEqual(0);
          const wl = randn([19, 3]).to(d).cuda().requiresGrad_();
          xi.cuda().matmul(wl).sum().backward();
          const gw = xi.double().reshape([21, 19]).t().matmul(tf.ones([21, 3], { dtype: 'float64' }));
          expect(wl.grad!.dtype).toBe(d);
          expect(wl.grad!.cpu().double().sub(gw).abs().sub(gw.abs().mul(ulp).add(1e-3)).amax().item()).toBeLessThanOrEqual(0);
        }
      });

      it('cross-entropy (ignoreIndex) forward and backward', () => {
        setup();
        const logits = randn([13, 7], 'float64'), target = tf.tensor(new Int32Array([0, 6, 3, -100, 2, 2, 5, 1, 0, 4, -100, 6, 3]));
        const results = ['cpu', 'cuda'].map((d) =>
          tf.tidy(() => {
            const x = logits.to(d as 'cpu').detach().requiresGrad_();
            const loss = tf.nn.functional.crossEntropy(x, target.to(d as 'cpu'), { ignoreIndex: -100 });
            loss.backward();
            return [loss.cpu(), x.grad!.cpu()];
          }),
        );
        same(results[1][0].cuda(), results[0][0], 1e-12);
        same(results[1][1].cuda(), results[0][1], 1e-12);
        expect(() => tf.nn.functional.crossEntropy(logits.cuda(), tf.tensor(new Int32Array(13).fill(7)).cuda())).toThrow(/out of bounds/);
      });

      it('seeded random tensors equal the CPU ones (one generator for every device)', () => {
        setup();
        for (const init of [(t: Tensor) => tf.nn.init.normal_(t, 0, 1, { generator: new tf.Generator(3) }),
          (t: Tensor) => tf.nn.init.uniform_(t, -2, 2, { generator: new tf.Generator(4) })]) {
          const cpu = init(tf.zeros([5, 7])), gpu = init(tf.zeros([5, 7], { device: 'cuda' }));
          same(gpu, cpu, 0);
        }
      });

      it('indexing: indexSelect, indexAdd, gather, scatterAdd and embeddings, with repeated indices', () => {
        setup();
        const x = randn([6, 5, 4], 'float64'), idx = tf.tensor(new Int32Array([4, 0, 4, 2]));
        check([x, idx], (t, i) => t.indexSelect(1, i), 0);
        check([x, idx, randn([6, 4, 4], 'float64')], (t, i, src) => t.clone().indexAdd(1, i, src, { alpha: 0.5 }), 1e-12);
        const gi = tf.randint(0, 5, [6, 3, 4], { generator: g });
        check([x, gi], (t, i) => t.gather(1, i), 0);
        check([tf.zeros([6, 5, 4], { dtype: 'float64' }), gi, randn([6, 3, 4], 'float64')], (t, i, src) => t.scatterAdd(1, i, src), 1e-12);
        const grads = ['cpu', 'cuda'].map((d) =>
          tf.tidy(() => {
            tf.manualSeed(3);
            const emb = new tf.nn.Embedding(11, 6).to(d as 'cpu');
            emb.forward(tf.tensor(new Int32Array([3, 3, 10, 0, 3])).to(d as 'cpu')).square().sum().backward();
            return emb.weight.grad!.cpu();
          }),
        );
        same(grads[1].cuda(), grads[0], 1e-6);
      });

      it('convolution with a fused activation (implicit GEMM and depthwise kernels), and its ReLU gradient', () => {
        setup();
        const cases: [number[], number[], tf.ConvOptions][] = [
          [[2, 3, 9, 7], [4, 3, 3, 2], { padding: 1 }],
          [[1, 4, 11, 10], [6, 2, 3, 3], { stride: 2, dilation: 2, groups: 2, padding: [2, 1] }],
          [[2, 5, 9, 11], [5, 1, 3, 3], { padding: 1, groups: 5 }], // depthwise
        ];
        for (const [xs, ws, opts] of cases) {
          const x = randn(xs, 'float64'), w = randn(ws, 'float64'), b = randn([ws[0]], 'float64');
          for (const activation of ['relu', 'gelu', 'gelu-tanh', 'silu'] as const)
            check([x, w, b], (xi, wi, bi) => tf.noGrad(() => tf.conv2d(xi, wi, bi, { ...opts, activation })), 1e-12);
          const results = ['cpu', 'cuda'].map((d) =>
            tf.tidy(() => {
              const xl = x.to(d as 'cpu').detach().requiresGrad_(), wl = w.to(d as 'cpu').detach().requiresGrad_();
              const bl = b.to(d as 'cpu').detach().requiresGrad_();
              const y = tf.conv2d(xl, wl, bl, { ...opts, activation: 'relu' });
              y.square().sum().backward();
              return [y.cpu(), xl.grad!.cpu(), wl.grad!.cpu(), bl.grad!.cpu()];
            }),
          );
          for (let k = 0; k < 4; k++) same(results[1][k].cuda(), results[0][k], 1e-10);
        }
      });

      it('convolution (im2col + GEMM), pooling and their gradients, odd sizes, strides, dilation, groups', () => {
        setup();
        const cases: [number[], number[], tf.ConvOptions][] = [
          [[2, 3, 9, 7], [4, 3, 3, 2], { padding: 1 }],
          [[1, 4, 11, 10], [6, 2, 3, 3], { stride: 2, dilation: 2, groups: 2, padding: [2, 1] }],
          [[2, 1, 8, 8], [5, 1, 5, 5], { padding: 'same' }],
          [[2, 5, 9, 11], [5, 1, 3, 3], { padding: 1, groups: 5 }],                                  // depthwise
          [[1, 3, 10, 9], [3, 1, 5, 3], { stride: [2, 1], dilation: [1, 2], padding: [2, 1], groups: 3 }], // depthwise, strided, dilated
        ];
        for (const [xs, ws, opts] of cases) {
          const x = randn(xs, 'float64'), w = randn(ws, 'float64'), b = randn([ws[0]], 'float64');
          const results = ['cpu', 'cuda'].map((d) =>
            tf.tidy(() => {
              const xl = x.to(d as 'cpu').detach().requiresGrad_(), wl = w.to(d as 'cpu').detach().requiresGrad_();
              const bl = b.to(d as 'cpu').detach().requiresGrad_();
              const y = tf.conv2d(xl, wl, bl, opts);
              y.square().sum().backward();
              return [y.cpu(), xl.grad!.cpu(), wl.grad!.cpu(), bl.grad!.cpu()];
            }),
          );
          for (let k = 0; k < 4; k++) same(results[1][k].cuda(), results[0][k], 1e-10);
        }
        const x = randn([2, 3, 9, 11], 'float64');
        const pools: ((t: Tensor) => Tensor)[] = [
          (t) => tf.maxPool2d(t, 3, { stride: 2, padding: 1 }),
          (t) => tf.maxPool2d(t, 2, { dilation: 2, ceilMode: true }),
          (t) => tf.avgPool2d(t, 3, { stride: 2, padding: 1, countIncludePad: false }),
          (t) => tf.avgPool2d(t, [2, 3], { ceilMode: true }),
          (t) => tf.adaptiveAvgPool2d(t, [4, 3]),
          (t) => tf.adaptiveMaxPool2d(t, [4, 3]),
          (t) => tf.adaptiveMaxPool2d(t, [11, 5]), // windows sharing inputs: the backward accumulates
        ];
        for (const f of pools) {
          const results = ['cpu', 'cuda'].map((d) =>
            tf.tidy(() => {
              const xl = x.to(d as 'cpu').detach().requiresGrad_();
              const y = f(xl);
              y.mul(y).sum().backward();
              return [y.cpu(), xl.grad!.cpu()];
            }),
          );
          same(results[1][0].cuda(), results[0][0], 1e-12);
          same(results[1][1].cuda(), results[0][1], 1e-12);
        }
      });

      it('fused attention forward and backward: masks, causality, odd lengths, wide heads, rows that attend to nothing', () => {
        setup();
        const cases: { L: number; S: number; E: number; Ev: number; causal?: boolean; mask?: 'bool' | 'add' | 'none-attend' }[] = [
          { L: 37, S: 53, E: 17, Ev: 9 },
          { L: 70, S: 70, E: 8, Ev: 8, causal: true },
          { L: 5, S: 33, E: 6, Ev: 3, mask: 'bool' },
          { L: 9, S: 7, E: 4, Ev: 5, mask: 'add' },
          { L: 6, S: 5, E: 3, Ev: 2, mask: 'none-attend' },
          { L: 3, S: 4, E: 300, Ev: 200 },  // wider than a shared-memory tile: read in place
        ];
        for (const c of cases) {
          const q = randn([2, 3, c.L, c.E], 'float64'), k = randn([2, 3, c.S, c.E], 'float64'), v = randn([2, 3, c.S, c.Ev], 'float64');
          let mask: Tensor | undefined;
          if (c.mask === 'bool') mask = randn([c.L, c.S]).gt(-0.5);
          if (c.mask === 'add') mask = randn([3, c.L, c.S], 'float64');
          if (c.mask === 'none-attend') mask = tf.tidy(() => randn([c.L, c.S]).gt(0).logicalAnd(tf.arange(c.L).reshape([c.L, 1]).ne(2)));
          const results = ['cpu', 'cuda'].map((d) =>
            tf.tidy(() => {
              const [ql, kl, vl] = [q, k, v].map((t) => t.to(d as 'cpu').detach().requiresGrad_());
              const y = tf.nn.functional.scaledDotProductAttention(ql, kl, vl, { isCausal: c.causal, attnMask: mask?.to(d as 'cpu') });
              tf.where(y.ne(y), 0, y).square().sum().backward();
              return [y.cpu(), ql.grad!.cpu(), kl.grad!.cpu(), vl.grad!.cpu()];
            }),
          );
          for (let i = 0; i < 4; i++) same(results[1][i].cuda(), results[0][i], 1e-10);
        }
      });

      it('layer norm and batch norm, training and eval, forward and backward', () => {
        setup();
        const x = randn([5, 3, 7], 'float64');
        const f64 = { dtype: 'float64' as const };
        const mods = [() => new tf.nn.LayerNorm(7, f64), () => new tf.nn.LayerNorm([3, 7], { elementwiseAffine: false, ...f64 }), () => new tf.nn.BatchNorm1d(3, f64)];
        for (const make of mods) {
          for (const training of [true, false]) {
            const results = ['cpu', 'cuda'].map((d) =>
              tf.tidy(() => {
                tf.manualSeed(5);
                const m = make();
                for (const p of m.parameters()) tf.noGrad(() => p.copy_(tf.randn(p.shape, { dtype: 'float64', generator: new tf.Generator(7) })));
                m.to(d as 'cpu');
                if (!training) m.eval();
                const xl = x.to(d as 'cpu').detach().requiresGrad_();
                const y = m.forward(xl) as Tensor;
                y.mul(y).sum().backward();
                return [y.cpu(), xl.grad!.cpu(), ...m.buffers().map((b) => b.cpu())];
              }),
            );
            for (let k = 0; k < results[0].length; k++) same(results[1][k].cuda(), results[0][k], 1e-10);
          }
        }
      });

      it('RNN, LSTM (with projection) and GRU: outputs, states and every gradient, bidirectional, 2 layers', () => {
        setup();
        const makers: [string, () => tf.nn.Module][] = [
          ['rnn-tanh', () => new tf.nn.RNN(5, 7, { numLayers: 2, bidirectional: true, dtype: 'float64' })],
          ['rnn-relu', () => new tf.nn.RNN(5, 6, { nonlinearity: 'relu', dtype: 'float64' })],
          ['lstm', () => new tf.nn.LSTM(5, 6, { numLayers: 2, dtype: 'float64' })],
          ['lstm-proj', () => new tf.nn.LSTM(5, 6, { projSize: 3, bidirectional: true, dtype: 'float64' })],
          ['gru', () => new tf.nn.GRU(5, 6, { numLayers: 2, bidirectional: true, batchFirst: true, dtype: 'float64' })],
        ];
        // Each layer with a full batch, and with variable lengths (packed-sequence semantics).
        const runs = makers.flatMap(([name, make]) => [
          [name, make, null] as const,
          [`${name} with lengths`, make, name === 'gru' ? [3, 1, 2, 3] : [4, 1, 3]] as const,
        ]);
        for (const [name, make, lengths] of runs) {
          const x = randn([4, 3, 5], 'float64');
          const results = ['cpu', 'cuda'].map((d) =>
            tf.tidy(() => {
              tf.manualSeed(9);
              const m = make().to(d as 'cpu');
              const xl = x.to(d as 'cpu').detach().requiresGrad_();
              const [out, state] = (m as tf.nn.LSTM).forward(xl, null, { lengths }) as [Tensor, Tensor | [Tensor, Tensor]];
              const states = Array.isArray(state) ? state : [state];
              let loss = out.square().sum();
              for (const s of states) loss = loss.add(s.sum());
              loss.backward();
              return [out.cpu(), ...states.map((s) => s.cpu()), xl.grad!.cpu(), ...m.parameters().map((p) => p.grad!.cpu())];
            }),
          );
          expect(results[1].length, name).toBe(results[0].length);
          for (let i = 0; i < results[0].length; i++) same(results[1][i].cuda(), results[0][i], 1e-10);
        }
      });

      it('trains an MLP with every optimizer like the CPU does', () => {
        setup();
        const x = randn([32, 10]), y = tf.randint(0, 4, [32], { generator: g });
        const losses: number[][] = [];
        for (const device of ['cpu', 'cuda'] as const) {
          tf.manualSeed(11);
          const model = new tf.nn.Sequential(new tf.nn.Linear(10, 16), new tf.nn.ReLU(), new tf.nn.Linear(16, 4)).to(device);
          const optims = [
            new tf.optim.AdamW(model.parameters(), { lr: 0.01 }),
            new tf.optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true }),
            new tf.optim.Adam(model.parameters(), { lr: 0.01, amsgrad: true, weightDecay: 0.01 }),
            new tf.optim.RMSprop(model.parameters(), { lr: 0.01, centered: true, momentum: 0.5 }),
            new tf.optim.Adagrad(model.parameters(), { lr: 0.05 }),
          ];
          const xs = x.to(device), ys = y.to(device);
          const run: number[] = [];
          for (let step = 0; step < 10; step++) {
            const opt = optims[step % optims.length];
            tf.tidy(() => {
              opt.zeroGrad();
              const loss = tf.nn.functional.crossEntropy(model.forward(xs) as Tensor, ys);
              loss.backward();
              opt.step();
              run.push(loss.item());
            });
          }
          losses.push(run);
        }
        for (let i = 0; i < losses[0].length; i++) expect(losses[1][i]).toBeCloseTo(losses[0][i], 5);
        expect(losses[1][9]).toBeLessThan(losses[1][0]);
      });
    });
  }
});
