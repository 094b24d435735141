// The row loops of im2col and col2im, shared by the whole-image kernels (conv.cpp) and the tiled
// convolution (conv_tiled.cpp):
//
//   x     [N, C, D, H, W]                    (any strides; 1-D/2-D inputs have unit D/H)
//   cols  [C*KD*KH*KW, OD*OH*OW] per image   (unit stride along a row, rows ldc apart)
//   cols[((c*KD + kd)*KH + kh)*KW + kw, (od*OH + oh)*OW + ow] = x[c, id, ih, iw]  (0 in padding)
//     with id = od*sd - pd + kd*dd (likewise ih, iw; see ../spatial_geom.h)
//
// An output row r = od*OH + oh is OW columns; conv_plane_rows fills (im2col) or adds back (col2im)
// the columns of output rows [r0, r1) for one input plane (one image and channel), so a caller can
// take a whole image or a tile of its rows.
#pragma once
#include <type_traits>

#include "../spatial_geom.h"
#include "../tensor_view.h"
#include "simd.h"
#include "window.h"

TF_KERNEL_NAMESPACE_BEGIN

// dst[j] = src[j * step] for j < n, and its adjoint (dst[j * step] += src[j]). Restrict pointers:
// rows here are short (an output row), so the vectoriser's runtime alias checks would dominate.
// Stride 2 (ResNet's stem and downsampling layers) gets vector loops: two vectors of the input row
// are split into their even lanes (gather), or a vector of the columns is interleaved with -0
// (x + -0 is x, also for x = -0) and added to two vectors of the input row (scatter: the odd
// elements are rewritten unchanged, which is safe because one task owns the plane). The vector
// loops stop while a vector still ends at or before element 2(n-1), so they never touch past it.
template <class T>
struct StrideTwo {
  typedef typename Vec<T>::type V;
  typedef typename std::conditional<sizeof(T) == 4, int32_t, int64_t>::type I;
  typedef I M __attribute__((vector_size(kVecBytes)));
  static constexpr int W = kVecBytes / int(sizeof(T));
  static void gather(T* __restrict dst, const T* __restrict src, int64_t n) {
    M even;
    for (int l = 0; l < W; ++l) even[l] = I(2 * l);
    int64_t j = 0;
    for (; j + W < n; j += W) {
      V a, b;
      __builtin_memcpy(&a, src + 2 * j, sizeof(V));
      __builtin_memcpy(&b, src + 2 * j + W, sizeof(V));
      const V r = __builtin_shuffle(a, b, even);
      __builtin_memcpy(dst + j, &r, sizeof(V));
    }
    for (; j < n; ++j) dst[j] = src[2 * j];
  }
  static void scatter_add(T* __restrict dst, const T* __restrict src, int64_t n) {
    M lo, hi;
    V nz;
    for (int l = 0; l < W; ++l) {
      lo[l] = I(l % 2 ? W + l / 2 : l / 2);
      hi[l] = lo[l] + I(W / 2);
      nz[l] = -T(0);
    }
    int64_t j = 0;
    for (; j + W < n; j += W) {
      V c, d0, d1;
      __builtin_memcpy(&c, src + j, sizeof(V));
      __builtin_memcpy(&d0, dst + 2 * j, sizeof(V));
      __builtin_memcpy(&d1, dst + 2 * j + W, sizeof(V));
      d0 += __builtin_shuffle(c, nz, lo);
      d1 += __builtin_shuffle(c, nz, hi);
      __builtin_memcpy(dst + 2 * j, &d0, sizeof(V));
      __builtin_memcpy(dst + 2 * j + W, &d1, sizeof(V));
    }
    for (; j < n; ++j) dst[2 * j] += src[j];
  }
};

