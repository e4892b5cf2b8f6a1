// AVX-512 conversions between float and the two-byte storage types, in the
// namespace of avx512.hpp under exactly its target attributes: the 512-bit
// forms of vcvtph2ps/vcvtps2ph (AVX-512F) for half, integer arithmetic for
// bfloat16, and 16-bit masked loads and stores (AVX-512BW/VL) for tails.
//
// Where the CPU has AVX-512 BF16, float -> bfloat16 uses vcvtneps2bf16 (in a
// small region of its own below, as it needs one more target feature). Its
// rounding is to nearest even and a NaN comes out quiet with its top bits, as
// in the scalar reference, but it treats float subnormal inputs as zero
// whatever MXCSR says (as Intel documents it, and as measured on AMD Zen 5):
// 0x1p-127f, say, gives +0 instead of the bfloat16 subnormal 0x0040. Lanes
// holding a subnormal are therefore redone with the integer code, so both
// paths give the same bits.
//
// AVX-512 FP16 is not used: what it adds for conversions between float and
// half (vcvtps2phx, vcvtph2psx) computes the same thing as the AVX-512F forms
// used here, at the same width; its real gain, arithmetic in half, is what
// smax deliberately does not do (sums never accumulate in a two-byte type).
#pragma once

#include "../detail/config.hpp"

#if SMAX_ARCH_X86_64

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "../detail/cpu.hpp"
#include "../types.hpp"

SMAX_DIAGNOSTICS_PUSH
SMAX_TARGET_PUSH("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,f16c,bmi,bmi2,popcnt")

namespace smax {
inline namespace SMAX_ABI {
namespace detail::avx512 {

// ---- Register level: sixteen lanes. ----

SMAX_INLINE __m512 widen_bf16(__m256i codes) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(codes), 16));
}
SMAX_INLINE __m512 widen_half(__m256i codes) { return _mm512_cvtph_ps(codes); }

// float -> bfloat16 codes in the low 16 bits of each 32-bit lane, round to
// nearest even; NaN kept quiet (see bfloat16::round_from_float_bits).
SMAX_INLINE __m512i narrow_bf16_lanes(__m512 v) {
  // Held in a register: otherwise compilers fold the load of v into each of
  // the four instructions using it, and four loads that each straddle two
  // cache lines (unaligned data) halve the throughput.
  __m512i bits = _mm512_castps_si512(v);
  __asm__("" : "+v"(bits));
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  const __m512i rounded = _mm512_add_epi32(bits, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
  const __mmask16 nan =
      _mm512_cmpgt_epi32_mask(_mm512_and_si512(bits, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  const __m512i r = _mm512_mask_or_epi32(rounded, nan, bits, _mm512_set1_epi32(0x00400000));
  return _mm512_srli_epi32(r, 16);
}
SMAX_INLINE __m256i narrow_bf16(__m512 v) { return _mm512_cvtepi32_epi16(narrow_bf16_lanes(v)); }
// The rounding comes from the immediate (MXCSR.RC is ignored). The all-lanes
// mask form is used because GCC's unmasked macro (used at -O0) passes -1 as
// the mask, which -Wsign-conversion reports in the caller. The result is held
// in a register for the reason given in convert_avx2.hpp (Clang would
// otherwise fold the store into the memory-destination form, slow on AMD Zen).
SMAX_INLINE __m256i narrow_half(__m512 v) {
  __m256i codes = _mm512_maskz_cvtps_ph(static_cast<__mmask16>(0xffff), v, _MM_FROUND_TO_NEAREST_INT);
  __asm__("" : "+v"(codes));
  return codes;
}

// ---- Memory level: sixteen elements per call. ----

SMAX_INLINE __mmask16 code_lanes16(std::size_t count) { return static_cast<__mmask16>((1u << count) - 1u); }

/// Sixteen elements to float. The _partial forms take count < 16 elements and
/// touch no memory past them (the missing lanes read as +0).
SMAX_INLINE __m512 widen_load(const bfloat16* p) {
  return widen_bf16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
SMAX_INLINE __m512 widen_load(const half* p) {
  return widen_half(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
SMAX_INLINE __m512 widen_load_partial(const bfloat16* p, std::size_t count) {
  return widen_bf16(_mm256_maskz_loadu_epi16(code_lanes16(count), p));
}
SMAX_INLINE __m512 widen_load_partial(const half* p, std::size_t count) {
  return widen_half(_mm256_maskz_loadu_epi16(code_lanes16(count), p));
}

/// Sixteen floats rounded (to nearest even) and stored; _partial stores count < 16.
SMAX_INLINE void narrow_store(bfloat16* p, __m512 v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), narrow_bf16(v));
}
SMAX_INLINE void narrow_store(half* p, __m512 v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), narrow_half(v)); }
SMAX_INLINE void narrow_store_partial(bfloat16* p, __m512 v, std::size_t count) {
  _mm256_mask_storeu_epi16(p, code_lanes16(count), narrow_bf16(v));
}
SMAX_INLINE void narrow_store_partial(half* p, __m512 v, std::size_t count) {
  _mm256_mask_storeu_epi16(p, code_lanes16(count), narrow_half(v));
}

// ---- Arrays: n elements, inputs and outputs not overlapping. ----

template <class Code>
SMAX_INLINE void widen_array(const Code* in, float* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    _mm512_storeu_ps(out + i, widen_load(in + i));
    _mm512_storeu_ps(out + i + 16, widen_load(in + i + 16));
  }
  if (i + 16 <= n) {
    _mm512_storeu_ps(out + i, widen_load(in + i));
    i += 16;
  }
  if (i < n) _mm512_mask_storeu_ps(out + i, code_lanes16(n - i), widen_load_partial(in + i, n - i));
}

template <class Code>
SMAX_INLINE void narrow_array(const float* in, Code* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    narrow_store(out + i, _mm512_loadu_ps(in + i));
    narrow_store(out + i + 16, _mm512_loadu_ps(in + i + 16));
  }
  if (i + 16 <= n) {
    narrow_store(out + i, _mm512_loadu_ps(in + i));
    i += 16;
  }
  if (i < n) narrow_store_partial(out + i, _mm512_maskz_loadu_ps(code_lanes16(n - i), in + i), n - i);
}

