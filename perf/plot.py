#!/usr/bin/python3
"""Plots and a one-page Markdown report from a klab results file.

    /usr/bin/python3 perf/plot.py RESULTS.json [--out DIR]

Reads the JSON that `klab run DECK --json RESULTS.json` writes and fills DIR (default:
<stem>-plots/ beside the results file) with PNGs and an index.md linking them. The folder is
written under a temporary name and renamed at the end, so an error never leaves half of one.
Exit status 2 with a one-line message when the file cannot be read or matplotlib is missing.
"""

import argparse
import json
import math
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

SUPPORTED_SCHEMA_VERSION = 1
EXIT_ERROR = 2

# Every figure has the same pixel size (inches x DPI) so that pages of plots line up.
FIGURE_INCHES = (12, 8)
FIGURE_DPI = 100

INDEX_NAME = "index.md"
INDEX_TITLE_PREFIX = "# klab results: "  # also how an earlier output folder is recognised

# The ANN's outer record carries (prediction, target) pairs of its test set under these keys.
PREDICTION_SAMPLE = "test_prediction_sample"
TARGET_SAMPLE = "test_target_sample"

# Axis labels of the series stages record; another series gets labels from its key.
SERIES_AXES = {
    "error_after_sweep": ("sweep", "error: mean |a_true - a|"),
    "loss_after_epoch": ("epoch", "loss (mean squared error)"),
}

# What `size` means on a sweep's x axis, by stage type.
SIZE_AXIS_LABELS = {
    "elementwise": "N (elements per array)",
    "gd": "batch size (rows per step)",
    "matmul": "N (cube root of M*K*N for rectangular shapes)",
}


class PlotError(Exception):
    """A problem worth one line to the user, after which the plotter exits with status 2."""


# ---------------------------------------------------------------------------------------------
# Reading the results file


def load_results(path):
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlotError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise PlotError(f"{path}: cannot read: {error}") from None
    try:
        results = json.loads(text)
    except json.JSONDecodeError as error:
        raise PlotError(f"{path}: not JSON ({error})") from None
    if not isinstance(results, dict) or results.get("schema") != "klab-results":
        raise PlotError(f'{path}: not a klab results file (no "schema": "klab-results"; '
                        "write one with `klab run DECK --json FILE`)")
    version = results.get("schema_version")
    if version != SUPPORTED_SCHEMA_VERSION:
        raise PlotError(f"{path}: schema_version {version} is not supported "
                        f"(this plotter reads version {SUPPORTED_SCHEMA_VERSION})")
    if not isinstance(results.get("records"), list):
        raise PlotError(f'{path}: "records" is not a list')
    return results


def number(value):
    """A finite float, or None for null, NaN, Inf and anything that is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def positive(value):
    value = number(value)
    return value if value is not None and value > 0 else None


def time_stat(record, key):
    time = record.get("time_s") or {}
    return positive(time.get(key)) if (number(time.get("count")) or 0) > 0 else None


def series_values(record, key):
    """A record's series as floats, None where the file has null or a non-finite number."""
    return [number(value) for value in (record.get("series") or {}).get(key) or []]


def unique(values):
    """The distinct values in order of first appearance."""
    return list(dict.fromkeys(values))


def by_stage(records):
    stages = {}
    for record in records:
        stages.setdefault(record.get("stage", "?"), []).append(record)
    return stages


def file_stem(text):
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-") or "stage"


# ---------------------------------------------------------------------------------------------
# Text shared by the plots and the report


def format_seconds(seconds):
    """The same units as the driver's table (src/core/report.cpp)."""
    if seconds is None:
        return "-"
    if seconds < 1e-6:
        return f"{seconds * 1e9:.1f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3f} ms"
    return f"{seconds:.3f} s"


def formatted(value, template):
    value = number(value)
    return template.format(value) if value is not None else "-"


def rate_text(record):
    if time_stat(record, "median") is None:
        return "-"
    gflops, gbytes = positive(record.get("gflop_per_s")), positive(record.get("gb_per_s"))
    if gflops is not None:
        return f"{gflops:.2f} GFLOP/s"
    if gbytes is not None:
        return f"{gbytes:.2f} GB/s"
    return "-"


