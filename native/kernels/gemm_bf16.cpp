// bfloat16 GEMM on the CPU's own bfloat16 instructions:  C = alpha * A @ B + beta * C,  A [M, K] and
// B [K, N] bfloat16 (read as stored, any strides), C [M, N] float32 sums (gemm.cpp passes the bfloat16
// C too: the epilogue rounds each finished tile into it, Epi::narrow). Two kernels, on the loops,
// blocking and threading of gemm.cpp (Blocked, gemm_blocked.h):
//
// AMX (Sapphire Rapids and later): eight tile registers of 16 rows x 64 bytes; TDPBF16PS adds a
// [16 x 32] bfloat16 A tile times a [32 x 16] B tile into a [16 x 16] float32 C tile (8192 multiply-
// adds per instruction). The micro-kernel keeps a 32 x 32 block of C in four tiles, and per 32 of K
// loads two A tiles (rows of 32 consecutive k: the A panel is packed [K / 32][32 rows][32 k]) and
// two B tiles (16 pairs of k per row: the B panel's pair layout below).
//
// AVX512-BF16: vdpbf16ps multiplies 16 pairs of bfloat16 and adds both products of each pair into
// one float32 lane: c[l] += a[2l] * b[2l] + a[2l+1] * b[2l+1], twice the multiply-adds of an FMA per
// instruction where the core issues it as often (AMD's; Intel's issue it at half the FMA's rate, so
// there it is slower than widening and AMX is used instead). The packed panels hold K in pairs:
//   A panel (MR rows): for each pair p, MR 32-bit words (A[i, 2p], A[i, 2p+1]): one broadcast a row;
//   B panel (NR columns): for each pair p, NR words (B[2p, j], B[2p+1, j]): NR / 16 vector loads;
// an odd K is padded with a zero. The micro-kernel keeps 12 x 32 float32 sums in 24 registers, as
// gemm.cpp's does, and as there the first row panel's calls copy a row-major B's panels (here into
// pairs) as they read them; AMX packs B beforehand.
//
// The products are exact in float32 (8-bit significands) but each instruction rounds once after
// adding two of them, and denormal inputs and results are flushed to zero (the instruction's
// definition): within a float32 rounding of gemm.cpp's sums, far below bfloat16's own rounding.
#include "gemm_bf16.h"

#if defined(TF_CPU_LEVEL_avx512) && (defined(__x86_64__) || defined(_M_X64))
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TF_HAVE_BF16_DOT 1
#endif

TF_KERNEL_NAMESPACE_BEGIN

#if defined(TF_HAVE_BF16_DOT)

