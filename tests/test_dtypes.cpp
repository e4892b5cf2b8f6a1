// Two-byte storage (bfloat16, half) through every operation, on every ISA:
// each output within 1 ulp of the exact value computed from the two-byte
// inputs (so within 1 ulp of the correctly rounded one), mixed float outputs
// within the float bound; masks, any axis, backward passes, cross-entropy,
// long rows (no two-byte accumulation), special values, threads and errors.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/buffers.hpp"
#include "support/catch.hpp"
#include "support/families.hpp"
#include "support/isas.hpp"
#include "support/reference.hpp"
#include "support/ulp.hpp"

namespace smax_test {
namespace {

using smax::bfloat16;
using smax::half;

// Rows of a family, rounded to T; families whose values T cannot hold
// (beyond half's range) are left out for half.
template <class T>
std::vector<family> families_for() {
  std::vector<family> chosen;
  for (family f : kAllFamilies) {
    const bool out_of_range = f == family::near_max || f == family::shifted_up_1e4 || f == family::shifted_down_1e4;
    if (std::is_same_v<T, half> && out_of_range) continue;
    if (f == family::near_max) continue;  // rounds to +inf in bfloat16 (no reference for +inf rows)
    chosen.push_back(f);
  }
  return chosen;
}

template <class T>
std::vector<T> make_two_byte(family f, std::size_t n, std::uint64_t seed) {
  const std::vector<float> wide = make_row<float>(f, n, seed);
  std::vector<T> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = T(wide[i]);
  return x;
}

template <class T>
std::vector<float> widened(const std::vector<T>& x) {
  return std::vector<float>(x.begin(), x.end());
}

// |got - exact| in ulps of T at the exact value; <= 1 means got is the
// correctly rounded value or one of its neighbours.
template <class T>
real two_byte_error(T got, real exact) {
  return ulp_error<T>(got, exact);
}

const std::vector<std::size_t>& dtype_lengths() {
  static const std::vector<std::size_t> n = [] {
    std::vector<std::size_t> v;
    for (std::size_t k = 1; k <= 67; ++k) v.push_back(k);
    for (std::size_t k : {100, 257, 1000, 4099, 16385, 70000}) v.push_back(k);
    return v;
  }();
  return n;
}

TEMPLATE_TEST_CASE("two-byte softmax, log_softmax and logsumexp are within 1 ulp on every ISA", "[dtypes]", bfloat16,
                   half) {
  using T = TestType;
  for (family f : families_for<T>()) {
    for (std::size_t n : dtype_lengths()) {
      const std::vector<T> x = make_two_byte<T>(f, n, n * 7 + 1);
      const std::vector<float> xf = widened(x);
      const reference_row ref = reference(xf.data(), n);
      for (smax::isa which : isas_under_test()) {
        smax::scoped_isa use(which);
        INFO(type_name<T>() << ", " << family_name(f) << ", n = " << n << ", " << smax::isa_name(which));
        guarded_matrix<T> p(1, n, n), lp(1, n, n);
        guarded_matrix<float> pf(1, n, n), lpf(1, n, n);
        smax::softmax(x.data(), p.data(), n);
        smax::log_softmax(x.data(), lp.data(), n);
        smax::softmax(x.data(), pf.data(), n);
        smax::log_softmax(x.data(), lpf.data(), n);
        const float lse = smax::logsumexp(x.data(), n);
        T lse_t;
        smax::logsumexp(x.data(), &lse_t, 1, n);
        REQUIRE(p.guards_intact());
        REQUIRE(lp.guards_intact());
        REQUIRE(pf.guards_intact());
        REQUIRE(lpf.guards_intact());
        real worst_p = 0, worst_lp = 0, worst_pf = 0, worst_lpf = 0;
        for (std::size_t i = 0; i < n; ++i) {
          worst_p = std::fmax(worst_p, two_byte_error<T>(p.at(0, i), ref.prob[i]));
          worst_lp = std::fmax(worst_lp, two_byte_error<T>(lp.at(0, i), ref.log_prob[i]));
          worst_pf = std::fmax(worst_pf, ulp_error<float>(pf.at(0, i), ref.prob[i]));
          worst_lpf = std::fmax(worst_lpf, log_domain_error<float>(lpf.at(0, i), ref.log_prob[i]));
        }
        const real worst_lse = two_byte_error<T>(lse_t, ref.logsumexp);
        error_record& record = error_record::instance();
        record.note("softmax", type_name<T>(), which, family_name(f), static_cast<double>(worst_p));
        record.note("log_softmax", type_name<T>(), which, family_name(f), static_cast<double>(worst_lp));
        record.note("logsumexp", type_name<T>(), which, family_name(f), static_cast<double>(worst_lse));
        CHECK(worst_p <= 1);
        CHECK(worst_lp <= 1);
        CHECK(worst_lse <= 1);
        CHECK(worst_pf <= ulp_bound<float>());
        CHECK(worst_lpf <= ulp_bound<float>());
        CHECK(log_domain_error<float>(lse, ref.logsumexp) <= ulp_bound<float>());
      }
    }
  }
}

TEMPLATE_TEST_CASE("two-byte sums never accumulate in two bytes", "[dtypes]", bfloat16, half) {
  using T = TestType;
  // 100000 equal logits: a two-byte running sum would stall at 256 (bfloat16)
  // or 2048 (half); the softmax must be 1e-5 everywhere.
  const std::size_t n = 100000;
  const std::vector<T> x(n, T(0.5f));
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    INFO(smax::isa_name(which));
    std::vector<T> y(n);
    smax::softmax(x.data(), y.data(), n);
    for (std::size_t i = 0; i < n; i += 997) REQUIRE(two_byte_error<T>(y[i], 1e-5L) <= 1);
    CHECK(two_byte_error<T>(y[n - 1], 1e-5L) <= 1);
    CHECK(ulp_error<float>(smax::logsumexp(x.data(), n), 0.5L + std::log(static_cast<real>(n))) <= 2);
  }
}

TEMPLATE_TEST_CASE("two-byte special values follow the float rules", "[dtypes]", bfloat16, half) {
  using T = TestType;
  const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
  const T minus_inf = T(-std::numeric_limits<float>::infinity());
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    INFO(smax::isa_name(which));
    const std::vector<T> x = {T(1.0f),   minus_inf, T(2.0f),   nan, minus_inf, minus_inf,
                              minus_inf, minus_inf, minus_inf, inf, T(0.0f),   T(1.0f)};
    std::vector<T> y(12), ly(12);
    smax::softmax(x.data(), y.data(), 4, 3);
    smax::log_softmax(x.data(), ly.data(), 4, 3);
    // Row 0: exp(1), 0, exp(2) normalised; row 1: NaN; row 2: all -inf (NaN
    // without masks); row 3: +inf gives NaN, and a logsumexp of +inf.
    CHECK(two_byte_error<T>(y[0], 1 / (1 + std::exp(1.0L))) <= 1);
    CHECK(static_cast<float>(y[1]) == 0.0f);
    CHECK(static_cast<float>(ly[1]) == -std::numeric_limits<float>::infinity());
    for (std::size_t i = 3; i < 12; ++i) CHECK(std::isnan(static_cast<float>(y[i])));
    T lse[4];
    smax::logsumexp(x.data(), lse, 4, 3);
    CHECK(std::isnan(static_cast<float>(lse[1])));
    CHECK(static_cast<float>(lse[2]) == -std::numeric_limits<float>::infinity());
    CHECK(static_cast<float>(lse[3]) == std::numeric_limits<float>::infinity());

    // Outputs that round to two-byte subnormals, and to zero.
    const std::vector<T> deep = {T(0.0f), T(-20.0f), T(-90.0f), T(-110.0f)};
    std::vector<T> out(4);
    smax::softmax(deep.data(), out.data(), 4);
    const std::vector<float> deep_f = widened(deep);
    const reference_row ref = reference(deep_f.data(), 4);
    for (std::size_t i = 0; i < 4; ++i) CHECK(two_byte_error<T>(out[i], ref.prob[i]) <= 1);
  }
}

