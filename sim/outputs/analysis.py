"""Tables and figures of the analyses: bargaining geometry, sensitivity, forecast scores.

Terminal tables are plain text with fixed columns; files are CSV (fixed number format) and PNG
(deterministic bytes), each written atomically.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sim.outputs.files import write_csv
from sim.outputs.plots import _pyplot, class_colours, class_label, save

if TYPE_CHECKING:
    import pandas as pd

    from sim.analysis.worlds import MeanAnalysis
    from sim.scenario import Scenario


def text_table(frame: pd.DataFrame, floats: str = "{:.3f}") -> str:
    """A frame as aligned plain text (floats in a fixed format; NaN as '-')."""

    def cell(v) -> str:
        if isinstance(v, bool | np.bool_):
            return "yes" if v else "no"
        if isinstance(v, float | np.floating):
            return "-" if np.isnan(v) else ("inf" if np.isinf(v) else floats.format(v))
        return str(v)

    cols = list(frame.columns)
    rows = [[cell(v) for v in r] for r in frame.itertuples(index=False)]
    widths = [
        max(len(str(c)), *(len(r[j]) for r in rows)) if rows else len(str(c)) for j, c in enumerate(cols)
    ]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line([str(c) for c in cols]), *(line(r) for r in rows)])


# ---------------------------------------------------------------- bargaining analysis

POINT_STYLE = {
    "nash": ("*", "#d62728", "Nash (1950)"),
    "kalai_smorodinsky": ("D", "#9467bd", "Kalai-Smorodinsky (1975)"),
    "max_welfare": ("s", "#2ca02c", "maximum welfare"),
}


def format_analysis(means: MeanAnalysis, summary: pd.DataFrame | None) -> str:
    """The terminal report of ``negsim analyze``."""
    sc = means.scenario
    out = [
        f"{sc.name}: bargaining on the mean parameters (surplus over no deal: the war on every front)",
        "",
        text_table(means.zone_table()),
        "",
    ]
    pts = means.points_table()
    cols = [
        "day",
        "point",
        "outcome",
        *[c for c in pts.columns if c.startswith("surplus_")],
        "welfare",
        "terms",
    ]
    out += [text_table(pts[cols]), ""]
    if summary is not None:
        s = summary.iloc[0]
        gains = ", ".join(f"{pid} {s[f'gain_{pid}']:.3f}" for pid in sc.parties)
        out += [
            f"simulated agreements: {int(s['agreements'])} banked in {int(s['worlds'])} worlds, "
            "each measured in its own world on the day it was signed",
            "  (surplus over what was in force then, carrots counted)",
            f"  mean gain: {gains}; mean welfare {s['welfare']:.3f}",
            f"  in the zone {100 * s['zone_share']:.1f}%; Pareto-optimal {100 * s['pareto_share']:.1f}%; "
            f"the world's Nash package {100 * s['nash_share']:.1f}%",
            f"  mean distance in utility space to the frontier {s['to_frontier']:.3f}, "
            f"to the Nash package {s['to_nash']:.3f}",
        ]
    return "\n".join(out)


def write_analysis(
    folder: Path, means: MeanAnalysis, agreements: pd.DataFrame | None, summary: pd.DataFrame | None
) -> list[Path]:
    """zone.csv, points.csv, packages.csv (day 0), agreements.csv, agreement_summary.csv, utility.png."""
    folder = Path(folder)
    written = [
        write_csv(folder / "zone.csv", means.zone_table()),
        write_csv(folder / "points.csv", means.points_table()),
        write_csv(folder / "packages.csv", means.packages_table(0)),
    ]
    if agreements is not None:
        written.append(write_csv(folder / "agreements.csv", agreements))
    if summary is not None:
        written.append(write_csv(folder / "agreement_summary.csv", summary))
    written.append(save(utility_figure(means, agreements), folder / "utility.png"))
    return written


def utility_figure(means: MeanAnalysis, agreements: pd.DataFrame | None, day_index: int = 0):
    """Pairwise projections of utility space on one analysis day: every package that may be agreed,
    the zone, its Pareto frontier, the theory packages and the cloud of simulated agreements."""
    plt = _pyplot()
    sc, pr, so = means.scenario, means.problems[day_index], means.solutions[day_index]
    pids = list(sc.parties)
    pairs = list(itertools.combinations(range(len(pids)), 2))
    cols = min(len(pairs), 3)
    rows = -(-len(pairs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 4.3 * rows), squeeze=False)
    u = pr.surplus
    outside = pr.feasible & ~so.zone
    for ax, (i, j) in zip(axes.flat, pairs, strict=False):
        if agreements is not None and len(agreements):
            ax.scatter(
                agreements[f"gain_{pids[i]}"],
                agreements[f"gain_{pids[j]}"],
                s=6,
                alpha=0.15,
                color="#1f77b4",
                linewidths=0,
                label="simulated agreements (own world)",
            )
        ax.scatter(u[i, outside], u[j, outside], s=10, color="#bbbbbb", label="outside the zone")
        ax.scatter(u[i, so.zone], u[j, so.zone], s=12, color="#555555", label="zone of agreement")
        ax.scatter(
            u[i, so.frontier],
            u[j, so.frontier],
            s=28,
            facecolors="none",
            edgecolors="#ff7f0e",
            label="Pareto",
        )
        for name, p in reversed(so.points().items()):  # Nash drawn last: on top where points coincide
            if p >= 0:
                marker, colour, label = POINT_STYLE[name]
                ax.scatter(
                    u[i, p], u[j, p], marker=marker, s=110, color=colour, edgecolors="black", label=label
                )
        ax.axhline(0, color="black", lw=0.6)
        ax.axvline(0, color="black", lw=0.6)
        ax.set_xlabel(f"{sc.parties[pids[i]].label}: surplus over no deal")
        ax.set_ylabel(f"{sc.parties[pids[j]].label}: surplus over no deal")
    for ax in list(axes.flat)[len(pairs) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", frameon=False, bbox_to_anchor=(1.0, 0.5))
    day = means.days[day_index]
    fig.suptitle(f"{sc.title}\nutility space on day {day} ({means.date(day)}), mean parameters")
    fig.tight_layout()
    return fig


def _colour_for(sc: Scenario, outcome: str) -> str:
    return class_colours(list(sc.classes)).get(outcome, "#444444")


def _label(sc: Scenario, outcome: str) -> str:
    return class_label(sc, outcome)
