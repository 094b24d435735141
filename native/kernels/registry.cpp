// Fills the kernel table of this CPU level (one copy per level; see CMakeLists.txt). The only kernel
// file that sees ../kernels.h: adding a kernel recompiles this file, not every kernel.
#include "../kernels.h"
#include "attention.h"
#include "conv.h"
#include "elementwise.h"
#include "gemm.h"
#include "indexing.h"
#include "loss.h"
#include "norm.h"
#include "optim.h"
#include "peak.h"
#include "pool.h"
#include "random.h"
#include "reduce.h"
#include "rnn.h"
#include "softmax.h"

TF_KERNEL_NAMESPACE_BEGIN

void register_all(KernelTable& t) {
  t.unary = unary;
  t.unary_backward = unary_backward;
  t.binary = binary;
  t.where = where;
  t.copy = copy;
  t.fill = fill;
  t.reduce = reduce;
  t.softmax = softmax;
  t.softmax_backward = softmax_backward;
  t.gemm = gemm;
  t.gemm_epilogue = gemm_epilogue;
  t.bf16_gemm_kernel = bf16_gemm_kernel;
  t.gemm_tile = gemm_tile;
  t.gemm_unpacked = gemm_unpacked;
  t.bf16_gemm_has = bf16_gemm_has;
  t.index_select = index_select;
  t.index_add = index_add;
  t.gather = gather;
  t.scatter_add = scatter_add;
  t.uniform = uniform;
  t.normal = normal;
  t.randint = randint;
  t.im2col = im2col;
  t.col2im = col2im;
  t.conv_direct = conv_direct;
  t.conv_direct_weight_grad = conv_direct_weight_grad;
  t.conv_bias_grad = conv_bias_grad;
  t.conv_implicit = conv_implicit;
  t.conv_depthwise = conv_depthwise;
  t.conv_depthwise_backward = conv_depthwise_backward;
  t.max_pool = max_pool;
  t.max_pool_backward = max_pool_backward;
  t.avg_pool = avg_pool;
  t.avg_pool_backward = avg_pool_backward;
  t.adaptive_avg_pool = adaptive_avg_pool;
  t.adaptive_avg_pool_backward = adaptive_avg_pool_backward;
  t.adaptive_max_pool = adaptive_max_pool;
  t.sgd_step = sgd_step;
  t.adam_step = adam_step;
  t.rmsprop_step = rmsprop_step;
  t.adagrad_step = adagrad_step;
  t.cross_entropy = cross_entropy;
  t.cross_entropy_backward = cross_entropy_backward;
  t.layer_norm = layer_norm;
  t.layer_norm_backward = layer_norm_backward;
  t.batch_norm = batch_norm;
  t.batch_norm_backward = batch_norm_backward;
  t.rnn_forward = rnn_forward;
  t.rnn_backward = rnn_backward;
  t.attention_forward = attention_forward;
  t.attention_backward = attention_backward;
  t.fma_burn = fma_burn;
}

TF_KERNEL_NAMESPACE_END
