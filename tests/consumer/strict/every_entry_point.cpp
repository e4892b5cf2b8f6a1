// Calls every public entry point of smax, in float and double and in every
// form, from a translation unit compiled with the strictest warnings a user may
// enable (see CMakeLists.txt). Warnings in templates appear only when they are
// instantiated, so each function is called, not merely declared. Runs as a
// test too: the results are checked for sanity, not for accuracy (the Catch2
// suite does that), and with exceptions disabled the error handler must never
// fire since every call here is valid.
#include <smax/smax.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    std::printf("FAIL: %s\n", what);
    ++failures;
  }
}

template <class T>
bool all_finite(const std::vector<T>& v) {
  for (T x : v) {
    if (!std::isfinite(x)) return false;
  }
  return true;
}

template <class T>
void map_and_reduce() {
  constexpr std::size_t rows = 3, cols = 5, stride = 7;
  std::vector<T> x(rows * stride), y(rows * stride), dy(rows * stride), dx(rows * stride);
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<T>(i % 11) / T(4) - T(1);
    dy[i] = static_cast<T>(i % 3) - T(1);
  }
  const smax::matrix_view<const T> xv(x.data(), rows, cols, stride);
  const smax::matrix_view<T> yv(y.data(), rows, cols, stride);
  const smax::matrix_view<T> dyv(dy.data(), rows, cols, stride);
  const smax::matrix_view<T> dxv(dx.data(), rows, cols, stride);

  // Forward, in each of the three forms.
  smax::softmax<T>(xv, yv);
  T sum = 0;
  for (std::size_t c = 0; c < cols; ++c) sum += yv.row(1)[c];
  expect(std::fabs(sum - T(1)) < T(1e-5), "strided softmax sums to 1");
  smax::softmax(x.data(), y.data(), rows, cols);
  smax::softmax(x.data(), y.data(), cols);
  smax::log_softmax<T>(xv, yv);
  expect(yv.row(2)[0] < T(0), "strided log_softmax is negative");
  smax::log_softmax(x.data(), y.data(), rows, cols);
  smax::log_softmax(x.data(), y.data(), cols);

  std::vector<T> lse(rows), dlse(rows, T(1));
  smax::logsumexp<T>(xv, lse.data());
  smax::logsumexp(x.data(), lse.data(), rows, cols);
  const T one = smax::logsumexp(x.data(), cols);
  expect(one == lse[0], "1-D logsumexp matches the row form");

  // Backward passes, in each form, reading y and dy through const and mutable views.
  smax::softmax<T>(xv, yv);
  smax::softmax_backward<T>(yv, dyv, dxv);
  smax::softmax_backward(y.data(), dy.data(), dx.data(), rows, cols);
  smax::softmax_backward(y.data(), dy.data(), dx.data(), cols);
  smax::log_softmax<T>(xv, yv);
  smax::log_softmax_backward<T>(yv, dyv, dxv);
  smax::log_softmax_backward(y.data(), dy.data(), dx.data(), rows, cols);
  smax::log_softmax_backward(y.data(), dy.data(), dx.data(), cols);
  smax::logsumexp_backward<T>(xv, lse.data(), dlse.data(), dxv);
  smax::logsumexp_backward(x.data(), lse.data(), dlse.data(), dx.data(), rows, cols);
  smax::logsumexp_backward(x.data(), lse[0], T(1), dx.data(), cols);
  expect(all_finite(dx), "backward results are finite");

  // In place.
  std::vector<T> z = x;
  smax::softmax(z.data(), z.data(), rows * stride);
  smax::log_softmax<T>(smax::matrix_view<T>(z.data(), rows, cols, stride),
                       smax::matrix_view<T>(z.data(), rows, cols, stride));
  expect(all_finite(z), "in-place results are finite");
}

