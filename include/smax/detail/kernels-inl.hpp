// Row kernels, written once over the vector layer. No include guard:
// arch/<isa>.hpp includes this file inside its own namespace and target region,
// after its vector layer and math-inl.hpp, so each ISA gets its own copy.
//
// Precision plan. Float data is computed in double: x - max is then exact (or
// off by 2^-53 relative where it no longer matters), exp carries 2^-28 relative
// error, and the row sum is a plain double sum. Double data is computed with
// error-free transformations: x - max is kept as an exact pair, exp returns
// its rounding residual, and the row sum is compensated (TwoSum) with the
// residuals added on the side. The per-row log and reciprocal are computed in
// double-double (scalar_math.hpp). See the bounds in the public headers.

// Fixed reduction order everywhere: four accumulators per row, combined the
// same way every time, so results do not depend on anything but the ISA.
template <class Body>
SMAX_INLINE void sweep(std::size_t n, Body& body) {
  constexpr std::size_t L = vd::lanes;
  std::size_t i = 0;
  for (; i + 4 * L <= n; i += 4 * L) {
    body.template step<0>(i, L);
    body.template step<1>(i + L, L);
    body.template step<2>(i + 2 * L, L);
    body.template step<3>(i + 3 * L, L);
  }
  for (; i + L <= n; i += L) body.template step<0>(i, L);
  if (i < n) body.template step<0>(i, n - i);
}

// Loads `count` (at most one vector of) elements; the missing lanes read `fill`.
template <class S>
SMAX_INLINE vd load_n(const S* p, std::size_t count, double fill) {
  return count == vd::lanes ? vd::load(p) : vd::load_partial(p, count, fill);
}

template <class S>
SMAX_INLINE void store_n(S* p, vd v, std::size_t count) {
  if (count == vd::lanes) {
    v.store(p);
  } else {
    v.store_partial(p, count);
  }
}

template <class S>
inline constexpr bool kExactStorage = sizeof(S) == sizeof(double);

// x - m as an exact pair hi + lo (TwoSum). Where hi is infinite (x = -inf) the
// rounding error is inf - inf = NaN; lo is forced into [-1, 1] so it cannot turn
// an exact 0 or -inf into NaN. A NaN x still yields a NaN hi.
SMAX_INLINE vd_pair exact_difference(vd x, vd neg_m) {
  const vd s = x + neg_m;
  const vd bb = s - x;
  const vd err = (x - (s - bb)) + (neg_m - bb);
  return {s, min(max(err, vd::splat(-1.0)), vd::splat(1.0))};
}

// sum += v, with the rounding error of the addition added to `error` exactly
// (TwoSum). Unlike Kahan's update it stays exact when v is larger than the sum
// so far, as when a row's maximum (exactly 1) follows its small terms.
SMAX_INLINE void compensated_add(vd& sum, vd& error, vd v) {
  const vd t = sum + v;
  const vd bb = t - sum;
  error = error + ((sum - (t - bb)) + (v - bb));
  sum = t;
}

// Four accumulators of lane sums, combined into one value. For double data each
// accumulator carries its rounding errors and a sum of residuals on the side,
// and the lanes are added in double-double.
template <class S>
SMAX_INLINE double_double combine(const vd (&sum)[4], const vd (&error)[4], const vd (&residual)[4]) {
  if constexpr (kExactStorage<S>) {
    double hi = 0.0, lo = 0.0;
    for (int k = 0; k < 4; ++k) {
      double s[vd::lanes], c[vd::lanes], r[vd::lanes];
      sum[k].store(s);
      error[k].store(c);
      residual[k].store(r);
      for (std::size_t lane = 0; lane < vd::lanes; ++lane) {
        const double_double t = two_sum(hi, s[lane]);
        hi = t.hi;
        lo += t.lo + (r[lane] + c[lane]);
      }
    }
    // An infinite sum (a -inf term in a linear sum) leaves NaN corrections behind.
    return std::isinf(hi) ? double_double{hi, 0.0} : fast_two_sum(hi, lo);
  } else {
    return {reduce_add((sum[0] + sum[1]) + (sum[2] + sum[3])), 0.0};
  }
}

// One of combine()'s accumulator sets, with add(): plain for float data,
// compensated for double data (a residual, when known, goes on the side).
template <class S>
struct accumulator {
  vd sum[4];
  vd error[4];
  vd residual[4];

