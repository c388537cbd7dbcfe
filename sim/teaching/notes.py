"""The teacher's notes' exercise tables, generated from the engine, never written by hand.

Each exercise's table is what the check of its worked answer measures (``negsim exercise check N
answer.toml``): every share it weighs, at the exercise's stated number of worlds, with its 95%
interval, the worked answer's rows in bold. For "which assumption moves it most" the rows are the
assumptions with their low and high shares and the swing between them. The notes hold one block per
exercise between two markers; :func:`with_tables` refills them, and the tests compare each block
with the check they run anyway, so a change to the engine that moves a number fails until the notes
are regenerated:

    python -m sim.teaching.notes teaching/teachers-notes.md teaching/exercises
"""

from __future__ import annotations

from sim.teaching.exercises import Share, Verdict


def begin(number: int) -> str:
    return f"<!-- exercise {number}: generated from the engine -->"


def end(number: int) -> str:
    return f"<!-- exercise {number}: end -->"


def _pct(s: Share) -> str:
    lo, hi = s.interval
    return f"{100 * s.share:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"


def _bold(text: str, on: bool) -> str:
    return f"**{text}**" if on else text


def table(v: Verdict) -> str:
    """Markdown: the shares the worked answer's check weighed, as the check printed them."""
    ex = v.exercise
    measure = f"{ex.measure.label}, {ex.replications:,} worlds each"
    if ex.check.kind == "most":
        return _swings(v, measure)
    head = f"`{ex.check.parameter}`" if ex.check.parameter else "variant"
    lines = [f"| {head} | {measure} |", "|---|---|"]
    for s in v.evidence:
        name = s.label.split(" = ", 1)[-1] if ex.check.parameter else s.label
        lines.append(f"| {_bold(name, s.label in v.marks)} | {_bold(_pct(s), s.label in v.marks)} |")
    return "\n".join(lines)


def _swings(v: Verdict, measure: str) -> str:
    """One row per assumption: its share at the low and the high value, and the swing, largest first."""
    rows = []
    for low, high in zip(v.evidence[::2], v.evidence[1::2], strict=True):
        param, lo_value = low.label.split(" = ", 1)
        swing = 100 * abs(high.share - low.share)
        mark = low.label in v.marks
        cells = [f"`{param}` ({lo_value} .. {high.label.split(' = ', 1)[1]})", _pct(low), _pct(high)]
        rows.append((swing, [*(_bold(c, mark) for c in cells), _bold(f"{swing:.1f} points", mark)]))
    lines = [f"| assumption (low .. high) | at low | at high | swing ({measure}) |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(cells) + " |" for _, cells in sorted(rows, key=lambda r: -r[0])]
    return "\n".join(lines)


def block(markdown: str, number: int) -> str:
    """The text between exercise ``number``'s markers (stripped); ValueError if there are none."""
    start, stop = markdown.find(begin(number)), markdown.find(end(number))
    if start < 0 or stop < start:
        raise ValueError(f"no block '{begin(number)}' ... '{end(number)}'")
    return markdown[start + len(begin(number)) : stop].strip()


def with_tables(markdown: str, verdicts: list[Verdict]) -> str:
    """``markdown`` with each exercise's block refilled with :func:`table` of its worked verdict."""
    for v in verdicts:
        n = v.exercise.number
        block(markdown, n)  # the markers are there
        start, stop = markdown.find(begin(n)), markdown.find(end(n))
        markdown = markdown[: start + len(begin(n))] + "\n" + table(v) + "\n" + markdown[stop:]
    return markdown


if __name__ == "__main__":  # refresh the notes' tables from the engine
    import sys
    from pathlib import Path

    from sim.teaching.exercises import check, find_exercises, read_answer

    doc, folder = Path(sys.argv[1]), Path(sys.argv[2])
    worked = [
        check(ex, read_answer(Path(ex.folder) / "answer.toml")["answer"]) for ex in find_exercises(folder)
    ]
    doc.write_text(with_tables(doc.read_text(encoding="utf-8"), worked), encoding="utf-8")
