// The kernel table: every CPU kernel the binding can call, as function pointers. native/kernels/*.cpp
// are compiled once per CPU level (see CMakeLists.txt); each copy fills a table, and cpu_dispatch.cpp
// picks the table of the best level the CPU supports.
//
// Conventions shared by all kernels:
//  - `out` views are written, never read (except `accumulate` / beta flags that say so);
//  - inputs of elementwise kernels already have `out`'s ndim and shape (broadcast dims have stride 0);
//  - kernels never allocate tensors and never throw: the binding validated shapes, dtypes and bounds.
#pragma once
#include <cstdint>
#include "attention_params.h"
#include "kernel_types.h"
#include "optim_params.h"
#include "rnn_params.h"
#include "spatial_geom.h"

namespace tf {

struct KernelTable {
  const char* level;  // "avx512", "avx2" or "generic"

  // out = op(x) elementwise (same dtype, except LogicalNot which writes bool).
  void (*unary)(UnaryOp op, const TensorView& out, const TensorView& x, const double* params);
  // dx = dL/dx given g = dL/dy, the input x and the output y of op (all of one float dtype).
  void (*unary_backward)(UnaryOp op, const TensorView& dx, const TensorView& g, const TensorView& x,
                         const TensorView& y, const double* params);
  // out = a op b (a and b of one dtype; out of that dtype or bool for comparisons).
  void (*binary)(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b);
  // out = cond ? a : b
  void (*where)(const TensorView& out, const TensorView& cond, const TensorView& a, const TensorView& b);
  // out = x, converting between any two dtypes.
  void (*copy)(const TensorView& out, const TensorView& x);
  // out[...] = value
  void (*fill)(const TensorView& out, double value);

  // out (ndim = x.ndim - nreduce, contiguous) = op over the last nreduce dims of x.
  // ArgMax/ArgMin write int32 indices into the flattened reduced dims; Var uses `correction`.
  void (*reduce)(ReduceOp op, const TensorView& out, const TensorView& x, int nreduce, double correction);

  // Softmax along the middle dim of a contiguous [outer, n, inner] tensor.
  void (*softmax)(bool log, void* out, const void* x, int32_t dtype, int64_t outer, int64_t n, int64_t inner);
  // dx from y (the softmax / logSoftmax output) and g = dL/dy, same layout.
  void (*softmax_backward)(bool log, void* dx, const void* g, const void* y, int32_t dtype, int64_t outer,
                           int64_t n, int64_t inner);

  // Batched GEMM: C[b] = alpha * A[b] @ B[b] + beta * C[b]. A is [..., M, K], B is [..., K, N], C is
  // [..., M, N], with one batch shape (broadcast batch dims have stride 0 in A or B). A batch dim
  // where C has stride 0 is summed over: C = alpha * sum_r A[r] @ B[r] + beta * C (batch-reduce).
  // Any strides; beta == 0 never reads C.
  void (*gemm)(const TensorView& c, const TensorView& a, const TensorView& b, double alpha, double beta);
  // The same with an epilogue (kernel_types.h): C = act(alpha * A @ B + beta * C + bias), applied as
  // each tile of C is finished. No batch-reduce (C has no stride-0 batch dim).
  void (*gemm_epilogue)(const TensorView& c, const TensorView& a, const TensorView& b, double alpha, double beta,
                        const GemmEpilogue& ep);
  // The bfloat16 GEMM's kernel: request -1 reads it, 0-3 pins it (auto, widen to float32, AVX512-BF16
  // dot products, AMX tiles) and returns the one in use or -1 when it does not run here; has(k):
  // whether kernel k runs here (gemm.h).
  int (*bf16_gemm_kernel)(int request);
  int (*bf16_gemm_has)(int kernel);
  // The float/double GEMM's register tile: -1 reads the pin, 0 unpins, 1 and 2 pin the first or the
  // second tile shape; -1 back when this level has no such shape (gemm.h).
  int (*gemm_tile)(int request);
  // Whether the float/double GEMM may skip packing for a small B: -1 reads, 0 forbids, 1 allows (gemm.h).
  int (*gemm_unpacked)(int request);

  // Indexing. `index` is int32 and already bounds-checked against x.shape[dim].
  // out[..., i, ...] = x[..., index[i], ...]                       (index 1-D, out.shape[dim] = len)
  void (*index_select)(const TensorView& out, const TensorView& x, int dim, const TensorView& index);
  // out[..., i, ...] += src[..., i, ...] at row index[i] of dim    (out is written in place)
  void (*index_add)(const TensorView& out, int dim, const TensorView& index, const TensorView& src, double alpha);
  // out[i][j][k] = x[i][index[i][j][k]][k]  (dim = 1 shown; index has out's shape)
  void (*gather)(const TensorView& out, const TensorView& x, int dim, const TensorView& index);
  // out[i][index[i][j][k]][k] += src[i][j][k]  (in place; index and src share a shape)
  void (*scatter_add)(const TensorView& out, int dim, const TensorView& index, const TensorView& src);

