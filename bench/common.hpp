// Shared machinery of the benchmark binary: shapes, entry names, inputs, the
// rotating buffers, the agreement check against smax, and the timed loop.
//
// Every contender (smax per ISA, the naive loop, memcpy, each peer library) is
// timed by the same loop on the same buffers, so the figures differ only by the
// code under test.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <smax/types.hpp>
#include <string>
#include <vector>

namespace smax_bench {

enum class op {
  softmax,
  log_softmax,
  logsumexp,
  cross_entropy,        // hard int64 targets, reduction mean: one loss per call
  cross_entropy_fused,  // the same loss and d(loss)/d(logits), in one call
  softmax_backward,
  log_softmax_backward,
  logsumexp_backward,
};
// Every op, in the order of the tables; an initializer_list so that it can be
// handed to register_entries as it is.
inline constexpr std::initializer_list<op> kOps = {
    op::softmax,          op::log_softmax,          op::logsumexp,         op::cross_entropy, op::cross_entropy_fused,
    op::softmax_backward, op::log_softmax_backward, op::logsumexp_backward};
inline constexpr std::size_t kOpCount = kOps.size();

// Ops that return a loss (written to workspace::loss) rather than, or besides,
// an array.
constexpr bool has_loss(op which) { return which == op::cross_entropy || which == op::cross_entropy_fused; }
// Ops whose array result goes to workspace::output; the forward cross-entropy
// writes none.
constexpr bool has_output(op which) { return which != op::cross_entropy; }

const char* op_name(op which);

struct shape {
  std::size_t rows;
  std::size_t cols;
  std::size_t size() const { return rows * cols; }
};

// From many short rows (attention heads) to one row of 16M (a large vocabulary
// split, or a flattened tensor); the last is out of cache by size alone.
inline constexpr shape kShapes[] = {{4096, 64}, {1024, 1000}, {64, 32000}, {8, 128256}, {1, 1048576}, {1, 16777216}};

template <class T>
constexpr const char* dtype_name();
template <>
constexpr const char* dtype_name<float>() {
  return "f32";
}
template <>
constexpr const char* dtype_name<double>() {
  return "f64";
}

// "<op>/<dtype>/<contender>/<rows>x<cols>"; report.py and compare.py parse it.
std::string entry_name(const std::string& op_label, const char* dtype, const std::string& contender, shape s);

// Whether the contender is selected by SMAX_BENCH_CONTENDERS, a comma-separated
// list of name prefixes (unset: all). It acts at registration, so a second
// process can time only some contenders (say, torch under another CPU capability)
// whatever --benchmark_filter the user passes to both.
bool wanted(const std::string& contender);

// Bytes one call reads and writes: the figure behind bytes_per_second. Counted
// from what the op must touch, the same for every contender (a peer that
// writes an intermediate, as libtorch's cross-entropy does, is not credited
// with its extra traffic); see the definition for each op's count.
std::int64_t bytes_per_call(op which, shape s, std::size_t element_size);

// Memory that the rotating buffers of one entry span at least; see workspace.
std::size_t rotation_bytes();

// Inputs and outputs of one (dtype, shape). Holds `slots()` copies of the same
// logits, each with its own output, and the timed loop moves to the next copy
// on every call: the working set of consecutive calls then exceeds L2 several
// times over, so every call reads its input from L3 (or from DRAM when one copy
// alone exceeds L3), as a call in the middle of a real network does, instead of
// from the L1/L2 that the previous iteration warmed. Shapes whose single copy is
// already larger than rotation_bytes() get one slot.
template <class T>
class workspace {
 public:
  // The workspace of `s`, kept until another shape of the same dtype is asked
  // for; the entries of one shape run one after another, so inputs and
  // references are built once per shape.
  static workspace& get(shape s);

  shape dims() const { return dims_; }
  std::size_t slots() const { return inputs_.size(); }
  const T* input(std::size_t slot) const { return inputs_[slot].get(); }
  T* output(std::size_t slot) const { return outputs_[slot].get(); }
  std::size_t output_size(op which) const {
    return which == op::logsumexp ? dims_.rows : has_output(which) ? dims_.size() : 0;
  }

  // Builds, once per workspace, the operands that `which` reads besides the
  // logits; run_entry calls it before the contender's preparer, so that the
  // getters below are plain loads inside the timed loop. Per slot where they
  // are as large as the logits, so that they rotate with them.
  void prepare(op which);

