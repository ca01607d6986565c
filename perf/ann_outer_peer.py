#!/usr/bin/env python3
"""The ANN's outer layer written with NumPy: the peer that klab's outer variant on a host space is
measured against, on the same cores.

    OMP_NUM_THREADS=2 python3 perf/ann_outer_peer.py [--obs 100000] [--neurons 1000] [--no-bias]
                                                     [--lambda 1e-6] [--repetitions 5]

The hidden layer L = [tanh(X·Wᵀ + b) | 1] (obs × neurons+1; no constant column with --no-bias)
of the seed's data, x uniform in [-0.5, 0.5) of obs × 10, with random inner weights; then
(LᵀL + λI)·v = Lᵀy timed in two ways, each on L in NumPy's row-major order (what the seed's
np.tanh(x @ W.T) makes) and in column-major order (klab's layout):
  seed      np.linalg.solve(L.T @ L + λI, L.T @ y): LU, as the seed notebook does
  cholesky  scipy.linalg.cho_factor / cho_solve (LAPACK dpotrf, dpotrs), where SciPy imports
NumPy's L.T @ L is one BLAS dsyrk. One JSON line per measurement (median and minimum of the
repetitions after one warm-up), and a first line naming the BLAS library loaded and its threads.
"""
import argparse
import json
import os
import statistics
import time

import numpy as np


def emit(**fields):
    print(json.dumps(fields), flush=True)


def blas_libraries():
    """The BLAS and LAPACK shared objects this process has loaded (Debian: the pthreads or OpenMP
    build of OpenBLAS, by their folder)."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line or "lapack" in line}
    return sorted(os.path.realpath(p) for p in paths if p.startswith("/"))


def solvers(lam):
    out = {"seed": lambda g, r: np.linalg.solve(g + lam * np.eye(g.shape[0]), r)}
    try:
        import scipy.linalg

        out["cholesky"] = lambda g, r: scipy.linalg.cho_solve(
            scipy.linalg.cho_factor(g + lam * np.eye(g.shape[0]), lower=True), r)
    except ImportError:
        pass
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--obs", type=int, default=100_000)
    parser.add_argument("--neurons", type=int, default=1000)
    parser.add_argument("--no-bias", dest="bias", action="store_false")
    parser.add_argument("--lambda", dest="lam", type=float, default=1e-6)
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(20240901)
    x = rng.random((args.obs, 10)) - 0.5
    y = np.sin(x.sum(axis=1)) / 2
    w, b = rng.standard_normal((args.neurons, 10)), rng.standard_normal(args.neurons)
    layer = np.tanh(x @ w.T + b)
    if args.bias:
        layer = np.hstack([layer, np.ones((args.obs, 1))])
    del x
    emit(numpy=np.__version__, blas=blas_libraries(), cpus=os.cpu_count(),
         threads={k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS") if k in os.environ})
    weights = {}
    for order in ("row-major", "column-major"):
        l = np.ascontiguousarray(layer) if order == "row-major" else np.asfortranarray(layer)
        for name, solve in solvers(args.lam).items():
            def outer():
                return solve(l.T @ l, l.T @ y)

            weights[(order, name)] = outer()  # warm-up
            samples = []
            for _ in range(args.repetitions):
                begin = time.perf_counter()
                outer()
                samples.append(time.perf_counter() - begin)
            emit(peer="numpy", method=name, layout=order, obs=args.obs, unknowns=l.shape[1], lam=args.lam,
                 median_s=statistics.median(samples), min_s=min(samples), samples_s=samples)
    first = next(iter(weights.values()))
    emit(max_relative_difference_between_methods=max(
        float(np.linalg.norm(v - first) / np.linalg.norm(first)) for v in weights.values()))


if __name__ == "__main__":
    main()
