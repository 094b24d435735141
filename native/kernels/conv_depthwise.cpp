// Depthwise 2-D convolution (groups == C == outC: each channel convolved with its own KH x KW filter),
// forward and both gradients, for any stride, padding and dilation:
//
//   x [N, C, 1, H, W] (any strides)   w [C, 1, 1, KH, KW] (contiguous)   out [N, C, 1, OH, OW] (contiguous)
//   out[n, c, y, x]  = bias[c] + sum_{ky, kx} w[c, ky, kx] * xp[n, c, y*sh + ky*dh, x*sw + kx*dw]
//   dx   = the adjoint: dxp[n, c, y*sh + ky*dh, x*sw + kx*dw] += w[c, ky, kx] * g[n, c, y, x]
//   dw[c, ky, kx] = sum_{n, y, x} g[n, c, y, x] * xp[n, c, y*sh + ky*dh, x*sw + kx*dw]
// where xp is x zero-padded (pad[] before each dim), of PH x PW = what the windows reach.
//
// Each plane is copied once into a zero-padded buffer of row pitch PW; with stride 1, tap (ky, kx)
// of output (y, x) is then at offset ky*dh*PW + kx*dw from y*PW + x, and a strided plane is first
// split into sw column phases (Phases), where every tap is again a unit-stride run. The forward and
// the input gradient (the correlation of gOut with the flipped filter; strided, one phase of dx at a
// time) are correlations over register tiles of output rows x vectors (correlate_any: the 3x3
// filter and 5- or 7-row grids share each input row's loads across output rows; any other filter
// takes a tap at a time). The weight gradient is a sum per tap of gOut times the shifted plane,
// several taps per pass with their sums in registers. Filters of more than kMaxRegTaps taps take
// scalar loops. im2col + GEMM would spend KH*KW times the input's memory on columns for
// K = KH*KW products: far from the FMA units.
// Forward and input gradient run in parallel over (n, c) planes, the weight gradient over c.
#include "activation.h"
#include "conv.h"
#include "simd.h"
#include "window.h"

TF_KERNEL_NAMESPACE_BEGIN

namespace {

struct DwGeom {
  int64_t H, W, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw, PH, PW;
  explicit DwGeom(const SpatialGeom& g) {
    H = g.in[1], W = g.in[2], OH = g.out[1], OW = g.out[2], KH = g.kernel[1], KW = g.kernel[2];
    sh = g.stride[1], sw = g.stride[2], dh = g.dilation[1], dw = g.dilation[2], ph = g.pad[1], pw = g.pad[2];
    PH = (OH - 1) * sh + (KH - 1) * dh + 1;
    PW = (OW - 1) * sw + (KW - 1) * dw + 1;
  }
  // dst [OH, PW] = the [OH, OW] plane at src (strides rs, cs), each row zero-padded to PW (the last
  // row only to OW: dst holds (OH - 1) * PW + OW elements).
  template <class T> void pitch_rows(T* dst, const T* src, int64_t rs, int64_t cs) const {
    for (int64_t y = 0; y < OH; ++y) {
      T* __restrict row = dst + y * PW;
      const T* __restrict s = src + y * rs;
      if (cs == 1) {
        for (int64_t x = 0; x < OW; ++x) row[x] = s[x];
      } else {
        for (int64_t x = 0; x < OW; ++x) row[x] = s[x * cs];
      }
      if (y + 1 < OH)
        for (int64_t x = OW; x < PW; ++x) row[x] = T(0);
    }
  }
};

// A strided window as unit-stride runs: the padded plane split into sw column phases, phase p holding
// its columns p, p + sw, p + 2 sw, ... (QW = ceil(PW / sw) of them, zero past PW) in a plane of PH
// rows of QW. Tap (ky, kx) of output (y, x) then reads phase (kx dw) % sw, row y sh + ky dh, column
// x + (kx dw) / sw: its offset (offsets()) plus y * sh * QW + x.
struct Phases {
  int64_t sw, QW, PH, PW;
  Phases(const DwGeom& g) : sw(g.sw), QW((g.PW + g.sw - 1) / g.sw), PH(g.PH), PW(g.PW) {}
  int64_t size() const { return sw * PH * QW; }
  void offsets(int64_t* off, const DwGeom& g) const {
    for (int64_t t = 0; t < g.KH * g.KW; ++t) {
      const int64_t kx = t % g.KW * g.dw;
      off[t] = kx % sw * PH * QW + t / g.KW * g.dh * QW + kx / sw;
    }
  }
  // dst [sw][PH][QW] from the padded plane src [PH][PW]; then `slack` zeros.
  template <class T> void split(T* __restrict dst, const T* __restrict src, int64_t slack) const {
    if (sw == 2) return split2(dst, src, slack);
    for (int64_t p = 0; p < sw; ++p)
      for (int64_t r = 0; r < PH; ++r) {
        const T* row = src + r * PW + p;
        T* d = dst + (p * PH + r) * QW;
        const int64_t n = (PW - p + sw - 1) / sw;  // columns p + j sw < PW
        for (int64_t j = 0; j < n; ++j) d[j] = row[j * sw];
        for (int64_t j = n; j < QW; ++j) d[j] = T(0);
      }
    zero_run(dst + size(), slack);
  }
  // Stride 2, the common one, a pair of vectors at a time: their even lanes to phase 0, odd to 1. The
  // loads run past a row's end into the next row (or the source's slack of two vectors); the columns
  // past PW they fill are zeroed after.
  template <class T> void split2(T* __restrict dst, const T* __restrict src, int64_t slack) const {
    typedef typename Vec<T>::type V;
    typedef typename std::conditional<sizeof(T) == 4, int32_t, int64_t>::type I;
    typedef I IV __attribute__((vector_size(kVecBytes)));
    constexpr int W = kVecBytes / sizeof(T);
    IV even, odd;
    for (int l = 0; l < W; ++l) even[l] = I(2 * l), odd[l] = I(2 * l + 1);
    for (int64_t r = 0; r < PH; ++r) {
      const T* row = src + r * PW;
      T* d0 = dst + r * QW;
      T* d1 = dst + (PH + r) * QW;
      for (int64_t j = 0; j < QW; j += W) {
        V a, b;
        __builtin_memcpy(&a, row + 2 * j, sizeof(V));
        __builtin_memcpy(&b, row + 2 * j + W, sizeof(V));
        const int n = int(QW - j < W ? QW - j : W);
        store_first(d0 + j, __builtin_shuffle(a, b, even), n);
        store_first(d1 + j, __builtin_shuffle(a, b, odd), n);
      }
      if (PW % 2) d1[QW - 1] = T(0);  // column PW, past the plane
    }
    zero_run(dst + size(), slack);
  }
};

// Per-thread scratch (no std containers here: their out-of-line instantiations would be shared
// across the CPU levels' copies; see simd.h).
template <class T>
T* scratch(size_t n) {
  static thread_local Scratch buf;
  return static_cast<T*>(buf.get(sizeof(T) * n));
}

// Filters up to 8x8 take the vector paths (their offsets and tap sums fit fixed arrays); larger
// ones take scalar loops.
constexpr int kMaxRegTaps = 64;

// The next task's input planes, fetched into L2 a few lines per output row while this task
// computes: a plane (12.5 KB at 56x56) read only when its task starts stalls on memory for all of
// it. Only what is read: fetching the input gradient's plane too, for ownership, measured even or
// slower once the 3x3 correlation shared its loads (0.97-1.00x, forward + backward).
struct Ahead {
  const char* p = nullptr;
  const char* end = nullptr;
  int64_t per_row = 0;  // lines per output row
  void set(const void* start, int64_t bytes, int64_t rows) {
    p = static_cast<const char*>(start);
    end = p + (bytes > 0 ? bytes : 0);
    per_row = rows > 0 ? (bytes / 64 + rows - 1) / rows + 1 : 0;
  }
  void rows(int64_t n) {
    for (int64_t i = 0; i < n * per_row && p < end; ++i, p += 64) __builtin_prefetch(p, 0, 2);
  }
};

// The tiles of an [OH, OW] output: blocks of 4 rows, then the 1-3 left (rows(R, y) with R a
// compile-time constant, so a tile's accumulators are a fixed array in registers); within rows,
// groups of 4 vectors, then the 1-3 left, the last one partial (cols(U, x0)).
template <class F>
inline void row_blocks(int64_t OH, Ahead* ahead, int n_ahead, F&& rows) {
  int64_t y = 0;
  for (; y + 4 <= OH; y += 4) {
    for (int i = 0; i < n_ahead; ++i) ahead[i].rows(4);
    rows(std::integral_constant<int, 4>{}, y);
  }
  switch (OH - y) {
    case 3: rows(std::integral_constant<int, 3>{}, y); break;
    case 2: rows(std::integral_constant<int, 2>{}, y); break;
    case 1: rows(std::integral_constant<int, 1>{}, y); break;
    default: break;
  }
}

template <class T, class F>
inline void col_groups(int64_t OW, F&& cols) {
  constexpr int W = kVecBytes / sizeof(T);
  int64_t x0 = 0;
  for (; x0 + 4 * W <= OW; x0 += 4 * W) cols(std::integral_constant<int, 4>{}, x0);
  switch ((OW - x0 + W - 1) / W) {
    case 4: cols(std::integral_constant<int, 4>{}, x0); break;
    case 3: cols(std::integral_constant<int, 3>{}, x0); break;
    case 2: cols(std::integral_constant<int, 2>{}, x0); break;
    case 1: cols(std::integral_constant<int, 1>{}, x0); break;
    default: break;
  }
}

// out[j, x0 + u W + l] = acc[j][u][l] for the lanes inside the row of OW (rows OW apart).
template <class T, int R, int U>
inline void store_rows(T* out, int64_t OW, const typename Vec<T>::type (&acc)[R][U], int64_t x0) {
  constexpr int W = kVecBytes / sizeof(T);
  for (int j = 0; j < R; ++j)
    for (int u = 0; u < U; ++u) {
      const int64_t left = OW - x0 - u * W;
      store_first(out + j * OW + x0 + u * W, acc[j][u], int(left < W ? left : W));
    }
}

// The 3x3 filter with unit dilation (wg[r][s]: the weight of input row y + r, column x + s for
// output (y, x)): R output rows share each input row's loads, R + 2 rows of 3 shifted loads for 9R
// FMAs per vector, where the general loop below loads once per FMA (8 of the 9 loads crossing a
// line).
template <class T, int R, int U>
inline void correlate3_tile(T* out, int64_t OW, const T* P, int64_t pitch, const typename Vec<T>::type (*wg)[3],
                            typename Vec<T>::type bv, int64_t x0) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  V acc[R][U];
  for (int j = 0; j < R; ++j)
    for (int u = 0; u < U; ++u) acc[j][u] = bv;
  // Fully unrolled, so the accumulators stay in registers.
#pragma GCC unroll 8
  for (int r = 0; r < R + 2; ++r)
#pragma GCC unroll 3
    for (int s = 0; s < 3; ++s)
#pragma GCC unroll 4
      for (int u = 0; u < U; ++u) {
        V v;
        __builtin_memcpy(&v, P + r * pitch + x0 + u * W + s, sizeof(V));
        in_register(v);  // one load for its three FMAs, not a memory operand in each
#pragma GCC unroll 3
        for (int j = r - 2 < 0 ? 0 : r - 2; j <= r && j < R; ++j) acc[j][u] += wg[r - j][s] * v;
      }
  store_rows<T, R, U>(out, OW, acc, x0);
}