  // Random numbers from the counter-based generator: element i of `out` (contiguous, float) gets
  // draw number offset + i of stream `seed`, so results do not depend on the thread count.
  void (*uniform)(const TensorView& out, uint64_t seed, uint64_t offset, double lo, double hi);
  void (*normal)(const TensorView& out, uint64_t seed, uint64_t offset, double mean, double stddev);
  void (*randint)(const TensorView& out, uint64_t seed, uint64_t offset, int64_t lo, int64_t hi);

  // Convolution and pooling (conv.cpp, pool.cpp) on 5-D [N, C, D, H, W] views: 1-D and 2-D ops have
  // unit D (and H) dims; `g` is the window geometry (see spatial_geom.h). `x` and `g` (gradients) may
  // have any strides; outputs, indices and `dx` of the pooling backwards are contiguous.
  // cols [N, C*KD*KH*KW, OD*OH*OW] (last stride 1) = im2col(x); dx += col2im(cols) (accumulates).
  void (*im2col)(const TensorView& cols, const TensorView& x, const SpatialGeom& g);
  void (*col2im)(const TensorView& dx, const TensorView& cols, const SpatialGeom& g);
  // Direct convolution (conv_direct.cpp) for stride 1, no dilation, unit depth: out (contiguous) =
  // act(conv(x, w) + bias) (bias may be null); dw (no stride-0 dims) = the weight gradient from gout.
  // w is [outC, C / groups, 1, KH, KW] contiguous; g.pad holds the padding before each dim. With
  // `adjoint`, x is an output gradient [N, outC, ...], out the input gradient [N, C, ...], w the
  // forward's weight (flipped and transposed inside), and g the adjoint's geometry (pad K-1-p).
  void (*conv_direct)(const TensorView& out, const TensorView& x, const TensorView& w, const TensorView* bias,
                      const SpatialGeom& g, int64_t groups, bool adjoint, Activation act);
  void (*conv_direct_weight_grad)(const TensorView& dw, const TensorView& x, const TensorView& gout,
                                  const SpatialGeom& g, int64_t groups);
  // A convolution's bias gradient: db [C] = the sum of gout [N, C, D, H, W] (any strides) over all
  // but its channel dim (conv.cpp).
  void (*conv_bias_grad)(const TensorView& db, const TensorView& gout);
  // Convolution as implicit GEMM (cuda/kernels/conv_implicit.cu; on the CPU, im2col + GEMM a tile
  // of output rows at a time, conv_tiled.cpp): y is output-shaped [N, outC, D, H, W] (contiguous),
  // x input-shaped [N, C, D, H, W], w [outC, C / groups, KD, KH, KW] (contiguous). mode 0 writes
  // y = act(conv(x, w) + bias); mode 1 writes x (contiguous) = the input gradient from y = gOut;
  // mode 2 writes w = the weight gradient from x and y = gOut (act is None in modes 1 and 2).
  void (*conv_implicit)(int mode, const TensorView& y, const TensorView& x, const TensorView& w, const TensorView* bias,
                        const SpatialGeom& g, int64_t groups, Activation act);
  // Depthwise 2-D convolution (groups == C == outC; conv_depthwise.cpp), any stride, padding and
  // dilation, with conv_implicit's operands and modes (w is [C, 1, 1, KH, KW]; what is read may
  // have any strides).
  void (*conv_depthwise)(int mode, const TensorView& y, const TensorView& x, const TensorView& w,
                         const TensorView* bias, const SpatialGeom& g, Activation act);
  // Its backward in one call: writes each of dx (input-shaped), dw (weight-shaped) and db ([C])
  // that is not null, from gOut (output-shaped), x and w (the written ones contiguous).
  void (*conv_depthwise_backward)(const TensorView* dx, const TensorView* dw, const TensorView* db,
                                  const TensorView& gout, const TensorView& x, const TensorView& w,
                                  const SpatialGeom& g);
  // out, indices (int32, flat position in the input plane) = max over each window; the backward
  // writes dx = the gradient scattered through the indices.
  void (*max_pool)(const TensorView& out, const TensorView& indices, const TensorView& x, const SpatialGeom& g);
  void (*max_pool_backward)(const TensorView& dx, const TensorView& g, const TensorView& indices);
  // Average over each window (divisor: divisor_override if > 0, else per count_include_pad); the
  // backward writes dx.
  void (*avg_pool)(const TensorView& out, const TensorView& x, const SpatialGeom& g, bool count_include_pad,
                   int64_t divisor_override);
  void (*avg_pool_backward)(const TensorView& dx, const TensorView& g, const SpatialGeom& geom,
                            bool count_include_pad, int64_t divisor_override);
  // Adaptive average pooling to out's spatial shape; the backward writes dx.
  void (*adaptive_avg_pool)(const TensorView& out, const TensorView& x);
  void (*adaptive_avg_pool_backward)(const TensorView& dx, const TensorView& g);
  // Adaptive max pooling to out's spatial shape, with indices (int32, flat position in the input
  // plane) as max_pool's; its backward is max_pool_backward.
  void (*adaptive_max_pool)(const TensorView& out, const TensorView& indices, const TensorView& x);

