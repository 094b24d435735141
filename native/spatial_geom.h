// SpatialGeom: the window geometry shared by the convolution (kernels/conv.cpp) and pooling
// (kernels/pool.cpp) kernels. A plain struct, like TensorView, so it crosses from the binding into
// the per-CPU-level kernel copies.
//
// Kernels see every tensor as [N, C, D, H, W]: 1-D and 2-D ops have unit leading spatial dims
// (the binding inserts them), so one kernel serves 1-D, 2-D and 3-D. Along spatial dim i, output
// position o reads input positions
//     o * stride[i] - pad[i] + k * dilation[i],   k = 0 .. kernel[i] - 1
// and positions outside [0, in[i]) are padding (zeros for convolution, ignored or counted for pooling).
// pad[i] is the padding before the data; the padding after is implied by out[i].
#pragma once
#include <cstdint>

namespace tf {

struct SpatialGeom {
  int64_t in[3];
  int64_t out[3];
  int64_t kernel[3];
  int64_t stride[3];
  int64_t pad[3];
  int64_t dilation[3];
};

}  // namespace tf
