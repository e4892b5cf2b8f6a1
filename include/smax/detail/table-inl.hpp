// This ISA's kernel for an operation. No include guard: arch/<isa>.hpp includes
// this file last, inside its namespace, after all the kernels it names.
// `if constexpr` keeps the other operations' kernels uninstantiated.
template <class Op, class S>
constexpr typename Op::template fn<S> kernel() {
  if constexpr (std::is_same_v<Op, op_softmax>) {
    return &softmax_rows<S>;
  } else if constexpr (std::is_same_v<Op, op_log_softmax>) {
    return &log_softmax_rows<S>;
  } else if constexpr (std::is_same_v<Op, op_logsumexp>) {
    return &logsumexp_rows<S>;
  } else if constexpr (std::is_same_v<Op, op_softmax_backward>) {
    return &softmax_backward_rows<S>;
  } else if constexpr (std::is_same_v<Op, op_log_softmax_backward>) {
    return &log_softmax_backward_rows<S>;
  } else if constexpr (std::is_same_v<Op, op_logsumexp_backward>) {
    return &logsumexp_backward_rows<S>;
  } else {
    static_assert(std::is_same_v<Op, op_cross_entropy>, "unknown operation");
    return &cross_entropy_rows<S>;
  }
}
