// Fused logit transforms (scale, softcap, bias, keep-mask, causal) for the
// forward operations and their backward passes, on every ISA and tail length,
// against the long double reference of the transformed logits; fully masked
// rows; and the argument errors of the options.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "support/buffers.hpp"
#include "support/catch.hpp"
#include "support/families.hpp"
#include "support/isas.hpp"
#include "support/reference.hpp"
#include "support/ulp.hpp"

namespace smax_test {
namespace {

constexpr real kMinusInf = -std::numeric_limits<real>::infinity();

// One configuration of the transform, described for messages.
struct mask_case {
  double scale = 1.0;
  double softcap = 0.0;
  int bias_rows = 0;  // 0: none; else the bias' row count (1, rows, or a divisor)
  int keep_rows = 0;
  bool causal = false;
  std::ptrdiff_t causal_offset = 0;
  std::size_t causal_period = 0;

  std::string describe() const {
    return "scale " + std::to_string(scale) + ", softcap " + std::to_string(softcap) + ", bias rows " +
           std::to_string(bias_rows) + ", keep rows " + std::to_string(keep_rows) + (causal ? ", causal offset " : "") +
           (causal ? std::to_string(causal_offset) + " period " + std::to_string(causal_period) : "");
  }
};

template <class T>
struct masked_problem {
  std::size_t rows, cols;
  std::vector<T> x, bias;
  std::vector<std::uint8_t> keep;
  smax::softmax_options<T> options;
  std::vector<std::vector<real>> z;  // the exact transformed logits, row by row
};

template <class T>
masked_problem<T> make_problem(const mask_case& c, std::size_t rows, std::size_t cols, std::uint64_t seed) {
  masked_problem<T> p{rows, cols, make_row<T>(family::normal_x10, rows * cols, seed), {}, {}, {}, {}};
  std::mt19937_64 rng(seed + 1);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  p.options.scale = c.scale;
  p.options.softcap = c.softcap;
  if (c.bias_rows > 0) {
    p.bias.resize(static_cast<std::size_t>(c.bias_rows) * cols);
    for (T& b : p.bias) b = unit(rng) < 0.2 ? -std::numeric_limits<T>::infinity() : static_cast<T>(4 * unit(rng) - 2);
    // The first bias row masks everything: rows using it are fully masked.
    if (c.bias_rows > 1) {
      for (std::size_t j = 0; j < cols; ++j) p.bias[j] = -std::numeric_limits<T>::infinity();
    }
    p.options.bias = {p.bias.data(), static_cast<std::size_t>(c.bias_rows), cols};
  }
  if (c.keep_rows > 0) {
    p.keep.resize(static_cast<std::size_t>(c.keep_rows) * cols);
    for (std::uint8_t& k : p.keep) k = unit(rng) < 0.3 ? 0 : static_cast<std::uint8_t>(1 + rng() % 255);
    p.options.keep = {p.keep.data(), static_cast<std::size_t>(c.keep_rows), cols};
  }
  p.options.causal = c.causal;
  p.options.causal_offset = c.causal_offset;
  p.options.causal_period = c.causal_period;
  const std::size_t period = c.causal_period == 0 ? rows : c.causal_period;
  for (std::size_t r = 0; r < rows; ++r) {
    std::vector<real> z(cols);
    for (std::size_t j = 0; j < cols; ++j) {
      real v = static_cast<real>(c.scale) * static_cast<real>(p.x[r * cols + j]);
      if (c.softcap > 0) v = static_cast<real>(c.softcap) * std::tanh(v / static_cast<real>(c.softcap));
      if (c.bias_rows > 0) v += static_cast<real>(p.bias[(r % static_cast<std::size_t>(c.bias_rows)) * cols + j]);
      if (c.keep_rows > 0 && p.keep[(r % static_cast<std::size_t>(c.keep_rows)) * cols + j] == 0) v = kMinusInf;
      if (c.causal && static_cast<std::ptrdiff_t>(j) > static_cast<std::ptrdiff_t>(r % period) + c.causal_offset) {
        v = kMinusInf;
      }
      z[j] = v;
    }
    p.z.push_back(z);
  }
  return p;
}

bool fully_masked(const std::vector<real>& z) {
  for (real v : z) {
    if (v != kMinusInf) return false;
  }
  return true;
}

std::vector<mask_case> cases(bool with_softcap) {
  std::vector<mask_case> list = {
      {},                             // the identity: the plain path
      {0.125, 0, 0, 0, false, 0, 0},  // scale only (attention's 1/sqrt(64))
      {3.0, 0, 1, 0, false, 0, 0},    // scale and a broadcast bias row with -inf entries
      {1.0, 0, -1, 0, false, 0, 0},   // a full bias matrix (set below), row 0 fully masked
      {1.0, 0, 0, 1, false, 0, 0},    // broadcast keep-mask
      {0.5, 0, 0, -1, false, 0, 0},   // full keep matrix
      {1.0, 0, 0, 0, true, 0, 0},     // causal
      {1.0, 0, 0, 0, true, -2, 0},    // causal with a negative offset: rows 0, 1 fully masked
      {1.0, 0, 0, 0, true, 3, 2},     // causal with a period (batched queries)
      {2.0, 0, 2, 1, true, 1, 0},     // everything, bias repeating every 2 rows
  };
  if (with_softcap) {
    list.push_back({1.0, 30.0, 0, 0, false, 0, 0});
    list.push_back({4.0, 5.0, 1, 1, true, 0, 0});
  }
  return list;
}

template <class T>
void check_case(mask_case c, std::size_t rows, std::size_t cols) {
  if (c.bias_rows < 0) c.bias_rows = static_cast<int>(rows);
  if (c.keep_rows < 0) c.keep_rows = static_cast<int>(rows);
  const masked_problem<T> p = make_problem<T>(c, rows, cols, cols * 31 + rows);
  const double bound = ulp_bound<T>();
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    for (smax::softmax_algorithm algorithm :
         {smax::softmax_algorithm::three_pass_reload, smax::softmax_algorithm::two_pass_online,
          smax::softmax_algorithm::two_pass_exponent}) {
      if (algorithm != smax::softmax_algorithm::three_pass_reload && cols <= 8192) continue;
      smax::softmax_options<T> o = p.options;
      o.algorithm = algorithm;
      guarded_matrix<T> prob(rows, cols, cols + 1), logp(rows, cols, cols + 1), lse(1, rows, rows);
      smax::softmax<T>({p.x.data(), rows, cols}, prob.view(), o);
      smax::log_softmax<T>({p.x.data(), rows, cols}, logp.view(), o);
      smax::logsumexp<T>({p.x.data(), rows, cols}, lse.data(), o);
      CHECK(prob.guards_intact());
      CHECK(logp.guards_intact());
      CHECK(lse.guards_intact());
      std::size_t bad = 0;
      std::string first;
      for (std::size_t r = 0; r < rows; ++r) {
        auto note = [&](const std::string& what) {
          if (bad++ == 0) first = what + " at row " + std::to_string(r);
        };
        if (fully_masked(p.z[r])) {
          for (std::size_t j = 0; j < cols; ++j) {
            if (!(prob.at(r, j) == 0 && !std::signbit(prob.at(r, j)))) note("fully masked softmax != +0");
            if (!(logp.at(r, j) == -std::numeric_limits<T>::infinity())) note("fully masked log_softmax != -inf");
          }
          if (!(lse.at(0, r) == -std::numeric_limits<T>::infinity())) note("fully masked logsumexp != -inf");
          continue;
        }
        const reference_row ref = reference(p.z[r].data(), cols);
        for (std::size_t j = 0; j < cols; ++j) {
          if (!(ulp_error<T>(prob.at(r, j), ref.prob[j]) <= bound)) note("softmax column " + std::to_string(j));
          if (!(log_domain_error<T>(logp.at(r, j), ref.log_prob[j]) <= bound)) {
            note("log_softmax column " + std::to_string(j));
          }
        }
        if (!(log_domain_error<T>(lse.at(0, r), ref.logsumexp) <= bound)) note("logsumexp");
      }
      INFO(smax::isa_name(which) << ", " << rows << " x " << cols << ", " << c.describe() << ", algorithm "
                                 << static_cast<int>(algorithm) << ": " << bad
                                 << " outside the bound; first: " << first);
      CHECK(bad == 0);
    }
  }
}

TEMPLATE_TEST_CASE("fused scale, softcap, bias, keep and causal masks match the reference", "[masks]", float, double) {
  for (const mask_case& c : cases(sizeof(TestType) == sizeof(float))) {
    for (std::size_t cols = 1; cols <= 4 * 16 + 3; ++cols) check_case<TestType>(c, 6, cols);
    check_case<TestType>(c, 4, 1000);
    check_case<TestType>(c, 2, 20000);  // longer than a chunk: both long-row schemes
  }
}

// The gradients of the transformed operations: scale * the usual formulas, and
// 0 wherever the forward masked (fully masked rows included).
TEMPLATE_TEST_CASE("backward passes honour scale and masks", "[masks][backward]", float, double) {
  using T = TestType;
  const double scale = 0.25;
  for (std::size_t cols : {std::size_t{3}, std::size_t{17}, std::size_t{67}, std::size_t{1000}}) {
    mask_case c{scale, 0.0, 2, 1, true, 1, 0};
    const std::size_t rows = 6;
    const masked_problem<T> p = make_problem<T>(c, rows, cols, cols + 5);
    const std::vector<T> dy = make_row<T>(family::normal_x1, rows * cols, cols + 6);
    std::vector<T> dlse(rows, T(0.75));
    for (smax::isa which : isas_under_test()) {
      smax::scoped_isa use(which);
      INFO(smax::isa_name(which) << ", cols " << cols);
      std::vector<T> prob(rows * cols), logp(rows * cols), lse(rows);
      smax::softmax(p.x.data(), prob.data(), rows, cols, p.options);
      smax::log_softmax(p.x.data(), logp.data(), rows, cols, p.options);
      smax::logsumexp(p.x.data(), lse.data(), rows, cols, p.options);
      std::vector<T> g1(rows * cols), g2(rows * cols), g3(rows * cols);
      smax::softmax_backward(prob.data(), dy.data(), g1.data(), rows, cols, p.options);
      smax::log_softmax_backward(logp.data(), dy.data(), g2.data(), rows, cols, p.options);
      smax::logsumexp_backward(p.x.data(), lse.data(), dlse.data(), g3.data(), rows, cols, p.options);
      for (std::size_t r = 0; r < rows; ++r) {
        const bool all_masked = fully_masked(p.z[r]);
        const reference_row ref = all_masked ? reference_row{} : reference(p.z[r].data(), cols);
        real dot = 0, total = 0;
        for (std::size_t j = 0; j < cols; ++j) {
          if (all_masked || p.z[r][j] == kMinusInf) continue;
          dot += static_cast<real>(dy[r * cols + j]) * ref.prob[j];
          total += static_cast<real>(dy[r * cols + j]);
        }
        for (std::size_t j = 0; j < cols; ++j) {
          const std::size_t i = r * cols + j;
          INFO("row " << r << ", column " << j);
          if (all_masked || p.z[r][j] == kMinusInf) {
            CHECK(g1[i] == 0);
            CHECK(g2[i] == 0);
            CHECK(g3[i] == 0);
            continue;
          }
          const real e1 = scale * ref.prob[j] * (static_cast<real>(dy[i]) - dot);
          const real e2 = scale * (static_cast<real>(dy[i]) - ref.prob[j] * total);
          const real e3 = scale * static_cast<real>(dlse[r]) * std::exp(p.z[r][j] - static_cast<real>(lse[r]));
          // The mixed bounds of the backward passes (scale is a power of two).
          const real tol = sizeof(T) == sizeof(float) ? 0x1p-22L : 0x1p-50L;
          CHECK(std::fabs(static_cast<real>(g1[i]) - e1) <= tol * (std::fabs(e1) + scale * ref.prob[j] * 8));
          CHECK(std::fabs(static_cast<real>(g2[i]) - e2) <= tol * (std::fabs(e2) + scale * 8));
          CHECK(std::fabs(static_cast<real>(g3[i]) - e3) <= 2 * tol * std::fabs(e3) + 1e-300L);
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("option errors are reported before anything is written", "[masks][errors]", float, double) {
  using T = TestType;
  std::vector<T> x(24, T(1)), bias(24, T(0));
  std::vector<std::uint8_t> keep(24, 1);
  guarded_matrix<T> y(4, 6, 6);
  auto expect = [&](const smax::softmax_options<T>& o, const char* fragment, bool backward = false) {
    try {
      if (backward) {
        smax::softmax_backward(x.data(), x.data(), y.data(), 4, 6, o);
      } else {
        smax::softmax(x.data(), y.data(), 4, 6, o);
      }
      FAIL("no smax::error thrown");
    } catch (const smax::error& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find(fragment) != std::string::npos);
    }
    CHECK(y.untouched());
  };
  smax::softmax_options<T> o;
  o.scale = 0;
  expect(o, "smax::softmax: options.scale = 0 must be finite and > 0");
  o.scale = std::nan("");
  expect(o, "options.scale = nan must be finite and > 0");
  o.scale = -1;
  expect(o, "options.scale = -1 must be finite and > 0");
  o = {};
  o.softcap = -1;
  expect(o, "options.softcap = -1 must be finite and >= 0");
  if (sizeof(T) == sizeof(double)) {
    o.softcap = 10;
    expect(o, "options.softcap is supported for float and two-byte data, not double");
  }
  o = {};
  o.bias = {bias.data(), 1, 5};
  expect(o, "options.bias is 1 x 5 but x is 4 x 6: the columns must match");
  o.bias = {bias.data(), 3, 6};
  expect(o, "options.bias is 3 x 6 but x is 4 x 6: its rows must be 1, 4 or divide 4");
  o.bias = {nullptr, 2, 6};
  expect(o, "options.bias.data is null");
  o.bias = {y.data(), 1, 6};
  expect(o, "the output overlaps options.bias");
  o = {};
  o.keep = {keep.data(), 4, 6, 5};
  expect(o, "options.keep.stride = 5 is smaller than options.keep.cols = 6");
  o = {};
  o.softcap = sizeof(T) == sizeof(float) ? 10.0 : 0.0;
  if (o.softcap > 0)
    expect(o, "smax::softmax_backward: options.softcap is supported by the forward operations only", true);
}

}  // namespace
}  // namespace smax_test
