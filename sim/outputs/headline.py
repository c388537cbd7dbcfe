"""The answer first: a comparison's headline, rendered alike in HTML, Markdown and the terminal.

The headline opens with the scenario's own question (see :mod:`sim.outputs.question`): its class
first in force by each day it names, and in force on the last, per scenario. Then it ranks the
scenarios by the likelihood of any agreement (the reference first, set
apart), gives each class's share and rank, names the most likely scenarios for each class, and says
in one sentence which scenarios differ from the reference beyond their intervals. When scenarios
state hypotheses, their verdicts (held, contrary, inconclusive) come first: see :class:`Verdict`
and :func:`verdicts_html`, :func:`verdicts_md`, :func:`verdicts_text`.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

from sim.engine.outcomes import NO_DEAL
from sim.outputs import question as qn
from sim.outputs.plots import AGREEMENT, Runs, class_labels, ranked, share_of, union_classes

if TYPE_CHECKING:
    import pandas as pd

VERDICTS = ("held", "contrary", "inconclusive")
TOP = 3  # scenarios named per class in "most likely"


@dataclass(frozen=True)
class Verdict:
    """One scenario's stated expectation and what the runs say of it.

    ``numbers`` is the evidence as text, e.g. ``"full ceasefire 77.3% vs 63.5%: +13.8 [10.9, 16.7] pts"``.
    """

    scenario: str
    hypothesis: str
    verdict: str
    numbers: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {self.verdict!r}")


def as_verdicts(rows: Iterable[Verdict | Mapping[str, Any] | tuple]) -> list[Verdict]:
    """Verdict rows from Verdict objects, mappings with its fields, or (scenario, hypothesis,
    verdict, numbers) tuples."""
    out = []
    for r in rows:
        if isinstance(r, Verdict):
            out.append(r)
        elif isinstance(r, Mapping):
            out.append(Verdict(**dict(r)))
        else:
            out.append(Verdict(*r))
    return out


@dataclass(frozen=True)
class Row:
    """One scenario in the headline."""

    name: str
    title: str
    reference: bool
    any: tuple[float, float, float]  # share, lo, hi
    diff: tuple[float, float, float] | None  # points vs the reference, with the interval; None for it
    classes: dict[str, tuple[float, int]]  # outcome -> (share, rank among scenarios, 1 = most likely)


@dataclass(frozen=True)
class Headline:
    reference: str
    why: str
    rows: list[Row]
    outcomes: list[str]  # deal classes that occur somewhere, then no agreement
    labels: dict[str, str]
    replications: str
    seeds: str
    verdicts: list[Verdict]
    question: qn.Question | None = None

    @property
    def others(self) -> list[Row]:
        return [r for r in self.rows if not r.reference]

    @property
    def reference_row(self) -> Row | None:
        return next((r for r in self.rows if r.reference), None)


def build(
    runs: Runs,
    summary: pd.DataFrame,
    reference: str,
    why: str,
    verdicts=(),
    firsts: dict[str, pd.DataFrame] | None = None,
) -> Headline:
    """The headline of a comparison from its runs and its summary frame (see report.summary_frame);
    with the runs' first-in-force curves, it leads with the reference scenario's question."""
    classes = union_classes(runs)
    occurring = [c for c in classes if any(share_of(s, c) > 0 for _, _, s in runs.values())]
    outcomes = [*occurring, NO_DEAL]
    by = summary.set_index(["scenario", "outcome"])
    ranks: dict[str, dict[str, int]] = {}
    for o in outcomes:
        order = sorted(runs, key=lambda n, o=o: -share_of(runs[n][2], o))
        ranks[o] = {n: _rank(runs, order, n, o) for n in order}
    rows = []
    for name in ranked(runs, reference):
        sc = runs[name][0]
        t = by.loc[(name, AGREEMENT)]
        diff = None
        if name != reference and reference in runs:
            diff = (100 * t["diff"], 100 * t["diff_lo"], 100 * t["diff_hi"])
        cells = {o: (share_of(runs[name][2], o), ranks[o][name]) for o in outcomes}
        rows.append(Row(name, sc.title, name == reference, (t["share"], t["lo"], t["hi"]), diff, cells))
    reps = sorted({int(s["n"].iloc[0]) for _, _, s in runs.values()})
    seeds = sorted({sc.seed for sc, _, _ in runs.values()})
    return Headline(
        reference,
        why,
        rows,
        outcomes,
        class_labels(runs),
        f"{reps[0]:,}" if len(reps) == 1 else f"{reps[0]:,} to {reps[-1]:,}",
        str(seeds[0]) if len(seeds) == 1 else ", ".join(map(str, seeds)),
        as_verdicts(verdicts),
        qn.build(runs, firsts, reference) if firsts is not None else None,
    )


def _rank(runs: Runs, order: list[str], name: str, outcome: str) -> int:
    """Competition rank (1 = most likely); equal shares share a rank."""
    mine = share_of(runs[name][2], outcome)
    return 1 + sum(share_of(runs[n][2], outcome) > mine for n in order)


# ---------------------------------------------------------------- words


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _ci(share: float, lo: float, hi: float) -> str:
    return f"{100 * share:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"


def _pts(diff: tuple[float, float, float]) -> str:
    d, lo, hi = diff
    return f"{d:+.1f} [{lo:+.1f}, {hi:+.1f}]"


def _beyond(diff: tuple[float, float, float] | None) -> int:
    """+1 if the interval lies above 0, -1 if below, 0 if it straddles 0 (or no difference)."""
    if diff is None or any(math.isnan(v) for v in diff):
        return 0
    return 1 if diff[1] > 0 else -1 if diff[2] < 0 else 0


def answer(h: Headline) -> str:
    """The one-paragraph answer: the range of any agreement and what moves it beyond sampling."""
    ref = h.reference_row
    others = h.others
    parts = []
    if others:
        top, bottom = others[0], others[-1]
        parts.append(
            f"Any agreement ({_counts(h)}) is most likely under {top.title} ({_pct(top.any[0])}) "
            f"and least likely under {bottom.title} ({_pct(bottom.any[0])})"
        )
    if ref is not None:
        lead = "; the reference" if others else "Under the reference"
        parts[-1:] = [(parts[-1] if parts else "") + f"{lead}, {ref.title}, gives {_pct(ref.any[0])}."]
        up = [r.name for r in others if _beyond(r.diff) > 0]
        down = [r.name for r in others if _beyond(r.diff) < 0]
        same = [r.name for r in others if _beyond(r.diff) == 0]
        if others:
            parts.append(
                f"Beyond their 95% intervals, {len(up)} of {len(others)} scenarios make a deal more likely "
                f"than the reference{_list(up)}, {len(down)} less likely{_list(down)}"
                + (f", and {len(same)} cannot be told apart from it{_list(same)}." if same else ".")
            )
    elif parts:
        parts[-1] += "."
    return " ".join(parts)


def _counts(h: Headline) -> str:
    """What "any agreement" counts: every deal class in force at the horizon, however small."""
    deals = [h.labels[o] for o in h.outcomes if o != NO_DEAL]
    smallest = f", {deals[-1].split(' (')[0].lower()} included" if len(deals) > 1 else ""
    return f"any deal class in force at the horizon{smallest}"


def _list(names: list[str]) -> str:
    return f" ({', '.join(names)})" if names else ""


def most_likely(h: Headline, outcome: str, top: int = TOP) -> list[Row]:
    rows = sorted(h.rows, key=lambda r: r.classes[outcome][1])
    return [r for r in rows if r.classes[outcome][0] > 0][:top] if outcome != NO_DEAL else rows[:top]


def about(h: Headline) -> str:
    return (
        f"{len(h.rows)} scenarios, {h.replications} simulated worlds each, seed {h.seeds}; "
        f"shares with 95% Wilson intervals, differences in percentage points with 95% Newcomb intervals. "
        f"Reference: {h.reference} ({h.why})."
    )


# ---------------------------------------------------------------- HTML


def headline_html(h: Headline) -> str:
    parts = []
    if h.question is not None:
        parts += [
            f'<p class="answer question">{escape(qn.sentence(h.question))}</p>',
            _question_html(h.question),
        ]
    parts += [f'<p class="answer">{escape(answer(h))}</p>', f'<p class="note">{escape(about(h))}</p>']
    if h.verdicts:
        parts.append(verdicts_html(h.verdicts))
    parts.append(_ranking_html(h))
    parts.append(_by_class_html(h))
    return "\n".join(parts)


def _ranking_html(h: Headline) -> str:
    head = ["Scenario", "Any agreement", "vs reference (points)", *[h.labels[o] for o in h.outcomes]]
    out = [
        '<table class="headline">',
        "<thead><tr>" + "".join(f"<th>{escape(c)}</th>" for c in head) + "</tr></thead>",
        "<tbody>",
    ]
    for r in h.rows:
        cls = ' class="reference"' if r.reference else ""
        name = f"<b>{escape(r.title)}</b>" if r.reference else escape(r.title)
        tag = ' <span class="tag">reference</span>' if r.reference else ""
        diff = "—" if r.diff is None else _pts(r.diff)
        cells = [
            f'<td>{name}{tag}<br><span class="where">{escape(r.name)}</span></td>',
            f'<td class="num">{escape(_ci(*r.any))}</td>',
            f'<td class="num">{escape(diff)}</td>',
            *[f'<td class="num">{_pct(r.classes[o][0])}{_rank_html(r.classes[o])}</td>' for o in h.outcomes],
        ]
        out.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    out += ["</tbody>", "</table>"]
    note = (
        "#k: rank of the scenario for that outcome (1 = most likely). The reference comes first, the others "
    )
    note += "from most to least likely agreement."
    out.append(f'<p class="note">{escape(note)}</p>')
    return "\n".join(out)


def _question_html(q: qn.Question) -> str:
    keys = q.asked()
    head = [
        "Scenario",
        *[qn.name_of(q, *k) for k in keys],
        f"vs reference (points), {qn.name_of(q, *keys[len(q.days) - 1])}",
    ]
    lead = keys[len(q.days) - 1]
    out = [
        '<table class="headline question">',
        "<thead><tr>" + "".join(f"<th>{escape(c)}</th>" for c in head) + "</tr></thead>",
        "<tbody>",
    ]
    for a in q.answers:
        cls = ' class="reference"' if a.reference else ""
        tag = ' <span class="tag">reference</span>' if a.reference else ""
        cells = [f'<td>{escape(a.title)}{tag}<br><span class="where">{escape(a.name)}</span></td>']
        cells += [f'<td class="num">{escape(qn.ci(a.cell(*k)))}</td>' for k in keys]
        cells.append(f'<td class="num">{escape(qn.pts(a.diffs[lead]))}</td>')
        out.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    out += ["</tbody>", "</table>"]
    note = (
        f"The question comes from {q.why}. First in force by day D: the share of worlds in which the class "
        "has been in force at some time up to D; in force on D: the share with it in force then; 95% "
        "Wilson intervals, differences with 95% Newcomb intervals."
    )
    out.append(f'<p class="note">{escape(note)}</p>')
    return "\n".join(out)


def _rank_html(cell: tuple[float, int]) -> str:
    """The rank beside a share; none for a share of 0 (a tie of scenarios where it never happens)."""
    return f' <span class="rank">#{cell[1]}</span>' if cell[0] > 0 else ""


def _by_class_html(h: Headline) -> str:
    items = []
    for o in h.outcomes:
        top = most_likely(h, o)
        names = ", ".join(f"{escape(r.title)} ({_pct(r.classes[o][0])})" for r in top) or "no scenario"
        items.append(f"<li><b>{escape(h.labels[o])}</b>: {names}</li>")
    return "<p>Most likely, by outcome:</p>\n<ul>\n" + "\n".join(items) + "\n</ul>"


def verdicts_html(verdicts: list[Verdict]) -> str:
    """The scenarios' hypotheses and their verdicts, as the headline's first table."""
    rows = "\n".join(
        f"<tr><td>{escape(v.scenario)}</td><td>{escape(v.hypothesis)}</td>"
        f'<td class="verdict {v.verdict}">{escape(v.verdict)}</td>'
        f'<td class="num">{escape(v.numbers)}</td></tr>'
        for v in verdicts
    )
    return (
        "<h3>Hypotheses</h3>\n<table>\n<thead><tr><th>Scenario</th><th>Expects</th><th>Verdict</th>"
        f"<th>Numbers</th></tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>"
    )


# ---------------------------------------------------------------- Markdown


def _md(text: str) -> str:
    return escape(text, quote=False).replace("|", "\\|")


def headline_md(h: Headline) -> str:
    lines = []
    if h.question is not None:
        lines += [_md(qn.sentence(h.question)), "", _question_md(h.question), ""]
    lines += [_md(answer(h)), "", _md(about(h)), ""]
    if h.verdicts:
        lines += [verdicts_md(h.verdicts), ""]
    head = ["Scenario", "Any agreement", "vs reference (points)", *[h.labels[o] for o in h.outcomes]]
    lines += ["| " + " | ".join(map(_md, head)) + " |", "|" + "---|" * len(head)]
    for r in h.rows:
        name = f"**{_md(r.title)}** (reference)" if r.reference else _md(r.title)
        diff = "—" if r.diff is None else _pts(r.diff)
        cells = [
            name,
            _ci(*r.any),
            diff,
            *[
                _pct(r.classes[o][0]) + (f" #{r.classes[o][1]}" if r.classes[o][0] > 0 else "")
                for o in h.outcomes
            ],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Most likely, by outcome:", ""]
    for o in h.outcomes:
        names = ", ".join(f"{_md(r.title)} ({_pct(r.classes[o][0])})" for r in most_likely(h, o))
        lines.append(f"- **{_md(h.labels[o])}**: {names or 'no scenario'}")
    return "\n".join(lines)


def _question_md(q: qn.Question) -> str:
    keys = q.asked()
    lead = keys[len(q.days) - 1]
    head = ["Scenario", *[qn.name_of(q, *k) for k in keys], "vs reference (points)"]
    lines = ["| " + " | ".join(map(_md, head)) + " |", "|" + "---|" * len(head)]
    for a in q.answers:
        name = f"**{_md(a.title)}** (reference)" if a.reference else _md(a.title)
        lines.append(
            "| " + " | ".join([name, *[qn.ci(a.cell(*k)) for k in keys], qn.pts(a.diffs[lead])]) + " |"
        )
    return "\n".join(lines)


def verdicts_md(verdicts: list[Verdict]) -> str:
    lines = ["### Hypotheses", "", "| Scenario | Expects | Verdict | Numbers |", "|---|---|---|---|"]
    lines += [
        f"| {_md(v.scenario)} | {_md(v.hypothesis)} | **{v.verdict}** | {_md(v.numbers)} |" for v in verdicts
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- terminal


def headline_text(h: Headline, width: int = 100) -> str:
    """The headline as plain text no wider than ``width`` (readable from 80 columns)."""
    width = max(60, width)
    wrap = textwrap.TextWrapper(width=width)
    lines = []
    if h.question is not None:
        lines += [*wrap.wrap(qn.sentence(h.question)), ""]
        lines += [*_question_text(h.question, width), ""]
    lines += [*wrap.wrap(about(h)), ""]
    if h.verdicts:
        lines += [verdicts_text(h.verdicts, width), ""]
    lines += [*wrap.wrap(answer(h)), ""]
    lines += _table_text(h, width)
    lines.append("")
    for o in h.outcomes:
        names = ", ".join(f"{r.name} {_pct(r.classes[o][0])}" for r in most_likely(h, o)) or "no scenario"
        lines += textwrap.wrap(f"Most likely {h.labels[o].lower()}: {names}", width, subsequent_indent="  ")
    return "\n".join(lines)


def _table_text(h: Headline, width: int) -> list[str]:
    """Scenario, any agreement (with its interval when it fits), points vs the reference, each outcome."""
    with_ci = width >= 98
    any_w, diff_w, sep = (20 if with_ci else 6), 7, 2  # "100.0% [99.9, 100.0]" is 20
    name_w = max(12, min(20, max(len(r.name) for r in h.rows)))
    n = len(h.outcomes)
    room = width - name_w - any_w - diff_w - sep * (2 + n)
    cls_w = max(6, min(12, room // max(n, 1)))
    columns = [
        ("Scenario", name_w, "<"),
        ("Any deal" if with_ci else "Any", any_w, ">"),
        ("vs ref", diff_w, ">"),
        *[(h.labels[o], cls_w, ">") for o in h.outcomes],
    ]
    head_lines = _headers([c[0] for c in columns], [c[1] for c in columns])
    out = [_line([hl[k] for hl in head_lines], columns) for k in range(len(head_lines[0]))]
    out.append(_line(["-" * w for _, w, _ in columns], columns))
    for r in h.rows:
        name = r.name if len(r.name) <= name_w else r.name[: name_w - 1] + "…"
        anyc = _ci(*r.any) if with_ci else f"{100 * r.any[0]:.1f}"
        diff = "ref " if r.reference else "" if r.diff is None else f"{r.diff[0]:+.1f}" + _star(r.diff)
        cells = [name, anyc, diff, *[f"{100 * r.classes[o][0]:.1f}" for o in h.outcomes]]
        out.append(_line(cells, columns))
        if r.reference and len(h.rows) > 1:
            out.append(_line(["." * w for _, w, _ in columns], columns))
    note = "Shares in %; vs ref: points against the reference, * where its 95% interval excludes 0."
    out += textwrap.wrap(note, width)
    return out


def _question_text(q: qn.Question, width: int) -> list[str]:
    """Scenario, then each class first in force by each day and in force on the last (with its
    interval when it fits), then points against the reference on the lead number."""
    keys = q.asked()
    lead = keys[len(q.days) - 1]
    name_w = max(12, min(20, max(len(a.name) for a in q.answers)))
    with_ci = name_w + len(keys) * 21 + 9 <= width  # "100.0% [99.9, 100.0]" is 19 (20 with the sign)
    cell_w = 19 if with_ci else 6
    many = len(q.classes) > 1  # then each column says which class it asks after

    def title(k: tuple[str, str, int]) -> str:
        short = qn.name_of(q, *k, short=True)
        return f"{q.labels.get(k[1], k[1])} {short}" if many else short

    columns = [("Scenario", name_w, "<"), *[(title(k), cell_w, ">") for k in keys]]
    columns.append(("vs ref", 7, ">"))
    out = []
    head_lines = _headers([c[0] for c in columns], [c[1] for c in columns])
    out += [_line([hl[k] for hl in head_lines], columns) for k in range(len(head_lines[0]))]
    out.append(_line(["-" * w for _, w, _ in columns], columns))
    for a in q.answers:
        name = a.name if len(a.name) <= name_w else a.name[: name_w - 1] + "…"
        cells = [qn.ci(a.cell(*k)) if with_ci else qn.pct(a.cell(*k)).rstrip("%") for k in keys]
        d = a.diffs[lead]
        diff = (
            "ref "
            if a.reference
            else ""
            if d is None
            else f"{100 * d[0]:+.1f}" + _star(tuple(100 * x for x in d))
        )
        out.append(_line([name, *cells, diff], columns))
        if a.reference and len(q.answers) > 1:
            out.append(_line(["." * w for _, w, _ in columns], columns))
    label = q.labels.get(q.lead, q.lead)
    note = (
        f"{label if not many else 'Shares'}, % of worlds: by dD = first in force by day D, "
        f"on dD = in force on day D; vs ref: points on by d{q.last}, * where its 95% interval "
        "excludes 0; —: not followed so long."
    )
    out += textwrap.wrap(note, width)
    return out


def _star(diff: tuple[float, float, float]) -> str:
    return "*" if _beyond(diff) else " "


def _headers(titles: list[str], widths: list[int]) -> list[list[str]]:
    """Each header wrapped to its column (a word too long is cut with a dot), bottom-aligned."""
    wrapped = []
    for title, w in zip(titles, widths, strict=True):
        words = [x if len(x) <= w else x[: w - 1] + "." for x in title.split()]
        wrapped.append(textwrap.wrap(" ".join(words), w) or [""])
    n = max(map(len, wrapped))
    return [[""] * (n - len(w)) + w for w in wrapped]


def _line(cells: list[str], columns: list[tuple[str, int, str]]) -> str:
    return "  ".join(f"{c:{align}{w}}"[:w] for c, (_, w, align) in zip(cells, columns, strict=True)).rstrip()


def verdicts_text(verdicts: list[Verdict], width: int = 100) -> str:
    lines = ["Hypotheses:"]
    for v in verdicts:
        text = f"{v.verdict.upper():<12} {v.scenario}: {v.hypothesis}" + (
            f" ({v.numbers})" if v.numbers else ""
        )
        lines += textwrap.wrap(text, width, initial_indent="  ", subsequent_indent=" " * 15)
    return "\n".join(lines)
