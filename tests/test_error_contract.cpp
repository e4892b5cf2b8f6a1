// The error contract of the README's "Errors" table, one test case per row
// (E1, E2, ...): every public entry point family rejects invalid arguments with
// smax::error (a std::invalid_argument) whose message names the function, the
// argument and, where there is one, the row and the value, and it does so
// before writing anything: every byte of the caller's memory (outputs, inputs,
// per-row outputs, the cells around them) is compared before and after.
// Validation runs before dispatch, so each row is checked under every ISA
// under test, which costs nothing.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "support/catch.hpp"
#include "support/isas.hpp"

namespace smax_test {
namespace {

static_assert(std::is_base_of_v<std::invalid_argument, smax::error>, "smax::error is a std::invalid_argument");

using Catch::Contains;
using Catch::Equals;
using bf16 = smax::bfloat16;
using smax::half;

template <class T>
using view = smax::matrix_view<T>;
template <class T>
using cview = smax::matrix_view<const T>;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
// 2^63: twice it overflows std::size_t, and as a stride it overflows any extent.
constexpr std::size_t kHuge = std::numeric_limits<std::size_t>::max() / 2 + 1;
const std::string kHugeText = std::to_string(kHuge);

// All the memory one test hands to smax: regions of 256 bytes in one block,
// filled with 0xa5 bytes (or values a test sets), so that a rejected call can
// be checked to have written nothing anywhere, inside or around its buffers.
class caller_memory {
 public:
  static constexpr std::size_t kRegionBytes = 256;
  static constexpr std::size_t kRegions = 24;

  caller_memory() : cells_(kRegions * kRegionBytes / sizeof(double)) {
    std::memset(cells_.data(), 0xa5, kRegions * kRegionBytes);
  }
  caller_memory(const caller_memory&) = delete;
  caller_memory& operator=(const caller_memory&) = delete;

  // The start of region k (0 and the last one are never handed out, so they
  // act as guards), plus `skip` elements of T.
  template <class T>
  T* region(std::size_t k, std::size_t skip = 0) {
    return reinterpret_cast<T*>(reinterpret_cast<unsigned char*>(cells_.data()) + k * kRegionBytes) + skip;
  }

  std::vector<unsigned char> bytes() const {
    std::vector<unsigned char> copy(kRegions * kRegionBytes);
    std::memcpy(copy.data(), cells_.data(), copy.size());
    return copy;
  }

 private:
  std::vector<double> cells_;  // double: aligned for every element type used
};

// Runs `call`, which must throw smax::error, and returns its message (or a
// note that none was thrown, which no expected message matches). Checks that
// the call left every byte of `memory` as it was.
template <class Call>
std::string rejected(const caller_memory& memory, const Call& call) {
  const std::vector<unsigned char> before = memory.bytes();
  std::string message = "(no smax::error thrown)";
  try {
    call();
  } catch (const smax::error& e) {
    message = e.what();
    const std::invalid_argument& base = e;  // the documented base class
    CHECK(std::string(base.what()) == message);
  }
  const std::vector<unsigned char> after = memory.bytes();
  std::size_t first_changed = 0;
  while (first_changed < after.size() && after[first_changed] == before[first_changed]) ++first_changed;
  INFO("message: " << message << "; first byte written: " << first_changed << " of " << after.size());
  CHECK(first_changed == after.size());
  return message;
}

// Runs body() under each ISA under test.
template <class Body>
void on_every_isa(const Body& body) {
  for (smax::isa which : isas_under_test()) {
    smax::scoped_isa use(which);
    INFO("isa " << smax::isa_name(which));
    body();
  }
}

// The overlap message of an output that is neither the input itself nor disjoint from it.
std::string partial_overlap(const std::string& fn, const std::string& out, const std::string& in) {
  return fn + ": " + out + " overlaps " + in + " without being the same buffer; in-place use needs " + out +
         ".data == " + in + ".data and " + out + ".stride == " + in + ".stride";
}

TEST_CASE("E1: softmax checks shapes, views, size overflow and aliasing", "[errors]") {
  caller_memory mem;
  float* x = mem.region<float>(1);
  float* y = mem.region<float>(3);
  on_every_isa([&] {
    CHECK_THAT(rejected(mem, [&] { smax::softmax<float>(cview<float>(x, 2, 8), view<float>(y, 2, 7)); }),
               Equals("smax::softmax: x is 2 x 8 but y is 2 x 7"));
    CHECK_THAT(rejected(mem, [&] { smax::softmax(static_cast<const float*>(nullptr), y, 2, 8); }),
               Equals("smax::softmax: x.data is null but the view has 2 x 8 elements"));
    CHECK_THAT(rejected(mem, [&] { smax::softmax(x, static_cast<float*>(nullptr), 8); }),
               Equals("smax::softmax: y.data is null but the view has 1 x 8 elements"));
    CHECK_THAT(rejected(mem, [&] { smax::softmax<float>(cview<float>(x, 2, 8), view<float>(y, 2, 8, 3)); }),
               Equals("smax::softmax: y.stride = 3 is smaller than y.cols = 8"));
    CHECK_THAT(rejected(mem, [&] { smax::softmax<float>(cview<float>(x, 3, 4, kHuge), view<float>(y, 3, 4)); }),
               Equals("smax::softmax: x has rows = 3, cols = 4, stride = " + kHugeText +
                      ": its extent overflows the address space"));
    CHECK_THAT(rejected(mem, [&] { smax::softmax(x, y, kHuge, 3); }),
               Equals("smax::softmax: rows * cols = " + kHugeText + " * 3 overflows std::size_t"));
    CHECK_THAT(rejected(mem, [&] { smax::softmax(x, x + 1, 2, 8); }),
               Equals(partial_overlap("smax::softmax", "y", "x")));
    // The same pointer with another stride is not in place either.
    CHECK_THAT(rejected(mem, [&] { smax::softmax<float>(cview<float>(x, 2, 4, 8), view<float>(x, 2, 4, 4)); }),
               Equals(partial_overlap("smax::softmax", "y", "x")));
  });
}

TEST_CASE("E2: log_softmax checks shapes, views, size overflow and aliasing", "[errors]") {
  caller_memory mem;
  float* x = mem.region<float>(1);
  float* y = mem.region<float>(3);
  on_every_isa([&] {
    CHECK_THAT(rejected(mem, [&] { smax::log_softmax(x, x + 3, 2, 8); }),
               Equals("smax::log_softmax: y overlaps x without being the same buffer; in-place use needs y.data == "
                      "x.data and y.stride == x.stride"));
    CHECK_THAT(rejected(mem, [&] { smax::log_softmax<float>(cview<float>(x, 2, 8), view<float>(y, 3, 8)); }),
               Equals("smax::log_softmax: x is 2 x 8 but y is 3 x 8"));
    CHECK_THAT(rejected(mem, [&] { smax::log_softmax(static_cast<const float*>(nullptr), y, 5); }),
               Equals("smax::log_softmax: x.data is null but the view has 1 x 5 elements"));
    CHECK_THAT(rejected(mem, [&] { smax::log_softmax<float>(cview<float>(x, 2, 8, 7), view<float>(y, 2, 8)); }),
               Equals("smax::log_softmax: x.stride = 7 is smaller than x.cols = 8"));
    CHECK_THAT(rejected(mem, [&] { smax::log_softmax(x, y, 2, kHuge); }),
               Equals("smax::log_softmax: rows * cols = 2 * " + kHugeText + " overflows std::size_t"));
  });
}

TEST_CASE("E3: logsumexp checks x, the output's size and aliasing", "[errors]") {
  caller_memory mem;
  float* x = mem.region<float>(1);
  float* out = mem.region<float>(3);
  on_every_isa([&] {
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp(x, static_cast<float*>(nullptr), 2, 8); }),
               Equals("smax::logsumexp: out is null but 2 elements are needed"));
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp(x, x + 3, 2, 8); }), Equals("smax::logsumexp: out overlaps x"));
    CHECK_THAT(rejected(mem, [&] { (void)smax::logsumexp(static_cast<const float*>(nullptr), 5); }),
               Equals("smax::logsumexp: x.data is null but the view has 1 x 5 elements"));
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp<float>(cview<float>(x, 2, 8, 4), out); }),
               Equals("smax::logsumexp: x.stride = 4 is smaller than x.cols = 8"));
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp(x, out, kHuge, 2); }),
               Equals("smax::logsumexp: rows * cols = " + kHugeText + " * 2 overflows std::size_t"));
    // Empty rows still have a result each, so out is checked even when cols == 0.
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp(x, out, kHuge / 2, 0); }),
               Equals("smax::logsumexp: out would need " + std::to_string(kHuge / 2) +
                      " elements, more than the address space holds"));
  });
}

