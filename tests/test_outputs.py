"""What a user reads: run plots, the comparison and sweep reports, and the explain and trace narratives.

Runs go through ``sim.cli.main`` as a user would call ``negsim``. A second scenario, written here,
extends the baseline with short talks and hard-line ratifiers, so some worlds end without a deal and
some deals are vetoed before one stands; its title holds HTML characters to check the escaping.
"""

from __future__ import annotations

import base64
import csv
import re
import shutil
from html import escape
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.experiments.chunks import CHUNK
from sim.outputs.report import write_sweep_report
from sim.scenario import load_scenario, seed_line

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
PNG = b"\x89PNG\r\n\x1a\n"
N = 300
VARIANT = """\
# Hard-line ratifiers in short talks: test scenario.
extends = "baseline.toml"
title = "Hardliners <prevail> & \\"talks\\" end early"
summary = "Twelve rounds; the hardliners' threshold is raised."
rounds = 12

[parties.russia.veto.threshold]
mean = 0.7
assumption = "Raised so that vetoes & failed talks are common."
"""
OUTCOME = re.compile(r"Outcome: agreed in round (\d+), .+ \[(\w+)\]: (.+); utilities (.+)")


def cli(*argv: object) -> None:
    assert main([str(a) for a in argv]) == 0


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory) -> Path:
    """baseline.toml and the variant in one folder, with the seed documents beside it."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / "seeds", root / "seeds")
    folder = root / "scenarios"
    folder.mkdir()
    shutil.copy(BASELINE, folder / "baseline.toml")
    (folder / "hardliners.toml").write_text(VARIANT, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def compared(scenarios, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("compare")
    cli("compare", scenarios, "--out", out, "--replications", N, "--workers", 1)
    return out


@pytest.fixture(scope="module")
def twice(tmp_path_factory) -> tuple[Path, Path]:
    """The baseline run twice with the same seed into two folders."""
    out = tmp_path_factory.mktemp("runs")
    for name in ("a", "b"):
        cli("run", BASELINE, "--out", out / name, "--replications", N, "--workers", 1)
    return out / "a" / "baseline", out / "b" / "baseline"


# ---------------------------------------------------------------- run outputs


def test_run_writes_tables_manifest_and_png_plots(twice):
    a, _ = twice
    for name in ("outcomes.csv", "curve.csv", "shares.csv", "manifest.json", "curve.png", "outcomes.png"):
        assert (a / name).stat().st_size > 0, name
    for name in ("curve.png", "outcomes.png"):
        assert (a / name).read_bytes().startswith(PNG)
    assert not [p for p in a.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_same_seed_gives_identical_csv_and_png_bytes(twice):
    a, b = twice
    for name in ("outcomes.csv", "curve.csv", "curve.png", "outcomes.png"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


# ---------------------------------------------------------------- explain


def test_explain_cites_every_quote_with_its_line_and_every_assumption(capsys):
    cli("explain", BASELINE)
    out = capsys.readouterr().out
    sc = load_scenario(BASELINE)
    for path, item in sc.sources():
        if item.source is None:
            assert item.assumption in out, path
        else:
            cited = f"“{item.source.quote}” ({item.source.seed}, line {seed_line(sc, item.source)})"
            assert cited in out, path
    for party in sc.parties.values():
        assert f"PARTY {party.label}" in out


# ---------------------------------------------------------------- trace


def outcome_row(outcomes_csv: Path, j: int) -> dict[str, str]:
    with outcomes_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[j]["replication"] == str(j)
    return rows[j]


def check_trace(capsys, scenario: Path, outcomes_csv: Path, j: int, n: int) -> str:
    """Trace replication j and check its last line against row j of outcomes.csv."""
    cli("trace", scenario, "--replication", j, "--replications", n)
    out = capsys.readouterr().out
    last = out.strip().splitlines()[-1]
    row = outcome_row(outcomes_csv, j)
    sc = load_scenario(scenario)
    if row["agreed"] == "0":
        assert last == f"Outcome: no agreement after {sc.rounds} rounds [no_agreement]"
        return out
    m = OUTCOME.fullmatch(last)
    assert m, last
    assert m[1] == row["round"] and m[2] == row["outcome"]
    assert dict(kv.split("=") for kv in m[3].split(", ")) == {issue: row[issue] for issue in sc.issues}
    utils = dict(kv.split(" ") for kv in m[4].split(", "))
    for pid in sc.parties:
        assert float(utils[pid]) == pytest.approx(float(row[f"u_{pid}"]), abs=6e-4)
    return out


def picks(outcomes_csv: Path, offset: int = 0) -> dict[str, int]:
    """Replications worth tracing: first deal, first failure, a deal after a veto, the last one."""
    df = pd.read_csv(outcomes_csv).iloc[offset:]
    chosen = {"agreed": df[df.agreed == 1].replication.min(), "last": df.replication.max()}
    if (df.agreed == 0).any():
        chosen["failed"] = df[df.agreed == 0].replication.min()
    vetoed = df[(df.agreed == 1) & (df.ratification_failures > 0)]
    if len(vetoed):
        chosen["vetoed"] = vetoed.replication.min()
    return {k: int(v) for k, v in chosen.items()}


def test_trace_reproduces_outcome_rows_of_the_baseline(capsys, compared):
    outcomes = compared / "baseline" / "outcomes.csv"
    for j in picks(outcomes).values():
        out = check_trace(capsys, BASELINE, outcomes, j, N)
        sc = load_scenario(BASELINE)
        first_round = out.split("\n\nRound 2")[0]
        assert sc.opening.source.quote in first_round  # the article's plan opens the talks
        assert "Russia" in first_round and "demands" in first_round


def test_trace_reproduces_failed_and_vetoed_worlds(capsys, scenarios, compared):
    outcomes = compared / "hardliners" / "outcomes.csv"
    chosen = picks(outcomes)
    assert {"failed", "vetoed"} <= set(chosen), "the variant should end some talks without a deal"
    outs = {k: check_trace(capsys, scenarios / "hardliners.toml", outcomes, j, N) for k, j in chosen.items()}
    assert "Vetoed at home" in outs["vetoed"]
    rounds = load_scenario(scenarios / "hardliners.toml").rounds
    assert f"\nRound {rounds} (" in outs["failed"]  # a world without a deal is told to the deadline


def test_trace_reproduces_a_world_in_the_second_chunk(capsys, tmp_path):
    n = CHUNK + 100
    cli("run", BASELINE, "--out", tmp_path, "--replications", n, "--workers", 1)
    outcomes = tmp_path / "baseline" / "outcomes.csv"
    chosen = picks(outcomes, offset=CHUNK)
    assert min(chosen.values()) >= CHUNK
    for j in chosen.values():
        check_trace(capsys, BASELINE, outcomes, j, n)


# ---------------------------------------------------------------- reports


def assert_self_contained(html: str) -> None:
    """Opens offline: no scripts, stylesheets or addresses; every image is inline data."""
    lowered = html.lower()
    for needle in ("http://", "https://", "//cdn", "<script", "<link", "@import", "url(", "<iframe"):
        assert needle not in lowered, needle
    sources = re.findall(r'src="([^"]*)"', html)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)


def test_compare_report_is_complete_and_self_contained(scenarios, compared):
    folder = compared / "compare"
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert_self_contained(html)
    for png in ("outcomes.png", "curves.png"):
        data = (folder / png).read_bytes()
        assert data.startswith(PNG)
        assert base64.b64encode(data).decode() in html, png
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    for file in sorted(scenarios.glob("*.toml")):
        sc = load_scenario(file)
        assert sc.name in html and sc.name in markdown
        assert escape(sc.title) in html and sc.sha256 in html
        for path, item in sc.sources():
            text = item.source.quote if item.source else item.assumption
            assert escape(text) in html, f"{sc.name}: {path}"
        shares = pd.read_csv(compared / sc.name / "shares.csv")
        for r in shares.itertuples():
            assert f"{100 * r.share:.1f}% [{100 * r.lo:.1f}, {100 * r.hi:.1f}]" in html
    assert "<prevail>" not in html and "&lt;prevail&gt;" in html


def test_summary_differences_are_against_the_baseline(compared):
    summary = pd.read_csv(compared / "compare" / "summary.csv")
    columns = ["scenario", "outcome", "count", "n", "share", "lo", "hi", "diff", "diff_lo", "diff_hi"]
    assert list(summary.columns) == columns
    base = summary[summary.scenario == "baseline"].set_index("outcome")
    assert (base["diff"] == 0).all()
    assert (base["diff_lo"] < 0).all() and (base["diff_hi"] > 0).all()
    other = summary[summary.scenario == "hardliners"].set_index("outcome")
    assert set(other.index) == set(base.index) >= {"no_agreement", "agreement"}
    expected = other["share"] - base["share"].reindex(other.index)
    assert other["diff"].to_numpy() == pytest.approx(expected.to_numpy(), abs=2e-6)
    assert (other["diff_lo"] <= other["diff"] + 1e-6).all() and (
        other["diff"] <= other["diff_hi"] + 1e-6
    ).all()
    assert other.loc["agreement", "diff_hi"] < 0  # shorter talks and harder ratifiers: fewer deals


def test_sweep_report_is_self_contained_with_grid_plots_table_and_sources(twice, tmp_path):
    sc = load_scenario(BASELINE)
    image = tmp_path / "sweep.png"
    shutil.copy(twice[0] / "curve.png", image)
    frame = pd.DataFrame(
        {
            "parties.russia.reservation.mean": [0.3, 0.3, 0.6, 0.6],
            "outcome": ["full_ceasefire", "agreement"] * 2,
            "count": [10, 20, 5, 9],
            "n": 20,
            "share": [0.5, 1.0, 0.25, 0.45],
            "lo": [0.3, 0.84, 0.11, 0.26],
            "hi": [0.7, 1.0, 0.47, 0.66],
        }
    )
    grid = {"parties.russia.reservation.mean": {"values": [0.3, 0.6], "baseline": 0.45, "integer": False}}
    path = write_sweep_report(tmp_path, sc, frame, [image], {"grid": grid, "executor": "local x1"})
    html = path.read_text(encoding="utf-8")
    assert_self_contained(html)
    assert base64.b64encode(image.read_bytes()).decode() in html
    assert "parties.russia.reservation.mean" in html and "0.45" in html and "local x1" in html
    assert html.count("<tr><td><b>") == len(sc.sources())  # every statement listed once
    assert html.count("<td>full_ceasefire</td>") == 2  # every row of the frame
    for _, item in sc.sources():
        assert escape(item.source.quote if item.source else item.assumption) in html
