"""Plots of one run and of a comparison, as PNG files with deterministic bytes.

Every share is drawn with its 95% interval: a run is a sample of possible worlds, and the band says
how far the likelihood could move with more of them. A class keeps its colour in every plot: colours
follow the order of classes in the scenario files, which variants inherit through ``extends``.
matplotlib is imported here only, with the Agg backend, so the CLI starts fast and runs headless.
"""

from __future__ import annotations

import textwrap
import unicodedata
import warnings
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sim.atomic import atomic_path
from sim.engine.outcomes import NO_DEAL

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd
    from matplotlib.figure import Figure

    from sim.experiments.sweeps import Axis
    from sim.scenario import Scenario

AGREEMENT = "any_agreement"  # the total of every deal class: never a class of its own
NO_DEAL_COLOUR = "#BBBBBB"
AGREEMENT_COLOUR = "#000000"
REFERENCE_COLOUR = "#777777"
# Okabe & Ito (2008), "Color universal design": every pair of these (and the grey of no agreement)
# stays at least 10 apart in CIEDE2000 under simulated protanopia, deuteranopia and tritanopia
# (tests/test_palette.py). Hatches tell the classes apart in greyscale too.
DEAL_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442")
DEAL_HATCHES = ("", "//", "..", "\\\\", "xx", "oo", "++")
DPI = 110
VALUE_COLUMNS = {"outcome", "count", "n", "share", "lo", "hi"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # A label in a script the font lacks is drawn as boxes; that is no reason to warn the user.
    warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)

    return plt


def class_colours(class_ids: list[str]) -> dict[str, str]:
    """A colour for each deal class in order, plus grey for no agreement and black for the total."""
    deals = [c for c in class_ids if c not in (NO_DEAL, AGREEMENT)]
    out = {cid: DEAL_COLOURS[i % len(DEAL_COLOURS)] for i, cid in enumerate(deals)}
    return {**out, NO_DEAL: NO_DEAL_COLOUR, AGREEMENT: AGREEMENT_COLOUR}