template <class T> inline void gather_row(T* __restrict dst, const T* __restrict src, int64_t n, int64_t step) {
  if (step == 1) {
    for (int64_t j = 0; j < n; ++j) dst[j] = src[j];
  } else if (step == 2) {
    StrideTwo<T>::gather(dst, src, n);
  } else {
    for (int64_t j = 0; j < n; ++j) dst[j] = src[j * step];
  }
}
template <class T> inline void scatter_add_row(T* __restrict dst, const T* __restrict src, int64_t n, int64_t step) {
  if (step == 1) {
    for (int64_t j = 0; j < n; ++j) dst[j] += src[j];
  } else if (step == 2) {
    StrideTwo<T>::scatter_add(dst, src, n);
  } else {
    for (int64_t j = 0; j < n; ++j) dst[j * step] += src[j];
  }
}
template <class T> inline void zero_row(T* __restrict dst, int64_t n) {
  for (int64_t j = 0; j < n; ++j) dst[j] = T(0);
}

// Everything the loops read, passed by value: locals the compiler keeps in registers (fields read
// through references or lambda captures would be reloaded after every out-of-line copy).
struct ConvArgs {
  int64_t C, D, H, W, OD, OH, OW, KD, KH, KW;
  int64_t stride[3], pad[3], dil[3];
  int64_t xs[5];  // x's strides
};

inline ConvArgs conv_args(const TensorView& x, const SpatialGeom& g) {
  ConvArgs a;
  a.C = x.shape[1];
  a.D = g.in[0], a.H = g.in[1], a.W = g.in[2];
  a.OD = g.out[0], a.OH = g.out[1], a.OW = g.out[2];
  a.KD = g.kernel[0], a.KH = g.kernel[1], a.KW = g.kernel[2];
  for (int i = 0; i < 3; ++i) a.stride[i] = g.stride[i], a.pad[i] = g.pad[i], a.dil[i] = g.dilation[i];
  for (int i = 0; i < 5; ++i) a.xs[i] = x.strides[i];
  return a;
}

inline ColumnRanges column_ranges(const ConvArgs& a) {
  return ColumnRanges(a.KW, a.dil[2], a.pad[2], a.stride[2], a.W, a.OW);
}

// The KD*KH*KW rows of cols for input plane xp (one image and channel; cp is its first row, rows
// ldc apart), output rows [r0, r1) at columns [0, (r1 - r0) * OW): forward (im2col) copies each
// row's in-bounds run [w_lo, w_hi) from x and zeroes the rest; backward (col2im) adds that run back
// into the plane (xp is dx then, and cp is only read).
template <bool kForward, class T>
void conv_plane_rows(const ConvArgs a, const ColumnRanges& cr, T* xp, T* cp, int64_t ldc, int64_t r0, int64_t r1) {
  const int64_t step = a.stride[2] * a.xs[4];
  for (int64_t kd = 0; kd < a.KD; ++kd)
    for (int64_t kh = 0; kh < a.KH; ++kh)
      for (int64_t kw = 0; kw < a.KW; ++kw) {
        T* crow = cp + ((kd * a.KH + kh) * a.KW + kw) * ldc;
        const int64_t offd = kd * a.dil[0] - a.pad[0];
        const int64_t offh = kh * a.dil[1] - a.pad[1];
        const int64_t offw = kw * a.dil[2] - a.pad[2];
        int64_t w_lo, w_hi;
        cr.get(kw, w_lo, w_hi);
        T* xk = xp + (w_lo * a.stride[2] + offw) * a.xs[4];
        int64_t od = r0 / a.OH, oh = r0 - od * a.OH;
        for (int64_t r = r0; r < r1; ++r, crow += a.OW) {
          const int64_t id = od * a.stride[0] + offd, ih = oh * a.stride[1] + offh;
          if (++oh == a.OH) oh = 0, ++od;
          if (id < 0 || id >= a.D || ih < 0 || ih >= a.H) {
            if (kForward) zero_row(crow, a.OW);
            continue;
          }
          T* xrow = xk + id * a.xs[2] + ih * a.xs[3];
          if (kForward) {
            zero_row(crow, w_lo);
            gather_row(crow + w_lo, xrow, w_hi - w_lo, step);
            zero_row(crow + w_hi, a.OW - w_hi);
          } else {
            scatter_add_row(xrow, crow + w_lo, w_hi - w_lo, step);
          }
        }
      }
}

TF_KERNEL_NAMESPACE_END
