"""Tables and figures of the analyses: bargaining geometry, sensitivity, forecast scores.

Terminal tables are plain text with fixed columns; files are CSV (fixed number format) and PNG
(deterministic bytes), each written atomically.
"""

from __future__ import annotations

import itertools
import textwrap
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


# ---------------------------------------------------------------- sensitivity

SIDE_COLOUR = {"low": "#1f77b4", "high": "#d62728"}


def format_sensitivity(tornado, screening, top: int = 15) -> str:
    """The terminal report of ``negsim sensitivity``."""
    sc = tornado.base
    any_deal = tornado.bars()
    out = [
        f"{sc.name}: tornado, {len(tornado.moves)} parameters moved down and up one at a time, "
        f"{sc.replications} worlds per point, seed {sc.seed} at every point",
        "base shares at the horizon: "
        + ", ".join(f"{k} {100 * v:.1f}%" for k, v in tornado.base_shares.items()),
        "",
        f"change in any agreement at the horizon (points of %, 95% interval), the {top} largest effects "
        "on any outcome:",
    ]
    if len(any_deal):
        t = any_deal.head(top)
        shown = t.assign(
            low=[f"{v:.4g}" for v in t["value_low"]],
            high=[f"{v:.4g}" for v in t["value_high"]],
            d_low=[
                _pts(d, lo, hi) for d, lo, hi in zip(t["diff_low"], t["lo_low"], t["hi_low"], strict=True)
            ],
            d_high=[
                _pts(d, lo, hi) for d, lo, hi in zip(t["diff_high"], t["lo_high"], t["hi_high"], strict=True)
            ],
            largest_any_class=[f"{100 * v:.1f}" for v in t["largest"]],
        )[["path", "base", "low", "high", "d_low", "d_high", "largest_any_class", "rule"]]
        out.append(text_table(shown, "{:.4g}"))
    zero = tornado.zero()
    out += ["", f"no effect on any outcome ({len(zero)}): " + (", ".join(zero) or "none")]
    if tornado.unmoved:
        out.append(
            f"not moved ({len(tornado.unmoved)}): "
            + "; ".join(f"{p} ({why})" for p, why in tornado.unmoved.items())
        )
    if tornado.invalid:
        out.append(
            "sides that make no valid scenario: " + "; ".join(f"{k}: {v}" for k, v in tornado.invalid.items())
        )
    if screening is not None:
        t = screening.table[screening.table["outcome"] == "any_agreement"].drop(columns="outcome")
        name = "Morris elementary effects" if screening.method == "morris" else "Sobol' indices"
        out += [
            "",
            f"{name} on any agreement at the horizon ({screening.points} points over the tornado ranges):",
        ]
        out.append(text_table(t, "{:.4f}"))
    return "\n".join(out)


def _pts(d: float, lo: float, hi: float) -> str:
    return f"{100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"


def write_sensitivity(folder: Path, tornado, screening) -> list[Path]:
    """tornado.csv (every parameter, side and outcome), tornado_zero.csv, tornado.png; the
    screening's table and plot."""
    import pandas as pd

    folder = Path(folder)
    written = [write_csv(folder / "tornado.csv", tornado.frame)]
    rows = [{"path": p, "status": "no effect"} for p in tornado.zero()]
    rows += [{"path": p, "status": f"not moved: {why}"} for p, why in tornado.unmoved.items()]
    written.append(write_csv(folder / "tornado_unmoved.csv", pd.DataFrame(rows, columns=["path", "status"])))
    written.append(save(tornado_figure(tornado), folder / "tornado.png"))
    if screening is not None:
        written.append(write_csv(folder / f"{screening.method}.csv", screening.table))
        written.append(save(screening_figure(tornado.base, screening), folder / f"{screening.method}.png"))
    return written


def tornado_figure(tornado, top: int = 20):
    """One panel per outcome (any agreement first): bars of the change in its share at the horizon
    when each parameter moves down (blue) and up (red), with 95% intervals."""
    plt = _pyplot()
    sc = tornado.base
    order = list(tornado.bars()["path"][:top])[::-1]
    outcomes = ["any_agreement", *sc.classes, "no_agreement"]
    fig, axes = plt.subplots(
        1, len(outcomes), figsize=(3.2 * len(outcomes) + 3, 0.32 * max(len(order), 3) + 1.8), sharey=True
    )
    y = np.arange(len(order))
    f = tornado.frame
    for ax, outcome in zip(axes, outcomes, strict=True):
        part = f[f["outcome"] == outcome].set_index(["path", "side"])
        for side, dy in (("low", -0.18), ("high", 0.18)):
            d = np.array([part.loc[(p, side), "diff"] for p in order]) * 100 if order else np.zeros(0)
            lo = np.array([part.loc[(p, side), "lo"] for p in order]) * 100 if order else np.zeros(0)
            hi = np.array([part.loc[(p, side), "hi"] for p in order]) * 100 if order else np.zeros(0)
            ax.barh(y + dy, d, height=0.36, color=SIDE_COLOUR[side], label=f"parameter {side}")
            ax.errorbar(d, y + dy, xerr=[d - lo, hi - d], fmt="none", ecolor="black", lw=0.7)
        ax.axvline(0, color="black", lw=0.7)
        ax.set_title(class_label(sc, outcome), fontsize=9)
        ax.set_xlabel("change, points of %")
    axes[0].set_yticks(y, order, fontsize=7)
    axes[0].legend(loc="lower left", fontsize=7, frameon=False)
    fig.suptitle(f"{sc.title}\nshare in force at the horizon, each parameter moved by its stated uncertainty")
    fig.tight_layout()
    return fig


