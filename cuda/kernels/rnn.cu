// The recurrent layers' time loops on the device (nn.RNN / LSTM / GRU; equations, shapes and layouts
// in native/kernels/rnn.h and native/rnn_params.h), following native/kernels/rnn.cpp step for step:
// the host walks the time steps, each one GEMM over the whole batch (the device GEMM, its epilogue
// adding b_hh) and one cell kernel over (batch row, unit). Weight gradients are whole-sequence GEMMs
// after the loop. With lengths, the host runs max(len) steps and each kernel finds its row's time:
// element b is active at step s when s < len_b, at time t = s (or len_b - 1 - s reversed); rows at
// t >= len_b stay zero and an inactive element's state is left as it is (packed-sequence semantics).
#include <cmath>

#include "common.cuh"
#include "kernels.cuh"

namespace tf {
namespace cuda {

template <class T> __device__ __forceinline__ T sigm(T x) { return T(1) / (T(1) + std::exp(-x)); }

struct CellArgs {
  int mode;  // RnnMode
  int64_t T, B, H, P, GH, W;
  bool proj, reverse;
  const int32_t* lengths;  // device memory, or null (every element runs T steps)
};

// The time element b processes at step s, or -1 when it has finished.
__device__ __forceinline__ int64_t time_of(const CellArgs& a, int64_t s, int64_t b) {
  const int64_t len = a.lengths ? int64_t(a.lengths[b]) : a.T;
  if (s >= len) return -1;
  return a.reverse ? len - 1 - s : s;
}

// Zeroes the rows (t, b) with t >= len_b of a [T, B, width] buffer (what inactive steps leave).
template <class T>
__global__ void rnn_zero_padding_kernel(CellArgs a, T* x, int64_t width) {
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < a.T * a.B * width; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = e / width, t = row / a.B, b = row % a.B;
    if (t >= int64_t(a.lengths[b])) x[e] = T(0);
  }
}

// One step s: row (t_b, b) of every [T, B, *] buffer; one thread per (b, j), j < max(H, P).
template <class T>
__global__ void rnn_cell_forward_kernel(CellArgs a, int64_t s, const T* xg, const T* hg, T* h, T* c, T* out, T* hprev,
                                        T* ws, T* hraw) {
  const int64_t width = a.H > a.P ? a.H : a.P;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < a.B * width; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = e / width, j = e % width, t = time_of(a, s, b), row = t * a.B + b;
    if (t < 0) continue;
    if (j < a.P) hprev[row * a.P + j] = h[b * a.P + j];  // h_{t-1}: read before this thread updates it
    if (j >= a.H) continue;
    const T* x = xg + row * a.GH;
    const T* g = hg + b * a.GH;
    T* w = ws + row * a.W;
    const int64_t H = a.H;
    switch (RnnMode(a.mode)) {
      case RnnMode::Tanh:
      case RnnMode::Relu: {
        const T s = x[j] + g[j];
        const T v = RnnMode(a.mode) == RnnMode::Relu ? (s < T(0) ? T(0) : s) : std::tanh(s);
        h[b * a.P + j] = out[row * a.P + j] = w[j] = v;
        break;
      }
      case RnnMode::Lstm: {
        const T i = sigm(x[j] + g[j]), f = sigm(x[H + j] + g[H + j]);
        const T gg = std::tanh(x[2 * H + j] + g[2 * H + j]), o = sigm(x[3 * H + j] + g[3 * H + j]);
        const T cp = c[b * H + j], cn = f * cp + i * gg, tc = std::tanh(cn);
        w[j] = i, w[H + j] = f, w[2 * H + j] = gg, w[3 * H + j] = o, w[4 * H + j] = tc, w[5 * H + j] = cp;
        c[b * H + j] = cn;
        const T hr = o * tc;
        if (a.proj) {
          w[6 * H + j] = hr;
          hraw[b * H + j] = hr;
        } else {
          h[b * a.P + j] = out[row * a.P + j] = hr;
        }
        break;
      }
      case RnnMode::Gru: {
        const T r = sigm(x[j] + g[j]), z = sigm(x[H + j] + g[H + j]);
        const T hn = g[2 * H + j], n = std::tanh(x[2 * H + j] + r * hn);
        const T hnew = (T(1) - z) * n + z * h[b * a.P + j];
        w[j] = r, w[H + j] = z, w[2 * H + j] = n, w[3 * H + j] = hn;
        h[b * a.P + j] = out[row * a.P + j] = hnew;
        break;
      }
      default: break;
    }
  }
}

