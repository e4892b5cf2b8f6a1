// What each translation unit of the two-TU test hands to main.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace two_tus {

// The bit patterns of one call's outputs, labelled with the call.
struct record {
  std::string label;
  std::vector<std::uint64_t> bits;
};

std::vector<record> sweep_plain();  // tu_plain.cpp: the includer's default flags
std::vector<record> sweep_avx2();   // tu_avx2.cpp: -mavx2 -mfma

}  // namespace two_tus
