// Fused scaled-dot-product attention (flash-attention style) on the CPU.
//
//   q [B1, B2, L, E]   k [B1, B2, S, E]   v [B1, B2, S, Ev]   mask [B1, B2, L, S] (optional)
//   s_ij  = scale * q_i . k_j + mask_ij      (-inf where a bool mask is false or, causal, j > i)
//   out_i = sum_j softmax_j(s_i) v_j        lse_i = log sum_j exp(s_ij)
//
// Forward: a task takes kBr query rows and sweeps the keys in blocks of kBc with an online softmax:
// a running row max m and sum l, the partial output rescaled by exp(m_old - m_new) when the max
// grows. The L x S score matrix never exists (memory is O((L + S) E)); causal attention stops at
// the diagonal block.
//
// Backward (FlashAttention-2): with D_i = dout_i . out_i and P_ij = exp(s_ij - lse_i) recomputed
// from q, k and the saved lse,
//   dv_j = sum_i P_ij dout_i     dP_ij = dout_i . v_j     dS_ij = P_ij (dP_ij - D_i)
//   dq_i = scale sum_j dS_ij k_j     dk_j = scale sum_i dS_ij q_i
// One task per batch (b1, b2): key blocks outside, query blocks inside; a key block's dk and dv stay
// in scratch for its whole sweep, and dq accumulates in scratch over all key blocks.
//
// Outputs (out, dq, dk, dv) are written through their strides (unit stride on the last dim), so a
// caller can lay them out as [B1, L, B2, E] and read heads merged without a copy.
//
// Every block product is C (+)= A @ B with A row-major (its entries broadcast) and B row-major with
// a width padded to whole vectors: one register-blocked micro-kernel, 4 rows x NV vectors of C.
#include <cmath>
#include <cstdlib>
#include <limits>

#include "attention.h"
#include "simd.h"

TF_KERNEL_NAMESPACE_BEGIN

namespace {

constexpr int64_t kBr = 64;  // query rows per block
constexpr int64_t kBc = 64;  // keys per block (a multiple of every level's vector width)

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

template <class T>
struct Attention {
  typedef typename Vec<T>::type V;
  static constexpr int W = kVecBytes / sizeof(T);
  static constexpr T kNegInf = -std::numeric_limits<T>::infinity();

  // C[4 x NV*W] (+)= A[4 x k] @ B[k x NV*W]; A(r, p) at a[r * lda + p], or a[p * lda + r] when TransA.
  template <int NV, bool TransA>
  static inline void tile(T* c, int64_t ldc, const T* a, int64_t lda, const T* b, int64_t ldb, int64_t k,
                          bool accumulate) {
    V acc[4][NV];
    for (int r = 0; r < 4; ++r)
      for (int v = 0; v < NV; ++v) {
        if (accumulate) __builtin_memcpy(&acc[r][v], c + r * ldc + v * W, sizeof(V));
        else acc[r][v] = V{};
      }
    for (int64_t p = 0; p < k; ++p) {
      V bv[NV];
      for (int v = 0; v < NV; ++v) __builtin_memcpy(&bv[v], b + p * ldb + v * W, sizeof(V));
      for (int r = 0; r < 4; ++r) {
        const T av = TransA ? a[p * lda + r] : a[r * lda + p];
        for (int v = 0; v < NV; ++v) acc[r][v] += av * bv[v];
      }
    }
    for (int r = 0; r < 4; ++r)
      for (int v = 0; v < NV; ++v) __builtin_memcpy(c + r * ldc + v * W, &acc[r][v], sizeof(V));
  }

