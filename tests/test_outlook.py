"""One view of the future: parties value the war and a truce on the path the battlefield produces.

Each test names the mistake it catches: a rebuild valued for a truce that leaves the momentum's front
open (the dynamics move the balance by the fighting there), the war valued at today's balance while a
truce is valued at its end's, a balance the dynamics freeze during a truce, terms tied to a truce
that outlive it, and the last matching class rule winning instead of the first.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TRUCE, TRUCE_OPTIONS, party_raw, scenario_raw

from sim.engine.dynamics import Battlefield
from sim.engine.model import NegotiationModel
from sim.engine.outcomes import STATUS_QUO, OutcomeSpace
from sim.engine.valuation import Outlook, Values

TERMS = {"freeze": ["no", "yes"], "prisoners": ["none", "swap"]}
VALUES = {"freeze": {"no": 0.0, "yes": 1.0}, "prisoners": {"none": 0.0, "swap": 1.0}}
MOMENTUM = {"initial": 0.2, "drift": 0.0005, "reversion": 0.01, "noise": 0.0}
WAR = {"land": -0.002, "energy": 0.0007}
SLOPE = {"land": 0.01, "energy": 0.004}  # both fronts move with the balance


def domain(window: int = 90, truce_days: int = 30, momentum: dict | None = None) -> dict:
    a = party_raw({"freeze": 0.4, "prisoners": 0.6}, VALUES, war=WAR, momentum=SLOPE)
    b = party_raw({"freeze": 0.5, "prisoners": 0.5}, VALUES, war=WAR)
    return scenario_raw(
        TERMS,
        {"a": a, "b": b},
        tied=["freeze"],
        window=window,
        truce_days=truce_days,
        momentum=momentum or MOMENTUM,
        rebuild={"kyiv": {"when": {"freeze": "no"}, "per_day": -0.004}, "moscow": {"per_day": 0.002}},
    )


def simulated(space: OutcomeSpace, pkg: int, d: float, window: float, m0: float, n: int = 4000):
    """The dynamics with the noise off: the balance at the truce's end, and the war's value for a
    valuer (a + b m on the open fronts), integrated by Simpson's rule over the simulated path."""
    field = Battlefield(space.scenario.dynamics.momentum, space, lambda *k: None, 1)
    field.momentum[:] = m0
    a = np.array([WAR[f] for f in space.fronts])
    b = np.array([SLOPE[f] for f in space.fronts])

    def leg(in_force: int, length: float) -> float:
        if length <= 0:
            return 0.0
        h = length / n
        ms = [field.momentum[0]]
        for _ in range(n):
            field.advance(
                0, np.zeros(1, np.int64), np.zeros(1, np.int64), np.array([in_force]), np.array([h])
            )
            ms.append(field.momentum[0])
        ms = np.array(ms)
        open_f = ~space.closes[in_force]
        daily = (a * open_f).sum() + (b * open_f).sum() * ms
        w = np.ones(n + 1)
        w[1:-1:2], w[2:-1:2] = 4, 2
        return float(h / 3 * (w * daily).sum())

    during = leg(pkg, min(d, window))
    if d > window:  # the truce outlasts the window: carry on to its end for the balance only
        leg(pkg, d - window)
    at_end = float(field.momentum[0])
    after = leg(int(space.lapse[pkg]), max(window - d, 0.0))
    return at_end, during + after


def war_only(space: OutcomeSpace) -> Values:
    """A valuer of the war alone (no terms), with the daily values and slopes of ``simulated``."""
    a = np.array([[WAR[f] for f in space.fronts]])
    b = np.array([SLOPE[f] for f in space.fronts])
    return Values(np.zeros((1, space.term_options)), np.zeros(space.n), a, b)


