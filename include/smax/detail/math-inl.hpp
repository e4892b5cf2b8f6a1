// exp on the vector layer. No include guard: arch/<isa>.hpp includes this file
// inside its own namespace, after defining vd (a vector of doubles) and its ops.
//
// Both functions take d <= 0 (x minus the row maximum, or something smaller):
// a row's exponentials never overflow, so neither function handles d > 0.
// Coefficients come from tools/fit_polynomials.py (Remez fits at 200 bits,
// re-checked after rounding to double).

// exp(d) for float data computed in double.
// n = round(d / ln2), r = d - n ln2 with |r| <= ln2/2. One ln2 constant is
// enough: the product's rounding error (at most 2^-53 * 708 ~ 2^-43.5 when
// mul_add is not fused) becomes a relative error of 2^-43.5 in the result.
// exp(r) = 1 + r P(r), P of degree 5: approximation error 2^-28.5 relative;
// evaluation rounding adds below 2^-50. Total: relative error < 2^-28.4, i.e.
// about 1/20 of a float ulp, and exp(0) is exactly 1 (the row maximum's term).
// d below -708 (-inf included) is clamped to -708: its exp, ~3e-308, is still
// a normal double (so 2^n is built by bit arithmetic), rounds to 0 in float and
// vanishes in any row sum, which always contains a 1. NaN propagates.
SMAX_INLINE vd exp_nonpositive_p6(vd d) {
  d = max(vd::splat(-708.0), d);  // max() returns its second operand for a NaN
  const vd n = round_nearest(d * vd::splat(constants::kLog2e));
  const vd r = mul_add(n, vd::splat(-constants::kLn2), d);
  vd p = vd::splat(0x1.709b646128175p-10);
  p = mul_add(p, r, vd::splat(0x1.12903dafb64f1p-7));
  p = mul_add(p, r, vd::splat(0x1.55515efacb575p-5));
  p = mul_add(p, r, vd::splat(0x1.5553c1089b4a8p-3));
  p = mul_add(p, r, vd::splat(0x1.0000017520a3cp-1));
  p = mul_add(p, r, vd::splat(0x1.000000d53485ep+0));
  p = mul_add(p, r, vd::splat(1.0));
  return ldexp_normal(p, n);
}

// exp(d) for float data in gradient kernels, for any d.
// Same reduction as exp_nonpositive_p6; P of degree 8 brings the approximation
// error to 2^-43.6 relative, so that alpha * p - beta keeps float accuracy even
// when the two terms cancel to 1/2^19 of their size. exp(0) is exactly 1.
// Beyond |d| = 708 the result is 0 or +inf, not the clamped exp(+-708): a
// caller multiplying it by an infinity (or by 0) must get IEEE's NaN, not a
// number (fuzz_backward found exp(-inf) * inf coming out inf).
SMAX_INLINE vd exp_p9(vd d_in) {
  const vd zero = vd::splat(0.0);
  const vd limit = vd::splat(708.0);
  const vd d = min(limit, max(zero - limit, d_in));  // min/max return a NaN second operand
  const vd n = round_nearest(d * vd::splat(constants::kLog2e));
  const vd r = mul_add(n, vd::splat(-constants::kLn2), d);
  vd p = vd::splat(0x1.4d2a77548cc18p-19);
  p = mul_add(p, r, vd::splat(0x1.a159f9001bd56p-16));
  p = mul_add(p, r, vd::splat(0x1.a0423a729bc71p-13));
  p = mul_add(p, r, vd::splat(0x1.6c164e3d1d4b7p-10));
  p = mul_add(p, r, vd::splat(0x1.1111028d165ecp-7));
  p = mul_add(p, r, vd::splat(0x1.5555557405d2dp-5));
  p = mul_add(p, r, vd::splat(0x1.5555555d0f6ddp-3));
  p = mul_add(p, r, vd::splat(0x1.fffffffff72ddp-2));
  p = mul_add(p, r, vd::splat(0x1.fffffffffb933p-1));
  p = mul_add(p, r, vd::splat(1.0));
  const vd beyond = select(d_in < zero, zero, vd::splat(constants::kInf));
  return select(limit < max(d_in, zero - d_in), beyond, ldexp_normal(p, n));  // NaN: max gives 0 - NaN
}

struct vd_pair {
  vd hi;
  vd lo;
};

