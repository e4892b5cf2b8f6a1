// Two-byte floating-point storage types: smax::bfloat16 and smax::half.
//
// smax computes in float (or double) and uses these types only to load and
// store data: there is no two-byte arithmetic here, and every operator on them
// goes through float. Conversion to float is exact; conversion from float
// rounds to nearest, ties to even, whatever the floating-point environment
// (it is integer code: neither the rounding mode nor FTZ/DAZ affect it).
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "detail/config.hpp"

// Compiler-native two-byte types that smax::half and smax::bfloat16 convert to
// and from bit for bit. Define either macro to 0 to turn the interoperation
// off, or to 1 for a compiler the detection below does not know.
//  - _Float16: GCC 12+ and Clang 15+ on x86-64 (and AArch64) define the
//    __FLT16_* macros exactly where the type exists (Clang 14 has none on x86),
//    except GCC 12 on AArch64, which defines them in C++ too but accepts the
//    type only in C (C++ support there came with GCC 13).
//  - __bf16 as a value type: GCC 13+ defines the __BFLT16_* macros; Clang has
//    no such macros, and its __bf16 is a usable value type on x86-64 from
//    Clang 17 (before that it was storage-only or unsupported there).
// C++23's std::float16_t and std::bfloat16_t are these same types in GCC
// (decltype(0.0f16) and decltype(0.0bf16)); they are accepted under either name.
#if !defined(SMAX_HAS_NATIVE_FLOAT16)
#if defined(__FLT16_MAX__) && \
    !(defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13 && !defined(__x86_64__) && !defined(__i386__))
#define SMAX_HAS_NATIVE_FLOAT16 1
#else
#define SMAX_HAS_NATIVE_FLOAT16 0
#endif
#endif

#if !defined(SMAX_HAS_NATIVE_BF16)
#if defined(__BFLT16_MAX__) || \
    (defined(__clang__) && !defined(__apple_build_version__) && __clang_major__ >= 17 && SMAX_ARCH_X86_64)
#define SMAX_HAS_NATIVE_BF16 1
#else
#define SMAX_HAS_NATIVE_BF16 0
#endif
#endif

#if SMAX_HAS_NATIVE_FLOAT16 && defined(__STDCPP_FLOAT16_T__) && __cplusplus > 202002L
#define SMAX_IS_STD_FLOAT16(T) || std::is_same_v<T, decltype(0.0f16)>
#else
#define SMAX_IS_STD_FLOAT16(T)
#endif
#if SMAX_HAS_NATIVE_BF16 && defined(__STDCPP_BFLOAT16_T__) && __cplusplus > 202002L
#define SMAX_IS_STD_BFLOAT16(T) || std::is_same_v<T, decltype(0.0bf16)>
#else
#define SMAX_IS_STD_BFLOAT16(T)
#endif

// The conversions are constexpr wherever the compiler can reinterpret a float's
// bits at compile time (GCC 11+, Clang 9+); elsewhere they are plain inline.
#if defined(__has_builtin)
#if __has_builtin(__builtin_bit_cast)
#define SMAX_HAS_BIT_CAST 1
#endif
#endif
#if defined(SMAX_HAS_BIT_CAST)
#define SMAX_BIT_CAST_CONSTEXPR constexpr
#else
#define SMAX_HAS_BIT_CAST 0
#define SMAX_BIT_CAST_CONSTEXPR
#endif

