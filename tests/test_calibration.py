"""Calibrating a scenario's assumptions with ABC-SMC (pyabc): recovery, determinism, refusals."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from test_model import two_sides

from sim.analysis import calibration as K
from sim.api import load_scenario
from sim.errors import UserError
from sim.experiments.chunks import compiled_space
from sim.experiments.forks import Lineage, run_generation
from sim.experiments.mixture import particle_scenario, run_chunk, trace_model, world_draws, world_particles
from sim.scenario import validate
from sim.scenario.observations import Observations
from sim.scenario.posterior import Posterior, particles_of, with_particles

TRUE_MARGIN = 0.3
INFORMED = "parties.b.margin.mean=0.05:0.6"  # b's opening margin sets the week it gives way
UNTOUCHED = "parties.a.concession.mean=0.3:3.0"  # a asks no margin, so how fast it concedes is moot


def theory_limit(margin: float = TRUE_MARGIN):
    """One world without noise: b's margin decays with the war's hurt (margin e^-pain/tolerance for
    beta 1) until the text beats it, so the week of the deal follows from the margin alone."""
    raw = two_sides(b_land=-0.004, b_energy=0.0, margin=margin, tolerance=0.2, horizon=84, replications=1)
    raw["uncertainty"]["exact"] = True
    return validate(raw, Path("scenarios") / "theory_limit.toml")


def weekly_observations(sc) -> Observations:
    """What the model itself had in force each week, as reports."""
    path = run_generation(sc, Lineage(sc.seed, 1))
    space = compiled_space(sc)
    start = date.fromisoformat(sc.calendar.start)
    obs = {}
    for week in range(1, sc.days // 7 + 1):
        day = 7 * week  # what was in force at the end of that day
        cls = space.class_order[space.package_class[path[0, day - 1]]]
        obs[f"week{week}"] = {
            "date": (start + timedelta(days=day)).isoformat(),
            "class": cls,
            "source": "the model",
        }
    return Observations.model_validate(
        {"title": "t", "note": "generated", "observations": obs}, by_alias=True
    )


@pytest.fixture(scope="module")
def recovered(tmp_path_factory):
    sc = theory_limit()
    obs = weekly_observations(sc)
    params = K.parse_params(sc, [INFORMED, UNTOUCHED])
    db = tmp_path_factory.mktemp("abc") / "history.db"
    return K.calibrate(sc, obs, params, db, population=40, generations=3, worlds=1, seed=3)


def test_the_observed_week_is_recovered_and_the_untouched_parameter_keeps_its_prior(recovered):
    table = K.prior_posterior(recovered).set_index("parameter")
    informed, untouched = table.loc["parties.b.margin.mean"], table.loc["parties.a.concession.mean"]
    assert informed["posterior_p5"] <= TRUE_MARGIN <= informed["posterior_p95"]
    assert informed["sd_ratio"] < 0.5
    # Within noise: 40 particles from a uniform prior give an sd within about 20% of the prior's.
    assert 0.7 < untouched["sd_ratio"] < 1.3


def test_the_history_is_kept_in_sqlite_and_a_calibration_resumes(recovered, tmp_path):
    import pyabc

    h = pyabc.History(f"sqlite:///{recovered.database}")
    assert h.max_t == 2 and len(recovered.populations) == 3
    assert list(recovered.populations["epsilon"]) == sorted(recovered.populations["epsilon"], reverse=True)


def test_same_seed_same_posterior_for_one_and_two_workers(tmp_path):
    sc = theory_limit()
    obs = weekly_observations(sc)
    params = K.parse_params(sc, [INFORMED])
    one = K.calibrate(sc, obs, params, tmp_path / "a.db", population=8, generations=2, seed=5)
    with ProcessPoolExecutor(2) as ex:
        two = K.calibrate(
            sc, obs, params, tmp_path / "b.db", population=8, generations=2, seed=5, map_=ex.map
        )
    assert one.posterior.to_csv() == two.posterior.to_csv()
    other = K.calibrate(sc, obs, params, tmp_path / "c.db", population=8, generations=2, seed=6)
    assert other.posterior.to_csv() != one.posterior.to_csv()


def test_same_seed_same_posterior_on_a_dask_cluster(tmp_path):
    """The Dask executor (``--executor dask-local``): the mapping sampler gets the cluster's map.
    Its workers here are threads of this process, which share NumPy's global random state: the
    sampler's lock keeps each particle's draws its own."""
    distributed = pytest.importorskip("distributed")
    sc = theory_limit()
    obs = weekly_observations(sc)
    params = K.parse_params(sc, [INFORMED])
    local = K.calibrate(sc, obs, params, tmp_path / "a.db", population=8, generations=2, seed=5)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        ex = client.get_executor(pure=False)
        dask = K.calibrate(
            sc, obs, params, tmp_path / "b.db", population=8, generations=2, seed=5, map_=ex.map
        )
    assert local.posterior.to_csv() == dask.posterior.to_csv()
    assert local.populations.to_csv() == dask.populations.to_csv()


def test_only_assumptions_with_a_stated_uncertainty_or_range_are_calibrated():
    sc = theory_limit()
    raw = K.scenario_raw(sc)
    with pytest.raises(UserError, match="not a number"):
        K.parse_param(sc, raw, "parties.b.red_lines")
    with pytest.raises(UserError, match="not an assumption"):
        K.parse_param(sc, raw, "replications=1:5")
    with pytest.raises(UserError, match="states no uncertainty"):
        K.parse_param(sc, raw, "parties.b.margin.mean")  # sd 0 here: a range is needed
    with pytest.raises(UserError, match="LO must be below HI"):
        K.parse_param(sc, raw, "parties.b.margin.mean=0.6:0.1")
    p = K.parse_param(sc, raw, INFORMED)
    assert (p.prior, p.a, p.b) == ("uniform", 0.05, 0.6)


def test_the_posterior_file_keeps_the_particles_a_calibrated_run_draws_from(recovered):
    table = K.prior_posterior(recovered)
    doc = K.posterior_document(recovered, table)
    cal = K.apply_posterior(recovered.scenario, Posterior.model_validate(doc))
    parts = particles_of(cal)
    assert parts.paths == ("parties.b.margin.mean", "parties.a.concession.mean")
    assert np.array_equal(np.asarray(parts.values), recovered.posterior[list(parts.paths)].to_numpy())
    assert np.allclose(parts.weights, recovered.posterior["weight"])
    # The file's own values stay as they were: only the worlds draw the calibrated ones.
    assert cal.parties["b"].margin == recovered.scenario.parties["b"].margin


# ---------------------------------------------------------------- a calibrated run is a mixture

MARGIN = "parties.russia.margin.mean"


def posterior_of(values: list[float], weights: list[float]) -> Posterior:
    """A posterior file of the baseline's Russian margin with the given particles."""
    entry = {"prior": "normal", "a": 0.1, "b": 0.05, "in_file": 0.1, "posterior_mean": 0.0}
    entry |= {"posterior_sd": 0.0, "draws": values}
    return Posterior.model_validate(
        {
            "format": 1,
            "scenario": "baseline",
            "scenario_sha256": "0" * 64,
            "observations": "o.toml",
            "observation_ids": ["a"],
            "worlds_per_particle": 1,
            "weights": weights,
            "parameters": {MARGIN: entry},
        }
    )


