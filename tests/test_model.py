"""The negotiation engine: invariants of every run, reproducibility, and the direction of mechanisms.

Scenarios here are small and built in code (``conftest.py``), so each mechanism can be switched on
and off while everything else, including the random draws, stays the same.
"""

from __future__ import annotations

import itertools
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import compositions, party_raw, random_interactions, random_issues, scenario_raw, uncertain
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.experiments.chunks as experiment
from sim.api import run
from sim.engine.mediator import Mediator
from sim.engine.model import NegotiationModel
from sim.engine.outcomes import NO_DEAL
from sim.experiments.tally import curve, outcomes_frame, shares
from sim.outputs.files import write_csv
from sim.scenario import ScenarioError, load_scenario

BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.toml"


def run_frame(*args, **kwargs) -> pd.DataFrame:
    """One row per world, as ``sim.run(...).outcomes``."""
    return run(*args, **kwargs).outcomes


# ---------------------------------------------------------------- a small three-party negotiation

ISSUES = {"scope": ["none", "partial", "full"], "arms": ["no", "yes"], "prisoners": ["none", "swap"]}
CLASSES = {
    "full": {"scope": ["full"]},
    "partial": {"scope": ["partial"]},
    "humanitarian": {"prisoners": ["swap"]},
}


def talks_raw(**kw) -> dict:
    """A mediator (us), a party that accepts the opening text (kyiv) and a holdout (moscow)."""
    us = party_raw(
        {"scope": 0.5, "arms": 0.2, "prisoners": 0.3},
        {
            "scope": {"none": 0, "partial": 0.5, "full": 1},
            "arms": {"no": 0.8, "yes": 0.4},
            "prisoners": {"none": 0, "swap": 1},
        },
        reservation=0.3,
        opening=0.7,
        concession=1.5,
        sd=0.05,
    )
    kyiv = party_raw(
        {"scope": 0.4, "arms": 0.4, "prisoners": 0.2},
        {
            "scope": {"none": 0, "partial": 0.6, "full": 1},
            "arms": {"no": 1, "yes": 0},
            "prisoners": {"none": 0, "swap": 1},
        },
        reservation=0.45,
        opening=0.8,
        sd=0.05,
    )
    moscow = party_raw(
        {"scope": 0.3, "arms": 0.5, "prisoners": 0.2},
        {
            "scope": {"none": 1, "partial": 0.6, "full": 0.2},
            "arms": {"no": 0, "yes": 1},
            "prisoners": {"none": 0.3, "swap": 0.8},
        },
        reservation=0.6,
        opening=0.85,
        concession=0.5,
        sd=0.08,
    )
    args = {
        "opening": {"scope": "full", "arms": "no", "prisoners": "swap"},
        "classes": CLASSES,
        "concentration": 50.0,
        "rounds": 8,
        "replications": 400,
        **kw,
    }
    return scenario_raw(ISSUES, {"us": us, "kyiv": kyiv, "moscow": moscow}, **args)


def play(make_scenario, raw: dict, name: str, seed: int = 1) -> NegotiationModel:
    """Run every world of the scenario in one ensemble, checking each agreement as it is made."""
    sc = make_scenario(raw, name)
    return run_checked(NegotiationModel(sc, replications=sc.replications, rng=seed))


def time_to_deal(model: NegotiationModel) -> np.ndarray:
    """Agreement round per world; rounds + 1 where talks failed."""
    return np.where(model.agreed, model.round, model.spec.rounds + 1)


# ---------------------------------------------------------------- independent checks of one agreement


def package_options(sc, j: int) -> dict[str, str]:
    """Package j as {issue: option}: row-major over the issues in the scenario's order."""
    issues = list(sc.issues.items())
    return dict(
        zip(
            sc.issues,
            (issue.options[o] for (_, issue), o in zip(issues, pkg_digits(sc, j), strict=True)),
            strict=True,
        )
    )


def pkg_digits(sc, j: int) -> tuple[int, ...]:
    sizes = [range(len(i.options)) for i in sc.issues.values()]
    return list(itertools.product(*sizes))[j]


