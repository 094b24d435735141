// MultiheadAttention and the Transformer layers against explicit references built from tested
// primitives (per-head loops of matmul + softmax, layerNorm, linear), causality, PyTorch's state-dict
// names, gradients; RMSNorm, sinusoidal and rotary position embeddings.
import { describe, expect, it } from 'vitest';
import * as tf from '../lib';
import { expectClose, expectThrows } from './helpers';

const nn = tf.nn;
const F = tf.nn.functional;
const f64 = { dtype: 'float64' as const };

/**
 * MultiheadAttention on batch-first [N, L, E] inputs, one head at a time. `blocked(n, h, i, j)` says
 * which pairs may not attend (MHA's convention). Returns [output, per-head weights [N, H, L, S]].
 */
function mhaRef(m: tf.nn.MultiheadAttention, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, blocked: (n: number, h: number, i: number, j: number) => boolean = () => false): [tf.Tensor, tf.Tensor] {
  const E = m.embedDim, H = m.numHeads, D = E / H;
  const W = m.in_proj_weight;
  const wq = W ? W.narrow(0, 0, E) : m.q_proj_weight!, wk = W ? W.narrow(0, E, E) : m.k_proj_weight!, wv = W ? W.narrow(0, 2 * E, E) : m.v_proj_weight!;
  const b = m.in_proj_bias;
  const proj = (x: tf.Tensor, w: tf.Tensor, off: number): tf.Tensor => {
    const y = x.matmul(w.t());
    return b ? y.add(b.narrow(0, off, E)) : y;
  };
  const qp = proj(q, wq, 0), kp = proj(k, wk, E), vp = proj(v, wv, 2 * E);
  const [N, L] = q.shape, S = k.shape[1];
  const outs: tf.Tensor[] = [], weights: tf.Tensor[] = [];
  for (let n = 0; n < N; n++) {
    const heads: tf.Tensor[] = [], hw: tf.Tensor[] = [];
    for (let h = 0; h < H; h++) {
      const Q = qp.select(0, n).narrow(1, h * D, D), K = kp.select(0, n).narrow(1, h * D, D), V = vp.select(0, n).narrow(1, h * D, D);
      const blockedMask = tf.tensor(Array.from({ length: L }, (_, i) => Array.from({ length: S }, (_, j) => blocked(n, h, i, j))));
      const scores = Q.matmul(K.t()).div(Math.sqrt(D)).maskedFill(blockedMask, -Infinity);
      const p = scores.softmax(-1);
      hw.push(p);
      heads.push(p.matmul(V));
    }
    outs.push(tf.cat(heads, 1));
    weights.push(tf.stack(hw));
  }
  const out = tf.stack(outs).matmul(m.out_proj.weight.t());
  return [m.out_proj.bias ? out.add(m.out_proj.bias) : out, tf.stack(weights)];
}

