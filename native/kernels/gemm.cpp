// Batched GEMM, BLIS-style:  C[b] = alpha * A[b] @ B[b] + beta * C[b]
//
//   A: [batch..., M, K]   B: [batch..., K, N]   C: [batch..., M, N]   any strides (transposes are
//   just strides: packing reads them, nothing is copied beforehand).
//
// Five loops around a register micro-kernel (Blocked::block, gemm_blocked.h): MC rows of A (packed)
// -> KC of K -> NC columns of B (packed, L2-sized) -> one MR-row panel of A (in L1) -> the NR-wide
// panels of B streaming past it; the micro-kernel (Gemm::micro) keeps an MR x NR tile of C in
// vector registers. Threads split C into a grid of blocks and run those loops independently
// (Blocked::run), so no thread waits for another. Products with a B small enough to stay in L2
// skip the packing and the loops: the micro-kernel reads A and B in place (Gemm::run_small). The
// vector width comes from the CPU level this file is compiled for (GCC vector extensions: 64 bytes
// on AVX-512, 32 on AVX2, 16 otherwise).
//
// Batch-reduce GEMM: a batch dim where C has stride 0 is summed over, not repeated:
//   C = alpha * sum_r A[r] @ B[r] + beta * C      (r runs over C's stride-0 batch dims)
// which is the weight gradient of a convolution (sum over images of gOut[n] @ cols[n]^T). When A's
// rows and B's columns are contiguous in k (that product's layout), DotGemm keeps a small tile of C
// in vector accumulators across all of r and k, so C is written once and nothing is packed.
#include <atomic>
#include <cstdlib>

#include "elementwise.h"
#include "gemm.h"
#include "gemm_blocked.h"
#include "gemm_bf16.h"
#include "simd.h"

TF_KERNEL_NAMESPACE_BEGIN

// The register tile: MR rows of A by NV vectors of B's columns (NR = NV * W), MR * NV accumulators.
// AVX-512 has 32 vector registers and a second shape, 8 x 3 vectors (24 accumulators, as many FMAs
// per loaded value): M = 64 (a layer's 64 output channels) fills 8 of its panels exactly, where 12
// rows take 6 panels of which 8 of 72 rows are padding (gemm_packed picks per product).
#if defined(TF_CPU_LEVEL_avx512)
constexpr int kMR = 12;
constexpr int kMR2 = 8, kNV2 = 3;
#elif defined(TF_CPU_LEVEL_avx2)
constexpr int kMR = 6;
#else
constexpr int kMR = 4;
#endif

// gemm_unpacked's setting: whether Gemm::run may take run_small.
std::atomic<bool> g_unpacked{true};

template <class T, int MR_ = kMR, int NV = 2>
struct Gemm {
  typedef typename Vec<T>::type V;
  static constexpr int W = kVecBytes / sizeof(T);
  static constexpr int NR = NV * W;
  static constexpr int MR = MR_;
  static constexpr int64_t kSmallM = 8 * kMR;
  // The smaller tiles a ragged panel of rows goes through (see micro).
  static constexpr int R4 = MR > 4 ? 4 : MR, R8 = MR > 8 ? 8 : MR;
  // Blocking (see block()), in bytes of one row or column so float64 gets half the elements:
  // KC: the A panel (MR x KC, 36 KiB at 12 rows) stays in L1 beside B's streaming panels;
  // NC: the packed B block (KC x NC, 480 KiB) stays in L2 (half of Zen 5's, a quarter of Sapphire
  //     Rapids'), with room for the A block's panels and C's lines passing through;
  // MC: the packed A block (MC x KC, 2 MiB) is re-read once per B block, from L2 or L3.
  // Measured on Zen 5 (1 MiB L2; alternating rounds in one process): KC 3072 bytes against 1536
  // (NC 160 against 320 columns, MC unchanged at 672 rows) ran two threads 4-14% faster on the
  // squares from 512 to 2048 and the transformer shapes (a K of 768 in one block: C written once,
  // A and B packed once), one thread 0-5% faster; 1024 bytes was 3% slower. (On Sapphire Rapids, 2
  // MiB L2, KC 1024-2048 bytes and NC 512 KiB-1 MiB were equal within noise; NC 256 KiB was 10%
  // slower at 2048^3.)
  static constexpr int64_t KC = 3072 / int64_t(sizeof(T));
  static constexpr int64_t NC = (int64_t(512) << 10) / (KC * int64_t(sizeof(T))) / NR * NR;
  static constexpr int64_t MC = (int64_t(2) << 20) / (KC * int64_t(sizeof(T))) / MR * MR;
  // For Blocked<Gemm>: operand and result types, K as packed (a panel holds MR x kstride(kc)), and
  // whether B's panels may be read in place.
  typedef T TA;
  typedef T TC;
  static int64_t kstride(int64_t kc) { return kc; }
  static bool b_in_place(int64_t M, int64_t rsb, int64_t csb) {
    // Few rows of A (a convolution's output channels) and rows of B contiguous: B's full panels are
    // read in place, since packing would copy all of B for little reuse; only a ragged last panel is
    // packed, zero-padded. Not when B's row stride is a multiple of 128 bytes: then the panel's kc
    // rows fall into few L1/L2 sets (a 4 KiB stride maps every row to the same set) and evict each
    // other ((64, 4096, 4096) ran at half speed).
    return csb == 1 && M <= kSmallM && (rsb * int64_t(sizeof(T))) % 128 != 0;
  }

  // Pack rows [i0, i0+mc) x cols [p0, p0+kc) of A into MR-tall panels: panel r holds, for each k,
  // the MR values A[i0 + r*MR + 0..MR-1, p0 + k] (zero-padded past M).
  static void pack_a(T* dst, const T* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc) {
    for (int64_t r = 0; r < mc; r += MR) {
      const int64_t mr = mc - r < MR ? mc - r : MR;
      if (cs == 1 && mr == MR) {
        // Rows contiguous in k (a row-major A): W values of each row at a time, turned into W
        // k-slices of the panel by register transposes (W rows each; MR may span several).
        for (int i0 = 0; i0 < MR; i0 += W)
          channels_last<T>(a + (r + i0) * rs, rs, kc, [&](int64_t k) { return dst + k * MR + i0; },
                           MR - i0 < W ? MR - i0 : W);
        dst += MR * kc;
        continue;
      }
      for (int64_t k = 0; k < kc; ++k) {
        const T* src = a + r * rs + k * cs;
        for (int i = 0; i < mr; ++i) dst[i] = src[i * rs];
        for (int i = mr; i < MR; ++i) dst[i] = T(0);
        dst += MR;
      }
    }
  }

