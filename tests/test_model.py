"""The engine's mechanisms, each tested so that breaking it fails a test.

Small scenarios are built in code (see conftest): a truce issue ``scope`` (none / partial, which
closes the energy front / full, which closes the land and energy fronts) and a few term issues.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import TRUCE, package_value, party_raw, scenario_raw
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.api import run
from sim.engine.mediator import Mediator, nash_choice
from sim.engine.model import NegotiationModel
from sim.engine.outcomes import NO_DEAL, STATUS_QUO
from sim.engine.parties import concession
from sim.experiments.chunks import CHUNK, chunk_model
from sim.experiments.tally import Tally, shares, wilson

TERMS = {"prisoners": ["none", "swap"], "arms": ["no", "yes"]}
NEUTRAL = {"prisoners": {"none": 0.0, "swap": 0.0}, "arms": {"no": 0.5, "yes": 0.5}}
CLASSES = {"full": {TRUCE: ["full"]}, "partial": {TRUCE: ["partial"]}, "humanitarian": {TRUCE: ["none"]}}


def two_sides(b_land: float = -0.002, b_energy: float = -0.001, **kw) -> dict:
    """A mediating party (a) that wants any truce and a belligerent (b) whose daily war values vary."""
    a = party_raw({"prisoners": 0.5, "arms": 0.5}, NEUTRAL, war={"land": -0.002, "energy": -0.001})
    b = party_raw(
        {"prisoners": 0.5, "arms": 0.5},
        NEUTRAL,
        war={"land": b_land, "energy": b_energy},
        margin=kw.pop("margin", 0.05),
        tolerance=kw.pop("tolerance", 0.05),
    )
    args = {"classes": CLASSES, "replications": 40, "horizon": 84, **kw}
    return scenario_raw(TERMS, {"a": a, "b": b}, **args)


def play(
    make_scenario, raw: dict, name: str = "test", seed: int = 1, trace: int | None = None
) -> NegotiationModel:
    sc = make_scenario(raw, name)
    return NegotiationModel(sc, replications=sc.replications, rng=seed, trace=trace).run()


def final_classes(model: NegotiationModel) -> pd.Series:
    space = model.space
    return pd.Series([space.class_order[c] for c in space.package_class[model.inforce]])


# ---------------------------------------------------------------- the war is the no-deal outcome


@st.composite
def random_domains(draw):
    """Random term issues and parties with random daily war values, fronts and slopes."""
    n_terms = draw(st.integers(1, 3))
    terms = {f"t{k}": [f"o{j}" for j in range(draw(st.integers(2, 3)))] for k in range(n_terms)}
    parties = {}
    for p in range(draw(st.integers(2, 3))):
        raw_w = [draw(st.integers(1, 8)) for _ in terms]
        weights = {t: w / sum(raw_w) for t, w in zip(terms, raw_w, strict=True)}
        values = {t: {o: draw(st.integers(0, 8)) / 8 for o in opts} for t, opts in terms.items()}
        war = {f: draw(st.integers(-8, 4)) / 2048 for f in ("land", "energy")}
        slope = {f: draw(st.integers(-4, 4)) / 256 for f in ("land", "energy")}
        parties[f"p{p}"] = party_raw(
            weights, values, war=war, momentum=slope, margin=draw(st.integers(0, 4)) / 64
        )
    momentum = {"initial": draw(st.integers(-4, 4)) / 8, "noise": draw(st.integers(0, 2)) / 64}
    return terms, parties, momentum


@settings(max_examples=25, deadline=None)
@given(random_domains(), st.integers(0, 2**16))
def test_a_packages_value_over_no_deal_is_its_changed_terms_plus_the_war_it_stops(
    make_scenario, domain, seed
):
    """Independent of the engine: with a truce that outlasts the valuation window, a package is
    worth, over no deal, the value of the terms it changes plus the daily war value (at the balance
    of power now) of the fronts it closes, times the window; in every world and round."""
    terms, parties, momentum = domain
    raw = scenario_raw(
        terms, parties, truce_days=400, window=64, momentum=momentum, replications=6, seed=seed
    )
    sc = make_scenario(raw, "surplus")
    model = NegotiationModel(sc, replications=6, rng=seed)
    space, rows = model.space, np.arange(6)
    checked = 0
    while model.running:
        m = model.battlefield.momentum
        for p, spec in zip(model.parties, parties.values(), strict=True):
            got = model.surplus(p.values, p, rows, None)  # over what is in force
            for j in np.flatnonzero(model.inforce == STATUS_QUO):
                for pkg in np.flatnonzero(space.valid):
                    chosen = space.describe(int(pkg))
                    closed = raw["truce"]["closes"][chosen[TRUCE]]
                    balance = -64 * sum(spec["war"][f]["momentum"] * m[j] for f in closed)
                    assert got[j, pkg] == pytest.approx(package_value(spec, raw, chosen) + balance, abs=1e-9)
                    checked += 1
        model.step()
    assert checked > 0


def test_a_party_that_gains_on_land_takes_an_energy_truce_and_refuses_a_full_one(make_scenario):
    """Scope preferences neutral (no option values for the truce): only the war decides."""
    raw = two_sides(b_land=0.003, b_energy=-0.002, margin=0.0, replications=1)
    model = NegotiationModel(make_scenario(raw, "land"), replications=1, rng=1)
    space, b = model.space, model.party["b"]
    full = space.index({TRUCE: "full"})
    partial = space.index({TRUCE: "partial"})
    s = model.surplus(b.values, b, np.array([0]), np.array([[full, partial]]))[0]
    assert s[0] < 0 < s[1]
    assert not b.respond(np.array([0]), np.array([full]), s[:1], 7)[0]
    assert b.respond(np.array([0]), np.array([partial]), s[1:], 7)[0]


def test_as_a_partys_value_of_the_land_war_rises_full_gives_way_to_partial_then_to_no_truce(make_scenario):
    """Worlds that differ only in one party's daily value of the land front."""
    out = {}
    for land in (-0.004, 0.0005, 0.004):
        raw = two_sides(b_land=land, b_energy=-0.001, margin=0.1, tolerance=0.02, horizon=112)
        model = play(make_scenario, raw, f"land{land}")
        out[land] = final_classes(model).value_counts(normalize=True)
    assert out[-0.004].get("full", 0) > 0.9
    assert out[0.0005].get("partial", 0) > 0.9
    assert out[0.004].get(NO_DEAL, 0) > 0.9


