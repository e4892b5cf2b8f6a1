#!/usr/bin/env python3
"""Turns smax_bench's Google Benchmark JSON into tables and a plot.

    bench/report.py [--md FILE] [--png FILE] [--command TEXT] RUN.json [RUN.json ...]

Reads one or more JSON files written with --benchmark_out_format=json (the
second usually holds the torch entries of a process started with
ATEN_CPU_CAPABILITY=avx512), takes each entry's median over repetitions, and
prints one table per op and dtype: shape x contender in G elements/s, then each
smax ISA's ratio to the best peer (the fastest contender that is neither smax,
the naive loop nor memcpy) and to memcpy of the same bytes. The training ops
(cross-entropy, its fused loss and gradient, the backward passes) follow, then
the two cross-entropy targets of issue 4: the forward's speed over libtorch's
(at least 2x) and the fused call's time over smax's own softmax on the same
shape and ISA (at most 1.2). Then, as tables of their own, softmax on two-byte
data (bf16 and f16 in and out, bf16 in and float out) with each contender's
speed over its own float softmax on the same shape, and softmax along the
middle axis of a 3-d tensor with its speed over the same sizes with the axis
last. Writes the same as markdown with the run's date,
CPU, compiler and command, and draws throughput against row length per
contender with gnuplot, one panel per op and dtype: the forward ops in the
--png file, the training ops in a second one named after it
(latest.png -> latest-training.png).

Python 3 standard library only; the plot is skipped when gnuplot is missing.
"""
import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys

OPS = ["softmax", "log_softmax", "logsumexp"]
TRAINING_OPS = ["cross_entropy", "cross_entropy_fused", "softmax_backward", "log_softmax_backward",
                "logsumexp_backward"]
CE_FORWARD_TARGET = 2.0  # smax's cross-entropy forward over libtorch's, at least
FUSED_TARGET = 1.2  # fused forward+backward time over smax's softmax time, at most
DTYPES = ["f32", "f64"]
TWO_BYTE_DTYPES = ["bf16", "f16", "bf16-f32"]  # softmax/<dtype>/...: bf16, half in and out; bf16 in, float out
AXIS_OP, AXIS_LAST_OP = "softmax_axis", "softmax_axis_last"  # f32, shapes outer x axis x inner
ISA_RANK = ["avx512", "avx2", "sse2", "neon", "scalar"]  # fastest first
PEER_RANK = ["onednn", "xnnpack", "torch", "eigen"]


class Entry:
    def __init__(self):
        self.samples = []  # items/s of each repetition, when no median was reported
        self.median = None  # items/s
        self.cpu_time = None
        self.real_time = None
        self.label = ""
        self.error = ""
        self.source = ""

    def value(self):
        """Median items/s, or None."""
        if self.median is not None:
            return self.median
        if self.samples:
            return statistics.median(self.samples)
        return None


def parse_name(run_name):
    """'softmax/f32/smax-avx512/64x32000' -> (op, dtype, contender, (rows, cols));
    'softmax_axis/f32/torch-avx2/32x1000x32' -> (..., (outer, axis, inner))."""
    parts = run_name.split("/")
    if parts and parts[-1] in ("real_time", "manual_time"):
        parts = parts[:-1]
    if len(parts) != 4:
        return None
    sizes = parts[3].split("x")
    if len(sizes) not in (2, 3) or not all(n.isdigit() for n in sizes):
        return None
    return parts[0], parts[1], parts[2], tuple(int(n) for n in sizes)


