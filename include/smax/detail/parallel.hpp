// Opt-in parallelism: run a task over contiguous pieces of [0, count) on up to
// `threads` threads. Uses OpenMP when the includer compiles with it, otherwise
// std::thread; never required (threads == 1 runs inline). The pieces never
// change what is computed, only who computes it, so results are bitwise the
// same for any thread count.
#pragma once

#include <cstddef>
#include <thread>
#include <vector>

#include "config.hpp"

namespace smax {

/// How a row's statistics and outputs are swept. For softmax this matters
/// only for rows longer than one 64 KiB chunk (shorter rows always take three
/// passes over cache-resident data); for log_softmax and logsumexp it picks
/// between a max pass and the one-read sum of two_pass_exponent at every
/// length. automatic picks by row length, from measurements (see the README's
/// speed section): softmax takes reload on AVX2/AVX-512 float rows and online
/// from 1 MiB rows elsewhere; the log forms take the one-read sum, log_softmax
/// from 700 floats and logsumexp from 2048. bfloat16 and half rows longer
/// than 131072 with a two-byte output and no scale, softcap or mask always
/// take the online scheme: they stream through a small float buffer, and
/// reload would need every chunk's terms kept at once. Every choice meets the
/// same accuracy bounds.
enum class softmax_algorithm {
  automatic,
  /// max; exp(x - max) stored and summed; rescale. One exp per element.
  three_pass_reload,
  /// (max, sum) per chunk without storing; then exp(x - max) / sum written
  /// directly: one read and one write fewer, one exp more per element.
  two_pass_online,
  /// Dukhan and Ablavatski (2020): each chunk's (max, sum) from one read,
  /// without a max pass, the sum kept as (sum, power of two) and rescaled when
  /// a larger term arrives; softmax then writes as two_pass_online does.
  /// Plain float rows on AVX2 and AVX-512; elsewhere, and for chunks it
  /// cannot take (a maximum above 336 or below -225, NaN, inf), the max pass.
  two_pass_exponent,
};

inline namespace SMAX_ABI {
namespace detail {

// The least work (elements) worth a thread of its own: below it, starting
// the thread costs more than it saves. Rows, blocks and chunks of a row are
// shared out by this one rule.
inline constexpr std::size_t kMinWorkPerThread = std::size_t{1} << 15;

struct executor {
  unsigned threads = 1;
  softmax_algorithm algorithm = softmax_algorithm::automatic;

  // task(begin, end) over up to `threads` contiguous pieces of [0, count).
  template <class Task>
  void parallel_for(std::size_t count, const Task& task) const {
    const std::size_t pieces = threads < count ? threads : count;
    if (pieces <= 1) {
      if (count > 0) task(0, count);
      return;
    }
#if defined(_OPENMP)
#pragma omp parallel for num_threads(static_cast <int>(pieces)) schedule(static, 1)
    for (long long p = 0; p < static_cast<long long>(pieces); ++p) {
      task(count * static_cast<std::size_t>(p) / pieces, count * (static_cast<std::size_t>(p) + 1) / pieces);
    }
#else
    // Pieces 1.. go to new threads; whatever could not be started (the system
    // refused a thread) runs here, after piece 0.
    std::vector<std::thread> workers;
    std::size_t started = 1;
#if SMAX_HAS_EXCEPTIONS
    try {
#endif
      workers.reserve(pieces - 1);
      for (; started < pieces; ++started) {
        workers.emplace_back(
            [&task, count, pieces, p = started] { task(count * p / pieces, count * (p + 1) / pieces); });
      }
#if SMAX_HAS_EXCEPTIONS
    } catch (...) {
    }
#endif
    task(0, count / pieces);
    for (std::size_t p = started; p < pieces; ++p) task(count * p / pieces, count * (p + 1) / pieces);
    for (std::thread& worker : workers) worker.join();
#endif
  }
};

}  // namespace detail
}  // namespace SMAX_ABI
}  // namespace smax
