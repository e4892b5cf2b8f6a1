// The yardsticks every table carries: the loops a user writes without a
// library (each formula as written, in T, sums sequential), and a copy of the
// same bytes.
#include <algorithm>
#include <cmath>
#include <cstdint>
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

// Per row: max, sum of exp, log; the loss is lse - x[target], averaged.
template <class T>
T naive_cross_entropy(const T* x, const std::int64_t* target, std::size_t rows, std::size_t cols) {
  T total = 0;
  for (std::size_t r = 0; r < rows; ++r, x += cols) total += naive_row_logsumexp(x, cols) - x[target[r]];
  return total / static_cast<T>(rows);
}

// The same loss, and grad = (softmax - onehot(target)) / rows: max; exp(x - max)
// to grad and its sum; then grad scaled and the target's 1 taken off.
template <class T>
T naive_cross_entropy_with_grad(const T* x, const std::int64_t* target, T* grad, std::size_t rows, std::size_t cols) {
  const T inv_rows = T(1) / static_cast<T>(rows);
  T total = 0;
  for (std::size_t r = 0; r < rows; ++r, x += cols, grad += cols) {
    const T m = row_max(x, cols);
    T sum = 0;
    for (std::size_t c = 0; c < cols; ++c) {
      grad[c] = std::exp(x[c] - m);
      sum += grad[c];
    }
    const auto t = static_cast<std::size_t>(target[r]);
    total += m + std::log(sum) - x[t];
    const T scale = inv_rows / sum;
    for (std::size_t c = 0; c < cols; ++c) grad[c] *= scale;
    grad[t] -= inv_rows;
  }
  return total * inv_rows;
}

// dx = y * (dy - sum(dy * y)).
template <class T>
void naive_softmax_backward(const T* y, const T* dy, T* dx, std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r, y += cols, dy += cols, dx += cols) {
    T dot = 0;
    for (std::size_t c = 0; c < cols; ++c) dot += dy[c] * y[c];
    for (std::size_t c = 0; c < cols; ++c) dx[c] = y[c] * (dy[c] - dot);
  }
}

// dx = dy - exp(y) * sum(dy).
template <class T>
void naive_log_softmax_backward(const T* y, const T* dy, T* dx, std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r, y += cols, dy += cols, dx += cols) {
    T sum = 0;
    for (std::size_t c = 0; c < cols; ++c) sum += dy[c];
    for (std::size_t c = 0; c < cols; ++c) dx[c] = dy[c] - std::exp(y[c]) * sum;
  }
}

// dx = dlse * exp(x - lse).
template <class T>
void naive_logsumexp_backward(const T* x, const T* lse, const T* dlse, T* dx, std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r, x += cols, dx += cols) {
    for (std::size_t c = 0; c < cols; ++c) dx[c] = dlse[r] * std::exp(x[c] - lse[r]);
  }
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
      case op::cross_entropy:
        return
            [&ws, s](std::size_t k) { *ws.loss(k) = naive_cross_entropy(ws.input(k), ws.targets(), s.rows, s.cols); };
      case op::cross_entropy_fused:
        return [&ws, s](std::size_t k) {
          *ws.loss(k) = naive_cross_entropy_with_grad(ws.input(k), ws.targets(), ws.output(k), s.rows, s.cols);
        };
      case op::softmax_backward:
        return [&ws, s, which](std::size_t k) {
          naive_softmax_backward(ws.forward_output(which, k), ws.upstream(k), ws.output(k), s.rows, s.cols);
        };
      case op::log_softmax_backward:
        return [&ws, s, which](std::size_t k) {
          naive_log_softmax_backward(ws.forward_output(which, k), ws.upstream(k), ws.output(k), s.rows, s.cols);
        };
      case op::logsumexp_backward:
        return [&ws, s](std::size_t k) {
          naive_logsumexp_backward(ws.input(k), ws.row_lse(k), ws.row_upstream(k), ws.output(k), s.rows, s.cols);
        };
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
  register_entries<float>("naive", kOps, naive_op<float>, on_disagreement::flag);
  register_entries<double>("naive", kOps, naive_op<double>, on_disagreement::flag);
}

void register_memcpy() {
  register_copy<float>();
  register_copy<double>();
  register_two_byte_copies();
}

}  // namespace smax_bench
