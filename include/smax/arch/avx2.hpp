// AVX2 + FMA vector layer, then this ISA's copy of the kernels.
#pragma once

#include "../detail/config.hpp"

#if SMAX_ARCH_X86_64

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../detail/kernel_table.hpp"
#include "../detail/scalar_math.hpp"

SMAX_TARGET_PUSH("avx2,fma,f16c,bmi,bmi2,popcnt")

namespace smax {
inline namespace SMAX_ABI {
namespace detail::avx2 {

template <class C>
struct vec;

template <class C>
struct mask;

template <>
struct mask<double> {
  __m256d raw;
};

// All-ones in the first `count` 64-bit lanes.
SMAX_INLINE __m256i first_lanes64(std::size_t count) {
  return _mm256_cmpgt_epi64(_mm256_set1_epi64x(static_cast<long long>(count)), _mm256_setr_epi64x(0, 1, 2, 3));
}

// All-ones in the first `count` 32-bit lanes of four.
SMAX_INLINE __m128i first_lanes32(std::size_t count) {
  return _mm_cmpgt_epi32(_mm_set1_epi32(static_cast<int>(count)), _mm_setr_epi32(0, 1, 2, 3));
}

template <>
struct vec<double> {
  using lane = double;
  static constexpr std::size_t lanes = 4;
  __m256d raw;

  static SMAX_INLINE vec splat(double v) { return {_mm256_set1_pd(v)}; }
  static SMAX_INLINE vec load(const double* p) { return {_mm256_loadu_pd(p)}; }
  static SMAX_INLINE vec load(const float* p) { return {_mm256_cvtps_pd(_mm_loadu_ps(p))}; }
  // vmaskmov never faults on masked-off lanes, so tails stay inside the buffer.
  static SMAX_INLINE vec load_partial(const double* p, std::size_t count, double fill) {
    const __m256i m = first_lanes64(count);
    return {_mm256_blendv_pd(_mm256_set1_pd(fill), _mm256_maskload_pd(p, m), _mm256_castsi256_pd(m))};
  }
  static SMAX_INLINE vec load_partial(const float* p, std::size_t count, double fill) {
    const __m256d loaded = _mm256_cvtps_pd(_mm_maskload_ps(p, first_lanes32(count)));
    return {_mm256_blendv_pd(_mm256_set1_pd(fill), loaded, _mm256_castsi256_pd(first_lanes64(count)))};
  }
  SMAX_INLINE void store(double* p) const { _mm256_storeu_pd(p, raw); }
  SMAX_INLINE void store(float* p) const { _mm_storeu_ps(p, _mm256_cvtpd_ps(raw)); }
  SMAX_INLINE void store_partial(double* p, std::size_t count) const {
    _mm256_maskstore_pd(p, first_lanes64(count), raw);
  }
  SMAX_INLINE void store_partial(float* p, std::size_t count) const {
    _mm_maskstore_ps(p, first_lanes32(count), _mm256_cvtpd_ps(raw));
  }
};

using vd = vec<double>;

SMAX_INLINE vd operator+(vd a, vd b) { return {_mm256_add_pd(a.raw, b.raw)}; }
SMAX_INLINE vd operator-(vd a, vd b) { return {_mm256_sub_pd(a.raw, b.raw)}; }
SMAX_INLINE vd operator*(vd a, vd b) { return {_mm256_mul_pd(a.raw, b.raw)}; }
SMAX_INLINE vd operator/(vd a, vd b) { return {_mm256_div_pd(a.raw, b.raw)}; }
SMAX_INLINE vd mul_add(vd a, vd b, vd c) { return {_mm256_fmadd_pd(a.raw, b.raw, c.raw)}; }
SMAX_INLINE vd min(vd a, vd b) { return {_mm256_min_pd(a.raw, b.raw)}; }
SMAX_INLINE vd max(vd a, vd b) { return {_mm256_max_pd(a.raw, b.raw)}; }
SMAX_INLINE vd round_nearest(vd v) { return {_mm256_round_pd(v.raw, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)}; }

// 2^n for integer-valued n in [-1022, 1023]: adding 1.5 * 2^52 leaves n in the
// low mantissa bits, and shifting those into the exponent field builds 2^n.
SMAX_INLINE vd pow2(vd n) {
  const __m256i shifted = _mm256_castpd_si256(_mm256_add_pd(n.raw, _mm256_set1_pd(0x1.8p52)));
  const __m256i biased = _mm256_add_epi64(_mm256_slli_epi64(shifted, 52), _mm256_set1_epi64x(0x3ff0000000000000LL));
  return {_mm256_castsi256_pd(biased)};
}
// Multiplying (rather than adding to the exponent bits) keeps NaN inputs NaN.
SMAX_INLINE vd ldexp_normal(vd v, vd n) { return v * pow2(n); }
// v * 2^n for integer-valued |n| <= 2044: two exact half steps, so a subnormal
// result is rounded only once.
SMAX_INLINE vd ldexp(vd v, vd n) {
  const vd half = round_nearest(n * vd::splat(0.5));
  return (v * pow2(half)) * pow2(n - half);
}
SMAX_INLINE mask<double> operator<(vd a, vd b) { return {_mm256_cmp_pd(a.raw, b.raw, _CMP_LT_OQ)}; }
SMAX_INLINE vd select(mask<double> m, vd if_true, vd if_false) {
  return {_mm256_blendv_pd(if_false.raw, if_true.raw, m.raw)};
}
SMAX_INLINE double reduce_add(vd v) {
  const __m128d pair = _mm_add_pd(_mm256_castpd256_pd128(v.raw), _mm256_extractf128_pd(v.raw, 1));
  return _mm_cvtsd_f64(_mm_add_sd(pair, _mm_unpackhi_pd(pair, pair)));
}
SMAX_INLINE double first_lane(vd v) { return _mm256_cvtsd_f64(v.raw); }
SMAX_INLINE double reduce_max(vd v) {
  const __m128d pair = _mm_max_pd(_mm256_castpd256_pd128(v.raw), _mm256_extractf128_pd(v.raw, 1));
  return _mm_cvtsd_f64(_mm_max_sd(pair, _mm_unpackhi_pd(pair, pair)));
}

SMAX_INLINE vd keep_first(vd v, std::size_t count, double fill) {
  if (count >= vd::lanes) return v;
  return {_mm256_blendv_pd(_mm256_set1_pd(fill), v.raw, _mm256_castsi256_pd(first_lanes64(count)))};
}
SMAX_INLINE mask<double> nonzero_bytes(const std::uint8_t* p, std::size_t count) {
  std::uint32_t packed = 0;
  std::memcpy(&packed, p, count < 4 ? count : 4);
  const __m256i wide = _mm256_cvtepu8_epi64(_mm_cvtsi32_si128(static_cast<int>(packed)));
  const __m256i zero = _mm256_cmpeq_epi64(wide, _mm256_setzero_si256());
  return {_mm256_castsi256_pd(_mm256_xor_si256(zero, _mm256_set1_epi64x(-1)))};
}
SMAX_INLINE vd product_error(vd a, vd b, vd p) { return {_mm256_fmsub_pd(a.raw, b.raw, p.raw)}; }

template <>
struct mask<float> {
  __m256 raw;
};

// All-ones in the first `count` 32-bit lanes of eight.
SMAX_INLINE __m256i first_lanes32x8(std::size_t count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

template <>
struct vec<float> {
  using lane = float;
  static constexpr std::size_t lanes = 8;
  __m256 raw;

  static SMAX_INLINE vec splat(float v) { return {_mm256_set1_ps(v)}; }
  static SMAX_INLINE vec load(const float* p) { return {_mm256_loadu_ps(p)}; }
  static SMAX_INLINE vec load_partial(const float* p, std::size_t count, float fill) {
    const __m256i m = first_lanes32x8(count);
    return {_mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m))};
  }
  SMAX_INLINE void store(float* p) const { _mm256_storeu_ps(p, raw); }
  SMAX_INLINE void store_partial(float* p, std::size_t count) const {
    _mm256_maskstore_ps(p, first_lanes32x8(count), raw);
  }
};

using vf = vec<float>;

SMAX_INLINE vf operator+(vf a, vf b) { return {_mm256_add_ps(a.raw, b.raw)}; }
SMAX_INLINE vf operator-(vf a, vf b) { return {_mm256_sub_ps(a.raw, b.raw)}; }
SMAX_INLINE vf operator*(vf a, vf b) { return {_mm256_mul_ps(a.raw, b.raw)}; }
SMAX_INLINE vf operator/(vf a, vf b) { return {_mm256_div_ps(a.raw, b.raw)}; }
SMAX_INLINE vf mul_add(vf a, vf b, vf c) { return {_mm256_fmadd_ps(a.raw, b.raw, c.raw)}; }
SMAX_INLINE vf min(vf a, vf b) { return {_mm256_min_ps(a.raw, b.raw)}; }
SMAX_INLINE vf max(vf a, vf b) { return {_mm256_max_ps(a.raw, b.raw)}; }
SMAX_INLINE vf round_nearest(vf v) { return {_mm256_round_ps(v.raw, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)}; }
// 2^n for integer-valued n in [-126, 127] (see pow2 for doubles).
SMAX_INLINE vf pow2(vf n) {
  const __m256i shifted = _mm256_castps_si256(_mm256_add_ps(n.raw, _mm256_set1_ps(0x1.8p23f)));
  return {_mm256_castsi256_ps(_mm256_add_epi32(_mm256_slli_epi32(shifted, 23), _mm256_set1_epi32(0x3f800000)))};
}
SMAX_INLINE vf ldexp_normal(vf v, vf n) { return v * pow2(n); }
SMAX_INLINE vf ldexp(vf v, vf n) {
  const vf half = round_nearest(n * vf::splat(0.5f));
  return (v * pow2(half)) * pow2(n - half);
}
SMAX_INLINE mask<float> operator<(vf a, vf b) { return {_mm256_cmp_ps(a.raw, b.raw, _CMP_LT_OQ)}; }
SMAX_INLINE vf select(mask<float> m, vf if_true, vf if_false) {
  return {_mm256_blendv_ps(if_false.raw, if_true.raw, m.raw)};
}
SMAX_INLINE float reduce_add(vf v) {
  const __m128 q = _mm_add_ps(_mm256_castps256_ps128(v.raw), _mm256_extractf128_ps(v.raw, 1));
  const __m128 d = _mm_add_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_add_ss(d, _mm_shuffle_ps(d, d, 1)));
}
SMAX_INLINE float reduce_max(vf v) {
  const __m128 q = _mm_max_ps(_mm256_castps256_ps128(v.raw), _mm256_extractf128_ps(v.raw, 1));
  const __m128 d = _mm_max_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_max_ss(d, _mm_shuffle_ps(d, d, 1)));
}
SMAX_INLINE bool any(mask<float> m) { return _mm256_movemask_ps(m.raw) != 0; }
SMAX_INLINE float first_lane(vf v) { return _mm256_cvtss_f32(v.raw); }

