// float16 and bfloat16: rounding (native casts against lib/half.ts and against exact arithmetic),
// type promotion, elementwise ops and matmul computed in float32 and rounded once, the ops that run
// through float32 copies (ops/half_fallback.ts), gradients through casts, modules, saving, errors.
import { describe, expect, it } from 'vitest';
import * as tf from '../lib';
import type { Tensor } from '../lib';
import { fromBF16Bits, fromF16Bits, toBF16Bits, toF16Bits } from '../lib/half';

const HALF = ['float16', 'bfloat16'] as const;
type Half = (typeof HALF)[number];

// 16-bit results against the float32 op rounded: equal up to one unit in the last place (the float32
// paths may sum or vectorise in another order, and a value near a rounding boundary then rounds the
// other way).
function close16(d: Half, got: Tensor, want: Tensor, what = ''): void {
  expect(got.dtype, what).toBe(d);
  expect(got.shape, what).toEqual(want.shape);
  const a = got.dataSync(), b = want.dataSync();
  const ulp = d === 'float16' ? 2 ** -10 : 2 ** -7, tiny = d === 'float16' ? 2 ** -24 : 2 ** -133;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(b[i])) expect(Number.isNaN(a[i]), `${what} element ${i}`).toBe(true);
    else expect(Math.abs(a[i] - b[i]), `${what} element ${i}: ${a[i]} vs ${b[i]}`).toBeLessThanOrEqual(ulp * Math.abs(b[i]) + tiny);
  }
}

// The bits native storage holds.
const bits = (t: Tensor): Uint16Array => t._rawSync('test') as Uint16Array;
const fromBits = (d: Half, b: number): number => (d === 'float16' ? fromF16Bits(b) : fromBF16Bits(b));
const toBits = (d: Half, v: number): number => (d === 'float16' ? toF16Bits(v) : toBF16Bits(v));

// float32 values from raw bit patterns.
function floatsFromBits(u: Uint32Array): Float32Array {
  return new Float32Array(u.buffer);
}

// Exact round-to-nearest-even of a float32 value to the 16-bit format, from first principles
// (the value as a multiple of the format's spacing at its exponent); NaN is returned as NaN.
function roundExact(d: Half, v: number): number {
  if (Number.isNaN(v) || !Number.isFinite(v)) return v;
  const [mant, emin, max] = d === 'float16' ? [10, -14, 65504] : [7, -126, 3.3895313892515355e38];
  if (v === 0) return v;
  const a = Math.abs(v);
  const e = Math.max(Math.floor(Math.log2(a)), emin);
  const ulp = 2 ** (e - mant);
  const q = a / ulp, fl = Math.floor(q), frac = q - fl;
  let r = frac > 0.5 || (frac === 0.5 && fl % 2 === 1) ? fl + 1 : fl;
  r *= ulp;
  // Past the largest finite value by half an ulp or more: infinity.
  const top = 2 ** (Math.floor(Math.log2(max)) - mant);
  if (r > max || a >= max + top / 2) r = Infinity;
  return v < 0 ? -r : r;
}