  // Class indices of the cross-entropy ops, uniform over [0, cols) from a fixed
  // seed. One copy for all slots: 8 bytes a row next to a row of logits.
  const std::int64_t* targets() const { return targets_.data(); }
  // dy of softmax_backward and log_softmax_backward: standard normal, from a
  // seed other than the logits'.
  const T* upstream(std::size_t slot) const { return upstream_[slot].get(); }
  // y of the forward pass that `which` (softmax_backward or
  // log_softmax_backward) differentiates: smax's softmax or log_softmax of the
  // logits, as a training step has kept it.
  const T* forward_output(op which, std::size_t slot) const {
    return forward_[which == op::softmax_backward ? 0 : 1][slot].get();
  }
  // logsumexp_backward's lse (smax's logsumexp of the logits) and dlse
  // (standard normal), one value per row.
  const T* row_lse(std::size_t slot) const { return row_lse_[slot].get(); }
  const T* row_upstream(std::size_t slot) const { return row_upstream_[slot].get(); }
  // Where the loss ops put the loss they return, checked like an output.
  T* loss(std::size_t slot) { return &losses_[slot]; }
  // Fills output(0) and loss(0) with NaN, before the check's call.
  void poison(op which);

  // smax's result for `which` on these inputs (slot 0's operands), computed
  // once on its fastest ISA: the array result, and the loss of the loss ops.
  const std::vector<T>& reference(op which);
  double reference_loss(op which);

  // Empty when output(0) (and loss(0)) agree with the reference within the
  // tolerance of the op and dtype, else a message naming the largest difference.
  std::string disagreement(op which);

 private:
  struct free_deleter {
    void operator()(T* p) const;
  };
  using buffer = std::unique_ptr<T[], free_deleter>;

  explicit workspace(shape s);
  // `count` values per slot: the first from `fill`, the others copies of it.
  std::vector<buffer> per_slot(std::size_t count, const std::function<void(T*)>& fill) const;
  void compute_reference(op which);
  // The exact (long double) value of `which`'s array result at (row, col) and
  // of its loss, from slot 0's operands: named in a disagreement's message.
  long double exact_at(op which, std::size_t row, std::size_t col) const;
  long double exact_loss() const;