  // Pack rows [p0, p0+kc) x cols [j0 + panel*NR ...) of B into NR-wide panels (zero-padded past N).
  static void pack_b_panel(T* dst, const T* b, int64_t rs, int64_t cs, int64_t nr, int64_t kc) {
    if (rs == 1 && nr == NR) {
      // Columns contiguous in k (B = W^T of x @ W^T, a convolution's columns transposed): W
      // columns at a time through register transposes, as pack_a's rows.
      for (int j0 = 0; j0 < NR; j0 += W)
        channels_last<T>(b + j0 * cs, cs, kc, [&](int64_t k) { return dst + k * NR + j0; });
      return;
    }
    if (cs == 1 && nr == NR) {
      for (int64_t k = 0; k < kc; ++k) {
        const T* src = b + k * rs;
        for (int j = 0; j < NR; ++j) dst[j] = src[j];
        dst += NR;
      }
      return;
    }
    if (cs == 1) {
      // A ragged panel of contiguous rows: each row's nr values a vector at a time, the last masked,
      // the padding zeros (copied one by one, this took 10% of a 64 x 64 x 60 product).
      for (int64_t k = 0; k < kc; ++k) {
        const T* src = b + k * rs;
        for (int v = 0; v < NV; ++v) {
          const int lanes = nr - v * W < 0 ? 0 : nr - v * W < W ? nr - v * W : W;
          const V x = lanes > 0 ? load_first<T>(src + v * W, lanes) : V{};
          __builtin_memcpy(dst + v * W, &x, sizeof(V));
        }
        dst += NR;
      }
      return;
    }
    for (int64_t k = 0; k < kc; ++k) {
      const T* src = b + k * rs;
      for (int j = 0; j < nr; ++j) dst[j] = src[j * cs];
      for (int j = nr; j < NR; ++j) dst[j] = T(0);
      dst += NR;
    }
  }

  // C[0:mr, 0:nr] = alpha * (Ap @ Bp) + beta * C   (beta == 0: C is not read)
  // ldb: distance between consecutive k rows of the B panel (NR when packed; B's row stride when
  // the panel is read in place).
  // With `ep` (on the last K block only), the finished tile gets the epilogue; (i0, j0) is its
  // position in C, which the bias is indexed by.
  // With `bcopy`, the B panel (read in place, a full NR wide, for a full MR rows) is also stored
  // there as packed: the first panel of A's rows packs B as it goes, its stores hidden behind the
  // FMAs (kCopiesB). `next` names the panels to fetch into L2 meanwhile (Ahead, gemm_blocked.h).
  // A ragged last panel (mr < MR) is computed in a tile of 4 or 8 rows where that covers it: at
  // M = 256 the 12-row tile's last panel holds 4 rows; computing only those ran 256^3 2-3% faster
  // and 128^3 2% (one thread, alternating rounds).
  static constexpr bool kCopiesB = true;
  static constexpr bool kPlainPanels = true;  // a packed panel is B's rows as read (NR apart)
  static void micro(int64_t kc, const T* ap, const T* bp, int64_t ldb, T* c, int64_t rsc, int64_t csc, int mr, int nr,
                    T alpha, T beta, const Epi<T>* ep = nullptr, int64_t i0 = 0, int64_t j0 = 0, T* bcopy = nullptr,
                    Ahead<T> next = {nullptr, nullptr}) {
    if (bcopy) return micro_rows<MR, true>(kc, ap, bp, ldb, c, rsc, csc, mr, nr, alpha, beta, ep, i0, j0, bcopy, next);
    if (mr <= R4)
      return micro_rows<R4, false>(kc, ap, bp, ldb, c, rsc, csc, mr, nr, alpha, beta, ep, i0, j0, nullptr, next);
    if (mr <= R8)
      return micro_rows<R8, false>(kc, ap, bp, ldb, c, rsc, csc, mr, nr, alpha, beta, ep, i0, j0, nullptr, next);
    micro_rows<MR, false>(kc, ap, bp, ldb, c, rsc, csc, mr, nr, alpha, beta, ep, i0, j0, nullptr, next);
  }