describe('16-bit floats: rounding', () => {
  it('every 16-bit pattern widens exactly and narrows back to itself (native and JS agree)', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    for (const d of HALF) {
      const t = tf.tensor(Array.from(all, (b) => fromBits(d, b)), { dtype: 'float32' });
      const h = t.to(d);
      const back = bits(h);
      const wide = h.float().dataSync();
      for (let b = 0; b < 65536; b++) {
        const v = fromBits(d, b);
        if (Number.isNaN(v)) {
          expect(Number.isNaN(wide[b])).toBe(true);
          continue;
        }
        expect(back[b], `${d} bits ${b.toString(16)}`).toBe(b);
        expect(Object.is(wide[b], Math.fround(v))).toBe(true);
      }
      tf.dispose([t, h]);
    }
  });

  it('float32 to 16 bits rounds to nearest, ties to even, like exact arithmetic (random bits, subnormals, ties, overflow)', () => {
    const n = 40000;
    const u = new Uint32Array(n);
    let s = 12345;
    const next = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < n; i++) u[i] = (next() << 16) ^ next();
    const specials = [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x00000001, 0x33800000, 0x33000000, 0x33000001,
      0x387fe000, 0x38800000, 0x477fe000, 0x477ff000, 0x477fefff, 0x3f801000, 0x3f803000, 0x3f808000, 0x3f818000, 0x7f7fffff];
    u.set(specials, 0);
    const f = floatsFromBits(u);
    // Also values near the float16 subnormal range, where most random bit patterns never land.
    for (let i = specials.length; i < 4000; i++) f[i] = (next() / 2 ** 32 - 0.5) * 2 ** -12;
    const t = tf.tensor(f);
    for (const d of HALF) {
      const got = bits(t.to(d));
      for (let i = 0; i < n; i++) {
        const want = roundExact(d, f[i]);
        const g = fromBits(d, got[i]);
        if (Number.isNaN(want)) expect(Number.isNaN(g)).toBe(true);
        else expect(Object.is(g, want), `${d}: ${f[i]} (bits ${u[i].toString(16)}) -> ${g}, want ${want}`).toBe(true);
        expect(got[i]).toBe(toBits(d, f[i]));  // the JS conversion gives the same bits
      }
    }
    t.dispose();
  });

  it('casts between every dtype; float64 goes through float32 as PyTorch does', () => {
    const vals = [0, -0, 1.5, -2.75, 65519, 65520, 1e-8, 3e38, NaN, Infinity, 7.9e-8];
    for (const d of HALF) {
      const h = tf.tensor(vals, { dtype: d });
      expect(h.dtype).toBe(d);
      expect(Array.from(h.dataSync())).toEqual(vals.map((v) => roundExact(d, Math.fround(v))));
      expect(h.to('float64').toArray()).toEqual(vals.map((v) => roundExact(d, Math.fround(v))));
      expect(tf.tensor([1.7, -2.5, 0, 3], { dtype: d }).to('int32').toArray()).toEqual([1, -2, 0, 3]);
      expect(tf.tensor([0, 0.5, -1], { dtype: d }).to('bool').toArray()).toEqual([false, true, true]);
      expect(tf.tensor(Int32Array.of(3, -70000, 16777217)).to(d).toArray()).toEqual([3, -70000, 16777217].map((v) => roundExact(d, Math.fround(v))));
      expect(tf.tensor(Float64Array.of(1 / 3)).to(d).item()).toBe(roundExact(d, Math.fround(1 / 3)));
      expect(tf.tensor([2.5], { dtype: d }).item()).toBe(2.5);
    }
    expect(tf.tensor([1 + 2 ** -9], { dtype: 'bfloat16' }).to('float16').item()).toBe(1);  // bf16 has no such value
  });
});