// A projected LSTM's step output: h_t = hp (hraw @ W_hr^T) for the active elements, into the state
// and the output row. One thread per (b, j < P).
template <class T>
__global__ void rnn_projected_store_kernel(CellArgs a, int64_t s, const T* hp, T* h, T* out) {
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < a.B * a.P; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = e / a.P, j = e % a.P, t = time_of(a, s, b);
    if (t < 0) continue;
    h[e] = out[(t * a.B + b) * a.P + j] = hp[e];
  }
}

// dh += dL/dout at each active element's time; with a projection, dh of every step is kept (dhp_all).
template <class T>
__global__ void rnn_add_dout_kernel(CellArgs a, int64_t s, T* dh, const T* dout, int64_t st, int64_t sb, int64_t sj,
                                    T* dhp_all) {
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < a.B * a.P; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = e / a.P, j = e % a.P, t = time_of(a, s, b);
    if (t < 0) continue;
    const T v = dh[e] + dout[t * st + b * sb + j * sj];
    dh[e] = v;
    if (dhp_all) dhp_all[(t * a.B + b) * a.P + j] = v;
  }
}

// Backward of one step: dx (row of dxg), dg (the hidden side), and LSTM's dc; GRU also keeps dg of
// every step (dhg_all). An inactive element's dg is zero (nothing flows through W_hh). One thread
// per (b, j < H).
template <class T>
__global__ void rnn_cell_backward_kernel(CellArgs a, int64_t s, const T* dh, const T* dhraw, T* dc, const T* hprev,
                                         const T* ws, T* dxg, T* dhg, T* dhg_all) {
  const int64_t H = a.H;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < a.B * H; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = e / H, j = e % H, t = time_of(a, s, b), row = t * a.B + b;
    T* dg = dhg + b * a.GH;
    if (t < 0) {
      for (int k = 0; k < int(a.GH / H); ++k) dg[k * H + j] = T(0);
      continue;
    }
    const T* w = ws + row * a.W;
    T* dx = dxg + row * a.GH;
    switch (RnnMode(a.mode)) {
      case RnnMode::Tanh:
      case RnnMode::Relu: {
        const T d = dh[b * a.P + j], hv = w[j];
        const T da = RnnMode(a.mode) == RnnMode::Relu ? (hv > T(0) ? d : T(0)) : d * (T(1) - hv * hv);
        dx[j] = dg[j] = da;
        break;
      }
      case RnnMode::Lstm: {
        const T dhr = a.proj ? dhraw[b * H + j] : dh[b * a.P + j];
        const T gi = w[j], gf = w[H + j], gg = w[2 * H + j], go = w[3 * H + j], tc = w[4 * H + j], cp = w[5 * H + j];
        const T dct = dc[b * H + j] + dhr * go * (T(1) - tc * tc);
        const T di = dct * gg * gi * (T(1) - gi), df = dct * cp * gf * (T(1) - gf);
        const T dgg = dct * gi * (T(1) - gg * gg), dov = dhr * tc * go * (T(1) - go);
        dx[j] = dg[j] = di;
        dx[H + j] = dg[H + j] = df;
        dx[2 * H + j] = dg[2 * H + j] = dgg;
        dx[3 * H + j] = dg[3 * H + j] = dov;
        dc[b * H + j] = dct * gf;
        break;
      }
      case RnnMode::Gru: {
        const T d = dh[b * a.P + j], r = w[j], z = w[H + j], n = w[2 * H + j], hn = w[3 * H + j];
        const T dn = d * (T(1) - z) * (T(1) - n * n);
        const T dz = d * (hprev[row * a.P + j] - n) * z * (T(1) - z);
        const T dr = dn * hn * r * (T(1) - r);
        dx[j] = dg[j] = dr;
        dx[H + j] = dg[H + j] = dz;
        dx[2 * H + j] = dn;
        dg[2 * H + j] = dn * r;
        for (int k = 0; k < 3; ++k) dhg_all[row * a.GH + k * H + j] = dg[k * H + j];
        break;
      }
      default: break;
    }
  }
}