def calibrated_baseline(values, weights, replications: int):
    sc = load_scenario("scenarios/baseline.toml").model_copy(update={"replications": replications})
    return K.apply_posterior(sc, posterior_of(values, weights))


def test_each_world_plays_with_the_values_of_the_particle_it_draws():
    """World j of a calibrated run is world j of the run of its particle's scenario, number for
    number (its other draws are the seed's, whichever worlds share its group)."""
    sc = calibrated_baseline([0.02, 0.2, 0.4], [0.5, 0.3, 0.2], 60)
    parts = particles_of(sc)
    mixed = run_chunk(sc, sc.seed, 0, 60)
    k = world_particles(parts, sc.seed, np.arange(60), 60)
    assert set(k) == {0, 1, 2}
    plains = [run_chunk(particle_scenario(sc, parts, p), sc.seed, 0, 60) for p in range(3)]
    # The particles matter (else the test could not tell which particle a world played with).
    assert not np.array_equal(plains[0].class_by_day, plains[2].class_by_day)
    for p, plain in enumerate(plains):
        rows = np.flatnonzero(k == p)
        assert np.array_equal(mixed.class_by_day[rows], plain.class_by_day[rows])
        assert np.array_equal(mixed.inforce[rows], plain.inforce[rows])
        assert np.array_equal(mixed.first_day[rows], plain.first_day[rows], equal_nan=True)
        mine = mixed.history[np.isin(mixed.history["replication"], rows)]
        theirs = plain.history[np.isin(plain.history["replication"], rows)]
        assert np.array_equal(mine, theirs)
    for j in (5, 37):  # a calibrated world is traced as it was played
        traced = trace_model(sc, j)
        assert traced.trace_row == j and np.array_equal(traced.class_by_day[j], mixed.class_by_day[j])


