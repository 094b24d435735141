// Pooling over [N, C, D, H, W] views (1-D/2-D pools have unit D/H; see ../spatial_geom.h), with
// PyTorch's semantics:
//   max:      out = max over the window's in-bounds elements (NaN wins), indices = the flat position
//             d*H*W + h*W + w of that element in its input plane; backward scatters g through them.
//   avg:      out = sum over the in-bounds elements / divisor, where the divisor is divisor_override
//             when > 0, else the window size clipped to the padded input (count_include_pad) or the
//             number of in-bounds elements.
//   adaptive: output o along a dim of size in -> out averages [floor(o*in/out), ceil((o+1)*in/out)),
//             or takes its max (with indices, as max pooling; the same backward).
// Every kernel runs in parallel over (n, c) planes; backward kernels write (not accumulate) dx, a
// contiguous plane per task, so overlapping windows never race. Max and average pooling work on an
// output row at a time with the window taps in the outer loops: the inner loop runs along the row
// (no per-output loop setup, and it vectorises), visiting each window's taps in PyTorch's order.
#include <limits>
#include <type_traits>

#include "pool.h"
#include "simd.h"
#include "window.h"

TF_KERNEL_NAMESPACE_BEGIN

namespace {

inline int64_t grain_for(int64_t work_per_plane) {
  return work_per_plane >= kGrainElementwise ? 1 : kGrainElementwise / (work_per_plane + 1) + 1;
}

// Offset of element (n, c, d, h, w) of a 5-D view.
inline int64_t off5(const TensorView& v, int64_t n, int64_t c, int64_t d, int64_t h, int64_t w) {
  return n * v.strides[0] + c * v.strides[1] + d * v.strides[2] + h * v.strides[3] + w * v.strides[4];
}

// W int32 lanes (a helper: a vector_size that depends on a template parameter directly is ignored).
template <int W> struct Int32Lanes { typedef int32_t type __attribute__((vector_size(W * 4))); };

// The common 2x2 window with stride 2 (no padding, dilation or depth) on contiguous rows, with the
// general kernel's tie and NaN rules (taps a, b / c, d in row-major order; a later tap wins when
// greater or NaN). W outputs of a row at a time: the two input rows' 2W values are loaded as four
// vectors and split into even and odd columns by shuffles, then
//   horizontal: (a, b) -> the winner and whether it is b, likewise (c, d);
//   vertical:   the top winner against the bottom one, the latter taken when greater or NaN.
// Pairing (c, d) first gives the same winner as visiting c then d after (a, b): a later NaN still
// wins, and ties still go to the earlier tap. Loads run past a short row into the rest of x's
// storage; those that would run past x (the last plane's last rows) go through a zero-padded copy.
// Stores that would write past the output plane write the valid lanes.
template <class T>
bool max_pool_2x2(const TensorView& out, const TensorView& indices, const TensorView& x, const SpatialGeom& g) {
  const bool fits = g.kernel[0] == 1 && g.stride[0] == 1 && g.pad[0] == 0 && g.in[0] == 1 && g.kernel[1] == 2 &&
                    g.kernel[2] == 2 && g.stride[1] == 2 && g.stride[2] == 2 && g.pad[1] == 0 && g.pad[2] == 0 &&
                    g.dilation[1] == 1 && g.dilation[2] == 1 && x.strides[4] == 1 && x.strides[3] == g.in[2] &&
                    2 * g.out[1] <= g.in[1] && 2 * g.out[2] <= g.in[2];
  if (!fits) return false;
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  typedef typename std::conditional<sizeof(T) == 4, int32_t, int64_t>::type I;  // T's lane-sized integer
  typedef I IM __attribute__((vector_size(kVecBytes)));
  typedef typename Int32Lanes<W>::type IV;  // W int32 lanes (the indices)
  IM even, odd;
  IV lane;
  for (int j = 0; j < W; ++j) even[j] = I(2 * j), odd[j] = I(2 * j + 1), lane[j] = 2 * j;
  const int64_t N = out.shape[0], C = out.shape[1], OH = g.out[1], OW = g.out[2], Wi = g.in[2];
  // One past x's last element in memory: loads that stay below it read x's storage, if not always
  // this plane (lanes past a row are discarded).
  int64_t end = 1;
  for (int d = 0; d < x.ndim; ++d)
    if (x.strides[d] > 0) end += (x.shape[d] - 1) * x.strides[d];
  // At least 2^17 input values per thread: smaller shares measured slower split than whole (LeNet's
  // second pool, 102K values: 188 us on two threads, 102 us on one).
  const int64_t per_plane = 4 * OH * OW;
  const int64_t grain = per_plane >= (int64_t(1) << 17) ? 1 : (int64_t(1) << 17) / per_plane + 1;
  parallel_for(0, N * C, grain, [&](int64_t lo, int64_t hi) {
    T pad[4 * W];  // the zero-padded copy of a block's two input rows (2W values each)
    for (int64_t task = lo; task < hi; ++task) {
      const int64_t n = task / C, c = task % C;
      const int64_t plane = off5(x, n, c, 0, 0, 0);
      const T* xp = x.ptr<T>() + plane;
      T* op = out.ptr<T>() + off5(out, n, c, 0, 0, 0);
      int32_t* ip = indices.ptr<int32_t>() + off5(indices, n, c, 0, 0, 0);
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow0 = 0; ow0 < OW; ow0 += W) {
          const int64_t nw = OW - ow0 < W ? OW - ow0 : W;
          const int64_t top = 2 * oh * Wi + 2 * ow0;  // a's offset in the plane
          const T* r0 = xp + top;
          const T* r1 = r0 + Wi;
          if (plane + top + Wi + 2 * W > end) {
            for (int j = 0; j < 4 * W; ++j) pad[j] = T(0);
            for (int64_t j = 0; j < 2 * nw; ++j) pad[j] = r0[j], pad[2 * W + j] = r1[j];
            r0 = pad;
            r1 = pad + 2 * W;
          }
          V t0, t1, b0, b1;
          __builtin_memcpy(&t0, r0, sizeof(V));
          __builtin_memcpy(&t1, r0 + W, sizeof(V));
          __builtin_memcpy(&b0, r1, sizeof(V));
          __builtin_memcpy(&b1, r1 + W, sizeof(V));
          const V a = __builtin_shuffle(t0, t1, even), b = __builtin_shuffle(t0, t1, odd);
          const V cc = __builtin_shuffle(b0, b1, even), d = __builtin_shuffle(b0, b1, odd);
          const IM take_b = (b > a) | (b != b), take_d = (d > cc) | (d != d);
          const V v0 = take_b ? b : a, v1 = take_d ? d : cc;
          const IM take_v = (v1 > v0) | (v1 != v1);
          const V best = take_v ? v1 : v0;
          const IV sb = __builtin_convertvector(take_b, IV), sd = __builtin_convertvector(take_d, IV);
          const IV tv = __builtin_convertvector(take_v, IV);
          // Lanes of the masks are 0 or -1: the chosen tap's offset from a, then a's position.
          const IV idx = int32_t(top) + lane + (tv != 0 ? int32_t(Wi) - sd : -sb);
          const int64_t o = oh * OW + ow0;
          if (o + W <= OH * OW) {
            // Whole vectors: lanes past the row land on later outputs of this plane, which this
            // loop writes afterwards.
            __builtin_memcpy(op + o, &best, sizeof(V));
            __builtin_memcpy(ip + o, &idx, sizeof(IV));
          } else {
            for (int64_t j = 0; j < nw; ++j) op[o + j] = best[j], ip[o + j] = idx[j];
          }
        }
    }
  });
  return true;
}

