"""The debrief: the class's games against the simulated distribution.

For each party the tables played: a histogram of the model's own party's result over the scenario's
worlds, with each table's result marked; the outcome classes of the class's games beside the
model's shares; a short table of the games; and a one-page HTML handout with the plots embedded.

Results are measured as ``negsim play`` measures them: the value over no deal of what is in force
at the end, valued as on the first day. When every table of a party played the same world, the
model's worlds are scored with that world's utility (the one the tables were shown); otherwise each
world is scored with its own.
"""

from __future__ import annotations

import base64
import html
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.atomic import atomic_path
from sim.engine.outcomes import STATUS_QUO
from sim.errors import UserError, show
from sim.experiments.chunks import chunk_bounds, chunk_model, compiled_space
from sim.scenario import Scenario
from sim.teaching.markup import CSS
from sim.teaching.play import ensemble_packages


def utilities(sc: Scenario, pid: str, packages: np.ndarray, world: int | None) -> np.ndarray:
    """(R,) the value over no deal of ``packages`` (R,) for ``pid`` as on the first day: in every
    world with the utility of ``world``, or (None) each world with its own."""
    space = compiled_space(sc)
    n_options = len(space.options[space.truce_k])
    out = np.empty(packages.size)
    for a, b in chunk_bounds(packages.size):
        if world is not None and not a <= world < b:
            continue
        model = chunk_model(sc, sc.seed, a, b)
        values = model.party[pid].values
        if world is not None:
            rows = np.full(packages.size, world - a)
            pkgs = packages
        else:
            rows = np.arange(b - a)
            pkgs = packages[a:b]
        days = np.full((rows.size, n_options), sc.truce.days, dtype=np.int64)
        days[:, 0] = 0
        m0 = np.full(rows.size, sc.dynamics.momentum.initial)
        shift = np.zeros((rows.size, len(space.fronts)))
        both = np.stack([pkgs, np.full(rows.size, STATUS_QUO)], axis=1)
        u = values.of(space, rows, both, days, m0, shift, model.window)
        if world is not None:
            return u[:, 0] - u[:, 1]
        out[a:b] = u[:, 0] - u[:, 1]
    return out


@dataclass
class PartyDebrief:
    party: str
    games: list[dict[str, Any]]
    model: np.ndarray  # the model's party's result in each world
    world: int | None