def class_of(sc, chosen: dict[str, str]) -> str | None:
    """The first outcome class whose rule the package meets (None: the package is not a deal)."""
    for cid, cl in sc.classes.items():
        if all(chosen[i] in opts for i, opts in cl.when.items()):
            return cid
    return None


def needs_consent(spec, chosen: dict[str, str]) -> bool:
    if spec.required_when:
        return any(chosen[i] in opts for i, opts in spec.required_when.items())
    return spec.required


def spec_utility(sc, spec, weights: np.ndarray, chosen: dict[str, str]) -> float:
    u = sum(w * spec.positions[i].values[chosen[i]] for w, i in zip(weights, sc.issues, strict=True))
    return u + sum(
        t.value for t in spec.interactions.values() if all(chosen[i] == o for i, o in t.when.items())
    )


def check_new_agreements(model: NegotiationModel, t: int, before: np.ndarray) -> None:
    """Every world that agreed in round t: the package is a deal, crosses no red line, and clears the
    aspiration (plus any carrot) of every party whose consent it needs, in this round."""
    sc = model.spec
    new = np.flatnonzero(model.agreed & ~before)
    assert (model.round[new] == t).all()
    assert 1 <= t <= sc.rounds or new.size == 0
    for row in new:
        chosen = package_options(sc, int(model.package[row]))
        assert class_of(sc, chosen) is not None, f"agreed on {chosen}, which no outcome class describes"
        for i, party in enumerate(model.parties):
            spec = party.spec
            for rl in spec.red_lines.values():
                assert chosen[rl.issue] != rl.option, f"{party.pid} red line crossed in {chosen}"
            u = spec_utility(sc, spec, party.W[row], chosen)
            assert model.utility[row, i] == pytest.approx(u, abs=1e-9)
            assert party.aspiration[row] >= party.reservation[row] - 1e-12
            if needs_consent(spec, chosen):
                assert model.utility[row, i] + party.bonus[row] >= party.aspiration[row], (
                    f"{party.pid} agreed below its aspiration in round {t}"
                )


def run_checked(model: NegotiationModel) -> NegotiationModel:
    rounds = 0
    while model.running:
        before = model.agreed.copy()
        model.step()
        rounds += 1
        check_new_agreements(model, model.steps, before)
    assert rounds <= model.spec.rounds
    assert (model.round[~model.agreed] == 0).all() and (model.package[~model.agreed] == -1).all()
    assert np.isnan(model.utility[~model.agreed]).all()
    return model


def check_tables(sc, df: pd.DataFrame) -> None:
    """Per-replication outcomes, class shares and cumulative curves are consistent with each other."""
    agreed = df["agreed"] == 1
    assert df["replication"].tolist() == list(range(len(df)))
    assert (df.loc[~agreed, "outcome"] == NO_DEAL).all()
    assert df.loc[agreed, "outcome"].isin(list(sc.classes)).all()
    assert df.loc[~agreed, "round"].isna().all()
    rounds = df.loc[agreed, "round"].astype(int)
    assert ((rounds >= 1) & (rounds <= sc.rounds)).all()
    for row in df[agreed].itertuples(index=False):
        chosen = {i: getattr(row, i) for i in sc.issues}
        assert class_of(sc, chosen) == row.outcome
    assert df.loc[~agreed, list(sc.issues)].isna().all().all()

    classes = [*sc.classes, NO_DEAL]
    sh = shares(df, classes)
    assert ((sh["share"] >= 0) & (sh["share"] <= 1)).all()
    eps = 1e-12  # exact containment at shares of 0 and 1 is tested on its own below
    assert ((sh["lo"] <= sh["share"] + eps) & (sh["share"] <= sh["hi"] + eps)).all()
    assert ((sh["lo"] >= 0) & (sh["hi"] <= 1)).all()
    by = sh.set_index("outcome")["count"]
    assert by[classes].sum() == len(df)
    assert by["agreement"] == agreed.sum() == by[list(sc.classes)].sum()

    cv = curve(df, classes, sc.rounds)
    for cls, g in cv.groupby("outcome"):
        g = g.sort_values("round")
        assert g["round"].tolist() == list(range(1, sc.rounds + 1))
        assert (np.diff(g["share"].to_numpy()) >= 0).all(), f"{cls} curve decreases"
        assert ((g["lo"] <= g["share"] + eps) & (g["share"] <= g["hi"] + eps)).all()
        final = agreed.mean() if cls == "agreement" else (df["outcome"] == cls).mean()
        assert g["share"].iloc[-1] == pytest.approx(final)


