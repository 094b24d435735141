// scaledDotProductAttention against a float64 reference written as plain loops (masks, causal,
// broadcast batch dims, scale, empty sizes), its gradients by gradcheck, and the masking ops
// (tril, triu, maskedFill) it builds on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { _setAttentionImpl } from '../lib/nn/attention';
import * as tf from '../lib';
import { arr, expectClose, expectThrows, type Arr } from './helpers';
import { meta, metaNum, native } from '../lib/native';

const F = tf.nn.functional;
const f64 = { dtype: 'float64' as const };

/**
 * out[b, i, :] = sum_j softmax_j(q[b,i]·k[b,j] * scale + add(b,i,j), allowed(b,i,j)) v[b, j, :]
 * over 3-D operands [B, L, E], [B, S, E], [B, S, Ev]. A row with nothing allowed is NaN.
 */
function attentionRef(q: Arr, k: Arr, v: Arr, scale: number, allowed: (b: number, i: number, j: number) => boolean, add: (b: number, i: number, j: number) => number = () => 0): Arr {
  const [B, L, E] = q.shape, S = k.shape[1], Ev = v.shape[2];
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < L; i++) {
      const s: number[] = [];
      for (let j = 0; j < S; j++) {
        let dot = 0;
        for (let e = 0; e < E; e++) dot += q.data[(b * L + i) * E + e] * k.data[(b * S + j) * E + e];
        s.push(allowed(b, i, j) ? dot * scale + add(b, i, j) : -Infinity);
      }
      const m = Math.max(...s);
      const w = s.map((x) => Math.exp(x - m));
      const z = w.reduce((p, c) => p + c, 0);
      for (let e = 0; e < Ev; e++) {
        let acc = 0;
        for (let j = 0; j < S; j++) acc += (w[j] / z) * v.data[(b * S + j) * Ev + e];
        out.push(S === 0 ? 0 : acc);
      }
    }
  }
  return { shape: [B, L, Ev], data: out };
}

const all = (): boolean => true;

describe('tril, triu, maskedFill', () => {
  it('keep the triangles of the last two dims, with any diagonal and batch dims', () => {
    const x = tf.arange(1, 25).reshape([2, 3, 4]).float();
    expectClose(x.tril(), [[[1, 0, 0, 0], [5, 6, 0, 0], [9, 10, 11, 0]], [[13, 0, 0, 0], [17, 18, 0, 0], [21, 22, 23, 0]]]);
    expectClose(tf.triu(x.select(0, 0), 1), [[0, 2, 3, 4], [0, 0, 7, 8], [0, 0, 0, 12]]);
    expectClose(tf.tril(x.select(0, 0), -1), [[0, 0, 0, 0], [5, 0, 0, 0], [9, 10, 0, 0]]);
    expect(tf.tril(tf.arange(6).reshape([2, 3])).dtype).toBe('int32');
    expectThrows(() => tf.tril(tf.ones([3])), 'tril', 'at least 2 dims');
  });
  it('pass gradients to the kept elements', () => {
    const x = tf.randn([3, 5], f64).requiresGrad_();
    expect(tf.gradcheck((a) => a.tril(1), [x])).toBe(true);
    expect(tf.gradcheck((a) => a.maskedFill(a.gt(0), 2), [x])).toBe(true);
  });
  it('maskedFill broadcasts the mask and casts the value to the dtype', () => {
    const x = tf.arange(6).reshape([2, 3]);
    expectClose(x.maskedFill(tf.tensor([true, false, true]), 7.9), [[7, 1, 7], [7, 4, 7]]);
    expect(x.maskedFill(tf.tensor([true, false, true]), 7.9).dtype).toBe('int32');
    expectThrows(() => x.maskedFill(tf.ones([3]), 1), 'maskedFill', 'bool');
  });
  it('generateSquareSubsequentMask is -inf above the diagonal', () => {
    expectClose(tf.nn.generateSquareSubsequentMask(3), [[0, -Infinity, -Infinity], [0, 0, -Infinity], [0, 0, 0]]);
    expectClose(tf.nn.Transformer.generateSquareSubsequentMask(1), [[0]]);
  });
});