describe('16-bit floats: ops', () => {
  const g = new tf.Generator(7);

  it('promotes like PyTorch', () => {
    const h = tf.ones([2], { dtype: 'float16' }), b = tf.ones([2], { dtype: 'bfloat16' });
    expect(h.add(b).dtype).toBe('float32');
    expect(h.add(tf.ones([2])).dtype).toBe('float32');
    expect(h.add(tf.ones([2], { dtype: 'int32' })).dtype).toBe('float16');
    expect(b.mul(2.5).dtype).toBe('bfloat16');
    expect(h.gt(0).dtype).toBe('bool');
    expect(b.sum().dtype).toBe('bfloat16');
    expect(b.argmax().dtype).toBe('int32');
  });

  it('elementwise ops compute in float32 and round once: the bits of the float32 op, rounded', () => {
    for (const d of HALF) {
      const x = tf.randn([9, 13], { generator: g }).to(d).t();  // transposed: strided kernels
      const y = tf.randn([13], { generator: g }).to(d);
      const pos = x.abs().add(0.25);
      const un: ((t: Tensor) => Tensor)[] = [
        (t) => t.neg(), (t) => t.abs(), (t) => t.exp(), (t) => t.tanh(), (t) => t.sigmoid(), (t) => t.relu(), (t) => t.gelu(),
        (t) => t.silu(), (t) => t.sin(), (t) => t.clamp(-0.5, 0.7), (t) => t.square(), (t) => t.round(), (t) => t.mul(1.37),
        (t) => t.add(y.reshape([13, 1])), (t) => t.div(y.reshape([13, 1]).abs().add(0.5)), (t) => t.maximum(y.reshape([13, 1])),
        (t) => tf.where(t.gt(0), t, y.reshape([13, 1])),
      ];
      // The float32 op on the same strided layout runs the same loop: the same bits.
      const xf = x.float().t().contiguous().t(), yf = y.float();
      for (const [i, f] of un.entries()) {
        const got = f(x), want = f(xf).to(d);
        void yf;
        expect(got.dtype).toBe(d);
        close16(d, got, want, `unary ${i}`);
      }
      for (const f of [(t: Tensor) => t.log(), (t: Tensor) => t.sqrt(), (t: Tensor) => t.rsqrt(), (t: Tensor) => t.pow(1.7)]) {
        close16(d, f(pos), f(pos.float()).to(d));
      }
      // Reductions sum in float32 and round once.
      for (const f of [(t: Tensor) => t.sum(1), (t: Tensor) => t.mean(), (t: Tensor) => t.amax(0), (t: Tensor) => t.var(1), (t: Tensor) => t.logsumexp(1)]) {
        close16(d, f(x), f(x.float()).to(d));
      }
      expect(x.argmax(1).toArray()).toEqual(x.float().argmax(1).toArray());
      // In place, and zero-sized.
      const z = x.clone();
      z.mul_(2).add_(1);
      close16(d, z, x.float().mul(2).to(d).float().add(1).to(d));
      expect(tf.zeros([0, 3], { dtype: d }).add(1).shape).toEqual([0, 3]);
    }
  });

  it('matmul: float32 accumulation, rounded once; transposes, batches, batch-reduce gradients, the linear epilogue', () => {
    for (const d of HALF) {
      for (const [m, k, n] of [[1, 7, 5], [37, 53, 29], [64, 1, 3], [5, 0, 4]]) {
        const a = tf.randn([m, k], { generator: g }).to(d), b = tf.randn([n, k], { generator: g }).to(d).t();
        close16(d, a.matmul(b), a.float().matmul(b.float()).to(d), `${m}x${k}x${n}`);
      }
      const a = tf.randn([2, 3, 9, 7], { generator: g }).to(d), b = tf.randn([3, 7, 5], { generator: g }).to(d);
      close16(d, a.matmul(b), a.float().matmul(b.float()).to(d));
      const x = tf.randn([4, 6, 19], { generator: g }).to(d), w = tf.randn([13, 19], { generator: g }).to(d), bias = tf.randn([13], { generator: g }).to(d);
      for (const activation of [null, 'relu', 'gelu', 'silu'] as const) {
        const got = tf.nn.functional.linear(x, w, bias, { activation });
        const want = tf.nn.functional.linear(x.float(), w.float(), bias.float(), { activation }).to(d);
        close16(d, got, want, String(activation));
      }
      // A shared weight's gradient: the batch-reduce GEMM (C stride 0 over the batch).
      const wl = tf.randn([19, 3], { generator: g }).to(d).requiresGrad_();
      x.matmul(wl).sum().backward();
      const exact = x.double().reshape([24, 19]).t().matmul(tf.ones([24, 3], { dtype: 'float64' }));
      const gw = wl.grad!;
      expect(gw.dtype).toBe(d);
      expect(gw.double().sub(exact).abs().amax().item()).toBeLessThanOrEqual(exact.abs().amax().item() * 2 ** -7);
    }
  });

  it('ops without 16-bit kernels run on float32 copies and give the float32 result, rounded', () => {
    for (const d of HALF) {
      const img = tf.randn([2, 3, 9, 8], { generator: g }).to(d);
      const w = tf.randn([4, 3, 3, 3], { generator: g }).to(d), bias = tf.randn([4], { generator: g }).to(d);
      const cases: [string, () => Tensor, () => Tensor][] = [
        ['softmax', () => img.softmax(3), () => img.float().softmax(3)],
        ['conv2d', () => tf.nn.functional.conv2d(img, w, bias, { padding: 1, stride: 2 }), () => tf.nn.functional.conv2d(img.float(), w.float(), bias.float(), { padding: 1, stride: 2 })],
        ['maxPool2d', () => tf.nn.functional.maxPool2d(img, 2), () => tf.nn.functional.maxPool2d(img.float(), 2)],
        ['avgPool2d', () => tf.nn.functional.avgPool2d(img, 3, { stride: 2 }), () => tf.nn.functional.avgPool2d(img.float(), 3, { stride: 2 })],
        ['layerNorm', () => tf.nn.functional.layerNorm(img, [8]), () => tf.nn.functional.layerNorm(img.float(), [8])],
        ['sdpa', () => tf.nn.functional.scaledDotProductAttention(img, img, img, { isCausal: true }), () => tf.nn.functional.scaledDotProductAttention(img.float(), img.float(), img.float(), { isCausal: true })],
        ['crossEntropy', () => tf.nn.functional.crossEntropy(img.reshape([6, 72]), tf.tensor(Int32Array.of(0, 5, 71, 3, 2, 9))), () => tf.nn.functional.crossEntropy(img.float().reshape([6, 72]), tf.tensor(Int32Array.of(0, 5, 71, 3, 2, 9)))],
        ['indexSelect', () => img.indexSelect(2, tf.tensor(Int32Array.of(8, 0, 0))), () => img.float().indexSelect(2, tf.tensor(Int32Array.of(8, 0, 0)))],
      ];
      // Exactly the float32 op on the widened inputs, rounded: the same bits.
      for (const [name, f16, f32] of cases) {
        const got = f16(), want = f32().to(d);
        expect(got.dtype, name).toBe(d);
        expect(Array.from(bits(got)), name).toEqual(Array.from(bits(want)));
      }
    }
  });

  it('gradients flow through casts and 16-bit ops back to float32 leaves', () => {
    for (const d of HALF) {
      const x0 = tf.randn([5, 8], { generator: g });
      const w = tf.randn([8, 3], { generator: g });
      const run = (dt: 'float32' | Half): Tensor => {
        const x = x0.clone().requiresGrad_();
        x.to(dt).matmul(w.to(dt)).softmax(1).mul(tf.arange(3).to(dt)).sum().backward();
        return x.grad!;
      };
      const g16 = run(d), g32 = run('float32');
      expect(g16.dtype).toBe('float32');
      expect(g16.sub(g32).abs().amax().item()).toBeLessThan(d === 'float16' ? 3e-3 : 3e-2);
      // The cast's own gradient is the identity, cast back.
      const leaf = tf.randn([4], { generator: g }).requiresGrad_();
      leaf.to(d).mul(tf.tensor([1, 2, 3, 4], { dtype: d })).sum().backward();
      expect(leaf.grad!.toArray()).toEqual([1, 2, 3, 4]);
    }
  });

  it('random tensors: the float32 draws, rounded', () => {
    const a = tf.randn([6, 5], { dtype: 'bfloat16', generator: new tf.Generator(3) });
    const b = tf.randn([6, 5], { generator: new tf.Generator(3) }).to('bfloat16');
    expect(Array.from(bits(a))).toEqual(Array.from(bits(b)));
    expect(tf.rand([3], { dtype: 'float16' }).dtype).toBe('float16');
  });
});

