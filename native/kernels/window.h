// Window arithmetic shared by the convolution and pooling kernels: which output positions of a row
// read inside the input for a given kernel offset, which taps of a window lie inside the input, and
// a plane placed in a zero-padded buffer. Integer divisions are slow (tens of cycles) next to the
// short rows they bound, so the per-kernel-column ranges are computed once per task (ColumnRanges)
// and stride 1 never divides.
#pragma once
#include "common.h"
#include "simd.h"

TF_KERNEL_NAMESPACE_BEGIN

// Output positions o in [lo, hi) (of nout) whose input position o * stride + off lies in [0, size).
inline void valid_range(int64_t off, int64_t stride, int64_t size, int64_t nout, int64_t& lo, int64_t& hi) {
  if (stride == 1) {
    lo = off >= 0 ? 0 : -off;
    hi = size - off;
  } else {
    lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
    hi = size - 1 - off < 0 ? 0 : (size - 1 - off) / stride + 1;
  }
  if (hi > nout) hi = nout;
  if (hi < 0) hi = 0;
  if (lo > hi) lo = hi;
}

// Window taps k in [lo, hi) (of k_count) whose position start + k * dil lies inside [0, size).
inline void taps(int64_t start, int64_t dil, int64_t k_count, int64_t size, int64_t& lo, int64_t& hi) {
  if (start >= 0 && start + (k_count - 1) * dil < size) {  // inside: most windows
    lo = 0;
    hi = k_count;
    return;
  }
  lo = start >= 0 ? 0 : (-start + dil - 1) / dil;
  hi = size - 1 - start < 0 ? 0 : (size - 1 - start) / dil + 1;
  if (hi > k_count) hi = k_count;
  if (lo > hi) lo = hi;
}

// valid_range of kernel column k (input offset k * dil - pad) for k < K, cached for small K.
struct ColumnRanges {
  static constexpr int kMax = 32;
  int64_t lo[kMax], hi[kMax];
  int64_t cached, dil, pad, stride, size, nout;
  ColumnRanges(int64_t K, int64_t dil_, int64_t pad_, int64_t stride_, int64_t size_, int64_t nout_)
      : cached(K < kMax ? K : kMax), dil(dil_), pad(pad_), stride(stride_), size(size_), nout(nout_) {
    for (int64_t k = 0; k < cached; ++k) valid_range(k * dil - pad, stride, size, nout, lo[k], hi[k]);
  }
  void get(int64_t k, int64_t& l, int64_t& h) const {
    if (k < cached) {
      l = lo[k];
      h = hi[k];
    } else {
      valid_range(k * dil - pad, stride, size, nout, l, h);
    }
  }
};

// dst [PHd, PWd] = the [rows, cols] plane at src (strides rs, cs) placed at (top, left), zeros
// elsewhere (what falls outside dst is dropped); then `slack` more zeros, for vector loops that read
// past the last row (lanes whose results are discarded or multiplied by zero).
template <class T>
void place_plane(T* dst, int64_t PHd, int64_t PWd, const T* src, int64_t rows, int64_t cols, int64_t rs, int64_t cs,
                 int64_t top, int64_t left, int64_t slack) {
  const int64_t q0 = left > 0 ? (left < PWd ? left : PWd) : 0;
  const int64_t q1 = left + cols < PWd ? (left + cols > q0 ? left + cols : q0) : PWd;  // [q0, q1) from src
  for (int64_t r = 0; r < PHd; ++r) {
    T* __restrict row = dst + r * PWd;
    const int64_t h = r - top;
    if (h < 0 || h >= rows) {
      zero_run(row, PWd);
      continue;
    }
    const T* __restrict sr = src + h * rs + (q0 - left) * cs;
    zero_run(row, q0);
    if (cs == 1) {
      copy_run(row + q0, sr, q1 - q0);
    } else {
      for (int64_t q = 0; q < q1 - q0; ++q) row[q0 + q] = sr[q * cs];
    }
    zero_run(row + q1, PWd - q1);
  }
  zero_run(dst + PHd * PWd, slack);
}

TF_KERNEL_NAMESPACE_END