describe('MultiheadAttention', () => {
  it('has PyTorch parameter names, shapes and initialisation', () => {
    const m = new nn.MultiheadAttention(12, 3);
    expect([...m.namedParameters()].map(([n, p]) => [n, p.shape])).toEqual([
      ['in_proj_weight', [36, 12]], ['in_proj_bias', [36]], ['out_proj.weight', [12, 12]], ['out_proj.bias', [12]],
    ]);
    expect(m.in_proj_bias!.abs().max().item()).toBe(0);
    expect(m.out_proj.bias!.abs().max().item()).toBe(0);
    const bound = Math.sqrt(6 / (36 + 12)); // xavier uniform over [3E, E]
    expect(m.in_proj_weight!.abs().max().item()).toBeLessThanOrEqual(bound);
    const kv = new nn.MultiheadAttention(8, 2, { kdim: 5, vdim: 3, bias: false });
    expect([...kv.namedParameters()].map(([n, p]) => [n, p.shape])).toEqual([
      ['q_proj_weight', [8, 8]], ['k_proj_weight', [8, 5]], ['v_proj_weight', [8, 3]], ['out_proj.weight', [8, 8]],
    ]);
  });

  it('matches the per-head reference: self- and cross-attention, batchFirst or not, unbatched, kdim/vdim', () => {
    tf.manualSeed(11);
    const N = 3, L = 5, S = 7, E = 12;
    const m = new nn.MultiheadAttention(E, 3, { batchFirst: true, dtype: 'float64' });
    const x = tf.randn([N, L, E], f64), mem = tf.randn([N, S, E], f64);
    const [selfOut, none] = m.forward(x, x, x);
    expect(none).toBeNull();
    expectClose(selfOut, mhaRef(m, x, x, x)[0], 1e-12);
    expectClose(m.forward(x, mem, mem)[0], mhaRef(m, x, mem, mem)[0], 1e-12);

    const seqFirst = new nn.MultiheadAttention(E, 4, { dtype: 'float64' });
    const out = seqFirst.forward(x.transpose(0, 1), mem.transpose(0, 1), mem.transpose(0, 1))[0];
    expect(out.shape).toEqual([L, N, E]);
    expectClose(out.transpose(0, 1), mhaRef(seqFirst, x, mem, mem)[0], 1e-12);
    expectClose(seqFirst.forward(x.select(0, 1), x.select(0, 1), x.select(0, 1))[0], mhaRef(seqFirst, x.narrow(0, 1, 1), x.narrow(0, 1, 1), x.narrow(0, 1, 1))[0].squeeze(0), 1e-12);

    const kv = new nn.MultiheadAttention(E, 2, { kdim: 5, vdim: 3, batchFirst: true, dtype: 'float64' });
    const k = tf.randn([N, S, 5], f64), v = tf.randn([N, S, 3], f64);
    expectClose(kv.forward(x, k, v)[0], mhaRef(kv, x, k, v)[0], 1e-12);
  });

  it('applies attnMask (bool: true blocks; float: added; per head), keyPaddingMask and isCausal', () => {
    tf.manualSeed(12);
    const N = 2, L = 4, S = 6, E = 8, H = 2;
    const m = new nn.MultiheadAttention(E, H, { batchFirst: true, dtype: 'float64' });
    const q = tf.randn([N, L, E], f64), kv = tf.randn([N, S, E], f64);
    const am = tf.rand([L, S]).gt(0.7);
    const amA = am.toArray() as boolean[][];
    for (let i = 0; i < L; i++) amA[i][i] = false; // keep a key per row
    const attnMask = tf.tensor(amA);
    expectClose(m.forward(q, kv, kv, { attnMask })[0], mhaRef(m, q, kv, kv, (_n, _h, i, j) => amA[i][j])[0], 1e-12);
    const floatMask = attnMask.double().mul(-1e9);
    expectClose(m.forward(q, kv, kv, { attnMask: floatMask })[0], mhaRef(m, q, kv, kv, (_n, _h, i, j) => amA[i][j])[0], 1e-9);

    const kpm = tf.tensor([[false, false, true, false, true, false], [false, true, false, false, false, true]]);
    const kpmA = kpm.toArray() as boolean[][];
    expectClose(m.forward(q, kv, kv, { keyPaddingMask: kpm })[0], mhaRef(m, q, kv, kv, (n, _h, _i, j) => kpmA[n][j])[0], 1e-12);
    expectClose(
      m.forward(q, kv, kv, { keyPaddingMask: kpm, attnMask })[0],
      mhaRef(m, q, kv, kv, (n, _h, i, j) => kpmA[n][j] || amA[i][j])[0],
      1e-12,
    );
    const perHead = tf.rand([N * H, L, S]).gt(0.6).logicalAnd(tf.eye(L, S).logicalNot());
    const ph = perHead.toArray() as boolean[][][];
    expectClose(m.forward(q, kv, kv, { attnMask: perHead })[0], mhaRef(m, q, kv, kv, (n, h, i, j) => ph[n * H + h][i][j])[0], 1e-12);
    const x = tf.randn([N, L, E], f64);
    expectClose(m.forward(x, x, x, { isCausal: true })[0], mhaRef(m, x, x, x, (_n, _h, i, j) => j > i)[0], 1e-12);
    expectClose(m.forward(x, x, x, { isCausal: true, keyPaddingMask: kpm.narrow(1, 0, L) })[0], mhaRef(m, x, x, x, (n, _h, i, j) => j > i || kpmA[n][j])[0], 1e-12);
  });

  it('returns attention weights when asked, averaged over heads by default', () => {
    const m = new nn.MultiheadAttention(6, 3, { batchFirst: true, dtype: 'float64' });
    const q = tf.randn([2, 3, 6], f64), kv = tf.randn([2, 4, 6], f64);
    const [out, w] = m.forward(q, kv, kv, { needWeights: true });
    const [ref, refW] = mhaRef(m, q, kv, kv);
    expectClose(out, ref, 1e-12);
    expectClose(w!, refW.mean(1), 1e-12);
    expectClose(m.forward(q, kv, kv, { needWeights: true, averageAttnWeights: false })[1]!, refW, 1e-12);
  });

  it('has exact gradients (gradcheck through the projections and attention)', () => {
    const m = new nn.MultiheadAttention(4, 2, { batchFirst: true, dtype: 'float64' });
    const x = tf.randn([2, 3, 4], f64).requiresGrad_();
    expect(tf.gradcheck((a) => m.forward(a, a, a, { isCausal: true })[0], [x])).toBe(true);
    const y = m.forward(x, x, x)[0].square().sum();
    y.backward();
    for (const [name, p] of m.namedParameters()) expect(p.grad, name).not.toBeNull();
  });

  it('takes a [S] key padding mask for unbatched inputs, as torch', () => {
    const m = new nn.MultiheadAttention(4, 2, { dtype: 'float64' });
    const x = tf.randn([3, 4], f64);
    const kpm = tf.tensor([false, true, false]);
    const [y] = m.forward(x, x, x, { keyPaddingMask: kpm });
    expectClose(y, mhaRef(m, x.unsqueeze(0), x.unsqueeze(0), x.unsqueeze(0), (_n, _h, _i, j) => j === 1)[0].squeeze(0), 1e-12);
  });

  it('rejects bad shapes and masks', () => {
    expectThrows(() => new nn.MultiheadAttention(10, 3), 'divisible');
    const m = new nn.MultiheadAttention(8, 2, { batchFirst: true });
    const x = tf.randn([2, 3, 8]);
    expectThrows(() => m.forward(tf.randn([2, 3, 7]), x, x), 'embedDim 8');
    expectThrows(() => m.forward(x, x, x, { attnMask: tf.ones([3, 4], { dtype: 'bool' }) }), 'attnMask must be [3, 3]');
    expectThrows(() => m.forward(x, x, x, { keyPaddingMask: tf.ones([3, 3], { dtype: 'bool' }) }), 'keyPaddingMask must be [2, 3]');
    expectThrows(() => m.forward(x, x, x, { attnMask: tf.ones([3, 3], { dtype: 'int32' }) }), 'bool or float32');
  });
});

