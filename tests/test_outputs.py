"""What a user reads: run plots, the comparison and sweep reports, and the explain and trace narratives.

Runs go through ``sim.cli.main`` as a user would call ``negsim``. A second scenario, written here,
extends the baseline with short talks and hard-line ratifiers, so some worlds end without a deal and
some deals are vetoed before one stands; its title holds HTML characters to check the escaping.
"""

from __future__ import annotations

import base64
import csv
import json
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
summary = "Twelve weeks; the hardliners' threshold is raised."

[calendar]
horizon_days = 84

[parties.russia.veto.threshold]
mean = 0.15
assumption = "Raised so that vetoes & failed talks are common."

[expect.fewer_deals]
outcome = "any_agreement"
direction = "down"
theory = "A tougher ratifier & shorter talks shrink the win-set."
assumption = "Checked at the horizon."
"""
OUTCOME = re.compile(r"Outcome at day (\d+): (.+) \[(\w+)\]: (.+)")
RESPONSE = re.compile(r"    (.{16})gain over what is in force ([+-]\d+\.\d+) vs margin asked")
RUN_FILES = ("outcomes.csv", "history.csv", "series.csv", "curve.csv", "shares.csv", "manifest.json")


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
    for name in (*RUN_FILES, "curve.png", "outcomes.png"):
        assert (a / name).stat().st_size > 0, name
    for name in ("curve.png", "outcomes.png"):
        assert (a / name).read_bytes().startswith(PNG)
    assert not [p for p in a.iterdir() if p.name.startswith(".")], "temporary files left behind"
    manifest = json.loads((a / "manifest.json").read_text())
    sc = load_scenario(BASELINE)
    assert manifest["horizon_days"] == sc.calendar.horizon_days and manifest["replications"] == N
    assert manifest["start"] == sc.calendar.start and manifest["scenario_sha256"] == sc.sha256


def test_run_tables_agree_with_each_other(twice):
    """Outcomes, history, curve, shares and series of one run tell the same story."""
    a, _ = twice
    sc = load_scenario(BASELINE)
    outcomes = pd.read_csv(a / "outcomes.csv")
    history = pd.read_csv(a / "history.csv")
    curve = pd.read_csv(a / "curve.csv")
    shares = pd.read_csv(a / "shares.csv").set_index("outcome")
    series = pd.read_csv(a / "series.csv")
    assert outcomes["replication"].tolist() == list(range(N))
    # one history row per counted event, world by world
    for kind in ("banked", "extended", "lapsed", "violated", "vetoed", "gave_up"):
        per_world = history[history["event"] == kind].groupby("replication").size()
        counted = outcomes.set_index("replication")[kind]
        assert per_world.reindex(counted.index, fill_value=0).tolist() == counted.tolist(), kind
    first_banked = history[history["event"] == "banked"].groupby("replication")["day"].min()
    first = outcomes.set_index("replication")["first_agreement_day"].dropna()
    assert first.round(4).to_dict() == first_banked.round(4).to_dict()
    # the curve's last day is the horizon's class in force, as counted in shares and outcomes
    days = sorted(curve["day"].unique())
    assert days == list(range(1, sc.days + 1)) and days[-1] == sc.calendar.horizon_days
    last = curve[curve["day"] == days[-1]].set_index("outcome")
    assert last["count"].to_dict() == shares["count"].to_dict()
    counts = outcomes["outcome"].value_counts()
    for cid in [*sc.classes, "no_agreement"]:
        assert shares.loc[cid, "count"] == counts.get(cid, 0), cid
    assert shares.loc["any_agreement", "count"] == N - counts.get("no_agreement", 0)
    # the series is one row per meeting cycle, its class shares those of the curve
    assert series["day"].tolist() == days
    for cid in sc.classes:
        per_day = curve[curve["outcome"] == cid].set_index("day")["share"]
        assert series[f"share_{cid}"].to_numpy() == pytest.approx(per_day.to_numpy(), abs=1e-6), cid


def test_same_seed_gives_identical_csv_and_png_bytes(twice):
    a, b = twice
    for name in ("outcomes.csv", "history.csv", "series.csv", "curve.csv", "curve.png", "outcomes.png"):
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


def history_of(outcomes_csv: Path, j: int) -> list[str]:
    history = pd.read_csv(outcomes_csv.parent / "history.csv")
    mine = history[history["replication"] == j]
    by = mine["tabled_by"]
    return [
        f"day {d:g} {e}" + (f" (tabled by {t})" if e == "banked" else "")
        for d, e, t in zip(mine["day"], mine["event"], by, strict=True)
    ]


def days_told(out: str) -> list[tuple[float, str]]:
    """Each moment's paragraph of a trace, with its day."""
    return [(float(b.split(" ", 2)[1].rstrip(",")), b) for b in out.split("\n\n") if b.startswith("Day ")]


