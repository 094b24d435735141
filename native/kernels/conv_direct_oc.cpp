// Direct convolution with the vector lanes over output channels: for stride-1 layers with few
// input channels and at least a vector of output channels (LeNet's second layer: 6 -> 16, 5x5), where
// conv_direct.cpp's lanes over output positions waste the lanes past a short row (10 of 16 there).
//
//   x    [N, C, 1, H, W] (any strides)     w [outC, C, 1, KH, KW] (contiguous)     groups == 1
//   out  [N, outC, 1, OH, OW]              OH = PH - KH + 1, OW = PW - KW + 1 for the padded input xp
//   out[n, o, y, x]  = bias[o] + sum_{c, ky, kx} w[o, c, ky, kx] * xp[n, c, y + ky, x + kx]
//   dW[o, c, ky, kx] = sum_{n, y, x} gOut[n, o, y, x] * xp[n, c, y + ky, x + kx]
//
// Forward: for a block of W output channels and a run of up to kXB positions of one output row, the
// accumulators acc[j] (a vector over the channels) take w[:, c, ky, kx] (one vector load, the weights
// repacked as [c, ky, kx, outC]) times the broadcast input xp[c, y + ky, x0 + j + kx]: one load per
// kXB FMAs besides the broadcasts. The channel vectors are transposed into the output rows at the end.
// Weight gradient: gOut is transposed to [position, outC] per image; for one input channel and up to
// kTaps taps the accumulators acc[t] (over the channels) take gOut[pos] (one vector load) times the
// broadcast xp[c, y + ky, x + kx] over every position of the thread's images, then are summed over
// threads. Every lane does useful work: no padding columns, no shifted copies.
#include <cstdlib>

#include "conv.h"
#include "simd.h"

TF_KERNEL_NAMESPACE_BEGIN

namespace {

constexpr int kXB = 12;    // forward: output positions per register block
constexpr int kTaps = 25;  // weight gradient: taps per register block (a 5x5 kernel in one pass)

// One image's input, zero-padded: xp[c, r, q] at xp + (c * PH + r) * PW + q.
template <class T>
struct Padded {
  int64_t C, PH, PW, padT, padL;
  void fill(T* xp, const TensorView& x, int64_t n) const {
    const int64_t H = x.shape[3], Wd = x.shape[4];
    for (int64_t i = 0; i < C * PH * PW; ++i) xp[i] = T(0);
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h) {
        const int64_t r = h + padT;
        if (r < 0 || r >= PH) continue;
        const T* src = x.ptr<T>() + n * x.strides[0] + c * x.strides[1] + h * x.strides[3];
        T* dst = xp + (c * PH + r) * PW;
        for (int64_t w = 0; w < Wd; ++w) {
          const int64_t q = w + padL;
          if (q >= 0 && q < PW) dst[q] = src[w * x.strides[4]];
        }
      }
  }
};

template <class T>
Padded<T> padded_of(const TensorView& x, const SpatialGeom& g) {
  const int64_t KH = g.kernel[1], KW = g.kernel[2];
  return Padded<T>{x.shape[1], g.out[1] + KH - 1, g.out[2] + KW - 1, g.pad[1], g.pad[2]};
}

// A vector of copies of *p, loaded as such. On AVX-512 this is a broadcast load (a load-port
// operation): left to itself GCC keeps each input value in a register across taps and broadcasts it
// there, which takes the FP pipes the FMAs need (half the FMA rate on Zen 4).
template <class T>
inline typename Vec<T>::type broadcast_load(const T* p) {
  typedef typename Vec<T>::type V;
#if defined(TF_CPU_LEVEL_avx512) && defined(__x86_64__)
  V v;
  if constexpr (sizeof(T) == 4) asm("vbroadcastss %1, %0" : "=v"(v) : "m"(*p));
  else asm("vbroadcastsd %1, %0" : "=v"(v) : "m"(*p));
  return v;
#else
  return V{} + *p;
#endif
}