template <class T>
void max_pool_t(const TensorView& out, const TensorView& indices, const TensorView& x, const SpatialGeom& g) {
  if (out.is_contiguous() && indices.is_contiguous() && max_pool_2x2<T>(out, indices, x, g)) return;
  const int64_t N = out.shape[0], C = out.shape[1];
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
  const int64_t H = g.in[1], W = g.in[2];
  const int64_t KW = g.kernel[2], sw = g.stride[2], pw = g.pad[2], dw = g.dilation[2];
  const int64_t window = g.kernel[0] * g.kernel[1] * KW;
  const T* xd = x.ptr<T>();
  T* od_ = out.ptr<T>();
  int32_t* id_ = indices.ptr<int32_t>();
  const int64_t xs2 = x.strides[2], xs3 = x.strides[3], xs4 = x.strides[4];
  parallel_for(0, N * C, grain_for(OD * OH * OW * window), [&](int64_t lo, int64_t hi) {
    const ColumnRanges cr(KW, dw, pw, sw, W, OW);
    for (int64_t task = lo; task < hi; ++task) {
      const int64_t n = task / C, c = task % C;
      const T* xp = xd + off5(x, n, c, 0, 0, 0);
      for (int64_t od = 0; od < OD; ++od) {
        const int64_t d0 = od * g.stride[0] - g.pad[0];
        int64_t kd_lo, kd_hi;
        taps(d0, g.dilation[0], g.kernel[0], g.in[0], kd_lo, kd_hi);
        for (int64_t oh = 0; oh < OH; ++oh) {
          const int64_t h0 = oh * g.stride[1] - g.pad[1];
          int64_t kh_lo, kh_hi;
          taps(h0, g.dilation[1], g.kernel[1], H, kh_lo, kh_hi);
          T* ob = od_ + off5(out, n, c, 0, 0, 0) + (od * OH + oh) * OW;
          int32_t* oi = id_ + off5(indices, n, c, 0, 0, 0) + (od * OH + oh) * OW;
          for (int64_t ow = 0; ow < OW; ++ow) {
            ob[ow] = -std::numeric_limits<T>::infinity();
            oi[ow] = -1;
          }
          for (int64_t kd = kd_lo; kd < kd_hi; ++kd) {
            const int64_t id = d0 + kd * g.dilation[0];
            for (int64_t kh = kh_lo; kh < kh_hi; ++kh) {
              const int64_t ih = h0 + kh * g.dilation[1];
              for (int64_t kw = 0; kw < KW; ++kw) {
                const int64_t off = kw * dw - pw;
                int64_t w_lo, w_hi;
                cr.get(kw, w_lo, w_hi);
                const T* src = xp + id * xs2 + ih * xs3 + (w_lo * sw + off) * xs4;
                const int64_t step = sw * xs4;
                // Flat input index of output w_lo + j: first + j * sw (fits int32: checked by the binding).
                const int32_t first = int32_t((id * H + ih) * W + w_lo * sw + off), isw = int32_t(sw);
                T* b = ob + w_lo;
                int32_t* bi = oi + w_lo;
                const int64_t len = w_hi - w_lo;
                if (step == 1) {
                  for (int64_t j = 0; j < len; ++j) {
                    const T v = src[j];
                    const bool take = (v > b[j]) | (v != v);
                    b[j] = take ? v : b[j];
                    bi[j] = take ? first + int32_t(j) * isw : bi[j];
                  }
                } else {
                  for (int64_t j = 0; j < len; ++j) {
                    const T v = src[j * step];
                    const bool take = (v > b[j]) | (v != v);
                    b[j] = take ? v : b[j];
                    bi[j] = take ? first + int32_t(j) * isw : bi[j];
                  }
                }
              }
            }
          }
          // Windows that never took a value (all -inf): point at their first in-bounds element, as PyTorch.
          for (int64_t ow = 0; ow < OW; ++ow) {
            if (oi[ow] >= 0) continue;
            const int64_t w0 = ow * sw - pw;
            int64_t kw_lo, kw_hi;
            taps(w0, dw, KW, W, kw_lo, kw_hi);
            const bool any = kd_lo < kd_hi && kh_lo < kh_hi && kw_lo < kw_hi;
            oi[ow] = any ? int32_t(((d0 + kd_lo * g.dilation[0]) * H + h0 + kh_lo * g.dilation[1]) * W + w0 + kw_lo * dw) : 0;
          }
        }
      }
    }
  });
}