  shape dims_;
  std::vector<buffer> inputs_;
  std::vector<buffer> outputs_;
  std::vector<T> losses_;
  std::vector<std::int64_t> targets_;
  std::vector<buffer> upstream_, forward_[2], row_lse_, row_upstream_;
  std::vector<T> references_[kOpCount];
  double reference_losses_[kOpCount] = {};
  bool referenced_[kOpCount] = {};
};

// One call of a contender on slot `slot` of the workspace it was prepared for.
using call = std::function<void(std::size_t slot)>;

// Builds the call of a contender for one workspace: creates the peer's
// primitives or tensors outside the timed loop. Throws std::exception to skip
// the entry with its message.
template <class T>
using preparer = std::function<call(workspace<T>&)>;

enum class on_disagreement {
  skip,       // a wrong answer's speed means nothing: SkipWithError
  flag,       // time it anyway and say so in the label (the naive loop's float sum)
  unchecked,  // not an op of its own (memcpy)
};

// The body of every entry: prepare, check once against smax, then time calls
// that rotate through the slots. `entry` is the registered name.
template <class T>
void run_entry(benchmark::State& state, const std::string& entry, op which, shape s, const preparer<T>& prepare,
               on_disagreement policy);

// Queues `op/dtype/contender/shape` for every op in `ops` and every shape,
// unless SMAX_BENCH_CONTENDERS leaves the contender out. `make(op)` gives the
// preparer of that op.
template <class T>
void register_entries(const std::string& contender, std::initializer_list<op> ops,
                      const std::function<preparer<T>(op)>& make, on_disagreement policy = on_disagreement::skip);

// Queues one entry. `order` sorts entries before they reach Google Benchmark:
// entries of one dtype and shape run together, so inputs and references are
// built once per (dtype, shape) rather than once per entry.
struct entry_order {
  int dtype;
  std::size_t shape;
  int op;
};
void queue_entry(const std::string& name, entry_order order, std::function<void(benchmark::State&)> body);

// Hands the queued entries to Google Benchmark, in order.
void register_queued();

// ---------------------------------------------------------------------------
// Softmax groups besides the row forms of float and double, in the same
// "<op>/<dtype>/<contender>/<shape>" scheme:
//   softmax/bf16/...           bfloat16 in and out, on kShapes (rows x cols)
//   softmax/f16/...            IEEE half in and out, on kShapes
//   softmax/bf16-f32/...       bfloat16 in, float out (what a loss reads), on kShapes
//   copy/bf16/memcpy/..., copy/f16/memcpy/...   the bytes of one two-byte call
//   softmax_axis/f32/...       float, along the middle dimension of an
//                              outer x axis x inner tensor, on kAxisShapes, named
//                              <outer>x<axis>x<inner>
//   softmax_axis_last/f32/...  the same sizes and names with the axis last:
//                              outer * inner contiguous rows of `axis` elements,
//                              the row form. The same element count and softmax
//                              lengths, so the ratio of the two is what a middle
//                              axis costs.
// report.py puts the two-byte groups next to softmax/f32 of the same shape and
// ISA, and each middle-axis entry next to its axis-last twin.

// The sizes of softmax along the middle dimension: (batch, classes, positions)
// logits as PyTorch's losses take them; 8 heads of scores over 4096 keys kept
// keys-first for 64 queries; 128 channels of 1000 positions (an NCL feature
// map). One to two million elements each, as 1024x1000 and 64x32000 in
// kShapes.
struct tensor_shape {
  std::size_t outer;
  std::size_t axis;
  std::size_t inner;
  std::size_t size() const { return outer * axis * inner; }
};
inline constexpr tensor_shape kAxisShapes[] = {{32, 1000, 32}, {8, 4096, 64}, {16, 128, 1000}};

enum class group {
  bf16,       // softmax/bf16
  f16,        // softmax/f16
  bf16_f32,   // softmax/bf16-f32
  axis,       // softmax_axis/f32
  axis_last,  // softmax_axis_last/f32
};

// Inputs and outputs of one group on one tensor, as workspace<T> keeps them
// for the row entries: rotating copies of one standard normal input (the
// float row entries' logits, rounded to In), a reference computed once
// by smax on its fastest ISA, and the check against it. dims() is the tensor
// as laid out in memory: inner == 1 for the row groups and softmax_axis_last.
template <class In, class Out>
class tensor_workspace {
 public:
  static tensor_workspace& get(tensor_shape s);

  tensor_shape dims() const { return dims_; }
  std::size_t slots() const { return inputs_.size(); }
  const In* input(std::size_t slot) const { return inputs_[slot].get(); }
  Out* output(std::size_t slot) const { return outputs_[slot].get(); }

  void poison();
  // Empty when output(0) agrees with the reference within the tolerance of
  // Out, else a message naming the largest difference.
  std::string disagreement();

 private:
  template <class U>
  struct free_deleter {
    void operator()(U* p) const;
  };
  template <class U>
  using buffer = std::unique_ptr<U[], free_deleter<U>>;

  explicit tensor_workspace(tensor_shape s);
  const std::vector<float>& reference();

  tensor_shape dims_;
  std::vector<buffer<In>> inputs_;
  std::vector<buffer<Out>> outputs_;
  std::vector<float> reference_;  // Out's values, exactly, as float
};

// Builds the call of a contender for one tensor_workspace (see preparer).
template <class In, class Out>
using tensor_preparer = std::function<call(tensor_workspace<In, Out>&)>;

// Queues the group's entries of one contender, one per shape (kShapes for the
// two-byte groups, kAxisShapes for the others), unless SMAX_BENCH_CONTENDERS
// leaves the contender out. In and Out must be the group's types:
//   bf16: bfloat16, bfloat16; f16: half, half; bf16_f32: bfloat16, float;
//   axis, axis_last: float, float.
template <class In, class Out>
void register_group(group g, const std::string& contender, const tensor_preparer<In, Out>& prepare,
                    on_disagreement policy = on_disagreement::skip);

// copy/bf16/memcpy and copy/f16/memcpy on kShapes: the bytes of one two-byte
// softmax. Called by register_memcpy.
void register_two_byte_copies();

// The contenders, one register function each; main() calls those compiled in.
void register_smax();
void register_naive();
void register_memcpy();
void register_onednn();
void register_xnnpack();
void register_torch();
void register_eigen();

// Key/value pairs that go into the JSON context (versions, capabilities).
void add_context(const std::string& key, const std::string& value);

}  // namespace smax_bench
