// Softmax, log_softmax, logsumexp and their backward passes along the middle
// axis of an (outer, axis, inner) tensor, vectorized across `inner`: each lane
// is one column x[o][0..axis)[i], read with stride `inner`. No transposes, no
// scalar exp. No include guard: arch/<isa>.hpp includes this file inside its
// namespace and target region, after kernels-inl.hpp and backward-inl.hpp.
//
// Tiles of up to kColumnVectors vectors of lanes are processed together, axis
// rows at a time; per lane the sums are sequential over the axis (plain double
// for float data, TwoSum-compensated for double data), so a column's result
// depends only on the column. Per-lane scalar work (the log, special columns)
// is done on spilled lanes.

inline constexpr std::size_t kColumnVectors = 4;
inline constexpr std::size_t kTileLanes = kColumnVectors * vd::lanes;

// Where one tile sits: lanes [i0, i0 + count) of every axis row of slab o.
template <class S>
struct column_tile {
  const S* x;  // &x[o][0][i0]
  std::size_t axis;
  std::size_t inner;  // the stride between axis rows
  std::size_t count;  // lanes in the tile, <= kTileLanes

  SMAX_INLINE std::size_t lanes_in(std::size_t v) const {
    const std::size_t first = v * vd::lanes;
    return count <= first ? 0 : (count - first < vd::lanes ? count - first : vd::lanes);
  }
  SMAX_INLINE vd load(const S* base, std::size_t a, std::size_t v, double fill) const {
    return load_n<vd>(base + a * inner + v * vd::lanes, lanes_in(v), fill);
  }
};

// A tile reads `axis` rows `inner` apart, a stride the hardware prefetchers do
// not follow (each row on another page), so its first pass would wait on every
// row. While the exps of one tile run, the next tile's part of each row (the
// next kTileLanes columns, or the next slab's) is requested. Only a hint: an
// address past the tensor is never read.
template <class S>
SMAX_INLINE void prefetch_next_tile_row(const column_tile<S>& t, std::size_t a) {
#if defined(__GNUC__) || defined(__clang__)
  constexpr std::size_t kLine = 64, kBytes = kTileLanes * sizeof(S);
  const std::uintptr_t next = reinterpret_cast<std::uintptr_t>(t.x) + (a * t.inner + kTileLanes) * sizeof(S);
  for (std::size_t offset = 0; offset < kBytes; offset += kLine) {
    __builtin_prefetch(reinterpret_cast<const void*>(next + offset));
  }
#else
  (void)t;
  (void)a;
#endif
}

// Float data: the max pass and the softmax's rescale run on float vectors, with
// twice the lanes of double ones, as the row kernels do (the rescale needs a
// fused multiply-add; see scale_float_body). The exps stay in double.
template <class S>
inline constexpr bool kFloatColumnPasses = kTileLanes % vf::lanes == 0 && std::is_same_v<S, float>;
inline constexpr std::size_t kTileFloatVectors = kTileLanes / vf::lanes;

SMAX_INLINE std::size_t float_lanes_in(std::size_t count, std::size_t v) {
  const std::size_t first = v * vf::lanes;
  return count <= first ? 0 : (count - first < vf::lanes ? count - first : vf::lanes);
}

// The tile's column maxima (exact in float), handed over as double vectors.
// kFull: a whole tile, whose fixed vector count keeps the maxima in registers.
template <bool kFull>
SMAX_INLINE void column_max_in_float(const column_tile<float>& t, vd (&m)[kColumnVectors]) {
  constexpr float kLowest = -std::numeric_limits<float>::infinity();
  const std::size_t vectors = kFull ? kTileFloatVectors : (t.count + vf::lanes - 1) / vf::lanes;
  vf mf[kTileFloatVectors];
  for (std::size_t v = 0; v < vectors; ++v) mf[v] = vf::splat(kLowest);
  for (std::size_t a = 0; a < t.axis; ++a) {
    for (std::size_t v = 0; v < vectors; ++v) {
      const float* p = t.x + a * t.inner + v * vf::lanes;
      mf[v] = max(mf[v], kFull ? vf::load(p) : load_n<vf>(p, float_lanes_in(t.count, v), kLowest));
    }
  }
  float spilled[kTileLanes] = {};
  for (std::size_t v = 0; v < vectors; ++v) mf[v].store(spilled + v * vf::lanes);
  // Every entry, lanes past the tile -inf: GCC 12 cannot see otherwise that
  // the entries read later were written.
  for (std::size_t v = 0; v < kColumnVectors; ++v) {
    m[v] = load_n<vd>(spilled + v * vd::lanes, t.lanes_in(v), -constants::kInf);
  }
}