# ---------------------------------------------------------------- invariants


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(BASELINE).model_copy(update={"replications": 200})


def test_baseline_agreements_respect_aspirations_and_red_lines(baseline):
    model = run_checked(NegotiationModel(baseline, replications=300, rng=11))
    assert model.agreed.any()


def test_baseline_outcome_tables_are_consistent(baseline):
    check_tables(baseline, run_frame(baseline, replications=300, seed=5))


@pytest.fixture(scope="module")
def baseline_outcomes(baseline):
    return run_frame(baseline)


@pytest.mark.parametrize("j", [0, 7, 199])
def test_baseline_transcript_reproduces_its_row_and_shows_a_valid_agreement(baseline, baseline_outcomes, j):
    row = baseline_outcomes.iloc[j]
    model = experiment.trace_model(baseline, j)
    log = model.transcript
    assert [e["round"] for e in log] == list(range(1, len(log) + 1))
    assert log[0]["by"] == "opening"
    if row["agreed"]:
        last = log[-1]
        assert last["ratified"] and last["round"] == row["round"]
        assert package_options(baseline, last["proposal"]) == {i: row[i] for i in baseline.issues}
        for p in last["parties"]:
            assert not p["red_line"]
            if p["asked"]:
                assert p["accepted"] and p["utility"] + p["bonus"] >= p["aspiration"]
            assert row[f"u_{p['party']}"] == pytest.approx(p["utility"])
        assert not any(e["ratified"] for e in log[:-1])
    else:
        assert len(log) == baseline.rounds and not any(e["ratified"] for e in log)


@pytest.mark.parametrize("n", [1, 7, 300, 10_000])
def test_intervals_contain_the_share_even_at_zero_and_one(n):
    """All worlds agree: the class shares are 1 and 0, and each 95% interval must contain them."""
    df = pd.DataFrame({"agreed": [1] * n, "outcome": ["deal"] * n, "round": [1] * n})
    sh = shares(df, ["deal", "other", NO_DEAL])
    assert sh["share"].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert (sh["lo"] <= sh["share"]).all() and (sh["share"] <= sh["hi"]).all(), sh.to_string()
    cv = curve(df, ["deal", NO_DEAL], 3)
    assert (cv["lo"] <= cv["share"]).all() and (cv["share"] <= cv["hi"]).all(), cv.to_string()