// acc[j] (channels o0.. of W lanes) for positions x0 + j, j < XB, of output row y. KHC x KWC is the
// kernel when known at compile time (0 x 0: KH x KW at run time). GCC (12) also stores the
// accumulators to the stack at the end of every iteration of the innermost loop it keeps: with
// run-time tap loops that was every tap (10 stores per 10 FMAs, half the FMA rate); with the kx
// loop unrolled it is every tap row (10 per 50). Unrolling ky as well did not measure faster.
template <class T, int XB, int KHC, int KWC>
inline void forward_run(T* tile, const T* xp, const T* wr, const Padded<T>& p, int64_t KH_, int64_t KW_, int64_t outC,
                        int64_t o0, const T* bias, int64_t y, int64_t x0) {
  typedef typename Vec<T>::type V;
  const int64_t KH = KHC ? KHC : KH_, KW = KWC ? KWC : KW_;
  V acc[XB];
  V b;
  for (int l = 0; l < int(sizeof(V) / sizeof(T)); ++l) b[l] = bias ? bias[o0 + l] : T(0);
  for (int j = 0; j < XB; ++j) acc[j] = b;
  for (int64_t c = 0; c < p.C; ++c) {
    const T* wk = wr + c * KH * KW * outC + o0;
    const T* row = xp + (c * p.PH + y) * p.PW + x0;
    for (int64_t ky = 0; ky < KH; ++ky, row += p.PW, wk += KW * outC)
      for (int64_t kx = 0; kx < KW; ++kx) {
        V wv;
        __builtin_memcpy(&wv, wk + kx * outC, sizeof(V));
        for (int j = 0; j < XB; ++j) acc[j] += wv * broadcast_load<T>(row + kx + j);
      }
  }
  // A typed store (tile is vector-aligned): taking acc's address would keep it in memory in the loop.
  for (int j = 0; j < XB; ++j) reinterpret_cast<V*>(tile)[j] = acc[j];
}

template <class T>
void forward_t(const TensorView& out, const TensorView& x, const TensorView& w, const T* bias, const SpatialGeom& g) {
  constexpr int W = kVecBytes / sizeof(T);
  const int64_t N = x.shape[0], outC = out.shape[1], KH = g.kernel[1], KW = g.kernel[2], OH = g.out[1], OW = g.out[2];
  const Padded<T> p = padded_of<T>(x, g);
  // Weights as [c, ky, kx, outC]: a tap's output channels are one vector load.
  const int64_t taps = p.C * KH * KW;
  T* wr = static_cast<T*>(std::aligned_alloc(64, (sizeof(T) * size_t(taps * outC) + 63) / 64 * 64));
  if (!wr) return;
  for (int64_t o = 0; o < outC; ++o)
    for (int64_t t = 0; t < taps; ++t) wr[t * outC + o] = w.ptr<T>()[o * taps + t];
  parallel_for(0, N, 1, [&](int64_t lo, int64_t hi) {
    static thread_local Scratch scratch;
    T* xp = static_cast<T*>(scratch.get(sizeof(T) * size_t(p.C * p.PH * p.PW + kXB * W + 2 * W)));
    if (!xp) return;
    T* tile = xp + (p.C * p.PH * p.PW + W - 1) / W * W;
    for (int64_t n = lo; n < hi; ++n) {
      p.fill(xp, x, n);
      for (int64_t o0 = 0; o0 < outC; o0 += W)
        for (int64_t y = 0; y < OH; ++y)
          for (int64_t x0 = 0; x0 < OW; x0 += kXB) {
            const int xb = int(OW - x0 < kXB ? OW - x0 : kXB);
            switch (xb) {
#define TF_RUN(k)                                                                                            \
  case k:                                                                                                    \
    if (KH == 5 && KW == 5) forward_run<T, k, 5, 5>(tile, xp, wr, p, KH, KW, outC, o0, bias, y, x0);        \
    else if (KH == 3 && KW == 3) forward_run<T, k, 3, 3>(tile, xp, wr, p, KH, KW, outC, o0, bias, y, x0);   \
    else forward_run<T, k, 0, 0>(tile, xp, wr, p, KH, KW, outC, o0, bias, y, x0);                           \
    break;
              TF_RUN(12) TF_RUN(11) TF_RUN(10) TF_RUN(9) TF_RUN(8) TF_RUN(7) TF_RUN(6) TF_RUN(5) TF_RUN(4) TF_RUN(3)
              TF_RUN(2) TF_RUN(1)
#undef TF_RUN
              default: break;
            }
            // tile [xb][W] -> out[n, o0 + l, y, x0 + j]
            for (int l = 0; l < W; ++l) {
              T* dst = out.ptr<T>() + n * out.strides[0] + (o0 + l) * out.strides[1] + y * out.strides[3] + x0 * out.strides[4];
              for (int j = 0; j < xb; ++j) dst[j * out.strides[4]] = tile[j * W + l];
            }
          }
    }
  });
  std::free(wr);
}