TEST_CASE("E4: softmax_backward checks three shapes and views, aliasing and softcap", "[errors]") {
  caller_memory mem;
  float* y = mem.region<float>(1);
  float* dy = mem.region<float>(3);
  float* dx = mem.region<float>(5);
  on_every_isa([&] {
    CHECK_THAT(rejected(mem, [&] { smax::softmax_backward(y, dy, dy + 1, 2, 8); }),
               Equals("smax::softmax_backward: dx overlaps dy without being the same buffer; in-place use needs "
                      "dx.data == dy.data and dx.stride == dy.stride"));
    CHECK_THAT(rejected(mem, [&] { smax::softmax_backward(y, dy, y + 2, 2, 8); }),
               Equals(partial_overlap("smax::softmax_backward", "dx", "y")));
    CHECK_THAT(rejected(mem,
                        [&] {
                          smax::softmax_backward<float>(cview<float>(y, 2, 8), cview<float>(dy, 2, 7),
                                                        view<float>(dx, 2, 8));
                        }),
               Equals("smax::softmax_backward: y is 2 x 8 but dy is 2 x 7"));
    CHECK_THAT(rejected(mem,
                        [&] {
                          smax::softmax_backward<float>(cview<float>(y, 2, 8), cview<float>(dy, 2, 8),
                                                        view<float>(dx, 3, 8));
                        }),
               Equals("smax::softmax_backward: y is 2 x 8 but dx is 3 x 8"));
    CHECK_THAT(rejected(mem, [&] { smax::softmax_backward(y, static_cast<const float*>(nullptr), dx, 2, 8); }),
               Equals("smax::softmax_backward: dy.data is null but the view has 2 x 8 elements"));
    CHECK_THAT(rejected(mem, [&] { smax::softmax_backward(y, dy, static_cast<float*>(nullptr), 16); }),
               Equals("smax::softmax_backward: dx.data is null but the view has 1 x 16 elements"));
    CHECK_THAT(rejected(mem, [&] { smax::softmax_backward(y, dy, dx, kHuge, 4); }),
               Equals("smax::softmax_backward: rows * cols = " + kHugeText + " * 4 overflows std::size_t"));
    smax::softmax_options<float> o;
    o.softcap = 30.0;
    CHECK_THAT(rejected(mem, [&] { smax::softmax_backward(y, dy, dx, 2, 8, o); }),
               Equals("smax::softmax_backward: options.softcap is supported by the forward operations only"));
  });
}

