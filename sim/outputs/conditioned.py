"""Files, plots and text of a forecast conditioned on the news (``update``, ``score --prequential``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.outputs.analysis import text_table
from sim.outputs.files import write_csv
from sim.outputs.plots import _pyplot, class_colours, class_label, save


def format_update(f, draws, best, command: str) -> str:
    """The filter's steps, what the news moved and the worlds that fit best, as text."""
    from sim.analysis.conditioning import forecast_table, steps_table

    sc, s = f.scenario, f.settings
    lines = [
        f"{sc.name}: {sc.replications:,} worlds conditioned on the observations up to {f.as_of} "
        f"(reporting error {s.reporting_error:g}; resample below an effective sample size of "
        f"{s.ess_floor:g} x {sc.replications:,}; budget {s.budget_for(sc.replications):,} worlds)",
    ]
    steps = steps_table(f)
    if len(steps):
        lines += ["", text_table(steps, "{:.1f}")]
        forked = int(steps["resampled"].sum())
        lines.append(
            f"{forked} fork(s); {int(steps['simulated'].iloc[-1]):,} worlds simulated"
            if forked
            else "no resampling needed; no world forked"
        )
    else:
        lines += ["", "no observation dated on or before the as-of date: the forecast is the prior's"]
    t = forecast_table(f)
    horizon = t[t["day"] == t["day"].max()][["outcome", "prior", "posterior"]]
    lines += [
        "",
        f"at the horizon ({t['date'].max()}), share of worlds with each class in force:",
        text_table(horizon),
    ]
    if len(draws):
        moved = draws.reindex(draws["shift_in_prior_sd"].abs().sort_values(ascending=False).index).head(8)
        cols = ["quantity", "prior_mean", "posterior_mean", "shift_in_prior_sd", "sd_ratio"]
        lines += [
            "",
            "the per-world draws the news moved most (prior vs posterior):",
            text_table(moved[cols], "{:.4g}"),
        ]
    if len(best):
        lines += ["", "worlds of the prior run that fit the news best:", text_table(best, "{:.4f}")]
        j = int(best["replication"].iloc[0])
        lines.append(f"  tell the best one: {command} --replication {j}")
    return "\n".join(lines)


def write_update(folder: Path, f, draws, best) -> list[Path]:
    """steps.csv, forecast.csv (day by day, before and after), draws.csv, best_worlds.csv, and the plots."""
    from sim.analysis.conditioning import forecast_table, moving_table, steps_table

    folder = Path(folder)
    return [
        write_csv(folder / "steps.csv", steps_table(f)),
        write_csv(folder / "forecast.csv", forecast_table(f)),
        write_csv(folder / "draws.csv", draws),
        write_csv(folder / "best_worlds.csv", best),
        write_csv(folder / "moving.csv", moving_table(f)),
        save(update_figure(f), folder / "forecast.png"),
        save(draws_figure(f.scenario, draws), folder / "draws.png"),
    ]


def update_figure(f):
    """Each class's share, before (dashed) and after (solid) conditioning, from the as-of date on."""
    from sim.analysis.conditioning import forecast_table

    plt = _pyplot()
    sc = f.scenario
    t = forecast_table(f)
    colours = class_colours(list(sc.classes))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for cid, g in t.groupby("outcome", sort=False):
        ax.step(g["day"], g["prior"], where="post", color=colours[cid], ls="--", lw=1)
        ax.step(g["day"], g["posterior"], where="post", color=colours[cid], label=class_label(sc, cid))
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(f"day since {sc.calendar.start}")
    ax.set_ylabel("share of worlds with the class in force")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    ax.set_title(f"{sc.title}\nafter {f.as_of}: before (dashed) and after (solid) conditioning on the news")
    return fig