// Any filter, stride and dilation, as taps: out[j, x] = b + sum_t w[t] * P[j * step + off[t] + x] for
// the tile's R rows (OW apart in out) and U vectors of x from x0. R x U independent accumulators: a
// single one would wait out each FMA's latency (4 cycles) before the next tap. One load per FMA,
// and one weight broadcast per R * U FMAs.
template <class T, int R, int U>
inline void correlate_tile(T* out, int64_t OW, const T* P, int64_t step, const T* wt, const int64_t* off, int taps,
                           typename Vec<T>::type bv, int64_t x0) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  V acc[R][U];
  for (int j = 0; j < R; ++j)
    for (int u = 0; u < U; ++u) acc[j][u] = bv;
  for (int t = 0; t < taps; ++t) {
    const V wv = wt[t] - V{};  // broadcast (x - 0 is x)
    const T* p = P + off[t] + x0;
#pragma GCC unroll 4
    for (int j = 0; j < R; ++j)
#pragma GCC unroll 4
      for (int u = 0; u < U; ++u) {
        V v;
        __builtin_memcpy(&v, p + j * step + u * W, sizeof(V));
        acc[j][u] += wv * v;
      }
  }
  store_rows<T, R, U>(out, OW, acc, x0);
}

// out [OH, OW] (contiguous) = b + sum_t wt[t] * P[y * step + off[t] + x]. P must be readable a
// vector past each row's last tap (the lanes past OW are computed and dropped).
template <class T>
void correlate_general(T* out, const T* P, int64_t step, const T* wt, const int64_t* off, int taps, T b, int64_t OH,
                       int64_t OW, Ahead* ahead = nullptr, int n_ahead = 0) {
  typedef typename Vec<T>::type V;
  const V bv = b - V{};
  row_blocks(OH, ahead, n_ahead, [&](auto R, int64_t y) {
    col_groups<T>(OW, [&](auto U, int64_t x0) {
      correlate_tile<T, R, U>(out + y * OW, OW, P + y * step, step, wt, off, taps, bv, x0);
    });
  });
}

