"""Analysis: bargaining geometry worked by hand, simulated agreements inside their own world's zone,
the theory limit, tornado directions and zeros, Morris on a known function, forecast scores."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import brute_force_nash, party_raw, scenario_raw, write_toml
from test_theory import DOMAINS, first_round, theory_raw

from sim.analysis import bargaining as B
from sim.analysis import scoring, sensitivity, worlds
from sim.cli import main
from sim.engine.outcomes import STATUS_QUO
from sim.scenario import load_raw, set_path, validate


def problem(*vectors, required=None, feasible=None) -> B.Problem:
    """Package 0 is no deal (0 for everyone); the vectors are packages 1, 2, ... (one per party each)."""
    u = np.column_stack([np.zeros(len(vectors[0])), *map(np.asarray, vectors)]).astype(float)
    n, P = u.shape
    f = np.ones(P, bool) if feasible is None else np.asarray(feasible, bool)
    f[0] = False
    req = np.ones((n, P), bool) if required is None else np.asarray(required, bool)
    return B.Problem(u, f, req, 0)


# ---------------------------------------------------------------- geometry by hand


def test_two_parties_zone_frontier_and_points():
    #            1       2       3       4        5
    pr = problem((3, 1), (2, 2), (1, 3), (-1, 4), (1, 1))
    s = B.solve(pr)
    assert list(np.flatnonzero(s.zone)) == [1, 2, 3, 5]  # 4 leaves party 0 worse than no deal
    assert list(np.flatnonzero(s.frontier)) == [1, 2, 3]  # 5 is dominated by 2
    assert B.pareto_optimal(pr)[4]  # outside the zone, yet nobody's improvement on it
    assert s.nash == 2  # products 3, 4, 3, 1
    assert s.kalai_smorodinsky == 2  # ideal (3, 3): shares 1/3, 2/3, 1/3
    assert s.max_welfare == 1  # sums 4, 4, 4: equal totals, the lower index
    assert list(s.ideal) == [3, 3]
    assert B.distance_to(pr, 5, s.frontier) == pytest.approx(math.sqrt(2))
    assert B.distance_to(pr, 2, s.frontier) == 0


def test_nash_and_kalai_smorodinsky_differ():
    pr = problem((10, 1), (3, 5), (5, 2.9))  # products 10, 15, 14.5; ideal (10, 5)
    s = B.solve(pr)
    assert s.nash == 2
    assert s.kalai_smorodinsky == 3  # smallest shares 0.2, 0.3, 0.5
    assert s.max_welfare == 1


def test_ties_larger_total_then_lower_index():
    assert B.nash(problem((2, 3), (1, 6))) == 2  # equal products 6: the larger total
    assert B.nash(problem((2, 3), (3, 2))) == 1  # equal products and totals: the lower index
    # Kalai-Smorodinsky compares the next-smallest share on a tie of the smallest (leximin)
    assert B.kalai_smorodinsky(problem((0.5, 0.6), (0.5, 0.9), (1.0, 0.1))) == 2


def test_three_parties():
    #            1                2                3              4              5
    pr = problem((1, 1, 1), (2, 2, 0.2), (0.5, 3, 1), (3, 0.1, 3), (0.9, 0.9, 0.9))
    s = B.solve(pr)
    assert s.nash == 3  # products 1, 0.8, 1.5, 0.9, 0.729
    assert s.kalai_smorodinsky == 1  # ideal (3, 3, 3): smallest shares 1/3, 1/15, 1/6, 1/30
    assert s.max_welfare == 4
    assert list(np.flatnonzero(s.frontier)) == [1, 2, 3, 4]


def test_a_party_whose_consent_is_not_needed_does_not_bound_the_zone():
    req = np.ones((3, 3), bool)
    req[2, 2] = False  # package 2 does not need party 2
    pr = problem((1, 1, 1), (2, 2, -1), required=req)
    s = B.solve(pr)
    assert list(np.flatnonzero(s.zone)) == [1, 2]
    assert s.nash == 2  # product over the required parties only: 1 vs 4


def test_an_empty_zone_is_reported_not_a_crash():
    pr = problem((1, -1), (-0.5, 2), (0, 0))
    s = B.solve(pr)
    assert s.empty and not s.frontier.any()
    assert s.nash == s.kalai_smorodinsky == s.max_welfare == B.NONE
    assert np.isnan(s.ideal).all()


# ---------------------------------------------------------------- simulated worlds


def baseline_raw(**changes):
    raw = load_raw("scenarios/baseline.toml")
    for path, value in changes.items():
        set_path(raw, path.replace("__", "."), value, inplace=True)
    return raw


def test_every_simulated_agreement_lies_in_its_worlds_zone_pressure_counted(tmp_path):
    """Each banked text, in a world drawn from the scenario's uncertainty with pressure, lies in the
    zone the analysis computes from that world's values and state on its day."""
    raw = baseline_raw(
        replications=300,
        levers__us_sanctions__max_uses=2,
        levers__us_aid_pause__max_uses=2,
    )
    sc = validate(raw, Path("scenarios") / "pressured.toml")
    model = worlds.recorder(sc, sc.seed, 0, sc.replications).run()
    values = [p.values for p in model.parties]
    seen = list(model.states())
    assert len(seen) > 100
    assert any(st.inforce != STATUS_QUO for _, _, st in seen), "no agreement on top of another"
    assert any(st.shift.any() for _, _, st in seen), "no agreement under pressure"
    outside_without_pressure = 0
    for row, pkg, st in seen:
        pr = worlds.problem(model.space, values, row, st)
        assert B.zone(pr)[pkg], f"world {row}, day {st.day}: banked package {pkg} outside its zone"
        bare = worlds.State(
            st.day, st.momentum, np.zeros_like(st.shift), st.locked, st.inforce, st.truce_left
        )
        outside_without_pressure += not B.zone(worlds.problem(model.space, values, row, bare))[pkg]
    assert outside_without_pressure > 0, "pressure never mattered: the test would not see it missing"


