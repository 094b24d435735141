// How a function is declared when both the CPU kernels and the CUDA kernels compile it (the headers
// counter_rng.h, optim_update.h, norm_coefs.h): host and device under nvcc, always inlined. Such
// functions live in an anonymous namespace, so every CPU level's copy of a kernel file keeps its own
// (a shared out-of-line copy could run AVX-512 code on a CPU without it; see CMakeLists.txt).
#pragma once

#if defined(__CUDACC__)
#define TF_SHARED_FN __host__ __device__ __forceinline__
#else
#define TF_SHARED_FN inline __attribute__((always_inline))
#endif