// acc[t] += gOut[pos] * xp[c, y + ky_t, x + kx_t] over the positions of one image, taps [t0, t0 + NT).
template <class T, int NT>
inline void dw_run(typename Vec<T>::type* sums, const T* gt, const T* xpc, const Padded<T>& p, int64_t KW, int64_t OH,
                   int64_t OW, int64_t t0) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  V acc[NT];
  int64_t off[NT];
  for (int t = 0; t < NT; ++t) {
    acc[t] = sums[t];
    off[t] = (t0 + t) / KW * p.PW + (t0 + t) % KW;
  }
  for (int64_t y = 0; y < OH; ++y)
    for (int64_t x = 0; x < OW; ++x) {
      V gv;
      __builtin_memcpy(&gv, gt + (y * OW + x) * W, sizeof(V));
      const T* base = xpc + y * p.PW + x;
      for (int t = 0; t < NT; ++t) acc[t] += gv * base[off[t]];
    }
  for (int t = 0; t < NT; ++t) sums[t] = acc[t];
}

// The same for a whole KH x KW kernel known at compile time: the taps' offsets are immediates and
// one row pointer per ky, so the loop body is loads, broadcasts and FMAs only.
template <class T, int KH, int KW>
inline void dw_run_fixed(typename Vec<T>::type* sums, const T* gt, const T* xpc, const Padded<T>& p, int64_t OH,
                         int64_t OW) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  V acc[KH * KW];
  for (int t = 0; t < KH * KW; ++t) acc[t] = sums[t];
  for (int64_t y = 0; y < OH; ++y)
    for (int64_t x = 0; x < OW; ++x) {
      V gv;
      __builtin_memcpy(&gv, gt + (y * OW + x) * W, sizeof(V));
      const T* row = xpc + y * p.PW + x;
      for (int ky = 0; ky < KH; ++ky, row += p.PW)
        for (int kx = 0; kx < KW; ++kx) acc[ky * KW + kx] += gv * row[kx];
    }
  for (int t = 0; t < KH * KW; ++t) sums[t] = acc[t];
}

