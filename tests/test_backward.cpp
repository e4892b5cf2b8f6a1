// Backward passes of softmax, log_softmax and logsumexp on every ISA: against
// their formulas evaluated in long double (with the documented mixed bounds),
// against central differences of the forward functions, in place and strided.
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "support/buffers.hpp"
#include "support/catch.hpp"
#include "support/families.hpp"
#include "support/isas.hpp"
#include "support/reference.hpp"
#include "support/ulp.hpp"

namespace smax_test {
namespace {

// The documented bounds: float 2 ulp + 2^-30 scale, double 4 ulp + 2^-50 scale,
// where scale is the size of the terms that may cancel.
template <class T>
bool within(T got, real exact, real scale) {
  if (std::isnan(got) || std::isnan(exact)) return std::isnan(got) && std::isnan(exact);
  const real err = std::fabs(static_cast<real>(got) - exact);
  if constexpr (sizeof(T) == sizeof(float)) {
    return err <= 2 * ulp_at<float>(exact) + 0x1p-30L * scale;
  } else {
    return err <= 4 * ulp_at<double>(exact) + 0x1p-50L * scale;
  }
}

template <class T>
std::vector<T> random_vector(std::size_t n, std::uint64_t seed, double scale) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<T> v(n);
  for (T& e : v) e = static_cast<T>(scale * normal(rng));
  return v;
}

std::vector<std::size_t> backward_lengths() {
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n <= 4 * 16 + 3; ++n) lengths.push_back(n);
  for (std::size_t n : {1000, 32000, 128256}) {
    if (quick_run() && n > 1000) break;
    lengths.push_back(n);
  }
  return lengths;
}

TEMPLATE_TEST_CASE("softmax_backward matches y * (dy - sum(dy y)) within the bound", "[backward]", float, double) {
  using T = TestType;
  for (std::size_t n : backward_lengths()) {
    // y is a real softmax output (as T), dy arbitrary.
    const std::vector<T> x = make_row<T>(family::normal_x10, n, n + 5);
    std::vector<T> y(n);
    const reference_row ref = n ? reference(x.data(), n) : reference_row{};
    for (std::size_t i = 0; i < n; ++i) y[i] = static_cast<T>(ref.prob[i]);
    const std::vector<T> dy = random_vector<T>(n, n + 17, 1.0);
    compensated_sum dot, magnitude;
    for (std::size_t i = 0; i < n; ++i) {
      dot.add(static_cast<real>(dy[i]) * y[i]);
      magnitude.add(std::fabs(static_cast<real>(dy[i]) * y[i]));
    }
    for (smax::isa which : isas_under_test()) {
      smax::scoped_isa use(which);
      guarded_matrix<T> dx(1, n, n);
      smax::softmax_backward(y.data(), dy.data(), dx.data(), n);
      CHECK(dx.guards_intact());
      std::size_t bad = 0;
      double worst = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const real exact = static_cast<real>(y[i]) * (static_cast<real>(dy[i]) - dot.value());
        const real scale = std::fabs(static_cast<real>(y[i])) * magnitude.value();
        if (!within(dx.at(0, i), exact, scale)) ++bad;
        worst = std::fmax(worst, static_cast<double>(ulp_error<T>(dx.at(0, i), exact)));
      }
      error_record::instance().note("softmax_backward", type_name<T>(), which, "all", worst);
      INFO("isa " << smax::isa_name(which) << ", n = " << n << ": " << bad << " outside the bound");
      CHECK(bad == 0);
      // In place over dy, and over y: the same bits.
      std::vector<T> over_dy = dy, over_y = y;
      smax::softmax_backward(y.data(), over_dy.data(), over_dy.data(), n);
      smax::softmax_backward(over_y.data(), dy.data(), over_y.data(), n);
      CHECK(same_bytes(over_dy.data(), dx.data(), n * sizeof(T)));
      CHECK(same_bytes(over_y.data(), dx.data(), n * sizeof(T)));
    }
  }
}

