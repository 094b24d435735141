// The time loops of the recurrent layers; equations, shapes and layouts in rnn.h and ../rnn_params.h.
// Each step is one GEMM over the whole batch (the existing batched GEMM kernel) followed by the
// cell's elementwise math, row by row in parallel over the batch. Loops are written per (t, b) row
// with j running over the H units of each gate, so they read like the equations.
#include "rnn.h"

#include "gemm.h"

TF_KERNEL_NAMESPACE_BEGIN

namespace {

// Rows [b] of the batch loop per parallel chunk: about 8K gate values each.
int64_t row_grain(int64_t width) { return width >= 8192 ? 1 : 8192 / width + 1; }

template <class T> void zero(T* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] = T(0);
}
template <class T> void copy(T* dst, const T* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
}

// dst [cols, rows] = src [rows, cols]^T
template <class T> void transpose(T* dst, const T* src, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) dst[j * rows + i] = src[i * cols + j];
}

// out[j] = sum over rows r of x[r, j]   (x [rows, cols]), accumulated in double.
template <class T> void column_sums(T* out, const T* x, int64_t rows, int64_t cols) {
  constexpr int64_t kBlock = 256;
  parallel_for(0, cols, kBlock, [&](int64_t lo, int64_t hi) {
    for (int64_t j0 = lo; j0 < hi; j0 += kBlock) {
      const int64_t n = hi - j0 < kBlock ? hi - j0 : kBlock;
      double acc[kBlock];
      for (int64_t j = 0; j < n; ++j) acc[j] = 0;
      for (int64_t r = 0; r < rows; ++r) {
        const T* xr = x + r * cols + j0;
        for (int64_t j = 0; j < n; ++j) acc[j] += double(xr[j]);
      }
      for (int64_t j = 0; j < n; ++j) out[j0 + j] = T(acc[j]);
    }
  });
}

// The steps and time indices of a layer: element b runs steps s < len(b), at time t(s, b).
struct Schedule {
  const RnnDims& d;
  int64_t len(int64_t b) const { return d.lengths ? int64_t(d.lengths[b]) : d.T; }
  bool active(int64_t s, int64_t b) const { return s < len(b); }
  int64_t time(int64_t s, int64_t b) const { return d.reverse ? len(b) - 1 - s : s; }
  int64_t steps() const {
    int64_t m = 0;
    for (int64_t b = 0; b < d.B; ++b) m = len(b) > m ? len(b) : m;
    return m;
  }
  // Zeroes the rows (t, b) with t >= len(b) of a [T, B, width] buffer.
  template <class T> void zero_padding(T* x, int64_t width) const {
    if (!x || !d.lengths) return;
    for (int64_t b = 0; b < d.B; ++b)
      for (int64_t t = len(b); t < d.T; ++t) zero(x + (t * d.B + b) * width, width);
  }
};

// ---- one (t, b) row of each cell ------------------------------------------------------------------
// x: the step's input projection (xg row), hg: h_{t-1} @ W_hh^T + b_hh, gates side by side [G*H];
// the saved values go to the workspace row (layout in ../rnn_params.h). Every pointer names its own
// memory (__restrict), so the loops vectorise.

// tanh / relu:  h = act(x + hg);  saved: h
template <class T, bool kRelu>
void simple_cell(int64_t H, const T* __restrict x, const T* __restrict hg, T* __restrict h, T* __restrict out,
                 T* __restrict saved) {
  for (int64_t j = 0; j < H; ++j) {
    const T a = x[j] + hg[j];
    const T v = kRelu ? (a < T(0) ? T(0) : a) : tanh_(a);
    h[j] = out[j] = saved[j] = v;
  }
}