def random_scenario_raw(seed: int) -> dict:
    """A random scenario using every mechanism: uncertainty, momentum, war costs, red lines,
    interactions, veto players, conditional consent, levers, events, several outcome classes."""
    rng = np.random.default_rng(seed)
    issues = random_issues(rng, (2, 3), (2, 3))
    names = list(issues)
    parties = {}
    for n in range(int(rng.integers(2, 5))):
        weights = [w / 20 for w in compositions(rng, len(issues), 20)]
        res = float(rng.uniform(0.1, 0.6))
        p = party_raw(
            dict(zip(issues, weights, strict=True)),
            {i: {o: round(float(rng.uniform()), 2) for o in opts} for i, opts in issues.items()},
            reservation=res,
            opening=res + float(rng.uniform(0, 0.3)),
            concession=float(rng.uniform(0.3, 3.0)),
            sd=float(rng.choice([0.0, 0.05, 0.1])),
            interactions=random_interactions(rng, issues, most=2, grid=20),
            war={
                "momentum_exposure": float(rng.uniform(-0.2, 0.2)),
                "cost_per_round": float(rng.uniform(0, 0.01)),
                "assumption": "random",
            },
        )
        p["concession"]["sd"] = 0.2
        if rng.random() < 0.5:  # a red line, never on the first option (so some deal stays possible)
            i = names[int(rng.integers(len(names)))]
            p["red_lines"] = {
                "rl": {
                    "issue": i,
                    "option": issues[i][int(rng.integers(1, len(issues[i])))],
                    "assumption": "random",
                }
            }
        if rng.random() < 0.3:
            vw = [w / 10 for w in compositions(rng, len(issues), 10)]
            p["veto"] = {
                "label": "hardliners",
                "weights": dict(zip(issues, vw, strict=True)),
                "threshold": uncertain(float(rng.uniform(0.1, 0.6)), 0.1),
                "assumption": "random",
            }
        if n > 0 and "red_lines" not in p and rng.random() < 0.3:  # (red lines of such parties: see below)
            i = names[int(rng.integers(len(names)))]
            p["required_when"] = {i: [issues[i][-1]]}
        parties[f"p{n}"] = p
    # classes on the first issue; its first option is always a deal
    first = issues[names[0]]
    classes = {"c0": {names[0]: first[: int(rng.integers(1, len(first) + 1))]}}
    if rng.random() < 0.5:
        classes["c1"] = {}
    pids = list(parties)
    opening = None
    if rng.random() < 0.7:
        opening = {i: opts[int(rng.integers(len(opts)))] for i, opts in issues.items()}
        if "c1" not in classes:
            opening[names[0]] = first[0]
    levers = {
        "lv": {
            "holder": pids[0],
            "target": pids[-1],
            "kind": str(rng.choice(["stick", "carrot"])),
            "strength": float(rng.uniform(0, 0.1)),
            "policy": str(rng.choice(["always", "on_rejection", "from_round"])),
            "from_round": int(rng.integers(1, 5)),
            "max_uses": int(rng.integers(0, 4)),
        }
    }
    events = {
        "ev": {
            "probability": float(rng.uniform(0, 0.5)),
            "from_round": int(rng.integers(1, 4)),
            "once": bool(rng.random() < 0.5),
            "reservation_shift": {pids[0]: float(rng.uniform(-0.1, 0.1))},
            "momentum_shift": float(rng.uniform(-0.2, 0.2)),
            "reveal": bool(rng.random() < 0.5),
        }
    }
    momentum = {
        "initial": float(rng.uniform(-0.3, 0.3)),
        "drift": float(rng.uniform(-0.05, 0.05)),
        "reversion": float(rng.uniform(0, 0.5)),
        "noise": float(rng.uniform(0, 0.1)),
    }
    return scenario_raw(
        issues,
        parties,
        informed=bool(rng.random() < 0.3),
        opening=opening,
        classes=classes,
        concentration=float(rng.choice([0.0, 30.0])),
        momentum=momentum,
        levers=levers,
        events=events,
        rounds=int(rng.integers(1, 13)),
        replications=40,
        seed=seed,
    )


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_random_scenarios_keep_every_invariant(make_scenario, seed):
    sc = make_scenario(random_scenario_raw(seed), f"random{seed}")
    run_checked(NegotiationModel(sc, replications=sc.replications, rng=seed))
    check_tables(sc, run_frame(sc))


# ---------------------------------------------------------------- reproducibility


@pytest.fixture(scope="module")
def talks(scenario_dir):
    from sim.scenario import validate

    return validate(talks_raw(replications=300), scenario_dir / "talks.toml")


def test_same_seed_gives_identical_outcomes_and_csv_bytes(talks, tmp_path):
    a, b = run_frame(talks, seed=7), run_frame(talks, seed=7)
    pd.testing.assert_frame_equal(a, b)
    write_csv(tmp_path / "a.csv", a)
    write_csv(tmp_path / "b.csv", b)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_different_seed_gives_different_outcomes(talks):
    a, b = run_frame(talks, seed=7), run_frame(talks, seed=8)
    assert not a.equals(b)
    assert (a["round"].fillna(0) != b["round"].fillna(0)).any()


