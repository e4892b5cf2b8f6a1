// Eigen 3 row expressions (see peer_eigen_rows.cpp).
#include <stdexcept>
#include <string>

#include "common.hpp"
#include "peer_eigen.hpp"

namespace smax_bench {
namespace {

template <class T>
preparer<T> eigen_op(op which) {
  return [which](workspace<T>& ws) -> call {
    const shape s = ws.dims();
    switch (which) {
      case op::softmax:
        return [&ws, s](std::size_t k) { eigen_rows::softmax<T>(ws.input(k), ws.output(k), s.rows, s.cols); };
      case op::log_softmax:
        return [&ws, s](std::size_t k) { eigen_rows::log_softmax<T>(ws.input(k), ws.output(k), s.rows, s.cols); };
      case op::logsumexp:
        return [&ws, s](std::size_t k) { eigen_rows::logsumexp<T>(ws.input(k), ws.output(k), s.rows, s.cols); };
      // Registered for the forward ops only (see register_eigen).
      default: break;
    }
    throw std::logic_error(std::string("no Eigen contender for ") + op_name(which));
  };
}

}  // namespace

void register_eigen() {
  if (!wanted("eigen")) return;
  add_context("eigen_simd", eigen_rows::simd());
  add_context("eigen_version", eigen_rows::version());
  register_entries<float>("eigen", {op::softmax, op::log_softmax, op::logsumexp}, eigen_op<float>);
  register_entries<double>("eigen", {op::softmax, op::log_softmax, op::logsumexp}, eigen_op<double>);
}

}  // namespace smax_bench
