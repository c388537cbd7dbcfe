"""Each party's no-deal value as the engine computes it: one set of numbers for sheets, plan and game.

No deal is the value of what is in force (at first nothing agreed and the war on every front) over
the valuation window (``sim.engine.valuation``). It differs across worlds, because each world draws
the parties' values of the terms and of each front from the scenario's uncertainty. The role
sheets and the lesson plan show its mean and range over the worlds of the scenario's ensemble; the
game (``negsim play``) shows the value of the world being played, one of those worlds, so it lies
in that range. All three read the same function of the engine, :meth:`NegotiationModel.value`, on
day 0 (the balance of power at its initial value, no pressure yet).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from sim.engine.outcomes import STATUS_QUO
from sim.experiments.chunks import chunk_bounds, chunk_model
from sim.scenario import Scenario


def day0_nodeal(model, pid: str, rows: np.ndarray) -> np.ndarray:
    """(r,) the no-deal value of ``pid`` in worlds ``rows`` of a model that has not stepped yet."""
    assert model.steps == 0, "the day-0 value is read before the first day is played"
    party = model.party[pid]
    here = model.inforce[rows][:, None]
    return model.value(party.values, party, rows, here)[:, 0]


def nodeal_values(sc: Scenario) -> dict[str, np.ndarray]:
    """(R,) each party's no-deal value on day 0 in every world of the scenario's ensemble."""
    out = {pid: np.empty(sc.replications) for pid in sc.parties}
    for a, b in chunk_bounds(sc.replications):
        model = chunk_model(sc, sc.seed, a, b)
        rows = np.arange(b - a)
        assert np.all(model.inforce == STATUS_QUO)
        for pid in sc.parties:
            out[pid][a:b] = day0_nodeal(model, pid, rows)
    return out


@dataclass(frozen=True)
class ValueRange:
    """A party's no-deal value over the ensemble's worlds: mean and full range (min to max)."""

    party: str
    mean: float
    low: float
    high: float
    worlds: int

    def text(self) -> str:
        return (
            f"{self.mean:+.3f} on average, from {self.low:+.3f} to {self.high:+.3f} "
            f"across the {self.worlds:,} worlds"
        )


def nodeal_ranges(sc: Scenario) -> dict[str, ValueRange]:
    """Each party's :class:`ValueRange` in the scenario's ensemble (``sc.replications`` worlds)."""
    return {
        pid: ValueRange(pid, float(v.mean()), float(v.min()), float(v.max()), v.size)
        for pid, v in nodeal_values(sc).items()
    }


# A sentence in the role sheets and the lesson plan's table (read back by the tests).
RANGE = re.compile(
    r"([+-]\d+\.\d{3}) on average, from ([+-]\d+\.\d{3}) to ([+-]\d+\.\d{3}) across the ([\d,]+) worlds"
)


def parse_range(text: str) -> tuple[float, float, float, int]:
    """(mean, low, high, worlds) of the first value range in ``text``; ValueError if there is none."""
    m = RANGE.search(re.sub(r"\s+", " ", text))
    if m is None:
        raise ValueError("no no-deal value range in the text")
    return float(m[1]), float(m[2]), float(m[3]), int(m[4].replace(",", ""))


def table(sc: Scenario) -> str:
    """Markdown: each party's no-deal value on day 0, mean and range, as on its role sheet."""
    lines = [
        f"| Party | No-deal value on day 0, over {sc.valuation.window_days} days (`{sc.name}`) |",
        "|---|---|",
    ]
    for pid, r in nodeal_ranges(sc).items():
        lines.append(f"| {sc.parties[pid].label} (`{pid}`) | {r.text()} |")
    return "\n".join(lines)


# Regenerate with: python -m sim.teaching.values teaching/lesson-plan.md scenarios/baseline.toml
BEGIN, END = "<!-- no-deal values: generated from the engine -->", "<!-- no-deal values: end -->"


def with_table(markdown: str, sc: Scenario) -> str:
    """``markdown`` with the block between BEGIN and END replaced by :func:`table` of ``sc``."""
    start, stop = markdown.find(BEGIN), markdown.find(END)
    if start < 0 or stop < start:
        raise ValueError(f"no block '{BEGIN}' ... '{END}' to fill")
    return markdown[: start + len(BEGIN)] + "\n" + table(sc) + "\n" + markdown[stop:]


if __name__ == "__main__":  # refresh a document's block from the engine
    import sys
    from pathlib import Path

    from sim.scenario import load_scenario

    doc, scenario = Path(sys.argv[1]), load_scenario(sys.argv[2])
    doc.write_text(with_table(doc.read_text(encoding="utf-8"), scenario), encoding="utf-8")
