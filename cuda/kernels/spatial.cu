// Convolution data movement and pooling on the device, over [N, C, D, H, W] views (1-D/2-D ops have
// unit D/H; window geometry in native/spatial_geom.h), with the semantics of native/kernels/conv.cpp
// and pool.cpp:
//
//   im2col:   cols[n, ((c*KD + kd)*KH + kh)*KW + kw, (od*OH + oh)*OW + ow] = x[n, c, id, ih, iw] (0 in padding)
//   col2im:   dx[n, c, id, ih, iw] += every cols entry that read it
//   max pool: out = max over the window's in-bounds taps in (kd, kh, kw) order, a later tap winning
//             when greater or NaN; indices = the winner's flat position in its input plane (a window
//             of only -inf points at its first in-bounds tap); the backward routes g through them
//   avg pool: sum of in-bounds taps / divisor (divisor_override, else the window clipped to the
//             padded input with count_include_pad, else the in-bounds count)
//   adaptive: output o of in -> out averages [floor(o*in/out), ceil((o+1)*in/out))
//
// Forward kernels give one thread to each output element. col2im and the average-pooling backwards
// give one thread to each input element, which gathers from the outputs whose windows hold it (no
// atomics; each sum in a fixed order); the max-pooling backward scatters through the indices.
#include <cmath>

#include "common.cuh"
#include "kernels.cuh"

