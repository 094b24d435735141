// The one header every CUDA source includes. Under nvcc it is the real CUDA runtime; built with
// TF_CUDA_EMULATE (g++, no GPU) it is our emulator (cuda/emu/cuda_emu.h), which runs the same kernel
// sources on the CPU. Kernels use only what both provide, through these macros:
//
//   TF_LAUNCH(grid, block, smem, stream, kernel<T>)(args...)   // kernel<<<grid, block, smem, stream>>>(args...)
//   TF_DYNAMIC_SMEM(float, tile);                               // extern __shared__ float tile[];
//   TF_SHARED(float, tile, [16][16]);                           // __shared__ float tile[16][16];
//   TF_SHARED_ALIGNED(32, float, tile, [256]);                  // alignas(32) __shared__ float tile[256];
//
// (The kernel comes last in TF_LAUNCH so template arguments with commas need no parentheses.)
#pragma once

#ifdef TF_CUDA_EMULATE
#include "emu/cuda_emu.h"
#include "emu/wmma_emu.h"
#define TF_LAUNCH(grid, block, smem, stream, ...) \
  ::tf_emu::make_launcher(grid, block, smem, stream, #__VA_ARGS__, &__VA_ARGS__)
#define TF_DYNAMIC_SMEM(T, name) T* name = static_cast<T*>(::tf_emu::dynamic_smem())
// A per-block heap array (see cuda_emu.h); the static tag's address names the declaration.
#define TF_SHARED_ALIGNED(align, T, name, extent)                                                          \
  static char tf_smem_site_##name = 0;                                                                    \
  using tf_smem_type_##name = T extent;                                                                    \
  tf_smem_type_##name& name = *static_cast<tf_smem_type_##name*>(                                          \
      ::tf_emu::static_smem(&tf_smem_site_##name, sizeof(tf_smem_type_##name),                           \
                            alignof(tf_smem_type_##name) > (align) ? alignof(tf_smem_type_##name) : (align)))
#define TF_SHARED(T, name, extent) TF_SHARED_ALIGNED(16, T, name, extent)
#define TF_HD inline
#else
#include <cuda_runtime.h>
#include <mma.h>
#define TF_LAUNCH(grid, block, smem, stream, ...) __VA_ARGS__<<<grid, block, smem, stream>>>
#define TF_DYNAMIC_SMEM(T, name) \
  extern __shared__ __align__(16) unsigned char tf_dynamic_smem_[]; \
  T* name = reinterpret_cast<T*>(tf_dynamic_smem_)
#define TF_SHARED_ALIGNED(align, T, name, extent) __shared__ __align__(align) T name extent
#define TF_SHARED(T, name, extent) __shared__ T name extent
#define TF_HD __host__ __device__ __forceinline__
#endif