for (const impl of ['fused', 'math'] as const) describe(`scaledDotProductAttention (${impl})`, () => {
  beforeAll(() => _setAttentionImpl(impl));
  afterAll(() => _setAttentionImpl('auto'));

  it('matches the reference at odd sizes, with Ev != E, L != S and a custom scale', () => {
    tf.manualSeed(3);
    for (const [B, L, S, E, Ev] of [[1, 1, 1, 1, 1], [3, 7, 5, 11, 3], [2, 13, 17, 8, 9], [1, 33, 31, 16, 16]]) {
      const q = tf.randn([B, L, E], f64), k = tf.randn([B, S, E], f64), v = tf.randn([B, S, Ev], f64);
      expectClose(F.scaledDotProductAttention(q, k, v), attentionRef(arr(q), arr(k), arr(v), 1 / Math.sqrt(E), all), 1e-12);
      expectClose(F.scaledDotProductAttention(q, k, v, { scale: 0.3 }), attentionRef(arr(q), arr(k), arr(v), 0.3, all), 1e-12);
      const q32 = q.float(), k32 = k.float(), v32 = v.float();
      expectClose(F.scaledDotProductAttention(q32, k32, v32), attentionRef(arr(q32), arr(k32), arr(v32), 1 / Math.sqrt(E), all), 2e-5);
    }
  });

  it('causal attention lets query i see keys j <= i (top-left aligned when L != S)', () => {
    for (const [L, S] of [[6, 6], [4, 7], [7, 4]]) {
      const q = tf.randn([2, L, 5], f64), k = tf.randn([2, S, 5], f64), v = tf.randn([2, S, 3], f64);
      expectClose(F.scaledDotProductAttention(q, k, v, { isCausal: true }), attentionRef(arr(q), arr(k), arr(v), 1 / Math.sqrt(5), (_b, i, j) => j <= i), 1e-12);
    }
  });

  it('bool masks say who may attend, float masks are added, both broadcast', () => {
    const B = 3, L = 4, S = 6, E = 5;
    const q = tf.randn([B, L, E], f64), k = tf.randn([B, S, E], f64), v = tf.randn([B, S, 2], f64);
    const boolMask = tf.rand([B, L, S]).gt(0.3);
    const bm = arr(boolMask);
    const ref = attentionRef(arr(q), arr(k), arr(v), 1 / Math.sqrt(E), (b, i, j) => bm.data[(b * L + i) * S + j] === 1);
    expectClose(F.scaledDotProductAttention(q, k, v, { attnMask: boolMask }), ref, 1e-12);
    // [S] key mask broadcast over batch and queries.
    const keyMask = tf.tensor([true, false, true, true, false, true]);
    expectClose(F.scaledDotProductAttention(q, k, v, { attnMask: keyMask }), attentionRef(arr(q), arr(k), arr(v), 1 / Math.sqrt(E), (_b, _i, j) => j !== 1 && j !== 4), 1e-12);
    const addMask = tf.randn([L, S], f64);
    const am = arr(addMask);
    expectClose(
      F.scaledDotProductAttention(q, k, v, { attnMask: addMask }),
      attentionRef(arr(q), arr(k), arr(v), 1 / Math.sqrt(E), all, (_b, i, j) => am.data[i * S + j]),
      1e-12,
    );
  });

  it('broadcasts batch dims like matmul (heads sharing keys)', () => {
    const q = tf.randn([2, 3, 5, 4], f64), k = tf.randn([2, 1, 7, 4], f64), v = tf.randn([1, 1, 7, 6], f64);
    const out = F.scaledDotProductAttention(q, k, v);
    expect(out.shape).toEqual([2, 3, 5, 6]);
    const flat = (t: tf.Tensor): Arr => arr(t.expand([2, 3, t.shape[2], t.shape[3]]).reshape([6, t.shape[2], t.shape[3]]));
    expectClose(out.reshape([6, 5, 6]), attentionRef(flat(q), flat(k), flat(v), 0.5, all), 1e-12);
  });

  it('handles non-contiguous inputs and empty sizes', () => {
    const q = tf.randn([5, 2, 3], f64).transpose(0, 1), k = tf.randn([4, 2, 3], f64).transpose(0, 1), v = tf.randn([2, 2, 4], f64).transpose(1, 2);
    expectClose(F.scaledDotProductAttention(q, k, v), attentionRef(arr(q), arr(k), arr(v), 1 / Math.sqrt(3), all), 1e-12);
    expect(F.scaledDotProductAttention(tf.randn([2, 0, 3]), tf.randn([2, 4, 3]), tf.randn([2, 4, 5])).shape).toEqual([2, 0, 5]);
    // No keys: an empty sum, zeros (as PyTorch's math path).
    expectClose(F.scaledDotProductAttention(tf.randn([1, 2, 3]), tf.randn([1, 0, 3]), tf.randn([1, 0, 5])), tf.zeros([1, 2, 5]));
  });

  it('dropout drops attention weights: p = 1 gives zeros, p = 0.5 keeps the expectation', () => {
    const q = tf.randn([2, 3, 4]), k = tf.randn([2, 5, 4]), v = tf.randn([2, 5, 2]);
    expectClose(F.scaledDotProductAttention(q, k, v, { dropoutP: 1 }), tf.zeros([2, 3, 2]));
    tf.manualSeed(5);
    const a = F.scaledDotProductAttention(q, k, v, { dropoutP: 0.5 });
    const b = F.scaledDotProductAttention(q, k, v, { dropoutP: 0.5 });
    expect(a.sub(b).abs().max().item()).toBeGreaterThan(0);
  });

  it('has exact gradients for q, k, v and an additive mask (gradcheck, causal and not)', () => {
    tf.manualSeed(8);
    const q = tf.randn([2, 3, 4], f64).requiresGrad_(), k = tf.randn([2, 5, 4], f64).requiresGrad_();
    const v = tf.randn([2, 5, 3], f64).requiresGrad_(), m = tf.randn([3, 5], f64).requiresGrad_();
    expect(tf.gradcheck((a, b, c, d) => F.scaledDotProductAttention(a, b, c, { attnMask: d }), [q, k, v, m])).toBe(true);
    expect(tf.gradcheck((a, b, c) => F.scaledDotProductAttention(a, b, c, { isCausal: true, scale: 0.7 }), [q, k, v])).toBe(true);
    const qs = tf.randn([2, 5, 4], f64).requiresGrad_();
    expect(tf.gradcheck((a, b, c) => F.scaledDotProductAttention(a, b, c, { isCausal: true }), [qs, k, v])).toBe(true);
  });

  it('rejects bad arguments with errors that name the op and shapes', () => {
    const q = tf.randn([2, 3, 4]), k = tf.randn([2, 5, 4]), v = tf.randn([2, 5, 3]);
    expectThrows(() => F.scaledDotProductAttention(q, tf.randn([2, 5, 3]), v), 'scaledDotProductAttention', '[2, 5, 3]');
    expectThrows(() => F.scaledDotProductAttention(q, k, tf.randn([2, 4, 3])), 'same sequence length');
    expectThrows(() => F.scaledDotProductAttention(q, k, v, { isCausal: true, attnMask: tf.ones([3, 5]) }), 'not both');
    expectThrows(() => F.scaledDotProductAttention(q, k, v.double()), 'dtype');
    expectThrows(() => F.scaledDotProductAttention(q, k, v, { attnMask: tf.ones([3, 5], { dtype: 'int32' }) }), 'attnMask');
    expectThrows(() => F.scaledDotProductAttention(q, k, v, { attnMask: tf.ones([4, 5]) }), 'broadcast');
    expectThrows(() => F.scaledDotProductAttention(q, k, v, { dropoutP: 2 }), 'dropoutP');
    expectThrows(() => F.scaledDotProductAttention(tf.randn([3]), k, v), 'at least 2 dims');
  });
});