# ---------------------------------------------------------------- time in days, no deadline artefact


def test_histories_do_not_depend_on_the_horizon(make_scenario):
    """Nothing a party or the mediator computes reads the horizon; draws are indexed by world and day."""
    raws = [two_sides(b_land=0.0, margin=0.08, horizon=h, replications=64) for h in (63, 126)]
    for r in raws:
        r["dynamics"]["momentum"].update(noise=0.02, initial=0.1)
        r["parties"]["b"]["war"]["land"]["momentum"] = 0.01
        r["truce"]["violations"] = {"daily_probability": 0.02, "assumption": "test"}
    short, long = (play(make_scenario, r, f"h{i}") for i, r in enumerate(raws))
    T = short.spec.days
    assert np.array_equal(short.class_by_day, long.class_by_day[:, :T])
    assert np.array_equal(short.battlefield.momentum.shape, long.battlefield.momentum.shape)

    def events(m, until):
        return [
            (j, t, k, q) for r, d, k, p in m.history for j, t, q in zip(r, d, p, strict=True) if t <= until
        ]

    assert events(long, T) == events(short, T)


def test_a_declared_deadline_draws_deals_toward_it(make_scenario):
    """Without a deadline a Boulware holdout barely concedes; with one, concession is time-dependent
    too (Faratin et al.), so first agreements cluster in the weeks before it."""
    base = dict(b_land=0.0015, b_energy=-0.001, margin=0.1, tolerance=5.0, horizon=84, replications=100)
    free = play(make_scenario, two_sides(**base), "free")
    due = play(make_scenario, two_sides(**base, deadline=70), "due")
    near = lambda m: np.mean((m.first_day >= 49) & (m.first_day <= 70))  # noqa: E731
    assert near(due) > near(free) + 0.3


# ---------------------------------------------------------------- concession


def test_boulware_holds_its_margin_longer_than_a_conceder():
    progress = np.array([0.2, 0.5, 0.8])
    boulware = 1.0 - concession(progress, np.full(3, 1 / 0.5))
    conceder = 1.0 - concession(progress, np.full(3, 1 / 2.0))
    assert (boulware > conceder).all()


def test_a_boulware_party_agrees_later_than_a_conceder(make_scenario):
    days = {}
    for beta in (0.4, 2.5):
        raw = two_sides(
            b_land=-0.001, b_energy=-0.001, margin=0.2, tolerance=0.3, horizon=140, replications=60
        )
        raw["parties"]["b"]["concession"]["mean"] = beta
        m = play(make_scenario, raw, f"beta{beta}")
        days[beta] = np.nan_to_num(m.first_day, nan=999).mean()
    assert days[0.4] > days[2.5] + 7


