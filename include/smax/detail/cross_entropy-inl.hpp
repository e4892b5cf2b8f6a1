// Cross-entropy, fused with its gradient, written once over the vector layer.
// No include guard: arch/<isa>.hpp includes this file inside its namespace and
// target region, after kernels-inl.hpp.
//
// Per row, with shift m (the row maximum, or the forward's logsumexp when the
// caller supplies it), d_c = x_c - m, S = sum_c exp(d_c) and L = log S:
//   hard target t: loss = w_t (1 - eps) (L - d_t) + (eps / C) (W L - sum_c w_c d_c) + z lse^2
//   soft target q: loss = B L - sum_c w_c q'_c d_c + z lse^2, q'_c = (1 - eps) q_c + eps / C,
//                  B = sum_c w_c q'_c
// and the gradient is g_c = scale * (alpha * p_c - beta_c), p_c = exp(d_c) / S, with
//   hard: alpha = w_t (1 - eps) + (eps / C) W + 2 z lse, beta_c = (eps / C) w_c + [c == t] w_t (1 - eps)
//   soft: alpha = B + 2 z lse,                            beta_c = w_c q'_c.
//
// Accuracy plan for float data (computed in double). With eps == 0 and hard
// targets, beta_c is 0 off the target, so the gradient is exp(d_c) stored in the
// gradient buffer (as float) and rescaled: one exp per element, like softmax.
// The target's entry, where p_t - 1 cancels, is recomputed from S - exp(d_t),
// which is exactly the sum of the other terms; with z-loss its two terms may
// also cancel, so then the exps use the degree-9 polynomial (2^-43.6).
// Otherwise alpha * p_c and beta_c may cancel anywhere, so p_c is recomputed in
// double with the degree-9 exp and never rounded to float before the subtraction.

template <class S>
SMAX_INLINE std::int64_t target_of(const cross_entropy_call<S>& call, std::size_t r) {
  return call.targets_are_64bit ? static_cast<const std::int64_t*>(call.targets)[r]
                                : static_cast<const std::int32_t*>(call.targets)[r];
}

// x - shift for one element, as a pair for double data.
template <class S>
SMAX_INLINE vd_pair shifted(vd x, double shift) {
  if constexpr (kExactStorage<S>) {
    return exact_difference(x, vd::splat(-shift));
  } else {
    return {x - vd::splat(shift), vd::splat(0.0)};
  }
}

// The exp a cross-entropy pass uses: exact pair for double data; for float data
// the degree-6 exp, or the degree-9 one where the gradient recomputes p.
template <class S, bool kAccurate>
SMAX_INLINE vd_pair ce_exp(vd_pair d) {
  if constexpr (kExactStorage<S>) {
    return exp_dd(d.hi, d.lo);
  } else if constexpr (kAccurate) {
    return {exp_p9(d.hi), vd::splat(0.0)};
  } else {
    return {exp_nonpositive_p6(d.hi), vd::splat(0.0)};
  }
}

// Pass 2 of a row: S, and the linear sums the loss needs.
//   kStore:   write exp(d) to y (the gradient buffer, used as scratch).
//   kLinear:  A = sum w_c d_c (label smoothing).
//   kSoft:    Q1 = sum w_c q_c and Q2 = sum w_c q_c d_c.
template <class S, bool kStore, bool kAccurate, bool kWeights, bool kLinear, bool kSoft>
struct ce_sum_body {
  const S* x;
  S* y;
  const S* w;
  const S* q;
  double shift;
  vd weight_unit;
  accumulator<S> sum, linear, q_sum, q_linear;

  template <int k>
  SMAX_INLINE void step(std::size_t i, std::size_t count) {
    const vd_pair d = shifted<S>(load_n<vd>(x + i, count, -constants::kInf), shift);
    const vd_pair e = ce_exp<S, kAccurate>(d);
    if constexpr (kStore) store_n(y + i, e.hi, count);
    sum.template add<k>(e.hi, e.lo);
    if constexpr (kLinear || kSoft) {
      // Padding lanes must add 0, not 0 * -inf: reload them as x == shift.
      const vd_pair dl = count == vd::lanes ? d : shifted<S>(vd::load_partial(x + i, count, shift), shift);
      const vd wv = kWeights ? load_n<vd>(w + i, count, 0.0) * weight_unit : vd::splat(1.0);
      if constexpr (kLinear) add_product<k>(linear, wv, dl);
      if constexpr (kSoft) {
        const vd qv = load_n<vd>(q + i, count, 0.0);
        const vd wq = wv * qv;
        q_sum.template add<k>(wq, mul_add(wv, qv, vd::splat(0.0) - wq));
        add_product<k>(q_linear, wq, dl);
      }
    }
  }

