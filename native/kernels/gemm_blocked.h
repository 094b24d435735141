// The parts of the packed GEMM that do not depend on its element types (gemm.cpp's float/double
// kernel, gemm_bf16.cpp's bfloat16 one): the epilogue, the store of a finished register tile, and
// the five loops with their threading (Blocked<Kernel>), BLIS-style.
//
// A Kernel provides: TA (the operands' element type as stored), TC (C's), the tile MR x NR, the
// blocks KC / NC / MC (in elements of K, of B's columns, of A's rows), kstride(kc) (K as packed: a
// packed A panel holds MR x kstride(kc) elements, a B panel NR x kstride(kc)), b_in_place(M, rsb,
// csb), pack_a, pack_b_panel, micro, kCopiesB: whether micro can pack B's panel as it reads it
// (else pack_b_rows packs a block of B whose rows are contiguous beforehand), and kPlainPanels:
// whether a packed B panel is B's rows as they are (so micro can read B in place without copying
// it; else it reads B in place only with bcopy). See Gemm in gemm.cpp for their contracts.
#pragma once
#include <algorithm>
#include <type_traits>

#include "activation.h"
#include "elementwise.h"
#include "half.h"
#include "simd.h"

TF_KERNEL_NAMESPACE_BEGIN

// The epilogue (kernel_types.h) as the kernels apply it: bias then activation on a row of C; then,
// with `narrow` (a bfloat16 C whose float32 sums the GEMM keeps in a C of its own), the finished
// values rounded to bfloat16 and written at narrow[i * nrs + j * ncs] (C's own copy is then stale),
// while the tile is still in registers or L1. A pass narrowing all of C afterwards took 3-4% of a
// product on one thread (512 x 768 x 768, 1024^3); without it the bfloat16 shapes of the gemm
// suite ran 0-5% faster on one thread and 2-7% on two (alternating rounds).
template <class T>
struct Epi {
  const T* bias;
  int64_t sm, sn;
  Activation act;
  uint16_t* narrow = nullptr;
  int64_t nrs = 0, ncs = 0;
  bool active() const { return bias || act != Activation::None || narrow; }
  // Row i (of the tile starting at C's (i0, j0)) of n elements at c with column stride cs.
  void row(T* c, int64_t cs, int64_t i, int64_t j0, int64_t n) const {
    if (bias) {
      const T* b = bias + i * sm + j0 * sn;
      for (int64_t j = 0; j < n; ++j) c[j * cs] += b[j * sn];
    }
    activate(c, cs, n, act);
    if (narrow)
      for (int64_t j = 0; j < n; ++j) narrow[i * nrs + (j0 + j) * ncs] = float_to_bf16_bits(float(c[j * cs]));
  }
  // The whole [M, N] block of C at c.
  void block(T* c, int64_t M, int64_t N, int64_t rs, int64_t cs) const {
    for (int64_t i = 0; i < M; ++i) row(c + i * rs, cs, i, 0, N);
  }
};

// dst[0:W) = the W floats of v rounded to bfloat16 as float_to_bf16_bits rounds them (to nearest
// even; NaN stays a quiet NaN).
inline void store_bf16(uint16_t* dst, const Vec<float>::type& v) {
  typedef uint32_t U __attribute__((vector_size(kVecBytes)));
  typedef uint16_t H __attribute__((vector_size(kVecBytes / 2)));
  U x;
  __builtin_memcpy(&x, &v, sizeof(x));
  const U nan = (U)((x & 0x7fffffffu) > 0x7f800000u);  // all ones where NaN
  const U r = (nan & ((x >> 16) | 0x40u)) | (~nan & ((x + 0x7fffu + ((x >> 16) & 1u)) >> 16));
  const H h = __builtin_convertvector(r, H);
  __builtin_memcpy(dst, &h, sizeof(h));
}

// C[0:mr, 0:nr] = alpha * tile + beta * C (beta == 0: C is not read), then the epilogue, from a
// finished block in memory (rows NR apart); (i0, j0) is its position in C.
template <class T, int NR>
inline void store_block(const T (*tile)[NR], T* c, int64_t rsc, int64_t csc, int mr, int nr, T alpha, T beta,
                        const Epi<T>* ep, int64_t i0, int64_t j0) {
  for (int i = 0; i < mr; ++i) {
    T* ci = c + i * rsc;
    if (beta == T(0)) {
      for (int j = 0; j < nr; ++j) ci[j * csc] = alpha * tile[i][j];
    } else {
      for (int j = 0; j < nr; ++j) ci[j * csc] = alpha * tile[i][j] + beta * ci[j * csc];
    }
    if (ep) ep->row(ci, csc, i0 + i, j0, nr);
  }
}

