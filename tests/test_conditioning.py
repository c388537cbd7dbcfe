"""Forecasts conditioned on the news: forked worlds, the particle filter worked by hand, no peeking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_analysis import baseline_raw

from sim.analysis import conditioning as C
from sim.errors import UserError
from sim.experiments import chunks, forks
from sim.scenario import validate
from sim.scenario.observations import Observations


@pytest.fixture(scope="module")
def small():
    """The bundled baseline (momentum noise, violations, vetoes: every stream in use) on 120 worlds."""
    return validate(baseline_raw(replications=120), Path("scenarios") / "baseline.toml")


def observations(**entries) -> Observations:
    """Observations from ``id=(date, class)`` or ``id=(date, issue, option)``."""
    obs = {}
    for oid, e in entries.items():
        o = {"date": e[0], "source": "made for the test"}
        o.update({"class": e[1]} if len(e) == 2 else {"issue": e[1], "option": e[2]})
        obs[oid] = o
    return Observations.model_validate(
        {"title": "t", "note": "made for the test", "observations": obs}, by_alias=True
    )


# ---------------------------------------------------------------- forking


def test_a_lineage_without_forks_is_the_run_itself(small):
    path = forks.run_generation(small, forks.Lineage(small.seed, small.replications))
    model = chunks.chunk_model(small, small.seed, 0, small.replications).run()
    codes = small and model.space.package_class[path]
    assert np.array_equal(codes, model.class_by_day)
    assert np.array_equal(path[:, -1], model.inforce)


def test_gathering_reads_each_ancestor_in_its_own_chunk(small, monkeypatch):
    """With chunks of 32 worlds, worlds copied from other chunks replay their own chunk's draws."""
    monkeypatch.setattr(chunks, "CHUNK", 32)
    monkeypatch.setattr(forks, "CHUNK", 32)
    R = small.replications
    base = forks.run_generation(small, forks.Lineage(small.seed, R))
    direct = np.concatenate(
        [chunks.chunk_model(small, small.seed, a, b).run().class_by_day for a, b in chunks.chunk_bounds(R)]
    )
    assert np.array_equal(chunks.compiled_space(small).package_class[base], direct)
    # A fork after the horizon changes nothing: every world replays its parent, across chunks.
    parents = (np.arange(R) * 37) % R
    late = forks.Lineage(small.seed, R).then(small.calendar.horizon_days, parents)
    assert np.array_equal(forks.run_generation(small, late), base[parents])


def _transcript(sc, lineage, j):
    return forks.ForkedModel(sc, lineage, 0, sc.replications, trace=j).run().transcript


def test_forked_copies_equal_the_original_before_the_fork_and_differ_after(small):
    R, day = small.replications, 35
    parents = np.full(R, 5)
    lineage = forks.Lineage(small.seed, R).then(day, parents)
    original = _transcript(small, forks.Lineage(small.seed, R), 5)
    copy_a, copy_b = _transcript(small, lineage, 0), _transcript(small, lineage, 1)
    before = [e for e in original if e["day"] <= day]
    assert before == [e for e in copy_a if e["day"] <= day] == [e for e in copy_b if e["day"] <= day]
    after = [e["momentum"] for e in original if e["day"] > day]
    a = [e["momentum"] for e in copy_a if e["day"] > day]
    b = [e["momentum"] for e in copy_b if e["day"] > day]
    assert after and a[0] != after[0] and b[0] != a[0]  # fresh streams: each copy its own future


class _Contacts(forks.ForkedModel):
    """Records every world's contacts held and next contact's time at each day's end."""

    def step(self) -> None:
        super().step()
        self.seen = [*getattr(self, "seen", []), (self.held.copy(), self.next_contact.copy())]


def test_a_copy_keeps_its_parents_contact_times_to_the_fork_and_draws_its_own_after(small):
    """Half the copies come from the world that met most often by the fork day: it has drawn (for
    every world, cached by contact count) intervals the other half reach only after the fork. Those
    must be drawn afresh, so the copies of the slower world part ways after the fork."""
    R, day = small.replications, 20
    run = _Contacts(small, forks.Lineage(small.seed, R), 0, R).run()
    held, _ = run.seen[day - 1]
    fast, slow = int(np.argmax(held)), int(np.argmin(held))
    assert held[fast] > held[slow] + 1
    parents = np.where(np.arange(R) % 2 == 0, fast, slow)
    copy = _Contacts(small, forks.Lineage(small.seed, R).then(day, parents), 0, R).run()
    for t in range(day):  # to the fork day's end: the parents' contacts, number for number
        assert np.array_equal(copy.seen[t][1], run.seen[t][1][parents])
    # The slow world's copies meet together once more (that contact was scheduled before the fork);
    # the interval drawn at it is each copy's own.
    t = next(t for t in range(day, small.days) if copy.seen[t][0][1] > held[slow])
    assert np.all(copy.seen[t][0][1::2] == held[slow] + 1)
    assert np.unique(copy.seen[t][1][1::2]).size > 1


