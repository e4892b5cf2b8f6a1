// Scalar helpers that run once per row (not per element): error-free
// transformations, the natural log of a row sum, and reciprocals in double-double.
// They are ISA-independent and are inlined into each ISA's row kernels.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "config.hpp"

namespace smax {
inline namespace SMAX_ABI {
namespace detail {

namespace constants {
// ln 2 split so that n * kLn2Hi is exact for |n| < 2^11: kLn2Hi keeps 42
// significant bits (the low 11 are zero) and kLn2Lo = ln 2 - kLn2Hi to double.
inline constexpr double kLn2Hi = 0x1.62e42fefa3800p-1;
inline constexpr double kLn2Lo = 0x1.ef35793c76730p-45;
inline constexpr double kLn2 = 0x1.62e42fefa39efp-1;
inline constexpr double kLog2e = 0x1.71547652b82fep+0;
inline constexpr double kSqrt2 = 0x1.6a09e667f3bcdp+0;
inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace constants

// An unevaluated sum hi + lo, with |lo| no larger than about half an ulp of hi.
struct double_double {
  double hi;
  double lo;
};

// Knuth's TwoSum: s + e == a + b exactly, for any finite a, b.
inline double_double two_sum(double a, double b) noexcept {
  const double s = a + b;
  const double bb = s - a;
  return {s, (a - (s - bb)) + (b - bb)};
}

// Dekker's Fast2Sum: exact when |a| >= |b| (or a == 0).
inline double_double fast_two_sum(double a, double b) noexcept {
  const double s = a + b;
  return {s, b - (s - a)};
}

// A running sum of doubles whose rounding errors are kept apart (the weight
// totals and denominators of a call, not hot loops).
struct compensated_total {
  double hi = 0.0;
  double lo = 0.0;
  void add(double v) noexcept {
    const double_double s = two_sum(hi, v);
    hi = s.hi;
    lo += s.lo;
  }
  void add(double_double v) noexcept {
    add(v.hi);
    lo += v.lo;
  }
  double_double pair() const noexcept { return {hi, lo}; }
  // An overflowed sum is that infinity (its residuals are NaN).
  double value() const noexcept { return std::isfinite(hi) ? hi + lo : hi; }
};

inline std::uint64_t bits_of(double v) noexcept {
  std::uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

inline double double_from_bits(std::uint64_t b) noexcept {
  double v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

// log(hi + lo) for a positive normal hi with |lo| <= ulp(hi), returned as an
// unevaluated pair. Row sums are >= 1 (each contains its maximum's exp(0) = 1).
//
// Method: hi + lo = 2^k (1 + u) with 1 + u in [sqrt(1/2), sqrt(2)); then
// log1p(u) = 2 atanh(s) with s = u / (2 + u), |s| <= 0.1716, and
// 2 atanh(s) = 2s + 2s * sum_{j>=1} s^(2j) / (2j + 1).
// Ten series terms leave a truncation error below s^22 / 23 < 2^-60 relative.
// s is carried as s_hi + s_lo (the division's residual is recovered exactly),
// so the leading term has no rounding error and the rest contributes at most a
// few units of 2^-60 relative.
// Error: |result - log(hi + lo)| <= 2^-56 |log(hi + lo)| + 2^-1070 (measured
// worst 2^-56.8 relative, near hi = sqrt 2 where the series is largest; the
// absolute term only matters for results near the subnormal range). When hi == 1 and lo is tiny
// the result keeps full relative accuracy, i.e. log(1 + t) ~ t, which is what
// makes log_softmax of a dominant logit accurate (peers return exactly 0 there).
inline double_double log_of_sum(double hi, double lo) noexcept {
  using namespace constants;
  if (!(hi > 0.0) || !(hi < kInf)) return {kNaN, 0.0};           // NaN row sums propagate
  int k = static_cast<int>((bits_of(hi) >> 52) & 0x7ff) - 1023;  // hi is normal: hi >= 1
  double f_hi = double_from_bits((bits_of(hi) & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);
  double scale = double_from_bits(static_cast<std::uint64_t>(1023 - k) << 52);  // 2^-k, exact
  if (f_hi > kSqrt2) {
    f_hi *= 0.5;
    scale *= 0.5;
    k += 1;
  }
  const double u_hi = f_hi - 1.0;      // exact: f_hi is within a factor 2 of 1
  const double u_lo = mul(lo, scale);  // exact unless it underflows, where it is negligible
  const double w = 2.0 + u_hi;
  const double s_hi = u_hi / w;
  // u - s_hi (2 + u), with no rounding error in its leading part: u_hi - 2 s_hi is
  // exact (Sterbenz) and the fused product is exact before the single rounding.
  const double residual = std::fma(-s_hi, u_hi, u_hi - 2.0 * s_hi) + mul(u_lo, 1.0 - s_hi);
  const double s_lo = residual / w;
  const double z = mul(s_hi, s_hi);
  double series = 1.0 / 21;
  series = mul(series, z) + 1.0 / 19;
  series = mul(series, z) + 1.0 / 17;
  series = mul(series, z) + 1.0 / 15;
  series = mul(series, z) + 1.0 / 13;
  series = mul(series, z) + 1.0 / 11;
  series = mul(series, z) + 1.0 / 9;
  series = mul(series, z) + 1.0 / 7;
  series = mul(series, z) + 1.0 / 5;
  series = mul(series, z) + 1.0 / 3;
  series = mul(series, z);
  const double kd = static_cast<double>(k);
  const double_double head = two_sum(kd * kLn2Hi, 2.0 * s_hi);  // both products are exact
  const double tail = head.lo + (2.0 * s_lo + mul(2.0 * s_hi, series) + mul(kd, kLn2Lo));
  return fast_two_sum(head.hi, tail);
}

// log(v) for a positive normal v, in plain double: enough for float data (whose
// results need about 2^-30), at about half the cost of log_of_sum. Same method,
// with s = u / (2 + u) rounded (relative error 2^-52) and eight series terms
// (truncation below s^18 / 19 < 2^-46 relative). Error: below 2^-46 |log v| +
// 2^-1070.
inline double log_plain(double v) noexcept {
  using namespace constants;
  if (!(v > 0.0) || !(v < kInf)) return kNaN;
  int k = static_cast<int>((bits_of(v) >> 52) & 0x7ff) - 1023;
  double f = double_from_bits((bits_of(v) & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);
  if (f > kSqrt2) {
    f *= 0.5;
    k += 1;
  }
  const double u = f - 1.0;  // exact
  const double s = u / (2.0 + u);
  const double z = mul(s, s);
  double series = 1.0 / 17;
  series = mul(series, z) + 1.0 / 15;
  series = mul(series, z) + 1.0 / 13;
  series = mul(series, z) + 1.0 / 11;
  series = mul(series, z) + 1.0 / 9;
  series = mul(series, z) + 1.0 / 7;
  series = mul(series, z) + 1.0 / 5;
  series = mul(series, z) + 1.0 / 3;
  const double kd = static_cast<double>(k);
  return mul(kd, kLn2Hi) + (2.0 * s + (mul(2.0 * s, mul(series, z)) + mul(kd, kLn2Lo)));
}

// Whether a row sum (>= 1: its maximum contributes exactly 1) is below
// 1 + 2^-20. Then exactly one element is at the maximum and the others' total
// t is partly lost in the rounding of 1 + t: the caller sums t on its own and
// takes log_of_one_plus(t), which keeps log(1 + t) to relative accuracy.
inline bool row_sum_near_one(double_double sum) noexcept { return (sum.hi - 1.0) + sum.lo < 0x1p-20; }

inline double_double log_of_one_plus(double_double t) noexcept {
  const double_double one_plus_t = two_sum(1.0, t.hi);
  return log_of_sum(one_plus_t.hi, one_plus_t.lo + t.lo);
}

// log of a row sum not near 1, for data of type S: a float data row sum is a
// plain double (far more than float results need), a double one a pair.
template <class S>
inline double_double log_of_plain_row_sum(double_double sum) noexcept {
  if constexpr (sizeof(S) == sizeof(double)) {
    return log_of_sum(sum.hi, sum.lo);
  } else {
    return {log_plain(sum.hi), 0.0};
  }
}

// 1 / (hi + lo) as an unevaluated pair, relative error below 2^-100 for hi >= 1.
inline double_double reciprocal_of_sum(double hi, double lo) noexcept {
  const double inv = 1.0 / hi;
  const double residual = std::fma(-hi, inv, 1.0) - mul(lo, inv);  // 1 - (hi + lo) * inv
  return {inv, mul(residual, inv)};
}

}  // namespace detail
}  // namespace SMAX_ABI
}  // namespace smax
