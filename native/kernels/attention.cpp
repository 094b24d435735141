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

  // max_c x[c] over a block row (kBc values), in W lanes: a scalar max reduction would not vectorise.
  static T row_max(const T* x) {
    V m;
    __builtin_memcpy(&m, x, sizeof(V));
    for (int64_t c = W; c < kBc; c += W) {
      V v;
      __builtin_memcpy(&v, x + c, sizeof(V));
      m = v > m ? v : m;
    }
    T r = m[0];
    for (int l = 1; l < W; ++l) r = m[l] > r ? m[l] : r;
    return r;
  }

  // x[c] = exp(x[c] - shift) over a block row; returns the sum (in W lanes, for the same reason).
  static T exp_row(T* x, T shift) {
    for (int64_t c = 0; c < kBc; ++c) x[c] = exp_(x[c] - shift);
    V acc = V{};
    for (int64_t c = 0; c < kBc; c += W) {
      V v;
      __builtin_memcpy(&v, x + c, sizeof(V));
      acc += v;
    }
    T r = 0;
    for (int l = 0; l < W; ++l) r += acc[l];
    return r;
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

  // The scores of rows [i0, i0 + rows) against keys [j0, j0 + cols) given raw products s (row
  // stride kBc): scaled, masked (-inf where not allowed, and for the padding columns up to kBc).
  static void finish_scores(T* s, const Batch& b, const AttentionArgs& a, int64_t i0, int64_t rows, int64_t j0,
                            int64_t cols) {
    const T scale = T(a.scale);
    for (int64_t r = 0; r < rows; ++r) {
      T* sr = s + r * kBc;
      const int64_t i = i0 + r;
      for (int64_t c = 0; c < cols; ++c) sr[c] *= scale;
      if (a.mask_kind == AttnMaskKind::Bool) {
        const uint8_t* m = reinterpret_cast<const uint8_t*>(b.mask) + i * b.ms_l + j0 * b.ms_s;
        for (int64_t c = 0; c < cols; ++c) sr[c] = m[c * b.ms_s] ? sr[c] : kNegInf;
      } else if (a.mask_kind == AttnMaskKind::Additive) {
        const T* m = reinterpret_cast<const T*>(b.mask) + i * b.ms_l + j0 * b.ms_s;
        for (int64_t c = 0; c < cols; ++c) sr[c] += m[c * b.ms_s];
      }
      if (a.causal)
        for (int64_t c = i - j0 + 1 > 0 ? i - j0 + 1 : 0; c < cols; ++c) sr[c] = kNegInf;
      for (int64_t c = cols; c < kBc; ++c) sr[c] = kNegInf;
    }
  }

  static void forward(const AttentionForwardArgs& fa) {
    const AttentionArgs& a = fa.in;
    const int64_t B2 = a.q.shape[1], L = a.q.shape[2], E = a.q.shape[3];
    const int64_t S = a.k.shape[2], Ev = a.v.shape[3], EvP = round_up(Ev, W);
    const int64_t nblocks = (L + kBr - 1) / kBr, tasks = a.q.shape[0] * B2 * nblocks;
    const size_t scratch_elems = size_t(kBr * E + E * kBc + kBc * EvP + kBr * kBc + kBr * EvP + 2 * kBr);
    parallel_for(0, tasks, 1, [&](int64_t lo, int64_t hi) {
      static thread_local Scratch scratch;
      T* qs = static_cast<T*>(scratch.get(sizeof(T) * scratch_elems));
      if (!qs) return;
      T* kt = qs + kBr * E;         // [E][kBc]      keys of the block, transposed
      T* vb = kt + E * kBc;         // [kBc][EvP]    values of the block
      T* s = vb + kBc * EvP;        // [kBr][kBc]    scores, then probabilities
      T* acc = s + kBr * kBc;       // [kBr][EvP]    unnormalised output
      T* m = acc + kBr * EvP;       // [kBr]         running max
      T* l = m + kBr;               // [kBr]         running sum
      for (int64_t task = lo; task < hi; ++task) {
        const int64_t bi = task / nblocks, i0 = (task % nblocks) * kBr;
        const Batch b = batch(a, bi / B2, bi % B2);
        const int64_t rows = L - i0 < kBr ? L - i0 : kBr, rows4 = round_up(rows, 4);
        for (int64_t r = 0; r < rows4; ++r)
          for (int64_t e = 0; e < E; ++e) qs[r * E + e] = r < rows ? b.q[(i0 + r) * b.qs + e] : T(0);
        for (int64_t i = 0; i < kBr * EvP; ++i) acc[i] = T(0);
        for (int64_t r = 0; r < kBr; ++r) m[r] = kNegInf, l[r] = T(0);
        const int64_t j_end = a.causal ? (S < i0 + rows ? S : i0 + rows) : S;
        for (int64_t j0 = 0; j0 < j_end; j0 += kBc) {
          const int64_t cols = j_end - j0 < kBc ? j_end - j0 : kBc;
          for (int64_t e = 0; e < E; ++e)
            for (int64_t c = 0; c < kBc; ++c) kt[e * kBc + c] = c < cols ? b.k[(j0 + c) * b.ks + e] : T(0);
          for (int64_t c = 0; c < cols; ++c)
            for (int64_t d = 0; d < EvP; ++d) vb[c * EvP + d] = d < Ev ? b.v[(j0 + c) * b.vs + d] : T(0);
          block_gemm(s, kBc, qs, E, kt, kBc, rows4, kBc, E, false);
          finish_scores(s, b, a, i0, rows, j0, cols);
          for (int64_t r = 0; r < rows; ++r) {
            T* sr = s + r * kBc;
            const T mx = row_max(sr);
            const T m_new = mx > m[r] ? mx : m[r];
            if (m_new == kNegInf) {  // nothing allowed so far: no contribution
              for (int64_t c = 0; c < kBc; ++c) sr[c] = T(0);
              continue;
            }
            const T sum = exp_row(sr, m_new);
            const T alpha = exp_(m[r] - m_new);
            l[r] = l[r] * alpha + sum;
            m[r] = m_new;
            if (alpha != T(1))
              for (int64_t d = 0; d < EvP; ++d) acc[r * EvP + d] *= alpha;
          }
          block_gemm(acc, EvP, s, kBc, vb, EvP, rows4, EvP, cols, true);
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
  }

  static void backward(const AttentionBackwardArgs& ba) {
    const AttentionArgs& a = ba.in;
    const int64_t B2 = a.q.shape[1], L = a.q.shape[2], E = a.q.shape[3];
    const int64_t S = a.k.shape[2], Ev = a.v.shape[3];
    const int64_t EP = round_up(E, W), EvP = round_up(Ev, W), L4 = round_up(L, 4);
    const T scale = T(a.scale);
    const size_t scratch_elems = size_t(L + 2 * L4 * EP + L4 * EvP + kBc * EP + E * kBc + Ev * kBc + kBc * EP +
                                        kBc * EvP + 2 * kBr * kBc);
    parallel_for(0, a.q.shape[0] * B2, 1, [&](int64_t lo, int64_t hi) {
      static thread_local Scratch scratch;
      T* dvec = static_cast<T*>(scratch.get(sizeof(T) * scratch_elems));
      if (!dvec) return;
      T* qa = dvec + L;             // [L4][EP]   all queries of the batch, padded
      T* dqa = qa + L4 * EP;        // [L4][EP]   dq accumulator
      T* doa = dqa + L4 * EP;       // [L4][EvP]  all output gradients, padded
      T* kb = doa + L4 * EvP;       // [kBc][EP]  keys of the block
      T* kt = kb + kBc * EP;        // [E][kBc]   keys transposed
      T* vt = kt + E * kBc;         // [Ev][kBc]  values transposed
      T* dka = vt + Ev * kBc;       // [kBc][EP]  dk accumulator of the block
      T* dva = dka + kBc * EP;      // [kBc][EvP] dv accumulator of the block
      T* p = dva + kBc * EvP;       // [kBr][kBc] probabilities
      T* ds = p + kBr * kBc;        // [kBr][kBc] dP, then dS
      for (int64_t bi = lo; bi < hi; ++bi) {
        const int64_t b1 = bi / B2, b2 = bi % B2;
        const Batch b = batch(a, b1, b2);
        const T* dout = static_cast<const T*>(ba.dout.data) + b1 * ba.dout.strides[0] + b2 * ba.dout.strides[1];
        const int64_t dos = ba.dout.strides[2];
        const T* out = at<const T>(ba.out, b1, b2);
        const int64_t os = ba.out.strides[2];
        const T* lse = ba.lse.ptr<T>() + bi * L;
        for (int64_t i = 0; i < L4; ++i) {
          for (int64_t e = 0; e < EP; ++e) {
            qa[i * EP + e] = i < L && e < E ? b.q[i * b.qs + e] : T(0);
            dqa[i * EP + e] = T(0);
          }
          for (int64_t d = 0; d < EvP; ++d) doa[i * EvP + d] = i < L && d < Ev ? dout[i * dos + d] : T(0);
        }
        for (int64_t i = 0; i < L; ++i) {
          T acc = 0;
          for (int64_t d = 0; d < Ev; ++d) acc += doa[i * EvP + d] * out[i * os + d];
          dvec[i] = acc;
        }
        for (int64_t j0 = 0; j0 < S; j0 += kBc) {
          const int64_t cols = S - j0 < kBc ? S - j0 : kBc;
          for (int64_t c = 0; c < kBc; ++c) {
            for (int64_t e = 0; e < EP; ++e) {
              const T kv = c < cols && e < E ? b.k[(j0 + c) * b.ks + e] : T(0);
              kb[c * EP + e] = kv;
              if (e < E) kt[e * kBc + c] = kv;
            }
            for (int64_t d = 0; d < Ev; ++d) vt[d * kBc + c] = c < cols ? b.v[(j0 + c) * b.vs + d] : T(0);
          }
          for (int64_t i = 0; i < kBc * EP; ++i) dka[i] = T(0);
          for (int64_t i = 0; i < kBc * EvP; ++i) dva[i] = T(0);
          // Causal: query blocks wholly above this key block see none of it.
          for (int64_t i0 = a.causal ? j0 / kBr * kBr : 0; i0 < L; i0 += kBr) {
            const int64_t rows = L - i0 < kBr ? L - i0 : kBr, rows4 = round_up(rows, 4);
            const T* qb = qa + i0 * EP;
            const T* dob = doa + i0 * EvP;
            block_gemm(p, kBc, qb, EP, kt, kBc, rows4, kBc, E, false);
            finish_scores(p, b, a, i0, rows, j0, cols);
            for (int64_t r = 0; r < rows4; ++r) {
              T* pr = p + r * kBc;
              const T li = r < rows ? lse[i0 + r] : kNegInf;
              if (li == kNegInf) {  // padding row, or a row that attends to nothing
                for (int64_t c = 0; c < kBc; ++c) pr[c] = T(0);
                continue;
              }
              for (int64_t c = 0; c < kBc; ++c) pr[c] = exp_(pr[c] - li);
            }
            block_gemm<true>(dva, EvP, p, kBc, dob, EvP, kBc, EvP, rows4, true);
            block_gemm(ds, kBc, dob, EvP, vt, kBc, rows4, kBc, Ev, false);
            for (int64_t r = 0; r < rows4; ++r) {
              const T di = r < rows ? dvec[i0 + r] : T(0);
              for (int64_t c = 0; c < kBc; ++c) ds[r * kBc + c] = p[r * kBc + c] * (ds[r * kBc + c] - di);
            }
            block_gemm<true>(dka, EP, ds, kBc, qb, EP, kBc, EP, rows4, true);
            block_gemm(dqa + i0 * EP, EP, ds, kBc, kb, EP, rows4, EP, cols, true);
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
