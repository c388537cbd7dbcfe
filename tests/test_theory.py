"""The engine in the limit where bargaining theory gives the answer.

With no uncertainty, aspirations equal to reservations, no opening text, no world dynamics and a
mediator who knows the true reservations, the first proposal must be the Nash (1950) bargaining
solution: the package maximising prod_i (u_i - r_i) over the packages every party strictly prefers
to no deal (ties: larger total surplus, then lower package index). It is checked against a brute
force written here from the scenario's numbers alone.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import brute_force_nash, exact_party, party_raw, random_issues, scenario_raw, utility

from sim.engine.model import NegotiationModel

DOMAINS = range(50)


def theory_raw(seed: int, informed: bool = True) -> dict:
    """A random small domain in the theory limit (2-4 issues, 2-4 options, 2-4 parties)."""
    rng = np.random.default_rng([2025, seed])
    issues = random_issues(rng, (2, 4), (2, 4))
    parties = {f"p{i}": exact_party(rng, issues) for i in range(int(rng.integers(2, 5)))}
    return scenario_raw(issues, parties, informed=informed, rounds=8, replications=1, seed=seed)


def first_round(sc) -> NegotiationModel:
    model = NegotiationModel(sc, replications=1, rng=0)
    model.step()
    return model


@pytest.mark.parametrize("seed", DOMAINS)
def test_informed_mediator_reaches_the_nash_solution_in_round_one(seed, make_scenario):
    raw = theory_raw(seed)
    sc = make_scenario(raw, f"theory{seed}")
    best, packages = brute_force_nash(raw)
    model = first_round(sc)
    if best is None:
        assert not model.agreed[0], "a deal in round 1 although no package beats no deal for everyone"
        return
    assert model.agreed[0] and model.round[0] == 1
    got = int(model.package[0])
    assert got == best, (
        f"agreed {sc_describe(raw, packages[got])}, Nash solution is {sc_describe(raw, packages[best])}"
    )
    issues = {k: v["options"] for k, v in raw["issues"].items()}
    expected_u = [utility(p, issues, packages[best]) for p in raw["parties"].values()]
    assert model.utility[0].tolist() == expected_u


def sc_describe(raw: dict, package: tuple[int, ...]) -> str:
    return ", ".join(
        f"{i}={v['options'][o]}" for (i, v), o in zip(raw["issues"].items(), package, strict=True)
    )


def test_random_domains_cover_both_feasible_and_empty_bargaining_sets():
    """The brute-force check above is only meaningful if both cases occur among the domains."""
    found = [brute_force_nash(theory_raw(seed))[0] is not None for seed in DOMAINS]
    assert 10 <= sum(found) <= len(found) - 5


@pytest.mark.parametrize("seed", range(0, 50, 5))
def test_uninformed_mediator_agreements_are_individually_rational(seed, make_scenario):
    raw = theory_raw(seed, informed=False)
    model = NegotiationModel(make_scenario(raw, f"uninformed{seed}"), replications=1, rng=0).run()
    issues = {k: v["options"] for k, v in raw["issues"].items()}
    _, packages = brute_force_nash(raw)
    if model.agreed[0]:
        pkg = packages[int(model.package[0])]
        for p in raw["parties"].values():
            assert utility(p, issues, pkg) >= p["reservation"]["mean"]


@pytest.mark.parametrize("seed", range(0, 50, 5))
def test_uninformed_mediator_with_uncertain_reservations_stays_individually_rational(seed, make_scenario):
    """When the public estimates are wrong, every agreement still clears each world's true reservation."""
    raw = theory_raw(seed, informed=False)
    for p in raw["parties"].values():
        p["reservation"]["sd"] = p["opening"]["sd"] = 0.1
    model = NegotiationModel(make_scenario(raw, f"uncertain{seed}"), replications=40, rng=seed).run()
    for i, party in enumerate(model.parties):
        rows = np.flatnonzero(model.agreed)
        assert (model.utility[rows, i] >= party.reservation0[rows]).all()


def test_nash_ties_go_to_larger_total_surplus_then_lower_index(make_scenario):
    """Three packages with the same Nash product (1/4); two share the larger total surplus (5/4)."""
    issues = {"split": ["even", "a_more", "b_more"]}
    a = party_raw({"split": 1.0}, {"split": {"even": 0.5, "a_more": 0.25, "b_more": 1.0}}, reservation=0.0)
    b = party_raw({"split": 1.0}, {"split": {"even": 0.5, "a_more": 1.0, "b_more": 0.25}}, reservation=0.0)
    raw = scenario_raw(issues, {"a": a, "b": b}, informed=True, replications=1)
    model = first_round(make_scenario(raw, "ties"))
    assert model.agreed[0] and model.package[0] == 1 == brute_force_nash(raw)[0]


def test_nash_solution_is_not_the_utilitarian_one(make_scenario):
    """Maximising the product, not the sum: (0.5, 0.5) beats (0.9, 0.2) although 1.0 < 1.1."""
    issues = {"split": ["even", "lopsided"]}
    a = party_raw({"split": 1.0}, {"split": {"even": 0.5, "lopsided": 0.9}}, reservation=0.1)
    b = party_raw({"split": 1.0}, {"split": {"even": 0.5, "lopsided": 0.2}}, reservation=0.1)
    raw = scenario_raw(issues, {"a": a, "b": b}, informed=True, replications=1)
    model = first_round(make_scenario(raw, "product"))
    assert model.agreed[0] and model.package[0] == 0
