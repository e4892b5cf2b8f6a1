#!/usr/bin/env python3
"""Derives the polynomial coefficients used by include/smax/detail/math-inl.hpp.

Each approximation is a weighted minimax (Remez exchange) fit computed with
mpmath at 200 bits, then rounded to the storage type and re-checked on a dense
grid, so the error figures quoted in the header include coefficient rounding
(they do not include evaluation rounding, which the header bounds separately).

Run:  python3 tools/fit_polynomials.py      (needs python3-mpmath)
"""
import mpmath as mp
import struct

mp.mp.prec = 200
LN2 = mp.log(2)


def remez(basis, target, scale, a, b, iterations=30):
    """Minimax fit of sum_j c_j basis[j](x) to target(x), error measured as
    (sum_j c_j basis[j](x) - target(x)) / scale(x) over [a, b].

    Writing the error with an explicit scale (instead of a weight that vanishes
    where the basis does) keeps every step a well-conditioned linear solve.
    """
    m = len(basis)
    n = m + 1
    # Chebyshev extrema, nudged off the origin where the error is pinned to zero.
    xs = [(a + b) / 2 + (b - a) / 2 * mp.cos(mp.pi * (n - 1 - i) / (n - 1)) for i in range(n)]
    xs = [x if abs(x) > (b - a) * mp.mpf(10) ** -6 else (b - a) / (4 * n) for x in xs]
    xs.sort()
    coeffs = None
    for _ in range(iterations):
        rows = [[f(x) for f in basis] + [-((-1) ** i) * scale(x)] for i, x in enumerate(xs)]
        sol = mp.lu_solve(mp.matrix(rows), mp.matrix([target(x) for x in xs]))
        coeffs = [sol[j] for j in range(m)]
        err = lambda x: (sum(c * f(x) for c, f in zip(coeffs, basis)) - target(x)) / scale(x)
        grid = [a + (b - a) * k / 3000 for k in range(3001)]
        vals = [err(x) for x in grid]
        # One extremum per sign-constant run of the error becomes the new reference.
        runs, start = [], 0
        for k in range(1, len(grid)):
            if vals[k] != 0 and vals[start] != 0 and mp.sign(vals[k]) != mp.sign(vals[start]):
                runs.append((start, k))
                start = k
            elif vals[start] == 0:
                start = k
        runs.append((start, len(grid)))
        peaks = [grid[max(range(s, e), key=lambda k: abs(vals[k]))] for s, e in runs]
        while len(peaks) > n:
            peaks.pop(0 if abs(err(peaks[0])) < abs(err(peaks[-1])) else -1)
        if len(peaks) < n:
            break
        xs = peaks
    return coeffs


def to_double(c):
    return float(c)


def to_float(c):
    return struct.unpack('f', struct.pack('f', float(c)))[0]


def max_error(f, a, b, samples=20000):
    return max(abs(f(a + (b - a) * k / samples)) for k in range(samples + 1))


def report(name, coeffs, rounding, check, a, b, ctype):
    rounded = [rounding(c) for c in coeffs]
    err = max_error(lambda x: check([mp.mpf(c) for c in rounded], x), a, b)
    print(f"// {name}: max relative error {mp.nstr(err, 3)} (2^{mp.nstr(mp.log(err, 2), 4)}) on [{mp.nstr(a, 6)}, {mp.nstr(b, 6)}]")
    for i, c in enumerate(rounded):
        print(f"  {ctype} c{i} = {c.hex() if ctype == 'double' else float(c).hex()};  // {repr(c)}")
    print()


# Reduced-argument interval: |r| <= ln2/2 plus a margin for the rounding of n = round(d/ln2)
# when the product d*log2(e) is not fused (SSE2, scalar).
R = LN2 / 2 * (1 + mp.mpf(2) ** -20)
power = lambda k: (lambda x: x ** k)

# 1) exp(r) ~ 1 + r*P(r): P's constant term is free, so exp(0) is exactly 1.
def fit_one_plus_rP(degree):
    return remez([power(j + 1) for j in range(degree + 1)], lambda r: mp.expm1(r), mp.exp, -R, R)

def check_one_plus_rP(c, r):
    return (1 + r * mp.polyval(c[::-1], r)) / mp.exp(r) - 1

# 2) exp(r) ~ 1 + r + r^2 Q(r): the leading 1 + r is added exactly by the caller.
def fit_Q(degree):
    return remez([power(j + 2) for j in range(degree + 1)], lambda r: mp.expm1(r) - r, mp.exp, -R, R)

def check_Q(c, r):
    return (1 + r + r * r * mp.polyval(c[::-1], r)) / mp.exp(r) - 1

print("// ---- exp(r) = 1 + r * P(r), double coefficients (float data, double arithmetic)")
# Degree 5: the forward kernels (2^-28.5). Degree 8: gradient kernels, where
# alpha * p - beta may cancel and p itself is needed to ~2^-43.
for deg in (5, 8):
    report(f"P degree {deg}", fit_one_plus_rP(deg), to_double, check_one_plus_rP, -R, R, "double")
print("// ---- exp(r) = 1 + r + r^2 * Q(r), double coefficients (double data)")
for deg in (8, 9):
    report(f"Q degree {deg}", fit_Q(deg), to_double, check_Q, -R, R, "double")
print("// ---- exp(r) = 1 + r * P(r), float coefficients (bf16/fp16 data, float arithmetic)")
for deg in (4, 5):
    report(f"P degree {deg} (float)", fit_one_plus_rP(deg), to_float, check_one_plus_rP, -R, R, "float")

# 3) The float-lane exp (math-inl.hpp, table_exp_parts): exp(r) = 1 + r + r^2 Q(r)
# on |r| <= ln2 / 2N after a table of 2^(j/N), N = 16 (AVX-512) or 8 (AVX2), with
# a margin for the float rounding of n = round(u N/ln2) at |u| = 336.
print("// ---- exp(r) = 1 + r + r^2 * Q(r), float coefficients (float lanes, table of N)")
for lanes, deg in ((16, 1), (8, 2)):
    RN = LN2 / (2 * lanes) * (1 + mp.mpf(2) ** -12)
    fit = remez([power(j + 2) for j in range(deg + 1)], lambda r: mp.expm1(r) - r, mp.exp, -RN, RN)
    report(f"N = {lanes}: Q degree {deg} (float)", fit, to_float, check_Q, -RN, RN, "float")
print("// ---- 2^(j/16) as float pairs hi + lo")
for j in range(16):
    v = mp.mpf(2) ** (mp.mpf(j) / 16)
    hi = to_float(v)
    print(f"  {{{float(hi).hex()}, {float(to_float(v - mp.mpf(hi))).hex()}}},  // 2^({j}/16)")
print()

# 4) tanh(u) = u + u^3 R(u^2) on |u| <= 0.55 (softcap), relative error of tanh.
U = mp.mpf('0.55')
def fit_tanh(degree):
    basis = [(lambda k: (lambda z: mp.sqrt(z) ** 3 * z ** k))(k) for k in range(degree + 1)]
    return remez(basis, lambda z: mp.tanh(mp.sqrt(z)) - mp.sqrt(z), lambda z: mp.tanh(mp.sqrt(z)), mp.mpf(10) ** -12, U * U)

def check_tanh(c, z):
    u = mp.sqrt(z)
    return (u + u ** 3 * mp.polyval(c[::-1], z)) / mp.tanh(u) - 1

print("// ---- tanh(u) = u + u^3 R(u^2), double coefficients (softcap)")
report("R degree 7", fit_tanh(7), to_double, check_tanh, mp.mpf(10) ** -12, U * U, "double")
