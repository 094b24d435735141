// The CUDA device as the kernels and the storage see it: one device, one stream, and the error
// left by the last launch or copy. Implemented in cuda/device_storage.cpp.
#pragma once
#include <string>

#include "compat.h"

namespace tf {
namespace cuda {

// The stream every kernel and copy runs on (work is ordered; the host waits only to read results).
cudaStream_t device_stream();
int device_sm_count();
// After a launch: turns a launch error into the pending device error (see take_device_error in
// native/storage.h), naming the kernel; under the emulator with its diagnostic (file:line).
void check_launch(const char* kernel);
// Records a failed runtime call (a copy, an allocation) as the pending device error.
void check_call(cudaError_t e, const char* what);
// Whether float32 GEMMs may use tensor cores with TF32 inputs (off by default, as PyTorch's
// allow_tf32 for matmul; kernels/gemm_tf32.cu).
bool allow_tf32();
void set_allow_tf32(bool allow);

}  // namespace cuda
}  // namespace tf
