#!/usr/bin/python3
"""src/tools/plot.py on synthetic schema-2 results of stages it cannot know, on a shipped schema-1
results file (no size_name, no sampling), on records that failed, and its errors on files it
cannot read. Runs the plotter with this interpreter (ctest passes Debian's /usr/bin/python3)."""

import importlib.util
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SOURCE_DIR = Path(os.environ.get("KLAB_SOURCE_DIR") or Path(__file__).resolve().parent.parent)
PLOTTER = SOURCE_DIR / "src" / "tools" / "plot.py"
RESULTS_DIR = SOURCE_DIR / "perf" / "results"
# An H200 run of inputs/quickstart.yaml by klab before schema 2, and one after.
SCHEMA_1_RESULTS = SOURCE_DIR / "tests" / "data" / "NVIDIA-H200-quickstart-schema-1.json"
SCHEMA_2_RESULTS = RESULTS_DIR / "NVIDIA-H200-quickstart.json"

FIGURE_PIXELS = (1200, 800)  # every figure: 12 x 8 inches at 100 DPI
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Stage names no plotter can know: whatever it draws for them comes from the records' fields.
SCHEMA_2_PLOTS = [
    "widget-time.png", "widget-setup.png", "widget-sweep.png", "widget-gbps.png",
    "relaxer-time.png", "relaxer-setup.png", "relaxer-gflops.png", "relaxer-gbps.png",
    "relaxer-residual-per-sweep.png", "relaxer-probe-values.png",
]
SCHEMA_1_PLOTS = [
    "elementwise-time.png", "elementwise-sweep.png", "elementwise-gbps.png",
    "matmul-time.png", "matmul-sweep.png", "matmul-gflops.png",
    "matmul-zip-reduce-time.png", "matmul-zip-reduce-gflops.png",
    "solvebak-time.png", "solvebak-gflops.png", "solvebak-gbps.png", "solvebak-error-after-sweep.png",
    "ann-time.png", "ann-gflops.png", "ann-gbps.png", "ann-test-prediction-sample.png", "ann-test-target-sample.png",
    "gd-time.png", "gd-gflops.png", "gd-gbps.png", "gd-loss-after-epoch.png",
]

# A scaling study: each case of one stage on 1 and 2 ranks.
SCALING_PLOTS = ["spreader-time.png", "spreader-setup.png", "spreader-sweep.png", "spreader-scaling.png",
                 "spreader-gbps.png"]
SCALING_CASES = (("rows=1000", 1000, ("split",)), ("rows=100000", 100000, ("split", "gathered")))
SCALING_SPEEDUPS = {"openmp": 1.6, "cuda": 1.2}  # on 2 ranks over 1
COMMUNICATION_SHARE = 0.25  # of the median time on 2 ranks

WIDGET_SIZES = (1000, 10000, 100000)
RELAXER_SWEEPS = 12
PROBE_VALUES = [0.5, -0.25, 0.125, 0.0, 1.0, 2.0, 3.0]  # not one per sweep: a set of values, not a trajectory


def timed(median, count):
    """`count` >= 3 samples around `median`."""
    samples = [0.9 * median] + [median] * (count - 2) + [1.2 * median]
    return {"count": count, "min": samples[0], "median": median, "mean": sum(samples) / count,
            "max": samples[-1], "stddev": 0.1 * median, "samples": samples}


def record(stage, stage_type, variant, space, case, size_name, size, unit, count, median, baseline_median,
           bytes_per_sample=0, flops_per_sample=0, setup_s=0.0, transfer_s=None, series=None):
    """A record as src/core/report.cpp writes it in schema 2."""
    return {
        "stage": stage, "stage_type": stage_type, "variant": variant, "space": space, "case": case,
        "size_name": size_name, "size": size, "sampling": {"unit": unit, "count": count, "warmups": 1},
        "setup_s": setup_s, "transfer_s": transfer_s, "time_s": timed(median, count),
        "bytes": bytes_per_sample, "flops": flops_per_sample,
        "gb_per_s": bytes_per_sample / median * 1e-9, "gflop_per_s": flops_per_sample / median * 1e-9,
        "speedup_vs_baseline": baseline_median / median, "check": "max error vs host", "error": 1e-12,
        "tolerance": 1e-9, "passed": True, "failure": "", "notes": {}, "metrics": {}, "series": series or {},
    }