TEMPLATE_TEST_CASE("two-byte masks, scale, bias and softcap match float on the same values", "[dtypes][masks]",
                   bfloat16, half) {
  using T = TestType;
  const std::size_t rows = 12, cols = 37;
  const std::vector<T> x = make_two_byte<T>(family::normal_x1, rows * cols, 5);
  const std::vector<T> bias = make_two_byte<T>(family::masked, 4 * cols, 6);
  std::vector<std::uint8_t> keep(3 * cols);
  for (std::size_t i = 0; i < keep.size(); ++i) keep[i] = (i * 7) % 5 != 0;
  for (std::size_t c = 0; c < cols; ++c) keep[cols + c] = 0;  // keep row 1: rows 1, 4, 7, 10 fully masked
  const std::vector<float> xf = widened(x), bias_f = widened(bias);

  for (int variant = 0; variant < 4; ++variant) {
    smax::softmax_options<T> o;
    smax::softmax_options<float> of;
    o.scale = of.scale = 0.125;
    if (variant == 0) {
      o.bias = {bias.data(), 4, cols};
      of.bias = {bias_f.data(), 4, cols};
    } else if (variant == 1) {
      o.keep = of.keep = {keep.data(), 3, cols};
    } else if (variant == 2) {
      o.causal = of.causal = true;
      o.causal_offset = of.causal_offset = -3;  // rows 0..2 fully masked
      o.causal_period = of.causal_period = 6;
    } else {
      o.softcap = of.softcap = 5.0;
      o.scale = of.scale = 3.0;
    }
    // The float kernels on the same values are the reference here (their own
    // accuracy is tested against long double elsewhere): two-byte results are
    // those values rounded once, so within half an ulp of them.
    std::vector<float> expected(rows * cols), expected_log(rows * cols), expected_lse(rows);
    smax::softmax(xf.data(), expected.data(), rows, cols, of);
    smax::log_softmax(xf.data(), expected_log.data(), rows, cols, of);
    smax::logsumexp(xf.data(), expected_lse.data(), rows, cols, of);
    for (smax::isa which : isas_under_test()) {
      smax::scoped_isa use(which);
      INFO("variant " << variant << ", " << smax::isa_name(which));
      std::vector<T> y(rows * cols), ly(rows * cols), lse(rows);
      std::vector<float> yf(rows * cols);
      smax::softmax(x.data(), y.data(), rows, cols, o);
      smax::log_softmax(x.data(), ly.data(), rows, cols, o);
      smax::logsumexp(x.data(), lse.data(), rows, cols, o);
      smax::softmax(x.data(), yf.data(), rows, cols, o);
      std::size_t bad = 0;
      for (std::size_t i = 0; i < rows * cols; ++i) {
        bad += !(two_byte_error<T>(y[i], expected[i]) <= 0.5001L);
        bad += !(two_byte_error<T>(ly[i], expected_log[i]) <= 0.5001L);
        bad += std::memcmp(&yf[i], &expected[i], sizeof(float)) != 0;
      }
      for (std::size_t r = 0; r < rows; ++r) bad += !(two_byte_error<T>(lse[r], expected_lse[r]) <= 0.5001L);
      CHECK(bad == 0);
      if (variant == 1 || variant == 2) {
        const std::size_t masked_row = variant == 1 ? 4 : 2;
        for (std::size_t c = 0; c < cols; ++c) {
          CHECK(static_cast<float>(y[masked_row * cols + c]) == 0.0f);
          CHECK(static_cast<float>(ly[masked_row * cols + c]) == -std::numeric_limits<float>::infinity());
        }
      }
    }
  }
}