template <class T>
void max_pool_backward_t(const TensorView& dx, const TensorView& g, const TensorView& indices) {
  const int64_t N = g.shape[0], C = g.shape[1];
  const int64_t OD = g.shape[2], OH = g.shape[3], OW = g.shape[4];
  const int64_t plane = dx.shape[2] * dx.shape[3] * dx.shape[4];
  const T* gd = g.ptr<T>();
  const int32_t* id_ = indices.ptr<int32_t>();
  T* dd = dx.ptr<T>();
  parallel_for(0, N * C, grain_for(OD * OH * OW + plane), [&](int64_t lo, int64_t hi) {
    for (int64_t task = lo; task < hi; ++task) {
      const int64_t n = task / C, c = task % C;
      T* dp = dd + off5(dx, n, c, 0, 0, 0);
      const T* gp = gd + off5(g, n, c, 0, 0, 0);
      const int32_t* ip = id_ + off5(indices, n, c, 0, 0, 0);
      for (int64_t i = 0; i < plane; ++i) dp[i] = T(0);
      for (int64_t od = 0; od < OD; ++od)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow) {
            const int64_t o = (od * OH + oh) * OW + ow;
            dp[ip[o]] += gp[od * g.strides[2] + oh * g.strides[3] + ow * g.strides[4]];
          }
    }
  });
}

