"""The prediction worksheet: one question per hypothesis (``expect``) of the bundled scenarios.

Students predict, for each variant, whether an outcome becomes more or less likely than in the
scenario it extends; then ``negsim compare`` shows what the model says (its hypotheses table). The
worksheet is generated from the files, so a new scenario with an ``expect`` adds a question; the
teacher's key (the stated direction and the theory behind it) is on its own last page. Given the
comparison's verdicts (``negsim worksheet --key``), the key puts the model's verdict on each
question beside what theory expects: held, contrary or inconclusive, with the two shares and the
difference's 95% interval (Newcombe's, as :mod:`sim.experiments.hypotheses` computes it).
"""

from __future__ import annotations

from collections.abc import Sequence

from sim.engine.outcomes import NO_DEAL
from sim.experiments.hypotheses import Verdict
from sim.scenario import Scenario

BOX = "☐"


def outcome_label(sc: Scenario, outcome: str) -> str:
    if outcome == "any_agreement":
        return "any agreement"
    if outcome == NO_DEAL:
        return "no agreement"
    label = sc.classes[outcome].label if outcome in sc.classes else outcome
    return label[0].lower() + label[1:]


def numbers(v: Verdict) -> str:
    """A verdict's evidence: the variant's share, the parent's, and the difference with its interval."""
    return (
        f"{100 * v.share:.1f}% vs {100 * v.parent_share:.1f}%: "
        f"{100 * v.diff:+.1f} [{100 * v.lo:+.1f}, {100 * v.hi:+.1f}] pts"
    )


def key_rows(scenarios: list[Scenario], verdicts: Sequence[Verdict] | None) -> list[str]:
    """The teacher's key as a Markdown table: with ``verdicts``, the model's beside theory's."""
    found = {(v.scenario, v.hypothesis): v for v in verdicts or ()}
    model = verdicts is not None
    head = "| Q | Variant | Outcome | Theory expects |" + (" Model says | Model's numbers |" if model else "")
    rows = [head + " Theory |", "|---" * (6 if model else 4) + "|---|"]
    n = 0
    for sc in scenarios:
        for xid, ex in sc.expect.items():
            n += 1
            word = "more likely" if ex.direction == "up" else "less likely"
            cells = [f"Q{n}", f"`{sc.name}` ({xid})", outcome_label(sc, ex.outcome), word]
            if model:
                v = found.get((sc.name, xid))
                cells += [f"**{v.verdict}**", numbers(v)] if v else ["not run", "its parent was not compared"]
            rows.append("| " + " | ".join([*cells, ex.theory]) + " |")
    return rows


def worksheet(scenarios: list[Scenario], verdicts: Sequence[Verdict] | None = None, worlds: str = "") -> str:
    """Markdown: the questions, then (after a page break) the teacher's key; with ``verdicts`` (the
    comparison's checks of these scenarios, run with ``worlds`` described), the model's beside it."""
    by_name = {sc.name: sc for sc in scenarios}
    tested = [sc for sc in scenarios if sc.expect]
    lines = [
        "# Prediction worksheet",
        "",
        "*Before the run: for each variant, predict whether the outcome becomes more or less likely than "
        "in the scenario it changes, and say why in one line. After the run (`negsim compare`), copy what "
        "the model says from its hypotheses table (held / contrary / inconclusive).*",
        "",
        "Name: ____________________   Table: ______",
        "",
    ]
    n = 0
    for sc in tested:
        parent = by_name[sc.parent].title if sc.parent in by_name else sc.parent
        lines += [f"## {sc.title} (`{sc.name}`)", "", sc.summary, ""]
        for ex in sc.expect.values():
            n += 1
            day = f"on day {ex.day}" if ex.day else f"on day {sc.calendar.horizon_days}"
            lines += [
                f"**Q{n}.** Compared with *{parent}*, is **{outcome_label(sc, ex.outcome)}** in force {day} "
                f"{BOX} more likely  {BOX} less likely  {BOX} about as likely?",
                "",
                "Why: ______________________________________________   Model: __________",
                "",
            ]
    lines += ["---", "", "# Teacher's key", ""]
    if verdicts is not None:
        lines += [
            f"What theory expects, and what the model says ({worlds}): *held* when the difference's "
            "95% interval lies on the expected side of zero, *contrary* when on the other, "
            "*inconclusive* when it contains zero. Numbers: the variant's share vs the scenario it "
            "changes, and the difference in points.",
            "",
        ]
    lines += key_rows(tested, verdicts)
    if verdicts is None:
        lines += [
            "",
            "The model's verdict on each: `negsim worksheet --key` puts it here, beside theory's; "
            "it is also in `results/compare/hypotheses.csv` and in the report.",
        ]
    lines += [
        "",
        "A contrary or inconclusive verdict is a finding to discuss, not a mistake to hide.",
    ]
    return "\n".join(lines) + "\n"