def record_label(record, *fields):
    return " ".join(str(record.get(field, "?")) for field in fields)


# ---------------------------------------------------------------------------------------------
# Plots


class Plotter:
    """Draws the figures of one results file into one folder, with one colour per space and per
    variant throughout."""

    def __init__(self, pyplot, results, out_dir):
        self.plt = pyplot
        self.results = results
        self.out_dir = out_dir
        self.baseline = results.get("baseline_space", "")
        records = results["records"]
        palette = pyplot.get_cmap("tab10").colors
        self.colors = {}
        for name in unique([r.get("space") for r in records] + [r.get("variant") for r in records]):
            self.colors.setdefault(name, palette[len(self.colors) % len(palette)])
        self.ceilings = self.rate_ceilings(records)

    @staticmethod
    def rate_ceilings(records):
        """Per space, the passed record with the highest GFLOP/s in the file."""
        best = {}
        for record in records:
            rate = positive(record.get("gflop_per_s"))
            if record.get("passed") and rate is not None and time_stat(record, "median") is not None:
                space = record.get("space")
                if space not in best or rate > best[space][0]:
                    best[space] = (rate, record)
        return best

    def figure(self, rows=1, columns=1, **options):
        fig, axes = self.plt.subplots(rows, columns, figsize=FIGURE_INCHES, dpi=FIGURE_DPI, squeeze=False,
                                      **options)
        return fig, [ax for row in axes for ax in row]

    def save(self, fig, name):
        fig.savefig(self.out_dir / name, dpi=FIGURE_DPI)
        self.plt.close(fig)
        return name

    def seconds_axis(self, ax, label):
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(self.plt.FuncFormatter(lambda value, _: format_seconds(value)))
        ax.set_ylabel(label)

    def grouped_bars(self, ax, groups, bars, value_of):
        """One cluster of bars per group, one bar per name in `bars`. value_of(group, bar) gives
        (value, low, high, failed) or None; low/high draw a whisker; failed bars are hatched.
        Returns whether any bar was drawn."""
        width = 0.8 / max(len(bars), 1)
        drawn_failed = False
        for index, bar in enumerate(bars):
            drawn = [(position, value_of(group, bar)) for position, group in enumerate(groups)]
            drawn = [(position, value) for position, value in drawn if value is not None]
            if not drawn:
                continue
            xs = [position + (index - (len(bars) - 1) / 2) * width for position, _ in drawn]
            values = [value for _, value in drawn]
            heights = [height for height, _, _, _ in values]
            whiskers = [[max(height - low, 0) if low is not None else 0 for height, low, _, _ in values],
                        [max(high - height, 0) if high is not None else 0 for height, _, high, _ in values]]
            container = ax.bar(xs, heights, width, label=bar, color=self.colors.get(bar),
                               yerr=whiskers if any(map(any, whiskers)) else None, capsize=2,
                               error_kw={"elinewidth": 0.8})
            for patch, (_, _, _, failed) in zip(container.patches, values):
                if failed:
                    patch.set_hatch("//")
                    drawn_failed = True
        ax.set_xticks(range(len(groups)))
        if len(groups) > 8:  # one line per label, upright, so that many of them still fit
            ax.set_xticklabels([group.replace("\n", " ") for group in groups], rotation=90, fontsize=8)
        else:
            ax.set_xticklabels(groups, rotation=30 if len(groups) > 4 else 0, ha="right" if len(groups) > 4 else "center")
        ax.grid(axis="y", which="both", alpha=0.3)
        if ax.patches:
            ax.legend(title="hatched: check FAILED" if drawn_failed else None, fontsize=9)
        return bool(ax.patches)

    @staticmethod
    def group_label(records):
        """How to name a record on a category axis: by case and variant, leaving out a field that
        is the same everywhere."""
        fields = [f for f in ("case", "variant") if len(unique(r.get(f) for r in records)) > 1] or ["variant"]
        return lambda record: "\n".join(str(record.get(field)) for field in fields)

    @staticmethod
    def empty_note(ax, text):
        ax.set_yticks([])
        ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="gray")

    def stage_times(self, stage, records):
        """Median time per space with min/max whiskers, and each space's speedup over the baseline."""
        label = self.group_label(records)
        groups = unique(label(r) for r in records)
        spaces = unique(r.get("space") for r in records)
        by_key = {(label(r), r.get("space")): r for r in records}

        def time_of(group, space):
            record = by_key.get((group, space))
            median = record and time_stat(record, "median")
            if not median:
                return None
            return median, time_stat(record, "min"), time_stat(record, "max"), not record.get("passed")

        def speedup_of(group, space):
            record = by_key.get((group, space))
            ratio = record and positive(record.get("speedup_vs_baseline"))
            return (ratio, None, None, not record.get("passed")) if ratio else None

        fig, (times, ratios) = self.figure(2, 1, sharex=True, layout="constrained")
        fig.suptitle(f"{stage}: time per execution space (median, whiskers min..max)")
        if self.grouped_bars(times, groups, spaces, time_of):
            self.seconds_axis(times, "time per repetition")
        else:
            self.empty_note(times, "no timed records")
        others = [s for s in spaces if s != self.baseline]
        if self.grouped_bars(ratios, groups, others, speedup_of):
            ratios.set_yscale("log")
            ratios.axhline(1.0, color="black", linewidth=0.8)
            ratios.yaxis.set_major_formatter(self.plt.FuncFormatter(lambda value, _: f"{value:g}x"))
        else:
            self.empty_note(ratios, f"no space to compare with the baseline {self.baseline}")
        ratios.set_ylabel(f"speedup: {self.baseline} time / space time\n(above 1: space faster)")
        return self.save(fig, f"{file_stem(stage)}-time.png")

    def sweep(self, stage, records, crossovers):
        """Time against size, log-log, a panel per variant measured at several sizes, a line per
        space, and where the crossover list says one space starts to win."""
        measured = [r for r in records if time_stat(r, "median") and positive(r.get("size"))]
        variants = [v for v in unique(r.get("variant") for r in measured)
                    if len({r["size"] for r in measured if r.get("variant") == v}) > 1]
        if not variants:
            return None
        fig, axes = self.figure(1, len(variants), sharey=True, layout="constrained")
        fig.suptitle(f"{stage}: time against size (median, band min..max)")
        for ax, variant in zip(axes, variants):
            timed = [r for r in measured if r.get("variant") == variant]
            for space in unique(r.get("space") for r in timed):
                line = sorted((r for r in timed if r.get("space") == space), key=lambda r: r["size"])
                sizes = [r["size"] for r in line]
                ax.plot(sizes, [time_stat(r, "median") for r in line], marker="o", label=space,
                        color=self.colors.get(space))
                ax.fill_between(sizes, [time_stat(r, "min") or time_stat(r, "median") for r in line],
                                [time_stat(r, "max") or time_stat(r, "median") for r in line],
                                color=self.colors.get(space), alpha=0.15, linewidth=0)
            ax.set_xscale("log")
            self.seconds_axis(ax, "time per repetition")
            ax.set_xlabel(SIZE_AXIS_LABELS.get(records[0].get("stage_type"), "size"))
            ax.set_title(variant)
            ax.grid(which="both", alpha=0.3)
            self.mark_crossovers(ax, [c for c in crossovers if c.get("stage") == stage and c.get("variant") == variant],
                                 {r.get("case"): r.get("size") for r in timed})
            ax.legend(fontsize=9, loc="upper left")
        return self.save(fig, f"{file_stem(stage)}-sweep.png")

    def mark_crossovers(self, ax, crossovers, size_of_case):
        always = []
        for crossover in crossovers:
            winner, loser = crossover.get("winner"), crossover.get("loser")
            size = positive(size_of_case.get(crossover.get("from_case")))
            if crossover.get("verdict") == "from" and size is not None:
                ax.axvline(size, color=self.colors.get(winner), linestyle="--", linewidth=1.2)
                ax.annotate(f"{winner} faster than {loser}\nfrom {crossover['from_case']}", xy=(size, 0.02),
                            xycoords=("data", "axes fraction"), xytext=(4, 0), textcoords="offset points",
                            fontsize=8, color=self.colors.get(winner), rotation=90, va="bottom")
            else:
                always.append(f"{winner} faster than {loser} at every size")
        if always:
            ax.text(0.98, 0.02, "\n".join(always), transform=ax.transAxes, ha="right", va="bottom", fontsize=8)

    def matmul_rates(self, stage, records):
        """GFLOP/s per variant, a panel per space, against the best rate measured on that space."""
        spaces = [s for s in unique(r.get("space") for r in records)
                  if any(positive(r.get("gflop_per_s")) for r in records if r.get("space") == s)]
        if not spaces:
            return None
        variants = unique(r.get("variant") for r in records)
        cases = unique(r.get("case") for r in records)
        fig, axes = self.figure(1, len(spaces), layout="constrained")
        fig.suptitle(f"{stage}: GFLOP/s per variant against the measured ceiling")
        for ax, space in zip(axes, spaces):
            by_key = {(r.get("case"), r.get("variant")): r for r in records if r.get("space") == space}

            def rate_of(case, variant):
                record = by_key.get((case, variant))
                rate = record and time_stat(record, "median") and positive(record.get("gflop_per_s"))
                return (rate, None, None, not record.get("passed")) if rate else None

            if space in self.ceilings:  # drawn first so that the bars' legend lists it
                rate, best = self.ceilings[space]
                ax.axhline(rate, color="black", linestyle="--", linewidth=1,
                           label=f"measured ceiling: {rate:,.1f} GFLOP/s\n(best on {space} in this file:\n"
                                 f"{record_label(best, 'stage', 'variant', 'case')})")
            self.grouped_bars(ax, cases, variants, rate_of)
            ax.set_yscale("log")
            ax.set_ylabel("GFLOP/s")
            ax.set_title(space)
        return self.save(fig, f"{file_stem(stage)}-gflops.png")

    def series(self, stage, records, key):
        """A record's per-iteration series (SolveBak's error per sweep, gd's loss per epoch), a line
        per record; log scale unless a value is negative (a zero, reached exactly, is left out then)."""
        holders = [(record, [(step, value) for step, value in enumerate(series_values(record, key), start=1)
                             if value is not None]) for record in records]
        holders = [(record, points) for record, points in holders if points]
        if not holders:
            return None
        x_label, y_label = SERIES_AXES.get(key, ("step", key.replace("_", " ")))
        label_fields = [f for f in ("variant", "space", "case") if len(unique(r.get(f) for r, _ in holders)) > 1]
        fig, (ax,) = self.figure(layout="constrained")
        for record, points in holders:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="." if len(points) <= 50 else None,
                    color=self.colors.get(record.get("variant")),
                    linestyle="-" if record.get("space") == self.baseline else "--",
                    label=record_label(record, *label_fields) if label_fields else None)
        values = [value for _, points in holders for _, value in points]
        if min(values) >= 0 and max(values) > 0:
            ax.set_yscale("log", nonpositive="mask")
        if max(len(series_values(record, key)) for record, _ in holders) > 100:  # the early steps matter most
            ax.set_xscale("log")
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        ax.set_title(f"{stage}: {y_label} after each {x_label}")
        ax.grid(which="both", alpha=0.3)
        if label_fields:
            ax.legend(fontsize=9)
        return self.save(fig, f"{file_stem(stage)}-{file_stem(key.replace('_', '-'))}.png")

    def prediction_scatter(self, stage, records):
        """The seed's scatter of test predictions against targets, a panel per record."""
        holders = [(record, [(p, t) for p, t in zip(series_values(record, PREDICTION_SAMPLE),
                                                    series_values(record, TARGET_SAMPLE))
                             if p is not None and t is not None]) for record in records]
        holders = [(record, pairs) for record, pairs in holders if pairs]
        if not holders:
            return None
        fig, axes = self.figure(1, len(holders), layout="constrained")
        fig.suptitle(f"{stage}: test-set prediction against target")
        for ax, (record, pairs) in zip(axes, holders):
            ax.scatter([p for p, _ in pairs], [t for _, t in pairs], s=6, color=self.colors.get(record.get("space")))
            low = min(min(pair) for pair in pairs)
            high = max(max(pair) for pair in pairs)
            ax.plot([low, high], [low, high], color="black", linewidth=0.8, label="prediction = target")
            ax.legend(fontsize=8, loc="upper left")
            correlation = number((record.get("metrics") or {}).get("test_correlation"))
            correlation_text = f"{correlation:.7f}" if correlation is not None else "-"
            ax.set_title(f"{record_label(record, 'space', 'case')}\ntest correlation {correlation_text} "
                         f"({len(pairs)} pairs shown)", fontsize=10)
            ax.set_xlabel("prediction")
            ax.set_ylabel("target")
            ax.set_aspect("equal", adjustable="datalim")
            ax.grid(alpha=0.3)
        return self.save(fig, f"{file_stem(stage)}-scatter.png")

    def stage_plots(self, stage, records):
        """The file names of every plot drawn for one stage, in the order the report lists them."""
        names = [self.stage_times(stage, records),
                 self.sweep(stage, records, self.results.get("crossovers") or [])]
        if records[0].get("stage_type") == "matmul":
            names.append(self.matmul_rates(stage, records))
        for key in unique(k for r in records for k in (r.get("series") or {})):
            if key not in (PREDICTION_SAMPLE, TARGET_SAMPLE):
                names.append(self.series(stage, records, key))
        names.append(self.prediction_scatter(stage, records))
        return [name for name in names if name]


