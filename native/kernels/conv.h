// im2col / col2im for convolution (conv.cpp); contract as in ../kernels.h.
#pragma once
#include "../spatial_geom.h"
#include "common.h"

TF_KERNEL_NAMESPACE_BEGIN
void im2col(const TensorView& cols, const TensorView& x, const SpatialGeom& g);
void col2im(const TensorView& dx, const TensorView& cols, const SpatialGeom& g);
TF_KERNEL_NAMESPACE_END