def screening_figure(sc: Scenario, screening):
    """Morris: mu* (with its 95% interval) against sigma for any agreement; Sobol': S1 and ST bars."""
    plt = _pyplot()
    t = screening.table[screening.table["outcome"] == "any_agreement"]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(t) + 2))
    y = np.arange(len(t))[::-1]
    if screening.method == "morris":
        ax.barh(
            y, t["mu_star"], xerr=t["mu_star_conf"], color="#1f77b4", label="mu* (mean |elementary effect|)"
        )
        ax.plot(t["sigma"], y, "o", color="#d62728", label="sigma (interaction / non-linearity)")
        ax.set_xlabel("effect on the share of any agreement over the parameter's tornado range")
    else:
        ax.barh(y + 0.2, t["ST"], height=0.4, xerr=t["ST_conf"], color="#d62728", label="total order ST")
        ax.barh(y - 0.2, t["S1"], height=0.4, xerr=t["S1_conf"], color="#1f77b4", label="first order S1")
        ax.set_xlabel("share of the variance of any agreement")
    ax.set_yticks(y, list(t["param"]), fontsize=8)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_title(f"{sc.title}\n{screening.method} screening, ranked")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- forecast scores


def format_scores(scores) -> str:
    """The model's scores per observation, then against each reference with the difference's interval."""
    t = scores.table
    shown = t[
        ["date", "question", "kind", "asked", "observed", "p_observed", "brier", "log", "brier_uniform"]
    ]
    o = scores.overall.iloc[0]
    lines = [f"{scores.scenario.name}: forecast scored against {int(o['observations'])} observations"]
    if scores.unchecked:
        lines.append(
            f"ILLUSTRATIVE: {scores.unchecked} entries of the observations file have no checkable source "
            "(a dated page address); read these scores as a demonstration, not as evidence."
        )
    lines += [text_table(shown), ""]
    floor = f"log score with a floor of {scores.log_floor:g}"
    zeros = int(o["zero_probability"])
    lines.append(
        f"model: Brier {o['brier']:.3f}, log {_num(o['log'])} ({floor}; {zeros} of "
        f"{int(o['observations'])} observed events had probability 0 before the floor); lower is better"
    )
    for r in scores.references.itertuples():
        who = r.label + (f" ({r.source}, made {r.made})" if r.source else "")
        lines.append(
            f"vs {r.reference}, {who}, on {r.observations} observations: its Brier {r.brier_reference:.3f}, "
            f"model minus it {_diff(r.brier_diff, r.brier_diff_lo, r.brier_diff_hi)}; its log "
            f"{_num(r.log_reference)}, model minus it {_diff(r.log_diff, r.log_diff_lo, r.log_diff_hi)}"
        )
    lines.append("(differences: mean over observations with a 95% t interval; below 0, the model did better)")
    return "\n".join(_wrapped(line) for line in lines)


def _wrapped(line: str, width: int = 100) -> str:
    """A sentence wrapped to ``width``; a table line is left as it is."""
    if "  " in line.strip():
        return line
    return "\n".join(textwrap.wrap(line, width, subsequent_indent="  ")) or line


def _diff(d: float, lo: float, hi: float) -> str:
    if np.isnan(d):
        return "n/a"
    return f"{d:+.3f}" + ("" if np.isnan(lo) else f" [{lo:+.3f}, {hi:+.3f}]")


def _num(v: float) -> str:
    return "inf" if np.isinf(v) else f"{v:.3f}"


def write_scores(folder: Path, scores, forecast, obs) -> list[Path]:
    """scores.csv, scores_overall.csv, references.csv (the model against each reference),
    forecasts.csv (every forecaster's probabilities) and forecast.png."""
    folder = Path(folder)
    return [
        write_csv(folder / "scores.csv", scores.table),
        write_csv(folder / "scores_overall.csv", scores.overall),
        write_csv(folder / "references.csv", scores.references),
        write_csv(folder / "forecasts.csv", scores.forecasts),
        save(forecast_figure(scores, forecast), folder / "forecast.png"),
    ]


def forecast_figure(scores, forecast):
    """The share of worlds with each class in force, day by day, with the observations marked: a
    class observation at its date on its class's line; an issue observation as a labelled tick."""
    plt = _pyplot()
    sc = scores.scenario
    from sim.analysis.scoring import CLASS

    cats = [*sc.classes, "no_agreement"]
    colours = class_colours(list(sc.classes))
    days = np.arange(0, sc.calendar.horizon_days + 1)
    probs = np.array([forecast.probabilities(CLASS, int(d)) for d in days])
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for j, c in enumerate(cats):
        ax.step(days, probs[:, j], where="post", color=colours[c], label=class_label(sc, c))
    for r in scores.table.itertuples():
        if r.kind == CLASS and r.question in ("in_force", "at_horizon"):
            ax.plot(r.day, r.p_observed, "o", ms=9, mfc="none", mec=colours[r.observed], mew=2)
            ax.annotate(r.date, (r.day, r.p_observed), textcoords="offset points", xytext=(4, 6), fontsize=7)
        else:
            ax.axvline(r.day, color="#888888", lw=0.6, ls=":")
            what = (
                f"{r.asked} {r.question.replace('_', ' ')}: {r.observed}"
                if r.asked
                else f"{r.kind}={r.observed}"
            )
            ax.annotate(f"{what}\np={r.p_observed:.2f}", (r.day, 1.0), fontsize=7, va="top", ha="left")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(f"day since {sc.calendar.start}")
    ax.set_ylabel("share of worlds with the class in force")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    o = scores.overall.iloc[0]
    ax.set_title(
        f"{sc.title}\nforecast and observations (circles): "
        f"Brier {o['brier']:.3f}, uniform {o['brier_uniform']:.3f}"
    )
    fig.tight_layout()
    return fig