TEMPLATE_TEST_CASE("log_softmax_backward matches dy - exp(y) sum(dy) within the bound", "[backward]", float, double) {
  using T = TestType;
  for (std::size_t n : backward_lengths()) {
    const std::vector<T> x = make_row<T>(family::normal_x10, n, n + 6);
    std::vector<T> y(n);
    const reference_row ref = n ? reference(x.data(), n) : reference_row{};
    for (std::size_t i = 0; i < n; ++i) y[i] = static_cast<T>(ref.log_prob[i]);
    // The gradient of a cross-entropy: dy = -onehot at the argmax, where
    // exp(y) ~ 1 and the two terms cancel.
    std::vector<T> dy(n, T(0));
    std::size_t argmax = 0;
    for (std::size_t i = 0; i < n; ++i) argmax = x[i] > x[argmax] ? i : argmax;
    if (n) dy[argmax] = T(-1);
    for (std::size_t pass = 0; pass < 2; ++pass) {
      if (pass == 1) dy = random_vector<T>(n, n + 18, 1.0);
      compensated_sum sum, magnitude;
      for (T v : dy) {
        sum.add(v);
        magnitude.add(std::fabs(static_cast<real>(v)));
      }
      for (smax::isa which : isas_under_test()) {
        smax::scoped_isa use(which);
        guarded_matrix<T> dx(1, n, n);
        smax::log_softmax_backward(y.data(), dy.data(), dx.data(), n);
        CHECK(dx.guards_intact());
        std::size_t bad = 0;
        double worst = 0;
        for (std::size_t i = 0; i < n; ++i) {
          const real e = std::exp(static_cast<real>(y[i]));
          const real exact = static_cast<real>(dy[i]) - e * sum.value();
          if (!within(dx.at(0, i), exact, e * magnitude.value())) ++bad;
          worst = std::fmax(worst, static_cast<double>(ulp_error<T>(dx.at(0, i), exact)));
        }
        error_record::instance().note("log_softmax_backward", type_name<T>(), which, "all", worst);
        INFO("isa " << smax::isa_name(which) << ", n = " << n << ", pass " << pass << ": " << bad
                    << " outside the bound");
        CHECK(bad == 0);
        std::vector<T> over_dy = dy;
        smax::log_softmax_backward(y.data(), over_dy.data(), over_dy.data(), n);
        CHECK(same_bytes(over_dy.data(), dx.data(), n * sizeof(T)));
      }
    }
  }
}

TEMPLATE_TEST_CASE("logsumexp_backward matches dlse * exp(x - lse) within 2 (4) ulp", "[backward]", float, double) {
  using T = TestType;
  const std::size_t rows = 3;
  for (std::size_t n : backward_lengths()) {
    const std::vector<T> x = make_row<T>(family::normal_x10, rows * n, n + 7);
    std::vector<T> lse(rows), dlse = {T(1), T(-0.375), T(3)};
    for (std::size_t r = 0; r < rows; ++r) lse[r] = n ? static_cast<T>(reference(&x[r * n], n).logsumexp) : T(0);
    for (smax::isa which : isas_under_test()) {
      smax::scoped_isa use(which);
      guarded_matrix<T> dx(rows, n, n + 1);
      smax::logsumexp_backward<T>(smax::matrix_view<const T>(x.data(), rows, n), lse.data(), dlse.data(), dx.view());
      CHECK(dx.guards_intact());
      std::size_t bad = 0;
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t i = 0; i < n; ++i) {
          const real exact = static_cast<real>(dlse[r]) * std::exp(static_cast<real>(x[r * n + i]) - lse[r]);
          if (!(ulp_error<T>(dx.at(r, i), exact) <= ulp_bound<T>())) ++bad;
        }
      }
      INFO("isa " << smax::isa_name(which) << ", n = " << n << ": " << bad << " outside the bound");
      CHECK(bad == 0);
      std::vector<T> over_x = x;
      smax::logsumexp_backward(over_x.data(), lse.data(), dlse.data(), over_x.data(), rows, n);
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t i = 0; i < n; ++i) CHECK(same_bytes(&over_x[r * n + i], &dx.at(r, i), sizeof(T)));
      }
    }
  }
}