// C[0:mr, 0:nr] = alpha * acc + beta * C (beta == 0: C is not read), then the epilogue, from a
// register tile acc[MR][NV] of NV vectors per row (NR = NV * W columns); (i0, j0) is the tile's
// position in C, which the bias is indexed by.
template <class T, int MR, int NV>
inline void store_tile(const typename Vec<T>::type (&acc)[MR][NV], T* c, int64_t rsc, int64_t csc, int mr, int nr,
                       T alpha, T beta, const Epi<T>* ep, int64_t i0, int64_t j0) {
  typedef typename Vec<T>::type V;
  constexpr int W = kVecBytes / sizeof(T), NR = NV * W;
  if (mr == MR && nr == NR && csc == 1) {
    // Full tile, rows of C contiguous: whole-vector loads and stores (small-K products, common in
    // convolution, spend as long writing the tile as computing it). A bias (a convolution's: one
    // per row; a linear layer's: one per column) and a ReLU are applied in registers, as Epi::row
    // would apply them after the store (the same values); other activations go through Epi::row.
    // (With the bias through Epi::row, that call took 11% of the ResNet stem's forward.)
    const bool simple = ep && (ep->act == Activation::None || ep->act == Activation::Relu) &&
                        (!ep->bias || ep->sn == 0 || (ep->sm == 0 && ep->sn == 1)) &&
                        (!ep->narrow || ep->ncs == 1);
    const bool bias_rows = simple && ep->bias && ep->sn == 0;
    const bool bias_cols = simple && ep->bias && !bias_rows;
    const bool relu = simple && ep->act == Activation::Relu;
    const bool narrow = simple && ep->narrow;  // then only the bfloat16 C is written (float T only)
    for (int i = 0; i < MR; ++i) {
      T* ci = c + i * rsc;
      const V bi = bias_rows ? ep->bias[(i0 + i) * ep->sm] - V{} : V{};
      for (int v = 0; v < NV; ++v) {
        V r = acc[i][v] * alpha;
        if (beta != T(0)) {
          V old;
          __builtin_memcpy(&old, ci + v * W, sizeof(V));
          r += old * beta;
        }
        if (bias_rows) {
          r += bi;
        } else if (bias_cols) {
          V bc;
          __builtin_memcpy(&bc, ep->bias + j0 + v * W, sizeof(V));
          r += bc;
        }
        if (relu) r = r > V{} || r != r ? r : V{};  // NaN passes, as in Epi::row
        if constexpr (std::is_same<T, float>::value) {
          if (narrow) {
            store_bf16(ep->narrow + (i0 + i) * ep->nrs + j0 + v * W, r);
            continue;
          }
        }
        __builtin_memcpy(ci + v * W, &r, sizeof(V));
      }
      if (ep && !simple) ep->row(ci, 1, i0 + i, j0, NR);  // the row is still in L1
    }
    return;
  }
  if (csc == 1) {
    // A ragged tile, rows of C contiguous: each row's first nr columns a vector at a time, the last
    // vector masked (the tile's columns went through memory and were stored one by one before).
    for (int i = 0; i < mr; ++i) {
      T* ci = c + i * rsc;
      for (int v = 0; v < NV && v * W < nr; ++v) {
        const int lanes = nr - v * W < W ? nr - v * W : W;
        V r = acc[i][v] * alpha;
        if (beta != T(0)) r += load_first<T>(ci + v * W, lanes) * beta;
        store_first<T>(ci + v * W, r, lanes);
      }
      if (ep) ep->row(ci, 1, i0 + i, j0, nr);
    }
    return;
  }
  T tile[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) __builtin_memcpy(&tile[i][v * W], &acc[i][v], sizeof(V));
  store_block<T, NR>(tile, c, rsc, csc, mr, nr, alpha, beta, ep, i0, j0);
}