// y *= 1 / sum per column in float, the factor as a float pair times 2^24 (see
// scale_float_body). False, with nothing written, where a factor does not fit.
template <bool kFull>
SMAX_INLINE bool column_rescale_in_float(const column_tile<float>& t, float* y, const double* inv,
                                         const bool* special) {
  float inv_hi[kTileLanes] = {}, inv_lo[kTileLanes] = {};
  for (std::size_t lane = 0; lane < t.count; ++lane) {
    if (special[lane]) continue;  // overwritten with NaN afterwards
    if (!float_scale_pair(inv[lane], inv_hi[lane], inv_lo[lane])) return false;
  }
  const std::size_t vectors = kFull ? kTileFloatVectors : (t.count + vf::lanes - 1) / vf::lanes;
  vf hi[kTileFloatVectors], lo[kTileFloatVectors];
  for (std::size_t v = 0; v < vectors; ++v) {
    hi[v] = vf::load(inv_hi + v * vf::lanes);
    lo[v] = vf::load(inv_lo + v * vf::lanes);
  }
  for (std::size_t a = 0; a < t.axis; ++a) {
    for (std::size_t v = 0; v < vectors; ++v) {
      float* yp = y + a * t.inner + v * vf::lanes;
      if constexpr (kFull) {
        const vf e = vf::load(yp);
        (mul_add(e, hi[v], e * lo[v]) * vf::splat(0x1p-24f)).store(yp);
      } else {
        const std::size_t lanes = float_lanes_in(t.count, v);
        const vf e = load_n<vf>(yp, lanes, 0.0f);
        store_n(yp, mul_add(e, hi[v], e * lo[v]) * vf::splat(0x1p-24f), lanes);
      }
    }
  }
  return true;
}

// Per-lane (max, sum of exp(x - max)) of a tile: the max in m, the sum as hi + lo.
// kFull: a whole tile; its fixed vector count, full loads and local copies let
// the compiler keep maxima and sums in registers across the axis loop.
template <class S, bool kStore, bool kFull>
SMAX_INLINE void column_stats(const column_tile<S>& t, S* y, vd (&m_out)[kColumnVectors], vd (&hi_out)[kColumnVectors],
                              vd (&lo_out)[kColumnVectors]) {
  const std::size_t vectors = kFull ? kColumnVectors : (t.count + vd::lanes - 1) / vd::lanes;
  const auto load = [&t](std::size_t a, std::size_t v) {
    return kFull ? vd::load(t.x + a * t.inner + v * vd::lanes) : t.load(t.x, a, v, -constants::kInf);
  };
  vd m[kColumnVectors], hi[kColumnVectors], lo[kColumnVectors];
  if constexpr (kFloatColumnPasses<S>) {
    column_max_in_float<kFull>(t, m);
  } else {
    for (std::size_t v = 0; v < vectors; ++v) m[v] = vd::splat(-constants::kInf);
    for (std::size_t a = 0; a < t.axis; ++a) {
      for (std::size_t v = 0; v < vectors; ++v) m[v] = max(m[v], load(a, v));
    }
  }
  for (std::size_t v = 0; v < vectors; ++v) hi[v] = lo[v] = vd::splat(0.0);
  for (std::size_t a = 0; a < t.axis; ++a) {
    prefetch_next_tile_row(t, a);
    for (std::size_t v = 0; v < vectors; ++v) {
      const vd xv = load(a, v);
      S* yp = y + a * t.inner + v * vd::lanes;
      if constexpr (kExactStorage<S>) {
        const vd_pair d = exact_difference(xv, vd::splat(0.0) - m[v]);
        const vd_pair e = exp_dd(d.hi, d.lo);
        if constexpr (kStore) kFull ? e.hi.store(yp) : store_n(yp, e.hi, t.lanes_in(v));
        compensated_add(hi[v], lo[v], e.hi);
        lo[v] = lo[v] + e.lo;
      } else {
        const vd e = exp_nonpositive_p6(xv - m[v]);
        if constexpr (kStore) kFull ? e.store(yp) : store_n(yp, e, t.lanes_in(v));
        hi[v] = hi[v] + e;
      }
    }
  }
  for (std::size_t v = 0; v < vectors; ++v) {
    m_out[v] = m[v];
    hi_out[v] = hi[v];
    lo_out[v] = lo[v];
  }
}

