// smax::error and how argument errors are reported.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "detail/config.hpp"

namespace smax {

/// Thrown for every invalid argument, before the call writes anything.
/// The message names the function, the argument, and where relevant the row and
/// the offending value, e.g. "smax::softmax: y.stride = 3 is smaller than cols = 4".
class error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Receives the message of an argument error when exceptions are disabled
/// (-fno-exceptions). If it returns, the failing smax call returns at once
/// without writing any output (a function returning a value returns NaN).
using error_handler = void (*)(const char* message);

namespace detail {

inline void default_error_handler(const char* message) {
  std::fprintf(stderr, "%s\n", message);
  std::abort();
}

inline error_handler& installed_error_handler() {
  static error_handler handler = &default_error_handler;
  return handler;
}

// Every validation failure goes through here. Returns false (after the handler
// returned) so that callers can bail out when exceptions are unavailable.
[[nodiscard]] inline bool report_error(const std::string& message) {
#if SMAX_HAS_EXCEPTIONS
  throw error(message);
#else
  installed_error_handler()(message.c_str());
  return false;
#endif
}

}  // namespace detail

/// Installs the handler used when exceptions are disabled; returns the previous
/// one. Passing nullptr restores the default, which prints the message and aborts.
/// With exceptions enabled errors are always thrown and the handler is unused.
inline error_handler set_error_handler(error_handler handler) noexcept {
  error_handler previous = detail::installed_error_handler();
  detail::installed_error_handler() = handler ? handler : &detail::default_error_handler;
  return previous;
}

}  // namespace smax