describe('16-bit floats: modules, saving, errors', () => {
  it('module.to(dtype), half() and bfloat16() cast floating parameters and buffers in place', () => {
    const m = new tf.nn.Sequential(new tf.nn.Linear(5, 4), new tf.nn.BatchNorm1d(4), new tf.nn.ReLU(), new tf.nn.Linear(4, 2));
    const params = m.parameters();
    const x = tf.randn([3, 5]);
    const want = m.forward(x) as Tensor;
    m.bfloat16();
    expect(m.parameters()).toEqual(params);  // identity kept
    for (const p of m.parameters()) expect(p.dtype).toBe('bfloat16');
    const bn = m.layers[1];
    const buffers = [...bn.namedBuffers()];
    for (const [name, t] of buffers) expect(t.dtype, name).toBe(name === 'numBatchesTracked' ? 'int32' : 'bfloat16');
    const got = m.forward(x.bfloat16()) as Tensor;
    expect(got.dtype).toBe('bfloat16');
    expect(got.float().sub(want).abs().amax().item()).toBeLessThan(0.1);
    // Training-mode batch norm updates its bfloat16 running statistics.
    const runningMean = new Map(buffers).get('runningMean')!;
    expect(runningMean.abs().sum().item()).toBeGreaterThan(0);
    // 16-bit running statistics alone leave a float32 input's result float32.
    const bn2 = new tf.nn.BatchNorm1d(4);
    (bn2 as unknown as { runningMean: Tensor }).runningMean = tf.zeros([4], { dtype: 'bfloat16' });
    const before = bn2.forward(tf.randn([5, 4]).add(3));
    expect(before.dtype).toBe('float32');
    expect((bn2 as unknown as { runningMean: Tensor }).runningMean.dtype).toBe('bfloat16');
    expect((bn2 as unknown as { runningMean: Tensor }).runningMean.amin().item()).toBeGreaterThan(0.1);
    m.float();
    for (const p of m.parameters()) expect(p.dtype).toBe('float32');
    expect(() => m.to('int32')).toThrow(/Module\.to: expected a floating dtype, got int32/);
  });

  it('safetensors F16 / BF16 round trip bit for bit', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const p = path.join(mkdtempSync(path.join(tmpdir(), 'tf-half-')), 'h.safetensors');
    const src = { a: tf.randn([3, 4]).half(), b: tf.randn([5]).bfloat16(), c: tf.randn([2, 3]).half().t() };
    tf.save(src, p);
    const back = tf.load(p);
    for (const k of ['a', 'b', 'c'] as const) {
      expect(back[k].dtype).toBe(src[k].dtype);
      expect(back[k].shape).toEqual(src[k].shape);
      expect(Array.from(bits(back[k]))).toEqual(Array.from(bits(src[k])));
    }
  });

  it('optimizers refuse 16-bit parameters, and an op without a 16-bit path names itself', () => {
    const p = tf.zeros([3], { dtype: 'float16', requiresGrad: true });
    expect(() => new tf.optim.SGD([p], { lr: 0.1 })).toThrow(/SGD: can only optimize float32 or float64 tensors, got float16/);
    const lstm = new tf.nn.LSTM(3, 4);
    lstm.half();
    expect(() => lstm.forward(tf.zeros([2, 1, 3], { dtype: 'float16' }))).toThrow(/no float16 kernel \(compute in float32: \.float\(\)\)/);
  });
});