def test_the_wars_hurt_wears_the_margin_down_and_a_party_that_gains_feels_none(make_scenario):
    raws = {
        "hurt": two_sides(b_land=-0.003, margin=0.1),
        "gain": two_sides(b_land=0.004, b_energy=0.001, margin=0.1),
    }
    for raw in raws.values():  # no truce can be agreed, so the war runs on every front
        raw["parties"]["b"]["red_lines"] = {
            o: {"issue": TRUCE, "option": o, "assumption": "test"} for o in ("partial", "full")
        }
    hurt, gain = (play(make_scenario, raw, name) for name, raw in raws.items())
    rows = np.arange(40)
    assert (hurt.party["b"].pain > 0).all() and (gain.party["b"].pain == 0).all()
    # 84 days of a land war costing 0.003 net and energy 0.001: the hurt is counted per day
    assert hurt.party["b"].pain == pytest.approx(84 * 0.004)
    assert (hurt.party["b"].margin(rows, 84) < gain.party["b"].margin(rows, 84)).all()


def test_a_costlier_war_brings_agreement_sooner(make_scenario):
    """Remove the cost of war and this fails: the margin would never shrink."""
    days = {}
    for land in (-0.0005, -0.004):
        raw = two_sides(b_land=land, b_energy=0.0, margin=0.3, tolerance=0.2, horizon=140, replications=60)
        m = play(make_scenario, raw, f"cost{land}")
        days[land] = np.nan_to_num(m.first_day, nan=999).mean()
    assert days[-0.004] < days[-0.0005] - 14


# ---------------------------------------------------------------- pressure


def lever_talks(levers: dict | None = None) -> dict:
    return two_sides(b_land=0.0015, b_energy=-0.0005, margin=0.05, horizon=84, replications=60, levers=levers)


def test_a_stick_lowers_its_targets_value_of_fighting_on_and_raises_agreement(make_scenario):
    # b's daily value of the war is 0.0015 - 0.0005 = 0.001: strength 4 cuts 0.004 a day per use
    stick = {"s": {"holder": "a", "target": "b", "kind": "stick", "strength": 4.0, "max_uses": 3}}
    calm = play(make_scenario, lever_talks(), "calm")
    pressed = play(make_scenario, lever_talks(stick), "pressed")
    assert (pressed.party["b"].shift <= 0).all() and (pressed.party["b"].shift < 0).any()
    assert (pressed.party["a"].shift == 0).all()
    assert final_classes(pressed).eq("full").mean() > final_classes(calm).eq("full").mean() + 0.3


def test_a_sticks_daily_effect_is_its_share_of_the_targets_daily_war_value(make_scenario):
    """Once phased in, each use lowers the target's summed daily value by strength x |its daily value
    of the war at the opening balance| (0.001 here); halfway through the phase-in, by half that."""
    stick = {
        "s": {
            "holder": "a",
            "target": "b",
            "kind": "stick",
            "strength": 0.3,
            "max_uses": 1,
            "policy": "always",
            "phase_in_days": 10,
        }
    }
    sc = make_scenario(lever_talks(stick), "stick_size")
    model = NegotiationModel(sc, replications=5, rng=1)
    model.run_until(5)  # fired at the first contact (day 0); 5 of 10 days phased in
    assert model.party["b"].shift.sum(axis=1) == pytest.approx(-0.3 * 0.001 * 0.5, abs=1e-15)
    model.run_until(20)
    assert model.party["b"].shift.sum(axis=1) == pytest.approx(-0.3 * 0.001, abs=1e-15)
    assert (model.party["a"].shift == 0).all()


CARROT_TERMS = {"prisoners": ["none", "swap"], "relief": ["no", "yes"]}


def carrot_talks(levers: dict | None = None) -> dict:
    """b values sanctions relief (0.4 of its terms); a is indifferent to it."""
    a = party_raw(
        {"prisoners": 0.5, "relief": 0.5},
        {"prisoners": {"none": 0, "swap": 0}, "relief": {"no": 0.5, "yes": 0.5}},
        war={"land": -0.002, "energy": -0.001},
    )
    b = party_raw(
        {"prisoners": 0.6, "relief": 0.4},
        {"prisoners": {"none": 0, "swap": 0}, "relief": {"no": 0.0, "yes": 1.0}},
        war={"land": 0.0015, "energy": -0.0005},
        margin=0.05,
        tolerance=0.05,
    )
    return scenario_raw(
        CARROT_TERMS, {"a": a, "b": b}, classes=CLASSES, replications=60, horizon=84, levers=levers
    )


