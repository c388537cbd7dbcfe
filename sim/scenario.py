"""Scenario files: TOML in, a validated :class:`Scenario` out.

A scenario names the issues and their ordered options, the parties with their positions, the
mediator, the opening proposal, world dynamics, levers, events and outcome classes. Every position,
condition and red line carries its provenance: ``source = {seed, quote}`` (a verbatim fragment of a
file in ``seeds/``) or ``assumption = "<one-line reason>"``.

A file may say ``extends = "baseline.toml"``: the parent is loaded first and the child's tables are
merged into it key by key, so a variant states only what it changes. Every collection is a table
keyed by id (never an array), which is what makes any field addressable by a dotted path such as
``parties.russia.reservation.mean``.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.errors import UserError

MAX_PACKAGES = 20_000  # the mediator enumerates the outcome space; beyond this it is refused
ID = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]


class ScenarioError(UserError):
    """A user's mistake in a scenario file: one line naming the file, the field and what is allowed."""

    def __init__(self, file: str | Path, where: str, message: str) -> None:
        self.file, self.where, self.message = str(file), where, message
        super().__init__(f"{file}: {where}: {message}" if where else f"{file}: {message}")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Source(Strict):
    seed: str
    quote: str = Field(min_length=8)


class Sourced(Strict):
    """A statement with provenance: a quote from a seed document, or a stated assumption."""

    source: Source | None = None
    assumption: str | None = Field(default=None, min_length=3)

    @model_validator(mode="after")
    def _one_provenance(self) -> Sourced:
        if (self.source is None) == (self.assumption is None):
            raise ValueError("give exactly one of 'source = {seed, quote}' or 'assumption = \"...\"'")
        return self


class Issue(Strict):
    label: str
    options: list[ID] = Field(min_length=2)

    @model_validator(mode="after")
    def _unique(self) -> Issue:
        if len(set(self.options)) != len(self.options):
            raise ValueError("options must be unique")
        return self


class Uncertain(Sourced):
    """A parameter known only as a distribution: each replication draws one value (normal)."""

    mean: float
    sd: float = Field(default=0.0, ge=0)


class Position(Sourced):
    """What a party wants on one issue: its salience (weight) and its value of each option."""

    weight: float = Field(ge=0, le=1)
    values: dict[str, Annotated[float, Field(ge=0, le=1)]]


class Interaction(Sourced):
    """A term added to a party's utility when a package holds all the options in ``when``."""

    when: dict[str, str] = Field(min_length=1)
    value: float = Field(ge=-1, le=1)


class RedLine(Sourced):
    issue: str
    option: str


class VetoPlayer(Sourced):
    """A domestic constituency that must ratify (Putnam 1988): salience of its own, same values."""

    label: str
    weights: dict[str, Annotated[float, Field(ge=0, le=1)]]
    values: dict[str, dict[str, Annotated[float, Field(ge=0, le=1)]]] = {}
    threshold: Uncertain
    slope: float = Field(default=0.05, gt=0)


class War(Sourced):
    """How the war bears on a party: momentum moves its reservation, each round costs it."""

    momentum_exposure: float = 0.0
    cost_per_round: float = Field(default=0.0, ge=0)


class Party(Strict):
    label: str
    required: bool = True
    required_when: dict[str, list[str]] | None = None
    positions: dict[str, Position]
    interactions: dict[ID, Interaction] = {}
    red_lines: dict[ID, RedLine] = {}
    reservation: Uncertain
    opening: Uncertain
    concession: Uncertain
    war: War | None = None
    veto: VetoPlayer | None = None


class Mediator(Sourced):
    party: str
    label: str = "Mediator"
    informed: bool = False
    learning_step: float = Field(default=0.02, ge=0)
    reach: int | None = Field(default=None, ge=1)
    listening: float = Field(default=0.0, ge=0)


class Opening(Sourced):
    package: dict[str, str]


class Momentum(Sourced):
    initial: float = 0.0
    drift: float = 0.0
    reversion: float = Field(default=0.2, ge=0, le=1)
    noise: float = Field(default=0.0, ge=0)


