// Row kernels, written once over the vector layer. No include guard:
// arch/<isa>.hpp includes this file inside its own namespace and target region,
// after its vector layer and math-inl.hpp, so each ISA gets its own copy.
//
// Precision plan. Float data is computed in double: x - max is then exact (or
// off by 2^-53 relative where it no longer matters), exp carries 2^-28 relative
// error, and the row sum is a plain double sum. Double data is computed with
// error-free transformations: x - max is kept as an exact pair, exp returns
// its rounding residual, and the row sum is compensated (Kahan) with the
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

SMAX_INLINE void kahan_add(vd& sum, vd& compensation, vd v) {
  const vd y = v - compensation;
  const vd t = sum + y;
  compensation = (t - sum) - y;
  sum = t;
}

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
  vd sum[4];
  vd compensation[4];  // Kahan compensation (double data)
  vd residual[4];      // sum of exp's rounding residuals (double data)

  template <int k>
  SMAX_INLINE void step(std::size_t i, std::size_t count) {
    const vd xv = load_n(x + i, count, -constants::kInf);
    const vd zero = vd::splat(0.0);
    if constexpr (kExactStorage<S>) {
      const vd_pair d = exact_difference(xv, neg_m);
      vd_pair e = exp_nonpositive_dd(d.hi, d.lo);
      if constexpr (kStore) store_n(y + i, e.hi, count);
      if constexpr (kBelowMaxOnly) {
        const auto below = d.hi < zero;
        e = {select(below, e.hi, zero), select(below, e.lo, zero)};
      }
      kahan_add(sum[k], compensation[k], e.hi);
      residual[k] = residual[k] + e.lo;
    } else {
      const vd d = xv - m;
      vd e = exp_nonpositive_p6(d);
      if constexpr (kStore) store_n(y + i, e, count);
      if constexpr (kBelowMaxOnly) e = select(d < zero, e, zero);
      sum[k] = sum[k] + e;
    }
  }

  // The row sum. For double data it is accumulated lane by lane in double-double.
  SMAX_INLINE double_double total() const {
    if constexpr (kExactStorage<S>) {
      double hi = 0.0, lo = 0.0;
      for (int k = 0; k < 4; ++k) {
        double s[vd::lanes], c[vd::lanes], r[vd::lanes];
        sum[k].store(s);
        compensation[k].store(c);
        residual[k].store(r);
        for (std::size_t lane = 0; lane < vd::lanes; ++lane) {
          const double_double t = two_sum(hi, s[lane]);
          hi = t.hi;
          lo += t.lo + (r[lane] - c[lane]);
        }
      }
      return fast_two_sum(hi, lo);
    } else {
      return {reduce_add((sum[0] + sum[1]) + (sum[2] + sum[3])), 0.0};
    }
  }
};

template <class S, bool kStore, bool kBelowMaxOnly>
SMAX_INLINE double_double sum_of_exp(const S* x, S* y, std::size_t n, double m) {
  const vd zero = vd::splat(0.0);
  exp_sum_body<S, kStore, kBelowMaxOnly> body{
      x, y, vd::splat(m), vd::splat(-m), {zero, zero, zero, zero}, {zero, zero, zero, zero}, {zero, zero, zero, zero}};
  sweep(n, body);
  return body.total();
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

inline constexpr kernel_table table = {
    {&softmax_rows<float>, &log_softmax_rows<float>, &logsumexp_rows<float>},
    {&softmax_rows<double>, &log_softmax_rows<double>, &logsumexp_rows<double>},
};