  // micro() on the first R rows of the panel (R >= mr; the panel's rows are still MR apart).
  // Kept out of line: inlined into Blocked::block's loops (GCC's choice once micro() dispatched to
  // three tiles), the 4-row tile took 3x as long as out of line and A's packing beside it 2x (the
  // time-stamp counter around each call, 256^3 on one thread).
  // AInPlace: ap is A itself, its rows lda apart and contiguous in k (run_small), not a packed panel.
  template <int R, bool Copy, bool AInPlace = false>
  __attribute__((noinline)) static void micro_rows(int64_t kc, const T* ap, const T* bp, int64_t ldb, T* c,
                                                   int64_t rsc, int64_t csc, int mr, int nr, T alpha, T beta,
                                                   const Epi<T>* ep, int64_t i0, int64_t j0, T* bcopy,
                                                   Ahead<T> next, int64_t lda = 0) {
    V acc[R][NV];
    for (int i = 0; i < R; ++i)
      for (int v = 0; v < NV; ++v) acc[i][v] = V{};
    // C's tile is written at the end: fetch its lines now, behind the FMAs (it is usually in L3).
    for (int i = 0; i < mr; ++i) {
      __builtin_prefetch(c + i * rsc, 1, 3);
      __builtin_prefetch(c + i * rsc + (nr - 1) * csc, 1, 3);
    }
    // B's panel streams from L2: ask for it kPrefetch rows ahead (the last rows re-ask for the last;
    // running on into the next panel, or not prefetching, measured 1-3% slower).
    constexpr int64_t kPrefetch = 8;
    for (int64_t k = 0; k < kc; ++k) {
      if (next.a) {  // row k of A's next panel, two lines at most (48 bytes of float, 96 of double)
        __builtin_prefetch(next.a + k * MR, 0, 2);
        __builtin_prefetch(next.a + k * MR + MR - 1, 0, 2);
      }
      if (next.b)
        for (int v = 0; v < NV; ++v) __builtin_prefetch(next.b + k * ldb + v * W, 0, 2);
      const T* ahead = bp + (k + kPrefetch < kc ? kPrefetch * ldb : 0);
      V bv[NV];
      for (int v = 0; v < NV; ++v) {
        __builtin_prefetch(ahead + v * W, 0, 3);
        __builtin_memcpy(&bv[v], bp + v * W, sizeof(V));
        if (Copy) __builtin_memcpy(bcopy + v * W, &bv[v], sizeof(V));
      }
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) {
        const T av = AInPlace ? ap[i * lda] : ap[i];
        for (int v = 0; v < NV; ++v) acc[i][v] += av * bv[v];
      }
      ap += AInPlace ? 1 : MR;
      bp += ldb;
      if (Copy) bcopy += NR;
    }
    store_tile<T, R, NV>(acc, c, rsc, csc, mr, nr, alpha, beta, ep, i0, j0);
  }

  // Products whose B fits in L2 (kSmallB, beside A's rows and C's lines passing through), with A's
  // and B's rows contiguous and K in one block, skip packing and the blocked loops: the micro-kernel
  // reads MR rows of A in place (they stay in L1 across B's panels) and B's rows in place (from L2
  // after the first row panel); only a ragged last panel of rows or of columns is copied,
  // zero-padded, since the kernel reads whole panels.
  // One thread against the packed path (alternating rounds): 64^3 1.13x, 32^3 1.10x, 128^3 1.08x,
  // 256^3 1.07x, 320^3 (400 KiB of B) 1.08x, (1024, 256, 256) 1.06x, (1000, 32, 768) 1.34x;
  // 384^3 (576 KiB) 1.02x, (256, 512, 256) (512 KiB) 1.01x, 512^3 0.91x.
  static constexpr double kSmallB = 400 << 10;
  static bool is_small(int64_t N, int64_t K, int64_t csa, int64_t csb) {
    return csa == 1 && csb == 1 && K >= 1 && K <= KC && double(K) * double(N) * sizeof(T) <= kSmallB;
  }
  static void run_small(int64_t M, int64_t N, int64_t K, const T* a, int64_t rsa, const T* b, int64_t rsb, T* c,
                        int64_t rsc, int64_t csc, T alpha, T beta, const Epi<T>* ep, int64_t threads) {
    const int64_t mpanels = (M + MR - 1) / MR;
    // parallel_for makes mpanels / grain chunks (rounded down): one per thread.
    parallel_for(0, mpanels, mpanels / threads > 1 ? mpanels / threads : 1, [&](int64_t lo, int64_t hi) {
      static thread_local Scratch pad;
      T* apad = static_cast<T*>(pad.get(sizeof(T) * size_t(MR + NR) * size_t(K)));
      if (!apad) return;
      T* bpad = apad + MR * K;
      const int64_t nfull = N / NR * NR;
      if (nfull < N) pack_b_panel(bpad, b + nfull, rsb, 1, N - nfull, K);
      for (int64_t ir = lo * MR; ir < M && ir < hi * MR; ir += MR) {
        const int mr = int(M - ir < MR ? M - ir : MR);
        // A ragged last panel (mr < MR): its first 8 or 4 rows in place through that tile, the 1-3
        // rows left over copied, zero-padded (at M = 64: 5 panels of 12 rows, then 4 rows in place,
        // where copying those 4 rows took 7% of the product).
        const int rt = mr == MR ? MR : mr >= R8 ? R8 : mr >= R4 ? R4 : 0, rest = mr - rt;
        if (rest) pack_a(apad, a + (ir + rt) * rsa, rsa, 1, rest, K);
        for (int64_t jr = 0; jr < N; jr += NR) {
          const int nr = int(N - jr < NR ? N - jr : NR);
          const T* bp = nr == NR ? b + jr : bpad;
          const int64_t ldb = nr == NR ? rsb : int64_t(NR);
          T* ct = c + ir * rsc + jr * csc;
          const T* ai = a + ir * rsa;
          const Ahead<T> none{nullptr, nullptr};
          if (rt == MR)
            micro_rows<MR, false, true>(K, ai, bp, ldb, ct, rsc, csc, rt, nr, alpha, beta, ep, ir, jr, nullptr, none, rsa);
          else if (rt == R8)
            micro_rows<R8, false, true>(K, ai, bp, ldb, ct, rsc, csc, rt, nr, alpha, beta, ep, ir, jr, nullptr, none, rsa);
          else if (rt == R4)
            micro_rows<R4, false, true>(K, ai, bp, ldb, ct, rsc, csc, rt, nr, alpha, beta, ep, ir, jr, nullptr, none, rsa);
          if (rest) micro(K, apad, bp, ldb, ct + rt * rsc, rsc, csc, rest, nr, alpha, beta, ep, ir + rt, jr);
        }
      }
    });
  }

  static void run(int64_t M, int64_t N, int64_t K, const T* a, int64_t rsa, int64_t csa, const T* b, int64_t rsb,
                  int64_t csb, T* c, int64_t rsc, int64_t csc, T alpha, T beta, const Epi<T>* ep = nullptr) {
    if (M > 0 && N > 0 && is_small(N, K, csa, csb) && g_unpacked.load(std::memory_order_relaxed)) {
      // Threads take ranges of row panels, at least four each (within 25% of even); with fewer the
      // packed path, which splits columns. A grid with columns split here ran (64, 1500, 64),
      // (96, 1000, 100) and (32, 3000, 27) on two threads at 0.74-0.84x the packed path. By rows, two
      // threads: 256^3 1.12x, 128^3 1.13x, (96, 1000, 100) 1.14x, (80, 1200, 64) 1.10x,
      // (1000, 32, 768) 1.34x, but (64, 1500, 64) 0.93x (four 8-row panels each).
      const int64_t threads = gemm_threads(M, N, K);
      if (threads == 1 || (M + MR - 1) / MR >= 4 * threads)
        return run_small(M, N, K, a, rsa, b, rsb, c, rsc, csc, alpha, beta, ep, threads);
    }
    Blocked<Gemm>::run(M, N, K, a, rsa, csa, b, rsb, csb, c, rsc, csc, alpha, beta, ep);
  }
};

