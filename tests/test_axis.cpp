// Operations along any dimension: first, middle and last axes, inner sizes 1,
// 3, 16 and 1000, every ISA, against the long double reference per column; the
// backward passes and cross-entropy along the class axis (N x C x d); special
// columns, in place, threads; and the errors.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "support/buffers.hpp"
#include "support/catch.hpp"
#include "support/cross_entropy_reference.hpp"
#include "support/families.hpp"
#include "support/isas.hpp"
#include "support/reference.hpp"
#include "support/ulp.hpp"

namespace smax_test {
namespace {

struct shape {
  std::size_t outer, axis, inner;
};

// First (outer 1), middle and last (inner 1) axes, with the inner sizes the
// issue names, tails of every vector width, empty tensors, and a long axis
// (a tile's column then spans more than L2).
std::vector<shape> axis_shapes() {
  return {{1, 7, 3},  {2, 5, 16}, {3, 67, 3}, {2, 300, 1000}, {1, 30, 1000}, {4, 1, 16},   {2, 17, 1},
          {3, 9, 37}, {1, 2, 67}, {2, 3, 20}, {0, 5, 3},      {2, 0, 3},     {5, 4, 1000}, {1, 4200, 37}};
}

template <class T>
std::vector<T> make_tensor(const shape& s, std::uint64_t seed) {
  std::vector<T> x = make_row<T>(family::normal_x10, s.outer * s.axis * s.inner, seed);
  if (s.outer * s.inner >= 3 && s.axis >= 2) {
    // Column (0, 0) gets a NaN, column (0, 1) is all -inf, column (0, 2) has one -inf.
    x[0] = std::numeric_limits<T>::quiet_NaN();
    for (std::size_t a = 0; a < s.axis; ++a) x[a * s.inner + 1] = -std::numeric_limits<T>::infinity();
    x[s.inner + 2] = -std::numeric_limits<T>::infinity();
  }
  return x;
}

template <class T>
std::vector<T> column(const std::vector<T>& x, const shape& s, std::size_t o, std::size_t i) {
  std::vector<T> c(s.axis);
  for (std::size_t a = 0; a < s.axis; ++a) c[a] = x[(o * s.axis + a) * s.inner + i];
  return c;
}

TEMPLATE_TEST_CASE("softmax, log_softmax and logsumexp along any axis match the reference", "[axis]", float, double) {
  using T = TestType;
  const double bound = ulp_bound<T>();
  for (const shape& s : axis_shapes()) {
    const std::vector<T> x = make_tensor<T>(s, s.axis * 131 + s.inner);
    const std::size_t n = x.size(), columns = s.outer * s.inner;
    for (smax::isa which : isas_under_test()) {
      smax::scoped_isa use(which);
      INFO(smax::isa_name(which) << ", " << s.outer << " x " << s.axis << " x " << s.inner);
      guarded_matrix<T> p(1, n, n), lp(1, n, n), lse(1, columns, columns);
      const smax::tensor_axis a{s.outer, s.axis, s.inner};
      smax::softmax(x.data(), p.data(), a);
      smax::log_softmax(x.data(), lp.data(), a);
      smax::logsumexp(x.data(), lse.data(), a);
      CHECK(p.guards_intact());
      CHECK(lp.guards_intact());
      CHECK(lse.guards_intact());
      std::size_t bad = 0;
      std::string first;
      for (std::size_t o = 0; o < s.outer; ++o) {
        for (std::size_t i = 0; i < s.inner; ++i) {
          const std::vector<T> c = column(x, s, o, i);
          auto at = [&](guarded_matrix<T>& m, std::size_t k) { return m.at(0, (o * s.axis + k) * s.inner + i); };
          auto note = [&](const char* what) {
            if (bad++ == 0)
              first = std::string(what) + " in column (" + std::to_string(o) + ", " + std::to_string(i) + ")";
          };
          bool has_nan = false, has_finite = false;
          for (T v : c) {
            has_nan = has_nan || v != v;
            has_finite = has_finite || std::isfinite(v);
          }
          if (has_nan || !has_finite) {
            for (std::size_t k = 0; k < s.axis; ++k) {
              if (!std::isnan(at(p, k)) || !std::isnan(at(lp, k))) note("special column not NaN");
            }
            const T expected_lse = has_nan ? std::numeric_limits<T>::quiet_NaN() : -std::numeric_limits<T>::infinity();
            const T got = lse.at(0, o * s.inner + i);
            if (!(std::isnan(expected_lse) ? std::isnan(got) : got == expected_lse)) note("special logsumexp");
            continue;
          }
          const reference_row ref = reference(c.data(), s.axis);
          for (std::size_t k = 0; k < s.axis; ++k) {
            if (!(ulp_error<T>(at(p, k), ref.prob[k]) <= bound)) note("softmax");
            if (!(log_domain_error<T>(at(lp, k), ref.log_prob[k]) <= bound)) note("log_softmax");
          }
          if (!(log_domain_error<T>(lse.at(0, o * s.inner + i), ref.logsumexp) <= bound)) note("logsumexp");
        }
      }
      INFO(bad << " outside the bound; first: " << first);
      CHECK(bad == 0);

      // In place and on three threads: the same bits.
      std::vector<T> in_place = x, threaded(n);
      smax::softmax(in_place.data(), in_place.data(), a);
      smax::softmax_options<T> three;
      three.threads = 3;
      smax::softmax(x.data(), threaded.data(), a, three);
      CHECK(same_bytes(in_place.data(), p.data(), n * sizeof(T)));
      CHECK(same_bytes(threaded.data(), p.data(), n * sizeof(T)));
    }
  }
}

TEMPLATE_TEST_CASE("backward passes along any axis match their formulas", "[axis][backward]", float, double) {
  using T = TestType;
  const real tol = sizeof(T) == sizeof(float) ? 0x1p-22L : 0x1p-50L;
  for (const shape& s : {shape{2, 5, 16}, shape{1, 67, 3}, shape{3, 40, 1000}, shape{2, 9, 1}}) {
    const std::size_t n = s.outer * s.axis * s.inner, columns = s.outer * s.inner;
    const std::vector<T> x = make_row<T>(family::normal_x10, n, s.axis + 3);
    const std::vector<T> dy = make_row<T>(family::normal_x1, n, s.axis + 4);
    std::vector<T> p(n), lp(n), lse(columns), dlse(columns, T(0.625));
    const smax::tensor_axis a{s.outer, s.axis, s.inner};
    smax::softmax(x.data(), p.data(), a);
    smax::log_softmax(x.data(), lp.data(), a);
    smax::logsumexp(x.data(), lse.data(), a);
    for (smax::isa which : isas_under_test()) {
      smax::scoped_isa use(which);
      INFO(smax::isa_name(which) << ", " << s.outer << " x " << s.axis << " x " << s.inner);
      std::vector<T> g1(n), g2(n), g3(n);
      smax::softmax_backward(p.data(), dy.data(), g1.data(), a);
      smax::log_softmax_backward(lp.data(), dy.data(), g2.data(), a);
      smax::logsumexp_backward(x.data(), lse.data(), dlse.data(), g3.data(), a);
      std::size_t bad = 0;
      for (std::size_t o = 0; o < s.outer; ++o) {
        for (std::size_t i = 0; i < s.inner; ++i) {
          real dot = 0, total = 0, magnitude = 0, dy_size = 0;
          for (std::size_t k = 0; k < s.axis; ++k) {
            const std::size_t e = (o * s.axis + k) * s.inner + i;
            dot += static_cast<real>(dy[e]) * p[e];
            magnitude += std::fabs(static_cast<real>(dy[e]) * p[e]);
            total += static_cast<real>(dy[e]);
            dy_size += std::fabs(static_cast<real>(dy[e]));
          }
          for (std::size_t k = 0; k < s.axis; ++k) {
            const std::size_t e = (o * s.axis + k) * s.inner + i;
            const real e1 = static_cast<real>(p[e]) * (static_cast<real>(dy[e]) - dot);
            const real prob = std::exp(static_cast<real>(lp[e]));
            const real e2 = static_cast<real>(dy[e]) - prob * total;
            const real e3 = 0.625L * std::exp(static_cast<real>(x[e]) - static_cast<real>(lse[o * s.inner + i]));
            if (!(std::fabs(g1[e] - e1) <= 4 * ulp_at<T>(e1) + tol * p[e] * magnitude)) ++bad;
            if (!(std::fabs(g2[e] - e2) <= 4 * ulp_at<T>(e2) + tol * prob * dy_size)) ++bad;
            if (!(std::fabs(g3[e] - e3) <= ulp_bound<T>() * ulp_at<T>(e3))) ++bad;
          }
        }
      }
      CHECK(bad == 0);
    }
  }
}

// Cross-entropy along the class axis against the reference on the same
// positions laid out as rows.
TEMPLATE_TEST_CASE("cross-entropy along the class axis matches the row reference", "[axis][cross_entropy]", float,
                   double) {
  using T = TestType;
  for (const shape& s : {shape{2, 5, 19}, shape{1, 3, 1000}, shape{3, 21, 7}, shape{2, 1000, 3}}) {
    const std::size_t N = s.outer, C = s.axis, D = s.inner, positions = N * D;
    const std::vector<T> x = make_row<T>(family::normal_x10, N * C * D, C + D);
    std::mt19937_64 rng(C * D);
    std::vector<std::int64_t> targets(positions);
    for (std::size_t k = 0; k < positions; ++k) targets[k] = k % 7 == 3 ? -100 : static_cast<std::int64_t>(rng() % C);
    std::vector<T> weight(C), soft(N * C * D, T(0));
    for (T& w : weight) w = static_cast<T>(0.5 + (rng() % 1000) / 500.0);
    for (std::size_t k = 0; k < positions; ++k) soft[(k / D * C + rng() % C) * D + k % D] = T(1);
    // The same problem as rows: position (n, d) is row n * D + d.
    ce_problem<T> rows_problem;
    rows_problem.rows = positions;
    rows_problem.classes = C;
    rows_problem.logits.resize(positions * C);
    std::vector<T> soft_rows(positions * C);
    for (std::size_t n = 0; n < N; ++n) {
      for (std::size_t c = 0; c < C; ++c) {
        for (std::size_t d = 0; d < D; ++d) {
          rows_problem.logits[(n * D + d) * C + c] = x[(n * C + c) * D + d];
          soft_rows[(n * D + d) * C + c] = soft[(n * C + c) * D + d];
        }
      }
    }
    const std::vector<reference_row> refs = reference_rows(rows_problem.logits, positions, C);
    for (bool soft_targets : {false, true}) {
      ce_problem<T> p = rows_problem;
      if (soft_targets) {
        p.soft = soft_rows;
      } else {
        p.targets = targets;
      }
      p.weight = weight;
      p.smoothing = 0.1;
      p.z_loss = 1e-3;
      p.reduce = smax::reduction::mean;
      p.upstream = T(0.5);
      const ce_expected<T> e = ce_reference(p, refs);
      smax::cross_entropy_options<T> o;
      o.weight = weight.data();
      o.label_smoothing = 0.1;
      o.z_loss = 1e-3;
      o.upstream = T(0.5);
      std::vector<T> lse(positions);
      o.logsumexp = lse.data();
      for (smax::isa which : isas_under_test()) {
        smax::scoped_isa use(which);
        INFO(smax::isa_name(which) << ", " << N << " x " << C << " x " << D << (soft_targets ? ", soft" : ", hard"));
        std::vector<T> g(N * C * D);
        const smax::tensor_axis a{N, C, D};
        const T loss = soft_targets ? smax::cross_entropy_with_grad(x.data(), soft.data(), g.data(), a, o)
                                    : smax::cross_entropy_with_grad(x.data(), targets.data(), g.data(), a, o);
        CHECK(ulp_error<T>(loss, e.loss) <= ulp_bound<T>());
        std::size_t bad = 0;
        for (std::size_t n = 0; n < N; ++n) {
          for (std::size_t c = 0; c < C; ++c) {
            for (std::size_t d = 0; d < D; ++d) {
              const std::size_t row = n * D + d;
              const real exact = e.grad[row * C + c], m = e.magnitude[row];
              const real err = std::fabs(static_cast<real>(g[(n * C + c) * D + d]) - exact);
              const bool ok =
                  sizeof(T) == sizeof(float)
                      ? (std::fabs(exact) >= 0x1p-20L * m ? err <= 4 * ulp_at<float>(exact) : err <= 4 * 0x1p-43L * m)
                      : err <= 4 * ulp_at<double>(exact) + 0x1p-50L * m;
              if (!ok) ++bad;
            }
          }
        }
        CHECK(bad == 0);
        for (std::size_t k = 0; k < positions; ++k) CHECK(log_domain_error<T>(lse[k], e.row_lse[k]) <= ulp_bound<T>());
      }
    }
  }
}

TEST_CASE("along_dim and the axis forms' errors", "[axis][errors]") {
  const smax::tensor_axis a = smax::along_dim({2, 3, 4, 5}, 1);
  CHECK(a.outer == 2);
  CHECK(a.axis == 3);
  CHECK(a.inner == 20);
  const smax::tensor_axis last = smax::along_dim({2, 3, 4, 5}, -1);
  CHECK(last.outer == 24);
  CHECK(last.axis == 5);
  CHECK(last.inner == 1);
  CHECK_THROWS_WITH(smax::along_dim({2, 3}, 2),
                    "smax::along_dim: dim = 2 is out of range for a tensor of 2 dimensions");
  CHECK_THROWS_WITH(smax::along_dim({2, 3}, -3),
                    "smax::along_dim: dim = -3 is out of range for a tensor of 2 dimensions");
  std::vector<float> x(60, 1.0f), y(60);
  smax::softmax_options<float> o;
  o.scale = 2;
  CHECK_THROWS_WITH(
      smax::softmax(x.data(), y.data(), smax::tensor_axis{2, 3, 10}, o),
      "smax::softmax: scale, softcap, bias, keep and causal apply along the last dimension only (inner == 1)");
  CHECK_NOTHROW(smax::softmax(x.data(), y.data(), smax::tensor_axis{20, 3, 1}, o));  // the row form takes them
  CHECK_THROWS_AS(smax::softmax(x.data(), x.data() + 1, smax::tensor_axis{2, 3, 9}), smax::error);
  CHECK_THROWS_AS(smax::logsumexp(x.data(), static_cast<float*>(nullptr), smax::tensor_axis{2, 3, 10}), smax::error);
  const std::size_t huge = std::numeric_limits<std::size_t>::max() / 4;
  CHECK_THROWS_AS(smax::softmax(x.data(), y.data(), smax::tensor_axis{huge, 8, 2}), smax::error);
}

}  // namespace
}  // namespace smax_test