def check_trace(capsys, scenario: Path, outcomes_csv: Path, j: int, n: int) -> str:
    """Trace replication j and check its summary against row j of outcomes.csv and history.csv."""
    capsys.readouterr()  # what was printed before is not the trace
    cli("trace", scenario, "--replication", j, "--replications", n)
    out = capsys.readouterr().out
    lines = out.splitlines()
    row = outcome_row(outcomes_csv, j)
    sc = load_scenario(scenario)
    m = OUTCOME.fullmatch(lines[3])
    assert m, lines[3]
    assert int(m[1]) == sc.calendar.horizon_days and m[3] == row["outcome"]
    label = sc.classes[row["outcome"]].label if row["outcome"] in sc.classes else "No agreement in force"
    assert m[2] == label
    assert dict(kv.split("=") for kv in m[4].split(", ")) == {issue: row[issue] for issue in sc.issues}
    if row["first_agreement_day"]:
        assert lines[4].startswith(f"First agreement: day {float(row['first_agreement_day']):g} (2025-")
    else:
        assert lines[4] == "No agreement was ever banked."
    events = history_of(outcomes_csv, j)
    assert (lines[5] == "History: " + "; ".join(events)) if events else not lines[5].startswith("History")
    if row["banked"] == "1":  # the gain over no deal at signing is the gain told on the day it was banked
        (day, told), *_ = [(d, b) for d, b in days_told(out) if "Ratified and banked" in b]
        assert day == pytest.approx(float(row["first_agreement_day"]), abs=1e-4)
        gains = {who.strip(): float(g) for who, g in RESPONSE.findall(told)}
        for pid, party in sc.parties.items():
            assert gains[party.label] == pytest.approx(float(row[f"gain_{pid}"]), abs=6e-4), pid
    return out


def picks(outcomes_csv: Path, offset: int = 0) -> dict[str, int]:
    """Replications worth tracing: first deal, first world without one, a deal after a veto, the last."""
    df = pd.read_csv(outcomes_csv).iloc[offset:]
    agreed = df.first_agreement_day.notna()
    chosen = {"agreed": df[agreed & (df.banked == 1)].replication.min(), "last": df.replication.max()}
    if (~agreed).any():
        chosen["failed"] = df[~agreed].replication.min()
    vetoed = df[agreed & (df.vetoed > 0)]
    if len(vetoed):
        chosen["vetoed"] = vetoed.replication.min()
    return {k: int(v) for k, v in chosen.items()}


def test_trace_reproduces_outcome_rows_of_the_baseline(capsys, compared):
    outcomes = compared / "baseline" / "outcomes.csv"
    sc = load_scenario(BASELINE)
    for j in picks(outcomes).values():
        out = check_trace(capsys, BASELINE, outcomes, j, N)
        (day, first_round), *_ = days_told(out)
        assert day == 0  # the first contact: Thursday's discussions, the day the talks open
        assert sc.opening.source.quote in first_round  # the article's plan opens the talks
        assert "Russia" in first_round and "refuses" in first_round


