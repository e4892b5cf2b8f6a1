// XNNPACK's softmax_nc_f32 operator without a thread pool. XNNPACK binds the
// buffers at setup, so each slot gets its own operator, all set up before
// timing: the timed call is xnn_run_operator alone.
#include <xnnpack.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common.hpp"

namespace smax_bench {
namespace {

struct xnnpack_ops {
  std::vector<xnn_operator_t> per_slot;
  xnnpack_ops() = default;
  xnnpack_ops(const xnnpack_ops&) = delete;
  xnnpack_ops& operator=(const xnnpack_ops&) = delete;
  ~xnnpack_ops() {
    for (xnn_operator_t o : per_slot) xnn_delete_operator(o);
  }
};

void expect(xnn_status status, const char* what) {
  if (status != xnn_status_success) throw std::runtime_error(std::string(what) + " returned " + std::to_string(status));
}

preparer<float> xnnpack_softmax(op) {
  return [](workspace<float>& ws) -> call {
    auto ops = std::make_shared<xnnpack_ops>();
    const shape s = ws.dims();
    for (std::size_t k = 0; k < ws.slots(); ++k) {
      xnn_operator_t o = nullptr;
      expect(xnn_create_softmax_nc_f32(s.cols, s.cols, s.cols, 0, &o), "xnn_create_softmax_nc_f32");
      ops->per_slot.push_back(o);
      expect(xnn_setup_softmax_nc_f32(o, s.rows, ws.input(k), ws.output(k), nullptr), "xnn_setup_softmax_nc_f32");
    }
    return [ops](std::size_t k) { expect(xnn_run_operator(ops->per_slot[k], nullptr), "xnn_run_operator"); };
  };
}

}  // namespace

void register_xnnpack() {
  if (!wanted("xnnpack")) return;
  const xnn_status status = xnn_initialize(nullptr);
  if (status != xnn_status_success) {
    add_context("xnnpack", "xnn_initialize failed with status " + std::to_string(status));
    return;
  }
  // This XNNPACK has no log-softmax operator and no logsumexp.
  register_entries<float>("xnnpack", {op::softmax}, xnnpack_softmax);
}

}  // namespace smax_bench
