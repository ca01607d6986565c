#!/usr/bin/python3
"""perf/plot.py on the shipped results files, on records that failed, and its errors on files it
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
PLOTTER = SOURCE_DIR / "perf" / "plot.py"
RESULTS_DIR = SOURCE_DIR / "perf" / "results"

FIGURE_PIXELS = (1200, 800)  # every figure: 12 x 8 inches at 100 DPI
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

EXPECTED_PLOTS = {
    "NVIDIA-H200-quickstart.json": [
        "elementwise-time.png", "elementwise-sweep.png",
        "matmul-time.png", "matmul-sweep.png", "matmul-gflops.png",
        "matmul-zip-reduce-time.png", "matmul-zip-reduce-gflops.png",
        "solvebak-time.png", "solvebak-error-after-sweep.png",
        "ann-time.png", "ann-scatter.png",
        "gd-time.png", "gd-loss-after-epoch.png",
    ],
    "NVIDIA-H200-seed-notebook.json": [
        "elementwise-time.png", "elementwise-sweep.png",
        "matmul-time.png", "matmul-gflops.png",
        "matmul-fusion-time.png", "matmul-fusion-gflops.png",
        "solvebak-time.png", "solvebak-error-after-sweep.png",
        "solvebak-batched-time.png", "solvebak-batched-error-after-sweep.png",
        "ann-time.png", "ann-scatter.png",
    ],
}


def png_size(path):
    """(width, height) from the IHDR chunk that every PNG starts with."""
    with open(path, "rb") as png:
        header = png.read(24)
    if header[:8] != PNG_SIGNATURE or header[12:16] != b"IHDR":
        raise AssertionError(f"{path} is not a PNG")
    return struct.unpack(">II", header[16:24])


def linked_files(index):
    return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", index.read_text(encoding="utf-8"))


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

    def quickstart_subset(self, stage):
        results = json.loads((RESULTS_DIR / "NVIDIA-H200-quickstart.json").read_text(encoding="utf-8"))
        results["records"] = [r for r in results["records"] if r["stage"] == stage]
        return results

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

    def test_shipped_results_give_every_plot_and_an_index_linking_them(self):
        for name, expected_plots in EXPECTED_PLOTS.items():
            with self.subTest(results=name):
                results_path = self.work / name
                shutil.copy(RESULTS_DIR / name, results_path)
                run = self.plot(results_path)  # the default folder: <stem>-plots beside the file
                self.assertEqual(run.returncode, 0, run.stderr)
                folder = self.work / f"{results_path.stem}-plots"
                self.assert_plot_folder(folder, expected_plots)
                index = (folder / "index.md").read_text(encoding="utf-8")
                for text in ("NVIDIA H200", "Kokkos | 3.4.01", "openmp (concurrency 16)", "inputs/", "stages:",
                             "| stage | case | variant | space | median | rate | openmp/space | error | check |"):
                    self.assertIn(text, index)

    def test_an_earlier_output_folder_is_replaced_and_no_temporary_folder_is_left(self):
        results_path = self.write_results("gd.json", self.quickstart_subset("gd"))
        out = self.work / "plots"
        for _ in range(2):
            run = self.plot(results_path, "--out", out)
            self.assertEqual(run.returncode, 0, run.stderr)
        self.assert_plot_folder(out, ["gd-time.png", "gd-loss-after-epoch.png"])
        self.assertEqual(sorted(p.name for p in self.work.iterdir()), ["gd.json", "plots"])

    def test_a_folder_that_is_not_an_earlier_output_is_left_alone(self):
        results_path = self.write_results("gd.json", self.quickstart_subset("gd"))
        (self.work / "gd-plots").mkdir()
        (self.work / "gd-plots" / "notes.txt").write_text("mine", encoding="utf-8")
        self.assert_fails_cleanly(results_path, "is not an earlier plot folder")
        self.assertEqual(sorted(p.name for p in (self.work / "gd-plots").iterdir()), ["notes.txt"])

    def test_failed_untimed_and_null_values_are_skipped(self):
        results = self.quickstart_subset("solvebak")
        untimed, failed = results["records"][0], results["records"][1]
        untimed["time_s"] = {"count": 0, "min": None, "median": None, "mean": None, "max": None, "stddev": None,
                             "samples": []}
        untimed.update(passed=False, failure="could not run", speedup_vs_baseline=None, error=None)
        failed.update(passed=False, failure="error 1 exceeds tolerance 1e-6")
        failed["series"]["error_after_sweep"][2:4] = [None, 0.0]
        results["all_passed"] = False
        run = self.plot(self.write_results("solvebak.json", results), "--out", self.work / "plots")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assert_plot_folder(self.work / "plots", ["solvebak-time.png", "solvebak-error-after-sweep.png"])
        index = (self.work / "plots" / "index.md").read_text(encoding="utf-8")
        self.assertIn("**2 FAILED**", index)
        self.assertIn("could not run", index)

    def test_unsupported_schema_version(self):
        results = self.quickstart_subset("gd")
        results["schema_version"] = 0
        path = self.write_results("old.json", results)
        self.assert_fails_cleanly(path, f"{path}: schema_version 0 is not supported (this plotter reads version 1)")

    def test_not_json(self):
        path = self.work / "table.json"
        path.write_text("stage,case,variant\n", encoding="utf-8")
        self.assert_fails_cleanly(path, f"{path}: not JSON")

    def test_json_that_is_not_a_results_file(self):
        self.assert_fails_cleanly(self.write_results("other.json", {"schema": "other"}), "not a klab results file")

    def test_missing_file(self):
        self.assert_fails_cleanly(self.work / "absent.json", "absent.json: no such file")


class MatplotlibTest(unittest.TestCase):
    def test_matplotlib_is_installed(self):
        if importlib.util.find_spec("matplotlib") is None:
            self.fail(f"{sys.executable} cannot import matplotlib: install Debian's python3-matplotlib "
                      "(apt-get install python3-matplotlib)")


if __name__ == "__main__":
    unittest.main()