  // acc += a * (d.hi + d.lo), with the product's rounding error kept where the
  // ISA can fuse (it is 0 otherwise).
  template <int k>
  static SMAX_INLINE void add_product(accumulator<S>& acc, vd a, vd_pair d) {
    const vd p = a * d.hi;
    acc.template add<k>(p, mul_add(a, d.hi, vd::splat(0.0) - p) + a * d.lo);
  }
};

template <class S>
struct ce_sums {
  double_double sum, linear, q_sum, q_linear;
};

template <class S, bool kStore, bool kAccurate, bool kWeights, bool kLinear, bool kSoft>
SMAX_INLINE ce_sums<S> ce_pass2(const S* x, S* y, const S* w, const S* q, std::size_t n, double shift,
                                double weight_unit) {
  using body_t = ce_sum_body<S, kStore, kAccurate, kWeights && (kLinear || kSoft), kLinear, kSoft>;
  const accumulator<S> zero = accumulator<S>::zero();
  body_t body{x, y, w, q, shift, vd::splat(weight_unit), zero, zero, zero, zero};
  sweep<vd>(n, body);
  return {body.sum.total(), body.linear.total(), body.q_sum.total(), body.q_linear.total()};
}

// Runs the pass-2 instantiation for this row's options;
// shifted_known: the row's float-lane sum from its row group, when it ran in one.
template <class S>
SMAX_INLINE ce_sums<S> ce_pass2(const S* x, S* y, const S* w, const S* q, std::size_t n, double shift, bool store,
                                bool accurate, bool linear, double weight_unit, const row_stats* shifted_known) {
  const bool weighted = w != nullptr;
  if (q != nullptr) {
    if (accurate) {
      if (weighted) {
        return linear ? ce_pass2<S, false, true, true, true, true>(x, y, w, q, n, shift, weight_unit)
                      : ce_pass2<S, false, true, true, false, true>(x, y, w, q, n, shift, weight_unit);
      }
      return linear ? ce_pass2<S, false, true, false, true, true>(x, y, w, q, n, shift, weight_unit)
                    : ce_pass2<S, false, true, false, false, true>(x, y, w, q, n, shift, weight_unit);
    }
    if (weighted) {
      return linear ? ce_pass2<S, false, false, true, true, true>(x, y, w, q, n, shift, weight_unit)
                    : ce_pass2<S, false, false, true, false, true>(x, y, w, q, n, shift, weight_unit);
    }
    return linear ? ce_pass2<S, false, false, false, true, true>(x, y, w, q, n, shift, weight_unit)
                  : ce_pass2<S, false, false, false, false, true>(x, y, w, q, n, shift, weight_unit);
  }
  if (store) {
    return accurate ? ce_pass2<S, true, true, false, false, false>(x, y, w, q, n, shift, weight_unit)
                    : ce_pass2<S, true, false, false, false, false>(x, y, w, q, n, shift, weight_unit);
  }
  if (!linear) {
    if (accurate) return ce_pass2<S, false, true, false, false, false>(x, y, w, q, n, shift, weight_unit);
    // S alone (the forward of a hard-target row): the row kernels' sum, which
    // float rows get from the float lanes.
    if constexpr (float_lane_kind<S, plain_logits<S>>()) {
      if (float_lane_applies(shift)) {
        const plain_logits<S> src{x};
        const double_double sum = shifted_known != nullptr ? sum_for_log<S>(src, n, shift, *shifted_known)
                                                           : sum_of_exp_from_max<S>(src, n, shift);
        return {sum, {0.0, 0.0}, {0.0, 0.0}, {0.0, 0.0}};
      }
    }
    return ce_pass2<S, false, false, false, false, false>(x, y, w, q, n, shift, weight_unit);
  }
  if (accurate) {
    return weighted ? ce_pass2<S, false, true, true, true, false>(x, y, w, q, n, shift, weight_unit)
                    : ce_pass2<S, false, true, false, true, false>(x, y, w, q, n, shift, weight_unit);
  }
  return weighted ? ce_pass2<S, false, false, true, true, false>(x, y, w, q, n, shift, weight_unit)
                  : ce_pass2<S, false, false, false, true, false>(x, y, w, q, n, shift, weight_unit);
}