  // C[m x n] (+)= A[m x k] @ B[k x n], m a multiple of 4, n a multiple of W. TransA: A is given as
  // its transpose, row-major [k x m] (so P^T @ dout needs no transposed copy of P).
  template <bool TransA = false>
  static void block_gemm(T* c, int64_t ldc, const T* a, int64_t lda, const T* b, int64_t ldb, int64_t m, int64_t n,
                         int64_t k, bool accumulate) {
    for (int64_t i = 0; i < m; i += 4) {
      T* ci = c + i * ldc;
      const T* ai = TransA ? a + i : a + i * lda;
      int64_t j = 0;
      for (; j + 4 * W <= n; j += 4 * W) tile<4, TransA>(ci + j, ldc, ai, lda, b + j, ldb, k, accumulate);
      for (; j + 2 * W <= n; j += 2 * W) tile<2, TransA>(ci + j, ldc, ai, lda, b + j, ldb, k, accumulate);
      for (; j < n; j += W) tile<1, TransA>(ci + j, ldc, ai, lda, b + j, ldb, k, accumulate);
    }
  }

  // Element (b1, b2, 0, 0) of a 4-D view.
  template <class P>
  static P* at(const TensorView& t, int64_t b1, int64_t b2) {
    return static_cast<P*>(t.data) + b1 * t.strides[0] + b2 * t.strides[1];
  }

  // One batch's operands: row pointers from the 4-D views.
  struct Batch {
    const T *q, *k, *v, *dout, *out, *lse;
    const char* mask;  // bool or T, per mask_kind
    int64_t qs, ks, vs, ds, ms_l, ms_s;  // row strides (and the mask's column stride)
  };

  static Batch batch(const AttentionArgs& a, int64_t b1, int64_t b2) {
    Batch b{};
    auto at = [&](const TensorView& t) {
      return static_cast<const char*>(t.data) + (b1 * t.strides[0] + b2 * t.strides[1]) * dtype_size(t.dtype);
    };
    b.q = reinterpret_cast<const T*>(at(a.q));
    b.k = reinterpret_cast<const T*>(at(a.k));
    b.v = reinterpret_cast<const T*>(at(a.v));
    b.qs = a.q.strides[2];
    b.ks = a.k.strides[2];
    b.vs = a.v.strides[2];
    if (a.mask_kind != AttnMaskKind::None) {
      b.mask = at(a.mask);
      b.ms_l = a.mask.strides[2];
      b.ms_s = a.mask.strides[3];
    }
    return b;
  }

  // Key block j0 of a batch packed for the forward: kb [kBc][E] (keys as rows) and vb [kBc][EvP],
  // zero-padded past cols keys and Ev features.
  static void pack_kv(T* kb, T* vb, const Batch& b, int64_t j0, int64_t cols, int64_t E, int64_t Ev, int64_t EvP) {
    for (int64_t c = 0; c < kBc; ++c) {
      for (int64_t e = 0; e < E; ++e) kb[c * E + e] = c < cols ? b.k[(j0 + c) * b.ks + e] : T(0);
      for (int64_t d = 0; d < EvP; ++d) vb[c * EvP + d] = c < cols && d < Ev ? b.v[(j0 + c) * b.vs + d] : T(0);
    }
  }

  // Transposed scores st [kBc][kBr] of rows [i0, i0 + rows) against keys [j0, j0 + cols), already
  // scaled: masked to -inf where not allowed (and for the padding keys up to kBc).
  static void mask_scores_t(T* st, const Batch& b, const AttentionArgs& a, int64_t i0, int64_t rows, int64_t j0,
                            int64_t cols) {
    for (int64_t c = 0; c < kBc; ++c) {
      T* sc = st + c * kBr;
      const int64_t j = j0 + c;
      if (c >= cols) {
        for (int64_t r = 0; r < kBr; ++r) sc[r] = kNegInf;
        continue;
      }
      if (a.mask_kind == AttnMaskKind::Bool) {
        const uint8_t* m = reinterpret_cast<const uint8_t*>(b.mask) + i0 * b.ms_l + j * b.ms_s;
        for (int64_t r = 0; r < rows; ++r) sc[r] = m[r * b.ms_l] ? sc[r] : kNegInf;
      } else if (a.mask_kind == AttnMaskKind::Additive) {
        const T* m = reinterpret_cast<const T*>(b.mask) + i0 * b.ms_l + j * b.ms_s;
        for (int64_t r = 0; r < rows; ++r) sc[r] += m[r * b.ms_l];
      }
      if (a.causal)  // query i0 + r sees key j only when j <= i0 + r
        for (int64_t r = 0; r < rows && i0 + r < j; ++r) sc[r] = kNegInf;
    }
  }

