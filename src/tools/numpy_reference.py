#!/usr/bin/env python3
"""The seed notebook's NumPy timings, measured on this machine, for klab's ratios.

    python3 src/tools/numpy_reference.py [--json PATH] [--sweeps N]

Runs the notebook's NumPy code as written there (matmul N = 2000, element-wise addition at
N = 1000 and 1e8, SolveBak 100,000 x 1,000 sequential and in batches of 100, the ANN's inner
loop of 1,000 lstsq calls and its outer normal-equation solve) and prints the median time of
each, with NumPy's version and BLAS. SolveBak is timed per sweep.
"""
import argparse
import json
import platform
import statistics
import sys
import time

import numpy as np


def timed(fn, repetitions, warmups=1):
    for _ in range(warmups):
        fn()
    samples = []
    for _ in range(repetitions):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return {"median_s": statistics.median(samples), "min_s": min(samples), "samples": samples}


def solvebak_sweep(x, x_x, e, aa, batch):
    vars_ = x.shape[1]
    if batch == 1:
        for j in range(vars_):
            da = np.dot(x[:, j], e) / x_x[j]
            e -= da * x[:, j]
            aa[j] += da
    else:
        for j in range(0, vars_, batch):
            da = np.dot(x[:, j:j + batch].T, e) / x_x[j:j + batch]
            e -= np.sum(da * x[:, j:j + batch], axis=1)
            aa[j:j + batch] += da


def ann_inner(x, yy, neurons):
    rows = x.shape[0] // neurons
    w_all = []
    for _ in range(neurons):
        ii = np.random.permutation(x.shape[0])[:rows]
        w_all.append(np.linalg.lstsq(x[ii], yy[ii], rcond=None)[0])
    return np.array(w_all)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the results there too")
    parser.add_argument("--sweeps", type=int, default=3, help="SolveBak sweeps timed (default 3)")
    args = parser.parse_args()
    rng = np.random.default_rng(20240901)
    results = {}

    n = 2000
    a, b = rng.random((n, n)), rng.random((n, n))
    results["matmul N=2000"] = timed(lambda: np.dot(a, b), 10)
    for n in (1000, 100_000_000):
        a, b = rng.random(n), rng.random(n)
        results[f"elementwise N={n}"] = timed(lambda: a + b, 10)
    del a, b

    obs, vars_ = 100_000, 1_000
    x = rng.random((obs, vars_)) - 0.5
    a_true = rng.random(vars_) - 0.5
    y = x @ a_true
    x_x = np.sum(x * x, axis=0)
    for name, batch in (("solvebak 100000x1000 sequential, per sweep", 1),
                        ("solvebak 100000x1000 batched B=100, per sweep", 100)):
        e, aa = y.copy(), np.zeros(vars_)
        results[name] = timed(lambda: solvebak_sweep(x, x_x, e, aa, batch), args.sweeps, warmups=0)

    del x, y, e
    obs, vars_, neurons = 100_000, 10, 1_000
    x = rng.random((obs, vars_)) - 0.5
    y = np.sin(np.sum(x, axis=1)) / 2
    yy = np.arctanh(y)
    results["ann inner, 1000 lstsq of 100x10"] = timed(lambda: ann_inner(x, yy, neurons), 3, warmups=0)
    layer1 = np.tanh(np.dot(x, ann_inner(x, yy, neurons).T))
    results["ann outer, normal equations 1000"] = timed(
        lambda: np.linalg.solve(layer1.T @ layer1, layer1.T @ y), 5)

    blas = {}
    try:
        blas = {k: str(v) for k, v in np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {}).items()}
    except TypeError:  # NumPy < 1.25 has no mode argument
        pass
    report = {"numpy": np.__version__, "blas": blas, "python": platform.python_version(),
              "machine": platform.processor() or platform.machine(), "results": results}
    for name, r in results.items():
        print(f"{name:48s} {r['median_s'] * 1e3:12.4f} ms")
    print(f"NumPy {np.__version__}, BLAS {blas.get('name', 'unknown')}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)


if __name__ == "__main__":
    main()