CARROT = {
    "c": {
        "holder": "a",
        "target": "b",
        "kind": "carrot",
        "strength": 1,
        "policy": "from_day",
        "from_day": 14,
        "option": {"relief": "yes"},
    }
}


def test_a_carrot_is_an_option_of_a_package_valued_once_and_only_there(make_scenario):
    model = NegotiationModel(make_scenario(carrot_talks(CARROT), "carrot_value"), replications=1, rng=1)
    space, b = model.space, model.party["b"]
    rows = np.array([0])
    before = model.surplus(b.values, b, rows, None)[0]
    model.run_until(15)  # offered from day 14
    assert model.levers.uses[0, 0] == 1
    with_relief = space.holds({"relief": "yes"})
    pair = space.index({TRUCE: "full", "relief": "yes"}), space.index({TRUCE: "full"})
    model.inforce[:] = STATUS_QUO
    after = model.surplus(b.values, b, rows, None)[0]
    # offering it changes the value of no package: the carrot's worth is in the packages holding it
    assert after[~with_relief] == pytest.approx(before[~with_relief], abs=1e-9)
    u = model.surplus(b.values, b, rows, np.array([pair]))[0]
    assert u[0] - u[1] == pytest.approx(0.4, abs=1e-12)  # once: its weight times its value
    # once banked, nothing more is paid for it: extensions holding it gain nothing from it
    model.inforce[:] = pair[0]
    ext = space.index({TRUCE: "full", "relief": "yes", "prisoners": "swap"})
    assert model.surplus(b.values, b, rows, np.array([[ext]]))[0, 0] == pytest.approx(0.0, abs=1e-12)


def test_a_carrot_is_tabled_only_once_offered_and_raises_agreement(make_scenario):
    withheld = {"c": {**CARROT["c"], "max_uses": 0}}  # never offered: its packages stay off the table
    calm = play(make_scenario, carrot_talks(withheld), "carrot_calm")
    offered = play(make_scenario, carrot_talks(CARROT), "carrot_on")
    relief = offered.space.holds({"relief": "yes"})
    for _rows, when, kind, pkg in offered.history:
        if kind == "banked":
            assert not (relief[pkg] & (when < 14)).any()
    assert not relief[calm.inforce].any()
    assert relief[offered.inforce].mean() > 0.5
    assert final_classes(offered).ne(NO_DEAL).mean() >= final_classes(calm).ne(NO_DEAL).mean()


# ---------------------------------------------------------------- red lines, consent, ratification


def test_a_red_line_is_refused_whatever_the_surplus(make_scenario):
    """The opening text crosses b's red line yet would give it a large gain: b refuses."""
    raw = two_sides(b_land=-0.004, margin=0.0, opening={TRUCE: "full", "prisoners": "swap"}, replications=5)
    raw["parties"]["b"]["red_lines"] = {
        "no_swap": {"issue": "prisoners", "option": "swap", "assumption": "test"}
    }
    model = play(make_scenario, raw, "red", trace=0)
    day1 = model.transcript[0]["parties"][1]
    assert day1["surplus"] > 0.1 and day1["red_line"] and not day1["accepted"]
    space = model.space
    swapped = space.packages[model.inforce, space.issues.index("prisoners")] == 1
    assert not swapped.any()


def test_stronger_ratifiers_veto_more_deals(make_scenario):
    vetoed = {}
    for threshold in (-0.2, 0.2):
        raw = two_sides(b_land=-0.002, margin=0.0, replications=80)
        raw["parties"]["b"]["veto"] = {
            "label": "hardliners",
            "weights": {"prisoners": 0.5, "arms": 0.5},
            "threshold": {"mean": threshold, "sd": 0.0, "assumption": "test"},
            "slope": 0.05,
            "assumption": "test",
        }
        m = play(make_scenario, raw, f"veto{threshold}")
        vetoed[threshold] = m.counts["vetoed"].mean()
    assert vetoed[0.2] > vetoed[-0.2] + 1


# ---------------------------------------------------------------- the mediator


