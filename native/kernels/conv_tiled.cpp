// Convolution as im2col + GEMM a tile of output rows at a time: the CPU's conv_implicit (kernels.h),
// for the layers no direct kernel takes (strided, dilated, grouped, 3-D; ResNet's 7x7 stem).
//
//   x  [N, C, D, H, W] (any strides)   w [outC, Cg, KD, KH, KW] (contiguous)   Cg = C / G, Mg = outC / G
//   y  [N, outC, OD, OH, OW] (contiguous)                                      KK = KD*KH*KW, L = OD*OH*OW
//   mode 0 (forward):  y[n, g][:, tile] = act(w[g] [Mg, Cg*KK] @ cols[g] [Cg*KK, tile] + bias[g])
//   mode 2 (dW):       w[g] = sum over images and tiles of y[n, g][:, tile] @ cols[g]^T    (y = gOut)
//   mode 1 (dX):       x[n] = sum over tiles of col2im(w[g]^T [Cg*KK, Mg] @ y[n, g][:, tile])
// where cols is im2col of x[n] restricted to the tile's output rows (conv_rows.h), and a tile is a
// run of whole output rows (r = od*OH + oh, OW columns each) of one image.
//
// Whole-image columns are KK times the input: 7.4 MB per image for the stem (147 x 12544), so
// im2col wrote them to memory and the GEMM's packing read them back, and a batch chunk's column
// buffer took 32 MiB. A tile's columns are sized for L2 (kTileBytes), written and read there, and
// each thread needs one tile of workspace. Tiles are independent tasks, each running a
// single-threaded GEMM (gemm.cpp, called inside the parallel region); for dW each of a fixed set of
// parts sums its tiles into its own [outC, Cg*KK] buffer, and the parts are added in order, so the
// result does not depend on the thread count. dX tiles of one image overlap in the input rows they
// add into, so dX runs in parallel over images, or, for fewer images than threads, one tile at a time
// with the GEMM threaded.
#include <cstdlib>
#include <cstring>

#include "conv.h"
#include "conv_rows.h"
#include "gemm.h"
#include "simd.h"

TF_KERNEL_NAMESPACE_BEGIN