TEST_CASE("E5: log_softmax_backward checks three shapes and views, aliasing and softcap", "[errors]") {
  caller_memory mem;
  float* y = mem.region<float>(1);
  float* dy = mem.region<float>(3);
  float* dx = mem.region<float>(5);
  on_every_isa([&] {
    CHECK_THAT(rejected(mem,
                        [&] {
                          smax::log_softmax_backward<float>(cview<float>(y, 2, 8), cview<float>(dy, 2, 8),
                                                            view<float>(dx, 2, 6));
                        }),
               Equals("smax::log_softmax_backward: y is 2 x 8 but dx is 2 x 6"));
    CHECK_THAT(rejected(mem, [&] { smax::log_softmax_backward(y, dy, y + 15, 2, 8); }),
               Equals(partial_overlap("smax::log_softmax_backward", "dx", "y")));
    CHECK_THAT(rejected(mem, [&] { smax::log_softmax_backward(y, dy, dy - 1, 2, 8); }),
               Equals(partial_overlap("smax::log_softmax_backward", "dx", "dy")));
    CHECK_THAT(rejected(mem, [&] { smax::log_softmax_backward(static_cast<const float*>(nullptr), dy, dx, 2, 8); }),
               Equals("smax::log_softmax_backward: y.data is null but the view has 2 x 8 elements"));
    CHECK_THAT(rejected(mem,
                        [&] {
                          smax::log_softmax_backward<float>(cview<float>(y, 2, 8), cview<float>(dy, 2, 8, 2),
                                                            view<float>(dx, 2, 8));
                        }),
               Equals("smax::log_softmax_backward: dy.stride = 2 is smaller than dy.cols = 8"));
    smax::softmax_options<float> o;
    o.softcap = 15.0;
    CHECK_THAT(rejected(mem, [&] { smax::log_softmax_backward(y, dy, dx, 16, o); }),
               Equals("smax::log_softmax_backward: options.softcap is supported by the forward operations only"));
  });
}

TEST_CASE("E6: logsumexp_backward checks x and dx, lse and dlse, and aliasing", "[errors]") {
  caller_memory mem;
  float* x = mem.region<float>(1);
  float* lse = mem.region<float>(3);
  float* dlse = mem.region<float>(4);
  float* dx = mem.region<float>(5);
  const float* no_values = nullptr;
  on_every_isa([&] {
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp_backward(x, no_values, dlse, dx, 2, 8); }),
               Equals("smax::logsumexp_backward: lse is null but 2 elements are needed"));
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp_backward(x, lse, no_values, dx, 2, 8); }),
               Equals("smax::logsumexp_backward: dlse is null but 2 elements are needed"));
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp_backward(x, dx + 3, dlse, dx, 2, 8); }),
               Equals("smax::logsumexp_backward: dx overlaps lse"));
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp_backward(x, lse, dx + 15, dx, 2, 8); }),
               Equals("smax::logsumexp_backward: dx overlaps dlse"));
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp_backward(x, lse, dlse, x + 8, 2, 8); }),
               Equals(partial_overlap("smax::logsumexp_backward", "dx", "x")));
    CHECK_THAT(
        rejected(mem,
                 [&] { smax::logsumexp_backward<float>(cview<float>(x, 2, 8), lse, dlse, view<float>(dx, 2, 7)); }),
        Equals("smax::logsumexp_backward: x is 2 x 8 but dx is 2 x 7"));
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp_backward(x, 0.0f, 1.0f, static_cast<float*>(nullptr), 8); }),
               Equals("smax::logsumexp_backward: dx.data is null but the view has 1 x 8 elements"));
    smax::softmax_options<float> o;
    o.softcap = 50.0;
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp_backward(x, lse, dlse, dx, 2, 8, o); }),
               Equals("smax::logsumexp_backward: options.softcap is supported by the forward operations only"));
  });
}

TEST_CASE("E7: options.scale and options.softcap are checked by every row operation", "[errors]") {
  caller_memory mem;
  float* x = mem.region<float>(1);
  float* y = mem.region<float>(3);
  double* xd = mem.region<double>(5);
  double* yd = mem.region<double>(7);
  on_every_isa([&] {
    smax::softmax_options<float> o;
    o.scale = 0.0;
    CHECK_THAT(rejected(mem, [&] { smax::softmax(x, y, 2, 8, o); }),
               Equals("smax::softmax: options.scale = 0 must be finite and > 0"));
    o.scale = kNaN;
    CHECK_THAT(rejected(mem, [&] { smax::log_softmax(x, y, 2, 8, o); }),
               Equals("smax::log_softmax: options.scale = nan must be finite and > 0"));
    o.scale = kInf;
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp(x, y, 2, 8, o); }),
               Equals("smax::logsumexp: options.scale = inf must be finite and > 0"));
    o.scale = -2.0;
    CHECK_THAT(rejected(mem, [&] { smax::softmax_backward(x, x, y, 2, 8, o); }),
               Equals("smax::softmax_backward: options.scale = -2 must be finite and > 0"));
    o = {};
    o.softcap = -1.0;
    CHECK_THAT(rejected(mem, [&] { smax::softmax(x, y, 2, 8, o); }),
               Equals("smax::softmax: options.softcap = -1 must be finite and >= 0 (0: off)"));
    o.softcap = kInf;
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp(x, y, 2, 8, o); }),
               Equals("smax::logsumexp: options.softcap = inf must be finite and >= 0 (0: off)"));
    smax::softmax_options<double> od;
    od.softcap = 30.0;
    CHECK_THAT(rejected(mem, [&] { smax::softmax(xd, yd, 2, 8, od); }),
               Equals("smax::softmax: options.softcap is supported for float and two-byte data, not double"));
  });
}

