// Fused layer and batch normalisation (norm.cpp); formulas at the top of norm.cpp. Contiguous
// tensors; optional operands (w, b, running statistics, gradients not wanted) are null.
#pragma once
#include "common.h"

TF_KERNEL_NAMESPACE_BEGIN
void layer_norm(void* y, void* mean, void* rstd, const void* x, const void* w, const void* b, int32_t dtype, int64_t rows,
                int64_t d, double eps);
void layer_norm_backward(void* dx, void* dw, void* db, const void* g, const void* x, const void* mean, const void* rstd,
                         const void* w, int32_t dtype, int64_t rows, int64_t d);
void batch_norm(void* y, void* save_mean, void* save_rstd, void* running_mean, void* running_var, const void* x,
                const void* w, const void* b, int32_t dtype, int64_t n, int64_t c, int64_t s, bool training,
                double momentum, double eps);
void batch_norm_backward(void* dx, void* dw, void* db, const void* g, const void* x, const void* mean, const void* rstd,
                         const void* w, int32_t dtype, int64_t n, int64_t c, int64_t s, bool training);
TF_KERNEL_NAMESPACE_END
