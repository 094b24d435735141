// One layer and direction of a recurrent layer (nn.RNN / LSTM / GRU) with its time loop in native
// code (native/kernels/rnn.cpp; equations and layouts in native/kernels/rnn.h):
//
//   forward:   xg = x @ W_ih^T + b_ih                  one GEMM over all T * B rows
//              rnnForward: for each step, h_{t-1} @ W_hh^T (+ b_hh) and the cell -> out, hN, cN
//   backward:  rnnBackward: through time -> dxg (d of the gate pre-activations), dh0, dc0, dW_hh,
//              db_hh, db_ih, dW_hr
//              dx = dxg @ W_ih,  dW_ih = dxg^T @ x     two GEMMs
//
// The node's single output packs [out (T*B*P) | hN (B*P) | cN (B*H, LSTM)]; the tensors handed out
// are views of it, so gradients reaching any of them flow into the one backward call.
// lib/nn/rnn.ts stacks layers and directions, and checks the user's arguments.
import { record } from '../autograd';
import { callee, meta, metaNum, native } from '../native';
import { contiguousStrides, numelOf, shapeStr } from '../shape';
import { Tensor } from '../tensor';
import { put, type Desc } from './spatial';
import { empty } from './util';
import { contiguousRaw, rawView } from './views';

export type RnnMode = 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';

/** Mode codes shared with native/rnn_params.h (RnnMode). */
const MODE_CODE: Record<RnnMode, number> = { RNN_TANH: 0, RNN_RELU: 1, LSTM: 2, GRU: 3 };

/** Gates per cell: the gate pre-activations of one step are gates * hiddenSize wide. */
export function rnnGates(mode: RnnMode): number {
  return mode === 'LSTM' ? 4 : mode === 'GRU' ? 3 : 1;
}

/** Values saved per (t, b) for the backward (native/rnn_params.h rnn_ws_width). */
function wsWidth(mode: RnnMode, H: number, proj: boolean): number {
  return mode === 'LSTM' ? (proj ? 7 : 6) * H : mode === 'GRU' ? 4 * H : H;
}

/** Scratch elements a native call needs (native/rnn_params.h rnn_scratch_size). */
function scratchSize(mode: RnnMode, T: number, B: number, H: number, P: number, proj: boolean, backward: boolean): number {
  const GH = rnnGates(mode) * H;
  let n = B * (GH + H + P);
  if (!backward) n += P * GH + (proj ? H * P : 0);
  if (backward && mode === 'GRU') n += T * B * GH;
  if (backward && proj) n += T * B * P;
  return n;
}

/** The weights of one layer and direction, PyTorch's shapes: W_ih [G*H, I], W_hh [G*H, P], W_hr [P, H]. */
export interface RnnLayerWeights {
  wIh: Tensor;
  wHh: Tensor;
  bIh: Tensor | null;
  bHh: Tensor | null;
  wHr: Tensor | null;
}

export interface RnnLayerResult {
  /** [T, B, P]: h_t of every step (zero past each sequence's length). */
  out: Tensor;
  /** [B, P]: the state after each sequence's last step. */
  hN: Tensor;
  /** [B, H]: the LSTM cell state after each sequence's last step (null for RNN and GRU). */
  cN: Tensor | null;
}

function dense(t: Tensor, temps: Tensor[]): Tensor {
  if (t.isContiguous()) return t;
  const c = contiguousRaw(t);
  temps.push(c);
  return c;
}

/** A [rows, cols] matrix view of t (element (i, k) at offset + i * rs + k * cs). */
function mat(t: Tensor, rows: number, cols: number, rs: number, cs: number, offset = t._offset): Desc {
  return { t, offset, shape: [rows, cols], strides: [rs, cs] };
}

function gemm(c: Desc, a: Desc, b: Desc, beta: number): void {
  meta();
  put(c);
  put(a);
  put(b);
  metaNum(1, beta);
  callee().gemm();
}

/** An optional operand: a flag, then the descriptor. */
function optional(t: Tensor | Desc | null): void {
  metaNum(t ? 1 : 0);
  if (t instanceof Tensor) t._meta();
  else if (t) put(t);
}