def test_trace_reproduces_failed_and_vetoed_worlds(capsys, scenarios, compared):
    outcomes = compared / "hardliners" / "outcomes.csv"
    chosen = picks(outcomes)
    assert {"failed", "vetoed"} <= set(chosen), "the variant should end some talks without a deal"
    outs = {k: check_trace(capsys, scenarios / "hardliners.toml", outcomes, j, N) for k, j in chosen.items()}
    assert "Vetoed at home" in outs["vetoed"]
    sc = load_scenario(scenarios / "hardliners.toml")
    last = sc.calendar.horizon_days
    # a world without a deal is told to the horizon (refused rounds in a row are told once)
    assert re.search(rf"(\nDay |days \d+-|until day ){last}\b", outs["failed"]), outs["failed"][-500:]


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


def test_summary_keeps_classes_and_the_total_apart_and_differs_from_the_reference(compared):
    summary = pd.read_csv(compared / "compare" / "summary.csv")
    columns = [
        "scenario",
        "title",
        "reference",
        "outcome",
        "label",
        "kind",
        "day",
        "count",
        "n",
        "share",
        "lo",
        "hi",
    ]
    assert list(summary.columns) == [*columns, "diff", "diff_lo", "diff_hi"]
    # the reference's question leads: its class first in force by each day, in force on the last
    question = load_scenario(BASELINE).question()
    lead = summary.iloc[: len(question.days) + 1]
    assert set(lead["kind"]) == {"first_by", "in_force_on"} and set(lead["outcome"]) == set(question.classes)
    asked = summary[summary["kind"].isin(["first_by", "in_force_on"])]
    on_horizon = asked[(asked["kind"] == "in_force_on") & (asked["day"] == 182)].set_index("scenario")
    at_horizon = summary[(summary["kind"] == "class") & (summary["outcome"] == question.classes[0])]
    assert on_horizon.loc["baseline", "share"] == at_horizon.set_index("scenario").loc["baseline", "share"]
    short = asked[asked["scenario"] == "hardliners"]  # followed for 84 days: no answer for 90 and 182
    assert short[short["day"] > 84]["share"].isna().all() and short[short["day"] <= 84]["share"].notna().all()
    summary = summary[~summary["kind"].isin(["first_by", "in_force_on"])]
    for name, rows in summary.groupby("scenario"):
        classes = rows[rows["kind"] == "class"]
        assert classes["share"].sum() == pytest.approx(1.0, abs=1e-5), (
            name
        )  # the classes partition the worlds
        assert classes["count"].sum() == rows["n"].iloc[0]
        total = rows[rows["kind"] == "total"]
        assert total["outcome"].tolist() == ["any_agreement"] and total["label"].tolist() == ["Any agreement"]
        deals = classes[classes["outcome"] != "no_agreement"]
        assert total["share"].iloc[0] == pytest.approx(deals["share"].sum(), abs=1e-5)
    sc = load_scenario(BASELINE)
    labels = summary.drop_duplicates("outcome").set_index("outcome")["label"]
    assert all(labels[cid] == cl.label for cid, cl in sc.classes.items())  # ids and labels from the file
    base = summary[summary.scenario == "baseline"].set_index("outcome")
    assert base["reference"].all() and not summary[summary.scenario != "baseline"]["reference"].any()
    assert (base["diff"] == 0).all()
    assert base["diff_lo"].isna().all() and base["diff_hi"].isna().all()  # no interval on itself
    other = summary[summary.scenario == "hardliners"].set_index("outcome")
    assert set(other.index) == set(base.index) >= {"no_agreement", "any_agreement"}
    expected = other["share"] - base["share"].reindex(other.index)
    assert other["diff"].to_numpy() == pytest.approx(expected.to_numpy(), abs=2e-6)
    assert (other["diff_lo"] <= other["diff"] + 1e-6).all() and (
        other["diff"] <= other["diff_hi"] + 1e-6
    ).all()
    # the interval is Newcomb's for variant minus reference (a swapped order gives (-hi, -lo) instead)
    from statsmodels.stats.proportion import confint_proportions_2indep

    for cid in other.index:
        v, r = other.loc[cid], base.loc[cid]
        counts = (v["count"], v["n"], r["count"], r["n"])
        lo, hi = confint_proportions_2indep(*counts, method="newcomb", compare="diff")
        assert (v["diff_lo"], v["diff_hi"]) == pytest.approx((lo, hi), abs=2e-6), cid


