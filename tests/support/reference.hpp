// The independent reference: softmax, log-softmax and logsumexp of a row
// computed from the definitions in long double (64-bit significand on x86-64,
// IEEE quad on AArch64), with the inputs' differences taken exactly and the sum
// compensated. Its own error is below 2^-60 relative, far under the bounds tested.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <vector>

namespace smax_test {

using real = long double;

struct reference_row {
  std::vector<real> prob;
  std::vector<real> log_prob;
  real logsumexp = 0;
};

// Neumaier's compensated sum: exact to within a couple of units of the last
// place of the result, whatever the order and magnitudes of the terms.
class compensated_sum {
 public:
  void add(real v) {
    const real t = sum_ + v;
    comp_ += std::fabs(sum_) >= std::fabs(v) ? (sum_ - t) + v : (v - t) + sum_;
    sum_ = t;
  }
  real value() const { return sum_ + comp_; }

 private:
  real sum_ = 0;
  real comp_ = 0;
};

// Rows may hold finite values and -inf (at least one finite); the special
// rows (NaN, +inf, all -inf) are tested against their definitions elsewhere.
template <class T>
reference_row reference(const T* x, std::size_t n) {
  real m = -std::numeric_limits<real>::infinity();
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(x[i]) || x[i] == std::numeric_limits<T>::infinity()) {
      throw std::invalid_argument("reference(): rows with NaN or +inf have no reference here");
    }
    m = std::fmax(m, static_cast<real>(x[i]));
  }
  if (!std::isfinite(m)) throw std::invalid_argument("reference(): row without a finite entry");

  // x - m as hi + lo exactly (TwoSum in long double), then exp(hi + lo).
  std::vector<real> d_hi(n), d_lo(n), e(n);
  compensated_sum all, below_max;
  std::size_t at_max = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const real xi = x[i];
    if (std::isinf(xi)) {
      d_hi[i] = xi;
      d_lo[i] = 0;
      e[i] = 0;
      continue;
    }
    const real s = xi - m;
    const real bb = s - xi;
    d_hi[i] = s;
    d_lo[i] = (xi - (s - bb)) + (-m - bb);
    e[i] = std::exp(s) * (1 + d_lo[i]);
    all.add(e[i]);
    if (xi == m) {
      ++at_max;
    } else {
      below_max.add(e[i]);
    }
  }
  // log of the sum: with a single maximum the sum is 1 + t, and log1p keeps t's
  // relative accuracy however small t is.
  const real log_sum =
      at_max == 1 ? std::log1p(below_max.value()) : std::log(static_cast<real>(at_max) + below_max.value());
  const real sum = all.value();

  reference_row ref;
  ref.prob.resize(n);
  ref.log_prob.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    ref.prob[i] = e[i] / sum;
    ref.log_prob[i] = std::isinf(d_hi[i]) ? d_hi[i] : (d_hi[i] - log_sum) + d_lo[i];
  }
  ref.logsumexp = m + log_sum;
  return ref;
}

}  // namespace smax_test
