"""The world around the table: battlefield momentum, random events and the levers parties pull.

All randomness of a world is drawn when the ensemble is built (one row per replication), so a
world's path does not depend on which other worlds are still negotiating.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.scenario import schema as S

if TYPE_CHECKING:
    from sim.engine.parties import Party


class Battlefield:
    """Momentum m: a mean-reverting random walk with drift (an Ornstein-Uhlenbeck step).

    m_t = m_{t-1} + drift - reversion * m_{t-1} + noise * eps_t. Positive m favours the parties
    with positive exposure (Russia after Kursk); it moves each party's BATNA in its own direction.
    Each round without a deal also costs every party ``cost_per_round`` of reservation value: the
    mutually hurting stalemate that makes a conflict ripe for settlement (Zartman 2000).
    """

    def __init__(self, spec: S.Momentum, rng: np.random.Generator, n: int, rounds: int) -> None:
        self.spec = spec
        self.eps = rng.standard_normal((n, rounds)) if spec.noise > 0 else np.zeros((n, rounds))
        self.momentum = np.full(n, spec.initial, dtype=np.float64)

    def advance(self, t: int, idx: np.ndarray) -> None:
        s, m = self.spec, self.momentum[idx]
        self.momentum[idx] = m + s.drift - s.reversion * m + s.noise * self.eps[idx, t - 1]


class Events:
    """Scenario events: each fires with a per-round probability and shifts reservations or momentum,
    or (a leaders' summit) reveals the parties' true thresholds to the mediator."""

    def __init__(self, specs: dict[str, S.Event], stream, n: int, rounds: int):
        self.ids, self.specs = list(specs), list(specs.values())
        # one stream per event, so adding an event leaves the others' luck as it was
        luck = [stream("event", e).random((n, rounds)) for e in self.ids]
        self.luck = np.array(luck).reshape(len(self.ids), n, rounds)
        self.fired = np.zeros((len(self.specs), n), dtype=bool)

    def fire(self, t: int, idx: np.ndarray) -> list[np.ndarray]:
        """For each event, the mask over idx of the worlds where it fires in round t."""
        out = []
        for e, ev in enumerate(self.specs):
            hit = (self.luck[e, idx, t - 1] < ev.probability) & (t >= ev.from_round)
            if ev.once:
                hit &= ~self.fired[e, idx]
            self.fired[e, idx[hit]] = True
            out.append(hit)
        return out


class Levers:
    """Sticks and carrots applied by policy (always / on rejection / from round k, at most n times).

    A stick lowers the target's reservation value (sanctions, an aid pause); a carrot raises the
    target's value of any deal (sanctions relief). Pressure changes the BATNA or the value of
    agreement, the two levers of coercive diplomacy the article shows: US aid to Kyiv paused, then
    resumed after Kyiv backed the ceasefire.
    """

    def __init__(self, specs: dict[str, S.Lever], parties: dict[str, Party], n: int) -> None:
        self.ids, self.specs = list(specs), list(specs.values())
        self.targets = [parties[lv.target] for lv in self.specs]
        self.uses = np.zeros((len(self.specs), n), dtype=np.int16)

    def apply(self, t: int, idx: np.ndarray, rejected_last: dict[str, np.ndarray]) -> list:
        """Fire every lever whose policy allows it; return per lever the mask over idx that fired."""
        out = []
        for j, (lv, target) in enumerate(zip(self.specs, self.targets, strict=True)):
            fire = (self.uses[j, idx] < lv.max_uses) & (t >= lv.from_round)
            if lv.policy == "on_rejection":
                fire &= rejected_last[lv.target][idx]
            if lv.strength > 0 and fire.any():
                rows = idx[fire]
                self.uses[j, rows] += 1
                if lv.kind == "stick":
                    target.shift[rows] -= lv.strength
                else:
                    target.bonus[rows] += lv.strength
            out.append(fire)
        return out