// gemm_tile's pin: 0 picks per product, 1 the first shape, 2 the second.
std::atomic<int> g_tile_pin{0};

// C = alpha * A @ B + beta * C (then ep) by the packed kernels, in the tile shape that pads the
// product least: the second shape where it computes at least 2% fewer padded elements.
template <class T>
void gemm_packed(int64_t M, int64_t N, int64_t K, const T* a, int64_t rsa, int64_t csa, const T* b, int64_t rsb,
                 int64_t csb, T* c, int64_t rsc, int64_t csc, T alpha, T beta, const Epi<T>* ep = nullptr) {
#if defined(TF_CPU_LEVEL_avx512)
  typedef Gemm<T> G1;
  typedef Gemm<T, kMR2, kNV2> G2;
  auto padded = [&](int64_t mr, int64_t nr) {
    return double((M + mr - 1) / mr * mr) * double((N + nr - 1) / nr * nr);
  };
  const int pin = g_tile_pin.load(std::memory_order_relaxed);
  if (pin == 2 || (pin == 0 && padded(G2::MR, G2::NR) < 0.98 * padded(G1::MR, G1::NR)))
    return G2::run(M, N, K, a, rsa, csa, b, rsb, csb, c, rsc, csc, alpha, beta, ep);
#endif
  Gemm<T>::run(M, N, K, a, rsa, csa, b, rsb, csb, c, rsc, csc, alpha, beta, ep);
}

// C tile [TM x TN] = alpha * sum_r sum_k A_r[i, k] * B_r[k, j] + beta * C, where A_r's rows and B_r's
// columns are contiguous in k: every step loads TM + TN vectors of W consecutive k and does TM * TN
// vector FMAs; lanes are summed once at the end. The k tail is copied into zero-padded vectors.
#if defined(TF_CPU_LEVEL_avx512)
constexpr int kDotTM = 4;  // 16 accumulators + 8 operands of the 32 vector registers
#else
constexpr int kDotTM = 2;  // 8 accumulators + 6 operands of the 16
#endif
constexpr int kDotTN = 4;

template <class T>
struct DotGemm {
  typedef typename Vec<T>::type V;
  static constexpr int W = kVecBytes / sizeof(T);

  struct Args {
    int64_t M, N, K, R;
    const T* a;
    int64_t rsa;  // A_r[i, k] at a + a_off[r] + i * rsa + k
    const T* b;
    int64_t csb;  // B_r[k, j] at b + b_off[r] + j * csb + k
    const int64_t* a_off;
    const int64_t* b_off;
    T* c;
    int64_t rsc, csc;
    T alpha, beta;
  };

  template <int TM, int TN>
  static void tile(const Args& g, int64_t i0, int64_t j0) {
    V acc[TM][TN];
    for (int i = 0; i < TM; ++i)
      for (int j = 0; j < TN; ++j) acc[i][j] = V{};
    const int64_t kfull = g.K / W * W;
    // The k tail (K % W values): when K >= W, the last whole vector [K - W, K) is loaded again and
    // A's lanes already counted are zeroed by `tail_mask`; shorter rows go through a padded copy.
    const bool overlap_tail = kfull < g.K && g.K >= W;
    // Lanes are cleared by selecting zero, not by multiplying by it: 0 * Inf would be NaN.
    typedef typename std::conditional<sizeof(T) == 4, int32_t, int64_t>::type I;
    typedef I IV __attribute__((vector_size(kVecBytes)));
    IV tail_mask = IV{};
    for (int l = 0; l < W; ++l) tail_mask[l] = g.K - W + l >= kfull ? I(-1) : I(0);
    for (int64_t r = 0; r < g.R; ++r) {
      const T* ar[TM];
      const T* bc[TN];
      for (int i = 0; i < TM; ++i) ar[i] = g.a + g.a_off[r] + (i0 + i) * g.rsa;
      for (int j = 0; j < TN; ++j) bc[j] = g.b + g.b_off[r] + (j0 + j) * g.csb;
      for (int64_t k = 0; k < kfull; k += W) {
        V av[TM], bv[TN];
        for (int i = 0; i < TM; ++i) __builtin_memcpy(&av[i], ar[i] + k, sizeof(V));
        for (int j = 0; j < TN; ++j) __builtin_memcpy(&bv[j], bc[j] + k, sizeof(V));
        for (int i = 0; i < TM; ++i)
          for (int j = 0; j < TN; ++j) acc[i][j] += av[i] * bv[j];
      }
      if (kfull == g.K) continue;
      V av[TM], bv[TN];
      if (overlap_tail) {
        const int64_t k0 = g.K - W;
        for (int i = 0; i < TM; ++i) {
          __builtin_memcpy(&av[i], ar[i] + k0, sizeof(V));
          av[i] = tail_mask != 0 ? av[i] : V{};
        }
        for (int j = 0; j < TN; ++j) __builtin_memcpy(&bv[j], bc[j] + k0, sizeof(V));
      } else {
        const size_t tail = size_t(g.K - kfull) * sizeof(T);
        for (int i = 0; i < TM; ++i) {
          av[i] = V{};
          __builtin_memcpy(&av[i], ar[i] + kfull, tail);
        }
        for (int j = 0; j < TN; ++j) {
          bv[j] = V{};
          __builtin_memcpy(&bv[j], bc[j] + kfull, tail);
        }
      }
      for (int i = 0; i < TM; ++i)
        for (int j = 0; j < TN; ++j) acc[i][j] += av[i] * bv[j];
    }
    // All TM * TN accumulators' lanes summed at once (zero vectors pad them to a power of two):
    // against folding each accumulator's own lanes (log2(W) rotate-and-add steps each), one thread
    // ran x @ W^T at (8, 784, 128) and (16, 512, 128) 1.08x faster, x @ B at (2000, 16, 512) 1.05x
    // (alternating rounds).
    constexpr int P = TM * TN <= 1 ? 1 : TM * TN <= 2 ? 2 : TM * TN <= 4 ? 4 : TM * TN <= 8 ? 8 : 16;
    static_assert(TM * TN <= 16, "tile too large for sum_lanes_each");
    V flat[P];
    for (int i = 0; i < TM; ++i)
      for (int j = 0; j < TN; ++j) flat[i * TN + j] = acc[i][j];
    for (int p = TM * TN; p < P; ++p) flat[p] = V{};
    T sums[P];
    sum_lanes_each<T, P>(flat, sums);
    for (int i = 0; i < TM; ++i)
      for (int j = 0; j < TN; ++j) {
        const T sum = sums[i * TN + j];
        T* cij = g.c + (i0 + i) * g.rsc + (j0 + j) * g.csc;
        *cij = g.beta == T(0) ? g.alpha * sum : g.alpha * sum + g.beta * *cij;
      }
  }

