// Built with the project's flags only (no -m option).
#include "sweep-inl.hpp"

std::vector<two_tus::record> two_tus::sweep_plain() { return run_sweep(); }
