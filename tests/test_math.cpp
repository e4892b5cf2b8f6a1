// The building blocks: the per-row log (scalar, tested directly against long
// double) and the vector exp, tested through two-element rows [0, d] whose
// softmax is 1/(1 + e^d), e^d/(1 + e^d): a dense sweep of d covers every
// reduced argument and exponent the kernels meet.
#include <cmath>
#include <random>
#include <vector>

#include "support/catch.hpp"
#include "support/isas.hpp"
#include "support/reference.hpp"
#include "support/ulp.hpp"

namespace smax_test {
namespace {

TEST_CASE("log_of_sum is within 2^-56 relative of log(hi + lo)", "[math]") {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<smax::detail::double_double> sums;
  for (int i = 0; i < 200000; ++i) {
    // Row sums range from 1 (one dominant term) to the row length and beyond.
    const double hi = std::exp2(unit(rng) * 40);
    const double lo = std::ldexp(unit(rng) - 0.5, std::ilogb(hi) - 53);  // |lo| < ulp(hi) / 2
    sums.push_back({hi, lo});
  }
  for (double t : {0x1p-20, 0x1p-30, 0x1p-52, 0x1p-60, 1e-200, 3e-308}) {
    const smax::detail::double_double one_plus_t = smax::detail::two_sum(1.0, t);
    sums.push_back(one_plus_t);
  }
  sums.push_back({1.0, 0.0});
  sums.push_back({std::sqrt(2.0), 0.0});
  sums.push_back({std::nextafter(std::sqrt(2.0), 2.0), 0.0});
  for (const auto& s : sums) {
    const smax::detail::double_double got = smax::detail::log_of_sum(s.hi, s.lo);
    const real exact = std::log1p((static_cast<real>(s.hi) - 1) + static_cast<real>(s.lo));
    const real error = std::fabs((static_cast<real>(got.hi) + static_cast<real>(got.lo)) - exact);
    INFO("log(" << s.hi << " + " << s.lo << ")");
    CHECK(error <= 0x1p-56L * std::fabs(exact) + 0x1p-1070L);
  }
  CHECK(std::isnan(smax::detail::log_of_sum(std::nan(""), 0).hi));
}

TEST_CASE("log_plain is within 2^-46 relative of log", "[math]") {
  std::mt19937_64 rng(13);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int i = 0; i < 200000; ++i) {
    const double v = std::exp2(unit(rng) * 60 - 10);
    const real exact = std::log(static_cast<real>(v));
    INFO("log(" << v << ")");
    CHECK(std::fabs(smax::detail::log_plain(v) - exact) <= 0x1p-46L * std::fabs(exact) + 0x1p-1070L);
  }
  CHECK(smax::detail::log_plain(1.0) == 0.0);
  CHECK(std::isnan(smax::detail::log_plain(-1.0)));
}

TEST_CASE("reciprocal_of_sum is within 2^-100 relative", "[math]") {
  std::mt19937_64 rng(12);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int i = 0; i < 10000; ++i) {
    const double hi = std::exp2(unit(rng) * 40);
    const double lo = std::ldexp(unit(rng) - 0.5, std::ilogb(hi) - 53);
    const smax::detail::double_double inv = smax::detail::reciprocal_of_sum(hi, lo);
    const real exact = 1 / (static_cast<real>(hi) + static_cast<real>(lo));
    // long double resolves 2^-64: this checks the pair to that resolution.
    CHECK(std::fabs((static_cast<real>(inv.hi) + static_cast<real>(inv.lo)) - exact) <= 0x1p-62L * exact);
  }
}

// Rows [m, m + d] for d from 0 down to -deepest. The maximum m decides the
// float-lane kernels' argument (x - m where it is exact, |m| >= 112 or so;
// x itself with a power of two taken off otherwise), so the float sweeps run
// at several m on both sides of each threshold.
template <class T>
void sweep_two_element_rows(double deepest, int samples, double m = 0) {
  const double bound = ulp_bound<T>();
  std::vector<T> x(2 * samples), p(2 * samples);
  for (int i = 0; i < samples; ++i) {
    x[2 * i] = static_cast<T>(m);
    x[2 * i + 1] = static_cast<T>(m - deepest * i / samples);
  }
  std::vector<reference_row> refs;
  for (int i = 0; i < samples; ++i) refs.push_back(reference(&x[2 * i], 2));
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    smax::softmax(x.data(), p.data(), samples, 2);
    double worst = 0;
    int worst_at = 0;
    for (int i = 0; i < samples; ++i) {
      for (int j = 0; j < 2; ++j) {
        const double e = static_cast<double>(ulp_error<T>(p[2 * i + j], refs[i].prob[j]));
        if (e > worst) {
          worst = e;
          worst_at = i;
        }
      }
    }
    INFO("isa " << smax::isa_name(which) << ", m = " << m << ": worst " << worst
                << " ulp at x = " << x[2 * worst_at + 1]);
    CHECK(worst <= bound);
  }
}

TEST_CASE("exp over its whole range, through two-element float rows", "[math]") {
  sweep_two_element_rows<float>(110.0, 100000);
  for (double m : {37.3, 150.0, 223.9, 224.0, 300.0, -50.0, -111.9, -112.0, -5000.0, 1.5e6, 0x1p24}) {
    sweep_two_element_rows<float>(110.0, 20000, m);
  }
}

TEST_CASE("exp over its whole range, through two-element double rows", "[math]") {
  sweep_two_element_rows<double>(760.0, 100000);
}

}  // namespace
}  // namespace smax_test