  // Fused optimizer updates (optim.cpp): one pass over a contiguous parameter p (updated in place),
  // its gradient g and its state buffers, all of n elements and one float dtype. Optional buffers
  // are null when the option is off (SGD/RMSprop momentum, AMSGrad, centered RMSprop).
  void (*sgd_step)(void* p, const void* g, void* buf, int32_t dtype, int64_t n, const SgdParams& h);
  void (*adam_step)(void* p, const void* g, void* exp_avg, void* exp_avg_sq, void* max_exp_avg_sq, int32_t dtype,
                    int64_t n, const AdamParams& h);
  void (*rmsprop_step)(void* p, const void* g, void* square_avg, void* grad_avg, void* buf, int32_t dtype,
                       int64_t n, const RmspropParams& h);
  void (*adagrad_step)(void* p, const void* g, void* sum, int32_t dtype, int64_t n, const AdagradParams& h);

  // Fused cross-entropy over logits [N, C] and int32 class indices [N] (kernels/loss.h).
  void (*cross_entropy)(void* loss, void* lse, const void* x, const int32_t* t, int32_t dtype, int64_t n, int64_t c,
                        int64_t ignore_index);
  void (*cross_entropy_backward)(void* dx, const void* g, const void* x, const void* lse, const int32_t* t,
                                 int32_t dtype, int64_t n, int64_t c, int64_t ignore_index);

  // Fused layer norm over rows of x [rows, d] and batch norm over channels of x [n, c, s]
  // (kernels/norm.h): contiguous operands, null for the optional ones.
  void (*layer_norm)(void* y, void* mean, void* rstd, const void* x, const void* w, const void* b, int32_t dtype,
                     int64_t rows, int64_t d, double eps);
  void (*layer_norm_backward)(void* dx, void* dw, void* db, const void* g, const void* x, const void* mean,
                              const void* rstd, const void* w, int32_t dtype, int64_t rows, int64_t d);
  void (*batch_norm)(void* y, void* save_mean, void* save_rstd, void* running_mean, void* running_var, const void* x,
                     const void* w, const void* b, int32_t dtype, int64_t n, int64_t c, int64_t s, bool training,
                     double momentum, double eps);
  void (*batch_norm_backward)(void* dx, void* dw, void* db, const void* g, const void* x, const void* mean,
                              const void* rstd, const void* w, int32_t dtype, int64_t n, int64_t c, int64_t s,
                              bool training);

  // Recurrent layers (kernels/rnn.h): the whole time loop of one layer and direction, forward and
  // backward through time; arguments in rnn_params.h.
  void (*rnn_forward)(const RnnForwardArgs& a);
  void (*rnn_backward)(const RnnBackwardArgs& a);

  // Fused scaled-dot-product attention, flash style (kernels/attention.h; operands in
  // attention_params.h): forward saves the row log-sum-exp, backward recomputes from it.
  void (*attention_forward)(const AttentionForwardArgs& a);
  void (*attention_backward)(const AttentionBackwardArgs& a);

  // FMA throughput probe (kernels/peak.h): runs `iters` rounds of vector FMA chains on every pool
  // thread and returns the flops performed; the binding times it.
  double (*fma_burn)(int64_t iters);
};

// The table in use (chosen once at load; see cpu_dispatch.cpp).
const KernelTable& kernels();
// Pin a level by name ("avx512", "avx2", "generic"); returns false when this CPU or build lacks it.
bool select_kernel_level(const char* name);
// Levels this build has and this CPU can run, best first.
int available_kernel_levels(const char** names, int max);

}  // namespace tf