class Dynamics(Strict):
    momentum: Momentum = Momentum(assumption="no battlefield dynamics")


class Uncertainty(Sourced):
    weight_concentration: float = Field(default=0.0, ge=0)


class Lever(Sourced):
    label: str
    holder: str
    target: str
    kind: Literal["stick", "carrot"]
    strength: float = Field(ge=0, le=1)
    policy: Literal["always", "on_rejection", "from_round"] = "on_rejection"
    from_round: int = Field(default=1, ge=1)
    max_uses: int = Field(default=1, ge=0)


class Event(Sourced):
    label: str
    probability: float = Field(ge=0, le=1)
    from_round: int = Field(default=1, ge=1)
    once: bool = True
    reservation_shift: dict[str, float] = {}
    momentum_shift: float = 0.0
    reveal: bool = False


class OutcomeClass(Strict):
    label: str
    when: dict[str, list[str]] = {}


class Scenario(Strict):
    title: str
    summary: str
    seed: int = Field(default=20250313, ge=0)
    rounds: int = Field(default=30, ge=1, le=1000)
    replications: int = Field(default=2000, ge=1)
    issues: dict[ID, Issue] = Field(min_length=1)
    parties: dict[ID, Party] = Field(min_length=2, max_length=32)
    mediator: Mediator
    opening: Opening | None = None
    dynamics: Dynamics = Dynamics()
    uncertainty: Uncertainty = Uncertainty(assumption="no uncertainty about weights")
    levers: dict[ID, Lever] = {}
    events: dict[ID, Event] = {}
    classes: dict[ID, OutcomeClass] = Field(min_length=1)

    # set by the loader, not by the file
    name: str = ""
    path: str = ""
    sha256: str = ""

    @property
    def n_packages(self) -> int:
        return math.prod(len(i.options) for i in self.issues.values())

    def sources(self) -> list[tuple[str, Sourced]]:
        """Every statement with provenance, with its dotted path."""
        out: list[tuple[str, Sourced]] = []

        def walk(obj: Any, path: str) -> None:
            if isinstance(obj, Sourced):
                out.append((path, obj))
            if isinstance(obj, BaseModel):
                for k in type(obj).model_fields:
                    walk(getattr(obj, k), f"{path}.{k}" if path else k)
            elif isinstance(obj, dict):
                for k, v in obj.items():
                    walk(v, f"{path}.{k}")

        walk(self, "")
        return out


