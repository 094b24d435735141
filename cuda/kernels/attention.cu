// Fused scaled-dot-product attention on the device, flash style, with native/kernels/attention.cpp's
// semantics (operands in native/attention_params.h):
//
//   q [B1, B2, L, E]   k [B1, B2, S, E]   v [B1, B2, S, Ev]   mask [B1, B2, L, S] (optional)
//   s_ij  = (scale q_i) . k_j + mask_ij      (-inf where a bool mask is false or, causal, j > i)
//   out_i = sum_j softmax_j(s_i) v_j        lse_i = log sum_j exp(s_ij)   (-inf, and out NaN, when none attend)
//
// Forward: a block takes kRows query rows, one thread each, and sweeps the keys in tiles of kCols,
// staged in shared memory when they fit (else read from global memory in place), with an online
// softmax: the running max m and sum l per row, the row's output rescaled by exp(m_old - m_new).
// The L x S scores never exist: memory stays linear in the sequence length.
//
// Backward, from the saved lse (P_ij = exp(s_ij - lse_i), D_i = dout_i . out_i, 0 for a row that
// attends to nothing):
//   dv_j = sum_i P_ij dout_i    dP_ij = dout_i . v_j    dS_ij = P_ij (dP_ij - D_i)
//   dk_j = scale sum_i dS_ij q_i                         dq_i = scale sum_j dS_ij k_j
// in three launches without atomics: D per query row; dk and dv with one thread per key row (query
// tiles staged); dq with one thread per query row (key tiles staged). Scores are recomputed in both.
// Each thread accumulates its own output row in place (written through its strides).
#include <cmath>

#include "../../native/storage.h"
#include "common.cuh"
#include "kernels.cuh"

