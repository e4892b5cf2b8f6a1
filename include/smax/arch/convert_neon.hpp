// AArch64 Advanced SIMD conversions between float and the two-byte storage
// types: fcvtl/fcvtn for half, integer arithmetic for bfloat16 (the bf16
// instructions are an optional extension). In the namespace of neon.hpp.
// Results are bit-identical to the scalar reference (types.hpp) whatever the
// caller's FPCR: see fpcr_for_half below.
#pragma once

#include "../detail/config.hpp"

#if SMAX_ARCH_AARCH64

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../types.hpp"

namespace smax {
inline namespace SMAX_ABI {
namespace detail::neon {

// fcvtl and fcvtn read FPCR: RMode sets fcvtn's rounding, AHP swaps IEEE half
// for Arm's alternative format (no infinities or NaNs), DN replaces NaN
// payloads by the default NaN. (FZ16 does not apply to conversions, and FZ only
// flushes float subnormal inputs, which round to a half zero of the same sign
// anyway.) The register-level helpers below assume FPCR = 0, as under the
// kernels' fp_env_guard; the array functions establish it themselves, writing
// FPCR only when the caller's differs, since that write can stall the pipeline.
// The memory clobbers keep the conversions' loads and stores between the two
// writes (the compiler does not know that FPCR affects the conversions).
class fpcr_for_half {
 public:
  fpcr_for_half() noexcept {
    __asm__ volatile("mrs %0, fpcr" : "=r"(saved_) : : "memory");
    if (saved_ != 0) __asm__ volatile("msr fpcr, %0" : : "r"(0UL) : "memory");
  }
  ~fpcr_for_half() {
    if (saved_ != 0) __asm__ volatile("msr fpcr, %0" : : "r"(saved_) : "memory");
  }
  fpcr_for_half(const fpcr_for_half&) = delete;
  fpcr_for_half& operator=(const fpcr_for_half&) = delete;

 private:
  unsigned long saved_ = 0;
};

// ---- Register level: four lanes of 16-bit codes. ----

// bfloat16 codes -> float: the code becomes the top half.
SMAX_INLINE float32x4_t widen_bf16(uint16x4_t codes) { return vreinterpretq_f32_u32(vshll_n_u16(codes, 16)); }

// half codes -> float, exact; a NaN comes back quiet with its payload (FPCR = 0).
SMAX_INLINE float32x4_t widen_half(uint16x4_t codes) { return vcvt_f32_f16(vreinterpret_f16_u16(codes)); }

// float -> bfloat16 codes, round to nearest even; NaN kept quiet (see
// bfloat16::round_from_float_bits, which this follows step for step).
SMAX_INLINE uint16x4_t narrow_bf16(float32x4_t v) {
  const uint32x4_t bits = vreinterpretq_u32_f32(v);
  const uint32x4_t lsb = vandq_u32(vshrq_n_u32(bits, 16), vdupq_n_u32(1));
  const uint32x4_t rounded = vaddq_u32(bits, vaddq_u32(lsb, vdupq_n_u32(0x7fff)));
  const uint32x4_t nan = vcgtq_u32(vandq_u32(bits, vdupq_n_u32(0x7fffffff)), vdupq_n_u32(0x7f800000));
  const uint32x4_t quiet = vorrq_u32(bits, vdupq_n_u32(0x00400000));
  return vshrn_n_u32(vbslq_u32(nan, quiet, rounded), 16);
}

// float -> half codes, round to nearest even (FPCR = 0), subnormals kept; a
// NaN keeps its sign and top fraction bits with the quiet bit set, which is
// exactly half::round_from_float_bits's rule.
SMAX_INLINE uint16x4_t narrow_half(float32x4_t v) { return vreinterpret_u16_f16(vcvt_f16_f32(v)); }

// ---- Memory level: four elements per call. ----

SMAX_INLINE uint16x4_t load_codes4(const void* p) {
  std::uint64_t packed;
  std::memcpy(&packed, p, sizeof packed);
  return vcreate_u16(packed);
}
SMAX_INLINE uint16x4_t load_codes4_partial(const void* p, std::size_t count) {
  std::uint16_t codes[4] = {};
  std::memcpy(codes, p, count * sizeof(std::uint16_t));
  return vld1_u16(codes);
}
SMAX_INLINE void store_codes4(void* p, uint16x4_t codes) {
  const std::uint64_t packed = vget_lane_u64(vreinterpret_u64_u16(codes), 0);
  std::memcpy(p, &packed, sizeof packed);
}
SMAX_INLINE void store_codes4_partial(void* p, uint16x4_t codes, std::size_t count) {
  std::uint16_t lanes[4];
  vst1_u16(lanes, codes);
  std::memcpy(p, lanes, count * sizeof(std::uint16_t));
}

/// Four elements to float. The _partial forms take count < 4 elements and
/// touch no memory past them (the missing lanes read as +0).
SMAX_INLINE float32x4_t widen_load(const bfloat16* p) { return widen_bf16(load_codes4(p)); }
SMAX_INLINE float32x4_t widen_load(const half* p) { return widen_half(load_codes4(p)); }
SMAX_INLINE float32x4_t widen_load_partial(const bfloat16* p, std::size_t count) {
  return widen_bf16(load_codes4_partial(p, count));
}
SMAX_INLINE float32x4_t widen_load_partial(const half* p, std::size_t count) {
  return widen_half(load_codes4_partial(p, count));
}

/// Four floats rounded (to nearest even) and stored; _partial stores count < 4.
SMAX_INLINE void narrow_store(bfloat16* p, float32x4_t v) { store_codes4(p, narrow_bf16(v)); }
SMAX_INLINE void narrow_store(half* p, float32x4_t v) { store_codes4(p, narrow_half(v)); }
SMAX_INLINE void narrow_store_partial(bfloat16* p, float32x4_t v, std::size_t count) {
  store_codes4_partial(p, narrow_bf16(v), count);
}
SMAX_INLINE void narrow_store_partial(half* p, float32x4_t v, std::size_t count) {
  store_codes4_partial(p, narrow_half(v), count);
}

// ---- Arrays: n elements, inputs and outputs not overlapping. ----

// NEON has no masked loads or stores: tails of fewer than four floats go
// through a local buffer, as memory past the last element may not be mapped.
SMAX_INLINE float32x4_t load_floats_partial(const float* p, std::size_t count) {
  float lanes[4] = {};
  std::memcpy(lanes, p, count * sizeof(float));
  return vld1q_f32(lanes);
}
SMAX_INLINE void store_floats_partial(float* p, float32x4_t v, std::size_t count) {
  float lanes[4];
  vst1q_f32(lanes, v);
  std::memcpy(p, lanes, count * sizeof(float));
}

// Eight codes at p, through memcpy: the arrays hold bfloat16 or half objects,
// not std::uint16_t ones.
SMAX_INLINE uint16x8_t load_codes8(const void* p) {
  std::uint16_t codes[8];
  std::memcpy(codes, p, sizeof codes);
  return vld1q_u16(codes);
}
SMAX_INLINE void store_codes8(void* p, uint16x8_t codes) {
  std::uint16_t lanes[8];
  vst1q_u16(lanes, codes);
  std::memcpy(p, lanes, sizeof lanes);
}

inline void to_float(const bfloat16* in, float* out, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint16x8_t codes = load_codes8(in + i);
    vst1q_f32(out + i, vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(codes), 16)));
    vst1q_f32(out + i + 4, vreinterpretq_f32_u32(vshll_high_n_u16(codes, 16)));
  }
  if (i + 4 <= n) {
    vst1q_f32(out + i, widen_load(in + i));
    i += 4;
  }
  if (i < n) store_floats_partial(out + i, widen_load_partial(in + i, n - i), n - i);
}

