"""The classroom dashboard for a projector: a solara page over a Mesa model (``negsim dashboard``).

The model is :class:`~sim.teaching.classroom.ClassroomModel`, a Mesa model on a day clock. The page
is built from the same solara pieces as Mesa's SolaraViz, without SolaraViz's developer controls
(play and render intervals, threads, page tabs), which a class does not need and a projector
cannot afford room for. What it shows:

- the day and its date in large type, with the horizon;
- a preset per worksheet variant (each file beside the scenario that extends it and states a
  hypothesis), so the class can see each question's variant against the scenario it changes;
- the sliders, each with its value and unit shown with it; Reset builds the ensemble with them;
- Next day, Next week, and Run to the horizon in one click (the ensemble steps a day at a time);
- two plots drawn for a projector (large text, the legend beside the data, percentages clear of
  the error bars), each with the reference scenario (the file the variant extends, no slider
  moved) drawn on it: its agreement curve as a dashed line, its shares on the same day as markers.

Each browser session has its own model. Run with ``negsim dashboard [FILE]`` (which sets the
scenario and serves on 127.0.0.1), or ``solara run sim.dashboard`` with
``NEGSIM_DASHBOARD_SCENARIO`` set.
"""

from __future__ import annotations

import io
import os
import textwrap
from typing import Any

import numpy as np
import solara
from matplotlib.figure import Figure

from sim import api
from sim.teaching import classroom as cr

SCENARIO = os.environ.get("NEGSIM_DASHBOARD_SCENARIO", "scenarios/baseline.toml")
REPLICATIONS = int(os.environ.get("NEGSIM_DASHBOARD_REPLICATIONS", "300"))

# Sizes in points on a figure 8.5 inches wide at 100 dpi, shown about 650-900 pixels wide.
TITLE, TEXT, TICKS = 17, 15, 14
LABEL = 11  # the width of a bar's percentage label ("100%"), in points of the 0-118 axis
CSS = """
.v-application { font-size: 18px; }
.negsim-day { font-size: 30px; font-weight: 600; line-height: 1.2; }
.negsim-sub { font-size: 18px; color: #444; }
.negsim-control-label { font-size: 17px; font-weight: 500; }
.negsim-value { font-size: 17px; font-weight: 600; white-space: nowrap; }
.negsim-control .v-label { display: none; }
.negsim-control .v-input__slot { margin-bottom: 0; }
.v-btn { font-size: 16px !important; }
.v-select .v-label, .v-select__selection { font-size: 17px !important; }
.v-navigation-drawer { width: 360px !important; min-width: 360px !important; max-width: 360px !important; }
@media (max-width: 1100px) {
  .v-navigation-drawer { width: 290px !important; min-width: 290px !important; max-width: 290px !important; }
}
.v-card__title { word-break: normal; }
"""


def _colours(model) -> dict[str, str]:
    from sim.outputs.plots import class_colours

    return class_colours(model.space.class_order)


def _label(model, cid: str, width: int = 20) -> str:
    text = model.spec.classes[cid].label if cid in model.spec.classes else "No agreement"
    return textwrap.fill(text, width)


def _day_text(model) -> str:
    return f"day {model.time:g} ({cr.date_of(model.spec, model.time):%-d %b %Y})"


