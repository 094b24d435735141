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
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "activation.h"
#include "conv.h"
#include "simd.h"
#include "window.h"

TF_KERNEL_NAMESPACE_BEGIN

namespace {

constexpr int kXB = 12;    // forward: output positions per register block
constexpr int kTaps = 25;  // weight gradient: taps per register block (a 5x5 kernel in one pass)

// One image's input, zero-padded: xp[c, r, q] at xp + (c * PH + r) * PW + q.
template <class T>
struct Padded {
  int64_t C, PH, PW, padT, padL;
  void fill(T* xp, const TensorView& x, int64_t n) const {
    for (int64_t c = 0; c < C; ++c)
      place_plane(xp + c * PH * PW, PH, PW, x.ptr<T>() + n * x.strides[0] + c * x.strides[1], x.shape[3], x.shape[4],
                  x.strides[3], x.strides[4], padT, padL, 0);
  }
};

template <class T>
Padded<T> padded_of(const TensorView& x, const SpatialGeom& g) {
  const int64_t KH = g.kernel[1], KW = g.kernel[2];
  return Padded<T>{x.shape[1], g.out[1] + KH - 1, g.out[2] + KW - 1, g.pad[1], g.pad[2]};
}

// A vector of copies of *p. x - 0 is x for every x, so GCC folds the subtraction and, on AVX-512,
// broadcasts straight from memory (a load-port operation); V{} + x would keep an add (0 + -0 is +0).
template <class T>
inline typename Vec<T>::type broadcast_load(const T* p) {
  return *p - typename Vec<T>::type{};
}

// acc[j] (channels o0.. of W lanes) for positions x0 + j, j < XB, of output row y. KHC x KWC is the
// kernel when known at compile time (0 x 0: KH x KW at run time); with kx unrolled, the taps of a
// row share their input values (forward_run<float, 10, 5, 5>: 14 broadcasts and 5 weight loads per
// 50 FMAs, no stack traffic in the loop per objdump). An inline-asm broadcast used here before kept
// GCC from moving the accumulators' stores out of the loop (10 stores per tap row).
template <class T, int XB, int KHC, int KWC>
inline void forward_run(T* tile, const T* xp, const T* wb, const Padded<T>& p, int64_t KH_, int64_t KW_, int64_t ldw,
                        const T* bias, int64_t y, int64_t x0) {
  typedef typename Vec<T>::type V;
  const int64_t KH = KHC ? KHC : KH_, KW = KWC ? KWC : KW_;
  V acc[XB];
  V b;
  for (int l = 0; l < int(sizeof(V) / sizeof(T)); ++l) b[l] = bias ? bias[l] : T(0);
  for (int j = 0; j < XB; ++j) acc[j] = b;
  for (int64_t c = 0; c < p.C; ++c) {
    const T* wk = wb + c * KH * KW * ldw;
    const T* row = xp + (c * p.PH + y) * p.PW + x0;
    for (int64_t ky = 0; ky < KH; ++ky, row += p.PW, wk += KW * ldw)
      for (int64_t kx = 0; kx < KW; ++kx) {
        V wv;
        __builtin_memcpy(&wv, wk + kx * ldw, sizeof(V));
        for (int j = 0; j < XB; ++j) acc[j] += wv * broadcast_load<T>(row + kx + j);
      }
  }
  // A typed store (tile is vector-aligned): taking acc's address would keep it in memory in the loop.
  for (int j = 0; j < XB; ++j) reinterpret_cast<V*>(tile)[j] = acc[j];
}

// Two vectors of output channels per block, for 3x3 layers with many input channels (ResNet's): XB
// positions x 2W channels in 2 * XB accumulators, so each tap costs two weight loads and XB
// broadcasts for 2 * XB FMAs, the GEMM micro-kernel's balance. The taps stay a loop (with the nine
// unrolled, GCC 12 ran out of registers for the addresses and spilled accumulators on every tap).
// Block row r's positions start at input row pointer row[r] (rows of one image or of two: the
// padded images share a layout, so one offset steps both).
template <class T, int XB, int R>
inline void forward_run2_3x3(T* tile, const T* row0, const T* row1, const T* wb, const Padded<T>& p,
                             const T* bias) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  V acc[R * XB][2];
  V b0 = V{}, b1 = V{};
  if (bias) {
    __builtin_memcpy(&b0, bias, sizeof(V));
    __builtin_memcpy(&b1, bias + W, sizeof(V));
  }
  for (int j = 0; j < R * XB; ++j) acc[j][0] = b0, acc[j][1] = b1;
  // One flat loop over (channel, tap), the input offset stepped tap by tap.
  const int64_t taps = p.C * 9, row_step = p.PW - 3, plane_step = p.PH * p.PW - 3 * p.PW;
  const T* wk = wb;
  int64_t xo = 0;  // the tap's offset from the block's rows
  int kx = 0, ky = 0;
  for (int64_t k = 0; k < taps; ++k, wk += 2 * W) {
    V w0, w1;
    __builtin_memcpy(&w0, wk, sizeof(V));
    __builtin_memcpy(&w1, wk + W, sizeof(V));
#pragma GCC unroll 16
    for (int j = 0; j < R * XB; ++j) {
      const V xv = broadcast_load<T>((j < XB ? row0 : row1) + xo + j % XB);
      acc[j][0] += w0 * xv;
      acc[j][1] += w1 * xv;
    }
    __builtin_prefetch(row0 + xo + 2 * plane_step + 6 * p.PW);  // this tap's row, two channels on
    ++xo;
    if (++kx == 3) {
      kx = 0;
      xo += row_step;
      if (++ky == 3) ky = 0, xo += plane_step;
    }
  }
  for (int j = 0; j < R * XB; ++j) {
    reinterpret_cast<V*>(tile)[2 * j] = acc[j][0];
    reinterpret_cast<V*>(tile)[2 * j + 1] = acc[j][1];
  }
}