  static SMAX_INLINE accumulator zero() {
    const vd z = vd::splat(0.0);
    return {{z, z, z, z}, {z, z, z, z}, {z, z, z, z}};
  }
  template <int k>
  SMAX_INLINE void add(vd v) {
    if constexpr (kExactStorage<S>) {
      compensated_add(sum[k], error[k], v);
    } else {
      sum[k] = sum[k] + v;
    }
  }
  template <int k>
  SMAX_INLINE void add(vd v, vd v_residual) {
    add<k>(v);
    if constexpr (kExactStorage<S>) residual[k] = residual[k] + v_residual;
  }
  SMAX_INLINE double_double total() const { return combine<S>(sum, error, residual); }
};

// ---- pass 1: the row maximum ------------------------------------------------

template <class S>
struct max_body {
  const S* x;
  vd acc[4];

  template <int k>
  SMAX_INLINE void step(std::size_t i, std::size_t count) {
    acc[k] = max(acc[k], load_n(x + i, count, -constants::kInf));
  }
};

// The maximum, exact. A NaN in the row may or may not surface here (max()
// drops NaN operands); a NaN that does not surface makes the row sum NaN later.
template <class S>
SMAX_INLINE double row_max(const S* x, std::size_t n) {
  const vd lowest = vd::splat(-constants::kInf);
  max_body<S> body{x, {lowest, lowest, lowest, lowest}};
  sweep(n, body);
  return reduce_max(max(max(body.acc[0], body.acc[1]), max(body.acc[2], body.acc[3])));
}

// ---- pass 2: sum of exp(x - max), optionally storing the terms ----------------

// kStore: write exp(x - max) to y. kBelowMaxOnly: leave out the terms equal to
// 1 (x == max), for the log1p form of a row sum that is 1 + tiny.
template <class S, bool kStore, bool kBelowMaxOnly>
struct exp_sum_body {
  const S* x;
  S* y;
  vd m;      // the row maximum (float data)
  vd neg_m;  // its negation (double data)
  accumulator<S> sum;

  template <int k>
  SMAX_INLINE void step(std::size_t i, std::size_t count) {
    const vd xv = load_n(x + i, count, -constants::kInf);
    const vd zero = vd::splat(0.0);
    if constexpr (kExactStorage<S>) {
      const vd_pair d = exact_difference(xv, neg_m);
      vd_pair e = exp_dd(d.hi, d.lo);
      if constexpr (kStore) store_n(y + i, e.hi, count);
      if constexpr (kBelowMaxOnly) {
        const auto below = d.hi < zero;
        e = {select(below, e.hi, zero), select(below, e.lo, zero)};
      }
      sum.template add<k>(e.hi, e.lo);
    } else {
      const vd d = xv - m;
      vd e = exp_nonpositive_p6(d);
      if constexpr (kStore) store_n(y + i, e, count);
      if constexpr (kBelowMaxOnly) e = select(d < zero, e, zero);
      sum.template add<k>(e);
    }
  }
};

template <class S, bool kStore, bool kBelowMaxOnly>
SMAX_INLINE double_double sum_of_exp(const S* x, S* y, std::size_t n, double m) {
  exp_sum_body<S, kStore, kBelowMaxOnly> body{x, y, vd::splat(m), vd::splat(-m), accumulator<S>::zero()};
  sweep(n, body);
  return body.sum.total();
}

// log of the row sum. Below 1 + 2^-20 exactly one element equals the maximum
// and the others' total t is partly lost in the rounding of 1 + t, so t is
// summed again on its own and log(1 + t) keeps its relative accuracy.
template <class S>
SMAX_INLINE double_double log_of_row_sum(const S* x, std::size_t n, double m, double_double sum) {
  if ((sum.hi - 1.0) + sum.lo < 0x1p-20) {
    const double_double t = sum_of_exp<S, false, true>(x, nullptr, n, m);
    const double_double one_plus_t = two_sum(1.0, t.hi);
    return log_of_sum(one_plus_t.hi, one_plus_t.lo + t.lo);
  }
  return log_of_sum(sum.hi, sum.lo);
}

// The same log, when the terms exp(x - max) are stored in y but x may be gone
// (overwritten in place): the terms below the maximum's exact 1 are summed from
// y. In that case all of them are below 2^-20, so none was rounded up to 1.
template <class S>
struct terms_below_one_body {
  const S* y;
  accumulator<S> sum;

  template <int k>
  SMAX_INLINE void step(std::size_t i, std::size_t count) {
    const vd one = vd::splat(1.0);
    const vd e = load_n(y + i, count, 1.0);
    sum.template add<k>(select(e < one, e, vd::splat(0.0)));
  }
};