namespace smax {

// The members below are always inlined: these types are outside smax's
// per-ISA inline namespace (so that they are one type in every translation
// unit), and an out-of-line copy compiled with one TU's -m flags (BMI2 shifts,
// say) must never be what another TU calls.

/// bfloat16: float's sign and 8-bit exponent with a 7-bit fraction (8
/// significant bits). Same range as float, subnormals included.
///  - bfloat16(float) rounds to nearest, ties to even. Values beyond the
///    largest finite bfloat16 (3.3895e38) round to infinity as IEEE rounding
///    says (a float at or above 0x1.ffp127 becomes inf); float subnormals round
///    to bfloat16 subnormals (never flushed). A NaN stays a NaN: its sign and
///    top 7 fraction bits are kept and the quiet bit is set (the low 16 bits
///    are dropped, never rounded into an infinity).
///  - Conversion to float is exact (the 16 bits become a float's top half; a
///    NaN's payload is kept as it is).
///  - A double argument is first converted to float by the language, so it is
///    rounded twice; convert a double to float yourself when that matters.
///  - Trivially copyable, standard layout, two bytes: an array of bfloat16 is
///    an array of the 16-bit encodings, the layout bf16 tensors use.
struct bfloat16 {
  /// Uninitialised, like float; bfloat16{} is +0.
  bfloat16() = default;

  SMAX_INLINE SMAX_BIT_CAST_CONSTEXPR explicit bfloat16(float value) noexcept
      : bits_(round_from_float_bits(float_bits(value))) {}

  /// Exact.
  SMAX_INLINE SMAX_BIT_CAST_CONSTEXPR operator float() const noexcept {  // NOLINT(google-explicit-constructor)
    return float_from_bits(static_cast<std::uint32_t>(bits_) << 16);
  }

  /// The value whose encoding is `bits` (sign bit 15, exponent 14..7, fraction 6..0).
  SMAX_INLINE static constexpr bfloat16 from_bits(std::uint16_t bits) noexcept { return bfloat16(bits, raw_tag{}); }
  SMAX_INLINE constexpr std::uint16_t bits() const noexcept { return bits_; }

#if SMAX_HAS_NATIVE_BF16
  /// From the compiler's __bf16 (std::bfloat16_t in C++23): the same bits.
  template <class T, std::enable_if_t<std::is_same_v<T, __bf16> SMAX_IS_STD_BFLOAT16(T), int> = 0>
  SMAX_INLINE constexpr bfloat16(T value) noexcept  // NOLINT(google-explicit-constructor)
      : bits_(__builtin_bit_cast(std::uint16_t, value)) {}
  /// To the compiler's __bf16 (std::bfloat16_t): the same bits. Explicit, so that
  /// expressions mixing bfloat16 and other arithmetic types still resolve to float.
  template <class T, std::enable_if_t<std::is_same_v<T, __bf16> SMAX_IS_STD_BFLOAT16(T), int> = 0>
  SMAX_INLINE explicit constexpr operator T() const noexcept {
    return __builtin_bit_cast(T, bits_);
  }
#endif

  /// float bits -> bfloat16 bits, round to nearest even (see the type's comment).
  SMAX_INLINE static constexpr std::uint16_t round_from_float_bits(std::uint32_t u) noexcept {
    // A NaN with a payload only in the low half would otherwise round into
    // the infinity's encoding (0x7f800001 -> 0x7f80); setting the quiet bit
    // keeps it a NaN.
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x0040u);
    // Adding 0x7fff carries into the kept half whenever the dropped half is
    // above one half; adding the kept half's lowest bit as well makes an exact
    // half carry only when that bit is odd (ties to even). A carry out of the
    // fraction increments the exponent, and one out of the largest exponent
    // gives infinity's encoding: exactly IEEE's overflow result.
    return static_cast<std::uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  }

 private:
  struct raw_tag {};
  SMAX_INLINE constexpr bfloat16(std::uint16_t bits, raw_tag) noexcept : bits_(bits) {}

#if SMAX_HAS_BIT_CAST
  SMAX_INLINE static constexpr std::uint32_t float_bits(float f) noexcept {
    return __builtin_bit_cast(std::uint32_t, f);
  }
  SMAX_INLINE static constexpr float float_from_bits(std::uint32_t u) noexcept { return __builtin_bit_cast(float, u); }
#else
  SMAX_INLINE static std::uint32_t float_bits(float f) noexcept {
    std::uint32_t u;
    __builtin_memcpy(&u, &f, sizeof u);
    return u;
  }
  SMAX_INLINE static float float_from_bits(std::uint32_t u) noexcept {
    float f;
    __builtin_memcpy(&f, &u, sizeof f);
    return f;
  }
#endif