namespace {

// B panels of kPairNR = 32 columns (both kernels' NR) in pairs of k: 32 words (B[2p, j], B[2p+1, j])
// per pair p, zero past nc and from kc up to ks. pack_b_pairs_rows: a block with contiguous rows,
// read a pair of rows at a time; pack_b_pairs_panel: one panel with any strides.
constexpr int kPairNR = 32;

// Rows k (x0) and k + 1 (x1) of 32 columns as their 32 pairs (x0[j], x1[j]): columns 0-15 in lo,
// 16-31 in hi, by two cross-lane permutes (AVX512-BW).
struct PairIndex {
  alignas(64) uint16_t lo[32] = {};
  alignas(64) uint16_t hi[32] = {};
  constexpr PairIndex() {
    for (int j = 0; j < 16; ++j) {
      lo[2 * j] = uint16_t(j), lo[2 * j + 1] = uint16_t(32 + j);
      hi[2 * j] = uint16_t(16 + j), hi[2 * j + 1] = uint16_t(48 + j);
    }
  }
};
constexpr PairIndex kPairIndex{};
inline void interleave_pairs(__m512i x0, __m512i x1, __m512i& lo, __m512i& hi) {
  lo = _mm512_permutex2var_epi16(x0, _mm512_load_si512(kPairIndex.lo), x1);
  hi = _mm512_permutex2var_epi16(x0, _mm512_load_si512(kPairIndex.hi), x1);
}

void pack_b_pairs_rows(uint16_t* dst, const uint16_t* b, int64_t rs, int64_t nc, int64_t kc, int64_t ks) {
  for (int64_t k = 0; k < ks; k += 2) {
    const uint16_t* r0 = k < kc ? b + k * rs : nullptr;
    const uint16_t* r1 = k + 1 < kc ? b + (k + 1) * rs : nullptr;
    uint16_t* d = dst + k * kPairNR;  // pair k / 2 of panel 0
    for (int64_t j0 = 0; j0 < nc; j0 += kPairNR, d += kPairNR * ks) {
      const int nr = int(nc - j0 < kPairNR ? nc - j0 : kPairNR);
      if (nr == kPairNR && r0 && r1) {
        __m512i lo, hi;
        interleave_pairs(_mm512_loadu_si512(r0 + j0), _mm512_loadu_si512(r1 + j0), lo, hi);
        _mm512_storeu_si512(d, lo);
        _mm512_storeu_si512(d + 32, hi);
        continue;
      }
      for (int j = 0; j < nr; ++j) {
        d[2 * j] = r0 ? r0[j0 + j] : uint16_t(0);
        d[2 * j + 1] = r1 ? r1[j0 + j] : uint16_t(0);
      }
      for (int j = 2 * nr; j < 2 * kPairNR; ++j) d[j] = 0;
    }
  }
}
void pack_b_pairs_panel(uint16_t* dst, const uint16_t* b, int64_t rs, int64_t cs, int64_t nr, int64_t kc, int64_t ks) {
  for (int64_t k = 0; k < ks; k += 2) {
    for (int j = 0; j < nr; ++j) {
      dst[2 * j] = k < kc ? b[k * rs + j * cs] : uint16_t(0);
      dst[2 * j + 1] = k + 1 < kc ? b[(k + 1) * rs + j * cs] : uint16_t(0);
    }
    for (int j = 2 * int(nr); j < 2 * kPairNR; ++j) dst[j] = 0;
    dst += 2 * kPairNR;
  }
}

// Both kernels' B packing (32 columns of pairs, never read in place), for Blocked; K padded to
// Kernel::kstride.
template <class Kernel>
struct PairsB {
  static bool b_in_place(int64_t, int64_t, int64_t) { return false; }
  static void pack_b_rows(uint16_t* dst, const uint16_t* b, int64_t rs, int64_t nc, int64_t kc) {
    pack_b_pairs_rows(dst, b, rs, nc, kc, Kernel::kstride(kc));
  }
  static void pack_b_panel(uint16_t* dst, const uint16_t* b, int64_t rs, int64_t cs, int64_t nr, int64_t kc) {
    pack_b_pairs_panel(dst, b, rs, cs, nr, kc, Kernel::kstride(kc));
  }
};

struct Bf16Dot : PairsB<Bf16Dot> {
  typedef uint16_t TA;  // bfloat16 bits
  typedef float TC;
  static constexpr int MR = 12, NR = kPairNR;
  // As gemm.cpp's float blocks in bytes: a 36 KiB A panel in L1, a 480 KiB B block in L2, 2 MiB A
  // blocks. On Zen 5, KC 1536 against 768 (NC 160 against 320, MC 672 rows both) ran 1024^3 1.03x
  // faster on one thread and 1.10x on two, (4096, 1024, 1024) 1.05x and 1.03x, the other shapes
  // 1.0-1.01x (medians of seven alternating rounds in one process).
  static constexpr int64_t KC = 1536;
  // B's full panels are copied by the first row panel's micro-kernels (a pair of rows read in place,
  // interleaved into pairs and stored as it goes); the packed panels are pairs, not B's rows, so
  // micro reads B in place only while copying it (kPlainPanels false: Blocked then always gives
  // bcopy with an in-place panel). Against packing beforehand (pack_b_pairs_rows, as AMX does), in
  // alternating rounds: one thread 1.4-3.6% faster on the gemm suite's bfloat16 shapes, two threads
  // 4.5-7% on (512, 768, 768), 1024^3 and (512, 3072, 768) (B small enough that rows split, as for
  // float32), 1-2% on (4096, 1024, 1024) and 2048^3.
  static constexpr bool kCopiesB = true;
  static constexpr bool kPlainPanels = false;
  static constexpr int64_t NC = (int64_t(512) << 10) / (KC * 2) / NR * NR;
  static constexpr int64_t MC = (int64_t(2) << 20) / (KC * 2) / MR * MR;
  static int64_t kstride(int64_t kc) { return (kc + 1) / 2 * 2; }