// exp(x - m) - 1 for the maximum's term, exp(x - m) for the others, summed down
// one column (the log1p form of a column sum below 1 + 2^-20; see kernels-inl).
template <class S>
SMAX_INLINE double column_sum_minus_one(const S* x, std::size_t axis, std::size_t inner, double m) {
  double hi = 0.0, lo = 0.0;
  for (std::size_t a = 0; a < axis; ++a) {
    const double xa = static_cast<double>(x[a * inner]);
    if (xa == -constants::kInf) continue;
    double_double e = exp_of_difference<S>(xa, m);
    if (xa - m >= -0.5) e.hi -= 1.0;
    const double_double s = two_sum(hi, e.hi);
    hi = s.hi;
    lo += s.lo + e.lo;
  }
  return hi + lo;
}

// log of a column's sum (hi + lo >= 1), as the row kernels compute it.
template <class S>
SMAX_INLINE double_double column_log(const S* x, std::size_t axis, std::size_t inner, double m, double hi, double lo) {
  const double_double sum = fast_two_sum(hi, lo);
  if ((sum.hi - 1.0) + sum.lo < 0x1p-20) {
    const double t = column_sum_minus_one(x, axis, inner, m);
    const double_double one_plus_t = two_sum(1.0, t);
    return log_of_sum(one_plus_t.hi, one_plus_t.lo);
  }
  if constexpr (kExactStorage<S>) {
    return log_of_sum(sum.hi, sum.lo);
  } else {
    return {log_plain(sum.hi), 0.0};
  }
}

// A column without a finite maximum, as the row kernels define it.
template <class S>
SMAX_INLINE bool column_has_nan(const S* x, std::size_t axis, std::size_t inner) {
  for (std::size_t a = 0; a < axis; ++a) {
    if (x[a * inner] != x[a * inner]) return true;
  }
  return false;
}

enum class column_op { softmax, log_softmax, logsumexp };

// Columns without a finite maximum are NaN throughout.
template <class S>
SMAX_INLINE void fill_special_columns(const column_tile<S>& t, S* y, const bool* special) {
  for (std::size_t lane = 0; lane < t.count; ++lane) {
    if (!special[lane]) continue;
    for (std::size_t a = 0; a < t.axis; ++a) y[a * t.inner + lane] = static_cast<S>(constants::kNaN);
  }
}

template <class S, column_op kOp>
SMAX_INLINE void column_tile_op(const column_tile<S>& t, S* y, std::size_t y_lane_stride) {
  vd m[kColumnVectors], hi[kColumnVectors], lo[kColumnVectors];
  constexpr bool kStore = kOp == column_op::softmax;
  if (t.count == kTileLanes) {
    column_stats<S, kStore, true>(t, y, m, hi, lo);
  } else {
    column_stats<S, kStore, false>(t, y, m, hi, lo);
  }
  const std::size_t vectors = (t.count + vd::lanes - 1) / vd::lanes;
  // Spill the lanes for the per-column scalar work.
  // Zeroed only because GCC 12 at -O3 cannot see that every lane read was written.
  double mm[kTileLanes], sh[kTileLanes], sl[kTileLanes], out_hi[kTileLanes] = {}, out_lo[kTileLanes] = {};
  bool special[kTileLanes];
  for (std::size_t v = 0; v < vectors; ++v) {
    m[v].store(mm + v * vd::lanes);
    if constexpr (kExactStorage<S>) {
      const vd s = hi[v] + lo[v];
      const vd e = lo[v] - (s - hi[v]);
      s.store(sh + v * vd::lanes);
      e.store(sl + v * vd::lanes);
    } else {
      hi[v].store(sh + v * vd::lanes);
      lo[v].store(sl + v * vd::lanes);
    }
  }
  for (std::size_t lane = 0; lane < t.count; ++lane) {
    special[lane] = !std::isfinite(mm[lane]);
    if (kOp == column_op::softmax) {
      const double_double inv = reciprocal_of_sum(sh[lane], sl[lane]);
      out_hi[lane] = inv.hi;
      out_lo[lane] = inv.lo;
    } else if (!special[lane]) {
      const double_double l = column_log<S>(t.x + lane, t.axis, t.inner, mm[lane], sh[lane], sl[lane]);
      out_hi[lane] = l.hi;
      out_lo[lane] = l.lo;
    }
  }
  if constexpr (kOp == column_op::logsumexp) {
    for (std::size_t lane = 0; lane < t.count; ++lane) {
      double value;
      if (special[lane]) {
        value = column_has_nan(t.x + lane, t.axis, t.inner) ? constants::kNaN : mm[lane];
      } else {
        const double_double total = two_sum(mm[lane], out_hi[lane]);
        value = total.hi + (total.lo + out_lo[lane]);
      }
      y[lane * y_lane_stride] = static_cast<S>(value);
    }
    return;
  } else {
    if constexpr (kOp == column_op::softmax && kFloatColumnPasses<S> && kFusedMulAdd) {
      const bool rescaled = t.count == kTileLanes ? column_rescale_in_float<true>(t, y, out_hi, special)
                                                  : column_rescale_in_float<false>(t, y, out_hi, special);
      if (rescaled) return fill_special_columns(t, y, special);
    }
    vd a_hi[kColumnVectors], a_lo[kColumnVectors];
    for (std::size_t v = 0; v < vectors; ++v) {
      a_hi[v] = load_n<vd>(out_hi + v * vd::lanes, t.lanes_in(v), 0.0);
      a_lo[v] = load_n<vd>(out_lo + v * vd::lanes, t.lanes_in(v), 0.0);
    }
    for (std::size_t a = 0; a < t.axis; ++a) {
      for (std::size_t v = 0; v < vectors; ++v) {
        S* yp = y + a * t.inner + v * vd::lanes;
        if constexpr (kOp == column_op::softmax) {
          const vd e = load_n<vd>(yp, t.lanes_in(v), 0.0);
          if constexpr (kExactStorage<S>) {
            store_n(yp, mul_add(e, a_hi[v], e * a_lo[v]), t.lanes_in(v));
          } else {
            store_n(yp, e * a_hi[v], t.lanes_in(v));
          }
        } else {
          const vd xv = t.load(t.x, a, v, 0.0);
          if constexpr (kExactStorage<S>) {
            const vd_pair d = exact_difference(xv, vd::splat(0.0) - m[v]);
            store_n(yp, (d.hi - a_hi[v]) + (d.lo - a_lo[v]), t.lanes_in(v));
          } else {
            store_n(yp, (xv - m[v]) - a_hi[v], t.lanes_in(v));
          }
        }
      }
    }
    fill_special_columns(t, y, special);
  }
}