// What one micro-kernel call fetches into L2 as it goes, for the calls after it (nullptr: nothing):
//   a: the packed row panel of A the next row's calls read (MR x kstride(kc), as pack_a lays it out);
//   b: the panel of B after this call's, in this call's layout (k rows ldb apart), given only to the
//      first row panel's calls: they read B from L3 or memory, the later rows from L2.
// Those first calls ran 2-3.5x as long as the calls after them (the time-stamp counter around each
// call, 2048^3 on one thread): B read in place has each k row in another 4 KiB page (hardware
// prefetchers stop at page ends), and B packed once per K block had mostly left L3 by the next
// block of A's rows (C's 16 MB pass through it). With both fetches, one thread ran 1024^3, 2048^3,
// (4096, 1024, 1024) and (512, 768, 3072) 1.1-1.6% faster, (64, 4096, 4096) 5% (alternating
// rounds); bfloat16 0-2%.
template <class T>
struct Ahead {
  const T* a;
  const T* b;
};

// B's packed panels for one K block are kept for all blocks of A's rows up to this size (in L3).
// Packing B again for every block of rows costs more where L2 is small: on Zen 5 (1 MB L2), 8 MB
// against 2 MB ran 2048^3 3-5% faster on one thread and 4096^3 3% on one and two (medians of
// alternating rounds; B's K block is 3 and 6 MB there); on Sapphire Rapids (2 MB L2) the two were
// equal within noise.
constexpr double kBOnceBytes = double(8 << 20);

// Threads for work that splits into `shares` thread-sized shares: all of them up to that many, at
// least one; one inside another parallel op.
inline int64_t threads_for(double shares) {
  const int64_t threads = in_parallel_region() ? 1 : num_threads();
  return shares < 1 ? 1 : shares < double(threads) ? int64_t(shares) : threads;
}

// Threads for one product of M x N x K: at least ~2 MFLOP each, or waking the others costs more
// than it saves.
inline int64_t gemm_threads(int64_t M, int64_t N, int64_t K) {
  return threads_for(2.0 * double(M) * double(N) * double(K) / 2e6);
}

// Threads for a product bound by reading `bytes` of operands once (a matrix-vector product): at
// least 512 KiB each. One thread against two, alternating rounds: (1, 512, 128) (256 KiB) 1.4x
// faster, (1, 1024, 128) (512 KiB) even, (1, 2048, 128) and (1, 512, 512) (1 MiB) 1.2-1.3x slower.
inline int64_t stream_threads(double bytes) { return threads_for(bytes / double(512 << 10)); }

template <class K_>
struct Blocked {
  typedef typename K_::TA TA;
  typedef typename K_::TC TC;

