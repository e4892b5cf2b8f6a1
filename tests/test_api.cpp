// The API contract: forms (1-D, contiguous, strided), in-place use, guard cells,
// argument errors (before any write), and ISA control.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "support/buffers.hpp"
#include "support/catch.hpp"
#include "support/families.hpp"
#include "support/isas.hpp"

namespace smax_test {
namespace {

template <class T>
bool same_bits(T a, T b) {
  return same_bytes(&a, &b, sizeof a);
}

// Row r of a strided call must equal the 1-D call on that row, bit for bit:
// the forms share one kernel and nothing depends on a row's neighbours.
TEMPLATE_TEST_CASE("strided views match the 1-D form bitwise and leave padding and guards alone", "[api]", float,
                   double) {
  const std::size_t rows = 3;
  for (std::size_t cols = 0; cols <= kMaxTail; ++cols) {
    const std::size_t x_stride = cols + 5, y_stride = cols + 3;
    guarded_matrix<TestType> x(rows, cols, x_stride);
    const std::vector<TestType> values = make_row<TestType>(family::normal_x10, rows * cols, cols);
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t c = 0; c < cols; ++c) x.at(r, c) = values[r * cols + c];
    }
    for (smax::isa which : isas_under_test()) {
      smax::scoped_isa use(which);
      INFO("isa " << smax::isa_name(which) << ", cols = " << cols);
      guarded_matrix<TestType> p(rows, cols, y_stride), lp(rows, cols, y_stride), lse(1, rows, rows);
      smax::softmax<TestType>(x.view(), p.view());
      smax::log_softmax<TestType>(x.view(), lp.view());
      smax::logsumexp<TestType>(x.view(), lse.data());
      CHECK(p.guards_intact());
      CHECK(lp.guards_intact());
      CHECK(lse.guards_intact());
      CHECK(x.guards_intact());
      for (std::size_t r = 0; r < rows; ++r) {
        std::vector<TestType> p1(cols), lp1(cols);
        smax::softmax(&x.at(r, 0), p1.data(), cols);
        smax::log_softmax(&x.at(r, 0), lp1.data(), cols);
        const TestType lse1 = smax::logsumexp(&x.at(r, 0), cols);
        for (std::size_t c = 0; c < cols; ++c) {
          CHECK(same_bits(p.at(r, c), p1[c]));
          CHECK(same_bits(lp.at(r, c), lp1[c]));
        }
        CHECK(same_bits(lse.at(0, r), lse1));
      }
    }
  }
}

TEMPLATE_TEST_CASE("in-place calls give the out-of-place results", "[api]", float, double) {
  for (std::size_t cols : {std::size_t{1}, std::size_t{7}, std::size_t{16}, std::size_t{67}, std::size_t{1000}}) {
    const std::size_t rows = 4;
    const std::vector<TestType> x = make_row<TestType>(family::normal_x10, rows * cols, cols + 3);
    for (smax::isa which : isas_under_test()) {
      smax::scoped_isa use(which);
      INFO("isa " << smax::isa_name(which) << ", cols = " << cols);
      std::vector<TestType> expected(x.size()), inplace = x;
      smax::softmax(x.data(), expected.data(), rows, cols);
      smax::softmax(inplace.data(), inplace.data(), rows, cols);
      CHECK(std::equal(expected.begin(), expected.end(), inplace.begin(), same_bits<TestType>));

      inplace = x;
      smax::log_softmax(x.data(), expected.data(), rows, cols);
      smax::log_softmax(inplace.data(), inplace.data(), rows, cols);
      CHECK(std::equal(expected.begin(), expected.end(), inplace.begin(), same_bits<TestType>));

      // Strided and in place: same pointer, same stride.
      guarded_matrix<TestType> m(rows, cols, cols + 2);
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < cols; ++c) m.at(r, c) = x[r * cols + c];
      }
      smax::softmax<TestType>(m.view(), m.view());
      smax::softmax(x.data(), expected.data(), rows, cols);
      CHECK(m.guards_intact());
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < cols; ++c) CHECK(same_bits(m.at(r, c), expected[r * cols + c]));
      }
    }
  }
}

// Runs `call`, which must throw smax::error whose message contains every
// fragment, and checks that the guarded output was not written.
template <class T, class Call>
void expect_error(guarded_matrix<T>& output, Call call, std::initializer_list<const char*> fragments) {
  try {
    call();
    FAIL("no smax::error thrown");
  } catch (const smax::error& e) {
    const std::string message = e.what();
    INFO("message: " << message);
    for (const char* fragment : fragments) CHECK(message.find(fragment) != std::string::npos);
    const std::invalid_argument& base = e;  // the documented base class
    CHECK(std::string(base.what()) == message);
  }
  CHECK(output.untouched());
}