/** The encoder layer written out from primitives (eval mode: no dropout). */
function encoderRef(l: tf.nn.TransformerEncoderLayer, x: tf.Tensor, act: (t: tf.Tensor) => tf.Tensor, blocked?: (n: number, h: number, i: number, j: number) => boolean): tf.Tensor {
  const ln = (t: tf.Tensor, n: tf.nn.LayerNorm): tf.Tensor => F.layerNorm(t, [l.dModel], { weight: n.weight, bias: n.bias, eps: n.eps });
  const ff = (t: tf.Tensor): tf.Tensor => F.linear(act(F.linear(t, l.linear1.weight, l.linear1.bias)), l.linear2.weight, l.linear2.bias);
  const sa = (t: tf.Tensor): tf.Tensor => mhaRef(l.self_attn, t, t, t, blocked)[0];
  if (l.normFirst) {
    const h = x.add(sa(ln(x, l.norm1)));
    return h.add(ff(ln(h, l.norm2)));
  }
  const h = ln(x.add(sa(x)), l.norm1);
  return ln(h.add(ff(h)), l.norm2);
}

describe('Transformer layers', () => {
  it('encoder layer matches the reference: post-norm and pre-norm, relu and gelu, causal', () => {
    tf.manualSeed(21);
    for (const normFirst of [false, true]) {
      for (const activation of ['relu', 'gelu'] as const) {
        const l = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 13, batchFirst: true, normFirst, activation, dtype: 'float64' }).eval();
        const x = tf.randn([3, 5, 8], f64);
        const act = activation === 'relu' ? (t: tf.Tensor) => t.relu() : (t: tf.Tensor) => t.gelu();
        expectClose(l.forward(x), encoderRef(l, x, act), 1e-11);
        expectClose(l.forward(x, { isCausal: true }), encoderRef(l, x, act, (_n, _h, i, j) => j > i), 1e-11);
      }
    }
  });

  it('decoder layer matches the reference (self-attention, cross-attention, feed-forward)', () => {
    const l = new nn.TransformerDecoderLayer(6, 3, { dimFeedforward: 7, dtype: 'float64' }).eval();
    const tgt = tf.randn([4, 2, 6], f64), mem = tf.randn([5, 2, 6], f64); // sequence-first
    const ln = (t: tf.Tensor, n: tf.nn.LayerNorm): tf.Tensor => F.layerNorm(t, [6], { weight: n.weight, bias: n.bias, eps: n.eps });
    const x = tgt.transpose(0, 1), m = mem.transpose(0, 1);
    let h = ln(x.add(mhaRef(l.self_attn, x, x, x, (_n, _h, i, j) => j > i)[0]), l.norm1);
    h = ln(h.add(mhaRef(l.multihead_attn, h, m, m)[0]), l.norm2);
    h = ln(h.add(F.linear(F.linear(h, l.linear1.weight, l.linear1.bias).relu(), l.linear2.weight, l.linear2.bias)), l.norm3);
    expectClose(l.forward(tgt, mem, { tgtIsCausal: true }).transpose(0, 1), h, 1e-11);
    expectClose(l.forward(tgt, mem, { tgtMask: nn.generateSquareSubsequentMask(4, f64) }).transpose(0, 1), h, 1e-11);
  });

  it('a causal stack: the output at position t does not depend on later tokens', () => {
    tf.manualSeed(22);
    const enc = new nn.TransformerEncoder(new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, batchFirst: true, normFirst: true }), 3).eval();
    const x = tf.randn([2, 9, 8]);
    const base = enc.forward(x, { isCausal: true });
    const t = 4;
    const changed = tf.cat([x.narrow(1, 0, t + 1), tf.randn([2, 9 - t - 1, 8])], 1);
    const out = enc.forward(changed, { isCausal: true });
    expectClose(out.narrow(1, 0, t + 1), base.narrow(1, 0, t + 1), 1e-6);
    expect(out.narrow(1, t + 1, 9 - t - 1).sub(base.narrow(1, t + 1, 9 - t - 1)).abs().max().item()).toBeGreaterThan(1e-3);
    // Without the mask, earlier positions do see the change.
    expect(enc.forward(changed).narrow(1, 0, 1).sub(enc.forward(x).narrow(1, 0, 1)).abs().max().item()).toBeGreaterThan(1e-4);
  });

  it('stacks start as copies of the given layer and train independently', () => {
    const layer = new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 8 });
    const enc = new nn.TransformerEncoder(layer, 2, { norm: new nn.LayerNorm(4) });
    const a = enc.layers[0].linear1.weight, b = enc.layers[1].linear1.weight;
    expectClose(a, layer.linear1.weight);
    expectClose(b, layer.linear1.weight);
    expect(a).not.toBe(b);
    tf.noGrad(() => a.add_(1));
    expect(b.sub(layer.linear1.weight).abs().max().item()).toBe(0);
    expect(Object.keys(enc.stateDict())).toContain('layers.1.self_attn.in_proj_weight');
    expect(Object.keys(enc.stateDict())).toContain('norm.weight');
  });

  it('nn.Transformer: PyTorch state-dict names, shapes, gradients to every parameter', () => {
    tf.manualSeed(23);
    const model = new nn.Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 2, numDecoderLayers: 1, dimFeedforward: 16, dropout: 0.1, batchFirst: true });
    const keys = Object.keys(model.stateDict());
    for (const k of ['encoder.layers.0.self_attn.in_proj_weight', 'encoder.layers.1.norm2.bias', 'encoder.norm.weight',
      'decoder.layers.0.multihead_attn.out_proj.weight', 'decoder.layers.0.norm3.weight', 'decoder.norm.bias', 'decoder.layers.0.linear1.weight']) {
      expect(keys).toContain(k);
    }
    const src = tf.randn([3, 7, 8]), tgt = tf.randn([3, 5, 8]);
    const y = model.forward(src, tgt, { tgtMask: nn.Transformer.generateSquareSubsequentMask(5), srcKeyPaddingMask: tf.zeros([3, 7], { dtype: 'bool' }) });
    expect(y.shape).toEqual([3, 5, 8]);
    y.square().mean().backward();
    for (const [name, p] of model.namedParameters()) {
      expect(p.grad, name).not.toBeNull();
      expect(p.grad!.abs().sum().item(), name).toBeGreaterThan(0);
    }
  });

  it('rejects bad configurations', () => {
    expectThrows(() => new nn.TransformerEncoderLayer(8, 3), 'divisible');
    expectThrows(() => new nn.TransformerEncoderLayer(8, 2, { activation: 'tanh' as 'relu' }), 'activation');
    expectThrows(() => new nn.TransformerEncoder(new nn.Linear(2, 2) as unknown as tf.nn.TransformerEncoderLayer, 2), 'TransformerEncoder');
    expectThrows(() => new nn.TransformerEncoder(new nn.TransformerEncoderLayer(4, 2), 0), 'numLayers');
  });
});

