// Gather / scatter along a dim (indexing.cpp); contracts as in ../kernels.h.
#pragma once
#include "common.h"

TF_KERNEL_NAMESPACE_BEGIN
void index_select(const TensorView& out, const TensorView& x, int dim, const TensorView& index);
void index_add(const TensorView& out, int dim, const TensorView& index, const TensorView& src, double alpha);
void gather(const TensorView& out, const TensorView& x, int dim, const TensorView& index);
void scatter_add(const TensorView& out, int dim, const TensorView& index, const TensorView& src);
TF_KERNEL_NAMESPACE_END