@dataclass
class Debrief:
    scenario: Scenario
    games: list[dict[str, Any]]
    parties: list[PartyDebrief]
    class_share: dict[str, float]
    model_share: dict[str, float]

    def table(self) -> str:
        sc = self.scenario
        lines = [
            "| # | Party | World | Outcome | Result | Model, same world | Model better in |",
            "|---|---|---|---|---|---|---|",
        ]
        for n, g in enumerate(self.games, 1):
            lines.append(
                f"| {n} | {sc.parties[g['party']].label} | {g['world']} | {_label(sc, g['outcome'])} | "
                f"{g['utility']:+.3f} | {g['model_utility']:+.3f} ({_label(sc, g['model_outcome'])}) | "
                f"{100 * g['model_better']:.0f}% of worlds |"
            )
        return "\n".join(lines)

    def outcome_table(self) -> str:
        lines = ["| Outcome | Class | Model |", "|---|---|---|"]
        for cid, share in self.model_share.items():
            lines.append(
                f"| {_label(self.scenario, cid)} | {100 * self.class_share.get(cid, 0):.0f}% "
                f"| {100 * share:.1f}% |"
            )
        return "\n".join(lines)

    def write(self, folder: str | Path) -> Path:
        """utility-<party>.png, outcomes.png, games.md and handout.html in ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        pngs = [_histogram(self, pd, folder / f"utility-{pd.party}.png") for pd in self.parties]
        pngs.append(_outcomes(self, folder / "outcomes.png"))
        md = self.markdown()
        with atomic_path(folder / "games.md") as tmp:
            tmp.write_text(md, encoding="utf-8")
        with atomic_path(folder / "handout.html") as tmp:
            tmp.write_text(self.html(pngs), encoding="utf-8")
        return folder / "handout.html"

    def markdown(self) -> str:
        sc = self.scenario
        return "\n".join(
            [
                f"# Debrief: {sc.title}",
                "",
                f"{len(self.games)} games; the model: {sc.replications:,} worlds of `{sc.name}` "
                f"(seed {sc.seed}).",
                "",
                self.table(),
                "",
                self.outcome_table(),
                "",
            ]
        )

    def html(self, pngs: list[Path]) -> str:
        from sim.teaching.markup import inline

        sc = self.scenario

        def rows(md: str) -> str:
            out = []
            for k, line in enumerate(md.splitlines()):
                if k == 1:
                    continue
                cells = line.strip("|").split("|")
                tag = "th" if k == 0 else "td"
                out.append("<tr>" + "".join(f"<{tag}>{inline(c.strip())}</{tag}>" for c in cells) + "</tr>")
            return "<table>" + "".join(out) + "</table>"

        imgs = "".join(
            f'<img src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}" '
            f'style="width:49%" alt="{html.escape(p.stem)}">'
            for p in pngs
        )
        notes = []
        for pd in self.parties:
            label = sc.parties[pd.party].label
            scored = (
                f"with world {pd.world}'s utility"
                if pd.world is not None
                else "each world with its own utility"
            )
            mine = np.array([g["utility"] for g in pd.games])
            better = np.mean(pd.model[:, None] > mine[None, :] + 1e-12)
            notes.append(
                f"<li>{html.escape(label)}: {len(pd.games)} table(s), mean result {mine.mean():+.3f}; the "
                f"model's {html.escape(label)} ({scored}) has median {np.median(pd.model):+.3f} and did "
                f"better than a table in {100 * better:.0f}% of (world, table) pairs.</li>"
            )
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>Debrief: {html.escape(sc.title)}</title><style>{CSS} "
            "body{max-width:60em;font-size:10pt} table{font-size:9pt}</style></head><body>"
            f"<h1>Debrief: {html.escape(sc.title)}</h1>"
            f"<p>{len(self.games)} games played by the class, against {sc.replications:,} simulated worlds "
            f"of <code>{html.escape(sc.name)}</code> (seed {sc.seed}). A result is the value over no deal of "
            "what is in force on the last day, valued as on day 1.</p>"
            f"{imgs}<ul>{''.join(notes)}</ul>{rows(self.table())}<h2>Outcomes: class and model</h2>"
            f"{rows(self.outcome_table())}</body></html>\n"
        )


def _label(sc: Scenario, cid: str) -> str:
    return sc.classes[cid].label if cid in sc.classes else "No agreement"


def debrief(sc: Scenario, games: list[dict[str, Any]]) -> Debrief:
    """The class's games of ``sc`` against its ensemble (games of another scenario are refused)."""
    other = [g for g in games if g.get("sha256") not in (None, sc.sha256) or g["scenario"] != sc.name]
    if other:
        g = other[0]
        raise UserError(
            f"a game of '{show(g['scenario'])}' (sha256 {show(str(g.get('sha256'))[:12])}) "
            f"is not of {sc.name} "
            f"(sha256 {sc.sha256[:12]}): the scenario file changed, or the log mixes scenarios"
        )
    space = compiled_space(sc)
    for g in games:
        where = f"line {g['line']}: " if "line" in g else ""
        if g["party"] not in sc.parties:
            raise UserError(
                f"{where}party '{show(g['party'])}' is not in {sc.name}; allowed: {', '.join(sc.parties)}"
            )
        for key in ("outcome", "model_outcome"):
            if g[key] not in space.class_order:
                raise UserError(
                    f"{where}{key} '{show(g[key])}' is no outcome of {sc.name}; "
                    f"allowed: {', '.join(space.class_order)}"
                )
        if g.get("worlds") and g["world"] >= g["worlds"]:
            raise UserError(f"{where}world {g['world']} is not among the {g['worlds']:,} worlds it names")
    seeds = {g["seed"] for g in games}
    if len(seeds) > 1:
        raise UserError(f"the games were played with different seeds ({sorted(seeds)}): debrief them apart")
    from sim.scenario import with_overrides

    # The ensemble the games were compared with (its size is logged), and at least the worlds played.
    compared = max(int(g.get("worlds") or 0) for g in games) or sc.replications
    sc = with_overrides(sc, max(compared, max(g["world"] for g in games) + 1), seeds.pop())
    space = compiled_space(sc)
    packages = ensemble_packages(sc)
    parties = []
    for pid in dict.fromkeys(g["party"] for g in games):
        mine = [g for g in games if g["party"] == pid]
        played = {g["world"] for g in mine}
        world = played.pop() if len(played) == 1 else None
        parties.append(PartyDebrief(pid, mine, utilities(sc, pid, packages, world), world))
    counts = Counter(g["outcome"] for g in games)
    model = Counter(space.class_order[c] for c in space.package_class[packages])
    model_share = {cid: model.get(cid, 0) / packages.size for cid in space.class_order}
    class_share = {cid: counts.get(cid, 0) / len(games) for cid in space.class_order}
    return Debrief(sc, games, parties, class_share, model_share)


# ---------------------------------------------------------------------------- plots


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # A label in a script the font lacks is drawn as boxes; that is no reason to warn the user.
    warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
    return plt


def _histogram(d: Debrief, pd: PartyDebrief, path: Path) -> Path:
    plt = _pyplot()
    label = d.scenario.parties[pd.party].label
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=110)
    ax.hist(pd.model, bins=30, color="#b8b8b8", label=f"the model's {label}, {pd.model.size:,} worlds")
    for n, g in enumerate(pd.games):
        ax.axvline(g["utility"], color="#d62728", lw=1.5, label="a table's result" if n == 0 else None)
    ax.set_xlabel(f"{label}'s result (value over no deal, as on day 1)", fontsize=8)
    ax.set_ylabel("worlds", fontsize=8)
    ax.set_title(f"{label}: class against model", fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)
    return path


def _outcomes(d: Debrief, path: Path) -> Path:
    plt = _pyplot()
    ids = list(d.model_share)
    x = np.arange(len(ids))
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=110)
    ax.bar(x - 0.2, [100 * d.class_share.get(c, 0) for c in ids], 0.4, color="#d62728", label="class")
    ax.bar(x + 0.2, [100 * d.model_share[c] for c in ids], 0.4, color="#7f7f7f", label="model")
    ax.set_xticks(x, [_label(d.scenario, c) for c in ids], fontsize=7, rotation=12)
    ax.set_ylabel("% of games / worlds", fontsize=8)
    ax.set_title("Outcome in force on the last day", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)
    return path