// A filter whose taps form a grid with unit row dilation: KR rows `pitch` apart by KC columns at
// offsets col[c] (any column dilation), tap (r, c) weighing wg[c * KR + r]. As correlate3_tile, R
// output rows share each input row's loads: input row r serves output rows j with 0 <= r - j < KR,
// so a tile takes (R + KR - 1) KC U loads for R KR KC U FMAs (correlate_tile: one load per FMA),
// and a weight broadcast per U FMAs.
template <class T, int R, int U, int KR>
inline void correlate_grid_tile(T* out, int64_t OW, const T* P, int64_t pitch, const T* wg, const int64_t* col,
                                int KC, typename Vec<T>::type bv, int64_t x0) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  V acc[R][U];
  for (int j = 0; j < R; ++j)
    for (int u = 0; u < U; ++u) acc[j][u] = bv;
  // Columns outermost, so the accumulators stay in registers through one loop (rows inside, unrolled).
  for (int c = 0; c < KC; ++c) {
    const T* pc = P + col[c] + x0;
    const T* wc = wg + c * KR;
#pragma GCC unroll 16
    for (int r = 0; r < R + KR - 1; ++r) {
      V v[U];
#pragma GCC unroll 4
      for (int u = 0; u < U; ++u) {
        __builtin_memcpy(&v[u], pc + r * pitch + u * W, sizeof(V));
        in_register(v[u]);  // one load for its FMAs, not a memory operand in each
      }
#pragma GCC unroll 4
      for (int j = 0; j < R; ++j) {
        const int ky = r - j;
        if (ky < 0 || ky >= KR) continue;
        const V wv = wc[ky] - V{};  // broadcast (x - 0 is x)
#pragma GCC unroll 4
        for (int u = 0; u < U; ++u) acc[j][u] += wv * v[u];
      }
    }
  }
  store_rows<T, R, U>(out, OW, acc, x0);
}

template <class T, int KR>
void correlate_grid(T* out, const T* P, int64_t pitch, const T* wg, const int64_t* col, int KC, T b, int64_t OH,
                    int64_t OW, Ahead* ahead, int n_ahead) {
  typedef typename Vec<T>::type V;
  const V bv = b - V{};
  row_blocks(OH, ahead, n_ahead, [&](auto R, int64_t y) {
    col_groups<T>(OW, [&](auto U, int64_t x0) {
      correlate_grid_tile<T, R, U, KR>(out + y * OW, OW, P + y * pitch, pitch, wg, col, KC, bv, x0);
    });
  });
}

// How correlate_any computes a plane with given tap offsets and row pitch: the same for every plane
// of a call, so decided once per call (it takes two divisions per tap). The taps form a grid when
// they fill rows 0..KR-1 (offset / pitch: unit row dilation) with the same KC columns (offset %
// pitch: any column dilation); grid position k = r * KC + c holds tap order[k]. A 3x3 grid with
// unit column dilation takes correlate3_tile (weights in registers), 5 or 7 rows
// correlate_grid_tile, and anything else (strided phases, dilated rows, other sizes) the general
// tile.
constexpr int kMaxGridCols = 16;
struct TapPlan {
  enum Kind { General, Dense3, Grid } kind = General;
  int KR = 0, KC = 0;
  int64_t col[kMaxGridCols];
  int order[kMaxRegTaps];
  TapPlan(const int64_t* off, int taps, int64_t pitch) {
    if (taps > kMaxRegTaps || pitch <= 0) return;
    int64_t row[kMaxRegTaps];
    int ci[kMaxRegTaps];
    for (int t = 0; t < taps; ++t) {
      if (off[t] < 0) return;
      row[t] = off[t] / pitch;
      const int64_t c = off[t] % pitch;
      if (row[t] >= kMaxRegTaps) return;
      KR = int(row[t]) + 1 > KR ? int(row[t]) + 1 : KR;
      int i = 0;
      while (i < KC && col[i] != c) ++i;
      if (i == KC) {
        if (KC == kMaxGridCols) return;
        col[KC++] = c;
      }
      ci[t] = i;
    }
    if (KR * KC != taps) return;
    bool seen[kMaxRegTaps] = {};
    for (int t = 0; t < taps; ++t) {
      const int k = int(row[t]) * KC + ci[t];
      if (seen[k]) return;
      seen[k] = true, order[k] = t;
    }
    // Columns in ascending order (the 3x3 tile takes column c at offset c).
    for (int a = 1; a < KC; ++a)
      for (int b2 = a; b2 > 0 && col[b2 - 1] > col[b2]; --b2) {
        std::swap(col[b2 - 1], col[b2]);
        for (int r = 0; r < KR; ++r) std::swap(order[r * KC + b2 - 1], order[r * KC + b2]);
      }
    if (KR == 3 && KC == 3 && col[0] == 0 && col[1] == 1 && col[2] == 2) kind = Dense3;
    else if (KR == 5 || KR == 7) kind = Grid;
  }
};

// out [OH, OW] = b + the correlation of P (row pitch `pitch`) with the taps, as `plan` says.
template <class T>
void correlate_any(T* out, const T* P, int64_t pitch, const T* wt, const int64_t* off, int taps, T b, int64_t OH,
                   int64_t OW, const TapPlan& plan, Ahead* ahead = nullptr, int n_ahead = 0) {
  typedef typename Vec<T>::type V;
  if (plan.kind == TapPlan::Dense3) {
    V wg[3][3];
    for (int k = 0; k < 9; ++k) wg[k / 3][k % 3] = wt[plan.order[k]] - V{};  // broadcast (x - 0 is x)
    const V bv = b - V{};
    row_blocks(OH, ahead, n_ahead, [&](auto R, int64_t y) {
      col_groups<T>(OW, [&](auto U, int64_t x0) {
        correlate3_tile<T, R, U>(out + y * OW, OW, P + y * pitch, pitch, wg, bv, x0);
      });
    });
    return;
  }
  if (plan.kind == TapPlan::Grid) {
    T wg[kMaxRegTaps];
    for (int k = 0; k < taps; ++k) wg[k % plan.KC * plan.KR + k / plan.KC] = wt[plan.order[k]];  // column-major
    if (plan.KR == 5) return correlate_grid<T, 5>(out, P, pitch, wg, plan.col, plan.KC, b, OH, OW, ahead, n_ahead);
    return correlate_grid<T, 7>(out, P, pitch, wg, plan.col, plan.KC, b, OH, OW, ahead, n_ahead);
  }
  correlate_general(out, P, pitch, wt, off, taps, b, OH, OW, ahead, n_ahead);
}

// sum_i a[i] * b[i] with vector accumulators (a scalar reduction would not vectorise without
// reassociation, which -ffast-math is not allowed to grant here).
template <class T>
T dot(const T* __restrict a, const T* __restrict b, int64_t n) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  V acc0 = V{}, acc1 = V{};
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    V x0, y0, x1, y1;
    __builtin_memcpy(&x0, a + i, sizeof(V));
    __builtin_memcpy(&y0, b + i, sizeof(V));
    __builtin_memcpy(&x1, a + i + W, sizeof(V));
    __builtin_memcpy(&y1, b + i + W, sizeof(V));
    acc0 += x0 * y0;
    acc1 += x1 * y1;
  }
  acc0 += acc1;
  T s = 0;
  for (int l = 0; l < W; ++l) s += acc0[l];
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

