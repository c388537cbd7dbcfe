"""Scenario files a user got wrong: one line naming the file and the field, exit code 2, nothing written.

Each case starts from a small valid file and breaks exactly one thing in it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import flatten, party_raw, scenario_raw, write_toml

from sim.cli import main
from sim.scenario import ScenarioError, load_scenario

SEED = "article.txt"
ARTICLE = """Talks resumed on Monday.
The envoy said both sides had agreed to meet again
next week in Geneva to discuss the terms of a truce.
"""
QUOTE = "agreed to meet again next week in Geneva"  # spans a line break in the seed


def valid_raw() -> dict:
    issues = {"scope": ["none", "partial", "full"], "arms": ["no", "yes"]}
    a = party_raw(
        {"scope": 0.7, "arms": 0.3},
        {"scope": {"none": 0.0, "partial": 0.5, "full": 1.0}, "arms": {"no": 1.0, "yes": 0.2}},
        reservation=0.3,
        opening=0.7,
    )
    b = party_raw(
        {"scope": 0.5, "arms": 0.5},
        {"scope": {"none": 1.0, "partial": 0.6, "full": 0.3}, "arms": {"no": 0.0, "yes": 1.0}},
        reservation=0.4,
        opening=0.8,
        sd=0.05,
    )
    b["interactions"] = {
        "reprieve": {"when": {"scope": "full", "arms": "no"}, "value": -0.1, "assumption": "test"}
    }
    b["red_lines"] = {"no_full": {"issue": "scope", "option": "full", "assumption": "test"}}
    b["required_when"] = {"arms": ["yes"]}
    b["veto"] = {
        "label": "Hardliners",
        "weights": {"scope": 0.5, "arms": 0.5},
        "threshold": {"mean": 0.4, "sd": 0.1, "assumption": "test"},
        "assumption": "test",
    }
    raw = scenario_raw(
        issues,
        {"a": a, "b": b},
        opening={"scope": "full", "arms": "no"},
        classes={"truce": {"scope": ["partial", "full"]}, "talks": {}},
        levers={"pressure": {"holder": "a", "target": "b", "kind": "stick", "strength": 0.05}},
        events={"summit": {"probability": 0.2, "reservation_shift": {"b": -0.05}}},
        replications=20,
        rounds=5,
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
    assert sc.n_packages == 6 and sc.mediator.source.quote == QUOTE


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


def _both(raw: dict) -> None:
    raw["parties"]["b"]["reservation"]["source"] = {"seed": SEED, "quote": QUOTE}


def _too_large(raw: dict) -> None:
    for k in range(5):
        raw["issues"][f"extra{k}"] = {"label": "Extra", "options": [f"o{j}" for j in range(8)]}


CASES = {
    "unknown key in a position": (
        _set("parties", "b", "positions", "scope", "colour", "red"),
        "parties.b.positions.scope.colour",
    ),
    "unknown top-level key": (_set("replicatons", 5), "replicatons"),
    "unknown key in the mediator": (_set("mediator", "patience", 3), "mediator.patience"),
    "text for a number": (_set("parties", "b", "reservation", "mean", "high"), "parties.b.reservation.mean"),
    "text for a list": (_set("issues", "scope", "options", "none"), "issues.scope.options"),
    "list for a table": (
        _set("parties", "b", "positions", "scope", "values", [0.1, 0.2, 0.3]),
        "parties.b.positions.scope.values",
    ),
    "fraction for a whole number": (_set("rounds", 12.5), "rounds"),
    "quoted number for a whole number": (_set("rounds", "30"), "rounds"),
    "quoted word for a boolean": (_set("parties", "b", "required", "yes"), "parties.b.required"),
    "value out of range": (
        _set("parties", "a", "positions", "arms", "values", "no", 1.5),
        "parties.a.positions.arms.values.no",
    ),
    "probability out of range": (_set("events", "summit", "probability", 1.5), "events.summit.probability"),
    "unknown lever kind": (_set("levers", "pressure", "kind", "bribe"), "levers.pressure.kind"),
    "id with a hyphen": (
        _set("issues", "scope", "options", ["none", "part-ial", "full"]),
        "issues.scope.options.1",
    ),
    "missing table": (_del("parties", "b", "reservation"), "parties.b.reservation"),
    "opening option that does not exist": (
        _set("opening", "package", "scope", "total"),
        "opening.package.scope",
    ),
    "opening issue that does not exist": (
        _set("opening", "package", "tempo", "fast"),
        "opening.package.tempo",
    ),
    "opening without every issue": (_del("opening", "package", "arms"), "opening.package"),
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
        _set("parties", "b", "positions", "scope", "values", "total", 0.5),
        "parties.b.positions.scope.values",
    ),
    "no value for an option": (
        _del("parties", "a", "positions", "scope", "values", "full"),
        "parties.a.positions.scope.values",
    ),
    "position on an issue that does not exist": (
        _set(
            "parties", "a", "positions", "tempo", {"weight": 0.0, "values": {"x": 0.1}, "assumption": "test"}
        ),
        "parties.a.positions.tempo",
    ),
    "no position on an issue": (_del("parties", "a", "positions", "arms"), "parties.a.positions"),
    "weights not summing to 1": (
        _set("parties", "b", "positions", "arms", "weight", 0.6),
        "parties.b.positions",
    ),
    "veto weights not summing to 1": (
        _set("parties", "b", "veto", "weights", {"scope": 0.5, "arms": 0.3}),
        "parties.b.veto.weights",
    ),
    "unknown mediator party": (_set("mediator", "party", "c"), "mediator.party"),
    "unknown lever target": (_set("levers", "pressure", "target", "c"), "levers.pressure.target"),
    "unknown event party": (
        _set("events", "summit", "reservation_shift", {"c": 0.1}),
        "events.summit.reservation_shift",
    ),
    "reserved class id": (
        _set("classes", "no_agreement", {"label": "x", "when": {}}),
        "classes.no_agreement",
    ),
    "quote not in the seed": (
        _set("mediator", "source", "quote", "agreed to meet again next month in Geneva"),
        "mediator.source.quote",
    ),
    "seed file that does not exist": (
        _set("mediator", "source", "seed", "interview.txt"),
        "mediator.source.seed",
    ),
    "both source and assumption": (_both, "parties.b.reservation"),
    "neither source nor assumption": (
        _del("parties", "b", "reservation", "assumption"),
        "parties.b.reservation",
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


def test_too_large_an_outcome_space_says_how_large(project, capsys):
    raw = valid_raw()
    _too_large(raw)
    line = assert_user_error(write_toml(project / "scenarios" / "huge.toml", raw), "issues", project, capsys)
    assert "196,608" in line or "196608" in line


def test_toml_syntax_error(project, capsys):
    path = project / "scenarios" / "typo.toml"
    path.write_text('title = "Typo"\nrounds = = 3\n', encoding="utf-8")
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
    raw["rounds"] = 0
    bad = write_toml(project / "scenarios" / "bad.toml", raw)
    code, _, err = cli(["validate", good, bad], capsys)
    assert code == 2 and len(err.splitlines()) == 1 and "bad.toml" in err and "rounds" in err


# ---------------------------------------------------------------- extends


def child_file(project: Path, body: str, name: str = "child.toml") -> Path:
    write_toml(project / "scenarios" / "parent.toml", valid_raw())
    path = project / "scenarios" / name
    path.write_text('extends = "parent.toml"\n' + body, encoding="utf-8")
    return path


def test_a_child_differs_from_its_parent_only_where_it_says(project):
    path = child_file(
        project, 'title = "Child"\nsummary = "One number changed."\n\n[parties.b.reservation]\nmean = 0.55\n'
    )
    parent = flatten(load_scenario(project / "scenarios" / "parent.toml").model_dump())
    child = flatten(load_scenario(path).model_dump())
    assert set(parent) == set(child)
    changed = {k for k in parent if parent[k] != child[k]}
    assert changed == {"title", "summary", "parties.b.reservation.mean", "name", "path", "sha256"}
    assert child["parties.b.reservation.mean"] == 0.55
    assert child["title"] == "Child" and child["summary"] == "One number changed."
    assert child["parties.b.reservation.sd"] == parent["parties.b.reservation.sd"] == 0.05


def test_a_child_can_add_a_table_and_a_grandchild_inherits_both(project):
    child_file(
        project,
        'title = "Child"\nsummary = "Adds a lever."\n\n'
        '[levers.relief]\nlabel = "Relief"\nholder = "a"\ntarget = "b"\nkind = "carrot"\n'
        'strength = 0.1\nassumption = "test"\n',
    )
    grandchild = project / "scenarios" / "grandchild.toml"
    grandchild.write_text(
        'extends = "child.toml"\ntitle = "Grandchild"\nsummary = "Fewer rounds."\nrounds = 3\n',
        encoding="utf-8",
    )
    sc = load_scenario(grandchild)
    assert set(sc.levers) == {"pressure", "relief"}
    assert sc.rounds == 3 and sc.title == "Grandchild"
    assert sc.parties["b"].reservation.mean == 0.4


def test_a_child_does_not_inherit_the_parents_title(project, capsys):
    path = child_file(project, "rounds = 4\n", name="untitled.toml")
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
    raw["parties"]["a"]["reservation"]["mean"] = 0.31
    c = write_toml(project / "scenarios" / "c.toml", raw)
    ha, hb, hc = (load_scenario(p).sha256 for p in (a, b, c))
    assert ha == hb != hc