// dh_{t-1} = dhh (+ z * dh_t for GRU) for the active elements; dh += dout_t happens before the cell kernel.
template <class T>
__global__ void rnn_dh_kernel(CellArgs a, int64_t s, T* dh, const T* dhh, const T* ws) {
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < a.B * a.P; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = e / a.P, j = e % a.P, t = time_of(a, s, b);
    if (t < 0) continue;
    T v = dhh[e];
    if (RnnMode(a.mode) == RnnMode::Gru) v += ws[(t * a.B + b) * a.W + a.H + j] * dh[e];
    dh[e] = v;
  }
}

namespace {

void copy_or_zero(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  if (src) check_call(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, device_stream()), "rnn state copy");
  else check_call(cudaMemsetAsync(dst, 0, bytes, device_stream()), "rnn state zero");
}

// The steps the host runs: the longest element's.
int64_t steps_of(const RnnDims& d) {
  if (!d.lengths) return d.T;
  int64_t m = 0;
  for (int64_t b = 0; b < d.B; ++b) m = d.lengths[b] > m ? d.lengths[b] : m;
  return m;
}

template <class T>
void zero_padding(const CellArgs& ca, void* x, int64_t width) {
  if (!x || !ca.lengths || width == 0) return;
  TF_LAUNCH(grid_for(ca.T * ca.B * width), kThreads, 0, device_stream(), rnn_zero_padding_kernel<T>)(ca, static_cast<T*>(x), width);
}

template <class T>
void forward_t(const RnnForwardArgs& a) {
  const RnnDims& d = a.d;
  const bool proj = a.w_hr != nullptr;
  const int64_t B = d.B, H = d.H, P = d.P, GH = rnn_gates(d.mode) * H, W = rnn_ws_width(d.mode, H, proj);
  const CellArgs ca{int(d.mode), d.T, B, H, P, GH, W, proj, d.reverse, d.device_lengths};
  T* hg = static_cast<T*>(a.scratch);
  T* hraw = hg + B * GH;
  T* hp = hraw + B * H;
  copy_or_zero(a.h, a.h0, sizeof(T) * size_t(B * P));
  if (a.c) copy_or_zero(a.c, a.c0, sizeof(T) * size_t(B * H));
  if (proj) copy_or_zero(hraw, nullptr, sizeof(T) * size_t(B * H));
  zero_padding<T>(ca, a.out, P);
  zero_padding<T>(ca, a.hprev, P);
  zero_padding<T>(ca, a.ws, W);
  const GemmEpilogue bias{a.b_hh, 0, 1, Activation::None};
  const int64_t width = H > P ? H : P, steps = steps_of(d);
  for (int64_t s = 0; s < steps; ++s) {
    // hg = h_{t-1} @ W_hh^T + b_hh (W_hh^T is a transposed view: no copy)
    kernels().gemm_epilogue(matrix_view(hg, d.dtype, B, GH, GH, 1), matrix_view(a.h, d.dtype, B, P, P, 1), matrix_view(a.w_hh, d.dtype, P, GH, 1, P),
                            1.0, 0.0, bias);
    TF_LAUNCH(grid_for(B * width), kThreads, 0, device_stream(), rnn_cell_forward_kernel<T>)(
        ca, s, static_cast<const T*>(a.xg), hg, static_cast<T*>(a.h), static_cast<T*>(a.c), static_cast<T*>(a.out),
        static_cast<T*>(a.hprev), static_cast<T*>(a.ws), hraw);
    if (proj) {
      // h_t = hraw @ W_hr^T, into the state and the step's output row of each active element
      kernels().gemm(matrix_view(hp, d.dtype, B, P, P, 1), matrix_view(hraw, d.dtype, B, H, H, 1), matrix_view(a.w_hr, d.dtype, H, P, 1, H), 1.0, 0.0);
      TF_LAUNCH(grid_for(B * P), kThreads, 0, device_stream(), rnn_projected_store_kernel<T>)(
          ca, s, hp, static_cast<T*>(a.h), static_cast<T*>(a.out));
    }
  }
  check_launch("rnnForward");
}

