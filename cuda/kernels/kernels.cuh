// The CUDA kernel files' entry points: each fills its part of the kernel table (native/kernels.h)
// with host functions that launch its kernels; cuda/kernel_table.cpp calls them all.
#pragma once
#include "../../native/kernels.h"
#include "../../native/scalar_operand.h"

namespace tf {
namespace cuda {

void register_elementwise(KernelTable& t);
void register_reduce(KernelTable& t);
void register_softmax(KernelTable& t);
void register_gemm(KernelTable& t);
void register_loss(KernelTable& t);
void register_optim(KernelTable& t);
void register_random(KernelTable& t);
void register_indexing(KernelTable& t);
void register_spatial(KernelTable& t);
void register_norm(KernelTable& t);
void register_attention(KernelTable& t);
void register_rnn(KernelTable& t);
void register_conv_depthwise(KernelTable& t);
void register_conv_implicit(KernelTable& t);

}  // namespace cuda
}  // namespace tf