// The tiles of one slab o, and the slabs, shared out by the executor: tiles are
// independent, so the bits never depend on the thread count.
template <class S, column_op kOp>
struct columns_task {
  const S* x;
  S* y;
  std::size_t axis;
  std::size_t inner;
  std::size_t tiles_per_slab;

  void operator()(std::size_t begin, std::size_t end) const {
    for (std::size_t job = begin; job < end; ++job) {
      const std::size_t o = job / tiles_per_slab, i0 = (job % tiles_per_slab) * kTileLanes;
      const std::size_t count = inner - i0 < kTileLanes ? inner - i0 : kTileLanes;
      const column_tile<S> tile{x + o * axis * inner + i0, axis, inner, count};
      if constexpr (kOp == column_op::logsumexp) {
        column_tile_op<S, kOp>(tile, y + o * inner + i0, 1);
      } else {
        column_tile_op<S, kOp>(tile, y + o * axis * inner + i0, 0);
      }
    }
  }
};

template <class S, column_op kOp>
SMAX_INLINE void run_columns(const S* x, S* y, std::size_t outer, std::size_t axis, std::size_t inner,
                             const executor& ex) {
  const std::size_t tiles = (inner + kTileLanes - 1) / kTileLanes;
  executor inner_ex;
  const executor outer_ex = row_split(ex, outer * tiles, axis * kTileLanes, inner_ex);
  outer_ex.parallel_for(outer * tiles, columns_task<S, kOp>{x, y, axis, inner, tiles});
}

template <class S>
void softmax_columns(const S* x, S* y, std::size_t outer, std::size_t axis, std::size_t inner, const executor& ex) {
  run_columns<S, column_op::softmax>(x, y, outer, axis, inner, ex);
}

template <class S>
void log_softmax_columns(const S* x, S* y, std::size_t outer, std::size_t axis, std::size_t inner, const executor& ex) {
  run_columns<S, column_op::log_softmax>(x, y, outer, axis, inner, ex);
}

template <class S>
void logsumexp_columns(const S* x, S* out, std::size_t outer, std::size_t axis, std::size_t inner, const executor& ex) {
  run_columns<S, column_op::logsumexp>(x, out, outer, axis, inner, ex);
}

// ---- backward passes along the middle axis ------------------------------------

enum class column_backward_op { softmax, log_softmax };