// The in-bounds box [lo, hi) of an average-pooling window along one dim, and the window's size
// clipped to the padded input (what count_include_pad divides by).
inline void avg_window(int64_t o, const SpatialGeom& g, int d, int64_t& lo, int64_t& hi, int64_t& padded) {
  const int64_t start = o * g.stride[d] - g.pad[d];
  int64_t end = start + g.kernel[d];
  if (end > g.in[d] + g.pad[d]) end = g.in[d] + g.pad[d];
  padded = end - start;
  lo = start < 0 ? 0 : start;
  hi = end > g.in[d] ? g.in[d] : end;
}

// The divisor of output position ow of a row whose depth/height windows hold `dh_count` in-bounds
// and `dh_pad` padded positions.
inline int64_t avg_divisor(int64_t ow, const SpatialGeom& g, int64_t dh_count, int64_t dh_pad, bool count_include_pad,
                           int64_t divisor_override) {
  if (divisor_override > 0) return divisor_override;
  int64_t lo, hi, padded;
  avg_window(ow, g, 2, lo, hi, padded);
  return count_include_pad ? dh_pad * padded : dh_count * (hi - lo);
}

template <class T>
void avg_pool_t(const TensorView& out, const TensorView& x, const SpatialGeom& g, bool count_include_pad,
                int64_t divisor_override) {
  const int64_t N = out.shape[0], C = out.shape[1];
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
  const int64_t W = g.in[2], KW = g.kernel[2], sw = g.stride[2], pw = g.pad[2];
  const int64_t window = g.kernel[0] * g.kernel[1] * KW;
  const int64_t xs2 = x.strides[2], xs3 = x.strides[3], xs4 = x.strides[4];
  const T* xd = x.ptr<T>();
  T* od_ = out.ptr<T>();
  parallel_for(0, N * C, grain_for(OD * OH * OW * window), [&](int64_t lo, int64_t hi) {
    const ColumnRanges cr(KW, 1, pw, sw, W, OW);
    for (int64_t task = lo; task < hi; ++task) {
      const int64_t n = task / C, c = task % C;
      const T* xp = xd + off5(x, n, c, 0, 0, 0);
      for (int64_t od = 0; od < OD; ++od) {
        int64_t d_lo, d_hi, d_pad;
        avg_window(od, g, 0, d_lo, d_hi, d_pad);
        for (int64_t oh = 0; oh < OH; ++oh) {
          int64_t h_lo, h_hi, h_pad;
          avg_window(oh, g, 1, h_lo, h_hi, h_pad);
          T* ob = od_ + off5(out, n, c, 0, 0, 0) + (od * OH + oh) * OW;
          for (int64_t ow = 0; ow < OW; ++ow) ob[ow] = T(0);
          for (int64_t id = d_lo; id < d_hi; ++id)
            for (int64_t ih = h_lo; ih < h_hi; ++ih)
              for (int64_t kw = 0; kw < KW; ++kw) {
                int64_t w_lo, w_hi;
                cr.get(kw, w_lo, w_hi);
                const T* src = xp + id * xs2 + ih * xs3 + (w_lo * sw + kw - pw) * xs4;
                const int64_t step = sw * xs4;
                T* b = ob + w_lo;
                if (step == 1) {
                  for (int64_t j = 0; j < w_hi - w_lo; ++j) b[j] += src[j];
                } else {
                  for (int64_t j = 0; j < w_hi - w_lo; ++j) b[j] += src[j * step];
                }
              }
          const int64_t dh_count = (d_hi - d_lo) * (h_hi - h_lo), dh_pad = d_pad * h_pad;
          for (int64_t ow = 0; ow < OW; ++ow)
            ob[ow] /= T(avg_divisor(ow, g, dh_count, dh_pad, count_include_pad, divisor_override));
        }
      }
    }
  });
}