// acc[t] += the lanes of a[t] summed (t < taps), and with gsum, *gsum += the lanes of gs: a plane's
// vector sums added to the per-channel totals, which are kept in double across images.
template <class T>
void add_tap_sums(double* acc, const typename Vec<T>::type* a, int taps, typename Vec<T>::type gs, double* gsum) {
  constexpr int W = kVecBytes / sizeof(T);
  for (int t = 0; t < taps; ++t) {
    T sum = 0;
    for (int l = 0; l < W; ++l) sum += a[t][l];
    acc[t] += double(sum);
  }
  if (gsum) {
    T sum = 0;
    for (int l = 0; l < W; ++l) sum += gs[l];
    *gsum += double(sum);
  }
}

// acc[t] += sum_{i < n} gf[i] * P[i + off[t]], for every tap in one pass: a load of gf, then one
// load and one FMA per tap (a dot product per tap loads two operands per FMA). gf must be zero up
// to n rounded up to a vector, and P readable that far past each offset. With gsum, also
// *gsum += sum_i gf[i] (the bias gradient), from the same loads.
template <class T, int TAPS>
void tap_dots(double* acc, const T* gf, const T* P, const int64_t* off, int64_t n, double* gsum) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  constexpr int taps = TAPS;
  V a[TAPS];
  int64_t o[TAPS];
  for (int t = 0; t < taps; ++t) a[t] = V{}, o[t] = off[t];
  V gs = V{};
  for (int64_t i = 0; i < n; i += W) {
    V gv;
    __builtin_memcpy(&gv, gf + i, sizeof(V));
    gs += gv;
    for (int t = 0; t < taps; ++t) {
      V v;
      __builtin_memcpy(&v, P + i + o[t], sizeof(V));
      a[t] += gv * v;
    }
  }
  add_tap_sums<T>(acc, a, taps, gs, gsum);
}

// Tap sums for any number of taps, in passes over the plane whose sums stay in registers:
// f(K, t0) sums taps [t0, t0 + K) with K a compile-time constant, 9 (the 3x3 filter) in one pass,
// otherwise 8 at a time. (All of a 5x5 or 7x7 filter's sums at once lived in memory: a load and a
// store beside each FMA.) The plane's gOut is re-read per pass, from L1 or L2.
template <class F>
inline void tap_chunks(int taps, F&& f) {
  if (taps == 9) return f(std::integral_constant<int, 9>{}, 0);
  for (int t0 = 0; t0 < taps; t0 += 8) {
    switch (taps - t0 < 8 ? taps - t0 : 8) {
      case 8: f(std::integral_constant<int, 8>{}, t0); break;
      case 7: f(std::integral_constant<int, 7>{}, t0); break;
      case 6: f(std::integral_constant<int, 6>{}, t0); break;
      case 5: f(std::integral_constant<int, 5>{}, t0); break;
      case 4: f(std::integral_constant<int, 4>{}, t0); break;
      case 3: f(std::integral_constant<int, 3>{}, t0); break;
      case 2: f(std::integral_constant<int, 2>{}, t0); break;
      default: f(std::integral_constant<int, 1>{}, t0); break;
    }
  }
}

// The 3x3 filter's tap sums with unit dilation, acc[3 r + s] += sum_{y, x} g[y, x] * xp[y + r, x + s]
// (g and xp both with row pitch `pitch`, g's columns past OW ignored), and with gsum the sum of g:
// as tap_dots, but R rows of g at a time share each row of xp's three shifted loads (R + 2 rows of
// 3 loads for 9R FMAs per vector, where tap_dots loads once per FMA). g's lanes past OW are masked
// to zero, so xp is read past each row (into the next, or the slack) harmlessly.
template <class T, int R>
inline void tap_rows3(typename Vec<T>::type* acc, typename Vec<T>::type& gs, const T* g, const T* xp, int64_t pitch,
                      int64_t OW) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  V a[9], gsl = gs;  // local copies, so the sums stay in registers
  for (int t = 0; t < 9; ++t) a[t] = acc[t];
  for (int64_t x0 = 0; x0 < OW; x0 += W) {
    const int lanes = int(OW - x0 < W ? OW - x0 : W);
    V gv[R];
    for (int j = 0; j < R; ++j) gv[j] = load_first(g + j * pitch + x0, lanes), gsl += gv[j];
#pragma GCC unroll 8
    for (int r = 0; r < R + 2; ++r)
#pragma GCC unroll 3
      for (int s = 0; s < 3; ++s) {
        V v;
        __builtin_memcpy(&v, xp + r * pitch + x0 + s, sizeof(V));
        in_register(v);  // one load for its three FMAs, not a memory operand in each
#pragma GCC unroll 3
        for (int j = r - 2 < 0 ? 0 : r - 2; j <= r && j < R; ++j) a[(r - j) * 3 + s] += gv[j] * v;
      }
  }
  for (int t = 0; t < 9; ++t) acc[t] = a[t];
  gs = gsl;
}

template <class T>
void tap_dots3(double* acc, const T* g, const T* xp, int64_t pitch, int64_t OH, int64_t OW, double* gsum) {
  typedef typename Vec<T>::type V;
  V a[9], gs = V{};
  for (int t = 0; t < 9; ++t) a[t] = V{};
  row_blocks(OH, nullptr, 0, [&](auto R, int64_t y) { tap_rows3<T, R>(a, gs, g + y * pitch, xp + y * pitch, pitch, OW); });
  add_tap_sums<T>(acc, a, 9, gs, gsum);
}

// acc[t] += sum_{y, x} g[y, x] * P[y * step + off[t] + x] (g [OH, OW] with row stride gs, columns
// contiguous): a strided convolution's tap sums over the input's column phases (Phases), a vector
// of g's row at a time with its lanes past OW zeroed, so P is read past each row harmlessly.
template <class T, int TAPS>
void tap_rows(double* acc, const T* g, int64_t gs, const T* P, int64_t step, const int64_t* off, int64_t OH,
              int64_t OW) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T);
  constexpr int taps = TAPS;
  V a[TAPS];
  for (int t = 0; t < taps; ++t) a[t] = V{};
  for (int64_t y = 0; y < OH; ++y) {
    const T* grow = g + y * gs;
    const T* prow = P + y * step;
    for (int64_t x0 = 0; x0 < OW; x0 += W) {
      const V gv = load_first(grow + x0, int(OW - x0 < W ? OW - x0 : W));
      for (int t = 0; t < taps; ++t) {
        V v;
        __builtin_memcpy(&v, prow + off[t] + x0, sizeof(V));
        a[t] += gv * v;
      }
    }
  }
  add_tap_sums<T>(acc, a, taps, V{}, nullptr);
}

