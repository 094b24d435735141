// TensorView: what a kernel sees of a tensor. A plain struct (no std types) so it can cross from the
// binding into the per-CPU-level kernel copies without ODR surprises.
//
//   element (i0, ..., i{ndim-1}) lives at  data + sum_d i_d * strides[d]   (strides in elements)
//
// Strides are >= 0; a stride of 0 repeats an element (broadcasting / expand). The binding checks that
// every reachable element lies inside the storage before any kernel runs.
#pragma once
#include <cstdint>

namespace tf {

constexpr int kMaxDims = 16;

enum DType : int32_t { kFloat32 = 0, kFloat64 = 1, kInt32 = 2, kBool = 3, kFloat16 = 4, kBFloat16 = 5, kNumDTypes = 6 };

// float16 and bfloat16 are storage types (native/kernels/half.h): only the entries that opt in take them.
inline bool is_half_dtype(int32_t dtype) { return dtype == kFloat16 || dtype == kBFloat16; }

inline int64_t dtype_size(int32_t dtype) {
  switch (dtype) {
    case kFloat32: return 4;
    case kFloat64: return 8;
    case kInt32: return 4;
    case kBool: return 1;
    case kFloat16: return 2;
    case kBFloat16: return 2;
    default: return 0;
  }
}

struct TensorView {
  void* data;  // element (0, ..., 0)
  int32_t dtype;
  int32_t ndim;
  int64_t shape[kMaxDims];
  int64_t strides[kMaxDims];

  int64_t numel() const {
    int64_t n = 1;
    for (int d = 0; d < ndim; ++d) n *= shape[d];
    return n;
  }
  bool is_contiguous() const {
    if (numel() == 0) return true;
    int64_t expected = 1;
    for (int d = ndim - 1; d >= 0; --d) {
      if (shape[d] != 1 && strides[d] != expected) return false;
      expected *= shape[d];
    }
    return true;
  }
  template <class T> T* ptr() const { return static_cast<T*>(data); }
};

// Views the kernels build over their own buffers (the RNN time loops' GEMMs and reductions):
// element (i, k) of a matrix at p + i * rs + k * cs; element i of a vector at p + i * s.
// `static`: every kernel copy (one per CPU level) keeps its own.
static inline TensorView matrix_view(const void* p, int32_t dtype, int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  TensorView v{};
  v.data = const_cast<void*>(p);
  v.dtype = dtype;
  v.ndim = 2;
  v.shape[0] = rows;
  v.shape[1] = cols;
  v.strides[0] = rs;
  v.strides[1] = cs;
  return v;
}
static inline TensorView vector_view(const void* p, int32_t dtype, int64_t n, int64_t s) {
  TensorView v = matrix_view(p, dtype, n, 1, s, 1);
  v.ndim = 1;
  return v;
}

}  // namespace tf
