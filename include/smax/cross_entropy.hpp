// Cross-entropy loss with PyTorch's meaning, its gradient (fused with the loss
// or separate), with z-loss and per-row logsumexp output.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <type_traits>

#include "detail/run.hpp"
#include "matrix_view.hpp"
#include "tensor_axis.hpp"

namespace smax {

/// How per-row losses are combined, as in torch.nn.functional.cross_entropy.
enum class reduction {
  none,  ///< per-row losses to options.losses; the call returns their sum
  sum,   ///< the sum of the rows' losses
  mean,  ///< the sum divided by the total weight of the non-ignored rows (hard
         ///< targets: the count of non-ignored rows when unweighted; soft
         ///< targets: the row count). No such rows: NaN, as in PyTorch.
};

/// Options of the cross-entropy entry points. The first four have PyTorch's
/// names and meanings; see the README for the side-by-side table. T is the
/// logits' type; weights, per-row outputs and upstream gradients are of
/// value_type (T, or float for bfloat16 and half logits).
template <class T>
struct cross_entropy_options {
  using value_type = detail::compute_type_t<T>;
  smax::reduction reduction = smax::reduction::mean;
  /// Per-class weights (classes values, each finite and >= 0), or nullptr for 1.
  const value_type* weight = nullptr;
  /// Rows whose hard target equals this contribute loss 0 and gradient 0, and
  /// are left out of the mean. Not used with soft targets (as in PyTorch).
  std::int64_t ignore_index = -100;
  /// In [0, 1]: the target distribution becomes (1 - eps) target + eps / classes.
  double label_smoothing = 0.0;
  /// >= 0: adds z_loss * logsumexp(row)^2 to each non-ignored row's loss
  /// (unweighted; the mean divides it by the same denominator as the rest).
  double z_loss = 0.0;
  /// Optional (required for reduction::none): receives each row's loss
  /// (weighted, smoothed, with z-loss; 0 for ignored rows), rows values.
  value_type* losses = nullptr;
  /// Optional: receives each row's logsumexp (rows values, ignored rows too),
  /// for cross_entropy_backward.
  value_type* logsumexp = nullptr;
  /// Gradient calls: d(final loss)/d(returned loss), scaling the gradient
  /// (PyTorch's grad_output). With reduction::none, row_upstream (rows values)
  /// gives one per row instead, or nullptr for 1.
  value_type upstream = value_type(1);
  const value_type* row_upstream = nullptr;
  /// Threads the call may use (0 or 1: only the calling one). Rows are shared out;
  /// the loss is still summed in row order, so results are bitwise the same
  /// for any thread count. A single row stays on one thread.
  unsigned threads = 1;
};

inline namespace SMAX_ABI {
namespace detail {

template <class Index>
inline constexpr bool is_index_type_v = std::is_integral_v<Index>&& std::is_signed_v<Index> &&
                                        (sizeof(Index) == 4 || sizeof(Index) == 8);

enum class ce_mode { forward, with_grad, backward };

// A weighted mean over hard targets divides by the targets' weight sum, which
// may be subnormal (then upstream / sum overflows though every gradient entry
// is finite, and the row losses, rounded to subnormals, lose their digits) or
// overflow. The mean is then computed in units of a power of two that brings
// the largest target weight near 1 (cross_entropy_call::weight_unit): the
// weights times the unit, the total loss and the denominator in units. With
// smoothing every class weight enters, and none may overflow in units.
// Power-of-two scaling is exact, so weights of ordinary size get the unit 1
// and the same bits as without it. Updates denominator to units.
template <class W, class Index, class R>
void choose_weight_unit(const W* weight, std::size_t classes, const Index* targets, std::size_t rows,
                        std::int64_t ignore_index, double smoothing, double largest_target, cross_entropy_call<R>& call,
                        double& denominator) {
  if (largest_target == 0.0) return;  // 0 / 0: NaN, as without weights of any size
  int exponent = -std::ilogb(largest_target);
  if (smoothing > 0) {
    int terms_bits = 0;  // the weight total has at most 2^terms_bits terms
    for (std::size_t n = classes; n != 0; n >>= 1) ++terms_bits;
    double largest = 0.0;
    for (std::size_t c = 0; c < classes; ++c) largest = std::fmax(largest, static_cast<double>(weight[c]));
    exponent = std::min(exponent, 1020 - std::ilogb(largest) - terms_bits);
  }
  exponent = std::max(std::min(exponent, 1023), -1022);
  if (exponent == 0) return;
  // Summed again in units: the plain sums may have overflowed.
  const double unit = std::ldexp(1.0, exponent);
  compensated_total in_units;
  for (std::size_t r = 0; r < rows; ++r) {
    const auto t = static_cast<std::int64_t>(targets[r]);
    if (t != ignore_index) in_units.add(static_cast<double>(weight[t]) * unit);
  }
  denominator = in_units.value();
  compensated_total total_in_units;
  if (smoothing > 0) {  // otherwise unused (and it might overflow in units)
    for (std::size_t c = 0; c < classes; ++c) total_in_units.add(static_cast<double>(weight[c]) * unit);
  }
  call.weight_total_in_units = total_in_units.value();
  call.weight_unit = unit;
}

// The checks every cross-entropy entry point shares, then the call description
// for the kernel. Nothing is written before all checks pass. `grad` is null for
// the forward, `given_lse` is used by the backward only. Returns false on error
// (when exceptions are disabled). `denominator` receives the mean's divisor for
// the kernels' total, in weight units (see choose_weight_unit).
// With inner > 1 the logits are rows x classes x inner, passed as a rows x
// (classes * inner) view, and targets and per-row outputs are per position
// (rows * inner of them).
// Two-byte logits: `call` is for float and gets no logits, soft-target or
// gradient pointers (staged_cross_entropy widens blocks and sets them).
template <class T, class Index>
[[nodiscard]] bool prepare_cross_entropy(const char* fn, ce_mode mode, matrix_view<const T> logits, const Index* hard,
                                         const matrix_view<const T>* soft, matrix_view<T>* grad,
                                         const compute_type_t<T>* given_lse, const cross_entropy_options<T>& opt,
                                         cross_entropy_call<compute_type_t<T>>& call, double& denominator,
                                         std::size_t inner = 1) {
  static_assert(is_element_type_v<T>, "smax takes float, double, smax::bfloat16 or smax::half");
  const std::string f = fn;
  const std::size_t rows = logits.rows * inner, classes = inner > 1 ? logits.cols / inner : logits.cols;
  byte_range logits_r, target_r, weight_r, grad_r, losses_r, lse_r, given_r, upstream_r;
  if (!check_view(fn, "logits", logits, logits_r)) return false;
  if (rows > 0 && classes == 0) return report_error(f + ": logits has no classes (cols == 0)");
  if (!(opt.label_smoothing >= 0.0 && opt.label_smoothing <= 1.0)) {
    return report_error(f + ": label_smoothing = " + number(opt.label_smoothing) + " is outside [0, 1]");
  }
  if (!(opt.z_loss >= 0.0 && opt.z_loss < std::numeric_limits<double>::infinity())) {
    return report_error(f + ": z_loss = " + number(opt.z_loss) + " is not a finite value >= 0");
  }
  if (opt.reduction != reduction::none && opt.reduction != reduction::sum && opt.reduction != reduction::mean) {
    return report_error(f + ": reduction has no valid value");
  }
  const bool backward = mode == ce_mode::backward;
  if (opt.reduction == reduction::none && opt.losses == nullptr && rows > 0 && !backward) {
    return report_error(f + ": reduction is none but options.losses is null (it receives the per-row losses)");
  }
  if (!check_vector(fn, "options.weight", opt.weight, opt.weight ? classes : 0, weight_r)) return false;
  double weight_total = static_cast<double>(classes);
  if (opt.weight != nullptr) {
    compensated_total total;
    for (std::size_t c = 0; c < classes; ++c) {
      const double w = static_cast<double>(opt.weight[c]);
      const std::string where = f + ": weight[" + str(c) + "] = " + number(w);
      if (std::isnan(w)) return report_error(where + " is not a number");
      if (std::isinf(w)) return report_error(where + " is infinite");
      if (w < 0) return report_error(where + " is negative");
      total.add(w);
    }
    weight_total = total.value();
  }

  // Targets, and the mean's denominator.
  double largest_target_weight = 0.0;
  if (hard != nullptr || soft == nullptr) {
    if (!check_vector(fn, "target", hard, rows, target_r)) return false;
    compensated_total target_weights;
    for (std::size_t r = 0; r < rows; ++r) {
      const auto t = static_cast<std::int64_t>(hard[r]);
      if (t == opt.ignore_index) continue;
      if (t < 0 || static_cast<std::uint64_t>(t) >= classes) {
        return report_error(f + ": target[" + str(r) + "] = " + std::to_string(t) + " is outside [0, " + str(classes) +
                            ") and is not ignore_index (" + std::to_string(opt.ignore_index) + ")");
      }
      const double w = opt.weight ? static_cast<double>(opt.weight[t]) : 1.0;
      largest_target_weight = std::fmax(largest_target_weight, w);
      target_weights.add(w);
    }
    denominator = target_weights.value();
  } else {
    if (!check_same_shape(fn, "logits", logits, "target", *soft) || !check_view(fn, "target", *soft, target_r)) {
      return false;
    }
    denominator = static_cast<double>(rows);
  }

  // Outputs: the gradient may be the logits themselves; nothing else may overlap.
  if (grad != nullptr) {
    if (!check_same_shape(fn, "logits", logits, "grad", *grad) || !check_view(fn, "grad", *grad, grad_r) ||
        !check_in_place_or_disjoint(fn, "grad", *grad, grad_r, "logits", logits, logits_r) ||
        !check_disjoint(fn, "grad", grad_r, "target", target_r) ||
        !check_disjoint(fn, "grad", grad_r, "options.weight", weight_r)) {
      return false;
    }
  }
  // The backward writes neither options.losses nor options.logsumexp.
  if (!check_vector(fn, "options.losses", opt.losses, opt.losses && !backward ? rows : 0, losses_r) ||
      !check_vector(fn, "options.logsumexp", opt.logsumexp, opt.logsumexp && !backward ? rows : 0, lse_r) ||
      !check_vector(fn, "logsumexp", given_lse, backward ? rows : 0, given_r) ||
      !check_vector(fn, "options.row_upstream", opt.row_upstream, opt.row_upstream ? rows : 0, upstream_r)) {
    return false;
  }
  const struct {
    const char* name;
    const byte_range& range;
  } written[] = {{"options.losses", losses_r}, {"options.logsumexp", lse_r}},
    read[] = {{"logits", logits_r}, {"target", target_r},   {"options.weight", weight_r},
              {"grad", grad_r},     {"logsumexp", given_r}, {"options.row_upstream", upstream_r}};
  for (const auto& out : written) {
    for (const auto& in : read) {
      if (!check_disjoint(fn, out.name, out.range, in.name, in.range)) return false;
    }
  }
  if (!check_disjoint(fn, "options.losses", losses_r, "options.logsumexp", lse_r) ||
      !check_disjoint(fn, "grad", grad_r, "logsumexp", given_r) ||
      !check_disjoint(fn, "grad", grad_r, "options.row_upstream", upstream_r)) {
    return false;
  }

  call = {};
  if constexpr (is_kernel_type_v<T>) call.logits = logits.data;
  call.logits_stride = logits.stride;
  call.rows = logits.rows;
  call.classes = classes;
  call.inner = inner;
  if (hard != nullptr || soft == nullptr) {
    call.targets = hard;
    call.targets_are_64bit = sizeof(Index) == 8;
  } else {
    if constexpr (is_kernel_type_v<T>) call.soft_targets = soft->data;
    call.soft_stride = soft->stride;
  }
  call.weight = opt.weight;
  call.weight_total = weight_total;
  call.ignore_index = opt.ignore_index;
  call.smoothing = opt.label_smoothing;
  call.z_loss = opt.z_loss;
  call.row_loss = backward ? nullptr : opt.losses;
  call.row_logsumexp = backward ? nullptr : opt.logsumexp;
  call.given_logsumexp = backward ? given_lse : nullptr;
  call.threads = opt.threads;
  call.weight_total_in_units = weight_total;
  const double plain_denominator = denominator;
  if (opt.reduction == reduction::mean && opt.weight != nullptr && call.targets != nullptr) {
    choose_weight_unit(opt.weight, classes, hard, rows, opt.ignore_index, opt.label_smoothing, largest_target_weight,
                       call, denominator);
  }
  if (grad != nullptr) {
    if constexpr (is_kernel_type_v<T>) call.grad = grad->data;
    call.grad_stride = grad->stride;
    const double upstream = static_cast<double>(opt.upstream);
    switch (opt.reduction) {
      case reduction::mean:
        call.weighted_grad_scale = upstream / denominator;
        // The same scale in plain units; the plain sum may have overflowed
        // (target weights totalling beyond DBL_MAX), the scaled one has not.
        call.grad_scale =
            call.weight_unit != 1.0 ? call.weighted_grad_scale * call.weight_unit : upstream / plain_denominator;
        break;
      case reduction::sum: call.grad_scale = call.weighted_grad_scale = upstream; break;
      case reduction::none:
        call.grad_scale = call.weighted_grad_scale = 1.0;
        call.row_grad_scale = opt.row_upstream;
        break;
    }
  }
  return true;
}

template <class T, class Index>
compute_type_t<T> run_cross_entropy(const char* fn, ce_mode mode, matrix_view<const T> logits, const Index* hard,
                                    const matrix_view<const T>* soft, matrix_view<T>* grad,
                                    const compute_type_t<T>* given_lse, const cross_entropy_options<T>& options,
                                    std::size_t inner = 1) {
  static_assert(is_index_type_v<Index>, "targets are int32_t or int64_t class indices");
  using R = compute_type_t<T>;
  // Over the whole call: the weight sums, the final division and the rounding
  // to R raise flags too, and the caller's MXCSR must come back unchanged
  // (fuzz_cross_entropy found the flags of that last rounding leaking out).
  // The return value is computed before the guard restores the state.
  const fp_env_guard guard;
  cross_entropy_call<R> call;
  double denominator = 0.0;
  if (!prepare_cross_entropy(fn, mode, logits, hard, soft, grad, given_lse, options, call, denominator, inner)) {
    return std::numeric_limits<R>::quiet_NaN();
  }
  double_double total{0.0, 0.0};
  if (logits.rows > 0) {
    if constexpr (is_storage_type_v<T>) {
      total = staged_cross_entropy(call, logits, soft, grad);
    } else {
      total = active_kernel<op_cross_entropy, T>()(call);
    }
  }
  const double sum = total.hi + total.lo;
  return static_cast<R>(options.reduction == reduction::mean ? sum / denominator : sum);
}

}  // namespace detail

/// Cross-entropy of rows x classes logits against class-index targets, with the
/// meaning of torch.nn.functional.cross_entropy(logits, target, weight,
/// ignore_index=..., reduction=..., label_smoothing=...), plus z_loss. Per row r
/// with target t (eps = label_smoothing, w = weight, C = classes, lp = log_softmax):
///   loss_r = -(1 - eps) w_t lp_t - (eps / C) sum_c w_c lp_c + z_loss * logsumexp_r^2
/// (0 for ignored rows). Returns the reduced loss, accumulated in double(-double).
///
/// Targets: int32_t or int64_t, each in [0, classes) or equal to ignore_index.
/// Special rows: logits with -inf give loss +inf where the target (or a smoothed
/// class) is -inf; a row that is all -inf or has +inf or NaN gives NaN.
///
/// Accuracy: float loss within 2 ulp, double within 4 ulp of the exact value
/// (per row and reduced), on every ISA, where that value is within double's
/// range. With z_loss the bound is of max(|loss|, z_loss), since logsumexp
/// enters the z-loss term with its own accuracy (absolute below 1). Add w_t C
/// times half the type's smallest subnormal: the gradient path sums the terms
/// exp(x_c - max) as stored in the logits' type (this matters only where p_t
/// is that close to 1). Outside the bounds: double rows whose finite logits
/// span more than DBL_MAX, or whose weighted distances from the maximum sum
/// beyond it (sum_c w_c (max - x_c) with smoothing, sum_c w_c q_c (max - x_c)
/// with soft targets), or, with smoothing, whose class weights total beyond
/// DBL_MAX. There x - max or a sum overflows, and the loss may be +inf, as in
/// PyTorch.
///
/// Errors (smax::error, before anything is written): a target outside [0, C)
/// that is not ignore_index (message names the row and value); a weight that is
/// negative, NaN or infinite; label_smoothing outside [0, 1] or NaN; z_loss
/// negative, infinite or NaN; null or mis-shaped buffers; reduction none
/// without options.losses; any overlap between an output and another buffer.
template <class L, class Index>
detail::compute_type_t<std::remove_const_t<L>> cross_entropy(
    matrix_view<L> logits, const Index* target, const cross_entropy_options<std::remove_const_t<L>>& options = {}) {
  using T = std::remove_const_t<L>;
  return detail::run_cross_entropy<T, Index>("smax::cross_entropy", detail::ce_mode::forward, logits, target, nullptr,
                                             nullptr, nullptr, options);
}

/// Soft targets: a rows x classes matrix of target probabilities q, with
/// PyTorch's meaning (weights and label smoothing apply, ignore_index does not):
///   loss_r = -sum_c w_c q'_c lp_c + z_loss * logsumexp_r^2, q' = (1 - eps) q + eps / C.
/// The mean divides by the row count. q is used as given (not checked): a -inf
/// logit makes the loss +inf where w_c q'_c > 0, -inf where it is < 0 (negative
/// targets) and adds nothing where it is 0; a row with an infinite q may give NaN.
/// The target share (1 - eps) w q and the smoothed share (eps / C) w are kept
/// apart, so with a negative q they cancel: the accuracy bounds are then those
/// of the same loss, alpha and beta computed with |q|. With double data the
/// bounds assume each row's sum_c |w_c q_c| is within double's range (sum_c
/// w_c q'_c is computed in double), and a product w_c q_c below DBL_MIN
/// (subnormal) adds up to 2^-1074 (max - x_c + log S) to the loss's error and
/// 2^-1074 |scale| to each gradient entry's, per such class (it is rounded first).
template <class L, class Q>
detail::compute_type_t<std::remove_const_t<L>> cross_entropy(
    matrix_view<L> logits, matrix_view<Q> target, const cross_entropy_options<std::remove_const_t<L>>& options = {}) {
  using T = std::remove_const_t<L>;
  static_assert(std::is_same_v<T, std::remove_const_t<Q>>, "soft targets have the logits' type");
  const matrix_view<const T> soft(target);
  return detail::run_cross_entropy<T, std::int64_t>("smax::cross_entropy", detail::ce_mode::forward, logits, nullptr,
                                                    &soft, nullptr, nullptr, options);
}

/// The loss and, in the same sweep over the logits, its gradient
/// grad = d(loss)/d(logits) * options.upstream (or row_upstream[r] with
/// reduction none), scaled as the reduction implies. No log-softmax buffer is
/// used; grad may be the logits themselves (same pointer and stride), which
/// overwrites them, as large-vocabulary trainers do to save memory.
///
/// Gradient accuracy, per row, with g = scale * (alpha p_c - beta_c) as in
/// detail/cross_entropy-inl.hpp and m = |scale| max(|alpha|, 2 z_loss, max_c beta_c)
/// (m = |scale| for plain hard targets): float within 4 ulp where |g| >= 2^-20 m
/// and within 4 * 2^-43 m + 1 ulp absolute below (the ulp is the rounding of
/// a subnormal result); double within 4 ulp + 2^-50 m, plus 2^-1074 m / |scale|
/// where a mean's scale (upstream / denominator) is subnormal, since it is
/// rounded before it multiplies alpha and beta. A bound beyond the type's
/// largest value says nothing (the result may be an infinity). In
/// particular p - 1 at a target with p ~ 1 keeps its relative accuracy (PyTorch
/// computes it as a difference of rounded values).
template <class L, class Index>
detail::compute_type_t<std::remove_const_t<L>> cross_entropy_with_grad(
    matrix_view<L> logits, const Index* target, matrix_view<std::remove_const_t<L>> grad,
    const cross_entropy_options<std::remove_const_t<L>>& options = {}) {
  using T = std::remove_const_t<L>;
  return detail::run_cross_entropy<T, Index>("smax::cross_entropy_with_grad", detail::ce_mode::with_grad, logits,
                                             target, nullptr, &grad, nullptr, options);
}

/// Soft-target form of cross_entropy_with_grad.
template <class L, class Q>
detail::compute_type_t<std::remove_const_t<L>> cross_entropy_with_grad(
    matrix_view<L> logits, matrix_view<Q> target, matrix_view<std::remove_const_t<L>> grad,
    const cross_entropy_options<std::remove_const_t<L>>& options = {}) {
  using T = std::remove_const_t<L>;
  static_assert(std::is_same_v<T, std::remove_const_t<Q>>, "soft targets have the logits' type");
  const matrix_view<const T> soft(target);
  return detail::run_cross_entropy<T, std::int64_t>("smax::cross_entropy_with_grad", detail::ce_mode::with_grad, logits,
                                                    nullptr, &soft, &grad, nullptr, options);
}

/// The gradient alone, for callers that kept each row's logsumexp from the
/// forward call (options.logsumexp there). It stands in for the row maximum,
/// saving that pass; any finite value works (a wrong one only costs time).
/// Same options, scaling, aliasing and accuracy as cross_entropy_with_grad,
/// whose gradient it matches within the stated bound. options.losses and
/// options.logsumexp are not written.
template <class L, class Index>
void cross_entropy_backward(matrix_view<L> logits, const Index* target,
                            const detail::compute_type_t<std::remove_const_t<L>>* logsumexp,
                            matrix_view<std::remove_const_t<L>> grad,
                            const cross_entropy_options<std::remove_const_t<L>>& options = {}) {
  using T = std::remove_const_t<L>;
  (void)detail::run_cross_entropy<T, Index>("smax::cross_entropy_backward", detail::ce_mode::backward, logits, target,
                                            nullptr, &grad, logsumexp, options);
}

/// Soft-target form of cross_entropy_backward.
template <class L, class Q>
void cross_entropy_backward(matrix_view<L> logits, matrix_view<Q> target,
                            const detail::compute_type_t<std::remove_const_t<L>>* logsumexp,
                            matrix_view<std::remove_const_t<L>> grad,
                            const cross_entropy_options<std::remove_const_t<L>>& options = {}) {
  using T = std::remove_const_t<L>;
  static_assert(std::is_same_v<T, std::remove_const_t<Q>>, "soft targets have the logits' type");
  const matrix_view<const T> soft(target);
  (void)detail::run_cross_entropy<T, std::int64_t>("smax::cross_entropy_backward", detail::ce_mode::backward, logits,
                                                   nullptr, &soft, &grad, logsumexp, options);
}

// Pointer forms: row-major contiguous rows x classes.

template <class T, class Index, class = std::enable_if_t<detail::is_index_type_v<Index>>>
detail::compute_type_t<T> cross_entropy(const T* logits, const Index* target, std::size_t rows, std::size_t classes,
                                        const cross_entropy_options<T>& options = {}) {
  if (!detail::check_product("smax::cross_entropy", rows, classes))
    return std::numeric_limits<detail::compute_type_t<T>>::quiet_NaN();
  return cross_entropy(matrix_view<const T>(logits, rows, classes), target, options);
}

template <class T, class Index, class = std::enable_if_t<detail::is_index_type_v<Index>>>
detail::compute_type_t<T> cross_entropy_with_grad(const T* logits, const Index* target, T* grad, std::size_t rows,
                                                  std::size_t classes, const cross_entropy_options<T>& options = {}) {
  if (!detail::check_product("smax::cross_entropy_with_grad", rows, classes)) {
    return std::numeric_limits<detail::compute_type_t<T>>::quiet_NaN();
  }
  return cross_entropy_with_grad(matrix_view<const T>(logits, rows, classes), target,
                                 matrix_view<T>(grad, rows, classes), options);
}

template <class T, class Index, class = std::enable_if_t<detail::is_index_type_v<Index>>>
void cross_entropy_backward(const T* logits, const Index* target, const detail::compute_type_t<T>* logsumexp, T* grad,
                            std::size_t rows, std::size_t classes, const cross_entropy_options<T>& options = {}) {
  if (!detail::check_product("smax::cross_entropy_backward", rows, classes)) return;
  cross_entropy_backward(matrix_view<const T>(logits, rows, classes), target, logsumexp,
                         matrix_view<T>(grad, rows, classes), options);
}

// Class axis in the middle, as PyTorch's cross_entropy takes N x C x d1 x ...
// logits (segmentation losses): a = {N, C, d1 * d2 * ...} (see tensor_axis;
// smax::along_dim(dims, 1)). Targets (and options.losses, options.logsumexp,
// options.row_upstream) hold N x d1 x ... values, one per position; soft
// targets and the gradient have the logits' shape. Same options, meaning and
// accuracy as the row forms (each position is a row); the mean is over the
// non-ignored positions' weights (soft targets: over positions).

template <class T, class Index, class = std::enable_if_t<detail::is_index_type_v<Index>>>
detail::compute_type_t<T> cross_entropy(const T* logits, const Index* target, tensor_axis a,
                                        const cross_entropy_options<T>& options = {}) {
  if (std::size_t total; !detail::check_axis("smax::cross_entropy", a, total))
    return std::numeric_limits<detail::compute_type_t<T>>::quiet_NaN();
  return detail::run_cross_entropy<T, Index>("smax::cross_entropy", detail::ce_mode::forward,
                                             matrix_view<const T>(logits, a.outer, a.axis * a.inner), target, nullptr,
                                             nullptr, nullptr, options, a.inner);
}

template <class T>
detail::compute_type_t<T> cross_entropy(const T* logits, const T* target, tensor_axis a,
                                        const cross_entropy_options<T>& options = {}) {
  if (std::size_t total; !detail::check_axis("smax::cross_entropy", a, total))
    return std::numeric_limits<detail::compute_type_t<T>>::quiet_NaN();
  const matrix_view<const T> soft(target, a.outer, a.axis * a.inner);
  return detail::run_cross_entropy<T, std::int64_t>("smax::cross_entropy", detail::ce_mode::forward,
                                                    matrix_view<const T>(logits, a.outer, a.axis * a.inner), nullptr,
                                                    &soft, nullptr, nullptr, options, a.inner);
}

template <class T, class Index, class = std::enable_if_t<detail::is_index_type_v<Index>>>
detail::compute_type_t<T> cross_entropy_with_grad(const T* logits, const Index* target, T* grad, tensor_axis a,
                                                  const cross_entropy_options<T>& options = {}) {
  if (std::size_t total; !detail::check_axis("smax::cross_entropy_with_grad", a, total))
    return std::numeric_limits<detail::compute_type_t<T>>::quiet_NaN();
  matrix_view<T> g(grad, a.outer, a.axis * a.inner);
  return detail::run_cross_entropy<T, Index>("smax::cross_entropy_with_grad", detail::ce_mode::with_grad,
                                             matrix_view<const T>(logits, a.outer, a.axis * a.inner), target, nullptr,
                                             &g, nullptr, options, a.inner);
}

template <class T>
detail::compute_type_t<T> cross_entropy_with_grad(const T* logits, const T* target, T* grad, tensor_axis a,
                                                  const cross_entropy_options<T>& options = {}) {
  if (std::size_t total; !detail::check_axis("smax::cross_entropy_with_grad", a, total))
    return std::numeric_limits<detail::compute_type_t<T>>::quiet_NaN();
  const matrix_view<const T> soft(target, a.outer, a.axis * a.inner);
  matrix_view<T> g(grad, a.outer, a.axis * a.inner);
  return detail::run_cross_entropy<T, std::int64_t>("smax::cross_entropy_with_grad", detail::ce_mode::with_grad,
                                                    matrix_view<const T>(logits, a.outer, a.axis * a.inner), nullptr,
                                                    &soft, &g, nullptr, options, a.inner);
}

template <class T, class Index, class = std::enable_if_t<detail::is_index_type_v<Index>>>
void cross_entropy_backward(const T* logits, const Index* target, const detail::compute_type_t<T>* logsumexp, T* grad,
                            tensor_axis a, const cross_entropy_options<T>& options = {}) {
  if (std::size_t total; !detail::check_axis("smax::cross_entropy_backward", a, total)) return;
  matrix_view<T> g(grad, a.outer, a.axis * a.inner);
  (void)detail::run_cross_entropy<T, Index>("smax::cross_entropy_backward", detail::ce_mode::backward,
                                            matrix_view<const T>(logits, a.outer, a.axis * a.inner), target, nullptr,
                                            &g, logsumexp, options, a.inner);
}

}  // namespace SMAX_ABI
}  // namespace smax