// LSTM:  i, f, g, o = sig, sig, tanh, sig (x + hg);  c' = f * c + i * g;  hr = o * tanh(c')
// saved: i, f, g, o, tanh(c'), c
template <class T>
void lstm_cell(int64_t H, const T* __restrict x, const T* __restrict hg, T* __restrict c, T* __restrict hr,
               T* __restrict gi, T* __restrict gf, T* __restrict gg, T* __restrict go, T* __restrict tc,
               T* __restrict cp) {
  for (int64_t j = 0; j < H; ++j) {
    const T i = sigmoid(x[j] + hg[j]);
    const T f = sigmoid(x[H + j] + hg[H + j]);
    const T g = tanh_(x[2 * H + j] + hg[2 * H + j]);
    const T o = sigmoid(x[3 * H + j] + hg[3 * H + j]);
    const T c_new = f * c[j] + i * g;
    const T t = tanh_(c_new);
    gi[j] = i, gf[j] = f, gg[j] = g, go[j] = o, tc[j] = t, cp[j] = c[j];
    c[j] = c_new;
    hr[j] = o * t;
  }
}

// GRU:  r, z = sig(x + hg);  n = tanh(x_n + r * hg_n);  h' = (1 - z) * n + z * h
// saved: r, z, n, hg_n
template <class T>
void gru_cell(int64_t H, const T* __restrict x, const T* __restrict hg, T* __restrict h, T* __restrict out,
              T* __restrict sr, T* __restrict sz, T* __restrict sn, T* __restrict shn) {
  for (int64_t j = 0; j < H; ++j) {
    const T r = sigmoid(x[j] + hg[j]);
    const T z = sigmoid(x[H + j] + hg[H + j]);
    const T hn = hg[2 * H + j];
    const T n = tanh_(x[2 * H + j] + r * hn);
    const T h_new = (T(1) - z) * n + z * h[j];
    sr[j] = r, sz[j] = z, sn[j] = n, shn[j] = hn;
    h[j] = out[j] = h_new;
  }
}

// Backward of one row: from dh (dL/dh_t) the gradients of the pre-activations, dx (the input side,
// [G*H]) and dg (the hidden side, differing from dx only in GRU's n gate).

// tanh: da = dh * (1 - h^2);  relu: da = dh where h > 0
template <class T, bool kRelu>
void simple_cell_backward(int64_t H, const T* __restrict dh, const T* __restrict h, T* __restrict dx, T* __restrict dg) {
  for (int64_t j = 0; j < H; ++j) {
    const T da = kRelu ? (h[j] > T(0) ? dh[j] : T(0)) : dh[j] * (T(1) - h[j] * h[j]);
    dx[j] = dg[j] = da;
  }
}

// LSTM, with dhr = dL/d(o * tanh(c_t)) and dc = dL/dc_t from step t + 1 (becomes dL/dc_{t-1}):
//   dc_t = dc + dhr * o * (1 - tanh(c_t)^2);  di = dc_t * g,  df = dc_t * c_{t-1},  dg = dc_t * i,
//   do = dhr * tanh(c_t);  through the activations;  dc_{t-1} = dc_t * f
template <class T>
void lstm_cell_backward(int64_t H, const T* __restrict dhr, T* __restrict dc, const T* __restrict gi,
                        const T* __restrict gf, const T* __restrict gg, const T* __restrict go, const T* __restrict tc,
                        const T* __restrict cp, T* __restrict dx, T* __restrict dg) {
  for (int64_t j = 0; j < H; ++j) {
    const T dct = dc[j] + dhr[j] * go[j] * (T(1) - tc[j] * tc[j]);
    const T di = dct * gg[j] * gi[j] * (T(1) - gi[j]);
    const T df = dct * cp[j] * gf[j] * (T(1) - gf[j]);
    const T dgg = dct * gi[j] * (T(1) - gg[j] * gg[j]);
    const T dov = dhr[j] * tc[j] * go[j] * (T(1) - go[j]);
    dx[j] = dg[j] = di;
    dx[H + j] = dg[H + j] = df;
    dx[2 * H + j] = dg[2 * H + j] = dgg;
    dx[3 * H + j] = dg[3 * H + j] = dov;
    dc[j] = dct * gf[j];
  }
}