def test_chunks_give_the_same_result_on_any_executor_and_in_any_order(talks, monkeypatch):
    monkeypatch.setattr(experiment, "CHUNK", 64)
    n, seed = 300, 3
    serial = run_frame(talks, replications=n, seed=seed)
    assert len(experiment.chunk_bounds(n)) == 5
    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = run_frame(talks, replications=n, seed=seed, executor=pool)
    pd.testing.assert_frame_equal(serial, threaded)

    bounds = experiment.chunk_bounds(n)
    random.Random(0).shuffle(bounds)
    assert bounds != sorted(bounds)
    chunks = sorted((experiment.run_chunk(talks, seed, a, b) for a, b in bounds), key=lambda c: c.start)
    pd.testing.assert_frame_equal(serial, outcomes_frame(experiment.compiled_space(talks), chunks))

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(experiment.run_chunk, talks, seed, a, b)
            for a, b in reversed(experiment.chunk_bounds(n))
        ]
        chunks = sorted((f.result() for f in futures), key=lambda c: c.start)
    pd.testing.assert_frame_equal(serial, outcomes_frame(experiment.compiled_space(talks), chunks))


def test_chunks_are_seeded_independently(talks, monkeypatch):
    """Chunk c's worlds depend on the seed and c only: a full chunk is the same in a larger run."""
    monkeypatch.setattr(experiment, "CHUNK", 64)
    small = run_frame(talks, replications=128, seed=4)
    large = run_frame(talks, replications=300, seed=4)
    pd.testing.assert_frame_equal(small, large.iloc[:128])
    # and chunks are not copies of each other
    assert not small.iloc[:64].reset_index(drop=True).equals(small.iloc[64:].reset_index(drop=True))


@pytest.mark.parametrize("j", [0, 70, 299])
def test_trace_of_a_world_in_any_chunk_reproduces_its_row(talks, monkeypatch, j):
    monkeypatch.setattr(experiment, "CHUNK", 64)
    row = run_frame(talks, replications=300, seed=talks.seed).iloc[j]
    model = experiment.trace_model(talks, j)
    k = j % 64
    assert bool(model.agreed[k]) == bool(row["agreed"])
    if row["agreed"]:
        assert model.round[k] == row["round"] == model.transcript[-1]["round"]
        assert package_options(talks, int(model.package[k])) == {i: row[i] for i in talks.issues}
        assert model.utility[k].tolist() == [row[f"u_{p}"] for p in talks.parties]


def test_first_full_chunk_is_unchanged_by_more_replications(make_scenario):
    sc = make_scenario(talks_raw(rounds=4), "talks_short")
    n = experiment.CHUNK
    pd.testing.assert_frame_equal(
        run_frame(sc, replications=n, seed=9), run_frame(sc, replications=n + 40, seed=9).iloc[:n]
    )


def test_changing_rounds_on_a_loaded_scenario_matches_a_fresh_load(talks, make_scenario):
    """A Scenario edited in code (``model_copy``) must not reuse tables of the unedited one."""
    run_frame(talks, replications=50, seed=2)
    edited = run_frame(talks.model_copy(update={"rounds": 3}), replications=50, seed=2)
    fresh = run_frame(make_scenario(talks_raw(replications=300, rounds=3), "talks3"), replications=50, seed=2)
    pd.testing.assert_frame_equal(edited, fresh)


# ---------------------------------------------------------------- direction of effects


def test_a_stick_on_the_holdout_raises_agreement(make_scenario):
    def lever(strength):
        return {
            "stick": {
                "holder": "us",
                "target": "moscow",
                "kind": "stick",
                "strength": strength,
                "policy": "always",
                "max_uses": 10,
            }
        }

    off = play(make_scenario, talks_raw(levers=lever(0.0)), "stick_off")
    on = play(make_scenario, talks_raw(levers=lever(0.03)), "stick_on")
    assert on.agreed.mean() >= off.agreed.mean() + 0.05
    assert time_to_deal(on).mean() < time_to_deal(off).mean()
    assert (on.party["moscow"].shift <= -0.03).all()


def test_a_carrot_for_the_holdout_raises_agreement(make_scenario):
    def lever(strength):
        return {
            "relief": {
                "holder": "us",
                "target": "moscow",
                "kind": "carrot",
                "strength": strength,
                "policy": "from_round",
                "from_round": 2,
                "max_uses": 1,
            }
        }

    off = play(make_scenario, talks_raw(levers=lever(0.0)), "carrot_off")
    on = play(make_scenario, talks_raw(levers=lever(0.1)), "carrot_on")
    assert on.agreed.mean() > off.agreed.mean()