template <class T>
void backward_t(const RnnBackwardArgs& a) {
  const RnnDims& d = a.d;
  const bool proj = a.w_hr != nullptr;
  const RnnMode mode = d.mode;
  const int64_t Tn = d.T, B = d.B, H = d.H, P = d.P, GH = rnn_gates(mode) * H, W = rnn_ws_width(mode, H, proj);
  const CellArgs ca{int(mode), Tn, B, H, P, GH, W, proj, d.reverse, d.device_lengths};
  T* dh = static_cast<T*>(a.dh0);
  T* dc = static_cast<T*>(a.dc0);
  T* dhraw = static_cast<T*>(a.scratch);
  T* dhg = dhraw + B * H;
  T* dhh = dhg + B * GH;
  T* dxg = static_cast<T*>(a.dxg);
  T* dhg_all = mode == RnnMode::Gru ? dhh + B * P : dxg;
  T* dhp_all = proj ? dhh + B * P + (mode == RnnMode::Gru ? Tn * B * GH : 0) : nullptr;
  copy_or_zero(dh, a.dhN, sizeof(T) * size_t(B * P));
  if (dc) copy_or_zero(dc, a.dcN, sizeof(T) * size_t(B * H));
  zero_padding<T>(ca, dxg, GH);
  if (dhg_all != dxg) zero_padding<T>(ca, dhg_all, GH);
  zero_padding<T>(ca, dhp_all, P);
  for (int64_t s = steps_of(d) - 1; s >= 0; --s) {
    // dh_t += dL/dout_t (dout has any strides)
    TF_LAUNCH(grid_for(B * P), kThreads, 0, device_stream(), rnn_add_dout_kernel<T>)(
        ca, s, dh, static_cast<const T*>(a.dout), a.dout_st, a.dout_sb, a.dout_sj, dhp_all);
    if (proj) kernels().gemm(matrix_view(dhraw, d.dtype, B, H, H, 1), matrix_view(dh, d.dtype, B, P, P, 1), matrix_view(a.w_hr, d.dtype, P, H, H, 1), 1.0, 0.0);
    TF_LAUNCH(grid_for(B * H), kThreads, 0, device_stream(), rnn_cell_backward_kernel<T>)(
        ca, s, dh, dhraw, dc, static_cast<const T*>(a.hprev), static_cast<const T*>(a.ws), dxg, dhg, dhg_all);
    kernels().gemm(matrix_view(dhh, d.dtype, B, P, P, 1), matrix_view(dhg, d.dtype, B, GH, GH, 1), matrix_view(a.w_hh, d.dtype, GH, P, P, 1), 1.0, 0.0);
    TF_LAUNCH(grid_for(B * P), kThreads, 0, device_stream(), rnn_dh_kernel<T>)(ca, s, dh, dhh, static_cast<const T*>(a.ws));
  }
  // The weight gradients over every (t, b) row (padding rows are zero).
  const int64_t rows = Tn * B;
  kernels().gemm(matrix_view(a.dw_hh, d.dtype, GH, P, P, 1), matrix_view(dhg_all, d.dtype, GH, rows, 1, GH),
                 matrix_view(a.hprev, d.dtype, rows, P, P, 1), 1.0, 0.0);
  if (proj)
    kernels().gemm(matrix_view(a.dw_hr, d.dtype, P, H, H, 1), matrix_view(dhp_all, d.dtype, P, rows, 1, P),
                   matrix_view(static_cast<const T*>(a.ws) + 6 * H, d.dtype, rows, H, W, 1), 1.0, 0.0);
  // Bias gradients: column sums, as a reduction over the rows of a transposed view.
  if (a.db_hh) kernels().reduce(ReduceOp::Sum, vector_view(a.db_hh, d.dtype, GH, 1), matrix_view(dhg_all, d.dtype, GH, rows, 1, GH), 1, 0);
  if (a.db_ih) kernels().reduce(ReduceOp::Sum, vector_view(a.db_ih, d.dtype, GH, 1), matrix_view(dxg, d.dtype, GH, rows, 1, GH), 1, 0);
  check_launch("rnnBackward");
}

void rnn_forward(const RnnForwardArgs& a) { TF_DISPATCH_FLOAT(a.d.dtype, T, forward_t<T>(a)); }
void rnn_backward(const RnnBackwardArgs& a) { TF_DISPATCH_FLOAT(a.d.dtype, T, backward_t<T>(a)); }

}  // namespace

void register_rnn(KernelTable& t) {
  t.rnn_forward = rnn_forward;
  t.rnn_backward = rnn_backward;
}

}  // namespace cuda
}  // namespace tf
