"""Counter-proposals (Rubinstein 1982), Zeuthen's principle (1930) and the single text (Raiffa 1982).

The hand-worked domain: a truce (none / partial: energy / full: land and energy, 30 days in a 90-day
window) and one permanent term t0 / t1 / t2; no momentum, exact values, both parties required.

    a: land -0.002, energy -0.001 a day; term t0 0, t1 0.3, t2 1.0; margin 0.05; tables counters
    b: land -0.001, energy -0.002 a day; term t0 0.5, t1 0.48, t2 0.0; margin 0.05

Surpluses over the status quo (a truce is worth its 30 days of the fronts it closes):

    package      a      b
    partial t0   0.03   0.06     the opening text: a refuses (0.03 < 0.05)
    full t0      0.09   0.09
    full t1      0.39   0.07     a's counter: the best for a that b is believed to accept
    full t2      1.09  -0.41     a's best, but b would refuse it

So a tables ``full t1``; b accepts (0.07 >= 0.05) and it is banked on day 0. Without the counter
only the opening text is put on day 0 (a one-day horizon), and nothing is banked.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TRUCE, party_raw, scenario_raw

from sim.engine.counters import zeuthen
from sim.engine.model import NegotiationModel
from sim.experiments.chunks import run_chunk
from sim.experiments.tally import history_frame

TERMS = {"term": ["t0", "t1", "t2"]}
COUNTERS = {"tables": True, "assumption": "chosen for the test"}


def domain(a_counters: bool = True, b_red: str | None = None, step: float = 0.02, horizon: int = 1) -> dict:
    a = party_raw(
        {"term": 1.0},
        {"term": {"t0": 0.0, "t1": 0.3, "t2": 1.0}},
        war={"land": -0.002, "energy": -0.001},
        margin=0.05,
    )
    if a_counters:
        a["counters"] = dict(COUNTERS)
    b = party_raw(
        {"term": 1.0},
        {"term": {"t0": 0.5, "t1": 0.48, "t2": 0.0}},
        war={"land": -0.001, "energy": -0.002},
        margin=0.05,
    )
    if b_red:
        b["red_lines"] = {"no": {"issue": "term", "option": b_red, "assumption": "chosen for the test"}}
    return scenario_raw(
        TERMS,
        {"a": a, "b": b},
        horizon=horizon,
        exact=True,
        learning_step=step,
        opening={TRUCE: "partial"},
    )


def pkg(model: NegotiationModel, scope: str, term: str) -> int:
    return model.space.index({TRUCE: scope, "term": term})


def test_a_counter_is_the_best_package_the_others_are_believed_to_accept_and_is_banked(make_scenario):
    model = NegotiationModel(make_scenario(domain(), "counter_hand"), replications=3, rng=1).run()
    assert (model.inforce == pkg(model, "full", "t1")).all()
    assert (model.first_day == 0).all()
    assert (model.inforce_by == 0).all()  # tabled by a
    banked = [
        by for (_, _, kind, _), by in zip(model.history, model.history_by, strict=True) if kind == "banked"
    ]
    assert all((b == 0).all() for b in banked)


def test_with_its_switch_off_the_world_banks_no_truce(make_scenario):
    model = NegotiationModel(
        make_scenario(domain(a_counters=False), "counter_off"), replications=3, rng=1
    ).run()
    assert (model.inforce == 0).all()
    assert np.isnan(model.first_day).all()


def test_a_counter_never_crosses_a_red_line(make_scenario):
    """With t1 across b's red line, the best a believes b would accept is full t0 (0.09 each)."""
    model = NegotiationModel(make_scenario(domain(b_red="t1"), "counter_red"), replications=3, rng=1).run()
    assert (model.inforce == pkg(model, "full", "t0")).all()
    assert not model.party["b"].red[model.inforce].any()


def test_a_refused_counter_changes_the_tablers_beliefs_and_its_next_counter(make_scenario):
    """b refuses ``full t1``: a's offset for b rises to 0.02 (the counter's believed surplus above
    b's believed margin) + 0.01 (the step), so b is believed to ask 0.08 and the next counter is the
    best a believes clears it: ``full t0`` (0.09 for b)."""
    model = NegotiationModel(make_scenario(domain(step=0.01), "counter_learn"), replications=1, rng=1)
    a = model.party["a"]
    rows, day, text = np.array([0]), np.zeros(1), np.array([pkg(model, "partial", "t0")])
    first = a.counter(rows, text, day)
    assert first[0] == pkg(model, "full", "t1")
    before = a.beliefs.offset[0].copy()
    asked = np.array([[True, True]])
    a.beliefs.learn(rows, first, asked, np.array([[True, False]]), day)
    assert a.beliefs.offset[0, 1] == pytest.approx(0.03, abs=1e-12)
    assert a.beliefs.offset[0, 0] == before[0]
    assert a.counter(rows, text, day)[0] == pkg(model, "full", "t0")