struct axis_shape {
  std::size_t outer, axis, inner;
};

TEMPLATE_TEST_CASE("two-byte operations along any axis", "[dtypes][axis]", bfloat16, half) {
  using T = TestType;
  for (const axis_shape s : {axis_shape{1, 9, 3}, axis_shape{3, 17, 16}, axis_shape{2, 33, 1000}, axis_shape{4, 5, 1},
                             axis_shape{2, 300, 3}}) {
    const std::size_t n = s.outer * s.axis * s.inner, columns = s.outer * s.inner;
    const std::vector<T> x = make_two_byte<T>(family::normal_x10, n, s.axis);
    const smax::tensor_axis a{s.outer, s.axis, s.inner};
    for (smax::isa which : isas_under_test()) {
      smax::scoped_isa use(which);
      INFO(s.outer << " x " << s.axis << " x " << s.inner << ", " << smax::isa_name(which));
      std::vector<T> p(n), lp(n), lse(columns);
      std::vector<float> pf(n), lsef(columns);
      smax::softmax(x.data(), p.data(), a);
      smax::log_softmax(x.data(), lp.data(), a);
      smax::logsumexp(x.data(), lse.data(), a);
      smax::softmax(x.data(), pf.data(), a);
      smax::logsumexp(x.data(), lsef.data(), a);
      std::size_t bad = 0;
      for (std::size_t o = 0; o < s.outer; ++o) {
        for (std::size_t i = 0; i < s.inner; ++i) {
          std::vector<float> col(s.axis);
          for (std::size_t k = 0; k < s.axis; ++k) col[k] = x[(o * s.axis + k) * s.inner + i];
          const reference_row ref = reference(col.data(), s.axis);
          for (std::size_t k = 0; k < s.axis; ++k) {
            const std::size_t at = (o * s.axis + k) * s.inner + i;
            bad += !(two_byte_error<T>(p[at], ref.prob[k]) <= 1);
            bad += !(two_byte_error<T>(lp[at], ref.log_prob[k]) <= 1);
            bad += !(ulp_error<float>(pf[at], ref.prob[k]) <= ulp_bound<float>());
          }
          bad += !(two_byte_error<T>(lse[o * s.inner + i], ref.logsumexp) <= 1);
          bad += !(log_domain_error<float>(lsef[o * s.inner + i], ref.logsumexp) <= ulp_bound<float>());
        }
      }
      CHECK(bad == 0);
    }
  }
}