def test_nash_choice_maximises_the_product_over_required_parties_only():
    surplus = np.array([[[0.5, 0.3, 0.9], [0.1, 0.3, 0.05], [5.0, 0.0, 0.0]]])  # (1 world, 3 parties, 3)
    required = np.array([[1, 1, 1], [1, 1, 1], [0, 0, 0]], dtype=bool)
    allowed = np.ones((1, 3), dtype=bool)
    # products over a and b: 0.05, 0.09, 0.045; sums would pick package 0 (or 2)
    assert nash_choice(surplus, required, allowed)[0] == 1
    assert nash_choice(surplus, required, np.array([[True, False, True]]))[0] == 0
    assert nash_choice(surplus, required, np.zeros((1, 3), dtype=bool))[0] == -1
    short = np.array([[[-0.1, -0.3, 0.2], [-0.1, 0.1, -0.5], [0.0, 0.0, 0.0]]])
    assert nash_choice(short, required, allowed)[0] == 0  # no feasible: the smallest shortfall


def learning_talks(**kw) -> dict:
    """Opposed terms the mediator can trade, and a holdout whose margin it must discover."""
    terms = {"prisoners": ["none", "few", "all"], "arms": ["no", "some", "yes"]}
    a = party_raw(
        {"prisoners": 0.5, "arms": 0.5},
        {"prisoners": {"none": 0.0, "few": 0.6, "all": 1.0}, "arms": {"no": 1.0, "some": 0.6, "yes": 0.0}},
        war={"land": -0.002, "energy": -0.001},
    )
    b = party_raw(
        {"prisoners": 0.5, "arms": 0.5},
        {"prisoners": {"none": 1.0, "few": 0.7, "all": 0.0}, "arms": {"no": 0.0, "some": 0.5, "yes": 1.0}},
        war={"land": 0.0005, "energy": -0.002},
        margin=0.1,
        tolerance=50.0,
    )
    b["margin"]["sd"] = 0.05
    args = {
        "classes": CLASSES,
        "replications": 80,
        "horizon": 84,
        "value_sd": 0.1,
        "concentration": 30.0,
        **kw,
    }
    return scenario_raw(terms, {"a": a, "b": b}, **args)


def revisions_favour_who_refused(model: NegotiationModel) -> float:
    """Of the revisions that follow a refusal by b alone, the share that give b more (its true
    surplus) while a, who had accepted, still accepts: a single text revised toward agreement."""
    better, total = 0, 0
    for texts in model.records:
        for prev, nxt in zip(texts, texts[1:], strict=False):
            if prev[3] and not prev[1] and nxt[2] != prev[2]:  # a accepted, b refused; then revised
                total += 1
                better += (nxt[0] > prev[0] + 1e-12) and nxt[3]
    assert total > 20
    return better / total


def record_texts(model: NegotiationModel) -> NegotiationModel:
    """Play the model, keeping per world each tabled text's true surplus for b and b's answer."""
    model.records = [[] for _ in range(model.replications)]
    b = model.party["b"]
    original = model.respond

    def respond(idx, pkg, record=True, moment=None):
        out = original(idx, pkg, record, moment)
        s = model.surplus(b.values, b, idx, pkg[:, None])[:, 0]
        for j, sj, ok, p, ok_a in zip(idx, s, out[0][1], pkg, out[0][0], strict=True):
            model.records[j].append((sj, ok, p, ok_a))
        return out

    model.respond = respond
    return model.run()


def test_the_mediator_revises_toward_who_refused_and_a_random_mediator_does_not(make_scenario, monkeypatch):
    sc = make_scenario(learning_talks(replications=240), "learn")
    learned = revisions_favour_who_refused(record_texts(NegotiationModel(sc, replications=240, rng=3)))

    def random_text(self, idx, day, moment=None):
        rng = np.random.default_rng(int(day[0] * 1440) if len(day) else 0)
        allowed = self.candidates(idx)
        pick = [rng.choice(np.flatnonzero(a)) if a.any() else -1 for a in allowed]
        return np.array(pick, dtype=np.int64)

    monkeypatch.setattr(Mediator, "propose", random_text)
    guessed = revisions_favour_who_refused(record_texts(NegotiationModel(sc, replications=240, rng=3)))
    assert learned > 0.6
    assert guessed < learned - 0.2


def test_a_learning_mediator_reaches_agreement_sooner_than_one_that_does_not_learn(
    make_scenario, monkeypatch
):
    learner = play(make_scenario, learning_talks(), "learner")
    monkeypatch.setattr(Mediator, "learn", lambda self, *args: None)
    stubborn = play(make_scenario, learning_talks(), "stubborn")
    first = lambda m: np.nan_to_num(m.first_day, nan=999).mean()  # noqa: E731
    assert first(learner) < first(stubborn) - 7