// (1 - eps) v for the soft targets' share of the loss: none at all when
// label_smoothing is 1 (q' = 1 / C), also where v is infinite (a -inf logit
// under a target), which 0 * v would turn into NaN.
SMAX_INLINE double soft_share(double eps, double v) { return eps < 1 ? mul(1 - eps, v) : 0.0; }

// (eps / C) v for the smoothing's share: none without smoothing, also where v
// is infinite (class weights summing beyond DBL_MAX).
SMAX_INLINE double smoothing_share(double eps_per_class, double v) {
  return eps_per_class > 0 ? mul(eps_per_class, v) : 0.0;
}

// q'_c = (1 - eps) q_c + eps / C as a pair: its sign decides the sign of an
// infinite term, and the two shares may cancel.
SMAX_INLINE double_double smoothed_target(double q, double eps, double classes) {
  if (eps >= 1) return {1 / classes, 0.0};  // label_smoothing 1 never reads q
  const double_double kept = two_sum(1.0, -eps);
  const double per_class = eps / classes, per_class_lo = std::fma(-per_class, classes, eps) / classes;
  const double p = kept.hi * q;
  if (!std::isfinite(p)) return {p, 0.0};
  const double_double s = two_sum(p, per_class);
  return two_sum(s.hi, s.lo + (std::fma(kept.hi, q, -p) + kept.lo * q + per_class_lo));
}

// sum_c w_c q'_c (x_c - shift) over classes `stride` apart, leaving out those
// with w_c q'_c = 0. Pass 2 splits it into (1 - eps) sum w q d + (eps / C) sum w d,
// which a -inf logit turns into NaN where the exact sum is not: 0 * -inf for a
// class without target mass, inf - inf when q_c < 0 makes the shares' signs
// differ. Only then, so scalar.
template <class S>
double soft_linear_sum(const S* x, const S* w, const S* q, std::size_t n, std::size_t stride, double shift,
                       double eps) {
  const double classes = static_cast<double>(n);
  double hi = 0.0, lo = 0.0;
  for (std::size_t c = 0; c < n; ++c) {
    const double_double target = smoothed_target(static_cast<double>(q[c * stride]), eps, classes);
    const double weight = w != nullptr ? static_cast<double>(w[c]) : 1.0;
    const double wq = weight * target.hi, wq_lo = std::fma(weight, target.hi, -wq) + weight * target.lo;
    if (wq == 0 && wq_lo == 0) continue;
    const vd_pair d = shifted<S>(vd::splat(static_cast<double>(x[c * stride])), shift);
    const double d_hi = first_lane(d.hi), p = wq * d_hi;
    if (!std::isfinite(p)) {                           // an infinite term (or NaN) decides the sum
      hi += wq == 0 ? std::copysign(d_hi, wq_lo) : p;  // wq underflowed
      continue;
    }
    const double_double s = two_sum(hi, p);
    hi = s.hi;
    lo += s.lo + (std::fma(wq, d_hi, -p) + wq * first_lane(d.lo) + wq_lo * d_hi);
  }
  return std::isfinite(hi) ? hi + lo : hi;
}

// The loss of a soft-target row or position, B log S - sum_c w_c q'_c d_c +
// z lse^2, from pass 2's sums: q2 = sum w q d and a_lin = sum w d. `column`
// and `q` are the position's classes, `stride` apart.
template <class S>
double soft_row_loss(const cross_entropy_call<S>& call, const S* column, const S* q, std::size_t stride, double shift,
                     double b, double log_s, double q2, double a_lin, double z_term) {
  const double eps = call.smoothing, eps_per_class = eps / static_cast<double>(call.classes);
  double linear = soft_share(eps, q2) + smoothing_share(eps_per_class, a_lin);
  if (std::isnan(linear)) linear = soft_linear_sum(column, call.weight, q, call.classes, stride, shift, eps);
  return mul(b, log_s) - linear + z_term;
}