TEMPLATE_TEST_CASE("two-byte backward passes are the float ones rounded once", "[dtypes][backward]", bfloat16, half) {
  using T = TestType;
  for (const axis_shape s : {axis_shape{7, 45, 1}, axis_shape{1, 5000, 1}, axis_shape{2, 19, 16}}) {
    const std::size_t n = s.outer * s.axis * s.inner, columns = s.outer * s.inner;
    const smax::tensor_axis a{s.outer, s.axis, s.inner};
    const std::vector<T> x = make_two_byte<T>(family::normal_x1, n, 11);
    const std::vector<T> dy = make_two_byte<T>(family::normal_x1, n, 12);
    std::vector<T> p(n), lp(n), lse(columns), dlse(columns, T(0.75f));
    smax::softmax(x.data(), p.data(), a);
    smax::log_softmax(x.data(), lp.data(), a);
    smax::logsumexp(x.data(), lse.data(), a);
    // Float on the same values is the reference for the rounding (the float
    // backward passes are tested against their formulas in long double).
    const std::vector<float> pf = widened(p), lpf = widened(lp), dyf = widened(dy), xf = widened(x),
                             lsef = widened(lse), dlsef = widened(dlse);
    std::vector<float> g1f(n), g2f(n), g3f(n);
    smax::softmax_backward(pf.data(), dyf.data(), g1f.data(), a);
    smax::log_softmax_backward(lpf.data(), dyf.data(), g2f.data(), a);
    smax::logsumexp_backward(xf.data(), lsef.data(), dlsef.data(), g3f.data(), a);
    for (smax::isa which : isas_under_test()) {
      smax::scoped_isa use(which);
      INFO(s.outer << " x " << s.axis << " x " << s.inner << ", " << smax::isa_name(which));
      std::vector<T> g1(n), g2(n), g3(n);
      smax::softmax_backward(p.data(), dy.data(), g1.data(), a);
      smax::log_softmax_backward(lp.data(), dy.data(), g2.data(), a);
      smax::logsumexp_backward(x.data(), lse.data(), dlse.data(), g3.data(), a);
      std::size_t bad = 0;
      for (std::size_t i = 0; i < n; ++i) {
        // Half an ulp of rounding plus the float kernel's own ulps across ISAs.
        bad += !(two_byte_error<T>(g1[i], g1f[i]) <= 0.51L);
        bad += !(two_byte_error<T>(g2[i], g2f[i]) <= 0.51L);
        bad += !(two_byte_error<T>(g3[i], g3f[i]) <= 0.51L);
      }
      CHECK(bad == 0);
      std::vector<T> in_place = dy;  // dx may be dy itself
      smax::softmax_backward(p.data(), in_place.data(), in_place.data(), a);
      CHECK(same_bytes(in_place.data(), g1.data(), n * sizeof(T)));
    }
  }
}