template <class T>
void avg_pool_backward_t(const TensorView& dx, const TensorView& g, const SpatialGeom& geom, bool count_include_pad,
                         int64_t divisor_override) {
  const int64_t N = g.shape[0], C = g.shape[1];
  const int64_t OD = geom.out[0], OH = geom.out[1], OW = geom.out[2];
  const int64_t H = geom.in[1], W = geom.in[2], plane = geom.in[0] * H * W;
  const int64_t KW = geom.kernel[2], sw = geom.stride[2], pw = geom.pad[2];
  const int64_t window = geom.kernel[0] * geom.kernel[1] * KW;
  const int64_t gs4 = g.strides[4];
  const T* gd = g.ptr<T>();
  T* dd = dx.ptr<T>();
  parallel_for(0, N * C, grain_for(OD * OH * OW * window + plane), [&](int64_t lo, int64_t hi) {
    const ColumnRanges cr(KW, 1, pw, sw, W, OW);
    constexpr int64_t kBlock = 256;
    T scaled[kBlock];  // g / divisor for a block of the output row
    for (int64_t task = lo; task < hi; ++task) {
      const int64_t n = task / C, c = task % C;
      T* dp = dd + off5(dx, n, c, 0, 0, 0);
      for (int64_t i = 0; i < plane; ++i) dp[i] = T(0);
      for (int64_t od = 0; od < OD; ++od) {
        int64_t d_lo, d_hi, d_pad;
        avg_window(od, geom, 0, d_lo, d_hi, d_pad);
        for (int64_t oh = 0; oh < OH; ++oh) {
          int64_t h_lo, h_hi, h_pad;
          avg_window(oh, geom, 1, h_lo, h_hi, h_pad);
          const T* grow = gd + off5(g, n, c, od, oh, 0);
          const int64_t dh_count = (d_hi - d_lo) * (h_hi - h_lo), dh_pad = d_pad * h_pad;
          for (int64_t o0 = 0; o0 < OW; o0 += kBlock) {
            const int64_t o1 = OW - o0 < kBlock ? OW : o0 + kBlock;
            for (int64_t ow = o0; ow < o1; ++ow)
              scaled[ow - o0] = grow[ow * gs4] / T(avg_divisor(ow, geom, dh_count, dh_pad, count_include_pad, divisor_override));
            for (int64_t id = d_lo; id < d_hi; ++id)
              for (int64_t ih = h_lo; ih < h_hi; ++ih) {
                T* drow = dp + (id * H + ih) * W;
                for (int64_t kw = 0; kw < KW; ++kw) {
                  int64_t w_lo, w_hi;
                  cr.get(kw, w_lo, w_hi);
                  if (w_lo < o0) w_lo = o0;
                  if (w_hi > o1) w_hi = o1;
                  for (int64_t ow = w_lo; ow < w_hi; ++ow) drow[ow * sw + kw - pw] += scaled[ow - o0];
                }
              }
          }
        }
      }
    }
  });
}

