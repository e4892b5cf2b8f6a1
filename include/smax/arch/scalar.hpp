// Portable one-lane "vector" layer, then this ISA's copy of the kernels. It is
// the reference path on every CPU and the only path on CPUs smax has no SIMD
// layer for. No target attributes: it compiles with the includer's flags.
#pragma once

#include "../detail/config.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../detail/kernel_table.hpp"
#include "../detail/scalar_math.hpp"

namespace smax {
inline namespace SMAX_ABI {
namespace detail::scalar {

template <class C>
struct vec;

template <class C>
struct mask {
  bool raw;
};

template <>
struct vec<double> {
  using lane = double;
  static constexpr std::size_t lanes = 1;
  double raw;

  static SMAX_INLINE vec splat(double v) { return {v}; }
  static SMAX_INLINE vec load(const double* p) { return {*p}; }
  static SMAX_INLINE vec load(const float* p) { return {static_cast<double>(*p)}; }
  // With one lane there is never a partial vector; these exist for the shared kernels.
  static SMAX_INLINE vec load_partial(const double*, std::size_t, double fill) { return {fill}; }
  static SMAX_INLINE vec load_partial(const float*, std::size_t, double fill) { return {fill}; }
  SMAX_INLINE void store(double* p) const { *p = raw; }
  SMAX_INLINE void store(float* p) const { *p = static_cast<float>(raw); }
  SMAX_INLINE void store_partial(double*, std::size_t) const {}
  SMAX_INLINE void store_partial(float*, std::size_t) const {}
};

using vd = vec<double>;

SMAX_INLINE vd operator+(vd a, vd b) { return {a.raw + b.raw}; }
SMAX_INLINE vd operator-(vd a, vd b) { return {a.raw - b.raw}; }
SMAX_INLINE vd operator*(vd a, vd b) { return {mul(a.raw, b.raw)}; }
SMAX_INLINE vd operator/(vd a, vd b) { return {a.raw / b.raw}; }
// Unfused, as on SSE2, whatever the includer's flags (see separately_rounded).
SMAX_INLINE vd mul_add(vd a, vd b, vd c) { return {mul(a.raw, b.raw) + c.raw}; }
// Same NaN rule as the x86 instructions, so every ISA treats NaN alike.
SMAX_INLINE vd min(vd a, vd b) { return {a.raw < b.raw ? a.raw : b.raw}; }
SMAX_INLINE vd max(vd a, vd b) { return {a.raw > b.raw ? a.raw : b.raw}; }
SMAX_INLINE vd round_nearest(vd v) {
  const double shifter = 0x1.8p52;
  return {(v.raw + shifter) - shifter};
}
SMAX_INLINE vd pow2(vd n) {
  const std::uint64_t shifted = bits_of(n.raw + 0x1.8p52);
  return {double_from_bits((shifted << 52) + 0x3ff0000000000000ULL)};
}
SMAX_INLINE vd ldexp_normal(vd v, vd n) { return v * pow2(n); }
SMAX_INLINE vd ldexp(vd v, vd n) {
  const vd half = round_nearest(n * vd::splat(0.5));
  return (v * pow2(half)) * pow2(n - half);
}
SMAX_INLINE mask<double> operator<(vd a, vd b) { return {a.raw < b.raw}; }
SMAX_INLINE vd select(mask<double> m, vd if_true, vd if_false) { return m.raw ? if_true : if_false; }
SMAX_INLINE double reduce_add(vd v) { return v.raw; }
SMAX_INLINE double first_lane(vd v) { return v.raw; }
SMAX_INLINE double reduce_max(vd v) { return v.raw; }

SMAX_INLINE vd keep_first(vd v, std::size_t count, double fill) { return count >= 1 ? v : vd{fill}; }
SMAX_INLINE mask<double> nonzero_bytes(const std::uint8_t* p, std::size_t count) { return {count > 0 && *p != 0}; }
// Dekker's product (see sse2.hpp).
SMAX_INLINE vd product_error(vd a, vd b, vd p) {
  const vd split = vd::splat(134217729.0);
  const vd ca = a * split, cb = b * split;
  const vd a_hi = ca - (ca - a), a_lo = a - a_hi;
  const vd b_hi = cb - (cb - b), b_lo = b - b_hi;
  return (((a_hi * b_hi - p) + a_hi * b_lo) + a_lo * b_hi) + a_lo * b_lo;
}

template <>
struct vec<float> {
  using lane = float;
  static constexpr std::size_t lanes = 1;
  float raw;

  static SMAX_INLINE vec splat(float v) { return {v}; }
  static SMAX_INLINE vec load(const float* p) { return {*p}; }
  static SMAX_INLINE vec load_partial(const float*, std::size_t, float fill) { return {fill}; }
  SMAX_INLINE void store(float* p) const { *p = raw; }
  SMAX_INLINE void store_partial(float*, std::size_t) const {}
};

using vf = vec<float>;

SMAX_INLINE vf operator+(vf a, vf b) { return {a.raw + b.raw}; }
SMAX_INLINE vf operator-(vf a, vf b) { return {a.raw - b.raw}; }
SMAX_INLINE vf operator*(vf a, vf b) { return {separately_rounded(a.raw * b.raw)}; }
SMAX_INLINE vf operator/(vf a, vf b) { return {a.raw / b.raw}; }
SMAX_INLINE vf mul_add(vf a, vf b, vf c) { return a * b + c; }
SMAX_INLINE vf min(vf a, vf b) { return {a.raw < b.raw ? a.raw : b.raw}; }
SMAX_INLINE vf max(vf a, vf b) { return {a.raw > b.raw ? a.raw : b.raw}; }
SMAX_INLINE vf round_nearest(vf v) {
  const float shifter = 0x1.8p23f;
  return {(v.raw + shifter) - shifter};
}
SMAX_INLINE vf pow2(vf n) {
  std::uint32_t shifted;
  const float biased = n.raw + 0x1.8p23f;
  std::memcpy(&shifted, &biased, sizeof shifted);
  const std::uint32_t bits = (shifted << 23) + 0x3f800000u;
  float result;
  std::memcpy(&result, &bits, sizeof result);
  return {result};
}
SMAX_INLINE vf ldexp_normal(vf v, vf n) { return v * pow2(n); }
SMAX_INLINE vf ldexp(vf v, vf n) {
  const vf half = round_nearest(n * vf::splat(0.5f));
  return (v * pow2(half)) * pow2(n - half);
}
SMAX_INLINE mask<float> operator<(vf a, vf b) { return {a.raw < b.raw}; }
SMAX_INLINE vf select(mask<float> m, vf if_true, vf if_false) { return m.raw ? if_true : if_false; }
SMAX_INLINE float reduce_add(vf v) { return v.raw; }
SMAX_INLINE float reduce_max(vf v) { return v.raw; }
SMAX_INLINE bool any(mask<float> m) { return m.raw; }
SMAX_INLINE float first_lane(vf v) { return v.raw; }

// Products stay unfused (separately_rounded), so mul_add rounds twice here.
inline constexpr bool kFusedMulAdd = false;
// No register-table lookup here: float data is computed in double lanes.
inline constexpr bool kFloatTableExp = false;

// The shared kernels, in dependency order (not alphabetical: keep the blank lines).
#include "../detail/math-inl.hpp"

#include "../detail/kernels-inl.hpp"

#include "../detail/backward-inl.hpp"

#include "../detail/cross_entropy-inl.hpp"

#include "../detail/columns-inl.hpp"

#include "../detail/table-inl.hpp"

}  // namespace detail::scalar
}  // namespace SMAX_ABI
}  // namespace smax