// dx = scale * y * (dy - sum(dy * y)), or scale * (dy - exp(y) * sum(dy)), per column.
template <class S, column_backward_op kOp>
SMAX_INLINE void column_backward_tile(const column_tile<S>& yt, const S* dy, S* dx, double scale) {
  const std::size_t vectors = (yt.count + vd::lanes - 1) / vd::lanes;
  vd hi[kColumnVectors], lo[kColumnVectors];
  for (std::size_t v = 0; v < vectors; ++v) hi[v] = lo[v] = vd::splat(0.0);
  for (std::size_t a = 0; a < yt.axis; ++a) {
    for (std::size_t v = 0; v < vectors; ++v) {
      const vd g = yt.load(dy, a, v, 0.0);
      vd term = g;
      if constexpr (kOp == column_backward_op::softmax) {
        const vd yv = yt.load(yt.x, a, v, 0.0);
        term = g * yv;
        if constexpr (kExactStorage<S>) lo[v] = lo[v] + product_error(g, yv, term);
      }
      if constexpr (kExactStorage<S>) {
        compensated_add(hi[v], lo[v], term);
      } else {
        hi[v] = hi[v] + term;
      }
    }
  }
  const vd sc = vd::splat(scale);
  for (std::size_t a = 0; a < yt.axis; ++a) {
    for (std::size_t v = 0; v < vectors; ++v) {
      const vd yv = yt.load(yt.x, a, v, 0.0), g = yt.load(dy, a, v, 0.0);
      vd out;
      if constexpr (kOp == column_backward_op::softmax) {
        out = (yv * sc) * ((g - hi[v]) - lo[v]);
      } else if constexpr (kExactStorage<S>) {
        const vd_pair e = exp_dd_any(yv, vd::splat(0.0));
        out = (mul_add(e.hi, vd::splat(0.0) - hi[v], g) - (e.hi * lo[v] + e.lo * hi[v])) * sc;
      } else {
        out = (g - exp_p9(yv) * hi[v]) * sc;
      }
      store_n(dx + a * yt.inner + v * vd::lanes, out, yt.lanes_in(v));
    }
  }
}

template <class S, column_backward_op kOp>
struct column_backward_task {
  const S* y;
  const S* dy;
  S* dx;
  std::size_t axis;
  std::size_t inner;
  std::size_t tiles_per_slab;
  double scale;

  void operator()(std::size_t begin, std::size_t end) const {
    for (std::size_t job = begin; job < end; ++job) {
      const std::size_t o = job / tiles_per_slab, i0 = (job % tiles_per_slab) * kTileLanes;
      const std::size_t count = inner - i0 < kTileLanes ? inner - i0 : kTileLanes;
      const std::size_t offset = o * axis * inner + i0;
      column_backward_tile<S, kOp>({y + offset, axis, inner, count}, dy + offset, dx + offset, scale);
    }
  }
};

template <class S, column_backward_op kOp>
SMAX_INLINE void run_column_backward(const S* y, const S* dy, S* dx, std::size_t outer, std::size_t axis,
                                     std::size_t inner, const executor& ex, double scale) {
  const std::size_t tiles = (inner + kTileLanes - 1) / kTileLanes;
  executor inner_ex;
  row_split(ex, outer * tiles, axis * kTileLanes, inner_ex)
      .parallel_for(outer * tiles, column_backward_task<S, kOp>{y, dy, dx, axis, inner, tiles, scale});
}

template <class S>
void softmax_backward_columns(const S* y, const S* dy, S* dx, std::size_t outer, std::size_t axis, std::size_t inner,
                              const executor& ex, double scale) {
  run_column_backward<S, column_backward_op::softmax>(y, dy, dx, outer, axis, inner, ex, scale);
}

template <class S>
void log_softmax_backward_columns(const S* y, const S* dy, S* dx, std::size_t outer, std::size_t axis,
                                  std::size_t inner, const executor& ex, double scale) {
  run_column_backward<S, column_backward_op::log_softmax>(y, dy, dx, outer, axis, inner, ex, scale);
}

// dx = scale * dlse * exp(x - lse), lse and dlse one per column (outer x inner).
template <class S>
struct column_lse_backward_task {
  const S* x;
  const S* lse;
  const S* dlse;
  S* dx;
  std::size_t axis;
  std::size_t inner;
  double scale;

  void operator()(std::size_t begin, std::size_t end) const {
    for (std::size_t o = begin; o < end; ++o) {
      for (std::size_t a = 0; a < axis; ++a) {
        const std::size_t row = (o * axis + a) * inner;
        for (std::size_t i = 0; i < inner; i += vd::lanes) {
          const std::size_t count = inner - i < vd::lanes ? inner - i : vd::lanes;
          const vd xv = load_n<vd>(x + row + i, count, 0.0);
          const vd l = load_n<vd>(lse + o * inner + i, count, 0.0);
          const vd g = load_n<vd>(dlse + o * inner + i, count, 0.0) * vd::splat(scale);
          if constexpr (kExactStorage<S>) {
            const vd_pair d = exact_difference(xv, vd::splat(0.0) - l);
            const vd_pair e = exp_dd_any(d.hi, d.lo);
            store_n(dx + row + i, scaled_exp(e, g), count);
          } else {
            store_n(dx + row + i, exp_p9(xv - l) * g, count);
          }
        }
      }
    }
  }
};

