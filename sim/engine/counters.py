"""Counter-proposals: a party that refuses the text on the table tables its own.

Rubinstein (1982), "Perfect equilibrium in a bargaining model", Econometrica 50: bargaining as
alternating offers, where the side that refuses an offer answers with one of its own. Here a party
whose switch is on (``parties.<id>.counters``) and that refuses a text tables the package it values
most among those it would accept itself and believes every other party whose consent the package
needs would accept; its beliefs of the others are learnt from their public answers by the
mediator's own rule (:class:`sim.engine.beliefs.Beliefs`). It never tables a package across its
own or anyone's red line, and tables nothing when no such package is left.

When several parties counter at one contact, Zeuthen's principle (Zeuthen 1930, *Problems of
Monopoly and Economic Warfare*; Harsanyi 1956) says who concedes: each party's risk limit is the
largest chance of breakdown it would bear rather than take a rival's counter,
(u_i(own) - u_i(rival)) / (u_i(own) - u_i(no deal)), against its most attractive rival. The party
with the smaller risk limit concedes; the counter of the party with the largest stands and is put
to the table.

**The mediator's rule** (Raiffa 1982, the single negotiating text): the standing counter is put to
every party whose consent it needs at the same contact. If it is accepted and ratified it is banked;
if not, the mediator takes it up as the text on the table, so its next revision lies within its
reach of the counter (it merges the counter's terms into the single text) rather than of its own
refused draft.
"""

from __future__ import annotations

import numpy as np


def best_for_self(own: np.ndarray, feasible: np.ndarray) -> np.ndarray:
    """(r,) column of the largest own surplus among feasible packages (r, C), the lower index on a
    tie; -1 where none is feasible."""
    score = np.where(feasible, own, -np.inf)
    return np.where(feasible.any(axis=1), np.argmax(score, axis=1), -1)


def zeuthen(surplus: np.ndarray, tabled: np.ndarray) -> np.ndarray:
    """(r,) the party whose counter stands, or -1 where nobody tabled one.

    ``surplus`` (r, n, n): party i's surplus (over no deal: what is in force) of party j's counter;
    ``tabled`` (r, n): who tabled a counter. A lone counter stands. Ties: the lower party index.
    """
    own = np.einsum("rii->ri", surplus)  # (r, n) each party's surplus of its own counter
    gain = own[:, :, None] - surplus  # what i gives up by taking j's counter
    rival = tabled[:, None, :] & ~np.eye(tabled.shape[1], dtype=bool)[None]
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = np.where(rival, gain / own[:, :, None], np.inf).min(axis=2)
    limit = np.where(tabled, limit, -np.inf)
    return np.where(tabled.any(axis=1), np.argmax(limit, axis=1), -1)
