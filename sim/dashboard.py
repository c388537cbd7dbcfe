"""The classroom dashboard: a Mesa SolaraViz app over the Python API (``negsim dashboard``).

Sliders set what a class argues about (pressure on each side, the balance of power, the cost of
war, how much the hardliners need to ratify, what the opening text contains); Reset builds the
ensemble with them; Step plays one day in every world and Play keeps stepping. The plots
show, as the ensemble steps, the share of worlds with each class in force day by day and the
outcome shares now (with 95% intervals). Each browser session builds its own model.

Run with ``negsim dashboard [FILE]`` (which sets the scenario and serves on 127.0.0.1), or
``solara run sim.dashboard`` with ``NEGSIM_DASHBOARD_SCENARIO`` set.
"""

from __future__ import annotations

import os

import numpy as np
import solara
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz

from sim import api

SCENARIO = os.environ.get("NEGSIM_DASHBOARD_SCENARIO", "scenarios/baseline.toml")
REPLICATIONS = int(os.environ.get("NEGSIM_DASHBOARD_REPLICATIONS", "300"))


def _colours(model) -> dict[str, str]:
    from sim.outputs.plots import class_colours

    return class_colours(model.space.class_order)


def _label(model, cid: str) -> str:
    return model.spec.classes[cid].label if cid in model.spec.classes else "No agreement"


def day_by_day(model) -> Figure:
    """Stacked shares of worlds with each class in force, day by day so far."""
    frame = model.datacollector.get_model_vars_dataframe()
    colours = _colours(model)
    fig = Figure(figsize=(6.4, 3.6), dpi=90)
    ax = fig.subplots()
    ids = model.space.class_order
    if len(frame):
        days = np.concatenate([[0], frame["day"].to_numpy()])
        shares = [
            np.concatenate([[1.0 if c == ids[-1] else 0.0], frame[f"share_{c}"].to_numpy()]) for c in ids
        ]
        ax.stackplot(
            days,
            *[100 * s for s in shares],
            colors=[colours[c] for c in ids],
            labels=[_label(model, c) for c in ids],
        )
        ax.legend(fontsize=7, loc="upper right")
    ax.set_xlim(0, model.spec.calendar.horizon_days)
    ax.set_ylim(0, 100)
    ax.set_xlabel("day", fontsize=8)
    ax.set_ylabel(f"% of {model.replications} worlds", fontsize=8)
    ax.set_title(f"In force, day by day (day {model.time:g})", fontsize=9)
    fig.tight_layout()
    return fig


def outcome_shares(model) -> Figure:
    """The share of worlds with each class in force now, with 95% intervals."""
    from sim.experiments.tally import wilson

    ids = model.space.class_order
    counts = np.array([np.sum(model.space.package_class[model.inforce] == c) for c in range(len(ids))])
    lo, hi = wilson(counts, model.replications)
    share = counts / model.replications
    colours = _colours(model)
    fig = Figure(figsize=(6.4, 3.6), dpi=90)
    ax = fig.subplots()
    y = np.arange(len(ids))[::-1]
    ax.barh(
        y,
        100 * share,
        color=[colours[c] for c in ids],
        xerr=[100 * (share - lo), 100 * (hi - share)],
        capsize=3,
    )
    for yy, s in zip(y, share, strict=True):
        ax.text(min(100 * s + 2, 88), yy, f"{100 * s:.0f}%", va="center", fontsize=8)
    ax.set_yticks(y, [_label(model, c) for c in ids], fontsize=7)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of worlds", fontsize=8)
    talking = 100 * float(np.mean(model.mediator.talking))
    ax.set_title(f"Outcome shares on day {model.time:g} (talks go on in {talking:.0f}%)", fontsize=9)
    fig.tight_layout()
    return fig


# Plain functions, not components: SolaraViz redraws them after every step.
def DayByDay(model):
    return solara.FigureMatplotlib(day_by_day(model), format="png", dependencies=[model, model.steps])


def OutcomeShares(model):
    return solara.FigureMatplotlib(outcome_shares(model), format="png", dependencies=[model, model.steps])


def Settings(model):
    with solara.Card("This ensemble") as card, solara.Column(gap="6px"):
        # Plain text, not Markdown: solara's Markdown loads a diagram library from its CDN.
        solara.Text(f"{model.spec.title}: {model.replications} worlds, seed {model.spec.seed}.")
        solara.Text(
            "Move the sliders, then Reset to build the ensemble with them; Step plays one day in "
            "every world (each world meets at its own contact times), Play keeps stepping."
        )
        solara.Text(
            "Pressure on a side: taken off its daily value of fighting on, every front, from day 0. "
            "Extra cost of war: taken off every side's daily value of each front. Hardliners' bar: "
            "added to the gain each capital's ratifiers need. Balance of power: positive favours "
            "the side whose land war gains with it."
        )
        for note in model.notes:
            solara.Warning(note)
    return card


@solara.component
def Page():
    # Each browser session renders its own Page, so each has its own model.
    model = solara.use_memo(lambda: api.classroom(SCENARIO, REPLICATIONS), [])
    params = {"scenario_file": SCENARIO, "replications": REPLICATIONS, **api.dashboard_controls(model.spec)}
    SolaraViz(
        model,
        components=[(DayByDay, 0), (OutcomeShares, 0), (Settings, 0)],
        model_params=params,
        name=f"negsim: {model.spec.title}",
    )