  // One thread's block of C: rows [i0, i0 + M) and columns [j0, j0 + N) of the whole product (a, b
  // and c already point at the block; i0 and j0 index the epilogue's bias). Loops, outermost first:
  //   ic: MC rows of A          (its packed block lives in L3 / the far part of L2)
  //   pc: KC of K               pack A[ic, pc]     (pc before ic when B is packed once, below)
  //   jc: NC columns of B       pack B[pc, jc]: NC x KC, sized for L2 (done by the first ir's
  //                             micro-kernels where the kernel can: see copies_b)
  //   ir: one MR-row panel of A, held in L1 ...
  //   jr: ... while the NR-wide panels of B stream past it from L2.
  // The broadcast operand (A) sits in L1 and the vector operand (B) streams, as BLIS arranges it.
  static void block(int64_t M, int64_t N, int64_t K, const TA* a, int64_t rsa, int64_t csa, const TA* b, int64_t rsb,
                    int64_t csb, TC* c, int64_t rsc, int64_t csc, TC alpha, TC beta, const Epi<TC>* ep, int64_t i0,
                    int64_t j0) {
    constexpr int64_t MR = K_::MR, NR = K_::NR, KC = K_::KC, NC = K_::NC, MC = K_::MC;
    static thread_local Scratch a_scratch, b_scratch;
    const int64_t ks = K_::kstride(K < KC ? K : KC);
    const bool b_in_place = K_::b_in_place(M, rsb, csb);
    // With more than one block of A's rows, B's panels for a K block are packed once for all of
    // them, when all of N's fit in kBOnceBytes (L3); else per block of rows, an L2-sized block at
    // a time.
    const int64_t npad = (N + NR - 1) / NR * NR;
    const bool b_once = !b_in_place && M > MC && double(npad) * double(ks) * sizeof(TA) <= double(kBOnceBytes);
    TA* apack = static_cast<TA*>(a_scratch.get(sizeof(TA) * size_t((M < MC ? M : MC) + MR) * size_t(ks)));
    TA* bpack = static_cast<TA*>(b_scratch.get(sizeof(TA) * size_t(b_once ? npad : (N < NC ? N : NC) + NR) * size_t(ks)));
    if (!apack || !bpack) return;
    // Where B's rows are contiguous and the kernel can (kCopiesB), B's full panels are packed by
    // the first MR rows of A that read them (Kernel::micro with bcopy): the copy's loads and stores
    // hide behind that tile's FMAs, where packing beforehand cost 1-3% of the product on the squares
    // and transformer shapes and 6-15% at (64, 4096, 4096), M = 64 using each value of B 64 times.
    const bool copies_b = K_::kCopiesB && csb == 1 && !b_in_place;
    // Packs the panels of B[pc : pc + kc, jc : jc + nc] that micro does not copy into dst.
    auto pack_b = [&](TA* dst, int64_t pc, int64_t kc, int64_t jc, int64_t nc) {
      const TA* bsrc = b + pc * rsb + jc * csb;
      const int64_t kcs = K_::kstride(kc);
      if constexpr (!K_::kCopiesB) {
        if (csb == 1 && !b_in_place) return K_::pack_b_rows(dst, bsrc, rsb, nc, kc);
      }
      for (int64_t jr = 0; jr < nc; jr += NR) {
        const int64_t nr = nc - jr < NR ? nc - jr : NR;
        if (!((b_in_place || copies_b) && nr == NR)) K_::pack_b_panel(dst + jr * kcs, bsrc + jr * csb, rsb, csb, nr, kc);
      }
    };
    // Rows [ic, ic + mc) of C over K block [pc, pc + kc), B's panels packed (b_once) or packed here;
    // b_fresh: B's full panels are not packed yet (always, unless b_once and not the first row block).
    auto rows_by_k = [&](int64_t ic, int64_t mc, int64_t pc, int64_t kc, bool b_fresh) {
      const int64_t kcs = K_::kstride(kc);
      const TC beta_here = pc == 0 ? beta : TC(1);
      const Epi<TC>* ep_here = pc + kc == K ? ep : nullptr;
      K_::pack_a(apack, a + ic * rsa + pc * csa, rsa, csa, mc, kc);
      for (int64_t jc = 0; jc < N; jc += NC) {
        const int64_t nc = N - jc < NC ? N - jc : NC;
        const TA* bsrc = b + pc * rsb + jc * csb;
        TA* bblock = b_once ? bpack + jc * kcs : bpack;
        if (!b_once) pack_b(bpack, pc, kc, jc, nc);
        // B's full panels not yet packed are read in place by the first MR rows, which store them
        // packed for the rows after (with no rows after, B is read once, in place, and not stored).
        const bool copy_now = copies_b && b_fresh;
        for (int64_t ir = 0; ir < mc; ir += MR) {
          const int mr = int(mc - ir < MR ? mc - ir : MR);
          // The row panel after this one: the next ir, or the first again for the next jc.
          const TA* a_next = ir + MR < mc ? apack + (ir + MR) * kcs : jc + NC < N ? apack : nullptr;
          for (int64_t jr = 0; jr < nc; jr += NR) {
            const int nr = int(nc - jr < NR ? nc - jr : NR);
            const bool direct = nr == NR && (b_in_place || (copy_now && ir == 0));
            // With no rows after this panel B need not be stored, where micro can read B in place
            // without copying it (kPlainPanels); mr == MR whenever mc > MR here.
            TA* bcopy = direct && !b_in_place && (mc > MR || !K_::kPlainPanels) ? bblock + jr * kcs : nullptr;
            const TA* bp = direct ? bsrc + jr : bblock + jr * kcs;
            const int64_t ldb = direct ? rsb : int64_t(NR);
            // B's next panel in the same layout: in place, the next full panel (a ragged one is
            // packed); packed once, any panel up to N; packed here, this block's.
            const TA* b_next = nullptr;
            if (ir == 0) {
              if (direct)
                b_next = jc + jr + 2 * NR <= N ? bp + NR : nullptr;
              else if (b_once ? jc + jr + NR < N : jr + NR < nc)
                b_next = bp + NR * kcs;
            }
            TC* ctile = c + (ic + ir) * rsc + (jc + jr) * csc;
            K_::micro(kc, apack + ir * kcs, bp, ldb, ctile, rsc, csc, mr, nr, alpha, beta_here, ep_here, i0 + ic + ir,
                      j0 + jc + jr, bcopy, Ahead<TA>{jr == 0 ? a_next : nullptr, b_next});
          }
        }
      }
    };
    if (b_once) {
      // K blocks outermost, so one packing of B serves every block of rows.
      for (int64_t pc = 0; pc < K; pc += KC) {
        const int64_t kc = K - pc < KC ? K - pc : KC;
        pack_b(bpack, pc, kc, 0, N);
        for (int64_t ic = 0; ic < M; ic += MC) rows_by_k(ic, M - ic < MC ? M - ic : MC, pc, kc, ic == 0);
      }
    } else {
      // Blocks of rows outermost: a block's rows of C stay cached across its K blocks (with K
      // outermost, all of C would pass through memory once per K block).
      for (int64_t ic = 0; ic < M; ic += MC)
        for (int64_t pc = 0; pc < K; pc += KC) rows_by_k(ic, M - ic < MC ? M - ic : MC, pc, K - pc < KC ? K - pc : KC, true);
    }
  }

