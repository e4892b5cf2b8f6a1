// Backward passes of softmax, log_softmax and logsumexp, written once over the
// vector layer. No include guard: arch/<isa>.hpp includes this file inside its
// namespace and target region, after kernels-inl.hpp (whose sweep, load_n,
// store_n and accumulator it uses).
//
// Float data is computed in double; double data keeps its row reductions
// compensated (TwoSum, plus the exact product errors where the ISA fuses).

// Sum over a row of a (kProduct: of a * b).
template <class S, bool kProduct>
struct row_sum_body {
  const S* a;
  const S* b;
  accumulator<S> sum;

  template <int k>
  SMAX_INLINE void step(std::size_t i, std::size_t count) {
    const vd av = load_n<vd>(a + i, count, 0.0);
    if constexpr (kProduct) {
      const vd bv = load_n<vd>(b + i, count, 0.0);
      const vd p = av * bv;
      // With FMA, a*b - p is the product's exact rounding error; without, it is 0.
      sum.template add<k>(p, mul_add(av, bv, vd::splat(0.0) - p));
    } else {
      sum.template add<k>(av);
    }
  }
};

template <class S, bool kProduct>
SMAX_INLINE double_double row_sum(const S* a, const S* b, std::size_t n) {
  row_sum_body<S, kProduct> body{a, b, accumulator<S>::zero()};
  sweep<vd>(n, body);
  return body.sum.total();
}

// dx = y * (dy - s), s = sum(dy * y).
template <class S>
struct softmax_backward_body {
  const S* y;
  const S* dy;
  S* dx;
  vd s_hi;
  vd s_lo;

  template <int k>
  SMAX_INLINE void step(std::size_t i, std::size_t count) {
    const vd yv = load_n<vd>(y + i, count, 0.0);
    const vd dyv = load_n<vd>(dy + i, count, 0.0);
    if constexpr (kExactStorage<S>) {
      store_n(dx + i, yv * ((dyv - s_hi) - s_lo), count);
    } else {
      store_n(dx + i, yv * (dyv - s_hi), count);
    }
  }
};

// dx = dy - exp(y) * s, s = sum(dy).
template <class S>
struct log_softmax_backward_body {
  const S* y;
  const S* dy;
  S* dx;
  vd neg_s_hi;
  vd s_lo;

  template <int k>
  SMAX_INLINE void step(std::size_t i, std::size_t count) {
    const vd yv = load_n<vd>(y + i, count, 0.0);
    const vd dyv = load_n<vd>(dy + i, count, 0.0);
    if constexpr (kExactStorage<S>) {
      const vd_pair e = exp_dd(yv, vd::splat(0.0));
      const vd t = mul_add(e.hi, neg_s_hi, dyv);
      store_n(dx + i, t - (e.hi * s_lo - e.lo * neg_s_hi), count);
    } else {
      store_n(dx + i, mul_add(exp_p9(yv), neg_s_hi, dyv), count);
    }
  }
};

// dx = dlse * exp(x - lse).
template <class S>
struct logsumexp_backward_body {
  const S* x;
  S* dx;
  vd neg_lse;
  vd dlse;

  template <int k>
  SMAX_INLINE void step(std::size_t i, std::size_t count) {
    const vd xv = load_n<vd>(x + i, count, 0.0);
    if constexpr (kExactStorage<S>) {
      const vd_pair d = exact_difference(xv, neg_lse);
      const vd_pair e = exp_dd(d.hi, d.lo);
      store_n(dx + i, mul_add(e.hi, dlse, e.lo * dlse), count);
    } else {
      store_n(dx + i, exp_p9(xv + neg_lse) * dlse, count);
    }
  }
};

template <class S>
struct softmax_backward_task {
  const S* y;
  std::size_t y_stride;
  const S* dy;
  std::size_t dy_stride;
  S* dx;
  std::size_t dx_stride;
  std::size_t cols;

  void operator()(std::size_t begin, std::size_t end) const {
    for (std::size_t r = begin; r < end; ++r) {
      const S* yr = y + r * y_stride;
      const S* dyr = dy + r * dy_stride;
      const double_double s = row_sum<S, true>(yr, dyr, cols);
      softmax_backward_body<S> body{yr, dyr, dx + r * dx_stride, vd::splat(s.hi), vd::splat(s.lo)};
      sweep<vd>(cols, body);
    }
  }
};

template <class S>
struct log_softmax_backward_task {
  const S* y;
  std::size_t y_stride;
  const S* dy;
  std::size_t dy_stride;
  S* dx;
  std::size_t dx_stride;
  std::size_t cols;

  void operator()(std::size_t begin, std::size_t end) const {
    for (std::size_t r = begin; r < end; ++r) {
      const S* yr = y + r * y_stride;
      const S* dyr = dy + r * dy_stride;
      const double_double s = row_sum<S, false>(dyr, nullptr, cols);
      log_softmax_backward_body<S> body{yr, dyr, dx + r * dx_stride, vd::splat(-s.hi), vd::splat(s.lo)};
      sweep<vd>(cols, body);
    }
  }
};

template <class S>
struct logsumexp_backward_task {
  const S* x;
  std::size_t x_stride;
  const S* lse;
  const S* dlse;
  S* dx;
  std::size_t dx_stride;
  std::size_t cols;

  void operator()(std::size_t begin, std::size_t end) const {
    for (std::size_t r = begin; r < end; ++r) {
      logsumexp_backward_body<S> body{x + r * x_stride, dx + r * dx_stride, vd::splat(-static_cast<double>(lse[r])),
                                      vd::splat(static_cast<double>(dlse[r]))};
      sweep<vd>(cols, body);
    }
  }
};

// The backward passes share out rows only (a row's reduction stays on one
// thread, so the bits never depend on the thread count).
template <class S>
void softmax_backward_rows(const S* y, std::size_t y_stride, const S* dy, std::size_t dy_stride, S* dx,
                           std::size_t dx_stride, std::size_t rows, std::size_t cols, const executor& ex) {
  executor inner;
  row_split(ex, rows, cols, inner)
      .parallel_for(rows, softmax_backward_task<S>{y, y_stride, dy, dy_stride, dx, dx_stride, cols});
}

template <class S>
void log_softmax_backward_rows(const S* y, std::size_t y_stride, const S* dy, std::size_t dy_stride, S* dx,
                               std::size_t dx_stride, std::size_t rows, std::size_t cols, const executor& ex) {
  executor inner;
  row_split(ex, rows, cols, inner)
      .parallel_for(rows, log_softmax_backward_task<S>{y, y_stride, dy, dy_stride, dx, dx_stride, cols});
}

template <class S>
void logsumexp_backward_rows(const S* x, std::size_t x_stride, const S* lse, const S* dlse, S* dx,
                             std::size_t dx_stride, std::size_t rows, std::size_t cols, const executor& ex) {
  executor inner;
  row_split(ex, rows, cols, inner)
      .parallel_for(rows, logsumexp_backward_task<S>{x, x_stride, lse, dlse, dx, dx_stride, cols});
}