template <class S>
void logsumexp_backward_columns(const S* x, const S* lse, const S* dlse, S* dx, std::size_t outer, std::size_t axis,
                                std::size_t inner, const executor& ex, double scale) {
  executor inner_ex;
  row_split(ex, outer, axis * inner, inner_ex)
      .parallel_for(outer, column_lse_backward_task<S>{x, lse, dlse, dx, axis, inner, scale});
}

// ---- cross-entropy with the class axis in the middle (N x C x d1 x ...) -----
//
// Lane l of a tile is the position (n, d0 + l); its classes are an axis column.
// Narrower tiles than the softmax's: each lane carries a dozen scalars.
// The same formulas as cross_entropy_row (cross_entropy-inl.hpp), lane-wise:
// the sums, and the gradient recomputed with the accurate exp, are vectorized;
// the per-position scalars (target, log, loss, alpha) are computed per lane.

inline constexpr std::size_t kCeColumnVectors = 4;
inline constexpr std::size_t kCeTileLanes = kCeColumnVectors * vd::lanes;

// x - m with per-lane maxima (a pair for double data).
template <class S>
SMAX_INLINE vd_pair shifted_pair(vd x, vd m) {
  if constexpr (kExactStorage<S>) {
    return exact_difference(x, vd::splat(0.0) - m);
  } else {
    return {x - m, vd::splat(0.0)};
  }
}

template <class S>
struct ce_lane {
  double m = 0, sum_hi = 0, sum_lo = 0, linear = 0, q_sum = 0, q_linear = 0;
  double a_hi = 0, a_lo = 0, b_uniform = 0, b_soft = 0, beta_scale = 0;  // the gradient's coefficients
  std::int64_t target = -1;
  bool live = false;  // not ignored and with a finite maximum: fix the target's entry
};

