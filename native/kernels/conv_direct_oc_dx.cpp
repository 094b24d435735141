// Input gradient of a stride-1 convolution whose output channels fill whole vectors but whose input
// channels do not (LeNet's second layer, 6 -> 16, 5x5: the gradient goes 16 -> 6), with the vector
// lanes over the output channels: the index the gradient sums over, so every lane is useful.
//
//   gOut [N, M, 1, OH, OW] (any strides)     w  [M, C, 1, KH, KW] (the forward's weight, any strides)
//   dx   [N, C, 1, H, W] (contiguous)        the geometry is the adjoint convolution's (gOut -> dx):
//                                            pad = kernel - 1 - the forward's padding, in = gOut's size
//   dx[n, c, y, x] = sum_{o, ky, kx} w[o, c, KH-1-ky, KW-1-kx] * gp[n, o, y + ky, x + kx]
// where gp is gOut zero-padded by pad[1] rows on top and pad[2] columns on the left.
//
// gOut is transposed per image to gT[r][q][M] (channels last; columns padded with zeros, rows not),
// and w repacked to wr[c][ky][kx][M] (flipped). For one output row, a pair of positions and up to 6
// input channels, acc[c][j] (a vector over output channels) += wr[c][ky][kx] * gT[r][x + j + kx]:
// 8 vector loads per 12 FMAs and no broadcasts. Taps whose rows lie in the padding are skipped
// (padding rows are never stored), and so are taps whose columns do for both positions; the
// adjoint convolution with lanes over positions (conv_direct.cpp) computes them all, 2.4 times the
// FMAs here on LeNet. Each acc[c][j] is then summed over its lanes by a shuffle tree: the pair
// folded into one vector at once, W / 2 pairs into the W sums of a row's positions at its end.
#include <cstdlib>
#include <utility>

#include "conv.h"
#include "simd.h"

TF_KERNEL_NAMESPACE_BEGIN

namespace {

// Fold two vectors of W lanes, each holding groups of 2H lanes that belong to one sum, into one whose
// groups of 2H lanes hold a's group halves added (H lanes) then b's: lane l of the shuffles' pair.
template <int W, int H>
constexpr int fold_index(int l, int high) {
  return (l % (2 * H) < H ? l / (2 * H) * 2 * H + l % (2 * H) : W + l / (2 * H) * 2 * H + l % (2 * H) - H) + high * H;
}

template <class V, int W, int H, size_t... L>
inline V fold(V a, V b, std::index_sequence<L...>) {
  return __builtin_shufflevector(a, b, fold_index<W, H>(int(L), 0)...) +
         __builtin_shufflevector(a, b, fold_index<W, H>(int(L), 1)...);
}

template <class V, int W, int H>
inline V fold(V a, V b) {
  return fold<V, W, H>(a, b, std::make_index_sequence<W>{});
}

constexpr int bit_reverse(int i, int W) {
  int r = 0;
  for (int b = 1; b < W; b *= 2, i /= 2) r = 2 * r + i % 2;
  return r;
}

template <class V, int W, size_t... L>
inline V bit_reversed(V v, std::index_sequence<L...>) {
  return __builtin_shufflevector(v, v, bit_reverse(int(L), W)...);
}

// u[0..n) (n = W / 2H vectors whose groups of 2H lanes each hold one sum's partials) folded level by
// level into u[0]: the W sums, in bit-reversed order.
template <class V, int W, int H>
inline void fold_levels(V* u, int n) {
  if constexpr (H >= 1) {
    for (int i = 0; i < n / 2; ++i) u[i] = fold<V, W, H>(u[2 * i], u[2 * i + 1]);
    fold_levels<V, W, H / 2>(u, n / 2);
  }
}

struct DxGeom {
  int64_t M, C, KH, KW, OHg, OWg;  // output-gradient channels and size; input channels; kernel
  int64_t H, Wd, padT, padL, PW;   // dx size, the adjoint's padding, padded row length (Wd + KW - 1)
  int64_t grow;                    // gT's row: PW + 1 columns (the zero partner of an odd last position)
};

constexpr int kCB = 6;  // input channels per block: 6 x 2 accumulators, two inputs and a weight

// Channels [c0, c0 + CB) of output row y of one image, positions in pairs: for pair x0, x0 + 1,
// acc[c][j] += wr[c][ky][kx] * gT[r][x0 + j + kx] over the taps that reach gOut, then the pair's
// sums folded to one vector, pair[c][x0 / 2] (halves: x0, x0 + 1). g0 is gT's row for tap ky0.
template <class T, int CB>
void dx_row(typename Vec<T>::type* pair, int64_t pair_c, const T* g0, const T* w0, const DxGeom& d, int64_t nky) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  const int64_t M = d.M, row = d.grow, wc = d.KH * d.KW * M, wrow = d.KW * M;
  for (int64_t x0 = 0; x0 < d.Wd; x0 += 2) {
    // Taps kx whose columns x0 + j + kx (j < 2) reach the data columns [padL, padL + OWg). An odd
    // last position pairs with a zero column past the row (gT's rows are long enough).
    int64_t kx0 = d.padL - x0 - 1, kx1 = d.padL + d.OWg - x0;
    kx0 = kx0 < 0 ? 0 : kx0;
    kx1 = kx1 > d.KW ? d.KW : kx1;
    V acc[CB][2];
    for (int c = 0; c < CB; ++c) acc[c][0] = acc[c][1] = V{};
    const T* gk = g0 + (x0 + kx0) * M;
    const T* wk = w0 + kx0 * M;
    for (int64_t ky = 0; ky < nky; ++ky, gk += row, wk += wrow)
      for (int64_t k = 0; k < (kx1 - kx0) * M; k += W) {
        V g[2];
        __builtin_memcpy(&g[0], gk + k, sizeof(V));
        __builtin_memcpy(&g[1], gk + k + M, sizeof(V));
        for (int c = 0; c < CB; ++c) {
          V wv;
          __builtin_memcpy(&wv, wk + c * wc + k, sizeof(V));
          in_register(wv);  // one load for both FMAs, not a memory operand in each
          acc[c][0] += wv * g[0];
          acc[c][1] += wv * g[1];
        }
      }
    for (int c = 0; c < CB; ++c) pair[c * pair_c + x0 / 2] = fold<V, W, W / 2>(acc[c][0], acc[c][1]);
  }
}