def test_a_copy_draws_its_own_ratification_luck_after_the_fork(small):
    """Ratification luck is kept per contact count for every world (``sim.engine.dynamics.Draws``),
    across days: a count asked for on or before the fork day is the parent's, after it the copy's
    own, so what was kept must be forgotten when the streams change generation."""
    R, day = small.replications, 20
    model = forks.ForkedModel(small, forks.Lineage(small.seed, R).then(day, np.arange(R)), 0, R)
    purpose = ("veto", "russia", 10**6)  # a count no world passes: kept to the end of the run
    for _ in range(day):
        model.step()
    before = model.drawn.uniform(*purpose).copy()
    model.step()
    after = model.drawn.uniform(*purpose)
    assert np.array_equal(before, forks.level_stream(small.seed, 0, 0, purpose).random(R))
    assert np.array_equal(after, forks.level_stream(small.seed, 1, 0, purpose).random(R))


def test_systematic_resampling_copies_in_proportion_to_the_weights():
    w = np.array([0.5, 0.25, 0.125, 0.125])
    idx = C.systematic(w, 0.3)
    assert np.bincount(idx, minlength=4).tolist() == [2, 1, 0, 1] or np.bincount(
        idx, minlength=4
    ).tolist() == [
        2,
        1,
        1,
        0,
    ]
    big = np.random.default_rng(0).dirichlet(np.ones(50))
    counts = np.bincount(C.systematic(big, 0.77), minlength=50)
    assert counts.sum() == 50 and np.all(np.abs(counts - 50 * big) < 1)  # within one copy of R w


# ---------------------------------------------------------------- Bayes' rule by hand


@pytest.fixture(scope="module")
def ten(small):
    return small.model_copy(update={"replications": 10})


def hand_path(sc):
    """10 worlds: 0-3 sign a full-front truce on day 1 and keep it; 4-9 never agree."""
    space = chunks.compiled_space(sc)
    full = next(p for p in range(space.n) if space.class_order[space.package_class[p]] == "full_ceasefire")
    path = np.zeros((10, sc.days), dtype=np.int64)
    path[:4, :] = full
    return path


def test_weights_and_forecast_are_bayes_rule_worked_by_hand(ten):
    path = hand_path(ten)
    obs = observations(a=("2025-03-27", "full_ceasefire"))  # day 14
    f = C.condition(ten, obs, settings=C.Settings(reporting_error=0.2, ess_floor=0.0), prior=path)
    # K = 4 classes: a world with a full ceasefire reports it with 0.8, any other with 0.2 / 3.
    lik = np.array([0.8] * 4 + [0.2 / 3] * 6)
    expected = lik / lik.sum()  # prior 1/10 each cancels
    assert np.allclose(f.weights, expected)
    assert np.allclose(f.weights[:4], 0.8 / (3.2 + 0.4))
    p = C.class_shares(ten, f.path, f.weights, 30)
    cats = ["full_ceasefire", "partial_ceasefire", "humanitarian", "no_agreement"]
    assert p[cats.index("full_ceasefire")] == pytest.approx(3.2 / 3.6)
    assert p[cats.index("no_agreement")] == pytest.approx(0.4 / 3.6)
    assert f.steps[0].ess == pytest.approx(1 / np.sum(expected**2))
    # The prequential forecast of that day was the prior's: 4 in 10.
    assert f.prequential[0]["p_prequential"] == pytest.approx(0.4)


def test_an_issue_report_weighs_by_that_issue_only(ten):
    path = hand_path(ten)
    obs = observations(a=("2025-03-27", "scope", "none"))  # 4 options of scope
    f = C.condition(ten, obs, settings=C.Settings(reporting_error=0.3, ess_floor=0.0), prior=path)
    lik = np.array([0.1] * 4 + [0.7] * 6)
    assert np.allclose(f.weights, lik / lik.sum())


def test_with_no_observations_the_forecast_is_the_prior(small):
    obs = observations(a=("2025-05-01", "no_agreement"))
    f = C.condition(small, obs, as_of="2025-04-01")
    assert f.steps == [] and np.allclose(f.weights, 1 / small.replications)
    table = C.forecast_table(f)
    assert np.allclose(table["prior"], table["posterior"])


def test_the_floor_decides_resampling_and_each_fork_is_counted(small):
    obs = observations(
        a=("2025-03-20", "no_agreement"), b=("2025-04-17", "full_ceasefire"), c=("2025-05-15", "no_agreement")
    )
    R = small.replications
    never = C.condition(small, obs, settings=C.Settings(ess_floor=0.0))
    always = C.condition(small, obs, settings=C.Settings(ess_floor=1.0))
    assert not any(s.resampled for s in never.steps) and never.steps[-1].simulated == R
    for s in always.steps:
        assert s.resampled == (s.ess < R)
    n = sum(s.resampled for s in always.steps)
    assert n >= 1 and always.steps[-1].simulated == R * (1 + n) and len(always.lineage.forks) == n
    with pytest.raises(UserError, match="budget"):
        C.condition(small, obs, settings=C.Settings(ess_floor=1.0, budget=R))


