// Built with -mavx2 -mfma, as a user's hand-vectorised TU would be.
#include "sweep-inl.hpp"

#if !defined(__AVX2__) || !defined(__FMA__)
#error "tu_avx2.cpp must be compiled with -mavx2 -mfma"
#endif

std::vector<two_tus::record> two_tus::sweep_avx2() { return run_sweep(); }
