// matmul with torch.matmul's rules: 1-D vectors are promoted (and the added dim removed after),
// batch dims broadcast. All cases run through the one batched GEMM entry point (native gemm), which
// reads transposed and strided operands in place.
//   forward:  C = A @ B            backward:  dA = dC @ B^T,  dB = A^T @ dC  (summed over broadcast batch dims)
import { noGrad, record } from '../autograd';
import { isFloating, promoteTypes } from '../dtype';
import { callee, meta, metaNum, native } from '../native';
import { broadcastShapes, shapeStr } from '../shape';
import { Tensor } from '../tensor';
import { broadcastView, empty, sumToShape } from './util';

function check(op: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${x === null ? 'null' : typeof x}`);
  x._check(op);
  return x;
}

/** C[...] = A[...] @ B[...] for operands of rank >= 2 already broadcast to one batch shape. No autograd. */
function gemmRaw(a: Tensor, b: Tensor, batch: number[]): Tensor {
  const M = a._shape[a.ndim - 2], K = a._shape[a.ndim - 1], N = b._shape[b.ndim - 1];
  const va = broadcastView(a, [...batch, M, K]);
  const vb = broadcastView(b, [...batch, K, N]);
  const c = empty([...batch, M, N], a.dtype, a.device);
  try {
    meta();
    c._meta();
    va._meta();
    vb._meta();
    metaNum(1, 0);
    callee().gemm();
  } finally {
    if (va !== a) va.dispose();
    if (vb !== b) vb.dispose();
  }
  return c;
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  const op = 'matmul';
  check(op, a);
  check(op, b);
  if (a.ndim === 0 || b.ndim === 0) {
    throw new Error(`${op}: both arguments need at least 1 dimension, got shapes ${shapeStr(a._shape)} and ${shapeStr(b._shape)}`);
  }
  if (!isFloating(a.dtype) || !isFloating(b.dtype)) {
    throw new TypeError(`${op}: expected floating-point tensors, got ${a.dtype} and ${b.dtype} (convert with .float())`);
  }
  const K = a._shape[a.ndim - 1], Kb = b._shape[b.ndim === 1 ? 0 : b.ndim - 2];
  if (K !== Kb) {
    throw new Error(`${op}: shapes ${shapeStr(a._shape)} and ${shapeStr(b._shape)} are incompatible (${K} != ${Kb})`);
  }
  if (a.ndim > 2 && b.ndim === 2) {
    // [..., M, K] @ [K, N] is one [(...M), K] @ [K, N] GEMM (a view when a's leading dims merge, else a
    // copy): far better than packing the same B once per batch, and its backward gives dB as one GEMM
    // over all rows instead of per-batch products summed afterwards.
    const lead = a._shape.slice(0, -1);
    const rows = lead.reduce((p, c) => p * c, 1);
    return matmul(a.reshape([rows, K]), b).reshape([...lead, b._shape[1]]);
  }
  const dt = promoteTypes(a.dtype, b.dtype);
  // Operands as rank >= 2 tensors of the common dtype: a [K] -> [1, K], b [K] -> [K, 1] (views).
  const promote = (x: Tensor, isA: boolean): Tensor => {
    const c = x.dtype === dt ? x : x.to(dt);
    if (x.ndim !== 1) return c;
    return isA ? c.reshape([1, K]) : c.reshape([K, 1]);
  };
  const batch = broadcastShapes(op, a._shape.slice(0, -2), b.ndim === 1 ? [] : b._shape.slice(0, -2));
  const M = a.ndim === 1 ? 1 : a._shape[a.ndim - 2], N = b.ndim === 1 ? 1 : b._shape[b.ndim - 1];
  const outShape = [...batch];
  if (a.ndim !== 1) outShape.push(M);
  if (b.ndim !== 1) outShape.push(N);

  const out = noGrad(() => {
    const A = promote(a, true), B = promote(b, false);
    const c = gemmRaw(A, B, batch);
    for (const t of [A, B]) if (t !== a && t !== b) t.dispose();
    if (c.ndim === outShape.length) return c;
    const r = c.reshape(outShape);
    c.dispose();
    return r;
  });
  return record(
    out,
    'MmBackward',
    [a, b],
    (g) => {
      const A = promote(a, true), B = promote(b, false);
      const g2 = g.reshape([...batch, M, N]);
      const ga = a.requiresGrad ? sumToShape(matmul(g2, B.mT()), A._shape).reshape(a._shape).to(a.dtype) : null;
      const gb = b.requiresGrad ? sumToShape(matmul(A.mT(), g2), B._shape).reshape(b._shape).to(b.dtype) : null;
      return [ga, gb];
    },
    [a, b],
  );
}

/** Matrix transpose of the last two dims (batched), as Tensor.mT in PyTorch. */
export function mT(x: Tensor): Tensor {
  check('mT', x);
  if (x.ndim < 2) throw new Error(`mT: expected a tensor with >= 2 dims, got shape ${shapeStr(x._shape)}`);
  return x.transpose(-2, -1);
}

export function mm(a: Tensor, b: Tensor): Tensor {
  check('mm', a);
  check('mm', b);
  if (a.ndim !== 2 || b.ndim !== 2) throw new Error(`mm: expected 2-D tensors, got shapes ${shapeStr(a._shape)} and ${shapeStr(b._shape)}`);
  return matmul(a, b);
}
export function bmm(a: Tensor, b: Tensor): Tensor {
  check('bmm', a);
  check('bmm', b);
  if (a.ndim !== 3 || b.ndim !== 3 || a._shape[0] !== b._shape[0]) {
    throw new Error(`bmm: expected 3-D tensors with equal batch, got shapes ${shapeStr(a._shape)} and ${shapeStr(b._shape)}`);
  }
  return matmul(a, b);
}