inline void to_float(const bfloat16* in, float* out, std::size_t n) noexcept { widen_array(in, out, n); }
inline void to_float(const half* in, float* out, std::size_t n) noexcept { widen_array(in, out, n); }
inline void from_float(const float* in, half* out, std::size_t n) noexcept { narrow_array(in, out, n); }
/// float -> bfloat16 with integer arithmetic only (from_float below picks
/// this or the AVX-512 BF16 version).
inline void from_float_integer(const float* in, bfloat16* out, std::size_t n) noexcept { narrow_array(in, out, n); }

}  // namespace detail::avx512
}  // namespace SMAX_ABI
}  // namespace smax

SMAX_TARGET_POP

// AVX-512 BF16: the same features plus avx512bf16, for CPUs where
// cpu().avx512_bf16 is set. Only float -> bfloat16 benefits (the other way is
// a shift either way).
SMAX_TARGET_PUSH("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,f16c,bmi,bmi2,popcnt,avx512bf16")

namespace smax {
inline namespace SMAX_ABI {
namespace detail::avx512_bf16 {

// vcvtneps2bf16, except that lanes whose input is a float subnormal (which the
// instruction flushes to zero) take the integer result instead. Subnormals are
// found with integer arithmetic (|bits| - 1 < 0x7fffff, unsigned): vfpclassps
// would take one instruction, but it honours MXCSR.DAZ and would then miss
// them. The fix-up branch is rarely taken; the common case measured 5-10%
// faster than the integer code on AMD Zen 5 (memory-bound arrays: the same).
SMAX_INLINE __m256i narrow_bf16(__m512 v) {
  const __m256bh converted = _mm512_cvtneps_pbh(v);
  __m256i codes;
  static_assert(sizeof codes == sizeof converted, "both are 16 x 16 bits");
  __builtin_memcpy(&codes, &converted, sizeof codes);  // __m256bh's element type differs between compilers
  const __m512i magnitude = _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff));
  const __mmask16 subnormal =
      _mm512_cmplt_epu32_mask(_mm512_sub_epi32(magnitude, _mm512_set1_epi32(1)), _mm512_set1_epi32(0x007fffff));
  if (subnormal != 0) codes = _mm256_mask_blend_epi16(subnormal, codes, avx512::narrow_bf16(v));
  return codes;
}

SMAX_INLINE void narrow_store(bfloat16* p, __m512 v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), narrow_bf16(v));
}
SMAX_INLINE void narrow_store_partial(bfloat16* p, __m512 v, std::size_t count) {
  _mm256_mask_storeu_epi16(p, avx512::code_lanes16(count), narrow_bf16(v));
}

inline void from_float(const float* in, bfloat16* out, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    narrow_store(out + i, _mm512_loadu_ps(in + i));
    narrow_store(out + i + 16, _mm512_loadu_ps(in + i + 16));
  }
  if (i + 16 <= n) {
    narrow_store(out + i, _mm512_loadu_ps(in + i));
    i += 16;
  }
  if (i < n) narrow_store_partial(out + i, _mm512_maskz_loadu_ps(avx512::code_lanes16(n - i), in + i), n - i);
}

}  // namespace detail::avx512_bf16
}  // namespace SMAX_ABI
}  // namespace smax

SMAX_TARGET_POP
SMAX_TARGET_PUSH("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,f16c,bmi,bmi2,popcnt")

namespace smax {
inline namespace SMAX_ABI {
namespace detail::avx512 {

inline void from_float(const float* in, bfloat16* out, std::size_t n) noexcept {
  if (cpu().avx512_bf16) {
    avx512_bf16::from_float(in, out, n);
  } else {
    from_float_integer(in, out, n);
  }
}

}  // namespace detail::avx512
}  // namespace SMAX_ABI
}  // namespace smax

SMAX_TARGET_POP
SMAX_DIAGNOSTICS_POP

#endif  // SMAX_ARCH_X86_64
