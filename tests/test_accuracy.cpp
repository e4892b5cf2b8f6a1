// Accuracy of every operation, type and ISA path against the long double
// reference, over the input families and lengths of support/families.hpp.
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

template <class T>
void check_family(family f) {
  const double bound = ulp_bound<T>();
  for (std::size_t n : accuracy_lengths()) {
    const std::vector<T> x = make_row<T>(f, n, n);
    const reference_row ref = reference(x.data(), n);
    for (smax::isa which : isas_under_test()) {
      smax::scoped_isa use(which);
      std::vector<T> y(n);

      // Rows longer than a chunk (16384 floats, 8192 doubles) have two schemes.
      for (smax::softmax_algorithm algorithm :
           {smax::softmax_algorithm::three_pass_reload, smax::softmax_algorithm::two_pass_online}) {
        if (algorithm == smax::softmax_algorithm::two_pass_online && n <= 8192) continue;
        smax::softmax_options<T> options;
        options.algorithm = algorithm;
        smax::softmax(x.data(), y.data(), n, options);
        const worst_element p = worst_of(y, ref.prob, [](T g, real e) { return ulp_error<T>(g, e); });
        const char* op = algorithm == smax::softmax_algorithm::two_pass_online ? "softmax (online)" : "softmax";
        error_record::instance().note(op, type_name<T>(), which, family_name(f), p.error);
        INFO(describe(op, which, f, n, x, p.index, y[p.index], ref.prob[p.index], p.error));
        CHECK(p.error <= bound);
      }

      smax::log_softmax(x.data(), y.data(), n);
      const worst_element lp = worst_of(y, ref.log_prob, [](T g, real e) { return log_domain_error<T>(g, e); });
      error_record::instance().note("log_softmax", type_name<T>(), which, family_name(f), lp.error);
      INFO(describe("log_softmax", which, f, n, x, lp.index, y[lp.index], ref.log_prob[lp.index], lp.error));
      CHECK(lp.error <= bound);

      const T lse = smax::logsumexp(x.data(), n);
      const double lse_error = static_cast<double>(log_domain_error<T>(lse, ref.logsumexp));
      error_record::instance().note("logsumexp", type_name<T>(), which, family_name(f), lse_error);
      INFO(describe("logsumexp", which, f, n, x, 0, lse, ref.logsumexp, lse_error));
      CHECK(lse_error <= bound);
    }
  }
}

TEST_CASE("float results are within 2 ulp of the long double reference on every ISA", "[accuracy]") {
  for (family f : kAllFamilies) check_family<float>(f);
}

TEST_CASE("double results are within 4 ulp of the long double reference on every ISA", "[accuracy]") {
  for (family f : kAllFamilies) check_family<double>(f);
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
