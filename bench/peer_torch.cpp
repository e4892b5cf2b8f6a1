// libtorch's CPU kernels called through ATen on tensors that wrap the shared
// buffers: at::_softmax_out, at::_log_softmax_out, at::logsumexp_out.
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/_log_softmax.h>
#include <ATen/ops/_softmax.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/logsumexp.h>
#include <torch/csrc/api/include/torch/version.h>

#include <cctype>
#include <memory>
#include <string>
#include <type_traits>
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

struct tensors {
  std::vector<at::Tensor> in, out;  // one per slot, viewing the workspace
};

template <class T>
preparer<T> torch_op(op which) {
  return [which](workspace<T>& ws) -> call {
    const shape s = ws.dims();
    const auto rows = static_cast<std::int64_t>(s.rows);
    const auto cols = static_cast<std::int64_t>(s.cols);
    const auto options = at::TensorOptions().dtype(std::is_same_v<T, float> ? at::kFloat : at::kDouble);
    auto t = std::make_shared<tensors>();
    for (std::size_t k = 0; k < ws.slots(); ++k) {
      // from_blob wants a mutable pointer; the input tensor is only read.
      t->in.push_back(at::from_blob(const_cast<T*>(ws.input(k)), {rows, cols}, options));
      t->out.push_back(which == op::logsumexp ? at::from_blob(ws.output(k), {rows}, options)
                                              : at::from_blob(ws.output(k), {rows, cols}, options));
    }
    switch (which) {
      case op::softmax: return [t](std::size_t k) { at::_softmax_out(t->out[k], t->in[k], 1, false); };
      case op::log_softmax: return [t](std::size_t k) { at::_log_softmax_out(t->out[k], t->in[k], 1, false); };
      case op::logsumexp: return [t](std::size_t k) { at::logsumexp_out(t->out[k], t->in[k], {1}, false); };
    }
    return {};
  };
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
  register_entries<float>(contender, {op::softmax, op::log_softmax, op::logsumexp}, torch_op<float>);
  register_entries<double>(contender, {op::softmax, op::log_softmax, op::logsumexp}, torch_op<double>);
}

}  // namespace smax_bench