def class_hatches(class_ids: list[str]) -> dict[str, str]:
    """A hatch for each deal class in order (the first plain); none for no agreement."""
    deals = [c for c in class_ids if c not in (NO_DEAL, AGREEMENT)]
    # past the palette's end colours repeat, so hatches shift to keep every class unique
    out = {cid: DEAL_HATCHES[(i + i // len(DEAL_COLOURS)) % len(DEAL_HATCHES)] for i, cid in enumerate(deals)}
    return {**out, NO_DEAL: "", AGREEMENT: ""}


def class_label(sc: Scenario, outcome: str) -> str:
    if outcome == NO_DEAL:
        return "No agreement"
    if outcome == AGREEMENT:
        return "Any agreement"
    return sc.classes[outcome].label if outcome in sc.classes else outcome


def time_axis(curve: pd.DataFrame) -> tuple[str, str]:
    """The curve's time column and its axis label: whatever the engine counts in (rounds, days)."""
    for column in curve.columns:
        if column not in VALUE_COLUMNS:
            return column, str(column).replace("_", " ")
    raise ValueError("a curve needs a time column besides " + ", ".join(sorted(VALUE_COLUMNS)))


def _label(sc: Scenario, outcome: str) -> str:
    return _text(class_label(sc, outcome), 60)


def _text(text: str, limit: int = 120) -> str:
    """A file's text as a plot shows it: one line, at most ``limit`` characters, no mathtext."""
    flat = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)
    flat = " ".join(flat.split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return flat.replace("$", r"\$")


def save(fig: Figure, path: Path) -> Path:
    """Write a PNG atomically; no software tag, so equal figures give equal bytes on any version."""
    plt = _pyplot()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    return path


def _replications(frame: pd.DataFrame) -> int:
    return int(frame["n"].iloc[0]) if len(frame) else 0


def _final_share(curve: pd.DataFrame, outcome: str) -> float:
    part = curve[curve["outcome"] == outcome]
    return float(part["share"].iloc[-1]) if len(part) else 0.0


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


# ---------------------------------------------------------------- one run


def plot_run(
    outdir: Path, sc: Scenario, curve: pd.DataFrame, shares: pd.DataFrame, first: pd.DataFrame | None = None
) -> list[Path]:
    """``curve.png`` (each class in force, day by day), ``outcomes.png`` (class shares at the horizon)
    and, given the first-in-force curves, ``first.png`` (each class in force at some time by each day)."""
    outdir = Path(outdir)
    out = [
        save(_curve_figure(sc, curve), outdir / "curve.png"),
        save(_shares_figure(sc, shares), outdir / "outcomes.png"),
    ]
    if first is not None:
        out.append(save(_first_figure(sc, first, curve), outdir / "first.png"))
    return out


def _first_figure(sc: Scenario, first: pd.DataFrame, curve: pd.DataFrame) -> Figure:
    """Each deal class first in force by each day (solid, 95% band) beside in force on that day (thin)."""
    plt = _pyplot()
    time, time_label = time_axis(first)
    colours = class_colours(list(sc.classes))
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for outcome in [*sc.classes, AGREEMENT]:
        part, now = first[first["outcome"] == outcome], curve[curve["outcome"] == outcome]
        if not len(part) or not part["share"].any():
            continue
        style = ":" if outcome == AGREEMENT else "-"
        ax.step(
            part[time],
            part["share"],
            where="post",
            color=colours[outcome],
            linestyle=style,
            linewidth=2,
            label=f"{_label(sc, outcome)}: by this day",
        )
        ax.fill_between(
            part[time], part["lo"], part["hi"], step="post", color=colours[outcome], alpha=0.15, linewidth=0
        )
        ax.step(
            now[time],
            now["share"],
            where="post",
            color=colours[outcome],
            linestyle=style,
            linewidth=0.8,
            alpha=0.8,
        )
    ax.plot([], [], color="#555555", linewidth=0.8, label="thin: in force on that day")
    ax.set_xlim(0, float(first[time].max()) if len(first) else 1)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(_percent())
    ax.set_xlabel(f"{time_label} of the talks (from {sc.calendar.start})")
    ax.set_ylabel("share of worlds")
    ax.set_title(f"{_text(sc.title)}\nfirst in force by each day, {_replications(first):,} worlds, 95% bands")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def _curve_figure(sc: Scenario, curve: pd.DataFrame) -> Figure:
    """The share of worlds with each class in force, day by day (stacked), and any agreement's band."""
    plt = _pyplot()
    time, time_label = time_axis(curve)
    colours = class_colours(list(sc.classes))
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    _stack_in_force(ax, sc, curve, colours, class_hatches(list(sc.classes)), time, time_label)
    reps = _replications(curve)
    ax.set_title(f"{_text(sc.title)}\nin force by day, {reps:,} worlds, 95% band on any agreement")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def _stack_in_force(ax, sc: Scenario, curve: pd.DataFrame, colours, hatches, time: str, label: str) -> None:
    """Stacked shares of the worlds with each class in force (from all at no agreement on day 0),
    and any agreement's line with its 95% band. A class that never occurs gets no band."""
    days = np.concatenate([[0], np.unique(curve[time])])
    bottom = np.zeros(days.size)
    for outcome in [*sc.classes, NO_DEAL]:
        part = curve[curve["outcome"] == outcome]
        if not len(part) or not part["share"].any():
            continue
        share = np.concatenate([[1.0 if outcome == NO_DEAL else 0.0], part["share"].to_numpy()])
        ax.fill_between(
            days,
            bottom,
            bottom + share,
            step="post",
            facecolor=colours[outcome],
            hatch=hatches.get(outcome) or None,
            edgecolor="white",
            linewidth=0,
            label=_label(sc, outcome),
        )
        bottom += share
    total = curve[curve["outcome"] == AGREEMENT]
    ax.step(
        total[time],
        total["share"],
        where="post",
        color=AGREEMENT_COLOUR,
        linewidth=1.4,
        label="Any agreement",
    )
    ax.fill_between(
        total[time], total["lo"], total["hi"], step="post", color=AGREEMENT_COLOUR, alpha=0.15, linewidth=0
    )
    ax.set_xlim(0, days[-1])
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"{label} of the talks (from {sc.calendar.start})")
    ax.set_ylabel("share of worlds with this in force")
    ax.grid(alpha=0.3)


def _shares_figure(sc: Scenario, shares: pd.DataFrame) -> Figure:
    """Deal classes by likelihood, then no agreement."""
    plt = _pyplot()
    colours, hatches = class_colours(list(sc.classes)), class_hatches(list(sc.classes))
    deals = shares[~shares["outcome"].isin([AGREEMENT, NO_DEAL])].sort_values("share", ascending=False)
    rows = pd_concat([deals, shares[shares["outcome"] == NO_DEAL]])
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    x = np.arange(len(rows))
    err = _error(rows["share"], rows["lo"], rows["hi"])
    ax.bar(
        x,
        rows["share"],
        color=[colours[o] for o in rows["outcome"]],
        hatch=None,
        edgecolor="white",
        yerr=err,
        capsize=5,
    )
    for patch, outcome in zip(ax.patches, rows["outcome"], strict=True):
        patch.set_hatch(hatches[outcome])
    for xi, share in zip(x, rows["share"], strict=True):
        ax.annotate(f"{100 * share:.1f}%", (xi, share), xytext=(8, 3), textcoords="offset points", fontsize=9)
    ax.set_xticks(x, [_wrap(_label(sc, o), 14) for o in rows["outcome"]])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of worlds")
    ax.set_title(
        f"{_text(sc.title)}\nin force at the horizon, {_replications(shares):,} worlds, 95% intervals"
    )
    ax.grid(axis="y", alpha=0.3)
    return fig


def pd_concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


def _error(share, lo, hi) -> np.ndarray:
    """Error-bar lengths; clipped at 0 because interval ends can miss the share by rounding."""
    share, lo, hi = (np.asarray(a, dtype=float) for a in (share, lo, hi))
    return np.clip(np.vstack([share - lo, hi - share]), 0.0, None)


# ---------------------------------------------------------------- comparison


Runs = dict[str, tuple["Scenario", "pd.DataFrame", "pd.DataFrame"]]


def union_classes(runs: Runs) -> list[str]:
    """Deal classes of all scenarios, in the order they first appear (the reference's order first)."""
    out: list[str] = []
    for sc, _, _ in runs.values():
        out.extend(c for c in sc.classes if c not in out)
    return out


def class_labels(runs: Runs) -> dict[str, str]:
    """Outcome labels, each class's from the first scenario that defines it."""
    labels = {NO_DEAL: "No agreement", AGREEMENT: "Any agreement"}
    for sc, _, _ in runs.values():
        for cid, cl in sc.classes.items():
            labels.setdefault(cid, cl.label)
    return labels


def share_of(shares: pd.DataFrame, outcome: str) -> float:
    hit = shares.loc[shares["outcome"] == outcome, "share"]
    return float(hit.iloc[0]) if len(hit) else 0.0


def ranked(runs: Runs, reference: str, outcome: str = AGREEMENT) -> list[str]:
    """The reference first, then the other scenarios from most to least likely ``outcome``."""
    others = [n for n in runs if n != reference]
    others.sort(key=lambda n: -share_of(runs[n][2], outcome))  # stable: ties keep the given order
    return [reference, *others] if reference in runs else others


def plot_compare(
    outdir: Path,
    runs: Runs,
    reference: str,
    firsts: dict[str, pd.DataFrame] | None = None,
    lead: str = AGREEMENT,
    pool: Executor | None = None,
) -> list[Path]:
    """``outcomes.png`` (class shares per scenario), ``curves.png`` (the class ``lead`` over time) and,
    with the first-in-force curves, ``curves_<class>.png`` for every deal class that occurs and for
    any agreement: one panel per scenario, so each class's differences between scenarios show.

    With a local process pool the figures are drawn there side by side (each is independent and
    drawing is most of the comparison's own time); else one after another here."""
    outdir = Path(outdir)
    jobs: list[tuple[str, str | None, str]] = [
        ("outcomes", None, "outcomes.png"),
        ("curves", lead, "curves.png"),
    ]
    if firsts is not None:
        jobs += [("curves", outcome, f"curves_{outcome}.png") for outcome in compared_classes(runs)]
    if isinstance(pool, ProcessPoolExecutor):  # a remote cluster would draw on its own disks
        futures = [
            pool.submit(draw_compare, outdir / name, kind, runs, reference, what, firsts)
            for kind, what, name in jobs
        ]
        return [f.result() for f in futures]
    return [draw_compare(outdir / name, kind, runs, reference, what, firsts) for kind, what, name in jobs]


def draw_compare(
    path: Path,
    kind: str,
    runs: Runs,
    reference: str,
    outcome: str | None,
    firsts: dict[str, pd.DataFrame] | None,
) -> Path:
    """One figure of ``plot_compare``: the stacked shares (``outcomes``) or the curves of ``outcome``."""
    if kind == "outcomes":
        return save(_stacked_figure(runs, reference), path)
    return save(_curves_figure(runs, reference, outcome or AGREEMENT, firsts), path)


def compared_classes(runs: Runs) -> list[str]:
    """The deal classes that occur in some scenario, then any agreement: one compare plot each."""
    occurring = [
        c
        for c in union_classes(runs)
        if any(share_of(s, c) > 0 or c in _ever(curve) for _, curve, s in runs.values())
    ]
    return [*occurring, AGREEMENT]


def _ever(curve: pd.DataFrame) -> set[str]:
    return set(curve.loc[curve["share"] > 0, "outcome"])


def _reference_tag(name: str, reference: str) -> str:
    return " (reference)" if name == reference else ""


def _stacked_figure(runs: Runs, reference: str) -> Figure:
    """Horizontal stacked bars: the reference on top and set apart, then by any agreement."""
    plt = _pyplot()
    classes = union_classes(runs)
    colours, hatches = class_colours(classes), class_hatches(classes)
    labels = {cid: _text(label, 60) for cid, label in class_labels(runs).items()}
    occurring = [c for c in classes if any(share_of(s, c) > 0 for _, _, s in runs.values())]
    names = ranked(runs, reference)
    gap = 0.7 if reference in runs and len(names) > 1 else 0.0
    y = np.array([i + (gap if i > 0 else 0.0) for i in range(len(names))])
    fig, ax = plt.subplots(figsize=(11.0, 0.55 * len(names) + 2.2), layout="constrained")
    left = np.zeros(len(names))
    for cid in [*occurring, NO_DEAL]:
        share = np.array([share_of(runs[n][2], cid) for n in names])
        ax.barh(
            y,
            share,
            left=left,
            height=0.72,
            color=colours[cid],
            hatch=hatches[cid] or None,
            edgecolor="white",
            linewidth=0.6,
            label=labels[cid],
        )
        left += share
    total = [runs[n][2].set_index("outcome").loc[AGREEMENT] for n in names]
    x = np.array([t["share"] for t in total])
    err = _error(x, [t["lo"] for t in total], [t["hi"] for t in total])
    ax.errorbar(
        x, y, xerr=err, fmt="|", color=AGREEMENT_COLOUR, capsize=4, markersize=16, label="Any agreement, 95%"
    )
    for yi, t in zip(y, total, strict=True):
        text = f"{100 * t['share']:.1f}% [{100 * t['lo']:.1f}, {100 * t['hi']:.1f}]"
        ax.annotate(text, (1.0, yi), xytext=(6, 0), textcoords="offset points", va="center", fontsize=9)
    if gap:
        ax.axhline((y[0] + y[1]) / 2, color="#555555", linewidth=0.8, linestyle="--")
    ticks = [_wrap(runs[n][0].title, 40) + _reference_tag(n, reference) for n in names]
    ax.set_yticks(y, ticks)
    for tick, n in zip(ax.get_yticklabels(), names, strict=True):
        if n == reference:
            tick.set_fontweight("bold")
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(_percent())
    ax.set_xlabel("share of worlds (any agreement at right, with its 95% interval)")
    reps = sorted({_replications(s) for _, _, s in runs.values()})
    ax.set_title(
        f"Outcome by scenario, {_reps_text(reps)} worlds each: the reference first, "
        "then from most to least likely agreement",
        loc="left",
    )
    fig.legend(loc="outside lower left", ncol=min(len(occurring) + 2, 5), frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return fig


def _percent():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=0)


def _reps_text(reps: list[int]) -> str:
    return f"{reps[0]:,}" if len(reps) == 1 else f"{reps[0]:,}-{reps[-1]:,}"


def _curves_figure(
    runs: Runs, reference: str, outcome: str = AGREEMENT, firsts: dict[str, pd.DataFrame] | None = None
) -> Figure:
    """Small multiples: one panel per scenario of ``outcome`` first in force by each day (solid, with
    its band) and in force on that day (thin), the reference's dashed in grey in every panel."""
    plt = _pyplot()
    names = ranked(runs, reference, outcome)
    panels = [n for n in names if n != reference] or names
    ncols = min(4, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.1 * ncols + 0.4, 2.5 * nrows + 0.9), sharex=True, sharey=True, squeeze=False
    )
    label = class_labels(runs).get(outcome, outcome)
    colour = class_colours(union_classes(runs))[outcome] if outcome != AGREEMENT else DEAL_COLOURS[0]
    main = firsts if firsts is not None else {n: runs[n][1] for n in runs}
    time_label = "day"
    for ax, name in zip(axes.flat, panels, strict=False):
        sc, curve, _ = runs[name]
        if reference in runs and name != reference:
            ref = main[reference]
            part = ref[ref["outcome"] == outcome]
            rtime, _ = time_axis(ref)
            ax.fill_between(
                part[rtime], part["lo"], part["hi"], color=REFERENCE_COLOUR, alpha=0.18, linewidth=0
            )
            ax.plot(part[rtime], part["share"], color=REFERENCE_COLOUR, linestyle="--", linewidth=1.4)
        part = main[name][main[name]["outcome"] == outcome]
        time, time_label = time_axis(main[name])
        ax.fill_between(part[time], part["lo"], part["hi"], color=colour, alpha=0.25, linewidth=0)
        ax.plot(part[time], part["share"], color=colour, linewidth=2.0)
        if firsts is not None:
            now = curve[curve["outcome"] == outcome]
            ctime, _ = time_axis(curve)
            ax.plot(now[ctime], now["share"], color=colour, linewidth=0.9, linestyle=":")
        ax.set_title(_wrap(_text(sc.title), 34), fontsize=9, loc="left")
        ax.set_ylim(0, 1.02)
        ax.yaxis.set_major_formatter(_percent())
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for col in range(ncols):  # the lowest panel of each column carries the time axis
        low = max(r for r in range(nrows) if r * ncols + col < len(panels))
        axes[low, col].xaxis.set_tick_params(labelbottom=True)
        axes[low, col].set_xlabel(time_label)
    for ax in axes[:, 0]:
        ax.set_ylabel("share of worlds")
    ref_title = runs[reference][0].title if reference in runs else ""
    what = "first in force by this day" if firsts is not None else "in force on this day"
    handles = [plt.Line2D([], [], color=colour, linewidth=2.0, label=f"{what} (95% band)")]
    if firsts is not None:
        handles.append(
            plt.Line2D([], [], color=colour, linewidth=0.9, linestyle=":", label="in force on this day")
        )
    if reference in runs and len(names) > 1:
        handles.append(
            plt.Line2D(
                [], [], color=REFERENCE_COLOUR, linestyle="--", label=f"reference: {_text(ref_title, 50)}"
            )
        )
    title = f"{_text(label, 60)}: share of worlds, {what}, by scenario"
    # the title on the first line, the key on the second: a long class label never runs into the key
    top = 1 - 0.75 / (2.5 * nrows + 0.9)
    fig.suptitle(title, x=0.01, y=0.995, ha="left", va="top")
    fig.legend(
        handles=handles,
        loc="upper left",
        frameon=False,
        ncol=len(handles),
        fontsize=8,
        bbox_to_anchor=(0.005, top + 0.005),
    )
    fig.tight_layout(rect=(0, 0, 1, top - 0.01))
    return fig


# ---------------------------------------------------------------- sweeps


def plot_sweep_curves(outdir: Path, sc: Scenario, sweep: pd.DataFrame, axis: Axis) -> Path:
    """``sweep.png``: each outcome's likelihood with its 95% band against one varied parameter."""
    return save(_sweep_curves_figure(sc, sweep, axis), Path(outdir) / "sweep.png")


def _sweep_curves_figure(sc: Scenario, sweep: pd.DataFrame, axis: Axis) -> Figure:
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    colours = class_colours(list(sc.classes))
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    occurring = [c for c in sc.classes if sweep.loc[sweep["outcome"] == c, "count"].sum() > 0]
    for outcome in [*occurring, NO_DEAL, AGREEMENT]:
        part = sweep[sweep["outcome"] == outcome].sort_values(axis.path)
        total = outcome == AGREEMENT
        x = part[axis.path].to_numpy(dtype=float)
        ax.fill_between(x, part["lo"], part["hi"], color=colours[outcome], alpha=0.18, linewidth=0)
        ax.plot(
            x,
            part["share"],
            color=colours[outcome],
            linewidth=2.2 if total else 1.6,
            linestyle=":" if total else "-",
            marker="o" if len(part) <= 25 else None,
            markersize=3,
            label=_label(sc, outcome),
        )
    here = f"this scenario's value ({axis.baseline:g})"
    ax.axvline(axis.baseline, color="#555555", linestyle="--", linewidth=1.2, label=here)
    if axis.integer:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, 1.02)  # a share of 1 stays visible above the frame
    ax.set_xlabel(axis_label(sc, axis.path))
    ax.set_ylabel("share of worlds")
    reps = _replications(sweep)
    ax.set_title(f"{_text(sc.title)}\nlikelihood by outcome, {reps:,} replications per point, 95% bands")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(alpha=0.3)
    return fig


