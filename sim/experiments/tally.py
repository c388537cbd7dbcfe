"""From chunk arrays to tables: per-world outcomes and histories, day-by-day shares, shares at the horizon.

A world's outcome is the class of what is in force at the horizon. The day-by-day curve is the share
of worlds with each class in force at the end of each day (``curve.csv``); the first-in-force curve
is the share of worlds in which the class has been in force at the end of some day up to that day
(``first.csv``): the cumulative question forecasters ask ("will a ceasefire take effect by D?"), so it
never falls and is never below the in-force share. Intervals are Wilson score intervals
(statsmodels), which stay inside [0, 1] and behave at shares near 0 or 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.engine.outcomes import NO_DEAL, OutcomeSpace
from sim.experiments.chunks import ChunkResult
from sim.scenario.dates import dates as calendar_dates
from sim.scenario.dates import times

Z95 = 0.05  # alpha of the 95% intervals
ANY = "any_agreement"  # every class but no agreement, added up: never a class itself
INTERVAL_METHOD = "Wilson score, 95%"


def wilson(successes: np.ndarray, n: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(successes, n, alpha=Z95, method="wilson")
    share = np.asarray(successes) / np.asarray(n)
    # At k = 0 or k = n the formula lands a rounding error inside [0, 1]; keep the share inside.
    return np.clip(np.minimum(lo, share), 0.0, 1.0), np.clip(np.maximum(hi, share), 0.0, 1.0)


def class_order(space: OutcomeSpace) -> list[str]:
    return space.class_order


def record_days(space: OutcomeSpace) -> np.ndarray:
    """The days at whose end what is in force is recorded: 1 .. horizon."""
    return np.arange(1, space.scenario.days + 1)


def dates(space: OutcomeSpace, days: np.ndarray) -> list[str]:
    return calendar_dates(space.scenario.calendar.start, days)


def outcomes_frame(space: OutcomeSpace, chunks: list[ChunkResult]) -> pd.DataFrame:
    """One row per world: the class and options in force at the horizon, and its history in counts.

    Text columns are categoricals (a byte per row), so a million replications stay small.
    """
    sc = space.scenario
    inforce = np.concatenate([c.inforce for c in chunks]) if chunks else np.zeros(0, np.int64)
    first = np.concatenate([c.first_day for c in chunks]) if chunks else np.zeros(0)
    df = pd.DataFrame(
        {
            "replication": np.concatenate([np.arange(c.start, c.start + c.size) for c in chunks]).astype(
                np.int64
            )
            if chunks
            else np.zeros(0, np.int64),
            "outcome": _labels(space.package_class[inforce], space.class_order),
            "first_agreement_day": pd.array(np.round(first, 4), dtype="Float64"),
        }
    )
    for k, issue in enumerate(space.issues):
        df[issue] = _labels(space.packages[inforce, k], space.options[k])
    for kind in chunks[0].counts if chunks else ():
        df[kind] = np.concatenate([c.counts[kind] for c in chunks])
    gain = np.concatenate([c.gain for c in chunks]) if chunks else np.zeros((0, len(sc.parties)))
    for i, pid in enumerate(sc.parties):
        df[f"gain_{pid}"] = gain[:, i]
    demand = np.concatenate([c.first_demand for c in chunks]) if chunks else np.zeros((0, len(sc.parties)))
    moves = [f"{a}={b}" for a, b in map(space.describe_move, range(len(space.moves)))]
    for i, pid in enumerate(sc.parties):
        df[f"demand_{pid}"] = _labels(demand[:, i], moves)
    return df


def history_frame(space: OutcomeSpace, chunks: list[ChunkResult]) -> pd.DataFrame:
    """One row per event of every world: what was banked, extended, lapsed, violated or vetoed, when."""
    h = np.concatenate([c.history for c in chunks]) if chunks else np.zeros(0)
    if h.size == 0:
        return pd.DataFrame(
            columns=["replication", "day", "date", "time", "event", "outcome", "tabled_by", *space.issues]
        )
    df = pd.DataFrame(
        {
            "replication": h["replication"],
            "day": np.round(h["day"], 4),
            "date": dates(space, h["day"]),
            "time": times(space.scenario.calendar.start, h["day"]),
            "event": h["kind"],
            "outcome": _labels(space.package_class[h["package"]], space.class_order),
            "tabled_by": _labels(h["by"].astype(np.int64) + 1, ["mediator", *space.scenario.parties]),
        }
    )
    for k, issue in enumerate(space.issues):
        df[issue] = _labels(space.packages[h["package"], k], space.options[k])
    return df


def _labels(codes: np.ndarray, names: list[str]) -> pd.Categorical:
    """Codes into ``names`` as a categorical; -1 is missing (an empty CSV cell)."""
    return pd.Categorical.from_codes(np.asarray(codes).astype(np.int32), categories=names)


class Tally:
    """Worlds counted by class in force at the end of each day, chunk by chunk; and the ensemble's
    per-day series (means weighted by chunk size).

    Shares and curves need only these counts, so a run of any size is summarised in constant memory.
    """

    def __init__(self, space: OutcomeSpace) -> None:
        self.space = space
        self.classes = space.class_order
        self.days = record_days(space)
        self.counts = np.zeros((len(self.classes), self.days.size), dtype=np.int64)
        # worlds in which each deal class (then any deal) has been in force on or before each day
        self.first_counts = np.zeros((len(self.classes), self.days.size), dtype=np.int64)
        self.series_sum: np.ndarray | None = None
        self.series_names: tuple[str, ...] = ()

    def add(self, class_by_day: np.ndarray) -> Tally:
        C, T = self.counts.shape
        flat = class_by_day.astype(np.int64) * T + np.arange(T)
        self.counts += np.bincount(flat.ravel(), minlength=C * T).reshape(C, T)
        self.first_counts += ever_in_force(class_by_day, self.space.class_order.index(NO_DEAL), C).sum(axis=1)
        return self

    def add_chunk(self, chunk: ChunkResult) -> Tally:
        self.add(chunk.class_by_day)
        weighted = chunk.series * chunk.size
        self.series_sum = weighted if self.series_sum is None else self.series_sum + weighted
        self.series_names = chunk.series_names
        return self

    @property
    def n(self) -> int:
        return int(self.counts[:, 0].sum()) if self.counts.size else 0

    def class_counts(self) -> np.ndarray:
        """Worlds per class in force at the horizon, in class order, then any agreement."""
        last = self.counts[:, -1]
        return np.append(last, last[:-1].sum())

    def shares(self) -> pd.DataFrame:
        """Share of worlds with each class in force at the horizon (and any agreement), 95% intervals."""
        k, n = self.class_counts(), self.n
        lo, hi = wilson(k, n)
        rows = [*self.classes, ANY]
        return pd.DataFrame({"outcome": rows, "count": k, "n": n, "share": k / n, "lo": lo, "hi": hi})

    def curve(self) -> pd.DataFrame:
        """Per day and class (and any agreement): share of worlds with that class in force then."""
        rows = np.vstack([self.counts, self.counts[:-1].sum(axis=0)])
        return _frame(self.space, self.days, [*self.classes, ANY], rows, self.n)

    def first(self) -> pd.DataFrame:
        """Per day and deal class (and any agreement): share of worlds in which it has been in force
        at some time up to that day. No agreement has no such row (every world starts there)."""
        deals = [c for c in self.classes if c != NO_DEAL]
        rows = self.first_counts[[self.classes.index(c) for c in deals] + [len(self.classes) - 1]]
        return _frame(self.space, self.days, [*deals, ANY], rows, self.n)

    def series(self) -> pd.DataFrame:
        """The DataCollector's per-day series, averaged over every world of the run."""
        if self.series_sum is None:
            return pd.DataFrame()
        return pd.DataFrame(self.series_sum / self.n, columns=list(self.series_names))