describe('fused attention against the unfused path', () => {
  afterAll(() => {
    _setAttentionImpl('auto');
    tf.setCpuKernelLevel(tf.cpuKernelLevels()[0]);
  });
  const both = (fn: () => tf.Tensor[]): [tf.Tensor[], tf.Tensor[]] => {
    _setAttentionImpl('fused');
    const a = fn();
    _setAttentionImpl('math');
    const b = fn();
    return [a, b];
  };
  it('agrees in value and gradient across blocks (sizes past 64, odd), masks and causal, every CPU level', () => {
    tf.manualSeed(41);
    for (const level of tf.cpuKernelLevels()) {
      tf.setCpuKernelLevel(level);
      for (const [B, H, L, S, E, Ev] of [[2, 3, 130, 67, 19, 33], [1, 2, 67, 130, 64, 16], [3, 1, 65, 65, 8, 8]]) {
        const q = tf.randn([B, H, L, E]), k = tf.randn([B, H, S, E]), v = tf.randn([B, H, S, Ev]), g = tf.randn([B, H, L, Ev]);
        const masks: (tf.Tensor | null)[] = [null, tf.rand([L, S]).gt(0.2), tf.randn([B, 1, L, S])];
        for (const attnMask of masks) {
          for (const isCausal of attnMask ? [false] : [false, true]) {
            const [fused, math] = both(() => {
              const [qq, kk, vv] = [q, k, v].map((t) => t.detach().requiresGrad_());
              const out = F.scaledDotProductAttention(qq, kk, vv, { attnMask, isCausal });
              out.backward(g);
              return [out, qq.grad!, kk.grad!, vv.grad!];
            });
            for (let i = 0; i < 4; i++) expectClose(fused[i], math[i], { atol: 2e-5, rtol: 1e-4 });
          }
        }
      }
    }
  });

  it('reads strided and broadcast operands in place (MultiheadAttention layouts, shared keys)', () => {
    const qkv = tf.randn([2, 37, 3 * 24]); // [N, T, 3E] then split into heads: strided views
    const heads = (t: tf.Tensor): tf.Tensor => t.reshape([2, 37, 4, 6]).transpose(1, 2);
    const [q, k, v] = qkv.chunk(3, -1).map(heads);
    const kShared = tf.randn([1, 1, 37, 6]);
    const [a, b] = both(() => [F.scaledDotProductAttention(q, k, v, { isCausal: true }), F.scaledDotProductAttention(q, kShared, v)]);
    expectClose(a[0], b[0], 2e-5);
    expectClose(a[1], b[1], 2e-5);
    const ks = kShared.requiresGrad_();
    _setAttentionImpl('fused');
    F.scaledDotProductAttention(q, ks, v).sum().backward();
    const gFused = ks.grad!.clone();
    ks.grad = null;
    _setAttentionImpl('math');
    F.scaledDotProductAttention(q, ks, v).sum().backward();
    expectClose(gFused, ks.grad!, 2e-4);
  });

  it('gives NaN for a query that may attend to nothing, like the unfused softmax', () => {
    _setAttentionImpl('fused');
    const mask = tf.tensor([[true, true], [false, false]]);
    const out = F.scaledDotProductAttention(tf.randn([2, 3]), tf.randn([2, 3]), tf.randn([2, 4]), { attnMask: mask });
    const rows = out.toArray() as number[][];
    expect(rows[0].every(Number.isFinite)).toBe(true);
    expect(rows[1].every(Number.isNaN)).toBe(true);
    // ... and sends no gradient anywhere (not NaN to every key).
    const q = tf.randn([2, 3]).requiresGrad_(), k = tf.randn([2, 3]).requiresGrad_(), v = tf.randn([2, 4]).requiresGrad_();
    F.scaledDotProductAttention(q, k, v, { attnMask: mask }).select(0, 0).sum().backward();
    for (const t of [q, k, v]) expect((t.grad!.toArray() as number[][]).flat().every(Number.isFinite)).toBe(true);
    expect((q.grad!.toArray() as number[][])[1]).toEqual([0, 0, 0]);
  });

  it('saves the mask for backward (an in-place change after the forward is caught) and rejects masks that do not broadcast', () => {
    _setAttentionImpl('fused');
    const mask = tf.rand([4, 5]).gt(0.2).logicalOr(tf.eye(4, 5).gt(0));
    const q = tf.randn([4, 3]).requiresGrad_();
    const y = F.scaledDotProductAttention(q, tf.randn([5, 3]), tf.randn([5, 2]), { attnMask: mask });
    mask.fill_(false);
    expect(() => y.sum().backward()).toThrow(/modified by an in-place/);
    const before = tf.memory().tensors;
    expectThrows(() => F.scaledDotProductAttention(tf.randn([2, 5, 3]), tf.randn([2, 6, 3]), tf.randn([2, 6, 3]), { attnMask: tf.ones([3, 6], { dtype: 'bool' }) }), 'scaledDotProductAttention');
    expect(tf.memory().tensors).toBeLessThanOrEqual(before + 4);
  });
});