// (e.hi + e.lo) * g rounded once. Where e.hi * g overflows, e.lo * g may
// overflow with the opposite sign and the fused sum would be inf - inf: the
// plain product (the right infinity) is returned there instead.
SMAX_INLINE vd scaled_exp(vd_pair e, vd g) {
  const vd product = e.hi * g;
  const vd magnitude = max(product, vd::splat(0.0) - product);  // NaN stays NaN: max returns its second operand
  return select(magnitude < vd::splat(constants::kInf), mul_add(e.hi, g, e.lo * g), product);
}

// exp(d_hi + d_lo) for double data, as hi + lo: hi is exp rounded to double
// (subnormal results rounded once), lo its residual (may underflow to 0).
// Requires |d_lo| <= 1. d_hi may be positive (gradient kernels): above 710
// the result overflows to +inf, as exp does.
// Two-constant reduction: n * ln2_hi is exact (ln2_hi has 42 bits, |n| < 2^11)
// and so is r_hi = d_hi - n ln2_hi (Sterbenz), whether or not mul_add is fused;
// r_lo = d_lo - n ln2_lo carries the rest, including the rounding error of x - max.
// exp(r_hi) = 1 + r_hi + r_hi^2 Q(r_hi), Q of degree 9: approximation error
// 2^-56.3 relative; 1 + r_hi is split exactly (Fast2Sum) so the only rounding
// that matters is the final one. exp(r_lo) = 1 + r_lo to within 2^-87.
// Error: hi + lo is within 2^-55 of exp(d) relatively, hi within 0.53 ulp.
SMAX_INLINE vd_pair exp_dd(vd d_hi, vd d_lo) {
  // exp(-750) rounds to 0; min/max return a NaN second operand, so NaN passes.
  d_hi = min(vd::splat(710.0), max(vd::splat(-750.0), d_hi));
  const vd n = round_nearest(d_hi * vd::splat(constants::kLog2e));
  const vd r_hi = mul_add(n, vd::splat(-constants::kLn2Hi), d_hi);
  const vd r_lo = mul_add(n, vd::splat(-constants::kLn2Lo), d_lo);
  vd q = vd::splat(0x1.ad7f754cee86ap-26);
  q = mul_add(q, r_hi, vd::splat(0x1.28ad68af958e1p-22));
  q = mul_add(q, r_hi, vd::splat(0x1.71df253d8f312p-19));
  q = mul_add(q, r_hi, vd::splat(0x1.a0199a16d5e8ep-16));
  q = mul_add(q, r_hi, vd::splat(0x1.a01a012a684f4p-13));
  q = mul_add(q, r_hi, vd::splat(0x1.6c16c18426709p-10));
  q = mul_add(q, r_hi, vd::splat(0x1.1111111127b9fp-7));
  q = mul_add(q, r_hi, vd::splat(0x1.555555555088cp-5));
  q = mul_add(q, r_hi, vd::splat(0x1.55555555554fap-3));
  q = mul_add(q, r_hi, vd::splat(0x1.000000000000ap-1));
  const vd one = vd::splat(1.0);
  const vd s = one + r_hi;
  vd tail = (r_hi - (s - one)) + (r_hi * r_hi) * q;  // 1 + r_hi == s + (r_hi - (s - 1)) exactly
  // exp(r_hi + r_lo) ~ exp(r_hi) (1 + r_lo): add r_lo * exp(r_hi), using the rounded exp(r_hi).
  tail = mul_add(r_lo, s + tail, tail);
  const vd hi = s + tail;
  const vd lo = tail - (hi - s);
  return {ldexp(hi, n), ldexp(lo, n)};
}

// exp_dd for the gradient kernels, where d may be huge or infinite. Beyond
// |d_hi| = 746 the result is 0 or +inf whatever d_lo is, but d_lo breaks
// exp_dd's |d_lo| <= 1 there (a huge difference's rounding error, or NaN from
// inf - inf), and an overflowed hi leaves a meaningless lo: both residuals are
// dropped (fuzz_backward found NaN, and finite results of the wrong sign).
// Kept out of exp_dd, whose forward callers pass d <= 0 with a tiny d_lo.
SMAX_INLINE vd_pair exp_dd_any(vd d_hi, vd d_lo) {
  const vd zero = vd::splat(0.0);
  const vd_pair e = exp_dd(d_hi, select(max(d_hi, zero - d_hi) < vd::splat(746.0), d_lo, zero));
  return {e.hi, select(e.hi < vd::splat(constants::kInf), e.lo, zero)};
}

