// Backward passes of softmax, log_softmax and logsumexp, written once over the
// vector layer. No include guard: arch/<isa>.hpp includes this file inside its
// namespace and target region, after kernels-inl.hpp (whose sweep, load_n,
// store_n and accumulator it uses).
//
// Float data is computed in double; double data keeps its row reductions
// compensated (TwoSum, plus the exact product errors where the ISA fuses).

// Sum over a row of a (kProduct: of a * b). kUnmaskedOnly: only where
// b > -inf (b is then a log-probability row, a the upstream gradient).
template <class S, bool kProduct, bool kUnmaskedOnly = false>
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
    } else if constexpr (kUnmaskedOnly) {
      const vd bv = load_n<vd>(b + i, count, 0.0);
      sum.template add<k>(select(vd::splat(-constants::kInf) < bv, av, vd::splat(0.0)));
    } else {
      sum.template add<k>(av);
    }
  }
};

template <class S, bool kProduct, bool kUnmaskedOnly = false>
SMAX_INLINE double_double row_sum(const S* a, const S* b, std::size_t n) {
  row_sum_body<S, kProduct, kUnmaskedOnly> body{a, b, accumulator<S>::zero()};
  sweep<vd>(n, body);
  return body.sum.total();
}

// dx = scale * y * (dy - s), s = sum(dy * y). Masked entries have y = 0, so their
// gradient is 0 without further ado.
template <class S>
struct softmax_backward_body {
  const S* y;
  const S* dy;
  S* dx;
  vd s_hi;
  vd s_lo;
  vd scale;

  template <int k>
  SMAX_INLINE void step(std::size_t i, std::size_t count) {
    const vd yv = load_n<vd>(y + i, count, 0.0) * scale;
    const vd dyv = load_n<vd>(dy + i, count, 0.0);
    if constexpr (kExactStorage<S>) {
      store_n(dx + i, yv * ((dyv - s_hi) - s_lo), count);
    } else {
      store_n(dx + i, yv * (dyv - s_hi), count);
    }
  }
};

// dx = scale * (dy - exp(y) * s), s = sum(dy). kMasked: entries with y = -inf
// are masked (the forward wrote -inf there), get 0 and stay out of s.
template <class S, bool kMasked>
struct log_softmax_backward_body {
  const S* y;
  const S* dy;
  S* dx;
  vd neg_s_hi;
  vd s_lo;
  vd scale;

  template <int k>
  SMAX_INLINE void step(std::size_t i, std::size_t count) {
    const vd yv = load_n<vd>(y + i, count, 0.0);
    const vd dyv = load_n<vd>(dy + i, count, 0.0);
    vd g;
    if constexpr (kExactStorage<S>) {
      const vd_pair e = exp_dd_any(yv, vd::splat(0.0));
      const vd t = mul_add(e.hi, neg_s_hi, dyv);
      g = t - (e.hi * s_lo - e.lo * neg_s_hi);
    } else {
      g = mul_add(exp_p9(yv), neg_s_hi, dyv);
    }
    g = g * scale;
    if constexpr (kMasked) g = select(vd::splat(-constants::kInf) < yv, g, vd::splat(0.0));
    store_n(dx + i, g, count);
  }
};

// dx = scale * dlse * exp(z - lse), z the transformed logits (masked: 0).
template <class S, class Source>
struct logsumexp_backward_body {
  Source src;
  S* dx;
  vd neg_lse;
  vd dlse;  // scale * dlse