def test_a_larger_commitment_penalty_lowers_deals_with_that_combination(make_scenario):
    """Two parties; b dislikes a full truce without an arms halt by the interaction term."""
    issues = {"scope": ["partial", "full"], "arms": ["no", "yes"]}

    def shares_with(penalty):
        a = party_raw(
            {"scope": 0.6, "arms": 0.4},
            {"scope": {"partial": 0.4, "full": 1}, "arms": {"no": 1, "yes": 0}},
            reservation=0.4,
            opening=0.7,
            sd=0.1,
        )
        b = party_raw(
            {"scope": 0.7, "arms": 0.3},
            {"scope": {"partial": 0.5, "full": 1}, "arms": {"no": 0.3, "yes": 1}},
            reservation=0.5,
            opening=0.8,
            sd=0.1,
            interactions={
                "reprieve": {"when": {"scope": "full", "arms": "no"}, "value": penalty, "assumption": "test"}
            },
        )
        raw = scenario_raw(issues, {"a": a, "b": b}, concentration=30.0, replications=400, rounds=8)
        m = play(make_scenario, raw, f"penalty{-penalty}")
        combo = m.space.holds({"scope": "full", "arms": "no"})[np.maximum(m.package, 0)] & m.agreed
        return combo.mean()

    mild, harsh = shares_with(-0.02), shares_with(-0.25)
    assert mild > 0.2
    assert harsh < mild - 0.1


def veto_raw(threshold: float) -> dict:
    raw = talks_raw()
    raw["parties"]["moscow"]["veto"] = {
        "label": "hardliners",
        "weights": {"scope": 0.5, "arms": 0.5, "prisoners": 0.0},
        "threshold": uncertain(threshold, 0.1),
        "slope": 0.05,
        "assumption": "test",
    }
    return raw


def test_stronger_hardliners_lower_ratified_deals_and_raise_failures(make_scenario):
    soft = play(make_scenario, veto_raw(0.2), "veto_soft")
    hard = play(make_scenario, veto_raw(0.7), "veto_hard")
    assert hard.agreed.mean() < soft.agreed.mean() - 0.1
    assert hard.ratification_failures.mean() > soft.ratification_failures.mean() + 0.1
    df = run_frame(make_scenario(veto_raw(0.7), "veto_hard"), replications=200, seed=1)
    assert (df["ratification_failures"] > 0).any()


def with_war_cost(cost: float) -> dict:
    raw = talks_raw()
    for p in raw["parties"].values():
        p["war"] = {"cost_per_round": cost, "assumption": "test"}
    return raw


def test_a_costlier_war_brings_agreement_sooner(make_scenario):
    cheap = play(make_scenario, with_war_cost(0.0), "war_cheap")
    costly = play(make_scenario, with_war_cost(0.015), "war_costly")
    cum = [np.cumsum(np.bincount(m.round[m.agreed], minlength=9)[1:]) for m in (cheap, costly)]
    assert (cum[1] >= cum[0]).all() and cum[1][-1] > cum[0][-1]
    assert time_to_deal(costly).mean() < time_to_deal(cheap).mean()


def with_concession(beta: float) -> dict:
    raw = talks_raw()
    for p in raw["parties"].values():
        p["concession"] = uncertain(beta, 0.0)
    return raw


def test_boulware_agrees_later_than_conceder(make_scenario):
    boulware = play(make_scenario, with_concession(0.3), "boulware")
    conceder = play(make_scenario, with_concession(3.0), "conceder")
    late = boulware.round[boulware.agreed].mean()
    early = conceder.round[conceder.agreed].mean()
    assert late > early + 1
    assert time_to_deal(boulware).mean() > time_to_deal(conceder).mean()


def summit_raw(probability: float) -> dict:
    """Reservations vary across worlds, weights do not: a summit tells the mediator all it lacks."""
    raw = talks_raw(
        learning_step=0.0,
        concentration=0.0,
        events={"summit": {"probability": probability, "from_round": 2, "reveal": True}},
    )
    for p in raw["parties"].values():
        p["reservation"]["sd"] = 0.12
    return raw


