// libtorch's CPU kernels called through ATen on tensors that wrap the shared
// buffers: at::_softmax_out, at::_log_softmax_out, at::logsumexp_out; for the
// training ops, the kernels that autograd runs for cross_entropy, softmax,
// log_softmax and logsumexp, called directly in their out= forms; for the
// tensor groups (two-byte data, a middle axis), at::_softmax_out on bf16, half
// and float tensors.
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/core/Reduction.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/_log_softmax.h>
#include <ATen/ops/_log_softmax_backward_data.h>
#include <ATen/ops/_softmax.h>
#include <ATen/ops/_softmax_backward_data.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/exp.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/logsumexp.h>
#include <ATen/ops/mul.h>
#include <ATen/ops/nll_loss_backward.h>
#include <ATen/ops/nll_loss_forward.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/sub.h>
#include <ATen/ops/zeros.h>
#include <torch/csrc/api/include/torch/version.h>

#include <cctype>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common.hpp"

namespace smax_bench {
namespace {

// The kernel set ATen dispatches to ("AVX2", "AVX512", "DEFAULT"): chosen once
// per process from the CPU and ATEN_CPU_CAPABILITY, and only reported through
// show_config().
std::string capability() {
  const std::string config = at::show_config();
  const std::string key = "CPU capability usage: ";
  const std::size_t at = config.find(key);
  if (at == std::string::npos) return {};
  std::string value;
  for (std::size_t i = at + key.size(); i < config.size() && std::isalnum(static_cast<unsigned char>(config[i])); ++i) {
    value += static_cast<char>(std::tolower(static_cast<unsigned char>(config[i])));
  }
  return value;
}

// One per slot, viewing the workspace, except where named.
struct tensors {
  std::vector<at::Tensor> in, out;
  std::vector<at::Tensor> y, dy;         // backward passes: forward output and upstream gradient
  std::vector<at::Tensor> lse, dlse;     // logsumexp_backward: rows x 1, broadcast over the columns
  std::vector<at::Tensor> loss;          // cross-entropy: 0-dim, over workspace::loss
  at::Tensor target;                     // shared by the slots, as in the workspace
  at::Tensor log_probs, grad_nll;        // cross-entropy's intermediates, shared (see torch_op)
  at::Tensor total_weight, grad_output;  // 0-dim: nll_loss's denominator; d(loss)/d(loss) = 1
};

// Const buffers are viewed through from_blob's mutable pointer; none of them
// is written.
template <class T>
at::Tensor view(const T* data, at::IntArrayRef sizes, const at::TensorOptions& options) {
  return at::from_blob(const_cast<T*>(data), sizes, options);
}

template <class T>
preparer<T> torch_op(op which) {
  return [which](workspace<T>& ws) -> call {
    const shape s = ws.dims();
    const auto rows = static_cast<std::int64_t>(s.rows);
    const auto cols = static_cast<std::int64_t>(s.cols);
    constexpr at::ScalarType dtype = std::is_same_v<T, float> ? at::kFloat : at::kDouble;
    const auto options = at::TensorOptions().dtype(dtype);
    auto t = std::make_shared<tensors>();
    for (std::size_t k = 0; k < ws.slots(); ++k) {
      t->in.push_back(view(ws.input(k), {rows, cols}, options));
      t->out.push_back(which == op::logsumexp ? at::from_blob(ws.output(k), {rows}, options)
                                              : at::from_blob(ws.output(k), {rows, cols}, options));
      if (which == op::softmax_backward || which == op::log_softmax_backward) {
        t->y.push_back(view(ws.forward_output(which, k), {rows, cols}, options));
        t->dy.push_back(view(ws.upstream(k), {rows, cols}, options));
      }
      if (which == op::logsumexp_backward) {
        t->lse.push_back(view(ws.row_lse(k), {rows, 1}, options));
        t->dlse.push_back(view(ws.row_upstream(k), {rows, 1}, options));
      }
      if (has_loss(which)) t->loss.push_back(at::from_blob(ws.loss(k), at::IntArrayRef(), options));
    }
    if (has_loss(which)) {
      t->target = view(ws.targets(), {rows}, at::TensorOptions().dtype(at::kLong));
      // at::cross_entropy_loss runs the same two kernels but allocates the
      // log-probabilities (and autograd the nll gradient) on every call; made
      // once here, they are what a caching allocator hands back, torch's best
      // case. Shared by the slots, so they may stay in cache where smax's
      // rotating buffers do not.
      t->log_probs = at::empty({rows, cols}, options);
      if (which == op::cross_entropy_fused) t->grad_nll = at::empty({rows, cols}, options);
      t->total_weight = at::empty({}, options);
      t->grad_output = at::ones({}, options);
    }
    constexpr std::int64_t mean = at::Reduction::Mean, ignore_index = -100;
    switch (which) {
      case op::softmax: return [t](std::size_t k) { at::_softmax_out(t->out[k], t->in[k], 1, false); };
      case op::log_softmax: return [t](std::size_t k) { at::_log_softmax_out(t->out[k], t->in[k], 1, false); };
      case op::logsumexp: return [t](std::size_t k) { at::logsumexp_out(t->out[k], t->in[k], {1}, false); };
      // cross_entropy(x, t) = nll_loss(log_softmax(x), t) in libtorch.
      case op::cross_entropy:
        return [t](std::size_t k) {
          at::_log_softmax_out(t->log_probs, t->in[k], 1, false);
          at::nll_loss_forward_out(t->loss[k], t->total_weight, t->log_probs, t->target, {}, mean, ignore_index);
        };
      // The forward, then the backward of each of its two nodes, as
      // loss.backward() runs them, into the workspace's gradient buffer.
      case op::cross_entropy_fused:
        return [t](std::size_t k) {
          at::_log_softmax_out(t->log_probs, t->in[k], 1, false);
          at::nll_loss_forward_out(t->loss[k], t->total_weight, t->log_probs, t->target, {}, mean, ignore_index);
          at::nll_loss_backward_out(t->grad_nll, t->grad_output, t->log_probs, t->target, {}, mean, ignore_index,
                                    t->total_weight);
          at::_log_softmax_backward_data_out(t->out[k], t->grad_nll, t->log_probs, 1, dtype);
        };
      case op::softmax_backward:
        return [t](std::size_t k) { at::_softmax_backward_data_out(t->out[k], t->dy[k], t->y[k], 1, dtype); };
      case op::log_softmax_backward:
        return [t](std::size_t k) { at::_log_softmax_backward_data_out(t->out[k], t->dy[k], t->y[k], 1, dtype); };
      // libtorch has no kernel of its own for it: autograd computes
      // dlse * exp(x - lse) with three elementwise kernels and two temporaries;
      // here the temporaries are the output itself.
      case op::logsumexp_backward:
        return [t](std::size_t k) {
          at::sub_out(t->out[k], t->in[k], t->lse[k]);
          at::exp_out(t->out[k], t->out[k]);
          at::mul_out(t->out[k], t->out[k], t->dlse[k]);
        };
    }
    return {};
  };
}

template <class T>
constexpr at::ScalarType scalar_type() {
  if constexpr (std::is_same_v<T, smax::bfloat16>) return at::kBFloat16;
  if constexpr (std::is_same_v<T, smax::half>) return at::kHalf;
  return at::kFloat;
}

// Empty when libtorch's CPU softmax takes `type`, else why not: libtorch 1.13
// has no CPU softmax kernel for half, and a group it cannot run is left out
// (and named in the context) rather than listed as failed entries.
std::string softmax_unsupported(at::ScalarType type) {
  try {
    (void)at::_softmax(at::zeros({2, 8}, at::TensorOptions().dtype(type)), 1, false);
    return {};
  } catch (const std::exception& e) {
    const std::string what = e.what();
    return what.substr(0, what.find('\n'));
  }
}

// One per slot, viewing the workspace.
struct tensor_views {
  std::vector<at::Tensor> in, out;
  at::Tensor converted;  // bf16 -> float: x as float, shared by the slots
};

// The tensor groups: at::_softmax_out along dim 1 of the buffers seen as
// (outer, axis) when the axis is last, which runs the last-dim kernel the row
// entries time, or as (outer, axis, inner).
template <class In, class Out>
tensor_preparer<In, Out> torch_softmax() {
  return [](tensor_workspace<In, Out>& ws) -> call {
    const tensor_shape s = ws.dims();
    const auto outer = static_cast<std::int64_t>(s.outer), axis = static_cast<std::int64_t>(s.axis),
               inner = static_cast<std::int64_t>(s.inner);
    const std::vector<std::int64_t> sizes =
        s.inner == 1 ? std::vector<std::int64_t>{outer, axis} : std::vector<std::int64_t>{outer, axis, inner};
    const auto in_options = at::TensorOptions().dtype(scalar_type<In>());
    const auto out_options = at::TensorOptions().dtype(scalar_type<Out>());
    auto t = std::make_shared<tensor_views>();
    for (std::size_t k = 0; k < ws.slots(); ++k) {
      t->in.push_back(view(ws.input(k), sizes, in_options));
      t->out.push_back(at::from_blob(ws.output(k), sizes, out_options));
    }
    if constexpr (std::is_same_v<In, Out>) {
      return [t](std::size_t k) { at::_softmax_out(t->out[k], t->in[k], 1, false); };
    } else {
      // The CPU kernels have no bf16-in, float-out form (half_to_float is
      // CUDA's): softmax(x, dim, dtype=float) converts x to a new float tensor
      // and runs the float kernel on it. The conversion's tensor, allocated
      // per call there, is made once here: torch's best case.
      t->converted = at::empty(sizes, out_options);
      return [t](std::size_t k) {
        t->converted.copy_(t->in[k]);
        at::_softmax_out(t->out[k], t->converted, 1, false);
      };
    }
  };
}

void register_torch_groups(const std::string& contender) {
  const std::pair<at::ScalarType, const char*> two_byte[] = {{at::kBFloat16, "bf16"}, {at::kHalf, "f16"}};
  bool runs[2] = {};
  for (int i = 0; i < 2; ++i) {
    const std::string why = softmax_unsupported(two_byte[i].first);
    runs[i] = why.empty();
    add_context(std::string("torch_softmax_") + two_byte[i].second, runs[i] ? "supported" : "unsupported: " + why);
  }
  if (runs[0]) {
    register_group<smax::bfloat16, smax::bfloat16>(group::bf16, contender,
                                                   torch_softmax<smax::bfloat16, smax::bfloat16>());
    register_group<smax::bfloat16, float>(group::bf16_f32, contender, torch_softmax<smax::bfloat16, float>());
  }
  if (runs[1]) register_group<smax::half, smax::half>(group::f16, contender, torch_softmax<smax::half, smax::half>());
  register_group<float, float>(group::axis, contender, torch_softmax<float, float>());
  register_group<float, float>(group::axis_last, contender, torch_softmax<float, float>());
}

}  // namespace

void register_torch() {
  // Named after the kernels that actually run, so that two processes (default
  // and ATEN_CPU_CAPABILITY=avx512) give two contenders in one report.
  const std::string cap = capability();
  const std::string contender = cap.empty() ? "torch" : "torch-" + cap;
  if (!wanted(contender)) return;
  at::set_num_threads(1);
  add_context("torch_version", std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                                   std::to_string(TORCH_VERSION_PATCH));
  add_context("torch_capability", cap.empty() ? "unknown" : cap);
  register_entries<float>(contender, kOps, torch_op<float>);
  register_entries<double>(contender, kOps, torch_op<double>);
  register_torch_groups(contender);
}

}  // namespace smax_bench
