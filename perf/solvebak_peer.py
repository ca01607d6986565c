#!/usr/bin/env python3
"""SolveBak's blocked and gram forms written with NumPy and, where it imports, CuPy: the peer
that klab's forms of the same algorithms are measured against (the seed notebook has only the
column loop and the batched approximation).

    python3 perf/solvebak_peer.py [--obs 100000] [--vars 1000] [--blocks 64,256] [--sweeps 10]

Blocked: per block B of columns, c = X_Bᵀe, solve (D + L_BB)·d = c with G_BB = X_BᵀX_B computed
once, then e -= X_B·d and a_B += d: the column loop's iterates, reading X twice per sweep. Gram:
one Gauss–Seidel sweep on G·a = Xᵀy as one triangular solve, (D + L)·d = Xᵀy - G·a, a += d.
blocked-inverse and gram-iteration are the same sweeps the way klab runs them, the triangles'
solves applied through products computed once: d = (D + L_BB)⁻¹·c, and a' = T⁻¹Xᵀy - (T⁻¹U)·a
(T = D + L, U the part of G above its diagonal), one gemv per sweep.
Each is first checked against the column loop on a small problem, then timed per sweep at the
given size; one JSON line per measurement.
"""
import argparse
import json
import statistics
import time

import numpy as np


def libraries():
    """(name, array module, lower-triangular solve) for NumPy with SciPy and CuPy, where they import."""
    libs = []
    try:
        import scipy.linalg

        libs.append(("numpy", np, lambda lower, rhs: scipy.linalg.solve_triangular(lower, rhs, lower=True)))
    except ImportError:
        pass
    try:
        import cupy as cp
        import cupyx.scipy.linalg

        libs.append(("cupy", cp, lambda lower, rhs: cupyx.scipy.linalg.solve_triangular(lower, rhs, lower=True)))
    except ImportError:
        pass
    return libs


def column_loop(x, y, sweeps):
    a, e, norms = np.zeros(x.shape[1]), y.copy(), np.sum(x * x, axis=0)
    for _ in range(sweeps):
        for j in range(x.shape[1]):
            da = x[:, j] @ e / norms[j]
            e -= da * x[:, j]
            a[j] += da
    return a


class Blocked:
    def __init__(self, lib, solve_lower, x, y, block):
        self.lib, self.solve_lower, self.x, self.y = lib, solve_lower, x, y
        self.blocks = [(j, min(j + block, x.shape[1])) for j in range(0, x.shape[1], block)]
        self.lower = [lib.tril(x[:, j:k].T @ x[:, j:k]) for j, k in self.blocks]
        self.start()

    def start(self):
        self.a, self.e = self.lib.zeros(self.x.shape[1]), self.y.copy()

    def sweep(self):
        for (j, k), lower in zip(self.blocks, self.lower):
            d = self.solve_lower(lower, self.x[:, j:k].T @ self.e)
            self.e -= self.x[:, j:k] @ d
            self.a[j:k] += d


class BlockedInverse(Blocked):
    def __init__(self, lib, solve_lower, x, y, block):
        super().__init__(lib, solve_lower, x, y, block)
        self.inverse = [solve_lower(lower, lib.eye(lower.shape[0])) for lower in self.lower]

    def sweep(self):
        for (j, k), inverse in zip(self.blocks, self.inverse):
            d = inverse @ (self.x[:, j:k].T @ self.e)
            self.e -= self.x[:, j:k] @ d
            self.a[j:k] += d


class Gram:
    def __init__(self, lib, solve_lower, x, y, block):
        self.lib, self.solve_lower = lib, solve_lower
        self.g, self.b = x.T @ x, x.T @ y
        self.lower = lib.tril(self.g)
        self.start()

    def start(self):
        self.a = self.lib.zeros(self.g.shape[0])

    def sweep(self):
        self.a += self.solve_lower(self.lower, self.b - self.g @ self.a)


class GramIteration(Gram):
    def __init__(self, lib, solve_lower, x, y, block):
        super().__init__(lib, solve_lower, x, y, block)
        self.k = solve_lower(self.lower, lib.triu(self.g, 1))
        self.v = solve_lower(self.lower, self.b)

    def sweep(self):
        self.a = self.v - self.k @ self.a


def emit(**fields):
    print(json.dumps(fields), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--obs", type=int, default=100_000)
    parser.add_argument("--vars", type=int, default=1000)
    parser.add_argument("--blocks", default="64,256", help="the blocked forms' block sizes, comma-separated")
    parser.add_argument("--sweeps", type=int, default=10)
    args = parser.parse_args()
    blocks = [int(b) for b in args.blocks.split(",")]
    rng = np.random.default_rng(20240901)
    small_x = rng.random((2000, 37)) - 0.5
    small_y = small_x @ (rng.random(37) - 0.5)
    reference = column_loop(small_x, small_y, 3)
    x = rng.random((args.obs, args.vars)) - 0.5
    y = x @ (rng.random(args.vars) - 0.5)
    for name, lib, solve_lower in libraries():
        sync = (lambda: lib.cuda.Device().synchronize()) if name == "cupy" else (lambda: None)
        runs = [(form, method, block) for form, method in (("blocked", Blocked), ("blocked-inverse", BlockedInverse))
                for block in blocks] + [("gram", Gram, None), ("gram-iteration", GramIteration, None)]
        for form, method, block in runs:
            check = method(lib, solve_lower, lib.asarray(small_x), lib.asarray(small_y), 8)
            for _ in range(3):
                check.sweep()
            computed = check.a.get() if name == "cupy" else check.a
            agreement = float(np.max(np.abs(computed - reference)) / np.max(np.abs(reference)))
            solver = method(lib, solve_lower, lib.asarray(x), lib.asarray(y), block)
            solver.sweep()  # warm-up: handles, plans
            solver.start()
            samples = []
            for _ in range(args.sweeps):
                sync()
                begin = time.perf_counter()
                solver.sweep()
                sync()
                samples.append(time.perf_counter() - begin)
            emit(peer=name, form=form, obs=args.obs, vars=args.vars, block=block,
                 median_s_per_sweep=statistics.median(samples), min_s_per_sweep=min(samples),
                 relative_difference_from_column_loop=agreement)


if __name__ == "__main__":
    main()