namespace tf {
namespace cuda {

#define TF_EACH(t, n) \
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < (n); t += int64_t(gridDim.x) * blockDim.x)

// 5-D coordinates of linear index t over shape [s0, s1, s2, s3, s4].
struct Pos5 {
  int64_t n, c, d, h, w;
};
TF_HD Pos5 unravel5(int64_t t, int64_t s1, int64_t s2, int64_t s3, int64_t s4) {
  Pos5 p;
  p.w = t % s4;
  t /= s4;
  p.h = t % s3;
  t /= s3;
  p.d = t % s2;
  t /= s2;
  p.c = t % s1;
  p.n = t / s1;
  return p;
}
TF_HD int64_t off5(const TensorView& v, int64_t n, int64_t c, int64_t d, int64_t h, int64_t w) {
  return n * v.strides[0] + c * v.strides[1] + d * v.strides[2] + h * v.strides[3] + w * v.strides[4];
}
// Outputs o along one dim whose window can hold input position i: o*stride - pad + k*dil == i for
// some tap k. Returns the range [lo, hi) to scan (each candidate is still checked).
TF_HD void covering(int64_t i, int64_t stride, int64_t pad, int64_t kernel, int64_t dil, int64_t out, int64_t* lo,
                    int64_t* hi) {
  const int64_t top = i + pad;  // o*stride + k*dil == top
  int64_t first = top - (kernel - 1) * dil;
  first = first <= 0 ? 0 : (first + stride - 1) / stride;
  int64_t last = top < 0 ? -1 : top / stride;
  if (last >= out) last = out - 1;
  *lo = first;
  *hi = last + 1;
}

template <class T>
__global__ void im2col_kernel(TensorView cols, TensorView x, SpatialGeom g, int64_t total) {
  const int64_t C = x.shape[1], K = g.kernel[0] * g.kernel[1] * g.kernel[2], L = g.out[0] * g.out[1] * g.out[2];
  TF_EACH(t, total) {
    const int64_t l = t % L, row = (t / L) % (C * K), n = t / (L * C * K);
    const int64_t c = row / K, k = row % K;
    const int64_t kd = k / (g.kernel[1] * g.kernel[2]), kh = k / g.kernel[2] % g.kernel[1], kw = k % g.kernel[2];
    const int64_t od = l / (g.out[1] * g.out[2]), oh = l / g.out[2] % g.out[1], ow = l % g.out[2];
    const int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dilation[0];
    const int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dilation[1];
    const int64_t iw = ow * g.stride[2] - g.pad[2] + kw * g.dilation[2];
    const bool in = id >= 0 && id < g.in[0] && ih >= 0 && ih < g.in[1] && iw >= 0 && iw < g.in[2];
    static_cast<T*>(cols.data)[n * cols.strides[0] + row * cols.strides[1] + l * cols.strides[2]] =
        in ? static_cast<const T*>(x.data)[off5(x, n, c, id, ih, iw)] : T(0);
  }
}

template <class T>
__global__ void col2im_kernel(TensorView dx, TensorView cols, SpatialGeom g, int64_t total) {
  const int64_t C = dx.shape[1], K = g.kernel[0] * g.kernel[1] * g.kernel[2];
  TF_EACH(t, total) {
    const Pos5 p = unravel5(t, C, g.in[0], g.in[1], g.in[2]);
    const int64_t pos[3] = {p.d, p.h, p.w};
    int64_t lo[3], hi[3];
    for (int s = 0; s < 3; ++s) covering(pos[s], g.stride[s], g.pad[s], g.kernel[s], g.dilation[s], g.out[s], &lo[s], &hi[s]);
    T acc = 0;
    for (int64_t od = lo[0]; od < hi[0]; ++od) {
      const int64_t rd = p.d + g.pad[0] - od * g.stride[0];
      if (rd % g.dilation[0] != 0) continue;
      for (int64_t oh = lo[1]; oh < hi[1]; ++oh) {
        const int64_t rh = p.h + g.pad[1] - oh * g.stride[1];
        if (rh % g.dilation[1] != 0) continue;
        for (int64_t ow = lo[2]; ow < hi[2]; ++ow) {
          const int64_t rw = p.w + g.pad[2] - ow * g.stride[2];
          if (rw % g.dilation[2] != 0) continue;
          const int64_t k = ((rd / g.dilation[0]) * g.kernel[1] + rh / g.dilation[1]) * g.kernel[2] + rw / g.dilation[2];
          const int64_t l = (od * g.out[1] + oh) * g.out[2] + ow;
          acc += static_cast<const T*>(cols.data)[p.n * cols.strides[0] + (p.c * K + k) * cols.strides[1] + l * cols.strides[2]];
        }
      }
    }
    static_cast<T*>(dx.data)[off5(dx, p.n, p.c, p.d, p.h, p.w)] += acc;
  }
}

template <class T>
__global__ void max_pool_kernel(TensorView out, TensorView indices, TensorView x, SpatialGeom g, int64_t total) {
  const int64_t C = x.shape[1];
  TF_EACH(t, total) {
    const Pos5 o = unravel5(t, C, g.out[0], g.out[1], g.out[2]);
    const int64_t d0 = o.d * g.stride[0] - g.pad[0], h0 = o.h * g.stride[1] - g.pad[1], w0 = o.w * g.stride[2] - g.pad[2];
    T best = -INFINITY;
    int64_t best_i = -1, first_in = -1;
    for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
      const int64_t id = d0 + kd * g.dilation[0];
      if (id < 0 || id >= g.in[0]) continue;
      for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
        const int64_t ih = h0 + kh * g.dilation[1];
        if (ih < 0 || ih >= g.in[1]) continue;
        for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
          const int64_t iw = w0 + kw * g.dilation[2];
          if (iw < 0 || iw >= g.in[2]) continue;
          const int64_t flat = (id * g.in[1] + ih) * g.in[2] + iw;
          if (first_in < 0) first_in = flat;
          const T v = static_cast<const T*>(x.data)[off5(x, o.n, o.c, id, ih, iw)];
          if (v > best || v != v) {
            best = v;
            best_i = flat;
          }
        }
      }
    }
    static_cast<T*>(out.data)[off5(out, o.n, o.c, o.d, o.h, o.w)] = best;
    static_cast<int32_t*>(indices.data)[off5(indices, o.n, o.c, o.d, o.h, o.w)] =
        int32_t(best_i >= 0 ? best_i : (first_in >= 0 ? first_in : 0));
  }
}

// dx (zeroed first) += g routed through the indices, one thread per output. Overlapping windows
// can send two outputs to one input: those adds are atomic (their order, and so the last bit of
// such a sum, may vary from run to run; the max-pool backward needs no geometry this way).
template <class T>
__global__ void max_pool_backward_kernel(TensorView dx, TensorView g, TensorView indices, int64_t total) {
  const int64_t C = g.shape[1], OD = g.shape[2], OH = g.shape[3], OW = g.shape[4];
  TF_EACH(t, total) {
    const Pos5 o = unravel5(t, C, OD, OH, OW);
    const int64_t flat = static_cast<const int32_t*>(indices.data)[off5(indices, o.n, o.c, o.d, o.h, o.w)];
    const int64_t d = flat / (dx.shape[3] * dx.shape[4]), h = flat / dx.shape[4] % dx.shape[3], w = flat % dx.shape[4];
    atomicAdd(static_cast<T*>(dx.data) + off5(dx, o.n, o.c, d, h, w), static_cast<const T*>(g.data)[off5(g, o.n, o.c, o.d, o.h, o.w)]);
  }
}

