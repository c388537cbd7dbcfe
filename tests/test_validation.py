"""Scenario files a user got wrong: one line naming the file and the field, exit code 2, nothing written.

Each case starts from a small valid file and breaks exactly one thing in it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import WHY, flatten, party_raw, scenario_raw, uncertain, write_toml

from sim.cli import main
from sim.scenario import ScenarioError, load_scenario

SEED = "article.txt"
ARTICLE = """Talks resumed on Monday.
The envoy said both sides had agreed to meet again
next week in Geneva to discuss the terms of a truce.
"""
QUOTE = "agreed to meet again next week in Geneva"  # spans a line break in the seed
OTHER_QUOTE = "Talks resumed on Monday."
TERMS = {"arms": ["no", "yes"], "verification": ["none", "monitoring"]}


def valid_raw() -> dict:
    """Two parties, a truce issue (scope: none / partial / full) and two terms, every table used."""
    a = party_raw(
        {"arms": 0.7, "verification": 0.3},
        {"arms": {"no": 1.0, "yes": 0.2}, "verification": {"none": 0.0, "monitoring": 1.0}},
        war={"land": -0.002, "energy": -0.001},
        margin=0.05,
    )
    b = party_raw(
        {"arms": 0.5, "verification": 0.5},
        {"arms": {"no": 0.0, "yes": 1.0}, "verification": {"none": 0.8, "monitoring": 0.4}},
        war={"land": 0.001, "energy": -0.0005},
        margin=0.1,
        sd=0.05,
        momentum={"land": 0.01},
    )
    b["interactions"] = {
        "reprieve": {"when": {"scope": "full", "arms": "no"}, "value": -0.1, "assumption": WHY}
    }
    b["red_lines"] = {"no_full": {"issue": "scope", "option": "full", "assumption": WHY}}
    b["required_when"] = {"arms": ["yes"]}
    b["veto"] = {
        "label": "Hardliners",
        "weights": {"arms": 0.5, "verification": 0.5},
        "threshold": uncertain(0.0, 0.05),
        "assumption": WHY,
    }
    raw = scenario_raw(
        TERMS,
        {"a": a, "b": b},
        tied=["arms"],
        opening={"scope": "full", "arms": "no"},
        classes={"truce": {"scope": ["partial", "full"]}, "talks": {}},
        momentum={"initial": 0.1, "drift": 0.001, "front": "land"},
        rebuild={"rearms": {"when": {"arms": "no"}, "per_day": -0.003}},
        violations={"daily_probability": 0.01, "monitored_when": {"verification": "monitoring"}},
        levers={
            "pressure": {
                "holder": "a",
                "target": "b",
                "kind": "stick",
                "strength": 0.0005,
                "fronts": ["land"],
            }
        },
        events={"summit": {"daily_probability": 0.02, "war_shift": {"b": -0.001}}},
        replications=20,
        horizon=35,
    )
    del raw["mediator"]["assumption"]
    raw["mediator"]["source"] = {"seed": SEED, "quote": QUOTE}
    return raw


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / SEED).write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "scenarios").mkdir()
    return tmp_path


def cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_user_error(path: Path, field: str | None, project: Path, capsys) -> str:
    """validate and run both refuse the file: exit 2, one stderr line naming file and field, no output."""
    out_dir = project / "out"
    for args in (["validate", path], ["run", path, "--out", out_dir, "--workers", "1"]):
        code, out, err = cli(args, capsys)
        assert code == 2, f"{args[0]} returned {code}; stderr: {err}"
        lines = err.splitlines()
        assert len(lines) == 1, f"expected one line on stderr, got: {err!r}"
        assert "Traceback" not in err
        assert path.name in lines[0]
        if field is not None:
            assert field in lines[0], f"{field!r} not named in: {lines[0]}"
        assert out == ""
    assert not out_dir.exists() or not any(out_dir.rglob("*"))
    return lines[0]


def test_the_valid_file_validates_and_names_no_error(project, capsys):
    path = write_toml(project / "scenarios" / "valid.toml", valid_raw())
    code, out, err = cli(["validate", path], capsys)
    assert (code, err) == (0, "")
    assert "valid.toml" in out
    sc = load_scenario(path)
    assert sc.n_packages == 12 and sc.mediator.source.quote == QUOTE
    assert sc.truce.closes["full"] == ["land", "energy"] and sc.parties["b"].war["land"].momentum == 0.01


def _set(*keys_and_value) -> Callable[[dict], None]:
    *keys, value = keys_and_value

    def change(raw: dict) -> None:
        node = raw
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value

    return change


def _del(*keys) -> Callable[[dict], None]:
    def change(raw: dict) -> None:
        node = raw
        for k in keys[:-1]:
            node = node[k]
        del node[keys[-1]]

    return change


def _quote_instead_of_assumption(*keys) -> Callable[[dict], None]:
    """A magnitude that cites a quote but no longer states the assumption behind its size."""

    def change(raw: dict) -> None:
        node = raw
        for k in keys:
            node = node[k]
        del node["assumption"]
        node["source"] = {"seed": SEED, "quote": OTHER_QUOTE}

    return change


def _too_large(raw: dict) -> None:
    for k in range(5):
        raw["issues"][f"extra{k}"] = {"label": "Extra", "options": [f"o{j}" for j in range(8)]}


CASES = {
    # ---- the schema: keys, types, ranges
    "unknown key in a position": (
        _set("parties", "b", "positions", "arms", "colour", "red"),
        "parties.b.positions.arms.colour",
    ),
    "unknown top-level key": (_set("replicatons", 5), "replicatons"),
    "unknown key in the mediator": (_set("mediator", "patience", 3), "mediator.patience"),
    "old key kept from an earlier schema": (_set("rounds", 12), "rounds"),
    "text for a number": (_set("parties", "b", "margin", "mean", "high"), "parties.b.margin.mean"),
    "text for a list": (_set("issues", "scope", "options", "none"), "issues.scope.options"),
    "list for a table": (
        _set("parties", "b", "positions", "arms", "values", [0.1, 0.2]),
        "parties.b.positions.arms.values",
    ),
    "fraction for a whole number": (_set("calendar", "horizon_days", 12.5), "calendar.horizon_days"),
    "quoted number for a whole number": (_set("calendar", "horizon_days", "30"), "calendar.horizon_days"),
    "quoted word for a boolean": (_set("parties", "b", "required", "yes"), "parties.b.required"),
    "value out of range": (
        _set("parties", "a", "positions", "arms", "values", "no", 1.5),
        "parties.a.positions.arms.values.no",
    ),
    "probability out of range": (
        _set("events", "summit", "daily_probability", 1.5),
        "events.summit.daily_probability",
    ),
    "violation probability out of range": (
        _set("truce", "violations", "daily_probability", -0.1),
        "truce.violations.daily_probability",
    ),
    "truce of no days": (_set("truce", "days", 0), "truce.days"),
    "horizon of no days": (_set("calendar", "horizon_days", 0), "calendar.horizon_days"),
    "start that is not a date": (_set("calendar", "start", "13 March 2025"), "calendar.start"),
    "not-a-number for a number": (
        _set("parties", "b", "margin", "mean", float("nan")),
        "parties.b.margin.mean",
    ),
    "infinity for a number": (
        _set("parties", "a", "war", "land", "mean", float("-inf")),
        "parties.a.war.land.mean",
    ),
    "unknown lever kind": (_set("levers", "pressure", "kind", "bribe"), "levers.pressure.kind"),
    "unknown lever policy": (_set("levers", "pressure", "policy", "from_round"), "levers.pressure.policy"),
    "id with a hyphen": (
        _set("issues", "scope", "options", ["none", "part-ial", "full"]),
        "issues.scope.options.1",
    ),
    "missing table": (_del("parties", "b", "margin"), "parties.b.margin"),
    "missing truce": (_del("truce"), "truce"),
    # ---- references
    "opening option that does not exist": (
        _set("opening", "package", "scope", "total"),
        "opening.package.scope",
    ),
    "opening issue that does not exist": (
        _set("opening", "package", "tempo", "fast"),
        "opening.package.tempo",
    ),
    "opening without every issue": (_del("opening", "package", "arms"), "opening.package"),
    "opening that matches no outcome class": (
        _set("classes", {"truce": {"label": "Truce", "when": {"scope": ["partial"]}}}),
        "opening.package",
    ),
    "opening with a tied term and no truce": (
        _set("opening", "package", {"scope": "none", "arms": "yes", "verification": "none"}),
        "opening.package",
    ),
    "nothing to negotiate": (
        _set("classes", {"truce": {"label": "Truce", "when": {"scope": ["full"]}}}),
        "classes",
    ),
    "red line option that does not exist": (
        _set("parties", "b", "red_lines", "no_full", "option", "total"),
        "parties.b.red_lines.no_full",
    ),
    "red line issue that does not exist": (
        _set("parties", "b", "red_lines", "no_full", "issue", "tempo"),
        "parties.b.red_lines.no_full",
    ),
    "class option that does not exist": (
        _set("classes", "truce", "when", "scope", ["partial", "total"]),
        "classes.truce.when.scope",
    ),
    "interaction option that does not exist": (
        _set("parties", "b", "interactions", "reprieve", "when", "scope", "total"),
        "parties.b.interactions.reprieve.when.scope",
    ),
    "interaction issue that does not exist": (
        _set("parties", "b", "interactions", "reprieve", "when", {"tempo": "fast"}),
        "parties.b.interactions.reprieve.when.tempo",
    ),
    "conditional consent option that does not exist": (
        _set("parties", "b", "required_when", {"arms": ["maybe"]}),
        "parties.b.required_when.arms",
    ),
    "value for an option that does not exist": (
        _set("parties", "b", "positions", "arms", "values", "maybe", 0.5),
        "parties.b.positions.arms.values",
    ),
    "no value for an option": (
        _del("parties", "a", "positions", "arms", "values", "yes"),
        "parties.a.positions.arms.values",
    ),
    "position on an issue that does not exist": (
        _set("parties", "a", "positions", "tempo", {"weight": 0.0, "values": {"x": 0.1}, "assumption": WHY}),
        "parties.a.positions.tempo",
    ),
    "truce option values given in positions": (
        _set(
            "parties",
            "a",
            "positions",
            "scope",
            {"weight": 0.0, "values": {"none": 0.0, "partial": 0.5, "full": 1.0}, "assumption": WHY},
        ),
        "parties.a.positions.scope",
    ),
    "no position on an issue": (_del("parties", "a", "positions", "arms"), "parties.a.positions"),
    "weights not summing to 1": (
        _set("parties", "b", "positions", "arms", "weight", 0.6),
        "parties.b.positions",
    ),
    "war on a front that does not exist": (
        _set("parties", "a", "war", "sea", uncertain(-0.001)),
        "parties.a.war",
    ),
    "concession that is not positive": (
        _set("parties", "a", "concession", "mean", 0.0),
        "parties.a.concession.mean",
    ),
    "tolerance that is not positive": (
        _set("parties", "b", "tolerance", "mean", -1.0),
        "parties.b.tolerance.mean",
    ),
    "negative margin": (_set("parties", "b", "margin", "mean", -0.1), "parties.b.margin.mean"),
    "veto weights not summing to 1": (
        _set("parties", "b", "veto", "weights", {"arms": 0.5, "verification": 0.3}),
        "parties.b.veto.weights",
    ),
    "veto weight on the truce issue": (
        _set("parties", "b", "veto", "weights", {"scope": 0.5, "arms": 0.5}),
        "parties.b.veto.weights.scope",
    ),
    "veto values for an option that does not exist": (
        _set("parties", "b", "veto", "values", {"arms": {"no": 0.0, "yes": 1.0, "maybe": 0.5}}),
        "parties.b.veto.values.arms",
    ),
    "veto values on the truce issue": (
        _set("parties", "b", "veto", "values", {"scope": {"none": 0.0, "partial": 0.5, "full": 1.0}}),
        "parties.b.veto.values.scope",
    ),
    "unknown mediator party": (_set("mediator", "party", "c"), "mediator.party"),
    "mediator that never gives up": (
        _set("mediator", "give_up", {"assumption": "the envoy never stops"}),
        "mediator.give_up",
    ),
    "unknown lever target": (_set("levers", "pressure", "target", "c"), "levers.pressure.target"),
    "lever on a front that does not exist": (
        _set("levers", "pressure", "fronts", ["sea"]),
        "levers.pressure.fronts",
    ),
    "unknown event party": (_set("events", "summit", "war_shift", {"c": 0.1}), "events.summit.war_shift"),
    "reserved class id no_agreement": (
        _set("classes", "no_agreement", {"label": "x", "when": {}}),
        "classes.no_agreement",
    ),
    "reserved class id any_agreement": (
        _set("classes", "any_agreement", {"label": "x", "when": {}}),
        "classes.any_agreement",
    ),
    # ---- the truce and the dynamics
    "truce on an issue that does not exist": (_set("truce", "issue", "tempo"), "truce.issue"),
    "truce that does not say what an option closes": (_del("truce", "closes", "partial"), "truce.closes"),
    "truce that closes a front that does not exist": (
        _set("truce", "closes", "partial", ["sea"]),
        "truce.closes.partial",
    ),
    "truce whose first option closes a front": (
        _set("truce", "closes", "none", ["energy"]),
        "truce.closes.none",
    ),
    "term tied to the truce that is the truce": (_set("truce", "tied", ["scope"]), "truce.tied"),
    "term tied to the truce that does not exist": (_set("truce", "tied", ["tempo"]), "truce.tied"),
    "monitoring on an option that does not exist": (
        _set("truce", "violations", "monitored_when", {"verification": "drones"}),
        "truce.violations.monitored_when.verification",
    ),
    "momentum on a front that does not exist": (
        _set("dynamics", "momentum", "front", "sea"),
        "dynamics.momentum.front",
    ),
    "rebuild on an option that does not exist": (
        _set("dynamics", "rebuild", "rearms", "when", {"arms": "maybe"}),
        "dynamics.rebuild.rearms.when.arms",
    ),
    # ---- provenance
    "quote not in the seed": (
        _set("mediator", "source", "quote", "agreed to meet again next month in Geneva"),
        "mediator.source.quote",
    ),
    "seed file that does not exist": (
        _set("mediator", "source", "seed", "interview.txt"),
        "mediator.source.seed",
    ),
    "a margin's size quoted without an assumption": (
        _quote_instead_of_assumption("parties", "b", "margin"),
        "parties.b.margin",
    ),
    "a position's size quoted without an assumption": (
        _quote_instead_of_assumption("parties", "a", "positions", "arms"),
        "parties.a.positions.arms",
    ),
    "a truce's length quoted without an assumption": (_quote_instead_of_assumption("truce"), "truce"),
    "neither source nor assumption on a number": (
        _del("parties", "b", "margin", "assumption"),
        "parties.b.margin",
    ),
    "neither source nor assumption on a red line": (
        _del("parties", "b", "red_lines", "no_full", "assumption"),
        "parties.b.red_lines.no_full",
    ),
    "too many packages to enumerate": (_too_large, "issues"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_broken_file_is_one_line_naming_file_and_field(case, project, capsys):
    change, field = CASES[case]
    raw = valid_raw()
    change(raw)
    path = write_toml(project / "scenarios" / "broken.toml", raw)
    assert_user_error(path, field, project, capsys)


@pytest.mark.parametrize(
    ("change", "allowed"),
    [
        (_set("opening", "package", "scope", "total"), "none, partial, full"),
        (_set("truce", "closes", "partial", ["sea"]), "land, energy"),
        (_set("truce", "tied", ["scope"]), "arms, verification"),
        (_set("mediator", "party", "c"), "a, b"),
        (_set("parties", "b", "positions", "arms", "values", "maybe", 0.5), "no, yes"),
        (
            _set(
                "parties", "a", "positions", "tempo", {"weight": 0.0, "values": {"x": 0.1}, "assumption": WHY}
            ),
            "allowed: arms, verification",
        ),
    ],
    ids=["option", "front", "term", "party", "values", "position issue"],
)
def test_the_message_says_what_is_allowed(change, allowed, project, capsys):
    raw = valid_raw()
    change(raw)
    line = assert_user_error(write_toml(project / "scenarios" / "broken.toml", raw), None, project, capsys)
    assert allowed in line, f"the message does not say what is allowed ({allowed}): {line}"


def test_the_truce_is_valued_by_its_fronts_not_by_option_values(project, capsys):
    raw = valid_raw()
    CASES["truce option values given in positions"][0](raw)
    line = assert_user_error(write_toml(project / "scenarios" / "t.toml", raw), None, project, capsys)
    assert "parties.<id>.war" in line


def test_a_quote_and_an_assumption_together_are_valid(project, capsys):
    raw = valid_raw()
    raw["parties"]["b"]["margin"]["source"] = {"seed": SEED, "quote": OTHER_QUOTE}
    raw["mediator"]["assumption"] = "the envoy's rhythm is assumed"
    path = write_toml(project / "scenarios" / "both.toml", raw)
    code, _, err = cli(["validate", path], capsys)
    assert (code, err) == (0, "")
    margin = load_scenario(path).parties["b"].margin
    assert margin.source.quote == OTHER_QUOTE and margin.assumption == WHY


def test_a_number_without_an_assumption_says_to_add_one(project, capsys):
    raw = valid_raw()
    _quote_instead_of_assumption("parties", "b", "margin")(raw)
    line = assert_user_error(write_toml(project / "scenarios" / "q.toml", raw), None, project, capsys)
    assert "assumption" in line


def test_a_mediator_may_give_up_by_day_alone(project, capsys):
    raw = valid_raw()
    raw["mediator"]["give_up"] = {"after_days": 28, "assumption": WHY}
    path = write_toml(project / "scenarios" / "by_day.toml", raw)
    assert cli(["validate", path], capsys)[0] == 0
    give_up = load_scenario(path).mediator.give_up
    assert (give_up.after_stalled_days, give_up.after_days) == (None, 28)


def test_too_large_an_outcome_space_says_how_large(project, capsys):
    raw = valid_raw()
    _too_large(raw)
    line = assert_user_error(write_toml(project / "scenarios" / "huge.toml", raw), "issues", project, capsys)
    assert "393,216" in line


def test_toml_syntax_error(project, capsys):
    path = project / "scenarios" / "typo.toml"
    path.write_text('title = "Typo"\nseed = = 3\n', encoding="utf-8")
    line = assert_user_error(path, None, project, capsys)
    assert "TOML" in line


def test_missing_file(project, capsys):
    assert_user_error(project / "scenarios" / "absent.toml", None, project, capsys)


@pytest.mark.parametrize("chain", [["self"], ["first", "second"], ["first", "second", "third"]])
def test_circular_extends(chain, project, capsys):
    folder = project / "scenarios"
    for name, parent in zip(chain, [*chain[1:], chain[0]], strict=True):
        (folder / f"{name}.toml").write_text(
            f'extends = "{parent}.toml"\ntitle = "{name}"\n', encoding="utf-8"
        )
    line = assert_user_error(folder / f"{chain[0]}.toml", "extends", project, capsys)
    assert "circular" in line


def test_extends_a_file_that_does_not_exist(project, capsys):
    path = project / "scenarios" / "orphan.toml"
    path.write_text('extends = "nowhere.toml"\ntitle = "Orphan"\nsummary = "x"\n', encoding="utf-8")
    line = assert_user_error(path, None, project, capsys)
    assert "nowhere.toml" in line and "extends" in line


def test_extends_that_is_not_a_file_name(project, capsys):
    path = project / "scenarios" / "odd.toml"
    path.write_text('extends = 3\ntitle = "Odd"\n', encoding="utf-8")
    assert_user_error(path, "extends", project, capsys)


def test_an_error_in_one_file_stops_validate_of_several(project, capsys):
    good = write_toml(project / "scenarios" / "good.toml", valid_raw())
    raw = valid_raw()
    raw["calendar"]["horizon_days"] = 0
    bad = write_toml(project / "scenarios" / "bad.toml", raw)
    code, _, err = cli(["validate", good, bad], capsys)
    assert code == 2 and len(err.splitlines()) == 1 and "bad.toml" in err and "calendar.horizon_days" in err


# ---------------------------------------------------------------- extends


def child_file(project: Path, body: str, name: str = "child.toml") -> Path:
    write_toml(project / "scenarios" / "parent.toml", valid_raw())
    path = project / "scenarios" / name
    path.write_text('extends = "parent.toml"\n' + body, encoding="utf-8")
    return path


def test_a_child_differs_from_its_parent_only_where_it_says(project):
    path = child_file(
        project, 'title = "Child"\nsummary = "One number changed."\n\n[parties.b.margin]\nmean = 0.55\n'
    )
    parent = flatten(load_scenario(project / "scenarios" / "parent.toml").model_dump())
    child = flatten(load_scenario(path).model_dump())
    assert set(parent) == set(child)
    changed = {k for k in parent if parent[k] != child[k]}
    assert changed == {"title", "summary", "parties.b.margin.mean", "name", "path", "sha256", "parent"}
    assert child["parties.b.margin.mean"] == 0.55 and child["parent"] == "parent"
    assert child["title"] == "Child" and child["summary"] == "One number changed."
    assert child["parties.b.margin.sd"] == parent["parties.b.margin.sd"] == 0.05
    assert child["parties.b.margin.assumption"] == parent["parties.b.margin.assumption"] == WHY


def test_a_child_can_add_a_table_and_a_grandchild_inherits_both(project):
    child_file(
        project,
        'title = "Child"\nsummary = "Adds a lever."\n\n'
        '[levers.relief]\nlabel = "Relief"\nholder = "a"\ntarget = "b"\nkind = "carrot"\n'
        'strength = 1\noption = { arms = "yes" }\nassumption = "test"\n',
    )
    grandchild = project / "scenarios" / "grandchild.toml"
    grandchild.write_text(
        'extends = "child.toml"\ntitle = "Grandchild"\nsummary = "Shorter."\n'
        "\n[calendar]\nhorizon_days = 21\n",
        encoding="utf-8",
    )
    sc = load_scenario(grandchild)
    assert set(sc.levers) == {"pressure", "relief"}
    assert sc.calendar.horizon_days == 21 and sc.days == 21 and sc.title == "Grandchild"
    assert sc.calendar.contacts.mean_interval_days == 7 and sc.calendar.assumption == WHY
    assert sc.parties["b"].margin.mean == 0.1 and sc.parent == "child"


def test_a_child_does_not_inherit_the_parents_title(project, capsys):
    path = child_file(project, "seed = 4\n", name="untitled.toml")
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert e.value.where == "title"
    assert_user_error(path, "title", project, capsys)


def test_a_childs_mistake_is_reported_against_the_child(project, capsys):
    path = child_file(
        project,
        'title = "Child"\nsummary = "x"\n\n[opening.package]\nscope = "total"\n',
        name="wrong_child.toml",
    )
    assert_user_error(path, "opening.package.scope", project, capsys)


def test_scenarios_with_identical_content_hash_alike_and_a_change_changes_it(project):
    a = write_toml(project / "scenarios" / "a.toml", valid_raw())
    raw = copy.deepcopy(valid_raw())
    b = write_toml(project / "scenarios" / "b.toml", raw)
    raw["parties"]["a"]["margin"]["mean"] = 0.06
    c = write_toml(project / "scenarios" / "c.toml", raw)
    ha, hb, hc = (load_scenario(p).sha256 for p in (a, b, c))
    assert ha == hb != hc


# ---------------------------------------------------------------- hypotheses (expect)

EXPECT = """
[expect.more_truces]
outcome = "{outcome}"
direction = "{direction}"
theory = "pressure moves the holdout"
assumption = "test"
{day}"""


def expect_block(outcome: str = "truce", direction: str = "up", day: int | None = None) -> str:
    return EXPECT.format(outcome=outcome, direction=direction, day="" if day is None else f"day = {day}\n")


def test_a_hypothesis_against_the_parent_validates(project):
    path = child_file(project, 'title = "Child"\nsummary = "x"\n' + expect_block(day=28))
    ex = load_scenario(path).expect["more_truces"]
    assert (ex.outcome, ex.direction, ex.day) == ("truce", "up", 28)
    for outcome in ("any_agreement", "no_agreement"):  # not classes, but outcomes a hypothesis may name
        other = child_file(
            project, 'title = "C"\nsummary = "x"\n' + expect_block(outcome), name=f"{outcome}.toml"
        )
        assert load_scenario(other).expect["more_truces"].outcome == outcome


@pytest.mark.parametrize(
    ("block", "field", "allowed"),
    [
        (
            expect_block(outcome="ceasefire"),
            "expect.more_truces.outcome",
            "truce, talks, any_agreement, no_agreement",
        ),
        (expect_block(day=36), "expect.more_truces.day", "horizon (35)"),
        (expect_block(direction="sideways"), "expect.more_truces.direction", "'up' or 'down'"),
        (expect_block(day=0), "expect.more_truces.day", "greater than or equal to 1"),
    ],
    ids=["unknown outcome", "day after the horizon", "unknown direction", "day zero"],
)
def test_a_broken_hypothesis_names_its_field(block, field, allowed, project, capsys):
    path = child_file(project, 'title = "Child"\nsummary = "x"\n' + block, name="broken_expect.toml")
    line = assert_user_error(path, field, project, capsys)
    assert allowed in line


def test_a_hypothesis_without_theory_is_refused(project, capsys):
    block = expect_block().replace('theory = "pressure moves the holdout"\n', "")
    path = child_file(project, 'title = "Child"\nsummary = "x"\n' + block, name="no_theory.toml")
    assert_user_error(path, "expect.more_truces.theory", project, capsys)


def test_a_hypothesis_needs_a_scenario_to_be_tested_against(project, capsys):
    path = write_toml(project / "scenarios" / "alone.toml", valid_raw())
    path.write_text(path.read_text(encoding="utf-8") + expect_block(), encoding="utf-8")
    line = assert_user_error(path, "expect.more_truces", project, capsys)
    assert "extends" in line


def test_a_variant_does_not_inherit_its_parents_hypotheses(project):
    child_file(project, 'title = "Child"\nsummary = "x"\n' + expect_block())
    grandchild = project / "scenarios" / "grandchild.toml"
    grandchild.write_text('extends = "child.toml"\ntitle = "G"\nsummary = "y"\n', encoding="utf-8")
    assert load_scenario(project / "scenarios" / "child.toml").expect
    assert load_scenario(grandchild).expect == {}