template <class T>
void weight_grad_t(const TensorView& dw, const TensorView& x, const TensorView& gout, const SpatialGeom& g) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  const int64_t N = x.shape[0], outC = dw.shape[0], KH = g.kernel[1], KW = g.kernel[2], OH = g.out[1], OW = g.out[2];
  const Padded<T> p = padded_of<T>(x, g);
  const int64_t taps = KH * KW, blocks = outC / W;
  // Per thread: vector sums[oblock][c][tap] over its images.
  int64_t parts = num_threads() < N ? num_threads() : N;
  if (parts < 1) parts = 1;
  const int64_t per_part = blocks * p.C * taps;
  V* partial = static_cast<V*>(std::aligned_alloc(64, (sizeof(V) * size_t(parts * per_part) + 63) / 64 * 64));
  if (!partial) return;
  for (int64_t i = 0; i < parts * per_part; ++i) partial[i] = V{};
  parallel_for(0, parts, 1, [&](int64_t plo, int64_t phi) {
    static thread_local Scratch scratch;
    const int64_t xp_len = (p.C * p.PH * p.PW + W - 1) / W * W;
    T* xp = static_cast<T*>(scratch.get(sizeof(T) * size_t(xp_len + OH * OW * W)));
    if (!xp) return;
    T* gt = xp + xp_len;
    for (int64_t part = plo; part < phi; ++part) {
      V* sums = partial + part * per_part;
      for (int64_t n = N * part / parts; n < N * (part + 1) / parts; ++n) {
        p.fill(xp, x, n);
        for (int64_t b = 0; b < blocks; ++b) {
          // gt[pos][l] = gOut[n, b*W + l, pos]
          for (int l = 0; l < W; ++l) {
            const T* src = gout.ptr<T>() + n * gout.strides[0] + (b * W + l) * gout.strides[1];
            for (int64_t y = 0; y < OH; ++y)
              for (int64_t q = 0; q < OW; ++q) gt[(y * OW + q) * W + l] = src[y * gout.strides[3] + q * gout.strides[4]];
          }
          for (int64_t c = 0; c < p.C; ++c) {
            V* s = sums + (b * p.C + c) * taps;
            const T* xpc = xp + c * p.PH * p.PW;
            if (KH == 5 && KW == 5) {
              dw_run_fixed<T, 5, 5>(s, gt, xpc, p, OH, OW);
              continue;
            }
            if (KH == 3 && KW == 3) {
              dw_run_fixed<T, 3, 3>(s, gt, xpc, p, OH, OW);
              continue;
            }
            int64_t t0 = 0;
            for (; t0 + kTaps <= taps; t0 += kTaps) dw_run<T, kTaps>(s + t0, gt, xpc, p, KW, OH, OW, t0);
            for (; t0 + 8 <= taps; t0 += 8) dw_run<T, 8>(s + t0, gt, xpc, p, KW, OH, OW, t0);
            for (; t0 < taps; ++t0) dw_run<T, 1>(s + t0, gt, xpc, p, KW, OH, OW, t0);
          }
        }
      }
    }
  });
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t c = 0; c < p.C; ++c)
      for (int64_t t = 0; t < taps; ++t) {
        V s = V{};
        for (int64_t part = 0; part < parts; ++part) s += partial[part * per_part + (b * p.C + c) * taps + t];
        for (int l = 0; l < W; ++l)
          dw.ptr<T>()[(b * W + l) * dw.strides[0] + c * dw.strides[1] + (t / KW) * dw.strides[3] + (t % KW) * dw.strides[4]] = s[l];
      }
  std::free(partial);
}

// Layers these kernels take: one group, whole vectors of output channels, stride 1, no dilation.
template <class T>
bool fits(int64_t outC, int64_t groups, const SpatialGeom& g) {
  constexpr int W = kVecBytes / sizeof(T);
  return groups == 1 && outC % W == 0 && g.stride[1] == 1 && g.stride[2] == 1 && g.dilation[1] == 1 && g.dilation[2] == 1;
}

}  // namespace

bool conv_direct_oc(const TensorView& out, const TensorView& x, const TensorView& w, const TensorView* bias,
                    const SpatialGeom& g, int64_t groups) {
  bool done = false;
  TF_DISPATCH_FLOAT(x.dtype, T, {
    if (fits<T>(out.shape[1], groups, g)) {
      forward_t<T>(out, x, w, bias ? bias->ptr<T>() : nullptr, g);
      done = true;
    }
  });
  return done;
}

bool conv_direct_oc_weight_grad(const TensorView& dw, const TensorView& x, const TensorView& gout, const SpatialGeom& g,
                                int64_t groups) {
  bool done = false;
  TF_DISPATCH_FLOAT(x.dtype, T, {
    if (fits<T>(dw.shape[0], groups, g)) {
      weight_grad_t<T>(dw, x, gout, g);
      done = true;
    }
  });
  return done;
}

TF_KERNEL_NAMESPACE_END