@pytest.mark.parametrize("seed", [s for s in DOMAINS if s < 16])
def test_theory_limit_the_simulated_agreement_is_analyzes_nash_package(seed, make_scenario):
    raw = theory_raw(seed)
    sc = make_scenario(raw, f"analysis_theory{seed}")
    nash = worlds.analyse_means(sc, [0]).solutions[0].nash
    banked = int(first_round(sc).inforce[0])
    if brute_force_nash(raw)[0] is None:
        assert nash == B.NONE and banked == STATUS_QUO
    else:
        assert banked == nash


def test_mean_analysis_runs_on_the_baseline_and_reports_each_point():
    from sim.api import load_scenario

    ma = worlds.analyse_means(load_scenario("scenarios/baseline.toml"))
    assert ma.days[0] == 0 and len(ma.days) > 1
    pts = ma.points_table()
    assert set(pts["point"]) == {"nash", "kalai_smorodinsky", "max_welfare"}
    assert (pts[[c for c in pts.columns if c.startswith("surplus_")]] > 0).all().all()


# ---------------------------------------------------------------- sensitivity


@pytest.fixture(scope="module")
def small_baseline(tmp_path_factory):
    raw = baseline_raw(replications=300)
    return validate(raw, Path("scenarios") / "baseline.toml")


def test_tornado_bars_point_the_way_the_mechanisms_say(small_baseline):
    path = "parties.russia.war.land.mean"
    tor = sensitivity.tornado(small_baseline, [path, "levers.us_sanctions.strength"])
    f = tor.frame.set_index(["path", "side", "outcome"])
    # A Russia that gains more by fighting on land agrees less, and least to a truce on the land front.
    assert f.loc[(path, "high", "any_agreement"), "diff"] < 0
    assert f.loc[(path, "high", "full_ceasefire"), "hi"] < 0
    assert f.loc[(path, "low", "full_ceasefire"), "lo"] > 0
    # The sanctions lever is never used in the baseline (max_uses = 0): its strength is never read.
    assert tor.zero() == ["levers.us_sanctions.strength"]
    assert (tor.frame[tor.frame["path"] == "levers.us_sanctions.strength"]["diff"] == 0).all()


def test_tornado_moves_follow_the_stated_uncertainty(small_baseline):
    moves, unmoved = sensitivity.plan_moves(small_baseline)
    by = {m.path: m for m in moves}
    land = by["parties.russia.war.land.mean"]
    assert (land.low, land.high) == pytest.approx((-0.001, 0.003))  # by its sd
    p0 = by["events.leaders_call.daily_probability"]  # at zero: a share of its range [0, 1]
    assert (p0.low, p0.high) == (0.0, pytest.approx(0.1))
    uses = by["levers.us_sanctions.max_uses"]  # a whole number at zero moves by one
    assert (uses.low, uses.high) == (0, 1)
    assert "parties.us.war.land.momentum" in unmoved
    assert sensitivity.bounds("truce.violations.daily_probability") == (0, 1)