// cap * tanh(z / cap), the logit soft cap of Gemma-style models, for float data
// computed in double. Below |u| = 0.55, tanh(u) = u + u^3 R(u^2) with R of
// degree 7 (tools/fit_polynomials.py: 2^-45 relative); above, 1 - 2 / (e^2u + 1)
// with the degree-9 exp (2^-43.6). Either way the logit's absolute error is
// below cap * 2^-43, far under what float results can see.
SMAX_INLINE vd softcapped(vd z, double cap) {
  const vd u = z / vd::splat(cap);
  const vd zero = vd::splat(0.0);
  const vd a = max(u, zero - u);
  const vd u2 = u * u;
  vd r = vd::splat(0x1.6e8783f456b22p-12);
  r = mul_add(r, u2, vd::splat(-0x1.5dccf28ace285p-10));
  r = mul_add(r, u2, vd::splat(0x1.d2449068810b3p-9));
  r = mul_add(r, u2, vd::splat(-0x1.223ca55da821cp-7));
  r = mul_add(r, u2, vd::splat(0x1.664ccd93b539dp-6));
  r = mul_add(r, u2, vd::splat(-0x1.ba1b9008b51a6p-5));
  r = mul_add(r, u2, vd::splat(0x1.111110f26a7f3p-3));
  r = mul_add(r, u2, vd::splat(-0x1.5555555530eb9p-2));
  const vd near_zero = mul_add(u * u2, r, u);
  const vd one = vd::splat(1.0);
  const vd far = one - vd::splat(2.0) / (exp_p9(a + a) + one);
  const vd tanh_u = select(a < vd::splat(0.55), near_zero, select(u < zero, zero - far, far));
  return tanh_u * vd::splat(cap);
}

// ---- exp for float data in float lanes (ISAs with kFloatTableExp) ----------
//
// exp(u) 2^-K for float u in [-336, 336] and an integer K. With N the float
// lane count (8 or 16), u = (nf / N) ln2 + r with |r| <= ln2 / 2N, and
// exp(u) 2^-K = 2^(floor(nf / N) - K) * 2^(j / N) * exp(r), j = nf mod N.
// - nf comes from the float sum t = u N/ln2 + 1.5 * 2^23, whose low bits hold
//   nf + 2^22: the table index j is t's bit pattern mod N, so lookup() takes
//   t as it is.
// - r = u - nf (c1 + c2): c1 has 11 significant bits, so nf c1 is exact for
//   |nf| < 2^13 and u - nf c1 is exact (Cody-Waite, the first step fused);
//   c1 + c2 is within 1.9e-11 relative of ln2 / N, which costs at most
//   2^-29.8 relative at |u| = 336 and far less for the usual |u| < 20.
// - 2^(j / N) is a table of float pairs hi + lo (2^-48 relative).
// - exp(r) - 1 = q = r + r^2 Q(r), Q of degree 1 (N = 16, |r| <= ln2/32:
//   2^-29.2 relative) or 2 (N = 8, |r| <= ln2/16: 2^-32.3), fitted by
//   tools/fit_polynomials.py; |q| < 0.045, so q's own roundings stay below
//   2^-28 of the result.
// So the value hi + small, small = hi q + lo, is exp(u) 2^-K 2^-(floor(nf/N) - K)
// to within 2^-28 relative, before any rounding of the sum; the finishers
// below round it once. The reduction's steps run across a block of B vectors
// before the next step, so that the blocks' independent chains interleave
// (one vector alone is a chain of about 15 dependent operations).
// A NaN u gives NaN. Callers clamp u from below, so no -inf reaches it.
inline constexpr float kExp2Sixteenths[2][16] = {
    {0x1p+0f, 0x1.0b5586p+0f, 0x1.172b84p+0f, 0x1.2387a6p+0f, 0x1.306fep+0f, 0x1.3dea64p+0f, 0x1.4bfdaep+0f,
     0x1.5ab07ep+0f, 0x1.6a09e6p+0f, 0x1.7a1148p+0f, 0x1.8ace54p+0f, 0x1.9c4918p+0f, 0x1.ae89fap+0f, 0x1.c199bep+0f,
     0x1.d5818ep+0f, 0x1.ea4afap+0f},
    {0x0p+0f, 0x1.9f3122p-25f, -0x1.c15742p-27f, 0x1.ceac48p-25f, 0x1.4636e2p-25f, 0x1.824684p-25f, -0x1.593abcp-25f,
     -0x1.5bd5ecp-27f, 0x1.9fcef4p-26f, -0x1.829fdp-25f, 0x1.15506ep-27f, 0x1.51f848p-27f, -0x1.a94b14p-26f,
     -0x1.3d56b2p-27f, -0x1.822dbcp-27f, 0x1.52486cp-27f}};

// 2^(j / N) for j < N, as kExp2Sixteenths' every (16 / N)-th pair.
template <std::size_t N>
struct exp2_fractions {
  float hi[N];
  float lo[N];
};