namespace tf {
namespace cuda {

constexpr int kRows = 64;  // rows per block (one thread each)
constexpr int kCols = 32;  // keys (or queries) per staged tile
constexpr size_t kStageLimit = 48 * 1024;

struct AttnOperand {
  const void* data;
  int64_t s0, s1, s2, s3;  // strides; s3 is 1 for q, k, v and the outputs, any for the mask
};
struct AttnParams {
  AttnOperand q, k, v, mask, out, dout, dq, dk, dv;
  const void* lse;
  void* dvec;  // backward: D per query row [B1 * B2 * L]
  int64_t B2, L, S, E, Ev;
  int mask_kind;  // AttnMaskKind
  bool causal;
  bool staged;  // tiles in shared memory (false when a tile of E/Ev-wide rows does not fit)
  double scale;
};

template <class T>
__device__ __forceinline__ const T* row_of(const AttnOperand& t, int64_t b1, int64_t b2, int64_t i) {
  return static_cast<const T*>(t.data) + b1 * t.s0 + b2 * t.s1 + i * t.s2;
}
template <class T>
__device__ __forceinline__ T* mut_row_of(const AttnOperand& t, int64_t b1, int64_t b2, int64_t i) {
  return static_cast<T*>(const_cast<void*>(t.data)) + b1 * t.s0 + b2 * t.s1 + i * t.s2;
}

// s_ij with the mask applied: -inf where attention is not allowed.
template <class T>
__device__ __forceinline__ T masked(const AttnParams& p, T s, int64_t b1, int64_t b2, int64_t i, int64_t j) {
  if (p.causal && j > i) return T(-INFINITY);
  if (p.mask_kind == 1) {
    const uint8_t* m = static_cast<const uint8_t*>(p.mask.data) + b1 * p.mask.s0 + b2 * p.mask.s1 + i * p.mask.s2;
    if (!m[j * p.mask.s3]) return T(-INFINITY);
  } else if (p.mask_kind == 2) {
    s += row_of<T>(p.mask, b1, b2, i)[j * p.mask.s3];
  }
  return s;
}

// Copies rows [r0, r0 + n) of t (width w) into tile [kCols][w], zero-padding missing rows.
template <class T>
__device__ __forceinline__ void stage(T* tile, const AttnOperand& t, int64_t b1, int64_t b2, int64_t r0, int64_t n, int64_t w) {
  for (int64_t e = threadIdx.x; e < kCols * w; e += blockDim.x) {
    const int64_t r = e / w, c = e % w;
    tile[e] = r < n ? row_of<T>(t, b1, b2, r0 + r)[c] : T(0);
  }
}

// The raw score (scale q_i) . k_j (the mask is applied by masked()).
template <class T>
__device__ __forceinline__ T score(const AttnParams& p, const T* q, const T* k) {
  const T scale = T(p.scale);
  T dot = 0;
  for (int64_t e = 0; e < p.E; ++e) dot += (scale * q[e]) * k[e];
  return dot;
}

// The keys a block of query rows starting at i0 reads: all of them, or (causal) up to its last row.
__device__ __forceinline__ int64_t keys_end(const AttnParams& p, int64_t i0) {
  const int64_t rows = p.L - i0 < kRows ? p.L - i0 : kRows;
  return p.causal ? (p.S < i0 + rows ? p.S : i0 + rows) : p.S;
}

// Stages keys and values [j0, j0 + cols) into ks / vs when tiles fit in shared memory; every thread
// of the block calls it.
template <class T>
__device__ __forceinline__ void stage_keys(const AttnParams& p, T* ks, T* vs, int64_t b1, int64_t b2, int64_t j0, int64_t cols) {
  if (!p.staged) return;
  stage(ks, p.k, b1, b2, j0, cols, p.E);
  stage(vs, p.v, b1, b2, j0, cols, p.Ev);
  __syncthreads();
}

template <class T>
__global__ void __launch_bounds__(kRows) attention_forward_kernel(AttnParams p) {
  TF_DYNAMIC_SMEM(T, smem);
  // 32-bit division: batch entries are < 65536 (grid.y), and a 64-bit division's call spills.
  const int64_t bi = blockIdx.y, b1 = int(blockIdx.y) / int(p.B2), b2 = int(blockIdx.y) % int(p.B2);
  const int64_t i0 = int64_t(blockIdx.x) * kRows, i = i0 + threadIdx.x;
  const bool valid = i < p.L;
  T* o = valid ? mut_row_of<T>(p.out, b1, b2, i) : nullptr;
  const T* q = valid ? row_of<T>(p.q, b1, b2, i) : nullptr;
  if (valid)
    for (int64_t d = 0; d < p.Ev; ++d) o[d] = T(0);
  T m = T(-INFINITY), l = T(0);
  const int64_t j_end = keys_end(p, i0);
  T* ks = smem;
  T* vs = smem + kCols * p.E;
  for (int64_t j0 = 0; j0 < j_end; j0 += kCols) {
    const int64_t cols = j_end - j0 < kCols ? j_end - j0 : kCols;
    stage_keys(p, ks, vs, b1, b2, j0, cols);
    if (valid) {
      T s[kCols];
      T mx = m;
      for (int c = 0; c < kCols; ++c) {
        if (c >= cols) break;
        const T* kr = p.staged ? ks + c * p.E : row_of<T>(p.k, b1, b2, j0 + c);
        s[c] = masked(p, score(p, q, kr), b1, b2, i, j0 + c);
        mx = s[c] > mx ? s[c] : mx;
      }
      // A row that may attend to nothing yet keeps shift 0: its probabilities are exp(-inf) = 0.
      const T shift = mx == T(-INFINITY) ? T(0) : mx;
      T sum = 0;
      for (int c = 0; c < kCols; ++c) {
        if (c >= cols) break;
        s[c] = std::exp(s[c] - shift);
        sum += s[c];
      }
      const T alpha = std::exp(m - shift);
      l = l * alpha + sum;
      m = mx;
      for (int64_t d = 0; d < p.Ev; ++d) {
        T acc = o[d] * alpha;
        for (int c = 0; c < kCols; ++c) {
          if (c >= cols) break;
          acc += s[c] * (p.staged ? vs[c * p.Ev + d] : row_of<T>(p.v, b1, b2, j0 + c)[d]);
        }
        o[d] = acc;
      }
    }
    if (p.staged) __syncthreads();  // the next tile overwrites the staged one
  }
  if (!valid) return;
  const T inv = T(1) / l;  // no key allowed: 0 * inf = NaN, as the unfused softmax gives
  for (int64_t d = 0; d < p.Ev; ++d) o[d] *= inv;
  static_cast<T*>(const_cast<void*>(p.lse))[bi * p.L + i] = m + std::log(l);
}

// D_i = dout_i . out_i (0 for a row that attends to nothing: its out is NaN and it sends no gradient).
template <class T>
__global__ void attention_dvec_kernel(AttnParams p, int64_t rows) {
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < rows; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t bi = t / p.L, i = t % p.L, b1 = bi / p.B2, b2 = bi % p.B2;
    const T lse = static_cast<const T*>(p.lse)[t];
    T acc = 0;
    if (lse != T(-INFINITY)) {
      const T* dout = row_of<T>(p.dout, b1, b2, i);
      const T* out = row_of<T>(p.out, b1, b2, i);
      for (int64_t d = 0; d < p.Ev; ++d) acc += dout[d] * out[d];
    }
    static_cast<T*>(p.dvec)[t] = acc;
  }
}

// P_ij from the recomputed score (0 where masked, or where the row attends to nothing).
template <class T>
__device__ __forceinline__ T prob(const AttnParams& p, T s, T lse) {
  return lse == T(-INFINITY) || s == T(-INFINITY) ? T(0) : std::exp(s - lse);
}

// One thread per key row j: dk_j and dv_j over every query (query and output-gradient tiles staged).
template <class T>
__global__ void __launch_bounds__(kRows) attention_dkdv_kernel(AttnParams p) {
  TF_DYNAMIC_SMEM(T, smem);
  // 32-bit division: batch entries are < 65536 (grid.y), and a 64-bit division's call spills.
  const int64_t bi = blockIdx.y, b1 = int(blockIdx.y) / int(p.B2), b2 = int(blockIdx.y) % int(p.B2);
  const int64_t j0b = int64_t(blockIdx.x) * kRows, j = j0b + threadIdx.x;
  const bool valid = j < p.S;
  const T scale = T(p.scale);
  T* dk = valid ? mut_row_of<T>(p.dk, b1, b2, j) : nullptr;
  T* dv = valid ? mut_row_of<T>(p.dv, b1, b2, j) : nullptr;
  const T* kr = valid ? row_of<T>(p.k, b1, b2, j) : nullptr;
  const T* vr = valid ? row_of<T>(p.v, b1, b2, j) : nullptr;
  if (valid) {
    for (int64_t e = 0; e < p.E; ++e) dk[e] = T(0);
    for (int64_t d = 0; d < p.Ev; ++d) dv[d] = T(0);
  }
  T* qs = smem;
  T* dos = smem + kCols * p.E;
  const T* lse = static_cast<const T*>(p.lse) + bi * p.L;
  const T* dvec = static_cast<const T*>(p.dvec) + bi * p.L;
  // Causal: queries before the block's first key see none of it.
  for (int64_t q0 = p.causal ? j0b : 0; q0 < p.L; q0 += kCols) {
    const int64_t n = p.L - q0 < kCols ? p.L - q0 : kCols;
    if (p.staged) {
      stage(qs, p.q, b1, b2, q0, n, p.E);
      stage(dos, p.dout, b1, b2, q0, n, p.Ev);
      __syncthreads();
    }
    if (valid) {
      for (int r = 0; r < kCols; ++r) {
        if (r >= n) break;
        const int64_t i = q0 + r;
        const T* qr = p.staged ? qs + r * p.E : row_of<T>(p.q, b1, b2, i);
        const T* dor = p.staged ? dos + r * p.Ev : row_of<T>(p.dout, b1, b2, i);
        const T pij = prob(p, masked(p, score(p, qr, kr), b1, b2, i, j), lse[i]);
        if (pij == T(0)) continue;
        T dp = 0;
        for (int64_t d = 0; d < p.Ev; ++d) {
          dv[d] += pij * dor[d];
          dp += dor[d] * vr[d];
        }
        const T ds = pij * (dp - dvec[i]);
        for (int64_t e = 0; e < p.E; ++e) dk[e] += ds * qr[e];
      }
    }
    if (p.staged) __syncthreads();
  }
  if (valid)
    for (int64_t e = 0; e < p.E; ++e) dk[e] *= scale;
}

// One thread per query row i: dq_i over every key (key and value tiles staged).
template <class T>
__global__ void __launch_bounds__(kRows) attention_dq_kernel(AttnParams p) {
  TF_DYNAMIC_SMEM(T, smem);
  // 32-bit division: batch entries are < 65536 (grid.y), and a 64-bit division's call spills.
  const int64_t bi = blockIdx.y, b1 = int(blockIdx.y) / int(p.B2), b2 = int(blockIdx.y) % int(p.B2);
  const int64_t i0 = int64_t(blockIdx.x) * kRows, i = i0 + threadIdx.x;
  const bool valid = i < p.L;
  const T scale = T(p.scale);
  T* dq = valid ? mut_row_of<T>(p.dq, b1, b2, i) : nullptr;
  const T* qr = valid ? row_of<T>(p.q, b1, b2, i) : nullptr;
  const T* dor = valid ? row_of<T>(p.dout, b1, b2, i) : nullptr;
  const T lse = valid ? static_cast<const T*>(p.lse)[bi * p.L + i] : T(0);
  const T di = valid ? static_cast<const T*>(p.dvec)[bi * p.L + i] : T(0);
  if (valid)
    for (int64_t e = 0; e < p.E; ++e) dq[e] = T(0);
  const int64_t j_end = keys_end(p, i0);
  T* ks = smem;
  T* vs = smem + kCols * p.E;
  for (int64_t j0 = 0; j0 < j_end; j0 += kCols) {
    const int64_t cols = j_end - j0 < kCols ? j_end - j0 : kCols;
    stage_keys(p, ks, vs, b1, b2, j0, cols);
    if (valid) {
      for (int c = 0; c < kCols; ++c) {
        if (c >= cols) break;
        const T* kr = p.staged ? ks + c * p.E : row_of<T>(p.k, b1, b2, j0 + c);
        const T* vr = p.staged ? vs + c * p.Ev : row_of<T>(p.v, b1, b2, j0 + c);
        const T pij = prob(p, masked(p, score(p, qr, kr), b1, b2, i, j0 + c), lse);
        if (pij == T(0)) continue;
        T dp = 0;
        for (int64_t d = 0; d < p.Ev; ++d) dp += dor[d] * vr[d];
        const T ds = pij * (dp - di);
        for (int64_t e = 0; e < p.E; ++e) dq[e] += ds * kr[e];
      }
    }
    if (p.staged) __syncthreads();
  }
  if (valid)
    for (int64_t e = 0; e < p.E; ++e) dq[e] *= scale;
}

namespace {

AttnOperand operand(const TensorView& t) {
  // 4-D [B1, B2, rows, width] (unit stride on width for all but the mask, checked by the binding).
  return AttnOperand{t.data, t.strides[0], t.strides[1], t.strides[2], t.strides[3]};
}

AttnParams params(const AttentionArgs& a) {
  AttnParams p{};
  p.q = operand(a.q);
  p.k = operand(a.k);
  p.v = operand(a.v);
  if (a.mask_kind != AttnMaskKind::None) p.mask = operand(a.mask);
  p.B2 = a.q.shape[1];
  p.L = a.q.shape[2];
  p.S = a.k.shape[2];
  p.E = a.q.shape[3];
  p.Ev = a.v.shape[3];
  p.mask_kind = int(a.mask_kind);
  p.causal = a.causal;
  p.scale = a.scale;
  return p;
}

// Dynamic shared memory for two staged tiles of widths w1 and w2, or 0 (then `staged` is false).
template <class T>
size_t stage_bytes(int64_t w1, int64_t w2) {
  const size_t bytes = sizeof(T) * size_t(kCols) * size_t(w1 + w2);
  return bytes <= kStageLimit ? bytes : 0;
}

template <class T>
void forward_t(const AttentionForwardArgs& fa) {
  AttnParams p = params(fa.in);
  p.out = operand(fa.out);
  p.lse = fa.lse.data;
  const size_t smem = stage_bytes<T>(p.E, p.Ev);
  p.staged = smem > 0;
  const int64_t batches = fa.in.q.shape[0] * p.B2;
  const dim3 grid(unsigned((p.L + kRows - 1) / kRows), unsigned(batches));
  TF_LAUNCH(grid, kRows, smem, device_stream(), attention_forward_kernel<T>)(p);
}

template <class T>
void backward_t(const AttentionBackwardArgs& ba) {
  AttnParams p = params(ba.in);
  p.out = operand(ba.out);
  p.dout = operand(ba.dout);
  p.dq = operand(ba.dq);
  p.dk = operand(ba.dk);
  p.dv = operand(ba.dv);
  p.lse = ba.lse.data;
  const int64_t batches = ba.in.q.shape[0] * p.B2, rows = batches * p.L;
  // D lives in a storage of the caching allocator: freed at the end of the call, the block is
  // reused in stream order (no synchronisation, no cudaMalloc per call).
  int64_t bytes = 0;
  const double scratch = storage_alloc(ba.in.q.dtype, rows, false, &bytes);
  StorageInfo si;
  if (scratch < 0 || !storage_lookup(scratch, &si)) {
    check_call(cudaErrorMemoryAllocation, "scaledDotProductAttention backward scratch");
    return;
  }
  p.dvec = si.data;
  TF_LAUNCH(grid_for(rows), kThreads, 0, device_stream(), attention_dvec_kernel<T>)(p, rows);
  const size_t smem_kv = stage_bytes<T>(p.E, p.Ev);
  p.staged = smem_kv > 0;
  TF_LAUNCH(dim3(unsigned((p.S + kRows - 1) / kRows), unsigned(batches)), kRows, smem_kv, device_stream(),
            attention_dkdv_kernel<T>)(p);
  TF_LAUNCH(dim3(unsigned((p.L + kRows - 1) / kRows), unsigned(batches)), kRows, smem_kv, device_stream(),
            attention_dq_kernel<T>)(p);
  check_launch("scaledDotProductAttention backward");
  storage_free(scratch);
}

void attention_forward(const AttentionForwardArgs& a) {
  if (a.in.q.shape[0] * a.in.q.shape[1] > 65535) {
    check_call(cudaErrorInvalidValue, "scaledDotProductAttention over 65535 batch entries");
    return;
  }
  TF_DISPATCH_FLOAT(a.in.q.dtype, T, forward_t<T>(a));
  check_launch("scaledDotProductAttention");
}

void attention_backward(const AttentionBackwardArgs& a) {
  if (a.in.q.shape[0] * a.in.q.shape[1] > 65535) {
    check_call(cudaErrorInvalidValue, "scaledDotProductAttention backward over 65535 batch entries");
    return;
  }
  TF_DISPATCH_FLOAT(a.in.q.dtype, T, backward_t<T>(a));
}

}  // namespace

void register_attention(KernelTable& t) {
  t.attention_forward = attention_forward;
  t.attention_backward = attention_backward;
}

}  // namespace cuda
}  // namespace tf
