#!/usr/bin/python3
"""check_results.py against a real results file, copies of it broken in known ways, and files it
cannot judge. Run in src/tools/: python3 -m unittest -v test_check_results"""

import copy
import json
import pathlib
import subprocess
import sys
import tempfile
import unittest

HERE = pathlib.Path(__file__).resolve().parent
CHECKER = HERE / "check_results.py"
GPU_RUN = HERE.parent.parent / "perf" / "results" / "NVIDIA-H200-quickstart.json"
SCHEMA_1_RUN = HERE.parent.parent / "tests" / "data" / "NVIDIA-H200-quickstart-schema-1.json"


class CheckResultsTest(unittest.TestCase):
    def setUp(self):
        self.work = pathlib.Path(tempfile.mkdtemp())
        self.results = json.loads(GPU_RUN.read_text(encoding="utf-8"))

    def check(self, *paths):
        return subprocess.run([sys.executable, str(CHECKER), *map(str, paths)], capture_output=True, text=True,
                              check=False)

    def write(self, name, document):
        path = self.work / name
        path.write_text(json.dumps(document), encoding="utf-8")
        return path

    def test_a_gpu_run_conforms(self):
        run = self.check(GPU_RUN)
        self.assertEqual(run.returncode, 0, run.stderr)

    def test_each_breakage_is_named_with_the_path_to_the_value(self):
        breakages = {
            "records/3": lambda d: d["records"][3].pop("setup_s"),
            "records/0/sampling/unit": lambda d: d["records"][0]["sampling"].update(unit=7),
            "records/1/space": lambda d: d["records"][1].update(space="fpga"),
            "deck/run/repetitions": lambda d: d["deck"]["run"].update(repetitions=0),
            "(top)": lambda d: d.update(extra=1),
        }
        for where, breakage in breakages.items():
            with self.subTest(where=where):
                broken = copy.deepcopy(self.results)
                breakage(broken)
                run = self.check(self.write("broken.json", broken))
                self.assertEqual(run.returncode, 1, run.stderr)
                self.assertIn(f"broken.json: {where}: ", run.stderr)

    def test_files_it_cannot_judge_are_exit_2(self):
        (self.work / "not.json").write_text("{", encoding="utf-8")
        for path, message in ((SCHEMA_1_RUN, "no schema for schema_version 1"), (self.work / "not.json", "not.json"),
                              (self.work / "absent.json", "absent.json")):
            with self.subTest(path=path.name):
                run = self.check(path)
                self.assertEqual(run.returncode, 2, run.stderr)
                self.assertIn(message, run.stderr)


if __name__ == "__main__":
    unittest.main()
