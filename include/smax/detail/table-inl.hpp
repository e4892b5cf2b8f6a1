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
  } else if constexpr (std::is_same_v<Op, op_cross_entropy>) {
    return &cross_entropy_any<S>;
  } else if constexpr (std::is_same_v<Op, op_softmax_columns>) {
    return &softmax_columns<S>;
  } else if constexpr (std::is_same_v<Op, op_log_softmax_columns>) {
    return &log_softmax_columns<S>;
  } else if constexpr (std::is_same_v<Op, op_logsumexp_columns>) {
    return &logsumexp_columns<S>;
  } else if constexpr (std::is_same_v<Op, op_softmax_backward_columns>) {
    return &softmax_backward_columns<S>;
  } else if constexpr (std::is_same_v<Op, op_log_softmax_backward_columns>) {
    return &log_softmax_backward_columns<S>;
  } else if constexpr (std::is_same_v<Op, op_logsumexp_backward_columns>) {
    return &logsumexp_backward_columns<S>;
  } else if constexpr (std::is_same_v<Op, op_chunk_stats>) {
    return &plain_chunk_stats<S>;
  } else if constexpr (std::is_same_v<Op, op_merge_stats>) {
    return &merge_chunk_stats<S>;
  } else if constexpr (std::is_same_v<Op, op_chunk_sum_minus_one>) {
    return &plain_chunk_sum_minus_one<S>;
  } else if constexpr (std::is_same_v<Op, op_softmax_chunk_finish>) {
    return &softmax_chunk_finish<S>;
  } else {
    static_assert(std::is_same_v<Op, op_log_softmax_chunk_finish>, "unknown operation");
    return &log_softmax_chunk_finish<S>;
  }
}
