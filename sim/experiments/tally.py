"""From chunk arrays to tables: per-replication outcomes, the cumulative agreement curve, shares.

Intervals are Wilson score intervals (statsmodels), which stay inside [0, 1] and behave at shares
near 0 or 1, where most of a scenario's classes live.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.engine.outcomes import NO_DEAL, OutcomeSpace
from sim.experiments.chunks import ChunkResult

Z95 = 0.05  # alpha of the 95% intervals


def wilson(successes: np.ndarray, n: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(successes, n, alpha=Z95, method="wilson")
    share = np.asarray(successes) / np.asarray(n)
    # At k = 0 or k = n the formula lands a rounding error inside [0, 1]; keep the share inside.
    return np.clip(np.minimum(lo, share), 0.0, 1.0), np.clip(np.maximum(hi, share), 0.0, 1.0)


def deal_class(space: OutcomeSpace, agreed: np.ndarray, package: np.ndarray) -> np.ndarray:
    """Index into class_order(space) per world: its deal's class, or the last (no agreement)."""
    return np.where(agreed, space.package_class[np.maximum(package, 0)], len(space.class_ids))


def outcomes_frame(space: OutcomeSpace, chunks: list[ChunkResult]) -> pd.DataFrame:
    """One row per replication: whether and when a deal came, its class, options and utilities.

    Text columns are categoricals (a byte per row), so a million replications stay small.
    """
    sc = space.scenario
    agreed = np.concatenate([c.agreed for c in chunks])
    rnd = np.concatenate([c.round for c in chunks])
    pkg = np.concatenate([c.package for c in chunks])
    util = np.concatenate([c.utility for c in chunks])
    ratfail = np.concatenate([c.ratification_failures for c in chunks])
    demand = np.concatenate([c.first_demand for c in chunks])
    replication = np.concatenate([np.arange(c.start, c.start + c.agreed.size) for c in chunks])

    df = pd.DataFrame(
        {
            "replication": replication.astype(np.int64),
            "agreed": agreed.astype(np.int8),
            "round": pd.array(np.where(agreed, rnd, 0), dtype="Int16"),
            "outcome": _labels(deal_class(space, agreed, pkg), class_order(space)),
        }
    )
    df.loc[~agreed, "round"] = pd.NA
    for k, issue in enumerate(space.issues):
        codes = np.where(agreed, space.packages[np.maximum(pkg, 0), k], -1)
        df[issue] = _labels(codes, space.options[k])
    for i, pid in enumerate(sc.parties):
        df[f"u_{pid}"] = util[:, i]
    df["ratification_failures"] = ratfail
    moves = [f"{a}={b}" for a, b in map(space.describe_move, range(len(space.moves)))]
    for i, pid in enumerate(sc.parties):
        df[f"demand_{pid}"] = _labels(demand[:, i], moves)
    return df


def _labels(codes: np.ndarray, names: list[str]) -> pd.Categorical:
    """Codes into ``names`` as a categorical; -1 is missing (an empty CSV cell)."""
    return pd.Categorical.from_codes(codes.astype(np.int32), categories=names)


def class_order(space: OutcomeSpace) -> list[str]:
    return [*space.class_ids, NO_DEAL]


class Tally:
    """Worlds counted by outcome class and agreement round, chunk by chunk.

    Shares and curves need only these counts, so a run of any size is summarised in constant memory.
    """

    def __init__(self, classes: list[str], rounds: int) -> None:
        self.classes, self.rounds = classes, rounds
        self.counts = np.zeros((len(classes), rounds + 1), dtype=np.int64)  # round 0: no deal

    def add(self, cls: np.ndarray, rnd: np.ndarray) -> Tally:
        np.add.at(self.counts, (cls, rnd), 1)
        return self

    def add_chunk(self, space: OutcomeSpace, chunk: ChunkResult) -> Tally:
        rnd = np.where(chunk.agreed, chunk.round, 0).astype(np.int64)
        return self.add(deal_class(space, chunk.agreed, chunk.package), rnd)

    @classmethod
    def of(cls, outcomes: pd.DataFrame, classes: list[str], rounds: int) -> Tally:
        """The tally of an outcomes frame (see :func:`outcomes_frame`)."""
        index = pd.Categorical(outcomes["outcome"], categories=classes).codes.astype(np.int64)
        rnd = outcomes["round"].fillna(0).to_numpy(dtype=np.int64)
        return cls(classes, rounds).add(index, rnd)

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def class_counts(self) -> np.ndarray:
        """Worlds per class in class order, then any agreement."""
        per_class = self.counts.sum(axis=1)
        return np.append(per_class, self.counts[:, 1:].sum())

    def shares(self) -> pd.DataFrame:
        """Share of worlds in each outcome class (and any agreement), with 95% intervals."""
        k, n = self.class_counts(), self.n
        lo, hi = wilson(k, n)
        rows = [*self.classes, "agreement"]
        return pd.DataFrame({"outcome": rows, "count": k, "n": n, "share": k / n, "lo": lo, "hi": hi})

    def curve(self) -> pd.DataFrame:
        """Per round and deal class (and any agreement): share of worlds with that deal by then."""
        deals = [i for i, c in enumerate(self.classes) if c != NO_DEAL]
        by_round = self.counts[deals, 1:]
        rows = np.vstack([by_round, by_round.sum(axis=0)])
        k = np.cumsum(rows, axis=1)
        n, T = self.n, self.rounds
        lo, hi = wilson(k.ravel(), n)
        return pd.DataFrame(
            {
                "round": np.tile(np.arange(1, T + 1), len(rows)),
                "outcome": np.repeat([*(self.classes[i] for i in deals), "agreement"], T),
                "count": k.ravel(),
                "n": n,
                "share": k.ravel() / n,
                "lo": lo,
                "hi": hi,
            }
        )


def shares(outcomes: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Share of replications in each outcome class (and any agreement), with 95% intervals."""
    rounds = int(outcomes["round"].max()) if outcomes["agreed"].any() else 0
    return Tally.of(outcomes, classes, rounds).shares()


def curve(outcomes: pd.DataFrame, classes: list[str], rounds: int) -> pd.DataFrame:
    """Per round and class: share of replications with a deal of that class by that round."""
    return Tally.of(outcomes, classes, rounds).curve()
