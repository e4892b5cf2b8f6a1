// smax::error and how argument errors are reported.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "detail/config.hpp"
#include "detail/state.hpp"

namespace smax {

/// Thrown for every invalid argument, before the call writes anything.
/// The message names the function, the argument, and where relevant the row and
/// the offending value, e.g. "smax::softmax: y.stride = 3 is smaller than y.cols = 4".
class error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Receives the message of an argument error when exceptions are disabled
/// (-fno-exceptions). If it returns, the failing smax call returns at once
/// without writing any output (a function returning a value returns NaN).
using error_handler = void (*)(const char* message);

inline namespace SMAX_ABI {

namespace detail {

// Every validation failure goes through here. Returns false (after the handler
// returned) so that callers can bail out when exceptions are unavailable.
[[nodiscard]] inline bool report_error(const std::string& message) {
#if SMAX_HAS_EXCEPTIONS
  throw error(message);
#else
  if (error_handler handler = shared_state::error_handler.load()) {
    handler(message.c_str());
    return false;
  }
  std::fprintf(stderr, "%s\n", message.c_str());
  std::abort();
#endif
}

}  // namespace detail

/// Installs the handler used when exceptions are disabled; returns the previous
/// one (nullptr: the default, which prints the message and aborts). With
/// exceptions enabled errors are always thrown and the handler is unused.
inline error_handler set_error_handler(error_handler handler) noexcept {
  return shared_state::error_handler.exchange(handler);
}

}  // namespace SMAX_ABI
}  // namespace smax
