// Direct convolution for few input channels (LeNet's layers, 1-D signals), stride 1 and no
// dilation: forward, weight gradient and (as the adjoint convolution) input gradient, with no
// column buffer, so no trip through memory for one.
//
//   x    [N, C, 1, H, W]  (any strides)        w  [outC, Cg, 1, KH, KW] (contiguous), Cg = C / G
//   out  [N, outC, 1, OH, OW] (contiguous)     OH = H + padT + padB - KH + 1 (likewise OW)
//   out[n, o, y, x] = bias[o] + sum_{c, ky, kx} w[o, c, ky, kx] * xp[n, g*Cg + c, y + ky, x + kx]
//   dW[o, c, ky, kx] = sum_{n, y, x} gOut[n, o, y, x] * xp[n, g*Cg + c, y + ky, x + kx]
// where xp is x zero-padded to PH = OH + KH - 1 rows and g = o / (outC / G).
//
// The trick that makes both loops plain streams: lay each padded input plane out with the row pitch
// P = OW + KW - 1 of xp itself. Then tap (ky, kx) of flat output position i = y*P + x reads
// xp at i + ky*P + kx: a vector load. A layer is KH*KW AXPYs (forward) or dot products (weight
// gradient) over the flat [OH, P] plane; the columns past OW are computed and dropped (forward) or
// multiply zeros (weight gradient: gOut is copied into a zero-padded [OH, P] plane). Blocks of
// output channels share each loaded input vector, so a loop step does more FMAs than loads.
// (KW copies of xp shifted by kx, rows padded to whole vectors, made every load aligned. In
// alternating A/B runs they took 14-15% longer than one unaligned copy on LeNet's first layer and
// 14-30% on 2-D layers of 2 and 3 channels; packed rows then saved another 3-15% on the latter.)
#include <cstdlib>

#include "activation.h"
#include "conv.h"
#include "simd.h"
#include "window.h"

TF_KERNEL_NAMESPACE_BEGIN

namespace {

#if defined(TF_CPU_LEVEL_avx512)
constexpr int kOB = 4;  // output channels per block
constexpr int kOBMax = 6;  // forward: up to 6 channels take one block (6 * kU = 24 accumulators)
constexpr int kU = 4;   // forward: output vectors per block (kOB * kU accumulators of 32 registers)
constexpr int kTB = 4;  // weight gradient: taps per block (kOB * kTB accumulators)
#else
constexpr int kOBMax = 4;
constexpr int kOB = 2;
constexpr int kU = 4;
constexpr int kTB = 4;
#endif

template <class T>
struct Plane {
  static constexpr int W = kVecBytes / sizeof(T);
  int64_t KH, KW, OH, OW, PH, P;
  int64_t flat;     // OH * P rounded up to a whole vector: the flattened output plane
  int64_t channel;  // one input channel's padded plane and the reads past it, in whole vectors
  int64_t padT, padL;
  explicit Plane(const SpatialGeom& g) {
    KH = g.kernel[1];
    KW = g.kernel[2];
    OH = g.out[1];
    OW = g.out[2];
    PH = OH + KH - 1;
    P = OW + KW - 1;
    flat = (OH * P + W - 1) / W * W;
    channel = (flat + (KH - 1) * P + KW - 1 + W - 1) / W * W;  // all of a tap's reads
    padT = g.pad[1];
    padL = g.pad[2];
  }
  // Input channel c of image n, padded: dst[r * P + q] = xp[r, q], zeros past the plane.
  void fill(T* dst, const TensorView& x, int64_t n, int64_t c) const {
    place_plane(dst, PH, P, x.ptr<T>() + n * x.strides[0] + c * x.strides[1], x.shape[3], x.shape[4], x.strides[3],
                x.strides[4], padT, padL, channel - PH * P);
  }
};

// Forward block: output channels [o0, o0 + OB) at flat positions [i, i + U*W), into planes acc.
template <class T, int OB, int U>
inline void out_block(T* acc, int64_t flat, const T* xs, const Plane<T>& pl, const T* w, int64_t Cg, const T* b0,
                      int64_t i) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  const int64_t taps = pl.KH * pl.KW, KW = pl.KW, P = pl.P;
  V a[OB][U];
  for (int o = 0; o < OB; ++o)
    for (int u = 0; u < U; ++u)
      for (int l = 0; l < W; ++l) a[o][u][l] = b0[o];
  for (int64_t c = 0; c < Cg; ++c) {
    const T* xc = xs + c * pl.channel + i;
    const T* wc = w + c * taps;
    for (int64_t ky = 0; ky < pl.KH; ++ky)
      for (int64_t kx = 0; kx < KW; ++kx) {
        const T* src = xc + kx + ky * P;
        const int64_t t = ky * KW + kx;
        V xv[U];
        for (int u = 0; u < U; ++u) __builtin_memcpy(&xv[u], src + u * W, sizeof(V));
        for (int o = 0; o < OB; ++o) {
          const T wv = wc[o * Cg * taps + t];
          for (int u = 0; u < U; ++u) a[o][u] += wv * xv[u];
        }
      }
  }
  for (int o = 0; o < OB; ++o)
    for (int u = 0; u < U; ++u) __builtin_memcpy(acc + o * flat + i + u * W, &a[o][u], sizeof(V));
}