TEMPLATE_TEST_CASE("two-byte cross-entropy: float loss, two-byte gradient", "[dtypes][cross_entropy]", bfloat16, half) {
  using T = TestType;
  const std::size_t rows = 300, classes = 77;  // several staging blocks
  const std::vector<T> logits = make_two_byte<T>(family::normal_x10, rows * classes, 21);
  std::vector<std::int64_t> target(rows);
  for (std::size_t r = 0; r < rows; ++r) target[r] = r % 13 == 0 ? -100 : static_cast<std::int64_t>((r * 31) % classes);
  std::size_t counted = 0;
  real expected = 0;
  std::vector<real> expected_grad(rows * classes, 0);
  for (std::size_t r = 0; r < rows; ++r) {
    if (target[r] < 0) continue;
    ++counted;
    std::vector<float> row(logits.begin() + static_cast<std::ptrdiff_t>(r * classes),
                           logits.begin() + static_cast<std::ptrdiff_t>((r + 1) * classes));
    const reference_row ref = reference(row.data(), classes);
    expected -= ref.log_prob[static_cast<std::size_t>(target[r])];
    for (std::size_t c = 0; c < classes; ++c) {
      expected_grad[r * classes + c] = ref.prob[c] - (static_cast<std::int64_t>(c) == target[r] ? 1 : 0);
    }
  }
  expected /= static_cast<real>(counted);
  for (real& g : expected_grad) g /= static_cast<real>(counted);

  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    INFO(smax::isa_name(which));
    std::vector<T> grad(rows * classes);
    smax::cross_entropy_options<T> o;
    std::vector<float> losses(rows), lse(rows);
    o.logsumexp = lse.data();
    const float loss = smax::cross_entropy_with_grad(logits.data(), target.data(), grad.data(), rows, classes, o);
    CHECK(ulp_error<float>(loss, expected) <= 2);
    CHECK(ulp_error<float>(smax::cross_entropy(logits.data(), target.data(), rows, classes), expected) <= 2);
    std::size_t bad = 0;
    for (std::size_t i = 0; i < rows * classes; ++i) {
      // 1 ulp of T where the gradient is not tiny; the float bound's absolute
      // floor (4 * 2^-43 of the scale) below.
      const real tolerance = std::fmax(ulp_at<T>(expected_grad[i]), 4 * 0x1p-43L / static_cast<real>(counted));
      bad += !(std::fabs(static_cast<real>(static_cast<float>(grad[i])) - expected_grad[i]) <= tolerance);
    }
    CHECK(bad == 0);
    // The separate backward from the saved logsumexp, and in place over the logits.
    std::vector<T> grad2(rows * classes), in_place = logits;
    smax::cross_entropy_backward(logits.data(), target.data(), lse.data(), grad2.data(), rows, classes);
    (void)smax::cross_entropy_with_grad(in_place.data(), target.data(), in_place.data(), rows, classes);
    std::size_t differ = 0;
    for (std::size_t i = 0; i < rows * classes; ++i) {
      differ += !(two_byte_error<T>(grad2[i], static_cast<float>(grad[i])) <= 1);
      differ += std::memcmp(&in_place[i], &grad[i], sizeof(T)) != 0;
    }
    CHECK(differ == 0);
    // Reduction none: per-row losses in float; threads do not change the bits.
    smax::cross_entropy_options<T> none;
    none.reduction = smax::reduction::none;
    none.losses = losses.data();
    none.threads = 2;
    const float sum = smax::cross_entropy(logits.data(), target.data(), rows, classes, none);
    CHECK(ulp_error<float>(sum, expected * static_cast<real>(counted)) <= 2);
    CHECK(losses[0] == 0.0f);  // row 0 is ignored
  }
}

