"""The debrief: the class's games against the simulated distribution.

For each party the tables played: a histogram of the model's own party's result over the scenario's
worlds, with each table's result marked; the outcome classes of the class's games beside the
model's shares; a short table of the games; and a one-page HTML handout with the plots embedded.

The games may come from several class logs (one per laptop) or from any store of game records:
:func:`debrief` takes the records themselves. Each table's game is replayed from its logged moves
in its world (the engine is deterministic given the seed, so the replay is the game) to give its
timeline: the text on the table each round, the answers, ratification or veto, lapses and
violations, and what was in force after. Plots use the Okabe-Ito palette with hatches, so they read
in grey and to colour-blind eyes (Okabe & Ito 2008, "Color universal design").

Results are measured as ``negsim play`` measures them: the value over no deal of what is in force
at the end, valued as on the first day. When every table of a party played the same world, the
model's worlds are scored with that world's utility (the one the tables were shown); otherwise each
world is scored with its own.
"""

from __future__ import annotations

import base64
import html
import textwrap
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.atomic import atomic_path
from sim.engine.outcomes import STATUS_QUO
from sim.errors import UserError, show
from sim.experiments.chunks import chunk_bounds, chunk_model, compiled_space
from sim.scenario import Scenario
from sim.scenario.dates import when
from sim.teaching.markup import CSS
from sim.teaching.play import EndOfInput, ensemble_packages, replay


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
    timelines: list[list[dict[str, str]]] = field(default_factory=list)  # one per game, per round

    def table(self) -> str:
        sc = self.scenario
        lines = [
            "| Table | Log | Party | World | Outcome | Result | Model, same world | Model better in |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for n, g in enumerate(self.games, 1):
            log = f"{g.get('log', '')} {g['line']}".strip() if "line" in g else g.get("log", "")
            lines.append(
                f"| T{n} | {log} | {sc.parties[g['party']].label} | {g['world']} | "
                f"{_label(sc, g['outcome'])} | "
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

    def timeline_tables(self) -> str:
        """Markdown: each table's game round by round (only the rounds where something happened)."""
        out = []
        for n, (g, rows) in enumerate(zip(self.games, self.timelines, strict=True), 1):
            label = self.scenario.parties[g["party"]].label
            out += [f"### T{n}: {label}, world {g['world']}", ""]
            if not rows:
                out += ["(the logged moves do not replay this game: the log or the file changed)", ""]
                continue
            out += ["| Day | Text on the table | Answers | At home | Events | In force after |"]
            out += ["|---|---|---|---|---|---|"]
            keys = ("day", "text", "answers", "home", "events", "inforce")
            out += ["| " + " | ".join(r[k] for k in keys) + " |" for r in rows]
            out.append("")
        return "\n".join(out)

    def write(self, folder: str | Path, pdf: bool = False) -> Path:
        """utility-<party>.png, outcomes.png, games.md and handout.html in ``folder`` (and, with
        ``pdf``, handout.pdf printed from the same HTML)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        pngs = [_histogram(self, pd, folder / f"utility-{pd.party}.png") for pd in self.parties]
        pngs.append(_outcomes(self, folder / "outcomes.png"))
        md = self.markdown()
        with atomic_path(folder / "games.md") as tmp:
            tmp.write_text(md, encoding="utf-8")
        with atomic_path(folder / "handout.html") as tmp:
            tmp.write_text(self.html(pngs), encoding="utf-8")
        if pdf:
            from sim.teaching.pdf import beside

            beside([folder / "handout.html"])
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
                "## Each table's timeline",
                "",
                self.timeline_tables(),
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
        from sim.teaching.markup import to_html

        body = to_html(self.timeline_tables(), "")
        timelines = body[body.index("<body>") + len("<body>") : body.index("</body>")]
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>Debrief: {html.escape(sc.title)}</title><style>{CSS} "
            "body{max-width:60em;font-size:10pt} table{font-size:9pt}</style></head><body>"
            f"<h1>Debrief: {html.escape(sc.title)}</h1>"
            f"<p>{len(self.games)} games played by the class, against {sc.replications:,} simulated worlds "
            f"of <code>{html.escape(sc.name)}</code> (seed {sc.seed}). A result is the value over no deal of "
            "what is in force on the last day, valued as on day 1.</p>"
            f"{imgs}<ul>{''.join(notes)}</ul>{rows(self.table())}<h2>Outcomes: class and model</h2>"
            f"{rows(self.outcome_table())}<h2>Each table's timeline</h2>{timelines}</body></html>\n"
        )


def _where(g: dict[str, Any]) -> str:
    """Where a record came from, for an error: '<log>, line N: ' (or what of it is known)."""
    parts = [str(g["log"])] if g.get("log") else []
    parts += [f"line {g['line']}"] if "line" in g else []
    return ", ".join(parts) + ": " if parts else ""


def _label(sc: Scenario, cid: str) -> str:
    return sc.classes[cid].label if cid in sc.classes else "No agreement"


def debrief(sc: Scenario, games: list[dict[str, Any]]) -> Debrief:
    """The class's games of ``sc`` against its ensemble (games of another scenario are refused)."""
    other = [g for g in games if g.get("sha256") not in (None, sc.sha256) or g["scenario"] != sc.name]
    if other:
        g = other[0]
        raise UserError(
            f"{_where(g)}a game of '{show(g['scenario'])}' (sha256 {show(str(g.get('sha256'))[:12])}) "
            f"is not of {sc.name} "
            f"(sha256 {sc.sha256[:12]}): the scenario file changed, or the log mixes scenarios"
        )
    space = compiled_space(sc)
    for g in games:
        where = _where(g)
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
    timelines = [timeline(sc, space, g) for g in games]
    return Debrief(sc, games, parties, class_share, model_share, timelines)


def _short(sc: Scenario, space, pkg: int) -> str:
    """A package in a few words: the options that are not 'nothing agreed'."""
    firsts = {iid: issue.options[0] for iid, issue in sc.issues.items()}
    terms = [f"{k}={v}" for k, v in space.describe(pkg).items() if v != firsts[k]]
    return ", ".join(terms) or "nothing"


def timeline(sc: Scenario, space, g: dict[str, Any]) -> list[dict[str, str]]:
    """The moments (contacts, truce ends) of a logged game where something happened, from a replay
    of its moves ([] if the moves no longer replay it: a log of another version of the file). A class
    server's table, where several people played, records its own moments (``timeline``) instead of
    one player's moves."""
    if "timeline" in g:
        return _recorded(g["timeline"])
    try:
        model, inforce = replay(sc, g["party"], g["world"], list(g.get("moves", [])))
    except EndOfInput:
        return []
    if space.class_order[space.package_class[inforce[-1]]] != g["outcome"]:
        return []
    return rounds(sc, space, model.transcript)


ROUND_FIELDS = ("day", "text", "answers", "home", "events", "inforce")


def _recorded(rows: Any) -> list[dict[str, str]]:
    """A recorded timeline, as text only (it comes from a file)."""
    if not isinstance(rows, list):
        return []
    return [
        {k: show(str(r.get(k, "")), 200) for k in ROUND_FIELDS} for r in rows[:1000] if isinstance(r, dict)
    ]


def rounds(sc: Scenario, space, transcript: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The moments of a game's transcript (contacts, truce ends, events) where something happened:
    text, answers, ratification or veto, lapses and events, and what was in force after each (the
    transcript records it with each moment: a day may hold several moments, or none). A party's
    counter is named as such with who tabled it, whether it was put at once (one table) or carried
    by a shuttling envoy to the next contact."""
    rows, before, carried = [], -1, None
    for e in transcript:
        here = int(e["inforce"])
        events = [k for k in e.get("happened", []) if k in ("lapsed", "violated", "extended", "gave_up")]
        events += [sc.events[x].label for x in e.get("events", [])]
        events += [f"{sc.levers[x].label} used" for x in e.get("levers", [])]
        if "proposal" not in e and not events and here == before:
            continue
        answers = "; ".join(
            f"{r['party']} {'yes' if r['accepted'] else 'no'}" for r in e.get("parties", []) if r["asked"]
        )
        home = ""
        if e.get("deal"):
            home = "ratified" if e["ratified"] else "vetoed"
        inforce = _label(sc, space.class_order[space.package_class[here]])
        text = ""
        if "proposal" in e:
            text = _short(sc, space, e["proposal"])
            # A counter the envoy carried from the last contact, put as it was tabled (an envoy at
            # the class server may draft another text instead: that one is the envoy's).
            if carried is not None and carried["proposal"] == e["proposal"] and carried["by"] in sc.parties:
                text = f"{sc.parties[carried['by']].label}'s counter: {text}"
            carried = e.get("carried")
        rows.append(
            {
                "day": when(sc, float(e["day"])),
                "text": text,
                "answers": answers,
                "home": home,
                "events": ", ".join(events),
                "inforce": inforce,
            }
        )
        if "counter" in e:  # the counter that stood after the text was refused, and its answers
            rows.append(_counter_row(sc, space, e, inforce))
        before = here
    return rows


def _counter_row(sc: Scenario, space, e: dict[str, Any], inforce: str) -> dict[str, str]:
    c = e["counter"]
    answers = "; ".join(
        f"{r['party']} {'yes' if r['accepted'] else 'no'}"
        for r in c["parties"]
        if r["asked"] and r["party"] != c["by"]
    )
    home = ("ratified" if c["ratified"] else "vetoed") if c["deal"] else ""
    text = f"{sc.parties[c['by']].label}'s counter: {_short(sc, space, c['proposal'])}"
    return {
        "day": when(sc, float(e["day"])),
        "text": text,
        "answers": answers,
        "home": home,
        "events": "",
        "inforce": inforce,
    }


# ---------------------------------------------------------------------------- plots


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # A label in a script the font lacks is drawn as boxes; that is no reason to warn the user.
    warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
    return plt


TABLE_STYLES = ("-", "--", "-.", ":")


def _histogram(d: Debrief, pd: PartyDebrief, path: Path) -> Path:
    """The model's results over its worlds (hatched bars), each table's result a line in its own
    Okabe-Ito colour and dash, labelled above the plot at staggered heights so labels never meet."""
    from sim.outputs.plots import DEAL_COLOURS

    plt = _pyplot()
    label = d.scenario.parties[pd.party].label
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    ax.hist(
        pd.model,
        bins=30,
        color="#BBBBBB",
        edgecolor="#555555",
        hatch="//",
        linewidth=0.4,
        label=f"the model's {label}, {pd.model.size:,} worlds",
    )
    numbers = {id(g): n for n, g in enumerate(d.games, 1)}
    top = ax.get_ylim()[1]
    order = sorted(pd.games, key=lambda g: g["utility"])
    for k, g in enumerate(order):
        n = numbers[id(g)]
        colour = DEAL_COLOURS[(n - 1) % len(DEAL_COLOURS)]
        style = TABLE_STYLES[(n - 1) // len(DEAL_COLOURS) % len(TABLE_STYLES)]
        ax.axvline(g["utility"], color=colour, lw=2, ls=style)
        # staggered rows: neighbours in value never share a height
        y = top * (1.02 + 0.09 * (k % 3))
        ax.text(g["utility"], y, f"T{n}", color=colour, ha="center", va="bottom", fontsize=8, clip_on=False)
    ax.set_ylim(0, top)
    ax.set_xlabel(f"{label}'s result (value over no deal, as on day 1)", fontsize=9)
    ax.set_ylabel("worlds", fontsize=9)
    ax.set_title(f"{label}: each table (T#) against the model", fontsize=10, pad=34)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    return _write(fig, path, plt)


def _outcomes(d: Debrief, path: Path) -> Path:
    plt = _pyplot()
    return _write(outcomes_figure(d, plt), path, plt)


def _write(fig, path: Path, plt) -> Path:
    """The figure as a PNG, written atomically, without a software tag (same figure, same bytes)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)
    return path


def outcomes_figure(d: Debrief, plt=None):
    """Each outcome class's share among the tables (hatched) and the model's worlds (plain), in the
    class's Okabe-Ito colour and hatch, as on every other outcome plot. The class names are wrapped
    under their bars and the legend sits above the plot: no text leaves the figure or meets another."""
    from matplotlib.patches import Patch

    from sim.outputs.plots import class_colours, class_hatches

    plt = plt or _pyplot()
    ids = list(d.model_share)
    colours, hatches = class_colours(ids), class_hatches(ids)
    x = np.arange(len(ids))
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    for i, c in enumerate(ids):
        ax.bar(
            x[i] - 0.2,
            100 * d.class_share.get(c, 0),
            0.4,
            color=colours[c],
            hatch=(hatches[c] or "") + "xx",
            edgecolor="#222222",
            linewidth=0.5,
        )
        ax.bar(
            x[i] + 0.2,
            100 * d.model_share[c],
            0.4,
            color=colours[c],
            hatch=hatches[c],
            edgecolor="#222222",
            linewidth=0.5,
        )
    names = [textwrap.fill(_label(d.scenario, c), 18) for c in ids]
    ax.set_xticks(x, names, fontsize=8)
    ax.set_ylabel("% of games / worlds", fontsize=9)
    ax.set_title("Outcome in force on the last day", fontsize=10, pad=26)
    # The legend's keys in neutral grey: colour and hatch name the outcome, the cross-hatch the class.
    grey = {"facecolor": "#DDDDDD", "edgecolor": "#222222"}
    keys = [
        Patch(**grey, hatch="xx", label="the class's games (cross-hatched)"),
        Patch(**grey, label="the model's worlds"),
    ]
    ax.legend(handles=keys, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    fig.tight_layout()
    return fig
