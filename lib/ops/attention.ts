// The fused attention op (native/kernels/attention.cpp): softmax(q k^T * scale + mask) v without
// materialising the scores, forward saving each row's log-sum-exp, backward recomputing from it.
// nn.functional.scaledDotProductAttention validates the arguments and picks this path.
//   q [..., L, E]   k [..., S, E]   v [..., S, Ev]   mask broadcastable to [..., L, S] -> [..., L, Ev]
// The kernels see every operand as 4-D [B1, B2, rows, cols]: the broadcast batch dims folded into
// two (a view when the strides allow, else a copy).
import { record } from '../autograd';
import { callee, meta, metaNum, native } from '../native';
import { Tensor } from '../tensor';
import { broadcastView, empty, sumToShape } from './util';
import { contiguousRaw } from './views';
import { halfOperand, viaFloat32 } from './half_fallback';

/**
 * t broadcast to [...batch, rows, cols] and seen as [B1, B2, rows, cols] (batch dims before the
 * last merged into B1). With unitLast the last dim gets stride 1 (copying when it has not).
 * Appends what it creates to temps.
 */
function as4d(t: Tensor, batch: number[], rows: number, cols: number, unitLast: boolean, temps: Tensor[]): Tensor {
  let x = broadcastView(t, [...batch, rows, cols]);
  if (x !== t) temps.push(x);
  const n = batch.length;
  const fold = (v: Tensor): [number, number, number, number] | null => {
    let b1 = 1, s1 = 0;
    for (let i = n - 2; i >= 0; i--) {
      const sz = v._shape[i], st = v._strides[i];
      if (sz === 1) continue;
      if (b1 === 1) [b1, s1] = [sz, st];
      else if (st === s1 * b1) b1 *= sz;
      else return null;
    }
    return n >= 1 ? [b1, s1, v._shape[n - 1], v._strides[n - 1]] : [1, 0, 1, 0];
  };
  let f = fold(x);
  if (!f || (unitLast && cols > 1 && x._strides[n + 1] !== 1)) {
    x = contiguousRaw(x);
    temps.push(x);
    f = fold(x)!;
  }
  const v = x._view([f[0], f[2], rows, cols], [f[1], f[3], x._strides[n], x._strides[n + 1]], x._offset);
  temps.push(v);
  return v;
}

/** Writes the inputs' metadata as the binding's read_attention_inputs expects. */
function metaInputs(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, causal: boolean, scale: number): void {
  q._meta();
  k._meta();
  v._meta();
  metaNum(mask ? (mask.dtype === 'bool' ? 1 : 2) : 0);
  if (mask) mask._meta();
  metaNum(causal ? 1 : 0, scale);
}

/**
 * A new [B1, B2, rows, cols] tensor laid out as [B1, rows, B2, cols] in memory: heads-inner, the
 * layout a [N, T, H * D] projection reshaped into heads has, so merging heads back is a view.
 */
function headsInner(B1: number, B2: number, rows: number, cols: number, dtype: Tensor['dtype'], device: Tensor['device']): Tensor {
  const base = empty([B1, rows, B2, cols], dtype, device);
  const v = base._view([B1, B2, rows, cols], [rows * B2 * cols, cols, B2 * cols, 1], 0);
  base.dispose();
  return v;
}

/** Runs the forward kernel; returns out4 ([B1, B2, L, Ev] view, heads-inner memory) and lse. */
function forward4(q4: Tensor, k4: Tensor, v4: Tensor, m4: Tensor | null, causal: boolean, scale: number, out4: Tensor): Tensor {
  const [B1, B2, L] = q4._shape;
  const lse = empty([B1, B2, L], q4.dtype, q4.device);
  meta();
  out4._meta();
  lse._meta();
  metaInputs(q4, k4, v4, m4, causal, scale);
  callee().attentionForward();
  return lse;
}

/** Runs the backward kernel into dq4, dk4, dv4 (any layout with unit last stride). */
function backward4(dq4: Tensor, dk4: Tensor, dv4: Tensor, g4: Tensor, out4: Tensor, lse: Tensor, q4: Tensor, k4: Tensor, v4: Tensor, m4: Tensor | null, causal: boolean, scale: number): void {
  meta();
  dq4._meta();
  dk4._meta();
  dv4._meta();
  g4._meta();
  out4._meta();
  lse._meta();
  metaInputs(q4, k4, v4, m4, causal, scale);
  callee().attentionBackward();
}

/** A gradient for x (rows x cols per batch) in x's own layout family: heads-inner when x is. */
function gradLike(x4: Tensor): Tensor {
  const [B1, B2, rows, cols] = x4._shape;
  return x4._strides[1] < x4._strides[2] ? headsInner(B1, B2, rows, cols, x4.dtype, x4.device) : empty([B1, B2, rows, cols], x4.dtype, x4.device);
}

/**
 * Fused attention. batch is the broadcast batch shape of q, k, v (and mask); a float mask must not
 * require grad (callers take the unfused path for that). The result is [...batch, L, Ev] with heads
 * innermost in memory (a [N, H, L, D] result is the transpose of a contiguous [N, L, H, D]).
 */