inline int64_t adaptive_start(int64_t o, int64_t in, int64_t out) { return (o * in) / out; }
inline int64_t adaptive_end(int64_t o, int64_t in, int64_t out) { return ((o + 1) * in + out - 1) / out; }

// An adaptive pool's output cells, in parallel over (n, c) planes: f(n, c, o, lo, hi) for each, with
// o the cell's index in its (contiguous) output plane and [lo[k], hi[k]) its window along the
// input's dim k (d, h, w). Adaptive windows are never empty.
template <class F>
void each_adaptive_window(const TensorView& out, const TensorView& x, F f) {
  const int64_t C = out.shape[1], OD = out.shape[2], OH = out.shape[3], OW = out.shape[4];
  const int64_t D = x.shape[2], H = x.shape[3], W = x.shape[4];
  parallel_for(0, out.shape[0] * C, grain_for(D * H * W + OD * OH * OW), [&](int64_t t0, int64_t t1) {
    for (int64_t task = t0; task < t1; ++task)
      for (int64_t od = 0; od < OD; ++od)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow) {
            const int64_t lo[3] = {adaptive_start(od, D, OD), adaptive_start(oh, H, OH), adaptive_start(ow, W, OW)};
            const int64_t hi[3] = {adaptive_end(od, D, OD), adaptive_end(oh, H, OH), adaptive_end(ow, W, OW)};
            f(task / C, task % C, (od * OH + oh) * OW + ow, lo, hi);
          }
  });
}

template <class T>
void adaptive_avg_pool_t(const TensorView& out, const TensorView& x) {
  each_adaptive_window(out, x, [&](int64_t n, int64_t c, int64_t o, const int64_t* lo, const int64_t* hi) {
    const T* xp = x.ptr<T>() + off5(x, n, c, 0, 0, 0);
    T s = 0;
    for (int64_t id = lo[0]; id < hi[0]; ++id)
      for (int64_t ih = lo[1]; ih < hi[1]; ++ih) {
        const T* row = xp + id * x.strides[2] + ih * x.strides[3];
        for (int64_t iw = lo[2]; iw < hi[2]; ++iw) s += row[iw * x.strides[4]];
      }
    out.ptr<T>()[off5(out, n, c, 0, 0, 0) + o] = s / T((hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]));
  });
}

// The window's max in PyTorch's order (NaN wins, and a later NaN replaces an earlier one) and its
// flat position in the plane.
template <class T>
void adaptive_max_pool_t(const TensorView& out, const TensorView& indices, const TensorView& x) {
  const int64_t H = x.shape[3], W = x.shape[4];
  each_adaptive_window(out, x, [&](int64_t n, int64_t c, int64_t o, const int64_t* lo, const int64_t* hi) {
    const T* xp = x.ptr<T>() + off5(x, n, c, 0, 0, 0);
    T best = xp[lo[0] * x.strides[2] + lo[1] * x.strides[3] + lo[2] * x.strides[4]];
    int64_t at = (lo[0] * H + lo[1]) * W + lo[2];
    for (int64_t id = lo[0]; id < hi[0]; ++id)
      for (int64_t ih = lo[1]; ih < hi[1]; ++ih) {
        const T* row = xp + id * x.strides[2] + ih * x.strides[3];
        for (int64_t iw = lo[2]; iw < hi[2]; ++iw) {
          const T v = row[iw * x.strides[4]];
          if (v > best || v != v) best = v, at = (id * H + ih) * W + iw;
        }
      }
    out.ptr<T>()[off5(out, n, c, 0, 0, 0) + o] = best;
    indices.ptr<int32_t>()[off5(indices, n, c, 0, 0, 0) + o] = int32_t(at);  // planes fit int32 (the binding checks)
  });
}

