// Options of softmax, log_softmax, logsumexp and their backward passes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "detail/parallel.hpp"
#include "matrix_view.hpp"

namespace smax {

/// Options of softmax, log_softmax, logsumexp and their backward passes (every
/// form takes them last). T is the data type.
///
/// Fused logit transform: the operations act on
///   z = softcap(scale * x) + bias,  softcap(u) = cap * tanh(u / cap),
/// with entries masked (z = -inf) where keep is 0 and, with causal, where the
/// column exceeds the row's causal limit. All in one sweep, no mask is ever
/// materialised. When any mask is in use (bias, keep or causal), a row with
/// nothing left is "fully masked": softmax gives zeros, log_softmax and
/// logsumexp -inf, and the backward passes a zero gradient (instead of the NaN
/// of an all -inf row without masks).
///
/// Broadcasting: bias and keep have x's columns and 1 row (every row uses it),
/// x's rows, or a number of rows dividing x's rows (row r uses row r mod it:
/// a q x k attention mask over (batch * heads * q) x k scores).
template <class T>
struct softmax_options {
  /// Threads the call may use (0 or 1: only the calling one). Rows are shared out,
  /// and a row longer than 64 KiB is shared out in chunks. Results are bitwise
  /// the same for any thread count. Uses OpenMP when the caller compiles with
  /// it, std::thread otherwise; small calls stay on the calling thread.
  unsigned threads = 1;
  /// How softmax sweeps rows longer than one chunk (see softmax_algorithm).
  softmax_algorithm algorithm = softmax_algorithm::automatic;
  /// Multiplies x first; finite and > 0 (e.g. 1/sqrt(d) for attention scores).
  double scale = 1.0;
  /// > 0: cap * tanh(u / cap) applied to scale * x (Gemma-style soft cap);
  /// 0: off. Float and two-byte data only (double would need a correctly
  /// rounded tanh to keep its bound).
  double softcap = 0.0;
  /// Additive bias or mask (may hold -inf), broadcast as described above.
  matrix_view<const T> bias{};
  /// Keep-mask, broadcast as described above: 0 masks the entry.
  matrix_view<const std::uint8_t> keep{};
  /// Causal mask: row i keeps columns j <= i + causal_offset, where i is the
  /// row index modulo causal_period (0: no period, i is the row index).
  bool causal = false;
  std::ptrdiff_t causal_offset = 0;
  std::size_t causal_period = 0;
};

}  // namespace smax