// In-bounds range [lo, hi) of the avg window of output o along dim s, and its size clipped to the
// padded input (what count_include_pad divides by).
TF_HD void avg_window(int64_t o, const SpatialGeom& g, int s, int64_t* lo, int64_t* hi, int64_t* padded) {
  const int64_t start = o * g.stride[s] - g.pad[s];
  int64_t end = start + g.kernel[s];
  if (end > g.in[s] + g.pad[s]) end = g.in[s] + g.pad[s];
  *padded = end - start;
  *lo = start < 0 ? 0 : start;
  *hi = end > g.in[s] ? g.in[s] : end;
}
TF_HD int64_t avg_divisor(int64_t od, int64_t oh, int64_t ow, const SpatialGeom& g, bool count_include_pad,
                          int64_t divisor_override) {
  if (divisor_override > 0) return divisor_override;
  int64_t lo, hi, padded, count = 1, pads = 1;
  const int64_t o[3] = {od, oh, ow};
  for (int s = 0; s < 3; ++s) {
    avg_window(o[s], g, s, &lo, &hi, &padded);
    count *= hi - lo;
    pads *= padded;
  }
  return count_include_pad ? pads : count;
}

template <class T>
__global__ void avg_pool_kernel(TensorView out, TensorView x, SpatialGeom g, bool count_include_pad, int64_t divisor_override,
                                int64_t total) {
  const int64_t C = x.shape[1];
  TF_EACH(t, total) {
    const Pos5 o = unravel5(t, C, g.out[0], g.out[1], g.out[2]);
    int64_t lo[3], hi[3], padded;
    const int64_t op[3] = {o.d, o.h, o.w};
    for (int s = 0; s < 3; ++s) avg_window(op[s], g, s, &lo[s], &hi[s], &padded);
    T sum = 0;
    for (int64_t id = lo[0]; id < hi[0]; ++id)
      for (int64_t ih = lo[1]; ih < hi[1]; ++ih)
        for (int64_t iw = lo[2]; iw < hi[2]; ++iw) sum += static_cast<const T*>(x.data)[off5(x, o.n, o.c, id, ih, iw)];
    static_cast<T*>(out.data)[off5(out, o.n, o.c, o.d, o.h, o.w)] =
        sum / T(avg_divisor(o.d, o.h, o.w, g, count_include_pad, divisor_override));
  }
}

template <class T>
__global__ void avg_pool_backward_kernel(TensorView dx, TensorView g, SpatialGeom geom, bool count_include_pad,
                                         int64_t divisor_override, int64_t total) {
  const int64_t C = dx.shape[1];
  TF_EACH(t, total) {
    const Pos5 p = unravel5(t, C, geom.in[0], geom.in[1], geom.in[2]);
    const int64_t pos[3] = {p.d, p.h, p.w};
    int64_t lo[3], hi[3];
    for (int s = 0; s < 3; ++s) covering(pos[s], geom.stride[s], geom.pad[s], geom.kernel[s], 1, geom.out[s], &lo[s], &hi[s]);
    T acc = 0;
    for (int64_t od = lo[0]; od < hi[0]; ++od)
      for (int64_t oh = lo[1]; oh < hi[1]; ++oh)
        for (int64_t ow = lo[2]; ow < hi[2]; ++ow) {
          // The window of (od, oh, ow) holds p only where p is inside the input, which it is.
          acc += static_cast<const T*>(g.data)[off5(g, p.n, p.c, od, oh, ow)] /
                 T(avg_divisor(od, oh, ow, geom, count_include_pad, divisor_override));
        }
    static_cast<T*>(dx.data)[off5(dx, p.n, p.c, p.d, p.h, p.w)] = acc;
  }
}

TF_HD int64_t adaptive_start(int64_t o, int64_t in, int64_t out) { return (o * in) / out; }
TF_HD int64_t adaptive_end(int64_t o, int64_t in, int64_t out) { return ((o + 1) * in + out - 1) / out; }

// Output cell o of an adaptive pool from x into out and its window [*_lo, *_hi) in x.
struct AdaptiveWindow {
  int64_t d_lo, d_hi, h_lo, h_hi, w_lo, w_hi;
  TF_HD AdaptiveWindow(const Pos5& o, const TensorView& out, const TensorView& x) {
    const int64_t D = x.shape[2], H = x.shape[3], W = x.shape[4], OD = out.shape[2], OH = out.shape[3], OW = out.shape[4];
    d_lo = adaptive_start(o.d, D, OD), d_hi = adaptive_end(o.d, D, OD);
    h_lo = adaptive_start(o.h, H, OH), h_hi = adaptive_end(o.h, H, OH);
    w_lo = adaptive_start(o.w, W, OW), w_hi = adaptive_end(o.w, W, OW);
  }
};