def test_a_leaders_call_reveals_true_values_to_the_mediator(make_scenario):
    call = {"call": {"daily_probability": 1.0, "from_day": 0, "reveal": True}}
    raw = learning_talks(events=call)
    model = play(make_scenario, raw, "call")
    b, est = model.party["b"], model.mediator.est[1]
    assert model.mediator.informed.all()
    assert np.array_equal(est.weighted, b.values.weighted) and np.array_equal(est.war, b.values.war)
    quiet = play(make_scenario, learning_talks(), "quiet")
    assert not np.array_equal(quiet.mediator.est[1].weighted, quiet.party["b"].values.weighted)


def test_two_refused_openings_lead_to_different_outcomes_because_the_text_is_revised_from_the_table(
    make_scenario,
):
    """With reach 1 the mediator revises one issue at a time from the text on the table (Raiffa
    1982). From a refused full truce the next text adds the arms halt b wants: a full ceasefire. From
    a refused exchange without a truce the path runs through an energy truce, which is banked; b,
    who gains on land, then refuses to widen it: a partial ceasefire."""
    a = party_raw(
        {"prisoners": 0.8, "arms": 0.2},
        {"prisoners": {"none": 0.0, "swap": 1.0}, "arms": {"no": 1.0, "yes": 0.0}},
        war={"land": -0.002, "energy": -0.001},
    )
    b = party_raw(
        {"prisoners": 0.5, "arms": 0.5},
        {"prisoners": {"none": 0.0, "swap": 0.0}, "arms": {"no": 0.0, "yes": 1.0}},
        war={"land": 0.001, "energy": -0.004},
        margin=0.2,
        tolerance=100.0,
    )
    openings = {"full": {TRUCE: "full"}, "swap": {"prisoners": "swap"}}
    out, traces = {}, {}
    for name, opening in openings.items():
        raw = scenario_raw(
            {"prisoners": ["none", "swap"], "arms": ["no", "yes"]},
            {"a": a, "b": b},
            opening=opening,
            reach=1,
            tied=["arms"],
            classes=CLASSES,
            replications=20,
            horizon=35,
        )
        model = play(make_scenario, raw, f"open_{name}", trace=0)
        out[name] = final_classes(model).value_counts(normalize=True)
        traces[name] = model.transcript
        space = model.space
    for t in traces.values():
        assert not t[0]["parties"][1]["accepted"]  # both openings are refused on day 1
        texts = [e["proposal"] for e in t if "proposal" in e]
        for prev, nxt in zip(texts, texts[1:], strict=False):  # the reason: one change at a time
            assert (space.packages[prev] != space.packages[nxt]).sum() <= 1
    assert out["full"].get("full", 0) == 1.0
    assert out["swap"].get("partial", 0) == 1.0


# ---------------------------------------------------------------- truces that end, deals banked


def rebuild_talks(days: int, rate: float, slope: float) -> dict:
    a = party_raw({"prisoners": 0.5, "arms": 0.5}, NEUTRAL, war={"land": -0.002})
    b = party_raw({"prisoners": 0.5, "arms": 0.5}, NEUTRAL, war={"land": 0.001}, momentum={"land": slope})
    return scenario_raw(
        TERMS,
        {"a": a, "b": b},
        truce_days=days,
        tied=["arms"],
        rebuild={"rival_rearms": {"when": {"arms": "no"}, "per_day": -rate}},
        replications=1,
    )


def truce_value(make_scenario, days: int, rate: float, slope: float) -> float:
    model = NegotiationModel(
        make_scenario(rebuild_talks(days, rate, slope), "rebuild"), replications=1, rng=1
    )
    b = model.party["b"]
    pkg = model.space.index({TRUCE: "full", "arms": "no"})
    return float(model.surplus(b.values, b, np.array([0]), np.array([[pkg]]))[0, 0])


def test_a_truce_that_lets_the_rival_rebuild_is_worth_less_the_longer_it_lasts_and_the_faster_it_rebuilds(
    make_scenario,
):
    """The commitment problem (Fearon 1995) as dynamics, not a penalty."""
    by_days = [truce_value(make_scenario, d, 0.004, 0.01) for d in (10, 30, 60)]
    by_rate = [truce_value(make_scenario, 30, r, 0.01) for r in (0.0, 0.004, 0.012)]
    assert by_days[0] > by_days[1] > by_days[2]
    assert by_rate[0] > by_rate[1] > by_rate[2]
    flat = [truce_value(make_scenario, 30, r, 0.0) for r in (0.0, 0.004, 0.012)]
    assert flat[0] == pytest.approx(flat[1]) == pytest.approx(flat[2])