// A hard-target row's loss, and the same in weight units for the reduction
// (a weighted mean divides the total in units by the denominator in units, which
// keeps it accurate where the weights are subnormal). a_lin = sum w_c d_c in
// weight units.
struct hard_loss {
  double row, in_units;
};

template <class S>
SMAX_INLINE hard_loss hard_row_loss(const cross_entropy_call<S>& call, double w_t, double nll, double log_s,
                                    double a_lin, double z_term) {
  const double eps = call.smoothing, eps_per_class = eps / static_cast<double>(call.classes);
  const double unit = call.weight_unit;
  // A class weight below DBL_MIN times 1 - eps would lose its digits before
  // nll (up to 2^1024) brings the product back into range.
  const double target_share =
      w_t >= std::numeric_limits<double>::min() ? mul(mul(w_t, 1 - eps), nll) : mul(w_t, mul(1 - eps, nll));
  double row = target_share + z_term;
  if (eps > 0) row += mul(eps_per_class, mul(call.weight_total, log_s) - a_lin / unit);
  if (unit == 1.0) return {row, row};
  double in_units = mul(mul(w_t * unit, 1 - eps), nll) + mul(z_term, unit);
  if (eps > 0) in_units += mul(eps_per_class, mul(call.weight_total_in_units, log_s) - a_lin);
  return {row, in_units};
}

// The gradient's scalars for one row or position. alpha is split into its
// class-weight part, in units of call.weight_unit and scaled by weight_scale,
// and its z-loss part 2 z lse, scaled by scale: with a weighted mean either
// scale alone may overflow where the products do not.
struct ce_gradient_factors {
  double weight_scale;   // weighted_grad_scale times the row's upstream
  double scale;          // grad_scale times the row's upstream
  double alpha_weights;  // w_t (1 - eps) + (eps / C) W (hard) or B (soft), in weight units
  double alpha_z;        // 2 z lse

  template <class S>
  static SMAX_INLINE ce_gradient_factors of_row(const cross_entropy_call<S>& call, std::size_t position,
                                                double alpha_weights, double lse) {
    const double upstream = call.row_grad_scale != nullptr ? static_cast<double>(call.row_grad_scale[position]) : 1.0;
    return {mul(call.weighted_grad_scale, upstream), mul(call.grad_scale, upstream), alpha_weights,
            mul(2 * call.z_loss, lse)};
  }

  // scale * alpha.
  SMAX_INLINE double scaled_alpha() const {
    return mul(weight_scale, alpha_weights) + (alpha_z != 0 ? mul(scale, alpha_z) : 0.0);
  }

  // A hard target's entry, scale (alpha p_t - beta_t), from 1 - p_t = rest / sum
  // (rest = S - e_t, the sum of the other terms: no cancellation when p_t is
  // close to 1). In weight units: kept = w_t (1 - eps), uniform = (eps / C) w_t.
  SMAX_INLINE double target_entry(double e_t, double rest, double sum, double kept, double uniform) const {
    const double others = alpha_weights - kept;  // (eps / C) W
    const double weights = mul(weight_scale, (mul(others, e_t) - mul(kept, rest)) / sum - uniform);
    return alpha_z != 0 ? weights + mul(scale, mul(alpha_z, e_t) / sum) : weights;
  }
};

// Pass 3 where p is recomputed: g_c = a * exp(d_c) - ((b_uniform + b_soft q_c) w_c) beta_scale,
// the scale last, so that a tiny one (a subnormal upstream) rounds only the
// product and not a coefficient that a large q_c would then magnify;
// with a = scale * alpha / S (a pair for double data).
template <class S, bool kWeights, bool kSoft>
struct ce_grad_body {
  const S* x;
  S* g;
  const S* w;
  const S* q;
  double shift;
  vd a_hi;
  vd a_lo;
  vd b_uniform;
  vd b_soft;
  vd weight_unit;
  vd beta_scale;