def test_revealing_true_thresholds_never_delays_a_deal(make_scenario):
    blind = play(make_scenario, summit_raw(0.0), "summit_off")
    told = play(make_scenario, summit_raw(1.0), "summit_on")
    assert told.mediator.informed.all() and not blind.mediator.informed.any()
    assert told.agreed.mean() >= blind.agreed.mean()
    # the same worlds (same draws): whoever agreed without the summit agrees no later with it
    both = blind.agreed
    assert told.agreed[both].all()
    assert (told.round[both] <= blind.round[both]).all()


def test_a_red_line_is_never_crossed(make_scenario):
    free = play(make_scenario, talks_raw(), "no_red_line")
    arms_yes = free.space.holds({"arms": "yes"})
    assert (arms_yes[free.package[free.agreed]]).any(), "the red line below would not bind"
    raw = talks_raw()
    raw["parties"]["kyiv"]["red_lines"] = {
        "no_halt": {"issue": "arms", "option": "yes", "assumption": "test"}
    }
    bound = play(make_scenario, raw, "red_line")
    assert bound.agreed.any()
    assert not arms_yes[bound.package[bound.agreed]].any()


def supplier_raw(reservation: float, **consent) -> dict:
    """talks plus an arms supplier who must consent only to packages with an arms halt."""
    raw = talks_raw()
    raw["parties"]["supplier"] = party_raw(
        {"scope": 0.2, "arms": 0.8, "prisoners": 0.0},
        {
            "scope": {"none": 0, "partial": 0.5, "full": 1},
            "arms": {"no": 1, "yes": 0},
            "prisoners": {"none": 0, "swap": 0},
        },
        reservation=reservation,
        sd=0.05,
        **consent,
    )
    return raw


def test_conditional_consent_is_asked_only_where_it_applies(make_scenario):
    # a supplier that refuses everything: deals still happen, but never with an arms halt
    stubborn = play(make_scenario, supplier_raw(1.5, required_when={"arms": ["yes"]}), "supplier_stubborn")
    arms_yes = stubborn.space.holds({"arms": "yes"})
    assert stubborn.agreed.any()
    assert not arms_yes[stubborn.package[stubborn.agreed]].any()
    # the same supplier with an unconditional veto blocks every deal
    always = play(make_scenario, supplier_raw(1.5, required=True), "supplier_always")
    assert not always.agreed.any()
    # a supplier that can be persuaded: halts happen, each one accepted by it (run_checked checks)
    lenient = play(make_scenario, supplier_raw(0.1, required_when={"arms": ["yes"]}), "supplier_lenient")
    assert arms_yes[lenient.package[lenient.agreed]].any()


def test_a_party_answers_a_red_line_proposal_with_a_demand(make_scenario):
    """The opening text crosses kyiv's red line: kyiv rejects it and demands the change off it."""
    raw = talks_raw(opening={"scope": "full", "arms": "yes", "prisoners": "swap"}, replications=20)
    raw["parties"]["kyiv"]["red_lines"] = {
        "no_halt": {"issue": "arms", "option": "yes", "assumption": "test"}
    }
    sc = make_scenario(raw, "red_line_opening")
    model = NegotiationModel(sc, replications=20, rng=1)
    model.step()
    kyiv = list(sc.parties).index("kyiv")
    assert not model.agreed.any()
    demands = model.first_demand[:, kyiv]
    assert (demands >= 0).all(), "kyiv rejected without naming a demand"
    assert all(model.space.describe_move(int(m)) == ("arms", "no") for m in demands)


def test_an_opening_text_outside_every_class_never_becomes_an_unclassified_agreement(make_scenario):
    """Everyone accepts an opening package that no outcome class describes; an agreed row must carry
    one of the scenario's classes (either the file is refused or that package is not a deal)."""
    from sim.scenario import ScenarioError

    raw = talks_raw(opening={"scope": "partial", "arms": "yes", "prisoners": "none"}, replications=10)
    raw["classes"] = {"full": {"label": "Full", "when": {"scope": ["full"]}}}
    for p in raw["parties"].values():
        p["reservation"] = uncertain(0.0)
        p["opening"] = uncertain(0.0)
    try:
        sc = make_scenario(raw, "opening_not_a_deal")
    except ScenarioError as e:
        assert "opening" in str(e)
        return
    df = run_frame(sc)
    agreed = df[df["agreed"] == 1]
    assert agreed["outcome"].isin(list(sc.classes)).all(), (
        agreed["outcome"].astype(str).value_counts().to_dict()
    )