TEST_CASE("E8: options.bias and options.keep are checked for shape, views and aliasing", "[errors]") {
  caller_memory mem;
  float* x = mem.region<float>(1);  // 4 x 8
  float* y = mem.region<float>(3);
  float* bias = mem.region<float>(5);
  const std::uint8_t* keep = mem.region<std::uint8_t>(7);
  on_every_isa([&] {
    smax::softmax_options<float> o;
    o.bias = {bias, 1, 7};
    CHECK_THAT(rejected(mem, [&] { smax::softmax(x, y, 4, 8, o); }),
               Equals("smax::softmax: options.bias is 1 x 7 but x is 4 x 8: the columns must match"));
    o.bias = {bias, 3, 8};
    CHECK_THAT(rejected(mem, [&] { smax::softmax(x, y, 4, 8, o); }),
               Equals("smax::softmax: options.bias is 3 x 8 but x is 4 x 8: its rows must be 1, 4 or divide 4"));
    o.bias = {bias, 0, 8};
    CHECK_THAT(rejected(mem, [&] { smax::log_softmax(x, y, 4, 8, o); }),
               Equals("smax::log_softmax: options.bias is 0 x 8 but x is 4 x 8: its rows must be 1, 4 or divide 4"));
    o.bias = {bias, 2, 8, 6};
    CHECK_THAT(rejected(mem, [&] { smax::softmax(x, y, 4, 8, o); }),
               Equals("smax::softmax: options.bias.stride = 6 is smaller than options.bias.cols = 8"));
    o.bias = {y + 8, 1, 8};
    CHECK_THAT(rejected(mem, [&] { smax::softmax(x, y, 4, 8, o); }),
               Equals("smax::softmax: the output overlaps options.bias"));
    o.bias = {y, 2, 8};
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp(x, y, 4, 8, o); }),
               Equals("smax::logsumexp: the output overlaps options.bias"));
    CHECK_THAT(rejected(mem, [&] { smax::softmax_backward(x, x, y, 4, 8, o); }),
               Equals("smax::softmax_backward: the output overlaps options.bias"));
    o = {};
    o.keep = {nullptr, 1, 8};
    CHECK_THAT(rejected(mem, [&] { smax::softmax(x, y, 4, 8, o); }),
               Equals("smax::softmax: options.keep.data is null"));
    o.keep = {keep, 4, 9};
    CHECK_THAT(rejected(mem, [&] { smax::softmax(x, y, 4, 8, o); }),
               Equals("smax::softmax: options.keep is 4 x 9 but x is 4 x 8: the columns must match"));
    o.keep = {keep, 2, 8, 4};
    CHECK_THAT(rejected(mem, [&] { smax::log_softmax_backward(x, x, y, 4, 8, o); }),
               Equals("smax::log_softmax_backward: options.keep.stride = 4 is smaller than options.keep.cols = 8"));
    o.keep = {reinterpret_cast<const std::uint8_t*>(y + 31), 1, 8};
    CHECK_THAT(rejected(mem, [&] { smax::softmax(x, y, 4, 8, o); }),
               Equals("smax::softmax: the output overlaps options.keep"));
  });
}

TEST_CASE("E9: the tensor_axis forms and along_dim check the axis, the sizes, options and aliasing", "[errors]") {
  caller_memory mem;
  float* x = mem.region<float>(1);  // 2 x 3 x 4
  float* y = mem.region<float>(3);
  float* out = mem.region<float>(5);
  float* dx = mem.region<float>(7);
  const smax::tensor_axis a{2, 3, 4};
  CHECK_THAT(rejected(mem,
                      [&] {
                        (void)smax::along_dim({2, 3}, 2);
                      }),
             Equals("smax::along_dim: dim = 2 is out of range for a tensor of 2 dimensions"));
  CHECK_THAT(rejected(mem,
                      [&] {
                        (void)smax::along_dim({2, 3}, -3);
                      }),
             Equals("smax::along_dim: dim = -3 is out of range for a tensor of 2 dimensions"));
  CHECK_THAT(rejected(mem,
                      [&] {
                        (void)smax::along_dim({kHuge, 4, 2}, 1);
                      }),
             Equals("smax::along_dim: the tensor's size overflows std::size_t"));
  on_every_isa([&] {
    smax::softmax_options<float> o;
    o.scale = 2.0;
    CHECK_THAT(rejected(mem, [&] { smax::softmax(x, y, a, o); }),
               Equals("smax::softmax: scale, softcap, bias, keep and causal apply along the last dimension only "
                      "(inner == 1)"));
    o = {};
    o.causal = true;
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp(x, out, a, o); }),
               Equals("smax::logsumexp: scale, softcap, bias, keep and causal apply along the last dimension only "
                      "(inner == 1)"));
    CHECK_THAT(rejected(mem, [&] { smax::softmax(x, x + 1, a); }), Equals(partial_overlap("smax::softmax", "y", "x")));
    CHECK_THAT(rejected(mem, [&] { smax::log_softmax(static_cast<const float*>(nullptr), y, a); }),
               Equals("smax::log_softmax: x.data is null but the view has 1 x 24 elements"));
    CHECK_THAT(rejected(mem,
                        [&] {
                          smax::softmax(x, y, smax::tensor_axis{kHuge, 3, 4});
                        }),
               Equals("smax::softmax: rows * cols = " + kHugeText + " * 3 overflows std::size_t"));
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp(x, static_cast<float*>(nullptr), a); }),
               Equals("smax::logsumexp: out is null but 8 elements are needed"));
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp(x, x + 20, a); }), Equals("smax::logsumexp: out overlaps x"));
    CHECK_THAT(rejected(mem, [&] { smax::softmax_backward(x, y, y + 4, a); }),
               Equals(partial_overlap("smax::softmax_backward", "dx", "dy")));
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp_backward(x, static_cast<const float*>(nullptr), out, dx, a); }),
               Equals("smax::logsumexp_backward: lse is null but 8 elements are needed"));
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp_backward(x, out, dx + 23, dx, a); }),
               Equals("smax::logsumexp_backward: dx overlaps dlse"));
    // inner == 1 is the row form, with the row form's checks and messages.
    o = {};
    o.bias = {out, 1, 5};
    CHECK_THAT(rejected(mem,
                        [&] {
                          smax::softmax(x, y, smax::tensor_axis{3, 8, 1}, o);
                        }),
               Equals("smax::softmax: options.bias is 1 x 5 but x is 3 x 8: the columns must match"));
  });
}