  template <int k>
  SMAX_INLINE void step(std::size_t i, std::size_t count) {
    const vd_pair e = ce_exp<S, true>(shifted<S>(load_n<vd>(x + i, count, -constants::kInf), shift));
    vd beta = b_uniform;
    if constexpr (kSoft) beta = mul_add(b_soft, load_n<vd>(q + i, count, 0.0), beta);
    if constexpr (kWeights) beta = beta * (load_n<vd>(w + i, count, 0.0) * weight_unit);
    beta = beta * beta_scale;
    const vd t = mul_add(e.hi, a_hi, vd::splat(0.0) - beta);
    if constexpr (kExactStorage<S>) {
      store_n(g + i, t + (e.lo * a_hi + e.hi * a_lo), count);
    } else {
      store_n(g + i, t, count);
    }
  }
};

template <class S, bool kWeights, bool kSoft>
SMAX_INLINE void ce_pass3(const S* x, S* g, const S* w, const S* q, std::size_t n, double shift, double_double a,
                          double b_uniform, double b_soft, double weight_unit, double beta_scale) {
  ce_grad_body<S, kWeights, kSoft> body{x,
                                        g,
                                        w,
                                        q,
                                        shift,
                                        vd::splat(a.hi),
                                        vd::splat(a.lo),
                                        vd::splat(b_uniform),
                                        vd::splat(b_soft),
                                        vd::splat(weight_unit),
                                        vd::splat(beta_scale)};
  sweep<vd>(n, body);
}

// exp(d) of one element, bit for bit the value the vector passes computed for it.
template <class S, bool kAccurate>
SMAX_INLINE double_double ce_exp_scalar(vd_pair d) {
  const vd_pair e = ce_exp<S, kAccurate>(d);
  return {first_lane(e.hi), first_lane(e.lo)};
}

// A row's maximum and float-lane shifted sum, computed ahead with its row
// group's: bit for bit what the row's own passes would give.
struct known_row_stats {
  double m;
  row_stats shifted;
};