constexpr int kXB2 = 14;  // positions per register block with two channel vectors (R rows of XB)

// This core's L2 cache in bytes (1 MiB where the system does not say).
size_t l2_bytes() {
  static const size_t bytes = [] {
#if defined(_SC_LEVEL2_CACHE_SIZE)
    const long v = sysconf(_SC_LEVEL2_CACHE_SIZE);
    if (v > 0) return size_t(v);
#endif
    return size_t(1) << 20;
  }();
  return bytes;
}

template <class T>
void forward_t(const TensorView& out, const TensorView& x, const TensorView& w, const T* bias, const SpatialGeom& g,
               Activation act) {
  constexpr int W = kVecBytes / sizeof(T);
  const int64_t N = x.shape[0], outC = out.shape[1], KH = g.kernel[1], KW = g.kernel[2], OH = g.out[1], OW = g.out[2];
  const Padded<T> p = padded_of<T>(x, g);
  const int64_t taps = p.C * KH * KW;
  // Tasks' order (below): image-major when all the weights fit in L2 beside an image (512 KB of
  // weights, or weights and a padded image in 3/4 of this core's L2: ResNet's 128-channel layer,
  // 590 + 460 KB, in Sapphire Rapids' 2 MB, where image-major ran forward + backward 1.03-1.11x
  // faster on 2 threads, and even on 1); otherwise block-major, so a thread's consecutive tasks
  // share one block's weights (up to 590 KB at 512 channels) across images. Block-major tasks of
  // the forward's own weight pack their block themselves into a per-thread buffer, which then
  // stays in L2, where repacking all of w at once wrote it to memory and read it back (9.4 MB each
  // way at 512 channels): A/B, forward, 512 channels 1.11-1.16x on 1 and 2 threads, 256 channels
  // 1.00-1.08x. A block of the input gradient's flipped view is 1152-byte pieces 18 KB apart (one
  // per forward output channel): read in order with the piece two ahead prefetched, forward +
  // backward 1.02-1.03x against the whole-weight tap-major repack (which small layers keep;
  // without the prefetch, slower).
  const size_t w_bytes = sizeof(T) * size_t(taps * outC), image_bytes = sizeof(T) * size_t(p.C * p.PH * p.PW);
  const bool image_major = w_bytes <= (size_t(512) << 10) || w_bytes + image_bytes <= l2_bytes() / 4 * 3;
  const int nv = KH == 3 && KW == 3 && outC % (2 * W) == 0 ? 2 : 1;  // channel vectors per block
  const int cw = nv * W, xbmax = nv == 2 ? kXB2 : kXB;
  const int64_t oblocks = outC / cw;
  // Weights as [block][c, ky, kx][cw]: a tap's channels are nv vector loads, and a block's weights
  // one contiguous stream (interleaved with the other blocks' at a stride of outC, 512 channels put
  // every tap on its own 2 KiB row: L2 set conflicts and a TLB miss per tap).
  // w is read through its strides: the input gradient passes the forward's weight flipped and with
  // its channel dims swapped as a view (negative strides), not a copy.
  // Transposed in tiles of cw channels x kTapTile taps, so reads and writes both stay in a few
  // lines (w is [outC, taps] with rows taps * 4 bytes apart: 18 KB at 512 channels).
  constexpr int64_t kTapTile = 64;
  int64_t* toff = static_cast<int64_t*>(std::malloc(sizeof(int64_t) * size_t(taps)));
  if (!toff) return;
  for (int64_t t = 0; t < taps; ++t)
    toff[t] = t / (KH * KW) * w.strides[1] + t % (KH * KW) / KW * w.strides[3] + t % KW * w.strides[4];
  const int64_t ttiles = (taps + kTapTile - 1) / kTapTile;
  bool taps_flat = true;  // a channel's taps contiguous in w (the forward's weight; not the flipped view)
  for (int64_t t = 0; t < taps; ++t) taps_flat &= toff[t] == t;
  // Image-major tasks share one repack of all of w.
  T* wr = image_major ? static_cast<T*>(std::aligned_alloc(64, (sizeof(T) * size_t(taps * outC) + 63) / 64 * 64)) : nullptr;
  if (image_major && !wr) {
    std::free(toff);
    return;
  }
  // Block b's weights [taps][cw] at dst (the block-major tasks' own packing): with a channel's taps
  // contiguous, W channels of W taps at a time through a register transpose; else channel by
  // channel of this convolution's input, the channel two ahead prefetched.
  const int64_t KK = KH * KW, s0 = w.strides[0], s1 = w.strides[1];
  int64_t kmin = taps > 0 ? toff[0] : 0, kmax = kmin;  // no taps: no input channels, nothing to pack
  for (int64_t k = 1; k < KK && k < taps; ++k) kmin = toff[k] < kmin ? toff[k] : kmin, kmax = toff[k] > kmax ? toff[k] : kmax;
  const int64_t lane_lo = s0 < 0 ? (cw - 1) * s0 : 0, lane_hi = s0 > 0 ? (cw - 1) * s0 : 0;
  auto pack_block = [&](T* dst, int64_t b) {
    if (taps_flat) {
      for (int v = 0; v < nv; ++v)
        channels_last<T>(w.ptr<T>() + (b * cw + v * W) * s0, s0, taps, [&](int64_t t) { return dst + t * cw + v * W; });
      return;
    }
    const T* wb = w.ptr<T>() + b * cw * s0;
    for (int64_t c = 0; c < p.C; ++c) {
      if (c + 2 < p.C) {
        const char* from = reinterpret_cast<const char*>(wb + (c + 2) * s1 + kmin + lane_lo);
        const char* to = reinterpret_cast<const char*>(wb + (c + 2) * s1 + kmax + lane_hi);
        for (; from <= to; from += 64) __builtin_prefetch(from, 0, 3);
      }
      for (int64_t t = c * KK; t < (c + 1) * KK; ++t) {
        const T* src = wb + toff[t];
        for (int l = 0; l < cw; ++l) dst[t * cw + l] = src[l * s0];
      }
    }
  };
  if (image_major && !taps_flat) {
    // Taps in any order (the input gradient's flipped view: a forward output channel's KH*KW taps
    // contiguous and reversed, its input channels -- these lanes -- KH*KW apart): tap-major, every
    // block's lanes of one tap in turn, so the reads walk each forward output channel's weights
    // (18 KB at 512 channels) in memory order, where the prefetchers follow, and stay in L1 for its
    // other taps. Block by block it jumped between channels 18 KB apart within each block and
    // took 7-9% of a 512-channel layer's forward + backward; tap-major measured 1.03-1.07x faster
    // there, 1.05x at 256 channels.
    parallel_for(0, ttiles, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t t = lo * kTapTile; t < hi * kTapTile && t < taps; ++t) {
        const T* src = w.ptr<T>() + toff[t];
        for (int64_t b = 0; b < oblocks; ++b) {
          T* dst = wr + (b * taps + t) * cw;
          for (int l = 0; l < cw; ++l) dst[l] = src[(b * cw + l) * w.strides[0]];
        }
      }
    });
  } else if (image_major) {
    // A channel's taps contiguous (the forward's own weight): W channels of W taps at a time
    // through a register transpose.
    parallel_for(0, oblocks * ttiles, 4, [&](int64_t lo, int64_t hi) {
      for (int64_t task = lo; task < hi; ++task) {
        const int64_t b = task / ttiles, t0 = task % ttiles * kTapTile;
        const int64_t t1 = t0 + kTapTile < taps ? t0 + kTapTile : taps;
        T* dst = wr + b * taps * cw;
        for (int v = 0; v < nv; ++v)
          channels_last<T>(w.ptr<T>() + (b * cw + v * W) * w.strides[0] + t0, w.strides[0], t1 - t0,
                           [&](int64_t t) { return dst + (t0 + t) * cw + v * W; });
      }
    });
  }
  // The images are padded in chunks (a bounded workspace, 8 MiB or one image), each by one thread,
  // then shared. Tasks are (image, channel block) pairs of the chunk, so a small batch still fills
  // the threads, in the order chosen above.
  const int64_t xp_len = (p.C * p.PH * p.PW + W - 1) / W * W;
  const int64_t chunk = images_per_chunk(sizeof(T) * size_t(xp_len), N);
  T* xpad = static_cast<T*>(std::aligned_alloc(64, sizeof(T) * size_t(xp_len * chunk)));
  if (!xpad) {
    std::free(wr);
    std::free(toff);
    return;
  }
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
  const int64_t nb = N - n0 < chunk ? N - n0 : chunk;
  parallel_for(0, nb, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) p.fill(xpad + i * xp_len, x, n0 + i);
  });
  // Maps with short rows (7x7) take two output rows per register block, which halves the weight
  // loads per FMA; a task then covers two images, so the odd last row of one pairs with the first
  // of the other and no block runs half empty.
  const int rows = nv == 2 && OW <= kXB2 / 2 ? 2 : 1;
  const int64_t units = (nb + rows - 1) / rows;  // images per task: rows
  // Block-major chunks are whole blocks (a chunk packs its block once).
  parallel_for_balanced(0, units * oblocks, image_major ? 1 : units, [&](int64_t lo, int64_t hi) {
    typename Vec<T>::type tile_v[kXB2 * 2];  // the register block's tile, vector-aligned
    T* tile = reinterpret_cast<T*>(tile_v);
    static thread_local Scratch block_scratch;
    T* wblock = wr ? nullptr : static_cast<T*>(block_scratch.get(sizeof(T) * size_t(taps * cw)));
    if (!wr && !wblock) return;
    int64_t packed = -1;  // the block in wblock
    // tile [slot][xb][cw] -> out[n, o0 + l, y, x0 + j] (out is contiguous: unit column stride): each
    // W x W block transposed in registers, then a masked store of xb positions per channel (the
    // scalar transpose took a quarter of LeNet conv2's forward); rows past xb repeat row 0. The
    // activation is applied to the tile first, in L1.
    auto store = [&](T* src, int64_t n, int64_t o0, int64_t y, int64_t x0, int xb) {
      typedef typename Vec<T>::type V;
      activate(src, int64_t(xb) * cw, act);
      T* dst = out.ptr<T>() + n * out.strides[0] + o0 * out.strides[1] + y * out.strides[3] + x0;
      if (xb <= W) {
        for (int v = 0; v < nv; ++v) {
          V r[W];
          for (int j = 0; j < W; ++j) __builtin_memcpy(&r[j], src + (j < xb ? j : 0) * cw + v * W, sizeof(V));
          transpose_square<T>(r);
          for (int l = 0; l < W; ++l) store_first<T>(dst + (v * W + l) * out.strides[1], r[l], xb);
        }
        return;
      }
      for (int l = 0; l < cw; ++l, dst += out.strides[1])
        for (int j = 0; j < xb; ++j) dst[j] = src[j * cw + l];
    };
    for (int64_t task = lo; task < hi; ++task) {
      const int64_t u = image_major ? task / oblocks : task % units;
      const int64_t o0 = (image_major ? task % oblocks : task / units) * cw;
      if (!wr && o0 / cw != packed) pack_block(wblock, packed = o0 / cw);
      const T* wb = wr ? wr + o0 * taps : wblock;
      const T* bb = bias ? bias + o0 : nullptr;
      const int64_t i0 = u * rows, ni = nb - i0 < rows ? nb - i0 : rows;
      if (rows == 2) {
        // Slots s = (image i0 + s / OH, row s % OH), two per block.
        const int64_t slots = ni * OH;
        for (int64_t s0 = 0; s0 < slots; s0 += 2) {
          const int64_t ia = i0 + s0 / OH, ya = s0 % OH, ib = i0 + (s0 + 1) / OH, yb = (s0 + 1) % OH;
          const T* ra = xpad + ia * xp_len + ya * p.PW;
          const T* rb = xpad + ib * xp_len + yb * p.PW;
          const bool pair = s0 + 1 < slots;
          switch (OW) {
#define TF_RUN2(k)                                                                   \
  case k:                                                                            \
    if (pair) forward_run2_3x3<T, k, 2>(tile, ra, rb, wb, p, bb);                    \
    else forward_run2_3x3<T, k, 1>(tile, ra, ra, wb, p, bb);                         \
    break;
            TF_RUN2(7) TF_RUN2(6) TF_RUN2(5) TF_RUN2(4) TF_RUN2(3) TF_RUN2(2) TF_RUN2(1)
#undef TF_RUN2
            default: break;
          }
          store(tile, n0 + ia, o0, ya, 0, int(OW));
          if (pair) store(tile + OW * cw, n0 + ib, o0, yb, 0, int(OW));
        }
        continue;
      }
      const int64_t n = n0 + i0;
      const T* xp = xpad + i0 * xp_len;
      for (int64_t y = 0; y < OH; ++y)
        for (int64_t x0 = 0; x0 < OW; x0 += xbmax) {
          const int xb = int(OW - x0 < xbmax ? OW - x0 : xbmax);
          const T* row = xp + y * p.PW + x0;
          if (nv == 2) {
            switch (xb) {
#define TF_RUN2(k) \
  case k: forward_run2_3x3<T, k, 1>(tile, row, row, wb, p, bb); break;
              TF_RUN2(14) TF_RUN2(13) TF_RUN2(12) TF_RUN2(11) TF_RUN2(10) TF_RUN2(9) TF_RUN2(8) TF_RUN2(7)
              TF_RUN2(6) TF_RUN2(5) TF_RUN2(4) TF_RUN2(3) TF_RUN2(2) TF_RUN2(1)
#undef TF_RUN2
              default: break;
            }
          } else {
            switch (xb) {
#define TF_RUN(k)                                                                                            \
  case k:                                                                                                    \
    if (KH == 5 && KW == 5) forward_run<T, k, 5, 5>(tile, xp, wb, p, KH, KW, cw, bb, y, x0);             \
    else if (KH == 3 && KW == 3) forward_run<T, k, 3, 3>(tile, xp, wb, p, KH, KW, cw, bb, y, x0);        \
    else forward_run<T, k, 0, 0>(tile, xp, wb, p, KH, KW, cw, bb, y, x0);                                \
    break;
              TF_RUN(12) TF_RUN(11) TF_RUN(10) TF_RUN(9) TF_RUN(8) TF_RUN(7) TF_RUN(6) TF_RUN(5) TF_RUN(4) TF_RUN(3)
              TF_RUN(2) TF_RUN(1)
#undef TF_RUN
              default: break;
            }
          }
          store(tile, n, o0, y, x0, xb);
        }
    }
  });
  }
  std::free(xpad);
  std::free(wr);
  std::free(toff);
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