template <class S>
SMAX_INLINE double_double log_of_stored_row_sum(const S* y, std::size_t n, double_double sum) {
  if ((sum.hi - 1.0) + sum.lo < 0x1p-20) {
    terms_below_one_body<S> body{y, accumulator<S>::zero()};
    sweep(n, body);
    const double_double t = body.sum.total();
    const double_double one_plus_t = two_sum(1.0, t.hi);
    return log_of_sum(one_plus_t.hi, one_plus_t.lo + t.lo);
  }
  return log_of_sum(sum.hi, sum.lo);
}

// ---- pass 3 ----------------------------------------------------------------

// y *= 1 / sum. For double data 1/sum is a pair and the product is fused, so the
// step adds a single rounding.
template <class S>
struct scale_body {
  S* y;
  vd inv_hi;
  vd inv_lo;

  template <int k>
  SMAX_INLINE void step(std::size_t i, std::size_t count) {
    const vd e = load_n(y + i, count, 0.0);
    if constexpr (kExactStorage<S>) {
      store_n(y + i, mul_add(e, inv_hi, e * inv_lo), count);
    } else {
      store_n(y + i, e * inv_hi, count);
    }
  }
};

// y = (x - max) - log(sum).
template <class S>
struct log_softmax_body {
  const S* x;
  S* y;
  vd neg_m;
  vd log_hi;
  vd log_lo;

  template <int k>
  SMAX_INLINE void step(std::size_t i, std::size_t count) {
    const vd xv = load_n(x + i, count, 0.0);
    if constexpr (kExactStorage<S>) {
      // Both parts of x - max are <= 0 and both parts of the log >= 0: no cancellation.
      const vd_pair d = exact_difference(xv, neg_m);
      store_n(y + i, (d.hi - log_hi) + (d.lo - log_lo), count);
    } else {
      store_n(y + i, (xv + neg_m) - log_hi, count);
    }
  }
};

// ---- rows -------------------------------------------------------------------

template <class S>
SMAX_INLINE void fill_nan(S* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = static_cast<S>(constants::kNaN);
}

// A row whose maximum is not finite: all -inf, or containing +inf or NaN.
template <class S>
SMAX_INLINE double logsumexp_of_special_row(const S* x, std::size_t n, double m) {
  for (std::size_t i = 0; i < n; ++i) {
    if (x[i] != x[i]) return constants::kNaN;
  }
  return m;  // -inf for an all -inf row, +inf when +inf is present
}

template <class S>
SMAX_INLINE void softmax_row(const S* x, S* y, std::size_t n) {
  const double m = row_max(x, n);
  if (!std::isfinite(m)) return fill_nan(y, n);
  const double_double sum = sum_of_exp<S, true, false>(x, y, n, m);
  const double_double inv = reciprocal_of_sum(sum.hi, sum.lo);
  scale_body<S> body{y, vd::splat(inv.hi), vd::splat(inv.lo)};
  sweep(n, body);
}

template <class S>
SMAX_INLINE void log_softmax_row(const S* x, S* y, std::size_t n) {
  const double m = row_max(x, n);
  if (!std::isfinite(m)) return fill_nan(y, n);
  const double_double log_sum = log_of_row_sum(x, n, m, sum_of_exp<S, false, false>(x, nullptr, n, m));
  log_softmax_body<S> body{x, y, vd::splat(-m), vd::splat(log_sum.hi), vd::splat(log_sum.lo)};
  sweep(n, body);
}

template <class S>
SMAX_INLINE double logsumexp_row(const S* x, std::size_t n) {
  const double m = row_max(x, n);
  if (!std::isfinite(m)) return logsumexp_of_special_row(x, n, m);
  const double_double log_sum = log_of_row_sum(x, n, m, sum_of_exp<S, false, false>(x, nullptr, n, m));
  const double_double total = two_sum(m, log_sum.hi);
  return total.hi + (total.lo + log_sum.lo);
}

template <class S>
void softmax_rows(const S* x, std::size_t x_stride, S* y, std::size_t y_stride, std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r) softmax_row(x + r * x_stride, y + r * y_stride, cols);
}

template <class S>
void log_softmax_rows(const S* x, std::size_t x_stride, S* y, std::size_t y_stride, std::size_t rows,
                      std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r) log_softmax_row(x + r * x_stride, y + r * y_stride, cols);
}

template <class S>
void logsumexp_rows(const S* x, std::size_t x_stride, S* out, std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r) out[r] = static_cast<S>(logsumexp_row(x + r * x_stride, cols));
}