TEST_CASE("E10: two-byte data and the mixed two-byte-in, float-out forms are checked like float", "[errors]") {
  caller_memory mem;
  bf16* xb = mem.region<bf16>(1);  // 2 x 4
  half* xh = mem.region<half>(3);
  float* y = mem.region<float>(5);
  bf16* yb = mem.region<bf16>(7);
  float* weight = mem.region<float>(9);
  std::int64_t* target = mem.region<std::int64_t>(10);
  for (std::size_t i = 0; i < 4; ++i) weight[i] = 1.0f;
  weight[2] = -1.0f;
  for (std::int64_t i = 0; i < 2; ++i) target[i] = i;
  on_every_isa([&] {
    // Input and output differ in type, so they can never be one buffer.
    CHECK_THAT(rejected(mem, [&] { smax::softmax(xb, reinterpret_cast<float*>(xb), 2, 4); }),
               Contains("smax::softmax: y overlaps x"));
    CHECK_THAT(rejected(mem, [&] { smax::log_softmax(xh, reinterpret_cast<float*>(xh) + 1, 8); }),
               Contains("smax::log_softmax: y overlaps x"));
    CHECK_THAT(rejected(mem, [&] { smax::log_softmax(xh, static_cast<float*>(nullptr), 8); }),
               Equals("smax::log_softmax: y.data is null but the view has 1 x 8 elements"));
    CHECK_THAT(rejected(mem, [&] { smax::softmax<bf16>(cview<bf16>(xb, 2, 4), view<float>(y, 2, 3)); }),
               Equals("smax::softmax: x is 2 x 4 but y is 2 x 3"));
    CHECK_THAT(rejected(mem, [&] { smax::logsumexp(xb, reinterpret_cast<float*>(xb) + 1, 2, 4); }),
               Equals("smax::logsumexp: out overlaps x"));
    CHECK_THAT(rejected(mem, [&] { (void)smax::logsumexp(static_cast<const half*>(nullptr), 4); }),
               Equals("smax::logsumexp: x.data is null but the view has 1 x 4 elements"));
    smax::softmax_options<bf16> o;
    o.bias = {yb, 1, 3};
    CHECK_THAT(rejected(mem, [&] { smax::softmax(xb, y, 2, 4, o); }),
               Equals("smax::softmax: options.bias is 1 x 3 but x is 2 x 4: the columns must match"));
    smax::softmax_options<half> oh;
    oh.scale = 0.5;
    CHECK_THAT(rejected(mem,
                        [&] {
                          smax::logsumexp(xh, y, smax::tensor_axis{2, 2, 2}, oh);
                        }),
               Equals("smax::logsumexp: scale, softcap, bias, keep and causal apply along the last dimension only "
                      "(inner == 1)"));
    // Two-byte in, two-byte out: the same checks.
    CHECK_THAT(rejected(mem, [&] { smax::softmax<bf16>(cview<bf16>(xb, 2, 4), view<bf16>(yb, 2, 4, 2)); }),
               Equals("smax::softmax: y.stride = 2 is smaller than y.cols = 4"));
    CHECK_THAT(rejected(mem, [&] { smax::softmax_backward(xb, xb, xb + 1, 2, 4); }),
               Equals(partial_overlap("smax::softmax_backward", "dx", "y")));
    // Cross-entropy on two-byte logits takes float weights (and per-row outputs).
    smax::cross_entropy_options<bf16> ce;
    ce.weight = weight;
    CHECK_THAT(rejected(mem, [&] { (void)smax::cross_entropy(xb, target, 2, 4, ce); }),
               Equals("smax::cross_entropy: weight[2] = -1 is negative"));
  });
}

// Cross-entropy fixtures: 3 x 4 float logits, int64 targets {0, 1, 2}.
struct ce_setup {
  caller_memory mem;
  float* x = mem.region<float>(1);
  float* grad = mem.region<float>(3);
  float* q = mem.region<float>(5);  // soft targets
  float* weight = mem.region<float>(7);
  float* per_row = mem.region<float>(9);
  std::int64_t* target = mem.region<std::int64_t>(11);
  std::int32_t* target32 = mem.region<std::int32_t>(13);
  cview<float> logits{x, 3, 4};

  ce_setup() {
    for (std::size_t i = 0; i < 12; ++i) {
      x[i] = 0.5f;
      q[i] = 0.25f;
    }
    for (std::size_t c = 0; c < 4; ++c) weight[c] = 1.0f;
    for (std::int32_t r = 0; r < 3; ++r) target[r] = target32[r] = r;
  }
};