template <class T>
void adaptive_avg_pool_backward_t(const TensorView& dx, const TensorView& g) {
  const int64_t N = g.shape[0], C = g.shape[1];
  const int64_t OD = g.shape[2], OH = g.shape[3], OW = g.shape[4];
  const int64_t D = dx.shape[2], H = dx.shape[3], W = dx.shape[4];
  const T* gd = g.ptr<T>();
  T* dd = dx.ptr<T>();
  parallel_for(0, N * C, grain_for(2 * D * H * W + OD * OH * OW), [&](int64_t lo, int64_t hi) {
    for (int64_t task = lo; task < hi; ++task) {
      const int64_t n = task / C, c = task % C;
      T* dp = dd + off5(dx, n, c, 0, 0, 0);
      const T* gp = gd + off5(g, n, c, 0, 0, 0);
      for (int64_t i = 0; i < D * H * W; ++i) dp[i] = T(0);
      for (int64_t od = 0; od < OD; ++od) {
        const int64_t d_lo = adaptive_start(od, D, OD), d_hi = adaptive_end(od, D, OD);
        for (int64_t oh = 0; oh < OH; ++oh) {
          const int64_t h_lo = adaptive_start(oh, H, OH), h_hi = adaptive_end(oh, H, OH);
          for (int64_t ow = 0; ow < OW; ++ow) {
            const int64_t w_lo = adaptive_start(ow, W, OW), w_hi = adaptive_end(ow, W, OW);
            const T v = gp[od * g.strides[2] + oh * g.strides[3] + ow * g.strides[4]] /
                        T((d_hi - d_lo) * (h_hi - h_lo) * (w_hi - w_lo));
            for (int64_t id = d_lo; id < d_hi; ++id)
              for (int64_t ih = h_lo; ih < h_hi; ++ih) {
                T* row = dp + (id * H + ih) * W;
                for (int64_t iw = w_lo; iw < w_hi; ++iw) row[iw] += v;
              }
          }
        }
      }
    }
  });
}

}  // namespace

void max_pool(const TensorView& out, const TensorView& indices, const TensorView& x, const SpatialGeom& g) {
  TF_DISPATCH_FLOAT(x.dtype, T, max_pool_t<T>(out, indices, x, g));
}
void max_pool_backward(const TensorView& dx, const TensorView& g, const TensorView& indices) {
  TF_DISPATCH_FLOAT(dx.dtype, T, max_pool_backward_t<T>(dx, g, indices));
}
void avg_pool(const TensorView& out, const TensorView& x, const SpatialGeom& g, bool count_include_pad,
              int64_t divisor_override) {
  TF_DISPATCH_FLOAT(x.dtype, T, avg_pool_t<T>(out, x, g, count_include_pad, divisor_override));
}
void avg_pool_backward(const TensorView& dx, const TensorView& g, const SpatialGeom& geom, bool count_include_pad,
                       int64_t divisor_override) {
  TF_DISPATCH_FLOAT(dx.dtype, T, avg_pool_backward_t<T>(dx, g, geom, count_include_pad, divisor_override));
}
void adaptive_avg_pool(const TensorView& out, const TensorView& x) {
  TF_DISPATCH_FLOAT(x.dtype, T, adaptive_avg_pool_t<T>(out, x));
}
void adaptive_avg_pool_backward(const TensorView& dx, const TensorView& g) {
  TF_DISPATCH_FLOAT(dx.dtype, T, adaptive_avg_pool_backward_t<T>(dx, g));
}
void adaptive_max_pool(const TensorView& out, const TensorView& indices, const TensorView& x) {
  TF_DISPATCH_FLOAT(x.dtype, T, adaptive_max_pool_t<T>(out, indices, x));
}

TF_KERNEL_NAMESPACE_END