def schema_2_results():
    """Two made-up stages on openmp (the baseline) and cuda: "widget" swept over rows with
    repetitions, counting bytes; "relaxer" timed per sweep, counting bytes and FLOPs, with a
    series per sweep and one of another length. Only cuda's setup measured transfers."""
    records = []
    setup = {"openmp": (1e-3, None), "cuda": (4e-3, 2e-3)}
    for size in WIDGET_SIZES:
        for variant, factor in (("plain", 1.0), ("fused", 0.8)):
            medians = {"openmp": factor * (1e-6 + size * 2e-9), "cuda": factor * (1e-5 + size * 1e-10)}
            for space, median in medians.items():
                records.append(record("widget", "stretch", variant, space, f"rows={size}", "rows", size, "repetition",
                                      5, median, medians["openmp"], bytes_per_sample=16 * size,
                                      setup_s=setup[space][0], transfer_s=setup[space][1]))
    residuals = [10.0 ** -sweep for sweep in range(RELAXER_SWEEPS)]
    for variant, factor in (("jacobi", 1.0), ("gauss-seidel", 1.5)):
        medians = {"openmp": factor * 3e-4, "cuda": factor * 2e-5}
        for space, median in medians.items():
            records.append(record("relaxer", "iterate", variant, space, "grid=64", "cells", 4096, "sweep",
                                  RELAXER_SWEEPS, median, medians["openmp"], bytes_per_sample=8 * 4096 * 5,
                                  flops_per_sample=6 * 4096, setup_s=setup[space][0], transfer_s=setup[space][1],
                                  series={"residual_per_sweep": residuals, "probe_values": PROBE_VALUES}))
    crossovers = [{"stage": "widget", "variant": variant, "winner": "cuda", "loser": "openmp", "verdict": "from",
                   "from_case": "rows=10000",
                   "summary": f"widget/{variant}: cuda is faster than openmp from rows=10000 up "
                              "(rows=1000 .. rows=100000)"}
                  for variant in ("plain", "fused")]
    return {
        "schema": "klab-results", "schema_version": 2, "created_utc": "2025-01-01T00:00:00Z", "run": "synthetic",
        "baseline_space": "openmp", "all_passed": True, "interrupted": False, "interrupted_by": None,
        "machine": {"hostname": "testhost", "cpu_model": "Test CPU", "logical_cores": 4, "ram_total_bytes": 2 ** 34,
                    "kokkos_version": "4.5.01",
                    "gpus": [{"name": "Test GPU", "compute_capability": "9.0", "multiprocessors": 132,
                              "memory_total_bytes": 2 ** 36}],
                    "execution_spaces": [{"name": "openmp", "concurrency": 4}, {"name": "cuda", "concurrency": 1}],
                    "environment": {"OMP_PROC_BIND": "spread"}},
        "deck": {"path": "inputs/synthetic.yaml", "text": "stages:\n  - widget: {}\n  - relaxer: {}\n",
                 "run": {"name": "synthetic", "spaces": ["openmp", "cuda"], "baseline": "openmp", "warmups": 1,
                         "repetitions": 5, "seed": 7}},
        "records": records,
        "crossovers": crossovers,
    }