  // Rows [0, mc) x K [0, kc) of A into MR-row panels of pairs (zero past mc and kc).
  // Where A's rows are contiguous in k and start an even number of elements apart, each pair is a
  // 32-bit word of A, so a full panel's pairs are gathered as float32 lanes are in gemm.cpp's
  // pack_a: 16 pairs of a row at a time through register transposes. Against value by value, the
  // products ran 1.02-1.04x faster on one thread and 1.03-1.10x on two (1024^3, 2048^3 and the
  // transformer shapes; on two threads each thread packs all of A's rows).
  static void pack_a(uint16_t* dst, const uint16_t* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc) {
    for (int64_t r = 0; r < mc; r += MR) {
      const int mr = int(mc - r < MR ? mc - r : MR);
      int64_t k = 0;
      if (cs == 1 && rs % 2 == 0 && mr == MR) {
        // Whole groups of 16 pairs only (vector loads and stores, no float-typed scalar access to
        // bfloat16 memory); the rest go value by value below.
        const int64_t pairs = kc / 2 / 16 * 16;
        const float* rows = reinterpret_cast<const float*>(a + r * rs);
        float* d32 = reinterpret_cast<float*>(dst);
        channels_last<float>(rows, rs / 2, pairs, [&](int64_t p) { return d32 + p * MR; }, MR);
        dst += 2 * MR * pairs;
        k = 2 * pairs;
      }
      for (; k < kc; k += 2) {
        const uint16_t* src = a + r * rs + k * cs;
        const bool second = k + 1 < kc;
        for (int i = 0; i < mr; ++i) {
          dst[2 * i] = src[i * rs];
          dst[2 * i + 1] = second ? src[i * rs + cs] : uint16_t(0);
        }
        for (int i = 2 * mr; i < 2 * MR; ++i) dst[i] = 0;
        dst += 2 * MR;
      }
    }
  }

  // C[0:mr, 0:nr] = alpha * (Ap @ Bp) + beta * C. bp: the packed panel (pairs, 2 x NR values per
  // pair), or with bcopy B's rows in place (ldb apart), stored packed at bcopy as they are read. A
  // ragged last panel (mr < MR) is computed in a tile of 4 or 8 rows where that covers it, as
  // gemm.cpp's is (the copying call computes all MR rows: A's panel is zero-padded).
  static void micro(int64_t kc, const uint16_t* ap, const uint16_t* bp, int64_t ldb, float* c, int64_t rsc,
                    int64_t csc, int mr, int nr, float alpha, float beta, const Epi<float>* ep, int64_t i0, int64_t j0,
                    uint16_t* bcopy, Ahead<uint16_t> next) {
    if (bcopy) return micro_pairs<MR, true>(kc, ap, bp, ldb, c, rsc, csc, mr, nr, alpha, beta, ep, i0, j0, bcopy, next);
    if (mr <= 4)
      return micro_pairs<4, false>(kc, ap, bp, ldb, c, rsc, csc, mr, nr, alpha, beta, ep, i0, j0, nullptr, next);
    if (mr <= 8)
      return micro_pairs<8, false>(kc, ap, bp, ldb, c, rsc, csc, mr, nr, alpha, beta, ep, i0, j0, nullptr, next);
    micro_pairs<MR, false>(kc, ap, bp, ldb, c, rsc, csc, mr, nr, alpha, beta, ep, i0, j0, nullptr, next);
  }