TEMPLATE_TEST_CASE("two-byte cross-entropy along the class axis (N x C x d)", "[dtypes][cross_entropy][axis]", bfloat16,
                   half) {
  using T = TestType;
  const std::size_t n = 3, classes = 11, d = 40;
  const std::vector<T> logits = make_two_byte<T>(family::normal_x1, n * classes * d, 31);
  std::vector<std::int32_t> target(n * d);
  for (std::size_t i = 0; i < target.size(); ++i) target[i] = static_cast<std::int32_t>((i * 5) % classes);
  real expected = 0;
  for (std::size_t o = 0; o < n; ++o) {
    for (std::size_t p = 0; p < d; ++p) {
      std::vector<float> col(classes);
      for (std::size_t c = 0; c < classes; ++c) col[c] = logits[(o * classes + c) * d + p];
      expected -= reference(col.data(), classes).log_prob[static_cast<std::size_t>(target[o * d + p])];
    }
  }
  expected /= static_cast<real>(n * d);
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    INFO(smax::isa_name(which));
    std::vector<T> grad(logits.size());
    const float loss =
        smax::cross_entropy_with_grad(logits.data(), target.data(), grad.data(), smax::tensor_axis{n, classes, d});
    CHECK(ulp_error<float>(loss, expected) <= 2);
    real column_sum = 0;  // each position's gradient sums to 0
    for (std::size_t c = 0; c < classes; ++c) column_sum += static_cast<float>(grad[c * d]);
    CHECK(std::fabs(column_sum) <= classes * 0x1p-8L / static_cast<real>(n * d));
  }
}

TEMPLATE_TEST_CASE("two-byte threads give the same bits; long rows split across threads", "[dtypes][threads]", bfloat16,
                   half) {
  using T = TestType;
  for (const auto& [rows, cols] : {std::pair<std::size_t, std::size_t>{64, 3000}, {1, 300000}}) {
    const std::vector<T> x = make_two_byte<T>(family::normal_x10, rows * cols, 41);
    std::vector<T> one(rows * cols), three(rows * cols);
    smax::softmax_options<T> o;
    smax::softmax(x.data(), one.data(), rows, cols, o);
    o.threads = 3;
    smax::softmax(x.data(), three.data(), rows, cols, o);
    CHECK(same_bytes(one.data(), three.data(), one.size() * sizeof(T)));
  }
}

// ---- long rows: streamed chunk by chunk (staged.hpp), never widened whole ----

// Lengths just past where streaming starts, ragged last chunks, and many
// chunks; one below it for the widened path of long rows.
constexpr std::size_t kStreamFrom = smax::detail::kStreamedRowFloats;

std::vector<std::size_t> long_row_lengths() {
  std::vector<std::size_t> n = {16385, kStreamFrom + 1, kStreamFrom + 9007};
  if (!quick_run()) n.push_back(300001);
  return n;
}

template <class T>
bool same_two_byte(T a, T b) {
  return same_bytes(&a, &b, sizeof a);
}

// Checks one long row on the active ISA: with a reference, every two-byte
// output within 1 ulp of the exact value; without one (rows without a finite
// maximum), bit for bit what the float kernels write for the widened row (the
// mixed float output, narrowed). Returns the worst errors of softmax and
// log_softmax.
template <class T>
std::pair<real, real> check_long_row(const std::vector<T>& x, const reference_row* ref) {
  const std::size_t n = x.size();
  guarded_matrix<T> p(1, n, n), lp(1, n, n);
  std::vector<float> pf(n), lpf(n);
  smax::softmax(x.data(), p.data(), n);
  smax::log_softmax(x.data(), lp.data(), n);
  smax::softmax(x.data(), pf.data(), n);
  smax::log_softmax(x.data(), lpf.data(), n);
  T lse;
  smax::logsumexp(x.data(), &lse, 1, n);
  const float lse_f = smax::logsumexp(x.data(), n);
  REQUIRE(p.guards_intact());
  REQUIRE(lp.guards_intact());
  std::size_t p_differs = 0, lp_differs = 0;
  real worst_p = 0, worst_lp = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (ref != nullptr) {
      worst_p = std::fmax(worst_p, two_byte_error<T>(p.at(0, i), ref->prob[i]));
      worst_lp = std::fmax(worst_lp, two_byte_error<T>(lp.at(0, i), ref->log_prob[i]));
    } else {
      p_differs += same_two_byte(p.at(0, i), T(pf[i])) ? 0 : 1;
      lp_differs += same_two_byte(lp.at(0, i), T(lpf[i])) ? 0 : 1;
    }
  }
  CHECK(p_differs == 0);
  CHECK(lp_differs == 0);
  CHECK(same_two_byte(lse, T(lse_f)));
  if (ref != nullptr) {
    CHECK(worst_p <= 1);
    CHECK(worst_lp <= 1);
    CHECK(two_byte_error<T>(lse, ref->logsumexp) <= 1);
    CHECK(log_domain_error<float>(lse_f, ref->logsumexp) <= ulp_bound<float>());
  }
  return {worst_p, worst_lp};
}

