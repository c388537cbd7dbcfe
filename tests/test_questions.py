"""The questions forecasters ask: first-in-force curves, the scenario's own question in every
headline, and scores of four question types against references that never read the answers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.analysis import scoring
from sim.api import load_scenario
from sim.api.runs import Comparison
from sim.experiments.chunks import compiled_space
from sim.experiments.tally import Tally
from sim.outputs import report
from sim.scenario.observations import Observations, check_against, checkable, load_observations
from sim.scenario.schema import Headline

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
EXAMPLE = ROOT / "scenarios" / "observed" / "example.toml"


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(BASELINE)


@pytest.fixture(scope="module")
def run(baseline):
    return sim.run(baseline, replications=300)


# ---------------------------------------------------------------- first-in-force curves


def test_first_in_force_is_cumulative_and_never_below_in_force(run):
    first, curve = run.first, run.curve
    assert "no_agreement" not in set(first["outcome"])  # every world starts there: no question
    for outcome, part in first.groupby("outcome"):
        share = part.sort_values("day")["share"].to_numpy()
        assert (np.diff(share) >= 0).all(), outcome  # what has happened stays happened
        now = curve[curve["outcome"] == outcome].sort_values("day")["share"].to_numpy()
        assert (share >= now - 1e-12).all(), outcome
        assert (part["lo"] <= part["share"]).all() and (part["share"] <= part["hi"]).all()
    # in the baseline full ceasefires lapse: more worlds have had one than hold one at the horizon
    full = first[first["outcome"] == "full_ceasefire"]["share"].iloc[-1]
    assert full > curve[curve["outcome"] == "full_ceasefire"]["share"].iloc[-1] + 0.05


def test_first_in_force_equals_what_the_per_world_histories_give(baseline, run):
    """Rebuilt from history.csv alone: a class comes into force when a text of it is banked or
    extended, and when a truce's end leaves a package of it (the truce and its tied terms lapse);
    what holds at the end of a day counts (a truce that lapses and is replaced the same day leaves
    no day with the lapsed state in force)."""
    space = compiled_space(baseline)
    h = run.history
    h = h[h["event"].isin(["banked", "extended", "lapsed", "violated"])].copy()
    pkgs = np.array([space.index({i: r[i] for i in space.issues}) for _, r in h.iterrows()], dtype=np.int64)
    after = np.where(h["event"].isin(["lapsed", "violated"]), space.lapse[pkgs], pkgs)
    h["now"] = [space.class_order[c] for c in space.package_class[after]]
    # what is in force is recorded at the end of each day (time d closes day d, which began after
    # d - 1): events of a world are in order, and its last event of a day sets that day's state
    h["day"] = np.ceil(h["day"]).astype(int)
    h = h.groupby(["replication", "day"], sort=False).tail(1)
    n = int(run.first["n"].iloc[0])
    for outcome, part in run.first.groupby("outcome"):
        hits = h[h["now"] != "no_agreement"] if outcome == "any_agreement" else h[h["now"] == outcome]
        firsts = hits.groupby("replication")["day"].min()
        for day, share in zip(part["day"], part["share"], strict=True):
            assert share == pytest.approx((firsts <= day).sum() / n), (outcome, day)


def test_first_in_force_counts_by_hand():
    class Space:  # two deal classes and no agreement (last), as compiled spaces order them
        class_order = ["full", "partial", "no_agreement"]
        scenario = None

    tally = Tally.__new__(Tally)
    tally.space, tally.classes = Space, Space.class_order
    tally.days = np.array([7, 14, 21])
    tally.counts = np.zeros((3, 3), dtype=np.int64)
    tally.first_counts = np.zeros((3, 3), dtype=np.int64)
    # world 0: full from day 14 then lapses back; world 1: partial, then full; world 2: nothing
    tally.add(np.array([[2, 0, 2], [1, 1, 0], [2, 2, 2]]))
    full, partial, anyone = tally.first_counts
    assert full.tolist() == [0, 1, 2] and partial.tolist() == [1, 1, 1] and anyone.tolist() == [1, 2, 2]
    assert tally.counts[0].tolist() == [0, 1, 1]  # in force: world 0's lapse shows, world 1's arrival


def test_a_run_writes_first_csv_and_its_plot(run, tmp_path):
    folder = run.write(tmp_path / "r")
    first = pd.read_csv(folder / "first.csv")
    assert list(first.columns) == ["day", "date", "outcome", "count", "n", "share", "lo", "hi"]
    assert (folder / "first.png").read_bytes().startswith(b"\x89PNG")


# ---------------------------------------------------------------- the scenario's question


def test_a_variant_inherits_the_question_and_a_scenario_without_one_asks_its_first_class(baseline):
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        assert load_scenario(path).question().classes == ["full_ceasefire"], path.name
    assert baseline.question().days == [30, 90, 182]
    bare = baseline.model_copy(update={"headline": None})
    q = bare.question()
    assert q.classes == [next(iter(baseline.classes))] and q.days == [baseline.calendar.horizon_days]
    short = baseline.model_copy(
        update={"calendar": baseline.calendar.model_copy(update={"horizon_days": 60})}
    )
    assert short.question().days == [30]  # days past the horizon cannot be answered
    with pytest.raises(ValueError, match="increasing"):
        Headline(classes=["full_ceasefire"], days=[90, 30], assumption="out of order")


def test_an_unknown_headline_class_is_one_line_naming_the_field(tmp_path, capsys):
    from sim.cli import main

    (tmp_path / "seeds").mkdir()
    for f in (ROOT / "seeds").iterdir():
        (tmp_path / "seeds" / f.name).write_bytes(f.read_bytes())
    (tmp_path / "base.toml").write_bytes(BASELINE.read_bytes())
    bad = tmp_path / "bad.toml"
    bad.write_text('extends = "base.toml"\ntitle = "t"\nsummary = "s"\n[headline]\nclasses = ["truce"]\n')
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "headline.classes.0" in err and "unknown class 'truce'" in err


@pytest.fixture(scope="module")
def every_bundled():
    return sim.compare(ROOT / "scenarios", replications=40)


@pytest.mark.parametrize("width", [80, 100])
def test_every_bundled_scenarios_headline_names_its_question_first(every_bundled, tmp_path, width):
    runs = every_bundled.runs
    for name, r in runs.items():  # each scenario as the reference asks its own question
        c = Comparison(runs, every_bundled.wall, every_bundled.executor, reference=name, why="test")
        q = r.scenario.question()
        label = r.scenario.classes[q.classes[0]].label
        text = c.headline(width)
        assert text.startswith(f"The question: {label} first in force by day {q.days[-1]}"), name
        assert max(map(len, text.splitlines())) <= width
        if width == 80 and name in ("baseline", "hardliners"):
            folder = c.write(tmp_path / name)
            for file in ("report.html", "report.md"):
                doc = (folder.parent / file).read_text(encoding="utf-8")
                at = doc.index("The question: ")
                assert at < doc.index("Any agreement (") and f"The question: {label}" in doc, (name, file)
            assert (folder.parent / f"curves_{q.classes[0]}.png").is_file()


def test_the_question_rows_lead_summary_and_match_the_curves(every_bundled):
    runs = every_bundled._triples()
    lead = every_bundled.questions
    table = report.full_summary(runs, every_bundled.table, headline_of(every_bundled).question)
    pd.testing.assert_frame_equal(table.iloc[: len(lead)].reset_index(drop=True), lead)  # they come first
    q = load_scenario(BASELINE).question()
    for name, r in every_bundled.runs.items():
        mine = lead[lead["scenario"] == name].set_index(["kind", "day"])
        for d in q.days:
            recorded = r.first[(r.first["outcome"] == "full_ceasefire") & (r.first["day"] <= d)]
            assert mine.loc[("first_by", d), "share"] == pytest.approx(recorded["share"].iloc[-1])
        base = lead[lead["scenario"] == "baseline"].set_index(["kind", "day"])
        diff = mine.loc[("first_by", 182), "share"] - base.loc[("first_by", 182), "share"]
        assert mine.loc[("first_by", 182), "diff"] == pytest.approx(diff)


def headline_of(c: Comparison):
    from sim.outputs import headline

    return headline.build(c._triples(), c.table, c.reference, c.why, (), c.firsts)


# ---------------------------------------------------------------- scores


def test_brier_and_log_scores_by_hand_with_the_floor():
    assert scoring.brier([0, 1, 0], 1) == 0 and scoring.brier([1, 0, 0], 1) == 2
    assert scoring.brier([0.5, 0.5], 0) == pytest.approx(0.5)
    assert scoring.log_score([0.25, 0.75], 1) == pytest.approx(-math.log(0.75))
    assert scoring.log_score([1.0, 0.0], 1) == math.inf  # no floor: infinite, reported as such
    assert scoring.log_score([1.0, 0.0], 1, floor=0.001) == pytest.approx(-math.log(0.001))
    assert scoring.log_score([0.25, 0.75], 1, floor=0.001) == pytest.approx(-math.log(0.75))  # no effect


def test_paired_difference_and_its_t_interval_by_hand():
    m, lo, hi = scoring.paired(np.array([1.0, 2.0, 3.0]))
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert (m, lo, hi) == pytest.approx((2.0, 2.0 - half, 2.0 + half))
    assert math.isnan(scoring.paired(np.array([1.0]))[1])


def _obs(extra: dict | None = None, forecasts: dict | None = None) -> Observations:
    """One question of each type on the small path below (dates from 13 March 2025)."""
    obs = {
        "now": {"date": "2025-04-27", "class": "humanitarian", "source": "test"},  # day 45
        "ever": {
            "question": "first_by",
            "date": "2025-04-27",
            "class": "full_ceasefire",
            "happened": False,
            "source": "test",
        },
        "swap": {
            "question": "settled_by",
            "date": "2025-04-03",  # day 21
            "issue": "prisoners",
            "option": "exchange",
            "happened": True,
            "source": "test",
        },
        "end": {"question": "at_horizon", "date": "2025-09-11", "class": "no_agreement", "source": "test"},
    }
    for k, v in (extra or {}).items():
        obs[k] |= v
    return Observations.model_validate(
        {"title": "t", "note": "for the test", "observations": obs, "forecasts": forecasts or {}},
        by_alias=True,
    )


CROWD = {
    "crowd": {
        "label": "A crowd",
        "source": "https://example.org/q 2025-03-12",
        "date": "2025-03-12",
        "p": {"ever": {"yes": 0.2}, "now": {"humanitarian": 0.4}},
    }
}


@pytest.fixture(scope="module")
def path_forecast(baseline):
    """Four worlds, daily records: world 0 a full ceasefire from day 14 to the end; world 1 the same
    until day 41, then only the prisoner exchange (humanitarian); world 2 humanitarian from day 21;
    world 3 nothing."""
    space = compiled_space(baseline)
    full = space.index({"scope": "full_front", "prisoners": "exchange"})
    swap = space.index({"prisoners": "exchange"})
    path = np.zeros((4, baseline.days), dtype=np.int64)  # column d - 1: the end of day d
    path[0, 13:] = full
    path[1, 13:41], path[1, 41:] = full, swap
    path[2, 20:] = swap
    return scoring.PathForecast(baseline, space, path)


def test_each_question_type_scored_by_hand(baseline, path_forecast):
    s = scoring.score(baseline, _obs(forecasts=CROWD), path_forecast)
    t = s.table.set_index("observation")
    # in force on day 45: full 1/4, partial 0, humanitarian 2/4, none 1/4; humanitarian happened
    assert t.loc["now", "brier"] == pytest.approx(0.25**2 + 0.5**2 + 0.25**2)
    assert t.loc["now", "log"] == pytest.approx(math.log(2))
    # first in force by day 45: worlds 0 and 1 had a full ceasefire; it had not happened
    assert t.loc["ever", "brier"] == pytest.approx(0.5**2 + 0.5**2)
    # settled as an exchange by day 21: worlds 0, 1 and 2; it had happened
    assert t.loc["swap", "brier"] == pytest.approx(2 * 0.25**2)
    assert t.loc["swap", "log"] == pytest.approx(-math.log(0.75))
    # at the horizon: full 1/4, humanitarian 2/4, none 1/4; no agreement happened
    assert t.loc["end", "brier"] == pytest.approx(0.25**2 + 0.5**2 + 0.75**2)
    assert t.loc["end", "log"] == pytest.approx(math.log(4))
    # the uniform reference: 1/4 on each of four classes, 1/2 on yes and no
    assert t.index.tolist() == ["swap", "ever", "now", "end"]  # in date order
    assert t["brier_uniform"].tolist() == pytest.approx([0.5, 0.5, 0.75, 0.75])
    assert t.loc["now", "log_uniform"] == pytest.approx(math.log(4))
    # the crowd: yes 0.2 -> no 0.8; humanitarian 0.4 and the other three 0.2 each
    assert t.loc["ever", "brier_crowd"] == pytest.approx(0.2**2 + 0.2**2)
    assert t.loc["now", "brier_crowd"] == pytest.approx(3 * 0.2**2 + 0.6**2)
    assert math.isnan(t.loc["end", "brier_crowd"])  # not asked of it: left out of its comparison
    ref = s.references.set_index("reference")
    assert ref.loc["crowd", "observations"] == 2
    mine = t.loc[["ever", "now"], "brier"] - t.loc[["ever", "now"], "brier_crowd"]
    assert ref.loc["crowd", "brier_diff"] == pytest.approx(mine.mean())
    assert (
        ref.loc["crowd", "brier_diff_lo"] < ref.loc["crowd", "brier_diff"] < ref.loc["crowd", "brier_diff_hi"]
    )


def test_the_floor_and_the_count_of_zero_probability_events(baseline, path_forecast):
    obs = _obs({"now": {"class": "partial_ceasefire"}})  # no world had one on day 45
    for floor in (0.001, 0.01):
        s = scoring.score(baseline, obs, path_forecast, log_floor=floor)
        t = s.table.set_index("observation")
        assert t.loc["now", "zero"] and t.loc["now", "log"] == pytest.approx(-math.log(floor))
        assert s.overall["zero_probability"].item() == 1 and s.overall["log_floor"].item() == floor
        assert np.isfinite(s.overall["log"].item())


def test_changing_an_outcome_changes_no_forecast(baseline, path_forecast):
    """References never read the answers, and neither does the model."""
    flips = {
        "now": {"class": "full_ceasefire"},
        "ever": {"happened": True},
        "swap": {"happened": False},
        "end": {"class": "humanitarian"},
    }
    before = scoring.score(baseline, _obs(forecasts=CROWD), path_forecast)
    for oid, change in flips.items():
        after = scoring.score(baseline, _obs({oid: change}, CROWD), path_forecast)
        pd.testing.assert_frame_equal(before.forecasts, after.forecasts)
        assert not before.table["observed"].equals(after.table["observed"])  # the answer did change


def test_a_named_forecast_must_give_valid_categories(baseline):
    bad = {**CROWD["crowd"], "p": {"ever": {"maybe": 0.5}}}
    with pytest.raises(Exception, match=r"forecasts.crowd.p.ever.maybe: unknown category; allowed: yes, no"):
        check_against(_obs(forecasts={"crowd": bad}), baseline)
    bad = {**CROWD["crowd"], "p": {"now": {"humanitarian": 0.7, "no_agreement": 0.6}}}
    with pytest.raises(Exception, match="sum to 1.3"):
        check_against(_obs(forecasts={"crowd": bad}), baseline)
    with pytest.raises(Exception, match="dated on baseline's horizon"):
        check_against(_obs({"end": {"date": "2025-09-10"}}), baseline)


def test_the_bundled_example_says_it_is_invented_unless_every_source_is_checkable(baseline):
    obs = load_observations(EXAMPLE)
    check_against(obs, baseline)
    assert {o.question for o in obs.observations.values()} == {
        "in_force",
        "first_by",
        "settled_by",
        "at_horizon",
    }
    assert obs.forecasts  # a named forecast shows the format
    if obs.unchecked():
        assert "invented" in obs.title.lower() and "invented" in obs.note.lower()
        assert all("invented" in f.label.lower() for f in obs.forecasts.values())
    assert checkable("https://example.org/a read on 2025-03-12") and not checkable("a news report")


def test_score_on_the_example_reports_the_uniform_reference_and_the_floor(tmp_path, capsys):
    from sim.cli import main

    args = ["score", str(BASELINE), "--observed", str(EXAMPLE), "-n", "50", "--out", str(tmp_path)]
    assert main(args) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "ILLUSTRATIVE" in out and "vs uniform" in out and "floor of 0.001" in out
    assert "vs invented_crowd" in out
    folder = tmp_path / "baseline" / "score"
    for f in ("scores.csv", "references.csv", "forecasts.csv", "forecast.png"):
        assert (folder / f).is_file()
    assert main([*args, "--log-floor", "0.05"]) == 0
    assert "floor of 0.05" in capsys.readouterr().out
    for bad in ("0", "1", "nan", "-0.1"):
        assert main([*args, "--log-floor", bad]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "--log-floor must be a probability in (0, 1)" in err


def test_report_question_rows_exist_only_with_first_curves(every_bundled):
    runs = every_bundled._triples()
    summary = report.summary_frame(runs, "baseline")
    plain = report.full_summary(runs, summary, None)
    assert set(plain["kind"]) == {"class", "total"} and (plain["day"] == 182).all()
