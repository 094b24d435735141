// Depthwise 2-D convolution (groups == C == outC: each channel convolved with its own KH x KW filter),
// forward and both gradients, for any stride, padding and dilation:
//
//   x [N, C, 1, H, W] (any strides)   w [C, 1, 1, KH, KW] (contiguous)   out [N, C, 1, OH, OW] (contiguous)
//   out[n, c, y, x]  = bias[c] + sum_{ky, kx} w[c, ky, kx] * xp[n, c, y*sh + ky*dh, x*sw + kx*dw]
//   dx   = the adjoint: dxp[n, c, y*sh + ky*dh, x*sw + kx*dw] += w[c, ky, kx] * g[n, c, y, x]
//   dw[c, ky, kx] = sum_{n, y, x} g[n, c, y, x] * xp[n, c, y*sh + ky*dh, x*sw + kx*dw]
// where xp is x zero-padded (pad[] before each dim), of PH x PW = what the windows reach.
//
// Each plane is copied once into a zero-padded buffer of row pitch PW. With stride 1 an output row y
// starts at flat position y*PW of that buffer, so every filter tap is one long stream over the
// whole plane (an AXPY for the forward and the input gradient, a dot product for the weight
// gradient) computed with pitch PW and compacted after; the columns past OW are dropped (or, for
// the weight gradient, multiply zeros). Strided convolutions take the taps row by row. im2col + GEMM would
// spend KH*KW times the input's memory on columns for K = KH*KW products: far from the FMA units.
// Forward and input gradient run in parallel over (n, c) planes, the weight gradient over c.
#include <vector>

#include "conv.h"

TF_KERNEL_NAMESPACE_BEGIN