inline void to_float(const half* in, float* out, std::size_t n) noexcept {
  const fpcr_for_half env;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float16x8_t codes = vreinterpretq_f16_u16(load_codes8(in + i));
    vst1q_f32(out + i, vcvt_f32_f16(vget_low_f16(codes)));
    vst1q_f32(out + i + 4, vcvt_high_f32_f16(codes));
  }
  if (i + 4 <= n) {
    vst1q_f32(out + i, widen_load(in + i));
    i += 4;
  }
  if (i < n) store_floats_partial(out + i, widen_load_partial(in + i, n - i), n - i);
}

inline void from_float(const float* in, bfloat16* out, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    store_codes8(out + i, vcombine_u16(narrow_bf16(vld1q_f32(in + i)), narrow_bf16(vld1q_f32(in + i + 4))));
  }
  if (i + 4 <= n) {
    narrow_store(out + i, vld1q_f32(in + i));
    i += 4;
  }
  if (i < n) narrow_store_partial(out + i, load_floats_partial(in + i, n - i), n - i);
}

inline void from_float(const float* in, half* out, std::size_t n) noexcept {
  const fpcr_for_half env;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float16x8_t codes = vcvt_high_f16_f32(vcvt_f16_f32(vld1q_f32(in + i)), vld1q_f32(in + i + 4));
    store_codes8(out + i, vreinterpretq_u16_f16(codes));
  }
  if (i + 4 <= n) {
    narrow_store(out + i, vld1q_f32(in + i));
    i += 4;
  }
  if (i < n) narrow_store_partial(out + i, load_floats_partial(in + i, n - i), n - i);
}

}  // namespace detail::neon
}  // namespace SMAX_ABI
}  // namespace smax

#endif  // SMAX_ARCH_AARCH64
