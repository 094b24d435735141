// Fused losses (loss.cpp).
#pragma once
#include "common.h"

TF_KERNEL_NAMESPACE_BEGIN
// Cross-entropy of logits x [N, C] (contiguous) against class indices t [N] (int32):
//   lse[n] = log sum_c exp(x[n, c]),  loss[n] = lse[n] - x[n, t[n]]   (0 where t[n] == ignore_index)
void cross_entropy(void* loss, void* lse, const void* x, const int32_t* t, int32_t dtype, int64_t n, int64_t c,
                   int64_t ignore_index);
// dx[n, c] = g[n] * (exp(x[n, c] - lse[n]) - [c == t[n]])   (0 rows where t[n] == ignore_index)
void cross_entropy_backward(void* dx, const void* g, const void* x, const void* lse, const int32_t* t, int32_t dtype,
                            int64_t n, int64_t c, int64_t ignore_index);
TF_KERNEL_NAMESPACE_END