# ---------------------------------------------------------------------------------------------
# The report


def table_cell(value):
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(header, rows):
    lines = ["| " + " | ".join(map(table_cell, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(table_cell, row)) + " |" for row in rows]
    return lines


def gibibytes(value):
    value = number(value)
    return f"{value / 2**30:.1f} GiB" if value else "-"


def machine_rows(machine):
    spaces = ", ".join(f"{s.get('name')} (concurrency {s.get('concurrency')})"
                       for s in machine.get("execution_spaces") or [])
    gpus = "; ".join(f"{g.get('name')} (compute capability {g.get('compute_capability')}, "
                     f"{g.get('multiprocessors')} SMs, {gibibytes(g.get('memory_total_bytes'))})"
                     for g in machine.get("gpus") or []) or "none"
    environment = ", ".join(f"{k}={v}" for k, v in (machine.get("environment") or {}).items()) or "-"
    return [("Host", machine.get("hostname", "-")),
            ("CPU", f"{machine.get('cpu_model', '-')}, {machine.get('logical_cores', '-')} logical cores"),
            ("RAM", gibibytes(machine.get("ram_total_bytes"))),
            ("GPU", gpus),
            ("Kokkos", machine.get("kokkos_version", "-")),
            ("Execution spaces", spaces or "-"),
            ("Host BLAS kernels", machine.get("blas_core") or "-"),
            ("Environment", environment)]


def code_block(text, language=""):
    """A fenced block whose fence is longer than any run of backticks inside the text."""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return [fence + language, text.rstrip("\n"), fence]


def report(results, results_path, plots):
    """index.md: the machine, the deck, the plots and a table of every record."""
    records = results["records"]
    baseline = results.get("baseline_space", "")
    deck = results.get("deck") or {}
    run = deck.get("run") or {}
    failed = [r for r in records if not r.get("passed")]
    lines = [f"{INDEX_TITLE_PREFIX}{results.get('run', '?')}", "",
             f"From `{Path(results_path).name}`, written {results.get('created_utc', '?')}: "
             f"{len(records)} records, " + (f"**{len(failed)} FAILED**." if failed else "every check passed."),
             "", "## Machine", ""]
    lines += markdown_table(["", ""], machine_rows(results.get("machine") or {}))
    lines += ["", "## Deck", "",
              f"`{deck.get('path', '?')}`: run `{run.get('name', results.get('run', '?'))}` on "
              f"{', '.join(run.get('spaces') or []) or '?'}, baseline {baseline}, {run.get('warmups', '?')} warm-ups, "
              f"{run.get('repetitions', '?')} repetitions, seed {run.get('seed', '?')}.", ""]
    lines += code_block(deck.get("text") or "", "yaml")
    crossovers = results.get("crossovers") or []
    if crossovers:
        lines += ["", "## Crossovers", ""] + [f"- {c.get('summary', '?')}" for c in crossovers]
    lines += ["", "## Plots"] + ([] if plots else ["", "None: the file has no records."])
    for stage, names in plots.items():
        lines += ["", f"### {stage}", ""] + [f"![{stage}: {name}]({name})" for name in names]
    lines += ["", "## Records", ""]
    lines += markdown_table(
        ["stage", "case", "variant", "space", "median", "rate", f"{baseline}/space", "error", "check"],
        [(r.get("stage"), r.get("case"), r.get("variant"), r.get("space"), format_seconds(time_stat(r, "median")),
          rate_text(r), formatted(r.get("speedup_vs_baseline"), "{:.2f}x"), formatted(r.get("error"), "{:.1e}"),
          "ok" if r.get("passed") else "FAILED") for r in records])
    if failed:
        lines += ["", "Failures:", ""] + [f"- {record_label(r, 'stage', 'case', 'variant')} on {r.get('space')}: "
                                           f"{r.get('failure') or 'no reason given'}" for r in failed]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# The output folder


def check_replaceable(out_dir):
    """An existing DIR is replaced only when it is empty or an earlier output of this plotter."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise PlotError(f"{out_dir}: exists and is not a folder")
    index = out_dir / INDEX_NAME
    ours = index.is_file() and index.read_text(encoding="utf-8", errors="replace").startswith(INDEX_TITLE_PREFIX)
    if any(out_dir.iterdir()) and not ours:
        raise PlotError(f"{out_dir}: exists and is not an earlier plot folder; remove it or choose another --out")


def write_plots(pyplot, results, results_path, out_dir):
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    temp_dir = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        plotter = Plotter(pyplot, results, temp_dir)
        plots = {stage: plotter.stage_plots(stage, records)
                 for stage, records in by_stage(results["records"]).items()}
        (temp_dir / INDEX_NAME).write_text(report(results, results_path, plots), encoding="utf-8")
        os.chmod(temp_dir, 0o755)  # mkdtemp's folder is private; the plots are for reading
        if out_dir.exists():
            old_dir = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
            os.replace(out_dir, old_dir / out_dir.name)
            os.replace(temp_dir, out_dir)
            shutil.rmtree(old_dir, ignore_errors=True)
        else:
            os.replace(temp_dir, out_dir)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)


def import_pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as pyplot
    except ImportError as error:
        raise PlotError(f"matplotlib is not available to {sys.executable} ({error}); on Debian install it with "
                        "`apt-get install python3-matplotlib` and run this with /usr/bin/python3") from None
    return pyplot


def main(argv=None):
    parser = argparse.ArgumentParser(description="Plots and a Markdown report (index.md) from a klab results file.")
    parser.add_argument("results", help="results JSON written by `klab run DECK --json FILE`")
    parser.add_argument("--out", help="output folder (default: <stem>-plots beside the results file)")
    args = parser.parse_args(argv)
    results_path = Path(args.results)
    out_dir = Path(args.out) if args.out else results_path.with_name(f"{results_path.stem}-plots")
    try:
        results = load_results(results_path)
        check_replaceable(out_dir)
        pyplot = import_pyplot()
        write_plots(pyplot, results, results_path, out_dir)
    except PlotError as error:
        print(f"plot.py: {error}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as error:
        print(f"plot.py: cannot write {out_dir}: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(f"plot.py: wrote {out_dir / INDEX_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
