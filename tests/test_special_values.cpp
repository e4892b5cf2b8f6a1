// The documented behaviour for -inf, +inf, NaN, fully masked and empty rows, and
// for the floating-point environment, on every ISA and at every tail length.
#include <cmath>
#include <limits>
#include <vector>

#include "support/buffers.hpp"
#include "support/catch.hpp"
#include "support/families.hpp"
#include "support/isas.hpp"
#include "support/reference.hpp"
#include "support/ulp.hpp"

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace smax_test {
namespace {

template <class T>
constexpr T inf() {
  return std::numeric_limits<T>::infinity();
}

template <class T>
T nan() {
  return std::numeric_limits<T>::quiet_NaN();
}

template <class T>
bool all_nan(const std::vector<T>& v) {
  for (T e : v) {
    if (!std::isnan(e)) return false;
  }
  return true;
}

TEMPLATE_TEST_CASE("empty rows write nothing and have logsumexp -inf", "[special]", float, double) {
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    INFO("isa " << smax::isa_name(which));
    guarded_matrix<TestType> y(1, 0, 0);
    const TestType x[1] = {1};
    smax::softmax(x, y.data(), 0);
    smax::log_softmax(x, y.data(), 0);
    CHECK(y.untouched());
    CHECK(smax::logsumexp(x, 0) == -inf<TestType>());
    CHECK(smax::logsumexp(static_cast<const TestType*>(nullptr), 0) == -inf<TestType>());
    // Three empty rows: three -inf results, nothing else written.
    guarded_matrix<TestType> out(1, 3, 3);
    smax::logsumexp<TestType>(smax::matrix_view<const TestType>(nullptr, 3, 0, 0), out.data());
    CHECK(out.guards_intact());
    for (std::size_t r = 0; r < 3; ++r) CHECK(out.at(0, r) == -inf<TestType>());
    // A null x with a stride: no row pointer may be formed (UBSan flags a
    // non-zero offset applied to null; found by fuzz_forward).
    guarded_matrix<TestType> strided_out(1, 3, 3);
    smax::logsumexp<TestType>(smax::matrix_view<const TestType>(nullptr, 3, 0, 7), strided_out.data());
    CHECK(strided_out.guards_intact());
    for (std::size_t r = 0; r < 3; ++r) CHECK(strided_out.at(0, r) == -inf<TestType>());
  }
}

TEMPLATE_TEST_CASE("-inf entries get probability exactly 0 and log-probability -inf", "[special]", float, double) {
  const double bound = ulp_bound<TestType>();
  for (std::size_t n = 2; n <= kMaxTail; ++n) {
    std::vector<TestType> x = make_row<TestType>(family::normal_x1, n, n + 1000);
    for (std::size_t i = 0; i < n; i += 2) x[i] = -inf<TestType>();  // every other entry masked
    const reference_row ref = reference(x.data(), n);
    for (smax::isa which : isas_under_test()) {
      smax::scoped_isa use(which);
      INFO("isa " << smax::isa_name(which) << ", n = " << n);
      std::vector<TestType> p(n), lp(n);
      smax::softmax(x.data(), p.data(), n);
      smax::log_softmax(x.data(), lp.data(), n);
      const TestType lse = smax::logsumexp(x.data(), n);
      for (std::size_t i = 0; i < n; ++i) {
        INFO("element " << i);
        if (i % 2 == 0) {
          CHECK(p[i] == 0);
          CHECK(!std::signbit(p[i]));
          CHECK(lp[i] == -inf<TestType>());
        } else {
          CHECK(ulp_error<TestType>(p[i], ref.prob[i]) <= bound);
          CHECK(log_domain_error<TestType>(lp[i], ref.log_prob[i]) <= bound);
        }
      }
      CHECK(log_domain_error<TestType>(lse, ref.logsumexp) <= bound);
    }
  }
}

TEMPLATE_TEST_CASE("an all -inf row gives NaN probabilities and logsumexp -inf", "[special]", float, double) {
  for (std::size_t n = 1; n <= kMaxTail; ++n) {
    const std::vector<TestType> x(n, -inf<TestType>());
    for (smax::isa which : isas_under_test()) {
      smax::scoped_isa use(which);
      INFO("isa " << smax::isa_name(which) << ", n = " << n);
      std::vector<TestType> p(n), lp(n);
      smax::softmax(x.data(), p.data(), n);
      smax::log_softmax(x.data(), lp.data(), n);
      CHECK(all_nan(p));
      CHECK(all_nan(lp));
      CHECK(smax::logsumexp(x.data(), n) == -inf<TestType>());
    }
  }
}

TEMPLATE_TEST_CASE("a NaN anywhere makes its whole row NaN, and only that row", "[special]", float, double) {
  for (std::size_t n = 1; n <= kMaxTail; ++n) {
    for (std::size_t where = 0; where < n; ++where) {
      // Row 0 holds the NaN (amid ordinary, -inf and +inf values); row 1 is clean.
      std::vector<TestType> x = make_row<TestType>(family::normal_x1, 2 * n, n);
      x[where] = nan<TestType>();
      if (n > 2) x[(where + 1) % n] = -inf<TestType>();
      for (smax::isa which : isas_under_test()) {
        smax::scoped_isa use(which);
        INFO("isa " << smax::isa_name(which) << ", n = " << n << ", NaN at " << where);
        std::vector<TestType> p(2 * n), lp(2 * n), lse(2);
        smax::softmax(x.data(), p.data(), 2, n);
        smax::log_softmax(x.data(), lp.data(), 2, n);
        smax::logsumexp(x.data(), lse.data(), 2, n);
        CHECK(all_nan(std::vector<TestType>(p.begin(), p.begin() + n)));
        CHECK(all_nan(std::vector<TestType>(lp.begin(), lp.begin() + n)));
        CHECK(std::isnan(lse[0]));
        for (std::size_t i = n; i < 2 * n; ++i) {
          CHECK(std::isfinite(p[i]));
          CHECK(std::isfinite(lp[i]));
        }
        CHECK(std::isfinite(lse[1]));
      }
    }
  }
}

TEMPLATE_TEST_CASE("+inf gives NaN probabilities and logsumexp +inf (NaN if a NaN is present)", "[special]", float,
                   double) {
  for (std::size_t n = 1; n <= kMaxTail; ++n) {
    std::vector<TestType> x = make_row<TestType>(family::normal_x1, n, n + 77);
    x[n / 2] = inf<TestType>();
    for (smax::isa which : isas_under_test()) {
      smax::scoped_isa use(which);
      INFO("isa " << smax::isa_name(which) << ", n = " << n);
      std::vector<TestType> p(n), lp(n);
      smax::softmax(x.data(), p.data(), n);
      smax::log_softmax(x.data(), lp.data(), n);
      CHECK(all_nan(p));
      CHECK(all_nan(lp));
      CHECK(smax::logsumexp(x.data(), n) == inf<TestType>());
      if (n > 1) {
        std::vector<TestType> with_nan = x;
        with_nan[(n / 2 + 1) % n] = nan<TestType>();
        CHECK(std::isnan(smax::logsumexp(with_nan.data(), n)));
      }
    }
  }
}

// The schemes for long rows, and the one-read sum of the log forms, each meet
// the special values in their own way: the results must not depend on which.
TEMPLATE_TEST_CASE("special values give the same documented results under every algorithm", "[special]", float,
                   double) {
  using T = TestType;
  for (std::size_t n :
       {std::size_t{1}, std::size_t{17}, std::size_t{67}, std::size_t{2053}, std::size_t{2 * 16384 + 77}}) {
    for (std::size_t where : {std::size_t{0}, n / 2, n - 1}) {
      for (smax::isa which : isas_under_test()) {
        smax::scoped_isa use(which);
        for (smax::softmax_algorithm algorithm :
             {smax::softmax_algorithm::automatic, smax::softmax_algorithm::three_pass_reload,
              smax::softmax_algorithm::two_pass_online, smax::softmax_algorithm::two_pass_exponent}) {
          INFO("isa " << smax::isa_name(which) << ", n = " << n << ", at " << where << ", algorithm "
                      << static_cast<int>(algorithm));
          smax::softmax_options<T> o;
          o.algorithm = algorithm;
          std::vector<T> p(n), lp(n);
          const std::vector<T> clean = make_row<T>(family::normal_x1, n, n + where);

          std::vector<T> x = clean;
          x[where] = nan<T>();
          smax::softmax(x.data(), p.data(), n, o);
          smax::log_softmax(x.data(), lp.data(), n, o);
          CHECK(all_nan(p));
          CHECK(all_nan(lp));
          CHECK(std::isnan(smax::logsumexp(x.data(), n, o)));

          x = clean;
          x[where] = inf<T>();
          smax::softmax(x.data(), p.data(), n, o);
          smax::log_softmax(x.data(), lp.data(), n, o);
          CHECK(all_nan(p));
          CHECK(all_nan(lp));
          CHECK(smax::logsumexp(x.data(), n, o) == inf<T>());

          x.assign(n, -inf<T>());
          smax::softmax(x.data(), p.data(), n, o);
          smax::log_softmax(x.data(), lp.data(), n, o);
          CHECK(all_nan(p));
          CHECK(all_nan(lp));
          CHECK(smax::logsumexp(x.data(), n, o) == -inf<T>());

          if (n == 1) continue;
          x = clean;
          x[where] = -inf<T>();
          smax::softmax(x.data(), p.data(), n, o);
          smax::log_softmax(x.data(), lp.data(), n, o);
          CHECK(p[where] == T(0));
          CHECK(lp[where] == -inf<T>());
          bool others_finite = true;
          for (std::size_t i = 0; i < n; ++i) {
            if (i != where && !(std::isfinite(p[i]) && p[i] > T(0) && std::isfinite(lp[i]))) others_finite = false;
          }
          CHECK(others_finite);
          CHECK(std::isfinite(smax::logsumexp(x.data(), n, o)));
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("a common offset changes softmax by no more than the bound", "[special]", float, double) {
  // The same logits with +1e4 and -1e4 added (exactly representable shifts of
  // values on a coarse grid, so the rows really are shifted copies).
  const double bound = ulp_bound<TestType>();
  for (std::size_t n : {std::size_t{3}, std::size_t{67}, std::size_t{1000}}) {
    std::vector<TestType> base(n), up(n), down(n);
    const std::vector<TestType> noise = make_row<TestType>(family::normal_x10, n, 5);
    for (std::size_t i = 0; i < n; ++i) {
      base[i] = std::round(noise[i] * 64) / 64;  // multiples of 2^-6: exact after adding 1e4
      up[i] = base[i] + TestType(1e4);
      down[i] = base[i] - TestType(1e4);
    }
    const reference_row ref = reference(base.data(), n);
    for (smax::isa which : isas_under_test()) {
      smax::scoped_isa use(which);
      INFO("isa " << smax::isa_name(which) << ", n = " << n);
      for (const auto* row : {&base, &up, &down}) {
        std::vector<TestType> p(n);
        smax::softmax(row->data(), p.data(), n);
        for (std::size_t i = 0; i < n; ++i) CHECK(ulp_error<TestType>(p[i], ref.prob[i]) <= bound);
      }
    }
  }
}

#if defined(__x86_64__)
// The caller's MXCSR is restored exactly (control bits and sticky flags), and
// FTZ/DAZ set by the caller do not flush the kernels' subnormal results.
TEMPLATE_TEST_CASE("kernels keep subnormal results and restore the caller's MXCSR", "[special][fpenv]", float, double) {
  const unsigned before = _mm_getcsr();
  // The caller runs with flush-to-zero, denormals-are-zero and round-toward-zero
  // (exceptions stay masked, or the test itself would trap).
  const unsigned caller = (0x1f80u | 0x8000u | 0x0040u | 0x6000u) & ~0x3fu;
  const double bound = ulp_bound<TestType>();
  const std::size_t n = 200;
  const std::vector<TestType> x = make_row<TestType>(family::subnormal_results, n, 3);
  const reference_row ref = reference(x.data(), n);
  std::size_t subnormal_outputs = 0;
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    INFO("isa " << smax::isa_name(which));
    std::vector<TestType> p(n);
    _mm_setcsr(caller);
    smax::softmax(x.data(), p.data(), n);
    const unsigned after = _mm_getcsr();
    _mm_setcsr(before);
    CHECK(after == caller);
    for (std::size_t i = 0; i < n; ++i) {
      INFO("element " << i);
      CHECK(ulp_error<TestType>(p[i], ref.prob[i]) <= bound);
      if (p[i] != 0 && std::fpclassify(p[i]) == FP_SUBNORMAL) ++subnormal_outputs;
    }
  }
  CHECK(subnormal_outputs > 0);  // the family really does reach the subnormal range
}
#endif

}  // namespace
}  // namespace smax_test
