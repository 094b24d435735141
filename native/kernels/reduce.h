// Reductions (reduce.cpp); contract as in ../kernels.h.
#pragma once
#include "common.h"

TF_KERNEL_NAMESPACE_BEGIN
void reduce(ReduceOp op, const TensorView& out, const TensorView& x, int nreduce, double correction);
TF_KERNEL_NAMESPACE_END
