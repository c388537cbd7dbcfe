"""Scenario files: TOML in, a validated :class:`Scenario` out.

A file may say ``extends = "baseline.toml"``: the parent is loaded first and the child's tables are
merged into it key by key, so a variant states only what it changes. After the schema, the loader
checks every reference (issues, options, parties) and every quote against ``seeds/``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.errors import ScenarioError, UserError, show
from sim.scenario.files import MAX_SCENARIO_BYTES, project_root, read_text, resolve_extends
from sim.scenario.limits import REPLICATIONS
from sim.scenario.schema import MAX_PACKAGES, MAX_SEED, Scenario
from sim.scenario.seeds import check_quotes

# ---------------------------------------------------------------- loading


MAX_DEPTH = 16  # tables and arrays nested deeper than this are no scenario (the bundled ones use 5)


def _read_toml(path: Path, scenario: Path, where: str) -> dict[str, Any]:
    """Parse one file; errors name ``scenario`` (the file the user ran, or the one extending this)."""
    pointed = scenario != path
    what = "parent file" if pointed else "file"
    try:
        text = read_text(path, MAX_SCENARIO_BYTES, scenario, where, what)
    except ScenarioError as e:
        if not pointed and "No such file" in e.message:
            raise ScenarioError(scenario, "", "no such file") from None
        raise
    prefix = f"{what} '{show(path.name)}' is " if pointed else ""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(scenario, where, f"{prefix}not valid TOML: {show(e, 200)}") from None
    except RecursionError:
        raise ScenarioError(
            scenario, where, f"{prefix}nested too deeply (at most {MAX_DEPTH} levels of tables and arrays)"
        ) from None
    too_deep = _too_deep(data)
    if too_deep is not None:
        field = where or too_deep
        raise ScenarioError(
            scenario, field, f"{prefix}nested too deeply (at most {MAX_DEPTH} levels of tables and arrays)"
        )
    return data


def read_toml(path: str | Path) -> dict[str, Any]:
    """A TOML file the user named (observations, answers): read as strictly as a scenario file."""
    return _read_toml(Path(path), Path(path), "")


def _too_deep(data: Any) -> str | None:
    """The dotted path (shortened) where ``data`` nests deeper than MAX_DEPTH, if it does."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_DEPTH:
            return ".".join(path[:4]) + ". ..."
        if isinstance(node, dict):
            stack.extend((v, (*path, str(k))) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*path, str(i))) for i, v in enumerate(node))
    return None


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``over`` into a copy of ``base``: tables merge key by key, anything else replaces.

    Provenance merges like any field: a variant that changes a number states its own assumption
    beside the parent's quote, which still says what the party wants.
    """
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_raw(path: str | Path, root: str | Path | None = None) -> dict[str, Any]:
    """The scenario as one dict, with ``extends`` resolved (parents first).

    Every file read lies inside the scenario's project folder (see sim.scenario.files).
    """
    path = Path(path)
    return _load_chain(path, project_root(path, root), path, ())


def _load_chain(path: Path, root: Path, pointer: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    real = path.resolve() if not chain else path
    if real in chain:
        names = " -> ".join(show(p.name, 40) for p in (*chain, real))
        raise ScenarioError(pointer, "extends", f"circular: {names}")
    data = _read_toml(real if chain else path, pointer, "extends" if chain else "")
    parent = data.pop("extends", None)
    if parent is None:
        return data
    target = resolve_extends(parent, real if chain else path, root)
    # Problems in a parent are reported against the file the user ran, which is what they edit.
    base = _load_chain(target, root, pointer if chain else path, (*chain, real))
    # A variant's header and hypotheses are its own; it never inherits the parent's.
    for own in ("title", "summary", "expect"):
        base.pop(own, None)
    return merge(base, data)


def parent_name(path: str | Path) -> str:
    """The name of the scenario a file extends ('' if none)."""
    parent = _read_toml(Path(path), Path(path), "").get("extends")
    return Path(parent).stem if isinstance(parent, str) else ""


def canonical_hash(raw: dict[str, Any]) -> str:
    blob = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def _loc(loc: tuple[Any, ...]) -> str:
    # pydantic adds the union/tag member names to the location; users never wrote those.
    return ".".join(str(p) for p in loc if not str(p).startswith("function-"))


def schema_error(path: str | Path, e: ValidationError) -> ScenarioError:
    """The first problem pydantic found, as one line naming the file and the field."""
    err = e.errors()[0]
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif err["type"] == "missing":
        msg = "required field is missing"
    return ScenarioError(path, _loc(err["loc"]), msg)


def validate(
    raw: dict[str, Any],
    path: str | Path,
    name: str | None = None,
    parent: str = "",
    root: str | Path | None = None,
) -> Scenario:
    """Validate a merged scenario dict; raise :class:`ScenarioError` with the first problem.

    Quotes are checked against the seeds of ``root`` (by default, the project folder of ``path``).
    """
    path = Path(path)
    try:
        sc = Scenario.model_validate(raw)
    except RecursionError:
        raise ScenarioError(path, "", f"nested too deeply (at most {MAX_DEPTH} levels)") from None
    except ValidationError as e:
        raise schema_error(path, e) from None
    if sc.replications > REPLICATIONS.value():
        raise ScenarioError(path, "replications", REPLICATIONS.allowed())
    _check_references(sc, path)
    project = Path(root) if root is not None else project_root(path)
    check_quotes(sc, path, project)
    update = {"name": name or path.stem, "path": str(path), "sha256": canonical_hash(raw), "parent": parent}
    out = sc.model_copy(update=update)
    out._root = str(project)
    return out


def load_scenario(path: str | Path, root: str | Path | None = None) -> Scenario:
    """Read, merge (``extends``) and validate a scenario file (reading only inside its project)."""
    path = Path(path)
    project = project_root(path, root)
    sc = validate(load_raw(path, project), path, parent=parent_name(path), root=project)
    if sc.expect and not sc.parent:
        xid = next(iter(sc.expect))
        raise ScenarioError(
            path,
            f"expect.{xid}",
            "a hypothesis is tested against the scenario this file extends; add extends",
        )
    return sc


# ---------------------------------------------------------------- cross-checks


def _listed(names) -> str:
    """Ids for a message: escaped, and cut short if there are many."""
    return show(", ".join(map(str, names)), 200)


def _check_package(sc: Scenario, pkg: dict[str, str], where: str, path: Path, full: bool) -> None:
    for issue, opt in pkg.items():
        _check_option(sc, issue, opt, f"{where}.{issue}", path)
    if full and set(pkg) != set(sc.issues):
        missing = _listed(sorted(set(sc.issues) - set(pkg)))
        raise ScenarioError(path, where, f"must give one option for every issue; missing: {missing}")


def _check_option(sc: Scenario, issue: str, opt: str, where: str, path: Path) -> None:
    if issue not in sc.issues:
        raise ScenarioError(path, where, f"unknown issue '{show(issue)}'; allowed: {_listed(sc.issues)}")
    options = sc.issues[issue].options
    if opt not in options:
        raise ScenarioError(
            path,
            where,
            f"unknown option '{show(opt)}' for issue '{show(issue)}'; allowed: {_listed(options)}",
        )


def _check_party(sc: Scenario, pid: str, where: str, path: Path) -> None:
    if pid not in sc.parties:
        raise ScenarioError(path, where, f"unknown party '{show(pid)}'; allowed: {_listed(sc.parties)}")


def _check_weights(weights: dict[str, float], where: str, path: Path, sc: Scenario) -> None:
    for issue in weights:
        if issue not in sc.issues or issue == sc.truce.issue:
            raise ScenarioError(path, f"{where}.{issue}", f"not a term issue; allowed: {_listed(terms(sc))}")
    total = sum(weights.values())
    if abs(total - 1.0) > 1e-6:
        raise ScenarioError(path, where, f"weights must sum to 1 (they sum to {total:.6g})")


def terms(sc: Scenario) -> list[str]:
    """The issues other than the truce: what parties hold option values for."""
    return [i for i in sc.issues if i != sc.truce.issue]


def _check_fronts(sc: Scenario, fronts: list[str], where: str, path: Path) -> None:
    for f in fronts:
        if f not in sc.fronts:
            raise ScenarioError(path, where, f"unknown front '{show(f)}'; allowed: {_listed(sc.fronts)}")


def _check_values(sc: Scenario, issue: str, values: dict[str, float], where: str, path: Path) -> None:
    options = sc.issues[issue].options
    if set(values) != set(options):
        raise ScenarioError(path, where, f"must give a value for each option: {_listed(options)}")


def _check_truce(sc: Scenario, path: Path) -> None:
    t = sc.truce
    if t.issue not in sc.issues:
        raise ScenarioError(
            path, "truce.issue", f"unknown issue '{show(t.issue)}'; allowed: {_listed(sc.issues)}"
        )
    options = sc.issues[t.issue].options
    if set(t.closes) != set(options):
        raise ScenarioError(
            path, "truce.closes", f"must list the fronts each option closes: {_listed(options)}"
        )
    for opt, fronts in t.closes.items():
        _check_fronts(sc, fronts, f"truce.closes.{opt}", path)
    if t.closes[options[0]]:
        raise ScenarioError(
            path, f"truce.closes.{options[0]}", "the first option is no truce: it closes no front"
        )
    for issue in t.tied:
        if issue not in sc.issues or issue == t.issue:
            raise ScenarioError(
                path, "truce.tied", f"'{show(issue)}' is not a term issue; allowed: {_listed(terms(sc))}"
            )
    _check_package(sc, t.violations.monitored_when, "truce.violations.monitored_when", path, full=False)
    _check_fronts(sc, [sc.dynamics.momentum.front], "dynamics.momentum.front", path)
    for rid, rb in sc.dynamics.rebuild.items():
        _check_package(sc, rb.when, f"dynamics.rebuild.{rid}.when", path, full=False)


def _check_party_positions(sc: Scenario, pid: str, p, path: Path) -> None:
    base = f"parties.{pid}"
    for issue, pos in p.positions.items():
        if issue == sc.truce.issue:
            raise ScenarioError(
                path,
                f"{base}.positions.{issue}",
                "the truce is valued by the fronts it closes (parties.<id>.war), not by option values",
            )
        if issue not in sc.issues:
            allowed = _listed(terms(sc))
            raise ScenarioError(
                path, f"{base}.positions.{issue}", f"unknown issue '{show(issue)}'; allowed: {allowed}"
            )
        _check_values(sc, issue, pos.values, f"{base}.positions.{issue}.values", path)
    if set(p.positions) != set(terms(sc)):
        missing = _listed(sorted(set(terms(sc)) - set(p.positions)))
        raise ScenarioError(path, f"{base}.positions", f"missing issues: {missing}")
    _check_weights({k: v.weight for k, v in p.positions.items()}, f"{base}.positions", path, sc)
    _check_fronts(sc, list(p.war), f"{base}.war", path)


def _check_references(sc: Scenario, path: Path) -> None:
    if sc.n_packages > MAX_PACKAGES:
        raise ScenarioError(
            path,
            "issues",
            f"the outcome space has {sc.n_packages:,} packages; at most {MAX_PACKAGES:,} "
            "can be enumerated (merge or drop options)",
        )
    _check_truce(sc, path)
    for pid, p in sc.parties.items():
        base = f"parties.{pid}"
        _check_party_positions(sc, pid, p, path)
        for iid, it in p.interactions.items():
            _check_package(sc, it.when, f"{base}.interactions.{iid}.when", path, full=False)
        for rid, rl in p.red_lines.items():
            _check_option(sc, rl.issue, rl.option, f"{base}.red_lines.{rid}", path)
        for issue, opts in (p.required_when or {}).items():
            for o in opts:
                _check_option(sc, issue, o, f"{base}.required_when.{issue}", path)
        for name in ("concession", "tolerance"):
            if getattr(p, name).mean <= 0:
                raise ScenarioError(path, f"{base}.{name}.mean", "must be > 0")
        if p.margin.mean < 0:
            raise ScenarioError(path, f"{base}.margin.mean", "must be >= 0 (the margin asked above no deal)")
        if p.veto is not None:
            _check_weights(p.veto.weights, f"{base}.veto.weights", path, sc)
            for issue, values in p.veto.values.items():
                where = f"{base}.veto.values.{issue}"
                if issue not in terms(sc):
                    raise ScenarioError(path, where, f"not a term issue; allowed: {_listed(terms(sc))}")
                _check_values(sc, issue, values, where, path)
    _check_party(sc, sc.mediator.party, "mediator.party", path)
    gu = sc.mediator.give_up
    if gu.after_stalled_days is None and gu.after_days is None:
        raise ScenarioError(path, "mediator.give_up", "give after_stalled_days, after_days, or both")
    if sc.opening is not None:
        _check_package(sc, sc.opening.package, "opening.package", path, full=True)
        if not any(
            all(sc.opening.package[i] in opts for i, opts in cl.when.items()) for cl in sc.classes.values()
        ):
            raise ScenarioError(path, "opening.package", "matches no outcome class, so it is not a deal")
    for lid, lv in sc.levers.items():
        _check_party(sc, lv.holder, f"levers.{lid}.holder", path)
        _check_party(sc, lv.target, f"levers.{lid}.target", path)
        _check_fronts(sc, lv.fronts, f"levers.{lid}.fronts", path)
        _check_carrot(sc, lid, lv, path)
    for eid, ev in sc.events.items():
        for pid in ev.war_shift:
            _check_party(sc, pid, f"events.{eid}.war_shift", path)
    for cid, cl in sc.classes.items():
        for issue, opts in cl.when.items():
            for o in opts:
                _check_option(sc, issue, o, f"classes.{cid}.when.{issue}", path)
    for reserved in ("no_agreement", "any_agreement"):
        if reserved in sc.classes:
            raise ScenarioError(
                path, f"classes.{reserved}", "is reserved (no deal in force / any deal in force)"
            )
    if sc.headline is not None:
        for k, cid in enumerate(sc.headline.classes):
            if cid not in sc.classes:
                raise ScenarioError(
                    path,
                    f"headline.classes.{k}",
                    f"unknown class '{show(cid)}'; allowed: {_listed(sc.classes)}",
                )
    allowed = [*sc.classes, "any_agreement", "no_agreement"]
    for xid, ex in sc.expect.items():
        if ex.outcome not in allowed:
            raise ScenarioError(
                path,
                f"expect.{xid}.outcome",
                f"unknown outcome '{show(ex.outcome)}'; allowed: {_listed(allowed)}",
            )
        if ex.day is not None and ex.day > sc.calendar.horizon_days:
            raise ScenarioError(
                path, f"expect.{xid}.day", f"must be at most the horizon ({sc.calendar.horizon_days})"
            )


def find_scenarios(paths: list[Path]) -> list[Path]:
    """Expand folders to the *.toml files directly inside them (sorted, baseline first)."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.glob("*.toml"), key=lambda f: (f.stem != "baseline", f.name))
            if not found:
                raise UserError(f"{p}: no scenario files (*.toml) in this folder")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise UserError(f"{p}: no such file or folder")
    return files