def test_points_are_cached_and_reused(small_baseline, tmp_path):
    params = ["parties.russia.margin.mean"]
    first = sensitivity.tornado(small_baseline, params, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 3
    calls = []
    again = sensitivity.tornado(small_baseline, params, cache_dir=tmp_path, progress=calls.append)
    assert calls == []  # nothing ran
    assert first.frame.equals(again.frame)


def test_morris_ranks_a_known_functions_inputs():
    """y = 10 x0 + x1^2 * 4 + 1 x2 + 0 x3 on [0, 1]^4: mean absolute elementary effects 10 > ~4 > 1 > 0."""
    names = ["a", "b", "c", "d"]
    problem_, X = sensitivity.morris_design([(0, 1)] * 4, trajectories=20, seed=3)
    Y = 10 * X[:, 0] + 4 * X[:, 1] ** 2 + X[:, 2] + 0 * X[:, 3]
    t = sensitivity.morris_indices(problem_, X, Y, names, seed=3)
    assert list(t["param"]) == ["a", "b", "c", "d"]
    assert t.loc[t["param"] == "a", "mu_star"].item() == pytest.approx(10)
    assert t.loc[t["param"] == "d", "mu_star"].item() == 0
    # order of the inputs given must not matter: shuffle the columns
    perm = [2, 3, 0, 1]
    t2 = sensitivity.morris_indices(problem_, X[:, perm], Y, [names[i] for i in perm], seed=3)
    assert list(t2["param"]) == ["a", "b", "c", "d"]


# ---------------------------------------------------------------- scores


def test_path_forecast_reads_what_was_in_force_on_the_day(small_baseline):
    from sim.experiments.chunks import compiled_space

    sc = small_baseline
    space = compiled_space(sc)
    full = space.index({"scope": "full_front", "prisoners": "exchange"})
    path = np.zeros((4, sc.days), dtype=np.int64)
    path[:2, 13:] = full  # two of four worlds have a full ceasefire from the end of day 14
    fc = scoring.PathForecast(sc, space, path)
    assert fc.probabilities(scoring.CLASS, 13)[-1] == 1  # nothing yet: all no agreement
    assert fc.probabilities(scoring.CLASS, 14)[0] == 0.5
    assert list(fc.probabilities("prisoners", 20)) == [0.5, 0.5, 0]


# ---------------------------------------------------------------- command line


def test_cli_analyze_and_score(tmp_path, capsys):
    assert (
        main(["analyze", "scenarios/baseline.toml", "--no-simulate", "--days", "0", "--out", str(tmp_path)])
        == 0
    )
    out = capsys.readouterr().out
    assert "nash" in out and "kalai_smorodinsky" in out
    assert (tmp_path / "baseline" / "analysis" / "utility.png").is_file()
    args = ["score", "scenarios/baseline.toml", "--observed", "scenarios/observed/example.toml", "-n", "50"]
    assert main([*args, "--out", str(tmp_path)]) == 0
    assert "model: Brier" in capsys.readouterr().out
    assert (tmp_path / "baseline" / "score" / "scores.csv").is_file()


HEAD = 'title = "x"\nnote = "n/a"\n[observations.a]\n'


@pytest.mark.parametrize(
    "body, where",
    [
        (
            HEAD + 'date = "2025-04-01"\nclass = "truce"\nsource = "a report"\n',
            "observations.a.class",
        ),
        (
            HEAD + 'date = "2025-04-01"\nsource = "a report"\n',
            "observations.a",
        ),
        (
            HEAD + 'date = "2030-04-01"\nclass = "humanitarian"\nsource = "a report"\n',
            "observations.a.date",
        ),
        (
            HEAD + 'date = "2025-04-01"\nclass = "humanitarian"\n',
            "observations.a.source",
        ),
        (
            "what = 1\n" + HEAD + 'date = "2025-04-01"\nclass = "humanitarian"\nsource = "a report"\n',
            "what",
        ),
    ],
)
def test_a_bad_observations_file_is_one_line_naming_file_and_field(tmp_path, capsys, body, where):
    bad = tmp_path / "obs.toml"
    bad.write_text(body)
    assert (
        main(["score", "scenarios/baseline.toml", "--observed", str(bad), "-n", "10", "--out", str(tmp_path)])
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(bad) in err and where in err


def test_compare_ranks_scenarios_by_score(tmp_path, capsys):
    raw = scenario_raw(
        {"x": ["o0", "o1"]},
        {
            "a": party_raw({"x": 1.0}, {"x": {"o0": 0.0, "o1": 1.0}}, war={"land": -0.001}),
            "b": party_raw({"x": 1.0}, {"x": {"o0": 0.0, "o1": 1.0}}, war={"land": -0.001}),
        },
        informed=True,
    )
    write_toml(tmp_path / "s" / "deal.toml", raw)
    (tmp_path / "obs.toml").write_text(
        'title = "t"\nnote = "for the test"\n[observations.a]\n'
        'date = "2025-04-10"\nclass = "deal"\nsource = "a report"\n'
    )
    args = [
        "compare",
        str(tmp_path / "s"),
        "--observed",
        str(tmp_path / "obs.toml"),
        "--out",
        str(tmp_path / "r"),
    ]
    assert main([*args, "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "ranked by forecast score" in out and "deal" in out
    assert (tmp_path / "r" / "compare" / "scores.csv").is_file()
