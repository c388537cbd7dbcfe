"""One clock in days: contacts at their own times, durations in days, exact dynamics.

Each test names the mistake it catches: a rule counted in contacts instead of days, a truce that
ends late, a violation probability per interval taken as daily, a balance moved by an Euler step or
with its drift's sign flipped, an event whose shifts are not applied, draws that depend on other
worlds, an outcome that does not settle as contacts get frequent, hurt counted per segment, and talks
that go on past a deadline.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TRUCE, party_raw, scenario_raw
from scipy import stats

from sim.engine.dynamics import ou_transition
from sim.engine.model import NegotiationModel
from sim.experiments.chunks import chunk_model
from sim.scenario import ScenarioError, validate

TERMS = {"prisoners": ["none", "swap"]}
VALUES = {"prisoners": {"none": 0.0, "swap": 1.0}}


def talks(b_margin: float = 0.0, interval: float = 7.0, **kw) -> dict:
    """Two sides who both pay for the war on every front; b asks ``b_margin``."""
    a = party_raw({"prisoners": 1.0}, VALUES, war={"land": -0.002, "energy": -0.001})
    b = party_raw({"prisoners": 1.0}, VALUES, war={"land": -0.002, "energy": -0.001}, margin=b_margin)
    return scenario_raw(TERMS, {"a": a, "b": b}, interval=interval, **kw)


def run(make_scenario, raw: dict, name: str, replications: int | None = None, seed: int = 1):
    sc = make_scenario(raw, name)
    return NegotiationModel(sc, replications=replications or sc.replications, rng=seed).run()


def times(model: NegotiationModel, kind: str) -> dict[int, list[float]]:
    """Per world, the times (days) of every event of one kind."""
    out: dict[int, list[float]] = {}
    for rows, when, k, _ in model.history:
        if k == kind:
            for j, t in zip(rows, when, strict=True):
                out.setdefault(int(j), []).append(float(t))
    return out


# ---------------------------------------------------------------- Mesa's clock counts days


def test_model_time_is_in_days_and_contacts_fall_at_their_own_times(make_scenario):
    """Regular contacts every 2.5 days: the opening on day 0, then 2.5, 5.0, ... (two in some days)."""
    raw = talks(b_margin=10.0, interval=2.5, horizon=10, replications=1)
    sc = make_scenario(raw, "clock")
    model = NegotiationModel(sc, replications=1, rng=0, trace=0).run()
    assert model.time == 10 and model.steps == 10
    contacts = [e["day"] for e in model.transcript if "proposal" in e]
    assert contacts == [0.0, 2.5, 5.0, 7.5, 10.0]
    two_a_day = talks(b_margin=10.0, interval=0.4, horizon=2, replications=1)
    m = NegotiationModel(make_scenario(two_a_day, "often"), replications=1, rng=0, trace=0).run()
    days = [e["day"] for e in m.transcript if "proposal" in e]
    assert days == pytest.approx([0.0, 0.4, 0.8, 1.2, 1.6, 2.0])  # never merged within a day


def test_gamma_intervals_have_the_stated_mean_and_spread(make_scenario):
    raw = talks(b_margin=10.0, interval=3.0, interval_sd=1.5, horizon=30, replications=2000)
    model = run(make_scenario, raw, "gamma")
    gaps = np.concatenate([model._intervals[k] for k in sorted(model._intervals)])
    assert gaps.mean() == pytest.approx(3.0, rel=0.03) and gaps.std() == pytest.approx(1.5, rel=0.05)
    assert model.held.mean() == pytest.approx(1 + 30 / 3.0, rel=0.05)  # renewal: about 1 + T/mean


# ---------------------------------------------------------------- the balance of power, exactly


@pytest.mark.parametrize(("drift", "reversion"), [(0.003, 0.0), (0.003, 0.02), (-0.01, 0.3), (0.0, 1.0)])
@pytest.mark.parametrize("D", [0.3, 1.0, 7.0, 30.5])
def test_one_step_of_D_days_is_two_of_half_D_without_noise(drift, reversion, D):
    m = np.array([-0.4, 0.0, 0.25])
    once = ou_transition(m, np.full(3, D), drift, reversion, 0.0, 0.0)
    half = np.full(3, D / 2)
    twice = ou_transition(
        ou_transition(m, half, drift, reversion, 0.0, 0.0), half, drift, reversion, 0.0, 0.0
    )
    assert np.abs(once - twice).max() < 1e-12
    # and it is the solution of dm/dt = drift - reversion m (not an Euler step of it)
    exact = m * np.exp(-reversion * D) + (
        drift * D if reversion == 0 else drift / reversion * (1 - np.exp(-reversion * D))
    )
    assert np.abs(once - exact).max() < 1e-12


def test_one_step_of_D_days_has_the_distribution_of_two_of_half_D_with_noise():
    """Two-sample Kolmogorov-Smirnov test at a fixed seed, n = 20,000 a side. Its power: the same
    test at the same seed rejects the Euler step (whose variance noise^2 D is 27% too large here,
    an effect it detects with power above 0.999 at this n)."""
    n, D, k, noise, drift = 20_000, 7.0, 0.05, 0.03, 0.001
    rng = np.random.default_rng(20250313)
    m0 = np.full(n, 0.2)
    once = ou_transition(m0, np.full(n, D), drift, k, noise, rng.standard_normal(n))
    mid = ou_transition(m0, np.full(n, D / 2), drift, k, noise, rng.standard_normal(n))
    twice = ou_transition(mid, np.full(n, D / 2), drift, k, noise, rng.standard_normal(n))
    assert stats.ks_2samp(once, twice).pvalue > 0.01
    sd = noise * np.sqrt((1 - np.exp(-2 * k * D)) / (2 * k))
    mean = 0.2 * np.exp(-k * D) + drift / k * (1 - np.exp(-k * D))
    assert np.mean(once) == pytest.approx(mean, abs=4 * sd / np.sqrt(n))
    assert np.std(once) == pytest.approx(sd, rel=0.03)
    euler = m0 + D * (drift - k * m0) + noise * np.sqrt(D) * rng.standard_normal(n)
    assert stats.ks_2samp(once, euler).pvalue < 1e-6


def test_the_models_balance_follows_the_exact_path_whatever_the_contacts(make_scenario):
    """No deal (b asks too much), no noise: the balance on the horizon is the closed form, for every
    contact interval. An Euler step, a flipped drift or a rule in contacts fails here."""
    got = []
    for interval in (0.75, 3.5, 14.0):
        raw = talks(b_margin=10.0, interval=interval, horizon=45, replications=3, interval_sd=interval / 2)
        raw["dynamics"]["momentum"].update(initial=0.1, drift=0.004, reversion=0.03)
        got.append(run(make_scenario, raw, f"path{interval}").battlefield.momentum)
    k, d = 0.03, 0.004
    expected = 0.1 * np.exp(-45 * k) + d / k * (1 - np.exp(-45 * k))
    for m in got:
        assert np.abs(m - expected).max() < 1e-12


@pytest.mark.parametrize("interval", [0.3, 7.0])
def test_the_wars_hurt_counts_days_whatever_the_contacts(make_scenario, interval):
    """Nothing can be agreed (b asks too much), so for 30 days the war runs on both fronts at a net
    cost of 0.002 + 0.001 a day to each side: 0.09 of hurt, whether contacts come every 0.3 days
    (several segments a day) or every 7. Hurt added per segment or per contact fails here."""
    raw = talks(b_margin=10.0, interval=interval, horizon=30, replications=2)
    model = run(make_scenario, raw, f"hurt{interval}")
    assert model.held.min() > (90 if interval < 1 else 4)
    for p in model.parties:
        assert p.pain == pytest.approx(30 * 0.003, abs=1e-12)


# ---------------------------------------------------------------- truces and violations in days


def opening_full(**kw) -> dict:
    raw = talks(opening={TRUCE: "full", "prisoners": "swap"}, **kw)
    return raw


def test_a_truce_ends_on_its_day_not_at_the_next_contact(make_scenario):
    """A 30-day truce banked on day 0 is extended on days 30 and 60 exactly (contacts every 7 days,
    none on those days). A truce that ended a day late, or at the next contact, fails here."""
    raw = opening_full(interval=7.0, horizon=70, replications=2)
    model = run(make_scenario, raw, "truce_end")
    assert times(model, "banked") == {0: [0.0], 1: [0.0]}
    assert times(model, "extended") == {0: [30.0, 60.0], 1: [30.0, 60.0]}


@pytest.mark.parametrize("interval", [0.5, 7.0])
def test_violations_happen_at_the_stated_daily_rate_whatever_the_contacts(make_scenario, interval):
    """A truce in force from day 0 survives 30 days with probability (1 - p)^30, p = 0.02 a day:
    the chance over a segment of dt days is 1 - (1 - p)^dt. Taking p per segment (contacts every
    half day make two a day) would give (1 - p)^60 = 0.30 instead of 0.545."""
    raw = opening_full(interval=interval, horizon=31, replications=4000, truce_days=400)
    raw["truce"]["violations"] = {"daily_probability": 0.02, "assumption": "test"}
    model = run(make_scenario, raw, f"violations{interval}")
    first = np.full(model.replications, np.inf)
    for j, ts in times(model, "violated").items():
        first[j] = ts[0]
    survived = np.mean(first > 30)
    se = np.sqrt(0.545 * 0.455 / model.replications)
    assert survived == pytest.approx(0.98**30, abs=4 * se)


# ---------------------------------------------------------------- events


def test_an_events_shifts_are_applied_from_its_day(make_scenario):
    """An event sure to happen from day 10 shifts b's daily war values and the balance once."""
    event = {
        "e": {"daily_probability": 1.0, "from_day": 10, "war_shift": {"b": -0.01}, "momentum_shift": 0.5}
    }
    raw = talks(b_margin=10.0, horizon=20, replications=3, events=event)
    sc = make_scenario(raw, "event")
    model = NegotiationModel(sc, replications=3, rng=0, trace=0).run()
    assert (model.party["b"].shift == -0.01).all() and (model.party["a"].shift == 0).all()
    assert model.battlefield.momentum == pytest.approx(0.5, abs=1e-12)
    assert [e["day"] for e in model.transcript if e.get("events")] == [11.0]  # in the day after day 10


