// Error measures in units in the last place of the type under test.
#pragma once

#include <cmath>
#include <limits>

#include "reference.hpp"

namespace smax_test {

// The spacing of T's values at the exact value v: 2^(e - p + 1) for v in
// [2^e, 2^(e+1)), and the subnormal spacing below T's smallest normal.
template <class T>
real ulp_at(real v) {
  const real a = std::fabs(v);
  if (a < static_cast<real>(std::numeric_limits<T>::min())) {
    return static_cast<real>(std::numeric_limits<T>::denorm_min());
  }
  int e = 0;
  (void)std::frexp(a, &e);  // a = f * 2^e with f in [0.5, 1)
  return std::ldexp(static_cast<real>(1), e - std::numeric_limits<T>::digits);
}

// |got - exact| in ulps of T at the exact value. Infinite for NaN, or for an
// infinity that does not match exactly.
template <class T>
real ulp_error(T got, real exact) {
  if (std::isnan(got) || std::isnan(exact)) return std::numeric_limits<real>::infinity();
  if (std::isinf(exact) || std::isinf(got)) {
    return static_cast<real>(got) == exact ? 0 : std::numeric_limits<real>::infinity();
  }
  return std::fabs(static_cast<real>(got) - exact) / ulp_at<T>(exact);
}

// The measure of the log-domain bounds: ulps where |exact| >= 1, and units of
// the machine epsilon (2^-23 for float, 2^-52 for double) below 1.
template <class T>
real log_domain_error(T got, real exact) {
  const real eps = static_cast<real>(std::numeric_limits<T>::epsilon());
  const real unit = std::fmax(ulp_at<T>(exact), eps);
  if (std::isnan(got) || std::isnan(exact)) return std::numeric_limits<real>::infinity();
  if (std::isinf(exact) || std::isinf(got)) {
    return static_cast<real>(got) == exact ? 0 : std::numeric_limits<real>::infinity();
  }
  return std::fabs(static_cast<real>(got) - exact) / unit;
}

// The documented bounds (smax/softmax.hpp, log_softmax.hpp, logsumexp.hpp).
template <class T>
constexpr double ulp_bound() {
  return sizeof(T) == sizeof(float) ? 2.0 : 4.0;
}

}  // namespace smax_test
