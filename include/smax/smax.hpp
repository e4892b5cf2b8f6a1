// smax: softmax, log-softmax and logsumexp kernels for the CPU. Header-only:
// include this file; no library to link and no -march flag needed. The fastest
// SIMD path the running CPU supports is chosen at run time (see isa.hpp).
#pragma once

#include "cross_entropy.hpp"
#include "error.hpp"
#include "isa.hpp"
#include "log_softmax.hpp"
#include "logsumexp.hpp"
#include "matrix_view.hpp"
#include "options.hpp"
#include "softmax.hpp"
#include "tensor_axis.hpp"

#define SMAX_VERSION_MAJOR 0
#define SMAX_VERSION_MINOR 1
#define SMAX_VERSION_PATCH 0