TEST_CASE("E11: cross_entropy with class-index targets checks logits and every target", "[errors]") {
  ce_setup s;
  on_every_isa([&] {
    s.target[1] = 4;
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.logits, s.target); }),
               Equals("smax::cross_entropy: target[1] = 4 is outside [0, 4) and is not ignore_index (-100)"));
    s.target[1] = 1;
    s.target32[2] = -1;
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.logits, s.target32); }),
               Equals("smax::cross_entropy: target[2] = -1 is outside [0, 4) and is not ignore_index (-100)"));
    smax::cross_entropy_options<float> o;
    o.ignore_index = -1;
    s.target32[2] = -100;
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.logits, s.target32, o); }),
               Equals("smax::cross_entropy: target[2] = -100 is outside [0, 4) and is not ignore_index (-1)"));
    s.target32[2] = 2;
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.logits, static_cast<const std::int64_t*>(nullptr)); }),
               Equals("smax::cross_entropy: target is null but 3 elements are needed"));
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(cview<float>(nullptr, 3, 4), s.target); }),
               Equals("smax::cross_entropy: logits.data is null but the view has 3 x 4 elements"));
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(cview<float>(s.x, 3, 4, 2), s.target); }),
               Equals("smax::cross_entropy: logits.stride = 2 is smaller than logits.cols = 4"));
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(cview<float>(s.x, 3, 0), s.target); }),
               Equals("smax::cross_entropy: logits has no classes (cols == 0)"));
  });
}

TEST_CASE("E12: cross_entropy with probability targets checks their shape and view", "[errors]") {
  ce_setup s;
  on_every_isa([&] {
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.logits, cview<float>(s.q, 3, 3)); }),
               Equals("smax::cross_entropy: logits is 3 x 4 but target is 3 x 3"));
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.logits, cview<float>(nullptr, 3, 4)); }),
               Equals("smax::cross_entropy: target.data is null but the view has 3 x 4 elements"));
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.logits, cview<float>(s.q, 3, 4, 3)); }),
               Equals("smax::cross_entropy: target.stride = 3 is smaller than target.cols = 4"));
    CHECK_THAT(rejected(s.mem,
                        [&] {
                          (void)smax::cross_entropy_with_grad(s.logits, cview<float>(s.q, 3, 4),
                                                              view<float>(s.q + 2, 3, 4));
                        }),
               Equals("smax::cross_entropy_with_grad: grad overlaps target"));
  });
}

TEST_CASE("E13: cross-entropy options are checked: reduction, weight, label_smoothing, z_loss", "[errors]") {
  ce_setup s;
  on_every_isa([&] {
    smax::cross_entropy_options<float> o;
    o.label_smoothing = 1.5;
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.logits, s.target, o); }),
               Equals("smax::cross_entropy: label_smoothing = 1.5 is outside [0, 1]"));
    o.label_smoothing = kNaN;
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.logits, cview<float>(s.q, 3, 4), o); }),
               Equals("smax::cross_entropy: label_smoothing = nan is outside [0, 1]"));
    o = {};
    o.z_loss = -1e-4;
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.logits, s.target, o); }),
               Equals("smax::cross_entropy: z_loss = -0.0001 is not a finite value >= 0"));
    o.z_loss = kInf;
    CHECK_THAT(
        rejected(s.mem, [&] { (void)smax::cross_entropy_with_grad(s.logits, s.target, view<float>(s.grad, 3, 4), o); }),
        Equals("smax::cross_entropy_with_grad: z_loss = inf is not a finite value >= 0"));
    o = {};
    o.reduction = static_cast<smax::reduction>(7);
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.logits, s.target, o); }),
               Equals("smax::cross_entropy: reduction has no valid value"));
    o.reduction = smax::reduction::none;
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.logits, s.target, o); }),
               Equals("smax::cross_entropy: reduction is none but options.losses is null (it receives the per-row "
                      "losses)"));
    o = {};
    o.weight = s.weight;
    s.weight[1] = -0.5f;
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.logits, s.target, o); }),
               Equals("smax::cross_entropy: weight[1] = -0.5 is negative"));
    s.weight[1] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.logits, cview<float>(s.q, 3, 4), o); }),
               Equals("smax::cross_entropy: weight[1] = nan is not a number"));
    s.weight[1] = -std::numeric_limits<float>::infinity();
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.logits, s.target, o); }),
               Equals("smax::cross_entropy: weight[1] = -inf is infinite"));
    s.weight[1] = 1.0f;
  });
}

TEST_CASE("E14: cross_entropy_with_grad checks the gradient's shape, view and aliasing", "[errors]") {
  ce_setup s;
  on_every_isa([&] {
    CHECK_THAT(
        rejected(s.mem, [&] { (void)smax::cross_entropy_with_grad(s.logits, s.target, view<float>(s.grad, 3, 3)); }),
        Equals("smax::cross_entropy_with_grad: logits is 3 x 4 but grad is 3 x 3"));
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy_with_grad(s.x, s.target, s.x + 1, 3, 4); }),
               Equals("smax::cross_entropy_with_grad: grad overlaps logits without being the same buffer; in-place "
                      "use needs grad.data == logits.data and grad.stride == logits.stride"));
    CHECK_THAT(
        rejected(s.mem, [&] { (void)smax::cross_entropy_with_grad(s.logits, s.target, view<float>(nullptr, 3, 4)); }),
        Equals("smax::cross_entropy_with_grad: grad.data is null but the view has 3 x 4 elements"));
    CHECK_THAT(
        rejected(s.mem, [&] { (void)smax::cross_entropy_with_grad(s.logits, s.target, view<float>(s.grad, 3, 4, 3)); }),
        Equals("smax::cross_entropy_with_grad: grad.stride = 3 is smaller than grad.cols = 4"));
    // The weights are read (and valid) but lie inside the gradient.
    smax::cross_entropy_options<float> o;
    for (std::size_t i = 0; i < 12; ++i) s.grad[i] = 1.0f;
    o.weight = s.grad + 4;
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy_with_grad(s.x, s.target, s.grad, 3, 4, o); }),
               Equals("smax::cross_entropy_with_grad: grad overlaps options.weight"));
    o.weight = nullptr;
    CHECK_THAT(
        rejected(s.mem,
                 [&] { (void)smax::cross_entropy_with_grad(s.x, s.target, reinterpret_cast<float*>(s.target), 1, 4); }),
        Equals("smax::cross_entropy_with_grad: grad overlaps target"));
  });
}

