// libFuzzer target: cross_entropy, cross_entropy_with_grad and
// cross_entropy_backward with int32, int64 and soft targets, every option
// (reduction, weight, ignore_index, label_smoothing, z_loss, per-row losses and
// logsumexp, upstream and row_upstream, threads), pointer and view forms, in
// place, on every available ISA, against smax/cross_entropy.hpp's contract and
// a long double reference of PyTorch's definitions.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "common.hpp"

namespace smax_fuzz {
namespace {

enum class entry { forward, with_grad, backward };
enum class target_kind { int32, int64, soft };

const char* entry_name(entry e) {
  switch (e) {
    case entry::forward: return "cross_entropy";
    case entry::with_grad: return "cross_entropy_with_grad";
    case entry::backward: return "cross_entropy_backward";
  }
  return "?";
}
const char* kind_name(target_kind k) {
  switch (k) {
    case target_kind::int32: return "int32 targets";
    case target_kind::int64: return "int64 targets";
    case target_kind::soft: return "soft targets";
  }
  return "?";
}
const char* reduction_name(smax::reduction r) {
  switch (r) {
    case smax::reduction::none: return "none";
    case smax::reduction::sum: return "sum";
    case smax::reduction::mean: return "mean";
  }
  return "invalid";
}

template <class T>
struct ce_case {
  entry call_entry = entry::forward;
  target_kind kind = target_kind::int64;
  bool pointer_form = false;
  placement layout;
  unsigned mxcsr = 0x1f80;
  smax::cross_entropy_options<T> options;  // pointers are filled in per call
  // Optional buffers are absent when null.
  buffer logits, target, weight, row_upstream, given_lse, grad, losses, lse_out;
  validity expected = validity::valid;
  memory mem;
  T returned = T(0);