template <class T>
__global__ void adaptive_avg_pool_kernel(TensorView out, TensorView x, int64_t total) {
  TF_EACH(t, total) {
    const Pos5 o = unravel5(t, out.shape[1], out.shape[2], out.shape[3], out.shape[4]);
    const AdaptiveWindow win(o, out, x);
    T s = 0;
    for (int64_t id = win.d_lo; id < win.d_hi; ++id)
      for (int64_t ih = win.h_lo; ih < win.h_hi; ++ih)
        for (int64_t iw = win.w_lo; iw < win.w_hi; ++iw) s += static_cast<const T*>(x.data)[off5(x, o.n, o.c, id, ih, iw)];
    static_cast<T*>(out.data)[off5(out, o.n, o.c, o.d, o.h, o.w)] = s / T((win.d_hi - win.d_lo) * (win.h_hi - win.h_lo) * (win.w_hi - win.w_lo));
  }
}

template <class T>
__global__ void adaptive_avg_pool_backward_kernel(TensorView dx, TensorView g, int64_t total) {
  const int64_t C = dx.shape[1], D = dx.shape[2], H = dx.shape[3], W = dx.shape[4];
  const int64_t OD = g.shape[2], OH = g.shape[3], OW = g.shape[4];
  TF_EACH(t, total) {
    const Pos5 p = unravel5(t, C, D, H, W);
    T acc = 0;
    // Outputs whose [start, end) holds the position: a short scan from the first candidate.
    for (int64_t od = p.d * OD / D; od < OD && adaptive_start(od, D, OD) <= p.d; ++od) {
      if (adaptive_end(od, D, OD) <= p.d) continue;
      for (int64_t oh = p.h * OH / H; oh < OH && adaptive_start(oh, H, OH) <= p.h; ++oh) {
        if (adaptive_end(oh, H, OH) <= p.h) continue;
        for (int64_t ow = p.w * OW / W; ow < OW && adaptive_start(ow, W, OW) <= p.w; ++ow) {
          if (adaptive_end(ow, W, OW) <= p.w) continue;
          const int64_t count = (adaptive_end(od, D, OD) - adaptive_start(od, D, OD)) *
                                (adaptive_end(oh, H, OH) - adaptive_start(oh, H, OH)) *
                                (adaptive_end(ow, W, OW) - adaptive_start(ow, W, OW));
          acc += static_cast<const T*>(g.data)[off5(g, p.n, p.c, od, oh, ow)] / T(count);
        }
      }
    }
    static_cast<T*>(dx.data)[off5(dx, p.n, p.c, p.d, p.h, p.w)] = acc;
  }
}

// As the CPU's adaptive_max_pool_t: the window's max in PyTorch's order (NaN wins) and its flat
// position in the input plane.
template <class T>
__global__ void adaptive_max_pool_kernel(TensorView out, TensorView indices, TensorView x, int64_t total) {
  const int64_t H = x.shape[3], W = x.shape[4];
  TF_EACH(t, total) {
    const Pos5 o = unravel5(t, out.shape[1], out.shape[2], out.shape[3], out.shape[4]);
    const AdaptiveWindow win(o, out, x);
    const T* xd = static_cast<const T*>(x.data);
    T best = xd[off5(x, o.n, o.c, win.d_lo, win.h_lo, win.w_lo)];
    int64_t at = (win.d_lo * H + win.h_lo) * W + win.w_lo;
    for (int64_t id = win.d_lo; id < win.d_hi; ++id)
      for (int64_t ih = win.h_lo; ih < win.h_hi; ++ih)
        for (int64_t iw = win.w_lo; iw < win.w_hi; ++iw) {
          const T v = xd[off5(x, o.n, o.c, id, ih, iw)];
          if (v > best || v != v) best = v, at = (id * H + ih) * W + iw;
        }
    static_cast<T*>(out.data)[off5(out, o.n, o.c, o.d, o.h, o.w)] = best;
    static_cast<int32_t*>(indices.data)[off5(indices, o.n, o.c, o.d, o.h, o.w)] = int32_t(at);
  }
}