  // micro() on the first R rows of the panel (R >= mr; the panel's rows are still MR apart).
  template <int R, bool InPlace>
  __attribute__((target("avx512bf16"), noinline)) static void micro_pairs(
      int64_t kc, const uint16_t* ap, const uint16_t* bp, int64_t ldb, float* c, int64_t rsc, int64_t csc, int mr,
      int nr, float alpha, float beta, const Epi<float>* ep, int64_t i0, int64_t j0, uint16_t* bcopy,
      Ahead<uint16_t> next) {
    __m512 acc[R][2];
    for (int i = 0; i < R; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    // The tile's destination, written at the end: fetch its lines now, behind the dot products. It
    // is the bfloat16 C where the epilogue rounds into it (Epi::narrow), else the float32 one.
    // Fetching the float32 C's lines there instead (which the tile no longer writes) ran 512 x 768 x
    // 768 8% slower on one thread and 5-6% on two, 1024^3 1-2%, (512, 3072, 768) 3%.
    if (ep && ep->narrow) {
      for (int i = 0; i < mr; ++i) {
        const uint16_t* row = ep->narrow + (i0 + i) * ep->nrs + j0 * ep->ncs;
        __builtin_prefetch(row, 1, 3);
        __builtin_prefetch(row + (nr - 1) * ep->ncs, 1, 3);
      }
    } else {
      for (int i = 0; i < mr; ++i) {
        __builtin_prefetch(c + i * rsc, 1, 3);
        __builtin_prefetch(c + i * rsc + (nr - 1) * csc, 1, 3);
      }
    }
    constexpr int64_t kPrefetch = 8;  // pairs ahead in B's panel
    const int64_t pairs = (kc + 1) / 2;
    // B's rows of pair p, as the packed panel holds them (2 x NR values).
    auto b_pair = [&](int64_t p, __m512i& b0, __m512i& b1) __attribute__((always_inline)) {
      if constexpr (InPlace) {
        const uint16_t* r0 = bp + 2 * p * ldb;
        const int64_t ahead = 2 * (p + kPrefetch) < kc ? 2 * kPrefetch * ldb : 0;
        __builtin_prefetch(r0 + ahead, 0, 3);
        __builtin_prefetch(r0 + ahead + ldb, 0, 3);  // past kc when kc is odd: a hint, never read
        const __m512i x1 = 2 * p + 1 < kc ? _mm512_loadu_si512(r0 + ldb) : _mm512_setzero_si512();
        interleave_pairs(_mm512_loadu_si512(r0), x1, b0, b1);
        _mm512_storeu_si512(bcopy + p * 2 * NR, b0);
        _mm512_storeu_si512(bcopy + p * 2 * NR + NR, b1);
      } else {
        const uint16_t* q = bp + p * 2 * NR;
        const uint16_t* ahead = q + (p + kPrefetch < pairs ? kPrefetch * 2 * NR : 0);
        __builtin_prefetch(ahead, 0, 3);
        __builtin_prefetch(ahead + NR, 0, 3);
        b0 = _mm512_loadu_si512(q);
        b1 = _mm512_loadu_si512(q + NR);
      }
    };
    for (int64_t p = 0; p < pairs; ++p) {
      if (next.a) {  // pair p of A's next panel: 48 bytes, two lines at most
        __builtin_prefetch(next.a + p * 2 * MR, 0, 2);
        __builtin_prefetch(next.a + p * 2 * MR + 2 * MR - 1, 0, 2);
      }
      if (next.b) {  // pair p of the next panel, in this one's layout
        const uint16_t* nb = InPlace ? next.b + 2 * p * ldb : next.b + p * 2 * NR;
        __builtin_prefetch(nb, 0, 2);
        __builtin_prefetch(nb + (InPlace ? ldb : NR), 0, 2);
      }
      __m512i b0i, b1i;
      b_pair(p, b0i, b1i);
      const __m512bh b0 = (__m512bh)b0i, b1 = (__m512bh)b1i;
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) {
        int32_t pair;
        __builtin_memcpy(&pair, ap + 2 * i, sizeof(pair));
        const __m512bh av = (__m512bh)_mm512_set1_epi32(pair);
        acc[i][0] = _mm512_dpbf16_ps(acc[i][0], av, b0);
        acc[i][1] = _mm512_dpbf16_ps(acc[i][1], av, b1);
      }
      ap += 2 * MR;
    }
    typename Vec<float>::type sums[R][2];
    __builtin_memcpy(sums, acc, sizeof(sums));
    store_tile<float, R, 2>(sums, c, rsc, csc, mr, nr, alpha, beta, ep, i0, j0);
  }
};

struct Bf16Amx : PairsB<Bf16Amx> {
  typedef uint16_t TA;
  typedef float TC;
  static constexpr int MR = 32, NR = kPairNR;
  // K in blocks of 1536 (an A panel of 96 KiB, read from L2: tile loads take 64 bytes a cycle, and
  // fewer K blocks mean fewer passes loading and storing C's tiles; 384, 768, 1536 and 2048 measured,
  // 1536 fastest), B blocks of 512 KiB, A blocks of 1 MiB.
  static constexpr int64_t KC = 1536;
  static constexpr bool kCopiesB = false, kPlainPanels = false;  // B packed beforehand, in pairs
  static constexpr int64_t NC = (int64_t(512) << 10) / (KC * 2) / NR * NR;
  static constexpr int64_t MC = (int64_t(1) << 20) / (KC * 2) / MR * MR;
  static int64_t kstride(int64_t kc) { return (kc + 31) / 32 * 32; }