def plot_sweep_heatmaps(outdir: Path, sc: Scenario, sweep: pd.DataFrame, axes: Sequence[Axis]) -> list[Path]:
    """``heatmap_<class>.png`` for each deal class that occurs and ``heatmap_any_agreement.png``.

    The first axis runs along x, the second along y; a star marks the scenario's own values. No
    agreement is not drawn (it is one minus the total), nor is a class that occurs at no point.
    """
    outdir = Path(outdir)
    occurring = [c for c in sc.classes if sweep.loc[sweep["outcome"] == c, "count"].sum() > 0]
    return [
        save(_heatmap_figure(sc, sweep, axes, outcome), outdir / f"heatmap_{outcome}.png")
        for outcome in [*occurring, AGREEMENT]
    ]


def _heatmap_figure(sc: Scenario, sweep: pd.DataFrame, axes: Sequence[Axis], outcome: str) -> Figure:
    plt = _pyplot()
    xa, ya = axes
    part = sweep[sweep["outcome"] == outcome]
    share = part.pivot(index=ya.path, columns=xa.path, values="share").sort_index().sort_index(axis=1)
    half = ((part["hi"] - part["lo"]) / 2).max()
    xs, ys = share.columns.to_numpy(dtype=float), share.index.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(7.0, 5.5))
    mesh = ax.pcolormesh(_edges(xs), _edges(ys), share.to_numpy(), vmin=0, vmax=1, cmap="viridis")
    fig.colorbar(mesh, ax=ax, label="share of worlds")
    if len(xs) <= 12 and len(ys) <= 12:
        for i, j in np.ndindex(len(ys), len(xs)):
            s = share.iat[i, j]
            colour = "w" if s < 0.6 else "k"
            ax.text(xs[j], ys[i], f"{100 * s:.0f}%", ha="center", va="center", fontsize=8, color=colour)
    ax.plot(
        [xa.baseline],
        [ya.baseline],
        marker="*",
        markersize=16,
        color="white",
        markeredgecolor="black",
        linestyle="none",
        label=f"this scenario's value ({xa.baseline:g}, {ya.baseline:g})",
    )
    ax.set_xlim(_edges(xs)[[0, -1]])
    ax.set_ylim(_edges(ys)[[0, -1]])
    ax.set_xlabel(axis_label(sc, xa.path))
    ax.set_ylabel(axis_label(sc, ya.path))
    reps = _replications(part)
    ax.set_title(
        f"{_text(sc.title)}\n{_label(sc, outcome)}: {reps:,} replications per point "
        f"(95% intervals within ±{100 * half:.1f} points)"
    )
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.12), frameon=False)
    return fig


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges halfway between grid values (a lone value gets a cell of its own size)."""
    if centres.size == 1:
        half = abs(centres[0]) * 0.1 or 0.5
        return np.array([centres[0] - half, centres[0] + half])
    mid = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])


# ---------------------------------------------------------------- parameters in words

FIELD_WORDS = {
    "positions": None,
    "dynamics": None,
    "interactions": None,
    "red_lines": None,
    "war": "daily value of fighting on",
    "momentum": "balance of power",
    "rebuild": "rebuild during a truce:",
    "per_day": "per day",
    "margin": "margin asked above no deal",
    "tolerance": "tolerance of the war's hurt",
    "concession": "concession exponent",
    "mean": "mean",
    "sd": "uncertainty (sd)",
    "weight": "salience weight",
    "weights": "salience weight of",
    "values": "value of",
    "momentum_exposure": "exposure to battlefield momentum",
    "cost_per_round": "cost of war per round",
    "from_round": "first round",
    "max_uses": "times it can be used",
    "weight_concentration": "concentration of salience weights",
    "learning_step": "learning step",
    "rounds": "rounds of talks",
}


def parameter_words(sc: Scenario, path: str) -> str:
    """A dotted path in the scenario's own words: ``levers.us_sanctions.strength`` -> 'US sanctions
    and tariffs on Russia: strength'. Tables that carry a ``label`` (parties, issues, levers, events,
    the veto player) are named by it; fields by :data:`FIELD_WORDS`, else their name."""
    node = sc.model_dump(exclude={"name", "path", "sha256"})
    named: list[str] = []
    rest: list[str] = []
    for key in path.split("."):
        node = node.get(key) if isinstance(node, dict) else None
        if key in ("parties", "issues", "levers", "events", "classes"):
            continue
        if isinstance(node, dict) and isinstance(node.get("label"), str):
            named.append(node["label"])
            continue
        if key in sc.issues:
            rest.append(sc.issues[key].label)
            continue
        if key in sc.fronts:
            rest.append(sc.fronts[key].label)
            continue
        if key == "momentum" and rest and rest[-1] in {f.label for f in sc.fronts.values()}:
            rest.append("per unit of the balance of power")
            continue
        word = FIELD_WORDS.get(key, key.replace("_", " "))
        if word:
            rest.append(word)
    head = ", ".join(named)
    tail = " ".join(rest)
    return f"{head}: {tail}" if head and tail else head or tail or path


def axis_label(sc: Scenario, path: str) -> str:
    """The parameter in words, with its dotted path below for the command line."""
    return f"{parameter_words(sc, path)}\n({path})"