  // Forward, per task (batch, block of kBr queries), keys in blocks of kBc. Scores are computed
  // transposed, st [key][query] = k_j . (scale q_i), so the online softmax runs down the keys with
  // whole vectors of queries: row maxima and sums need no horizontal reductions.
  static void forward(const AttentionForwardArgs& fa) {
    const AttentionArgs& a = fa.in;
    const int64_t B2 = a.q.shape[1], L = a.q.shape[2], E = a.q.shape[3];
    const int64_t S = a.k.shape[2], Ev = a.v.shape[3], EvP = round_up(Ev, W);
    const int64_t nblocks = (L + kBr - 1) / kBr, batches = a.q.shape[0] * B2, tasks = batches * nblocks;
    const T scale = T(a.scale);
    // Every query block reads every key block: pack each key block once for all of them (a copy of
    // k and v, so memory stays linear in the sequence length). Without memory for it, each task
    // packs the blocks it reads.
    const int64_t kblocks = (S + kBc - 1) / kBc, kv_block = kBc * E + kBc * EvP;
    // (Kept between calls, on the calling thread: fresh pages would cost a page fault each.)
    static thread_local Scratch kv_scratch;
    T* kv = nblocks > 1 ? static_cast<T*>(kv_scratch.get(sizeof(T) * size_t(batches * kblocks * kv_block))) : nullptr;
    if (kv) {
      parallel_for(0, batches * kblocks, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t t = lo; t < hi; ++t) {
          const int64_t bi = t / kblocks, j0 = (t % kblocks) * kBc;
          T* kb = kv + t * kv_block;
          pack_kv(kb, kb + kBc * E, batch(a, bi / B2, bi % B2), j0, S - j0 < kBc ? S - j0 : kBc, E, Ev, EvP);
        }
      });
    }
    constexpr int64_t NV = kBr / W;  // vectors of queries
    const size_t scratch_elems = size_t(E * kBr + kBc * E + kBc * EvP + kBc * kBr + kBr * EvP + 3 * kBr);
    parallel_for(0, tasks, 1, [&](int64_t lo, int64_t hi) {
      static thread_local Scratch scratch;
      T* qt = static_cast<T*>(scratch.get(sizeof(T) * scratch_elems));
      if (!qt) return;
      T* kb_own = qt + E * kBr;     // [kBc][E]     keys of the block (when not prepacked)
      T* vb_own = kb_own + kBc * E; // [kBc][EvP]   values of the block
      T* st = vb_own + kBc * EvP;   // [kBc][kBr]   scores transposed, then probabilities
      T* acc = st + kBc * kBr;      // [kBr][EvP]   unnormalised output
      T* m = acc + kBr * EvP;       // [kBr]        running max
      T* l = m + kBr;               // [kBr]        running sum
      T* alpha = l + kBr;           // [kBr]        rescale factor of this key block
      for (int64_t task = lo; task < hi; ++task) {
        const int64_t bi = task / nblocks, i0 = (task % nblocks) * kBr;
        const Batch b = batch(a, bi / B2, bi % B2);
        const int64_t rows = L - i0 < kBr ? L - i0 : kBr, rows4 = round_up(rows, 4);
        for (int64_t e = 0; e < E; ++e)
          for (int64_t r = 0; r < kBr; ++r) qt[e * kBr + r] = r < rows ? scale * b.q[(i0 + r) * b.qs + e] : T(0);
        for (int64_t i = 0; i < kBr * EvP; ++i) acc[i] = T(0);
        for (int64_t r = 0; r < kBr; ++r) m[r] = kNegInf, l[r] = T(0);
        const int64_t j_end = a.causal ? (S < i0 + rows ? S : i0 + rows) : S;
        for (int64_t j0 = 0; j0 < j_end; j0 += kBc) {
          const int64_t cols = j_end - j0 < kBc ? j_end - j0 : kBc;
          const T* kb = kb_own;
          const T* vb = vb_own;
          if (kv) {
            kb = kv + (bi * kblocks + j0 / kBc) * kv_block;
            vb = kb + kBc * E;
          } else {
            pack_kv(kb_own, vb_own, b, j0, cols, E, Ev, EvP);
          }
          block_gemm(st, kBr, kb, E, qt, kBr, kBc, kBr, E, false);
          mask_scores_t(st, b, a, i0, rows, j0, cols);
          // Online softmax, NV vectors of W queries at a time.
          V mv[NV], shift[NV], sum[NV];
          for (int v = 0; v < NV; ++v) {
            __builtin_memcpy(&mv[v], m + v * W, sizeof(V));
            sum[v] = V{};
          }
          V mx[NV];
          for (int v = 0; v < NV; ++v) mx[v] = mv[v];
          for (int64_t c = 0; c < cols; ++c)
            for (int v = 0; v < NV; ++v) {
              V x;
              __builtin_memcpy(&x, st + c * kBr + v * W, sizeof(V));
              mx[v] = x > mx[v] ? x : mx[v];
            }
          for (int v = 0; v < NV; ++v) {
            // A query that may attend to nothing yet keeps shift 0: its probabilities are exp(-inf) = 0.
            shift[v] = mx[v] == kNegInf ? V{} : mx[v];
            __builtin_memcpy(m + v * W, &mx[v], sizeof(V));
          }
          for (int64_t c = 0; c < cols; ++c) {
            T* sc = st + c * kBr;
            for (int v = 0; v < NV; ++v) {
              V x;
              __builtin_memcpy(&x, sc + v * W, sizeof(V));
              x -= shift[v];
              __builtin_memcpy(sc + v * W, &x, sizeof(V));
            }
            for (int64_t r = 0; r < kBr; ++r) sc[r] = exp_(sc[r]);
            for (int v = 0; v < NV; ++v) {
              V x;
              __builtin_memcpy(&x, sc + v * W, sizeof(V));
              sum[v] += x;
            }
          }
          for (int v = 0; v < NV; ++v) {
            V d = mv[v] - shift[v], lv;
            __builtin_memcpy(alpha + v * W, &d, sizeof(V));
            __builtin_memcpy(&lv, l + v * W, sizeof(V));
            for (int i = 0; i < W; ++i) alpha[v * W + i] = exp_(alpha[v * W + i]);
            V al;
            __builtin_memcpy(&al, alpha + v * W, sizeof(V));
            lv = lv * al + sum[v];
            __builtin_memcpy(l + v * W, &lv, sizeof(V));
          }
          for (int64_t r = 0; r < rows; ++r)
            if (alpha[r] != T(1))
              for (int64_t d = 0; d < EvP; ++d) acc[r * EvP + d] *= alpha[r];
          block_gemm<true>(acc, EvP, st, kBr, vb, EvP, rows4, EvP, cols, true);
        }
        T* out = at<T>(fa.out, bi / B2, bi % B2) + i0 * fa.out.strides[2];
        T* lse = fa.lse.ptr<T>() + bi * L + i0;
        for (int64_t r = 0; r < rows; ++r) {
          const T inv = T(1) / l[r];  // no key allowed: 0 * inf = NaN, as the unfused softmax gives
          for (int64_t d = 0; d < Ev; ++d) out[r * fa.out.strides[2] + d] = acc[r * EvP + d] * inv;
          lse[r] = m[r] + std::log(l[r]);
        }
      }
    });
    // A copy of a long sequence's k and v is not kept past the call.
    if (kv_scratch.cap > (size_t(64) << 20)) kv_scratch.release();
  }

  // Backward, per batch; scores transposed as in the forward (st [key][query]), so every step is a
  // plain block product or a whole-vector pass over queries:
  //   P^T = exp(st - lse)   dV += P^T dO   dP^T = V dO^T   dS^T = P^T (dP^T - D)
  //   dK += dS^T Q          dQ += (dS^T)^T K
  static void backward(const AttentionBackwardArgs& ba) {
    const AttentionArgs& a = ba.in;
    const int64_t B2 = a.q.shape[1], L = a.q.shape[2], E = a.q.shape[3];
    const int64_t S = a.k.shape[2], Ev = a.v.shape[3];
    const int64_t EP = round_up(E, W), EvP = round_up(Ev, W), LP = round_up(L, kBr);
    const T scale = T(a.scale);
    const size_t scratch_elems = size_t(LP + E * LP + Ev * LP + 2 * LP * EP + LP * EvP + 2 * kBc * EP + 2 * kBc * EvP +
                                        2 * kBc * kBr + kBr);
    parallel_for(0, a.q.shape[0] * B2, 1, [&](int64_t lo, int64_t hi) {
      static thread_local Scratch scratch;
      T* dvec = static_cast<T*>(scratch.get(sizeof(T) * scratch_elems));
      if (!dvec) return;
      T* qt = dvec + LP;            // [LP/kBr][E][kBr]   scale * queries, transposed per block
      T* dot = qt + E * LP;         // [LP/kBr][Ev][kBr]  output gradients, transposed per block
      T* qa = dot + Ev * LP;        // [LP][EP]    queries as rows
      T* dqa = qa + LP * EP;        // [LP][EP]    dq accumulator
      T* doa = dqa + LP * EP;       // [LP][EvP]   output gradients as rows
      T* kb = doa + LP * EvP;       // [kBc][EP]   keys of the block
      T* vb = kb + kBc * EP;        // [kBc][EvP]  values of the block
      T* dka = vb + kBc * EvP;      // [kBc][EP]   dk accumulator of the block
      T* dva = dka + kBc * EP;      // [kBc][EvP]  dv accumulator of the block
      T* pt = dva + kBc * EvP;      // [kBc][kBr]  P^T
      T* dst = pt + kBc * kBr;      // [kBc][kBr]  dP^T, then dS^T
      T* shift = dst + kBc * kBr;   // [kBr]       lse per query (+inf: contributes nothing)
      for (int64_t bi = lo; bi < hi; ++bi) {
        const int64_t b1 = bi / B2, b2 = bi % B2;
        const Batch b = batch(a, b1, b2);
        const T* dout = static_cast<const T*>(ba.dout.data) + b1 * ba.dout.strides[0] + b2 * ba.dout.strides[1];
        const int64_t dos = ba.dout.strides[2];
        const T* out = at<const T>(ba.out, b1, b2);
        const int64_t os = ba.out.strides[2];
        const T* lse = ba.lse.ptr<T>() + bi * L;
        for (int64_t i = 0; i < LP; ++i) {
          for (int64_t e = 0; e < EP; ++e) {
            qa[i * EP + e] = i < L && e < E ? b.q[i * b.qs + e] : T(0);
            dqa[i * EP + e] = T(0);
          }
          for (int64_t d = 0; d < EvP; ++d) doa[i * EvP + d] = i < L && d < Ev ? dout[i * dos + d] : T(0);
          T acc = 0;
          for (int64_t d = 0; i < L && d < Ev; ++d) acc += doa[i * EvP + d] * out[i * os + d];
          // D_i = dout_i . out_i; 0 for a query that attends to nothing (its out is NaN, its P row 0),
          // so it sends no gradient anywhere rather than NaN to every key.
          dvec[i] = i < L && lse[i] != kNegInf ? acc : T(0);
        }
        // Transposed per query block ([E][kBr] each, contiguous): a row stride of LP would map the
        // rows a block product reads onto few cache sets when LP is a power of two.
        for (int64_t i0 = 0; i0 < LP; i0 += kBr) {
          T* qtb = qt + i0 * E;
          T* dotb = dot + i0 * Ev;
          for (int64_t e = 0; e < E; ++e)
            for (int64_t r = 0; r < kBr; ++r) qtb[e * kBr + r] = scale * qa[(i0 + r) * EP + e];
          for (int64_t d = 0; d < Ev; ++d)
            for (int64_t r = 0; r < kBr; ++r) dotb[d * kBr + r] = doa[(i0 + r) * EvP + d];
        }
        for (int64_t j0 = 0; j0 < S; j0 += kBc) {
          const int64_t cols = S - j0 < kBc ? S - j0 : kBc;
          for (int64_t c = 0; c < kBc; ++c) {
            for (int64_t e = 0; e < EP; ++e) kb[c * EP + e] = c < cols && e < E ? b.k[(j0 + c) * b.ks + e] : T(0);
            for (int64_t d = 0; d < EvP; ++d) vb[c * EvP + d] = c < cols && d < Ev ? b.v[(j0 + c) * b.vs + d] : T(0);
          }
          for (int64_t i = 0; i < kBc * EP; ++i) dka[i] = T(0);
          for (int64_t i = 0; i < kBc * EvP; ++i) dva[i] = T(0);
          // Causal: query blocks wholly above this key block see none of it.
          for (int64_t i0 = a.causal ? j0 / kBr * kBr : 0; i0 < L; i0 += kBr) {
            const int64_t rows = L - i0 < kBr ? L - i0 : kBr, rows4 = round_up(rows, 4);
            for (int64_t r = 0; r < kBr; ++r) {
              const T li = r < rows ? lse[i0 + r] : kNegInf;
              shift[r] = li == kNegInf ? -kNegInf : li;  // padding, or a query that attends to nothing
            }
            block_gemm(pt, kBr, kb, EP, qt + i0 * E, kBr, kBc, kBr, E, false);
            mask_scores_t(pt, b, a, i0, rows, j0, cols);
            for (int64_t c = 0; c < kBc; ++c)
              for (int64_t r = 0; r < kBr; ++r) pt[c * kBr + r] = exp_(pt[c * kBr + r] - shift[r]);
            block_gemm(dva, EvP, pt, kBr, doa + i0 * EvP, EvP, kBc, EvP, rows, true);
            block_gemm(dst, kBr, vb, EvP, dot + i0 * Ev, kBr, kBc, kBr, Ev, false);
            const T* di = dvec + i0;
            for (int64_t c = 0; c < kBc; ++c)
              for (int64_t r = 0; r < kBr; ++r) dst[c * kBr + r] = pt[c * kBr + r] * (dst[c * kBr + r] - di[r]);
            block_gemm(dka, EP, dst, kBr, qa + i0 * EP, EP, kBc, EP, rows, true);
            block_gemm<true>(dqa + i0 * EP, EP, dst, kBr, kb, EP, rows4, EP, cols, true);
          }
          const int64_t dks = ba.dk.strides[2], dvs = ba.dv.strides[2];
          T* dk = at<T>(ba.dk, b1, b2) + j0 * dks;
          T* dv = at<T>(ba.dv, b1, b2) + j0 * dvs;
          for (int64_t c = 0; c < cols; ++c) {
            for (int64_t e = 0; e < E; ++e) dk[c * dks + e] = scale * dka[c * EP + e];
            for (int64_t d = 0; d < Ev; ++d) dv[c * dvs + d] = dva[c * EvP + d];
          }
        }
        const int64_t dqs = ba.dq.strides[2];
        T* dq = at<T>(ba.dq, b1, b2);
        for (int64_t i = 0; i < L; ++i)
          for (int64_t e = 0; e < E; ++e) dq[i * dqs + e] = scale * dqa[i * EP + e];
      }
    });
  }
};

}  // namespace

void attention_forward(const AttentionForwardArgs& a) {
  if (a.in.q.dtype == kFloat32) Attention<float>::forward(a);
  else Attention<double>::forward(a);
}

void attention_backward(const AttentionBackwardArgs& a) {
  if (a.in.q.dtype == kFloat32) Attention<float>::backward(a);
  else Attention<double>::backward(a);
}

TF_KERNEL_NAMESPACE_END
