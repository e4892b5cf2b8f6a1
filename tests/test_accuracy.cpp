// Accuracy of every operation, type and ISA path against the long double
// reference, over the input families and lengths of support/families.hpp.
#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "support/catch.hpp"
#include "support/families.hpp"
#include "support/isas.hpp"
#include "support/reference.hpp"
#include "support/ulp.hpp"

namespace smax_test {
namespace {

struct worst_element {
  double error = 0;
  std::size_t index = 0;
};

template <class T, class Measure>
worst_element worst_of(const std::vector<T>& got, const std::vector<real>& exact, Measure measure) {
  worst_element w;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double e = static_cast<double>(measure(got[i], exact[i]));
    if (e > w.error || e != e) w = {e, i};
  }
  return w;
}

template <class T>
std::string describe(const char* op, smax::isa which, family f, std::size_t n, const std::vector<T>& x, std::size_t i,
                     T got, real exact, double error) {
  std::ostringstream out;
  out.precision(21);
  out << op << "<" << type_name<T>() << "> on " << smax::isa_name(which) << ", family " << family_name(f)
      << ", n = " << n << ": element " << i << " (x = " << x[i] << ") is " << got << ", exact " << exact << " ("
      << error << " ulps, bound " << ulp_bound<T>() << ")";
  return out.str();
}

constexpr smax::softmax_algorithm kExplicitAlgorithms[] = {smax::softmax_algorithm::three_pass_reload,
                                                           smax::softmax_algorithm::two_pass_online,
                                                           smax::softmax_algorithm::two_pass_exponent};

const char* algorithm_suffix(smax::softmax_algorithm algorithm) {
  switch (algorithm) {
    case smax::softmax_algorithm::two_pass_online: return " (online)";
    case smax::softmax_algorithm::two_pass_exponent: return " (one read)";
    default: return "";
  }
}

template <class T>
void check_family(family f) {
  const double bound = ulp_bound<T>();
  for (std::size_t n : accuracy_lengths()) {
    const std::vector<T> x = make_row<T>(f, n, n);
    const reference_row ref = reference(x.data(), n);
    for (smax::isa which : isas_under_test()) {
      smax::scoped_isa use(which);
      std::vector<T> y(n);

      // softmax's schemes differ only for rows longer than a chunk (16384
      // floats, 8192 doubles); the log forms' one-read sum applies at every
      // length (automatic is one of these by construction).
      for (smax::softmax_algorithm algorithm : kExplicitAlgorithms) {
        smax::softmax_options<T> options;
        options.algorithm = algorithm;
        const char* suffix = algorithm_suffix(algorithm);
        if (algorithm == smax::softmax_algorithm::three_pass_reload || n > 8192) {
          smax::softmax(x.data(), y.data(), n, options);
          const worst_element p = worst_of(y, ref.prob, [](T g, real e) { return ulp_error<T>(g, e); });
          const std::string op = std::string("softmax") + suffix;
          error_record::instance().note(op.c_str(), type_name<T>(), which, family_name(f), p.error);
          INFO(describe(op.c_str(), which, f, n, x, p.index, y[p.index], ref.prob[p.index], p.error));
          CHECK(p.error <= bound);
        }

        smax::log_softmax(x.data(), y.data(), n, options);
        const worst_element lp = worst_of(y, ref.log_prob, [](T g, real e) { return log_domain_error<T>(g, e); });
        error_record::instance().note("log_softmax", type_name<T>(), which, family_name(f), lp.error);
        INFO(describe((std::string("log_softmax") + suffix).c_str(), which, f, n, x, lp.index, y[lp.index],
                      ref.log_prob[lp.index], lp.error));
        CHECK(lp.error <= bound);

        const T lse = smax::logsumexp(x.data(), n, options);
        const double lse_error = static_cast<double>(log_domain_error<T>(lse, ref.logsumexp));
        error_record::instance().note("logsumexp", type_name<T>(), which, family_name(f), lse_error);
        INFO(describe((std::string("logsumexp") + suffix).c_str(), which, f, n, x, 0, lse, ref.logsumexp, lse_error));
        CHECK(lse_error <= bound);
      }
    }
  }
}

TEST_CASE("float results are within 2 ulp of the long double reference on every ISA", "[accuracy]") {
  for (family f : kAllFamilies) check_family<float>(f);
}

TEST_CASE("double results are within 4 ulp of the long double reference on every ISA", "[accuracy]") {
  for (family f : kAllFamilies) check_family<double>(f);
}

// The one-read sum (two_pass_exponent, and automatic for the log forms)
// rescales whenever a larger term arrives and hands some chunks back to the
// max pass: rows that grow in every block, a spike after a long sum, maxima
// either side of where it takes over, and chunks of different regimes.
template <class T>
std::vector<std::vector<T>> one_read_rows(std::size_t n) {
  std::vector<std::vector<T>> rows;
  std::vector<T> ascending(n), descending(n);
  for (std::size_t i = 0; i < n; ++i) {
    ascending[i] = static_cast<T>(-60.0 + 120.0 * static_cast<double>(i) / static_cast<double>(n));
    descending[n - 1 - i] = ascending[i];
  }
  rows.push_back(ascending);
  rows.push_back(descending);
  std::vector<T> spike = make_row<T>(family::normal_x1, n, n + 5);
  spike[n - 1] = T(80);
  rows.push_back(spike);
  const std::vector<T> base = make_row<T>(family::normal_x10, n, n + 9);
  const double base_max = static_cast<double>(*std::max_element(base.begin(), base.end()));
  for (double target : {-226.0, -224.0, -150.0, 335.0, 337.0}) {
    std::vector<T> shifted(n);
    for (std::size_t i = 0; i < n; ++i) shifted[i] = static_cast<T>(static_cast<double>(base[i]) + target - base_max);
    rows.push_back(shifted);
  }
  std::vector<T> low_then_high = make_row<T>(family::normal_x1, n, n + 13), high_then_low = low_then_high;
  for (std::size_t i = 0; i < n / 2; ++i) low_then_high[i] -= T(300);
  for (std::size_t i = n / 2; i < n; ++i) high_then_low[i] -= T(300);
  rows.push_back(low_then_high);
  rows.push_back(high_then_low);
  return rows;
}

TEMPLATE_TEST_CASE("the one-read sum keeps the bound through its rescalings and fallbacks", "[accuracy]", float,
                   double) {
  using T = TestType;
  const double bound = ulp_bound<T>();
  for (std::size_t n : {std::size_t{67}, std::size_t{2053}, std::size_t{2 * 16384 + 77}}) {
    const std::vector<std::vector<T>> rows = one_read_rows<T>(n);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const std::vector<T>& x = rows[r];
      const reference_row ref = reference(x.data(), n);
      for (smax::isa which : isas_under_test()) {
        smax::scoped_isa use(which);
        for (smax::softmax_algorithm algorithm :
             {smax::softmax_algorithm::automatic, smax::softmax_algorithm::two_pass_online,
              smax::softmax_algorithm::two_pass_exponent}) {
          INFO("isa " << smax::isa_name(which) << ", n = " << n << ", row " << r << ", algorithm "
                      << static_cast<int>(algorithm));
          smax::softmax_options<T> options;
          options.algorithm = algorithm;
          std::vector<T> y(n);
          smax::softmax(x.data(), y.data(), n, options);
          CHECK(worst_of(y, ref.prob, [](T g, real e) { return ulp_error<T>(g, e); }).error <= bound);
          smax::log_softmax(x.data(), y.data(), n, options);
          CHECK(worst_of(y, ref.log_prob, [](T g, real e) { return log_domain_error<T>(g, e); }).error <= bound);
          CHECK(static_cast<double>(log_domain_error<T>(smax::logsumexp(x.data(), n, options), ref.logsumexp)) <=
                bound);
        }
      }
    }
  }
}

// A row of probabilities is only useful if it sums to 1: with every element
// within 2 ulp this follows, but it is the property users check first.
TEST_CASE("softmax rows sum to 1 within n * 2 ulp-scale error", "[accuracy]") {
  for (std::size_t n : {std::size_t{1}, std::size_t{17}, std::size_t{1000}, std::size_t{128256}}) {
    const std::vector<float> x = make_row<float>(family::normal_x1, n, 7);
    std::vector<float> y(n);
    for (smax::isa which : isas_under_test()) {
      smax::scoped_isa use(which);
      smax::softmax(x.data(), y.data(), n);
      compensated_sum total;
      for (float v : y) total.add(v);
      INFO("isa " << smax::isa_name(which) << ", n = " << n);
      // Each element is off by at most 2 ulp <= 2^-22 relative: the sum by at most 2^-22.
      CHECK(std::fabs(total.value() - 1) <= 0x1p-22L);
    }
  }
}

}  // namespace
}  // namespace smax_test
