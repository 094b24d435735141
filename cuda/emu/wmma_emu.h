// The emulator's nvcuda::wmma: warp-level tensor-core fragments (the part of <mma.h> our kernels use:
// TF32 inputs at m16n16k8, float16 / bfloat16 inputs at m16n16k16, float accumulators). The 16-bit
// input types __half and __nv_bfloat16 are half.h's storage structs here.
//
// Every lane holds the whole tile (num_elements is the tile's size, not a lane's share, which CUDA
// leaves unspecified anyway: kernels may only apply elementwise operations to x[]). load, store and
// mma are warp collectives, as on the GPU: all 32 lanes of the warp must reach the same call, or the
// launch aborts. The pointer must be 32-byte aligned and ldm a multiple of 16 bytes, as CUDA requires.
// mma_sync uses the top 19 bits of each TF32 input (the hardware ignores the low 13 mantissa bits)
// and accumulates in float in k order; __float_to_tf32 rounds to nearest, ties away from zero.
// Products of 16-bit inputs are exact in float; they too are summed in k order.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "../../native/kernels/half.h"

using __half = tf::float16_t;
using __nv_bfloat16 = tf::bfloat16_t;
struct __half_raw {
  unsigned short x;
};
struct __nv_bfloat16_raw {
  unsigned short x;
};

namespace tf_emu {
// Aborts the running launch with a message (the fiber never resumes).
[[noreturn]] void abort_launch(const std::string& why, const char* file, int line);
void warp_converged(const char* what, const char* file, int line);
}  // namespace tf_emu

namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };
namespace precision {
struct tf32 {};
}  // namespace precision

namespace detail {
// The K of the one shape the emulator has for each input type.
template <class T> constexpr int k_of() { return std::is_same<T, precision::tf32>::value || std::is_same<T, float>::value ? 8 : 16; }
}  // namespace detail

template <class Use, int M, int N, int K> struct tile_shape;
template <int M, int N, int K> struct tile_shape<matrix_a, M, N, K> { static constexpr int rows = M, cols = K; };
template <int M, int N, int K> struct tile_shape<matrix_b, M, N, K> { static constexpr int rows = K, cols = N; };
template <int M, int N, int K> struct tile_shape<accumulator, M, N, K> { static constexpr int rows = M, cols = N; };

template <class Use, int M, int N, int K, class T, class Layout = void>
class fragment {
  static_assert(M == 16 && N == 16, "the emulator has the m16n16k8 (TF32) and m16n16k16 (16-bit) shapes");
  static_assert(std::is_same<Use, accumulator>::value ? (K == 8 || K == 16) : K == detail::k_of<T>(),
                "m16n16k8 takes TF32 inputs, m16n16k16 takes __half or __nv_bfloat16");

 public:
  static constexpr int rows = tile_shape<Use, M, N, K>::rows, cols = tile_shape<Use, M, N, K>::cols;
  static constexpr int num_elements = rows * cols;
  float x[num_elements];  // row-major (r, c) -> x[r * cols + c]
};

inline float __float_to_tf32(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  if ((b & 0x7f800000u) != 0x7f800000u) {  // finite: round the 13 dropped bits, ties away from zero
    b += 0x1000u;
    b &= 0xffffe000u;
  }
  std::memcpy(&f, &b, 4);
  return f;
}

namespace detail {
inline float tf32_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  b &= 0xffffe000u;
  std::memcpy(&f, &b, 4);
  return f;
}
inline void check(const void* p, unsigned ldm, unsigned elem_bytes, const char* what, const char* file, int line) {
  if (reinterpret_cast<uintptr_t>(p) % 32 != 0)
    tf_emu::abort_launch(std::string(what) + ": the pointer must be 32-byte aligned", file, line);
  if (ldm * elem_bytes % 16 != 0)
    tf_emu::abort_launch(std::string(what) + ": ldm " + std::to_string(ldm) + " is not a multiple of 16 bytes", file, line);
  tf_emu::warp_converged(what, file, line);
}
inline float value(float v) { return v; }
inline float value(tf::float16_t v) { return tf::widen(v); }
inline float value(tf::bfloat16_t v) { return tf::widen(v); }
inline float input(precision::tf32, float v) { return tf32_bits(v); }
template <class T> inline float input(T, float v) { return v; }  // 16-bit values are exact in float
}  // namespace detail

template <class Use, int M, int N, int K, class T, class Layout>
inline void fill_fragment(fragment<Use, M, N, K, T, Layout>& f, float v) {
  for (float& e : f.x) e = v;
}

// Matrix fragments: the layout is part of the type. P is float for TF32 fragments, T for 16-bit ones.
template <class Use, int M, int N, int K, class T, class Layout, class P>
inline void load_matrix_sync(fragment<Use, M, N, K, T, Layout>& f, const P* p, unsigned ldm,
                             const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  static_assert(std::is_same<P, typename std::conditional<std::is_same<T, precision::tf32>::value, float, T>::type>::value,
                "load_matrix_sync: the pointer's type does not match the fragment's");
  detail::check(p, ldm, sizeof(P), "wmma::load_matrix_sync", file, line);
  using F = fragment<Use, M, N, K, T, Layout>;
  for (int r = 0; r < F::rows; ++r)
    for (int c = 0; c < F::cols; ++c)
      f.x[r * F::cols + c] = detail::value(std::is_same<Layout, col_major>::value ? p[c * ldm + r] : p[r * ldm + c]);
}

// Accumulators: the layout is an argument.
template <int M, int N, int K>
inline void load_matrix_sync(fragment<accumulator, M, N, K, float>& f, const float* p, unsigned ldm, layout_t layout,
                             const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  detail::check(p, ldm, 4, "wmma::load_matrix_sync", file, line);
  for (int r = 0; r < M; ++r)
    for (int c = 0; c < N; ++c) f.x[r * N + c] = layout == mem_col_major ? p[c * ldm + r] : p[r * ldm + c];
}

template <int M, int N, int K>
inline void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, float>& f, unsigned ldm, layout_t layout,
                              const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  detail::check(p, ldm, 4, "wmma::store_matrix_sync", file, line);
  for (int r = 0; r < M; ++r)
    for (int c = 0; c < N; ++c) (layout == mem_col_major ? p[c * ldm + r] : p[r * ldm + c]) = f.x[r * N + c];
}

template <int M, int N, int K, class T, class LA, class LB>
inline void mma_sync(fragment<accumulator, M, N, K, float>& d, const fragment<matrix_a, M, N, K, T, LA>& a,
                     const fragment<matrix_b, M, N, K, T, LB>& b,
                     const fragment<accumulator, M, N, K, float>& c, const char* file = __builtin_FILE(),
                     int line = __builtin_LINE()) {
  tf_emu::warp_converged("wmma::mma_sync", file, line);
  float out[M * N];
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      float acc = c.x[i * N + j];
      for (int k = 0; k < K; ++k) acc += detail::input(T{}, a.x[i * K + k]) * detail::input(T{}, b.x[k * N + j]);
      out[i * N + j] = acc;
    }
  std::memcpy(d.x, out, sizeof(out));  // d may be c
}

}  // namespace wmma
}  // namespace nvcuda
