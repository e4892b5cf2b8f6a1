// SSE2 vector layer (the x86-64 baseline), then this ISA's copy of the kernels.
#pragma once

#include "../detail/config.hpp"

#if SMAX_ARCH_X86_64

#include <emmintrin.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "../detail/kernel_table.hpp"
#include "../detail/scalar_math.hpp"

SMAX_TARGET_PUSH("sse2")

namespace smax {
inline namespace SMAX_ABI {
namespace detail::sse2 {

template <class C>
struct vec;

template <class C>
struct mask;

template <>
struct mask<double> {
  __m128d raw;
};

template <>
struct vec<double> {
  using lane = double;
  static constexpr std::size_t lanes = 2;
  __m128d raw;

  static SMAX_INLINE vec splat(double v) { return {_mm_set1_pd(v)}; }
  static SMAX_INLINE vec load(const double* p) { return {_mm_loadu_pd(p)}; }
  static SMAX_INLINE vec load(const float* p) {
    return {_mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))))};
  }
  // A tail is a single element here (count < 2).
  static SMAX_INLINE vec load_partial(const double* p, std::size_t, double fill) { return {_mm_setr_pd(*p, fill)}; }
  static SMAX_INLINE vec load_partial(const float* p, std::size_t, double fill) {
    return {_mm_setr_pd(static_cast<double>(*p), fill)};
  }
  SMAX_INLINE void store(double* p) const { _mm_storeu_pd(p, raw); }
  SMAX_INLINE void store(float* p) const {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_castps_si128(_mm_cvtpd_ps(raw)));
  }
  SMAX_INLINE void store_partial(double* p, std::size_t) const { _mm_store_sd(p, raw); }
  SMAX_INLINE void store_partial(float* p, std::size_t) const { _mm_store_ss(p, _mm_cvtpd_ps(raw)); }
};

using vd = vec<double>;

SMAX_INLINE vd operator+(vd a, vd b) { return {_mm_add_pd(a.raw, b.raw)}; }
SMAX_INLINE vd operator-(vd a, vd b) { return {_mm_sub_pd(a.raw, b.raw)}; }
SMAX_INLINE vd operator*(vd a, vd b) { return {separately_rounded(_mm_mul_pd(a.raw, b.raw))}; }
SMAX_INLINE vd operator/(vd a, vd b) { return {_mm_div_pd(a.raw, b.raw)}; }
// No FMA here: the kernels' error bounds hold for the unfused form too. Products
// are kept unfused even when the includer enables FMA (see separately_rounded).
SMAX_INLINE vd mul_add(vd a, vd b, vd c) { return a * b + c; }
SMAX_INLINE vd min(vd a, vd b) { return {_mm_min_pd(a.raw, b.raw)}; }
SMAX_INLINE vd max(vd a, vd b) { return {_mm_max_pd(a.raw, b.raw)}; }
// Adding and removing 1.5 * 2^52 rounds to the nearest integer (ties to even)
// for |v| < 2^51, which covers every use in the kernels.
SMAX_INLINE vd round_nearest(vd v) {
  const vd shifter = vd::splat(0x1.8p52);
  return (v + shifter) - shifter;
}
SMAX_INLINE vd pow2(vd n) {
  const __m128i shifted = _mm_castpd_si128(_mm_add_pd(n.raw, _mm_set1_pd(0x1.8p52)));
  const __m128i biased = _mm_add_epi64(_mm_slli_epi64(shifted, 52), _mm_set1_epi64x(0x3ff0000000000000LL));
  return {_mm_castsi128_pd(biased)};
}
SMAX_INLINE vd ldexp_normal(vd v, vd n) { return v * pow2(n); }
SMAX_INLINE vd ldexp(vd v, vd n) {
  const vd half = round_nearest(n * vd::splat(0.5));
  return (v * pow2(half)) * pow2(n - half);
}
SMAX_INLINE mask<double> operator<(vd a, vd b) { return {_mm_cmplt_pd(a.raw, b.raw)}; }
SMAX_INLINE vd select(mask<double> m, vd if_true, vd if_false) {
  return {_mm_or_pd(_mm_and_pd(m.raw, if_true.raw), _mm_andnot_pd(m.raw, if_false.raw))};
}
SMAX_INLINE double reduce_add(vd v) { return _mm_cvtsd_f64(_mm_add_sd(v.raw, _mm_unpackhi_pd(v.raw, v.raw))); }
SMAX_INLINE double first_lane(vd v) { return _mm_cvtsd_f64(v.raw); }
SMAX_INLINE double reduce_max(vd v) { return _mm_cvtsd_f64(_mm_max_sd(v.raw, _mm_unpackhi_pd(v.raw, v.raw))); }

