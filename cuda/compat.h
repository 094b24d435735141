// The one header every CUDA source includes. Under nvcc it is the real CUDA runtime; built with
// TF_CUDA_EMULATE (g++, no GPU) it is our emulator (cuda/emu/cuda_emu.h), which runs the same kernel
// sources on the CPU. Kernels use only what both provide, through these macros:
//
//   TF_LAUNCH(grid, block, smem, stream, kernel<T>)(args...)   // kernel<<<grid, block, smem, stream>>>(args...)
//   TF_DYNAMIC_SMEM(float, tile);                               // extern __shared__ float tile[];
//
// (The kernel comes last in TF_LAUNCH so template arguments with commas need no parentheses.)
#pragma once

#ifdef TF_CUDA_EMULATE
#include "emu/cuda_emu.h"
#include "emu/wmma_emu.h"
#define TF_LAUNCH(grid, block, smem, stream, ...) \
  ::tf_emu::make_launcher(grid, block, smem, stream, #__VA_ARGS__, &__VA_ARGS__)
#define TF_DYNAMIC_SMEM(T, name) T* name = static_cast<T*>(::tf_emu::dynamic_smem())
#define TF_HD inline
#else
#include <cuda_runtime.h>
#include <mma.h>
#define TF_LAUNCH(grid, block, smem, stream, ...) __VA_ARGS__<<<grid, block, smem, stream>>>
#define TF_DYNAMIC_SMEM(T, name) \
  extern __shared__ __align__(16) unsigned char tf_dynamic_smem_[]; \
  T* name = reinterpret_cast<T*>(tf_dynamic_smem_)
#define TF_HD __host__ __device__ __forceinline__
#endif
