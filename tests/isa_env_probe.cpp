// Prints the ISA a fresh process ends up with, or the error SMAX_ISA causes.
// CTest runs it with various SMAX_ISA values and matches the output.
#include <cstdio>

#include <smax/smax.hpp>

int main() {
  try {
    const float x[3] = {1, 2, 3};
    float y[3];
    smax::softmax(x, y, 3);
    std::printf("active isa: %s\n", smax::isa_name(smax::active_isa()));
    return 0;
  } catch (const smax::error& e) {
    std::printf("smax::error: %s\n", e.what());
    return 1;
  }
}