SMAX_INLINE vd keep_first(vd v, std::size_t count, double fill) {
  if (count >= 2) return v;
  return count == 1 ? vd{_mm_move_sd(_mm_set1_pd(fill), v.raw)} : vd::splat(fill);
}
SMAX_INLINE mask<double> nonzero_bytes(const std::uint8_t* p, std::size_t count) {
  const bool first = count > 0 && p[0] != 0, second = count > 1 && p[1] != 0;
  return {_mm_castsi128_pd(_mm_set_epi64x(second ? -1 : 0, first ? -1 : 0))};
}
// Dekker's product: no FMA here, so split both factors in halves (Veltkamp)
// whose partial products are exact. The products are separately rounded
// (operator*), so no contraction can spoil the splitting.
SMAX_INLINE vd product_error(vd a, vd b, vd p) {
  const vd split = vd::splat(134217729.0);  // 2^27 + 1
  const vd ca = a * split, cb = b * split;
  const vd a_hi = ca - (ca - a), a_lo = a - a_hi;
  const vd b_hi = cb - (cb - b), b_lo = b - b_hi;
  return (((a_hi * b_hi - p) + a_hi * b_lo) + a_lo * b_hi) + a_lo * b_lo;
}

template <>
struct mask<float> {
  __m128 raw;
};

template <>
struct vec<float> {
  using lane = float;
  static constexpr std::size_t lanes = 4;
  __m128 raw;

  static SMAX_INLINE vec splat(float v) { return {_mm_set1_ps(v)}; }
  static SMAX_INLINE vec load(const float* p) { return {_mm_loadu_ps(p)}; }
  // No masked loads before AVX: copy the tail through a local buffer.
  static SMAX_INLINE vec load_partial(const float* p, std::size_t count, float fill) {
    float buffer[4] = {fill, fill, fill, fill};
    for (std::size_t i = 0; i < count; ++i) buffer[i] = p[i];
    return {_mm_loadu_ps(buffer)};
  }
  SMAX_INLINE void store(float* p) const { _mm_storeu_ps(p, raw); }
  SMAX_INLINE void store_partial(float* p, std::size_t count) const {
    float buffer[4];
    _mm_storeu_ps(buffer, raw);
    for (std::size_t i = 0; i < count; ++i) p[i] = buffer[i];
  }
};

using vf = vec<float>;

SMAX_INLINE vf operator+(vf a, vf b) { return {_mm_add_ps(a.raw, b.raw)}; }
SMAX_INLINE vf operator-(vf a, vf b) { return {_mm_sub_ps(a.raw, b.raw)}; }
SMAX_INLINE vf operator*(vf a, vf b) { return {separately_rounded(_mm_mul_ps(a.raw, b.raw))}; }
SMAX_INLINE vf operator/(vf a, vf b) { return {_mm_div_ps(a.raw, b.raw)}; }
SMAX_INLINE vf mul_add(vf a, vf b, vf c) { return a * b + c; }
SMAX_INLINE vf min(vf a, vf b) { return {_mm_min_ps(a.raw, b.raw)}; }
SMAX_INLINE vf max(vf a, vf b) { return {_mm_max_ps(a.raw, b.raw)}; }
// Adding and removing 1.5 * 2^23 rounds to the nearest integer for |v| < 2^22.
SMAX_INLINE vf round_nearest(vf v) {
  const vf shifter = vf::splat(0x1.8p23f);
  return (v + shifter) - shifter;
}
SMAX_INLINE vf pow2(vf n) {
  const __m128i shifted = _mm_castps_si128(_mm_add_ps(n.raw, _mm_set1_ps(0x1.8p23f)));
  return {_mm_castsi128_ps(_mm_add_epi32(_mm_slli_epi32(shifted, 23), _mm_set1_epi32(0x3f800000)))};
}
SMAX_INLINE vf ldexp_normal(vf v, vf n) { return v * pow2(n); }
SMAX_INLINE vf ldexp(vf v, vf n) {
  const vf half = round_nearest(n * vf::splat(0.5f));
  return (v * pow2(half)) * pow2(n - half);
}
SMAX_INLINE mask<float> operator<(vf a, vf b) { return {_mm_cmplt_ps(a.raw, b.raw)}; }
SMAX_INLINE vf select(mask<float> m, vf if_true, vf if_false) {
  return {_mm_or_ps(_mm_and_ps(m.raw, if_true.raw), _mm_andnot_ps(m.raw, if_false.raw))};
}
SMAX_INLINE float reduce_add(vf v) {
  const __m128 d = _mm_add_ps(v.raw, _mm_movehl_ps(v.raw, v.raw));
  return _mm_cvtss_f32(_mm_add_ss(d, _mm_shuffle_ps(d, d, 1)));
}
SMAX_INLINE float reduce_max(vf v) {
  const __m128 d = _mm_max_ps(v.raw, _mm_movehl_ps(v.raw, v.raw));
  return _mm_cvtss_f32(_mm_max_ss(d, _mm_shuffle_ps(d, d, 1)));
}
SMAX_INLINE bool any(mask<float> m) { return _mm_movemask_ps(m.raw) != 0; }
SMAX_INLINE float first_lane(vf v) { return _mm_cvtss_f32(v.raw); }

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

}  // namespace detail::sse2
}  // namespace SMAX_ABI
}  // namespace smax

SMAX_TARGET_POP

#endif  // SMAX_ARCH_X86_64