template <class T>
void forward(const TensorView& out, const TensorView& x, const TensorView& w, const TensorView* bias, const DwGeom& g,
             Activation act) {
  const int64_t N = x.shape[0], C = x.shape[1];
  const int taps = int(g.KH * g.KW);
  int64_t off[kMaxRegTaps];
  for (int t = 0; t < taps && t < kMaxRegTaps; ++t) off[t] = t / g.KW * g.dh * g.PW + t % g.KW * g.dw;
  const TapPlan plan(off, taps, g.PW);
  const Phases ph(g);
  const bool phased = (g.sh != 1 || g.sw != 1) && taps <= kMaxRegTaps;
  int64_t off_ph[kMaxRegTaps];
  if (phased) ph.offsets(off_ph, g);
  constexpr int64_t W = kVecBytes / sizeof(T);
  const int64_t need = phased ? g.PH * g.PW + 2 * W + ph.size() + W : 2 * g.PH * g.PW + kVecBytes;
  parallel_for_balanced(0, N * C, 1, [&](int64_t lo, int64_t hi) {
    T* buf = scratch<T>(size_t(need));
    if (!buf) return;  // out of memory (the binding bounds the plane, so only a starved machine gets here)
    T* flat = buf + g.PH * g.PW + kVecBytes / sizeof(T);  // the output plane with pitch PW (stride 1)
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t n = t / C, c = t % C;
      const T* wc = w.ptr<T>() + c * g.KH * g.KW;
      const T b = bias ? bias->ptr<T>()[c] : T(0);
      T* op = out.ptr<T>() + t * g.OH * g.OW;
      place_plane(buf, g.PH, g.PW, x.ptr<T>() + n * x.strides[0] + c * x.strides[1], g.H, g.W, x.strides[3],
                  x.strides[4], g.ph, g.pw, phased ? 2 * W : W);  // Phases::split2 reads 2 vectors past
      // The plane, then its activation while it is in L1/L2.
      [&] {
        if (g.sh == 1 && g.sw == 1 && taps <= kMaxRegTaps) {
          Ahead next;  // the next task's input plane
          if (t + 1 < hi)
            next.set(x.ptr<T>() + (t + 1) / C * x.strides[0] + (t + 1) % C * x.strides[1], int64_t(sizeof(T)) * g.H * g.W, g.OH);
          correlate_any(op, buf, g.PW, wc, off, taps, b, g.OH, g.OW, plan, &next, 1);
          return;
        }
        if (phased) {
          T* phases = buf + g.PH * g.PW + 2 * W;
          ph.split(phases, buf, W);
          Ahead next;  // the next task's input plane
          if (t + 1 < hi)
            next.set(x.ptr<T>() + (t + 1) / C * x.strides[0] + (t + 1) % C * x.strides[1], int64_t(sizeof(T)) * g.H * g.W, g.OH);
          correlate_general(op, phases, g.sh * ph.QW, wc, off_ph, taps, b, g.OH, g.OW, &next, 1);
          return;
        }
        if (g.sh == 1 && g.sw == 1) {
          T* __restrict acc = flat;
          const int64_t n_flat = (g.OH - 1) * g.PW + g.OW;
          for (int64_t i = 0; i < n_flat; ++i) acc[i] = b;
          for (int64_t ky = 0; ky < g.KH; ++ky)
            for (int64_t kx = 0; kx < g.KW; ++kx) {
              const T wv = wc[ky * g.KW + kx];
              const T* __restrict src = buf + ky * g.dh * g.PW + kx * g.dw;
              for (int64_t i = 0; i < n_flat; ++i) acc[i] += wv * src[i];
            }
          for (int64_t y = 0; y < g.OH; ++y)
            for (int64_t x0 = 0; x0 < g.OW; ++x0) op[y * g.OW + x0] = acc[y * g.PW + x0];
          return;
        }
        for (int64_t y = 0; y < g.OH; ++y) {
          T* __restrict orow = op + y * g.OW;
          for (int64_t x0 = 0; x0 < g.OW; ++x0) orow[x0] = b;
          for (int64_t ky = 0; ky < g.KH; ++ky)
            for (int64_t kx = 0; kx < g.KW; ++kx) {
              const T wv = wc[ky * g.KW + kx];
              const T* __restrict src = buf + (y * g.sh + ky * g.dh) * g.PW + kx * g.dw;
              if (g.sw == 1) {
                for (int64_t x0 = 0; x0 < g.OW; ++x0) orow[x0] += wv * src[x0];
              } else {
                for (int64_t x0 = 0; x0 < g.OW; ++x0) orow[x0] += wv * src[x0 * g.sw];
              }
            }
        }
      }();
      activate(op, g.OH * g.OW, act);
    }
  });
}