// bfloat16 products on each kernel this CPU runs (gemm_bf16.cpp): 'amx' (AMX tiles), 'dot'
// (AVX512-BF16 dot products), 'widen' (float32 copies): against the float32 product of the same
// values, rounded once. Sizes cross each kernel's tiles and blocks (AMX: 32 x 32 tiles, K in 32s and
// blocks of 1536; dot: 12 x 32, K in pairs and blocks of 768); full tiles with K past a block take
// the path that keeps C in the tiles between blocks; 700 rows are several blocks of A's rows sharing
// one packing of B.
describe('bfloat16 matmul kernels', () => {
  // One bfloat16 rounding of each element, plus float32 summation in another order: bounded by the
  // output's largest magnitude, so a sum of many terms that nearly cancels is not held to 2^-7 of
  // itself (a wrong tile or K block is off by the order of the outputs).
  const closeSum = (got: Tensor, want: Tensor, what: string): void => {
    expect(got.dtype, what).toBe('bfloat16');
    expect(got.shape, what).toEqual(want.shape);
    const a = got.dataSync(), b = want.dataSync();
    let scale = 0;
    for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
    for (let i = 0; i < a.length; i++)
      expect(Math.abs(a[i] - b[i]), `${what} element ${i}: ${a[i]} vs ${b[i]}`).toBeLessThanOrEqual(2 ** -7 * Math.abs(b[i]) + 2 ** -16 * scale);
  };
  const gk = new tf.Generator(77);
  const d = 'bfloat16' as const;
  const levels = tf.cpuKernelLevels();
  const level0 = tf.cpuKernelLevel();
  it('every kernel on every level: odd and block-crossing sizes, transposes, batches, the linear epilogue, threads', () => {
    try {
      for (const level of levels) {
        tf.setCpuKernelLevel(level);
        expect(tf.bf16MatmulKernels()).toContain('widen');
        for (const kernel of tf.bf16MatmulKernels()) {
          tf.setBf16MatmulKernel(kernel as 'widen');
          expect(tf.bf16MatmulKernel()).toBe(kernel);
          const what = `${level} ${kernel}`;
          for (const [m, k, n] of [[2, 3, 2], [5, 77, 64], [37, 53, 29], [64, 1600, 96], [33, 1601, 65], [70, 31, 1000], [700, 40, 70]]) {
            for (const [ta, tb] of [[false, false], [true, false], [false, true]]) {
              const a = ta ? tf.randn([k, m], { generator: gk }).to(d).t() : tf.randn([m, k], { generator: gk }).to(d);
              const b = tb ? tf.randn([n, k], { generator: gk }).to(d).t() : tf.randn([k, n], { generator: gk }).to(d);
              closeSum(a.matmul(b), a.float().matmul(b.float()).to(d), `${what} ${m}x${k}x${n} ${ta} ${tb}`);
            }
          }
          const a = tf.randn([2, 3, 45, 70], { generator: gk }).to(d), b = tf.randn([3, 70, 40], { generator: gk }).to(d);
          closeSum(a.matmul(b), a.float().matmul(b.float()).to(d), `${what} batched`);
          const x = tf.randn([50, 419], { generator: gk }).to(d), w = tf.randn([67, 419], { generator: gk }).to(d);
          const bias = tf.randn([67], { generator: gk }).to(d);
          for (const activation of [null, 'relu'] as const) {
            const got = tf.nn.functional.linear(x, w, bias, { activation });
            closeSum(got, tf.nn.functional.linear(x.float(), w.float(), bias.float(), { activation }).to(d), `${what} linear ${activation}`);
          }
          // The same bits on 1 and 2 threads (each thread computes whole blocks of C).
          const threads = tf.getNumThreads();
          const p = tf.randn([130, 200], { generator: gk }).to(d), q = tf.randn([200, 190], { generator: gk }).to(d);
          tf.setNumThreads(1);
          const one = Array.from(bits(p.matmul(q)));
          tf.setNumThreads(2);
          expect(Array.from(bits(p.matmul(q))), `${what} threads`).toEqual(one);
          tf.setNumThreads(threads);
        }
        tf.setBf16MatmulKernel('auto');
      }
    } finally {
      tf.setCpuKernelLevel(level0);
      tf.setBf16MatmulKernel('auto');
    }
  });
  // With integer operands every float32 sum is exact, so each kernel's bfloat16 C must hold the same
  // bits as the float32 product rounded by .to('bfloat16') (to nearest, ties to even: the kernels
  // round finished tiles themselves, in registers or per row, not through that copy).
  it('every kernel rounds C as .to(bfloat16) does: exact sums, ties, bias and ReLU, Inf and NaN', () => {
    const ints = (shape: number[]): Tensor => tf.randint(-16, 17, shape, { generator: gk }).float();
    try {
      for (const level of levels) {
        tf.setCpuKernelLevel(level);
        for (const kernel of tf.bf16MatmulKernels()) {
          tf.setBf16MatmulKernel(kernel as 'widen');
          for (const [m, k, n] of [[24, 37, 64], [13, 37, 45], [30, 1601, 70]]) {
            const what = `${level} ${kernel} ${m}x${k}x${n}`;
            const a = ints([m, k]).to(d), b = ints([k, n]).to(d);
            expect(Array.from(bits(a.matmul(b))), what).toEqual(Array.from(bits(a.float().matmul(b.float()).to(d))));
            const w = ints([n, k]).to(d), bias = ints([n]).to(d);
            for (const activation of [null, 'relu'] as const) {
              const got = tf.nn.functional.linear(a, w, bias, { activation });
              const want = tf.nn.functional.linear(a.float(), w.float(), bias.float(), { activation }).to(d);
              expect(Array.from(bits(got)), `${what} linear ${activation}`).toEqual(Array.from(bits(want)));
            }
          }
          // Row 0 meets a NaN, row 1 overflows to -Inf, row 2 stays finite.
          const a = tf.tensor([[NaN, 1, 2], [-3e38, -3e38, 1], [1, 2, 3]]).to(d), b = tf.full([3, 40], 2).to(d);
          const got = a.matmul(b).float().dataSync();
          for (let j = 0; j < 40; j++) {
            expect(Number.isNaN(got[j]), `${level} ${kernel} NaN row`).toBe(true);
            expect(got[40 + j], `${level} ${kernel} -Inf row`).toBe(-Infinity);
            expect(got[80 + j], `${level} ${kernel} finite row`).toBe(12);
          }
        }
        tf.setBf16MatmulKernel('auto');
      }
    } finally {
      tf.setCpuKernelLevel(level0);
      tf.setBf16MatmulKernel('auto');
    }
  });
  it('pinning a kernel this CPU or level lacks is an error naming the ones it has', () => {
    expect(() => tf.setBf16MatmulKernel('tiles' as 'amx')).toThrow(/setBf16MatmulKernel: kernel 'tiles' does not run here \(level \w+; available: 'auto', 'widen'/);
    tf.setCpuKernelLevel('generic');
    try {
      expect(tf.bf16MatmulKernels()).toEqual(['widen']);
      expect(() => tf.setBf16MatmulKernel('amx')).toThrow(/kernel 'amx' does not run here \(level generic; available: 'auto', 'widen'\)/);
    } finally {
      tf.setCpuKernelLevel(level0);
    }
  });
});