def test_red_lines_that_rule_out_every_deal_are_refused_as_nothing_to_negotiate(make_scenario):
    raw = talks_raw(replications=20)
    raw["parties"]["kyiv"]["red_lines"] = {"a": {"issue": "arms", "option": "yes", "assumption": "test"}}
    raw["parties"]["moscow"]["red_lines"] = {"b": {"issue": "arms", "option": "no", "assumption": "test"}}
    with pytest.raises(ScenarioError, match="nothing to negotiate"):
        make_scenario(raw, "no_deal_possible")


def test_a_red_line_binds_even_where_consent_is_otherwise_not_needed(make_scenario):
    """The supplier's consent is needed only for an arms halt, but it has a red line on a truce with
    no prisoner release; the opening text crosses it and everyone asked accepts that text. The
    mediator never proposes a package that crosses any party's red line; the opening text must not
    become an agreement that does either."""
    raw = supplier_raw(0.1, required_when={"arms": ["yes"]})
    raw["parties"]["supplier"]["red_lines"] = {
        "release": {"issue": "prisoners", "option": "none", "assumption": "test"}
    }
    raw["opening"]["package"] = {"scope": "full", "arms": "no", "prisoners": "none"}
    for pid in ("us", "kyiv", "moscow"):
        raw["parties"][pid]["reservation"] = uncertain(-1.0)
        raw["parties"][pid]["opening"] = uncertain(-1.0)
    sc = make_scenario(raw, "red_line_of_conditional_party")
    model = NegotiationModel(sc, replications=20, rng=1).run()
    assert model.agreed.all()
    crossed = model.space.holds({"prisoners": "none"})[model.package]
    assert not crossed.any(), f"{crossed.sum()} of 20 agreements cross the supplier's red line"


def test_the_mediators_answer_cache_may_start_afresh_at_any_time(monkeypatch):
    """Bounding the cache of solved belief states must never change an answer or lose one, even when
    it starts afresh in the middle of a batch that mixes known and new states."""
    sc = load_scenario(BASELINE)
    mediator = NegotiationModel(sc, replications=4, rng=1).mediator
    rows = mediator.public[2] + np.array([[0.0, 0.0, 0.0], [0.0, 0.05, 0.1], [0.1, 0.0, 0.2]])
    texts = np.full(3, -1)
    expected = [int(mediator.solve(rows[[g]], texts[[g]])[0]) for g in range(3)]
    mediator.solved.clear()
    mediator.solve(rows[:2], texts[:2])
    monkeypatch.setattr(Mediator, "MEMORY", 1)
    assert mediator.solve(rows[1:], texts[1:]).tolist() == expected[1:]


def test_the_chunk_size_changes_random_streams_but_not_the_distribution_of_outcomes(monkeypatch):
    """Cutting the same number of worlds into other chunks reseeds them: the worlds differ, but they
    are draws from the same scenario, so the outcome classes must agree within sampling error."""
    from scipy.stats import chi2_contingency

    sc = load_scenario(BASELINE)
    n = 8192
    standard = run_frame(sc, replications=n)
    monkeypatch.setattr(experiment, "CHUNK", 1024)
    small = run_frame(sc, replications=n)
    assert not standard.equals(small)  # the streams did change
    classes = sorted(set(standard["outcome"]) | set(small["outcome"]))
    table = np.array([[(d["outcome"] == c).sum() for c in classes] for d in (standard, small)])
    table = table[:, table.sum(axis=0) > 0]
    assert chi2_contingency(table).pvalue > 0.001, table


def test_a_world_is_the_same_world_however_many_are_played():
    """World j of a run depends on the seed and j only: a short run is the start of a longer one."""
    sc = load_scenario(BASELINE)
    short = run_frame(sc, replications=300)
    long = run_frame(sc, replications=experiment.CHUNK + 200)
    pd.testing.assert_frame_equal(short, long.iloc[:300])
    model = experiment.trace_model(sc.model_copy(update={"replications": 300}), 123)
    assert bool(model.agreed[123]) == bool(long.loc[123, "agreed"])
