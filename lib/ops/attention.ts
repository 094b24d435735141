// The fused attention op (native/kernels/attention.cpp): softmax(q k^T * scale + mask) v without
// materialising the scores, forward saving each row's log-sum-exp, backward recomputing from it.
// nn.functional.scaledDotProductAttention validates the arguments and picks this path.
//   q [..., L, E]   k [..., S, E]   v [..., S, Ev]   mask broadcastable to [..., L, S] -> [..., L, Ev]
// The kernels see every operand as 4-D [B1, B2, rows, cols]: the broadcast batch dims folded into
// two (a view when the strides allow, else a copy).
import { record } from '../autograd';
import { meta, metaNum, native } from '../native';
import { Tensor } from '../tensor';
import { broadcastView, empty, sumToShape } from './util';
import { contiguousRaw } from './views';

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
 * Fused attention. batch is the broadcast batch shape of q, k, v (and mask); a float mask must not
 * require grad (callers take the unfused path for that).
 */
export function fusedAttention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, causal: boolean, scale: number, batch: number[]): Tensor {
  const L = q._shape[q.ndim - 2], E = q._shape[q.ndim - 1], S = k._shape[k.ndim - 2], Ev = v._shape[v.ndim - 1];
  const inputs4 = (temps: Tensor[]): Tensor[] => [
    as4d(q, batch, L, E, true, temps),
    as4d(k, batch, S, E, true, temps),
    as4d(v, batch, S, Ev, true, temps),
    ...(mask ? [as4d(mask, batch, L, S, false, temps)] : []),
  ];
  const temps: Tensor[] = [];
  const [q4, k4, v4, m4] = inputs4(temps);
  const B1 = q4._shape[0], B2 = q4._shape[1];
  const out = empty([B1, B2, L, Ev], q.dtype), lse = empty([B1, B2, L], q.dtype);
  try {
    meta();
    out._meta();
    lse._meta();
    metaInputs(q4, k4, v4, m4 ?? null, causal, scale);
    native.attentionForward();
  } finally {
    for (const t of temps) t.dispose();
  }
  const y = out.reshape([...batch, L, Ev]);
  record(
    y,
    'ScaledDotProductFlashAttentionBackward',
    [q, k, v],
    (g) => {
      const temps: Tensor[] = [];
      try {
        const [q4, k4, v4, m4] = inputs4(temps);
        const g4 = as4d(g, batch, L, Ev, true, temps);
        const dq = empty([B1, B2, L, E], q.dtype), dk = empty([B1, B2, S, E], q.dtype), dv = empty([B1, B2, S, Ev], q.dtype);
        meta();
        dq._meta();
        dk._meta();
        dv._meta();
        g4._meta();
        out._meta();
        lse._meta();
        metaInputs(q4, k4, v4, m4 ?? null, causal, scale);
        native.attentionBackward();
        // Back to the inputs' shapes, summing over the batch dims they were broadcast along.
        const back = (d: Tensor, x: Tensor, rows: number, cols: number): Tensor => sumToShape(d.reshape([...batch, rows, cols]), x._shape);
        return [back(dq, q, L, E), back(dk, k, S, E), back(dv, v, S, Ev)];
      } finally {
        for (const t of temps) t.dispose();
      }
    },
    [q, k, v, out, lse],
  );
  if (y !== out && !y.gradFn) {
    out.dispose();
  }
  if (!y.gradFn) lse.dispose();
  return y;
}