  // Rows [0, mc) x K [0, kc) of A into 32-row panels laid out [K / 32][32 rows][32 k], zero-padded.
  static void pack_a(uint16_t* dst, const uint16_t* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc) {
    const int64_t ks = kstride(kc);
    for (int64_t r = 0; r < mc; r += MR) {
      const int mr = int(mc - r < MR ? mc - r : MR);
      for (int64_t k0 = 0; k0 < ks; k0 += 32) {
        const int kn = int(kc - k0 < 32 ? (kc > k0 ? kc - k0 : 0) : 32);
        for (int i = 0; i < MR; ++i, dst += 32) {
          const uint16_t* src = a + (r + i) * rs + k0 * cs;
          if (i < mr && kn == 32 && cs == 1) {
            __builtin_memcpy(dst, src, 64);
            continue;
          }
          int kk = 0;
          if (i < mr)
            for (; kk < kn; ++kk) dst[kk] = src[kk * cs];
          for (; kk < 32; ++kk) dst[kk] = 0;
        }
      }
    }
  }
  // Tiles 0-3: C (rows t * 16, columns h * 16 of the block), 4-5: A (row halves), 6-7: B (column
  // halves), all 16 rows x 64 bytes. Tile configuration is per thread.
  __attribute__((target("amx-tile"))) static void configure() {
    static thread_local bool done = false;
    if (done) return;
    alignas(64) unsigned char cfg[64] = {};
    cfg[0] = 1;  // palette 1
    for (int t = 0; t < 8; ++t) {
      cfg[16 + 2 * t] = 64;  // bytes per row (little-endian uint16)
      cfg[48 + t] = 16;      // rows
    }
    _tile_loadconfig(cfg);
    done = true;
  }

  __attribute__((target("amx-tile,amx-bf16"))) static void micro(int64_t kc, const uint16_t* ap, const uint16_t* bp,
                                                                  int64_t, float* c, int64_t rsc, int64_t csc, int mr,
                                                                  int nr, float alpha, float beta,
                                                                  const Epi<float>* ep, int64_t i0, int64_t j0,
                                                                  uint16_t* /* bcopy: kCopiesB is false */,
                                                                  Ahead<uint16_t> /* next: unmeasured on AMX */) {
    configure();
    const int64_t blocks = kstride(kc) / 32;
    // Straight into C when nothing is left to apply: C rows contiguous, a full tile, alpha 1 and
    // beta 0 or 1 (C loaded into the tiles first), no epilogue. Otherwise through a float block.
    const bool direct = mr == MR && nr == NR && csc == 1 && alpha == 1.0f && (beta == 0.0f || beta == 1.0f) && !ep;
    const long ldc = long(rsc * int64_t(sizeof(float)));
    if (direct && beta == 1.0f) {
      _tile_loadd(0, c, ldc);
      _tile_loadd(1, c + 16, ldc);
      _tile_loadd(2, c + 16 * rsc, ldc);
      _tile_loadd(3, c + 16 * rsc + 16, ldc);
    } else {
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
    }
    for (int64_t kb = 0; kb < blocks; ++kb) {
      const uint16_t* at = ap + kb * MR * 32;
      const uint16_t* bt = bp + kb * 16 * 2 * NR;
      _tile_loadd(4, at, 64);
      _tile_loadd(5, at + 16 * 32, 64);
      _tile_loadd(6, bt, 2 * NR * 2);
      _tile_loadd(7, bt + 32, 2 * NR * 2);
      _tile_dpbf16ps(0, 4, 6);
      _tile_dpbf16ps(1, 4, 7);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    }
    if (direct) {
      _tile_stored(0, c, ldc);
      _tile_stored(1, c + 16, ldc);
      _tile_stored(2, c + 16 * rsc, ldc);
      _tile_stored(3, c + 16 * rsc + 16, ldc);
      return;
    }
    alignas(64) float tile[MR][NR];
    _tile_stored(0, &tile[0][0], NR * 4);
    _tile_stored(1, &tile[0][16], NR * 4);
    _tile_stored(2, &tile[16][0], NR * 4);
    _tile_stored(3, &tile[16][16], NR * 4);
    store_block<float, NR>(tile, c, rsc, csc, mr, nr, alpha, beta, ep, i0, j0);
  }
};

// AMX needs the CPU (CPUID leaf 7: AMX-TILE, AMX-BF16), the OS saving tile state (XCR0 bits 17
// and 18), and Linux's per-process permission for the tile data (arch_prctl ARCH_REQ_XCOMP_PERM).
bool amx_usable() {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  if (!(d & (1u << 24)) || !(d & (1u << 22))) return false;
  if (!__get_cpuid_count(1, 0, &a, &b, &c, &d) || !(c & (1u << 27))) return false;  // OSXSAVE
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & (3u << 17)) != (3u << 17)) return false;
#if defined(__linux__)
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) return false;
#endif
  return true;
}