def test_compare_checks_the_variants_hypothesis_against_its_parent(compared):
    folder = compared / "compare"
    hyp = pd.read_csv(folder / "hypotheses.csv")
    assert len(hyp) == 1
    (v,) = hyp.to_dict("records")
    assert (v["scenario"], v["hypothesis"], v["against"]) == ("hardliners", "fewer_deals", "baseline")
    assert (v["outcome"], v["direction"], v["day"]) == ("any_agreement", "down", 84)
    # the shares on that day are read from each scenario's curve
    for name, key in (("hardliners", "share"), ("baseline", "parent_share")):
        curve = pd.read_csv(compared / name / "curve.csv")
        at = curve[(curve["outcome"] == "any_agreement") & (curve["day"] == 84)]["share"]
        assert v[key] == pytest.approx(float(at.iloc[0]), abs=1e-6), name
    assert v["diff"] == pytest.approx(v["share"] - v["parent_share"], abs=2e-6)
    assert v["lo"] <= v["diff"] <= v["hi"]
    expected = "held" if v["hi"] < 0 else ("contrary" if v["lo"] > 0 else "inconclusive")
    assert v["verdict"] == expected
    numbers = f"{100 * v['share']:.1f}% vs {100 * v['parent_share']:.1f}%"
    for text in ((folder / "report.html").read_text(encoding="utf-8"), (folder / "report.md").read_text()):
        headline = text[: text.index("Contents")]  # the verdict leads, in the headline
        assert "hardliners" in headline and v["verdict"] in headline and numbers in headline


def test_sweep_report_is_self_contained_with_grid_plots_table_and_sources(twice, tmp_path):
    sc = load_scenario(BASELINE)
    image = tmp_path / "sweep.png"
    shutil.copy(twice[0] / "curve.png", image)
    frame = pd.DataFrame(
        {
            "parties.russia.margin.mean": [0.05, 0.05, 0.2, 0.2],
            "outcome": ["full_ceasefire", "any_agreement"] * 2,
            "count": [10, 20, 5, 9],
            "n": 20,
            "share": [0.5, 1.0, 0.25, 0.45],
            "lo": [0.3, 0.84, 0.11, 0.26],
            "hi": [0.7, 1.0, 0.47, 0.66],
        }
    )
    grid = {"parties.russia.margin.mean": {"values": [0.05, 0.2], "baseline": 0.1, "integer": False}}
    path = write_sweep_report(tmp_path, sc, frame, [image], {"grid": grid, "executor": "local x1"})
    html = path.read_text(encoding="utf-8")
    assert_self_contained(html)
    assert base64.b64encode(image.read_bytes()).decode() in html
    grid_row = re.search(r"<tr><td>parties\.russia\.margin\.mean</td>.*?</tr>", html)
    assert grid_row, "the varied parameter has no row in the grid table"
    cells = re.findall(r">([^<>]*)</td>", grid_row[0])
    assert cells == ["parties.russia.margin.mean", "0.05", "0.2", "2", "0.1"]  # from, to, points, own value
    assert "local x1" in html
    assert html.count("<tr><td><b>") == len(sc.sources())  # every statement listed once
    assert html.count("<td>full_ceasefire</td>") == 2  # every row of the frame
    for _, item in sc.sources():
        assert escape(item.source.quote if item.source else item.assumption) in html