@pytest.mark.parametrize("scope", TRUCE_OPTIONS)
@pytest.mark.parametrize("d", [0.4, 7.0, 30.0, 61.5, 120.0])
def test_the_valuation_expects_the_balance_and_war_the_dynamics_simulate(scope, d, make_scenario):
    sc = make_scenario(domain(), "outlook")
    space = OutcomeSpace(sc)
    pkg = space.index({TRUCE: scope, "freeze": "no"})
    m0, W = 0.2, 90
    at_end, war = simulated(space, pkg, d if scope != "none" else 0.0, W, m0)
    rows = np.array([0])
    days = np.array([[0.0] + [d] * (len(TRUCE_OPTIONS) - 1)])
    # the balance the valuation expects at the truce's end
    closes = space.closes_momentum_by_option[space.truce[pkg]]
    end = Outlook.of(space).truce_end(
        np.array([m0]), np.array([days[0, space.truce[pkg]]]), closes, space.rebuild[pkg]
    )
    assert end[0] == pytest.approx(at_end, abs=1e-12)
    # the war's value over the window on the same path, through the valuation proper
    value = war_only(space).of(space, rows, np.array([pkg]), days, np.array([m0]), np.zeros((1, 2)), W)
    assert value[0, 0] == pytest.approx(war, abs=1e-12)


def test_the_war_at_the_status_quo_is_valued_on_the_fightings_mean_path(make_scenario):
    sc = make_scenario(domain(), "outlook_sq")
    space = OutcomeSpace(sc)
    _, war = simulated(space, STATUS_QUO, 0.0, 90, 0.2)
    v = war_only(space).of(
        space, np.array([0]), None, np.zeros((1, 3)), np.array([0.2]), np.zeros((1, 2)), 90
    )
    assert v[0, STATUS_QUO] == pytest.approx(war, abs=1e-12)
    # and not at today's balance: the balance reverts toward drift / reversion = 0.05 from 0.2
    today = 90 * (sum(WAR.values()) + sum(SLOPE.values()) * 0.2)
    assert v[0, STATUS_QUO] < today - 1e-3


def test_a_truce_that_leaves_the_front_open_gets_no_rebuild_in_value_or_dynamics(make_scenario):
    """The partial truce (energy only) leaves the land front open: both its freeze and no-freeze
    versions move the balance alike, so a valuer of the war alone values them the same."""
    sc = make_scenario(domain(), "outlook_open")
    space = OutcomeSpace(sc)
    no, yes = (space.index({TRUCE: "partial", "freeze": f}) for f in ("no", "yes"))
    assert space.rebuild[no] != space.rebuild[yes]  # the rebuild rule tells them apart...
    days = np.array([[0.0, 30.0, 30.0]])
    v = war_only(space).of(
        space, np.array([0]), np.array([no, yes]), days, np.array([0.2]), np.zeros((1, 2)), 90
    )
    assert v[0, 0] == pytest.approx(v[0, 1], abs=1e-15)  # ...but it applies only behind a closed front
    full_no, full_yes = (space.index({TRUCE: "full", "freeze": f}) for f in ("no", "yes"))
    v = war_only(space).of(
        space, np.array([0]), np.array([full_no, full_yes]), days, np.array([0.2]), np.zeros((1, 2)), 90
    )
    assert v[0, 0] < v[0, 1] - 1e-4  # behind a closed front Kyiv's rebuild costs a's war value


def test_tied_terms_count_the_truces_share_of_the_window_and_permanent_ones_in_full(make_scenario):
    """Worked by hand: a's weights 0.4 freeze (tied), 0.6 prisoners (permanent); a 30-day truce in
    a 90-day window: 0.6 + 0.4 * 30/90 for the package with both, with the war left out."""
    sc = make_scenario(domain(), "outlook_terms")
    model = NegotiationModel(sc, replications=1, rng=1)
    a = model.party["a"]
    terms = Values(a.values.weighted, a.values.inter, np.zeros_like(a.values.war), np.zeros(2))
    pkg = model.space.index({TRUCE: "full", "freeze": "yes", "prisoners": "swap"})
    days = np.array([[0.0, 30.0, 30.0]])
    v = terms.of(model.space, np.array([0]), np.array([pkg]), days, np.array([0.2]), np.zeros((1, 2)), 90)
    assert v[0, 0] == pytest.approx(0.6 + 0.4 * 30 / 90, abs=1e-12)


