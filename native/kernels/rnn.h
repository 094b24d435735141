// Recurrent layers (rnn.cpp): the time loop of one layer and direction of nn.RNN / nn.LSTM / nn.GRU,
// forward and backward through time, in one call each. Arguments and buffer sizes: ../rnn_params.h.
//
// Shapes: T steps, B batch, H hidden, P output (P = H, or the LSTM projection size), G gates
// (1, 4 or 3), all tensors contiguous and row-major. The caller computes the input projection for
// every step first, as one GEMM:   xg[t, b] = x[t, b] @ W_ih^T + b_ih         [T, B, G*H]
// and each step adds                hg[b]    = h_{t-1}[b] @ W_hh^T + b_hh      [B, G*H]  (one GEMM)
// then applies the cell, PyTorch's equations and gate order:
//   tanh / relu: h_t = act(xg + hg)
//   LSTM:        i, f, g, o = sig(xg_i + hg_i), sig(xg_f + hg_f), tanh(xg_g + hg_g), sig(xg_o + hg_o)
//                c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)   (projection: h_t = (o * tanh(c_t)) @ W_hr^T)
//   GRU:         r, z = sig(xg_r + hg_r), sig(xg_z + hg_z),   n = tanh(xg_n + r * hg_n)
//                h_t = (1 - z) * n + z * h_{t-1}
// With lengths, batch element b runs steps s < len_b only, at time t = s (or len_b - 1 - s in
// reverse); its state stays as it was after its last step, and out / hprev / ws / dxg rows at
// t >= len_b are zero (packed-sequence semantics).
//
// The backward walks the steps in reverse. From dL/dh_t (dout at t plus what flows back from step
// t + 1) it forms the gradient of each gate's pre-activation, dxg[t, b] (= dL/d(x_t W_ih^T + b_ih)),
// and of the hidden GEMM's output, dhg (which differs from dxg only in GRU's n gate: r * dn), then
//   dh_{t-1} = dhg @ W_hh (+ z * dh_t for GRU),   dc_{t-1} = f * dc_t (LSTM)
// and after the loop, as one GEMM each:  dW_hh = sum_t dhg_t^T @ h_{t-1},  dW_hr = sum_t dh_t^T @ hraw_t,
// db_hh = column sums of dhg, db_ih = column sums of dxg. dX and dW_ih are GEMMs with dxg by the caller.
#pragma once
#include "../rnn_params.h"
#include "common.h"

TF_KERNEL_NAMESPACE_BEGIN
void rnn_forward(const RnnForwardArgs& a);
void rnn_backward(const RnnBackwardArgs& a);
TF_KERNEL_NAMESPACE_END