  template <int TM>
  static void tile_rows(const Args& g, int64_t i0, int64_t j0, int tn) {
    switch (tn) {
      case 4: tile<TM, 4>(g, i0, j0); break;
      case 3: tile<TM, 3>(g, i0, j0); break;
      case 2: tile<TM, 2>(g, i0, j0); break;
      default: tile<TM, 1>(g, i0, j0); break;
    }
  }

  static void any_tile(const Args& g, int64_t i0, int64_t j0, int tm, int tn) {
    switch (tm) {
#if defined(TF_CPU_LEVEL_avx512)
      case 4: tile_rows<4>(g, i0, j0, tn); break;
      case 3: tile_rows<3>(g, i0, j0, tn); break;
#endif
      case 2: tile_rows<2>(g, i0, j0, tn); break;
      default: tile_rows<1>(g, i0, j0, tn); break;
    }
  }

  // The reduction runs in blocks of r whose operands fit in L2 (every tile of C re-reads its rows
  // of A and columns of B, so they must stay cached); C accumulates across blocks.
  static void run(const Args& g) {
    const int64_t mt = (g.M + kDotTM - 1) / kDotTM, nt = (g.N + kDotTN - 1) / kDotTN;
    const int64_t bytes_per_r = (g.M + g.N) * g.K * int64_t(sizeof(T));
    int64_t rb = (int64_t(512) << 10) / (bytes_per_r > 0 ? bytes_per_r : 1);
    if (rb < 1) rb = 1;
    for (int64_t r0 = 0; r0 < g.R; r0 += rb) {
      Args blk = g;
      blk.R = g.R - r0 < rb ? g.R - r0 : rb;
      blk.a_off = g.a_off + r0;
      blk.b_off = g.b_off + r0;
      if (r0 > 0) blk.beta = T(1);
      // Tiles in chunks of at least 64 K FMAs, several per thread for balance; but no more threads
      // than gemm_threads allows for the block's work: below ~2 MFLOP each, waking a thread costs
      // more than it saves (one thread against two, alternating rounds: (16, 16, 512) 2.6x faster,
      // (64, 8, 300) and (64, 16, 1024) 1.5x, (200, 8, 300) 1.15x; from 4 MFLOP even); or, for a
      // matrix-vector product, than stream_threads allows for what it reads.
      const int64_t work = blk.R * g.K * kDotTM * kDotTN;
      int64_t grain = work >= (1 << 16) ? 1 : (1 << 16) / (work + 1) + 1;
      const int64_t threads =
          std::max(gemm_threads(g.M, g.N, blk.R * g.K), stream_threads(double(blk.R) * double(bytes_per_r)));
      if (threads < num_threads()) grain = std::max(grain, (mt * nt + threads - 1) / threads);
      parallel_for_balanced(0, mt * nt, grain, [&](int64_t lo, int64_t hi) {
        for (int64_t t = lo; t < hi; ++t) {
          const int64_t i0 = t / nt * kDotTM, j0 = t % nt * kDotTN;
          const int tm = int(g.M - i0 < kDotTM ? g.M - i0 : kDotTM);
          const int tn = int(g.N - j0 < kDotTN ? g.N - j0 : kDotTN);
          any_tile(blk, i0, j0, tm, tn);
        }
      });
    }
  }
};

// Matrix-vector products (M == 1 or N == 1) skip packing: they are bound by reading the matrix
// once, so they stream it in whichever order its strides make contiguous.
//   y[j] = alpha * sum_k x[k] * Mat[k, j] + beta * y[j],  Mat[k, j] at mat + k * rs + j * cs
template <class T>
void gemv(int64_t K, int64_t N, const T* x, int64_t xs, const T* mat, int64_t rs, int64_t cs, T* y, int64_t ys,
          T alpha, T beta) {
  const int64_t threads = stream_threads(double(K) * double(N) * sizeof(T));
  if (cs == 1 || rs != 1) {
    // Rows of Mat are contiguous (or neither is): y += x[k] * Mat[k, :], threads own column ranges
    // (at least 256 columns each, so every thread streams its share of the matrix). Four rows of
    // Mat per pass over the accumulators: the pass is bound by loads and stores of acc, not FMAs.
    const int64_t grain = N / threads > 256 ? (N + threads - 1) / threads : threads > 1 ? 256 : N;
    parallel_for(0, N, grain, [&](int64_t lo, int64_t hi) {
      constexpr int64_t kChunk = 1024;
      T acc[kChunk];
      for (int64_t j0 = lo; j0 < hi; j0 += kChunk) {
        const int64_t nj = hi - j0 < kChunk ? hi - j0 : kChunk;
        for (int64_t j = 0; j < nj; ++j) acc[j] = T(0);
        int64_t k = 0;
        if (cs == 1) {
          for (; k + 4 <= K; k += 4) {
            const T x0 = x[k * xs], x1 = x[(k + 1) * xs], x2 = x[(k + 2) * xs], x3 = x[(k + 3) * xs];
            const T* r0 = mat + k * rs + j0;
            const T* r1 = r0 + rs;
            const T* r2 = r1 + rs;
            const T* r3 = r2 + rs;
            for (int64_t j = 0; j < nj; ++j) acc[j] += x0 * r0[j] + x1 * r1[j] + x2 * r2[j] + x3 * r3[j];
          }
        }
        for (; k < K; ++k) {
          const T xk = x[k * xs];
          const T* row = mat + k * rs + j0 * cs;
          if (cs == 1) {
            for (int64_t j = 0; j < nj; ++j) acc[j] += xk * row[j];
          } else {
            for (int64_t j = 0; j < nj; ++j) acc[j] += xk * row[j * cs];
          }
        }
        for (int64_t j = 0; j < nj; ++j) {
          T* yj = y + (j0 + j) * ys;
          *yj = beta == T(0) ? alpha * acc[j] : alpha * acc[j] + beta * *yj;
        }
      }
    });
  } else {
    // Columns of Mat are contiguous: y[j] = dot(x, Mat[:, j]).
    parallel_for(0, N, threads > 1 ? 64 : N, [&](int64_t lo, int64_t hi) {
      for (int64_t j = lo; j < hi; ++j) {
        const T* col = mat + j * cs;
        T part[16] = {};
        int64_t k = 0;
        if (xs == 1) {
          for (; k + 16 <= K; k += 16)
            for (int q = 0; q < 16; ++q) part[q] += x[k + q] * col[k + q];
        }
        T sum = 0;
        for (int q = 0; q < 16; ++q) sum += part[q];
        for (; k < K; ++k) sum += x[k * xs] * col[k];
        T* yj = y + j * ys;
        *yj = beta == T(0) ? alpha * sum : alpha * sum + beta * *yj;
      }
    });
  }
}

