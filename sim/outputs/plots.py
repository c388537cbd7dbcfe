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

AGREEMENT = "any_agreement"
NO_DEAL_COLOUR = "#b8b8b8"
AGREEMENT_COLOUR = "#222222"
DPI = 110


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # A label in a script the font lacks is drawn as boxes; that is no reason to warn the user.
    warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)

    return plt


def class_colours(class_ids: list[str]) -> dict[str, str]:
    """A colour for each deal class in order, plus grey for no agreement and black for the total."""
    plt = _pyplot()
    palette = [c for i, c in enumerate(plt.get_cmap("tab10").colors) if i != 7]  # tab10 grey is no deal's
    deals = [c for c in class_ids if c not in (NO_DEAL, AGREEMENT)]
    out = {cid: _hex(palette[i % len(palette)]) for i, cid in enumerate(deals)}
    return {**out, NO_DEAL: NO_DEAL_COLOUR, AGREEMENT: AGREEMENT_COLOUR}


def _hex(rgb: tuple[float, ...]) -> str:
    return "#" + "".join(f"{round(255 * v):02x}" for v in rgb[:3])


def class_label(sc: Scenario, outcome: str) -> str:
    if outcome == NO_DEAL:
        return "No agreement"
    if outcome == AGREEMENT:
        return "Any agreement"
    return sc.classes[outcome].label if outcome in sc.classes else outcome


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


# ---------------------------------------------------------------- one run


def plot_run(outdir: Path, sc: Scenario, curve: pd.DataFrame, shares: pd.DataFrame) -> list[Path]:
    """``curve.png`` (each class in force, day by day) and ``outcomes.png`` (class shares at the horizon)."""
    outdir = Path(outdir)
    colours = class_colours(list(sc.classes))
    return [
        save(_curve_figure(sc, curve, colours), outdir / "curve.png"),
        save(_shares_figure(sc, shares, colours), outdir / "outcomes.png"),
    ]