def test_an_exchange_everyone_prefers_is_banked_while_truce_talks_fail_and_talks_go_on(make_scenario):
    want_swap = {"prisoners": {"none": 0.0, "swap": 1.0}, "arms": {"no": 0.5, "yes": 0.5}}
    a = party_raw({"prisoners": 0.1, "arms": 0.9}, want_swap, war={"land": -0.002, "energy": -0.001})
    b = party_raw(
        {"prisoners": 0.1, "arms": 0.9}, want_swap, war={"land": 0.004, "energy": 0.002}, margin=0.01
    )
    raw = scenario_raw(TERMS, {"a": a, "b": b}, opening={TRUCE: "full", "prisoners": "swap"}, classes=CLASSES)
    model = play(make_scenario, raw, "exchange", trace=0)
    assert (final_classes(model) == "humanitarian").all()
    t = model.transcript
    assert not t[0]["ratified"]  # the truce text is refused
    banked = next(e for e in t if e.get("ratified"))
    assert model.space.describe(banked["proposal"])[TRUCE] == "none"
    later = [e for e in t if e["day"] > banked["day"] and "proposal" in e]
    assert later, "talks go on after the exchange is banked"
    swap = model.space.issues.index("prisoners")
    assert all(model.space.packages[e["proposal"], swap] == 1 for e in later)  # never dropped


def expiry_talks(b_land: float, a_land: float = -0.002) -> dict:
    a = party_raw({"prisoners": 0.5, "arms": 0.5}, NEUTRAL, war={"land": a_land})
    b = party_raw({"prisoners": 0.5, "arms": 0.5}, NEUTRAL, war={"land": b_land}, margin=0.0)
    return scenario_raw(TERMS, {"a": a, "b": b}, truce_days=14, horizon=56, replications=1, classes=CLASSES)


@pytest.mark.parametrize(
    ("b_land", "a_land", "extended"),
    [(-0.002, -0.002, True), (0.002, -0.002, False), (-0.002, 0.002, False), (0.002, 0.002, False)],
)
def test_a_truce_is_extended_exactly_when_every_party_prefers_extending_to_lapsing(
    make_scenario, b_land, a_land, extended
):
    model = NegotiationModel(make_scenario(expiry_talks(b_land, a_land), "expiry"), replications=1, rng=1)
    full = model.space.index({TRUCE: "full"})
    model.inforce[0], model.truces.end[0], model.clock[0] = full, 14, 14
    model.mediator.talking[0] = False
    lapsed = model.space.lapse[[full]]
    prefer = []
    for p in model.parties:  # computed here from the valuation, not from the engine's decision
        u = model.value(p.values, p, np.array([0]), np.array([[full, lapsed[0]]]), fresh=True)[0]
        prefer.append(u[0] > u[1])
    model.expire(np.array([0]))
    assert all(prefer) == extended
    assert (model.inforce[0] == full) == extended
    assert model.truces.end[0] == (28 if extended else np.inf)
    assert model.mediator.talking[0] == (not extended)  # a lapse reopens the talks


def test_monitoring_lowers_the_share_of_truces_ended_by_violations(make_scenario):
    broken = {}
    for monitored in (False, True):
        raw = two_sides(
            b_land=-0.003, margin=0.0, truce_days=400, horizon=140, replications=200, tied=["arms"]
        )
        raw["truce"]["violations"] = {
            "daily_probability": 0.02,
            "monitored_when": {TRUCE: "full"} if monitored else {},
            "monitoring_reduction": 0.8,
            "assumption": "test",
        }
        m = play(make_scenario, raw, f"monitor{monitored}")
        broken[monitored] = m.counts["violated"].sum() / max(m.counts["banked"].sum(), 1)
    assert broken[True] < broken[False]


def replay_inforce(model: NegotiationModel) -> np.ndarray:
    """What is in force in every world at the end of every day, rebuilt from the per-world history alone."""
    space, R, T = model.space, model.replications, model.spec.days
    state = np.zeros(R, dtype=np.int64)
    out = np.zeros((R, T), dtype=np.int64)
    events = sorted(
        ((t, j, kind, q) for rows, d, kind, p in model.history for j, t, q in zip(rows, d, p, strict=True)),
        key=lambda e: e[0],
    )
    k = 0
    for day in range(1, T + 1):
        while k < len(events) and events[k][0] <= day:
            _, j, kind, pkg = events[k]
            if kind == "banked":
                assert space.extends(state[[j]])[0, pkg], "a banked term was dropped"
                state[j] = pkg
            elif kind in ("lapsed", "violated"):
                state[j] = space.lapse[state[j]]
            k += 1
        out[:, day - 1] = state
    return out