def scaling_results():
    """The synthetic results with one made-up stage, "spreader", measured on run.ranks [1, 2]:
    case rows=1000 in variant "split", case rows=100000 in "split" and "gathered", on openmp (the
    baseline) and cuda, counting bytes. Each space speeds up by SCALING_SPEEDUPS on 2 ranks."""
    results = schema_2_results()
    results["deck"]["run"].update(ranks=[1, 2], collectives="mpi")
    results["crossovers"] = []
    results["records"] = []
    for case, size, variants in SCALING_CASES:
        one_rank = {"openmp": size * 2e-9, "cuda": 1e-5 + size * 1e-10}
        for variant in variants:
            for count in (1, 2):
                speedups = {space: SCALING_SPEEDUPS[space] if count == 2 else 1.0 for space in one_rank}
                medians = {space: one_rank[space] / speedups[space] for space in one_rank}
                for space, median in medians.items():
                    entry = record("spreader", "spread", variant, space, case, "rows", size, "repetition", 5,
                                   median, medians["openmp"], bytes_per_sample=16 * size, setup_s=1e-3 * count)
                    entry["ranks"] = {"count": count, "scaling": {"base_ranks": 1, "speedup": speedups[space],
                                                                  "efficiency": speedups[space] / count}}
                    if count > 1:
                        entry["ranks"].update(fastest_rank_median_s=0.9 * median,
                                              communication_s=COMMUNICATION_SHARE * median,
                                              collectives="MPI through host memory")
                    results["records"].append(entry)
    return results


def png_size(path):
    """(width, height) from the IHDR chunk that every PNG starts with."""
    with open(path, "rb") as png:
        header = png.read(24)
    if header[:8] != PNG_SIGNATURE or header[12:16] != b"IHDR":
        raise AssertionError(f"{path} is not a PNG")
    return struct.unpack(">II", header[16:24])


def linked_files(index):
    return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", index.read_text(encoding="utf-8"))


def table_rows(index_text):
    """The records table of an index.md as dicts, keyed by its header."""
    table = index_text.split("## Records", 1)[1].strip().splitlines()
    cells = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in table if line.startswith("|")]
    return [dict(zip(cells[0], row)) for row in cells[2:]]