def test_a_party_tables_no_counter_it_would_itself_refuse(make_scenario):
    """If b is believed to ask 0.1, nothing a values at its margin clears it: no counter."""
    model = NegotiationModel(make_scenario(domain(), "counter_none"), replications=1, rng=1)
    a = model.party["a"]
    a.beliefs.offset[0, 1] = 0.05
    assert a.counter(np.array([0]), np.array([pkg(model, "partial", "t0")]), np.zeros(1))[0] == -1


def test_a_party_never_tables_a_text_below_its_own_margin(make_scenario):
    """a asks 0.5: of the table above it would accept only t2 packages (full t2 1.09, partial t2
    1.03), which b is believed to refuse; the texts b is believed to accept (partial t0, full t0,
    full t1) give a at most 0.39. So a tables nothing, where a counter chosen among what b accepts
    alone would be full t1."""
    model = NegotiationModel(make_scenario(domain(), "counter_own_margin"), replications=1, rng=1)
    a = model.party["a"]
    a.margin0[0] = 0.5
    assert a.counter(np.array([0]), np.array([pkg(model, "partial", "t0")]), np.zeros(1))[0] == -1


def test_zeuthen_the_party_with_the_smaller_risk_limit_concedes():
    """a's counter is worth 1.0 to a, b's 0.6: a's risk limit 0.4. b's own is worth 0.5 to b, a's
    0.1: b's risk limit 0.8. a concedes; b's counter stands. With b's own worth 0.15 to b, b's risk
    limit is 1/3 < 0.4 and b concedes."""
    s = np.array([[[1.0, 0.6], [0.1, 0.5]]])
    both = np.array([[True, True]])
    assert zeuthen(s, both)[0] == 1
    s2 = np.array([[[1.0, 0.6], [0.1, 0.15]]])
    assert zeuthen(s2, both)[0] == 0
    assert zeuthen(s, np.array([[True, False]]))[0] == 0  # a lone counter stands
    assert zeuthen(s, np.array([[False, False]]))[0] == -1


def test_history_says_who_tabled_each_banked_text(make_scenario):
    sc = make_scenario(domain(horizon=3), "counter_history")
    frame = history_frame_of(sc)
    banked = frame[frame["event"] == "banked"]
    assert len(banked) and (banked["tabled_by"] == "a").all()


def history_frame_of(sc):
    from sim.engine.outcomes import OutcomeSpace

    chunk = run_chunk(sc, sc.seed, 0, 4)
    return history_frame(OutcomeSpace(sc), [chunk])


def test_a_shuttling_mediator_carries_the_counter_to_the_next_contact(make_scenario):
    """Parties that do not meet (``mediator.shuttle``): a's counter ``full t1`` is tabled on day 0 and
    answered by b at the next contact (day 7, a contact a week), where it is banked, tabled by a."""
    raw = domain(horizon=10)
    raw["calendar"]["contacts"].update(mean_interval_days=7.0, sd_days=0.0)
    raw["mediator"]["shuttle"] = {"carries": True, "assumption": "chosen for the test"}
    model = NegotiationModel(make_scenario(raw, "counter_shuttle"), replications=3, rng=1)
    rows = np.arange(3)
    model.contact(rows)  # day 0: the opening text is refused; a's counter is carried, not answered
    assert (model.inforce == 0).all() and (model.carried == pkg(model, "full", "t1")).all()
    model.run()
    assert (model.inforce == pkg(model, "full", "t1")).all() and (model.inforce_by == 0).all()
    assert (model.first_day == 7).all() and (model.carried == -1).all()
    raw["mediator"]["shuttle"]["carries"] = False  # one table: banked on day 0, as above
    same = NegotiationModel(make_scenario(raw, "counter_one_table"), replications=3, rng=1).run()
    assert (same.first_day == 0).all() and (same.inforce == model.inforce).all()
