// Kernels that check the emulator itself (test/cuda_emulator.test.ts runs them through the emulated
// addon's emuSelfTest): a correct reduction that must give the same sum in every schedule, a race
// that some schedule must expose, and launches the emulator must refuse with a diagnostic.
#include <cmath>
#include <string>
#include <vector>

#include "../../native/storage.h"
#include "../kernels/common.cuh"

namespace tf {
namespace cuda {

// Shared memory tree + warp shuffles + an atomic across blocks.
__global__ void selftest_block_sum(const float* x, float* out, int n) {
  TF_SHARED(float, scratch, [32]);
  float v = 0;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) v += x[i];
  v = block_sum<float>(v, scratch);
  if (threadIdx.x == 0) atomicAdd(out, v);
}

// Reads shared memory before writing it: every block must see the poison (NaN), never an earlier
// block's values.
__global__ void selftest_smem_fresh(float* out) {
  TF_SHARED(float, s, [64]);
  out[blockIdx.x * blockDim.x + threadIdx.x] = s[threadIdx.x];
  __syncthreads();
  s[threadIdx.x] = 1.0f;
}

// Reads a neighbour's shared slot without a barrier between the write and the read.
__global__ void selftest_racy(float* out) {
  TF_SHARED(float, s, [256]);
  s[threadIdx.x] = float(threadIdx.x);
  out[threadIdx.x] = s[(threadIdx.x + 1) % blockDim.x];
}

__global__ void selftest_divergent_barrier(float* out) {
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    out[0] = 1;
    __syncthreads();
  }
}

__global__ void selftest_barrier_after_return(float* out) {
  if (threadIdx.x == 5) return;
  __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void selftest_shuffle_exited_lane(float* out) {
  if (threadIdx.x == 7) return;
  out[threadIdx.x] = __shfl_sync(0xffffffffu, float(threadIdx.x), 0);
}

__global__ void selftest_dynamic_smem(float* out) {
  TF_DYNAMIC_SMEM(float, buf);
  buf[threadIdx.x] = float(threadIdx.x);
  __syncthreads();
  out[threadIdx.x] = buf[blockDim.x - 1 - threadIdx.x];
}

// The same kernel under another name, never given the attribute.
__global__ void selftest_dynamic_smem_default_limit(float* out) {
  TF_DYNAMIC_SMEM(float, buf);
  buf[threadIdx.x] = float(threadIdx.x);
}

// Off-by-one bugs only AddressSanitizer sees (run by the ASan build's test alone: without ASan they
// write past the end of a heap block).
__global__ void selftest_smem_overrun(float* out) {
  TF_DYNAMIC_SMEM(float, buf);
  buf[threadIdx.x + 1] = 1.0f;  // thread blockDim.x - 1 writes one past the launch's dynamic smem
  out[threadIdx.x] = buf[threadIdx.x];
}
__global__ void selftest_static_smem_overrun(float* out) {
  TF_SHARED(float, tile, [64]);
  tile[threadIdx.x + 1] = 1.0f;  // thread 63 writes one past the array
  out[threadIdx.x] = tile[threadIdx.x];
}
__global__ void selftest_global_overrun(const float* x, float* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i <= n) out[0] = x[i];  // should be i < n
}

// WMMA misuse the emulator must refuse: an ldm that is not a multiple of 16 bytes, and a fragment
// load reached by half a warp.
__global__ void selftest_wmma_bad_ldm(const float* x, float* out) {
  TF_SHARED_ALIGNED(32, float, tile, [16 * 16]);
  for (int i = threadIdx.x; i < 256; i += blockDim.x) tile[i] = x[i];
  __syncthreads();
  nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, 8, nvcuda::wmma::precision::tf32, nvcuda::wmma::row_major> a;
  nvcuda::wmma::load_matrix_sync(a, tile, 6);
  out[threadIdx.x] = a.x[0];
}
__global__ void selftest_wmma_divergent(const float* x, float* out) {
  TF_SHARED_ALIGNED(32, float, tile, [16 * 16]);
  for (int i = threadIdx.x; i < 256; i += blockDim.x) tile[i] = x[i];
  __syncthreads();
  nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, 8, nvcuda::wmma::precision::tf32, nvcuda::wmma::row_major> a;
  if (threadIdx.x < 16) nvcuda::wmma::load_matrix_sync(a, tile, 8);
  out[threadIdx.x] = 1;
}

