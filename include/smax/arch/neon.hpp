// AArch64 Advanced SIMD (NEON) vector layer, then this ISA's copy of the kernels.
// Advanced SIMD and FMA are part of every ARMv8-A CPU, so unlike the x86 layers
// this one needs no target region: the baseline compiler flags already allow
// every instruction used here.
#pragma once

#include "../detail/config.hpp"

#if SMAX_ARCH_AARCH64

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../detail/kernel_table.hpp"
#include "../detail/scalar_math.hpp"

namespace smax {
inline namespace SMAX_ABI {
namespace detail::neon {

template <class C>
struct vec;

template <class C>
struct mask;

template <>
struct mask<double> {
  uint64x2_t raw;
};

template <>
struct vec<double> {
  using lane = double;
  static constexpr std::size_t lanes = 2;
  float64x2_t raw;

  static SMAX_INLINE vec splat(double v) { return {vdupq_n_f64(v)}; }
  static SMAX_INLINE vec load(const double* p) { return {vld1q_f64(p)}; }
  static SMAX_INLINE vec load(const float* p) { return {vcvt_f64_f32(vld1_f32(p))}; }
  // A tail is at most one element here (count < 2). Lane loads touch only that
  // element, so nothing past the buffer is read.
  static SMAX_INLINE vec load_partial(const double* p, std::size_t count, double fill) {
    const float64x2_t filled = vdupq_n_f64(fill);
    return {count == 0 ? filled : vld1q_lane_f64(p, filled, 0)};
  }
  static SMAX_INLINE vec load_partial(const float* p, std::size_t count, double fill) {
    const float64x2_t filled = vdupq_n_f64(fill);
    return {count == 0 ? filled : vsetq_lane_f64(static_cast<double>(*p), filled, 0)};
  }
  SMAX_INLINE void store(double* p) const { vst1q_f64(p, raw); }
  SMAX_INLINE void store(float* p) const { vst1_f32(p, vcvt_f32_f64(raw)); }
  SMAX_INLINE void store_partial(double* p, std::size_t count) const {
    if (count > 0) vst1q_lane_f64(p, raw, 0);
  }
  SMAX_INLINE void store_partial(float* p, std::size_t count) const {
    if (count > 0) vst1_lane_f32(p, vcvt_f32_f64(raw), 0);
  }
};

using vd = vec<double>;

SMAX_INLINE vd operator+(vd a, vd b) { return {vaddq_f64(a.raw, b.raw)}; }
SMAX_INLINE vd operator-(vd a, vd b) { return {vsubq_f64(a.raw, b.raw)}; }
SMAX_INLINE vd operator*(vd a, vd b) { return {vmulq_f64(a.raw, b.raw)}; }
SMAX_INLINE vd operator/(vd a, vd b) { return {vdivq_f64(a.raw, b.raw)}; }
SMAX_INLINE vd mul_add(vd a, vd b, vd c) { return {vfmaq_f64(c.raw, a.raw, b.raw)}; }
// The x86 rule, a < b ? a : b (and a > b ? a : b): a NaN in either operand
// yields b. The kernels rely on it both ways: clamps written max(bound, d) pass
// a NaN d through, and max(err, bound) turns a NaN rounding error into the
// bound. fmin/fmax (NaN wins) and fminnm/fmaxnm (number wins) each break one
// of the two, so the rule is spelled out as a compare and a select.
SMAX_INLINE vd min(vd a, vd b) { return {vbslq_f64(vcltq_f64(a.raw, b.raw), a.raw, b.raw)}; }
SMAX_INLINE vd max(vd a, vd b) { return {vbslq_f64(vcgtq_f64(a.raw, b.raw), a.raw, b.raw)}; }
// frintn: ties to even whatever FPCR.RMode says.
SMAX_INLINE vd round_nearest(vd v) { return {vrndnq_f64(v.raw)}; }

// 2^n for integer-valued n in [-1022, 1023], built in the exponent field. The
// conversion is exact for such n (a NaN converts to 0, and v * 2^0 keeps it NaN).
SMAX_INLINE vd pow2(vd n) {
  const int64x2_t biased = vaddq_s64(vcvtnq_s64_f64(n.raw), vdupq_n_s64(1023));
  return {vreinterpretq_f64_s64(vshlq_n_s64(biased, 52))};
}
// Multiplying (rather than adding to the exponent bits) keeps NaN inputs NaN.
SMAX_INLINE vd ldexp_normal(vd v, vd n) { return v * pow2(n); }
// v * 2^n for integer-valued |n| <= 2044: two exact half steps, so a subnormal
// result is rounded only once. (NEON has no vector fscale; SVE does.)
SMAX_INLINE vd ldexp(vd v, vd n) {
  const vd half = round_nearest(n * vd::splat(0.5));
  return (v * pow2(half)) * pow2(n - half);
}
SMAX_INLINE mask<double> operator<(vd a, vd b) { return {vcltq_f64(a.raw, b.raw)}; }
SMAX_INLINE vd select(mask<double> m, vd if_true, vd if_false) { return {vbslq_f64(m.raw, if_true.raw, if_false.raw)}; }
SMAX_INLINE double reduce_add(vd v) { return vaddvq_f64(v.raw); }
SMAX_INLINE double first_lane(vd v) { return vgetq_lane_f64(v.raw, 0); }
// fmaxv would let a NaN lane win; the x86 rule keeps every path's NaN handling alike.
SMAX_INLINE double reduce_max(vd v) {
  const double a = vgetq_lane_f64(v.raw, 0), b = vgetq_lane_f64(v.raw, 1);
  return a > b ? a : b;
}

// Lanes from `count` on replaced by `fill` (count may exceed the lane count).
SMAX_INLINE vd keep_first(vd v, std::size_t count, double fill) {
  if (count >= vd::lanes) return v;
  return count == 1 ? vd{vsetq_lane_f64(fill, v.raw, 1)} : vd::splat(fill);
}
// The lanes whose byte in p[0, count) is non-zero (lanes from count on: false).
SMAX_INLINE mask<double> nonzero_bytes(const std::uint8_t* p, std::size_t count) {
  std::uint16_t packed = 0;
  std::memcpy(&packed, p, count < 2 ? count : 2);
  const uint64x2_t wide = vmovl_u32(vget_low_u32(vmovl_u16(vget_low_u16(vmovl_u8(vcreate_u8(packed))))));
  return {vtstq_u64(wide, wide)};
}
// a * b - p exactly, for p = a * b rounded: the fused form rounds once, and the
// exact residual needs no rounding at all.
SMAX_INLINE vd product_error(vd a, vd b, vd p) { return {vfmaq_f64(vnegq_f64(p.raw), a.raw, b.raw)}; }

template <>
struct mask<float> {
  uint32x4_t raw;
};

template <>
struct vec<float> {
  using lane = float;
  static constexpr std::size_t lanes = 4;
  float32x4_t raw;

  static SMAX_INLINE vec splat(float v) { return {vdupq_n_f32(v)}; }
  static SMAX_INLINE vec load(const float* p) { return {vld1q_f32(p)}; }
  // No masked loads or stores in NEON: tails go through a local buffer, so
  // memory past the last element (perhaps unmapped) is never touched.
  static SMAX_INLINE vec load_partial(const float* p, std::size_t count, float fill) {
    float buffer[4] = {fill, fill, fill, fill};
    std::memcpy(buffer, p, (count < 4 ? count : 4) * sizeof(float));
    return {vld1q_f32(buffer)};
  }
  SMAX_INLINE void store(float* p) const { vst1q_f32(p, raw); }
  SMAX_INLINE void store_partial(float* p, std::size_t count) const {
    float buffer[4];
    vst1q_f32(buffer, raw);
    std::memcpy(p, buffer, (count < 4 ? count : 4) * sizeof(float));
  }
};

using vf = vec<float>;

SMAX_INLINE vf operator+(vf a, vf b) { return {vaddq_f32(a.raw, b.raw)}; }
SMAX_INLINE vf operator-(vf a, vf b) { return {vsubq_f32(a.raw, b.raw)}; }
SMAX_INLINE vf operator*(vf a, vf b) { return {vmulq_f32(a.raw, b.raw)}; }
SMAX_INLINE vf operator/(vf a, vf b) { return {vdivq_f32(a.raw, b.raw)}; }
SMAX_INLINE vf mul_add(vf a, vf b, vf c) { return {vfmaq_f32(c.raw, a.raw, b.raw)}; }
SMAX_INLINE vf min(vf a, vf b) { return {vbslq_f32(vcltq_f32(a.raw, b.raw), a.raw, b.raw)}; }
SMAX_INLINE vf max(vf a, vf b) { return {vbslq_f32(vcgtq_f32(a.raw, b.raw), a.raw, b.raw)}; }
SMAX_INLINE vf round_nearest(vf v) { return {vrndnq_f32(v.raw)}; }
// 2^n for integer-valued n in [-126, 127] (see pow2 for doubles).
SMAX_INLINE vf pow2(vf n) {
  const int32x4_t biased = vaddq_s32(vcvtnq_s32_f32(n.raw), vdupq_n_s32(127));
  return {vreinterpretq_f32_s32(vshlq_n_s32(biased, 23))};
}
SMAX_INLINE vf ldexp_normal(vf v, vf n) { return v * pow2(n); }
SMAX_INLINE vf ldexp(vf v, vf n) {
  const vf half = round_nearest(n * vf::splat(0.5f));
  return (v * pow2(half)) * pow2(n - half);
}
SMAX_INLINE mask<float> operator<(vf a, vf b) { return {vcltq_f32(a.raw, b.raw)}; }
SMAX_INLINE vf select(mask<float> m, vf if_true, vf if_false) { return {vbslq_f32(m.raw, if_true.raw, if_false.raw)}; }
SMAX_INLINE float reduce_add(vf v) { return vaddvq_f32(v.raw); }
// Lanes 0 and 2, 1 and 3, then the two results, each by the x86 rule (as SSE2).
SMAX_INLINE float reduce_max(vf v) {
  const float32x2_t high = vget_high_f32(v.raw);
  const vf pairs = max(v, vf{vcombine_f32(high, high)});
  const float a = vgetq_lane_f32(pairs.raw, 0), b = vgetq_lane_f32(pairs.raw, 1);
  return a > b ? a : b;
}
SMAX_INLINE bool any(mask<float> m) { return vmaxvq_u32(m.raw) != 0; }
SMAX_INLINE float first_lane(vf v) { return vgetq_lane_f32(v.raw, 0); }

// Whether mul_add is one rounding (kernels pick their float paths by it).
inline constexpr bool kFusedMulAdd = true;
// No register-table lookup here: float data is computed in double lanes.
inline constexpr bool kFloatTableExp = false;

// The shared kernels, in dependency order (not alphabetical: keep the blank lines).
#include "../detail/math-inl.hpp"

#include "../detail/kernels-inl.hpp"

#include "../detail/backward-inl.hpp"

#include "../detail/cross_entropy-inl.hpp"

#include "../detail/columns-inl.hpp"

#include "../detail/table-inl.hpp"

}  // namespace detail::neon
}  // namespace SMAX_ABI
}  // namespace smax

#endif  // SMAX_ARCH_AARCH64
