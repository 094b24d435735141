// FMA throughput probe (peak.cpp).
#pragma once
#include "common.h"

TF_KERNEL_NAMESPACE_BEGIN
// Runs iters rounds of 12 vector FMA chains on every pool thread; returns the flops performed.
double fma_burn(int64_t iters);
TF_KERNEL_NAMESPACE_END
