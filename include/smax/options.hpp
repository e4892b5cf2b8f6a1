// Options of softmax, log_softmax and logsumexp.
#pragma once

#include "detail/parallel.hpp"

namespace smax {

/// Options of softmax, log_softmax and logsumexp (every form takes them last).
struct softmax_options {
  /// Threads the call may use (1: only the calling one). Rows are shared out,
  /// and a row longer than 64 KiB is shared out in chunks. Results are bitwise
  /// the same for any thread count. Uses OpenMP when the caller compiles with
  /// it, std::thread otherwise; small calls stay on the calling thread.
  unsigned threads = 1;
  /// How softmax sweeps rows longer than one chunk (see softmax_algorithm).
  softmax_algorithm algorithm = softmax_algorithm::automatic;
};

}  // namespace smax