TEST_CASE("E15: cross_entropy_backward checks the given logsumexp, the gradient and the targets", "[errors]") {
  ce_setup s;
  float* lse = s.per_row;
  on_every_isa([&] {
    CHECK_THAT(rejected(s.mem,
                        [&] {
                          smax::cross_entropy_backward(s.logits, s.target, static_cast<const float*>(nullptr),
                                                       view<float>(s.grad, 3, 4));
                        }),
               Equals("smax::cross_entropy_backward: logsumexp is null but 3 elements are needed"));
    CHECK_THAT(rejected(s.mem, [&] { smax::cross_entropy_backward(s.x, s.target, s.grad + 10, s.grad, 3, 4); }),
               Equals("smax::cross_entropy_backward: grad overlaps logsumexp"));
    smax::cross_entropy_options<float> o;
    o.reduction = smax::reduction::none;  // the backward needs no options.losses
    o.row_upstream = s.grad + 1;
    CHECK_THAT(rejected(s.mem, [&] { smax::cross_entropy_backward(s.x, s.target, lse, s.grad, 3, 4, o); }),
               Equals("smax::cross_entropy_backward: grad overlaps options.row_upstream"));
    s.target[2] = 7;
    CHECK_THAT(rejected(s.mem, [&] { smax::cross_entropy_backward(s.x, s.target, lse, s.grad, 3, 4); }),
               Equals("smax::cross_entropy_backward: target[2] = 7 is outside [0, 4) and is not ignore_index (-100)"));
    s.target[2] = 2;
    CHECK_THAT(
        rejected(
            s.mem,
            [&] { smax::cross_entropy_backward(s.logits, cview<float>(s.q, 3, 4), lse, view<float>(s.x + 1, 3, 4)); }),
        Equals("smax::cross_entropy_backward: grad overlaps logits without being the same buffer; in-place "
               "use needs grad.data == logits.data and grad.stride == logits.stride"));
  });
}

TEST_CASE("E16: cross-entropy per-row outputs must not overlap any other buffer", "[errors]") {
  ce_setup s;
  on_every_isa([&] {
    smax::cross_entropy_options<float> o;
    o.losses = s.x + 2;
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.logits, s.target, o); }),
               Equals("smax::cross_entropy: options.losses overlaps logits"));
    o.losses = reinterpret_cast<float*>(s.target) + 1;
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.logits, s.target, o); }),
               Equals("smax::cross_entropy: options.losses overlaps target"));
    o.losses = s.per_row;
    o.logsumexp = s.per_row + 2;
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.logits, s.target, o); }),
               Equals("smax::cross_entropy: options.losses overlaps options.logsumexp"));
    o.losses = nullptr;
    o.weight = s.weight;
    o.logsumexp = s.weight + 3;
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.logits, s.target, o); }),
               Equals("smax::cross_entropy: options.logsumexp overlaps options.weight"));
    o.weight = nullptr;
    o.logsumexp = s.grad + 11;
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy_with_grad(s.x, s.target, s.grad, 3, 4, o); }),
               Equals("smax::cross_entropy_with_grad: options.logsumexp overlaps grad"));
    o.logsumexp = nullptr;
    o.reduction = smax::reduction::none;
    o.losses = s.per_row;
    o.row_upstream = s.per_row + 1;
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy_with_grad(s.x, s.target, s.grad, 3, 4, o); }),
               Equals("smax::cross_entropy_with_grad: options.losses overlaps options.row_upstream"));
  });
}

TEST_CASE("E17: the pointer and class-axis cross-entropy forms check sizes and per-position targets", "[errors]") {
  ce_setup s;  // as 2 x 3 x 2 logits (N = 2, C = 3, d = 2): 4 positions
  const smax::tensor_axis a{2, 3, 2};
  on_every_isa([&] {
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.x, s.target, kHuge, 3); }),
               Equals("smax::cross_entropy: rows * cols = " + kHugeText + " * 3 overflows std::size_t"));
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy_with_grad(s.x, s.target, s.grad, 2, kHuge); }),
               Equals("smax::cross_entropy_with_grad: rows * cols = 2 * " + kHugeText + " overflows std::size_t"));
    CHECK_THAT(rejected(s.mem, [&] { smax::cross_entropy_backward(s.x, s.target, s.per_row, s.grad, kHuge, 3); }),
               Equals("smax::cross_entropy_backward: rows * cols = " + kHugeText + " * 3 overflows std::size_t"));
    CHECK_THAT(rejected(s.mem,
                        [&] {
                          (void)smax::cross_entropy(s.x, s.target, smax::tensor_axis{kHuge, 3, 2});
                        }),
               Equals("smax::cross_entropy: rows * cols = " + kHugeText + " * 3 overflows std::size_t"));
    s.target[3] = 3;  // targets {0, 1, 2, 3}: position 3 is outside [0, 3)
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.x, s.target, a); }),
               Equals("smax::cross_entropy: target[3] = 3 is outside [0, 3) and is not ignore_index (-100)"));
    s.target[3] = 0;
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.x, static_cast<const std::int64_t*>(nullptr), a); }),
               Equals("smax::cross_entropy: target is null but 4 elements are needed"));
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy(s.x, static_cast<const float*>(nullptr), a); }),
               Equals("smax::cross_entropy: target.data is null but the view has 2 x 6 elements"));
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy_with_grad(s.x, s.target, s.x + 1, a); }),
               Equals("smax::cross_entropy_with_grad: grad overlaps logits without being the same buffer; in-place "
                      "use needs grad.data == logits.data and grad.stride == logits.stride"));
    CHECK_THAT(
        rejected(s.mem,
                 [&] { smax::cross_entropy_backward(s.x, s.target, static_cast<const float*>(nullptr), s.grad, a); }),
        Equals("smax::cross_entropy_backward: logsumexp is null but 4 elements are needed"));
    smax::cross_entropy_options<float> o;
    o.reduction = smax::reduction::none;
    o.losses = s.grad + 10;
    CHECK_THAT(rejected(s.mem, [&] { (void)smax::cross_entropy_with_grad(s.x, s.target, s.grad, a, o); }),
               Equals("smax::cross_entropy_with_grad: options.losses overlaps grad"));
  });
}

