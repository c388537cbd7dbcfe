"""The engine in the limit where bargaining theory gives the answer.

With no uncertainty, margins of zero, no opening text, no world dynamics, a truce that outlasts the
valuation window and a mediator who knows the parties' true values, one track of talks must open
with the Nash (1950) bargaining solution: the package maximising prod_i (value_i over no deal) over
the packages every party strictly prefers to no deal (ties: larger total surplus, then lower index).
It is checked against a brute force written here from the scenario's numbers alone.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import (
    TRUCE,
    brute_force_nash,
    exact_party,
    package_value,
    party_raw,
    random_issues,
    scenario_raw,
)

from sim.engine.model import NegotiationModel
from sim.engine.outcomes import STATUS_QUO

DOMAINS = range(40)


def theory_raw(seed: int, informed: bool = True) -> dict:
    """A random small domain in the theory limit (1-3 term issues, 2-3 options, 2-4 parties)."""
    rng = np.random.default_rng([2025, seed])
    terms = random_issues(rng, (1, 3), (2, 3))
    parties = {f"p{i}": exact_party(rng, terms) for i in range(int(rng.integers(2, 5)))}
    tied = [next(iter(terms))] if seed % 2 else []
    return scenario_raw(
        terms,
        parties,
        informed=informed,
        truce_days=400,
        window=64,
        tied=tied,
        exact=True,
        replications=1,
        seed=seed,
    )


def first_round(sc) -> NegotiationModel:
    model = NegotiationModel(sc, replications=1, rng=0, trace=0)
    model.step()
    return model


@pytest.mark.parametrize("seed", DOMAINS)
def test_an_informed_mediator_opens_with_the_nash_solution_and_it_is_banked(seed, make_scenario):
    raw = theory_raw(seed)
    sc = make_scenario(raw, f"theory{seed}")
    best, packages = brute_force_nash(raw)
    model = first_round(sc)
    if best is None:
        assert model.inforce[0] == STATUS_QUO, "a deal although no package beats no deal for everyone"
        return
    got = int(model.inforce[0])
    assert got == best, (
        f"banked {model.space.describe(got)}, the Nash solution is {model.space.describe(best)}"
    )
    chosen = model.space.describe(best)
    for i, p in enumerate(raw["parties"].values()):
        assert model.gain[0, i] == pytest.approx(package_value(p, raw, chosen), abs=1e-12)


def test_random_domains_cover_both_feasible_and_empty_bargaining_sets():
    found = [brute_force_nash(theory_raw(s))[0] is not None for s in DOMAINS]
    assert 5 <= sum(found) <= len(found) - 3


def test_after_the_nash_package_no_extension_is_banked(make_scenario):
    """The Nash package is Pareto-optimal: talks go on over the rest but nobody gains by more."""
    seed = next(s for s in DOMAINS if brute_force_nash(theory_raw(s))[0] is not None)
    sc = make_scenario(theory_raw(seed), "theory_rest")
    model = NegotiationModel(sc, replications=1, rng=0).run()
    assert model.counts["banked"][0] == 1


def two_party_raw(values_b: dict) -> dict:
    a = party_raw({"x": 1.0}, {"x": {"o0": 0.0, "o1": 0.5, "o2": 1.0}}, war={"land": -0.001})
    b = party_raw({"x": 1.0}, {"x": values_b}, war={"land": -0.001})
    return scenario_raw(
        {"x": ["o0", "o1", "o2"]}, {"a": a, "b": b}, informed=True, truce_days=400, window=64, replications=1
    )


def test_nash_ties_go_to_larger_total_surplus_then_lower_index(make_scenario):
    raw = two_party_raw({"o0": 0.0, "o1": 0.5, "o2": 0.0})
    best, _ = brute_force_nash(raw)
    model = first_round(make_scenario(raw, "ties"))
    assert model.inforce[0] == best


def test_nash_solution_is_not_the_utilitarian_one(make_scenario):
    """Products and sums disagree here: a mediator maximising the total would pick another package."""
    raw = two_party_raw({"o0": 0.0, "o1": 0.45, "o2": 0.02})
    model = first_round(make_scenario(raw, "not_utilitarian"))
    space = model.space
    gains = {
        p: [package_value(q, raw, space.describe(p)) for q in raw["parties"].values()] for p in range(space.n)
    }
    feasible = {p: g for p, g in gains.items() if all(x > 0 for x in g)}
    utilitarian = max(feasible, key=lambda p: (sum(feasible[p]), -p))
    assert int(model.inforce[0]) == brute_force_nash(raw)[0] != utilitarian
    assert space.describe(int(model.inforce[0]))[TRUCE] == "full"


@pytest.mark.parametrize("interval", [1.75, 3.5, 7.0, 14.0])
def test_the_nash_package_is_agreed_whatever_the_contact_interval(interval, make_scenario):
    """Binmore, Rubinstein & Wolinsky (1986): in the exact, informed limit the agreement is the Nash
    package, however often the sides meet; and it is the first thing banked, on the first contact."""
    seeds = [s for s in DOMAINS if brute_force_nash(theory_raw(s))[0] is not None][:4]
    for seed in seeds:
        raw = theory_raw(seed)
        raw["calendar"]["contacts"]["mean_interval_days"] = interval
        raw["calendar"]["horizon_days"] = 30
        model = NegotiationModel(make_scenario(raw, f"interval{seed}"), replications=1, rng=0).run()
        banked = [(float(d[0]), int(p[0])) for _, d, k, p in model.history if k == "banked"]
        assert banked[0] == (0.0, brute_force_nash(raw)[0])
