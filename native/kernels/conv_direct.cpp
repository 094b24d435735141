// Direct convolution for few input channels (LeNet's first layer, 1-D signals), stride 1 and no
// dilation, forward and weight gradient; no column buffer, so no trip through memory for one.
//
//   x    [N, C, 1, H, W]  (any strides)        w  [outC, Cg, 1, KH, KW] (contiguous), Cg = C / G
//   out  [N, outC, 1, OH, OW] (contiguous)     OH = H + padT + padB - KH + 1 (likewise OW)
//   out[n, o, y, x] = bias[o] + sum_{c, ky, kx} w[o, c, ky, kx] * xp[n, g*Cg + c, y + ky, x + kx]
//   dW[o, c, ky, kx] = sum_{n, y, x} gOut[n, o, y, x] * xp[n, g*Cg + c, y + ky, x + kx]
// where xp is x zero-padded to PH x PW (PW = OW + KW - 1) and g = o / (outC / G).
//
// The trick that makes both loops plain streams: with rows PW apart, tap (ky, kx) of output position
// y*PW + x reads xp at (y*PW + x) + (ky*PW + kx). So over the flattened [OH, PW] plane every tap is a
// shifted copy of xp, and a layer is a sum of KH*KW shifted AXPYs (forward) or dot products (weight
// gradient) of length OH*PW. The PW - OW columns past each row's end are computed and dropped
// (forward) or multiply zeros (weight gradient: gOut is copied into a zero-padded [OH, PW] plane).
#include <cstdlib>

#include "conv.h"
#include "simd.h"

TF_KERNEL_NAMESPACE_BEGIN

namespace {

#if defined(TF_CPU_LEVEL_avx512)
constexpr int kTapBlock = 16;  // weight-gradient accumulators held in registers at once
#else
constexpr int kTapBlock = 8;
#endif
constexpr int kUnroll = 4;  // vectors of the forward's output kept in registers across taps

template <class T>
struct Plane {
  static constexpr int W = kVecBytes / sizeof(T);
  int64_t PH, PW, flat, padded;  // flat: OH * PW rounded up to whole blocks; padded: per-channel buffer
  int64_t padT, padL;
  Plane(const SpatialGeom& g, int64_t block) {
    PH = g.out[1] + g.kernel[1] - 1;
    PW = g.out[2] + g.kernel[2] - 1;
    padT = g.pad[1];
    padL = g.pad[2];
    flat = (g.out[1] * PW + block - 1) / block * block;
    padded = flat + (g.kernel[1] - 1) * PW + g.kernel[2] - 1;
    padded = (padded + W - 1) / W * W;
  }
  // dst[r * PW + q] = x[c, r - padT, q - padL] (0 outside x), for the whole padded buffer.
  void fill(T* dst, const TensorView& x, int64_t n, int64_t c, int64_t H, int64_t Wd) const {
    const T* src = x.ptr<T>() + n * x.strides[0] + c * x.strides[1];
    for (int64_t i = 0; i < padded; ++i) dst[i] = T(0);
    for (int64_t h = 0; h < H; ++h) {
      const int64_t r = h + padT;
      if (r < 0 || r >= PH) continue;
      T* row = dst + r * PW + padL;
      const T* s = src + h * x.strides[3];
      if (x.strides[4] == 1) {
        __builtin_memcpy(row, s, sizeof(T) * size_t(Wd));
      } else {
        for (int64_t w = 0; w < Wd; ++w) row[w] = s[w * x.strides[4]];
      }
    }
  }
};

template <class T>
void conv_direct_t(const TensorView& out, const TensorView& x, const TensorView& w, const T* bias, const SpatialGeom& g,
                   int64_t groups) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  constexpr int64_t kBlock = int64_t(W) * kUnroll;
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[3], Wd = x.shape[4];
  const int64_t outC = w.shape[0], Cg = C / groups, Mg = outC / groups;
  const int64_t KH = g.kernel[1], KW = g.kernel[2], OH = g.out[1], OW = g.out[2];
  const Plane<T> pl(g, kBlock);
  const T* wd = w.ptr<T>();
  parallel_for(0, N * groups, 1, [&](int64_t lo, int64_t hi) {
    static thread_local Scratch scratch;
    T* xp = static_cast<T*>(scratch.get(sizeof(T) * size_t(Cg * pl.padded + pl.flat)));
    if (!xp) return;
    T* acc_plane = xp + Cg * pl.padded;
    for (int64_t task = lo; task < hi; ++task) {
      const int64_t n = task / groups, gi = task % groups;
      for (int64_t c = 0; c < Cg; ++c) pl.fill(xp + c * pl.padded, x, n, gi * Cg + c, H, Wd);
      for (int64_t oi = 0; oi < Mg; ++oi) {
        const int64_t o = gi * Mg + oi;
        const T* wo = wd + o * Cg * KH * KW;
        const T b0 = bias ? bias[o] : T(0);
        for (int64_t i = 0; i < pl.flat; i += kBlock) {
          V acc[kUnroll];
          for (int u = 0; u < kUnroll; ++u)
            for (int l = 0; l < W; ++l) acc[u][l] = b0;
          for (int64_t c = 0; c < Cg; ++c) {
            const T* base = xp + c * pl.padded + i;
            for (int64_t ky = 0; ky < KH; ++ky)
              for (int64_t kx = 0; kx < KW; ++kx) {
                const T wv = wo[(c * KH + ky) * KW + kx];
                const T* src = base + ky * pl.PW + kx;
                for (int u = 0; u < kUnroll; ++u) {
                  V xv;
                  __builtin_memcpy(&xv, src + u * W, sizeof(V));
                  acc[u] += wv * xv;
                }
              }
          }
          __builtin_memcpy(acc_plane + i, acc, sizeof(acc));
        }
        T* dst = out.ptr<T>() + n * out.strides[0] + o * out.strides[1];
        for (int64_t y = 0; y < OH; ++y)
          for (int64_t q = 0; q < OW; ++q) dst[y * OW + q] = acc_plane[y * pl.PW + q];
      }
    }
  });
}