def with_overrides(sc: Scenario, replications: int | None, seed: int | None) -> Scenario:
    """The scenario with the replications and seed the caller asked for (checked like the file's)."""
    update: dict[str, int] = {}
    if replications is not None:
        if isinstance(replications, bool) or int(replications) != replications or int(replications) < 1:
            raise UserError(f"replications must be a whole number of at least 1 (got {show(replications)})")
        if int(replications) > REPLICATIONS.value():
            asked = show(f"{int(replications):,}", 40)
            raise UserError(f"{asked} replications: {REPLICATIONS.allowed()}")
        update["replications"] = int(replications)
    if seed is not None:
        if isinstance(seed, bool) or int(seed) != seed or not 0 <= int(seed) <= MAX_SEED:
            raise UserError(f"seed must be a whole number in 0..2**64-1 (got {show(seed)})")
        update["seed"] = int(seed)
    if not update:
        return sc
    out = sc.model_copy(update=update)
    out._root = sc._root
    return out


def set_path(raw: dict[str, Any], dotted: str, value: Any, *, inplace: bool = False) -> dict[str, Any]:
    """``raw`` (a copy, unless ``inplace``) with the field at ``dotted`` replaced.

    KeyError if the field does not exist.
    """
    out = raw if inplace else copy.deepcopy(raw)
    node: Any = out
    keys = dotted.split(".")
    for k in keys[:-1]:
        if not isinstance(node, dict) or k not in node:
            raise KeyError(dotted)
        node = node[k]
    if not isinstance(node, dict) or keys[-1] not in node:
        raise KeyError(dotted)
    node[keys[-1]] = value
    return out


def _check_carrot(sc: Scenario, lid: str, lv, path: Path) -> None:
    """A carrot is one option of a term issue (not nothing agreed); a stick names no option."""
    where = f"levers.{lid}.option"
    if lv.kind == "stick":
        if lv.option:
            raise ScenarioError(
                path, where, "a stick names no option; only a carrot is an option of an issue"
            )
        return
    if len(lv.option) != 1:
        raise ScenarioError(
            path, where, 'a carrot is one option of an issue: give option = { ISSUE = "OPTION" }'
        )
    ((issue, option),) = lv.option.items()
    if issue not in sc.issues or issue == sc.truce.issue:
        allowed = _listed([i for i in sc.issues if i != sc.truce.issue])
        raise ScenarioError(path, where, f"unknown term issue '{show(issue)}'; allowed: {allowed}")
    options = sc.issues[issue].options
    if option not in options[1:]:
        raise ScenarioError(
            path,
            where,
            f"'{show(option)}' is not an option agreed on {issue}; allowed: {_listed(options[1:])}",
        )