def _curve_figure(sc: Scenario, curve: pd.DataFrame, colours: dict[str, str]) -> Figure:
    """The share of worlds with each class in force, day by day (stacked), and any agreement's band."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    _stack_in_force(ax, sc, curve, colours)
    reps = _replications(curve)
    ax.set_title(f"{_text(sc.title)}\nin force by day, {reps:,} replications, 95% band on any agreement")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def _stack_in_force(ax, sc: Scenario, curve: pd.DataFrame, colours: dict[str, str]) -> None:
    days = np.concatenate([[0], np.unique(curve["day"])])
    bottom = np.zeros(days.size)
    for outcome in [*sc.classes, NO_DEAL]:
        part = curve[curve["outcome"] == outcome]
        if not len(part) or not part["share"].any():
            continue  # a class that never occurs gets no band
        share = np.concatenate([[1.0 if outcome == NO_DEAL else 0.0], part["share"].to_numpy()])
        hatch = "//" if outcome == NO_DEAL else None
        ax.fill_between(
            days,
            bottom,
            bottom + share,
            step="post",
            color=colours[outcome],
            hatch=hatch,
            edgecolor="white",
            linewidth=0,
            label=_label(sc, outcome),
        )
        bottom += share
    total = curve[curve["outcome"] == AGREEMENT]
    ax.step(
        total["day"],
        total["share"],
        where="post",
        color=AGREEMENT_COLOUR,
        linewidth=1.4,
        label="Any agreement",
    )
    ax.fill_between(
        total["day"], total["lo"], total["hi"], step="post", color=AGREEMENT_COLOUR, alpha=0.15, linewidth=0
    )
    ax.set_xlim(0, days[-1])
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"day of the talks (from {sc.calendar.start})")
    ax.set_ylabel("share of worlds with this in force")
    ax.grid(alpha=0.3)


def _shares_figure(sc: Scenario, shares: pd.DataFrame, colours: dict[str, str]) -> Figure:
    plt = _pyplot()
    rows = shares[shares["outcome"] != AGREEMENT].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    x = np.arange(len(rows))
    err = _error(rows["share"], rows["lo"], rows["hi"])
    ax.bar(x, rows["share"], color=[colours[o] for o in rows["outcome"]], yerr=err, capsize=5)
    for xi, share in zip(x, rows["share"], strict=True):
        ax.annotate(f"{100 * share:.1f}%", (xi, share), xytext=(8, 3), textcoords="offset points", fontsize=9)
    ax.set_xticks(x, [_wrap(_label(sc, o), 14) for o in rows["outcome"]])
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of worlds")
    ax.set_title(
        f"{_text(sc.title)}\nin force at the horizon, {_replications(shares):,} replications, 95% intervals"
    )
    ax.grid(axis="y", alpha=0.3)
    return fig


def _error(share, lo, hi) -> np.ndarray:
    """Error-bar lengths; clipped at 0 because interval ends can miss the share by rounding."""
    share, lo, hi = (np.asarray(a, dtype=float) for a in (share, lo, hi))
    return np.clip(np.vstack([share - lo, hi - share]), 0.0, None)


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


# ---------------------------------------------------------------- comparison


Runs = dict[str, tuple["Scenario", "pd.DataFrame", "pd.DataFrame"]]


def union_classes(runs: Runs) -> list[str]:
    """Deal classes of all scenarios, in the order they first appear (baseline's order first)."""
    out: list[str] = []
    for sc, _, _ in runs.values():
        out.extend(c for c in sc.classes if c not in out)
    return out


def plot_compare(outdir: Path, runs: Runs) -> list[Path]:
    """``outcomes.png`` (stacked class shares per scenario) and ``curves.png`` (total agreement)."""
    outdir = Path(outdir)
    return [
        save(_stacked_figure(runs), outdir / "outcomes.png"),
        save(_curves_figure(runs), outdir / "curves.png"),
    ]


def class_labels(runs: Runs) -> dict[str, str]:
    """Outcome labels, each class's from the first scenario that defines it."""
    labels = {NO_DEAL: "No agreement", AGREEMENT: "Any agreement"}
    for sc, _, _ in runs.values():
        for cid, cl in sc.classes.items():
            labels.setdefault(cid, cl.label)
    return labels


def _stacked_figure(runs: Runs) -> Figure:
    plt = _pyplot()
    classes = union_classes(runs)
    colours = class_colours(classes)
    labels = {cid: _text(label, 60) for cid, label in class_labels(runs).items()}
    names = list(runs)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(7.0, 0.9 * len(names) + 3.5), 5.0))
    bottom = np.zeros(len(names))
    for cid in [*classes, NO_DEAL]:
        share = np.array([_share(shares, cid) for _, _, shares in runs.values()])
        hatch = "//" if cid == NO_DEAL else None
        ax.bar(x, share, bottom=bottom, color=colours[cid], label=labels[cid], hatch=hatch, edgecolor="white")
        bottom += share
    total = [shares.set_index("outcome").loc[AGREEMENT] for _, _, shares in runs.values()]
    y = np.array([t["share"] for t in total])
    err = _error(y, [t["lo"] for t in total], [t["hi"] for t in total])
    ax.errorbar(
        x, y, yerr=err, fmt="_", color=AGREEMENT_COLOUR, capsize=6, markersize=14, label="Any agreement, 95%"
    )
    ax.set_xticks(x, names, rotation=30, ha="right", rotation_mode="anchor")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("share of worlds")
    reps = sorted({_replications(s) for _, _, s in runs.values()})
    ax.set_title(f"Outcome classes by scenario ({_reps_text(reps)} replications each)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return fig


def _share(shares: pd.DataFrame, outcome: str) -> float:
    hit = shares.loc[shares["outcome"] == outcome, "share"]
    return float(hit.iloc[0]) if len(hit) else 0.0


def _reps_text(reps: list[int]) -> str:
    return f"{reps[0]:,}" if len(reps) == 1 else f"{reps[0]:,}-{reps[-1]:,}"


def _curves_figure(runs: Runs) -> Figure:
    """Any agreement in force, day by day, one panel per scenario with the baseline drawn in each."""
    plt = _pyplot()
    names = list(runs)
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.2 * cols, 2.6 * rows), sharex=True, sharey=True, squeeze=False
    )
    base = runs[names[0]][1]
    base_part = base[base["outcome"] == AGREEMENT]
    for ax, name in zip(axes.flat, names, strict=False):
        sc, curve, _ = runs[name]
        part = curve[curve["outcome"] == AGREEMENT]
        if name != names[0]:
            ax.step(base_part["day"], base_part["share"], where="post", color="#999999", linewidth=1.0)
        ax.fill_between(
            part["day"], part["lo"], part["hi"], step="post", color="#0072B2", alpha=0.25, linewidth=0
        )
        ax.step(part["day"], part["share"], where="post", color="#0072B2", linewidth=1.6)
        ax.set_title(_wrap(_text(sc.title), 34), fontsize=8)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(names) :]:
        ax.axis("off")
    fig.supxlabel("day of the talks")
    fig.supylabel("share of worlds with any agreement in force")
    fig.suptitle(f"Any agreement in force by day (grey: {names[0]}), 95% bands")
    fig.tight_layout()
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
    for outcome in [*sc.classes, NO_DEAL, AGREEMENT]:
        part = sweep[sweep["outcome"] == outcome].sort_values(axis.path)
        total = outcome == AGREEMENT
        x = part[axis.path].to_numpy(dtype=float)
        ax.fill_between(x, part["lo"], part["hi"], color=colours[outcome], alpha=0.18, linewidth=0)
        ax.plot(
            x,
            part["share"],
            color=colours[outcome],
            linewidth=2.2 if total else 1.6,
            linestyle="--" if total else "-",
            marker="o" if len(part) <= 25 else None,
            markersize=3,
            label=_label(sc, outcome),
        )
    base = f"baseline ({axis.baseline:g})"
    ax.axvline(axis.baseline, color="#555555", linestyle=":", linewidth=1.4, label=base)
    if axis.integer:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, 1.02)  # a share of 1 stays visible above the frame
    ax.set_xlabel(axis.path)
    ax.set_ylabel("share of worlds")
    reps = _replications(sweep)
    ax.set_title(f"{_text(sc.title)}\nlikelihood by outcome, {reps:,} replications per point, 95% bands")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(alpha=0.3)
    return fig


def plot_sweep_heatmaps(outdir: Path, sc: Scenario, sweep: pd.DataFrame, axes: Sequence[Axis]) -> list[Path]:
    """``heatmap_<class>.png`` for each deal class and ``heatmap_any_agreement.png`` for any deal in force.

    The first axis runs along x, the second along y; a star marks the unmodified scenario. No
    agreement is not drawn: it is one minus the total.
    """
    outdir = Path(outdir)
    return [
        save(_heatmap_figure(sc, sweep, axes, outcome), outdir / f"heatmap_{outcome}.png")
        for outcome in [*sc.classes, AGREEMENT]
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
        label=f"baseline ({xa.baseline:g}, {ya.baseline:g})",
    )
    ax.set_xlim(_edges(xs)[[0, -1]])
    ax.set_ylim(_edges(ys)[[0, -1]])
    ax.set_xlabel(xa.path)
    ax.set_ylabel(ya.path)
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