template <class T>
void input_grad_t(const TensorView& dx, const TensorView& gout, const TensorView& w, const SpatialGeom& g) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  DxGeom d;
  d.M = gout.shape[1], d.C = dx.shape[1], d.KH = g.kernel[1], d.KW = g.kernel[2];
  d.OHg = gout.shape[3], d.OWg = gout.shape[4], d.H = dx.shape[3], d.Wd = dx.shape[4];
  d.padT = g.pad[1], d.padL = g.pad[2], d.PW = d.Wd + d.KW - 1;
  const int64_t N = dx.shape[0], taps = d.KH * d.KW;
  if (gout.numel() == 0) {  // no gradient reaches dx (dx is contiguous)
    for (int64_t k = 0; k < dx.numel(); ++k) dx.ptr<T>()[k] = T(0);
    return;
  }
  // wr[c][ky][kx][o] = w[o, c, KH-1-ky, KW-1-kx]
  T* wr = static_cast<T*>(std::aligned_alloc(64, (sizeof(T) * size_t(d.C * taps * d.M) + 63) / 64 * 64));
  if (!wr) return;
  for (int64_t c = 0; c < d.C; ++c)
    for (int64_t t = 0; t < taps; ++t) {
      const T* src = w.ptr<T>() + c * w.strides[1] + (d.KH - 1 - t / d.KW) * w.strides[3] + (d.KW - 1 - t % d.KW) * w.strides[4];
      for (int64_t o = 0; o < d.M; ++o) wr[(c * taps + t) * d.M + o] = src[o * w.strides[0]];
    }
  // Images are transposed in chunks (an 8 MiB workspace or one image), each by one thread, then
  // shared by tasks of one output row each.
  const int64_t gt_row = d.grow = (d.PW + 1) * d.M, gt_len = d.OHg * gt_row;
  const int64_t chunk = images_per_chunk(sizeof(T) * size_t(gt_len), N);
  T* gT = static_cast<T*>(std::aligned_alloc(64, (sizeof(T) * size_t(gt_len * chunk) + 63) / 64 * 64));
  if (!gT) {
    std::free(wr);
    return;
  }
  const int64_t pair_c = (d.Wd + W - 1) / W * (W / 2);  // pairs per channel, whole vectors of sums
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
    const int64_t nb = N - n0 < chunk ? N - n0 : chunk;
    parallel_for(0, nb, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        T* dst = gT + i * gt_len;
        const T* src = gout.ptr<T>() + (n0 + i) * gout.strides[0];
        for (int64_t r = 0; r < d.OHg; ++r) {
          T* drow = dst + r * gt_row;
          for (int64_t q = 0; q < d.padL * d.M; ++q) drow[q] = T(0);
          for (int64_t q = (d.padL + d.OWg) * d.M; q < gt_row; ++q) drow[q] = T(0);
        }
        if (gout.strides[4] == 1 && gout.strides[3] == d.OWg) {
          // A flat plane: W channels of W positions at a time through a register transpose.
          for (int64_t o0 = 0; o0 < d.M; o0 += W)
            channels_last<T>(src + o0 * gout.strides[1], gout.strides[1], d.OHg * d.OWg, [&](int64_t p) {
              const int64_t r = p / d.OWg;
              return dst + r * gt_row + (d.padL + p - r * d.OWg) * d.M + o0;
            });
          continue;
        }
        for (int64_t r = 0; r < d.OHg; ++r) {
          T* drow = dst + r * gt_row;
          for (int64_t o = 0; o < d.M; ++o) {
            const T* s = src + o * gout.strides[1] + r * gout.strides[3];
            for (int64_t q = 0; q < d.OWg; ++q) drow[(d.padL + q) * d.M + o] = s[q * gout.strides[4]];
          }
        }
      }
    });
    parallel_for(0, nb * d.H, 1, [&](int64_t lo, int64_t hi) {
      static thread_local Scratch scratch;
      V* pair = static_cast<V*>(scratch.get(sizeof(V) * size_t(kCB * pair_c)));
      if (!pair) return;
      for (int64_t task = lo; task < hi; ++task) {
        const int64_t i = task / d.H, y = task % d.H;
        // Taps ky whose gOut row y + ky - padT exists.
        int64_t ky0 = d.padT - y, ky1 = d.padT + d.OHg - y;
        ky0 = ky0 < 0 ? 0 : ky0;
        ky1 = ky1 > d.KH ? d.KH : ky1;
        const T* g0 = gT + i * gt_len + (y + ky0 - d.padT) * gt_row;
        T* out = dx.ptr<T>() + (n0 + i) * dx.strides[0] + y * dx.strides[3];
        for (int64_t c0 = 0; c0 < d.C; c0 += kCB) {
          const int cb = int(d.C - c0 < kCB ? d.C - c0 : kCB);
          for (int64_t k = 0; k < cb * pair_c; ++k) pair[k] = V{};
          if (ky1 > ky0) {
            const T* w0 = wr + (c0 * taps + ky0 * d.KW) * d.M;
            switch (cb) {
              case 6: dx_row<T, 6>(pair, pair_c, g0, w0, d, ky1 - ky0); break;
              case 5: dx_row<T, 5>(pair, pair_c, g0, w0, d, ky1 - ky0); break;
              case 4: dx_row<T, 4>(pair, pair_c, g0, w0, d, ky1 - ky0); break;
              case 3: dx_row<T, 3>(pair, pair_c, g0, w0, d, ky1 - ky0); break;
              case 2: dx_row<T, 2>(pair, pair_c, g0, w0, d, ky1 - ky0); break;
              default: dx_row<T, 1>(pair, pair_c, g0, w0, d, ky1 - ky0); break;
            }
          }
          // W / 2 pairs -> W sums (bit-reversed by the folds) -> positions x0 .. x0 + W.
          for (int c = 0; c < cb; ++c)
            for (int64_t x0 = 0; x0 < d.Wd; x0 += W) {
              V u[W / 2];
              for (int k = 0; k < W / 2; ++k) u[k] = pair[c * pair_c + x0 / 2 + k];
              fold_levels<V, W, W / 4>(u, W / 2);
              const V s = bit_reversed<V, W>(u[0], std::make_index_sequence<W>{});
              T* o = out + (c0 + c) * dx.strides[1] + x0 * dx.strides[4];
              const int64_t n = d.Wd - x0 < W ? d.Wd - x0 : W;
              store_first<T>(o, s, int(n));  // dx is contiguous
            }
        }
      }
    });
  }
  std::free(gT);
  std::free(wr);
}

}  // namespace

bool conv_direct_oc_input_grad(const TensorView& dx, const TensorView& gout, const TensorView& w,
                               const SpatialGeom& g) {
  bool done = false;
  TF_DISPATCH_FLOAT(dx.dtype, T, {
    constexpr int W = kVecBytes / sizeof(T);
    if (gout.shape[1] % W == 0 && g.stride[1] == 1 && g.stride[2] == 1 && g.dilation[1] == 1 && g.dilation[2] == 1) {
      input_grad_t<T>(dx, gout, w, g);
      done = true;
    }
  });
  return done;
}

TF_KERNEL_NAMESPACE_END