template <class S>
SMAX_INLINE double ce_column_tile(const cross_entropy_call<S>& call, std::size_t n, std::size_t d0, std::size_t count) {
  const std::size_t classes = call.classes, inner = call.inner;
  const std::size_t slab = n * classes * inner + d0;
  const column_tile<S> t{call.logits + slab, classes, inner, count};
  S* g = call.grad != nullptr ? call.grad + slab : nullptr;
  const S* q = call.soft_targets != nullptr ? call.soft_targets + slab : nullptr;
  const bool hard = q == nullptr, accurate = g != nullptr;
  const double eps = call.smoothing, eps_per_class = eps / static_cast<double>(classes);
  const std::size_t vectors = (count + vd::lanes - 1) / vd::lanes;

  // Pass 1: the maxima. Pass 2: the sums.
  vd m[kCeColumnVectors], hi[kCeColumnVectors], lo[kCeColumnVectors], lin[kCeColumnVectors], qs[kCeColumnVectors],
      ql[kCeColumnVectors];
  for (std::size_t v = 0; v < vectors; ++v) m[v] = vd::splat(-constants::kInf);
  for (std::size_t c = 0; c < classes; ++c) {
    for (std::size_t v = 0; v < vectors; ++v) m[v] = max(m[v], t.load(t.x, c, v, -constants::kInf));
  }
  for (std::size_t v = 0; v < vectors; ++v) hi[v] = lo[v] = lin[v] = qs[v] = ql[v] = vd::splat(0.0);
  for (std::size_t c = 0; c < classes; ++c) {
    const vd w = vd::splat(call.weight != nullptr ? static_cast<double>(call.weight[c]) * call.weight_unit : 1.0);
    for (std::size_t v = 0; v < vectors; ++v) {
      // Lanes past the tile read 0 against a -inf maximum: garbage, never used.
      const vd_pair d = shifted_pair<S>(t.load(t.x, c, v, 0.0), m[v]);
      const vd_pair e = accurate ? ce_exp<S, true>(d) : ce_exp<S, false>(d);
      if constexpr (kExactStorage<S>) {
        compensated_add(hi[v], lo[v], e.hi);
        lo[v] = lo[v] + e.lo;
      } else {
        hi[v] = hi[v] + e.hi;
      }
      if (eps > 0) lin[v] = mul_add(w, d.hi + d.lo, lin[v]);
      if (!hard) {
        const vd wq = w * t.load(q, c, v, 0.0);
        qs[v] = qs[v] + wq;
        ql[v] = mul_add(wq, d.hi + d.lo, ql[v]);
      }
    }
  }

  // The per-position scalars.
  double buffer[6][kCeTileLanes];
  for (std::size_t v = 0; v < vectors; ++v) {
    m[v].store(buffer[0] + v * vd::lanes);
    hi[v].store(buffer[1] + v * vd::lanes);
    lo[v].store(buffer[2] + v * vd::lanes);
    lin[v].store(buffer[3] + v * vd::lanes);
    qs[v].store(buffer[4] + v * vd::lanes);
    ql[v].store(buffer[5] + v * vd::lanes);
  }
  ce_lane<S> lanes[kCeTileLanes];
  double total_hi = 0.0, total_lo = 0.0;
  for (std::size_t l = 0; l < count; ++l) {
    ce_lane<S>& lane = lanes[l];
    const std::size_t position = n * inner + d0 + l;
    const S* column = t.x + l;
    lane.m = buffer[0][l];
    const double_double sum = fast_two_sum(buffer[1][l], buffer[2][l]);
    if (hard) {
      lane.target = target_of(call, position);
      if (lane.target == call.ignore_index) {
        if (call.row_logsumexp != nullptr) {
          const double l_sum =
              std::isfinite(lane.m) ? column_log<S>(column, classes, inner, lane.m, sum.hi, sum.lo).hi : 0.0;
          call.row_logsumexp[position] = static_cast<S>(std::isfinite(lane.m)                    ? lane.m + l_sum
                                                        : column_has_nan(column, classes, inner) ? constants::kNaN
                                                                                                 : lane.m);
        }
        if (call.row_loss != nullptr) call.row_loss[position] = 0;
        continue;  // loss 0, gradient 0 (a = b = 0)
      }
    }
    double loss, returned;  // the position's loss, and in weight units (see hard_row_loss)
    if (!std::isfinite(lane.m)) {
      loss = returned = constants::kNaN;
      lane.a_hi = constants::kNaN;
      if (call.row_logsumexp != nullptr) {
        call.row_logsumexp[position] =
            static_cast<S>(column_has_nan(column, classes, inner) ? constants::kNaN : lane.m);
      }
    } else {
      const double_double log_sum = column_log<S>(column, classes, inner, lane.m, sum.hi, sum.lo);
      const double_double lse_pair = two_sum(lane.m, log_sum.hi);
      const double lse = lse_pair.hi + (lse_pair.lo + log_sum.lo);
      if (call.row_logsumexp != nullptr) call.row_logsumexp[position] = static_cast<S>(lse);
      const double log_s = log_sum.hi + log_sum.lo, z_term = mul(mul(call.z_loss, lse), lse);
      double alpha_weights, w_t = 1.0;
      if (hard) {
        const auto target = static_cast<std::size_t>(lane.target);
        if (call.weight != nullptr) w_t = static_cast<double>(call.weight[target]);
        const vd_pair d_t = shifted<S>(vd::splat(static_cast<double>(column[target * inner])), lane.m);
        const double nll = (log_sum.hi - first_lane(d_t.hi)) + (log_sum.lo - first_lane(d_t.lo));
        const hard_loss position_loss = hard_row_loss(call, w_t, nll, log_s, buffer[3][l], z_term);
        loss = position_loss.row;
        returned = position_loss.in_units;
        alpha_weights =
            mul(w_t * call.weight_unit, 1 - eps) + smoothing_share(eps_per_class, call.weight_total_in_units);
        lane.live = true;
      } else {
        const double b = soft_share(eps, buffer[4][l]) + smoothing_share(eps_per_class, call.weight_total);
        loss = soft_row_loss(call, column, q + l, inner, lane.m, b, log_s, buffer[5][l], buffer[3][l], z_term);
        alpha_weights = b;
        returned = loss;
      }
      const ce_gradient_factors f = ce_gradient_factors::of_row(call, position, alpha_weights, lse);
      const double_double inv = reciprocal_of_sum(sum.hi, sum.lo);
      const double sa = f.scaled_alpha();
      lane.a_hi = mul(sa, inv.hi);
      lane.a_lo = std::fma(sa, inv.hi, -lane.a_hi) + mul(sa, inv.lo);
      lane.b_uniform = eps_per_class;  // beta's scale applies last, as in ce_pass3
      lane.b_soft = hard ? 0.0 : 1 - eps;
      lane.beta_scale = f.weight_scale;
      lane.sum_hi = sum.hi;
      lane.sum_lo = sum.lo;
      if (hard && g != nullptr) {
        // The target's entry, as cross_entropy_row computes it (p_t - 1 from the other terms).
        const auto target = static_cast<std::size_t>(lane.target);
        const vd_pair d_t = shifted<S>(vd::splat(static_cast<double>(column[target * inner])), lane.m);
        const double_double e_t = ce_exp_scalar<S, true>(d_t);
        const double rest = (sum.hi - e_t.hi) + (sum.lo - e_t.lo);
        const double w_t_units = w_t * call.weight_unit;
        lane.linear = f.target_entry(e_t.hi + e_t.lo, rest, sum.hi + sum.lo, mul(w_t_units, 1 - eps),
                                     mul(eps_per_class, w_t_units));
      }
    }
    if (call.row_loss != nullptr) call.row_loss[position] = static_cast<S>(loss);
    const double_double s = two_sum(total_hi, returned);
    total_hi = s.hi;
    total_lo += s.lo;
  }

  // Pass 3: the gradient, g = a exp(d) - (w (b_uniform + b_soft q)) beta_scale, then the targets.
  if (g != nullptr) {
    double coefficient[5][kCeTileLanes];
    for (std::size_t l = 0; l < kCeTileLanes; ++l) {
      coefficient[0][l] = l < count ? lanes[l].a_hi : 0.0;
      coefficient[1][l] = l < count ? lanes[l].a_lo : 0.0;
      coefficient[2][l] = l < count ? lanes[l].b_uniform : 0.0;
      coefficient[3][l] = l < count ? lanes[l].b_soft : 0.0;
      coefficient[4][l] = l < count ? lanes[l].beta_scale : 0.0;
    }
    // Without smoothing, hard targets' beta is 0 off the target: the weights are not read.
    const bool weighted = call.weight != nullptr && !(hard && eps == 0);
    for (std::size_t c = 0; c < classes; ++c) {
      const vd w = vd::splat(weighted ? static_cast<double>(call.weight[c]) * call.weight_unit : 1.0);
      for (std::size_t v = 0; v < vectors; ++v) {
        const std::size_t first = v * vd::lanes;
        const vd_pair e = ce_exp<S, true>(shifted_pair<S>(t.load(t.x, c, v, 0.0), m[v]));
        const vd a_hi = vd::load(coefficient[0] + first), a_lo = vd::load(coefficient[1] + first);
        vd beta = vd::load(coefficient[2] + first);
        if (!hard && eps < 1) beta = mul_add(vd::load(coefficient[3] + first), t.load(q, c, v, 0.0), beta);
        beta = (beta * w) * vd::load(coefficient[4] + first);
        vd out = mul_add(e.hi, a_hi, vd::splat(0.0) - beta);
        if constexpr (kExactStorage<S>) out = out + (e.lo * a_hi + e.hi * a_lo);
        store_n(g + c * inner + first, out, t.lanes_in(v));
      }
    }
    for (std::size_t l = 0; l < count; ++l) {
      if (lanes[l].live) g[static_cast<std::size_t>(lanes[l].target) * inner + l] = static_cast<S>(lanes[l].linear);
    }
  }
  return total_hi + total_lo;
}