def test_an_event_that_moves_the_war_changes_what_is_agreed(make_scenario):
    """b gains by the land war until a sure event turns it costly: then b takes a full truce."""
    a = party_raw({"prisoners": 1.0}, VALUES, war={"land": -0.002, "energy": -0.001})
    b = party_raw({"prisoners": 1.0}, VALUES, war={"land": 0.004, "energy": 0.0}, margin=0.05)
    classes = {"full": {TRUCE: ["full"]}, "partial": {TRUCE: ["partial"]}, "humanitarian": {TRUCE: ["none"]}}
    out = {}
    for shift in (0.0, -0.01):
        events = {"turn": {"daily_probability": 1.0, "from_day": 14, "war_shift": {"b": shift}}}
        raw = scenario_raw(
            TERMS, {"a": a, "b": b}, classes=classes, horizon=60, replications=5, events=events
        )
        model = run(make_scenario, raw, f"turn{shift}")
        out[shift] = model.space.class_order[model.space.package_class[model.inforce[0]]]
    assert out[0.0] != "full" and out[-0.01] == "full"


# ---------------------------------------------------------------- the mediator's rule in days


@pytest.mark.parametrize("interval", [3.5, 14.0])
def test_the_mediator_gives_up_after_the_stated_days_whatever_the_contacts(make_scenario, interval):
    """Nothing can be agreed (b asks too much): the mediator stops at the first contact on or after
    day 84 without a banked text, for contacts every 3.5 days (24 texts) as every 14 (6 texts). A
    mediator that never gives up, or one that counts refusals or contacts, fails here."""
    raw = talks(b_margin=10.0, interval=interval, horizon=120, replications=2, give_up=84)
    model = run(make_scenario, raw, f"give_up{interval}")
    assert times(model, "gave_up") == {0: [84.0], 1: [84.0]}
    assert not model.mediator.talking.any()