// dw_run_fixed for the taps of kernel rows [KY0, KY1), R positions of a row at a time: each kernel
// row's R + KW - 1 input values are broadcast once into registers and serve R * KW FMAs (a position
// and a tap that read the same input value share it), so a block costs R gOut loads and
// (KY1 - KY0) (R + KW - 1) broadcasts for (KY1 - KY0) KW R FMAs. For 5x5 on AVX-512 the rows go in
// two passes (15 and 10 accumulators): 48 loads per 100 FMAs, where dw_run_fixed takes 104.
template <class T, int KW, int KY0, int KY1, int R>
inline void dw_run_rows(typename Vec<T>::type* sums, const T* gt, const T* xpc, int64_t PW, int64_t OH, int64_t OW) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T), NT = (KY1 - KY0) * KW;
  V acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = sums[KY0 * KW + t];
  for (int64_t y = 0; y < OH; ++y) {
    const T* g = gt + y * OW * W;
    int64_t x = 0;
    for (; x + R <= OW; x += R) {
      V gv[R];
      for (int j = 0; j < R; ++j) __builtin_memcpy(&gv[j], g + (x + j) * W, sizeof(V));
      for (int ky = KY0; ky < KY1; ++ky) {
        const T* row = xpc + (y + ky) * PW + x;
        V b[R + KW - 1];
        for (int i = 0; i < R + KW - 1; ++i) {
          b[i] = broadcast_load<T>(row + i);
          in_register(b[i]);
        }
        for (int kx = 0; kx < KW; ++kx)
          for (int j = 0; j < R; ++j) acc[(ky - KY0) * KW + kx] += gv[j] * b[j + kx];
      }
    }
    for (; x < OW; ++x) {
      V gv;
      __builtin_memcpy(&gv, g + x * W, sizeof(V));
      for (int ky = KY0; ky < KY1; ++ky)
        for (int kx = 0; kx < KW; ++kx) acc[(ky - KY0) * KW + kx] += gv * broadcast_load<T>(xpc + (y + ky) * PW + x + kx);
    }
  }
  for (int t = 0; t < NT; ++t) sums[KY0 * KW + t] = acc[t];
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
          const T* gb = gout.ptr<T>() + n * gout.strides[0] + b * W * gout.strides[1];
          if (gout.strides[4] == 1 && gout.strides[3] == OW) {
            channels_last<T>(gb, gout.strides[1], OH * OW, [&](int64_t pos) { return gt + pos * W; });
          } else {
            for (int l = 0; l < W; ++l) {
              const T* src = gb + l * gout.strides[1];
              for (int64_t y = 0; y < OH; ++y)
                for (int64_t q = 0; q < OW; ++q) gt[(y * OW + q) * W + l] = src[y * gout.strides[3] + q * gout.strides[4]];
            }
          }
          for (int64_t c = 0; c < p.C; ++c) {
            V* s = sums + (b * p.C + c) * taps;
            const T* xpc = xp + c * p.PH * p.PW;
#if defined(TF_CPU_LEVEL_avx512)
            if (KH == 5 && KW == 5) {
              dw_run_rows<T, 5, 0, 3, 4>(s, gt, xpc, p.PW, OH, OW);
              dw_run_rows<T, 5, 3, 5, 4>(s, gt, xpc, p.PW, OH, OW);
              continue;
            }
            if (KH == 3 && KW == 3) {
              dw_run_rows<T, 3, 0, 3, 4>(s, gt, xpc, p.PW, OH, OW);
              continue;
            }
#endif
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

// Weight gradient of 3x3 layers with two channel vectors per block (ResNet's): for one input
// channel, acc[v][t] (output channels b*2W + v*W ..) += gT[pos][v] * xp[c, y + ky, x + kx] over the
// positions of one image: two vector loads and nine broadcasts per 18 FMAs. A flat loop over the
// positions, as in the forward, keeps the accumulators in registers.
template <class T>
inline void dw_run2_3x3(typename Vec<T>::type* sums, const T* gt, const T* xpc, int64_t PW, int64_t OW, int64_t L) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  V acc[2][9];
  for (int t = 0; t < 9; ++t) acc[0][t] = sums[t], acc[1][t] = sums[9 + t];
  const T* row = xpc;
  int64_t x = 0;
  for (int64_t pos = 0; pos < L; ++pos, gt += 2 * W) {
    V g0, g1;
    __builtin_memcpy(&g0, gt, sizeof(V));
    __builtin_memcpy(&g1, gt + W, sizeof(V));
#pragma GCC unroll 9
    for (int t = 0; t < 9; ++t) {
      const V xv = broadcast_load<T>(row + t / 3 * PW + t % 3);
      acc[0][t] += g0 * xv;
      acc[1][t] += g1 * xv;
    }
    ++row;
    if (++x == OW) x = 0, row += PW - OW;
  }
  for (int t = 0; t < 9; ++t) sums[t] = acc[0][t], sums[9 + t] = acc[1][t];
}