// The input gradient of a strided convolution, a phase at a time: the padded input gradient's
// positions (sh Y + a, sw X + b) receive only the taps with ky dh = a and kx dw = b (mod sh, sw),
// each from gOut[Y - qy, X - qx] (qy = (ky dh - a) / sh, qx = (kx dw - b) / sw). That is a
// unit-stride correlation of gOut, zero-padded by the largest qy and qx, with those taps
// (correlate_general), into a [YN, XN] plane per phase; positions past the padded plane read only
// padding and come out 0. Then each row of dx is interleaved from its phases' rows in a row
// buffer and written once.
template <class T>
void input_grad_phased(const TensorView& dx, const TensorView& gout, const TensorView& w, const DwGeom& g) {
  typedef typename Vec<T>::type V;
  const int64_t N = dx.shape[0], C = dx.shape[1];
  const int taps = int(g.KH * g.KW);
  constexpr int64_t W = kVecBytes / sizeof(T);
  const int64_t YN = (g.PH + g.sh - 1) / g.sh, XN = (g.PW + g.sw - 1) / g.sw, nph = g.sh * g.sw;
  const int64_t GN = (YN + (g.KH - 1) * g.dh / g.sh) * (XN + (g.KW - 1) * g.dw / g.sw);
  const int64_t row_len = (g.sw * XN > g.pw + g.W ? g.sw * XN : g.pw + g.W) + 2 * W;
  parallel_for_balanced(0, N * C, 1, [&](int64_t lo, int64_t hi) {
    T* buf = scratch<T>(size_t(GN + W + nph * YN * XN + row_len));
    if (!buf) return;
    T* planes = buf + GN + W;  // phase (a, b) at planes + (a sw + b) YN XN
    T* row = planes + nph * YN * XN;
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t n = t / C, c = t % C;
      const T* gp = gout.ptr<T>() + n * gout.strides[0] + c * gout.strides[1];
      const T* wc = w.ptr<T>() + c * taps;
      for (int64_t a = 0; a < g.sh; ++a)
        for (int64_t b = 0; b < g.sw; ++b) {
          T* plane = planes + (a * g.sw + b) * YN * XN;
          T wt[kMaxRegTaps];
          int64_t qy[kMaxRegTaps], qx[kMaxRegTaps], off[kMaxRegTaps];
          int k = 0;
          int64_t qy_max = 0, qx_max = 0;
          for (int tap = 0; tap < taps; ++tap) {
            const int64_t ry = tap / g.KW * g.dh, rx = tap % g.KW * g.dw;
            if (ry % g.sh != a || rx % g.sw != b) continue;
            wt[k] = wc[tap], qy[k] = (ry - a) / g.sh, qx[k] = (rx - b) / g.sw;
            qy_max = qy[k] > qy_max ? qy[k] : qy_max;
            qx_max = qx[k] > qx_max ? qx[k] : qx_max;
            ++k;
          }
          if (k == 0) {  // a filter smaller than the stride: no tap reaches this phase
            zero_run(plane, YN * XN);
            continue;
          }
          const int64_t gh = YN + qy_max, gw = XN + qx_max;
          place_plane(buf, gh, gw, gp, g.OH, g.OW, gout.strides[3], gout.strides[4], qy_max, qx_max, W);
          for (int i = 0; i < k; ++i) off[i] = (qy_max - qy[i]) * gw + qx_max - qx[i];
          correlate_general(plane, buf, gw, wt, off, k, T(0), YN, XN);
        }
      // dx row r is padded row r + ph: phase row Y = (r + ph) / sh of phases (a, 0..sw), a = (r + ph) % sh.
      T* dp = dx.ptr<T>() + t * g.H * g.W;
      for (int64_t r = 0; r < g.H; ++r) {
        const int64_t a = (r + g.ph) % g.sh, Y = (r + g.ph) / g.sh;
        if (Y >= YN) {
          zero_run(dp + r * g.W, g.W);
          continue;
        }
        const T* p0 = planes + a * g.sw * YN * XN + Y * XN;
        if (g.sw == 2) {
          typedef typename std::conditional<sizeof(T) == 4, int32_t, int64_t>::type I;
          typedef I IV __attribute__((vector_size(kVecBytes)));
          IV lo_half, hi_half;  // lanes (e0 o0 e1 o1 ...) of the first and second W columns
          for (int l = 0; l < W; ++l) lo_half[l] = I(l / 2 + (l % 2) * W), hi_half[l] = I(W / 2 + l / 2 + (l % 2) * W);
          const T* p1 = p0 + YN * XN;
          for (int64_t X = 0; X < XN; X += W) {
            const int n = int(XN - X < W ? XN - X : W);
            const V e = load_first(p0 + X, n), o = load_first(p1 + X, n);
            const V r0 = __builtin_shuffle(e, o, lo_half), r1 = __builtin_shuffle(e, o, hi_half);
            __builtin_memcpy(row + 2 * X, &r0, sizeof(V));
            __builtin_memcpy(row + 2 * X + W, &r1, sizeof(V));
          }
        } else {
          for (int64_t b = 0; b < g.sw; ++b) {
            const T* pb = p0 + b * YN * XN;
            for (int64_t X = 0; X < XN; ++X) row[X * g.sw + b] = pb[X];
          }
        }
        zero_run(row + g.sw * XN, row_len - g.sw * XN - W);
        copy_run(dp + r * g.W, row + g.pw, g.W);
      }
    }
  });
}

template <class T>
void input_grad(const TensorView& dx, const TensorView& gout, const TensorView& w, const DwGeom& g) {
  const int64_t N = dx.shape[0], C = dx.shape[1];
  // Stride 1: dx[h, w] = sum_t w[ky, kx] * P[h + (KH-1-ky)*dh, w + (KW-1-kx)*dw], P being gOut placed
  // at ((KH-1)*dh - ph, (KW-1)*dw - pw) in a [H + (KH-1)*dh, W + (KW-1)*dw] plane of zeros: the
  // forward's correlation with the flipped filter.
  const int taps = int(g.KH * g.KW);
  if ((g.sh != 1 || g.sw != 1) && taps <= kMaxRegTaps) return input_grad_phased<T>(dx, gout, w, g);
  const int64_t GH = g.H + (g.KH - 1) * g.dh, GW = g.W + (g.KW - 1) * g.dw;
  const bool correlated = g.sh == 1 && g.sw == 1 && taps <= kMaxRegTaps;
  int64_t off[kMaxRegTaps];
  for (int t = 0; t < taps && t < kMaxRegTaps; ++t)
    off[t] = (g.KH - 1 - t / g.KW) * g.dh * GW + (g.KW - 1 - t % g.KW) * g.dw;
  const TapPlan plan(off, correlated ? taps : 0, GW);
  const int64_t need = correlated ? GH * GW : 2 * g.PH * g.PW;
  parallel_for_balanced(0, N * C, 1, [&](int64_t lo, int64_t hi) {
    T* buf = scratch<T>(size_t(need + kVecBytes));
    if (!buf) return;
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t n = t / C, c = t % C;
      if (correlated) {
        const T* gp = gout.ptr<T>() + n * gout.strides[0] + c * gout.strides[1];
        place_plane(buf, GH, GW, gp, g.OH, g.OW, gout.strides[3], gout.strides[4], (g.KH - 1) * g.dh - g.ph,
                    (g.KW - 1) * g.dw - g.pw, kVecBytes / sizeof(T));
        correlate_any(dx.ptr<T>() + t * g.H * g.W, buf, GW, w.ptr<T>() + c * taps, off, taps, T(0), g.H, g.W, plan);
        continue;
      }
      for (int64_t i = 0; i < g.PH * g.PW; ++i) buf[i] = T(0);
      const T* gp = gout.ptr<T>() + n * gout.strides[0] + c * gout.strides[1];
      const T* wc = w.ptr<T>() + c * g.KH * g.KW;
      if (g.sh == 1 && g.sw == 1) {
        // g with pitch PW (zeros past OW), then one AXPY per tap into the padded gradient.
        T* __restrict gf = buf + g.PH * g.PW;
        const int64_t n_flat = (g.OH - 1) * g.PW + g.OW;
        g.pitch_rows(gf, gp, gout.strides[3], gout.strides[4]);
        for (int64_t ky = 0; ky < g.KH; ++ky)
          for (int64_t kx = 0; kx < g.KW; ++kx) {
            const T wv = wc[ky * g.KW + kx];
            T* __restrict dst = buf + ky * g.dh * g.PW + kx * g.dw;
            for (int64_t i = 0; i < n_flat; ++i) dst[i] += wv * gf[i];
          }
      } else {
        // Strided: each output row's taps land every sw-th column of a padded row.
        const int64_t gs = gout.strides[4];
        for (int64_t y = 0; y < g.OH; ++y) {
          const T* __restrict grow = gp + y * gout.strides[3];
          for (int64_t ky = 0; ky < g.KH; ++ky)
            for (int64_t kx = 0; kx < g.KW; ++kx) {
              const T wv = wc[ky * g.KW + kx];
              T* __restrict dst = buf + (y * g.sh + ky * g.dh) * g.PW + kx * g.dw;
              for (int64_t x0 = 0; x0 < g.OW; ++x0) dst[x0 * g.sw] += wv * grow[x0 * gs];
            }
        }
      }
      // The interior of the padded buffer is dx; input positions no window reaches get 0.
      T* dp = dx.ptr<T>() + t * g.H * g.W;
      const int64_t cols = g.PW - g.pw < g.W ? (g.PW - g.pw > 0 ? g.PW - g.pw : 0) : g.W;  // columns inside the buffer
      for (int64_t h = 0; h < g.H; ++h) {
        T* __restrict drow = dp + h * g.W;
        const int64_t r = h + g.ph;
        if (r >= g.PH) {
          for (int64_t x0 = 0; x0 < g.W; ++x0) drow[x0] = T(0);
          continue;
        }
        const T* __restrict brow = buf + r * g.PW + g.pw;
        for (int64_t x0 = 0; x0 < cols; ++x0) drow[x0] = brow[x0];
        for (int64_t x0 = cols; x0 < g.W; ++x0) drow[x0] = T(0);
      }
    }
  });
}