  bool hard() const { return kind != target_kind::soft; }
  std::size_t rows() const { return logits.rows; }
  std::size_t classes() const { return logits.cols; }
  std::string what() const {
    return std::string("smax::") + entry_name(call_entry) + "<" + type_name<T>() + "> (" + kind_name(kind) + ", " +
           (pointer_form ? "pointer" : "view") + " form)";
  }
  // A hard target as stored (int32 or int64), widened.
  std::int64_t target_at(std::size_t r) const {
    if (kind == target_kind::int32) return mem.template initial<std::int32_t>(target, 0, r);
    return mem.template initial<std::int64_t>(target, 0, r);
  }
  void print(std::FILE* out) const {
    std::fprintf(out,
                 "case: %s, %s layout, caller MXCSR 0x%04x, threads %u, expected %s\n"
                 "  reduction %s, ignore_index %lld, label_smoothing %a, z_loss %a, upstream %a\n",
                 what().c_str(), layout.shared ? "shared" : "separate", mxcsr, options.threads, validity_name(expected),
                 reduction_name(options.reduction), static_cast<long long>(options.ignore_index),
                 options.label_smoothing, options.z_loss, static_cast<double>(options.upstream));
    print_buffer<T>(out, mem, logits);
    print_buffer<T>(out, mem, target, !hard());
    if (hard() && target.live() && (target.cols <= 256 || focus_row() < target.cols)) {
      std::fprintf(out, "    targets:");
      const std::size_t from = target.cols <= 256 ? 0 : focus_row(), to = target.cols <= 256 ? target.cols : from + 1;
      for (std::size_t r = from; r < to; ++r) std::fprintf(out, " %lld", static_cast<long long>(target_at(r)));
      std::fprintf(out, "\n");
    }
    for (const buffer* b : {&weight, &row_upstream, &given_lse}) print_buffer<T>(out, mem, *b);
    for (const buffer* b : {&grad, &losses, &lse_out}) print_buffer<T>(out, mem, *b, false);
  }
};

const void* g_case = nullptr;
template <class T>
void describe_case(std::FILE* out) {
  static_cast<const ce_case<T>*>(g_case)->print(out);
}

// An optional buffer: given when its pointer is not null.
bool given(const buffer& b) { return b.passed && !b.null; }

// The contract's argument rules (cross_entropy.hpp "Errors", the options'
// comments and the entry points' aliasing rules).
template <class T>
validity judge(const ce_case<T>& k) {
  validity v = validity::valid;
  const auto& o = k.options;
  const bool backward = k.call_entry == entry::backward, gradient = k.call_entry != entry::forward;
  check_view(k.logits, v);
  if (!(o.label_smoothing >= 0.0 && o.label_smoothing <= 1.0)) require_invalid(v);
  if (!(o.z_loss >= 0.0) || std::isinf(o.z_loss)) require_invalid(v);
  if (o.z_loss == 0 && std::signbit(o.z_loss)) allow_either(v);  // -0: "negative"?
  if (o.reduction != smax::reduction::none && o.reduction != smax::reduction::sum &&
      o.reduction != smax::reduction::mean) {
    require_invalid(v);
  }
  if (o.reduction == smax::reduction::none && !given(k.losses) && k.rows() > 0 && !backward) require_invalid(v);
  // Weights: classes values, each finite and >= 0.
  if (given(k.weight)) {
    check_view(k.weight, v);
    if (k.weight.live()) {
      for (std::size_t c = 0; c < k.weight.cols; ++c) {
        const T w = k.mem.template initial<T>(k.weight, 0, c);
        if (!std::isfinite(w) || w < 0) require_invalid(v);
        if (w == 0 && std::signbit(w)) allow_either(v);  // -0: "negative"?
      }
    }
  }
  // Targets.
  bool any_counted = false;
  if (k.hard()) {
    check_view(k.target, v);
    if (k.target.live()) {
      for (std::size_t r = 0; r < k.rows(); ++r) {
        const std::int64_t t = k.target_at(r);
        if (t == o.ignore_index) continue;
        any_counted = true;
        if (t < 0 || static_cast<std::uint64_t>(t) >= k.classes()) require_invalid(v);
      }
    }
  } else {
    if (k.target.rows != k.rows() || k.target.cols != k.classes()) require_invalid(v);
    check_view(k.target, v);
  }
  // Rows without classes: an error when a row needs a class, else left open.
  if (k.rows() > 0 && k.classes() == 0 && !any_counted) allow_either(v);
  // The gradient: logits' shape, in place or apart from the logits, apart from
  // everything else it could read.
  if (gradient) {
    if (k.grad.rows != k.rows() || k.grad.cols != k.classes()) require_invalid(v);
    check_view(k.grad, v);
    check_in_place_or_disjoint(k.grad, k.logits, v);
    for (const buffer* in : {&k.target, &k.weight, &k.given_lse, &k.row_upstream}) check_disjoint(k.grad, *in, v);
  }
  if (backward) check_view(k.given_lse, v);
  if (given(k.row_upstream)) check_view(k.row_upstream, v);
  // Per-row outputs of the loss calls; the backward writes neither, so what
  // they overlap is left open there.
  for (const buffer* out : {&k.losses, &k.lse_out}) {
    if (!given(*out)) continue;
    if (backward) {
      for (const buffer* other :
           {&k.logits, &k.target, &k.weight, &k.given_lse, &k.row_upstream, &k.grad, &k.losses, &k.lse_out}) {
        if (other != out && ranges_overlap(*out, *other)) allow_either(v);
      }
      continue;
    }
    check_view(*out, v);
    for (const buffer* in : {&k.logits, &k.target, &k.weight, &k.row_upstream, &k.grad}) check_disjoint(*out, *in, v);
  }
  if (!backward && given(k.losses) && given(k.lse_out)) check_disjoint(k.losses, k.lse_out, v);
  return v;
}

// A sum that follows IEEE rules for its infinite and NaN terms and adds the
// finite ones exactly (compensated).
struct ieee_sum {
  smax_test::compensated_sum finite, magnitude;
  bool nan = false;
  bool pos_inf = false, neg_inf = false;
  void add(real v) {
    if (std::isnan(v)) {
      nan = true;
    } else if (std::isinf(v)) {
      (v > 0 ? pos_inf : neg_inf) = true;
    } else {
      finite.add(v);
      magnitude.add(std::fabs(v));
    }
  }
  real value() const {
    if (nan || (pos_inf && neg_inf)) return std::numeric_limits<real>::quiet_NaN();
    if (pos_inf) return std::numeric_limits<real>::infinity();
    if (neg_inf) return -std::numeric_limits<real>::infinity();
    return finite.value();
  }
};

// Adds -coefficient * log_prob: a -inf log-probability costs +inf (or -inf for
// a negative coefficient); with a zero coefficient the contract is silent
// (PyTorch gives 0 * -inf = NaN, leaving the class out gives the rest), which
// sets `open`.
inline void add_term(ieee_sum& sum, real coefficient, real log_prob, bool& open) {
  if (std::isinf(log_prob) && coefficient == 0) {
    open = true;
    return;
  }
  sum.add(-coefficient * log_prob);
}

template <class T>
struct reference_case {
  std::vector<expect> loss, losses, lse, grad;  // loss: one value (the returned one)
};

// The gradient bound (cross_entropy.hpp): float within 4 ulp where |g| >=
// 2^-20 m, else 4 * 2^-43 m absolute; double within 4 ulp + 2^-50 m.
template <class T>
real gradient_tol(real g, real m) {
  if (sizeof(T) == 4) {
    if (std::fabs(g) >= 0x1p-20L * m) return ulp_tol<T>(g, 4);
    // Plus the rounding to float, which a subnormal result makes coarser
    // than the bound relative to m.
    return 4 * 0x1p-43L * m + ulp_tol<T>(g, 1);
  }
  return ulp_tol<T>(g, 4) + 0x1p-50L * m;
}

template <class T>
reference_case<T> expectations(const ce_case<T>& k) {
  reference_case<T> e;
  const auto& o = k.options;
  const std::size_t R = k.rows(), C = k.classes();
  const double bound = smax_test::ulp_bound<T>();
  const bool backward = k.call_entry == entry::backward, gradient = k.call_entry != entry::forward;
  const T inf = std::numeric_limits<T>::infinity();
  const real max_double = static_cast<real>(std::numeric_limits<double>::max());

  if (R > 0 && C == 0) {  // left open: outputs unchecked
    e.loss.assign(1, expect_any());
    if (R <= kMaxBytes) {  // else no per-row buffer could hold them (nor this list)
      e.losses.assign(R, expect_any());
      e.lse.assign(R, expect_any());
    }
    return e;
  }
  if (R == 0 && C > kMaxBytes) {  // no rows of a class count no buffer could hold: nothing to compare
    e.loss.assign(1, expect_any());
    return e;
  }
  const real eps = static_cast<real>(o.label_smoothing), z = static_cast<real>(o.z_loss);
  std::vector<real> w(C, 1);
  if (given(k.weight)) {
    for (std::size_t c = 0; c < C; ++c) w[c] = static_cast<real>(k.mem.template initial<T>(k.weight, 0, c));
  }
  smax_test::compensated_sum total_weight;
  for (real v : w) total_weight.add(v);
  const real W = total_weight.value();
  // With smoothing the class weights' total enters every row, computed in
  // double: the contract states the bounds for totals within double's range.
  const bool total_beyond_range = sizeof(T) == 8 && !strict() && eps > 0 && W > max_double;

  // The mean's denominator: the weights of the non-ignored targets (hard), the
  // row count (soft).
  std::vector<char> ignored(R, 0);
  smax_test::compensated_sum den;
  for (std::size_t r = 0; r < R; ++r) {
    if (k.hard()) {
      const std::int64_t t = k.target_at(r);
      ignored[r] = t == o.ignore_index;
      if (!ignored[r]) den.add(w[static_cast<std::size_t>(t)]);
    } else {
      den.add(1);
    }
  }
  const real denominator = den.value();

  ieee_sum total;
  bool total_open = false, total_unordered = false;
  real z_floor = 0;      // the rows' z_loss, which bounds the loss from below (see measure)
  real total_slack = 0;  // the rows' subnormal_slack
  for (std::size_t r = 0; r < R; ++r) {
    std::vector<T> x(C);
    for (std::size_t c = 0; c < C; ++c) x[c] = k.mem.template initial<T>(k.logits, r, c);
    const row_kind rk = classify(x);
    // The row's logsumexp (an output for ignored rows too), as smax::logsumexp.
    smax_test::reference_row ref;
    if (rk == row_kind::regular) {
      ref = smax_test::reference(x.data(), C);
      e.lse.push_back(expect_bound<T>(ref.logsumexp, log_tol<T>(ref.logsumexp, bound)));
    } else if (rk == row_kind::has_nan) {
      e.lse.push_back(expect_nan());
    } else {
      e.lse.push_back(expect_exact(rk == row_kind::has_pos_inf ? static_cast<real>(inf) : -static_cast<real>(inf)));
    }
    if (ignored[r]) {  // loss 0 and gradient 0
      e.losses.push_back(expect_exact(0));
      for (std::size_t c = 0; c < C; ++c) e.grad.push_back(expect_exact(0));
      continue;
    }
    if (rk != row_kind::regular) {  // all -inf, +inf or NaN: loss NaN, gradient unspecified
      e.losses.push_back(expect_nan());
      total.add(std::numeric_limits<real>::quiet_NaN());
      for (std::size_t c = 0; c < C; ++c) e.grad.push_back(expect_any());
      continue;
    }

    // The loss, term by term (PyTorch's definition).
    ieee_sum loss;
    bool open = false, negative = false, negative_target = false, targets_beyond_range = false;
    smax_test::compensated_sum shares_alpha, shares_loss;  // with |q| (see the soft branch)
    real shares_beta = 0;
    std::vector<real> beta(C);
    real alpha_base = 0;
    if (k.hard()) {
      const auto t = static_cast<std::size_t>(k.target_at(r));
      add_term(loss, (1 - eps) * w[t], ref.log_prob[t], open);
      if (eps > 0) {
        for (std::size_t c = 0; c < C; ++c) add_term(loss, eps / static_cast<real>(C) * w[c], ref.log_prob[c], open);
      }
      for (std::size_t c = 0; c < C; ++c) beta[c] = eps / static_cast<real>(C) * w[c] + (c == t ? (1 - eps) * w[t] : 0);
      alpha_base = (1 - eps) * w[t] + eps / static_cast<real>(C) * W;
    } else {
      smax_test::compensated_sum beta_sum, q_magnitude;
      for (std::size_t c = 0; c < C; ++c) {
        const real q = static_cast<real>(k.mem.template initial<T>(k.target, r, c));
        q_magnitude.add(std::fabs(w[c] * q));
        // The kernel keeps the target share (1 - eps) w q and the smoothed
        // share (eps / C) w apart; a negative q makes them cancel, and the
        // header's bounds are then those of the same sums with |q|.
        const real shares = w[c] * ((eps < 1 ? (1 - eps) * std::fabs(q) : 0) + eps / static_cast<real>(C));
        negative_target = negative_target || q < 0;
        shares_alpha.add(shares);
        shares_beta = std::fmax(shares_beta, shares);
        if (std::isfinite(ref.log_prob[c])) shares_loss.add(shares * std::fabs(ref.log_prob[c]));
        // label_smoothing 1 replaces every target by 1 / C, whatever q is.
        beta[c] = w[c] * ((eps < 1 ? (1 - eps) * q : 0) + eps / static_cast<real>(C));
        negative = negative || beta[c] < 0;
        // Infinite soft targets (used as given): the header allows NaN for
        // the row, since inf * 0 arises wherever the log-probability is 0.
        open = open || (std::isinf(q) && eps < 1);
        add_term(loss, beta[c], ref.log_prob[c], open);
        if (std::isfinite(beta[c]))
          beta_sum.add(beta[c]);
        else
          alpha_base = beta[c] + alpha_base;  // NaN or inf carries into alpha
      }
      alpha_base += beta_sum.value();
      // The kernel sums w_c q_c in double: partial sums beyond DBL_MAX (targets
      // near +-DBL_MAX that cancel) overflow although alpha is within range;
      // the contract states the bounds for rows whose sum of |w_c q_c| is.
      targets_beyond_range = sizeof(T) == 8 && !strict() && q_magnitude.value() > max_double;
    }
    loss.add(z * ref.logsumexp * ref.logsumexp);
    const real row_loss = loss.value();
    // Negative soft targets (used as given) make the terms cancel; the ulp
    // bound then is of their magnitude, unless SMAX_FUZZ_STRICT.
    // The z-loss term uses the row's logsumexp, which (like smax::logsumexp) is
    // accurate to absolute error below 1: the bound is of at least z_loss.
    real measure = std::fmax(negative && !strict() ? loss.magnitude.value() : std::fabs(row_loss), z);
    if (negative_target && !strict()) measure = std::fmax(measure, shares_loss.value());
    // Double soft targets: a product w_c q_c below DBL_MIN is rounded to a
    // multiple of 2^-1074 before it multiplies log S and x_c - max, so the
    // header adds 2^-1074 (max - x_c + log S) per such class.
    real subnormal_slack = 0;
    std::size_t subnormal_products = 0;
    if (sizeof(T) == 8 && !k.hard()) {
      const real min_normal = static_cast<real>(std::numeric_limits<double>::min());
      const real row_max = *std::max_element(x.begin(), x.end()), log_s = ref.logsumexp - row_max;
      for (std::size_t c = 0; c < C; ++c) {
        const real wq = std::fabs(w[c] * static_cast<real>(k.mem.template initial<T>(k.target, r, c)));
        if (wq > 0 && wq < min_normal && std::isfinite(x[c])) {
          ++subnormal_products;
          subnormal_slack += 0x1p-1074L * ((row_max - static_cast<real>(x[c])) + std::fabs(log_s));
        }
      }
    }
    // Hard targets: the gradient buffer holds exp(x_c - max) in T, so terms
    // below T's smallest normal are rounded to its subnormals before they are
    // summed for log S; the header adds w_t C denorm_min / 2.
    if (k.hard()) {
      const real w_t = w[static_cast<std::size_t>(k.target_at(r))];
      subnormal_slack += w_t * static_cast<real>(C) * static_cast<real>(std::numeric_limits<T>::denorm_min()) / 2;
    }
    expect row = expect_bound<T>(row_loss, ulp_tol<T>(measure, bound) + subnormal_slack);
    if (open) row = {expect::either_nan_or_bound, row_loss, row.tol, true};
    // The loss's linear sums, sum_c w_c (x_c - max) with smoothing and
    // sum_c w_c q_c (x_c - max) with soft targets, are accumulated in double:
    // where their magnitude exceeds DBL_MAX (or x - max itself overflows, as in
    // PyTorch's log_softmax), the loss may come out +inf although its exact
    // value is within range. The contract states the bounds for rows whose
    // sums stay within double's range.
    real highest = -static_cast<real>(inf), lowest = static_cast<real>(inf);
    for (T v : x) {
      if (!std::isfinite(v)) continue;
      highest = std::fmax(highest, static_cast<real>(v));
      lowest = std::fmin(lowest, static_cast<real>(v));
    }
    smax_test::compensated_sum linear_magnitude;
    for (std::size_t c = 0; c < C; ++c) {
      if (!std::isfinite(x[c])) continue;
      if (eps > 0) linear_magnitude.add(w[c] * (highest - x[c]));
      if (!k.hard()) {
        const real q = static_cast<real>(k.mem.template initial<T>(k.target, r, c));
        linear_magnitude.add(std::fabs(w[c] * q) * (highest - x[c]));
      }
    }
    const bool spans_beyond_range =
        sizeof(T) == 8 && !strict() && (highest - lowest > max_double || !(linear_magnitude.value() <= max_double));
    // A double row loss beyond DBL_MAX: its terms (weights times soft targets
    // times log-probabilities, each up to DBL_MAX^2) overflow with either sign,
    // so inf - inf may give NaN where the exact value is an infinity. The
    // contract states the bounds for representable losses only.
    if (sizeof(T) == 8 && !strict() && !(std::fabs(measure) <= max_double)) row = expect_unordered();
    if (spans_beyond_range || total_beyond_range || targets_beyond_range) row = expect_unordered();
    e.losses.push_back(row);
    total.add(row_loss);
    z_floor += z;
    total_slack += subnormal_slack;
    total_open = total_open || open;
    // double data sums row losses in double: one beyond its range overflows
    // the sum, whatever the mean would be (unless SMAX_FUZZ_STRICT).
    total_unordered = total_unordered || (sizeof(T) == 8 && !strict() && std::fabs(row_loss) > max_double / 8) ||
                      spans_beyond_range || total_beyond_range || targets_beyond_range;

    if (!gradient) continue;
    // The gradient, g_c = scale (alpha p_c - beta_c).
    real scale = static_cast<real>(o.upstream);
    if (o.reduction == smax::reduction::mean) scale /= denominator;
    if (o.reduction == smax::reduction::none) {
      scale = given(k.row_upstream) ? static_cast<real>(k.mem.template initial<T>(k.row_upstream, 0, r)) : 1;
    }
    const bool scale_rounded_subnormal = sizeof(T) == 8 && o.reduction == smax::reduction::mean && scale != 0 &&
                                         std::fabs(scale) < static_cast<real>(std::numeric_limits<double>::min());
    const real alpha = alpha_base + 2 * z * ref.logsumexp;
    real largest = std::fmax(std::fabs(alpha), 2 * z);  // 2 z lse: lse's error is absolute below 1
    for (std::size_t c = 0; c < C; ++c) {
      largest = std::fmax(largest, negative && !strict() ? std::fabs(beta[c]) : beta[c]);
    }
    if (negative_target && !strict()) largest = std::fmax(largest, std::fmax(shares_alpha.value(), shares_beta));
    const real m = std::fabs(scale) * largest;
    // alpha itself beyond double's range (soft targets near DBL_MAX): the
    // kernel computes it in double, so a tiny scale (a subnormal row upstream)
    // cannot bring the product back; as for losses beyond DBL_MAX, the contract
    // states the bounds for coefficients within range.
    const bool alpha_beyond_range =
        sizeof(T) == 8 && !strict() &&
        (!(std::fabs(alpha) <= max_double / 4) || total_beyond_range || targets_beyond_range);
    for (std::size_t c = 0; c < C; ++c) {
      const real g = scale * (alpha * ref.prob[c] - beta[c]);
      if (std::isnan(g)) {
        e.grad.push_back(expect_nan());
      } else if (!std::isfinite(m) || !std::isfinite(g)) {
        // An infinite scale or coefficient: NaN or an infinity, and where the
        // exact value is finite the bound is infinite.
        e.grad.push_back(std::isinf(g) ? expect{expect::either_nan_or_bound, g, 0, false} : expect_unordered());
      } else if (!strict() && (m > max_double / 4 || alpha_beyond_range)) {
        e.grad.push_back(expect_unordered());  // scale * alpha beyond double's range
      } else {
        // beta_c and alpha's sum of them, with w_c q_c rounded to multiples of
        // 2^-1074 (above).
        real slack = 0x1p-1074L * std::fabs(scale) * static_cast<real>(subnormal_products + 1) *
                     static_cast<real>(subnormal_products > 0);
        // A mean's scale upstream / denominator below DBL_MIN is rounded to a
        // multiple of 2^-1074 before it multiplies alpha and beta.
        if (scale_rounded_subnormal) slack += 0x1p-1074L * largest;
        const real tol = gradient_tol<T>(g, m) + slack;
        // A bound beyond T's range (float m near FLT_MAX^2, terms that cancel)
        // says nothing: the rounding to T may overflow.
        const bool bound_beyond_range = !strict() && tol > static_cast<real>(std::numeric_limits<T>::max());
        e.grad.push_back(bound_beyond_range ? expect_unordered() : expect_bound<T>(g, tol));
      }
    }
  }
  (void)backward;

  // The returned loss: the reduced one (none: the sum of the rows').
  real reduced = total.value();
  if (o.reduction == smax::reduction::mean) reduced = reduced / denominator;
  const real mean_scale = o.reduction == smax::reduction::mean ? 1 / denominator : 1;
  const real measure = std::fmax(total.magnitude.value() > std::fabs(total.finite.value()) && !strict()
                                     ? total.magnitude.value() * mean_scale
                                     : std::fabs(reduced),
                                 z_floor * mean_scale);
  expect returned = expect_bound<T>(reduced, ulp_tol<T>(measure, bound) + total_slack * mean_scale);
  if (total_open) returned = {expect::either_nan_or_bound, reduced, returned.tol, true};
  if (total_unordered && !std::isnan(reduced)) returned = expect_unordered();
  e.loss.push_back(returned);
  return e;
}

template <class T, class Index>
void call(ce_case<T>& k, unsigned threads) {
  smax::cross_entropy_options<T> o = k.options;
  o.threads = threads;
  o.weight = given(k.weight) ? k.mem.template pointer<T>(k.weight) : nullptr;
  o.row_upstream = given(k.row_upstream) ? k.mem.template pointer<T>(k.row_upstream) : nullptr;
  o.losses = given(k.losses) ? k.mem.template pointer<T>(k.losses) : nullptr;
  o.logsumexp = given(k.lse_out) ? k.mem.template pointer<T>(k.lse_out) : nullptr;
  const std::size_t R = k.rows(), C = k.classes();
  const T* x = k.mem.template pointer<T>(k.logits);
  T* g = k.mem.template pointer<T>(k.grad);
  const T* lse = k.mem.template pointer<T>(k.given_lse);
  const smax::matrix_view<const T> xv(x, R, C, k.logits.stride);
  const smax::matrix_view<T> gv(g, k.grad.rows, k.grad.cols, k.grad.stride);
  if (!k.hard()) {
    const smax::matrix_view<const T> q(k.mem.template pointer<T>(k.target), k.target.rows, k.target.cols,
                                       k.target.stride);
    switch (k.call_entry) {
      case entry::forward: k.returned = smax::cross_entropy(xv, q, o); break;
      case entry::with_grad: k.returned = smax::cross_entropy_with_grad(xv, q, gv, o); break;
      case entry::backward: smax::cross_entropy_backward(xv, q, lse, gv, o); break;
    }
    return;
  }
  const Index* t = k.mem.template pointer<Index>(k.target);
  if (k.pointer_form) {
    switch (k.call_entry) {
      case entry::forward: k.returned = smax::cross_entropy(x, t, R, C, o); break;
      case entry::with_grad: k.returned = smax::cross_entropy_with_grad(x, t, g, R, C, o); break;
      case entry::backward: smax::cross_entropy_backward(x, t, lse, g, R, C, o); break;
    }
    return;
  }
  switch (k.call_entry) {
    case entry::forward: k.returned = smax::cross_entropy(xv, t, o); break;
    case entry::with_grad: k.returned = smax::cross_entropy_with_grad(xv, t, gv, o); break;
    case entry::backward: smax::cross_entropy_backward(xv, t, lse, gv, o); break;
  }
}

template <class T>
void decode_options(reader& in, ce_case<T>& k) {
  auto& o = k.options;
  const unsigned r = in.pick(32);
  o.reduction = r < 10   ? smax::reduction::none
                : r < 20 ? smax::reduction::sum
                : r < 31 ? smax::reduction::mean
                         : static_cast<smax::reduction>(3 + in.pick(100));
  switch (in.pick(8)) {
    case 4: o.ignore_index = static_cast<std::int64_t>(in.u16() % 64); break;  // often a real class
    case 5: o.ignore_index = -1; break;
    case 6: o.ignore_index = static_cast<std::int64_t>(in.u64()); break;
    case 7:
      o.ignore_index = in.pick(2) ? std::numeric_limits<std::int64_t>::min() : std::numeric_limits<std::int64_t>::max();
      break;
    default: o.ignore_index = -100; break;
  }
  switch (in.pick(16)) {
    case 8: o.label_smoothing = 0.1; break;
    case 9: o.label_smoothing = 1.0; break;
    case 10: o.label_smoothing = in.u16() / 65535.0; break;
    case 11: o.label_smoothing = 0.5; break;
    case 12: o.label_smoothing = std::nextafter(1.0, 2.0); break;
    case 13: o.label_smoothing = -0.0; break;
    case 14: o.label_smoothing = std::numeric_limits<double>::quiet_NaN(); break;
    case 15: o.label_smoothing = in.pick(2) ? -1e-300 : std::numeric_limits<double>::infinity(); break;
    default: o.label_smoothing = 0.0; break;
  }
  switch (in.pick(16)) {
    case 8: o.z_loss = 1e-4; break;
    case 9: o.z_loss = 1e-2; break;
    case 10: o.z_loss = 1.0; break;
    case 11:
      o.z_loss = in.pick(2) ? 1e30 : std::ldexp(1.0 + in.u8() / 256.0, static_cast<int>(in.pick(64)) - 32);
      break;
    case 12: o.z_loss = -0.0; break;
    case 13: o.z_loss = -1e-4; break;
    case 14: o.z_loss = std::numeric_limits<double>::infinity(); break;
    case 15: o.z_loss = std::numeric_limits<double>::quiet_NaN(); break;
    default: o.z_loss = 0.0; break;
  }
  switch (in.pick(16)) {
    case 8: o.upstream = T(0.75); break;
    case 9: o.upstream = T(0); break;
    case 10: o.upstream = T(-2); break;
    case 11: o.upstream = decode_value<T>(in, profile::mild, T(1)); break;
    case 12: o.upstream = decode_value<T>(in, profile::any, T(1)); break;
    default: o.upstream = T(1); break;
  }
  o.threads = decode_threads(in);
}

// Hard targets: mostly classes, some ignore_index, some outside [0, C).
template <class Index>
Index decode_target(reader& in, std::size_t classes, std::int64_t ignore_index) {
  const unsigned s = in.pick(32);
  if (s < 26 && classes > 0) return static_cast<Index>(in.u16() % classes);
  if (s < 29) return static_cast<Index>(ignore_index);
  if (s == 29) return static_cast<Index>(classes);
  if (s == 30) return Index(-1);
  return static_cast<Index>(in.u64());
}

template <class T, class Index>
int run(reader& in, entry call_entry, target_kind kind) {
  ce_case<T> k;
  k.call_entry = call_entry;
  k.kind = kind;
  k.pointer_form = k.hard() && in.pick(4) == 0;
  k.layout.shared = in.chance(64);
  k.mxcsr = decode_caller_env(in);
  decode_options(in, k);

  const shape s = decode_shape(in, false, sizeof(T));
  const std::size_t R = s.rows, C = s.cols;
  const bool gradient = call_entry != entry::forward, backward = call_entry == entry::backward;
  k.logits = {"logits", sizeof(T), R, C, C};
  if (k.hard()) {
    k.target = {"target", sizeof(Index), 1, R, R};
    k.target.per_row = true;
  } else {
    k.target = {"target (soft)", sizeof(T), R, C, C};
  }
  k.weight = {"options.weight", sizeof(T), 1, C, C};
  k.row_upstream = {"options.row_upstream", sizeof(T), 1, R, R};
  k.given_lse = {"logsumexp", sizeof(T), 1, R, R};
  k.grad = {"grad", sizeof(T), R, C, C};
  k.losses = {"options.losses", sizeof(T), 1, R, R};
  k.lse_out = {"options.logsumexp", sizeof(T), 1, R, R};
  for (buffer* b : {&k.row_upstream, &k.given_lse, &k.losses, &k.lse_out}) b->per_row = true;
  k.grad.passed = gradient;
  k.given_lse.passed = backward;
  // Optional buffers, usually given where they matter.
  k.weight.passed = in.chance(96);
  const bool none = k.options.reduction == smax::reduction::none;
  k.losses.passed = none ? in.chance(248) : in.chance(96);
  k.lse_out.passed = in.chance(96);
  k.row_upstream.passed = none ? in.chance(160) : in.chance(16);
  if (!k.pointer_form) {
    k.logits.stride = decode_stride(in, C, sizeof(T));
    if (!k.hard()) {
      if (in.pick(32) == 0) k.target.cols = in.pick(2) ? C + 1 : C - (C > 0);  // mis-shaped
      k.target.stride = decode_stride(in, k.target.cols, sizeof(T));
    }
    if (gradient) {
      if (in.pick(32) == 0) k.grad.rows = in.pick(2) ? R + 1 : R - (R > 0);  // mis-shaped
      k.grad.stride = decode_stride(in, k.grad.cols, sizeof(T));
    }
  }

  std::size_t allocations = k.layout.shared ? 1 : 0, cursor = 0;
  std::vector<buffer*> placed;
  for (buffer* b : {&k.logits, &k.target, &k.weight, &k.row_upstream, &k.given_lse, &k.grad, &k.losses, &k.lse_out}) {
    if (!b->passed) continue;
    place(in, k.layout, allocations, *b, placed, cursor);
    placed.push_back(b);
  }
  const std::vector<unsigned char> fill = fill_pattern<T>();
  // A buffer too large to allocate is only acceptable in a call that must
  // fail; that is known once the values are (targets, weights).
  bool any_oversized = false;
  for (const buffer* b : placed) any_oversized = any_oversized || b->oversized();
  k.mem.build(placed, allocations, fill.data(), fill.size());

  // Values, in placement order (a later buffer overlapping an earlier one
  // overwrites it; the reference reads memory as it is at the end).
  if (k.logits.live()) {
    for (std::size_t r = 0; r < R; ++r) {
      const profile p = decode_profile(in);
      T previous = T(0);
      for (std::size_t c = 0; c < C; ++c) k.mem.store(k.logits, r, c, previous = decode_value<T>(in, p, previous));
    }
  }
  if (k.target.live()) {
    if (k.hard()) {
      for (std::size_t r = 0; r < k.target.cols; ++r) {
        k.mem.store(k.target, 0, r, decode_target<Index>(in, C, k.options.ignore_index));
      }
    } else {
      const unsigned mode = in.pick(8);  // 0-4: distributions, 5-6: non-negative, 7: anything
      for (std::size_t r = 0; r < k.target.rows; ++r) {
        std::vector<T> q(k.target.cols);
        real total = 0;
        const profile p = decode_profile(in);
        T previous = T(0);
        for (T& v : q) {
          v = mode == 7 ? (previous = decode_value<T>(in, p, previous)) : decode_nonnegative<T>(in);
          total += static_cast<real>(v);
        }
        if (mode < 5 && total > 0 && std::isfinite(total)) {
          for (T& v : q) v = static_cast<T>(static_cast<real>(v) / total);
        }
        for (std::size_t c = 0; c < q.size(); ++c) k.mem.store(k.target, r, c, q[c]);
      }
    }
  }
  if (k.weight.live()) {
    for (std::size_t c = 0; c < C; ++c) k.mem.store(k.weight, 0, c, decode_nonnegative<T>(in));
    if (in.pick(16) == 0) {  // one invalid weight
      const T bad[] = {T(-1), -T(0), std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity(),
                       -std::numeric_limits<T>::denorm_min()};
      k.mem.store(k.weight, 0, in.u16() % C, bad[in.pick(5)]);
    }
  }
  if (k.row_upstream.live()) {
    const profile p = in.pick(8) == 0 ? profile::any : profile::mild;
    for (std::size_t r = 0; r < R; ++r) k.mem.store(k.row_upstream, 0, r, decode_value<T>(in, p, T(1)));
  }
  if (k.given_lse.live()) {
    // The forward's logsumexp (rounded), or any value ("any finite value works").
    const unsigned mode = in.pick(4);
    for (std::size_t r = 0; r < R; ++r) {
      T v = decode_value<T>(in, mode == 3 ? profile::any : profile::finite, T(0));
      if (mode < 2 && k.logits.live()) {
        std::vector<T> x(C);
        for (std::size_t c = 0; c < C; ++c) x[c] = k.mem.template load<T>(k.logits, r, c);
        if (classify(x) == row_kind::regular) v = static_cast<T>(smax_test::reference(x.data(), C).logsumexp);
      }
      k.mem.store(k.given_lse, 0, r, v);
    }
  }
  k.mem.take_snapshot();

  k.expected = judge(k);
  if (k.expected != validity::invalid && any_oversized) return -1;
  g_case = &k;
  current_describer() = &describe_case<T>;
  if (verbose()) k.print(stderr);

  reference_case<T> e;
  if (k.expected != validity::invalid) e = expectations(k);
  if (stats_on()) {
    count(std::string(entry_name(call_entry)) + " " + kind_name(kind) + " " + validity_name(k.expected));
    for (const auto* list : {&e.loss, &e.losses, &e.lse, &e.grad}) {
      for (const expect& x : *list) count(std::string("expect ") + smax_fuzz::kind_name(x));
    }
  }

  const buffer returned_buffer{"returned loss", sizeof(T), 1, 1, 1};
  std::vector<checked_output<T>> outputs;
  std::vector<const buffer*> written;
  if (!backward) {
    outputs.push_back({&returned_buffer, e.loss});
    for (std::pair<buffer*, std::vector<expect>*> b :
         {std::make_pair(&k.losses, &e.losses), std::make_pair(&k.lse_out, &e.lse)}) {
      written.push_back(b.first);
      if (b.first->live()) outputs.push_back({b.first, *b.second});
    }
  }
  if (gradient) {
    written.push_back(&k.grad);
    if (k.grad.live()) outputs.push_back({&k.grad, e.grad});
  }
  if (k.expected == validity::invalid) {
    for (checked_output<T>& out : outputs) out.want.clear();
  } else if (R > 0 && C == 0) {
    outputs.clear();  // left open
  }
  run_on_every_isa<T>(
      k.what(), k.expected, k.mxcsr, k.mem, written, k.options.threads,
      [&](unsigned threads) {
        k.returned = std::numeric_limits<T>::quiet_NaN();
        call<T, Index>(k, threads);
      },
      [&] {
        std::vector<std::vector<T>> values;
        for (const checked_output<T>& out : outputs) {
          if (out.where == &returned_buffer) {
            values.push_back({k.returned});
          } else {
            values.push_back(read_cells<T>(k.mem, *out.where));
          }
        }
        return values;
      },
      outputs);
  current_describer() = nullptr;
  return 0;
}

}  // namespace
}  // namespace smax_fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace smax_fuzz;
  reader in(data, size);
  const bool is_double = in.pick(2) != 0;
  const auto call_entry = static_cast<entry>(in.pick(3));
  const auto kind = static_cast<target_kind>(in.pick(3));
  if (kind == target_kind::int32) {
    return is_double ? run<double, std::int32_t>(in, call_entry, kind) : run<float, std::int32_t>(in, call_entry, kind);
  }
  return is_double ? run<double, std::int64_t>(in, call_entry, kind) : run<float, std::int64_t>(in, call_entry, kind);
}