describe('attention binding', () => {
  // A valid forward call, then the same call with one operand broken at a time: each must throw an
  // Error naming the op, never write out of bounds.
  const good = () => ({
    out: tf.empty([2, 3, 5, 4]), lse: tf.empty([2, 3, 5]),
    q: tf.randn([2, 3, 5, 6]), k: tf.randn([2, 3, 7, 6]), v: tf.randn([2, 3, 7, 4]),
    mask: null as tf.Tensor | null, kind: 0, causal: 0, scale: 0.5,
  });
  const call = (a: ReturnType<typeof good>): void => {
    meta();
    for (const t of [a.out, a.lse, a.q, a.k, a.v]) t._meta();
    metaNum(a.kind);
    if (a.mask) a.mask._meta();
    metaNum(a.causal, a.scale);
    native.attentionForward();
  };
  it('runs a valid call and rejects each broken operand', () => {
    const ok = good();
    call(ok);
    expect(Number.isFinite(ok.out.sum().item())).toBe(true);
    const broken: [string, (a: ReturnType<typeof good>) => void][] = [
      ['key feature size', (a) => (a.k = tf.randn([2, 3, 7, 5]))],
      ['value length', (a) => (a.v = tf.randn([2, 3, 6, 4]))],
      ['batch dims', (a) => (a.k = tf.randn([2, 2, 7, 6]))],
      ['query rank', (a) => (a.q = tf.randn([6, 5, 6]))],
      ['dtype', (a) => (a.v = tf.randn([2, 3, 7, 4], { dtype: 'float64' }))],
      ['int query', (a) => (a.q = tf.zeros([2, 3, 5, 6], { dtype: 'int32' }))],
      ['non-unit last stride', (a) => (a.q = tf.randn([2, 3, 6, 5]).transpose(2, 3))],
      ['output shape', (a) => (a.out = tf.empty([2, 3, 5, 5]))],
      ['broadcast output', (a) => (a.out = tf.empty([1, 3, 5, 4]).expand([2, 3, 5, 4]))],
      ['lse shape', (a) => (a.lse = tf.empty([2, 3, 4]))],
      ['mask kind', (a) => (a.kind = 7)],
      ['mask shape', (a) => ((a.kind = 1), (a.mask = tf.ones([2, 3, 5, 6], { dtype: 'bool' })))],
      ['mask dtype', (a) => ((a.kind = 2), (a.mask = tf.ones([2, 3, 5, 7], { dtype: 'int32' })))],
      ['scale', (a) => (a.scale = NaN)],
      ['disposed', (a) => a.k.dispose()],
    ];
    for (const [what, breakIt] of broken) {
      const a = good();
      breakIt(a);
      expect(() => call(a), what).toThrow(/scaledDotProductAttention/);
    }
  });
});
