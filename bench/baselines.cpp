// The yardsticks every table carries: the three-pass loop a user writes
// without a library, and a copy of the same bytes.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "common.hpp"

namespace smax_bench {
namespace {

template <class T>
T row_max(const T* x, std::size_t n) {
  T m = -std::numeric_limits<T>::infinity();
  for (std::size_t c = 0; c < n; ++c) m = std::max(m, x[c]);
  return m;
}

// max; y = exp(x - max) and its sum; y *= 1 / sum. All in T, sum sequential.
template <class T>
void naive_softmax(const T* x, T* y, std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r, x += cols, y += cols) {
    const T m = row_max(x, cols);
    T sum = 0;
    for (std::size_t c = 0; c < cols; ++c) {
      y[c] = std::exp(x[c] - m);
      sum += y[c];
    }
    const T scale = T(1) / sum;
    for (std::size_t c = 0; c < cols; ++c) y[c] *= scale;
  }
}

template <class T>
T naive_row_logsumexp(const T* x, std::size_t cols) {
  const T m = row_max(x, cols);
  T sum = 0;
  for (std::size_t c = 0; c < cols; ++c) sum += std::exp(x[c] - m);
  return m + std::log(sum);
}

template <class T>
void naive_log_softmax(const T* x, T* y, std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r, x += cols, y += cols) {
    const T shift = naive_row_logsumexp(x, cols);
    for (std::size_t c = 0; c < cols; ++c) y[c] = x[c] - shift;
  }
}

template <class T>
void naive_logsumexp(const T* x, T* out, std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r, x += cols) out[r] = naive_row_logsumexp(x, cols);
}

template <class T>
preparer<T> naive_op(op which) {
  return [which](workspace<T>& ws) -> call {
    const shape s = ws.dims();
    switch (which) {
      case op::softmax: return [&ws, s](std::size_t k) { naive_softmax(ws.input(k), ws.output(k), s.rows, s.cols); };
      case op::log_softmax:
        return [&ws, s](std::size_t k) { naive_log_softmax(ws.input(k), ws.output(k), s.rows, s.cols); };
      case op::logsumexp:
        return [&ws, s](std::size_t k) { naive_logsumexp(ws.input(k), ws.output(k), s.rows, s.cols); };
    }
    return {};
  };
}

template <class T>
void register_copy() {
  if (!wanted("memcpy")) return;
  for (std::size_t k = 0; k < std::size(kShapes); ++k) {
    const shape s = kShapes[k];
    const preparer<T> prepare = [](workspace<T>& ws) -> call {
      const std::size_t bytes = ws.dims().size() * sizeof(T);
      return [&ws, bytes](std::size_t slot) { std::memcpy(ws.output(slot), ws.input(slot), bytes); };
    };
    // Sorted with the first op of its shape, so it runs on the same workspace.
    const entry_order order{sizeof(T) == sizeof(float) ? 0 : 1, k, -1};
    const std::string name = entry_name("copy", dtype_name<T>(), "memcpy", s);
    queue_entry(name, order, [=](benchmark::State& state) {
      // Moves the bytes of one input and one output: counted as softmax's.
      run_entry<T>(state, name, op::softmax, s, prepare, on_disagreement::unchecked);
    });
  }
}

}  // namespace

void register_naive() {
  // The float sum loses terms once it is large next to them (16M elements), so
  // its answers may be flagged as inaccurate; it is timed regardless.
  register_entries<float>("naive", {op::softmax, op::log_softmax, op::logsumexp}, naive_op<float>,
                          on_disagreement::flag);
  register_entries<double>("naive", {op::softmax, op::log_softmax, op::logsumexp}, naive_op<double>,
                           on_disagreement::flag);
}

void register_memcpy() {
  register_copy<float>();
  register_copy<double>();
}

}  // namespace smax_bench