  // Threads take a grid of blocks of C, each packing its own operands: no barriers, and no thread
  // waits for another's packing. The grid (pm x pn = threads) minimises what is packed twice: every
  // block column packs all of A's rows it needs, every block row all of B's columns. B's packing
  // counts a quarter where the micro-kernel copies it (kCopiesB, hidden behind the FMAs) and B is
  // at most kCheapBBytes: on two threads, rows split rather than columns ran 256^3 1.2x, 512^3
  // 1.1-1.17x, 1024^3 and (512, 768, 768) 1.05x faster; at 2048^3 (16 MB of B, read by both
  // threads) it ran 2-3% slower, so larger B keeps the full weight.
  static void run(int64_t M, int64_t N, int64_t K, const TA* a, int64_t rsa, int64_t csa, const TA* b, int64_t rsb,
                  int64_t csb, TC* c, int64_t rsc, int64_t csc, TC alpha, TC beta, const Epi<TC>* ep = nullptr) {
    if (M == 0 || N == 0) return;
    constexpr int64_t MR = K_::MR, NR = K_::NR;
    if (K == 0) {  // C = beta * C
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) c[i * rsc + j * csc] = beta == TC(0) ? TC(0) : beta * c[i * rsc + j * csc];
      if (ep) ep->block(c, M, N, rsc, csc);
      return;
    }
    const int64_t mpanels = (M + MR - 1) / MR, npanels = (N + NR - 1) / NR;
    const int64_t threads = gemm_threads(M, N, K);
    int64_t pm = 1, pn = threads;
    double best = -1;
    constexpr double kCheapBBytes = double(4 << 20);
    const double b_weight =
        K_::kCopiesB && csb == 1 && double(K) * double(N) * sizeof(TA) <= kCheapBBytes ? 0.25 : 1.0;
    for (int64_t m = 1; m <= threads; ++m) {
      if (threads % m) continue;
      const int64_t n = threads / m;
      if (m > mpanels || n > npanels) continue;
      const double packed = double(n) * double(M) + b_weight * double(m) * double(N);
      if (best < 0 || packed < best) best = packed, pm = m, pn = n;
    }
    if (best < 0) pm = 1, pn = 1;
    parallel_for(0, pm * pn, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t t = lo; t < hi; ++t) {
        const int64_t bm = t / pn, bn = t % pn;
        const int64_t r0 = bm * mpanels / pm * MR, r1 = std::min((bm + 1) * mpanels / pm * MR, M);
        const int64_t c0 = bn * npanels / pn * NR, c1 = std::min((bn + 1) * npanels / pn * NR, N);
        if (r1 <= r0 || c1 <= c0) continue;
        block(r1 - r0, c1 - c0, K, a + r0 * rsa, rsa, csa, b + c0 * csb, rsb, csb, c + r0 * rsc + c0 * csc, rsc, csc,
              alpha, beta, ep, r0, c0);
      }
    });
  }
};

TF_KERNEL_NAMESPACE_END