template <std::size_t N>
constexpr exp2_fractions<N> make_exp2_fractions() {
  exp2_fractions<N> t{};
  for (std::size_t j = 0; j < N; ++j) {
    t.hi[j] = kExp2Sixteenths[0][j * (16 / N)];
    t.lo[j] = kExp2Sixteenths[1][j * (16 / N)];
  }
  return t;
}

template <std::size_t N>
inline constexpr exp2_fractions<N> kExp2Fractions = make_exp2_fractions<N>();

template <class V>
struct float_exp_table {
  static_assert(V::lanes == 8 || V::lanes == 16, "the float-lane exp needs 8 or 16 lanes");
  V hi;
  V lo;

  static SMAX_INLINE float_exp_table make() {
    return {V::load(kExp2Fractions<V::lanes>.hi), V::load(kExp2Fractions<V::lanes>.lo)};
  }
};

// exp(u) 2^-K = (hi + small) 2^floor(exponent), unrounded.
template <class V>
struct float_exp_parts {
  V hi;
  V small;
  V exponent;
};

// exponent_bias[b] is -K for vector b.
template <std::size_t B, class V>
SMAX_INLINE void table_exp_parts(const V (&u)[B], const V (&exponent_bias)[B], const float_exp_table<V>& table,
                                 float_exp_parts<V> (&out)[B]) {
  constexpr auto kN = static_cast<float>(V::lanes);
  V t[B], nf[B], r[B], q[B];
  SMAX_UNROLL for (std::size_t b = 0; b < B; ++b) {
    t[b] = mul_add(u[b], V::splat(0x1.715476p+4f * (kN / 16.0f)), V::splat(0x1.8p23f));
  }
  SMAX_UNROLL for (std::size_t b = 0; b < B; ++b) nf[b] = t[b] - V::splat(0x1.8p23f);
  SMAX_UNROLL for (std::size_t b = 0; b < B; ++b) r[b] = mul_add(nf[b], V::splat(-0x1.62cp-5f * (16.0f / kN)), u[b]);
  SMAX_UNROLL for (std::size_t b = 0; b < B; ++b) {
    r[b] = mul_add(nf[b], V::splat(-0x1.217f7ep-16f * (16.0f / kN)), r[b]);
  }
  SMAX_UNROLL for (std::size_t b = 0; b < B; ++b) {
    if constexpr (V::lanes == 16) {
      q[b] = mul_add(V::splat(0x1.55559ap-3f), r[b], V::splat(0x1.00021ep-1f));
    } else {
      q[b] = mul_add(mul_add(V::splat(0x1.55484p-5f), r[b], V::splat(0x1.555c76p-3f)), r[b], V::splat(0.5f));
    }
  }
  SMAX_UNROLL for (std::size_t b = 0; b < B; ++b) q[b] = mul_add(r[b] * r[b], q[b], r[b]);
  SMAX_UNROLL for (std::size_t b = 0; b < B; ++b) {
    out[b].hi = lookup(table.hi, t[b]);
    out[b].small = mul_add(out[b].hi, q[b], lookup(table.lo, t[b]));
    out[b].exponent = mul_add(nf[b], V::splat(1.0f / kN), exponent_bias[b]);
  }
}

template <class V>
struct float_exp_result {
  V e;         // exp(u) 2^-K rounded to float
  V residual;  // exp(u) 2^-K - e, to within 2^-28 of the result
};

// e = hi + small rounded once and its residual, recovered exactly (Fast2Sum:
// |hi| > |small|), then both scaled: exactly for normal results, with one
// rounding for subnormal e (ldexp_floor). So e is exp(u) 2^-K correctly
// rounded except within 2^-28 of a tie, and exp(0) is exactly 1.
template <class V>
SMAX_INLINE float_exp_result<V> rounded_exp(const float_exp_parts<V>& p) {
  const V sum = p.hi + p.small;
  const V residual = p.small - (sum - p.hi);
  return {ldexp_floor(sum, p.exponent), ldexp_floor(residual, p.exponent)};
}

// (hi + small) (f_hi + f_lo) 2^floor(exponent), rounded once (twice for
// subnormal results): the products below the leading one are 2^-4 of it at
// most, so their roundings stay below 2^-28 relative.
template <class V>
SMAX_INLINE V exp_times(const float_exp_parts<V>& p, V f_hi, V f_lo) {
  return ldexp_floor(mul_add(p.hi, f_hi, mul_add(p.small, f_hi, p.hi * f_lo)), p.exponent);
}