def test_the_worlds_values_spread_as_the_weighted_particles():
    """Each world's calibrated value is a particle drawn by its weight, so over the worlds the values
    have the particles' weighted mean and spread; the world's own draw around it keeps the file's sd
    (total variance = sd^2 + the particles' variance), two modes where a widened normal has one."""
    values, weights, worlds = [0.15, 0.45], [0.7, 0.3], 3000
    sc = calibrated_baseline(values, weights, worlds)
    d = world_draws(sc, sc.seed, worlds)
    v = d[f"calibrated.{MARGIN}"]
    mean = float(np.dot(weights, values))
    var = float(np.dot(weights, (np.array(values) - mean) ** 2))
    se = np.sqrt(0.3 * 0.7 / worlds)
    assert abs(np.mean(v == 0.45) - 0.3) < 4 * se
    assert abs(v.mean() - mean) < 4 * np.sqrt(var / worlds)
    assert abs(v.std() / np.sqrt(var) - 1) < 0.05
    drawn_margin, sd = d["russia.margin"], 0.05
    assert abs(drawn_margin.var() / (sd**2 + var) - 1) < 0.1
    # Every world's margin sits within 4 sd of its own particle's value: the mixture's two modes.
    assert np.all(np.abs(drawn_margin - v) < 4 * sd)
    assert np.mean(np.abs(drawn_margin - mean) < 0.05) < 0.2  # few near the mixture's mean


def test_a_calibrated_score_reads_the_calibrated_worlds():
    """``score --posterior`` forecasts from the worlds a calibrated run plays, world for world."""
    from sim.api import score
    from sim.experiments.mixture import launch

    sc = calibrated_baseline([0.02, 0.2, 0.4], [0.5, 0.3, 0.2], 50)
    scored = score(sc, "scenarios/observed/example.toml")
    (chunk,) = launch(sc, sc.seed, sc.replications)
    space = compiled_space(sc)
    assert np.array_equal(space.package_class[scored.forecast.path], chunk.class_by_day)
    plain = score(with_particles(sc, None), "scenarios/observed/example.toml")
    assert not np.array_equal(plain.forecast.path, scored.forecast.path)