template <class T>
void weight_grad(const TensorView& dw, const TensorView& x, const TensorView& gout, const DwGeom& g) {
  const int64_t N = x.shape[0], C = x.shape[1], taps = g.KH * g.KW;
  constexpr int W = kVecBytes / sizeof(T);
  int64_t off[kMaxRegTaps];
  for (int64_t t = 0; t < taps && t < kMaxRegTaps; ++t) off[t] = t / g.KW * g.dh * g.PW + t % g.KW * g.dw;
  const Phases ph(g);
  const bool phased = (g.sh != 1 || g.sw != 1) && taps <= kMaxRegTaps;
  int64_t off_ph[kMaxRegTaps];
  if (phased) ph.offsets(off_ph, g);
  const int64_t need = phased ? g.PH * g.PW + 2 * W + ph.size() + W + g.OH * g.OW + W : 2 * g.PH * g.PW + 2 * W;
  parallel_for(0, C, 1, [&](int64_t lo, int64_t hi) {
    T* buf = scratch<T>(size_t(need));
    T* gf = buf + g.PH * g.PW + W;  // g with pitch PW (stride 1), zeros to a whole vector past its end
    static thread_local Scratch acc_scratch;
    double* acc = static_cast<double*>(acc_scratch.get(sizeof(double) * size_t(taps)));
    if (!buf || !acc) return;
    for (int64_t c = lo; c < hi; ++c) {
      for (int64_t k = 0; k < taps; ++k) acc[k] = 0;
      for (int64_t n = 0; n < N; ++n) {
        const T* gp = gout.ptr<T>() + n * gout.strides[0] + c * gout.strides[1];
        const int64_t gs = gout.strides[4];
        place_plane(buf, g.PH, g.PW, x.ptr<T>() + n * x.strides[0] + c * x.strides[1], g.H, g.W, x.strides[3],
                    x.strides[4], g.ph, g.pw, phased ? 2 * W : W);  // Phases::split2 reads 2 vectors past
        if (phased) {
          T* phases = buf + g.PH * g.PW + 2 * W;
          ph.split(phases, buf, W);
          const T* grows = gp;  // g's rows, columns contiguous
          int64_t grs = gout.strides[3];
          if (gs != 1) {
            T* gc = phases + ph.size() + W;
            place_plane(gc, g.OH, g.OW, gp, g.OH, g.OW, gout.strides[3], gs, 0, 0, 0);
            grows = gc, grs = g.OW;
          }
          tap_chunks(int(taps), [&](auto K, int t0) {
            tap_rows<T, K>(acc + t0, grows, grs, phases, g.sh * ph.QW, off_ph + t0, g.OH, g.OW);
          });
          continue;
        }
        if (g.sh == 1 && g.sw == 1 && taps <= kMaxRegTaps) {
          const int64_t n_flat = (g.OH - 1) * g.PW + g.OW;
          g.pitch_rows(gf, gp, gout.strides[3], gs);
          for (int l = 0; l < W; ++l) gf[n_flat + l] = T(0);
          tap_chunks(int(taps), [&](auto K, int t0) { tap_dots<T, K>(acc + t0, gf, buf, off + t0, n_flat, nullptr); });
          continue;
        }
        if (g.sh == 1 && g.sw == 1) {
          const int64_t n_flat = (g.OH - 1) * g.PW + g.OW;
          g.pitch_rows(gf, gp, gout.strides[3], gs);
          for (int64_t ky = 0; ky < g.KH; ++ky)
            for (int64_t kx = 0; kx < g.KW; ++kx) {
              acc[ky * g.KW + kx] += double(dot(gf, buf + ky * g.dh * g.PW + kx * g.dw, n_flat));
            }
          continue;
        }
        for (int64_t y = 0; y < g.OH; ++y) {
          const T* __restrict grow = gp + y * gout.strides[3];
          for (int64_t ky = 0; ky < g.KH; ++ky)
            for (int64_t kx = 0; kx < g.KW; ++kx) {
              const T* __restrict src = buf + (y * g.sh + ky * g.dh) * g.PW + kx * g.dw;
              T s = 0;
              if (g.sw == 1 && gs == 1) {
                for (int64_t x0 = 0; x0 < g.OW; ++x0) s += grow[x0] * src[x0];
              } else {
                for (int64_t x0 = 0; x0 < g.OW; ++x0) s += grow[x0 * gs] * src[x0 * g.sw];
              }
              acc[ky * g.KW + kx] += double(s);
            }
        }
      }
      T* dc = dw.ptr<T>() + c * taps;
      for (int64_t k = 0; k < taps; ++k) dc[k] = T(acc[k]);
    }
  });
}

