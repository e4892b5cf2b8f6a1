// Portable conversions between float and the two-byte storage types, one
// element at a time: the reference for the vector versions, and the path on
// CPUs smax has no SIMD layer for. No target attributes (like scalar.hpp): it
// compiles with the includer's flags.
#pragma once

#include "../detail/config.hpp"

#include <cstddef>

#include "../types.hpp"

namespace smax {
inline namespace SMAX_ABI {
namespace detail::scalar {

// Arrays of n elements. Inputs and outputs must not overlap.
inline void to_float(const bfloat16* in, float* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = in[i];
}
inline void to_float(const half* in, float* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = in[i];
}
inline void from_float(const float* in, bfloat16* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = bfloat16(in[i]);
}
inline void from_float(const float* in, half* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = half(in[i]);
}

}  // namespace detail::scalar
}  // namespace SMAX_ABI
}  // namespace smax