def test_the_status_quos_option_of_a_tied_issue_counts_for_the_rest_of_the_window(make_scenario):
    """Worked by hand: freeze weighted 0.2 at "no" (the status quo) and 0.4 at "yes", prisoners 0.6
    at "swap"; a 30-day truce in a 90-day window holding both: 0.6 + 0.4 * 30/90 + 0.2 * 60/90."""
    sc = make_scenario(domain(), "outlook_status_quo")
    space = NegotiationModel(sc, replications=1, rng=1).space
    assert space.term_columns.shape[1] == 2 and space.term_options == 4  # freeze no/yes, prisoners none/swap
    terms = Values(np.array([[0.2, 0.4, 0.0, 0.6]]), np.zeros(space.n), np.zeros((1, 2)), np.zeros(2))
    pkg = space.index({TRUCE: "full", "freeze": "yes", "prisoners": "swap"})
    days = np.array([[0.0, 30.0, 30.0]])
    v = terms.of(space, np.array([0]), np.array([pkg]), days, np.array([0.2]), np.zeros((1, 2)), 90)
    assert v[0, 0] == pytest.approx(0.6 + 0.4 * 30 / 90 + 0.2 * 60 / 90, abs=1e-12)


def test_a_term_added_to_the_truce_in_force_counts_for_the_days_it_has_left(make_scenario):
    """Worked by hand: a full truce in force with 10 of its 30 days left. Adding the freeze (tied,
    a's weight 0.4) does not restart the truce's clock, so the freeze holds for 10 days of the
    90-day window: a's surplus of the extension is 0.4 * 10/90 (terms only: both packages are the
    same truce, so the war's part cancels). The truce in force valued as if it had its whole
    duration left would give 0.4 * 30/90."""
    sc = make_scenario(domain(), "outlook_left")
    model = NegotiationModel(sc, replications=1, rng=1)
    space, a, rows = model.space, model.party["a"], np.array([0])
    terms = Values(a.values.weighted, a.values.inter, np.zeros_like(a.values.war), np.zeros(2))
    here, ext = space.index({TRUCE: "full"}), space.index({TRUCE: "full", "freeze": "yes"})
    model.inforce[:] = here
    model.truces.end[:] = 10.0  # the clock is at day 0
    assert model.surplus(terms, a, rows, np.array([[ext]]))[0, 0] == pytest.approx(0.4 * 10 / 90, abs=1e-12)
    model.bank(rows, np.array([ext]))
    assert model.truces.end[0] == 10.0  # banking the extension keeps the truce's own end


def test_terms_tied_to_a_truce_end_when_it_lapses(make_scenario):
    raw = domain()
    raw["truce"]["violations"] = {"daily_probability": 0.2, "assumption": "test"}
    sc = make_scenario(raw, "outlook_lapse")
    space = OutcomeSpace(sc)
    pkg = space.index({TRUCE: "full", "freeze": "yes", "prisoners": "swap"})
    assert space.describe(int(space.lapse[pkg])) == {TRUCE: "none", "freeze": "no", "prisoners": "swap"}
    model = NegotiationModel(sc, replications=200, rng=3)
    model.inforce[:] = pkg
    model.truces.end[:] = 30.0
    model.run()
    broken = model.counts["violated"] + model.counts["lapsed"] > 0
    assert broken.any()
    # wherever a truce has ended, none of its tied terms are still in force unless a new truce holds
    k = space.issues.index("freeze")
    no_truce = space.truce[model.inforce] == 0
    assert (space.packages[model.inforce[no_truce], k] == 0).all()


def test_the_first_matching_class_rule_wins(make_scenario):
    raw = domain()
    raw["classes"] = {
        "any_truce": {"label": "Any truce", "when": {TRUCE: ["partial", "full"]}},
        "full": {"label": "Full", "when": {TRUCE: ["full"]}},
        "other": {"label": "Other", "when": {}},
    }
    space = OutcomeSpace(make_scenario(raw, "outlook_classes"))
    full = space.index({TRUCE: "full", "prisoners": "swap"})
    assert space.class_order[space.package_class[full]] == "any_truce"
    assert space.class_order[space.package_class[space.index({"prisoners": "swap"})]] == "other"