namespace {

struct DwGeom {
  int64_t H, W, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw, PH, PW;
  explicit DwGeom(const SpatialGeom& g) {
    H = g.in[1], W = g.in[2], OH = g.out[1], OW = g.out[2], KH = g.kernel[1], KW = g.kernel[2];
    sh = g.stride[1], sw = g.stride[2], dh = g.dilation[1], dw = g.dilation[2], ph = g.pad[1], pw = g.pad[2];
    PH = (OH - 1) * sh + (KH - 1) * dh + 1;
    PW = (OW - 1) * sw + (KW - 1) * dw + 1;
  }
  // buf [PH, PW] = the plane at src (strides rs, cs) zero-padded.
  template <class T> void pad(T* buf, const T* src, int64_t rs, int64_t cs) const {
    for (int64_t r = 0; r < PH; ++r) {
      T* row = buf + r * PW;
      const int64_t h = r - ph;
      if (h < 0 || h >= H) {
        for (int64_t q = 0; q < PW; ++q) row[q] = T(0);
        continue;
      }
      const T* s = src + h * rs;
      const int64_t q0 = pw < PW ? pw : PW, q1 = pw + W < PW ? pw + W : PW;  // [q0, q1) holds data
      for (int64_t q = 0; q < q0; ++q) row[q] = T(0);
      if (cs == 1) {
        for (int64_t q = q0; q < q1; ++q) row[q] = s[q - pw];
      } else {
        for (int64_t q = q0; q < q1; ++q) row[q] = s[(q - pw) * cs];
      }
      for (int64_t q = q1; q < PW; ++q) row[q] = T(0);
    }
  }
};

template <class T>
T* scratch(size_t n) {
  static thread_local std::vector<T> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

template <class T>
void forward(const TensorView& out, const TensorView& x, const TensorView& w, const TensorView* bias, const DwGeom& g) {
  const int64_t N = x.shape[0], C = x.shape[1];
  parallel_for(0, N * C, 1, [&](int64_t lo, int64_t hi) {
    T* buf = scratch<T>(size_t(2 * g.PH * g.PW));
    T* flat = buf + g.PH * g.PW;  // the output plane with pitch PW (stride 1)
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t n = t / C, c = t % C;
      g.pad(buf, x.ptr<T>() + n * x.strides[0] + c * x.strides[1], x.strides[3], x.strides[4]);
      const T* wc = w.ptr<T>() + c * g.KH * g.KW;
      const T b = bias ? bias->ptr<T>()[c] : T(0);
      T* op = out.ptr<T>() + t * g.OH * g.OW;
      if (g.sh == 1 && g.sw == 1) {
        T* __restrict acc = flat;
        const int64_t n_flat = (g.OH - 1) * g.PW + g.OW;
        for (int64_t i = 0; i < n_flat; ++i) acc[i] = b;
        for (int64_t ky = 0; ky < g.KH; ++ky)
          for (int64_t kx = 0; kx < g.KW; ++kx) {
            const T wv = wc[ky * g.KW + kx];
            const T* __restrict src = buf + ky * g.dh * g.PW + kx * g.dw;
            for (int64_t i = 0; i < n_flat; ++i) acc[i] += wv * src[i];
          }
        for (int64_t y = 0; y < g.OH; ++y)
          for (int64_t x0 = 0; x0 < g.OW; ++x0) op[y * g.OW + x0] = acc[y * g.PW + x0];
        continue;
      }
      for (int64_t y = 0; y < g.OH; ++y) {
        T* __restrict orow = op + y * g.OW;
        for (int64_t x0 = 0; x0 < g.OW; ++x0) orow[x0] = b;
        for (int64_t ky = 0; ky < g.KH; ++ky)
          for (int64_t kx = 0; kx < g.KW; ++kx) {
            const T wv = wc[ky * g.KW + kx];
            const T* __restrict src = buf + (y * g.sh + ky * g.dh) * g.PW + kx * g.dw;
            if (g.sw == 1) {
              for (int64_t x0 = 0; x0 < g.OW; ++x0) orow[x0] += wv * src[x0];
            } else {
              for (int64_t x0 = 0; x0 < g.OW; ++x0) orow[x0] += wv * src[x0 * g.sw];
            }
          }
      }
    }
  });
}

template <class T>
void input_grad(const TensorView& dx, const TensorView& gout, const TensorView& w, const DwGeom& g) {
  const int64_t N = dx.shape[0], C = dx.shape[1];
  parallel_for(0, N * C, 1, [&](int64_t lo, int64_t hi) {
    T* buf = scratch<T>(size_t(2 * g.PH * g.PW));
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t n = t / C, c = t % C;
      for (int64_t i = 0; i < g.PH * g.PW; ++i) buf[i] = T(0);
      const T* gp = gout.ptr<T>() + n * gout.strides[0] + c * gout.strides[1];
      const T* wc = w.ptr<T>() + c * g.KH * g.KW;
      if (g.sh == 1 && g.sw == 1) {
        // g with pitch PW (zeros past OW), then one AXPY per tap into the padded gradient.
        T* __restrict gf = buf + g.PH * g.PW;
        const int64_t n_flat = (g.OH - 1) * g.PW + g.OW;
        for (int64_t y = 0; y < g.OH; ++y)
          for (int64_t x0 = 0; x0 < g.PW; ++x0)
            if (y * g.PW + x0 < n_flat) gf[y * g.PW + x0] = x0 < g.OW ? gp[y * gout.strides[3] + x0 * gout.strides[4]] : T(0);
        for (int64_t ky = 0; ky < g.KH; ++ky)
          for (int64_t kx = 0; kx < g.KW; ++kx) {
            const T wv = wc[ky * g.KW + kx];
            T* __restrict dst = buf + ky * g.dh * g.PW + kx * g.dw;
            for (int64_t i = 0; i < n_flat; ++i) dst[i] += wv * gf[i];
          }
      } else {
        // Strided: each output row's taps land every sw-th column of a padded row.
        const int64_t gs = gout.strides[4];
        for (int64_t y = 0; y < g.OH; ++y) {
          const T* __restrict grow = gp + y * gout.strides[3];
          for (int64_t ky = 0; ky < g.KH; ++ky)
            for (int64_t kx = 0; kx < g.KW; ++kx) {
              const T wv = wc[ky * g.KW + kx];
              T* __restrict dst = buf + (y * g.sh + ky * g.dh) * g.PW + kx * g.dw;
              for (int64_t x0 = 0; x0 < g.OW; ++x0) dst[x0 * g.sw] += wv * grow[x0 * gs];
            }
        }
      }
      // The interior of the padded buffer is dx; input positions no window reaches get 0.
      T* dp = dx.ptr<T>() + t * g.H * g.W;
      for (int64_t h = 0; h < g.H; ++h)
        for (int64_t x0 = 0; x0 < g.W; ++x0) {
          const int64_t r = h + g.ph, q = x0 + g.pw;
          dp[h * g.W + x0] = r < g.PH && q < g.PW ? buf[r * g.PW + q] : T(0);
        }
    }
  });
}

