// bfloat16 GEMM on the CPU's bfloat16 instructions (gemm_bf16.cpp), behind gemm.cpp's entry points.
#pragma once
#include <cstdint>

#include "gemm_blocked.h"

TF_KERNEL_NAMESPACE_BEGIN
// How bfloat16 products are computed: widened to float32 for the float kernel (gemm.cpp), on
// AVX512-BF16's vdpbf16ps, or on AMX tiles. Auto: the fastest this CPU has.
enum class Bf16Kernel : int { Auto = 0, Widen = 1, Dot = 2, Amx = 3 };
// Whether kernel k runs here (this build level and the CPU; Widen and Auto always do).
bool gemm_bf16_has(Bf16Kernel k);
// The kernel in use: the pinned one, else the fastest available.
Bf16Kernel gemm_bf16_kernel();
// Pins k (Auto unpins); only kernels gemm_bf16_has.
void gemm_bf16_pin(Bf16Kernel k);
// C (float32) = alpha * A @ B + beta * C, A [M, K] and B [K, N] bfloat16 bits with any strides; the
// epilogue (if any) on the finished C. On the kernel in use (Dot or Amx).
void gemm_bf16(int64_t M, int64_t N, int64_t K, const uint16_t* a, int64_t rsa, int64_t csa, const uint16_t* b,
               int64_t rsb, int64_t csb, float* c, int64_t rsc, int64_t csc, float alpha, float beta,
               const Epi<float>* ep);
TF_KERNEL_NAMESPACE_END
