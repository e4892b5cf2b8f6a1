// Row kernels, written once over the vector layer. No include guard:
// arch/<isa>.hpp includes this file inside its own namespace and target region,
// after its vector layer and math-inl.hpp, so each ISA gets its own copy.
//
// Precision plan. Float data is computed in double: x - max is then exact (or
// off by 2^-53 relative where it no longer matters), exp carries 2^-28 relative
// error, and the row sum is a plain double sum. Plain float rows on ISAs with a
// register table lookup (AVX2, AVX-512) instead stay in float lanes with the
// same budget: an exact exp argument, a table-driven exp within 2^-28 before
// its one rounding, and a row sum kept exact with Fast2Sum (see "float rows
// in float lanes" below). Double data is computed with
// error-free transformations: x - max is kept as an exact pair, exp returns
// its rounding residual, and the row sum is compensated (TwoSum) with the
// residuals added on the side. The per-row log and reciprocal are computed in
// double-double (scalar_math.hpp). See the bounds in the public headers.

// Fixed reduction order everywhere: four accumulators per row, combined the
// same way every time, so results do not depend on anything but the ISA.
template <class V, class Body>
SMAX_INLINE void sweep(std::size_t n, Body& body) {
  constexpr std::size_t L = V::lanes;
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
template <class V, class S>
SMAX_INLINE V load_n(const S* p, std::size_t count, typename V::lane fill) {
  return count == V::lanes ? V::load(p) : V::load_partial(p, count, fill);
}

template <class V, class S>
SMAX_INLINE void store_n(S* p, V v, std::size_t count) {
  if (count == V::lanes) {
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
    // The four accumulators into one, exactly (vector TwoSum), then the lanes.
    vd total = sum[0], low = (error[0] + residual[0]) + ((error[1] + residual[1]) + (error[2] + residual[2])) +
                             (error[3] + residual[3]);
    for (int k = 1; k < 4; ++k) compensated_add(total, low, sum[k]);
    double s[vd::lanes], c[vd::lanes];
    total.store(s);
    low.store(c);
    double hi = 0.0, lo = 0.0;
    for (std::size_t lane = 0; lane < vd::lanes; ++lane) {
      const double_double t = two_sum(hi, s[lane]);
      hi = t.hi;
      lo += t.lo + c[lane];
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

// ---- logit sources: what the passes read as a row --------------------------------

// The row as given.
template <class S>
struct plain_logits {
  const S* x;
  bool masking = false;

  SMAX_INLINE plain_logits shifted(std::size_t offset) const { return {x + offset, masking}; }
  template <class V>
  SMAX_INLINE V load(std::size_t i, std::size_t count, typename V::lane fill) const {
    return load_n<V>(x + i, count, fill);
  }
  // z - m as an exact pair (double data).
  SMAX_INLINE vd_pair difference(std::size_t i, std::size_t count, vd neg_m) const {
    return exact_difference(load<vd>(i, count, -constants::kInf), neg_m);
  }
};

// softcap(scale * x) + bias, with masked columns at -inf (see logit_transform).
template <class S>
struct transformed_logits {
  const S* x;
  const S* bias;
  const std::uint8_t* keep;
  double scale;
  double softcap;
  std::ptrdiff_t limit;  // the last column kept (causal); cols without causality
  bool masking;

  // limit is clamped to [-1, cols] when the source is made, so this cannot overflow.
  SMAX_INLINE transformed_logits shifted(std::size_t offset) const {
    return {x + offset,
            bias ? bias + offset : nullptr,
            keep ? keep + offset : nullptr,
            scale,
            softcap,
            limit - static_cast<std::ptrdiff_t>(offset),
            masking};
  }
  // keep and causal masks, then `fill` in lanes past count.
  SMAX_INLINE vd masked(vd z, std::size_t i, std::size_t count, double fill) const {
    const vd minus_inf = vd::splat(-constants::kInf);
    if (keep) z = select(nonzero_bytes(keep + i, count), z, minus_inf);
    const std::ptrdiff_t last = limit - static_cast<std::ptrdiff_t>(i);  // lane of the last column kept
    if (last < static_cast<std::ptrdiff_t>(vd::lanes) - 1) {
      z = keep_first(z, last < 0 ? 0 : static_cast<std::size_t>(last) + 1, -constants::kInf);
    }
    return count == vd::lanes ? z : keep_first(z, count, fill);
  }
  template <class V>
  SMAX_INLINE vd load(std::size_t i, std::size_t count, double fill) const {
    static_assert(std::is_same_v<V, vd>, "transformed logits are computed in double");
    vd z = load_n<vd>(x + i, count, 0.0) * vd::splat(scale);
    if (softcap > 0.0) z = softcapped(z, softcap);
    if (bias) z = z + load_n<vd>(bias + i, count, 0.0);
    return masked(z, i, count, fill);
  }
  // scale * x + bias - m as a pair, the product and the sums exact (double data).
  SMAX_INLINE vd_pair difference(std::size_t i, std::size_t count, vd neg_m) const {
    const vd xv = load_n<vd>(x + i, count, 0.0), s = vd::splat(scale);
    vd hi = xv * s;
    vd lo = product_error(xv, s, hi);
    if (bias) {
      const vd b = load_n<vd>(bias + i, count, 0.0);
      const vd sum = hi + b, bb = sum - hi;
      lo = lo + ((hi - (sum - bb)) + (b - bb));
      hi = sum;
    }
    const vd_pair d = exact_difference(masked(hi, i, count, -constants::kInf), neg_m);
    // An infinite product or sum leaves a NaN error term: keep it finite.
    return {d.hi, min(max(d.lo + lo, vd::splat(-1.0)), vd::splat(1.0))};
  }
};

// ---- pass 1: the row maximum ------------------------------------------------

// Float data as given is compared as float: twice the lanes of the double passes.
template <class S, class Source = plain_logits<S>>
using max_vector = std::conditional_t<sizeof(S) == sizeof(float) && std::is_same_v<Source, plain_logits<S>>, vf, vd>;

template <class S, class Source>
struct max_body {
  using V = max_vector<S, Source>;
  Source src;
  V acc[4];

  template <int k>
  SMAX_INLINE void step(std::size_t i, std::size_t count) {
    acc[k] = max(acc[k], src.template load<V>(i, count, -std::numeric_limits<typename V::lane>::infinity()));
  }
};

// The maximum, exact. A NaN in the row may or may not surface here (max()
// drops NaN operands); a NaN that does not surface makes the row sum NaN later.
template <class S, class Source>
SMAX_INLINE double source_max(const Source& src, std::size_t n) {
  using V = max_vector<S, Source>;
  const V lowest = V::splat(-std::numeric_limits<typename V::lane>::infinity());
  max_body<S, Source> body{src, {lowest, lowest, lowest, lowest}};
  sweep<V>(n, body);
  return static_cast<double>(reduce_max(max(max(body.acc[0], body.acc[1]), max(body.acc[2], body.acc[3]))));
}

template <class S>
SMAX_INLINE double row_max(const S* x, std::size_t n) {
  return source_max<S>(plain_logits<S>{x}, n);
}

// ---- pass 2: sum of exp(x - max), optionally storing the terms ----------------

// kStore: write exp(x - max) to y. kSumMinusOne: sum exp(d) - 1 for the terms
// with d >= -1/2 instead of exp(d), for the log1p form of a row sum that is
// 1 + tiny: there the maximum is the only such term (any other would add at
// least e^-1/2), its d is 0 or, for transformed double logits taken as exact
// pairs, within an ulp of it, and exp(d) - 1 = (hi - 1) + lo is exact.
template <class S, class Source, bool kStore, bool kSumMinusOne>
struct exp_sum_body {
  Source src;
  S* y;
  vd m;      // the row maximum (float data)
  vd neg_m;  // its negation (double data)
  accumulator<S> sum;

  template <int k>
  SMAX_INLINE void step(std::size_t i, std::size_t count) {
    if constexpr (kExactStorage<S>) {
      const vd_pair d = src.difference(i, count, neg_m);
      vd_pair e = exp_dd(d.hi, d.lo);
      if constexpr (kStore) store_n(y + i, e.hi, count);
      if constexpr (kSumMinusOne) e.hi = select(d.hi < vd::splat(-0.5), e.hi, e.hi - vd::splat(1.0));
      sum.template add<k>(e.hi, e.lo);
    } else {
      const vd d = src.template load<vd>(i, count, -constants::kInf) - m;
      vd e = exp_nonpositive_p6(d);
      if constexpr (kStore) store_n(y + i, e, count);
      if constexpr (kSumMinusOne) e = select(d < vd::splat(-0.5), e, e - vd::splat(1.0));
      sum.template add<k>(e);
    }
  }
};

template <class S, bool kStore, bool kSumMinusOne, class Source>
SMAX_INLINE double_double source_sum_of_exp(const Source& src, S* y, std::size_t n, double m) {
  exp_sum_body<S, Source, kStore, kSumMinusOne> body{src, y, vd::splat(m), vd::splat(-m), accumulator<S>::zero()};
  sweep<vd>(n, body);
  return body.sum.total();
}

template <class S, bool kStore, bool kSumMinusOne>
SMAX_INLINE double_double sum_of_exp(const S* x, S* y, std::size_t n, double m) {
  return source_sum_of_exp<S, kStore, kSumMinusOne>(plain_logits<S>{x}, y, n, m);
}

// log of the row sum. Near 1 (see row_sum_near_one), t = sum - 1 is summed
// again on its own.
template <class S, class Source>
SMAX_INLINE double_double source_log_of_row_sum(const Source& src, std::size_t n, double m, double_double sum) {
  if (row_sum_near_one(sum)) {
    return log_of_one_plus(source_sum_of_exp<S, false, true>(src, static_cast<S*>(nullptr), n, m));
  }
  return log_of_plain_row_sum<S>(sum);
}

template <class S>
SMAX_INLINE double_double log_of_row_sum(const S* x, std::size_t n, double m, double_double sum) {
  return source_log_of_row_sum<S>(plain_logits<S>{x}, n, m, sum);
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
    const vd e = load_n<vd>(y + i, count, 1.0);
    sum.template add<k>(select(e < one, e, vd::splat(0.0)));
  }
};

template <class S>
SMAX_INLINE double_double log_of_stored_row_sum(const S* y, std::size_t n, double_double sum) {
  if (row_sum_near_one(sum)) {
    terms_below_one_body<S> body{y, accumulator<S>::zero()};
    sweep<vd>(n, body);
    return log_of_one_plus(body.sum.total());
  }
  return log_of_sum(sum.hi, sum.lo);
}

// ---- float rows in float lanes -------------------------------------------
//
// On ISAs with kFloatTableExp, plain float rows whose maximum m is below 2^24
// in magnitude take the float-lane exp of math-inl.hpp, with twice the lanes
// of the double passes. What float arithmetic cannot give exactly is x - m,
// so the exp's argument is one of two exact values:
// - x - m itself where it is exact: for m >= 224 or m <= -112 every logit
//   that matters (x >= m - 111; below, exp(x - m) < 2^-150 rounds to 0) is
//   within a factor 2 of m (Sterbenz).
// - otherwise x itself (|x| < 224 after the clamp), with a power of two
//   2^-K taken off the exponent and, where needed, a factor F near 1.
// So the only errors are the exp's (below 2^-28 before its one rounding).

// The exp's argument u for one kind of row (kSubtractMax: x - m).
template <class V, bool kSubtractMax>
struct float_lane_argument {
  const float* x;
  V lower;  // m - 111: the clamp keeps -inf (and tail lanes) out of the exp
  V m;

  template <std::size_t B>
  SMAX_INLINE void load(std::size_t i, std::size_t count, V (&u)[B]) const {
    SMAX_UNROLL for (std::size_t b = 0; b < B; ++b) {
      // max() returns its second operand for a NaN, so a NaN logit stays NaN.
      u[b] = max(lower,
                 load_n<V>(x + i + b * V::lanes, B == 1 ? count : V::lanes, -std::numeric_limits<float>::infinity()));
      if constexpr (kSubtractMax) u[b] = u[b] - m;
    }
  }

  // exp(u) 2^-K for B vectors from i on, unrounded; exponent_bias is -K.
  template <std::size_t B>
  SMAX_INLINE void exp_parts(std::size_t i, std::size_t count, V exponent_bias, const float_exp_table<V>& table,
                             float_exp_parts<V> (&parts)[B]) const {
    V u[B], bias[B];
    load(i, count, u);
    SMAX_UNROLL for (std::size_t b = 0; b < B; ++b) bias[b] = exponent_bias;
    table_exp_parts(u, bias, table, parts);
  }
};

// Blocks of four vectors, then single vectors, then the tail.
template <class V, class Body>
SMAX_INLINE void float_lane_blocks(std::size_t n, Body& body) {
  constexpr std::size_t L = V::lanes;
  std::size_t i = 0;
  for (; i + 4 * L <= n; i += 4 * L) body.template block<4>(i, 4 * L);
  for (; i + L <= n; i += L) body.template block<1>(i, L);
  if (i < n) body.template block<1>(i, n - i);
}

// Sum of exp(u) 2^-K (kStore: the terms written to y). Each lane accumulates
// into a float that starts at 1: the terms are below 2, so the sum's exponent
// is never below a term's and Fast2Sum recovers every addition's rounding
// error exactly. Those errors and the terms' residuals go into a second
// float, whose own roundings cost at most k^2 2^-48 relative after k terms
// per lane (2^-26 for the 2048 of a 16384-float chunk on 8 lanes; typically
// far less, as the errors' signs vary). One accumulator pair: its chain is
// far shorter than a block's work, and registers are what the loop is short
// of. This sum of a row whose maximum term is not 1 is accurate relative to
// itself, not to sum - 1: see kFloatLaneLogFrom below.
template <class V>
SMAX_INLINE void accumulate_term(V& sum, V& error, const float_exp_result<V>& term) {
  const V total = sum + term.e;
  error = error + ((term.e - (total - sum)) + term.residual);
  sum = total;
}

// The accumulators' value. sum - 1 is exact: sum >= 1 and below 2^24, so 1 is
// a multiple of its ulp.
template <class V>
SMAX_INLINE double accumulated_total(V sum, V error) {
  float s[V::lanes], c[V::lanes];
  (sum - V::splat(1.0f)).store(s);
  error.store(c);
  vd t = vd::splat(0.0);
  for (std::size_t i = 0; i < V::lanes; i += vd::lanes) t = t + (vd::load(s + i) + vd::load(c + i));
  return reduce_add(t);
}

template <class V, bool kStore, bool kSubtractMax>
struct float_lane_exp_sum_body {
  float_lane_argument<V, kSubtractMax> arg;
  float* y;
  V exponent_bias;  // -K
  float_exp_table<V> table;
  V sum;    // 1 + the terms so far
  V error;  // the rounding errors of sum, plus the terms' residuals

  template <std::size_t B>
  SMAX_INLINE void block(std::size_t i, std::size_t count) {
    float_exp_parts<V> parts[B];
    arg.exp_parts(i, count, exponent_bias, table, parts);
    SMAX_UNROLL for (std::size_t b = 0; b < B; ++b) {
      const float_exp_result<V> term = rounded_exp(parts[b]);
      if constexpr (kStore) store_n(y + i + b * V::lanes, term.e, B == 1 ? count : V::lanes);
      accumulate_term(sum, error, term);
    }
  }
};

template <bool kStore, bool kSubtractMax, class V>
SMAX_INLINE double float_lane_sum(const float* x, float* y, std::size_t n, float m, float k) {
  float_lane_exp_sum_body<V, kStore, kSubtractMax> body{{x, V::splat(m - 111.0f), V::splat(m)},
                                                        y,
                                                        V::splat(-k),
                                                        float_exp_table<V>::make(),
                                                        V::splat(1.0f),
                                                        V::splat(0.0f)};
  float_lane_blocks<V>(n, body);
  return accumulated_total(body.sum, body.error);
}

// The shift of a row with maximum m: m where x - m is exact, else K ln2 with
// K = round(m / ln2), so that the terms stay below 2^(1/2).
struct float_lane_shift {
  bool exact_difference;  // x - m is exact for the logits that matter
  double k;               // else the terms are exp(x - k ln2)
  double shift;           // m or k ln2

  static SMAX_INLINE float_lane_shift of(float m) {
    if (m >= 224.0f || m <= -112.0f) return {true, 0.0, static_cast<double>(m)};
    const double k = std::round(static_cast<double>(m) * constants::kLog2e);
    return {false, k, k * constants::kLn2};
  }
};

// The row's sum of exp(x - shift) (kStore: the terms written to y) as
// {shift, sum}, for a finite float maximum m with |m| < 2^24.
template <bool kStore, class V = vf>
SMAX_INLINE row_stats float_lane_sum_of_exp(const float* x, float* y, std::size_t n, float m) {
  const float_lane_shift s = float_lane_shift::of(m);
  const double sum = s.exact_difference ? float_lane_sum<kStore, true, V>(x, y, n, m, 0.0f)
                                        : float_lane_sum<kStore, false, V>(x, y, n, m, static_cast<float>(s.k));
  return {s.shift, {sum, 0.0}};
}

// y = exp(u) 2^-K F, i.e. exp(x - m) / sum, rounded once: the online scheme's
// output sweep without a separate scaling.
template <class V, bool kSubtractMax>
struct float_lane_scaled_exp_body {
  float_lane_argument<V, kSubtractMax> arg;
  float* y;
  V exponent_bias;  // -K
  float_exp_table<V> table;
  V f_hi;
  V f_lo;

  template <std::size_t B>
  SMAX_INLINE void block(std::size_t i, std::size_t count) {
    float_exp_parts<V> parts[B];
    arg.exp_parts(i, count, exponent_bias, table, parts);
    SMAX_UNROLL for (std::size_t b = 0; b < B; ++b) {
      store_n(y + i + b * V::lanes, exp_times(parts[b], f_hi, f_lo), B == 1 ? count : V::lanes);
    }
  }
};

template <bool kSubtractMax, class V>
SMAX_INLINE void float_lane_scaled(const float* x, float* y, std::size_t n, float m, double k, double f) {
  const auto f_hi = static_cast<float>(f);
  float_lane_scaled_exp_body<V, kSubtractMax> body{{x, V::splat(m - 111.0f), V::splat(m)},
                                                   y,
                                                   V::splat(static_cast<float>(-k)),
                                                   float_exp_table<V>::make(),
                                                   V::splat(f_hi),
                                                   V::splat(static_cast<float>(f - static_cast<double>(f_hi)))};
  float_lane_blocks<V>(n, body);
}

// y = exp(x - m) inv for a finite float maximum m with |m| < 2^24 and a row
// sum's reciprocal inv (positive, finite): exp(u) 2^-K F with K = round(log2(e^a / inv)),
// a = 0 where x - m is exact (u = x - m) and m otherwise (u = x), so that
// F = e^-a inv 2^K is within a factor 2^(1/2) of 1 and held as a float pair
// (F in double is within 2^-52 of exact: one exp and a product).
template <class V = vf>
SMAX_INLINE void float_lane_exp_scaled(const float* x, float* y, std::size_t n, float m, double_double inv) {
  const double inv_d = inv.hi + inv.lo;
  if (m >= 224.0f || m <= -112.0f) {
    const double k = std::round(-std::log2(inv_d));
    return float_lane_scaled<true, V>(x, y, n, m, k, std::ldexp(inv_d, static_cast<int>(k)));
  }
  const double k = std::round((static_cast<double>(m) - std::log(inv_d)) * constants::kLog2e);
  const double f = std::exp(k * constants::kLn2 - static_cast<double>(m)) * inv_d;
  float_lane_scaled<false, V>(x, y, n, m, k, f);
}

// Whether rows of S read through Source can take the float-lane path (those
// whose maximum passes float_lane_applies do).
template <class S, class Source>
SMAX_INLINE constexpr bool float_lane_kind() {
  return kFloatTableExp && std::is_same_v<S, float> && std::is_same_v<Source, plain_logits<float>>;
}

SMAX_INLINE bool float_lane_applies(double m) { return m < 0x1p24 && m > -0x1p24; }

// The sum of exp(z - shift) over the row (kStore: the terms written to y), as
// {shift, sum}. The shift is m except on the float-lane path.
template <class S, bool kStore, class Source>
SMAX_INLINE row_stats shifted_sum_of_exp(const Source& src, S* y, std::size_t n, double m) {
  if constexpr (float_lane_kind<S, Source>()) {
    if (float_lane_applies(m)) return float_lane_sum_of_exp<kStore>(src.x, y, n, static_cast<float>(m));
  }
  return {m, source_sum_of_exp<S, kStore, false>(src, y, n, m)};
}

// A shifted sum taken back to the shift m (|s.m - m| <= ln2 / 2 here). The
// factor's error, 2^-52 plus the rounding of K ln2 to double (2^-45 at
// K = 324), is far below what float results can see.
SMAX_INLINE double_double rebased_sum(row_stats s, double m) {
  if (s.m == m) return s.sum;
  const double factor = std::exp(s.m - m);
  return {s.sum.hi * factor, s.sum.lo * factor};
}

// The row sum with shift m, for log S, from a shifted sum of the same row. A
// float-lane sum is accurate relative to itself, which log S needs only where
// log S is not small: below S = kFloatLaneLogFrom the row is summed again on
// the double path, where the maximum's term is exactly 1 and every other term
// carries its error relative to itself, so that S - 1 (and log S, and a
// log-probability near 0) keeps its relative accuracy.
inline constexpr double kFloatLaneLogFrom = 2.0;

template <class S, class Source>
SMAX_INLINE double_double sum_for_log(const Source& src, std::size_t n, double m, row_stats shifted) {
  const double_double sum = rebased_sum(shifted, m);
  if constexpr (float_lane_kind<S, Source>()) {
    if (!(sum.hi >= kFloatLaneLogFrom)) return source_sum_of_exp<S, false, false>(src, static_cast<S*>(nullptr), n, m);
  }
  return sum;
}

template <class S, class Source>
SMAX_INLINE double_double sum_of_exp_from_max(const Source& src, std::size_t n, double m) {
  return sum_for_log<S>(src, n, m, shifted_sum_of_exp<S, false>(src, static_cast<S*>(nullptr), n, m));
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
    const vd e = load_n<vd>(y + i, count, 0.0);
    if constexpr (kExactStorage<S>) {
      store_n(y + i, mul_add(e, inv_hi, e * inv_lo), count);
    } else {
      store_n(y + i, e * inv_hi, count);
    }
  }
};

// The same for float data where mul_add is fused, with twice the lanes: 1/sum
// is split into two floats and e * hi + (e * lo) rounded once, as the double
// product would be. Both are scaled by 2^24 so that e * lo stays normal down to
// results of FLT_MIN; the final exact (or, for subnormal results, single)
// rounding by 2^-24 then costs nothing.
struct scale_float_body {
  float* y;
  vf inv_hi;  // 2^24 / sum, high part
  vf inv_lo;  // 2^24 / sum, low part

  template <int k>
  SMAX_INLINE void step(std::size_t i, std::size_t count) {
    const vf e = load_n<vf>(y + i, count, 0.0f);
    store_n(y + i, mul_add(e, inv_hi, e * inv_lo) * vf::splat(0x1p-24f), count);
  }
};

// The factor of scale_float_body, 2^24 inv as a float pair; false where it
// does not fit: a larger factor (cross-entropy's z-loss scale with logits near
// FLT_MAX) would become inf and turn 0 * inf into NaN (found by
// fuzz_cross_entropy), so it goes through doubles.
SMAX_INLINE bool float_scale_pair(double inv, float& hi, float& lo) {
  const double scaled = inv * 0x1p24;
  if (!(scaled < 0x1p126 && scaled > -0x1p126)) return false;
  hi = static_cast<float>(scaled);
  lo = static_cast<float>(scaled - static_cast<double>(hi));
  return true;
}

template <class S>
SMAX_INLINE void scale_row(S* y, std::size_t n, double_double inv) {
  if constexpr (!kExactStorage<S> && kFusedMulAdd) {
    float hi, lo;
    if (float_scale_pair(inv.hi, hi, lo)) {
      scale_float_body body{y, vf::splat(hi), vf::splat(lo)};
      sweep<vf>(n, body);
      return;
    }
  }
  scale_body<S> body{y, vd::splat(inv.hi), vd::splat(inv.lo)};
  sweep<vd>(n, body);
}

// y = (x - max) - log(sum). For float data in float: x - max and log(sum) are
// each at most |y| in size (x - max <= 0 <= log(sum)), so the three roundings
// cost at most 1.5 ulp of y. Transformed logits are computed in double.
template <class S, class Source>
struct log_softmax_body {
  using V = max_vector<S, Source>;
  Source src;
  S* y;
  V neg_m;
  V log_hi;
  V log_lo;

  template <int k>
  SMAX_INLINE void step(std::size_t i, std::size_t count) {
    if constexpr (kExactStorage<S>) {
      // Both parts of x - max are <= 0 and both parts of the log >= 0: no cancellation.
      const vd_pair d = src.difference(i, count, neg_m);
      store_n(y + i, (d.hi - log_hi) + (d.lo - log_lo), count);
    } else {
      store_n(y + i, (src.template load<V>(i, count, 0) + neg_m) - log_hi, count);
    }
  }
};

// ---- rows -------------------------------------------------------------------

template <class S>
SMAX_INLINE void fill_row(S* y, std::size_t n, double value) {
  for (std::size_t i = 0; i < n; ++i) y[i] = static_cast<S>(value);
}

template <class S>
SMAX_INLINE void fill_nan(S* y, std::size_t n) {
  fill_row(y, n, constants::kNaN);
}

// Whether any logit of the row is NaN (the rare rows without a finite maximum).
template <class S, class Source>
SMAX_INLINE bool has_nan(const Source& src, std::size_t n) {
  for (std::size_t i = 0; i < n; i += vd::lanes) {
    double z[vd::lanes];
    src.template load<vd>(i, n - i < vd::lanes ? n - i : vd::lanes, 0.0).store(z);
    for (double v : z) {
      if (v != v) return true;
    }
  }
  return false;
}

// A row whose maximum is not finite: all -inf (or fully masked), or holding +inf
// or NaN: NaN, else the maximum (-inf, or +inf).
template <class S, class Source>
SMAX_INLINE double logsumexp_of_special_row(const Source& src, std::size_t n, double m) {
  return has_nan<S>(src, n) ? constants::kNaN : m;
}

// exp(a - b) for a <= b, with a - b taken exactly (as a pair for double data).
template <class S>
SMAX_INLINE double_double exp_of_difference(double a, double b) {
  if constexpr (kExactStorage<S>) {
    const vd_pair d = exact_difference(vd::splat(a), vd::splat(-b));
    const vd_pair e = exp_dd(d.hi, d.lo);
    return {first_lane(e.hi), first_lane(e.lo)};
  } else {
    return {first_lane(exp_nonpositive_p6(vd::splat(a - b))), 0.0};  // float a, b: exact in double
  }
}

SMAX_INLINE double_double product(double_double a, double_double b) {
  const double p = a.hi * b.hi;
  return fast_two_sum(p, std::fma(a.hi, b.hi, -p) + (mul(a.hi, b.lo) + mul(a.lo, b.hi)));
}

// ---- long rows ----------------------------------------------------------------
//
// A row longer than one chunk (64 KiB of input) is processed chunk by chunk:
// each chunk yields its own (max, sum of exp(x - max)), the chunks' statistics
// merge in a fixed order, and a last sweep writes the outputs. Chunks are what
// threads share out, so the result never depends on the thread count; and a
// chunk stays in L2 between its passes, so out of cache the input is read from
// memory once for the statistics.

template <class S>
inline constexpr std::size_t kChunk = 65536 / sizeof(S);

template <class S>
SMAX_INLINE std::size_t chunks_of(std::size_t n) {
  return (n + kChunk<S> - 1) / kChunk<S>;
}

template <class S>
SMAX_INLINE std::size_t chunk_length(std::size_t n, std::size_t c) {
  return n - c * kChunk<S> < kChunk<S> ? n - c * kChunk<S> : kChunk<S>;
}

// One read per chunk (Dukhan and Ablavatski, "Two-pass softmax algorithm",
// 2020): no max pass; the terms are exp(u) 2^-E for the largest power E seen
// so far, u = max(lower, x). When a block holds a term of 2 or more, E grows
// by that term's exponent and the sum so far is scaled by the exact power of
// two 2^-delta, so every term stays below 2 and the float-lane accumulators
// (see accumulate_term) keep their accuracy. The clamp `lower` stays within
// 111 of E ln2: whatever lies below contributes under 2^-160 and rounds to 0,
// as it does for the max-subtracting sum, and the exponents stay in the range
// ldexp_floor handles. The clamp is at least -336 (the exp's range), which
// is harmless while the chunk's maximum is at least -225; chunks that are
// not (or whose maximum is above 336, or that hold NaN or inf) are summed
// again the usual way.
template <class V>
struct float_lane_exponent_sum_body {
  static constexpr float kLowestArgument = -336.0f;
  static constexpr float kFlushedTerm = -160.0f;  // below 2^-150: rounds to 0

  const float* x;
  float_exp_table<V> table;
  float power = -1000.0f;  // E: any first term is far above 2 and sets it
  V neg_power = V::splat(1000.0f);
  V lower = V::splat(kLowestArgument);
  V largest = V::splat(kLowestArgument);
  V sum = V::splat(1.0f);  // 1 + the terms so far, as in float_lane_exp_sum_body
  V error = V::splat(0.0f);

  template <std::size_t B>
  SMAX_INLINE void block(std::size_t i, std::size_t count) {
    V u[B], bias[B];
    SMAX_UNROLL for (std::size_t b = 0; b < B; ++b) {
      u[b] = max(lower,
                 load_n<V>(x + i + b * V::lanes, B == 1 ? count : V::lanes, -std::numeric_limits<float>::infinity()));
      largest = max(largest, u[b]);
      bias[b] = neg_power;
    }
    float_exp_parts<V> parts[B];
    table_exp_parts(u, bias, table, parts);
    V top = parts[0].exponent;
    SMAX_UNROLL for (std::size_t b = 1; b < B; ++b) top = max(top, parts[b].exponent);
    // exponent >= 1 is a term of 2 or more (the exponents are multiples of 1/N).
    if (any(V::splat(0x1.fffffep-1f) < top)) raise_power(top, parts);
    SMAX_UNROLL for (std::size_t b = 0; b < B; ++b) accumulate_term(sum, error, rounded_exp(parts[b]));
  }

  template <std::size_t B>
  void raise_power(V top, float_exp_parts<V> (&parts)[B]) {
    // delta >= 1, or NaN (a NaN logit), which makes power NaN and the chunk
    // fall back.
    const float delta = std::floor(reduce_max(top));
    power += delta;
    neg_power = V::splat(-power);
    lower = max(V::splat(kLowestArgument), V::splat(power * static_cast<float>(constants::kLn2) - 111.0f));
    const V shift = V::splat(delta);
    // max() keeps a NaN exponent NaN (its second operand).
    SMAX_UNROLL for (std::size_t b = 0; b < B; ++b) {
      parts[b].exponent = max(V::splat(kFlushedTerm), parts[b].exponent - shift);
    }
    // sum - 1 is exact (see accumulated_total), and so is its scaling unless
    // it falls below 2^-126 of the new leading term; 1 + it is a 2Sum.
    const V scale = V::splat(delta < 127.0f ? std::ldexp(1.0f, -static_cast<int>(delta)) : 0.0f);
    const V one = V::splat(1.0f);
    const V scaled = (sum - one) * scale;
    const V total = one + scaled;
    const V scaled_part = total - one;
    const V rounding = (one - (total - scaled_part)) + (scaled - scaled_part);
    error = mul_add(error, scale, rounding);
    sum = total;
  }
};

// The chunk's (max, sum of exp(x - max)) from one read, or false where it
// must be summed the usual way.
template <class V = vf>
SMAX_INLINE bool float_lane_one_read_stats(const plain_logits<float>& src, std::size_t n, row_stats& out) {
  float_lane_exponent_sum_body<V> body{src.x, float_exp_table<V>::make()};
  float_lane_blocks<V>(n, body);
  const float m = reduce_max(body.largest);
  const double total = accumulated_total(body.sum, body.error);
  if (!(m >= -225.0f && m <= 336.0f) || !std::isfinite(total) || !std::isfinite(body.power)) return false;
  const double shift = static_cast<double>(body.power) * constants::kLn2;
  out = {static_cast<double>(m), sum_for_log<float>(src, n, static_cast<double>(m), row_stats{shift, {total, 0.0}})};
  return true;
}

// Statistics of one chunk; kStore also writes exp(x - shift) to y, and the
// statistics then give that shift as m (see shifted_sum_of_exp). one_read:
// float-lane chunks take float_lane_one_read_stats.
template <class S, bool kStore, class Source>
SMAX_INLINE row_stats chunk_stats(const Source& src, S* y, std::size_t n, bool one_read = false) {
  if constexpr (!kStore && float_lane_kind<S, Source>()) {
    row_stats stats;
    if (one_read && float_lane_one_read_stats(src, n, stats)) return stats;
  }
  const double m = source_max<S>(src, n);
  if (m == -constants::kInf) {
    if constexpr (kStore) fill_row(y, n, 0.0);
    return {m, {0.0, 0.0}};
  }
  if (!std::isfinite(m)) return {m, {constants::kNaN, 0.0}};
  // Stored terms are relative to the shift, so the chunk reports it as its m.
  if constexpr (kStore) {
    return shifted_sum_of_exp<S, true>(src, y, n, m);
  } else {
    return {m, sum_of_exp_from_max<S>(src, n, m)};
  }
}

template <class S, class Source, bool kStore>
struct chunk_stats_task {
  Source src;
  S* y;
  std::size_t n;
  row_stats* stats;
  bool one_read;

  void operator()(std::size_t begin, std::size_t end) const {
    for (std::size_t c = begin; c < end; ++c) {
      const std::size_t offset = c * kChunk<S>;
      stats[c] =
          chunk_stats<S, kStore>(src.shifted(offset), kStore ? y + offset : nullptr, chunk_length<S>(n, c), one_read);
    }
  }
};

// The row's statistics from its chunks', in chunk order. A NaN maximum anywhere
// makes the row's NaN; -inf chunks contribute nothing.
template <class S>
SMAX_INLINE row_stats merge_stats(const row_stats* stats, std::size_t chunks) {
  double m = -constants::kInf;
  for (std::size_t c = 0; c < chunks; ++c) {
    if (stats[c].m != stats[c].m) return {constants::kNaN, {constants::kNaN, 0.0}};
    m = stats[c].m > m ? stats[c].m : m;
  }
  if (!std::isfinite(m)) return {m, {constants::kNaN, 0.0}};
  double hi = 0.0, lo = 0.0;
  for (std::size_t c = 0; c < chunks; ++c) {
    if (stats[c].m == -constants::kInf) continue;
    const double_double term = product(stats[c].sum, exp_of_difference<S>(stats[c].m, m));
    const double_double t = two_sum(hi, term.hi);
    hi = t.hi;
    lo += t.lo + term.lo;
  }
  return {m, fast_two_sum(hi, lo)};
}

template <class S>
struct chunk_scale_task {
  S* y;
  std::size_t n;
  const double_double* factor;

  void operator()(std::size_t begin, std::size_t end) const {
    for (std::size_t c = begin; c < end; ++c) scale_row(y + c * kChunk<S>, chunk_length<S>(n, c), factor[c]);
  }
};

// exp(z - m) / sum written directly (the two-pass scheme's output sweep).
template <class S, class Source>
struct exp_scaled_body {
  Source src;
  S* y;
  vd neg_m;
  vd inv_hi;
  vd inv_lo;

  template <int k>
  SMAX_INLINE void step(std::size_t i, std::size_t count) {
    if constexpr (kExactStorage<S>) {
      const vd_pair d = src.difference(i, count, neg_m);
      const vd_pair e = exp_dd(d.hi, d.lo);
      store_n(y + i, mul_add(e.hi, inv_hi, e.lo * inv_hi + e.hi * inv_lo), count);
    } else {
      store_n(y + i, exp_nonpositive_p6(src.template load<vd>(i, count, -constants::kInf) + neg_m) * inv_hi, count);
    }
  }
};

template <class S, class Source>
SMAX_INLINE void exp_scaled_sweep(const Source& src, S* y, std::size_t n, double m, double_double inv) {
  if constexpr (float_lane_kind<S, Source>()) {
    // A NaN row sum (a NaN that the maximum missed) takes the double path,
    // which spreads the NaN as the other forms of the row do.
    if (float_lane_applies(m) && inv.hi > 0.0 && inv.hi < constants::kInf) {
      return float_lane_exp_scaled(src.x, y, n, static_cast<float>(m), inv);
    }
  }
  exp_scaled_body<S, Source> body{src, y, vd::splat(-m), vd::splat(inv.hi), vd::splat(inv.lo)};
  sweep<vd>(n, body);
}

template <class S, class Source>
struct exp_scaled_task {
  Source src;
  S* y;
  std::size_t n;
  double m;
  double_double inv;

  void operator()(std::size_t begin, std::size_t end) const {
    const std::size_t first = begin * kChunk<S>, last = end * kChunk<S> < n ? end * kChunk<S> : n;
    exp_scaled_sweep(src.shifted(first), y + first, last - first, m, inv);
  }
};

// The row's statistics, chunk by chunk (kStore: exp(x - chunk max) into y).
template <class S, bool kStore, class Source>
SMAX_INLINE row_stats long_row_stats(const Source& src, S* y, std::size_t n, std::vector<row_stats>& stats,
                                     const executor& ex, bool one_read = false) {
  const std::size_t chunks = chunks_of<S>(n);
  stats.resize(chunks);
  ex.parallel_for(chunks, chunk_stats_task<S, Source, kStore>{src, y, n, stats.data(), one_read});
  return merge_stats<S>(stats.data(), chunks);
}

// What softmax and log_softmax write for a row without a finite maximum: a
// fully masked row (masks in use, nothing left) gives 0 / -inf; otherwise NaN.
template <class S, class Source>
SMAX_INLINE void fill_special_row(const Source& src, S* y, std::size_t n, double m, double masked_value) {
  fill_row(y, n, m == -constants::kInf && src.masking ? masked_value : constants::kNaN);
}

// Three-pass reload: max; exp stored and summed; rescale (per chunk).
template <class S, class Source>
void softmax_long_row_reload(const Source& src, S* y, std::size_t n, const executor& ex) {
  std::vector<row_stats> stats;
  const row_stats row = long_row_stats<S, true>(src, y, n, stats, ex);
  if (!std::isfinite(row.m)) return fill_special_row(src, y, n, row.m, 0.0);
  const double_double inv = reciprocal_of_sum(row.sum.hi, row.sum.lo);
  std::vector<double_double> factor(stats.size());
  for (std::size_t c = 0; c < stats.size(); ++c) {
    factor[c] = stats[c].m == -constants::kInf ? double_double{0.0, 0.0}
                                               : product(exp_of_difference<S>(stats[c].m, row.m), inv);
  }
  ex.parallel_for(stats.size(), chunk_scale_task<S>{y, n, factor.data()});
}

// Online two-pass: (max, sum) per chunk without storing; then exp(x - max) / sum
// written directly. One read less and one write less than reload, one exp more.
template <class S, class Source>
void softmax_long_row_online(const Source& src, S* y, std::size_t n, const executor& ex) {
  std::vector<row_stats> stats;
  const row_stats row = long_row_stats<S, false>(src, static_cast<S*>(nullptr), n, stats, ex,
                                                 ex.algorithm == softmax_algorithm::two_pass_exponent);
  if (!std::isfinite(row.m)) return fill_special_row(src, y, n, row.m, 0.0);
  ex.parallel_for(stats.size(),
                  exp_scaled_task<S, Source>{src, y, n, row.m, reciprocal_of_sum(row.sum.hi, row.sum.lo)});
}

// Where the online scheme overtakes reload: rows that no longer fit in L2 with
// their output, where saving a read and a write of the row pays for the second
// exp (measured on the README's machine; see its speed section). On the
// float-lane path the exp costs more than the memory traffic it saves at
// every length measured (reload 6 to 28% faster from 32768 to 16777216
// floats on a Zen 4, 20 to 27% from 32000 on AVX-512 on the Xeon of the
// 2026-12-06 run), so automatic keeps reload there.
template <class S, class Source>
SMAX_INLINE constexpr std::size_t online_from() {
  if constexpr (float_lane_kind<S, Source>()) {
    return ~std::size_t{0};
  } else {
    return (1u << 20) / sizeof(S);
  }
}

template <class S, class Source>
SMAX_INLINE void softmax_row(const Source& src, S* y, std::size_t n, const executor& ex) {
  if (n > kChunk<S>) {
    const softmax_algorithm algorithm = ex.algorithm;
    const bool online = algorithm == softmax_algorithm::two_pass_online ||
                        algorithm == softmax_algorithm::two_pass_exponent ||
                        (algorithm == softmax_algorithm::automatic && n >= online_from<S, Source>());
    if (online) return softmax_long_row_online(src, y, n, ex);
    return softmax_long_row_reload(src, y, n, ex);
  }
  const double m = source_max<S>(src, n);
  if (!std::isfinite(m)) return fill_special_row(src, y, n, m, 0.0);
  const double_double sum = shifted_sum_of_exp<S, true>(src, y, n, m).sum;
  scale_row(y, n, reciprocal_of_sum(sum.hi, sum.lo));
}

// (m, log S) of a row with a finite maximum m, from its shifted sum. On the
// float-lane path log S = log(sum) + (shift - m), where S >= kFloatLaneLogFrom
// (see sum_for_log for why smaller ones are summed again).
template <class S, class Source>
SMAX_INLINE row_stats log_stats_of(const Source& src, std::size_t n, double m, row_stats shifted) {
  if constexpr (float_lane_kind<S, Source>()) {
    if (float_lane_applies(m)) {
      const double log_sum = log_plain(shifted.sum.hi) + (shifted.m - m);
      // log(kFloatLaneLogFrom) = ln 2; NaN fails the test and is summed again.
      if (log_sum >= constants::kLn2) return {m, {log_sum, 0.0}};
      const double_double sum = source_sum_of_exp<S, false, false>(src, static_cast<S*>(nullptr), n, m);
      return {m, source_log_of_row_sum<S>(src, n, m, sum)};
    }
  }
  return {m, source_log_of_row_sum<S>(src, n, m, shifted.sum)};
}

// From what length automatic takes the one-read sum for the log forms, which
// need the row's statistics but none of its terms: below it, the max pass
// over a cache-resident row costs less than rescaling each row's first block.
// Measured on the README's machine, one core, AVX-512 (AVX2): logsumexp 13%
// slower at 700 floats, 7% at 1000, 5% faster at 2048, 18% at 4000 and
// 37-42% from 32000 up; log_softmax, whose output sweep hides part of the
// saving, 2% (9%) faster at 700, 3-9% (10-28%) at 1000 and 15-25% from 32000.
// Rows of up to 512 floats run in row groups either way.
inline constexpr std::size_t kLogSoftmaxOneReadFrom = 700;
inline constexpr std::size_t kLogsumexpOneReadFrom = 2048;

// The row's (max, log of the sum): for long rows chunk by chunk. The callers
// handle rows without a finite maximum.
template <class S, class Source>
SMAX_INLINE row_stats log_stats(const Source& src, std::size_t n, const executor& ex, std::size_t one_read_from) {
  row_stats row;
  const bool one_read = ex.algorithm == softmax_algorithm::two_pass_exponent ||
                        (ex.algorithm == softmax_algorithm::automatic && n >= one_read_from);
  if (n > kChunk<S>) {
    std::vector<row_stats> stats;
    row = long_row_stats<S, false>(src, static_cast<S*>(nullptr), n, stats, ex, one_read);
    if (std::isfinite(row.m)) row.sum = source_log_of_row_sum<S>(src, n, row.m, row.sum);
    return row;
  }
  if constexpr (float_lane_kind<S, Source>()) {
    if (one_read && float_lane_one_read_stats(src, n, row)) {
      row.sum = source_log_of_row_sum<S>(src, n, row.m, row.sum);
      return row;
    }
  }
  const double m = source_max<S>(src, n);
  if (!std::isfinite(m)) return {m, {0.0, 0.0}};
  return log_stats_of<S>(src, n, m, shifted_sum_of_exp<S, false>(src, static_cast<S*>(nullptr), n, m));
}

template <class S, class Source>
SMAX_INLINE void log_softmax_sweep(const Source& src, S* y, std::size_t n, double m, double_double log_sum) {
  using V = max_vector<S, Source>;
  using lane = typename V::lane;
  log_softmax_body<S, Source> body{src, y, V::splat(static_cast<lane>(-m)), V::splat(static_cast<lane>(log_sum.hi)),
                                   V::splat(static_cast<lane>(log_sum.lo))};
  sweep<V>(n, body);
}

template <class S, class Source>
struct log_softmax_task {
  Source src;
  S* y;
  std::size_t n;
  double m;
  double_double log_sum;

  void operator()(std::size_t begin, std::size_t end) const {
    const std::size_t first = begin * kChunk<S>, last = end * kChunk<S> < n ? end * kChunk<S> : n;
    log_softmax_sweep(src.shifted(first), y + first, last - first, m, log_sum);
  }
};

template <class S, class Source>
SMAX_INLINE void log_softmax_finish(const Source& src, S* y, std::size_t n, row_stats row, const executor& ex) {
  if (!std::isfinite(row.m)) return fill_special_row(src, y, n, row.m, -constants::kInf);
  ex.parallel_for(chunks_of<S>(n), log_softmax_task<S, Source>{src, y, n, row.m, row.sum});
}

template <class S, class Source>
SMAX_INLINE void log_softmax_row(const Source& src, S* y, std::size_t n, const executor& ex) {
  log_softmax_finish<S>(src, y, n, log_stats<S>(src, n, ex, kLogSoftmaxOneReadFrom), ex);
}

template <class S, class Source>
SMAX_INLINE double logsumexp_finish(const Source& src, std::size_t n, row_stats row) {
  if (!std::isfinite(row.m)) return logsumexp_of_special_row<S>(src, n, row.m);
  const double_double total = two_sum(row.m, row.sum.hi);
  return total.hi + (total.lo + row.sum.lo);
}

template <class S, class Source>
SMAX_INLINE double logsumexp_row(const Source& src, std::size_t n, const executor& ex) {
  return logsumexp_finish<S>(src, n, log_stats<S>(src, n, ex, kLogsumexpOneReadFrom));
}

template <class S>
SMAX_INLINE double logsumexp_row(const S* x, std::size_t n, const executor& ex) {
  return logsumexp_row<S>(plain_logits<S>{x}, n, ex);
}

// Row r's logits under a transform (bias and keep rows and the causal limit
// repeat with their periods; the limit is clamped into [-1, n]).
template <class S>
SMAX_INLINE transformed_logits<S> transformed_row(const S* x, std::size_t n, const logit_transform<S>& t,
                                                  std::size_t r) {
  r += t.row_offset;
  const auto cols = static_cast<std::ptrdiff_t>(n);
  std::ptrdiff_t limit = cols;
  if (t.causal) {
    const auto i = static_cast<std::ptrdiff_t>(r % t.causal_period);
    limit = t.causal_offset > cols ? cols : t.causal_offset < -cols - 1 ? -1 : i + t.causal_offset;
    limit = limit > cols ? cols : limit < -1 ? -1 : limit;
  }
  return {x,
          t.bias ? t.bias + (r % t.bias_rows) * t.bias_stride : nullptr,
          t.keep ? t.keep + (r % t.keep_rows) * t.keep_stride : nullptr,
          t.scale,
          t.softcap,
          limit,
          t.masking()};
}

// Rows are shared out when there are enough of them; otherwise each row's
// chunks are. Work too small to repay starting threads stays on this one.
SMAX_INLINE executor row_split(const executor& ex, std::size_t rows, std::size_t cols, executor& inner) {
  executor outer{1, ex.algorithm};
  inner = executor{1, ex.algorithm};
  if (ex.threads <= 1 || rows * cols < 2 * kMinWorkPerThread) return outer;
  const std::size_t useful = rows * cols / kMinWorkPerThread;
  const unsigned threads = ex.threads < useful ? ex.threads : static_cast<unsigned>(useful);
  if (rows >= threads) {
    outer.threads = threads;
  } else {
    inner.threads = threads;
  }
  return outer;
}

enum class row_op { softmax, log_softmax, logsumexp };

// ---- short float rows, a group at a time -------------------------------------
//
// A row of a few vectors is one chain (maximum, sum, reciprocal or log,
// output) too short for the core to overlap with the next row's, so plain
// float rows of up to kShortRow elements run kRowGroup at a time, their steps
// interleaved. Each row's arithmetic is exactly that of the one-row path (the
// same operations in the same order; the sum adds its vectors one by one
// either way), so the grouping never changes a result, wherever a thread's
// share of rows begins.

inline constexpr std::size_t kRowGroup = 4;
inline constexpr std::size_t kShortRow = 512;

template <class V, std::size_t R>
struct float_row_group {
  const float* x[R];
  float* y[R];  // unused for logsumexp
};

// source_max for each row, in the same order (so a NaN surfaces, or not, as
// it does there).
template <class V, std::size_t R>
SMAX_INLINE void group_max(const float_row_group<V, R>& g, std::size_t n, float (&m)[R]) {
  constexpr std::size_t L = V::lanes;
  constexpr float kMinusInf = -std::numeric_limits<float>::infinity();
  V acc[R][4];
  SMAX_UNROLL for (std::size_t r = 0; r < R; ++r) {
    SMAX_UNROLL for (std::size_t k = 0; k < 4; ++k) acc[r][k] = V::splat(kMinusInf);
  }
  std::size_t i = 0;
  for (; i + 4 * L <= n; i += 4 * L) {
    SMAX_UNROLL for (std::size_t r = 0; r < R; ++r) {
      SMAX_UNROLL for (std::size_t k = 0; k < 4; ++k) acc[r][k] = max(acc[r][k], V::load(g.x[r] + i + k * L));
    }
  }
  for (; i < n; i += L) {
    const std::size_t c = n - i < L ? n - i : L;
    SMAX_UNROLL for (std::size_t r = 0; r < R; ++r) acc[r][0] = max(acc[r][0], load_n<V>(g.x[r] + i, c, kMinusInf));
  }
  SMAX_UNROLL for (std::size_t r = 0; r < R; ++r) {
    m[r] = reduce_max(max(max(acc[r][0], acc[r][1]), max(acc[r][2], acc[r][3])));
  }
}

// float_lane_sum_of_exp for each row of the group (whose maxima all pass
// float_lane_applies). Subtracting 0 where the one-row path subtracts
// nothing changes no value.
template <class V, std::size_t R, bool kStore>
SMAX_INLINE void group_sums(const float_row_group<V, R>& g, std::size_t n, const float (&m)[R], row_stats (&out)[R]) {
  constexpr float kMinusInf = -std::numeric_limits<float>::infinity();
  V lower[R], offset[R], bias[R], sum[R], error[R];
  SMAX_UNROLL for (std::size_t r = 0; r < R; ++r) {
    const float_lane_shift s = float_lane_shift::of(m[r]);
    out[r].m = s.shift;
    lower[r] = V::splat(m[r] - 111.0f);
    offset[r] = V::splat(s.exact_difference ? m[r] : 0.0f);
    bias[r] = V::splat(static_cast<float>(-s.k));
    sum[r] = V::splat(1.0f);
    error[r] = V::splat(0.0f);
  }
  const float_exp_table<V> table = float_exp_table<V>::make();
  for (std::size_t i = 0; i < n; i += V::lanes) {
    const std::size_t c = n - i < V::lanes ? n - i : V::lanes;
    V u[R];
    SMAX_UNROLL for (std::size_t r = 0; r < R; ++r) u[r] =
        max(lower[r], load_n<V>(g.x[r] + i, c, kMinusInf)) - offset[r];
    float_exp_parts<V> parts[R];
    table_exp_parts(u, bias, table, parts);
    SMAX_UNROLL for (std::size_t r = 0; r < R; ++r) {
      const float_exp_result<V> term = rounded_exp(parts[r]);
      if constexpr (kStore) store_n(g.y[r] + i, term.e, c);
      accumulate_term(sum[r], error[r], term);
    }
  }
  SMAX_UNROLL for (std::size_t r = 0; r < R; ++r) out[r].sum = {accumulated_total(sum[r], error[r]), 0.0};
}

// One group of rows, or false (nothing written) where some row's maximum
// sends it to the one-row path.
template <row_op kOp, class V, std::size_t R>
SMAX_INLINE bool run_row_group(const float_row_group<V, R>& g, float* lse, std::size_t n) {
  float m[R];
  group_max(g, n, m);
  SMAX_UNROLL for (std::size_t r = 0; r < R; ++r) {
    if (!float_lane_applies(static_cast<double>(m[r]))) return false;
  }
  row_stats stats[R];
  if constexpr (kOp == row_op::softmax) {
    group_sums<V, R, true>(g, n, m, stats);
    double_double inv[R];
    V hi[R], lo[R];
    bool pairs = true;
    SMAX_UNROLL for (std::size_t r = 0; r < R; ++r) {
      inv[r] = reciprocal_of_sum(stats[r].sum.hi, stats[r].sum.lo);
      float h = 0.0f, l = 0.0f;
      pairs = float_scale_pair(inv[r].hi, h, l) && pairs;  // false for a NaN sum (a NaN the max missed)
      hi[r] = V::splat(h);
      lo[r] = V::splat(l);
    }
    if (!pairs) {
      for (std::size_t r = 0; r < R; ++r) scale_row(g.y[r], n, inv[r]);
      return true;
    }
    for (std::size_t i = 0; i < n; i += V::lanes) {
      const std::size_t c = n - i < V::lanes ? n - i : V::lanes;
      SMAX_UNROLL for (std::size_t r = 0; r < R; ++r) {
        const V e = load_n<V>(g.y[r] + i, c, 0.0f);
        store_n(g.y[r] + i, mul_add(e, hi[r], e * lo[r]) * V::splat(0x1p-24f), c);
      }
    }
  } else {
    group_sums<V, R, false>(g, n, m, stats);
    SMAX_UNROLL for (std::size_t r = 0; r < R; ++r) {
      const plain_logits<float> src{g.x[r]};
      const row_stats row = log_stats_of<float>(src, n, static_cast<double>(m[r]), stats[r]);
      if constexpr (kOp == row_op::log_softmax) {
        log_softmax_finish<float>(src, g.y[r], n, row, executor{});
      } else {
        lse[r] = static_cast<float>(logsumexp_finish<float>(src, n, row));
      }
    }
  }
  return true;
}

// One task for the three row operations: each row with its source (plain, or
// transformed when the call asks for scale, masks or softcap).
template <class S, row_op kOp>
struct rows_task {
  const S* x;
  std::size_t x_stride;
  S* y;  // rows x cols, or rows values for logsumexp
  std::size_t y_stride;
  std::size_t cols;
  executor inner;
  const logit_transform<S>* transform;

  template <class Source>
  SMAX_INLINE void row(const Source& src, std::size_t r) const {
    if constexpr (kOp == row_op::softmax) {
      softmax_row<S>(src, y + r * y_stride, cols, inner);
    } else if constexpr (kOp == row_op::log_softmax) {
      log_softmax_row<S>(src, y + r * y_stride, cols, inner);
    } else {
      y[r] = static_cast<S>(logsumexp_row<S>(src, cols, inner));
    }
  }
  void operator()(std::size_t begin, std::size_t end) const {
    const bool plain = !transform->active();
    std::size_t r = begin;
    if constexpr (float_lane_kind<S, plain_logits<S>>()) {
      if (plain && cols <= kShortRow) {
        while (r + kRowGroup <= end) {
          float_row_group<vf, kRowGroup> g;
          for (std::size_t j = 0; j < kRowGroup; ++j) {
            g.x[j] = x + (r + j) * x_stride;
            g.y[j] = kOp == row_op::logsumexp ? nullptr : y + (r + j) * y_stride;
          }
          if (!run_row_group<kOp>(g, kOp == row_op::logsumexp ? y + r : nullptr, cols)) {
            for (std::size_t j = 0; j < kRowGroup; ++j) row(plain_logits<S>{g.x[j]}, r + j);
          }
          r += kRowGroup;
        }
      }
    }
    for (; r < end; ++r) {
      if (plain) {
        row(plain_logits<S>{x + r * x_stride}, r);
      } else {
        row(transformed_row(x + r * x_stride, cols, *transform, r), r);
      }
    }
  }
};

template <class S, row_op kOp>
SMAX_INLINE void run_rows(const S* x, std::size_t x_stride, S* y, std::size_t y_stride, std::size_t rows,
                          std::size_t cols, const executor& ex, const logit_transform<S>& transform) {
  executor inner;
  const executor outer = row_split(ex, rows, cols, inner);
  outer.parallel_for(rows, rows_task<S, kOp>{x, x_stride, y, y_stride, cols, inner, &transform});
}

template <class S>
void softmax_rows(const S* x, std::size_t x_stride, S* y, std::size_t y_stride, std::size_t rows, std::size_t cols,
                  const executor& ex, const logit_transform<S>& transform) {
  run_rows<S, row_op::softmax>(x, x_stride, y, y_stride, rows, cols, ex, transform);
}

template <class S>
void log_softmax_rows(const S* x, std::size_t x_stride, S* y, std::size_t y_stride, std::size_t rows, std::size_t cols,
                      const executor& ex, const logit_transform<S>& transform) {
  run_rows<S, row_op::log_softmax>(x, x_stride, y, y_stride, rows, cols, ex, transform);
}

template <class S>
void logsumexp_rows(const S* x, std::size_t x_stride, S* out, std::size_t rows, std::size_t cols, const executor& ex,
                    const logit_transform<S>& transform) {
  run_rows<S, row_op::logsumexp>(x, x_stride, out, 1, rows, cols, ex, transform);
}

// ---- the long-row scheme in pieces, over plain chunks (see kernel_table.hpp) ----

template <class S>
row_stats plain_chunk_stats(const S* x, std::size_t n) {
  return chunk_stats<S, false>(plain_logits<S>{x}, static_cast<S*>(nullptr), n);
}

template <class S>
row_stats merge_chunk_stats(const row_stats* stats, std::size_t chunks) {
  return merge_stats<S>(stats, chunks);
}

template <class S>
double_double plain_chunk_sum_minus_one(const S* x, std::size_t n, double m) {
  return sum_of_exp<S, false, true>(x, static_cast<S*>(nullptr), n, m);
}

template <class S>
void softmax_chunk_finish(const S* x, S* y, std::size_t n, double m, double_double inv) {
  exp_scaled_sweep(plain_logits<S>{x}, y, n, m, inv);
}

template <class S>
void log_softmax_chunk_finish(const S* x, S* y, std::size_t n, double m, double_double log_sum) {
  log_softmax_sweep(plain_logits<S>{x}, y, n, m, log_sum);
}