describe('RMSNorm and position embeddings', () => {
  it('RMSNorm matches x / sqrt(mean(x^2) + eps) * w, with gradients', () => {
    const x = tf.randn([3, 4, 5], f64);
    const m = new nn.RMSNorm([4, 5], { eps: 1e-6, dtype: 'float64' });
    tf.noGrad(() => m.weight!.copy_(tf.randn([4, 5], f64)));
    const xa = x.toArray() as number[][][], w = m.weight!.toArray() as number[][];
    const ref = xa.map((plane) => {
      const ms = plane.flat().reduce((p, c) => p + c * c, 0) / 20;
      return plane.map((row, i) => row.map((v, j) => (v / Math.sqrt(ms + 1e-6)) * w[i][j]));
    });
    expectClose(m.forward(x), ref, 1e-12);
    expect(Object.keys(m.stateDict())).toEqual(['weight']);
    const xr = tf.randn([2, 6], f64).requiresGrad_(), wr = tf.randn([6], f64).requiresGrad_();
    expect(tf.gradcheck((a, b) => F.rmsNorm(a, [6], { weight: b }), [xr, wr])).toBe(true);
    expectClose(new nn.RMSNorm(3).forward(tf.tensor([[3, 4, 0]])), [[3 / Math.sqrt(25 / 3), 4 / Math.sqrt(25 / 3), 0]], 1e-5);
    expectThrows(() => F.rmsNorm(x, [5, 4]), 'rmsNorm', '[5, 4]');
  });

  it('sinusoidal table: sin on even features, cos on odd ones', () => {
    const pe = F.sinusoidalPositionEncoding(7, 6, f64);
    const a = pe.toArray() as number[][];
    for (let p = 0; p < 7; p++) for (let i = 0; i < 6; i += 2) {
      expect(a[p][i]).toBeCloseTo(Math.sin(p / 10000 ** (i / 6)), 12);
      expect(a[p][i + 1]).toBeCloseTo(Math.cos(p / 10000 ** (i / 6)), 12);
    }
    expectThrows(() => F.sinusoidalPositionEncoding(4, 5), 'even');
  });

  it('rotary embeddings rotate feature pairs; scores depend on relative position only', () => {
    const T = 6, D = 8;
    const { cos, sin } = F.rotaryEmbedding(T, D, f64);
    const x = tf.randn([2, T, D], f64);
    for (const interleaved of [false, true]) {
      const out = F.applyRotaryEmb(x, cos, sin, { interleaved }).toArray() as number[][][];
      const xa = x.toArray() as number[][][];
      for (let b = 0; b < 2; b++) for (let t = 0; t < T; t++) for (let i = 0; i < D / 2; i++) {
        const th = t * 10000 ** ((-2 * i) / D);
        const [ia, ib] = interleaved ? [2 * i, 2 * i + 1] : [i, i + D / 2];
        const a = xa[b][t][ia], c = xa[b][t][ib];
        expect(out[b][t][ia]).toBeCloseTo(a * Math.cos(th) - c * Math.sin(th), 12);
        expect(out[b][t][ib]).toBeCloseTo(c * Math.cos(th) + a * Math.sin(th), 12);
      }
    }
    // The same q and k placed at positions (m, n) give a score that depends on m - n only.
    const q = tf.randn([1, D], f64), k = tf.randn([1, D], f64);
    const rot = (v: tf.Tensor): tf.Tensor => F.applyRotaryEmb(v.expand([T, D]), cos, sin);
    const s = rot(q).matmul(rot(k).t()).toArray() as number[][];
    expect(s[3][1]).toBeCloseTo(s[4][2], 10);
    expect(s[5][1]).toBeCloseTo(s[4][0], 10);
    expect(s[2][2]).toBeCloseTo(s[0][0], 10);
    const xr = tf.randn([3, 4], f64).requiresGrad_();
    const r4 = F.rotaryEmbedding(3, 4, f64);
    expect(tf.gradcheck((a) => F.applyRotaryEmb(a, r4.cos, r4.sin), [xr])).toBe(true);
    expectThrows(() => F.applyRotaryEmb(x, cos.narrow(0, 0, 2), sin), 'cos must be [6, 4]');
  });
});