template <class T>
void weight_grad(const TensorView& dw, const TensorView& x, const TensorView& gout, const DwGeom& g) {
  const int64_t N = x.shape[0], C = x.shape[1], taps = g.KH * g.KW;
  parallel_for(0, C, 1, [&](int64_t lo, int64_t hi) {
    T* buf = scratch<T>(size_t(2 * g.PH * g.PW));
    T* gf = buf + g.PH * g.PW;  // g with pitch PW (stride 1)
    std::vector<double> acc(static_cast<size_t>(taps));
    for (int64_t c = lo; c < hi; ++c) {
      for (double& a : acc) a = 0;
      for (int64_t n = 0; n < N; ++n) {
        g.pad(buf, x.ptr<T>() + n * x.strides[0] + c * x.strides[1], x.strides[3], x.strides[4]);
        const T* gp = gout.ptr<T>() + n * gout.strides[0] + c * gout.strides[1];
        const int64_t gs = gout.strides[4];
        if (g.sh == 1 && g.sw == 1) {
          const int64_t n_flat = (g.OH - 1) * g.PW + g.OW;
          for (int64_t y = 0; y < g.OH; ++y)
            for (int64_t x0 = 0; x0 < g.PW; ++x0)
              if (y * g.PW + x0 < n_flat) gf[y * g.PW + x0] = x0 < g.OW ? gp[y * gout.strides[3] + x0 * gs] : T(0);
          for (int64_t ky = 0; ky < g.KH; ++ky)
            for (int64_t kx = 0; kx < g.KW; ++kx) {
              const T* __restrict src = buf + ky * g.dh * g.PW + kx * g.dw;
              const T* __restrict gv = gf;
              T s0 = 0, s1 = 0, s2 = 0, s3 = 0;  // independent partial sums: the loop vectorises and pipelines
              int64_t i = 0;
              for (; i + 4 <= n_flat; i += 4) {
                s0 += gv[i] * src[i];
                s1 += gv[i + 1] * src[i + 1];
                s2 += gv[i + 2] * src[i + 2];
                s3 += gv[i + 3] * src[i + 3];
              }
              for (; i < n_flat; ++i) s0 += gv[i] * src[i];
              acc[size_t(ky * g.KW + kx)] += double((s0 + s1) + (s2 + s3));
            }
          continue;
        }
        for (int64_t y = 0; y < g.OH; ++y) {
          const T* __restrict grow = gp + y * gout.strides[3];
          for (int64_t ky = 0; ky < g.KH; ++ky)
            for (int64_t kx = 0; kx < g.KW; ++kx) {
              const T* __restrict src = buf + (y * g.sh + ky * g.dh) * g.PW + kx * g.dw;
              T s = 0;
              if (g.sw == 1 && gs == 1) {
                for (int64_t x0 = 0; x0 < g.OW; ++x0) s += grow[x0] * src[x0];
              } else {
                for (int64_t x0 = 0; x0 < g.OW; ++x0) s += grow[x0 * gs] * src[x0 * g.sw];
              }
              acc[size_t(ky * g.KW + kx)] += double(s);
            }
        }
      }
      T* dc = dw.ptr<T>() + c * taps;
      for (int64_t k = 0; k < taps; ++k) dc[k] = T(acc[size_t(k)]);
    }
  });
}

}  // namespace

void conv_depthwise(int mode, const TensorView& a, const TensorView& b, const TensorView& w, const TensorView* bias,
                    const SpatialGeom& geom) {
  const DwGeom g(geom);
  switch (mode) {
    case 0: TF_DISPATCH_FLOAT(a.dtype, T, forward<T>(a, b, w, bias, g)); break;      // a = out, b = x
    case 1: TF_DISPATCH_FLOAT(a.dtype, T, input_grad<T>(a, b, w, g)); break;         // a = dx, b = gOut
    default: TF_DISPATCH_FLOAT(a.dtype, T, weight_grad<T>(w, a, b, g)); break;       // a = x, b = gOut, w = dw
  }
}

TF_KERNEL_NAMESPACE_END