// The element offsets in A, B and C of batch index bi: over the batch dims C repeats (summed false)
// or over those it sums (stride 0, summed true), the last dim fastest.
inline void batch_offsets(const TensorView& c, const TensorView& a, const TensorView& b, int64_t bi, bool summed,
                          int64_t& oa, int64_t& ob, int64_t& oc) {
  oa = ob = oc = 0;
  for (int d = c.ndim - 3; d >= 0; --d) {
    if ((c.strides[d] == 0 && c.shape[d] > 1) != summed) continue;
    const int64_t i = bi % c.shape[d];
    bi /= c.shape[d];
    oa += i * a.strides[d];
    ob += i * b.strides[d];
    oc += i * c.strides[d];
  }
}

template <class T>
void gemm_t(const TensorView& c, const TensorView& a, const TensorView& b, double alpha, double beta,
            const Epi<T>* ep = nullptr) {
  const int nb = c.ndim - 2;
  const int64_t M = c.shape[nb], N = c.shape[nb + 1], K = a.shape[nb + 1];
  // Batch dims split into those C repeats (its stride != 0) and those summed over (stride 0).
  int64_t batch = 1, reduce = 1;
  for (int d = 0; d < nb; ++d) {
    if (c.strides[d] == 0 && c.shape[d] > 1) reduce *= c.shape[d];
    else batch *= c.shape[d];
  }
  // Offsets of batch index bi (over the repeated dims) or of reduce index bi (over the summed dims).
  auto offsets = [&](int64_t bi, bool summed, int64_t& oa, int64_t& ob, int64_t& oc) {
    batch_offsets(c, a, b, bi, summed, oa, ob, oc);
  };
  if (reduce > 1) {
    if (M == 0 || N == 0) return;
    int64_t* offs = static_cast<int64_t*>(std::malloc(sizeof(int64_t) * 2 * size_t(reduce)));
    if (!offs) return;
    for (int64_t r = 0; r < reduce; ++r) {
      int64_t oc;
      offsets(r, true, offs[r], offs[reduce + r], oc);
    }
    const bool dot = a.strides[nb + 1] == 1 && b.strides[nb] == 1 && K > 0;
    for (int64_t bi = 0; bi < batch; ++bi) {
      int64_t oa, ob, oc;
      offsets(bi, false, oa, ob, oc);
      if (dot) {
        typename DotGemm<T>::Args g{M, N, K, reduce, a.ptr<T>() + oa, a.strides[nb], b.ptr<T>() + ob, b.strides[nb + 1],
                                    offs, offs + reduce, c.ptr<T>() + oc, c.strides[nb], c.strides[nb + 1],
                                    T(alpha), T(beta)};
        DotGemm<T>::run(g);
      } else {
        // Other layouts: one product at a time, accumulating into C.
        for (int64_t r = 0; r < reduce; ++r)
          gemm_packed<T>(M, N, K, a.ptr<T>() + oa + offs[r], a.strides[nb], a.strides[nb + 1], b.ptr<T>() + ob + offs[reduce + r],
                       b.strides[nb], b.strides[nb + 1], c.ptr<T>() + oc, c.strides[nb], c.strides[nb + 1], T(alpha),
                       r == 0 ? T(beta) : T(1));
      }
    }
    std::free(offs);
    return;
  }
  const bool dot_layout = a.strides[nb + 1] == 1 && b.strides[nb] == 1;
  auto one = [&](int64_t bi) {
    int64_t oa, ob, oc;
    offsets(bi, false, oa, ob, oc);
    const T* pa = a.ptr<T>() + oa;
    const T* pb = b.ptr<T>() + ob;
    T* pc = c.ptr<T>() + oc;
    // The unpacked paths finish C in one go: their epilogue is one pass over it, while it is in cache.
    auto finish = [&] {
      if (ep) ep->block(pc, M, N, c.strides[nb], c.strides[nb + 1]);
    };
    // A matrix-vector product in the dot-product layout (x @ W^T at M = 1, A @ x with A row-major
    // at N = 1) goes to the dot-product kernel, which sums each accumulator's lanes once, where
    // gemv's column loop summed 16 partial sums one by one per output: against it (alternating
    // rounds) one thread ran (1, 512, 64) 1.2x, (1, 1000, 100) 1.2x and (1, 4096, 4096) 1.1x
    // faster, two threads (1, 4096, 4096) and (4096, 1, 4096) 1.35x, (256, 1, 256) 1.14x.
    const bool vec_dot = dot_layout && (M == 1 || N == 1) && K > 0;
    if (M == 1 && K > 0 && !vec_dot) {  // c[0, :] = a[0, :] @ B
      gemv<T>(K, N, pa, a.strides[nb + 1], pb, b.strides[nb], b.strides[nb + 1], pc, c.strides[nb + 1], T(alpha), T(beta));
      finish();
      return;
    }
    if (N == 1 && K > 0 && !vec_dot) {  // c[:, 0] = A @ b[:, 0], i.e. c^T = b^T @ A^T
      gemv<T>(K, M, pb, b.strides[nb], pa, a.strides[nb + 1], a.strides[nb], pc, c.strides[nb], T(alpha), T(beta));
      finish();
      return;
    }
    // Few columns (N <= 16: a 32-wide register tile would be mostly padding) and A's rows
    // contiguous: each C[i, j] is a dot product of A's row i and B's column j, which the dot-product
    // kernel computes at full vector width, streaming A's rows once while B's N columns stay cached.
    // B's columns are copied contiguous first where they are not (N x K elements: small). It sums
    // each tile's lanes at the end, which short rows do not repay: K >= 256, or N <= 4. One thread,
    // against the packed path (alternating runs): x @ W^T at (1000, 784, 10) 2.2x, (4096, 512, 10)
    // 2.0x, (2000, 512, 16) 1.4x; x @ B, B row-major: (1000, 784, 10) 2.3x, (4096, 512, 10) 1.6x,
    // (1000, 100, 3) 1.56x, (2000, 512, 16) 1.1-1.2x; but (512, 768, 24) 0.87-1.0x, (1000, 784, 31)
    // 0.82x, and with lanes summed one by one (before shuffle-and-add sums) (256, 128, 10) 0.82x,
    // (64, 84, 10) 0.67x.
    const bool few_cols = N <= 16 && K >= 32 && (K >= 256 || N <= 4) && a.strides[nb + 1] == 1 &&
                          double(N) * double(K) * sizeof(T) <= double(256 << 10);
    // x @ W^T small enough to stay in L2 (A's rows and B's columns contiguous in k) takes the dot
    // kernel where packing B (a transpose) would not be repaid: few rows (M <= 16), few columns
    // (N <= 32, with K >= 128 to repay each tile's lane sums; N <= 12 from K = 64), or long rows
    // (K >= 512) with M <= 64. Otherwise the packed kernel ran such products up to 2.3x faster:
    // (100, 50, 30) 2.3x, (64, 120, 84) (LeNet's second layer) 1.8x, (128, 256, 64) 1.47x,
    // (120, 400, 120) 1.19x (one thread, alternating rounds); the dot kernel stays ahead at
    // (8, 784, 128) 2.4x, (16, 512, 128) 1.7x, (256, 128, 10) 1.65x, (32, 784, 64) 1.18x.
    const bool dot_small = dot_layout && K >= 32 && double(M + N) * double(K) * sizeof(T) <= double(1 << 20) &&
                           (M <= 16 || (N <= 32 && K >= 128) || (N <= 12 && K >= 64) || (M <= 64 && K >= 512));
    // B's columns made contiguous, where few_cols and B is not in the dot layout (out of memory: the
    // packed path).
    static thread_local Scratch bt_scratch;
    T* bt = nullptr;
    if (few_cols && !dot_layout) bt = static_cast<T*>(bt_scratch.get(sizeof(T) * size_t(N) * size_t(K)));
    if (vec_dot || dot_small || (few_cols && (dot_layout || bt))) {
      const T* bcols = pb;
      int64_t csb = b.strides[nb + 1];
      if (!dot_layout) {
        // bt[j, k] = B[k, j], W values of k at a time so each write fills whole lines of bt (k by k,
        // its N rows K * 4 bytes apart fell into one L1 set at K = 1024: x @ B at (64, 16, 1024)
        // took 50.7 us, now 16.5; x @ W^T, which copies nothing, 14.0).
        const int64_t rsb = b.strides[nb], cs = b.strides[nb + 1];
        constexpr int64_t W = kVecBytes / int64_t(sizeof(T));
        for (int64_t k0 = 0; k0 < K; k0 += W) {
          const int lanes = int(K - k0 < W ? K - k0 : W);
          if (cs == 1) {
            channels_last<T>(pb + k0 * rsb, rsb, N, [&](int64_t j) { return bt + j * K + k0; }, lanes);
          } else {
            for (int64_t j = 0; j < N; ++j)
              for (int l = 0; l < lanes; ++l) bt[j * K + k0 + l] = pb[(k0 + l) * rsb + j * cs];
          }
        }
        bcols = bt;
        csb = K;
      }
      const int64_t zero = 0;
      typename DotGemm<T>::Args g{M, N, K, 1, pa, a.strides[nb], bcols, csb, &zero, &zero,
                                  pc, c.strides[nb], c.strides[nb + 1], T(alpha), T(beta)};
      DotGemm<T>::run(g);
      finish();
      return;
    }
    gemm_packed<T>(M, N, K, pa, a.strides[nb], a.strides[nb + 1], pb, b.strides[nb], b.strides[nb + 1], pc, c.strides[nb],
                 c.strides[nb + 1], T(alpha), T(beta), ep);
  };
  const double flops = 2.0 * double(M) * double(N) * double(K);
  if (batch > 1 && (flops < 4e6 || batch >= 4 * num_threads())) {
    // Many small products: one thread per matrix (the inner parallel_for then runs inline).
    parallel_for(0, batch, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t bi = lo; bi < hi; ++bi) one(bi);
    });
  } else {
    for (int64_t bi = 0; bi < batch; ++bi) one(bi);
  }
}