TEMPLATE_TEST_CASE("invalid arguments are reported before anything is written", "[api][errors]", float, double) {
  using T = TestType;
  using view = smax::matrix_view<T>;
  using cview = smax::matrix_view<const T>;
  std::vector<T> x(64, T(1));
  guarded_matrix<T> y(4, 16, 16);

  SECTION("shape mismatch") {
    expect_error(y, [&] { smax::softmax<T>(cview(x.data(), 4, 16), view(y.data(), 4, 15)); },
                 {"smax::softmax", "x is 4 x 16", "y is 4 x 15"});
    expect_error(y, [&] { smax::log_softmax<T>(cview(x.data(), 3, 16), y.view()); },
                 {"smax::log_softmax", "x is 3 x 16", "y is 4 x 16"});
  }
  SECTION("null pointers with a non-zero size") {
    expect_error(y, [&] { smax::softmax(static_cast<const T*>(nullptr), y.data(), 4, 16); },
                 {"smax::softmax", "x.data is null", "4 x 16"});
    expect_error(y, [&] { smax::log_softmax(x.data(), static_cast<T*>(nullptr), 16); },
                 {"smax::log_softmax", "y.data is null"});
    expect_error(y, [&] { smax::logsumexp(x.data(), static_cast<T*>(nullptr), 4, 16); },
                 {"smax::logsumexp", "out is null", "4 elements are needed"});
    expect_error(y, [&] { (void)smax::logsumexp(static_cast<const T*>(nullptr), 5); },
                 {"smax::logsumexp", "x.data is null"});
  }
  SECTION("stride smaller than cols") {
    expect_error(y, [&] { smax::softmax<T>(cview(x.data(), 4, 16, 15), y.view()); },
                 {"smax::softmax", "x.stride = 15", "x.cols = 16"});
    expect_error(y, [&] { smax::softmax<T>(cview(x.data(), 4, 16), view(y.data(), 4, 16, 3)); },
                 {"smax::softmax", "y.stride = 3"});
  }
  SECTION("sizes whose product overflows") {
    const std::size_t huge = std::numeric_limits<std::size_t>::max() / 2;
    expect_error(y, [&] { smax::softmax(x.data(), y.data(), huge, 3); }, {"smax::softmax", "overflows"});
    expect_error(y, [&] { smax::softmax<T>(cview(x.data(), 3, 4, huge), view(y.data(), 3, 4, huge)); },
                 {"smax::softmax", "x has rows = 3", "overflows"});
    expect_error(y, [&] { smax::logsumexp(x.data(), y.data(), 2, huge); }, {"smax::logsumexp", "overflows"});
  }
  SECTION("partial overlap") {
    // y starts one element into x: neither disjoint nor the same buffer.
    guarded_matrix<T> buffer(1, 40, 40);
    for (std::size_t i = 0; i < 40; ++i) buffer.at(0, i) = T(0.5);
    const std::vector<T> before(buffer.data(), buffer.data() + 40);
    try {
      smax::softmax(buffer.data(), buffer.data() + 1, 39);
      FAIL("no smax::error thrown");
    } catch (const smax::error& e) {
      CHECK(std::string(e.what()).find("overlaps x") != std::string::npos);
    }
    CHECK(std::equal(before.begin(), before.end(), buffer.data()));
    // Same pointer but a different stride is not in place either.
    expect_error(y, [&] { smax::softmax<T>(cview(y.data(), 2, 4, 8), view(y.data(), 2, 4, 4)); },
                 {"smax::softmax", "overlaps x"});
    expect_error(y, [&] { smax::logsumexp(y.data(), y.data() + 3, 2, 4); }, {"smax::logsumexp", "out overlaps x"});
  }
}

TEST_CASE("exactly in place and disjoint buffers are accepted", "[api][errors]") {
  std::vector<float> x(32, 1.0f), y(32);
  CHECK_NOTHROW(smax::softmax(x.data(), x.data(), 4, 8));
  CHECK_NOTHROW(smax::softmax(x.data(), y.data(), 4, 8));
  // Interleaved rows that share an address range are conservatively rejected.
  CHECK_THROWS_AS(smax::softmax<float>(smax::matrix_view<const float>(x.data(), 2, 4, 8),
                                       smax::matrix_view<float>(x.data() + 4, 2, 4, 8)),
                  smax::error);
}

TEST_CASE("ISA control: available, active, set, scoped and names", "[api][isa]") {
  const std::vector<smax::isa> available = smax::available_isas();
  REQUIRE(!available.empty());
  CHECK(available.front() == smax::isa::scalar);
  CHECK(std::find(available.begin(), available.end(), smax::active_isa()) != available.end());
  CHECK(std::string(smax::isa_name(smax::isa::scalar)) == "scalar");
  CHECK(std::string(smax::isa_name(smax::isa::sse2)) == "sse2");
  CHECK(std::string(smax::isa_name(smax::isa::avx2)) == "avx2");
  CHECK(std::string(smax::isa_name(smax::isa::avx512)) == "avx512");
  CHECK(std::string(smax::isa_name(smax::isa::neon)) == "neon");

  const smax::isa original = smax::active_isa();
  for (smax::isa which : available) {
    {
      smax::scoped_isa use(which);
      CHECK(smax::active_isa() == which);
    }
    CHECK(smax::active_isa() == original);
  }
  smax::set_isa(smax::isa::scalar);
  CHECK(smax::active_isa() == smax::isa::scalar);
  smax::set_isa(original);

#if defined(__x86_64__)
  try {
    smax::set_isa(smax::isa::neon);
    FAIL("set_isa(neon) succeeded on x86-64");
  } catch (const smax::error& e) {
    CHECK(std::string(e.what()).find("smax::set_isa: neon is not available") != std::string::npos);
  }
  CHECK(smax::active_isa() == original);
#endif
}

}  // namespace
}  // namespace smax_test