// One row; returns its loss in weight units (0 on the backward-only path, which
// computes none). known: the row's statistics from its group (forward-only
// hard-target rows without smoothing), or null.
template <class S>
SMAX_INLINE double cross_entropy_row(const cross_entropy_call<S>& call, std::size_t r,
                                     const known_row_stats* known = nullptr) {
  const std::size_t n = call.classes;
  const S* x = call.logits + r * call.logits_stride;
  S* g = call.grad != nullptr ? call.grad + r * call.grad_stride : nullptr;
  const S* q = call.soft_targets != nullptr ? call.soft_targets + r * call.soft_stride : nullptr;
  const S* w = call.weight;
  const bool hard = q == nullptr;
  const std::int64_t t = hard ? target_of(call, r) : -1;
  const bool want_loss = call.given_logsumexp == nullptr;

  if (hard && t == call.ignore_index) {
    if (call.row_logsumexp != nullptr) call.row_logsumexp[r] = static_cast<S>(logsumexp_row(x, n, executor{}));
    if (g != nullptr) fill_row(g, n, 0.0);
    if (call.row_loss != nullptr) call.row_loss[r] = 0;
    return 0.0;
  }

  // The shift: the forward's logsumexp when given (saves the max pass), else the max.
  double shift = want_loss ? constants::kNaN : static_cast<double>(call.given_logsumexp[r]);
  if (!std::isfinite(shift)) shift = known != nullptr ? known->m : row_max(x, n);
  if (!std::isfinite(shift)) {  // all -inf, or +inf or NaN present: no defined loss
    if (call.row_logsumexp != nullptr)
      call.row_logsumexp[r] = static_cast<S>(logsumexp_of_special_row<S>(plain_logits<S>{x}, n, shift));
    if (g != nullptr) fill_row(g, n, constants::kNaN);
    if (call.row_loss != nullptr) call.row_loss[r] = static_cast<S>(constants::kNaN);
    return constants::kNaN;
  }

  const double eps = call.smoothing;
  const double eps_per_class = eps / static_cast<double>(n);
  // Reusing the gradient buffer for exp(d) needs d <= 0, which only the row
  // maximum guarantees; a given logsumexp takes the recomputing path.
  const bool reload = hard && eps == 0 && g != nullptr && want_loss;
  // The degree-9 exp wherever a gradient entry may cancel: everywhere when p is
  // recomputed, and at the target when z-loss adds 2 z lse p_t to -w_t (1 - p_t).
  const bool accurate = g != nullptr && !(reload && call.z_loss == 0);
  const double w_t = hard && w != nullptr ? static_cast<double>(w[t]) : 1.0;
  // Read before pass 2: the reload path stores exp(d) over x when the gradient
  // is computed in place.
  const double x_t = hard ? static_cast<double>(x[t]) : 0.0;

  ce_sums<S> sums = ce_pass2<S>(x, g, w, q, n, shift, reload, accurate, want_loss && eps > 0, call.weight_unit,
                                known != nullptr ? &known->shifted : nullptr);
  if (!want_loss && !(sums.sum.hi >= 0.5 && sums.sum.hi <= 2.0)) {
    // The given logsumexp is not this row's (the forward's gives S = 1 up to
    // its rounding): fall back to the maximum. Any S far from 1 would do for
    // the sum, but the gradient's factor scale * alpha / S may then underflow
    // (a tiny upstream) and be multiplied back up by exp(d) ~ S.
    shift = row_max(x, n);
    sums = ce_pass2<S>(x, g, w, q, n, shift, false, accurate, false, call.weight_unit, nullptr);
  }
  const vd_pair d_t = shifted<S>(vd::splat(x_t), shift);

  // log S, and the row's logsumexp shift + log S.
  double_double log_sum;
  if (reload) {
    log_sum = log_of_stored_row_sum(g, n, sums.sum);  // g holds exp(d); x may be g
  } else if (want_loss) {
    log_sum = log_of_row_sum(x, n, shift, sums.sum);
  } else {
    const double_double normalized = fast_two_sum(sums.sum.hi, sums.sum.lo);
    log_sum = log_of_sum(normalized.hi, normalized.lo);
  }
  const double_double lse_pair = two_sum(shift, log_sum.hi);
  const double lse = lse_pair.hi + (lse_pair.lo + log_sum.lo);
  if (call.row_logsumexp != nullptr) call.row_logsumexp[r] = static_cast<S>(lse);

  const double log_s = log_sum.hi + log_sum.lo;
  const double a_lin = sums.linear.hi + sums.linear.lo;  // sum w_c d_c <= 0, in weight units
  const double z_term = mul(mul(call.z_loss, lse), lse);
  double loss = 0.0, returned = 0.0, alpha_weights = 0.0;
  const double unit = call.weight_unit, w_t_units = w_t * unit;
  if (hard) {
    const double nll = (log_sum.hi - first_lane(d_t.hi)) + (log_sum.lo - first_lane(d_t.lo));
    const hard_loss l = hard_row_loss(call, w_t, nll, log_s, a_lin, z_term);
    loss = l.row;
    returned = l.in_units;
    alpha_weights = mul(w_t_units, 1 - eps) + smoothing_share(eps_per_class, call.weight_total_in_units);
  } else {
    const double q1 = sums.q_sum.hi + sums.q_sum.lo, q2 = sums.q_linear.hi + sums.q_linear.lo;
    const double b = soft_share(eps, q1) + smoothing_share(eps_per_class, call.weight_total);
    loss = soft_row_loss(call, x, q, 1, shift, b, log_s, q2, a_lin, z_term);
    alpha_weights = b;  // soft targets keep the unit 1
    returned = loss;
  }
  if (call.row_loss != nullptr) call.row_loss[r] = static_cast<S>(loss);

  if (g != nullptr) {
    const ce_gradient_factors f = ce_gradient_factors::of_row(call, r, alpha_weights, lse);
    const double_double inv = reciprocal_of_sum(sums.sum.hi, sums.sum.lo);
    // a = scale * alpha / S as a pair (the pair matters for double data only).
    const double sa = f.scaled_alpha();
    const double_double a{mul(sa, inv.hi), std::fma(sa, inv.hi, -mul(sa, inv.hi)) + mul(sa, inv.lo)};
    const double ws = f.weight_scale;
    if (reload) {
      scale_row(g, n, a);
    } else if (hard || eps >= 1) {
      // Without smoothing, beta is 0 off a hard target: the weights are not
      // read. With label_smoothing 1 soft targets are 1 / C, q is not read.
      if (w != nullptr && eps > 0) {
        ce_pass3<S, true, false>(x, g, w, q, n, shift, a, eps_per_class, 0.0, unit, ws);
      } else {
        ce_pass3<S, false, false>(x, g, w, q, n, shift, a, eps_per_class, 0.0, unit, ws);
      }
    } else if (w != nullptr) {
      ce_pass3<S, true, true>(x, g, w, q, n, shift, a, eps_per_class, 1 - eps, unit, ws);
    } else {
      ce_pass3<S, false, true>(x, g, w, q, n, shift, a, eps_per_class, 1 - eps, unit, ws);
    }
    if (hard) {
      const double_double e_t = accurate ? ce_exp_scalar<S, true>(d_t) : ce_exp_scalar<S, false>(d_t);
      const double rest = (sums.sum.hi - e_t.hi) + (sums.sum.lo - e_t.lo);
      g[t] = static_cast<S>(f.target_entry(e_t.hi + e_t.lo, rest, sums.sum.hi + sums.sum.lo, mul(w_t_units, 1 - eps),
                                           mul(eps_per_class, w_t_units)));
    }
  }
  return returned;
}