export function fusedAttention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, causal: boolean, scale: number, batch: number[]): Tensor {
  const half = halfOperand(q, k, v, mask);
  if (half) return viaFloat32(half, [q, k, v, mask], (qf, kf, vf, mf) => fusedAttention(qf, kf, vf, mf, causal, scale, batch));
  const L = q._shape[q.ndim - 2], E = q._shape[q.ndim - 1], S = k._shape[k.ndim - 2], Ev = v._shape[v.ndim - 1];
  const inputs4 = (temps: Tensor[]): Tensor[] => [
    as4d(q, batch, L, E, true, temps),
    as4d(k, batch, S, E, true, temps),
    as4d(v, batch, S, Ev, true, temps),
    ...(mask ? [as4d(mask, batch, L, S, false, temps)] : []),
  ];
  const temps: Tensor[] = [];
  let out4: Tensor, lse: Tensor;
  try {
    const [q4, k4, v4, m4] = inputs4(temps);
    out4 = headsInner(q4._shape[0], q4._shape[1], L, Ev, q.dtype, q.device);
    lse = forward4(q4, k4, v4, m4 ?? null, causal, scale, out4);
  } finally {
    for (const t of temps) t.dispose();
  }
  const y = out4.reshape([...batch, L, Ev]);
  record(
    y,
    'ScaledDotProductFlashAttentionBackward',
    [q, k, v],
    (g) => {
      const temps: Tensor[] = [];
      try {
        const [q4, k4, v4, m4] = inputs4(temps);
        const g4 = as4d(g, batch, L, Ev, true, temps);
        const dq4 = gradLike(q4), dk4 = gradLike(k4), dv4 = gradLike(v4);
        backward4(dq4, dk4, dv4, g4, out4!, lse!, q4, k4, v4, m4 ?? null, causal, scale);
        // Back to the inputs' shapes, summing over the batch dims they were broadcast along.
        const back = (d: Tensor, x: Tensor, rows: number, cols: number): Tensor => sumToShape(d.reshape([...batch, rows, cols]), x._shape);
        return [back(dq4, q, L, E), back(dk4, k, S, E), back(dv4, v, S, Ev)];
      } finally {
        for (const t of temps) t.dispose();
      }
    },
    [q, k, v, out4, lse, ...(mask ? [mask] : [])],
  );
  if (y !== out4) out4.dispose();
  if (!y.gradFn) lse.dispose();
  return y;
}

/** Columns [c0, c0 + H * D) of t [N, T, C] (unit last stride) seen as heads [N, H, T, D] (a raw view). */
function headsOf(t: Tensor, c0: number, H: number, D: number): Tensor {
  const [N, T] = t._shape;
  return t._view([N, H, T, D], [t._strides[0], D * t._strides[2], t._strides[1], t._strides[2]], t._offset + c0 * t._strides[2]);
}

/**
 * Causal or full self-attention straight from a packed projection qkv [N, T, 3E] (q, k, v side by
 * side, H heads of D = E / H): returns [N, T, E] with heads merged, and its backward writes one
 * [N, T, 3E] gradient. No head split, merge or gradient concatenation is ever copied.
 */
export function fusedPackedSelfAttention(qkv: Tensor, H: number, causal: boolean, scale: number): Tensor {
  const half = halfOperand(qkv);
  if (half) return viaFloat32(half, [qkv], (x) => fusedPackedSelfAttention(x, H, causal, scale));
  const [N, T, C] = qkv._shape;
  const E = C / 3, D = E / H;
  const temps: Tensor[] = [];
  const src = qkv._strides[2] === 1 ? qkv : contiguousRaw(qkv);
  if (src !== qkv) temps.push(src);
  const views = (t: Tensor): Tensor[] => [0, 1, 2].map((i) => headsOf(t, i * E, H, D));
  const [q4, k4, v4] = views(src);
  const out = empty([N, T, E], qkv.dtype, qkv.device);
  const out4 = headsOf(out, 0, H, D);
  let lse: Tensor;
  try {
    lse = forward4(q4, k4, v4, null, causal, scale, out4);
  } finally {
    for (const t of [q4, k4, v4, ...temps]) t.dispose();
  }
  record(
    out,
    'ScaledDotProductFlashAttentionBackward',
    [qkv],
    (g) => {
      const own: Tensor[] = [];
      try {
        const s = qkv._strides[2] === 1 ? qkv : contiguousRaw(qkv);
        if (s !== qkv) own.push(s);
        const gs = g._strides[2] === 1 ? g : contiguousRaw(g);
        if (gs !== g) own.push(gs);
        const dqkv = empty([N, T, C], qkv.dtype, qkv.device);
        const [q4, k4, v4] = views(s), [dq4, dk4, dv4] = views(dqkv), g4 = headsOf(gs, 0, H, D);
        own.push(q4, k4, v4, dq4, dk4, dv4, g4);
        backward4(dq4, dk4, dv4, g4, out4, lse, q4, k4, v4, null, causal, scale);
        return [dqkv];
      } finally {
        for (const t of own) t.dispose();
      }
    },
    [qkv, out, lse],
  );
  if (!out.gradFn) {
    out4.dispose();
    lse.dispose();
  }
  return out;
}