// An ISA smax knows but this build or CPU cannot run (there is always one: the
// x86 paths and NEON exclude each other).
bool find_unavailable_isa(smax::isa& out) {
  for (smax::isa which : {smax::isa::scalar, smax::isa::sse2, smax::isa::avx2, smax::isa::avx512, smax::isa::neon}) {
    bool available = false;
    for (smax::isa a : smax::available_isas()) available = available || a == which;
    if (!available) {
      out = which;
      return true;
    }
  }
  return false;
}

std::string available_list() {
  std::string list;
  for (smax::isa which : smax::available_isas())
    list += (list.empty() ? "" : ", ") + std::string(smax::isa_name(which));
  return list;
}

TEST_CASE("E18: set_isa and scoped_isa reject an ISA that cannot run here and keep the active one", "[errors]") {
  caller_memory mem;
  smax::isa missing = smax::isa::scalar;
  REQUIRE(find_unavailable_isa(missing));
  const smax::isa before = smax::active_isa();
  CHECK_THAT(rejected(mem, [&] { smax::set_isa(missing); }),
             Equals(std::string("smax::set_isa: ") + smax::isa_name(missing) +
                    " is not available here (available: " + available_list() + ")"));
  CHECK(smax::active_isa() == before);
  CHECK_THAT(rejected(mem, [&] { smax::scoped_isa use(missing); }),
             Contains(std::string("smax::set_isa: ") + smax::isa_name(missing) + " is not available here"));
  CHECK(smax::active_isa() == before);
}

#if defined(__unix__) || defined(__APPLE__)

// Sets SMAX_ISA as a fresh process would see it (the variable is read when the
// active ISA is first needed), and restores both the variable and the active
// ISA afterwards.
class smax_isa_variable {
 public:
  smax_isa_variable() : previous_isa_(smax::shared_state::active_isa.load()) {
    if (const char* value = std::getenv("SMAX_ISA")) {
      had_value_ = true;
      previous_value_ = value;
    }
  }
  ~smax_isa_variable() {
    if (had_value_) {
      setenv("SMAX_ISA", previous_value_.c_str(), 1);
    } else {
      unsetenv("SMAX_ISA");
    }
    smax::shared_state::active_isa.store(previous_isa_);
  }
  smax_isa_variable(const smax_isa_variable&) = delete;
  smax_isa_variable& operator=(const smax_isa_variable&) = delete;

  void set(const char* value) {
    setenv("SMAX_ISA", value, 1);
    smax::shared_state::active_isa.store(-1);
  }

 private:
  int previous_isa_;
  bool had_value_ = false;
  std::string previous_value_;
};

TEST_CASE("E19: an unknown or unavailable SMAX_ISA is reported by every call until it is fixed", "[errors]") {
  caller_memory mem;
  const float* x = mem.region<float>(1);
  float* y = mem.region<float>(3);
  const bf16* xb = mem.region<bf16>(5);
  bf16* yb = mem.region<bf16>(7);
  std::int64_t* target = mem.region<std::int64_t>(9);
  for (std::int64_t r = 0; r < 2; ++r) target[r] = r;
  smax::isa missing = smax::isa::scalar;
  REQUIRE(find_unavailable_isa(missing));
  smax_isa_variable variable;

  variable.set("avx9");
  const std::string unknown = "smax: SMAX_ISA=avx9 is not an ISA smax knows (known: scalar, sse2, avx2, avx512, neon)";
  CHECK_THAT(rejected(mem, [&] { smax::softmax(x, y, 2, 8); }), Equals(unknown));
  CHECK_THAT(rejected(mem, [&] { smax::softmax(xb, yb, 2, 8); }), Equals(unknown));  // before any conversion
  CHECK_THAT(rejected(mem, [&] { (void)smax::cross_entropy(x, target, 2, 8); }), Equals(unknown));
  CHECK_THAT(rejected(mem, [&] { (void)smax::active_isa(); }), Equals(unknown));
  // Argument errors come first: validation runs before the ISA is chosen.
  CHECK_THAT(rejected(mem, [&] { smax::softmax(x, static_cast<float*>(nullptr), 2, 8); }),
             Equals("smax::softmax: y.data is null but the view has 2 x 8 elements"));

  const std::string name = smax::isa_name(missing);
  variable.set(name.c_str());
  CHECK_THAT(
      rejected(mem, [&] { smax::log_softmax(x, y, 2, 8); }),
      Equals("smax: SMAX_ISA=" + name + " is not available on this machine (available: " + available_list() + ")"));

  variable.set("scalar");  // fixed: the next call reads it again and runs
  smax::softmax(x, y, 2, 8);
  CHECK(smax::active_isa() == smax::isa::scalar);
}

#endif

}  // namespace
}  // namespace smax_test
