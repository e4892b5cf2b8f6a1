// Two-byte storage (bfloat16, half) goes through the float kernels in blocks:
// each block of rows is widened to float (exactly), computed by the active
// ISA's float kernel and rounded once, to nearest even, on the way out. So
// nothing ever accumulates in a two-byte type, masks and every option behave
// as for float, and each result is the float kernel's value (within the float
// bound, far below a two-byte ulp) rounded once: within 1 ulp of the correctly
// rounded two-byte value. Mixed forms (two-byte in, float out) write the
// widened rows straight into the float output and compute there in place.
//
// A block holds about 64 KiB of floats (one row when rows are longer), so it
// stays in L2 between widening, the kernel's passes and narrowing. Blocks are
// shared out over threads; a single long row gets the threads inside the
// float kernel instead, as float data would. Rows too long for L2 (see
// kStreamedRowFloats) are streamed chunk by chunk instead where no transform
// applies (see "long rows" below), so they need no row-sized buffer and stay
// in cache.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "../isa.hpp"
#include "../matrix_view.hpp"
#include "../types.hpp"
#include "convert.hpp"
#include "kernel_table.hpp"

namespace smax {
inline namespace SMAX_ABI {
namespace detail {

template <class T>
inline constexpr bool is_storage_type_v = std::is_same_v<T, bfloat16> || std::is_same_v<T, half>;

// Widens n values of T (bfloat16, half or float) into float.
template <class T>
void widen(const T* in, float* out, std::size_t n) {
  if constexpr (std::is_same_v<T, float>) {
    if (in != out) {
      for (std::size_t i = 0; i < n; ++i) out[i] = in[i];
    }
  } else {
    to_float(in, out, n);
  }
}

template <class T>
void widen_rows(const T* in, std::size_t in_stride, float* out, std::size_t out_stride, std::size_t rows,
                std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r) widen(in + r * in_stride, out + r * out_stride, cols);
}

// Rounds float rows into Y; nothing to do when Y is float (computed in place).
template <class Y>
void narrow_rows(const float* in, std::size_t in_stride, Y* out, std::size_t out_stride, std::size_t rows,
                 std::size_t cols) {
  if constexpr (!std::is_same_v<Y, float>) {
    for (std::size_t r = 0; r < rows; ++r) from_float(in + r * in_stride, out + r * out_stride, cols);
  }
}

// Where a block is computed: in the output itself when that is float, else in
// the scratch.
template <class Y>
float* float_work(Y* out, float* scratch) {
  if constexpr (std::is_same_v<Y, float>) {
    return out;
  } else {
    return scratch;
  }
}

inline constexpr std::size_t kStagedBlockFloats = 16384;

// body(block, first_row, count, inner, scratch) for consecutive blocks of rows
// covering [0, rows); each block has `row_floats` floats of work per row and
// `scratch` holds scratch_per_row floats per row of the block.
inline std::size_t rows_per_block(std::size_t row_floats) {
  return row_floats >= kStagedBlockFloats ? 1 : kStagedBlockFloats / (row_floats | 1);
}

template <class Body>
void for_row_blocks(std::size_t rows, std::size_t row_floats, std::size_t scratch_per_row, const executor& ex,
                    const Body& body) {
  const std::size_t per_block = rows_per_block(row_floats);
  const std::size_t blocks = (rows + per_block - 1) / per_block;
  const bool share_blocks = ex.threads > 1 && blocks > 1 && rows * row_floats >= 2 * kMinWorkPerThread;
  const executor outer{share_blocks ? ex.threads : 1u, ex.algorithm};
  const executor inner{share_blocks ? 1u : ex.threads, ex.algorithm};
  outer.parallel_for(blocks, [&](std::size_t first_block, std::size_t end_block) {
    std::vector<float> scratch((per_block < rows ? per_block : rows) * scratch_per_row);
    for (std::size_t b = first_block; b < end_block; ++b) {
      const std::size_t first = b * per_block;
      const std::size_t count = rows - first < per_block ? rows - first : per_block;
      body(b, first, count, inner, scratch.data());
    }
  });
}

// The float transform equivalent to a two-byte one: the bias rows widened
// into `bias_storage`.
template <class T>
logit_transform<float> widen_transform(const logit_transform<T>& t, std::size_t cols,
                                       std::vector<float>& bias_storage) {
  logit_transform<float> f;
  f.scale = t.scale;
  f.softcap = t.softcap;
  if (t.bias != nullptr) {
    bias_storage.resize(t.bias_rows * cols);
    widen_rows(t.bias, t.bias_stride, bias_storage.data(), cols, t.bias_rows, cols);
    f.bias = bias_storage.data();
    f.bias_stride = cols;
    f.bias_rows = t.bias_rows;
  }
  f.keep = t.keep;
  f.keep_stride = t.keep_stride;
  f.keep_rows = t.keep_rows;
  f.causal = t.causal;
  f.causal_offset = t.causal_offset;
  f.causal_period = t.causal_period;
  return f;
}

// ---- long rows ----------------------------------------------------------------
//
// Widened whole, a row longer than kStreamedRowFloats would need a row-sized
// float buffer and the float kernel's sweeps would run over it out of cache,
// plus the sweeps that widen and narrow it. Instead such a row streams through one chunk-sized
// buffer, in the float kernels' own scheme for long rows (kernels-inl.hpp):
// pass 1 widens each chunk and takes its (max, sum of exp(x - max)); the row's
// statistics merge from the chunks' in chunk order; pass 2 widens each chunk
// again, writes exp(x - max) / sum or (x - max) - log(sum) over it and rounds it
// into the output. The two-byte input is read twice and the output written once;
// the floats never leave L1. Chunks are shared over threads, and since the
// merge is in chunk order the result does not depend on the thread count.
//
// This is the two-pass online scheme whatever options.algorithm says. Reload
// stores each chunk's exp terms until the row's sum is known, so it needs them
// all at once: the row-sized buffer this avoids (or two-byte terms, rounded
// twice). And what reload saves, a second read of the input, costs half as much
// here as for float data.
//
// Chunks are shorter than the float kernels' (16384 floats): 8 KiB of floats
// and the chunk's input and output stay in L1, and (as we read the timings) the
// widening, which waits on memory, comes round often enough to overlap with the
// sweeps' arithmetic. Out of cache (1 x 16777216 bf16, one thread, the README's
// machine) softmax ran 1.2 G elements/s with 16384, 1.45 with 4096 and 1.5 with
// 2048 or 1024; prefetching the next chunk by hand gained nothing. The row's
// statistics then merge from more chunks than the float kernel's for the
// widened row: the same double sums, merged in another order.
inline constexpr std::size_t kStagedChunkFloats = 2048;

// The long-row pieces of one ISA, taken together so that one call uses one path.
struct chunk_kernels {
  chunk_stats_fn<float> stats;
  merge_stats_fn merge;
  chunk_sum_minus_one_fn<float> sum_minus_one;
  chunk_finish_fn<float> softmax_finish;
  chunk_finish_fn<float> log_softmax_finish;

  static chunk_kernels active() {
    const isa which = current_isa();
    return {kernel_for<op_chunk_stats, float>(which), kernel_for<op_merge_stats, float>(which),
            kernel_for<op_chunk_sum_minus_one, float>(which), kernel_for<op_softmax_chunk_finish, float>(which),
            kernel_for<op_log_softmax_chunk_finish, float>(which)};
  }
};

// Rows streamed chunk by chunk: those whose widened copy would not stay in L2
// through the float kernel's passes (shorter ones are widened whole, where the
// three-pass scheme with one exp per element beats streaming's two: 8x128256
// bf16 ran 1.64 G/s streamed against about 2.0 widened), with the logits as
// given (a transform's bias rows, masks and row-dependent causal limits stay
// with the float kernels, on widened rows).
inline constexpr std::size_t kStreamedRowFloats = std::size_t{1} << 17;

template <class T>
bool streams_long_rows(std::size_t cols, const logit_transform<T>& transform) {
  return cols > kStreamedRowFloats && !transform.active();
}

// body(c, first, n, buffer) for the row's chunks c (elements [first, first + n))
// on ex's threads, as many as the row repays (the float kernels' rule: at
// least 32768 elements each); `buffer` holds one chunk and is the caller's
// `own` when everything runs on this thread.
template <class Body>
void for_row_chunks(std::size_t cols, const executor& ex, float* own, const Body& body) {
  const std::size_t chunks = (cols + kStagedChunkFloats - 1) / kStagedChunkFloats;
  const auto run = [&](std::size_t begin, std::size_t end, float* buffer) {
    for (std::size_t c = begin; c < end; ++c) {
      const std::size_t first = c * kStagedChunkFloats;
      body(c, first, cols - first < kStagedChunkFloats ? cols - first : kStagedChunkFloats, buffer);
    }
  };
  const std::size_t useful = cols / kMinWorkPerThread;
  if (ex.threads <= 1 || useful <= 1) return run(0, chunks, own);
  const executor split{ex.threads < useful ? ex.threads : static_cast<unsigned>(useful), ex.algorithm};
  split.parallel_for(chunks, [&](std::size_t begin, std::size_t end) {
    std::vector<float> buffer(kStagedChunkFloats);
    run(begin, end, buffer.data());
  });
}

// Pass 1: the row's statistics, merged from its chunks'.
template <class T>
row_stats streamed_row_stats(const T* x, std::size_t cols, const executor& ex, const chunk_kernels& k, float* own) {
  std::vector<row_stats> stats((cols + kStagedChunkFloats - 1) / kStagedChunkFloats);
  for_row_chunks(cols, ex, own, [&](std::size_t c, std::size_t first, std::size_t n, float* buffer) {
    widen(x + first, buffer, n);
    stats[c] = k.stats(buffer, n);
  });
  return k.merge(stats.data(), stats.size());
}

// log of the row sum (a finite maximum), as the float kernels take it; near 1
// the terms below the maximum are summed again per chunk, added in chunk order.
template <class T>
double_double streamed_log_of_row_sum(const T* x, std::size_t cols, const row_stats& row, const executor& ex,
                                      const chunk_kernels& k, float* own) {
  if (!row_sum_near_one(row.sum)) return log_of_plain_row_sum<float>(row.sum);
  std::vector<double_double> parts((cols + kStagedChunkFloats - 1) / kStagedChunkFloats);
  for_row_chunks(cols, ex, own, [&](std::size_t c, std::size_t first, std::size_t n, float* buffer) {
    widen(x + first, buffer, n);
    parts[c] = k.sum_minus_one(buffer, n, row.m);
  });
  compensated_total sum_minus_one;
  for (const double_double& part : parts) sum_minus_one.add(part);
  return log_of_one_plus(fast_two_sum(sum_minus_one.hi, sum_minus_one.lo));
}

// softmax or log_softmax of one row into two-byte y (which may be x itself:
// pass 1 reads the whole row before pass 2 writes, and pass 2 reads each chunk
// before writing it).
template <class Op, class T>
void streamed_map_row(const T* x, T* y, std::size_t cols, const executor& ex, const chunk_kernels& k, float* own) {
  constexpr bool kSoftmax = std::is_same_v<Op, op_softmax>;
  static_assert(kSoftmax || std::is_same_v<Op, op_log_softmax>, "softmax or log_softmax");
  const row_stats row = streamed_row_stats(x, cols, ex, k, own);
  if (!std::isfinite(row.m)) {
    // All -inf, +inf or NaN: NaN, as the float kernels' fill_special_row writes
    // where nothing is masked (and nothing is without a transform).
    for (std::size_t i = 0; i < kStagedChunkFloats; ++i) own[i] = static_cast<float>(constants::kNaN);
    for (std::size_t first = 0; first < cols; first += kStagedChunkFloats) {
      from_float(own, y + first, cols - first < kStagedChunkFloats ? cols - first : kStagedChunkFloats);
    }
    return;
  }
  const double_double factor =
      kSoftmax ? reciprocal_of_sum(row.sum.hi, row.sum.lo) : streamed_log_of_row_sum(x, cols, row, ex, k, own);
  const chunk_finish_fn<float> finish = kSoftmax ? k.softmax_finish : k.log_softmax_finish;
  for_row_chunks(cols, ex, own, [&](std::size_t, std::size_t first, std::size_t n, float* buffer) {
    widen(x + first, buffer, n);
    finish(buffer, buffer, n, row.m, factor);
    from_float(buffer, y + first, n);
  });
}

// logsumexp of one row, as the float kernel's logsumexp_row computes it, rounded
// to float as that kernel's output is.
template <class T>
float streamed_logsumexp_row(const T* x, std::size_t cols, const executor& ex, const chunk_kernels& k, float* own) {
  const row_stats row = streamed_row_stats(x, cols, ex, k, own);
  if (!std::isfinite(row.m)) {
    // Without a finite maximum: NaN if the row holds one, else the maximum.
    for (std::size_t i = 0; i < cols; ++i) {
      if (std::isnan(static_cast<float>(x[i]))) return static_cast<float>(constants::kNaN);
    }
    return static_cast<float>(row.m);
  }
  const double_double log_sum = streamed_log_of_row_sum(x, cols, row, ex, k, own);
  const double_double total = two_sum(row.m, log_sum.hi);
  return static_cast<float>(total.hi + (total.lo + log_sum.lo));
}

// softmax / log_softmax rows: y (T or float) = f(x).
template <class Op, class T, class Y>
void staged_map(const T* x, std::size_t x_stride, Y* y, std::size_t y_stride, std::size_t rows, std::size_t cols,
                const executor& ex, const logit_transform<T>& transform) {
  constexpr bool kFloatOut = std::is_same_v<Y, float>;
  if constexpr (!kFloatOut) {
    // (A float output is the widened row's own buffer: nothing to stream.)
    if (streams_long_rows(cols, transform)) {
      const chunk_kernels k = chunk_kernels::active();
      for_row_blocks(rows, cols, kStagedChunkFloats, ex,
                     [&](std::size_t, std::size_t first, std::size_t count, const executor& inner, float* buffer) {
                       for (std::size_t r = first; r < first + count; ++r) {
                         streamed_map_row<Op>(x + r * x_stride, y + r * y_stride, cols, inner, k, buffer);
                       }
                     });
      return;
    }
  }
  std::vector<float> bias;
  const logit_transform<float> t = widen_transform(transform, cols, bias);
  const auto kernel = active_kernel<Op, float>();
  for_row_blocks(rows, cols, kFloatOut ? 0 : cols, ex,
                 [&](std::size_t, std::size_t first, std::size_t count, const executor& inner, float* scratch) {
                   float* work = float_work(y + first * y_stride, scratch);
                   const std::size_t work_stride = kFloatOut ? y_stride : cols;
                   widen_rows(x + first * x_stride, x_stride, work, work_stride, count, cols);
                   logit_transform<float> block = t;
                   block.row_offset = first;
                   kernel(work, work_stride, work, work_stride, count, cols, inner, block);
                   narrow_rows(work, work_stride, y + first * y_stride, y_stride, count, cols);
                 });
}

// logsumexp rows: out[r] (T or float).
template <class Op, class T, class Y>
void staged_reduce(const T* x, std::size_t x_stride, Y* out, std::size_t rows, std::size_t cols, const executor& ex,
                   const logit_transform<T>& transform) {
  static_assert(std::is_same_v<Op, op_logsumexp>, "the one row reduction");
  if (streams_long_rows(cols, transform)) {
    const chunk_kernels k = chunk_kernels::active();
    for_row_blocks(rows, cols, kStagedChunkFloats, ex,
                   [&](std::size_t, std::size_t first, std::size_t count, const executor& inner, float* buffer) {
                     for (std::size_t r = first; r < first + count; ++r) {
                       const float value = streamed_logsumexp_row(x + r * x_stride, cols, inner, k, buffer);
                       if constexpr (std::is_same_v<Y, float>) {
                         out[r] = value;
                       } else {
                         from_float(&value, out + r, 1);
                       }
                     }
                   });
    return;
  }
  std::vector<float> bias;
  const logit_transform<float> t = widen_transform(transform, cols, bias);
  const auto kernel = active_kernel<Op, float>();
  for_row_blocks(rows, cols, cols + 1, ex,
                 [&](std::size_t, std::size_t first, std::size_t count, const executor& inner, float* scratch) {
                   float* values = scratch + count * cols;
                   widen_rows(x + first * x_stride, x_stride, scratch, cols, count, cols);
                   logit_transform<float> block = t;
                   block.row_offset = first;
                   kernel(scratch, cols, values, count, cols, inner, block);
                   if constexpr (std::is_same_v<Y, float>) {
                     for (std::size_t i = 0; i < count; ++i) out[first + i] = values[i];
                   } else {
                     from_float(values, out + first, count);
                   }
                 });
}

// softmax_backward / log_softmax_backward rows: dx = f(a, b), all T.
template <class Op, class T>
void staged_backward(const T* a, std::size_t a_stride, const T* b, std::size_t b_stride, T* dx, std::size_t dx_stride,
                     std::size_t rows, std::size_t cols, const executor& ex, const logit_transform<T>& transform) {
  std::vector<float> bias;
  const logit_transform<float> t = widen_transform(transform, cols, bias);
  const auto kernel = active_kernel<Op, float>();
  for_row_blocks(rows, cols, 2 * cols, ex,
                 [&](std::size_t, std::size_t first, std::size_t count, const executor& inner, float* scratch) {
                   float* wa = scratch;
                   float* wb = scratch + count * cols;
                   widen_rows(a + first * a_stride, a_stride, wa, cols, count, cols);
                   widen_rows(b + first * b_stride, b_stride, wb, cols, count, cols);
                   logit_transform<float> block = t;
                   block.row_offset = first;
                   kernel(wa, cols, wb, cols, wa, cols, count, cols, inner, block);  // dx over a: allowed in place
                   narrow_rows(wa, cols, dx + first * dx_stride, dx_stride, count, cols);
                 });
}

// logsumexp_backward rows: dx = dlse * exp(x - lse), all T.
template <class T>
void staged_logsumexp_backward(const T* x, std::size_t x_stride, const T* lse, const T* dlse, T* dx,
                               std::size_t dx_stride, std::size_t rows, std::size_t cols, const executor& ex,
                               const logit_transform<T>& transform) {
  std::vector<float> bias;
  const logit_transform<float> t = widen_transform(transform, cols, bias);
  const auto kernel = active_kernel<op_logsumexp_backward, float>();
  for_row_blocks(rows, cols, cols + 2, ex,
                 [&](std::size_t, std::size_t first, std::size_t count, const executor& inner, float* scratch) {
                   float* wx = scratch;
                   float* wl = scratch + count * cols;
                   float* wd = wl + count;
                   widen_rows(x + first * x_stride, x_stride, wx, cols, count, cols);
                   widen(lse + first, wl, count);
                   widen(dlse + first, wd, count);
                   logit_transform<float> block = t;
                   block.row_offset = first;
                   kernel(wx, cols, wl, wd, wx, cols, count, cols, inner, block);
                   narrow_rows(wx, cols, dx + first * dx_stride, dx_stride, count, cols);
                 });
}

// Along a middle axis (outer x axis x inner, contiguous): blocks of whole
// outer slices, which are contiguous.
template <class Op, class T, class Y>
void staged_columns_map(const T* x, Y* y, std::size_t outer, std::size_t axis, std::size_t inner, const executor& ex) {
  constexpr bool kFloatOut = std::is_same_v<Y, float>;
  const std::size_t slice = axis * inner;
  const auto kernel = active_kernel<Op, float>();
  for_row_blocks(outer, slice, kFloatOut ? 0 : slice, ex,
                 [&](std::size_t, std::size_t first, std::size_t count, const executor& in, float* scratch) {
                   float* work = float_work(y + first * slice, scratch);
                   widen(x + first * slice, work, count * slice);
                   kernel(work, work, count, axis, inner, in);
                   narrow_rows(work, 0, y + first * slice, 0, 1, count * slice);
                 });
}

template <class T, class Y>
void staged_columns_reduce(const T* x, Y* out, std::size_t outer, std::size_t axis, std::size_t inner,
                           const executor& ex) {
  const std::size_t slice = axis * inner;
  const auto kernel = active_kernel<op_logsumexp_columns, float>();
  for_row_blocks(outer, slice, slice + inner, ex,
                 [&](std::size_t, std::size_t first, std::size_t count, const executor& in, float* scratch) {
                   float* values = scratch + count * slice;
                   widen(x + first * slice, scratch, count * slice);
                   kernel(scratch, values, count, axis, inner, in);
                   if constexpr (std::is_same_v<Y, float>) {
                     for (std::size_t i = 0; i < count * inner; ++i) out[first * inner + i] = values[i];
                   } else {
                     from_float(values, out + first * inner, count * inner);
                   }
                 });
}

template <class Op, class T>
void staged_columns_backward(const T* a, const T* b, T* dx, std::size_t outer, std::size_t axis, std::size_t inner,
                             const executor& ex) {
  const std::size_t slice = axis * inner;
  const auto kernel = active_kernel<Op, float>();
  for_row_blocks(outer, slice, 2 * slice, ex,
                 [&](std::size_t, std::size_t first, std::size_t count, const executor& in, float* scratch) {
                   float* wa = scratch;
                   float* wb = scratch + count * slice;
                   widen(a + first * slice, wa, count * slice);
                   widen(b + first * slice, wb, count * slice);
                   kernel(wa, wb, wa, count, axis, inner, in, 1.0);
                   from_float(wa, dx + first * slice, count * slice);
                 });
}

template <class T>
void staged_columns_logsumexp_backward(const T* x, const T* lse, const T* dlse, T* dx, std::size_t outer,
                                       std::size_t axis, std::size_t inner, const executor& ex) {
  const std::size_t slice = axis * inner;
  const auto kernel = active_kernel<op_logsumexp_backward_columns, float>();
  for_row_blocks(outer, slice, slice + 2 * inner, ex,
                 [&](std::size_t, std::size_t first, std::size_t count, const executor& in, float* scratch) {
                   float* wx = scratch;
                   float* wl = scratch + count * slice;
                   float* wd = wl + count * inner;
                   widen(x + first * slice, wx, count * slice);
                   widen(lse + first * inner, wl, count * inner);
                   widen(dlse + first * inner, wd, count * inner);
                   kernel(wx, wl, wd, wx, count, axis, inner, in, 1.0);
                   from_float(wx, dx + first * slice, count * slice);
                 });
}

// Cross-entropy on two-byte logits (and soft targets): `call` is prepared for
// float with everything but the logits, soft targets and gradient. Each block
// gets its slice of targets and per-row outputs; the gradient is computed in
// place over the widened logits. The blocks' loss sums are added in block
// order, so the result does not depend on the thread count.
template <class T>
double_double staged_cross_entropy(const cross_entropy_call<float>& call, const matrix_view<const T>& logits,
                                   const matrix_view<const T>* soft, const matrix_view<T>* grad) {
  const std::size_t row_floats = logits.cols;  // classes * inner
  const std::size_t blocks = (call.rows + rows_per_block(row_floats) - 1) / rows_per_block(row_floats);
  std::vector<double_double> block_sums(blocks, double_double{0.0, 0.0});
  const auto kernel = active_kernel<op_cross_entropy, float>();
  const auto offset = [](auto* values, std::size_t by) { return values == nullptr ? values : values + by; };
  for_row_blocks(call.rows, row_floats, soft != nullptr ? 2 * row_floats : row_floats, executor{call.threads},
                 [&](std::size_t block, std::size_t first, std::size_t count, const executor& inner, float* scratch) {
                   cross_entropy_call<float> part = call;
                   float* work = scratch;
                   widen_rows(logits.data + first * logits.stride, logits.stride, work, row_floats, count, row_floats);
                   part.logits = work;
                   part.logits_stride = row_floats;
                   part.rows = count;
                   const std::size_t position = first * call.inner;
                   if (call.targets != nullptr) {
                     const std::size_t bytes = call.targets_are_64bit ? sizeof(std::int64_t) : sizeof(std::int32_t);
                     part.targets = static_cast<const unsigned char*>(call.targets) + position * bytes;
                   }
                   if (soft != nullptr) {
                     float* targets = scratch + count * row_floats;
                     widen_rows(soft->data + first * soft->stride, soft->stride, targets, row_floats, count,
                                row_floats);
                     part.soft_targets = targets;
                     part.soft_stride = row_floats;
                   }
                   if (grad != nullptr) {
                     part.grad = work;
                     part.grad_stride = row_floats;
                   }
                   part.row_grad_scale = offset(call.row_grad_scale, position);
                   part.row_loss = offset(call.row_loss, position);
                   part.row_logsumexp = offset(call.row_logsumexp, position);
                   part.given_logsumexp = offset(call.given_logsumexp, position);
                   part.threads = inner.threads;
                   block_sums[block] = kernel(part);
                   if (grad != nullptr) {
                     narrow_rows(work, row_floats, grad->data + first * grad->stride, grad->stride, count, row_floats);
                   }
                 });
  compensated_total total;
  for (const double_double& sum : block_sums) total.add(sum);
  return total.pair();
}

}  // namespace detail
}  // namespace SMAX_ABI
}  // namespace smax