// Lane i of the result is table's lane (bit pattern of index_i) mod 8: a
// lookup in a table held in one register.
SMAX_INLINE vf lookup(vf table, vf index) {
  return {_mm256_permutevar8x32_ps(table.raw, _mm256_castps_si256(index.raw))};
}
// v * 2^floor(e), rounded once, for floor(e) in [-190, 63] (what the float-lane
// exp needs): v * 2^(floor(e) + 64) is exact for |v| < 2^64, so the one
// rounding is the final exact-power scaling, which also rounds subnormal
// results correctly.
SMAX_INLINE vf ldexp_floor(vf v, vf e) {
  const vf biased = vf{_mm256_floor_ps(e.raw)} + vf::splat(64.0f);
  return (v * pow2(biased)) * vf::splat(0x1p-64f);
}

inline constexpr bool kFusedMulAdd = true;
inline constexpr bool kFloatTableExp = true;

// The shared kernels, in dependency order (not alphabetical: keep the blank lines).
#include "../detail/math-inl.hpp"

#include "../detail/kernels-inl.hpp"

#include "../detail/backward-inl.hpp"

#include "../detail/cross_entropy-inl.hpp"

#include "../detail/columns-inl.hpp"

#include "../detail/table-inl.hpp"

}  // namespace detail::avx2
}  // namespace SMAX_ABI
}  // namespace smax

SMAX_TARGET_POP

#endif  // SMAX_ARCH_X86_64