// ---- float16 / bfloat16 operands -------------------------------------------------------------------
// The operands are widened to float32 (one pass each, by the elementwise copy), multiplied by the
// float kernels above (so accumulation is in float32) and C is narrowed once at the end. C's summed
// (stride-0) batch dims stay summed: its float copy keeps stride 0 there.

// A float32 buffer holding v's elements densely; its stride-0 dims (broadcast in A or B, summed in
// C) keep stride 0 and are stored once.
struct Widened {
  float* data = nullptr;
  TensorView full{}, distinct{};  // the float view the GEMM takes; the view without the summed dims
  Widened(const TensorView& v, bool load) {
    full = v;
    full.dtype = kFloat32;
    int64_t n = 1;
    for (int d = v.ndim - 1; d >= 0; --d) {
      const bool summed = v.strides[d] == 0 && v.shape[d] > 1;
      full.strides[d] = summed ? 0 : n;
      if (!summed) n *= v.shape[d];
    }
    data = static_cast<float*>(std::malloc(sizeof(float) * size_t(n > 0 ? n : 1)));
    full.data = data;
    distinct = full;
    TensorView src = v;
    for (int d = 0; d < v.ndim; ++d)
      if (full.strides[d] == 0 && v.shape[d] > 1) distinct.shape[d] = src.shape[d] = 1;
    if (data && load) copy(distinct, src);
  }
  ~Widened() { std::free(data); }
  void store_to(const TensorView& v) const {  // narrows back into v (its summed dims written once)
    TensorView dst = v;
    for (int d = 0; d < v.ndim; ++d)
      if (full.strides[d] == 0 && v.shape[d] > 1) dst.shape[d] = 1;
    copy(dst, distinct);
  }
};