// GRU:  dn = dh * (1 - z) * (1 - n^2) (pre-tanh),  dz = dh * (h_{t-1} - n),  dr = dn * hg_n;
//   the hidden side of n is r * dn. (dh_{t-1} also gets z * dh, added by the caller.)
template <class T>
void gru_cell_backward(int64_t H, const T* __restrict dh, const T* __restrict hp, const T* __restrict r,
                       const T* __restrict z, const T* __restrict n, const T* __restrict hn, T* __restrict dx,
                       T* __restrict dg) {
  for (int64_t j = 0; j < H; ++j) {
    const T dn = dh[j] * (T(1) - z[j]) * (T(1) - n[j] * n[j]);
    const T dz = dh[j] * (hp[j] - n[j]) * z[j] * (T(1) - z[j]);
    const T dr = dn * hn[j] * r[j] * (T(1) - r[j]);
    dx[j] = dg[j] = dr;
    dx[H + j] = dg[H + j] = dz;
    dx[2 * H + j] = dn;
    dg[2 * H + j] = dn * r[j];
  }
}

template <class T>
void rnn_forward_t(const RnnForwardArgs& a) {
  const RnnDims& d = a.d;
  const Schedule sch{d};
  const RnnMode mode = d.mode;
  const bool proj = a.w_hr != nullptr;
  const int64_t B = d.B, H = d.H, P = d.P, GH = rnn_gates(mode) * H, W = rnn_ws_width(mode, H, proj);
  T* out = static_cast<T*>(a.out);
  T* h = static_cast<T*>(a.h);
  T* c = static_cast<T*>(a.c);
  T* hprev = static_cast<T*>(a.hprev);
  T* ws = static_cast<T*>(a.ws);
  const T* xg = static_cast<const T*>(a.xg);
  const T* b_hh = static_cast<const T*>(a.b_hh);
  T* hg = static_cast<T*>(a.scratch);  // [B, GH]
  T* hraw = hg + B * GH;               // [B, H]  o * tanh(c) before the projection
  T* hp = hraw + B * H;                // [B, P]  its projection
  T* whh_t = hp + B * P;               // [P, GH] W_hh^T, and [H, P] W_hr^T: with rows contiguous the
  T* whr_t = whh_t + P * GH;           // GEMM streams them in place (packing them every step would not)
  zero(hraw, B * H);
  transpose(whh_t, static_cast<const T*>(a.w_hh), GH, P);
  if (proj) transpose(whr_t, static_cast<const T*>(a.w_hr), P, H);

  if (a.h0) copy(h, static_cast<const T*>(a.h0), B * P);
  else zero(h, B * P);
  if (c) {
    if (a.c0) copy(c, static_cast<const T*>(a.c0), B * H);
    else zero(c, B * H);
  }
  sch.zero_padding(out, P);
  sch.zero_padding(hprev, P);
  sch.zero_padding(ws, W);

  const TensorView h_mat = matrix_view(h, d.dtype, B, P, P, 1);
  const TensorView w_hh_t = matrix_view(whh_t, d.dtype, P, GH, GH, 1);
  const TensorView hg_mat = matrix_view(hg, d.dtype, B, GH, GH, 1);
  const int64_t steps = sch.steps();
  for (int64_t s = 0; s < steps; ++s) {
    // hg = h_{t-1} @ W_hh^T + b_hh
    if (b_hh)
      for (int64_t b = 0; b < B; ++b) copy(hg + b * GH, b_hh, GH);
    gemm(hg_mat, h_mat, w_hh_t, 1.0, b_hh ? 1.0 : 0.0);

    parallel_for(0, B, row_grain(GH), [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) {
        if (!sch.active(s, b)) continue;
        const int64_t t = sch.time(s, b), row = t * B + b;
        const T* x = xg + row * GH;  // this step's input projection, gates side by side
        const T* hgb = hg + b * GH;
        T* hb = h + b * P;
        T* wsr = ws + row * W;
        T* o = out + row * P;
        copy(hprev + row * P, hb, P);  // h_{t-1}, for dW_hh
        switch (mode) {
          case RnnMode::Tanh: simple_cell<T, false>(H, x, hgb, hb, o, wsr); break;
          case RnnMode::Relu: simple_cell<T, true>(H, x, hgb, hb, o, wsr); break;
          case RnnMode::Lstm: {
            // hr: o * tanh(c), the output itself or (projection) a row to project after the loop
            T* hr = proj ? wsr + 6 * H : hb;
            lstm_cell(H, x, hgb, c + b * H, hr, wsr, wsr + H, wsr + 2 * H, wsr + 3 * H, wsr + 4 * H, wsr + 5 * H);
            if (proj) copy(hraw + b * H, hr, H);
            else copy(o, hr, H);
            break;
          }
          case RnnMode::Gru: gru_cell(H, x, hgb, hb, o, wsr, wsr + H, wsr + 2 * H, wsr + 3 * H); break;
          default: break;
        }
      }
    });

    if (proj) {
      // h_t = hraw @ W_hr^T for the active rows (the others keep their state).
      gemm(matrix_view(hp, d.dtype, B, P, P, 1), matrix_view(hraw, d.dtype, B, H, H, 1), matrix_view(whr_t, d.dtype, H, P, P, 1), 1.0, 0.0);
      for (int64_t b = 0; b < B; ++b) {
        if (!sch.active(s, b)) continue;
        const int64_t row = sch.time(s, b) * B + b;
        copy(h + b * P, hp + b * P, P);
        copy(out + row * P, hp + b * P, P);
      }
    }
  }
}