def test_a_calibrated_job_is_budgeted_as_one_group_of_worlds_per_particle(monkeypatch):
    from sim.experiments import budget

    plain = load_scenario("scenarios/baseline.toml").model_copy(update={"replications": 4096})
    calibrated = calibrated_baseline([0.02, 0.2, 0.4], [0.5, 0.3, 0.2], 4096)
    many = calibrated_baseline(list(np.linspace(0.01, 0.4, 100)), [0.01] * 100, 4096)
    # Three groups of 1,365 worlds cost about the chunk; a hundred groups of 41 cost a hundred floors.
    assert budget.seconds(calibrated) == pytest.approx(budget.seconds(plain), rel=0.01)
    assert budget.seconds(many) == pytest.approx(100 * budget.seconds(plain, budget.GROUP_FLOOR))
    monkeypatch.setenv("NEGSIM_MAX_SECONDS", str(int(2 * budget.seconds(plain))))
    budget.check_job([plain])
    with pytest.raises(UserError, match="NEGSIM_MAX_SECONDS"):
        budget.check_job([many])


def test_a_calibrated_run_and_update_have_the_same_bytes_on_one_and_two_workers(tmp_path, monkeypatch):
    import multiprocessing

    from sim.api import run, update
    from sim.experiments import chunks, forks, mixture

    for module in (chunks, forks, mixture):
        monkeypatch.setattr(module, "CHUNK", 32)  # several chunks, shared by the two workers
    sc = calibrated_baseline([0.02, 0.2, 0.4], [0.5, 0.3, 0.2], 80)
    obs = "scenarios/observed/example.toml"
    a, b = tmp_path / "a", tmp_path / "b"
    run(sc, out=a / "run")
    update(sc, obs, "2025-05-01", ess_floor=0.9, out=a / "update")
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as ex:
        run(sc, executor=ex, out=b / "run")
        update(sc, obs, "2025-05-01", ess_floor=0.9, executor=ex, out=b / "update")
    names = ["run/outcomes.csv", "run/history.csv", "run/curve.csv", "run/series.csv"]
    names += ["update/steps.csv", "update/forecast.csv", "update/draws.csv"]
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert "calibrated.parties.russia.margin.mean" in (a / "update/draws.csv").read_text()


def test_the_predictive_check_forecasts_every_observation(recovered):
    ppc = K.predictive_check(recovered, worlds=40)
    assert len(ppc) == len(recovered.observations.observations)
    assert ppc["p_observed_posterior"].between(0, 1 + 1e-9).all()
    # The calibrated margin explains the weeks it was calibrated on: most worlds match each report.
    assert ppc["p_observed_posterior"].mean() > 0.8


def reported(sc, obs: Observations, error: float, rng: np.random.Generator) -> Observations:
    """The reports as the reporting-error model says they are made: each names the category in
    force with probability 1 - error, else one of the other K - 1 at random."""
    from sim.analysis.scoring import asked

    doc = obs.model_dump(by_alias=True)
    for oid, o in sorted(obs.observations.items()):
        if rng.random() < error:
            others = [c for c in asked(sc, o).categories if c != doc["observations"][oid]["class"]]
            doc["observations"][oid]["class"] = others[rng.integers(len(others))]
    return Observations.model_validate(doc, by_alias=True)


def sbc_ranks(method: str, replicates: int, tmp_path, error: float = 0.05, L: int = 19) -> np.ndarray:
    """Talts et al. (2018): draw the margin from its prior, generate the weekly reports with it (with
    the reporting error the method assumes), calibrate, and rank the true value among L posterior
    draws (ties broken at random). If the posterior is right, the ranks are uniform on 0..L."""
    rng = np.random.default_rng(2018)
    ranks = []
    for r in range(replicates):
        true = float(rng.uniform(0.05, 0.6))
        sc = theory_limit(true)
        obs = weekly_observations(sc)
        if method == "reports":
            obs = reported(sc, obs, error, rng)
        params = K.parse_params(sc, [INFORMED])
        cal = K.calibrate(
            sc, obs, params, tmp_path / f"{method}{r}.db", population=30, generations=4, seed=r + 1,
            method=method, reporting_error=error,
        )  # fmt: skip
        w = cal.posterior["weight"].to_numpy()
        draws = rng.choice(cal.posterior["parties.b.margin.mean"].to_numpy(), size=L, p=w)
        below, ties = int(np.sum(draws < true)), int(np.sum(draws == true))
        ranks.append(below + int(rng.integers(0, ties + 1)))
    return np.asarray(ranks)