def test_the_mediator_stops_at_the_first_contact_on_or_after_a_declared_deadline(make_scenario):
    """b gains by the land war and values no term, so nothing can be agreed whatever it concedes;
    with a deadline on day 40 and contacts every 7 days the mediator stops at the contact of day 42,
    long before its give-up rule (84 days) would. A mediator that talks past the deadline fails."""
    a = party_raw({"prisoners": 1.0}, VALUES, war={"land": -0.002, "energy": -0.001})
    b = party_raw({"prisoners": 1.0}, {"prisoners": {"none": 0.0, "swap": 0.0}}, war={"land": 0.002})
    raw = scenario_raw(TERMS, {"a": a, "b": b}, deadline=40, horizon=60, replications=2)
    model = run(make_scenario, raw, "deadline_stop")
    assert model.counts["banked"].sum() == 0
    assert times(model, "gave_up") == {0: [42.0], 1: [42.0]}
    assert not model.mediator.talking.any()


# ---------------------------------------------------------------- draws keyed by world, day and purpose


def test_a_worlds_history_does_not_depend_on_whether_other_worlds_talk(make_scenario):
    raw = talks(b_margin=0.05, interval=3.0, interval_sd=2.0, horizon=60, replications=40, seed=5)
    raw["parties"]["b"]["margin"]["sd"] = 0.05
    raw["dynamics"]["momentum"].update(noise=0.02)
    raw["truce"]["violations"] = {"daily_probability": 0.03, "assumption": "test"}
    sc = make_scenario(raw, "others")
    both = chunk_model(sc, sc.seed, 0, 40).run()
    quiet = chunk_model(sc, sc.seed, 0, 40)
    j = 7
    others = np.arange(40) != j
    quiet.mediator.talking[others] = False  # every other world's talks stop at once
    quiet.run()

    def story(m):
        return [
            (k, t, int(q))
            for rows, when, k, p in m.history
            for r, t, q in zip(rows, when, p, strict=True)
            if r == j
        ]

    assert story(both) and story(quiet) == story(both)
    assert np.array_equal(quiet.class_by_day[j], both.class_by_day[j])
    assert quiet.battlefield.momentum[j] == both.battlefield.momentum[j]


