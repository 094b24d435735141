// Fused optimizer updates (optim.cpp); contract as in ../kernels.h.
#pragma once
#include "../optim_params.h"
#include "common.h"

TF_KERNEL_NAMESPACE_BEGIN
void sgd_step(void* p, const void* g, void* buf, int32_t dtype, int64_t n, const SgdParams& h);
void adam_step(void* p, const void* g, void* exp_avg, void* exp_avg_sq, void* max_exp_avg_sq, int32_t dtype,
               int64_t n, const AdamParams& h);
void rmsprop_step(void* p, const void* g, void* square_avg, void* grad_avg, void* buf, int32_t dtype, int64_t n,
                  const RmspropParams& h);
void adagrad_step(void* p, const void* g, void* sum, int32_t dtype, int64_t n, const AdagradParams& h);
TF_KERNEL_NAMESPACE_END