def load(paths):
    """Returns (entries keyed by (op, dtype, contender, shape), contexts, notes)."""
    entries, contexts, notes = {}, [], []
    repetitions = set()
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        contexts.append((path, data.get("context", {})))
        seen_here = {}
        for b in data.get("benchmarks", []):
            key = parse_name(b.get("run_name", b.get("name", "")))
            if key is None:
                continue
            if key in entries and entries[key].source != path:
                # Two runs measured the same contender (e.g. ATEN_CPU_CAPABILITY
                # had no effect): keep the first.
                if key not in seen_here:
                    notes.append("%s also in %s; kept the figure from %s" % ("/".join(map(str, key[:3])),
                                                                             path, entries[key].source))
                seen_here[key] = True
                continue
            e = entries.setdefault(key, Entry())
            e.source = path
            repetitions.add(b.get("repetitions", 1))
            if b.get("error_occurred"):
                e.error = b.get("error_message", "error")
                continue
            e.label = b.get("label", e.label)
            if b.get("run_type") == "aggregate":
                if b.get("aggregate_name") == "median":
                    e.median = b.get("items_per_second")
                    e.cpu_time, e.real_time = b.get("cpu_time"), b.get("real_time")
            elif "items_per_second" in b:
                e.samples.append(b["items_per_second"])
                if e.cpu_time is None:
                    e.cpu_time, e.real_time = b.get("cpu_time"), b.get("real_time")
    if contexts:
        contexts[0][1]["repetitions"] = "/".join(str(r) for r in sorted(repetitions))
    return entries, contexts, notes


def contender_rank(name):
    if name.startswith("smax-"):
        isa = name[5:]
        return (0, ISA_RANK.index(isa) if isa in ISA_RANK else len(ISA_RANK), name)
    if name == "naive":
        return (1, 0, name)
    if name == "memcpy":
        return (4, 0, name)
    base = name.split("-")[0]
    return (2 if base in PEER_RANK else 3, PEER_RANK.index(base) if base in PEER_RANK else 0, name)


def is_peer(name):
    return not name.startswith("smax-") and name not in ("naive", "memcpy")


def shape_text(shape):
    return "x".join(str(n) for n in shape)


def gps(value):
    return value / 1e9


def fmt(value):
    if value is None:
        return "—"
    g = gps(value)
    return "%.2f" % g if g >= 0.1 else "%.3f" % g


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