def ever_in_force(class_by_day: np.ndarray, no_deal: int, n_classes: int) -> np.ndarray:
    """(C, R, T) booleans: world r has had class c in force at some recorded time up to t.

    Row ``no_deal`` is reused for any agreement (some deal class in force up to t): a world is at no
    agreement until its first deal, so "no agreement first in force" would be every world.
    """
    out = np.empty((n_classes, *class_by_day.shape), dtype=bool)
    for c in range(n_classes):
        hit = class_by_day != no_deal if c == no_deal else class_by_day == c
        np.logical_or.accumulate(hit, axis=1, out=out[c])
    return out


def _frame(space: OutcomeSpace, days: np.ndarray, names: list[str], rows: np.ndarray, n: int) -> pd.DataFrame:
    """A long table of counts per (name, day), with shares and Wilson intervals."""
    T = days.size
    lo, hi = wilson(rows.ravel(), n)
    return pd.DataFrame(
        {
            "day": np.tile(days, len(rows)),
            "date": dates(space, days) * len(rows),
            "outcome": np.repeat(names, T),
            "count": rows.ravel(),
            "n": n,
            "share": rows.ravel() / n,
            "lo": lo,
            "hi": hi,
        }
    )


def shares(outcomes: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Share of worlds with each class in force at the horizon (and any agreement), from an outcomes
    frame (see :func:`outcomes_frame`)."""
    k = pd.Categorical(outcomes["outcome"], categories=classes).codes.astype(np.int64)
    counts = np.bincount(k, minlength=len(classes))
    counts = np.append(counts, counts[[i for i, c in enumerate(classes) if c != NO_DEAL]].sum())
    n = len(outcomes)
    lo, hi = wilson(counts, n)
    return pd.DataFrame(
        {"outcome": [*classes, ANY], "count": counts, "n": n, "share": counts / n, "lo": lo, "hi": hi}
    )