// vdpbf16ps runs at full rate on AMD (Zen 4, Zen 5); on Intel's cores it issues at half the FMA's
// rate (measured on Sapphire Rapids: 0.47 per cycle, so 16 multiply-adds a cycle against the FMA's
// 32), slower than widening to float32, and there AMX is the fast path.
bool dot_fast() {
  unsigned a, b, c, d;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return false;
  const bool amd = b == 0x68747541u;  // "Auth" of "AuthenticAMD"
  return amd && __builtin_cpu_supports("avx512bf16");
}

Bf16Kernel g_pinned = Bf16Kernel::Auto;

}  // namespace

bool gemm_bf16_has(Bf16Kernel k) {
  static const bool amx = amx_usable(), dot = __builtin_cpu_supports("avx512bf16");
  switch (k) {
    case Bf16Kernel::Amx: return amx;
    case Bf16Kernel::Dot: return dot;
    default: return true;
  }
}

Bf16Kernel gemm_bf16_kernel() {
  if (g_pinned != Bf16Kernel::Auto) return gemm_bf16_has(g_pinned) ? g_pinned : Bf16Kernel::Widen;
  static const Bf16Kernel best =
      gemm_bf16_has(Bf16Kernel::Amx) ? Bf16Kernel::Amx : dot_fast() ? Bf16Kernel::Dot : Bf16Kernel::Widen;
  return best;
}

void gemm_bf16_pin(Bf16Kernel k) { g_pinned = k; }

void gemm_bf16(int64_t M, int64_t N, int64_t K, const uint16_t* a, int64_t rsa, int64_t csa, const uint16_t* b,
               int64_t rsb, int64_t csb, float* c, int64_t rsc, int64_t csc, float alpha, float beta,
               const Epi<float>* ep) {
  if (gemm_bf16_kernel() == Bf16Kernel::Amx) Blocked<Bf16Amx>::run(M, N, K, a, rsa, csa, b, rsb, csb, c, rsc, csc, alpha, beta, ep);
  else Blocked<Bf16Dot>::run(M, N, K, a, rsa, csa, b, rsb, csb, c, rsc, csc, alpha, beta, ep);
}

#else

bool gemm_bf16_has(Bf16Kernel k) { return k == Bf16Kernel::Widen || k == Bf16Kernel::Auto; }
Bf16Kernel gemm_bf16_kernel() { return Bf16Kernel::Widen; }
void gemm_bf16_pin(Bf16Kernel) {}
void gemm_bf16(int64_t, int64_t, int64_t, const uint16_t*, int64_t, int64_t, const uint16_t*, int64_t, int64_t, float*,
               int64_t, int64_t, float, float, const Epi<float>*) {}

#endif

TF_KERNEL_NAMESPACE_END