class Tables:
    def __init__(self, entries):
        self.entries = entries
        self.footnotes = []

    def note(self, text):
        if text not in self.footnotes:
            self.footnotes.append(text)
        return "[%d]" % (self.footnotes.index(text) + 1)

    def get(self, op, dtype, contender, shape):
        if contender == "memcpy":
            op = "copy"
        return self.entries.get((op, dtype, contender, shape))

    def cell(self, op, dtype, contender, shape):
        e = self.get(op, dtype, contender, shape)
        if e is None:
            return "—"
        if e.error:
            return "skipped " + self.note("%s/%s/%s/%s: %s" % (op, dtype, contender, shape_text(shape), e.error))
        text = fmt(e.value())
        flags = []
        if e.label:
            flags.append(self.note("%s/%s/%s/%s: %s" % (op, dtype, contender, shape_text(shape), e.label)))
        if e.cpu_time and e.real_time and e.cpu_time > 1.15 * e.real_time:
            flags.append(self.note("CPU time exceeds wall time: more than one thread ran"))
        return text + ("" if not flags else " " + " ".join(flags))

    def render(self, op, dtype, heading="##", units="rows x cols"):
        keys = [k for k in self.entries if k[0] == op and k[1] == dtype]
        if not keys:
            return None
        shapes = sorted({k[3] for k in keys}, key=lambda s: (s[1], s[0]))
        contenders = sorted({k[2] for k in keys}, key=contender_rank)
        has_copy = any(("copy", dtype, "memcpy", s) in self.entries for s in shapes)
        if has_copy:
            contenders.append("memcpy")
        smax = [c for c in contenders if c.startswith("smax-")]
        peers = [c for c in contenders if is_peer(c)]

        out = ["%s %s, %s" % (heading, op, dtype), "",
               "G elements/s (%s per second), median of repetitions; higher is better." % units, ""]
        out.append("| shape | " + " | ".join(contenders) + " |")
        out.append("|---" * (len(contenders) + 1) + "|")
        for s in shapes:
            out.append("| %s | " % shape_text(s) + " | ".join(self.cell(op, dtype, c, s) for c in contenders) + " |")
        out.append("")

        if not smax:
            return "\n".join(out)
        header = ["shape", "best peer"]
        for c in smax:
            if peers:
                header.append("%s ÷ best peer" % c)
            if has_copy:
                header.append("%s ÷ memcpy" % c)
        out.append("| " + " | ".join(header) + " |")
        out.append("|---" * len(header) + "|")
        lowest = [None] * (len(header) - 2)
        for s in shapes:
            best_name, best = None, None
            for p in peers:
                e = self.get(op, dtype, p, s)
                v = e.value() if e and not e.error else None
                if v is not None and (best is None or v > best):
                    best_name, best = p, v
            copy = self.get(op, dtype, "memcpy", s)
            copy_v = copy.value() if copy and not copy.error else None
            row = [shape_text(s), "%s %s" % (fmt(best), best_name) if best_name else "—"]
            col = 0
            for c in smax:
                e = self.get(op, dtype, c, s)
                v = e.value() if e and not e.error else None
                bases = ([best] if peers else []) + ([copy_v] if has_copy else [])
                for base in bases:
                    ratio = v / base if v and base else None
                    row.append("%.2fx" % ratio if ratio else "—")
                    if ratio and (lowest[col] is None or ratio < lowest[col]):
                        lowest[col] = ratio
                    col += 1
            out.append("| " + " | ".join(row) + " |")
        out.append("| lowest | | " + " | ".join("%.2fx" % r if r else "—" for r in lowest) + " |")
        out.append("")
        return "\n".join(out)

    def value(self, op, dtype, contender, shape):
        e = self.get(op, dtype, contender, shape)
        return e.value() if e and not e.error else None

    def smax_isas(self, op, dtype):
        return sorted({k[2] for k in self.entries if k[0] == op and k[1] == dtype and k[2].startswith("smax-")},
                      key=contender_rank)

    def shapes(self, op, dtype):
        return sorted({k[3] for k in self.entries if k[0] == op and k[1] == dtype}, key=lambda s: (s[1], s[0]))

    def ce_forward_vs_torch(self, dtype):
        """smax's cross-entropy forward over the fastest libtorch (either CPU capability), per shape and ISA."""
        op = "cross_entropy"
        smax = self.smax_isas(op, dtype)
        torches = sorted({k[2] for k in self.entries if k[0] == op and k[1] == dtype and k[2].startswith("torch")})
        if not smax or not torches:
            return None
        out = ["### cross-entropy forward, %s: smax ÷ libtorch (target: at least %gx)" % (dtype, CE_FORWARD_TARGET),
               "", "The fastest libtorch run (either CPU capability) on each shape.", ""]
        out.append("| shape | libtorch | " + " | ".join("%s ÷ libtorch" % c for c in smax) + " |")
        out.append("|---" * (len(smax) + 2) + "|")
        lowest = [None] * len(smax)
        for s in self.shapes(op, dtype):
            best_name, best = None, None
            for t in torches:
                v = self.value(op, dtype, t, s)
                if v is not None and (best is None or v > best):
                    best_name, best = t, v
            row = [shape_text(s), "%s %s" % (fmt(best), best_name) if best_name else "—"]
            for i, c in enumerate(smax):
                v = self.value(op, dtype, c, s)
                ratio = v / best if v and best else None
                row.append("%.2fx%s" % (ratio, "" if ratio >= CE_FORWARD_TARGET else " (below)") if ratio else "—")
                if ratio and (lowest[i] is None or ratio < lowest[i]):
                    lowest[i] = ratio
            out.append("| " + " | ".join(row) + " |")
        out.append("| lowest | | " + " | ".join("%.2fx" % r if r else "—" for r in lowest) + " |")
        out.append("")
        return "\n".join(out)

    def fused_vs_softmax(self, dtype):
        """Time of smax's fused cross-entropy over the time of its softmax, same shape and ISA.

        Both count rows x cols items per call, so the time ratio is softmax's
        items/s over the fused call's."""
        smax = [c for c in self.smax_isas("cross_entropy_fused", dtype) if c in self.smax_isas("softmax", dtype)]
        if not smax:
            return None
        out = ["### fused cross-entropy forward+backward, %s: its time ÷ smax's softmax time, same shape and ISA "
               "(target: at most %g)" % (dtype, FUSED_TARGET), ""]
        out.append("| shape | " + " | ".join(smax) + " |")
        out.append("|---" * (len(smax) + 1) + "|")
        highest = [None] * len(smax)
        for s in self.shapes("cross_entropy_fused", dtype):
            row = [shape_text(s)]
            for i, c in enumerate(smax):
                fused, soft = self.value("cross_entropy_fused", dtype, c, s), self.value("softmax", dtype, c, s)
                ratio = soft / fused if fused and soft else None
                row.append("%.2f%s" % (ratio, "" if ratio <= FUSED_TARGET else " (above)") if ratio else "—")
                if ratio and (highest[i] is None or ratio > highest[i]):
                    highest[i] = ratio
            out.append("| " + " | ".join(row) + " |")
        out.append("| highest | " + " | ".join("%.2f" % r if r else "—" for r in highest) + " |")
        out.append("")
        return "\n".join(out)

    def speed_over(self, title, pairs, shapes):
        """A table of items/s ratios, one column per (label, numerator key, denominator key) of `pairs`;
        keys are (op, dtype, contender) and take each shape of `shapes`."""
        if not pairs or not shapes:
            return None
        out = [title, ""]
        out.append("| shape | " + " | ".join(label for label, _, _ in pairs) + " |")
        out.append("|---" * (len(pairs) + 1) + "|")
        lowest, highest = [None] * len(pairs), [None] * len(pairs)
        for s in shapes:
            row = [shape_text(s)]
            for i, (_, num, den) in enumerate(pairs):
                top, bottom = self.value(*num, s), self.value(*den, s)
                ratio = top / bottom if top and bottom else None
                row.append("%.2fx" % ratio if ratio else "—")
                if ratio:
                    lowest[i] = ratio if lowest[i] is None else min(lowest[i], ratio)
                    highest[i] = ratio if highest[i] is None else max(highest[i], ratio)
            out.append("| " + " | ".join(row) + " |")
        for name, values in (("lowest", lowest), ("highest", highest)):
            out.append("| %s | " % name + " | ".join("%.2fx" % r if r else "—" for r in values) + " |")
        out.append("")
        return "\n".join(out)

    def contenders_of(self, op, dtype):
        return sorted({k[2] for k in self.entries if k[0] == op and k[1] == dtype}, key=contender_rank)

    def two_byte(self, ctx):
        """softmax on bf16 and f16: the usual tables per dtype, then each contender's speed over its own
        float softmax on the same shape (same ISA for smax, same CPU capability for libtorch)."""
        parts = []
        for dt in TWO_BYTE_DTYPES:
            table = self.render("softmax", dt, heading="###")
            if not table:
                continue
            parts.append(table)
            both = [c for c in self.contenders_of("softmax", dt) if c in self.contenders_of("softmax", "f32")]
            pairs = [("%s ÷ its f32" % c, ("softmax", dt, c), ("softmax", "f32", c)) for c in both]
            ratios = self.speed_over("### softmax, %s: speed over the same contender's f32 softmax, same shape "
                                     "(above 1: faster than float)" % dt, pairs, self.shapes("softmax", dt))
            if ratios:
                parts.append(ratios)
            elif not both:
                parts.append("(no softmax/f32 entries in these runs to compare with: run them too, e.g. "
                             "--benchmark_filter='^softmax/(f32|bf16|f16|bf16-f32)/')\n")
        if not parts:
            return None
        text = ["bf16 and f16: two-byte logits in, two-byte probabilities out; bf16-f32: bf16 logits in, float "
                "probabilities out. The inputs are the f32 entries' logits rounded to the type; items are elements, "
                "bytes 2 in and 2 (or 4) out per element. libtorch has no CPU kernel with bf16 in and float out: its "
                "bf16-f32 entries convert x to float (into a tensor made once) and run the float kernel, as "
                "softmax(x, dim, dtype=float) does."]
        for dt in ("bf16", "f16"):
            support = ctx.get("torch_softmax_" + dt, "")
            if support.startswith("unsupported"):
                text.append("libtorch %s softmax: %s (no entries)." % (dt, support))
        return "\n".join(["## softmax on two-byte data", "", " ".join(text), ""] + parts)

    def middle_axis(self):
        """softmax along the middle axis of outer x axis x inner, next to the same sizes with the axis last."""
        parts = [t for t in (self.render(AXIS_OP, "f32", heading="###", units="outer x axis x inner"),
                             self.render(AXIS_LAST_OP, "f32", heading="###", units="outer x axis x inner"))
                 if t]
        if not parts:
            return None
        both = [c for c in self.contenders_of(AXIS_OP, "f32") if c in self.contenders_of(AXIS_LAST_OP, "f32")]
        pairs = [("%s middle ÷ last" % c, (AXIS_OP, "f32", c), (AXIS_LAST_OP, "f32", c)) for c in both]
        ratios = self.speed_over("### softmax along the middle axis: speed over the same contender with the axis "
                                 "last (1: a middle axis costs nothing)", pairs, self.shapes(AXIS_OP, "f32"))
        if ratios:
            parts.append(ratios)
        intro = ["## softmax along a middle axis", "",
                 "%s: f32 softmax along dim 1 of a contiguous outer x axis x inner tensor (smax::tensor_axis; "
                 "libtorch's _softmax with dim=1). %s: the same element count and softmax lengths with the axis "
                 "last, (outer * inner) rows of axis elements, the row form. Shapes are named outer x axis x inner "
                 "in both." % (AXIS_OP, AXIS_LAST_OP), ""]
        return "\n".join(intro + parts)