namespace {

constexpr int64_t kTileBytes = int64_t(768) << 10;  // a tile's columns, in L2 (measured: 256K-1.5M)
constexpr int64_t kMinTileColumns = 512;            // narrower tiles make short, inefficient GEMMs
constexpr int64_t kMaxWeightParts = 16;             // dW partial sums (fixed: deterministic)
constexpr double kPartsBytes = double(64 << 20);    // their workspace at most

// Output rows per tile, from a budget for its columns, balanced so the tiles of an image are even.
// TENSORFORGE_CONV_TILE_BYTES overrides the budget (tests use it to cross tile edges on small
// inputs; benchmarks to measure budgets).
template <class T>
int64_t rows_per_tile(int64_t K, int64_t OW, int64_t rows, double scale) {
  int64_t budget = int64_t(double(kTileBytes) * scale), min_rows = (kMinTileColumns + OW - 1) / OW;
  if (const char* env = std::getenv("TENSORFORGE_CONV_TILE_BYTES")) {
    budget = std::atoll(env);
    min_rows = 1;
  }
  int64_t r = budget / (int64_t(sizeof(T)) * (K > 0 ? K : 1) * (OW > 0 ? OW : 1));
  if (r < min_rows) r = min_rows;
  if (r > rows) r = rows;
  if (r < 1) r = 1;
  const int64_t tiles = (rows + r - 1) / r;
  return tiles > 0 ? (rows + tiles - 1) / tiles : 1;
}

template <class T>
struct Tiled {
  ConvArgs a;
  ColumnRanges cr;
  const TensorView &y, &x, &w;
  int64_t N, G, Mg, Cg, KK, rows, R, tiles;
  int64_t ldk() const { return Cg * KK; }  // a group's columns per weight row
  // A matrix of this dtype at p: rows x cols, strides rs and cs (what each tile's GEMMs take).
  TensorView mat(const T* p, int64_t rows_, int64_t cols, int64_t rs, int64_t cs) const {
    return matrix_view(p, x.dtype, rows_, cols, rs, cs);
  }
  // scale: of the tile budget (the weight gradient's GEMMs read and write all of their [Mg, Cg*KK]
  // output per tile, so a large one wants longer tiles).
  Tiled(const TensorView& y_, const TensorView& x_, const TensorView& w_, const SpatialGeom& g, int64_t groups,
        double scale = 1)
      : a(conv_args(x_, g)), cr(column_ranges(a)), y(y_), x(x_), w(w_) {
    N = x.shape[0];
    G = groups;
    Mg = y.shape[1] / G;
    Cg = a.C / G;
    KK = a.KD * a.KH * a.KW;
    rows = a.OD * a.OH;
    R = rows_per_tile<T>(a.C * KK, a.OW, rows, scale);
    tiles = (rows + R - 1) / R;
  }
  // Output rows [r0, r1) of tile t.
  void span(int64_t t, int64_t& r0, int64_t& r1) const {
    r0 = t * R;
    r1 = r0 + R < rows ? r0 + R : rows;
  }
  // cols [C*KK, (r1 - r0) * OW] (rows ld apart) of image n's output rows [r0, r1).
  void im2col_tile(T* cols, int64_t ld, int64_t n, int64_t r0, int64_t r1) const {
    T* xn = const_cast<T*>(x.ptr<T>()) + n * a.xs[0];
    for (int64_t c = 0; c < a.C; ++c) conv_plane_rows<true, T>(a, cr, xn + c * a.xs[1], cols + c * KK * ld, ld, r0, r1);
  }
  // A tile's workspace: its columns, for all groups (never 0 bytes: Scratch gives no buffer for 0,
  // and rows without columns still make GEMMs, which write their zero sums).
  size_t workspace() const { return sizeof(T) * size_t(a.C * KK * R * a.OW + 1); }
  // Task `task` (image n, tile task % tiles): its output rows [r0, r1), their columns cn, and (with
  // im2col) the columns written to cols.
  struct Tile {
    int64_t n, r0, r1, cn;
  };
  Tile tile(int64_t task) const {
    Tile tl;
    tl.n = task / tiles;
    span(task % tiles, tl.r0, tl.r1);
    tl.cn = (tl.r1 - tl.r0) * a.OW;
    return tl;
  }
  Tile im2col_task(T* cols, int64_t task) const {
    const Tile tl = tile(task);
    im2col_tile(cols, tl.cn, tl.n, tl.r0, tl.r1);
    return tl;
  }
  // y[n, g] as [Mg, L] (contiguous), from column r0 * OW on.
  T* y_at(int64_t n, int64_t g, int64_t r0) const {
    return y.ptr<T>() + n * y.strides[0] + g * Mg * y.strides[1] + r0 * a.OW;
  }
  const T* w_at(int64_t g) const { return w.ptr<T>() + g * Mg * ldk(); }
};

template <class T>
void forward_t(const TensorView& y, const TensorView& x, const TensorView& w, const T* bias, const SpatialGeom& g,
               int64_t groups, Activation act) {
  const Tiled<T> t(y, x, w, g, groups);
  parallel_for(0, t.N * t.tiles, 1, [&](int64_t lo, int64_t hi) {
    static thread_local Scratch scratch;
    T* cols = static_cast<T*>(scratch.get(t.workspace()));
    if (!cols) return;
    for (int64_t task = lo; task < hi; ++task) {
      const auto tl = t.im2col_task(cols, task);
      const int64_t cn = tl.cn;
      for (int64_t gi = 0; gi < t.G; ++gi) {
        const TensorView c = t.mat(t.y_at(tl.n, gi, tl.r0), t.Mg, cn, y.strides[1], 1);
        const TensorView av = t.mat(t.w_at(gi), t.Mg, t.ldk(), t.ldk(), 1);
        const TensorView bv = t.mat(cols + gi * t.ldk() * cn, t.ldk(), cn, cn, 1);
        if (bias || act != Activation::None)
          gemm_epilogue(c, av, bv, 1, 0, GemmEpilogue{bias ? bias + gi * t.Mg : nullptr, 1, 0, act});
        else gemm(c, av, bv, 1, 0);
      }
    }
  });
}

template <class T>
void weight_grad_t(const TensorView& y, const TensorView& x, const TensorView& w, const SpatialGeom& g, int64_t groups) {
  const double wbytes = double(sizeof(T)) * double(w.numel()) / double(groups);
  const Tiled<T> t(y, x, w, g, groups, wbytes > double(128 << 10) ? 2 : 1);
  const int64_t wsize = w.shape[0] * t.ldk(), total = t.N * t.tiles;
  T* dw = w.ptr<T>();
  if (wsize == 0) return;
  if (total == 0) {
    std::memset(dw, 0, sizeof(T) * size_t(wsize));
    return;
  }
  int64_t parts = int64_t(kPartsBytes / (double(sizeof(T)) * double(wsize)));
  if (parts > kMaxWeightParts) parts = kMaxWeightParts;
  if (parts > total) parts = total;
  if (parts < 1) parts = 1;
  // Part 0 sums straight into dw; the others into their own buffers.
  T* partial = parts > 1 ? static_cast<T*>(std::malloc(sizeof(T) * size_t((parts - 1) * wsize))) : nullptr;
  if (parts > 1 && !partial) parts = 1;
  parallel_for(0, parts, 1, [&](int64_t plo, int64_t phi) {
    static thread_local Scratch scratch;
    T* cols = static_cast<T*>(scratch.get(t.workspace()));
    if (!cols) return;
    for (int64_t part = plo; part < phi; ++part) {
      T* sums = part == 0 ? dw : partial + (part - 1) * wsize;
      const int64_t first = total * part / parts, last = total * (part + 1) / parts;
      for (int64_t task = first; task < last; ++task) {
        const auto tl = t.im2col_task(cols, task);
        const int64_t cn = tl.cn;
        for (int64_t gi = 0; gi < t.G; ++gi) {
          // sums[g] [Mg, Cg*KK] (+)= gOut tile [Mg, cn] @ cols[g]^T [cn, Cg*KK]
          const TensorView c = t.mat(sums + gi * t.Mg * t.ldk(), t.Mg, t.ldk(), t.ldk(), 1);
          const TensorView av = t.mat(t.y_at(tl.n, gi, tl.r0), t.Mg, cn, y.strides[1], 1);
          const TensorView bv = t.mat(cols + gi * t.ldk() * cn, cn, t.ldk(), 1, cn);
          gemm(c, av, bv, 1, task == first ? 0 : 1);
        }
      }
    }
  });
  if (parts > 1) {
    parallel_for(0, wsize, kGrainElementwise, [&](int64_t lo, int64_t hi) {
      for (int64_t part = 1; part < parts; ++part) {
        const T* p = partial + (part - 1) * wsize;
        for (int64_t i = lo; i < hi; ++i) dw[i] += p[i];
      }
    });
  }
  std::free(partial);
}

template <class T>
void input_grad_t(const TensorView& y, const TensorView& x, const TensorView& w, const SpatialGeom& g, int64_t groups) {
  const Tiled<T> t(y, x, w, g, groups);
  const int64_t plane = x.shape[1] * x.shape[2] * x.shape[3] * x.shape[4];
  // Image n's input gradient, one tile after another (cols: a tile's workspace).
  auto image = [&](T* cols, int64_t n) {
    T* dx = x.ptr<T>() + n * x.strides[0];
    std::memset(dx, 0, sizeof(T) * size_t(plane));
    for (int64_t ti = 0; ti < t.tiles; ++ti) {
      const auto tl = t.tile(n * t.tiles + ti);
      const int64_t cn = tl.cn, r0 = tl.r0, r1 = tl.r1;
      for (int64_t gi = 0; gi < t.G; ++gi) {
        // cols[g] [Cg*KK, cn] = w[g]^T [Cg*KK, Mg] @ gOut tile [Mg, cn]
        const TensorView c = t.mat(cols + gi * t.ldk() * cn, t.ldk(), cn, cn, 1);
        const TensorView av = t.mat(t.w_at(gi), t.ldk(), t.Mg, 1, t.ldk());
        const TensorView bv = t.mat(t.y_at(n, gi, r0), t.Mg, cn, y.strides[1], 1);
        gemm(c, av, bv, 1, 0);
      }
      for (int64_t c = 0; c < t.a.C; ++c)
        conv_plane_rows<false, T>(t.a, t.cr, dx + c * t.a.xs[1], cols + c * t.KK * cn, cn, r0, r1);
    }
  };
  const size_t bytes = t.workspace();
  if (t.N >= num_threads() || in_parallel_region()) {
    parallel_for(0, t.N, 1, [&](int64_t lo, int64_t hi) {
      static thread_local Scratch scratch;
      T* cols = static_cast<T*>(scratch.get(bytes));
      if (!cols) return;
      for (int64_t n = lo; n < hi; ++n) image(cols, n);
    });
  } else {
    T* cols = static_cast<T*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
    if (!cols) return;
    for (int64_t n = 0; n < t.N; ++n) image(cols, n);
    std::free(cols);
  }
}

}  // namespace

void conv_implicit(int mode, const TensorView& y, const TensorView& x, const TensorView& w, const TensorView* bias,
                   const SpatialGeom& g, int64_t groups, Activation act) {
  // No input channels (K = 0) needs no case here: the GEMMs write zero sums plus the bias.
  TF_DISPATCH_FLOAT(x.dtype, T, {
    switch (mode) {
      case 0: forward_t<T>(y, x, w, bias ? bias->ptr<T>() : nullptr, g, groups, act); break;
      case 1: input_grad_t<T>(y, x, w, g, groups); break;
      default: weight_grad_t<T>(y, x, w, g, groups); break;
    }
  });
}

TF_KERNEL_NAMESPACE_END
