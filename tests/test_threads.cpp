// Threads never change results: every operation gives the same bits for any
// thread count, for many rows, a few rows and single rows longer than a chunk.
#include <cstdint>
#include <cstring>
#include <vector>

#include "support/buffers.hpp"
#include "support/catch.hpp"
#include "support/families.hpp"
#include "support/isas.hpp"

namespace smax_test {
namespace {

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && same_bytes(a.data(), b.data(), a.size() * sizeof(T));
}

TEMPLATE_TEST_CASE("results are bitwise identical for any thread count", "[threads]", float, double) {
  using T = TestType;
  struct shape {
    std::size_t rows, cols;
  };
  for (shape s : {shape{256, 300}, shape{3, 40000}, shape{1, 300001}, shape{5, 7}}) {
    const std::vector<T> x = make_row<T>(family::normal_x10, s.rows * s.cols, s.cols);
    for (smax::isa which : isas_under_test()) {
      smax::scoped_isa use(which);
      for (smax::softmax_algorithm algorithm :
           {smax::softmax_algorithm::three_pass_reload, smax::softmax_algorithm::two_pass_online,
            smax::softmax_algorithm::two_pass_exponent}) {
        INFO("isa " << smax::isa_name(which) << ", " << s.rows << " x " << s.cols << ", algorithm "
                    << static_cast<int>(algorithm));
        std::vector<T> p1(x.size()), l1(x.size()), e1(s.rows);
        smax::softmax_options<T> one;
        one.algorithm = algorithm;
        smax::softmax(x.data(), p1.data(), s.rows, s.cols, one);
        smax::log_softmax(x.data(), l1.data(), s.rows, s.cols, one);
        smax::logsumexp(x.data(), e1.data(), s.rows, s.cols, one);
        for (unsigned threads : {2u, 3u, 4u, 7u}) {
          smax::softmax_options<T> many = one;
          many.threads = threads;
          std::vector<T> p(x.size()), l(x.size()), e(s.rows);
          smax::softmax(x.data(), p.data(), s.rows, s.cols, many);
          smax::log_softmax(x.data(), l.data(), s.rows, s.cols, many);
          smax::logsumexp(x.data(), e.data(), s.rows, s.cols, many);
          INFO(threads << " threads");
          CHECK(same_bits(p, p1));
          CHECK(same_bits(l, l1));
          CHECK(same_bits(e, e1));
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("backward passes and cross-entropy are bitwise identical for any thread count", "[threads]", float,
                   double) {
  using T = TestType;
  const std::size_t rows = 300, cols = 257;
  const std::vector<T> x = make_row<T>(family::normal_x10, rows * cols, 11);
  const std::vector<T> dy = make_row<T>(family::normal_x1, rows * cols, 12);
  std::vector<std::int64_t> target(rows);
  for (std::size_t r = 0; r < rows; ++r) target[r] = r % 5 == 4 ? -100 : static_cast<std::int64_t>((r * 37) % cols);
  std::vector<T> lse(rows), dlse(rows, T(0.5));
  smax::logsumexp(x.data(), lse.data(), rows, cols);
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    INFO("isa " << smax::isa_name(which));
    auto run = [&](unsigned threads) {
      smax::softmax_options<T> o;
      o.threads = threads;
      std::vector<T> a(x.size()), b(x.size()), c(x.size()), g(x.size()), row_loss(rows);
      smax::softmax_backward(x.data(), dy.data(), a.data(), rows, cols, o);
      smax::log_softmax_backward(x.data(), dy.data(), b.data(), rows, cols, o);
      smax::logsumexp_backward(x.data(), lse.data(), dlse.data(), c.data(), rows, cols, o);
      smax::cross_entropy_options<T> ce;
      ce.threads = threads;
      ce.label_smoothing = 0.1;
      ce.z_loss = 1e-3;
      ce.losses = row_loss.data();
      const T loss = smax::cross_entropy_with_grad(x.data(), target.data(), g.data(), rows, cols, ce);
      std::vector<T> all = a;
      all.insert(all.end(), b.begin(), b.end());
      all.insert(all.end(), c.begin(), c.end());
      all.insert(all.end(), g.begin(), g.end());
      all.insert(all.end(), row_loss.begin(), row_loss.end());
      all.push_back(loss);
      return all;
    };
    const std::vector<T> one = run(1);
    for (unsigned threads : {2u, 3u, 7u}) {
      INFO(threads << " threads");
      CHECK(same_bits(run(threads), one));
    }
  }
}

}  // namespace
}  // namespace smax_test