TEMPLATE_TEST_CASE("two-byte long rows are within 1 ulp on every ISA", "[dtypes][long]", bfloat16, half) {
  using T = TestType;
  for (std::size_t n : long_row_lengths()) {
    // dominant: a row sum within 2^-20 of 1, whose log is summed again per chunk.
    for (family f :
         {family::normal_x1, family::normal_x10, family::uniform_90_100, family::dominant, family::subnormal_results}) {
      const std::vector<T> x = make_two_byte<T>(f, n, n * 13 + 5);
      const std::vector<float> xf = widened(x);
      const reference_row ref = reference(xf.data(), n);
      for (smax::isa which : isas_under_test()) {
        smax::scoped_isa use(which);
        INFO(type_name<T>() << ", " << family_name(f) << ", n = " << n << ", " << smax::isa_name(which));
        const auto [worst_p, worst_lp] = check_long_row(x, &ref);
        error_record& record = error_record::instance();
        record.note("softmax (long rows)", type_name<T>(), which, family_name(f), static_cast<double>(worst_p));
        record.note("log_softmax (long rows)", type_name<T>(), which, family_name(f), static_cast<double>(worst_lp));
      }
    }
  }
}

TEMPLATE_TEST_CASE("two-byte long rows: -inf, NaN, +inf and values near the format's largest", "[dtypes][long]",
                   bfloat16, half) {
  using T = TestType;
  const float inf = std::numeric_limits<float>::infinity();
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const float largest = static_cast<float>(std::numeric_limits<T>::max());
  const std::size_t n = kStreamFrom + 9007;  // streamed in chunks (of 2048), a ragged one last
  const std::vector<T> base = make_two_byte<T>(family::normal_x10, n, 77);

  // -inf entries: the first, one at a chunk start, the last, and whole chunks.
  std::vector<T> with_minus_inf = base;
  for (std::size_t i : {std::size_t{0}, std::size_t{32768}, n - 1}) with_minus_inf[i] = T(-inf);
  for (std::size_t i = 16384; i < 32768; ++i) with_minus_inf[i] = T(-inf);
  // Near the largest value, and near minus it: terms that are 0 and sums of
  // ones; the largest's neighbour is 2^(max_exponent - digits) below it.
  const float below = largest - std::ldexp(1.0f, std::numeric_limits<T>::max_exponent - std::numeric_limits<T>::digits);
  std::vector<T> near_largest(n), near_minus_largest(n);
  for (std::size_t i = 0; i < n; ++i) {
    const float v = i % 7 == 0 ? largest : i % 3 == 0 ? largest / 2 : below;
    near_largest[i] = T(v);
    near_minus_largest[i] = T(i % 5 == 0 ? -largest : -below);
  }
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    for (const auto& [name, x] : {std::pair<const char*, const std::vector<T>&>{"-inf entries", with_minus_inf},
                                  {"near the largest", near_largest},
                                  {"near minus the largest", near_minus_largest}}) {
      INFO(type_name<T>() << ", " << name << ", " << smax::isa_name(which));
      const std::vector<float> xf = widened(x);
      const reference_row ref = reference(xf.data(), n);
      check_long_row(x, &ref);
    }

    // Rows without a finite maximum: NaN outputs, as in the float kernels; the
    // logsumexp is -inf (all -inf), NaN (a NaN anywhere) or +inf.
    std::vector<T> all_minus_inf(n, T(-inf)), with_nan = base, with_inf = base, inf_and_nan = base;
    with_nan[n - 1] = nan;
    with_inf[20000] = T(inf);
    inf_and_nan[20000] = T(inf);
    inf_and_nan[5] = nan;
    const struct {
      const char* name;
      const std::vector<T>& x;
      float lse;
    } special[] = {{"all -inf", all_minus_inf, -inf},
                   {"a NaN", with_nan, std::numeric_limits<float>::quiet_NaN()},
                   {"a +inf", with_inf, inf},
                   {"+inf and NaN", inf_and_nan, std::numeric_limits<float>::quiet_NaN()}};
    for (const auto& row : special) {
      INFO(type_name<T>() << ", " << row.name << ", " << smax::isa_name(which));
      std::vector<T> p(n), lp(n);
      smax::softmax(row.x.data(), p.data(), n);
      smax::log_softmax(row.x.data(), lp.data(), n);
      std::size_t not_nan = 0;
      for (std::size_t i = 0; i < n; ++i) not_nan += std::isnan(p[i]) && std::isnan(lp[i]) ? 0 : 1;
      CHECK(not_nan == 0);
      check_long_row(row.x, nullptr);
      T lse;
      smax::logsumexp(row.x.data(), &lse, 1, n);
      if (std::isnan(row.lse)) {
        CHECK(std::isnan(lse));
      } else {
        CHECK(static_cast<float>(lse) == row.lse);
      }
    }
  }
}

