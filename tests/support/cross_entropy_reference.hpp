// Cross-entropy in long double, straight from PyTorch's definitions (not from
// the kernels' formulas): log_softmax from reference.hpp, then the weighted,
// smoothed negative log-likelihood, the z-loss, the reduction, and the gradient
// from the closed form, itself checked against central differences in the tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <smax/cross_entropy.hpp>

#include "reference.hpp"

namespace smax_test {

template <class T>
struct ce_problem {
  std::size_t rows = 0, classes = 0;
  std::vector<T> logits;
  std::vector<std::int64_t> targets;  // hard targets (empty for soft)
  std::vector<T> soft;                // rows x classes probabilities (empty for hard)
  std::vector<T> weight;              // empty: unweighted
  std::int64_t ignore_index = -100;
  double smoothing = 0;
  double z_loss = 0;
  smax::reduction reduce = smax::reduction::mean;
  T upstream = 1;
  std::vector<T> row_upstream;  // reduction none; empty: ones

  bool hard() const { return soft.empty(); }
  real w(std::size_t c) const { return weight.empty() ? 1 : static_cast<real>(weight[c]); }
};

template <class T>
struct ce_expected {
  real loss = 0;  // reduced (none: the sum of the row losses)
  std::vector<real> row_loss, row_lse;
  std::vector<real> grad;       // rows x classes
  std::vector<real> magnitude;  // per row: |scale| max(|alpha|, max_c beta_c)
};

template <class T>
real ce_denominator(const ce_problem<T>& p) {
  if (!p.hard()) return static_cast<real>(p.rows);
  compensated_sum d;
  for (std::size_t r = 0; r < p.rows; ++r) {
    if (p.targets[r] != p.ignore_index) d.add(p.w(static_cast<std::size_t>(p.targets[r])));
  }
  return d.value();
}

// log_softmax and logsumexp of every row (of T, or of long double logits for
// finite differences).
template <class X>
std::vector<reference_row> reference_rows(const std::vector<X>& logits, std::size_t rows, std::size_t classes) {
  std::vector<reference_row> refs;
  for (std::size_t r = 0; r < rows; ++r) refs.push_back(reference(&logits[r * classes], classes));
  return refs;
}

// The reduced loss from the rows' log_softmax.
template <class T>
real ce_loss_of(const ce_problem<T>& p, const std::vector<reference_row>& refs, std::vector<real>* row_loss = nullptr,
                std::vector<real>* row_lse = nullptr);

template <class T>
ce_expected<T> ce_reference(const ce_problem<T>& p, const std::vector<reference_row>& refs) {
  ce_expected<T> e;
  const std::size_t C = p.classes;
  const real eps = p.smoothing, z = p.z_loss;
  compensated_sum weights;
  for (std::size_t c = 0; c < C; ++c) weights.add(p.w(c));
  const real total_weight = weights.value();
  const real denominator = ce_denominator(p);
  e.loss = ce_loss_of(p, refs, &e.row_loss, &e.row_lse);
  e.grad.assign(p.rows * C, 0);
  e.magnitude.assign(p.rows, 0);
  for (std::size_t r = 0; r < p.rows; ++r) {
    if (p.hard() && p.targets[r] == p.ignore_index) continue;
    real scale = static_cast<real>(p.upstream);
    if (p.reduce == smax::reduction::mean) scale /= denominator;
    if (p.reduce == smax::reduction::none) scale = p.row_upstream.empty() ? 1 : static_cast<real>(p.row_upstream[r]);
    const reference_row& ref = refs[r];
    // Sums over up to 128256 classes are compensated: a plain long double sum
    // would be off by up to C * 2^-64, more than the double bounds allow.
    compensated_sum alpha_sum;
    alpha_sum.add(2 * z * ref.logsumexp);
    std::vector<real> beta(C);
    if (p.hard()) {
      const auto t = static_cast<std::size_t>(p.targets[r]);
      alpha_sum.add(p.w(t) * (1 - eps));
      alpha_sum.add(eps / C * total_weight);
      for (std::size_t c = 0; c < C; ++c) beta[c] = eps / C * p.w(c) + (c == t ? p.w(t) * (1 - eps) : 0);
    } else {
      for (std::size_t c = 0; c < C; ++c) {
        beta[c] = p.w(c) * ((1 - eps) * static_cast<real>(p.soft[r * C + c]) + eps / C);
        alpha_sum.add(beta[c]);
      }
    }
    const real alpha = alpha_sum.value();
    real largest = std::fabs(alpha);
    for (std::size_t c = 0; c < C; ++c) {
      e.grad[r * C + c] = scale * (alpha * ref.prob[c] - beta[c]);
      largest = std::fmax(largest, beta[c]);
    }
    e.magnitude[r] = std::fabs(scale) * largest;
  }
  return e;
}

template <class T>
real ce_loss_of(const ce_problem<T>& p, const std::vector<reference_row>& refs, std::vector<real>* row_loss,
                std::vector<real>* row_lse) {
  const std::size_t C = p.classes;
  const real eps = p.smoothing, z = p.z_loss;
  if (row_loss) row_loss->assign(p.rows, 0);
  if (row_lse) row_lse->assign(p.rows, 0);
  compensated_sum total;
  for (std::size_t r = 0; r < p.rows; ++r) {
    const reference_row& ref = refs[r];
    if (row_lse) (*row_lse)[r] = ref.logsumexp;
    if (p.hard() && p.targets[r] == p.ignore_index) continue;
    compensated_sum loss_sum;
    loss_sum.add(z * ref.logsumexp * ref.logsumexp);
    if (p.hard()) {
      const auto t = static_cast<std::size_t>(p.targets[r]);
      loss_sum.add(-(1 - eps) * p.w(t) * ref.log_prob[t]);
      compensated_sum smooth;
      for (std::size_t c = 0; c < C; ++c) smooth.add(-p.w(c) * ref.log_prob[c]);
      if (eps > 0) loss_sum.add(eps / C * smooth.value());
    } else {
      for (std::size_t c = 0; c < C; ++c) {
        loss_sum.add(-p.w(c) * ((1 - eps) * static_cast<real>(p.soft[r * C + c]) + eps / C) * ref.log_prob[c]);
      }
    }
    const real loss = loss_sum.value();
    if (row_loss) (*row_loss)[r] = loss;
    total.add(loss);
  }
  return p.reduce == smax::reduction::mean ? total.value() / ce_denominator(p) : total.value();
}

// What the gradient differentiates: upstream * loss, or sum_r row_upstream[r] *
// loss_r with reduction none.
template <class T>
real ce_objective(const ce_problem<T>& p, const std::vector<real>& logits) {
  const std::vector<reference_row> refs = reference_rows(logits, p.rows, p.classes);
  if (p.reduce != smax::reduction::none) return static_cast<real>(p.upstream) * ce_loss_of(p, refs);
  std::vector<real> rows;
  (void)ce_loss_of(p, refs, &rows);
  real total = 0;
  for (std::size_t r = 0; r < p.rows; ++r)
    total += (p.row_upstream.empty() ? 1 : static_cast<real>(p.row_upstream[r])) * rows[r];
  return total;
}

}  // namespace smax_test