// bfloat16 operands where the CPU multiplies them itself (AMX or AVX512-BF16, gemm_bf16.cpp): A and B are
// read as they are, C accumulates in float32. Not for C's summed batch dims or matrix-vector shapes
// (those stay on the widened path).
bool bf16_dot_takes(const TensorView& c, const TensorView& a) {
  if (c.dtype != kBFloat16 || a.dtype != kBFloat16 || gemm_bf16_kernel() == Bf16Kernel::Widen) return false;
  const int nb = c.ndim - 2;
  for (int d = 0; d < nb; ++d)
    if (c.strides[d] == 0 && c.shape[d] > 1) return false;
  return c.shape[nb] > 1 && c.shape[nb + 1] > 1 && a.shape[nb + 1] > 1;
}

// c (bfloat16) = alpha * a @ b + beta * cf, the float32 sums kept in cf (c's shape), for bfloat16 a
// and b, batch by batch: the epilogue rounds each finished tile into c (Epi::narrow).
void bf16_dot_batched(const TensorView& c, const TensorView& cf, const TensorView& a, const TensorView& b,
                      double alpha, double beta, const Epi<float>& e) {
  const int nb = cf.ndim - 2;
  const int64_t M = cf.shape[nb], N = cf.shape[nb + 1], K = a.shape[nb + 1];
  int64_t batch = 1;
  for (int d = 0; d < nb; ++d) batch *= cf.shape[d];
  for (int64_t bi = 0; bi < batch; ++bi) {
    int64_t oa, ob, oc, unused_a, unused_b, on;
    batch_offsets(cf, a, b, bi, false, oa, ob, oc);
    batch_offsets(c, a, b, bi, false, unused_a, unused_b, on);
    Epi<float> here = e;
    here.narrow = static_cast<uint16_t*>(c.data) + on;
    here.nrs = c.strides[nb];
    here.ncs = c.strides[nb + 1];
    gemm_bf16(M, N, K, static_cast<const uint16_t*>(a.data) + oa, a.strides[nb], a.strides[nb + 1],
              static_cast<const uint16_t*>(b.data) + ob, b.strides[nb], b.strides[nb + 1],
              static_cast<float*>(cf.data) + oc, cf.strides[nb], cf.strides[nb + 1], float(alpha),
              float(beta), &here);
  }
}

void gemm_widened(const TensorView& c, const TensorView& a, const TensorView& b, double alpha, double beta,
                  const GemmEpilogue* ep) {
  Widened wc(c, beta != 0.0);
  if (!wc.data) return;  // with beta == 0, wc is not loaded: the products never read C then
  const bool dot = bf16_dot_takes(c, a);
  // False when out of memory (then c is left as it was).
  auto product = [&](const Epi<float>* e) {
    if (dot) {
      bf16_dot_batched(c, wc.full, a, b, alpha, beta, e ? *e : Epi<float>{nullptr, 0, 0, Activation::None});
      return true;
    }
    Widened wa(a, true), wb(b, true);
    if (!wa.data || !wb.data) return false;
    gemm_t<float>(wc.full, wa.full, wb.full, alpha, beta, e);
    return true;
  };
  if (ep && ep->bias) {
    // One of the bias strides is 0 (per column or per row); both are for a single broadcast value.
    const int nb = c.ndim - 2;
    const bool per_col = ep->bias_sn != 0 || ep->bias_sm == 0;
    const int64_t n = per_col ? c.shape[nb + 1] : c.shape[nb];
    Widened wbias(vector_view(ep->bias, c.dtype, n, per_col ? ep->bias_sn : ep->bias_sm), true);
    if (!wbias.data) return;
    const int64_t s = wbias.full.strides[0];
    const Epi<float> e{wbias.data, per_col ? 0 : s, per_col ? s : 0, ep->act};
    if (!product(&e)) return;
  } else {
    const Epi<float> e{nullptr, 0, 0, ep ? ep->act : Activation::None};
    if (!product(e.active() ? &e : nullptr)) return;
  }
  if (!dot) wc.store_to(c);  // the dot kernels wrote c as they finished its tiles
}

void gemm(const TensorView& c, const TensorView& a, const TensorView& b, double alpha, double beta) {
  if (is_half_dtype(c.dtype)) return gemm_widened(c, a, b, alpha, beta, nullptr);
  TF_DISPATCH_FLOAT(c.dtype, T, gemm_t<T>(c, a, b, alpha, beta));
}

void gemm_epilogue(const TensorView& c, const TensorView& a, const TensorView& b, double alpha, double beta,
                   const GemmEpilogue& ep) {
  if (is_half_dtype(c.dtype)) return gemm_widened(c, a, b, alpha, beta, &ep);
  TF_DISPATCH_FLOAT(c.dtype, T, {
    const Epi<T> e{static_cast<const T*>(ep.bias), ep.bias_sm, ep.bias_sn, ep.act};
    gemm_t<T>(c, a, b, alpha, beta, e.active() ? &e : nullptr);
  });
}

int gemm_tile(int request) {
#if defined(TF_CPU_LEVEL_avx512)
  constexpr int kShapes = 2;
#else
  constexpr int kShapes = 1;
#endif
  if (request > kShapes) return -1;
  if (request >= 0) g_tile_pin.store(request);
  return g_tile_pin.load();
}

int gemm_unpacked(int request) {
  if (request >= 0) g_unpacked.store(request != 0);
  return g_unpacked.load() ? 1 : 0;
}

int bf16_gemm_kernel(int request) {
  if (request >= 0) {
    const Bf16Kernel k = static_cast<Bf16Kernel>(request);
    if (request > 3 || !gemm_bf16_has(k)) return -1;
    gemm_bf16_pin(k);
  }
  return static_cast<int>(gemm_bf16_kernel());
}

int bf16_gemm_has(int kernel) { return kernel >= 0 && kernel <= 3 && gemm_bf16_has(static_cast<Bf16Kernel>(kernel)); }

TF_KERNEL_NAMESPACE_END