template <class T, int OB>
void out_channels(T* acc, const T* xs, const Plane<T>& pl, const T* w, int64_t Cg, const T* b0) {
  constexpr int W = kVecBytes / sizeof(T);
  int64_t i = 0;
  for (; i + kU * W <= pl.flat; i += kU * W) out_block<T, OB, kU>(acc, pl.flat, xs, pl, w, Cg, b0, i);
  for (; i + 2 * W <= pl.flat; i += 2 * W) out_block<T, OB, 2>(acc, pl.flat, xs, pl, w, Cg, b0, i);
  for (; i < pl.flat; i += W) out_block<T, OB, 1>(acc, pl.flat, xs, pl, w, Cg, b0, i);
}

// out = act(conv(x, wd) + bias) with wd contiguous [outC, C / groups, KH, KW] (outC = out's channels).
template <class T>
void conv_direct_t(const TensorView& out, const TensorView& x, const T* wd, const T* bias, const SpatialGeom& g,
                   int64_t groups, Activation act) {
  const int64_t N = x.shape[0], C = x.shape[1];
  const int64_t outC = out.shape[1], Cg = C / groups, Mg = outC / groups;
  const Plane<T> pl(g);
  const int64_t taps = pl.KH * pl.KW;
  // Output channels per block: all of a group's when they fit the registers (each loaded input vector
  // then serves them all: LeNet's adjoint convolutions have 6 or 1), else kOB (balanced 3 + 3 for 6
  // measured slower than 4 + 2 where only 4 fit).
  const int64_t block = Mg <= kOBMax ? Mg : kOB;
  parallel_for(0, N * groups, 1, [&](int64_t lo, int64_t hi) {
    static thread_local Scratch scratch;
    T* xs = static_cast<T*>(scratch.get(sizeof(T) * size_t(Cg * pl.channel + kOBMax * pl.flat)));
    if (!xs) return;
    T* acc = xs + Cg * pl.channel;
    for (int64_t task = lo; task < hi; ++task) {
      const int64_t n = task / groups, gi = task % groups;
      for (int64_t c = 0; c < Cg; ++c) pl.fill(xs + c * pl.channel, x, n, gi * Cg + c);
      for (int64_t o0 = 0; o0 < Mg; o0 += block) {
        const int ob = int(Mg - o0 < block ? Mg - o0 : block);
        const int64_t o = gi * Mg + o0;
        T b0[kOBMax];
        for (int k = 0; k < kOBMax; ++k) b0[k] = bias && k < ob ? bias[o + k] : T(0);
        const T* w = wd + o * Cg * taps;
        switch (ob) {
#if defined(TF_CPU_LEVEL_avx512)
          case 6: out_channels<T, 6>(acc, xs, pl, w, Cg, b0); break;
          case 5: out_channels<T, 5>(acc, xs, pl, w, Cg, b0); break;
#endif
          case 4: out_channels<T, 4>(acc, xs, pl, w, Cg, b0); break;
          case 3: out_channels<T, 3>(acc, xs, pl, w, Cg, b0); break;
          case 2: out_channels<T, 2>(acc, xs, pl, w, Cg, b0); break;
          default: out_channels<T, 1>(acc, xs, pl, w, Cg, b0); break;
        }
        for (int k = 0; k < ob; ++k) {
          T* dst = out.ptr<T>() + n * out.strides[0] + (o + k) * out.strides[1];
          const T* a = acc + k * pl.flat;
          for (int64_t y = 0; y < pl.OH; ++y) {
            for (int64_t q = 0; q < pl.OW; ++q) dst[y * pl.OW + q] = a[y * pl.P + q];
            activate(dst + y * pl.OW, pl.OW, act);
          }
        }
      }
    }
  });
}