// dW for those layers. The batch goes in chunks (an 8 MiB workspace) of padded images and of the
// output gradient transposed to gT[image][block][position][2W]. Tasks own disjoint weights, (block,
// group of kCG input channels) pairs, so no partial sums are reduced: a task runs over every image
// of the chunk, its kCG * 18 vector sums in L1 and one image's gT block in L2 across its channels.
template <class T>
void weight_grad2_3x3_t(const TensorView& dw, const TensorView& x, const TensorView& gout, const SpatialGeom& g) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T), cw = 2 * W;
  constexpr int64_t kCG = 16;
  const int64_t N = x.shape[0], outC = dw.shape[0], OH = g.out[1], OW = g.out[2], L = OH * OW;
  const Padded<T> p = padded_of<T>(x, g);
  const int64_t blocks = outC / cw, plane = p.PH * p.PW, cgroups = (p.C + kCG - 1) / kCG;
  const int64_t xp_len = (p.C * plane + W - 1) / W * W, gt_len = L * outC;
  const int64_t chunk = images_per_chunk(sizeof(T) * size_t(xp_len + gt_len), N);
  T* xpad = static_cast<T*>(std::aligned_alloc(64, sizeof(T) * size_t((xp_len + gt_len) * chunk)));
  if (!xpad) return;
  T* gT = xpad + xp_len * chunk;
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
    const int64_t nb = N - n0 < chunk ? N - n0 : chunk;
    parallel_for(0, nb, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) p.fill(xpad + i * xp_len, x, n0 + i);
    });
    parallel_for_balanced(0, nb * blocks, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t task = lo; task < hi; ++task) {
        const int64_t i = task / blocks, b = task % blocks;
        // In tiles of 16 positions x cw channels, which stay in L1 (whole rows of positions per
        // channel would write one float per line across 200 KB, cw times over).
        T* dst = gT + (i * blocks + b) * L * cw;
        const T* src = gout.ptr<T>() + (n0 + i) * gout.strides[0] + b * cw * gout.strides[1];
        for (int64_t y = 0; y < OH; ++y)
          for (int64_t q0 = 0; q0 < OW; q0 += 16) {
            const int64_t qn = OW - q0 < 16 ? OW - q0 : 16;
            T* d = dst + (y * OW + q0) * cw;
            for (int j = 0; j < cw; ++j) {
              const T* sj = src + j * gout.strides[1] + y * gout.strides[3] + q0 * gout.strides[4];
              for (int64_t q = 0; q < qn; ++q) d[q * cw + j] = sj[q * gout.strides[4]];
            }
          }
      }
    });
    parallel_for_balanced(0, blocks * cgroups, 1, [&](int64_t lo, int64_t hi) {
      V sums[kCG * 18];
      for (int64_t task = lo; task < hi; ++task) {
        const int64_t b = task / cgroups, c0 = task % cgroups * kCG;
        const int64_t c1 = c0 + kCG < p.C ? c0 + kCG : p.C;
        for (int64_t k = 0; k < kCG * 18; ++k) sums[k] = V{};
        // (Chunks of positions whose gT rows stay in L1 across the group's channels measured slower
        // on 56x56 maps: the image's block streams from L2 well enough.)
        for (int64_t i = 0; i < nb; ++i) {
          const T* gt = gT + (i * blocks + b) * L * cw;
          for (int64_t c = c0; c < c1; ++c)
            dw_run2_3x3<T>(sums + (c - c0) * 18, gt, xpad + i * xp_len + c * plane, p.PW, OW, L);
        }
        for (int64_t c = c0; c < c1; ++c)
          for (int v = 0; v < 2; ++v)
            for (int t = 0; t < 9; ++t) {
              const V& sv = sums[(c - c0) * 18 + v * 9 + t];
              for (int l = 0; l < W; ++l) {
                T* d = dw.ptr<T>() + (b * cw + v * W + l) * dw.strides[0] + c * dw.strides[1] + t / 3 * dw.strides[3] +
                       t % 3 * dw.strides[4];
                *d = n0 == 0 ? sv[l] : *d + sv[l];
              }
            }
      }
    });
  }
  std::free(xpad);
}

// Layers these kernels take: one group, whole vectors of output channels, stride 1, no dilation.
template <class T>
bool fits(int64_t outC, int64_t groups, const SpatialGeom& g) {
  constexpr int W = kVecBytes / sizeof(T);
  return groups == 1 && outC % W == 0 && g.stride[1] == 1 && g.stride[2] == 1 && g.dilation[1] == 1 && g.dilation[2] == 1;
}

}  // namespace

bool conv_direct_oc(const TensorView& out, const TensorView& x, const TensorView& w, const TensorView* bias,
                    const SpatialGeom& g, int64_t groups, Activation act) {
  bool done = false;
  TF_DISPATCH_FLOAT(x.dtype, T, {
    if (fits<T>(out.shape[1], groups, g)) {
      forward_t<T>(out, x, w, bias ? bias->ptr<T>() : nullptr, g, act);
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
      constexpr int W = kVecBytes / sizeof(T);
      if (g.kernel[1] == 3 && g.kernel[2] == 3 && dw.shape[0] % (2 * W) == 0) weight_grad2_3x3_t<T>(dw, x, gout, g);
      else weight_grad_t<T>(dw, x, gout, g);
      done = true;
    }
  });
  return done;
}

TF_KERNEL_NAMESPACE_END
