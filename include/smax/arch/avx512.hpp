// AVX-512 (F, DQ, BW, VL) vector layer, then this ISA's copy of the kernels.
#pragma once

#include "../detail/config.hpp"

#if SMAX_ARCH_X86_64

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "../detail/kernel_table.hpp"
#include "../detail/scalar_math.hpp"

SMAX_DIAGNOSTICS_PUSH
SMAX_TARGET_PUSH("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,f16c,bmi,bmi2,popcnt")

namespace smax {
inline namespace SMAX_ABI {
namespace detail::avx512 {

inline constexpr const char* kName = "avx512";

template <class C>
struct vec;

template <class C>
struct mask;

template <>
struct mask<double> {
  __mmask8 raw;
};

SMAX_INLINE __mmask8 first_lanes8(std::size_t count) { return static_cast<__mmask8>((1u << count) - 1u); }

template <>
struct vec<double> {
  using lane = double;
  static constexpr std::size_t lanes = 8;
  __m512d raw;

  static SMAX_INLINE vec splat(double v) { return {_mm512_set1_pd(v)}; }
  static SMAX_INLINE vec load(const double* p) { return {_mm512_loadu_pd(p)}; }
  static SMAX_INLINE vec load(const float* p) { return {_mm512_cvtps_pd(_mm256_loadu_ps(p))}; }
  // Masked loads never touch memory past the last requested element.
  static SMAX_INLINE vec load_partial(const double* p, std::size_t count, double fill) {
    return {_mm512_mask_loadu_pd(_mm512_set1_pd(fill), first_lanes8(count), p)};
  }
  static SMAX_INLINE vec load_partial(const float* p, std::size_t count, double fill) {
    const __mmask8 k = first_lanes8(count);
    return {_mm512_mask_blend_pd(k, _mm512_set1_pd(fill), _mm512_cvtps_pd(_mm256_maskz_loadu_ps(k, p)))};
  }
  SMAX_INLINE void store(double* p) const { _mm512_storeu_pd(p, raw); }
  SMAX_INLINE void store(float* p) const { _mm256_storeu_ps(p, _mm512_cvtpd_ps(raw)); }
  SMAX_INLINE void store_partial(double* p, std::size_t count) const {
    _mm512_mask_storeu_pd(p, first_lanes8(count), raw);
  }
  SMAX_INLINE void store_partial(float* p, std::size_t count) const {
    _mm256_mask_storeu_ps(p, first_lanes8(count), _mm512_cvtpd_ps(raw));
  }
};

using vd = vec<double>;

SMAX_INLINE vd operator+(vd a, vd b) { return {_mm512_add_pd(a.raw, b.raw)}; }
SMAX_INLINE vd operator-(vd a, vd b) { return {_mm512_sub_pd(a.raw, b.raw)}; }
SMAX_INLINE vd operator*(vd a, vd b) { return {_mm512_mul_pd(a.raw, b.raw)}; }
SMAX_INLINE vd operator/(vd a, vd b) { return {_mm512_div_pd(a.raw, b.raw)}; }
SMAX_INLINE vd mul_add(vd a, vd b, vd c) { return {_mm512_fmadd_pd(a.raw, b.raw, c.raw)}; }
// min/max follow the x86 rule (a < b ? a : b): a NaN in either operand yields b.
SMAX_INLINE vd min(vd a, vd b) { return {_mm512_min_pd(a.raw, b.raw)}; }
SMAX_INLINE vd max(vd a, vd b) { return {_mm512_max_pd(a.raw, b.raw)}; }
SMAX_INLINE vd round_nearest(vd v) {
  return {_mm512_roundscale_pd(v.raw, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)};
}
// v * 2^n for integer-valued n, rounded once (subnormal results included).
SMAX_INLINE vd ldexp(vd v, vd n) { return {_mm512_scalef_pd(v.raw, n.raw)}; }
// Same, for callers that guarantee a normal (or zero) result.
SMAX_INLINE vd ldexp_normal(vd v, vd n) { return ldexp(v, n); }
SMAX_INLINE mask<double> operator<(vd a, vd b) { return {_mm512_cmp_pd_mask(a.raw, b.raw, _CMP_LT_OQ)}; }
SMAX_INLINE vd select(mask<double> m, vd if_true, vd if_false) {
  return {_mm512_mask_blend_pd(m.raw, if_false.raw, if_true.raw)};
}
SMAX_INLINE double reduce_add(vd v) { return _mm512_reduce_add_pd(v.raw); }
SMAX_INLINE double first_lane(vd v) { return _mm512_cvtsd_f64(v.raw); }
SMAX_INLINE double reduce_max(vd v) { return _mm512_reduce_max_pd(v.raw); }

// Lanes from `count` on replaced by `fill` (count may exceed the lane count).
SMAX_INLINE vd keep_first(vd v, std::size_t count, double fill) {
  return count >= vd::lanes ? v : vd{_mm512_mask_blend_pd(first_lanes8(count), _mm512_set1_pd(fill), v.raw)};
}
// The lanes whose byte in p[0, count) is non-zero (lanes from count on: false).
SMAX_INLINE mask<double> nonzero_bytes(const std::uint8_t* p, std::size_t count) {
  const __m128i bytes = _mm_maskz_loadu_epi8(static_cast<__mmask16>(first_lanes8(count < 8 ? count : 8)), p);
  return {static_cast<__mmask8>(_mm_test_epi8_mask(bytes, bytes))};
}
// a * b - p exactly, for p = a * b rounded (fused).
SMAX_INLINE vd product_error(vd a, vd b, vd p) { return {_mm512_fmsub_pd(a.raw, b.raw, p.raw)}; }

template <>
struct mask<float> {
  __mmask16 raw;
};

SMAX_INLINE __mmask16 first_lanes16(std::size_t count) { return static_cast<__mmask16>((1u << count) - 1u); }

template <>
struct vec<float> {
  using lane = float;
  static constexpr std::size_t lanes = 16;
  __m512 raw;

  static SMAX_INLINE vec splat(float v) { return {_mm512_set1_ps(v)}; }
  static SMAX_INLINE vec load(const float* p) { return {_mm512_loadu_ps(p)}; }
  static SMAX_INLINE vec load_partial(const float* p, std::size_t count, float fill) {
    return {_mm512_mask_loadu_ps(_mm512_set1_ps(fill), first_lanes16(count), p)};
  }
  SMAX_INLINE void store(float* p) const { _mm512_storeu_ps(p, raw); }
  SMAX_INLINE void store_partial(float* p, std::size_t count) const {
    _mm512_mask_storeu_ps(p, first_lanes16(count), raw);
  }
};

using vf = vec<float>;

SMAX_INLINE vf operator+(vf a, vf b) { return {_mm512_add_ps(a.raw, b.raw)}; }
SMAX_INLINE vf operator-(vf a, vf b) { return {_mm512_sub_ps(a.raw, b.raw)}; }
SMAX_INLINE vf operator*(vf a, vf b) { return {_mm512_mul_ps(a.raw, b.raw)}; }
SMAX_INLINE vf operator/(vf a, vf b) { return {_mm512_div_ps(a.raw, b.raw)}; }
SMAX_INLINE vf mul_add(vf a, vf b, vf c) { return {_mm512_fmadd_ps(a.raw, b.raw, c.raw)}; }
SMAX_INLINE vf min(vf a, vf b) { return {_mm512_min_ps(a.raw, b.raw)}; }
SMAX_INLINE vf max(vf a, vf b) { return {_mm512_max_ps(a.raw, b.raw)}; }
SMAX_INLINE vf round_nearest(vf v) {
  return {_mm512_roundscale_ps(v.raw, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)};
}
SMAX_INLINE vf ldexp(vf v, vf n) { return {_mm512_scalef_ps(v.raw, n.raw)}; }
SMAX_INLINE vf ldexp_normal(vf v, vf n) { return ldexp(v, n); }
SMAX_INLINE mask<float> operator<(vf a, vf b) { return {_mm512_cmp_ps_mask(a.raw, b.raw, _CMP_LT_OQ)}; }
SMAX_INLINE vf select(mask<float> m, vf if_true, vf if_false) {
  return {_mm512_mask_blend_ps(m.raw, if_false.raw, if_true.raw)};
}
SMAX_INLINE float reduce_add(vf v) { return _mm512_reduce_add_ps(v.raw); }
SMAX_INLINE float reduce_max(vf v) { return _mm512_reduce_max_ps(v.raw); }
SMAX_INLINE bool any(mask<float> m) { return m.raw != 0; }
SMAX_INLINE float first_lane(vf v) { return _mm512_cvtss_f32(v.raw); }

// Lane i of the result is table's lane (bit pattern of index_i) mod 16: a
// lookup in a table held in one register.
SMAX_INLINE vf lookup(vf table, vf index) { return {_mm512_permutexvar_ps(_mm512_castps_si512(index.raw), table.raw)}; }
// v * 2^floor(e), rounded once (subnormal results included); vscalefps floors e itself.
SMAX_INLINE vf ldexp_floor(vf v, vf e) { return {_mm512_scalef_ps(v.raw, e.raw)}; }

// Whether mul_add is one rounding (kernels pick their float paths by it).
inline constexpr bool kFusedMulAdd = true;
// Whether vf has lookup() and ldexp_floor(), which the float-lane exp needs.
inline constexpr bool kFloatTableExp = true;

// The shared kernels, in dependency order (not alphabetical: keep the blank lines).
#include "../detail/math-inl.hpp"

#include "../detail/kernels-inl.hpp"

#include "../detail/backward-inl.hpp"

#include "../detail/cross_entropy-inl.hpp"

#include "../detail/columns-inl.hpp"

#include "../detail/table-inl.hpp"

}  // namespace detail::avx512
}  // namespace SMAX_ABI
}  // namespace smax

SMAX_TARGET_POP
SMAX_DIAGNOSTICS_POP

#endif  // SMAX_ARCH_X86_64