namespace {

void im2col(const TensorView& cols, const TensorView& x, const SpatialGeom& g) {
  const int64_t total = cols.numel();
  if (total == 0) return;
  TF_DISPATCH_FLOAT(x.dtype, T, TF_LAUNCH(grid_for(total), kThreads, 0, device_stream(), im2col_kernel<T>)(cols, x, g, total));
  check_launch("im2col");
}

void col2im(const TensorView& dx, const TensorView& cols, const SpatialGeom& g) {
  const int64_t total = dx.numel();
  if (total == 0) return;
  TF_DISPATCH_FLOAT(dx.dtype, T, TF_LAUNCH(grid_for(total), kThreads, 0, device_stream(), col2im_kernel<T>)(dx, cols, g, total));
  check_launch("col2im");
}

void max_pool(const TensorView& out, const TensorView& indices, const TensorView& x, const SpatialGeom& g) {
  const int64_t total = out.numel();
  if (total == 0) return;
  TF_DISPATCH_FLOAT(x.dtype, T,
                    TF_LAUNCH(grid_for(total), kThreads, 0, device_stream(), max_pool_kernel<T>)(out, indices, x, g, total));
  check_launch("maxPool");
}

void max_pool_backward(const TensorView& dx, const TensorView& g, const TensorView& indices) {
  if (dx.numel() == 0) return;
  kernels().fill(dx, 0);
  const int64_t total = g.numel();
  if (total == 0) return;
  TF_DISPATCH_FLOAT(dx.dtype, T,
                    TF_LAUNCH(grid_for(total), kThreads, 0, device_stream(), max_pool_backward_kernel<T>)(
                        dx, g, indices, total));
  check_launch("maxPoolBackward");
}

void avg_pool(const TensorView& out, const TensorView& x, const SpatialGeom& g, bool count_include_pad,
              int64_t divisor_override) {
  const int64_t total = out.numel();
  if (total == 0) return;
  TF_DISPATCH_FLOAT(x.dtype, T,
                    TF_LAUNCH(grid_for(total), kThreads, 0, device_stream(), avg_pool_kernel<T>)(
                        out, x, g, count_include_pad, divisor_override, total));
  check_launch("avgPool");
}

void avg_pool_backward(const TensorView& dx, const TensorView& g, const SpatialGeom& geom, bool count_include_pad,
                       int64_t divisor_override) {
  const int64_t total = dx.numel();
  if (total == 0) return;
  TF_DISPATCH_FLOAT(dx.dtype, T,
                    TF_LAUNCH(grid_for(total), kThreads, 0, device_stream(), avg_pool_backward_kernel<T>)(
                        dx, g, geom, count_include_pad, divisor_override, total));
  check_launch("avgPoolBackward");
}

void adaptive_avg_pool(const TensorView& out, const TensorView& x) {
  const int64_t total = out.numel();
  if (total == 0) return;
  TF_DISPATCH_FLOAT(x.dtype, T,
                    TF_LAUNCH(grid_for(total), kThreads, 0, device_stream(), adaptive_avg_pool_kernel<T>)(out, x, total));
  check_launch("adaptiveAvgPool");
}

void adaptive_avg_pool_backward(const TensorView& dx, const TensorView& g) {
  const int64_t total = dx.numel();
  if (total == 0) return;
  TF_DISPATCH_FLOAT(dx.dtype, T,
                    TF_LAUNCH(grid_for(total), kThreads, 0, device_stream(), adaptive_avg_pool_backward_kernel<T>)(
                        dx, g, total));
  check_launch("adaptiveAvgPoolBackward");
}

void adaptive_max_pool(const TensorView& out, const TensorView& indices, const TensorView& x) {
  const int64_t total = out.numel();
  if (total == 0) return;
  TF_DISPATCH_FLOAT(x.dtype, T,
                    TF_LAUNCH(grid_for(total), kThreads, 0, device_stream(), adaptive_max_pool_kernel<T>)(
                        out, indices, x, total));
  check_launch("adaptiveMaxPool");
}

}  // namespace

void register_spatial(KernelTable& t) {
  t.im2col = im2col;
  t.col2im = col2im;
  t.max_pool = max_pool;
  t.max_pool_backward = max_pool_backward;
  t.avg_pool = avg_pool;
  t.avg_pool_backward = avg_pool_backward;
  t.adaptive_avg_pool = adaptive_avg_pool;
  t.adaptive_avg_pool_backward = adaptive_avg_pool_backward;
  t.adaptive_max_pool = adaptive_max_pool;
}

}  // namespace cuda
}  // namespace tf
