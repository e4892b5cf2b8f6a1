// smax built with -fno-exceptions: argument errors go to the handler installed
// with smax::set_error_handler, and when it returns the call returns without
// writing anything (value-returning calls give NaN). With no handler the
// message goes to stderr and the process aborts.
//
//   smax_no_exceptions                    the handler cases
//   smax_no_exceptions --default-handler  the abort, checked from a parent process
#include <smax/smax.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#error "build this file with -fno-exceptions"
#endif

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::printf("FAIL: %s\n", what.c_str());
    ++failures;
  }
}

std::vector<std::string> messages;

void record(const char* message) { messages.push_back(message); }

// Runs `call`, which must report exactly one error containing `expected`.
template <class Call>
void expect_error(const char* expected, Call call) {
  messages.clear();
  call();
  if (messages.size() != 1) {
    expect(false,
           std::string("expected one error containing \"") + expected + "\", got " + std::to_string(messages.size()));
    return;
  }
  std::printf("reported: %s\n", messages[0].c_str());
  expect(messages[0].find(expected) != std::string::npos,
         std::string("message \"") + messages[0] + "\" does not contain \"" + expected + "\"");
}

// A bit pattern no kernel produces, to tell untouched outputs apart.
constexpr float kUnwritten = -12345.0f;

template <class T>
bool unwritten(const std::vector<T>& v) {
  for (T x : v) {
    if (x != static_cast<T>(kUnwritten)) return false;
  }
  return true;
}

template <class T>
void map_and_reduce_errors() {
  std::vector<T> x(16), y(16, static_cast<T>(kUnwritten)), out(4, static_cast<T>(kUnwritten));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<T>(i) / T(8);
  const std::vector<T> x_before = x;
  using cview = smax::matrix_view<const T>;
  using view = smax::matrix_view<T>;

  expect_error("smax::softmax: y.stride = 3 is smaller than y.cols = 4",
               [&] { smax::softmax<T>(cview(x.data(), 2, 4, 4), view(y.data(), 2, 4, 3)); });
  expect(unwritten(y), "softmax wrote y after a stride error");

  // y one element past x: a partial overlap, not in place.
  std::vector<T> shared = x;
  expect_error("smax::log_softmax: y overlaps x without being the same buffer",
               [&] { smax::log_softmax(shared.data(), shared.data() + 1, 8); });
  expect(shared == x_before, "log_softmax wrote into a partly overlapping buffer");

  expect_error("overflows std::size_t",
               [&] { smax::softmax(x.data(), y.data(), std::numeric_limits<std::size_t>::max(), 2); });
  expect(unwritten(y), "softmax wrote y after an overflow error");

  T lse = 0;
  expect_error("smax::logsumexp: x.data is null", [&] { lse = smax::logsumexp(static_cast<const T*>(nullptr), 3); });
  expect(std::isnan(lse), "logsumexp does not return NaN after an error");

  expect_error("smax::logsumexp: out overlaps x", [&] { smax::logsumexp(x.data(), x.data() + 2, 2, 4); });
  expect(x == x_before, "logsumexp wrote into its input");

  expect_error("smax::softmax_backward: y is 2 x 4 but dy is 2 x 3",
               [&] { smax::softmax_backward<T>(cview(x.data(), 2, 4), cview(x.data(), 2, 3), view(y.data(), 2, 4)); });
  expect(unwritten(y), "softmax_backward wrote dx after a shape error");

  expect_error("smax::log_softmax_backward: dx overlaps dy",
               [&] { smax::log_softmax_backward(x.data(), y.data(), y.data() + 1, 2, 4); });
  expect(unwritten(y), "log_softmax_backward wrote dx after an overlap error");

  expect_error("smax::logsumexp_backward: dlse is null",
               [&] { smax::logsumexp_backward(x.data(), out.data(), static_cast<const T*>(nullptr), y.data(), 2, 4); });
  expect(unwritten(y), "logsumexp_backward wrote dx after a null dlse");
}