def merged_context(contexts):
    ctx = {}
    for _, c in contexts:
        for k, v in c.items():
            ctx.setdefault(k, v)
    return ctx


def context_lines(contexts, command, notes, training=False):
    ctx = {}
    for _, c in contexts:
        for k, v in c.items():
            ctx.setdefault(k, v)
    date = ctx.get("date", datetime.datetime.now().isoformat(timespec="seconds"))
    lines = ["# smax benchmark report", ""]
    lines.append("- date: %s" % date)
    caches = ", ".join("L%d%s %d KiB" % (c.get("level", 0), "d" if c.get("type") == "Data" else
                                         "i" if c.get("type") == "Instruction" else "",
                                         c.get("size", 0) // 1024) for c in ctx.get("caches", []))
    lines.append("- CPU: %s, %s CPUs%s" % (cpu_model(), ctx.get("num_cpus", "?"), (" (" + caches + ")") if caches else ""))
    lines.append("- compiler: %s" % ctx.get("compiler", "unknown"))
    lines.append("- smax %s, ISAs run: %s" % (ctx.get("smax_version", "?"), ctx.get("smax_isas", "?")))
    peers = []
    if "onednn_version" in ctx:
        peers.append("oneDNN %s (%s)" % (ctx["onednn_version"], ctx.get("onednn_impl", "?")))
    if "xnnpack" in ctx:
        peers.append("XNNPACK: %s" % ctx["xnnpack"])
    elif "xnnpack" in ctx.get("peers_built", ""):
        peers.append("XNNPACK")
    caps = sorted({c.get("torch_capability") for _, c in contexts if c.get("torch_capability")})
    if "torch_version" in ctx:
        peers.append("libtorch %s (CPU capability: %s)" % (ctx["torch_version"], ", ".join(caps)))
    if "eigen_version" in ctx:
        peers.append("Eigen %s (%s)" % (ctx["eigen_version"], ctx.get("eigen_simd", "?")))
    lines.append("- peers: %s" % ("; ".join(peers) if peers else "none"))
    rotation = int(ctx.get("rotation_bytes", "0") or 0)
    if rotation > 0:
        buffers = ("each call reads logits from buffer copies that rotate over at least %.0f MiB, so inputs come "
                   "from L3, and from DRAM for 1x16777216" % (rotation / (1 << 20)))
    else:
        buffers = "one buffer per entry (SMAX_BENCH_ROTATE_BYTES=0): small shapes run from L1/L2"
    lines.append("- method: one thread, %s CPU(s) in the affinity mask; CPU time; median of %s repetition(s); %s; "
                 "standard normal logits from a fixed seed; every peer's output checked against smax's before "
                 "timing" % (ctx.get("pinned_cpus", "?"), ctx.get("repetitions", "?"), buffers))
    if training:
        lines.append("- training ops: cross-entropy with int64 class targets uniform over the classes (fixed seed), "
                     "reduction mean, default options; the fused call writes the gradient to a buffer of its own; "
                     "the backward passes take y from smax's forward on the same logits and standard normal dy "
                     "(dlse); items are logits elements, bytes what the op must read and write (bench/common.cpp)")
    if command:
        lines.append("- command: `%s`" % command)
    warnings = []
    if ctx.get("smax_bench_build", "optimized") != "optimized":
        warnings.append(ctx["smax_bench_build"])
    if ctx.get("pinned_cpus") not in (None, "1"):
        warnings.append("not pinned to one CPU (taskset -c N)")
    load = ctx.get("load_avg")
    if load and load[0] > 1.5:
        warnings.append("machine busy during the run (load average %.2f); CPU time keeps other processes' slices "
                        "out, not their use of caches and memory bandwidth" % load[0])
    for w in warnings + notes:
        lines.append("- note: %s" % w)
    lines.append("")
    return lines


def training_png(png):
    """latest.png -> latest-training.png: where the training ops' panels go."""
    stem, ext = os.path.splitext(png)
    return stem + "-training" + (ext or ".png")


def plot(entries, png, title, ops=OPS):
    """One panel per op of `ops` and dtype; False when nothing was drawn."""
    panels = [(op, dt) for dt in DTYPES for op in ops
              if any(k[0] == op and k[1] == dt for k in entries)]
    if not panels:
        return False
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        print("report.py: gnuplot not found, no plot (apt-get install gnuplot-nox)", file=sys.stderr)
        return False
    # Contenders and shapes of these panels only, so that a colour means the
    # same contender in every panel of one file.
    shown = {op for op, _ in panels}
    contenders = sorted({k[2] for k in entries if k[0] in shown}, key=contender_rank)
    if any(k[0] == "copy" for k in entries):
        contenders.append("memcpy")
    palette = ["#1f4e9c", "#3f8fd2", "#7fb8e8", "#b0d4f1", "#7f7f7f", "#d62728", "#ff7f0e", "#2ca02c",
               "#98df8a", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf"]
    style = {}
    for i, c in enumerate(contenders):
        color = palette[i % len(palette)]
        if c == "memcpy":
            style[c] = 'lc rgb "#000000" dt 3 lw 1.5 pt 0'
        elif c == "naive":
            style[c] = 'lc rgb "#7f7f7f" dt 2 lw 1.5 pt 6'
        elif c.startswith("smax-"):
            style[c] = 'lc rgb "%s" dt 1 lw 2.5 pt 7' % color
        else:
            style[c] = 'lc rgb "%s" dt 4 lw 1.5 pt 5' % color
    shapes = sorted({k[3] for k in entries if k[0] in shown}, key=lambda s: (s[1], s[0]))
    rows = len({dt for _, dt in panels})
    cols = max(sum(1 for _, dt in panels if dt == d) for d in DTYPES)
    # Log y: equal ratios are equal distances, and memcpy (several times any
    # kernel) does not flatten the rest. Non-enhanced text keeps the
    # underscores of op names literal.
    script = ['set terminal pngcairo noenhanced size %d,%d font "sans,10"' % (760 * cols, 520 * rows + 40),
              'set output "%s"' % png.replace('"', '\\"'),
              'set multiplot layout %d,%d title "%s"' % (rows, cols, title.replace('"', "'")),
              "set logscale xy 10", "set grid xtics ytics mytics", 'set key outside right top font ",8"',
              'set xlabel "shape (rows x cols), by row length"', 'set ylabel "G elements/s"',
              "set ytics (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50)", "set mytics 10",
              "set xrange [%g:%g]" % (shapes[0][1] / 2, shapes[-1][1] * 2),
              "set xtics rotate by 30 right (" + ", ".join('"%s" %d' % (shape_text(s), s[1]) for s in shapes) + ")"]
    blocks, plots = [], []
    for n, (op, dt) in enumerate(panels):
        lines = []
        for c in contenders:
            key = ("copy" if c == "memcpy" else op, dt, c)
            points = []
            for s in shapes:
                e = entries.get(key + (s,))
                if e and not e.error and e.value():
                    points.append("%d %.6g" % (s[1], gps(e.value())))
            if not points:
                continue
            name = "$p%d_%d" % (n, len(lines))
            blocks.append("%s << EOD\n%s\nEOD" % (name, "\n".join(points)))
            lines.append('%s using 1:2 with linespoints %s title "%s"' % (name, style[c], c))
        plots.append('set title "%s, %s"\nplot %s' % (op, dt, ", \\\n  ".join(lines)))
    script = blocks + script + plots + ["unset multiplot"]
    result = subprocess.run([gnuplot], input="\n".join(script) + "\n", text=True, capture_output=True)
    if result.returncode != 0:
        print("report.py: gnuplot failed:\n" + result.stderr, file=sys.stderr)
        return False
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="Google Benchmark JSON files")
    parser.add_argument("--md", help="write the report as markdown here")
    parser.add_argument("--png", help="draw the plot here (gnuplot)")
    parser.add_argument("--command", default="", help="the command that produced the runs, for the report")
    args = parser.parse_args()

    runs = [p for p in args.runs if os.path.exists(p)]
    if not runs:
        sys.exit("report.py: none of %s exists" % ", ".join(args.runs))
    entries, contexts, notes = load(runs)
    if not entries:
        sys.exit("report.py: no smax_bench entries in %s" % ", ".join(runs))

    tables = Tables(entries)
    body = []
    for op in OPS + TRAINING_OPS:
        for dt in DTYPES:
            text = tables.render(op, dt)
            if text:
                body.append(text)
    targets = [t for dt in DTYPES for t in (tables.ce_forward_vs_torch(dt), tables.fused_vs_softmax(dt)) if t]
    if targets:
        body.append("\n".join(["## cross-entropy targets (issue 4)", ""] + targets))
    for section in (tables.two_byte(merged_context(contexts)), tables.middle_axis()):
        if section:
            body.append(section)
    has_training = any(k[0] in TRAINING_OPS for k in entries)
    lines = context_lines(contexts, args.command, notes, has_training)
    if args.png:
        where = os.path.dirname(os.path.abspath(args.md)) if args.md else os.getcwd()
        if any(k[0] in OPS for k in entries):
            lines += ["![throughput against row length](%s)" % os.path.relpath(os.path.abspath(args.png), where), ""]
        if has_training:
            lines += ["![training ops: throughput against row length](%s)" %
                      os.path.relpath(os.path.abspath(training_png(args.png)), where), ""]
    lines += body
    if tables.footnotes:
        lines += ["Notes:", ""] + ["%d. %s" % (i + 1, t) for i, t in enumerate(tables.footnotes)] + [""]
    report = "\n".join(lines)
    print(report)

    if args.md:
        os.makedirs(os.path.dirname(os.path.abspath(args.md)), exist_ok=True)
        with open(args.md, "w") as f:
            f.write(report)
        print("report.py: wrote %s" % args.md, file=sys.stderr)
    if args.png:
        os.makedirs(os.path.dirname(os.path.abspath(args.png)), exist_ok=True)
        date = next((c.get("date") for _, c in contexts if c.get("date")), "")
        for ops, png, what in ((OPS, args.png, ""), (TRAINING_OPS, training_png(args.png), "training ops, ")):
            if plot(entries, png, "smax_bench: %sG elements/s against row length, one thread (%s, %s)" %
                    (what, cpu_model(), date[:10]), ops):
                print("report.py: wrote %s" % png, file=sys.stderr)


if __name__ == "__main__":
    main()
