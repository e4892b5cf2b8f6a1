// oneDNN's softmax_v2 primitive (softmax_accurate, softmax_log), as a user of
// oneDNN runs it: primitive and memory objects built once, execute per call.
#include <dlfcn.h>

#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.hpp"

namespace smax_bench {
namespace {

struct onednn_state {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::softmax_v2_forward primitive;
  std::vector<std::unordered_map<int, dnnl::memory>> args;  // one per slot
};

dnnl::memory::desc matrix(shape s) {
  return dnnl::memory::desc({static_cast<dnnl::memory::dim>(s.rows), static_cast<dnnl::memory::dim>(s.cols)},
                            dnnl::memory::data_type::f32, dnnl::memory::format_tag::ab);
}

dnnl::softmax_v2_forward::primitive_desc primitive_for(op which, shape s, const dnnl::engine& engine) {
  const auto algorithm = which == op::softmax ? dnnl::algorithm::softmax_accurate : dnnl::algorithm::softmax_log;
  const dnnl::memory::desc md = matrix(s);
  const dnnl::softmax_v2_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm, md, md, 1);
  return dnnl::softmax_v2_forward::primitive_desc(desc, engine);
}

preparer<float> onednn_op(op which) {
  return [which](workspace<float>& ws) -> call {
    auto st = std::make_shared<onednn_state>();
    const shape s = ws.dims();
    const dnnl::memory::desc md = matrix(s);
    st->primitive = dnnl::softmax_v2_forward(primitive_for(which, s, st->engine));
    for (std::size_t k = 0; k < ws.slots(); ++k) {
      // oneDNN takes a non-const handle for its source but does not write it.
      st->args.push_back({{DNNL_ARG_SRC, dnnl::memory(md, st->engine, const_cast<float*>(ws.input(k)))},
                          {DNNL_ARG_DST, dnnl::memory(md, st->engine, ws.output(k))}});
    }
    return [st](std::size_t k) {
      st->primitive.execute(st->stream, st->args[k]);
      st->stream.wait();
    };
  };
}

}  // namespace

void register_onednn() {
  if (!wanted("onednn")) return;
  // Debian's oneDNN runs on OpenMP, which would use every CPU of the affinity
  // mask; ask the runtime oneDNN loaded (whichever it is) for one thread.
  using set_threads_fn = void (*)(int);
  if (auto set_threads = reinterpret_cast<set_threads_fn>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"))) {
    set_threads(1);
  }
  const dnnl_version_t* v = dnnl::version();
  add_context("onednn_version",
              std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  // The kernel oneDNN picks for this CPU, e.g. "jit:avx512_core".
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  add_context("onednn_impl", primitive_for(op::softmax, shape{1, 1000}, engine).impl_info_str());
  register_entries<float>("onednn", {op::softmax, op::log_softmax}, onednn_op);
}

}  // namespace smax_bench
