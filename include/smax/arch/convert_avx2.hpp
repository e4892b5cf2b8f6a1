// AVX2 conversions between float and the two-byte storage types: F16C
// (vcvtph2ps, vcvtps2ph) for half, integer arithmetic for bfloat16. Compiled
// under exactly the target attributes of avx2.hpp, in the same namespace.
// Results are bit-identical to the scalar reference (types.hpp) whatever the
// rounding mode and FTZ/DAZ: the half conversions take their rounding from
// the instruction's immediate, and F16C neither flushes half subnormals nor
// lets DAZ touch them (checked by tests/test_types.cpp).
#pragma once

#include "../detail/config.hpp"

#if SMAX_ARCH_X86_64

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../types.hpp"

SMAX_TARGET_PUSH("avx2,fma,f16c,bmi,bmi2,popcnt")

namespace smax {
inline namespace SMAX_ABI {
namespace detail::avx2 {

// ---- Register level: eight lanes. ----

SMAX_INLINE __m256 widen_bf16(__m128i codes) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(codes), 16));
}
SMAX_INLINE __m256 widen_half(__m128i codes) { return _mm256_cvtph_ps(codes); }

// float -> bfloat16 codes in the low 16 bits of each 32-bit lane (upper bits
// zero), round to nearest even; NaN kept quiet (see bfloat16::round_from_float_bits).
SMAX_INLINE __m256i narrow_bf16_lanes(__m256 v) {
  const __m256i bits = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
  const __m256i rounded = _mm256_add_epi32(bits, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff)));
  const __m256i nan =
      _mm256_cmpgt_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
  const __m256i quiet = _mm256_or_si256(bits, _mm256_set1_epi32(0x00400000));
  return _mm256_srli_epi32(_mm256_blendv_epi8(rounded, quiet, nan), 16);
}
SMAX_INLINE __m128i narrow_bf16(__m256 v) {
  const __m256i lanes = narrow_bf16_lanes(v);
  // The codes are below 2^16, so the unsigned-saturating pack is exact.
  return _mm_packus_epi32(_mm256_castsi256_si128(lanes), _mm256_extracti128_si256(lanes, 1));
}
// vcvtps2ph with an immediate rounding mode ignores MXCSR.RC. The result is
// kept in a register: Clang otherwise folds the following store into
// vcvtps2ph's memory-destination form, which is slow on AMD Zen (measured on
// Zen 5 with Clang 14, arrays in L1: 92 GB/s folded, 180 GB/s separate).
SMAX_INLINE __m128i narrow_half(__m256 v) {
  __m128i codes = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
  __asm__("" : "+x"(codes));
  return codes;
}

// ---- Memory level: eight elements per call. ----

// AVX2's masked loads and stores have 32-bit lanes at the finest, so partial
// vectors of 16-bit codes go through a local buffer; nothing past `count`
// elements is read or written.
SMAX_INLINE __m128i load_codes8(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
SMAX_INLINE __m128i load_codes8_partial(const void* p, std::size_t count) {
  std::uint16_t codes[8] = {};
  std::memcpy(codes, p, count * sizeof(std::uint16_t));
  return load_codes8(codes);
}
SMAX_INLINE void store_codes8(void* p, __m128i codes) { _mm_storeu_si128(static_cast<__m128i*>(p), codes); }
SMAX_INLINE void store_codes8_partial(void* p, __m128i codes, std::size_t count) {
  std::uint16_t lanes[8];
  store_codes8(lanes, codes);
  std::memcpy(p, lanes, count * sizeof(std::uint16_t));
}

/// Eight elements to float. The _partial forms take count < 8 elements and
/// touch no memory past them (the missing lanes read as +0).
SMAX_INLINE __m256 widen_load(const bfloat16* p) { return widen_bf16(load_codes8(p)); }
SMAX_INLINE __m256 widen_load(const half* p) { return widen_half(load_codes8(p)); }
SMAX_INLINE __m256 widen_load_partial(const bfloat16* p, std::size_t count) {
  return widen_bf16(load_codes8_partial(p, count));
}
SMAX_INLINE __m256 widen_load_partial(const half* p, std::size_t count) {
  return widen_half(load_codes8_partial(p, count));
}

/// Eight floats rounded (to nearest even) and stored; _partial stores count < 8.
SMAX_INLINE void narrow_store(bfloat16* p, __m256 v) { store_codes8(p, narrow_bf16(v)); }
SMAX_INLINE void narrow_store(half* p, __m256 v) { store_codes8(p, narrow_half(v)); }
SMAX_INLINE void narrow_store_partial(bfloat16* p, __m256 v, std::size_t count) {
  store_codes8_partial(p, narrow_bf16(v), count);
}
SMAX_INLINE void narrow_store_partial(half* p, __m256 v, std::size_t count) {
  store_codes8_partial(p, narrow_half(v), count);
}

// ---- Arrays: n elements, inputs and outputs not overlapping. ----

// Float lanes can be masked (32-bit granularity); masked-off lanes never fault.
SMAX_INLINE __m256i float_lanes8(std::size_t count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

inline void to_float(const bfloat16* in, float* out, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_ps(out + i, widen_load(in + i));
    _mm256_storeu_ps(out + i + 8, widen_load(in + i + 8));
  }
  if (i + 8 <= n) {
    _mm256_storeu_ps(out + i, widen_load(in + i));
    i += 8;
  }
  if (i < n) _mm256_maskstore_ps(out + i, float_lanes8(n - i), widen_load_partial(in + i, n - i));
}

inline void to_float(const half* in, float* out, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_ps(out + i, widen_load(in + i));
    _mm256_storeu_ps(out + i + 8, widen_load(in + i + 8));
  }
  if (i + 8 <= n) {
    _mm256_storeu_ps(out + i, widen_load(in + i));
    i += 8;
  }
  if (i < n) _mm256_maskstore_ps(out + i, float_lanes8(n - i), widen_load_partial(in + i, n - i));
}

inline void from_float(const float* in, bfloat16* out, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    // Packing two vectors at once leaves their halves interleaved per 128-bit
    // lane; one cross-lane permute restores element order.
    const __m256i packed =
        _mm256_packus_epi32(narrow_bf16_lanes(_mm256_loadu_ps(in + i)), narrow_bf16_lanes(_mm256_loadu_ps(in + i + 8)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm256_permute4x64_epi64(packed, 0xd8));
  }
  if (i + 8 <= n) {
    narrow_store(out + i, _mm256_loadu_ps(in + i));
    i += 8;
  }
  if (i < n) narrow_store_partial(out + i, _mm256_maskload_ps(in + i, float_lanes8(n - i)), n - i);
}

inline void from_float(const float* in, half* out, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    narrow_store(out + i, _mm256_loadu_ps(in + i));
    narrow_store(out + i + 8, _mm256_loadu_ps(in + i + 8));
  }
  if (i + 8 <= n) {
    narrow_store(out + i, _mm256_loadu_ps(in + i));
    i += 8;
  }
  if (i < n) narrow_store_partial(out + i, _mm256_maskload_ps(in + i, float_lanes8(n - i)), n - i);
}

}  // namespace detail::avx2
}  // namespace SMAX_ABI
}  // namespace smax

SMAX_TARGET_POP

#endif  // SMAX_ARCH_X86_64