template <class T, class Index>
void cross_entropy_hard() {
  constexpr std::size_t rows = 4, classes = 6;
  std::vector<T> logits(rows * classes), grad(rows * classes), weight(classes, T(0.5));
  for (std::size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<T>(i % 7) / T(3);
  const std::vector<Index> target = {0, 5, -100, 2};
  std::vector<T> losses(rows), lse(rows), row_upstream(rows, T(2));

  smax::cross_entropy_options<T> options;
  options.weight = weight.data();
  options.label_smoothing = 0.1;
  options.z_loss = 1e-4;
  options.logsumexp = lse.data();
  const smax::matrix_view<const T> lv(logits.data(), rows, classes);
  const smax::matrix_view<T> gv(grad.data(), rows, classes);

  const T mean = smax::cross_entropy(lv, target.data(), options);
  expect(std::isfinite(mean) && mean > T(0), "cross_entropy (hard) is finite and positive");
  expect(smax::cross_entropy(logits.data(), target.data(), rows, classes) > T(0), "pointer form");
  expect(smax::cross_entropy(smax::matrix_view<T>(logits.data(), rows, classes), target.data()) > T(0),
         "mutable logits view");

  const T with_grad = smax::cross_entropy_with_grad(lv, target.data(), gv, options);
  expect(with_grad == mean, "cross_entropy_with_grad gives the forward's loss");
  expect(all_finite(grad), "gradient is finite");
  (void)smax::cross_entropy_with_grad(logits.data(), target.data(), grad.data(), rows, classes, options);
  smax::cross_entropy_backward(lv, target.data(), lse.data(), gv, options);
  smax::cross_entropy_backward(logits.data(), target.data(), lse.data(), grad.data(), rows, classes, options);
  expect(all_finite(grad), "backward gradient is finite");

  smax::cross_entropy_options<T> none;
  none.reduction = smax::reduction::none;
  none.losses = losses.data();
  none.row_upstream = row_upstream.data();
  const T total = smax::cross_entropy_with_grad(lv, target.data(), gv, none);
  expect(losses[2] == T(0), "ignored row has loss 0");
  expect(std::fabs(total - (losses[0] + losses[1] + losses[3])) <= T(1e-4) * total, "none returns the sum");
  none.reduction = smax::reduction::sum;
  (void)smax::cross_entropy(lv, target.data(), none);
}

template <class T>
void cross_entropy_soft() {
  constexpr std::size_t rows = 2, classes = 3;
  const std::vector<T> logits = {T(1), T(2), T(3), T(-1), T(0), T(1)};
  const std::vector<T> q = {T(0.25), T(0.25), T(0.5), T(1), T(0), T(0)};
  std::vector<T> grad(rows * classes), lse(rows);
  smax::cross_entropy_options<T> options;
  options.logsumexp = lse.data();
  const smax::matrix_view<const T> lv(logits.data(), rows, classes), qv(q.data(), rows, classes);
  const smax::matrix_view<T> gv(grad.data(), rows, classes);
  const T loss = smax::cross_entropy(lv, qv, options);
  expect(loss > T(0), "cross_entropy (soft) is positive");
  expect(smax::cross_entropy_with_grad(lv, qv, gv, options) == loss, "soft with_grad gives the forward's loss");
  smax::cross_entropy_backward(lv, qv, lse.data(), gv, options);
  expect(all_finite(grad), "soft gradient is finite");
}

void isa_control() {
  const std::vector<smax::isa> available = smax::available_isas();
  expect(!available.empty() && available.front() == smax::isa::scalar, "scalar is always available");
  const smax::isa before = smax::active_isa();
  for (smax::isa which : available) {
    const smax::scoped_isa use(which);
    expect(smax::active_isa() == which, "scoped_isa selects");
    expect(std::string(smax::isa_name(which)).size() > 0, "isa_name");
    map_and_reduce<float>();
  }
  expect(smax::active_isa() == before, "scoped_isa restores");
  smax::set_isa(smax::isa::scalar);
  smax::set_isa(before);
  static_assert(smax::isa_name(smax::isa::neon)[0] == 'n', "isa_name is constexpr");
}

[[noreturn]] void unexpected_error(const char* message) {
  std::printf("FAIL: unexpected smax error: %s\n", message);
  std::fflush(stdout);
  std::abort();
}

}  // namespace

int main() {
  const smax::error_handler previous = smax::set_error_handler(unexpected_error);
  expect(previous == nullptr, "the default error handler is nullptr");
#if defined(__cpp_exceptions)
  try {
#endif
    map_and_reduce<float>();
    map_and_reduce<double>();
    cross_entropy_hard<float, std::int32_t>();
    cross_entropy_hard<float, std::int64_t>();
    cross_entropy_hard<double, std::int32_t>();
    cross_entropy_hard<double, std::int64_t>();
    cross_entropy_soft<float>();
    cross_entropy_soft<double>();
    isa_control();
#if defined(__cpp_exceptions)
  } catch (const smax::error& e) {
    std::printf("FAIL: smax::error: %s\n", e.what());
    return 1;
  }
#endif
  std::printf("smax %d.%d.%d, C++ %ld, exceptions %s: %d failures\n", SMAX_VERSION_MAJOR, SMAX_VERSION_MINOR,
              SMAX_VERSION_PATCH, static_cast<long>(__cplusplus),
#if defined(__cpp_exceptions)
              "on",
#else
              "off",
#endif
              failures);
  return failures == 0 ? 0 : 1;
}
