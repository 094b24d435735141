// Arguments of the recurrent-layer kernels (kernels/rnn.cpp): plain structs, like TensorView, so
// they cross from the binding into the per-CPU-level kernel copies. Layouts and formulas are in
// kernels/rnn.h; the binding (rnnForward / rnnBackward) checks every size below before a call.
#pragma once
#include <cstdint>

namespace tf {

// Cell kinds; values shared with lib/ops/rnn.ts (RNN_MODE).
enum class RnnMode : int32_t { Tanh = 0, Relu = 1, Lstm = 2, Gru = 3, Count };

// Gates per cell: G (the pre-activations of a step are G * H wide).
inline int64_t rnn_gates(RnnMode m) { return m == RnnMode::Lstm ? 4 : m == RnnMode::Gru ? 3 : 1; }

// Values the forward saves per (t, b) for the backward (the workspace `ws` is [T, B, W]):
//   tanh / relu: h_t                                       W = H
//   LSTM:        i, f, g, o, tanh(c_t), c_{t-1} [, o * tanh(c_t) with a projection]   W = 6H [+ H]
//   GRU:         r, z, n, W_hn h_{t-1} + b_hn               W = 4H
inline int64_t rnn_ws_width(RnnMode m, int64_t H, bool proj) {
  switch (m) {
    case RnnMode::Lstm: return (proj ? 7 : 6) * H;
    case RnnMode::Gru: return 4 * H;
    default: return H;
  }
}

// Scratch elements (one buffer, any contents on entry) a forward or backward call needs.
//   forward:  hg [B, G*H], hraw [B, H], hp [B, P], W_hh^T [P, G*H], (projection) W_hr^T [H, P]
//   backward: dhraw [B, H], dhg [B, G*H], dhh [B, P], then (GRU) dhg for every step [T, B, G*H]
//             and (projection) dh for every step [T, B, P]
inline int64_t rnn_scratch_size(RnnMode m, int64_t T, int64_t B, int64_t H, int64_t P, bool proj, bool backward) {
  const int64_t GH = rnn_gates(m) * H;
  int64_t n = B * (GH + H + P);
  if (!backward) n += P * GH + (proj ? H * P : 0);
  if (backward && m == RnnMode::Gru) n += T * B * GH;
  if (backward && proj) n += T * B * P;
  return n;
}

// The sizes every call shares. Batch element b is active at step s when s < len_b (len_b = T
// without lengths); it then processes time t = s (forward) or t = len_b - 1 - s (reverse).
struct RnnDims {
  RnnMode mode;
  int32_t dtype;
  int64_t T, B, H, P;       // steps, batch, hidden size, output size (P = H unless projected)
  bool reverse;
  const int32_t* lengths;         // [B], each in 1..T, or null (all T); host memory (the host drives the loop)
  const int32_t* device_lengths;  // the same values where the kernels run (the tensor's own memory)
};

// Forward of one layer and direction. All tensors contiguous, of dtype.
struct RnnForwardArgs {
  RnnDims d;
  void* out;         // [T, B, P]  h_t (zero at t >= len_b)
  void* h;           // [B, P]     hN (the running state)
  void* c;           // [B, H]     cN (LSTM; null otherwise)
  void* hprev;       // [T, B, P]  h_{t-1} of each step (zero at t >= len_b)
  void* ws;          // [T, B, W]  saved activations (see rnn_ws_width)
  void* scratch;     // rnn_scratch_size(..., false) elements
  const void* xg;    // [T, B, G*H] x_t @ W_ih^T + b_ih
  const void* w_hh;  // [G*H, P]
  const void* b_hh;  // [G*H] or null
  const void* w_hr;  // [P, H] or null (LSTM projection)
  const void* h0;    // [B, P] or null (zeros)
  const void* c0;    // [B, H] or null (zeros)
};

// Backward through time of one layer and direction. Contiguous tensors of dtype, except dout.
struct RnnBackwardArgs {
  RnnDims d;
  void* dxg;           // [T, B, G*H]  dL/d(x_t @ W_ih^T + b_ih) (zero at t >= len_b)
  void* dh0;           // [B, P]
  void* dc0;           // [B, H] (LSTM; null otherwise)
  void* dw_hh;         // [G*H, P]
  void* db_hh;         // [G*H] or null (not wanted)
  void* db_ih;         // [G*H] or null (not wanted)
  void* dw_hr;         // [P, H] or null (no projection)
  void* scratch;       // rnn_scratch_size(..., true) elements
  const void* dout;    // [T, B, P] at dout + t * dout_st + b * dout_sb + j * dout_sj
  int64_t dout_st, dout_sb, dout_sj;
  const void* dhN;     // [B, P] or null (zeros)
  const void* dcN;     // [B, H] or null (zeros)
  const void* hprev;   // [T, B, P] from the forward
  const void* ws;      // [T, B, W] from the forward
  const void* w_hh;    // [G*H, P]
  const void* w_hr;    // [P, H] or null
};

}  // namespace tf