template <class S>
struct ce_columns_task {
  const cross_entropy_call<S>* call;
  std::size_t tiles_per_slab;
  double* losses;  // one per tile, summed afterwards in tile order

  void operator()(std::size_t begin, std::size_t end) const {
    for (std::size_t job = begin; job < end; ++job) {
      const std::size_t n = job / tiles_per_slab, d0 = (job % tiles_per_slab) * kCeTileLanes;
      const std::size_t count = call->inner - d0 < kCeTileLanes ? call->inner - d0 : kCeTileLanes;
      losses[job] = ce_column_tile(*call, n, d0, count);
    }
  }
};

template <class S>
double_double cross_entropy_columns(const cross_entropy_call<S>& call) {
  const std::size_t tiles = (call.inner + kCeTileLanes - 1) / kCeTileLanes, jobs = call.rows * tiles;
  std::vector<double> losses(jobs);
  executor inner_ex;
  row_split(executor{call.threads}, jobs, call.classes * kCeTileLanes, inner_ex)
      .parallel_for(jobs, ce_columns_task<S>{&call, tiles, losses.data()});
  double hi = 0.0, lo = 0.0;
  for (double loss : losses) {
    const double_double t = two_sum(hi, loss);
    hi = t.hi;
    lo += t.lo;
  }
  return std::isinf(hi) ? double_double{hi, 0.0} : fast_two_sum(hi, lo);
}

// Cross-entropy over rows (inner == 1) or with the class axis in the middle.
template <class S>
double_double cross_entropy_any(const cross_entropy_call<S>& call) {
  return call.inner > 1 ? cross_entropy_columns(call) : cross_entropy_rows(call);
}
