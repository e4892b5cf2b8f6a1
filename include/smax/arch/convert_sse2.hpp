// SSE2 conversions between float and the two-byte storage types. SSE2 has no
// half-precision instructions, so everything is integer arithmetic on the
// encodings (plus, for half subnormals, a few floating-point operations that
// are all exact, see narrow_half). Results are bit-identical to the scalar
// reference (types.hpp) and do not depend on the rounding mode or FTZ/DAZ.
#pragma once

#include "../detail/config.hpp"

#if SMAX_ARCH_X86_64

#include <emmintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../types.hpp"

SMAX_TARGET_PUSH("sse2")

namespace smax {
inline namespace SMAX_ABI {
namespace detail::sse2 {

// ---- Register level: four lanes, 16-bit codes held in 32-bit lanes. ----

// bfloat16 codes (zero-extended) -> float: the code becomes the top half.
SMAX_INLINE __m128 widen_bf16(__m128i codes) { return _mm_castsi128_ps(_mm_slli_epi32(codes, 16)); }

// half codes (zero-extended) -> float, exact; a NaN comes back quiet (as F16C).
SMAX_INLINE __m128 widen_half(__m128i codes) {
  const __m128i magnitude = _mm_and_si128(codes, _mm_set1_epi32(0x7fff));
  const __m128i sign = _mm_slli_epi32(_mm_and_si128(codes, _mm_set1_epi32(0x8000)), 16);
  // Normal: shift into place and rebias the exponent by 127 - 15. Inf and NaN
  // (exponent 31) get the same again so that their exponent becomes 255.
  const __m128i infnan = _mm_cmpgt_epi32(magnitude, _mm_set1_epi32(0x7bff));
  const __m128i nan = _mm_cmpgt_epi32(magnitude, _mm_set1_epi32(0x7c00));
  const __m128i rebias = _mm_set1_epi32((127 - 15) << 23);
  __m128i r = _mm_add_epi32(_mm_slli_epi32(magnitude, 13), _mm_add_epi32(rebias, _mm_and_si128(infnan, rebias)));
  r = _mm_or_si128(r, _mm_and_si128(nan, _mm_set1_epi32(0x00400000)));
  // Subnormal (and zero): the value is code * 2^-24. Converting the integer
  // code to float is exact (it is below 2^10) and normalises it; subtracting
  // 24 from the exponent field then scales it, still exactly. Zero is masked
  // to zero because its exponent field cannot go below 0.
  const __m128i subnormal = _mm_cmplt_epi32(magnitude, _mm_set1_epi32(0x0400));
  const __m128i scaled =
      _mm_and_si128(_mm_sub_epi32(_mm_castps_si128(_mm_cvtepi32_ps(magnitude)), _mm_set1_epi32(24 << 23)),
                    _mm_cmpgt_epi32(magnitude, _mm_setzero_si128()));
  r = _mm_or_si128(_mm_and_si128(subnormal, scaled), _mm_andnot_si128(subnormal, r));
  return _mm_castsi128_ps(_mm_or_si128(r, sign));
}

// float -> bfloat16 codes, round to nearest even, sign-extended to 32 bits (so
// that _mm_packs_epi32 narrows them exactly).
SMAX_INLINE __m128i narrow_bf16(__m128 v) {
  const __m128i bits = _mm_castps_si128(v);
  const __m128i lsb = _mm_and_si128(_mm_srli_epi32(bits, 16), _mm_set1_epi32(1));
  const __m128i rounded = _mm_add_epi32(bits, _mm_add_epi32(lsb, _mm_set1_epi32(0x7fff)));
  // NaN keeps its top bits with the quiet bit set instead of being rounded
  // (which could carry it into inf); see bfloat16::round_from_float_bits.
  const __m128i nan = _mm_cmpgt_epi32(_mm_and_si128(bits, _mm_set1_epi32(0x7fffffff)), _mm_set1_epi32(0x7f800000));
  const __m128i quiet = _mm_or_si128(bits, _mm_set1_epi32(0x00400000));
  const __m128i r = _mm_or_si128(_mm_and_si128(nan, quiet), _mm_andnot_si128(nan, rounded));
  return _mm_srai_epi32(r, 16);  // the arithmetic shift sign-extends the code
}

// float -> half codes, round to nearest even, sign-extended to 32 bits. The
// same cases as half::round_from_float_bits, computed for every lane and
// selected by masks.
SMAX_INLINE __m128i narrow_half(__m128 v) {
  const __m128i bits = _mm_castps_si128(v);
  const __m128i a = _mm_and_si128(bits, _mm_set1_epi32(0x7fffffff));
  const __m128i one = _mm_set1_epi32(1);

  // Normal results: round away 13 fraction bits, rebias the exponent.
  const __m128i lsb = _mm_and_si128(_mm_srli_epi32(a, 13), one);
  const __m128i normal = _mm_sub_epi32(_mm_srli_epi32(_mm_add_epi32(a, _mm_add_epi32(lsb, _mm_set1_epi32(0x0fff))), 13),
                                       _mm_set1_epi32((127 - 15) << 10));

  // Subnormal results, for 2^-25 < |x| < 2^-14. SSE2 has no per-lane shift to
  // align the significand, so the alignment is done in floating point, where
  // every step is exact: t = |x| * 2^24 (a power-of-two scaling to a normal
  // float in (0.5, 1024)), its integer part by truncation (the one conversion
  // that ignores MXCSR's rounding mode), and the fraction t - trunc(t) (exact,
  // as t and its integer part lie on the same grid). Other lanes are zeroed
  // first, so that no NaN, infinity or float subnormal reaches these
  // operations and DAZ/FTZ have nothing to act on. (The truncation raises the
  // inexact flag when it drops a fraction: the flag IEEE asks of an inexact
  // conversion anyway.)
  const __m128i in_range =
      _mm_and_si128(_mm_cmpgt_epi32(a, _mm_set1_epi32(0x33000000)), _mm_cmplt_epi32(a, _mm_set1_epi32(0x38800000)));
  const __m128 t = _mm_mul_ps(_mm_castsi128_ps(_mm_and_si128(in_range, a)), _mm_set1_ps(16777216.0f));
  const __m128i whole = _mm_cvttps_epi32(t);
  const __m128 fraction = _mm_sub_ps(t, _mm_cvtepi32_ps(whole));
  const __m128 halfway = _mm_set1_ps(0.5f);
  const __m128i odd = _mm_cmpeq_epi32(_mm_and_si128(whole, one), one);
  const __m128i up = _mm_or_si128(_mm_castps_si128(_mm_cmpgt_ps(fraction, halfway)),
                                  _mm_and_si128(_mm_castps_si128(_mm_cmpeq_ps(fraction, halfway)), odd));
  const __m128i subnormal = _mm_sub_epi32(whole, up);  // up is all ones (-1) where rounding up

  // Select, from the smallest magnitudes up; each mask overrides the previous.
  const __m128i is_normal = _mm_cmpgt_epi32(a, _mm_set1_epi32(0x387fffff));
  const __m128i is_inf = _mm_cmpgt_epi32(a, _mm_set1_epi32(0x477fefff));  // at or past 65520: rounds to inf
  const __m128i is_nan = _mm_cmpgt_epi32(a, _mm_set1_epi32(0x7f800000));
  __m128i r = _mm_or_si128(_mm_and_si128(is_normal, normal), _mm_andnot_si128(is_normal, subnormal));
  r = _mm_or_si128(_mm_and_si128(is_inf, _mm_set1_epi32(0x7c00)), _mm_andnot_si128(is_inf, r));
  const __m128i nan =
      _mm_or_si128(_mm_set1_epi32(0x7e00), _mm_and_si128(_mm_srli_epi32(a, 13), _mm_set1_epi32(0x03ff)));
  r = _mm_or_si128(_mm_and_si128(is_nan, nan), _mm_andnot_si128(is_nan, r));
  // The sign as 0xffff8000 (negative) or 0 sign-extends the code for packing.
  return _mm_or_si128(r, _mm_slli_epi32(_mm_srai_epi32(bits, 31), 15));
}

// ---- Memory level: four elements per call. ----

SMAX_INLINE __m128i load_codes4(const void* p) {
  return _mm_unpacklo_epi16(_mm_loadl_epi64(static_cast<const __m128i*>(p)), _mm_setzero_si128());
}
SMAX_INLINE __m128i load_codes4_partial(const void* p, std::size_t count) {
  std::uint16_t codes[4] = {};
  std::memcpy(codes, p, count * sizeof(std::uint16_t));
  return load_codes4(codes);
}
SMAX_INLINE void store_codes4(void* p, __m128i sign_extended) {
  _mm_storel_epi64(static_cast<__m128i*>(p), _mm_packs_epi32(sign_extended, sign_extended));
}
SMAX_INLINE void store_codes4_partial(void* p, __m128i sign_extended, std::size_t count) {
  std::uint16_t codes[4];
  store_codes4(codes, sign_extended);
  std::memcpy(p, codes, count * sizeof(std::uint16_t));
}

/// Four elements to float. The _partial forms take count < 4 elements and
/// touch no memory past them (the missing lanes read as +0).
SMAX_INLINE __m128 widen_load(const bfloat16* p) { return widen_bf16(load_codes4(p)); }
SMAX_INLINE __m128 widen_load(const half* p) { return widen_half(load_codes4(p)); }
SMAX_INLINE __m128 widen_load_partial(const bfloat16* p, std::size_t count) {
  return widen_bf16(load_codes4_partial(p, count));
}
SMAX_INLINE __m128 widen_load_partial(const half* p, std::size_t count) {
  return widen_half(load_codes4_partial(p, count));
}

/// Four floats rounded (to nearest even) and stored; _partial stores count < 4.
SMAX_INLINE void narrow_store(bfloat16* p, __m128 v) { store_codes4(p, narrow_bf16(v)); }
SMAX_INLINE void narrow_store(half* p, __m128 v) { store_codes4(p, narrow_half(v)); }
SMAX_INLINE void narrow_store_partial(bfloat16* p, __m128 v, std::size_t count) {
  store_codes4_partial(p, narrow_bf16(v), count);
}
SMAX_INLINE void narrow_store_partial(half* p, __m128 v, std::size_t count) {
  store_codes4_partial(p, narrow_half(v), count);
}

// ---- Arrays: n elements, inputs and outputs not overlapping. ----

// Tails of fewer than four floats go through a local buffer: SSE2 has no
// masked loads or stores, and memory past the last element may not be mapped.
SMAX_INLINE __m128 load_floats_partial(const float* p, std::size_t count) {
  float lanes[4] = {};
  std::memcpy(lanes, p, count * sizeof(float));
  return _mm_loadu_ps(lanes);
}
SMAX_INLINE void store_floats_partial(float* p, __m128 v, std::size_t count) {
  float lanes[4];
  _mm_storeu_ps(lanes, v);
  std::memcpy(p, lanes, count * sizeof(float));
}

inline void to_float(const bfloat16* in, float* out, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    // Interleaving zeros below the codes puts each code in a float's top half.
    const __m128i codes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    _mm_storeu_ps(out + i, _mm_castsi128_ps(_mm_unpacklo_epi16(_mm_setzero_si128(), codes)));
    _mm_storeu_ps(out + i + 4, _mm_castsi128_ps(_mm_unpackhi_epi16(_mm_setzero_si128(), codes)));
  }
  if (i + 4 <= n) {
    _mm_storeu_ps(out + i, widen_load(in + i));
    i += 4;
  }
  if (i < n) store_floats_partial(out + i, widen_load_partial(in + i, n - i), n - i);
}

inline void to_float(const half* in, float* out, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i codes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    _mm_storeu_ps(out + i, widen_half(_mm_unpacklo_epi16(codes, _mm_setzero_si128())));
    _mm_storeu_ps(out + i + 4, widen_half(_mm_unpackhi_epi16(codes, _mm_setzero_si128())));
  }
  if (i + 4 <= n) {
    _mm_storeu_ps(out + i, widen_load(in + i));
    i += 4;
  }
  if (i < n) store_floats_partial(out + i, widen_load_partial(in + i, n - i), n - i);
}

inline void from_float(const float* in, bfloat16* out, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i lo = narrow_bf16(_mm_loadu_ps(in + i)), hi = narrow_bf16(_mm_loadu_ps(in + i + 4));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_packs_epi32(lo, hi));
  }
  if (i + 4 <= n) {
    narrow_store(out + i, _mm_loadu_ps(in + i));
    i += 4;
  }
  if (i < n) narrow_store_partial(out + i, load_floats_partial(in + i, n - i), n - i);
}

inline void from_float(const float* in, half* out, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i lo = narrow_half(_mm_loadu_ps(in + i)), hi = narrow_half(_mm_loadu_ps(in + i + 4));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_packs_epi32(lo, hi));
  }
  if (i + 4 <= n) {
    narrow_store(out + i, _mm_loadu_ps(in + i));
    i += 4;
  }
  if (i < n) narrow_store_partial(out + i, load_floats_partial(in + i, n - i), n - i);
}

}  // namespace detail::sse2
}  // namespace SMAX_ABI
}  // namespace smax

SMAX_TARGET_POP

#endif  // SMAX_ARCH_X86_64