  std::uint16_t bits_;
};

/// half: IEEE 754 binary16 (1 sign bit, 5-bit exponent, 10-bit fraction).
/// Largest finite 65504, smallest normal 2^-14, smallest subnormal 2^-24.
///  - half(float) rounds to nearest, ties to even, subnormal results included
///    (never flushed). Floats at or above 65520 (halfway from 65504 to 2^16,
///    a tie that goes to the even infinity) become infinity; floats at or
///    below 2^-25 (half the smallest subnormal) become zero of the same sign.
///    A NaN stays a NaN: sign and top 9 fraction bits kept, quiet bit set
///    (what x86's F16C conversion does).
///  - Conversion to float is exact; a NaN keeps its sign and payload and comes
///    back quiet (again as F16C does).
///  - A double argument is first converted to float (rounded twice).
///  - Trivially copyable, standard layout, two bytes.
struct half {
  /// Uninitialised, like float; half{} is +0.
  half() = default;

  SMAX_INLINE SMAX_BIT_CAST_CONSTEXPR explicit half(float value) noexcept
      : bits_(round_from_float_bits(float_bits(value))) {}

  /// Exact.
  SMAX_INLINE SMAX_BIT_CAST_CONSTEXPR operator float() const noexcept {  // NOLINT(google-explicit-constructor)
    return float_from_bits(to_float_bits(bits_));
  }

  /// The value whose encoding is `bits` (sign bit 15, exponent 14..10, fraction 9..0).
  SMAX_INLINE static constexpr half from_bits(std::uint16_t bits) noexcept { return half(bits, raw_tag{}); }
  SMAX_INLINE constexpr std::uint16_t bits() const noexcept { return bits_; }

#if SMAX_HAS_NATIVE_FLOAT16
  /// From the compiler's _Float16 (std::float16_t in C++23): the same bits.
  template <class T, std::enable_if_t<std::is_same_v<T, _Float16> SMAX_IS_STD_FLOAT16(T), int> = 0>
  SMAX_INLINE constexpr half(T value) noexcept  // NOLINT(google-explicit-constructor)
      : bits_(__builtin_bit_cast(std::uint16_t, value)) {}
  /// To the compiler's _Float16 (std::float16_t): the same bits. Explicit, so
  /// that expressions mixing half and other arithmetic types resolve to float.
  template <class T, std::enable_if_t<std::is_same_v<T, _Float16> SMAX_IS_STD_FLOAT16(T), int> = 0>
  SMAX_INLINE explicit constexpr operator T() const noexcept {
    return __builtin_bit_cast(T, bits_);
  }
#endif

  /// float bits -> half bits, round to nearest even (see the type's comment).
  SMAX_INLINE static constexpr std::uint16_t round_from_float_bits(std::uint32_t u) noexcept {
    const std::uint32_t sign = (u >> 16) & 0x8000u;
    const std::uint32_t a = u & 0x7fffffffu;
    std::uint32_t h = 0;  // |x| <= 2^-25: zero (2^-25 itself is a tie, and 0 is even)
    if (a > 0x7f800000u) {
      h = 0x7e00u | ((a >> 13) & 0x03ffu);  // NaN: quiet bit set, so a low payload cannot make it inf
    } else if (a >= 0x477ff000u) {
      h = 0x7c00u;  // infinity, or at least halfway from 65504 to 2^16
    } else if (a >= 0x38800000u) {
      // Normal result: round away the low 13 fraction bits (the same carry
      // trick as bfloat16's, see there), then rebias the exponent from 127 to
      // 15. A carry out of the fraction lands in the exponent, as it should.
      h = ((a + 0x0fffu + ((a >> 13) & 1u)) >> 13) - ((127u - 15u) << 10);
    } else if (a > 0x33000000u) {
      // Subnormal result, in units of 2^-24: the significand (implicit bit
      // restored) shifted right by 126 - exponent (14..24), rounded with the
      // same carry trick. A result of 0x400 is the smallest normal's
      // encoding, so rounding up into it needs no special case.
      const std::uint32_t significand = (a & 0x007fffffu) | 0x00800000u;
      const std::uint32_t shift = 126u - (a >> 23);
      h = (significand + ((1u << (shift - 1u)) - 1u) + ((significand >> shift) & 1u)) >> shift;
    }
    return static_cast<std::uint16_t>(sign | h);
  }

