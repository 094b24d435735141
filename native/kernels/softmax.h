// Softmax and its backward (softmax.cpp); contract as in ../kernels.h.
#pragma once
#include "common.h"

TF_KERNEL_NAMESPACE_BEGIN
void softmax(bool log, void* y, const void* x, int32_t dtype, int64_t outer, int64_t n, int64_t inner);
void softmax_backward(bool log, void* dx, const void* g, const void* y, int32_t dtype, int64_t outer, int64_t n,
                      int64_t inner);
TF_KERNEL_NAMESPACE_END
