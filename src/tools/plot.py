#!/usr/bin/python3
"""Plots and a one-page Markdown report from a klab results file.

    /usr/bin/python3 src/tools/plot.py RESULTS.json [--out DIR]

Reads the JSON that `klab run DECK --json RESULTS.json` writes and fills DIR (default:
<stem>-plots/ beside the results file) with PNGs and an index.md linking them. The folder is
written under a temporary name and renamed at the end, so an error never leaves half of one.
Exit status 2 with a one-line message when the file cannot be read or matplotlib is missing.

The plotter knows no stage: which plots a stage gets, and their axes, come from its records'
fields (size_name, sampling, bytes, flops, setup_s, transfer_s, series), so that a new stage is
plotted without a change here.
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

SUPPORTED_SCHEMA_VERSIONS = (1, 2)
EXIT_ERROR = 2

# Every figure has the same pixel size (inches x DPI) so that pages of plots line up.
FIGURE_INCHES = (12, 8)
FIGURE_DPI = 100

INDEX_NAME = "index.md"
INDEX_TITLE_PREFIX = "# klab results: "  # also how an earlier output folder is recognised

# Schema 1 records have no size_name and no sampling: their axes get these neutral names.
FALLBACK_SIZE_NAME = "size"
FALLBACK_SAMPLE_UNIT = "sample"

# The sweep plot tells rank counts of one space apart by line style, in order of the count.
RANK_LINE_STYLES = ("-", "--", ":", "-.")

# A rate plot per quantity that a stage's records count (non-zero): (the count, the rate derived
# from it, its unit, the plot's file suffix).
RATES = (("flops", "gflop_per_s", "GFLOP/s", "gflops"),
         ("bytes", "gb_per_s", "GB/s", "gbps"))


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
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise PlotError(f"{path}: schema_version {version} is not supported (this plotter reads versions "
                        f"{', '.join(map(str, SUPPORTED_SCHEMA_VERSIONS))})")
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


def samples_taken(record):
    return int(number((record.get("time_s") or {}).get("count")) or 0)


def time_stat(record, key):
    return positive((record.get("time_s") or {}).get(key)) if samples_taken(record) else None


def series_values(record, key):
    """A record's series as floats, None where the file has null or a non-finite number."""
    return [number(value) for value in (record.get("series") or {}).get(key) or []]


def size_name(record):
    return record.get("size_name") or FALLBACK_SIZE_NAME


def sample_unit(record):
    return (record.get("sampling") or {}).get("unit") or FALLBACK_SAMPLE_UNIT


def counted(record, quantity):
    """Whether the record counts `quantity` ("bytes" or "flops") per sample."""
    return positive(record.get(quantity)) is not None


def unique(values):
    """The distinct values in order of first appearance."""
    return list(dict.fromkeys(values))


def by_stage(records):
    stages = {}
    for record in records:
        stages.setdefault(record.get("stage", "?"), []).append(record)
    return stages


def rank_count(record):
    """How many MPI ranks the record's case ran on: 1 where it has no "ranks" (one rank, outside a
    scaling study)."""
    return int(number((record.get("ranks") or {}).get("count")) or 1)


def ranks_text(count):
    return f"{count} rank" + ("" if count == 1 else "s")


def ranks_differ(records):
    """Whether the records ran on several rank counts: records of one case on different rank counts
    differ in nothing else, so a label that leaves the count out names two of them alike."""
    return len(unique(map(rank_count, records))) > 1


def labeller(records, fields, separator="\n"):
    """record -> its values of `fields`, then its rank count where `records` ran on several."""
    with_ranks = ranks_differ(records)
    return lambda record: separator.join([str(record.get(field)) for field in fields]
                                         + ([ranks_text(rank_count(record))] if with_ranks else []))


def scaling_kind(record):
    """"strong" or "weak" for a record of a scaling study (files before weak scaling: strong)."""
    return ((record.get("ranks") or {}).get("scaling") or {}).get("kind", "strong")


def scaling_value(record, key):
    """`key` of the record's ranks.scaling (speedup, efficiency, base_ranks), or None."""
    return number(((record.get("ranks") or {}).get("scaling") or {}).get(key))


