// The two 16-bit floating types, as storage: float16 (IEEE binary16: 1 sign, 5 exponent, 10 mantissa
// bits) and bfloat16 (the top half of a float32: 1 sign, 8 exponent, 7 mantissa bits).
//
// Kernels never compute in them: they load a value, widen it to float (`Arith<M>` is the type a
// kernel computes in for memory type M; float for both), and narrow the result on the way back,
// rounding to nearest, ties to even. The conversions are integer code, so the CPU kernels, the
// emulated CUDA kernels and lib/half.ts give the same bits; on a GPU the hardware's conversions
// (also round-to-nearest-even) replace them.
//   float -> float16: overflow gives +-inf; results below 2^-14 become subnormals; NaN stays NaN (quiet).
//   float -> bfloat16: NaN stays NaN (quiet); everything else rounds, overflowing to +-inf.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "shared_fn.h"

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#endif

namespace tf {

struct float16_t {
  uint16_t bits;
};
struct bfloat16_t {
  uint16_t bits;
};

namespace {

TF_SHARED_FN uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
#endif
}
TF_SHARED_FN float bits_float(uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(b);
#else
  float f;
  std::memcpy(&f, &b, 4);
  return f;
#endif
}

TF_SHARED_FN uint16_t float_to_f16_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __half_as_ushort(__float2half_rn(f));
#else
  const uint32_t x = float_bits(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t exp = (x >> 23) & 0xffu;
  uint32_t mant = x & 0x7fffffu;
  if (exp == 0xffu) return uint16_t(sign | 0x7c00u | (mant ? 0x200u | (mant >> 13) : 0u));
  const int e = int(exp) - 127 + 15;  // float16's biased exponent
  if (e >= 0x1f) return uint16_t(sign | 0x7c00u);
  if (e <= 0) {  // a float16 subnormal (or zero): value / 2^-24, rounded
    if (e < -10) return uint16_t(sign);
    mant |= 0x800000u;
    const int shift = 14 - e;
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (h & 1u))) ++h;
    return uint16_t(sign | h);
  }
  uint32_t h = (uint32_t(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry rounds up into the exponent (or to inf)
  return uint16_t(sign | h);
#endif
}

TF_SHARED_FN float f16_bits_to_float(uint16_t h) {
#if defined(__CUDA_ARCH__)
  return __half2float(__ushort_as_half(h));
#else
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1fu) return bits_float(sign | 0x7f800000u | (mant << 13));
  if (exp != 0) return bits_float(sign | ((exp + 112u) << 23) | (mant << 13));
  if (mant == 0) return bits_float(sign);
  int e = 113;  // normalise the subnormal: value = mant * 2^-24
  while (!(mant & 0x400u)) {
    mant <<= 1;
    --e;
  }
  return bits_float(sign | (uint32_t(e) << 23) | ((mant & 0x3ffu) << 13));
#endif
}

TF_SHARED_FN uint16_t float_to_bf16_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __bfloat16_as_ushort(__float2bfloat16_rn(f));
#else
  const uint32_t x = float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return uint16_t((x >> 16) | 0x40u);  // NaN, kept quiet
  return uint16_t((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
#endif
}

TF_SHARED_FN float bf16_bits_to_float(uint16_t b) { return bits_float(uint32_t(b) << 16); }

}  // namespace

// The type a kernel computes in for values stored as M.
template <class M> struct ArithOf { using type = M; };
template <> struct ArithOf<float16_t> { using type = float; };
template <> struct ArithOf<bfloat16_t> { using type = float; };
template <class M> using Arith = typename ArithOf<M>::type;

template <class M> constexpr bool is_half_v = std::is_same<M, float16_t>::value || std::is_same<M, bfloat16_t>::value;

namespace {

// A stored value, widened to its arithmetic type (the identity for the other dtypes).
template <class M> TF_SHARED_FN Arith<M> widen(M v) {
  if constexpr (std::is_same<M, float16_t>::value) return f16_bits_to_float(v.bits);
  else if constexpr (std::is_same<M, bfloat16_t>::value) return bf16_bits_to_float(v.bits);
  else return v;
}
// A computed value, narrowed to its storage type.
template <class M> TF_SHARED_FN M narrow(Arith<M> v) {
  if constexpr (std::is_same<M, float16_t>::value) return float16_t{float_to_f16_bits(v)};
  else if constexpr (std::is_same<M, bfloat16_t>::value) return bfloat16_t{float_to_bf16_bits(v)};
  else return v;
}

}  // namespace
}  // namespace tf