def test_what_is_in_force_follows_from_the_history_and_banked_terms_are_never_revoked(make_scenario):
    raw = two_sides(b_land=0.0, b_energy=-0.002, margin=0.02, horizon=140, replications=120, tied=["arms"])
    raw["truce"]["violations"] = {"daily_probability": 0.03, "assumption": "test"}
    raw["truce"]["days"] = 21
    model = play(make_scenario, raw, "history")
    replayed = replay_inforce(model)
    assert np.array_equal(replayed[:, -1], model.inforce)
    assert np.array_equal(model.space.package_class[replayed], model.class_by_day)
    assert model.counts["violated"].sum() > 0 and model.counts["banked"].sum() > model.replications
    tally = Tally(model.space).add(model.class_by_day)
    expected = shares(final_classes(model).to_frame("outcome"), model.space.class_order)
    assert np.array_equal(tally.shares()["count"], expected["count"])


# ---------------------------------------------------------------- invariants, reproducibility


@settings(max_examples=10, deadline=None)
@given(random_domains(), st.integers(0, 2**16))
def test_random_scenarios_keep_every_invariant(make_scenario, domain, seed):
    terms, parties, momentum = domain
    raw = scenario_raw(
        terms, parties, momentum=momentum, tied=[next(iter(terms))], replications=30, seed=seed
    )
    raw["truce"]["violations"] = {"daily_probability": 0.01, "assumption": "test"}
    sc = make_scenario(raw, "random")
    result = run(sc)
    sh, cv = result.shares, result.curve
    assert (
        (sh["share"] >= 0) & (sh["share"] <= 1) & (sh["lo"] <= sh["share"]) & (sh["share"] <= sh["hi"])
    ).all()
    by = sh.set_index("outcome")["share"]
    assert by.drop("any_agreement").sum() == pytest.approx(1.0)
    assert by["any_agreement"] == pytest.approx(1.0 - by[NO_DEAL])
    for _, g in cv.groupby("day"):
        assert g[g["outcome"] != "any_agreement"]["share"].sum() == pytest.approx(1.0)
    for row in result.outcomes.itertuples():
        chosen = {i: getattr(row, i) for i in sc.issues}
        for p in sc.parties.values():
            for rl in p.red_lines.values():
                assert chosen[rl.issue] != rl.option


@pytest.mark.parametrize("n", [1, 7, 300, 10_000])
def test_intervals_contain_the_share_even_at_zero_and_one(n):
    k = np.array([0, n // 2, n])
    lo, hi = wilson(k, n)
    assert ((lo <= k / n) & (k / n <= hi) & (lo >= 0) & (hi <= 1)).all()


def test_same_seed_gives_identical_bytes_and_another_seed_other_outcomes(make_scenario, tmp_path):
    sc = make_scenario(learning_talks(), "repro")
    a, b = run(sc, seed=7), run(sc, seed=7)
    a.write(tmp_path / "a")
    b.write(tmp_path / "b")
    for name in ("outcomes.csv", "history.csv", "curve.csv", "series.csv", "curve.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert not run(sc, seed=8).outcomes.equals(a.outcomes)


def test_a_world_is_the_same_world_however_many_are_played_and_trace_retells_it(make_scenario):
    sc = make_scenario(learning_talks(), "worlds")
    big = chunk_model(sc, sc.seed, 0, 60).run()
    for j in (0, 17, 59):
        small = chunk_model(sc, sc.seed, 0, j + 1, trace=j).run()
        assert small.inforce[j] == big.inforce[j]
        assert np.array_equal(small.class_by_day[j], big.class_by_day[j])
        assert small.transcript and small.transcript[-1]["inforce"] == big.inforce[j]
    assert CHUNK == 4096


def test_the_data_collector_records_the_ensembles_series_each_day(make_scenario):
    model = play(make_scenario, learning_talks(), "series")
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == model.spec.days
    final = final_classes(model).value_counts(normalize=True)
    for cid, share in final.items():
        assert frame[f"share_{cid}"].iloc[-1] == pytest.approx(share)
    assert ((frame.filter(like="share_").sum(axis=1) - 1).abs() < 1e-9).all()