def percent(fraction):
    return None if fraction is None else 100 * fraction


def communication_percent(record):
    """The most seconds a rank spent in collectives (median over samples) in percent of the median
    time, which is the slowest rank's; None on one rank, where nothing is communicated."""
    communication = number((record.get("ranks") or {}).get("communication_s"))
    median = time_stat(record, "median")
    if rank_count(record) < 2 or communication is None or not median:
        return None
    return percent(communication / median)


def file_stem(text):
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-") or "stage"


def axis_name(names):
    """One axis label for the records of a plot, which may name their axis differently."""
    return " / ".join(unique(names))


# ---------------------------------------------------------------------------------------------
# Text shared by the plots and the report


def formatted(value, template):
    value = number(value)
    return template.format(value) if value is not None else "-"


def record_label(record, *fields):
    return " ".join(str(record.get(field, "?")) for field in fields)


# ---------------------------------------------------------------------------------------------
# Plots


class Plotter:
    """Draws the figures of one results file into one folder, with one colour per space and per
    variant throughout."""

    def __init__(self, pyplot, ticker, results, out_dir):
        self.plt = pyplot
        self.ticker = ticker
        self.results = results
        self.out_dir = out_dir
        self.baseline = results.get("baseline_space", "")
        records = results["records"]
        self.palette = pyplot.get_cmap("tab10").colors
        self.colors = {}
        for name in unique([r.get("space") for r in records] + [r.get("variant") for r in records]):
            self.colors.setdefault(name, self.palette[len(self.colors) % len(self.palette)])
        self.ceilings = {rate: self.rate_ceilings(records, quantity, rate) for quantity, rate, _, _ in RATES}

    @staticmethod
    def rate_ceilings(records, quantity, rate):
        """Per space, the passed record with the highest `rate` in the file."""
        best = {}
        for record in records:
            value = positive(record.get(rate))
            if (record.get("passed") and counted(record, quantity) and value is not None
                    and time_stat(record, "median") is not None):
                space = record.get("space")
                if space not in best or value > best[space][0]:
                    best[space] = (value, record)
        return best

    def figure(self, rows=1, columns=1, **options):
        fig, axes = self.plt.subplots(rows, columns, figsize=FIGURE_INCHES, dpi=FIGURE_DPI, squeeze=False,
                                      **options)
        return fig, [ax for row in axes for ax in row]

    def save(self, fig, name):
        fig.savefig(self.out_dir / name, dpi=FIGURE_DPI)
        self.plt.close(fig)
        return name

    def log_axis(self, ax, text):
        """A log y axis labelled by text(value). Spanning less than a decade, it may show no major
        tick: then its minor ticks are labelled, in the same units (matplotlib's default would
        write them as powers of ten)."""
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(self.plt.FuncFormatter(lambda value, _: text(value)))

        def minor(value, _):
            low, high = ax.get_ylim()
            return text(value) if 0 < low < high < 10 * low else ""

        ax.yaxis.set_minor_formatter(self.plt.FuncFormatter(minor))

    def seconds_axis(self, ax, label):
        self.log_axis(ax, self.ticker.EngFormatter(unit="s"))
        ax.set_ylabel(label)

    @staticmethod
    def bar_position(group_position, bar_index, bar_count):
        """The x of bar `bar_index` of `bar_count` in the cluster at `group_position`."""
        return group_position + (bar_index - (bar_count - 1) / 2) * Plotter.bar_width(bar_count)

    @staticmethod
    def bar_width(bar_count):
        return 0.8 / max(bar_count, 1)

    def grouped_bars(self, ax, groups, bars, value_of):
        """One cluster of bars per group, one bar per name in `bars`. value_of(group, bar) gives
        (value, low, high, failed) or None; low/high draw a whisker; failed bars are hatched.
        Returns whether any bar was drawn."""
        drawn_failed = False
        for index, bar in enumerate(bars):
            drawn = [(position, value_of(group, bar)) for position, group in enumerate(groups)]
            drawn = [(position, value) for position, value in drawn if value is not None]
            if not drawn:
                continue
            xs = [self.bar_position(position, index, len(bars)) for position, _ in drawn]
            values = [value for _, value in drawn]
            heights = [height for height, _, _, _ in values]
            whiskers = [[max(height - low, 0) if low is not None else 0 for height, low, _, _ in values],
                        [max(high - height, 0) if high is not None else 0 for height, _, high, _ in values]]
            container = ax.bar(xs, heights, self.bar_width(len(bars)), label=bar, color=self.colors.get(bar),
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
        is the same everywhere, and by rank count where that differs."""
        fields = [f for f in ("case", "variant") if len(unique(r.get(f) for r in records)) > 1] or ["variant"]
        return labeller(records, fields)

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
            self.seconds_axis(times, f"time per {axis_name(sample_unit(r) for r in records)}")
        else:
            self.empty_note(times, "no timed records")
        others = [s for s in spaces if s != self.baseline]
        if self.grouped_bars(ratios, groups, others, speedup_of):
            self.log_axis(ratios, lambda value: f"{value:g}x")
            ratios.axhline(1.0, color="black", linewidth=0.8)
        else:
            self.empty_note(ratios, f"no space to compare with the baseline {self.baseline}")
        ratios.set_ylabel(f"speedup: {self.baseline} time / space time\n(above 1: space faster)")
        return self.save(fig, f"{file_stem(stage)}-time.png")

    def setup_times(self, stage, records):
        """Each case's setup per space, timed once for all its variants and apart from the samples,
        with the host<->space copies within it where the stage measured them."""
        with_setup = [r for r in records if positive(r.get("setup_s"))]
        if not with_setup:
            return None
        case_of = labeller(with_setup, ["case"])  # each rank count sets the case up anew
        cases = unique(map(case_of, with_setup))
        spaces = unique(r.get("space") for r in with_setup)
        # A case's variants share its setup: the first record of a case on a space speaks for all.
        by_key = {}
        for record in with_setup:
            by_key.setdefault((case_of(record), record.get("space")), record)

        fig, (ax,) = self.figure(layout="constrained")
        fig.suptitle(f"{stage}: setup per case (allocating, generating and copying the inputs; not in the samples)")
        transfers_label = "of which host<->space transfers"
        for index, space in enumerate(spaces):
            points = [(self.bar_position(position, index, len(spaces)), positive(by_key[case, space].get("transfer_s")))
                      for position, case in enumerate(cases) if (case, space) in by_key]
            points = [(x, seconds) for x, seconds in points if seconds is not None]
            if points:
                # Drawn before the bars, whose legend grouped_bars draws, so that it lists them too; above
                # the bars (zorder).
                ax.scatter([x for x, _ in points], [s for _, s in points], marker="_", s=400, color="black",
                           zorder=3, label=transfers_label)
                transfers_label = None

        def setup_of(case, space):
            record = by_key.get((case, space))
            return (positive(record.get("setup_s")), None, None, False) if record else None

        self.grouped_bars(ax, cases, spaces, setup_of)
        self.seconds_axis(ax, "setup time")
        return self.save(fig, f"{file_stem(stage)}-setup.png")

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
            line_of = labeller(timed, ["space"], ", ")  # a line per space and rank count
            counts = sorted(unique(map(rank_count, timed)))
            for name in unique(map(line_of, timed)):
                line = sorted((r for r in timed if line_of(r) == name), key=lambda r: r["size"])
                sizes = [r["size"] for r in line]
                space = line[0].get("space")
                style = RANK_LINE_STYLES[counts.index(rank_count(line[0])) % len(RANK_LINE_STYLES)]
                ax.plot(sizes, [time_stat(r, "median") for r in line], marker="o", label=name,
                        color=self.colors.get(space), linestyle=style)
                ax.fill_between(sizes, [time_stat(r, "min") or time_stat(r, "median") for r in line],
                                [time_stat(r, "max") or time_stat(r, "median") for r in line],
                                color=self.colors.get(space), alpha=0.15, linewidth=0)
            ax.set_xscale("log")
            self.seconds_axis(ax, f"time per {axis_name(sample_unit(r) for r in timed)}")
            ax.set_xlabel(axis_name(size_name(r) for r in timed))
            ax.set_title(variant)
            ax.grid(which="both", alpha=0.3)
            self.mark_crossovers(ax, [c for c in crossovers if c.get("stage") == stage and c.get("variant") == variant],
                                 {r.get("case"): r.get("size") for r in timed})
            ax.legend(fontsize=9, loc="upper left")
        return self.save(fig, f"{file_stem(stage)}-sweep.png")

    def scaling(self, stage, records):
        """Where the stage's records are a scaling study (run.ranks): speed-up and parallel
        efficiency against the rank count, a line per case, variant and space beside the ideal, and
        the share of the time spent in collectives, which tells whether communication is what
        keeps a case from the ideal."""
        studied = [r for r in records if scaling_value(r, "speedup") is not None]
        if not studied:
            return None
        fields = [f for f in ("case", "variant", "space") if len(unique(r.get(f) for r in studied)) > 1] or ["variant"]
        lines = {}
        for record in sorted(studied, key=rank_count):
            lines.setdefault(record_label(record, *fields), []).append(record)
        counts = sorted(unique(map(rank_count, studied)))
        bases = sorted(unique(int(scaling_value(r, "base_ranks") or 1) for r in studied))
        collectives = unique(r["ranks"]["collectives"] for r in studied if r["ranks"].get("collectives"))
        # Weak scaling (sizes per rank): the speed-up is the work per second gained, the efficiency
        # the base's time over this one's; both have the strong study's ideals.
        kinds = unique(scaling_kind(r) for r in studied)

        fig, (speedups, efficiencies, shares) = self.figure(1, 3, sharex=True, layout="constrained")
        fig.suptitle(f"{stage}: {' and '.join(kinds)} scaling over ranks (median times" +
                     "".join(f"; {c}" for c in collectives) + ")")
        for base in bases:
            speedups.plot(counts, [count / base for count in counts], color="black", linestyle="--",
                          label=f"ideal: ranks / {base}")
        efficiencies.axhline(100, color="black", linestyle="--")
        for index, (name, line) in enumerate(lines.items()):
            style = {"color": self.palette[index % len(self.palette)], "marker": "o", "label": name}
            self.rank_line(speedups, line, lambda r: scaling_value(r, "speedup"), style)
            self.rank_line(efficiencies, line, lambda r: percent(scaling_value(r, "efficiency")), style)
            self.rank_line(shares, line, communication_percent, style)
        if not shares.lines:
            self.empty_note(shares, "no record measured its collectives")
        for ax, title, y_label in ((speedups, "speed-up", f"speed-up over {axis_name(ranks_text(b) for b in bases)}"),
                                   (efficiencies, "parallel efficiency",
                                    "weak: base time / time (%)" if kinds == ["weak"] else "speed-up / ideal speed-up (%)"),
                                   (shares, "time in collectives", "most time a rank spent in collectives\n"
                                                                   "(% of the median time)")):
            ax.set_title(title)
            ax.set_xlabel("ranks")
            ax.set_ylabel(y_label)
            ax.set_xticks(counts)
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
        speedups.legend(fontsize=9)
        return self.save(fig, f"{file_stem(stage)}-scaling.png")

    @staticmethod
    def rank_line(ax, records, value_of, style):
        """value_of(record) against the rank count, leaving out the records it gives None."""
        points = [(rank_count(r), value_of(r)) for r in records]
        points = [(count, value) for count, value in points if value is not None]
        if points:
            ax.plot([count for count, _ in points], [value for _, value in points], **style)

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

    def rates(self, stage, records, quantity, rate, unit, suffix):
        """`rate` per variant, a panel per space, against the best `rate` measured on that space
        in the file; only records that count `quantity`."""
        counting = [r for r in records if counted(r, quantity)]
        spaces = [s for s in unique(r.get("space") for r in counting)
                  if any(positive(r.get(rate)) for r in counting if r.get("space") == s)]
        if not spaces:
            return None
        variants = unique(r.get("variant") for r in counting)
        case_of = labeller(counting, ["case"])
        cases = unique(map(case_of, counting))
        ceilings = self.ceilings[rate]
        fig, axes = self.figure(1, len(spaces), layout="constrained")
        fig.suptitle(f"{stage}: {unit} per variant against the measured ceiling")
        for ax, space in zip(axes, spaces):
            by_key = {(case_of(r), r.get("variant")): r for r in counting if r.get("space") == space}

            def rate_of(case, variant):
                record = by_key.get((case, variant))
                value = record and time_stat(record, "median") and positive(record.get(rate))
                return (value, None, None, not record.get("passed")) if value else None

            if space in ceilings:  # drawn first so that the bars' legend lists it
                best_rate, best = ceilings[space]
                ax.axhline(best_rate, color="black", linestyle="--", linewidth=1,
                           label=f"measured ceiling: {best_rate:,.1f} {unit}\n(best on {space} in this file:\n"
                                 f"{record_label(best, 'stage', 'variant', 'case')})")
            self.grouped_bars(ax, cases, variants, rate_of)
            ax.set_yscale("log")
            ax.set_ylabel(unit)
            ax.set_title(space)
        return self.save(fig, f"{file_stem(stage)}-{suffix}.png")

    def series(self, stage, records, key):
        """One series of the records, one colour per variant, baseline space solid or round, others
        dashed or crossed; log scale unless a value is negative (a zero, reached exactly, is left
        out then). A series with one value per sample taken (an error per sweep, a loss per epoch)
        is a trajectory: a line against the sample unit. Any other is a set of values: points
        against their position, in the order the record lists them."""
        holders = [(record, [(step, value) for step, value in enumerate(series_values(record, key), start=1)
                             if value is not None]) for record in records]
        holders = [(record, points) for record, points in holders if points]
        if not holders:
            return None
        per_sample = all(len(series_values(record, key)) == samples_taken(record) for record, _ in holders)
        y_label = key.replace("_", " ")
        held = [record for record, _ in holders]
        label = labeller(held, [f for f in ("variant", "space", "case") if len(unique(r.get(f) for r in held)) > 1],
                         " ")
        fig, (ax,) = self.figure(layout="constrained")
        for record, points in holders:
            on_baseline = record.get("space") == self.baseline
            if per_sample:
                style = {"marker": "." if len(points) <= 50 else None, "linestyle": "-" if on_baseline else "--"}
            else:
                style = {"marker": "." if on_baseline else "x", "linestyle": "none"}
            ax.plot([p[0] for p in points], [p[1] for p in points], color=self.colors.get(record.get("variant")),
                    label=label(record) or None, **style)
        values = [value for _, points in holders for _, value in points]
        if min(values) >= 0 and max(values) > 0:
            ax.set_yscale("log", nonpositive="mask")
        if per_sample:
            if max(len(points) for _, points in holders) > 100:  # the early samples matter most
                ax.set_xscale("log")
            ax.set_xlabel(axis_name(sample_unit(record) for record, _ in holders))
        else:
            ax.set_xlabel("position in the series")
        ax.set_ylabel(y_label)
        ax.set_title(f"{stage}: {y_label}")
        ax.grid(which="both", alpha=0.3)
        if any(map(label, held)):
            ax.legend(fontsize=9)
        return self.save(fig, f"{file_stem(stage)}-{file_stem(key.replace('_', '-'))}.png")

    def stage_plots(self, stage, records):
        """The file names of every plot drawn for one stage, in the order the report lists them."""
        names = [self.stage_times(stage, records),
                 self.setup_times(stage, records),
                 self.sweep(stage, records, self.results.get("crossovers") or []),
                 self.scaling(stage, records)]
        names += [self.rates(stage, records, *rate) for rate in RATES]
        names += [self.series(stage, records, key) for key in unique(k for r in records for k in r.get("series") or {})]
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


def samples_text(record):
    count = samples_taken(record)
    return f"{count} × {sample_unit(record)}" if count else "-"


def seconds_cell(value, seconds_text):
    value = positive(value)
    return seconds_text(value) if value is not None else "-"


def rate_cell(record, quantity, rate):
    return formatted(record.get(rate), "{:.2f}") if counted(record, quantity) and time_stat(record, "median") else "-"


def scaling_cell(record):
    speedup, efficiency = scaling_value(record, "speedup"), percent(scaling_value(record, "efficiency"))
    if speedup is None:
        return "-"
    return (f"{speedup:.2f}x" + (f" {efficiency:.0f}%" if efficiency is not None else "") +
            (" weak" if scaling_kind(record) == "weak" else ""))


def record_columns(records, baseline, seconds_text):
    """The records table's columns as (header, cell of a record). The rank columns are there only
    where a record has them, so that the table of a run on one rank is as it always was."""
    ranks = [r.get("ranks") or {} for r in records]

    def seconds(value_of):
        return lambda record: seconds_cell(value_of(record), seconds_text)

    def where(present, *columns):
        return list(columns) if present else []

    return [("stage", lambda r: r.get("stage")), ("case", lambda r: r.get("case")),
            ("variant", lambda r: r.get("variant")), ("space", lambda r: r.get("space")),
            *where(any(ranks), ("ranks", rank_count)),
            ("samples", samples_text),
            ("median", seconds(lambda r: time_stat(r, "median"))),
            ("setup", seconds(lambda r: r.get("setup_s"))), ("transfers", seconds(lambda r: r.get("transfer_s"))),
            *where(any("communication_s" in r for r in ranks),
                   ("communication", seconds(lambda r: (r.get("ranks") or {}).get("communication_s")))),
            *((unit, lambda r, quantity=quantity, rate=rate: rate_cell(r, quantity, rate))
              for quantity, rate, unit, _ in RATES),
            (f"{baseline}/space", lambda r: formatted(r.get("speedup_vs_baseline"), "{:.2f}x")),
            *where(any(r.get("scaling") for r in ranks), ("scaling", scaling_cell)),
            ("error", lambda r: formatted(r.get("error"), "{:.1e}")),
            ("check", lambda r: "ok" if r.get("passed") else "FAILED")]


def deck_ranks_text(run):
    """How the deck spreads its cases over ranks, for the deck's line; empty on one rank."""
    ranks = run.get("ranks") or [1]
    if ranks == [1]:
        return ""
    collectives = f" ({run['collectives']} collectives)" if run.get("collectives") else ""
    return f"ranks {', '.join(map(str, ranks))}{collectives}, "


def report(results, results_path, plots, seconds_text):
    """index.md: the machine, the deck, the plots and a table of every record. seconds_text(s)
    writes a time in seconds."""
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
              f"{', '.join(run.get('spaces') or []) or '?'}, baseline {baseline}, {deck_ranks_text(run)}"
              f"{run.get('warmups', '?')} warm-ups, "
              f"{run.get('repetitions', '?')} repetitions, seed {run.get('seed', '?')}.", ""]
    lines += code_block(deck.get("text") or "", "yaml")
    crossovers = results.get("crossovers") or []
    if crossovers:
        lines += ["", "## Crossovers", ""] + [f"- {c.get('summary', '?')}" for c in crossovers]
    lines += ["", "## Plots"] + ([] if plots else ["", "None: the file has no records."])
    for stage, names in plots.items():
        lines += ["", f"### {stage}", ""] + [f"![{stage}: {name}]({name})" for name in names]
    lines += ["", "## Records", ""]
    columns = record_columns(records, baseline, seconds_text)
    lines += markdown_table([header for header, _ in columns], [[cell(r) for _, cell in columns] for r in records])
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


def write_plots(pyplot, ticker, results, results_path, out_dir):
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    temp_dir = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        plotter = Plotter(pyplot, ticker, results, temp_dir)
        plots = {stage: plotter.stage_plots(stage, records)
                 for stage, records in by_stage(results["records"]).items()}
        seconds_text = ticker.EngFormatter(unit="s", places=2)  # the plots' axes' units, in the table
        (temp_dir / INDEX_NAME).write_text(report(results, results_path, plots, seconds_text), encoding="utf-8")
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


def import_matplotlib():
    """pyplot and matplotlib.ticker."""
    try:
        import matplotlib
        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as pyplot
        import matplotlib.ticker as ticker
    except ImportError as error:
        raise PlotError(f"matplotlib is not available to {sys.executable} ({error}); on Debian install it with "
                        "`apt-get install python3-matplotlib` and run this with /usr/bin/python3") from None
    return pyplot, ticker


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
        pyplot, ticker = import_matplotlib()
        write_plots(pyplot, ticker, results, results_path, out_dir)
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