  /// half bits -> float bits, exact (a NaN comes back quiet, as F16C's conversion does).
  SMAX_INLINE static constexpr std::uint32_t to_float_bits(std::uint16_t h) noexcept {
    const std::uint32_t sign = (static_cast<std::uint32_t>(h) & 0x8000u) << 16;
    const std::uint32_t a = h & 0x7fffu;
    if (a >= 0x7c00u) return sign | 0x7f800000u | ((a & 0x03ffu) << 13) | (a > 0x7c00u ? 0x00400000u : 0u);
    if (a >= 0x0400u) return sign | ((a << 13) + ((127u - 15u) << 23));  // normal: rebias the exponent
    if (a == 0) return sign;
    // Subnormal, a * 2^-24 with a < 2^10: normalise so that the top set bit
    // becomes float's implicit bit.
    const int top = 31 - __builtin_clz(a);  // 0..9
    const std::uint32_t exponent = static_cast<std::uint32_t>(top + 127 - 24);
    const std::uint32_t fraction = (a << (23 - top)) & 0x007fffffu;
    return sign | (exponent << 23) | fraction;
  }

 private:
  struct raw_tag {};
  SMAX_INLINE constexpr half(std::uint16_t bits, raw_tag) noexcept : bits_(bits) {}

#if SMAX_HAS_BIT_CAST
  SMAX_INLINE static constexpr std::uint32_t float_bits(float f) noexcept {
    return __builtin_bit_cast(std::uint32_t, f);
  }
  SMAX_INLINE static constexpr float float_from_bits(std::uint32_t u) noexcept { return __builtin_bit_cast(float, u); }
#else
  SMAX_INLINE static std::uint32_t float_bits(float f) noexcept {
    std::uint32_t u;
    __builtin_memcpy(&u, &f, sizeof u);
    return u;
  }
  SMAX_INLINE static float float_from_bits(std::uint32_t u) noexcept {
    float f;
    __builtin_memcpy(&f, &u, sizeof f);
    return f;
  }
#endif

  std::uint16_t bits_;
};

static_assert(sizeof(bfloat16) == 2 && alignof(bfloat16) == 2, "bfloat16 must be exactly its encoding");
static_assert(sizeof(half) == 2 && alignof(half) == 2, "half must be exactly its encoding");
static_assert(std::is_trivially_copyable_v<bfloat16> && std::is_standard_layout_v<bfloat16>);
static_assert(std::is_trivially_copyable_v<half> && std::is_standard_layout_v<half>);

}  // namespace smax

// numeric_limits, so that generic code (ulp measures, test tolerances) works
// with these types as with float.
namespace std {

template <>
class numeric_limits<smax::bfloat16> {
 public:
  static constexpr bool is_specialized = true;
  static constexpr bool is_signed = true;
  static constexpr bool is_integer = false;
  static constexpr bool is_exact = false;
  static constexpr bool has_infinity = true;
  static constexpr bool has_quiet_NaN = true;
  static constexpr bool has_signaling_NaN = true;
#if __cplusplus < 202302L  // deprecated in C++23
  static constexpr float_denorm_style has_denorm = denorm_present;
  static constexpr bool has_denorm_loss = false;
#endif
  static constexpr bool is_iec559 = false;  // not an IEEE 754 interchange format
  static constexpr bool is_bounded = true;
  static constexpr bool is_modulo = false;
  static constexpr bool traps = false;
  static constexpr bool tinyness_before = false;
  static constexpr float_round_style round_style = round_to_nearest;
  static constexpr int digits = 8;
  static constexpr int digits10 = 2;
  static constexpr int max_digits10 = 4;
  static constexpr int radix = 2;
  static constexpr int min_exponent = -125;
  static constexpr int min_exponent10 = -37;
  static constexpr int max_exponent = 128;
  static constexpr int max_exponent10 = 38;

