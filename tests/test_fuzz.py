"""The fuzzer in the normal suite: a few hundred generated cases, no failure of any kind.

``python tests/fuzz.py --cases 10000`` runs the long version; see tests/fuzz.py for what a case is
and what counts as a failure (a traceback, a hang, an error over several lines or naming the wrong
file, an invalid file accepted, a valid one refused, broken invariants, output left on an error).
"""

from __future__ import annotations

import fuzz

CASES = 240
SEED = 20250313


def test_generated_cases_cover_every_kind_and_expectation():
    cases = fuzz.generate(CASES, SEED)
    assert len(cases) == CASES
    kinds = {c.kind.split(":")[0] for c in cases}
    assert kinds >= set(fuzz.kinds())
    assert {c.expect for c in cases} == {"accept", "reject", "either"}


def test_the_same_seed_gives_the_same_cases():
    a, b = fuzz.generate(40, 7), fuzz.generate(40, 7)
    assert [(c.kind, c.argv, c.files) for c in a] == [(c.kind, c.argv, c.files) for c in b]


def test_fuzz_cases_end_in_a_clean_accept_or_a_one_line_error(tmp_path):
    cases = fuzz.generate(CASES, SEED)
    report = fuzz.run_cases(cases, timeout=60, jobs=2, failures_dir=tmp_path / "failures", workdir=tmp_path)
    print(report.text())
    assert report.failed == 0, report.text()


def test_browser_messages_are_taken_or_refused_in_one_line_and_refusals_store_nothing():
    from sim.api import load_scenario
    from sim.scenario import with_overrides

    sc = with_overrides(load_scenario(fuzz.REPO / "scenarios" / "baseline.toml"), 50, None)
    issues = {i: list(s.options) for i, s in sc.issues.items()}
    messages = fuzz.browser_messages(150, SEED, issues, list(sc.parties))
    counts = fuzz.check_browser_messages(messages, sc)
    assert sum(v for k, v in counts.items() if not k.startswith("counter:")) == len(messages)
    assert counts.get("refused", 0) > 50 and counts.get("taken:ok", 0) > 3  # both ends are reached
    # Russia's counter question met generated messages (counters, none, junk) before any other; a
    # counter that fits is rare among them (tests/test_class_server.py tables one over the socket).
    assert counts.get("counter:refused", 0) >= 5, counts


def test_dashboard_settings_build_the_model_or_are_refused_in_one_line():
    from sim.api import dashboard_controls, load_scenario

    path = fuzz.REPO / "scenarios" / "baseline.toml"
    settings = fuzz.dashboard_settings(60, SEED, dashboard_controls(load_scenario(path)))
    counts = fuzz.check_dashboard_settings(settings, path)
    assert sum(counts.values()) == len(settings)
    assert counts.get("built", 0) > 10 and counts.get("refused", 0) > 10  # both ends are reached
