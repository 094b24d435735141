// Max, average and adaptive average and max pooling (pool.cpp); contract as in ../kernels.h.
#pragma once
#include "../spatial_geom.h"
#include "common.h"

TF_KERNEL_NAMESPACE_BEGIN
void max_pool(const TensorView& out, const TensorView& indices, const TensorView& x, const SpatialGeom& g);
void max_pool_backward(const TensorView& dx, const TensorView& g, const TensorView& indices);
void avg_pool(const TensorView& out, const TensorView& x, const SpatialGeom& g, bool count_include_pad,
              int64_t divisor_override);
void avg_pool_backward(const TensorView& dx, const TensorView& g, const SpatialGeom& geom, bool count_include_pad,
                       int64_t divisor_override);
void adaptive_avg_pool(const TensorView& out, const TensorView& x);
void adaptive_avg_pool_backward(const TensorView& dx, const TensorView& g);
void adaptive_max_pool(const TensorView& out, const TensorView& indices, const TensorView& x);
TF_KERNEL_NAMESPACE_END