def test_kept_draws_are_the_streams_own_and_forgotten_once_no_world_can_ask_for_them():
    """``Draws`` keeps each stream's numbers for every world: they must be the stream's own, and at a
    day's end only ratification luck of a contact count some world has not passed may remain (the
    day's streams, keyed by day and segment, are never asked again)."""
    from pathlib import Path

    from test_analysis import baseline_raw

    sc = validate(baseline_raw(replications=60), Path("scenarios") / "baseline.toml")
    model = chunk_model(sc, sc.seed, 0, 60)
    kept_any = False
    for _ in range(40):
        model.step()
        for (normal, *purpose), numbers in model.drawn.kept.items():
            kept_any = True
            assert purpose[0] == "veto" and purpose[-1] >= model.held.min()
            fresh = model.stream(*purpose)
            assert np.array_equal(numbers, fresh.standard_normal(60) if normal else fresh.random(60))
    assert kept_any


# ---------------------------------------------------------------- the limit of frequent contacts


def patient_talks(interval: float) -> dict:
    """A holdout whose margin the war's hurt wears down: a deal comes at the first contact after its
    margin falls below the text's value, unless the mediator has given up (at the first contact on
    or after day 60 without a deal, after hearing the answers). The later that contact falls after
    day 60, the more worlds settle: by about 0.6 of an interval on average."""
    a = party_raw({"prisoners": 1.0}, VALUES, war={"land": -0.002, "energy": -0.001})
    b = party_raw({"prisoners": 1.0}, VALUES, war={"land": -0.002, "energy": -0.001}, tolerance=0.3)
    b["margin"] = {"mean": 2.3, "sd": 0.6, "assumption": "test"}
    classes = {"full": {TRUCE: ["full"]}, "partial": {TRUCE: ["partial"]}, "humanitarian": {TRUCE: ["none"]}}
    return scenario_raw(
        TERMS,
        {"a": a, "b": b},
        classes=classes,
        interval=interval,
        interval_sd=interval / 2,
        give_up=60,
        horizon=182,
        replications=400,
        truce_days=400,
        seed=11,
    )