// sums[t] += dot(gp[0, flat), xc[off_t, off_t + flat)) for NT consecutive taps from tap t0, the
// gradient vector loaded once per step and shared by the NT accumulators.
template <class T, int NT>
inline void dot_taps(const T* gp, const T* xc, int64_t flat, int64_t t0, int64_t KW, int64_t PW, T* sums) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  const T* src[NT];
  for (int t = 0; t < NT; ++t) src[t] = xc + (t0 + t) / KW * PW + (t0 + t) % KW;
  V acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = V{};
  for (int64_t i = 0; i < flat; i += W) {
    V gv;
    __builtin_memcpy(&gv, gp + i, sizeof(V));
    for (int t = 0; t < NT; ++t) {
      V xv;
      __builtin_memcpy(&xv, src[t] + i, sizeof(V));
      acc[t] += gv * xv;
    }
  }
  for (int t = 0; t < NT; ++t) {
    T s = 0;
    for (int l = 0; l < W; ++l) s += acc[t][l];
    sums[t] += s;
  }
}

template <class T>
void conv_direct_weight_grad_t(const TensorView& dw, const TensorView& x, const TensorView& gout, const SpatialGeom& g,
                               int64_t groups) {
  constexpr int W = kVecBytes / sizeof(T);
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[3], Wd = x.shape[4];
  const int64_t outC = dw.shape[0], Cg = C / groups, Mg = outC / groups;
  const int64_t KH = g.kernel[1], KW = g.kernel[2], OH = g.out[1], OW = g.out[2], taps = KH * KW;
  const Plane<T> pl(g, W);
  const int64_t sums_per_part = outC * Cg * taps;
  // Threads take ranges of images (each image's planes are padded once and serve every output
  // channel) and sum into their own partial dW; the partials are added at the end.
  int64_t parts = num_threads() < N ? num_threads() : N;
  if (parts < 1) parts = 1;
  T* partial = static_cast<T*>(std::calloc(size_t(parts * sums_per_part), sizeof(T)));
  if (!partial) return;
  parallel_for(0, parts, 1, [&](int64_t plo, int64_t phi) {
    static thread_local Scratch scratch;
    // The image's padded input planes (all C) and one zero-padded gradient plane.
    T* xp = static_cast<T*>(scratch.get(sizeof(T) * size_t(C * pl.padded + pl.flat)));
    if (!xp) return;
    T* gp = xp + C * pl.padded;
    for (int64_t part = plo; part < phi; ++part) {
      T* sums = partial + part * sums_per_part;
      for (int64_t n = N * part / parts; n < N * (part + 1) / parts; ++n) {
        for (int64_t c = 0; c < C; ++c) pl.fill(xp + c * pl.padded, x, n, c, H, Wd);
        for (int64_t o = 0; o < outC; ++o) {
          const int64_t gi = o / Mg;
          for (int64_t i = 0; i < pl.flat; ++i) gp[i] = T(0);
          const T* gsrc = gout.ptr<T>() + n * gout.strides[0] + o * gout.strides[1];
          for (int64_t y = 0; y < OH; ++y) {
            const T* grow = gsrc + y * gout.strides[3];
            if (gout.strides[4] == 1) {
              __builtin_memcpy(gp + y * pl.PW, grow, sizeof(T) * size_t(OW));
            } else {
              for (int64_t q = 0; q < OW; ++q) gp[y * pl.PW + q] = grow[q * gout.strides[4]];
            }
          }
          for (int64_t c = 0; c < Cg; ++c) {
            const T* xc = xp + (gi * Cg + c) * pl.padded;
            T* sc = sums + (o * Cg + c) * taps;
            int64_t t0 = 0;
            for (; t0 + kTapBlock <= taps; t0 += kTapBlock) dot_taps<T, kTapBlock>(gp, xc, pl.flat, t0, KW, pl.PW, sc + t0);
            if (t0 + 8 <= taps) {
              dot_taps<T, 8>(gp, xc, pl.flat, t0, KW, pl.PW, sc + t0);
              t0 += 8;
            }
            if (t0 + 4 <= taps) {
              dot_taps<T, 4>(gp, xc, pl.flat, t0, KW, pl.PW, sc + t0);
              t0 += 4;
            }
            for (; t0 < taps; ++t0) dot_taps<T, 1>(gp, xc, pl.flat, t0, KW, pl.PW, sc + t0);
          }
        }
      }
    }
  });
  for (int64_t o = 0; o < outC; ++o) {
    T* dst = dw.ptr<T>() + o * dw.strides[0];
    for (int64_t c = 0; c < Cg; ++c)
      for (int64_t t = 0; t < taps; ++t) {
        T s = 0;
        for (int64_t part = 0; part < parts; ++part) s += partial[part * sums_per_part + (o * Cg + c) * taps + t];
        dst[c * dw.strides[1] + (t / KW) * dw.strides[3] + (t % KW) * dw.strides[4]] = s;
      }
  }
  std::free(partial);
}

}  // namespace

void conv_direct(const TensorView& out, const TensorView& x, const TensorView& w, const TensorView* bias,
                 const SpatialGeom& g, int64_t groups) {
  TF_DISPATCH_FLOAT(x.dtype, T, conv_direct_t<T>(out, x, w, bias ? bias->ptr<T>() : nullptr, g, groups));
}

void conv_direct_weight_grad(const TensorView& dw, const TensorView& x, const TensorView& gout, const SpatialGeom& g,
                             int64_t groups) {
  TF_DISPATCH_FLOAT(x.dtype, T, conv_direct_weight_grad_t<T>(dw, x, gout, g, groups));
}

TF_KERNEL_NAMESPACE_END