// The three gradients in one pass over gOut and x (the separate passes read gOut three times and
// the planes are too big to stay cached between them: 12.8 MB each for C 128, 56x56, N 8). Threads
// take channels; per channel and image, the gOut plane is read from memory once and used twice from
// cache: padded for the input gradient's correlation, and with pitch PW for the weight gradient's tap
// dot products and the bias sum (one pass: the sum comes from the tap loop's loads of gOut). With
// 'same' padding the padded plane already has pitch PW and serves both (A/B against a second copy,
// C 128, 56x56, N 8, forward + backward: 1.14x on one thread and on two). A thread walks its
// channels of one image, then of the next, keeping the sums over images per channel (in the same
// order as channel by channel: the same bits); its consecutive planes then lie next to each other,
// and while one is computed the next task's are fetched (Ahead). The order alone measured even.
// Stride 1 with at most kMaxRegTaps taps; other shapes take the separate passes.
template <class T>
void backward_fused(const TensorView* dx, const TensorView* dw, const TensorView* db, const TensorView& gout,
                    const TensorView& x, const TensorView& w, const DwGeom& g) {
  const int64_t N = x.shape[0], C = x.shape[1];
  const int taps = int(g.KH * g.KW);
  constexpr int W = kVecBytes / sizeof(T);
  const int64_t GH = g.H + (g.KH - 1) * g.dh, GW = g.W + (g.KW - 1) * g.dw;
  int64_t off_dx[kMaxRegTaps], off_dw[kMaxRegTaps];
  for (int t = 0; t < taps; ++t) {
    off_dx[t] = (g.KH - 1 - t / g.KW) * g.dh * GW + (g.KW - 1 - t % g.KW) * g.dw;
    off_dw[t] = t / g.KW * g.dh * g.PW + t % g.KW * g.dw;
  }
  const TapPlan plan(off_dx, taps, GW);
  const int64_t n_flat = (g.OH - 1) * g.PW + g.OW;
  const bool dense3 = g.KH == 3 && g.KW == 3 && g.dh == 1 && g.dw == 1;  // tap_dots3's filter
  const int64_t gp_len = GH * GW + W, xp_len = g.PH * g.PW + W, gf_len = g.PH * g.PW + 2 * W;
  const int64_t gs3 = gout.strides[3], gs4 = gout.strides[4];
  parallel_for_balanced(0, C, 1, [&](int64_t lo, int64_t hi) {
    // Per channel: taps sums for dW, then one for dB.
    static thread_local Scratch sums_buf;
    const int64_t sums = (hi - lo) * (taps + 1);
    T* buf = scratch<T>(size_t(gp_len + xp_len + gf_len));
    double* acc = static_cast<double*>(sums_buf.get(sizeof(double) * size_t(sums)));
    if (!buf || !acc) return;
    T* gpad = buf;               // gOut padded for the input gradient's correlation
    T* xpad = buf + gp_len;      // x padded, for the weight gradient
    T* gf = xpad + xp_len;       // gOut with pitch PW, zero to a whole vector past its end
    for (int64_t i = 0; i < sums; ++i) acc[i] = 0;
    for (int64_t k = 0; k < N * (hi - lo); ++k) {
      const int64_t n = k / (hi - lo), c = lo + k % (hi - lo);  // the thread's channels of image n, then n + 1
      double* ac = acc + (c - lo) * (taps + 1);  // taps dW sums, then the dB sum
      const T* wc = w.ptr<T>() + c * taps;
      const T* gp = gout.ptr<T>() + n * gout.strides[0] + c * gout.strides[1];
      Ahead next[2];  // the next task's gOut and x planes
      if (k + 1 < N * (hi - lo)) {
        const int64_t n1 = (k + 1) / (hi - lo), c1 = lo + (k + 1) % (hi - lo);
        next[0].set(gout.ptr<T>() + n1 * gout.strides[0] + c1 * gout.strides[1], int64_t(sizeof(T)) * g.OH * g.OW, g.H);
        next[1].set(x.ptr<T>() + n1 * x.strides[0] + c1 * x.strides[1], int64_t(sizeof(T)) * g.H * g.W, g.H);
      }
      if (dx) {
        place_plane(gpad, GH, GW, gp, g.OH, g.OW, gs3, gs4, (g.KH - 1) * g.dh - g.ph, (g.KW - 1) * g.dw - g.pw, W);
        correlate_any(dx->ptr<T>() + (n * C + c) * g.H * g.W, gpad, GW, wc, off_dx, taps, T(0), g.H, g.W, plan, next, 2);
      }
      if (!dw && !db) continue;
      // gOut with pitch PW: the padded plane itself where its pitch is PW ('same' padding, W == OW:
      // every column past OW there is the right padding or the next row's left), else a copy.
      const T* gfp = gf;
      if (dx && GW == g.PW) {
        gfp = gpad + ((g.KH - 1) * g.dh - g.ph) * GW + (g.KW - 1) * g.dw - g.pw;
      } else {
        g.pitch_rows(gf, gp, gs3, gs4);
        for (int l = 0; l < W; ++l) gf[n_flat + l] = T(0);
      }
      if (dw) {
        place_plane(xpad, g.PH, g.PW, x.ptr<T>() + n * x.strides[0] + c * x.strides[1], g.H, g.W, x.strides[3],
                    x.strides[4], g.ph, g.pw, W);
        double* bsum = db ? ac + taps : nullptr;
        if (dense3) tap_dots3<T>(ac, gfp, xpad, g.PW, g.OH, g.OW, bsum);
        else
          tap_chunks(taps, [&](auto K, int t0) {
            tap_dots<T, K>(ac + t0, gfp, xpad, off_dw + t0, n_flat, t0 == 0 ? bsum : nullptr);
          });
      } else {
        ac[taps] += double(sum_run(gfp, n_flat));
      }
    }
    for (int64_t c = lo; c < hi; ++c) {
      const double* ac = acc + (c - lo) * (taps + 1);
      if (dw)
        for (int t = 0; t < taps; ++t) dw->ptr<T>()[c * taps + t] = T(ac[t]);
      if (db) db->ptr<T>()[c] = T(ac[taps]);
    }
  });
}

template <class T>
void backward(const TensorView* dx, const TensorView* dw, const TensorView* db, const TensorView& gout, const TensorView& x,
              const TensorView& w, const DwGeom& g) {
  if (g.sh == 1 && g.sw == 1 && g.KH * g.KW <= kMaxRegTaps) return backward_fused<T>(dx, dw, db, gout, x, w, g);
  if (dx) input_grad<T>(*dx, gout, w, g);
  if (dw) weight_grad<T>(*dw, x, gout, g);
  if (db) conv_bias_grad(*db, gout);  // conv.cpp
}

}  // namespace

void conv_depthwise_backward(const TensorView* dx, const TensorView* dw, const TensorView* db, const TensorView& gout,
                             const TensorView& x, const TensorView& w, const SpatialGeom& geom) {
  const DwGeom g(geom);
  TF_DISPATCH_FLOAT(x.dtype, T, backward<T>(dx, dw, db, gout, x, w, g));
}

void conv_depthwise(int mode, const TensorView& y, const TensorView& x, const TensorView& w, const TensorView* bias,
                    const SpatialGeom& geom, Activation act) {
  const DwGeom g(geom);
  switch (mode) {
    case 0: TF_DISPATCH_FLOAT(x.dtype, T, forward<T>(y, x, w, bias, g, act)); break;  // y = out
    case 1: TF_DISPATCH_FLOAT(x.dtype, T, input_grad<T>(x, y, w, g)); break;     // x = dx, y = gOut
    default: TF_DISPATCH_FLOAT(x.dtype, T, weight_grad<T>(w, x, y, g)); break;   // w = dw, y = gOut
  }
}

TF_KERNEL_NAMESPACE_END