TEMPLATE_TEST_CASE("two-byte long rows give the same bits for any thread count and algorithm",
                   "[dtypes][long][threads]", bfloat16, half) {
  using T = TestType;
  std::vector<std::pair<std::size_t, std::size_t>> shapes = {{1, 16385}, {1, kStreamFrom + 1}, {2, kStreamFrom + 9007}};
  if (!quick_run()) shapes.push_back({1, 300001});
  for (const auto& [rows, cols] : shapes) {
    const std::vector<T> x = make_two_byte<T>(family::normal_x10, rows * cols, 43);
    INFO(type_name<T>() << ", " << rows << " x " << cols);
    std::vector<T> p1(rows * cols), lp1(rows * cols), lse1(rows);
    smax::softmax(x.data(), p1.data(), rows, cols);
    smax::log_softmax(x.data(), lp1.data(), rows, cols);
    smax::logsumexp(x.data(), lse1.data(), rows, cols);
    for (unsigned threads : {1u, 2u, 3u}) {
      for (smax::softmax_algorithm algorithm :
           {smax::softmax_algorithm::automatic, smax::softmax_algorithm::three_pass_reload,
            smax::softmax_algorithm::two_pass_online, smax::softmax_algorithm::two_pass_exponent}) {
        INFO("threads = " << threads << ", algorithm " << static_cast<int>(algorithm));
        smax::softmax_options<T> o;
        o.threads = threads;
        o.algorithm = algorithm;
        std::vector<T> p(rows * cols), lp(rows * cols), lse(rows);
        smax::softmax(x.data(), p.data(), rows, cols, o);
        smax::log_softmax(x.data(), lp.data(), rows, cols, o);
        smax::logsumexp(x.data(), lse.data(), rows, cols, o);
        CHECK(same_bytes(p.data(), p1.data(), p.size() * sizeof(T)));
        CHECK(same_bytes(lp.data(), lp1.data(), lp.size() * sizeof(T)));
        CHECK(same_bytes(lse.data(), lse1.data(), lse.size() * sizeof(T)));
      }
    }
    // In place (y == x), with threads.
    std::vector<T> in_place = x;
    smax::softmax_options<T> o;
    o.threads = 2;
    smax::softmax(in_place.data(), in_place.data(), rows, cols, o);
    CHECK(same_bytes(in_place.data(), p1.data(), p1.size() * sizeof(T)));
    in_place = x;
    smax::log_softmax(in_place.data(), in_place.data(), rows, cols, o);
    CHECK(same_bytes(in_place.data(), lp1.data(), lp1.size() * sizeof(T)));
  }
}

TEMPLATE_TEST_CASE("two-byte errors are reported before anything is written", "[dtypes][errors]", bfloat16, half) {
  using T = TestType;
  std::vector<T> x(8, T(1.0f));
  std::vector<float> y(8, 7.0f);
  // A float output overlapping the two-byte input cannot be in place.
  CHECK_THROWS_WITH(smax::softmax(x.data(), reinterpret_cast<float*>(x.data()), 2, 4), Catch::Contains("y overlaps x"));
  smax::softmax_options<T> o;
  o.scale = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(smax::softmax(x.data(), y.data(), 2, 4, o), Catch::Contains("options.scale"));
  o.scale = 1.0;
  o.bias = {x.data(), 3, 4};
  CHECK_THROWS_WITH(smax::softmax(x.data(), y.data(), 2, 4, o), Catch::Contains("options.bias"));
  for (float v : y) CHECK(v == 7.0f);
}

}  // namespace
}  // namespace smax_test
