// Operation tags and their kernel signatures. Each ISA namespace provides
// kernel<Op, T>(), returning a pointer to its kernel for that operation; a
// public call validates its arguments, picks the pointer for the active ISA
// once, and makes one indirect call that covers all rows. Only the operations
// and types a translation unit calls get instantiated.
#pragma once

#include <cstddef>
#include <cstdint>

#include "parallel.hpp"
#include "scalar_math.hpp"

namespace smax {
inline namespace SMAX_ABI {
namespace detail {

// Everything one cross-entropy call needs, validated and prepared by the public
// wrapper (cross_entropy.hpp). Rows are independent; the kernel returns the
// compensated sum of the rows' losses and the wrapper applies the reduction.
template <class T>
struct cross_entropy_call {
  const T* logits = nullptr;
  std::size_t logits_stride = 0;
  std::size_t rows = 0;
  std::size_t classes = 0;
  // Hard targets (class indices, int32 or int64) or soft targets (a
  // probability matrix); exactly one of the two is set.
  const void* targets = nullptr;
  bool targets_are_64bit = false;
  const T* soft_targets = nullptr;
  std::size_t soft_stride = 0;
  const T* weight = nullptr;  // per class, or nullptr for all ones
  double weight_total = 0;    // sum of the class weights (classes when unweighted)
  std::int64_t ignore_index = -100;
  double smoothing = 0;
  double z_loss = 0;
  // Outputs, each optional.
  T* grad = nullptr;  // d(loss)/d(logits); may be logits itself
  std::size_t grad_stride = 0;
  double grad_scale = 1;              // upstream gradient / reduction denominator
  const T* row_grad_scale = nullptr;  // per-row upstream gradient (reduction none)
  // A weighted mean works in units of weight_unit (a power of two that brings
  // the targets' weight sum near 1; see choose_weight_unit): the kernels return
  // row losses in units for the total, and the gradient's class-weight terms
  // use the weights times the unit, scaled by weighted_grad_scale = upstream /
  // (denominator in units). Otherwise the unit is 1 and the scales are equal.
  double weight_unit = 1;
  double weighted_grad_scale = 1;
  double weight_total_in_units = 0;  // weight_total * weight_unit
  T* row_loss = nullptr;
  T* row_logsumexp = nullptr;
  // Backward only: the forward's per-row logsumexp, used instead of the row
  // maximum as the shift, which saves the max pass. No loss is computed.
  const T* given_logsumexp = nullptr;
  unsigned threads = 1;  // rows are shared out; the loss is summed in row order
  // Class axis in the middle: logits rows x classes x inner, targets rows x inner
  // (positions n * inner + d); the row kernels are the inner == 1 case.
  std::size_t inner = 1;
};

// What the row operations apply to the input before the softmax:
// z = softcap(scale * x) + bias, then entries masked by keep (0 = masked) or by
// causality (row i keeps columns j <= i + offset) read -inf. bias and keep rows
// repeat every bias_rows / keep_rows rows, causal rows every causal_period.
template <class T>
struct logit_transform {
  double scale = 1.0;
  double softcap = 0.0;  // 0: off
  const T* bias = nullptr;
  std::size_t bias_stride = 0;
  std::size_t bias_rows = 1;
  const std::uint8_t* keep = nullptr;
  std::size_t keep_stride = 0;
  std::size_t keep_rows = 1;
  bool causal = false;
  std::ptrdiff_t causal_offset = 0;
  std::size_t causal_period = 1;
  // Added to the kernel's row index before the periods apply: a call on rows
  // [first, ...) of a larger matrix (two-byte data go through in blocks).
  std::size_t row_offset = 0;

  bool active() const noexcept { return scale != 1.0 || softcap > 0.0 || masking(); }
  // With masks, a row with nothing left is "fully masked" (zeros, -inf), not NaN.
  bool masking() const noexcept { return bias != nullptr || keep != nullptr || causal; }
};

// A row's, or a chunk's, maximum m and sum of exp(x - m). A maximum that is not
// finite marks a row the callers treat as special (sum NaN, or 0 when all -inf).
struct row_stats {
  double m;
  double_double sum;
};

// y[r][c] = f(x[r][:])[c] for r < rows, c < cols; rows are x_stride / y_stride apart.
template <class T>
using map_fn = void (*)(const T* x, std::size_t x_stride, T* y, std::size_t y_stride, std::size_t rows,
                        std::size_t cols, const executor& ex, const logit_transform<T>& transform);
// out[r] = f(x[r][:]).
template <class T>
using reduce_fn = void (*)(const T* x, std::size_t x_stride, T* out, std::size_t rows, std::size_t cols,
                           const executor& ex, const logit_transform<T>& transform);
// dx[r] = f(a[r][:], b[r][:]).
template <class T>
using backward_fn = void (*)(const T* a, std::size_t a_stride, const T* b, std::size_t b_stride, T* dx,
                             std::size_t dx_stride, std::size_t rows, std::size_t cols, const executor& ex,
                             const logit_transform<T>& transform);
// dx[r][c] = dlse[r] * exp(x[r][c] - lse[r]).
template <class T>
using reduce_backward_fn = void (*)(const T* x, std::size_t x_stride, const T* lse, const T* dlse, T* dx,
                                    std::size_t dx_stride, std::size_t rows, std::size_t cols, const executor& ex,
                                    const logit_transform<T>& transform);
template <class T>
using cross_entropy_fn = double_double (*)(const cross_entropy_call<T>& call);
// Along the middle axis of an outer x axis x inner tensor (contiguous).
template <class T>
using columns_map_fn = void (*)(const T* x, T* y, std::size_t outer, std::size_t axis, std::size_t inner,
                                const executor& ex);
template <class T>
using columns_backward_fn = void (*)(const T* a, const T* b, T* dx, std::size_t outer, std::size_t axis,
                                     std::size_t inner, const executor& ex, double scale);
template <class T>
using columns_lse_backward_fn = void (*)(const T* x, const T* lse, const T* dlse, T* dx, std::size_t outer,
                                         std::size_t axis, std::size_t inner, const executor& ex, double scale);

// The long-row scheme in pieces, over n plain (untransformed) values, for
// callers that stream a row through a small buffer chunk by chunk (two-byte
// data, staged.hpp): the statistics of a chunk; the row's from its chunks', in
// chunk order; the sum over a chunk of exp(x - m), less 1 for the maximum
// (the log1p form of a row sum near 1); and the output sweeps, which may write
// over x: exp(x - m) * inv, and (x - m) - log_sum.
template <class T>
using chunk_stats_fn = row_stats (*)(const T* x, std::size_t n);
using merge_stats_fn = row_stats (*)(const row_stats* stats, std::size_t chunks);
template <class T>
using chunk_sum_minus_one_fn = double_double (*)(const T* x, std::size_t n, double m);
template <class T>
using chunk_finish_fn = void (*)(const T* x, T* y, std::size_t n, double m, double_double factor);

struct op_softmax {
  template <class T>
  using fn = map_fn<T>;
};
struct op_log_softmax {
  template <class T>
  using fn = map_fn<T>;
};
struct op_logsumexp {
  template <class T>
  using fn = reduce_fn<T>;
};
struct op_softmax_backward {
  template <class T>
  using fn = backward_fn<T>;
};
struct op_log_softmax_backward {
  template <class T>
  using fn = backward_fn<T>;
};
struct op_logsumexp_backward {
  template <class T>
  using fn = reduce_backward_fn<T>;
};
struct op_cross_entropy {
  template <class T>
  using fn = cross_entropy_fn<T>;
};
struct op_softmax_columns {
  template <class T>
  using fn = columns_map_fn<T>;
};
struct op_log_softmax_columns {
  template <class T>
  using fn = columns_map_fn<T>;
};
struct op_logsumexp_columns {
  template <class T>
  using fn = columns_map_fn<T>;  // y: outer x inner values
};
struct op_softmax_backward_columns {
  template <class T>
  using fn = columns_backward_fn<T>;
};
struct op_log_softmax_backward_columns {
  template <class T>
  using fn = columns_backward_fn<T>;
};
struct op_logsumexp_backward_columns {
  template <class T>
  using fn = columns_lse_backward_fn<T>;
};
struct op_chunk_stats {
  template <class T>
  using fn = chunk_stats_fn<T>;
};
struct op_merge_stats {
  template <class T>
  using fn = merge_stats_fn;  // the exp that rescales each chunk's sum is T's
};
struct op_chunk_sum_minus_one {
  template <class T>
  using fn = chunk_sum_minus_one_fn<T>;
};
struct op_softmax_chunk_finish {
  template <class T>
  using fn = chunk_finish_fn<T>;  // factor: 1 / sum
};
struct op_log_softmax_chunk_finish {
  template <class T>
  using fn = chunk_finish_fn<T>;  // factor: log(sum)
};

}  // namespace detail
}  // namespace SMAX_ABI
}  // namespace smax