// The input gradient of a stride-1 convolution is itself one (the adjoint): the output gradient
// convolved with the weight flipped in space and with in/out channels swapped within each group,
//   wt[g*Cg + c, o, KH-1-ky, KW-1-kx] = w[g*Mg + o, c, ky, kx],
// and padding KH-1-padT before (the caller's geometry already says so).
template <class T>
T* adjoint_weight(const TensorView& w, int64_t groups) {
  const int64_t outC = w.shape[0], Cg = w.shape[1], KH = w.shape[3], KW = w.shape[4], Mg = outC / groups;
  T* wt = static_cast<T*>(std::malloc(sizeof(T) * size_t(outC * Cg * KH * KW)));
  if (!wt) return nullptr;
  const T* src = w.ptr<T>();
  for (int64_t gi = 0; gi < groups; ++gi)
    for (int64_t o = 0; o < Mg; ++o)
      for (int64_t c = 0; c < Cg; ++c)
        for (int64_t ky = 0; ky < KH; ++ky)
          for (int64_t kx = 0; kx < KW; ++kx)
            wt[(((gi * Cg + c) * Mg + o) * KH + KH - 1 - ky) * KW + KW - 1 - kx] =
                src[(((gi * Mg + o) * Cg + c) * KH + ky) * KW + kx];
  return wt;
}

// Weight-gradient block: vector partial sums part[o][t] += G_o . S_(tap t), for OB gradient planes
// (pitch P, zero past OW) and TB taps from t0 of one input channel's shifted copies xc.
template <class T, int OB, int TB>
inline void dw_block(typename Vec<T>::type* part, int64_t part_stride, const T* gp, int64_t flat, const T* xc,
                     const Plane<T>& pl, int64_t t0) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  const T* src[TB];
  for (int t = 0; t < TB; ++t) src[t] = xc + (t0 + t) % pl.KW + (t0 + t) / pl.KW * pl.P;
  V a[OB][TB];
  for (int o = 0; o < OB; ++o)
    for (int t = 0; t < TB; ++t) a[o][t] = part[o * part_stride + t];
  for (int64_t i = 0; i < flat; i += W) {
    V gv[OB], xv[TB];
    for (int o = 0; o < OB; ++o) __builtin_memcpy(&gv[o], gp + o * flat + i, sizeof(V));
    for (int t = 0; t < TB; ++t) __builtin_memcpy(&xv[t], src[t] + i, sizeof(V));
    for (int o = 0; o < OB; ++o)
      for (int t = 0; t < TB; ++t) a[o][t] += gv[o] * xv[t];
  }
  for (int o = 0; o < OB; ++o)
    for (int t = 0; t < TB; ++t) part[o * part_stride + t] = a[o][t];
}

template <class T, int OB>
void dw_taps(typename Vec<T>::type* part, int64_t part_stride, const T* gp, const T* xc, const Plane<T>& pl) {
  const int64_t taps = pl.KH * pl.KW;
  int64_t t0 = 0;
  for (; t0 + kTB <= taps; t0 += kTB) dw_block<T, OB, kTB>(part + t0, part_stride, gp, pl.flat, xc, pl, t0);
  for (; t0 < taps; ++t0) dw_block<T, OB, 1>(part + t0, part_stride, gp, pl.flat, xc, pl, t0);
}