def day_by_day(model, ref: tuple[str, np.ndarray, dict[str, np.ndarray]]) -> Figure:
    """Stacked shares of worlds with each class in force, day by day so far, and the reference's
    share with any agreement in force (dashed) over the whole horizon."""
    ids = model.space.class_order
    colours = _colours(model)
    fig = Figure(figsize=(8.5, 3.7), dpi=100)
    ax = fig.subplots()
    days, shares = cr.in_force(model)
    ax.stackplot(
        days,
        *[100 * shares[c] for c in ids],
        colors=[colours[c] for c in ids],
        labels=[_label(model, c) for c in ids],
    )
    title, ref_days, ref_shares = ref
    ax.plot(
        ref_days,
        100 * (1 - ref_shares[ids[-1]]),
        color="black",
        linestyle="--",
        linewidth=2.5,
        label=textwrap.fill(f"Any agreement in {title} (reference)", 20),
    )
    ax.axvline(model.time, color="#333333", linewidth=1, linestyle=":")
    ax.set_xlim(0, model.spec.calendar.horizon_days)
    ax.set_ylim(0, 100)
    ax.set_xlabel(f"day (day 0 = {cr.date_of(model.spec, 0):%-d %b %Y})", fontsize=TEXT)
    ax.set_ylabel(f"% of {model.replications} worlds", fontsize=TEXT)
    ax.tick_params(labelsize=TICKS)
    ax.set_title(f"In force, day by day: {_day_text(model)}", fontsize=TITLE)
    # The legend beside the plot, never on the data.
    ax.legend(fontsize=TICKS - 1, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.subplots_adjust(left=0.1, right=0.66, bottom=0.19, top=0.88)
    return fig


def outcome_shares(model, ref: tuple[str, np.ndarray, dict[str, np.ndarray]]) -> Figure:
    """The share of worlds with each class in force now, with 95% intervals, and the reference's
    share on the same day as a marker on each bar."""
    from sim.experiments.tally import wilson

    ids = model.space.class_order
    counts = np.array([np.sum(model.space.package_class[model.inforce] == c) for c in range(len(ids))])
    lo, hi = wilson(counts, model.replications)
    share = counts / model.replications
    colours = _colours(model)
    fig = Figure(figsize=(8.5, 3.7), dpi=100)
    ax = fig.subplots()
    y = np.arange(len(ids))[::-1]
    ax.barh(
        y,
        100 * share,
        height=0.6,
        color=[colours[c] for c in ids],
        xerr=[100 * (share - lo), 100 * (hi - share)],
        error_kw={"elinewidth": 2, "capsize": 5, "capthick": 2},
    )
    title, ref_days, ref_shares = ref
    at = min(int(np.searchsorted(ref_days, model.time)), len(ref_days) - 1)
    marks = np.array([ref_shares[c][at] for c in ids])
    # Each percentage just past the end of its interval, or past the reference's marker where that
    # would sit under the label: never on the error bar or the marker, and near its own bar.
    for yy, s, h, m in zip(y, share, 100 * hi, 100 * marks, strict=True):
        x = h + 2.5
        if x - 3 <= m <= x + LABEL:
            x = m + 3
        ax.text(x, yy, f"{100 * s:.0f}%", va="center", fontsize=TEXT, fontweight="bold")
    ax.scatter(
        100 * marks,
        y,
        marker="D",
        s=90,
        facecolor="white",
        edgecolor="black",
        linewidth=2,
        zorder=5,
        label=textwrap.fill(f"{title} on the same day (reference)", 20),
    )
    ax.set_yticks(y, [_label(model, c, 18) for c in ids], fontsize=TICKS - 1)
    ax.set_xlim(0, 118)  # room for a label past an interval that reaches 100%
    ax.set_xticks(range(0, 101, 20))
    ax.tick_params(axis="x", labelsize=TICKS)
    ax.set_xlabel("% of worlds (bars: 95% intervals)", fontsize=TEXT)
    talking = 100 * float(np.mean(model.mediator.talking))
    ax.set_title(f"In force on {_day_text(model)}; talks go on in {talking:.0f}%", fontsize=TITLE)
    ax.legend(fontsize=TICKS - 1, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.subplots_adjust(left=0.26, right=0.66, bottom=0.19, top=0.88)
    return fig


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


@solara.component
def Control(name: str, control: dict[str, Any], value: Any, on_value) -> None:
    """One setting: its label, its value with the unit beside the slider."""
    if control["type"] == "Select":
        solara.Select(control["label"], value=value, values=control["values"], on_value=on_value)
        return
    # The label and the value with its unit above the slider (on two lines where the sidebar is
    # narrow), the slider the sidebar's full width below: a value beside it would squeeze it to
    # nothing at 1024 pixels.
    with solara.Column(gap="0px", classes=["negsim-control"]):
        with solara.Row(gap="0px 8px", style={"flex-wrap": "wrap", "justify-content": "space-between"}):
            solara.Text(control["label"], classes=["negsim-control-label"])
            solara.Text(cr.shown(control, value), classes=["negsim-value"])
        solara.SliderFloat(
            control["label"],
            value=value,
            min=control["min"],
            max=control["max"],
            step=control["step"],
            on_value=on_value,
        )


@solara.component
def Page():
    # Each browser session renders its own Page, so each has its own model.
    choices = solara.use_memo(lambda: cr.presets(SCENARIO), [])
    preset, set_preset = solara.use_state(choices[0])
    settings, set_settings = solara.use_state({})
    state = solara.use_memo(lambda: {"model": api.classroom(SCENARIO, REPLICATIONS)}, [])
    _, set_tick = solara.use_state(0)
    error, set_error = solara.use_state("")
    spec = solara.use_memo(lambda: api.load_scenario(preset.path), [preset])
    controls = solara.use_memo(lambda: api.dashboard_controls(spec), [spec])
    model = state["model"]
    ref = cr.reference(str(preset.reference), REPLICATIONS)
    horizon = model.spec.calendar.horizon_days

    def redraw():
        set_tick(lambda t: t + 1)

    def build(p: cr.Preset, values: dict[str, Any]):
        try:
            state["model"] = api.classroom(p.path, REPLICATIONS, **values)
        except ValueError as e:  # settings the scenario cannot take: one line, the last model kept
            set_error(str(e))
            return
        set_error("")
        redraw()

    def choose(title: str):
        p = next(c for c in choices if c.title == title)
        set_preset(p)
        set_settings({})
        build(p, {})

    def advance(days: float):
        cr.run_to(state["model"], state["model"].time + days)
        redraw()

    def set_value(name: str, value: Any):
        set_settings({**settings, name: value})

    solara.Style(CSS)
    with solara.AppBar():
        solara.AppBarTitle(f"negsim: {preset.title}")
    with solara.Sidebar(), solara.Column(gap="14px"):
        with solara.Card("Scenario"):
            solara.Select(
                "Worksheet variant", value=preset.title, values=[c.title for c in choices], on_value=choose
            )
            solara.Text(f"Compared with: {ref[0]}", classes=["negsim-sub"])
        with solara.Card("Run"), solara.Column(gap="10px"):
            with solara.Row(gap="8px", style={"flex-wrap": "wrap"}):
                solara.Button("Reset", color="primary", on_click=lambda: build(preset, settings))
                solara.Button(
                    "Next day", color="primary", on_click=lambda: advance(1), disabled=model.time >= horizon
                )
                solara.Button(
                    "Next week", color="primary", on_click=lambda: advance(7), disabled=model.time >= horizon
                )
            solara.Button(
                f"Run to day {horizon}",
                color="primary",
                on_click=lambda: advance(horizon),
                disabled=model.time >= horizon,
                block=True,
            )
        with solara.Card("Settings (Reset applies them)"), solara.Column(gap="12px"):
            for name, control in controls.items():
                Control(
                    name, control, settings.get(name, control["value"]), lambda v, n=name: set_value(n, v)
                )
    with solara.Column(gap="8px", style={"padding": "8px 16px"}):
        date = cr.date_of(model.spec, model.time)
        solara.Text(f"Day {model.time:g} of {horizon}: {date:%-d %B %Y}", classes=["negsim-day"])
        solara.Text(
            f"{model.spec.title}, {model.replications} worlds. Dashed line and diamonds: {ref[0]}, "
            "no setting moved.",
            classes=["negsim-sub"],
        )
        if error:
            solara.Error(error)
        for note in model.notes:
            solara.Warning(note)
        solara.Image(png(day_by_day(model, ref)), width="100%")
        solara.Image(png(outcome_shares(model, ref)), width="100%")
        Explained()


@solara.component
def Explained():
    with solara.Card("What the settings mean"), solara.Column(gap="6px"):
        # Plain text, not Markdown: solara's Markdown loads a diagram library from its CDN.
        solara.Text(
            "Values are in the units of a party's value of the terms (0 to 1). Pressure on a side: "
            "taken off its daily value of fighting on, every front, from day 0. Extra cost of war: "
            "taken off every side's daily value of each front. Hardliners' bar: added to the gain "
            "each capital's ratifiers need. Balance of power: whose way the land war leans on day 0."
        )
        solara.Text(
            "Each world meets at its own contact times; Next day plays one day in every world. A "
            "worksheet variant loads that scenario file as it is; the settings then apply on top."
        )
