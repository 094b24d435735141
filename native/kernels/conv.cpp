// im2col and its adjoint col2im, the data movement around the GEMMs of a convolution:
//
//   x     [N, C, D, H, W]                    (any strides; 1-D/2-D inputs have unit D/H)
//   cols  [N, C*KD*KH*KW, OD*OH*OW]          (unit stride along the last dim, any other strides)
//   cols[n, ((c*KD + kd)*KH + kh)*KW + kw, (od*OH + oh)*OW + ow] = x[n, c, id, ih, iw]  (0 in padding)
//     with id = od*sd - pd + kd*dd (likewise ih, iw; see ../spatial_geom.h)
//
// so a convolution is one GEMM per image and group: out[n, g] = W[g] @ cols[n, g]. col2im is the
// transpose of im2col, accumulating: dx[n, c, id, ih, iw] += every cols entry that read it.
// Both run in parallel over (n, c) pairs: each task owns one input plane and its KD*KH*KW rows of
// cols, so no two threads write the same element.
#include "conv.h"

TF_KERNEL_NAMESPACE_BEGIN

namespace {

// Output positions o in [lo, hi) whose input position o * stride + off lies inside [0, size).
inline void valid_range(int64_t off, int64_t stride, int64_t size, int64_t nout, int64_t& lo, int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
  hi = size - 1 - off < 0 ? 0 : (size - 1 - off) / stride + 1;
  if (hi > nout) hi = nout;
  if (lo > hi) lo = hi;
}

// dst[j] = src[j * step] for j < n, and its adjoint (dst[j * step] += src[j]). Restrict pointers:
// rows here are short (an output row), so the vectoriser's runtime alias checks would dominate, and
// so would a call to memcpy/memset (hence no loop-to-libcall distribution in this file).
#pragma GCC optimize("no-tree-loop-distribute-patterns")
template <class T> inline void gather_row(T* __restrict dst, const T* __restrict src, int64_t n, int64_t step) {
  if (step == 1) {
    for (int64_t j = 0; j < n; ++j) dst[j] = src[j];
  } else {
    for (int64_t j = 0; j < n; ++j) dst[j] = src[j * step];
  }
}
template <class T> inline void scatter_add_row(T* __restrict dst, const T* __restrict src, int64_t n, int64_t step) {
  if (step == 1) {
    for (int64_t j = 0; j < n; ++j) dst[j] += src[j];
  } else {
    for (int64_t j = 0; j < n; ++j) dst[j * step] += src[j];
  }
}
template <class T> inline void zero_row(T* __restrict dst, int64_t n) {
  for (int64_t j = 0; j < n; ++j) dst[j] = T(0);
}

inline int64_t grain_for(int64_t work_per_task) {
  return work_per_task >= kGrainElementwise ? 1 : kGrainElementwise / (work_per_task + 1) + 1;
}

template <class T>
void im2col_t(const TensorView& cols, const TensorView& x, const SpatialGeom& g) {
  const int64_t N = x.shape[0], C = x.shape[1];
  const int64_t D = g.in[0], H = g.in[1], W = g.in[2];
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
  const int64_t KD = g.kernel[0], KH = g.kernel[1], KW = g.kernel[2];
  const int64_t L = OD * OH * OW, K = KD * KH * KW;
  const int64_t xs0 = x.strides[0], xs1 = x.strides[1], xs2 = x.strides[2], xs3 = x.strides[3], xs4 = x.strides[4];
  const int64_t cs0 = cols.strides[0], cs1 = cols.strides[1];
  const T* xd = x.ptr<T>();
  T* cd = cols.ptr<T>();
  parallel_for(0, N * C, grain_for(K * L), [&](int64_t lo, int64_t hi) {
    for (int64_t task = lo; task < hi; ++task) {
      const int64_t n = task / C, c = task % C;
      const T* xp = xd + n * xs0 + c * xs1;
      for (int64_t kd = 0; kd < KD; ++kd)
        for (int64_t kh = 0; kh < KH; ++kh)
          for (int64_t kw = 0; kw < KW; ++kw) {
            const int64_t row = ((c * KD + kd) * KH + kh) * KW + kw;
            T* dst = cd + n * cs0 + row * cs1;
            const int64_t offd = kd * g.dilation[0] - g.pad[0];
            const int64_t offh = kh * g.dilation[1] - g.pad[1];
            const int64_t offw = kw * g.dilation[2] - g.pad[2];
            int64_t w_lo, w_hi;
            valid_range(offw, g.stride[2], W, OW, w_lo, w_hi);
            const int64_t sw = g.stride[2] * xs4;
            for (int64_t od = 0; od < OD; ++od) {
              const int64_t id = od * g.stride[0] + offd;
              if (id < 0 || id >= D) {
                zero_row(dst, OH * OW);
                dst += OH * OW;
                continue;
              }
              for (int64_t oh = 0; oh < OH; ++oh, dst += OW) {
                const int64_t ih = oh * g.stride[1] + offh;
                if (ih < 0 || ih >= H) {
                  zero_row(dst, OW);
                  continue;
                }
                zero_row(dst, w_lo);
                gather_row(dst + w_lo, xp + id * xs2 + ih * xs3 + (w_lo * g.stride[2] + offw) * xs4, w_hi - w_lo, sw);
                zero_row(dst + w_hi, OW - w_hi);
              }
            }
          }
    }
  });
}

template <class T>
void col2im_t(const TensorView& dx, const TensorView& cols, const SpatialGeom& g) {
  const int64_t N = dx.shape[0], C = dx.shape[1];
  const int64_t D = g.in[0], H = g.in[1], W = g.in[2];
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
  const int64_t KD = g.kernel[0], KH = g.kernel[1], KW = g.kernel[2];
  const int64_t L = OD * OH * OW, K = KD * KH * KW;
  const int64_t xs0 = dx.strides[0], xs1 = dx.strides[1], xs2 = dx.strides[2], xs3 = dx.strides[3], xs4 = dx.strides[4];
  const int64_t cs0 = cols.strides[0], cs1 = cols.strides[1];
  T* xd = dx.ptr<T>();
  const T* cd = cols.ptr<T>();
  parallel_for(0, N * C, grain_for(K * L), [&](int64_t lo, int64_t hi) {
    for (int64_t task = lo; task < hi; ++task) {
      const int64_t n = task / C, c = task % C;
      T* xp = xd + n * xs0 + c * xs1;
      for (int64_t kd = 0; kd < KD; ++kd)
        for (int64_t kh = 0; kh < KH; ++kh)
          for (int64_t kw = 0; kw < KW; ++kw) {
            const int64_t row = ((c * KD + kd) * KH + kh) * KW + kw;
            const T* src = cd + n * cs0 + row * cs1;
            const int64_t offd = kd * g.dilation[0] - g.pad[0];
            const int64_t offh = kh * g.dilation[1] - g.pad[1];
            const int64_t offw = kw * g.dilation[2] - g.pad[2];
            int64_t w_lo, w_hi;
            valid_range(offw, g.stride[2], W, OW, w_lo, w_hi);
            const int64_t sw = g.stride[2] * xs4;
            for (int64_t od = 0; od < OD; ++od) {
              const int64_t id = od * g.stride[0] + offd;
              if (id < 0 || id >= D) {
                src += OH * OW;
                continue;
              }
              for (int64_t oh = 0; oh < OH; ++oh, src += OW) {
                const int64_t ih = oh * g.stride[1] + offh;
                if (ih < 0 || ih >= H) continue;
                scatter_add_row(xp + id * xs2 + ih * xs3 + (w_lo * g.stride[2] + offw) * xs4, src + w_lo, w_hi - w_lo, sw);
              }
            }
          }
    }
  });
}

}  // namespace

void im2col(const TensorView& cols, const TensorView& x, const SpatialGeom& g) {
  TF_DISPATCH_FLOAT(x.dtype, T, im2col_t<T>(cols, x, g));
}

void col2im(const TensorView& dx, const TensorView& cols, const SpatialGeom& g) {
  TF_DISPATCH_FLOAT(dx.dtype, T, col2im_t<T>(dx, cols, g));
}

TF_KERNEL_NAMESPACE_END