  template <int k>
  SMAX_INLINE void step(std::size_t i, std::size_t count) {
    if constexpr (kExactStorage<S>) {
      const vd_pair d = src.difference(i, count, neg_lse);
      const vd_pair e = exp_dd_any(d.hi, d.lo);
      store_n(dx + i, scaled_exp(e, dlse), count);
    } else {
      store_n(dx + i, exp_p9(src.template load<vd>(i, count, 0.0) + neg_lse) * dlse, count);
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
  double scale;

  void operator()(std::size_t begin, std::size_t end) const {
    for (std::size_t r = begin; r < end; ++r) {
      const S* yr = y + r * y_stride;
      const S* dyr = dy + r * dy_stride;
      const double_double s = row_sum<S, true>(yr, dyr, cols);
      softmax_backward_body<S> body{yr, dyr, dx + r * dx_stride, vd::splat(s.hi), vd::splat(s.lo), vd::splat(scale)};
      sweep<vd>(cols, body);
    }
  }
};

template <class S, bool kMasked>
struct log_softmax_backward_task {
  const S* y;
  std::size_t y_stride;
  const S* dy;
  std::size_t dy_stride;
  S* dx;
  std::size_t dx_stride;
  std::size_t cols;
  double scale;

  void operator()(std::size_t begin, std::size_t end) const {
    for (std::size_t r = begin; r < end; ++r) {
      const S* yr = y + r * y_stride;
      const S* dyr = dy + r * dy_stride;
      const double_double s = row_sum<S, false, kMasked>(dyr, yr, cols);
      log_softmax_backward_body<S, kMasked> body{
          yr, dyr, dx + r * dx_stride, vd::splat(-s.hi), vd::splat(s.lo), vd::splat(scale)};
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
  const logit_transform<S>* transform;

  template <class Source>
  SMAX_INLINE void row(const Source& src, std::size_t r) const {
    S* dxr = dx + r * dx_stride;
    const double row_lse = static_cast<double>(lse[r]);
    if (row_lse == -constants::kInf && transform->masking()) return fill_row(dxr, cols, 0.0);  // fully masked
    logsumexp_backward_body<S, Source> body{src, dxr, vd::splat(-row_lse),
                                            vd::splat(transform->scale * static_cast<double>(dlse[r]))};
    sweep<vd>(cols, body);
  }
  void operator()(std::size_t begin, std::size_t end) const {
    const bool plain = !transform->active();
    for (std::size_t r = begin; r < end; ++r) {
      if (plain) {
        row(plain_logits<S>{x + r * x_stride}, r);
      } else {
        row(transformed_row(x + r * x_stride, cols, *transform, r), r);
      }
    }
  }
};

// The backward passes share out rows only (a row's reduction stays on one
// thread, so the bits never depend on the thread count).
template <class S>
void softmax_backward_rows(const S* y, std::size_t y_stride, const S* dy, std::size_t dy_stride, S* dx,
                           std::size_t dx_stride, std::size_t rows, std::size_t cols, const executor& ex,
                           const logit_transform<S>& transform) {
  executor inner;
  row_split(ex, rows, cols, inner)
      .parallel_for(rows, softmax_backward_task<S>{y, y_stride, dy, dy_stride, dx, dx_stride, cols, transform.scale});
}

template <class S>
void log_softmax_backward_rows(const S* y, std::size_t y_stride, const S* dy, std::size_t dy_stride, S* dx,
                               std::size_t dx_stride, std::size_t rows, std::size_t cols, const executor& ex,
                               const logit_transform<S>& transform) {
  executor inner;
  const executor outer = row_split(ex, rows, cols, inner);
  if (transform.masking()) {
    outer.parallel_for(
        rows, log_softmax_backward_task<S, true>{y, y_stride, dy, dy_stride, dx, dx_stride, cols, transform.scale});
  } else {
    outer.parallel_for(
        rows, log_softmax_backward_task<S, false>{y, y_stride, dy, dy_stride, dx, dx_stride, cols, transform.scale});
  }
}

template <class S>
void logsumexp_backward_rows(const S* x, std::size_t x_stride, const S* lse, const S* dlse, S* dx,
                             std::size_t dx_stride, std::size_t rows, std::size_t cols, const executor& ex,
                             const logit_transform<S>& transform) {
  executor inner;
  row_split(ex, rows, cols, inner)
      .parallel_for(rows, logsumexp_backward_task<S>{x, x_stride, lse, dlse, dx, dx_stride, cols, &transform});
}
