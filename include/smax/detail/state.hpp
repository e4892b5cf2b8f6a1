// Process-wide state, shared by every translation unit whatever its compile
// flags. Data only, constant-initialised: no code here that one TU's flags could
// shape for another (see SMAX_ABI in config.hpp).
#pragma once

#include <atomic>

namespace smax::shared_state {

// -1 until the first call chooses an ISA; then the value of an smax::isa.
inline std::atomic<int> active_isa{-1};

// The handler for argument errors when exceptions are disabled; nullptr means
// the default (print the message and abort).
inline std::atomic<void (*)(const char*)> error_handler{nullptr};

}  // namespace smax::shared_state