template <class T, class Index>
void cross_entropy_errors() {
  constexpr std::size_t rows = 2, classes = 4;
  std::vector<T> logits(rows * classes, T(0.5)), grad(rows * classes, static_cast<T>(kUnwritten));
  std::vector<T> losses(rows, static_cast<T>(kUnwritten)), lse(rows, static_cast<T>(kUnwritten));
  std::vector<T> weight = {T(1), T(1), T(-1), T(1)};
  const std::vector<Index> bad_target = {0, 7}, good_target = {0, 3}, narrow_target = {0, 1};
  smax::cross_entropy_options<T> options;
  options.losses = losses.data();
  options.logsumexp = lse.data();
  using cview = smax::matrix_view<const T>;
  using view = smax::matrix_view<T>;

  T loss = 0;
  expect_error("smax::cross_entropy: target[1] = 7 is outside [0, 4)",
               [&] { loss = smax::cross_entropy(logits.data(), bad_target.data(), rows, classes, options); });
  expect(std::isnan(loss), "cross_entropy does not return NaN after an error");
  expect(unwritten(losses) && unwritten(lse), "cross_entropy wrote losses or logsumexp after an error");

  loss = 0;
  expect_error("smax::cross_entropy_with_grad: target[1] = 7 is outside [0, 4)", [&] {
    loss = smax::cross_entropy_with_grad(cview(logits.data(), rows, classes), bad_target.data(),
                                         view(grad.data(), rows, classes), options);
  });
  expect(std::isnan(loss), "cross_entropy_with_grad does not return NaN after an error");
  expect(unwritten(grad) && unwritten(losses) && unwritten(lse), "cross_entropy_with_grad wrote after an error");

  expect_error("smax::cross_entropy_backward: target[1] = 7 is outside [0, 4)", [&] {
    smax::cross_entropy_backward(logits.data(), bad_target.data(), logits.data(), grad.data(), rows, classes);
  });
  expect(unwritten(grad), "cross_entropy_backward wrote grad after an error");

  smax::cross_entropy_options<T> weighted = options;
  weighted.weight = weight.data();
  expect_error("smax::cross_entropy: weight[2] = -1 is negative",
               [&] { loss = smax::cross_entropy(logits.data(), good_target.data(), rows, classes, weighted); });
  expect(std::isnan(loss), "cross_entropy does not return NaN after a weight error");

  smax::cross_entropy_options<T> smoothed = options;
  smoothed.label_smoothing = 1.5;
  expect_error("label_smoothing = 1.5 is outside [0, 1]", [&] {
    loss = smax::cross_entropy_with_grad(cview(logits.data(), rows, classes), cview(logits.data(), rows, classes),
                                         view(grad.data(), rows, classes), smoothed);
  });
  expect(std::isnan(loss) && unwritten(grad) && unwritten(losses), "soft-target call wrote after an error");

  // grad in place over the logits is allowed; half a row off is not.
  expect_error("smax::cross_entropy_with_grad: grad overlaps logits", [&] {
    loss = smax::cross_entropy_with_grad(logits.data(), narrow_target.data(), logits.data() + 2, rows, classes - 2);
  });
  expect(unwritten(losses), "cross_entropy_with_grad wrote after an overlap error");
}

void isa_errors() {
  const smax::isa before = smax::active_isa();
  const std::vector<smax::isa> available = smax::available_isas();
  for (smax::isa which : {smax::isa::scalar, smax::isa::sse2, smax::isa::avx2, smax::isa::avx512, smax::isa::neon}) {
    bool runs = false;
    for (smax::isa a : available) runs = runs || a == which;
    if (runs) continue;
    expect_error((std::string("smax::set_isa: ") + smax::isa_name(which) + " is not available here").c_str(),
                 [&] { smax::set_isa(which); });
    expect(smax::active_isa() == before, "a failed set_isa changed the active ISA");
  }
}

// After an error the library works as before, and valid calls report nothing.
void still_works() {
  messages.clear();
  const float x[3] = {1.0f, 2.0f, 3.0f};
  float y[3];
  smax::softmax(x, y, 3);
  expect(std::fabs(y[0] + y[1] + y[2] - 1.0f) < 1e-6f, "softmax after errors");
  expect(messages.empty(), "a valid call reported an error");
}

// The default handler prints the message and aborts: checked in a child
// process, whose stderr goes through a pipe to the parent.
int default_handler() {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) {
    std::perror("pipe");
    return 1;
  }
  const pid_t child = fork();
  if (child < 0) {
    std::perror("fork");
    return 1;
  }
  if (child == 0) {
    dup2(pipe_fds[1], STDERR_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    float x[8] = {}, y[8] = {};
    smax::softmax<float>(smax::matrix_view<const float>(x, 2, 4, 4), smax::matrix_view<float>(y, 2, 4, 3));
    _exit(3);  // only reached if the default handler returned
  }
  close(pipe_fds[1]);
  std::string err;
  char buffer[256];
  for (ssize_t got; (got = read(pipe_fds[0], buffer, sizeof buffer)) > 0;) err.append(buffer, static_cast<size_t>(got));
  close(pipe_fds[0]);
  int status = 0;
  if (waitpid(child, &status, 0) != child) {
    std::perror("waitpid");
    return 1;
  }
  std::printf("child stderr: %s", err.c_str());
  const char* expected = "smax::softmax: y.stride = 3 is smaller than y.cols = 4\n";
  expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
         "the default handler did not abort (status " + std::to_string(status) + ")");
  expect(err.find(expected) != std::string::npos, std::string("stderr lacks \"") + expected + "\"");
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--default-handler") == 0) return default_handler();
  if (argc != 1) {
    std::fprintf(stderr, "usage: %s [--default-handler]\n", argv[0]);
    return 2;
  }
  expect(smax::set_error_handler(record) == nullptr, "the default handler is nullptr");
  map_and_reduce_errors<float>();
  map_and_reduce_errors<double>();
  cross_entropy_errors<float, std::int32_t>();
  cross_entropy_errors<double, std::int64_t>();
  isa_errors();
  still_works();
  expect(smax::set_error_handler(nullptr) == record, "set_error_handler returns the previous handler");
  std::printf("%s\n", failures == 0 ? "all error cases reported through the handler" : "FAILED");
  return failures == 0 ? 0 : 1;
}