# ---------------------------------------------------------------- loading


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ScenarioError(path, "", "no such file") from None
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(path, "", f"not valid TOML: {e}") from None


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``over`` into a copy of ``base``: tables merge key by key, anything else replaces."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            # A statement's provenance is replaced whole: a variant may swap a quote for an assumption.
            for mine, theirs in (("source", "assumption"), ("assumption", "source")):
                if mine in v:
                    out[k].pop(theirs, None)
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_raw(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The scenario as one dict, with ``extends`` resolved (parents first)."""
    path = Path(path).resolve()
    if path in _chain:
        raise ScenarioError(path, "extends", "circular: " + " -> ".join(p.name for p in _chain))
    data = _read_toml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError(path, "extends", "must be a file name such as 'baseline.toml'")
    if not (path.parent / parent).is_file():
        raise ScenarioError(path, "extends", f"no such file '{parent}' beside this one")
    base = load_raw(path.parent / parent, (*_chain, path))
    # A variant's header is its own; it never inherits the parent's.
    base.pop("title", None)
    base.pop("summary", None)
    return merge(base, data)


def canonical_hash(raw: dict[str, Any]) -> str:
    blob = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def _loc(loc: tuple[Any, ...]) -> str:
    # pydantic adds the union/tag member names to the location; users never wrote those.
    return ".".join(str(p) for p in loc if not str(p).startswith("function-"))


def validate(raw: dict[str, Any], path: str | Path, name: str | None = None) -> Scenario:
    """Validate a merged scenario dict; raise :class:`ScenarioError` with the first problem."""
    path = Path(path)
    try:
        sc = Scenario.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required field is missing"
        raise ScenarioError(path, _loc(err["loc"]), msg) from None
    _check_references(sc, path)
    _check_negotiable(sc, path)
    _check_quotes(sc, path)
    return sc.model_copy(update={"name": name or path.stem, "path": str(path), "sha256": canonical_hash(raw)})


def load_scenario(path: str | Path) -> Scenario:
    """Read, merge (``extends``) and validate a scenario file."""
    path = Path(path)
    return validate(load_raw(path), path)


# ---------------------------------------------------------------- cross-checks


def _check_package(sc: Scenario, pkg: dict[str, str], where: str, path: Path, full: bool) -> None:
    for issue, opt in pkg.items():
        _check_option(sc, issue, opt, f"{where}.{issue}", path)
    if full and set(pkg) != set(sc.issues):
        missing = ", ".join(sorted(set(sc.issues) - set(pkg)))
        raise ScenarioError(path, where, f"must give one option for every issue; missing: {missing}")


def _check_option(sc: Scenario, issue: str, opt: str, where: str, path: Path) -> None:
    if issue not in sc.issues:
        raise ScenarioError(path, where, f"unknown issue '{issue}'; allowed: {', '.join(sc.issues)}")
    options = sc.issues[issue].options
    if opt not in options:
        raise ScenarioError(
            path,
            where,
            f"unknown option '{opt}' for issue '{issue}'; allowed: {', '.join(options)}",
        )


def _check_party(sc: Scenario, pid: str, where: str, path: Path) -> None:
    if pid not in sc.parties:
        raise ScenarioError(path, where, f"unknown party '{pid}'; allowed: {', '.join(sc.parties)}")


def _check_weights(weights: dict[str, float], where: str, path: Path, sc: Scenario) -> None:
    for issue in weights:
        if issue not in sc.issues:
            raise ScenarioError(path, f"{where}.{issue}", f"unknown issue '{issue}'")
    total = sum(weights.values())
    if abs(total - 1.0) > 1e-6:
        raise ScenarioError(path, where, f"weights must sum to 1 (they sum to {total:.6g})")


def _check_references(sc: Scenario, path: Path) -> None:
    if sc.n_packages > MAX_PACKAGES:
        raise ScenarioError(
            path,
            "issues",
            f"the outcome space has {sc.n_packages:,} packages; at most {MAX_PACKAGES:,} "
            "can be enumerated (merge or drop options)",
        )
    for pid, p in sc.parties.items():
        base = f"parties.{pid}"
        for issue, pos in p.positions.items():
            if issue not in sc.issues:
                raise ScenarioError(path, f"{base}.positions.{issue}", f"unknown issue '{issue}'")
            options = sc.issues[issue].options
            if set(pos.values) != set(options):
                raise ScenarioError(
                    path,
                    f"{base}.positions.{issue}.values",
                    f"must give a value for each option: {', '.join(options)}",
                )
        if set(p.positions) != set(sc.issues):
            missing = ", ".join(sorted(set(sc.issues) - set(p.positions)))
            raise ScenarioError(path, f"{base}.positions", f"missing issues: {missing}")
        _check_weights({k: v.weight for k, v in p.positions.items()}, f"{base}.positions", path, sc)
        for iid, it in p.interactions.items():
            _check_package(sc, it.when, f"{base}.interactions.{iid}.when", path, full=False)
        for rid, rl in p.red_lines.items():
            _check_option(sc, rl.issue, rl.option, f"{base}.red_lines.{rid}", path)
        for issue, opts in (p.required_when or {}).items():
            for o in opts:
                _check_option(sc, issue, o, f"{base}.required_when.{issue}", path)
        if p.concession.mean <= 0:
            raise ScenarioError(path, f"{base}.concession.mean", "must be > 0 (1 is linear)")
        if p.veto is not None:
            _check_weights(p.veto.weights, f"{base}.veto.weights", path, sc)
            for issue, values in p.veto.values.items():
                where = f"{base}.veto.values.{issue}"
                if issue not in sc.issues:
                    raise ScenarioError(path, where, f"unknown issue '{issue}'")
                if set(values) != set(sc.issues[issue].options):
                    opts = ", ".join(sc.issues[issue].options)
                    raise ScenarioError(path, where, f"must give a value for each option: {opts}")
    _check_party(sc, sc.mediator.party, "mediator.party", path)
    if sc.opening is not None:
        _check_package(sc, sc.opening.package, "opening.package", path, full=True)
        if not any(
            all(sc.opening.package[i] in opts for i, opts in cl.when.items()) for cl in sc.classes.values()
        ):
            raise ScenarioError(path, "opening.package", "matches no outcome class, so it is not a deal")
    for lid, lv in sc.levers.items():
        _check_party(sc, lv.holder, f"levers.{lid}.holder", path)
        _check_party(sc, lv.target, f"levers.{lid}.target", path)
    for eid, ev in sc.events.items():
        for pid in ev.reservation_shift:
            _check_party(sc, pid, f"events.{eid}.reservation_shift", path)
    for cid, cl in sc.classes.items():
        for issue, opts in cl.when.items():
            for o in opts:
                _check_option(sc, issue, o, f"classes.{cid}.when.{issue}", path)
    if "no_agreement" in sc.classes:
        raise ScenarioError(path, "classes.no_agreement", "is reserved for talks that end without a deal")


def _check_negotiable(sc: Scenario, path: Path) -> None:
    """Refuse a domain where every package crosses a red line or matches no outcome class."""
    from sim.outcomes import OutcomeSpace

    space = OutcomeSpace(sc)
    ok = space.package_class >= 0
    for party in sc.parties.values():
        ok &= ~space.red_line_mask(party)
    if not ok.any():
        raise ScenarioError(
            path, "classes", "no package is a deal that crosses no red line: there is nothing to negotiate"
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
        if int(replications) < 1:
            raise UserError("replications must be at least 1")
        update["replications"] = int(replications)
    if seed is not None:
        if int(seed) < 0:
            raise UserError("seed must be >= 0")
        update["seed"] = int(seed)
    return sc.model_copy(update=update) if update else sc


def find_seed(name: str, scenario_path: Path) -> Path | None:
    """The seed file ``name``, looked up in ``seeds/`` beside the scenario or any folder above it."""
    return _find_seed(name, Path(scenario_path).resolve().parent)


@functools.lru_cache(maxsize=64)
def _find_seed(name: str, start: Path) -> Path | None:
    for folder in [start, *start.parents]:
        candidate = folder / "seeds" / name
        if candidate.is_file():
            return candidate
    return None


@functools.lru_cache(maxsize=16)
def _seed_text(path: Path) -> str:
    """A seed document with its white space folded (seeds are read once per process)."""
    return _squash(path.read_text(encoding="utf-8"))


def _squash(text: str) -> str:
    return " ".join(text.split())


def _check_quotes(sc: Scenario, path: Path) -> None:
    texts: dict[str, str] = {}
    for where, item in sc.sources():
        if item.source is None:
            continue
        seed = item.source.seed
        if seed not in texts:
            found = find_seed(seed, path)
            if found is None:
                raise ScenarioError(path, f"{where}.source.seed", f"no seed file 'seeds/{seed}'")
            texts[seed] = _seed_text(found)
        if _squash(item.source.quote) not in texts[seed]:
            raise ScenarioError(path, f"{where}.source.quote", f"quote not found verbatim in seeds/{seed}")


def seed_line(sc: Scenario, source: Source) -> int | None:
    """The line number (1-based) of the seed document that holds the quote."""
    found = find_seed(source.seed, Path(sc.path))
    if found is None:
        return None
    q = _squash(source.quote)
    for n, line in enumerate(_seed_lines(found), 1):
        if q in line:
            return n
    return None


@functools.lru_cache(maxsize=16)
def _seed_lines(path: Path) -> tuple[str, ...]:
    return tuple(_squash(line) for line in path.read_text(encoding="utf-8").splitlines())


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