/**
 * Runs one layer and direction over x [T, B, I] from h0 [B, P] / c0 [B, H] (null: zeros), with
 * autograd to x, h0, c0 and every weight. `lengths` (int32 [B], contiguous, each in 1..T) gives
 * packed-sequence semantics; `reverse` runs each sequence from its last valid step back to t = 0.
 * Arguments are trusted to be consistent (lib/nn/rnn.ts checks them; the binding checks again).
 */
export function rnnLayer(
  mode: RnnMode,
  x: Tensor,
  h0: Tensor | null,
  c0: Tensor | null,
  w: RnnLayerWeights,
  reverse: boolean,
  lengths: Tensor | null,
): RnnLayerResult {
  const code = MODE_CODE[mode];
  const lstm = mode === 'LSTM';
  const [T, B, I] = x._shape;
  const GH = w.wHh._shape[0], P = w.wHh._shape[1], H = GH / rnnGates(mode);
  const proj = w.wHr !== null;
  if (x.ndim !== 3 || w.wIh._shape[0] !== GH || w.wIh._shape[1] !== I || !Number.isInteger(H)) {
    throw new Error(`rnn: input ${shapeStr(x._shape)} does not match weight_ih ${shapeStr(w.wIh._shape)} and weight_hh ${shapeStr(w.wHh._shape)}`);
  }
  const dt = x.dtype;
  const temps: Tensor[] = [];
  const xc = dense(x, temps);
  const wHh = dense(w.wHh, temps);
  const bHh = w.bHh ? dense(w.bHh, temps) : null;
  const wHr = w.wHr ? dense(w.wHr, temps) : null;
  const h0c = h0 ? dense(h0, temps) : null;
  const c0c = c0 ? dense(c0, temps) : null;
  const wIh = w.wIh;
  const rows = T * B;

  // xg = x @ W_ih^T + b_ih, all steps at once.
  const xg = empty([T, B, GH], dt, x.device);
  temps.push(xg);
  if (w.bIh) {
    meta();
    put(mat(xg, rows, GH, GH, 1));
    put(mat(w.bIh, rows, GH, 0, w.bIh._strides[0]));
    callee().copy();
  }
  gemm(mat(xg, rows, GH, GH, 1), mat(xc, rows, I, I, 1), mat(wIh, I, GH, wIh._strides[1], wIh._strides[0]), w.bIh ? 1 : 0);

  const nOut = rows * P, nState = B * P;
  const packed = empty([nOut + nState + (lstm ? B * H : 0)], dt, x.device);
  const hprev = empty([T, B, P], dt, x.device), ws = empty([T, B, wsWidth(mode, H, proj)], dt, x.device);
  const scratch = empty([scratchSize(mode, T, B, H, P, proj, false)], dt, x.device);
  temps.push(scratch);
  const outDesc: Desc = { t: packed, offset: 0, shape: [T, B, P], strides: [B * P, P, 1] };
  const hNDesc = mat(packed, B, P, P, 1, nOut);
  const cNDesc = lstm ? mat(packed, B, H, H, 1, nOut + nState) : null;
  try {
    meta();
    put(outDesc);
    put(hNDesc);
    optional(cNDesc);
    hprev._meta();
    ws._meta();
    scratch._meta();
    xg._meta();
    wHh._meta();
    optional(bHh);
    optional(wHr);
    optional(h0c);
    optional(c0c);
    optional(lengths);
    metaNum(reverse ? 1 : 0);
    callee().rnnForward(code);
  } catch (e) {
    for (const t of [packed, hprev, ws, ...temps]) if (!t._disposed) t.dispose();
    throw e;
  }

  const inputs: Tensor[] = [x];
  if (h0) inputs.push(h0);
  if (c0) inputs.push(c0);
  inputs.push(w.wIh, w.wHh);
  if (w.bIh) inputs.push(w.bIh);
  if (w.bHh) inputs.push(w.bHh);
  if (w.wHr) inputs.push(w.wHr);
  const saved = [xc, hprev, ws, wHh, ...(wHr ? [wHr] : []), ...(lengths ? [lengths] : [])];
  record(
    packed,
    lstm ? 'LstmBackward' : mode === 'GRU' ? 'GruBackward' : 'RnnBackward',
    inputs,
    (g) => {
      const btemps: Tensor[] = [];
      const gc = dense(g, btemps);
      const dxg = empty([T, B, GH], dt, x.device);
      btemps.push(dxg);
      const dh0 = empty([B, P], dt, x.device), dc0 = lstm ? empty([B, H], dt, x.device) : null;
      const dWhh = empty([GH, P], dt, x.device);
      const dbHh = w.bHh && w.bHh.requiresGrad ? empty([GH], dt, x.device) : null;
      const dbIh = w.bIh && w.bIh.requiresGrad ? empty([GH], dt, x.device) : null;
      const dWhr = wHr ? empty([P, H], dt, x.device) : null;
      const bscratch = empty([scratchSize(mode, T, B, H, P, proj, true)], dt, x.device);
      btemps.push(bscratch);
      try {
        meta();
        dxg._meta();
        dh0._meta();
        optional(dc0);
        dWhh._meta();
        optional(dbHh);
        optional(dbIh);
        optional(dWhr);
        bscratch._meta();
        put({ t: gc, offset: gc._offset, shape: [T, B, P], strides: [B * P, P, 1] });
        optional(mat(gc, B, P, P, 1, gc._offset + nOut));
        optional(lstm ? mat(gc, B, H, H, 1, gc._offset + nOut + nState) : null);
        hprev._meta();
        ws._meta();
        wHh._meta();
        optional(wHr);
        optional(lengths);
        metaNum(reverse ? 1 : 0);
        callee().rnnBackward(code);

        // dx = dxg @ W_ih, dW_ih = dxg^T @ x.
        let dx: Tensor | null = null, dWih: Tensor | null = null;
        if (x.requiresGrad) {
          dx = empty([T, B, I], dt, x.device);
          gemm(mat(dx, rows, I, I, 1), mat(dxg, rows, GH, GH, 1), mat(wIh, GH, I, wIh._strides[0], wIh._strides[1]), 0);
        }
        if (wIh.requiresGrad) {
          dWih = empty([GH, I], dt, x.device);
          gemm(mat(dWih, GH, I, I, 1), mat(dxg, GH, rows, 1, GH), mat(xc, rows, I, I, 1), 0);
        }
        const grads: (Tensor | null)[] = [dx];
        if (h0) grads.push(h0.requiresGrad ? dh0 : null);
        if (c0) grads.push(c0.requiresGrad ? dc0 : null);
        grads.push(dWih, w.wHh.requiresGrad ? dWhh : null);
        if (w.bIh) grads.push(dbIh);
        if (w.bHh) grads.push(dbHh);
        if (w.wHr) grads.push(w.wHr.requiresGrad ? dWhr : null);
        for (const t of [dh0, dc0, dWhh, dWhr]) if (t && !grads.includes(t)) t.dispose();
        return grads;
      } catch (e) {
        for (const t of [dh0, dc0, dWhh, dbHh, dbIh, dWhr]) t?.dispose();
        throw e;
      } finally {
        for (const t of btemps) if (t !== g) t.dispose();
      }
    },
    saved,
  );
  const keepSet = new Set<Tensor>(packed.gradFn ? saved : []);
  for (const t of [hprev, ws, ...temps]) if (!keepSet.has(t)) t.dispose();

  // The three results as views of the packed output, with autograd when it has a gradFn.
  const part = (offset: number, shape: number[]): Tensor => {
    if (!packed.gradFn) return rawView(packed, shape, contiguousStrides(shape), offset);
    const flat = packed.narrow(0, offset, numelOf(shape));
    return flat.view(shape);
  };
  const out = part(0, [T, B, P]);
  const hN = part(nOut, [B, P]);
  const cN = lstm ? part(nOut + nState, [B, H]) : null;
  if (!packed.gradFn) packed.dispose();
  return { out, hN, cN };
}
