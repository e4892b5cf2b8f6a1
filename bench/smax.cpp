// smax itself, once per ISA this CPU runs.
#include <memory>
#include <smax/smax.hpp>

#include "common.hpp"

namespace smax_bench {
namespace {

template <class T>
preparer<T> smax_op(op which, smax::isa path, smax::softmax_algorithm algorithm = smax::softmax_algorithm::automatic) {
  return [which, path, algorithm](workspace<T>& ws) -> call {
    // The call holds the ISA choice for as long as the entry runs; smax reads
    // it once per call, as it does for any user.
    auto pick = std::make_shared<smax::scoped_isa>(path);
    const shape s = ws.dims();
    smax::softmax_options<T> o;
    o.algorithm = algorithm;
    switch (which) {
      case op::softmax:
        return [pick, &ws, s, o](std::size_t k) { smax::softmax<T>(ws.input(k), ws.output(k), s.rows, s.cols, o); };
      case op::log_softmax:
        return [pick, &ws, s, o](std::size_t k) { smax::log_softmax<T>(ws.input(k), ws.output(k), s.rows, s.cols, o); };
      case op::logsumexp:
        return [pick, &ws, s, o](std::size_t k) { smax::logsumexp<T>(ws.input(k), ws.output(k), s.rows, s.cols, o); };
      // Default options: hard targets, reduction mean, ignore_index -100.
      case op::cross_entropy:
        return [pick, &ws, s](std::size_t k) {
          *ws.loss(k) = smax::cross_entropy(ws.input(k), ws.targets(), s.rows, s.cols);
        };
      // The gradient goes to a buffer of its own, not over the logits: the
      // logits of every slot must stay as they are for the next call.
      case op::cross_entropy_fused:
        return [pick, &ws, s](std::size_t k) {
          *ws.loss(k) = smax::cross_entropy_with_grad(ws.input(k), ws.targets(), ws.output(k), s.rows, s.cols);
        };
      case op::softmax_backward:
        return [pick, &ws, s, which](std::size_t k) {
          smax::softmax_backward<T>(ws.forward_output(which, k), ws.upstream(k), ws.output(k), s.rows, s.cols);
        };
      case op::log_softmax_backward:
        return [pick, &ws, s, which](std::size_t k) {
          smax::log_softmax_backward<T>(ws.forward_output(which, k), ws.upstream(k), ws.output(k), s.rows, s.cols);
        };
      case op::logsumexp_backward:
        return [pick, &ws, s](std::size_t k) {
          smax::logsumexp_backward<T>(ws.input(k), ws.row_lse(k), ws.row_upstream(k), ws.output(k), s.rows, s.cols);
        };
    }
    return {};
  };
}

template <class T>
void register_isa(smax::isa path) {
  register_entries<T>(std::string("smax-") + smax::isa_name(path), kOps,
                      [path](op which) { return smax_op<T>(which, path); });
}

// Each algorithm forced, on the fastest ISA, for the float forms it changes:
// the measurements automatic's choices come from (see softmax_algorithm).
void register_algorithms(smax::isa path) {
  const struct {
    smax::softmax_algorithm algorithm;
    const char* suffix;
  } forced[] = {{smax::softmax_algorithm::three_pass_reload, "-reload"},
                {smax::softmax_algorithm::two_pass_online, "-online"},
                {smax::softmax_algorithm::two_pass_exponent, "-exponent"}};
  for (const auto& f : forced) {
    register_entries<float>(std::string("smax-") + smax::isa_name(path) + f.suffix,
                            {op::softmax, op::log_softmax, op::logsumexp},
                            [path, f](op which) { return smax_op<float>(which, path, f.algorithm); });
  }
}

// The tensor groups (see common.hpp): the row form where the axis is last,
// as a user calls it, the tensor_axis form otherwise.
template <class In, class Out>
tensor_preparer<In, Out> smax_softmax(smax::isa path) {
  return [path](tensor_workspace<In, Out>& ws) -> call {
    auto pick = std::make_shared<smax::scoped_isa>(path);
    const tensor_shape s = ws.dims();
    if (s.inner == 1) {
      return [pick, &ws, s](std::size_t k) { smax::softmax<In>(ws.input(k), ws.output(k), s.outer, s.axis); };
    }
    const smax::tensor_axis along{s.outer, s.axis, s.inner};
    return [pick, &ws, along](std::size_t k) { smax::softmax<In>(ws.input(k), ws.output(k), along); };
  };
}

void register_groups(smax::isa path) {
  const std::string contender = std::string("smax-") + smax::isa_name(path);
  register_group<smax::bfloat16, smax::bfloat16>(group::bf16, contender,
                                                 smax_softmax<smax::bfloat16, smax::bfloat16>(path));
  register_group<smax::half, smax::half>(group::f16, contender, smax_softmax<smax::half, smax::half>(path));
  register_group<smax::bfloat16, float>(group::bf16_f32, contender, smax_softmax<smax::bfloat16, float>(path));
  register_group<float, float>(group::axis, contender, smax_softmax<float, float>(path));
  register_group<float, float>(group::axis_last, contender, smax_softmax<float, float>(path));
}

}  // namespace

void register_smax() {
  // Fastest first, so that each table reads from the figure that matters.
  const std::vector<smax::isa> paths = smax::available_isas();
  for (auto it = paths.rbegin(); it != paths.rend(); ++it) {
    register_isa<float>(*it);
    register_isa<double>(*it);
    register_groups(*it);
  }
  if (!paths.empty()) register_algorithms(paths.back());
}

}  // namespace smax_bench