def load_plotter_module():
    spec = importlib.util.spec_from_file_location("klab_plot", PLOTTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def weak_scaling_results():
    """scaling_results() as a weak scaling study (the numbers as they are: only the kind differs)."""
    results = scaling_results()
    for entry in results["records"]:
        entry["ranks"]["scaling"]["kind"] = "weak"
    return results


class PlotTest(unittest.TestCase):
    def setUp(self):
        self.work = Path(tempfile.mkdtemp(prefix="klab-plot-test-"))
        self.addCleanup(shutil.rmtree, self.work)

    def plot(self, *args):
        return subprocess.run([sys.executable, str(PLOTTER), *map(str, args)], capture_output=True, text=True,
                              timeout=300)

    def write_results(self, name, results):
        path = self.work / name
        path.write_text(json.dumps(results), encoding="utf-8")
        return path

    def assert_fails_cleanly(self, results_path, message):
        """Exit 2, one line naming the problem, and nothing written beside the input."""
        before = sorted(self.work.iterdir())
        run = self.plot(results_path)
        self.assertEqual(run.returncode, 2, run.stderr)
        self.assertIn(message, run.stderr)
        self.assertEqual(len(run.stderr.strip().splitlines()), 1, run.stderr)
        self.assertEqual(sorted(self.work.iterdir()), before)

    def assert_plot_folder(self, folder, expected_plots):
        pngs = sorted(p.name for p in folder.glob("*.png"))
        self.assertEqual(pngs, sorted(expected_plots))
        for name in pngs:
            self.assertGreater((folder / name).stat().st_size, 0, name)
            self.assertEqual(png_size(folder / name), FIGURE_PIXELS, name)
        links = linked_files(folder / "index.md")
        self.assertEqual(sorted(links), pngs)
        for link in links:
            self.assertTrue((folder / link).is_file(), link)

    def test_schema_2_results_give_plots_and_a_table_from_their_fields(self):
        results_path = self.write_results("synthetic.json", schema_2_results())
        run = self.plot(results_path)  # the default folder: <stem>-plots beside the file
        self.assertEqual(run.returncode, 0, run.stderr)
        folder = self.work / "synthetic-plots"
        self.assert_plot_folder(folder, SCHEMA_2_PLOTS)
        index = (folder / "index.md").read_text(encoding="utf-8")
        for text in ("# klab results: synthetic", "every check passed", "| Kokkos | 4.5.01 |",
                     "openmp (concurrency 4)", "Test GPU (compute capability 9.0, 132 SMs, 64.0 GiB)",
                     "`inputs/synthetic.yaml`", "relaxer: {}", "cuda is faster than openmp from rows=10000 up"):
            self.assertIn(text, index)
        rows = table_rows(index)
        self.assertEqual(list(rows[0]), ["stage", "case", "variant", "space", "samples", "median", "setup", "transfers",
                                         "GFLOP/s", "GB/s", "openmp/space", "error", "check"])
        self.assertEqual(len(rows), len(schema_2_results()["records"]))
        widget_cuda = next(r for r in rows if r["stage"] == "widget" and r["space"] == "cuda")
        self.assertEqual([widget_cuda[column] for column in ("samples", "setup", "transfers", "GFLOP/s")],
                         ["5 × repetition", "4.00 ms", "2.00 ms", "-"])
        self.assertNotEqual(widget_cuda["GB/s"], "-")
        relaxer_openmp = next(r for r in rows if r["stage"] == "relaxer" and r["space"] == "openmp")
        self.assertEqual((relaxer_openmp["samples"], relaxer_openmp["median"], relaxer_openmp["transfers"]),
                         (f"{RELAXER_SWEEPS} × sweep", "300.00 µs", "-"))
        self.assertEqual(float(relaxer_openmp["GFLOP/s"]), round(6 * 4096 / 3e-4 * 1e-9, 2))

    def test_schema_1_results_fall_back_to_neutral_names(self):
        results_path = self.work / SCHEMA_1_RESULTS.name
        shutil.copy(SCHEMA_1_RESULTS, results_path)
        run = self.plot(results_path, "--out", self.work / "plots")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assert_plot_folder(self.work / "plots", SCHEMA_1_PLOTS)
        index = (self.work / "plots" / "index.md").read_text(encoding="utf-8")
        for text in ("NVIDIA H200", "| Kokkos | 3.4.01 |", "openmp (concurrency 16)", "inputs/", "stages:"):
            self.assertIn(text, index)
        rows = table_rows(index)
        self.assertEqual(len(rows), len(json.loads(SCHEMA_1_RESULTS.read_text(encoding="utf-8"))["records"]))
        self.assertEqual({(r["samples"].split(" × ")[1], r["setup"], r["transfers"]) for r in rows},
                         {("sample", "-", "-")})

    def test_a_schema_2_gpu_run_plots_every_record_with_its_setup(self):
        results = json.loads(SCHEMA_2_RESULTS.read_text(encoding="utf-8"))
        self.assertEqual(results["schema_version"], 2)
        results_path = self.work / SCHEMA_2_RESULTS.name
        shutil.copy(SCHEMA_2_RESULTS, results_path)
        run = self.plot(results_path, "--out", self.work / "plots")
        self.assertEqual(run.returncode, 0, run.stderr)
        rows = table_rows((self.work / "plots" / "index.md").read_text(encoding="utf-8"))
        self.assertEqual(len(rows), len(results["records"]))
        self.assertNotIn("-", {r["setup"] for r in rows})
        self.assertNotIn("-", {r["transfers"] for r in rows if r["space"] == "cuda" and r["stage"] == "elementwise"})

    def test_a_scaling_study_gets_a_scaling_plot_and_rank_columns(self):
        results = scaling_results()
        run = self.plot(self.write_results("scaling.json", results), "--out", self.work / "plots")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assert_plot_folder(self.work / "plots", SCALING_PLOTS)
        index = (self.work / "plots" / "index.md").read_text(encoding="utf-8")
        self.assertIn("baseline openmp, ranks 1, 2 (mpi collectives), 1 warm-ups", index)
        rows = table_rows(index)
        self.assertEqual(list(rows[0]), ["stage", "case", "variant", "space", "ranks", "samples", "median", "setup",
                                         "transfers", "communication", "GFLOP/s", "GB/s", "openmp/space", "scaling",
                                         "error", "check"])
        self.assertEqual(len(rows), len(results["records"]))
        cells = {(r["case"], r["variant"], r["space"], r["ranks"]): (r["median"], r["communication"], r["scaling"])
                 for r in rows}
        self.assertEqual(cells["rows=100000", "split", "openmp", "1"], ("200.00 µs", "-", "1.00x 100%"))
        self.assertEqual(cells["rows=100000", "split", "openmp", "2"], ("125.00 µs", "31.25 µs", "1.60x 80%"))
        self.assertEqual(cells["rows=1000", "split", "cuda", "2"][2], "1.20x 60%")

    def test_a_weak_scaling_study_says_so_in_its_table(self):
        run = self.plot(self.write_results("weak.json", weak_scaling_results()), "--out", self.work / "plots")
        self.assertEqual(run.returncode, 0, run.stderr)
        rows = table_rows((self.work / "plots" / "index.md").read_text(encoding="utf-8"))
        cells = {(r["case"], r["variant"], r["space"], r["ranks"]): r["scaling"] for r in rows}
        self.assertEqual(cells["rows=100000", "split", "openmp", "2"], "1.60x 80% weak")

    def test_an_earlier_output_folder_is_replaced_and_no_temporary_folder_is_left(self):
        results_path = self.write_results("synthetic.json", schema_2_results())
        out = self.work / "plots"
        for _ in range(2):
            run = self.plot(results_path, "--out", out)
            self.assertEqual(run.returncode, 0, run.stderr)
        self.assert_plot_folder(out, SCHEMA_2_PLOTS)
        self.assertEqual(sorted(p.name for p in self.work.iterdir()), ["plots", "synthetic.json"])

    def test_a_folder_that_is_not_an_earlier_output_is_left_alone(self):
        results_path = self.write_results("synthetic.json", schema_2_results())
        (self.work / "synthetic-plots").mkdir()
        (self.work / "synthetic-plots" / "notes.txt").write_text("mine", encoding="utf-8")
        self.assert_fails_cleanly(results_path, "is not an earlier plot folder")
        self.assertEqual(sorted(p.name for p in (self.work / "synthetic-plots").iterdir()), ["notes.txt"])

    def test_failed_untimed_and_null_values_are_skipped(self):
        results = schema_2_results()
        results["records"] = [r for r in results["records"] if r["stage"] == "relaxer"]
        untimed, failed = results["records"][0], results["records"][1]
        untimed["time_s"] = {"count": 0, "min": None, "median": None, "mean": None, "max": None, "stddev": None,
                             "samples": []}
        untimed.update(passed=False, failure="could not run", speedup_vs_baseline=None, error=None, gb_per_s=0,
                       gflop_per_s=0, setup_s=0, series={})
        failed.update(passed=False, failure="error 1 exceeds tolerance 1e-6", transfer_s=None)
        failed["series"] = {"residual_per_sweep": [1.0, 0.1, None, 0.0] + [0.001] * (RELAXER_SWEEPS - 4)}
        results["all_passed"] = False
        run = self.plot(self.write_results("relaxer.json", results), "--out", self.work / "plots")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assert_plot_folder(self.work / "plots", [name for name in SCHEMA_2_PLOTS if name.startswith("relaxer-")])
        index = (self.work / "plots" / "index.md").read_text(encoding="utf-8")
        self.assertIn("**2 FAILED**", index)
        self.assertIn("could not run", index)
        untimed_row = table_rows(index)[0]
        self.assertEqual([untimed_row[column] for column in ("samples", "median", "setup", "GFLOP/s", "GB/s", "check")],
                         ["-", "-", "-", "-", "-", "FAILED"])

    def test_unsupported_schema_version(self):
        results = schema_2_results()
        results["schema_version"] = 3
        path = self.write_results("newer.json", results)
        self.assert_fails_cleanly(path, f"{path}: schema_version 3 is not supported (this plotter reads versions 1, 2)")

    def test_not_json(self):
        path = self.work / "table.json"
        path.write_text("stage,case,variant\n", encoding="utf-8")
        self.assert_fails_cleanly(path, f"{path}: not JSON")

    def test_json_that_is_not_a_results_file(self):
        self.assert_fails_cleanly(self.write_results("other.json", {"schema": "other"}), "not a klab results file")

    def test_missing_file(self):
        self.assert_fails_cleanly(self.work / "absent.json", "absent.json: no such file")


class DerivedAxesTest(unittest.TestCase):
    """The titles and axis labels of every figure, read before it is saved."""

    @classmethod
    def setUpClass(cls):
        cls.plot = load_plotter_module()
        cls.pyplot, cls.ticker = cls.plot.import_matplotlib()

    def figures(self, results, panel=lambda ax: (ax.get_title(), ax.get_xlabel(), ax.get_ylabel())):
        """{file name: [panel(ax) per panel]} for every plot of `results`; by default the title, x
        label and y label."""
        figures = {}

        class RecordingPlotter(self.plot.Plotter):
            def save(self, fig, name):
                figures[name] = [panel(ax) for ax in fig.axes]
                self.plt.close(fig)
                return name

        plotter = RecordingPlotter(self.pyplot, self.ticker, results, out_dir=None)
        for stage, records in self.plot.by_stage(results["records"]).items():
            plotter.stage_plots(stage, records)
        return figures

    def test_schema_2_axes_come_from_size_name_sampling_and_series_names(self):
        figures = self.figures(schema_2_results())
        self.assertEqual(sorted(figures), sorted(SCHEMA_2_PLOTS))
        self.assertEqual(figures["widget-sweep.png"], [("plain", "rows", "time per repetition"),
                                                       ("fused", "rows", "time per repetition")])
        self.assertEqual(figures["widget-time.png"][0][2], "time per repetition")
        self.assertEqual(figures["relaxer-time.png"][0][2], "time per sweep")
        self.assertEqual(figures["relaxer-residual-per-sweep.png"],
                         [("relaxer: residual per sweep", "sweep", "residual per sweep")])
        # Fewer values than samples: not one per sample, so drawn against their position.
        self.assertEqual(figures["relaxer-probe-values.png"],
                         [("relaxer: probe values", "position in the series", "probe values")])
        self.assertEqual([panel[2] for panel in figures["relaxer-gflops.png"]], ["GFLOP/s", "GFLOP/s"])
        self.assertEqual([panel[0] for panel in figures["widget-gbps.png"]], ["openmp", "cuda"])
        self.assertEqual(figures["widget-setup.png"][0][2], "setup time")

    def test_schema_1_axes_fall_back_to_size_and_sample(self):
        figures = self.figures(json.loads(SCHEMA_1_RESULTS.read_text(encoding="utf-8")))
        self.assertEqual(sorted(figures), sorted(SCHEMA_1_PLOTS))
        self.assertEqual({(x, y) for panels in (figures["elementwise-sweep.png"], figures["matmul-sweep.png"])
                          for _, x, y in panels}, {("size", "time per sample")})
        self.assertEqual(figures["gd-loss-after-epoch.png"], [("gd: loss after epoch", "sample", "loss after epoch")])
        self.assertEqual(figures["ann-test-target-sample.png"][0][1], "position in the series")

    def test_a_scaling_study_plots_speedup_efficiency_and_communication_against_ranks(self):
        figures = self.figures(scaling_results())
        self.assertEqual(sorted(figures), sorted(SCALING_PLOTS))
        self.assertEqual(figures["spreader-scaling.png"],
                         [("speed-up", "ranks", "speed-up over 1 rank"),
                          ("parallel efficiency", "ranks", "speed-up / ideal speed-up (%)"),
                          ("time in collectives", "ranks", "most time a rank spent in collectives\n"
                                                           "(% of the median time)")])
        lines = self.figures(scaling_results(), lambda ax: {line.get_label(): list(zip(*line.get_data()))
                                                             for line in ax.lines})["spreader-scaling.png"]
        speedups, efficiencies, shares = lines
        self.assertEqual(speedups["ideal: ranks / 1"], [(1, 1.0), (2, 2.0)])
        self.assertEqual(speedups["rows=100000 gathered cuda"], [(1, 1.0), (2, 1.2)])
        self.assertEqual(efficiencies["rows=1000 split openmp"], [(1, 100.0), (2, 80.0)])
        self.assertEqual(shares["rows=1000 split openmp"], [(2, 100 * COMMUNICATION_SHARE)])

    def test_a_weak_scaling_study_says_what_its_efficiency_is(self):
        figures = self.figures(weak_scaling_results())
        self.assertEqual(figures["spreader-scaling.png"][1],
                         ("parallel efficiency", "ranks", "weak: base time / time (%)"))

    def test_records_on_several_rank_counts_are_labelled_apart(self):
        """A case's records on 1 and 2 ranks differ in nothing but the count: every plot names it,
        and each gets its own bar or line."""
        results = scaling_results()
        ticks = self.figures(results, lambda ax: [tick.get_text() for tick in ax.get_xticklabels()])
        self.assertIn("rows=1000\nsplit\n2 ranks", ticks["spreader-time.png"][1])  # the lower panel: shared x
        self.assertEqual(ticks["spreader-setup.png"][0], ["rows=1000\n1 rank", "rows=1000\n2 ranks",
                                                          "rows=100000\n1 rank", "rows=100000\n2 ranks"])
        bars = self.figures(results, lambda ax: len(ax.patches))
        self.assertEqual(bars["spreader-time.png"][0], len(results["records"]))
        self.assertEqual(sum(bars["spreader-gbps.png"]), len(results["records"]))
        legends = self.figures(results, lambda ax: [text.get_text() for text in ax.get_legend().get_texts()]
                               if ax.get_legend() else [])
        self.assertEqual(legends["spreader-sweep.png"], [["openmp, 1 rank", "cuda, 1 rank", "openmp, 2 ranks",
                                                          "cuda, 2 ranks"]])

    def test_the_plotter_names_no_stage(self):
        """Every stage and stage type of the shipped results and of the synthetic ones: none may
        appear in plot.py."""
        names = {name for r in schema_2_results()["records"] + scaling_results()["records"]
                 for name in (r["stage"], r["stage_type"])}
        for path in RESULTS_DIR.glob("*.json"):
            results = json.loads(path.read_text(encoding="utf-8"))
            if results.get("schema") == "klab-results":
                names |= {name for r in results["records"] for name in (r["stage"], r["stage_type"])}
        source = PLOTTER.read_text(encoding="utf-8")
        self.assertEqual([name for name in sorted(names) if re.search(rf"\b{re.escape(name)}\b", source)], [])


class MatplotlibTest(unittest.TestCase):
    def test_matplotlib_is_installed(self):
        if importlib.util.find_spec("matplotlib") is None:
            self.fail(f"{sys.executable} cannot import matplotlib: install Debian's python3-matplotlib "
                      "(apt-get install python3-matplotlib)")


if __name__ == "__main__":
    unittest.main()