double emu_self_test(const std::string& name, std::string* error) {
  const int n = 10007;
  std::vector<float> host(n);
  double expect = 0;
  for (int i = 0; i < n; ++i) {
    host[i] = float(i % 13) * 0.25f;
    expect += host[i];
  }
  float *x = nullptr, *out = nullptr;
  cudaMalloc(reinterpret_cast<void**>(&x), n * sizeof(float));
  cudaMalloc(reinterpret_cast<void**>(&out), 1024 * sizeof(float));
  cudaMemcpy(x, host.data(), n * sizeof(float), cudaMemcpyHostToDevice);
  cudaMemset(out, 0, 1024 * sizeof(float));
  double result = 0;
  std::vector<float> back(1024);
  if (name == "block-sum") {
    TF_LAUNCH(7, 128, 0, device_stream(), selftest_block_sum)(x, out, n);
    check_launch("selftest_block_sum");
    cudaMemcpy(back.data(), out, sizeof(float), cudaMemcpyDeviceToHost);
    result = double(back[0]) - expect;  // 0 up to float rounding
  } else if (name == "racy") {
    TF_LAUNCH(1, 256, 0, device_stream(), selftest_racy)(out);
    check_launch("selftest_racy");
    cudaMemcpy(back.data(), out, 256 * sizeof(float), cudaMemcpyDeviceToHost);
    for (int i = 0; i < 256; ++i) result += back[i] != float((i + 1) % 256);  // wrong reads
  } else if (name == "divergent-barrier") {
    TF_LAUNCH(1, 64, 0, device_stream(), selftest_divergent_barrier)(out);
    check_launch("selftest_divergent_barrier");
  } else if (name == "barrier-after-return") {
    TF_LAUNCH(1, 64, 0, device_stream(), selftest_barrier_after_return)(out);
    check_launch("selftest_barrier_after_return");
  } else if (name == "shuffle-exited-lane") {
    TF_LAUNCH(1, 32, 0, device_stream(), selftest_shuffle_exited_lane)(out);
    check_launch("selftest_shuffle_exited_lane");
  } else if (name == "bad-config") {
    TF_LAUNCH(1, 2048, 0, device_stream(), selftest_barrier_after_return)(out);
    check_launch("selftest_barrier_after_return");
  } else if (name == "smem-over-limit") {
    TF_LAUNCH(1, 64, 64 * 1024, device_stream(), selftest_dynamic_smem_default_limit)(out);
    check_launch("selftest_dynamic_smem_default_limit");
  } else if (name == "smem-with-attribute") {
    cudaFuncSetAttribute(selftest_dynamic_smem, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024);
    TF_LAUNCH(1, 64, 64 * 1024, device_stream(), selftest_dynamic_smem)(out);
    check_launch("selftest_dynamic_smem");
    cudaMemcpy(back.data(), out, 64 * sizeof(float), cudaMemcpyDeviceToHost);
    for (int i = 0; i < 64; ++i) result += back[i] != float(63 - i);
  } else if (name == "wmma-bad-ldm") {
    TF_LAUNCH(1, 32, 0, device_stream(), selftest_wmma_bad_ldm)(x, out);
    check_launch("selftest_wmma_bad_ldm");
  } else if (name == "wmma-divergent") {
    TF_LAUNCH(1, 32, 0, device_stream(), selftest_wmma_divergent)(x, out);
    check_launch("selftest_wmma_divergent");
  } else if (name == "smem-overrun") {
    TF_LAUNCH(1, 64, 64 * sizeof(float), device_stream(), selftest_smem_overrun)(out);
    check_launch("selftest_smem_overrun");
  } else if (name == "static-smem-overrun") {
    TF_LAUNCH(1, 64, 0, device_stream(), selftest_static_smem_overrun)(out);
    check_launch("selftest_static_smem_overrun");
  } else if (name == "smem-fresh") {
    TF_LAUNCH(16, 64, 0, device_stream(), selftest_smem_fresh)(out);
    check_launch("selftest_smem_fresh");
    cudaMemcpy(back.data(), out, 1024 * sizeof(float), cudaMemcpyDeviceToHost);
    for (int i = 0; i < 1024; ++i) result += !std::isnan(back[i]);  // reads that saw anything but the poison
  } else if (name == "global-overrun") {
    TF_LAUNCH((n + 255) / 256 + 1, 256, 0, device_stream(), selftest_global_overrun)(x, out, n);
    check_launch("selftest_global_overrun");
  } else {
    *error = "emuSelfTest: unknown test '" + name + "'";
  }
  cudaFree(x);
  cudaFree(out);
  if (error->empty()) take_device_error(error);
  return result;
}

}  // namespace cuda
}  // namespace tf
