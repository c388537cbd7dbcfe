"""The prediction worksheet: one question per hypothesis (``expect``) of the bundled scenarios.

Students predict, for each variant, whether an outcome becomes more or less likely than in the
scenario it extends; then ``negsim compare`` shows what the model says (its hypotheses table). The
worksheet is generated from the files, so a new scenario with an ``expect`` adds a question; the
teacher's key (the stated direction and the theory behind it) is on its own last page.
"""

from __future__ import annotations

from sim.engine.outcomes import NO_DEAL
from sim.scenario import Scenario

BOX = "☐"


def outcome_label(sc: Scenario, outcome: str) -> str:
    if outcome == "any_agreement":
        return "any agreement"
    if outcome == NO_DEAL:
        return "no agreement"
    label = sc.classes[outcome].label if outcome in sc.classes else outcome
    return label[0].lower() + label[1:]


def worksheet(scenarios: list[Scenario]) -> str:
    """Markdown: the questions, then (after a page break) the teacher's key."""
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
    lines += ["| Q | Variant | Outcome | Expected | Theory |", "|---|---|---|---|---|"]
    n = 0
    for sc in tested:
        for xid, ex in sc.expect.items():
            n += 1
            word = "more likely" if ex.direction == "up" else "less likely"
            lines.append(
                f"| Q{n} | `{sc.name}` ({xid}) | {outcome_label(sc, ex.outcome)} | {word} | {ex.theory} |"
            )
    lines += [
        "",
        "The model's verdict on each is in `results/compare/hypotheses.csv` and in the report; a contrary "
        "or inconclusive verdict is a finding to discuss, not a mistake to hide.",
    ]
    return "\n".join(lines) + "\n"