template <class T>
void rnn_backward_t(const RnnBackwardArgs& a) {
  const RnnDims& d = a.d;
  const Schedule sch{d};
  const RnnMode mode = d.mode;
  const bool proj = a.w_hr != nullptr;
  const int64_t Tn = d.T, B = d.B, H = d.H, P = d.P, GH = rnn_gates(mode) * H, W = rnn_ws_width(mode, H, proj);
  T* dxg = static_cast<T*>(a.dxg);
  T* dh = static_cast<T*>(a.dh0);  // dL/dh of the current step, [B, P]; ends as dh0
  T* dc = static_cast<T*>(a.dc0);  // dL/dc, [B, H]; ends as dc0 (LSTM)
  const T* dout = static_cast<const T*>(a.dout);
  const T* hprev = static_cast<const T*>(a.hprev);
  const T* ws = static_cast<const T*>(a.ws);
  T* dhraw = static_cast<T*>(a.scratch);  // [B, H]  dL/d(o * tanh(c)) (projection only)
  T* dhg = dhraw + B * H;                 // [B, GH] dL/d(h_{t-1} @ W_hh^T + b_hh) of this step
  T* dhh = dhg + B * GH;                  // [B, P]  dhg @ W_hh
  T* dhg_all = mode == RnnMode::Gru ? dhh + B * P : dxg;  // [T, B, GH] dhg of every step
  T* dhp_all = proj ? dhh + B * P + (mode == RnnMode::Gru ? Tn * B * GH : 0) : nullptr;  // [T, B, P]

  if (a.dhN) copy(dh, static_cast<const T*>(a.dhN), B * P);
  else zero(dh, B * P);
  if (dc) {
    if (a.dcN) copy(dc, static_cast<const T*>(a.dcN), B * H);
    else zero(dc, B * H);
  }
  sch.zero_padding(dxg, GH);
  if (dhg_all != dxg) sch.zero_padding(dhg_all, GH);
  sch.zero_padding(dhp_all, P);
  zero(dhraw, B * H);

  const TensorView dh_mat = matrix_view(dh, d.dtype, B, P, P, 1);
  const int64_t steps = sch.steps();
  for (int64_t s = steps - 1; s >= 0; --s) {
    // dh_t += dL/dout_t
    for (int64_t b = 0; b < B; ++b) {
      if (!sch.active(s, b)) continue;
      const int64_t t = sch.time(s, b);
      const T* g = dout + t * a.dout_st + b * a.dout_sb;
      T* dhb = dh + b * P;
      for (int64_t j = 0; j < P; ++j) dhb[j] += g[j * a.dout_sj];
      if (proj) copy(dhp_all + (t * B + b) * P, dhb, P);
    }
    // Through the projection h_t = hraw @ W_hr^T:  dhraw = dh @ W_hr
    if (proj) gemm(matrix_view(dhraw, d.dtype, B, H, H, 1), dh_mat, matrix_view(a.w_hr, d.dtype, P, H, H, 1), 1.0, 0.0);

    parallel_for(0, B, row_grain(GH), [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) {
        T* dgh = dhg + b * GH;
        if (!sch.active(s, b)) {
          zero(dgh, GH);  // no step: nothing flows through W_hh
          continue;
        }
        const int64_t row = sch.time(s, b) * B + b;
        const T* wsr = ws + row * W;
        const T* dhb = dh + b * P;
        T* dx = dxg + row * GH;
        switch (mode) {
          case RnnMode::Tanh: simple_cell_backward<T, false>(H, dhb, wsr, dx, dgh); break;
          case RnnMode::Relu: simple_cell_backward<T, true>(H, dhb, wsr, dx, dgh); break;
          case RnnMode::Lstm:
            lstm_cell_backward(H, proj ? dhraw + b * H : dhb, dc + b * H, wsr, wsr + H, wsr + 2 * H, wsr + 3 * H,
                               wsr + 4 * H, wsr + 5 * H, dx, dgh);
            break;
          case RnnMode::Gru:
            gru_cell_backward(H, dhb, hprev + row * P, wsr, wsr + H, wsr + 2 * H, wsr + 3 * H, dx, dgh);
            copy(dhg_all + row * GH, dgh, GH);
            break;
          default: break;
        }
      }
    });

    // dh_{t-1} = dhg @ W_hh (+ z * dh_t for GRU) for the active rows.
    gemm(matrix_view(dhh, d.dtype, B, P, P, 1), matrix_view(dhg, d.dtype, B, GH, GH, 1), matrix_view(a.w_hh, d.dtype, GH, P, P, 1), 1.0, 0.0);
    for (int64_t b = 0; b < B; ++b) {
      if (!sch.active(s, b)) continue;
      T* dhb = dh + b * P;
      const T* dhhb = dhh + b * P;
      if (mode == RnnMode::Gru) {
        const T* z = ws + (sch.time(s, b) * B + b) * W + H;
        for (int64_t j = 0; j < P; ++j) dhb[j] = dhhb[j] + z[j] * dhb[j];
      } else {
        copy(dhb, dhhb, P);
      }
    }
  }

  // The weight gradients, summed over every (t, b) row (padding rows are zero).
  const int64_t rows = Tn * B;
  gemm(matrix_view(a.dw_hh, d.dtype, GH, P, P, 1), matrix_view(dhg_all, d.dtype, GH, rows, 1, GH), matrix_view(hprev, d.dtype, rows, P, P, 1),
       1.0, 0.0);
  if (proj)
    gemm(matrix_view(a.dw_hr, d.dtype, P, H, H, 1), matrix_view(dhp_all, d.dtype, P, rows, 1, P), matrix_view(ws + 6 * H, d.dtype, rows, H, W, 1),
         1.0, 0.0);
  if (a.db_hh) column_sums(static_cast<T*>(a.db_hh), dhg_all, rows, GH);
  if (a.db_ih) column_sums(static_cast<T*>(a.db_ih), static_cast<const T*>(dxg), rows, GH);
}

}  // namespace

void rnn_forward(const RnnForwardArgs& a) { TF_DISPATCH_FLOAT(a.d.dtype, T, rnn_forward_t<T>(a)); }
void rnn_backward(const RnnBackwardArgs& a) { TF_DISPATCH_FLOAT(a.d.dtype, T, rnn_backward_t<T>(a)); }

TF_KERNEL_NAMESPACE_END