def test_outcomes_settle_as_contacts_get_frequent(make_scenario):
    """Binmore, Rubinstein & Wolinsky (1986): as the time between offers shrinks, the outcome tends
    to a limit. With common random numbers (the same worlds, intervals scaled), the largest change
    of a class share on day 182 from 14 to 7 days exceeds three standard errors of the paired
    difference, and from 3.5 to 1.75 days it is at most half of that."""
    final = {}
    for interval in (14.0, 7.0, 3.5, 1.75):
        model = run(make_scenario, patient_talks(interval), f"limit{interval}")
        final[interval] = model.class_by_day[:, -1]
    n = final[14.0].size

    def largest(a, b):
        diffs = []
        for c in range(4):
            d = (final[a] == c).astype(float) - (final[b] == c).astype(float)
            diffs.append((abs(d.mean()), d.std(ddof=1) / np.sqrt(n)))
        return max(diffs)

    coarse, se = largest(14.0, 7.0)
    fine, _ = largest(3.5, 1.75)
    assert coarse > 3 * se
    assert fine <= coarse / 2


# ---------------------------------------------------------------- the calendar in the schema


@pytest.mark.parametrize(
    ("path", "value", "says"),
    [
        (("calendar", "days_per_round"), 7, "days_per_round was replaced by [calendar.contacts]"),
        (("calendar", "start"), "2025-02-30", "is not a date of the calendar"),
        (("calendar", "contacts", "mean_interval_days"), 0.0, "greater than or equal to 0.1"),
        (("calendar", "contacts", "sd_days"), -1.0, "greater than or equal to 0"),
        (("mediator", "give_up", "after_refusals"), 12, "after_refusals was replaced by after_stalled_days"),
    ],
)
def test_the_calendar_and_its_durations_are_checked(tmp_path, path, value, says):
    raw = talks()
    node = raw
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ScenarioError, match=r".*") as err:
        validate(raw, tmp_path / "bad.toml")
    assert says in str(err.value) and "\n" not in str(err.value)


def test_the_history_tells_dates_and_times_as_the_single_moment_does():
    """``dates`` and ``times`` (a whole history at once) give ``date_of`` and ``moment_of``'s date
    and time of every moment, to the minute: also on half minutes, which both round half to even,
    at midnight, across a month and a leap day."""
    from sim.scenario.dates import date_of, dates, moment_of, times

    rng = np.random.default_rng(7)
    halves = (np.arange(2 * 1440 * 3) + 0.5) / 2880  # every half minute of three days: the ties
    days = np.concatenate([rng.uniform(0, 400, 5000), halves, [0.0, 1.0, 17.0, 1 - 1e-12, 365.9999]])
    for start in ("2025-03-13", "2024-02-27"):
        told = [moment_of(start, d) for d in days]
        assert times(start, days) == [t[11:] for t in told]
        assert dates(start, days) == [date_of(start, d) for d in days]


def test_a_moment_is_told_as_a_day_to_a_tenth_and_a_date_to_the_minute():
    """What play, the class server and the debrief print for a moment of the model's clock."""
    from types import SimpleNamespace

    from sim.scenario.dates import when

    sc = SimpleNamespace(calendar=SimpleNamespace(start="2025-03-13"))
    assert when(sc, 6.63139) == "day 6.6 (2025-03-19 15:09)"  # 0.63139 days = 15 h 09 min
    assert when(sc, 0) == "day 0.0 (2025-03-13 00:00)"
    assert when(sc, 182) == "day 182.0 (2025-09-11 00:00)"
