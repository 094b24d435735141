// Counter-based random fills (random.cpp); contracts as in ../kernels.h.
#pragma once
#include "common.h"

TF_KERNEL_NAMESPACE_BEGIN
void uniform(const TensorView& out, uint64_t seed, uint64_t offset, double lo, double hi);
void normal(const TensorView& out, uint64_t seed, uint64_t offset, double mean, double stddev);
void randint(const TensorView& out, uint64_t seed, uint64_t offset, int64_t lo, int64_t hi);
TF_KERNEL_NAMESPACE_END
