"""From chunk arrays to tables: per-replication outcomes, the cumulative agreement curve, shares.

Intervals are Wilson score intervals (statsmodels), which stay inside [0, 1] and behave at shares
near 0 or 1, where most of a scenario's classes live.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.experiment import ChunkResult
from sim.outcomes import NO_DEAL, OutcomeSpace

Z95 = 0.05  # alpha of the 95% intervals


def wilson(successes: np.ndarray, n: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(successes, n, alpha=Z95, method="wilson")
    share = np.asarray(successes) / np.asarray(n)
    # At k = 0 or k = n the formula lands a rounding error inside [0, 1]; keep the share inside.
    return np.clip(np.minimum(lo, share), 0.0, 1.0), np.clip(np.maximum(hi, share), 0.0, 1.0)


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

    cls = np.where(agreed, space.package_class[np.maximum(pkg, 0)], len(space.class_ids))
    df = pd.DataFrame(
        {
            "replication": np.arange(agreed.size, dtype=np.int64),
            "agreed": agreed.astype(np.int8),
            "round": pd.array(np.where(agreed, rnd, 0), dtype="Int16"),
            "outcome": _labels(cls, class_order(space)),
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


def shares(outcomes: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Share of replications in each outcome class (and any agreement), with 95% intervals."""
    n = len(outcomes)
    counts = outcomes["outcome"].value_counts().reindex(classes, fill_value=0)
    rows = [*classes, "agreement"]
    k = np.array([*counts.to_numpy(), int(outcomes["agreed"].sum())])
    lo, hi = wilson(k, n)
    return pd.DataFrame({"outcome": rows, "count": k, "n": n, "share": k / n, "lo": lo, "hi": hi})


def curve(outcomes: pd.DataFrame, classes: list[str], rounds: int) -> pd.DataFrame:
    """Per round and class: share of replications with a deal of that class by that round."""
    n = len(outcomes)
    deal_classes = [c for c in classes if c != NO_DEAL]
    agreed = outcomes[outcomes["agreed"] == 1]
    rnd = agreed["round"].to_numpy(dtype=np.int64)
    frames = []
    for cls in [*deal_classes, "agreement"]:
        r = rnd if cls == "agreement" else rnd[(agreed["outcome"] == cls).to_numpy()]
        by_round = np.bincount(r, minlength=rounds + 1)[1 : rounds + 1]
        k = np.cumsum(by_round)
        lo, hi = wilson(k, n)
        frames.append(
            pd.DataFrame(
                {
                    "round": np.arange(1, rounds + 1),
                    "outcome": cls,
                    "count": k,
                    "n": n,
                    "share": k / n,
                    "lo": lo,
                    "hi": hi,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