// The backward passes are the gradients of the forward functions: checked
// against central differences of L(x) = sum_c dy_c f(x)_c in long double.
TEST_CASE("backward passes agree with central differences of the forward functions", "[backward]") {
  for (std::size_t n : {1, 2, 3, 7, 17}) {
    const std::vector<double> x = make_row<double>(family::normal_x1, n, n + 40);
    const std::vector<double> dy = random_vector<double>(n, n + 41, 1.0);
    const reference_row ref = reference(x.data(), n);
    std::vector<double> y(n), lp(n);
    for (std::size_t i = 0; i < n; ++i) {
      y[i] = static_cast<double>(ref.prob[i]);
      lp[i] = static_cast<double>(ref.log_prob[i]);
    }
    const double lse = static_cast<double>(ref.logsumexp), dlse = 0.625;
    auto objective = [&](const std::vector<real>& at, int which) {
      const reference_row r = reference(at.data(), n);
      if (which == 2) return static_cast<real>(dlse) * r.logsumexp;
      real total = 0;
      for (std::size_t i = 0; i < n; ++i) total += static_cast<real>(dy[i]) * (which == 0 ? r.prob[i] : r.log_prob[i]);
      return total;
    };
    for (smax::isa which : isas_under_test()) {
      smax::scoped_isa use(which);
      std::vector<double> g_softmax(n), g_log(n), g_lse(n);
      smax::softmax_backward(y.data(), dy.data(), g_softmax.data(), n);
      smax::log_softmax_backward(lp.data(), dy.data(), g_log.data(), n);
      smax::logsumexp_backward(x.data(), lse, dlse, g_lse.data(), n);
      const std::vector<double>* got[3] = {&g_softmax, &g_log, &g_lse};
      for (int f = 0; f < 3; ++f) {
        for (std::size_t i = 0; i < n; ++i) {
          std::vector<real> up(x.begin(), x.end()), down(x.begin(), x.end());
          const real h = 1e-6L;
          up[i] += h;
          down[i] -= h;
          const real fd = (objective(up, f) - objective(down, f)) / (2 * h);
          INFO("isa " << smax::isa_name(which) << ", function " << f << ", n = " << n << ", element " << i << ": "
                      << (*got[f])[i] << " vs " << static_cast<double>(fd));
          CHECK(std::fabs((*got[f])[i] - fd) <= 1e-8L * (1 + std::fabs(fd)));
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("backward argument errors", "[backward][errors]", float, double) {
  using T = TestType;
  std::vector<T> y(12, T(0.25)), dy(12, T(1));
  guarded_matrix<T> dx(3, 4, 4);
  using cview = smax::matrix_view<const T>;
  auto expect = [&](auto call, const char* fragment) {
    try {
      call();
      FAIL("no smax::error thrown");
    } catch (const smax::error& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find(fragment) != std::string::npos);
    }
    CHECK(dx.untouched());
  };
  expect([&] { smax::softmax_backward<T>(cview(y.data(), 3, 4), cview(dy.data(), 3, 3), dx.view()); },
         "smax::softmax_backward: y is 3 x 4 but dy is 3 x 3");
  expect(
      [&] {
        smax::log_softmax_backward<T>(cview(y.data(), 3, 4), cview(dy.data(), 3, 4),
                                      smax::matrix_view<T>(dx.data(), 2, 4));
      },
      "smax::log_softmax_backward: y is 3 x 4 but dx is 2 x 4");
  expect([&] { smax::softmax_backward(static_cast<const T*>(nullptr), dy.data(), dx.data(), 3, 4); }, "y.data is null");
  expect([&] { smax::softmax_backward<T>(cview(y.data(), 3, 4, 2), cview(dy.data(), 3, 4), dx.view()); },
         "y.stride = 2 is smaller than y.cols = 4");
  // dx one element into dy: neither in place nor disjoint.
  std::vector<T> shared(20, T(1));
  try {
    smax::softmax_backward(y.data(), shared.data(), shared.data() + 1, 3, 4);
    FAIL("no smax::error thrown");
  } catch (const smax::error& e) {
    CHECK(std::string(e.what()).find("dx overlaps dy without being the same buffer") != std::string::npos);
  }
  expect([&] { smax::logsumexp_backward(y.data(), static_cast<const T*>(nullptr), dy.data(), dx.data(), 3, 4); },
         "smax::logsumexp_backward: lse is null");
  expect([&] { smax::logsumexp_backward(y.data(), dx.data() + 2, dy.data(), dx.data(), 3, 4); }, "dx overlaps lse");
}

}  // namespace
}  // namespace smax_test