def draws_figure(sc, draws):
    """Prior vs posterior of each per-world draw: 5-95% range and mean, one row per quantity."""
    plt = _pyplot()
    n = max(len(draws), 1)
    fig, ax = plt.subplots(figsize=(8, 0.35 * n + 1.5))
    y = np.arange(len(draws))
    if len(draws):
        sd = draws["prior_sd"].to_numpy()
        sd = np.where(sd > 0, sd, 1.0)
        z = lambda col: (draws[col].to_numpy() - draws["prior_mean"].to_numpy()) / sd  # noqa: E731
        ax.hlines(y + 0.15, z("prior_p5"), z("prior_p95"), color="#999999", lw=3, label="prior 5-95%")
        ax.hlines(
            y - 0.15, z("posterior_p5"), z("posterior_p95"), color="#1f4e9c", lw=3, label="posterior 5-95%"
        )
        ax.plot(np.zeros(len(draws)), y + 0.15, "|", color="#444444")
        ax.plot(z("posterior_mean"), y - 0.15, "o", color="#1f4e9c", ms=4)
        ax.set_yticks(y, draws["quantity"], fontsize=7)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.invert_yaxis()
    ax.axvline(0, color="#cccccc", lw=0.8)
    ax.set_xlabel("in prior standard deviations from the prior mean")
    ax.set_title(f"{sc.title}\nper-world draws: prior vs posterior")
    return fig


def format_prequential(table, summary) -> str:
    cols = [
        "date",
        "question",
        "kind",
        "observed",
        "p_prequential",
        "p_static",
        "p_uniform",
        "brier_prequential",
        "brier_static",
        "brier_uniform",
    ]
    return "\n".join(
        [
            "prequential: each observation forecast with only what was observed before its date",
            text_table(table[cols]),
            "",
            "mean scores (lower is better; the log score floors probabilities at "
            f"{summary['log_floor'].iloc[0]:g}):",
            text_table(summary),
        ]
    )


def write_prequential(folder: Path, f, table, summary) -> list[Path]:
    """prequential.csv, prequential_overall.csv, moving.csv and prequential.png."""
    from sim.analysis.conditioning import moving_table

    folder = Path(folder)
    return [
        write_csv(folder / "prequential.csv", table),
        write_csv(folder / "prequential_overall.csv", summary),
        write_csv(folder / "moving.csv", moving_table(f)),
        save(moving_figure(f, table), folder / "prequential.png"),
    ]


def moving_figure(f, table):
    """One panel per class: its share day by day as forecast before any news (grey) and after each
    observation date (darker as the news accumulates); each observation a vertical mark."""
    from sim.analysis.scoring import CLASS

    plt = _pyplot()
    sc = f.scenario
    cats = [*sc.classes, "no_agreement"]
    fig, axes = plt.subplots(len(cats), 1, figsize=(8, 2.0 * len(cats) + 0.8), sharex=True)
    axes = np.atleast_1d(axes)
    days = np.arange(sc.calendar.horizon_days + 1)
    n = len(f.curves)
    for c, (cid, ax) in enumerate(zip(cats, axes, strict=True)):
        for i, (as_of, curve) in enumerate(f.curves):
            shade = 0.75 - 0.7 * i / max(n - 1, 1)
            ax.step(
                days,
                curve[:, c],
                where="post",
                color=str(shade),
                lw=1.6 if i == n - 1 else 0.9,
                label=as_of if c == 0 else None,
            )
        for r in table.itertuples():
            hit = r.kind == CLASS and r.question in ("in_force", "at_horizon") and r.observed == cid
            ax.axvline(
                r.day,
                color=class_colours(list(sc.classes))[cid] if hit else "#dddddd",
                lw=1.4 if hit else 0.6,
            )
        ax.set_ylim(0, 1.05)
        ax.set_ylabel(class_label(sc, cid), fontsize=7)
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=7, title="as of")
    axes[-1].set_xlabel(f"day since {sc.calendar.start}")
    fig.suptitle(f"{sc.title}\nthe forecast moving as the news comes in (observations marked)", fontsize=9)
    return fig