def test_the_news_moves_the_forecast_towards_what_was_seen(small):
    obs = observations(a=("2025-04-17", "full_ceasefire"))
    f = C.condition(small, obs, settings=C.Settings(reporting_error=0.05))
    t = C.forecast_table(f)
    on = t[(t["day"] == 35) & (t["outcome"] == "full_ceasefire")].iloc[0]
    assert on["posterior"] > on["prior"]


def test_no_peeking_a_later_observation_changes_no_earlier_forecast(small):
    early = dict(a=("2025-03-20", "no_agreement"), b=("2025-04-17", "full_ceasefire"))
    one = observations(**early, c=("2025-05-15", "no_agreement"))
    two = observations(**early, c=("2025-05-15", "partial_ceasefire"))
    s = C.Settings(ess_floor=0.9)
    f1, f2 = C.condition(small, one), C.condition(small, two)
    assert f1.prequential[:2] == f2.prequential[:2]
    # The forecast of May 15 was made before its report: the same, whatever was then reported.
    assert f1.prequential[2]["forecast"] == f2.prequential[2]["forecast"]
    assert f1.prequential[2]["observed"] != f2.prequential[2]["observed"]
    u1, u2 = (
        C.condition(small, one, as_of="2025-05-01", settings=s),
        C.condition(small, two, as_of="2025-05-01", settings=s),
    )
    assert np.array_equal(u1.weights, u2.weights) and np.array_equal(u1.path, u2.path)


def test_as_of_outside_the_calendar_is_a_user_error(small):
    obs = observations(a=("2025-03-20", "no_agreement"))
    with pytest.raises(UserError, match="outside"):
        C.condition(small, obs, as_of="2026-01-01")
    with pytest.raises(UserError, match="not a date"):
        C.condition(small, obs, as_of="2025-13-01")
    with pytest.raises(UserError, match="reporting error"):
        C.condition(small, obs, settings=C.Settings(reporting_error=0.0))


def test_posterior_draws_are_the_prior_reweighted(small):
    obs = observations(a=("2025-04-17", "full_ceasefire"), b=("2025-05-15", "full_ceasefire"))
    f = C.condition(small, obs, settings=C.Settings(ess_floor=0.0))
    draws = forks.world_draws(small, small.seed, small.replications)
    table = C.draws_table(f).set_index("quantity")
    x = draws["russia.margin"]
    assert table.loc["russia.margin", "prior_mean"] == pytest.approx(x.mean())
    assert table.loc["russia.margin", "posterior_mean"] == pytest.approx(np.sum(f.weights * x))
    best = C.best_worlds(f, 3)
    assert best["log_likelihood"].is_monotonic_decreasing


def test_prequential_scores_every_question_type_beside_the_references_with_the_floor(ten):
    """Worked by hand on the 10 worlds: 4 in 10 have had a full ceasefire in force since day 1."""
    obs = Observations.model_validate(
        {
            "title": "t",
            "note": "made for the test",
            "observations": {
                "a": {"question": "first_by", "date": "2025-03-27", "class": "full_ceasefire"}
                | {"happened": True, "source": "made for the test"},
                "b": {"date": "2025-04-10", "class": "humanitarian", "source": "made for the test"},
            },
            "forecasts": {
                "crowd": {"label": "a crowd", "source": "made for the test", "date": "2025-03-12"}
                | {"p": {"a": {"yes": 0.3}}}
            },
        },
        by_alias=True,
    )
    s = C.Settings(reporting_error=0.2, ess_floor=0.0, log_floor=0.01)
    f = C.condition(ten, obs, settings=s, prior=hand_path(ten))
    a, b = f.prequential
    assert a["p_prequential"] == pytest.approx(0.4) and a["p_uniform"] == 0.5 and a["p_crowd"] == 0.3
    assert a["brier_crowd"] == pytest.approx(0.7**2 + 0.7**2)
    # The yes/no report weighs by yes/no: 0.8 for a world that had it, 0.2 for one that had not.
    assert np.allclose(f.weights, np.array([0.8] * 4 + [0.2] * 6) / 4.4)
    # No world ever had a humanitarian text: probability 0 scores as the floor, not infinity.
    assert b["p_prequential"] == 0 and b["log_prequential"] == pytest.approx(np.log(100))
    assert np.isnan(b["brier_crowd"])  # the crowd gave no forecast for b
    summary = C.prequential_summary(f).set_index("forecast")
    assert summary.loc["crowd", "observations"] == 1 and summary.loc["prequential", "observations"] == 2