def rank_bins(ranks: np.ndarray, L: int = 19) -> tuple[list[int], float]:
    """Counts over 5 equal bins of the ranks 0..L and the chi-square goodness-of-fit p-value."""
    from scipy import stats

    counts = np.bincount(ranks * 5 // (L + 1), minlength=5)
    return counts.tolist(), float(stats.chisquare(counts).pvalue)


@pytest.mark.slow
def test_simulation_based_calibration_ranks_are_uniform(tmp_path):
    """The exact method (stochastic acceptance with the reports' likelihood) passes simulation-based
    calibration. Stated test: chi-square goodness of fit over 5 equal bins of the ranks of 100
    replicates, rejected at the 1% level."""
    counts, p = rank_bins(sbc_ranks("reports", 100, tmp_path))
    print(f"SBC (reports) rank bins {counts}, chi-square p = {p:.3f}")
    assert p > 0.01, counts


@pytest.mark.slow
def test_simulation_based_calibration_finds_the_distance_method_over_dispersed(tmp_path):
    """The ``brier`` method at the distance's noise floor accepts worlds one report off, so its
    posterior is wider than the truth and the true value's ranks bunch in the middle (100 replicates:
    the middle three bins hold far more than their 60%)."""
    counts, p = rank_bins(sbc_ranks("brier", 100, tmp_path))
    print(f"SBC (brier) rank bins {counts}, chi-square p = {p:.3f}")
    assert p < 0.01 and counts[0] + counts[4] < 25, counts


def test_the_reports_kernel_is_the_likelihood_update_weighs_worlds_with():
    """The exact method's kernel, for one world, is log of ``conditioning.likelihood`` of that world;
    for several it is the log of their mean (an unbiased estimate); its maximum is every report right."""
    from sim.analysis.conditioning import likelihood

    sc = theory_limit()
    obs = reported(sc, weekly_observations(sc), 0.3, np.random.default_rng(1))
    x0 = K.observed_stats(sc, obs)
    sizes = [4] * len(obs.observations)
    kernel = K.reports_kernel(sizes, 0.05)
    assert kernel.pdf_max == pytest.approx(len(sizes) * np.log(0.95))
    assert kernel({"codes": x0["codes"][None, :]}, x0) == pytest.approx(kernel.pdf_max)
    worlds = [theory_limit(m) for m in (0.1, 0.3, 0.5)]
    paths = [run_generation(w, Lineage(w.seed, 1)) for w in worlds]
    liks = [likelihood(w, p, obs.observations.values(), 0.05)[0] for w, p in zip(worlds, paths, strict=True)]
    codes = []
    for w, p, lik in zip(worlds, paths, liks, strict=True):
        view = K.Weighted(w, p, np.ones(1))
        c = np.array([[view.codes(K.asked(w, o))[0] for _, o in K._items(obs)]])
        assert kernel({"codes": c}, x0) == pytest.approx(np.log(lik))
        codes.append(c[0])
    assert len(set(liks)) == 3  # the three worlds differ, so the mean below is a real mixture
    assert kernel({"codes": np.stack(codes)}, x0) == pytest.approx(np.log(np.mean(liks)))
    assert kernel({"codes": np.full((1, len(sizes)), -1)}, x0) == -np.inf  # a refused parameter set


def test_a_calibration_resumes_from_its_history(tmp_path):
    sc = theory_limit()
    obs = weekly_observations(sc)
    params = K.parse_params(sc, [INFORMED])
    db = tmp_path / "history.db"
    first = K.calibrate(sc, obs, params, db, population=8, generations=1, seed=5)
    more = K.calibrate(sc, obs, params, db, population=8, generations=2, seed=5, fresh=False)
    assert len(first.populations) == 1 and list(more.populations["t"]) == [0, 1]
    assert more.populations["epsilon"].iloc[0] == first.populations["epsilon"].iloc[0]  # the same history