  static constexpr smax::bfloat16 min() noexcept { return smax::bfloat16::from_bits(0x0080); }
  static constexpr smax::bfloat16 max() noexcept { return smax::bfloat16::from_bits(0x7f7f); }
  static constexpr smax::bfloat16 lowest() noexcept { return smax::bfloat16::from_bits(0xff7f); }
  static constexpr smax::bfloat16 epsilon() noexcept { return smax::bfloat16::from_bits(0x3c00); }      // 2^-7
  static constexpr smax::bfloat16 round_error() noexcept { return smax::bfloat16::from_bits(0x3f00); }  // 0.5
  static constexpr smax::bfloat16 infinity() noexcept { return smax::bfloat16::from_bits(0x7f80); }
  static constexpr smax::bfloat16 quiet_NaN() noexcept { return smax::bfloat16::from_bits(0x7fc0); }
  static constexpr smax::bfloat16 signaling_NaN() noexcept { return smax::bfloat16::from_bits(0x7fa0); }
  static constexpr smax::bfloat16 denorm_min() noexcept { return smax::bfloat16::from_bits(0x0001); }
};

template <>
class numeric_limits<smax::half> {
 public:
  static constexpr bool is_specialized = true;
  static constexpr bool is_signed = true;
  static constexpr bool is_integer = false;
  static constexpr bool is_exact = false;
  static constexpr bool has_infinity = true;
  static constexpr bool has_quiet_NaN = true;
  static constexpr bool has_signaling_NaN = true;
#if __cplusplus < 202302L  // deprecated in C++23
  static constexpr float_denorm_style has_denorm = denorm_present;
  static constexpr bool has_denorm_loss = false;
#endif
  static constexpr bool is_iec559 = true;
  static constexpr bool is_bounded = true;
  static constexpr bool is_modulo = false;
  static constexpr bool traps = false;
  static constexpr bool tinyness_before = false;
  static constexpr float_round_style round_style = round_to_nearest;
  static constexpr int digits = 11;
  static constexpr int digits10 = 3;
  static constexpr int max_digits10 = 5;
  static constexpr int radix = 2;
  static constexpr int min_exponent = -13;
  static constexpr int min_exponent10 = -4;
  static constexpr int max_exponent = 16;
  static constexpr int max_exponent10 = 4;

  static constexpr smax::half min() noexcept { return smax::half::from_bits(0x0400); }
  static constexpr smax::half max() noexcept { return smax::half::from_bits(0x7bff); }
  static constexpr smax::half lowest() noexcept { return smax::half::from_bits(0xfbff); }
  static constexpr smax::half epsilon() noexcept { return smax::half::from_bits(0x1400); }      // 2^-10
  static constexpr smax::half round_error() noexcept { return smax::half::from_bits(0x3800); }  // 0.5
  static constexpr smax::half infinity() noexcept { return smax::half::from_bits(0x7c00); }
  static constexpr smax::half quiet_NaN() noexcept { return smax::half::from_bits(0x7e00); }
  static constexpr smax::half signaling_NaN() noexcept { return smax::half::from_bits(0x7d00); }
  static constexpr smax::half denorm_min() noexcept { return smax::half::from_bits(0x0001); }
};

}  // namespace std

#undef SMAX_IS_STD_FLOAT16
#undef SMAX_IS_STD_BFLOAT16