template <class T>
void conv_direct_weight_grad_t(const TensorView& dw, const TensorView& x, const TensorView& gout, const SpatialGeom& g,
                               int64_t groups) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  const int64_t N = x.shape[0], C = x.shape[1];
  const int64_t outC = dw.shape[0], Cg = C / groups, Mg = outC / groups;
  const Plane<T> pl(g);
  const int64_t taps = pl.KH * pl.KW;
  const int64_t block = kOB;  // output channels per block (balanced 3 + 3 for 6 measured slower than 4 + 2)
  // Threads take ranges of images (each image's planes are prepared once and serve every output
  // channel) and keep vector partial sums part[o][c][tap] of their own; lanes and threads are
  // summed at the end.
  int64_t parts = num_threads() < N ? num_threads() : N;
  if (parts < 1) parts = 1;
  const int64_t per_part = outC * Cg * taps;
  V* partial = static_cast<V*>(std::aligned_alloc(64, (sizeof(V) * size_t(parts * per_part) + 63) / 64 * 64));
  if (!partial) return;
  for (int64_t i = 0; i < parts * per_part; ++i) partial[i] = V{};
  parallel_for(0, parts, 1, [&](int64_t plo, int64_t phi) {
    static thread_local Scratch scratch;
    T* xs = static_cast<T*>(scratch.get(sizeof(T) * size_t(C * pl.channel + kOB * pl.flat)));
    if (!xs) return;
    T* gp = xs + C * pl.channel;
    for (int64_t part = plo; part < phi; ++part) {
      V* sums = partial + part * per_part;
      for (int64_t n = N * part / parts; n < N * (part + 1) / parts; ++n) {
        for (int64_t c = 0; c < C; ++c) pl.fill(xs + c * pl.channel, x, n, c);
        for (int64_t gi = 0; gi < groups; ++gi)
          for (int64_t o0 = 0; o0 < Mg; o0 += block) {
            const int ob = int(Mg - o0 < block ? Mg - o0 : block);
            const int64_t o = gi * Mg + o0;
            for (int64_t i = 0; i < kOB * pl.flat; ++i) gp[i] = T(0);
            for (int k = 0; k < ob; ++k) {
              const T* gsrc = gout.ptr<T>() + n * gout.strides[0] + (o + k) * gout.strides[1];
              for (int64_t y = 0; y < pl.OH; ++y) {
                const T* grow = gsrc + y * gout.strides[3];
                T* drow = gp + k * pl.flat + y * pl.P;
                if (gout.strides[4] == 1) {
                  __builtin_memcpy(drow, grow, sizeof(T) * size_t(pl.OW));
                } else {
                  for (int64_t q = 0; q < pl.OW; ++q) drow[q] = grow[q * gout.strides[4]];
                }
              }
            }
            for (int64_t c = 0; c < Cg; ++c) {
              const T* xc = xs + (gi * Cg + c) * pl.channel;
              V* part_oc = sums + (o * Cg + c) * taps;
              const int64_t stride = Cg * taps;  // next output channel, same c and tap
              switch (ob) {
                case 4: dw_taps<T, 4>(part_oc, stride, gp, xc, pl); break;
                case 3: dw_taps<T, 3>(part_oc, stride, gp, xc, pl); break;
                case 2: dw_taps<T, 2>(part_oc, stride, gp, xc, pl); break;
                default: dw_taps<T, 1>(part_oc, stride, gp, xc, pl); break;
              }
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
        for (int64_t part = 0; part < parts; ++part) {
          const V& v = partial[part * per_part + (o * Cg + c) * taps + t];
          for (int l = 0; l < W; ++l) s += v[l];
        }
        dst[c * dw.strides[1] + (t / pl.KW) * dw.strides[3] + (t % pl.KW) * dw.strides[4]] = s;
      }
  }
  std::free(partial);
}

}  // namespace

void conv_direct(const TensorView& out, const TensorView& x, const TensorView& w, const TensorView* bias,
                 const SpatialGeom& g, int64_t groups, bool adjoint, Activation act) {
  if (!adjoint && conv_direct_oc(out, x, w, bias, g, groups, act)) return;  // lanes over output channels fit
  if (adjoint && groups == 1) {
    // The adjoint is itself a convolution, from outC channels to C, with the weight flipped and its
    // channel dims swapped: as a view of w, [C, outC, 1, KH, KW] with negative kernel strides. The
    // lanes-over-channels kernel takes it when C fills whole vectors.
    TensorView wv = w;
    wv.shape[0] = w.shape[1], wv.strides[0] = w.strides[1];
    wv.shape[1] = w.shape[0], wv.strides[1] = w.strides[0];
    wv.strides[3] = -w.strides[3], wv.strides[4] = -w.strides[4];
    wv.data = static_cast<char*>(w.data) +
              ((w.shape[3] - 1) * w.strides[3] + (w.shape[4] - 1) * w.strides[4]) * dtype_size(w.dtype);
    if (conv_direct_oc(out, x, wv, bias, g, 1, act)) return;
    // Else, with the lanes over the forward's output channels (the sum's index) when they fill vectors.
    if (conv_direct_oc_input_grad(out, x, w, g)) return;
  }
  TF_DISPATCH_FLOAT(x.dtype, T, {
    T* wt = adjoint ? adjoint_weight<T>(w, groups) : nullptr;
    if (!adjoint || wt) conv_direct_t<T>(out, x, adjoint ? wt : w.ptr<T>(), bias ? bias->ptr<T>() : nullptr, g, groups, act);
    std::free(wt);
  });
}

void conv_direct_weight_grad(const TensorView& dw, const TensorView& x, const TensorView& gout, const SpatialGeom& g,
                             int64_t groups) {
  if (conv_direct_oc_weight_grad(dw, x, gout, g, groups)) return;
  TF_DISPATCH_FLOAT(x.dtype, T, conv_direct_weight_grad_t<T>(dw, x, gout, g, groups));
}

TF_KERNEL_NAMESPACE_END