// Rows [begin, end) in order, each loss handed to take(r, loss). Short
// forward-only hard-target rows without smoothing run kRowGroup at a time
// (their max and sum interleaved, as the row kernels' groups do); a group
// with a row whose maximum the float lanes cannot take runs row by row.
template <class S, class Take>
SMAX_INLINE void for_each_row_loss(const cross_entropy_call<S>& call, std::size_t begin, std::size_t end,
                                   const Take& take) {
  std::size_t r = begin;
  if constexpr (float_lane_kind<S, plain_logits<S>>()) {
    const std::size_t n = call.classes;
    const bool groupable = call.soft_targets == nullptr && call.grad == nullptr && call.given_logsumexp == nullptr &&
                           call.smoothing == 0 && n <= kShortRow;
    for (; groupable && r + kRowGroup <= end; r += kRowGroup) {
      float_row_group<vf, kRowGroup> g{};
      for (std::size_t j = 0; j < kRowGroup; ++j) g.x[j] = call.logits + (r + j) * call.logits_stride;
      float m[kRowGroup];
      group_max(g, n, m);
      bool applies = true;
      for (const float mj : m) applies = applies && float_lane_applies(static_cast<double>(mj));
      if (!applies) {
        for (std::size_t j = 0; j < kRowGroup; ++j) take(r + j, cross_entropy_row(call, r + j));
        continue;
      }
      row_stats shifted[kRowGroup];
      group_sums<vf, kRowGroup, false>(g, n, m, shifted);
      for (std::size_t j = 0; j < kRowGroup; ++j) {
        const known_row_stats known{static_cast<double>(m[j]), shifted[j]};
        take(r + j, cross_entropy_row(call, r + j, &known));
      }
    }
  }
  for (; r < end; ++r) take(r, cross_entropy_row(call, r));
}

template <class S>
struct cross_entropy_rows_task {
  const cross_entropy_call<S>* call;
  double* losses;

  void operator()(std::size_t begin, std::size_t end) const {
    double* out = losses;
    for_each_row_loss(*call, begin, end, [out](std::size_t r, double loss) { out[r] = loss; });
  }
};

// The rows' losses summed in row order whatever the thread count, so that the
// total is bitwise the same for any.
template <class S>
double_double cross_entropy_rows(const cross_entropy_call<S>& call) {
  executor inner;
  const executor outer = row_split(executor{call.threads}, call.rows, call.classes, inner);
  double hi = 0.0, lo = 0.0;
  const auto add = [&hi, &lo](std::size_t, double loss) {
    const double_double t = two_sum(hi, loss);
    hi = t.hi;
    lo += t.lo;
  };
  if (outer.threads > 1) {
    std::vector<double> losses(call.rows);
    outer.parallel_for(call.rows, cross_entropy_rows_task<S>{&call, losses.data()});
    for (std::size_t r = 0; r < call.rows; ++r) add(r, losses[r]);
  } else {
    for_each_row_loss(call, 0, call.rows, add);
  }
  // An infinite loss (a -inf logit at the target) leaves NaN corrections behind.
  return std::isinf(hi) ? double_double{hi, 0.0} : fast_two_sum(hi, lo);
}
