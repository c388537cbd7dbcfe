"""Fuzz ``negsim`` with generated scenario files, mutations of them, and bad command lines.

Every case is a small project folder (``proj/seeds``, ``proj/scenarios``, plus ``outside/``, a folder
beside the project that no scenario may read) and a command line. Each mutation says what the
program must do with it:

- ``reject``: exit 2, one line on stderr naming the scenario file (and the field, where one is
  known), any user text in it shortened and escaped, no traceback, nothing written;
- ``accept``: exit 0, outputs that keep the engine's invariants (shares in [0, 1]);
- ``either``: one or the other, by those same rules.

Besides scenario files, the cases cover every other input a user gives negsim (section 4b):
observations files (``score``/``compare --observed``), moves files and lines typed at the prompt
(``play``), exercise answer files (``exercise check``), class logs (``debrief``), and the options of
the newer commands, each as a valid instance plus one mutation that must be rejected or may be
accepted. ``play`` ending because the moves ran out, and ``exercise check`` on an answer that does
not hold, exit 1 as documented; those cases accept exit 1 too.

Each case runs in a worker process under a watchdog (a case that does not finish in ``--timeout``
seconds is a hang; this is not a speed test). Run on demand::

    python tests/fuzz.py --cases 10000 [--seed S] [--jobs 2] [--failures DIR]

It prints counts by category and by mutation kind, the time taken and every distinct failure, and
writes each failing case (files, command line, output, ``repro.sh``) to ``DIR`` for reproduction.
``tests/test_fuzz.py`` runs a few hundred cases in the normal suite.

Layout of this file: section 1 is the only part that knows the scenario schema (a valid scenario,
a variant that extends it, where seed and parent references live, and mutations that need to know
a field's meaning). Everything after it works on any TOML tree, including the bundled scenarios.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import csv
import datetime
import io
import json
import math
import multiprocessing
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import time
import tomllib
import traceback
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
import conftest  # noqa: E402  (the suite's scenario builders: they follow the schema)

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "scenarios"
BUNDLED_SEEDS = REPO / "seeds"

# =============================================================================================
# 1. The schema: the only section to change when the scenario format changes
# =============================================================================================

SEED_NAME = "article.txt"
ARTICLE = """Talks resumed on Monday in a hotel by the lake.
The envoy said both sides had agreed to meet again
next week in Geneva to discuss the terms of a truce.
A spokesman for the capital said the proposal was a reprieve
for the other army and would not be accepted as written.
Officials on both sides said prisoners could be exchanged first.
"""
WHY = "chosen by the fuzzer"
SWEEPABLE = "replications"  # a numeric field every scenario has (for sweeps of files that set none)
HEADER_KEYS = ("title", "summary")  # a variant states its own; they are never inherited
EXTENDS = "extends"  # top-level key naming the parent file

TERM_IDS = ["arms", "freeze", "prisoners", "kursk", "monitoring", "tempo"]
OPTION_IDS = ["none", "partial", "full", "yes", "no", "some", "all", "later", "x1", "x2"]
PARTY_IDS = ["us", "ukraine", "russia", "europe", "china", "turkey"]

_printable = st.characters(blacklist_categories=("Cs", "Cc"))
_text = st.text(alphabet=_printable, min_size=1, max_size=40)


def _unit(lo: float = 0.0, hi: float = 1.0) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(lambda x: round(x, 4))


@st.composite
def _quote(draw) -> dict[str, str]:
    """``{seed, quote}``: a verbatim span of the article, at least 8 characters long."""
    words = ARTICLE.split()
    while True:
        a = draw(st.integers(0, len(words) - 2))
        b = draw(st.integers(a + 1, min(len(words), a + 8)))
        quote = " ".join(words[a:b])
        if len(quote) >= 8:
            return {"seed": SEED_NAME, "quote": quote}


@st.composite
def _weights(draw, keys: list[str]) -> dict[str, float]:
    """Weights on a 1/16 lattice that sum to exactly 1."""
    cuts = sorted(draw(st.lists(st.integers(0, 16), min_size=len(keys) - 1, max_size=len(keys) - 1)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, 16], strict=True)]
    return {k: p / 16 for k, p in zip(keys, parts, strict=True)}


@st.composite
def _party(draw, terms: dict[str, list[str]]) -> dict[str, Any]:
    names = list(terms)
    extra: dict[str, Any] = {"label": draw(_text)}
    if draw(st.integers(0, 2)) == 0:
        extra["veto"] = {
            "label": draw(_text),
            "weights": draw(_weights(names)),
            "threshold": conftest.uncertain(draw(_unit(0, 0.8)), draw(_unit(0, 0.2))),
            "slope": draw(_unit(0.01, 0.2)),
            "assumption": WHY,
        }
    return conftest.party_raw(
        draw(_weights(names)),
        {i: {o: draw(_unit()) for o in opts} for i, opts in terms.items()},
        war={f: -draw(_unit(0, 0.01)) for f in ("land", "energy")},
        margin=draw(_unit(0, 0.3)),
        tolerance=draw(_unit(0.2, 2)),
        concession=draw(_unit(0.2, 3)),
        sd=draw(st.sampled_from([0.0, 0.01, 0.05])),
        **extra,
    )


@st.composite
def scenario_tree(draw) -> dict[str, Any]:
    """A complete, valid scenario as a plain dict (the shape of a TOML file).

    Built with the test suite's ``scenario_raw``/``party_raw`` (tests/conftest.py), which follow the
    schema, from numbers drawn here; then some assumptions get a quote from the article beside them.
    """
    term_ids = draw(st.lists(st.sampled_from(TERM_IDS), min_size=1, max_size=3, unique=True))
    terms = {
        i: draw(st.lists(st.sampled_from(OPTION_IDS), min_size=2, max_size=3, unique=True)) for i in term_ids
    }
    party_ids = draw(st.lists(st.sampled_from(PARTY_IDS), min_size=2, max_size=3, unique=True))
    parties = {p: draw(_party(terms)) for p in party_ids}
    events = {}
    if draw(st.booleans()):
        events["e0"] = {
            "daily_probability": draw(_unit(0, 0.2)),
            "from_day": draw(st.integers(0, 30)),
            "reveal": draw(st.booleans()),
        }
    raw = conftest.scenario_raw(
        terms,
        parties,
        truce_days=draw(st.integers(1, 60)),
        window=draw(st.integers(1, 120)),
        interval=draw(st.sampled_from([0.5, 1.0, 2.5, 7.0, 14.0])),
        interval_sd=draw(st.sampled_from([0.0, 1.0, 3.0])),
        horizon=draw(st.integers(1, 60)),
        mediator=draw(st.sampled_from(party_ids)),
        informed=draw(st.booleans()),
        give_up=draw(st.integers(1, 90)),
        opening={} if draw(st.booleans()) else None,
        concentration=draw(st.sampled_from([0.0, 50.0])),
        events=events or None,
        replications=draw(st.integers(1, 30)),
        seed=draw(st.integers(0, 2**32)),
    )
    raw["title"], raw["summary"] = draw(_text), draw(_text)
    for _, node in list(walk(raw)):
        if isinstance(node, dict) and "assumption" in node and draw(st.integers(0, 3)) == 0:
            node["source"] = draw(_quote())
    return raw


@st.composite
def variant_of(draw, parent: dict[str, Any], parent_ref: str) -> dict[str, Any]:
    """A file that extends ``parent`` and restates a random part of it (so it is valid as it stands)."""
    child: dict[str, Any] = {EXTENDS: parent_ref}
    child |= {k: draw(_text) for k in HEADER_KEYS}

    def copy_some(src: dict[str, Any], dst: dict[str, Any]) -> None:
        for k, v in src.items():
            if k in HEADER_KEYS or k == EXTENDS or draw(st.integers(0, 2)) != 0:
                continue
            if isinstance(v, dict) and v:
                sub: dict[str, Any] = {}
                copy_some(v, sub)
                if sub:
                    dst[k] = sub
            else:
                dst[k] = copy.deepcopy(v)

    copy_some(parent, child)
    return child


def seed_refs(tree: dict[str, Any], prefix: tuple = ()) -> list[tuple]:
    """Paths of the tables that cite a seed document (``source = {seed, quote}``)."""
    out = []
    for k, v in tree.items():
        if isinstance(v, dict):
            if k == "source" and "seed" in v:
                out.append((*prefix, k))
            else:
                out.extend(seed_refs(v, (*prefix, k)))
    return out


@dataclass
class Change:
    """What a mutation did: the new tree (or file bytes), what it expects, and what to look for."""

    kind: str
    expect: str  # reject | accept | either
    note: str
    field: str | None = None  # a dotted path the error must name (None: not checked)
    links: dict[str, str] | None = None
    extra_files: dict[str, bytes] | None = None


def schema_mutations() -> dict[str, Callable]:
    """Mutations that need to know what a field means (seed files, parents, counts, ids)."""
    return {
        "seed-name": _mut_seed_name,
        "extends": _mut_extends,
        "rng-seed": _mut_rng_seed,
        "replications": _mut_replications,
        "outcome-space": _mut_outcome_space,
        "duplicate-option": _mut_duplicate_option,
        "calendar": _mut_calendar,
    }


SECRET = "outside/secret.txt"  # holds the article too: reading it would make every quote check pass
EVIL = "outside/evil.toml"  # a valid scenario outside the project root


def _mut_seed_name(draw, tree: dict[str, Any], ctx: CaseContext) -> Change:
    refs = seed_refs(tree)
    if not refs:
        path = ("mediator", "source")
        tree.setdefault("mediator", {})["source"] = {"seed": SEED_NAME, "quote": "agreed to meet again"}
        refs = [path]
    where = draw(st.sampled_from(refs))
    src = get_path(tree, where)
    choice = draw(
        st.sampled_from(
            [
                "etc-passwd",
                "absolute-inside",
                "dotdot-outside",
                "dotdot-inside",
                "newlines",
                "long",
                "empty",
                "directory",
                "nested-missing",
                "symlink-outside",
                "symlink-inside",
                "symlink-dir-outside",
                "non-utf8-seed",
                "missing",
                "nul",
            ]
        )
    )
    expect, links, extra = "reject", {}, {}
    dotted = ".".join(map(str, (*where, "seed")))
    if choice == "etc-passwd":
        src["seed"], src["quote"] = "/etc/passwd", "root:x:0:0:root"
    elif choice == "absolute-inside":
        src["seed"] = "@@CASE@@/proj/seeds/" + SEED_NAME
    elif choice == "dotdot-outside":
        src["seed"] = "../../outside/secret.txt"
    elif choice == "dotdot-inside":
        src["seed"] = "../seeds/" + SEED_NAME  # seeds/../seeds/article.txt: never leaves seeds/
        expect = "either"
    elif choice == "newlines":
        src["seed"] = "\n" * draw(st.sampled_from([3, 5000]))
    elif choice == "long":
        src["seed"] = "x" * draw(st.sampled_from([256, 5000, 100_000]))
    elif choice == "empty":
        src["seed"] = ""
    elif choice == "directory":
        src["seed"] = draw(st.sampled_from([".", "..", "/"]))
    elif choice == "nested-missing":
        src["seed"] = "seeds/" + SEED_NAME
    elif choice == "symlink-outside":
        links["proj/seeds/leak.txt"] = "../../outside/secret.txt"
        src["seed"] = "leak.txt"
    elif choice == "symlink-inside":
        links["proj/seeds/alias.txt"] = SEED_NAME
        src["seed"] = "alias.txt"
        expect = "either"
    elif choice == "symlink-dir-outside":
        links["proj/seeds/more"] = "../../outside"
        src["seed"] = "more/secret.txt"
    elif choice == "non-utf8-seed":
        extra["proj/seeds/latin1.txt"] = ARTICLE.encode() + "Caf\u00e9 cr\u00e8me\n".encode("latin-1")
        src["seed"] = "latin1.txt"
    elif choice == "missing":
        src["seed"] = "interview.txt"
    elif choice == "nul":
        src["seed"] = "article\x00.txt"
    return Change(f"seed-name:{choice}", expect, repr(src["seed"])[:60], dotted, links, extra)


def _mut_extends(draw, tree: dict[str, Any], ctx: CaseContext) -> Change:
    choice = draw(
        st.sampled_from(
            [
                "etc-passwd",
                "absolute-inside",
                "dotdot-outside",
                "missing",
                "self",
                "cycle",
                "symlink-outside",
                "symlink-inside",
                "directory",
                "newlines",
                "long",
                "not-text",
                "dev-zero",
                "non-utf8-target",
            ]
        )
    )
    expect, links, extra = "reject", {}, {}
    me = ctx.leaf_name
    if choice == "etc-passwd":
        tree[EXTENDS] = "/etc/passwd"
    elif choice == "absolute-inside":
        extra["proj/scenarios/parent_abs.toml"] = dump_toml(ctx.valid)
        tree[EXTENDS] = "@@CASE@@/proj/scenarios/parent_abs.toml"
    elif choice == "dotdot-outside":
        tree[EXTENDS] = "../../outside/evil.toml"
    elif choice == "missing":
        tree[EXTENDS] = "nowhere.toml"
    elif choice == "self":
        tree[EXTENDS] = me
    elif choice == "cycle":
        extra["proj/scenarios/other.toml"] = dump_toml({EXTENDS: me, **{k: "x" for k in HEADER_KEYS}})
        tree[EXTENDS] = "other.toml"
    elif choice == "symlink-outside":
        links["proj/scenarios/linked.toml"] = "../../outside/evil.toml"
        tree[EXTENDS] = "linked.toml"
    elif choice == "symlink-inside":
        extra["proj/scenarios/real_parent.toml"] = dump_toml(ctx.valid)
        links["proj/scenarios/alias_parent.toml"] = "real_parent.toml"
        tree[EXTENDS] = "alias_parent.toml"
        expect = "either"
    elif choice == "directory":
        tree[EXTENDS] = draw(st.sampled_from([".", "..", ""]))
    elif choice == "newlines":
        tree[EXTENDS] = "\n" * draw(st.sampled_from([3, 3000]))
    elif choice == "long":
        tree[EXTENDS] = "y" * draw(st.sampled_from([300, 10_000]))
    elif choice == "not-text":
        tree[EXTENDS] = draw(st.sampled_from([3, 1.5, True, ["a.toml"], {"file": "a.toml"}]))
    elif choice == "dev-zero":
        tree[EXTENDS] = draw(st.sampled_from(["/dev/zero", "/proc/self/environ", "/dev/stdin"]))
    elif choice == "non-utf8-target":
        extra["proj/scenarios/latin1.toml"] = dump_toml(ctx.valid).replace(b"\n", b"\n# caf\xe9\n", 1)
        tree[EXTENDS] = "latin1.toml"
    for k in HEADER_KEYS:
        tree.setdefault(k, "A variant")
    return Change(f"extends:{choice}", expect, repr(tree[EXTENDS])[:60], None, links, extra)


def _mut_rng_seed(draw, tree: dict[str, Any], ctx: CaseContext) -> Change:
    value, expect = draw(
        st.sampled_from(
            [(-1, "reject"), (2**64, "reject"), (10**30, "reject"), (2**64 - 1, "accept"), (0, "accept")]
        )
    )
    tree["seed"] = value
    return Change("rng-seed", expect, f"seed = {value}", "seed" if expect == "reject" else None)


def _mut_replications(draw, tree: dict[str, Any], ctx: CaseContext) -> Change:
    value = draw(st.sampled_from([0, -3, 10**12, 2**63 - 1, 10**20]))
    tree["replications"] = value
    return Change("replications", "reject", f"replications = {value}", "replications")


def _mut_outcome_space(draw, tree: dict[str, Any], ctx: CaseContext) -> Change:
    n = draw(st.sampled_from([6, 12, 40]))
    for k in range(n):
        tree.setdefault("issues", {})[f"big{k}"] = {"label": "Big", "options": [f"o{j}" for j in range(9)]}
    return Change("outcome-space", "reject", f"{n} extra issues of 9 options", "issues")


def _mut_duplicate_option(draw, tree: dict[str, Any], ctx: CaseContext) -> Change:
    issues = tree.get("issues") or {}
    if not issues:
        tree["issues"] = issues = {"dup": {"label": "Dup", "options": ["a", "b"]}}
    i = draw(st.sampled_from(sorted(issues)))
    opts = issues[i].setdefault("options", ["a", "b"])
    if isinstance(opts, list) and opts:
        opts.append(opts[0])
    return Change("duplicate-option", "reject", f"issues.{i}.options", f"issues.{i}")


def _mut_calendar(draw, tree: dict[str, Any], ctx: CaseContext) -> Change:
    """The calendar's dates and durations: impossible dates, the replaced fields, bad intervals."""
    cal = tree.setdefault("calendar", {})
    if not isinstance(cal, dict):
        tree["calendar"] = cal = {}
    choice = draw(st.sampled_from(["date", "days_per_round", "interval", "sd", "after_refusals"]))
    if choice == "date":
        cal["start"] = draw(st.sampled_from(["2025-02-30", "2025-13-01", "2025-00-10", "2023-02-29"]))
        return Change("calendar", "reject", f"start {cal['start']}", "calendar.start")
    if choice == "days_per_round":
        cal["days_per_round"] = draw(st.sampled_from([7, 3.5, 0]))
        return Change("calendar", "reject", "days_per_round", "calendar")
    if choice == "after_refusals":
        med = tree.setdefault("mediator", {})
        if not isinstance(med, dict):
            tree["mediator"] = med = {}
        med["give_up"] = {"after_refusals": 12, "assumption": "old"}
        return Change("calendar", "reject", "after_refusals", "mediator.give_up")
    contacts = cal.get("contacts")
    if not isinstance(contacts, dict):
        cal["contacts"] = contacts = {"mean_interval_days": 7.0, "assumption": "fuzz"}
    key = "mean_interval_days" if choice == "interval" else "sd_days"
    contacts[key] = draw(
        st.sampled_from(
            [-1.0, 0.0, 0.05, 1e9, "weekly"] if key == "mean_interval_days" else [-0.5, 1e9, "wide"]
        )
    )
    return Change("calendar", "reject", f"{key} {contacts[key]!r}", f"calendar.contacts.{key}")


# =============================================================================================
# 2. TOML for any tree (the mutations write what a careless or hostile user could write)
# =============================================================================================


@dataclass(frozen=True)
class Deep:
    """A value nested ``depth`` levels deep: arrays (``[[[1]]]``) or inline tables."""

    kind: str
    depth: int


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
_ESC = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(s: str) -> str:
    out = []
    for ch in s:
        if ch in _ESC:
            out.append(_ESC[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(k: Any) -> str:
    k = str(k)
    return k if _BARE.match(k) else toml_string(k)


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return toml_string(v)
    if isinstance(v, datetime.datetime | datetime.date | datetime.time):
        return v.isoformat()
    if isinstance(v, Deep):
        if v.kind == "array":
            return "[" * v.depth + "1" + "]" * v.depth
        return "{a = " * v.depth + "1" + "}" * v.depth
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def dump_toml(tree: dict[str, Any]) -> bytes:
    """Scalars and arrays first, then one ``[header]`` per nested table (deep keys as dotted keys)."""
    lines: list[str] = []

    def emit(table: dict[str, Any], prefix: list[str]) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        tables = {k: v for k, v in table.items() if isinstance(v, dict)}
        if prefix and (scalars or not tables):
            lines.append("[" + ".".join(prefix) + "]")
        for k, v in scalars.items():
            if isinstance(v, DottedDeep):
                lines.append(".".join([toml_key(k)] + ["d"] * v.depth) + " = 1")
            else:
                lines.append(f"{toml_key(k)} = {toml_value(v)}")
        for k, v in tables.items():
            emit(v, [*prefix, toml_key(k)])

    emit(tree, [])
    return ("\n".join(lines) + "\n").encode("utf-8")


@dataclass(frozen=True)
class DottedDeep:
    """A table ``depth`` levels deep written as one dotted key (``k.d.d.d = 1``): TOML parses it."""

    depth: int


# =============================================================================================
# 3. Mutations of any TOML tree (schema-agnostic)
# =============================================================================================


@dataclass
class CaseContext:
    leaf_name: str  # file name of the scenario the command runs
    valid: dict[str, Any]  # a complete valid scenario (for parents the mutations create)


def get_path(tree: Any, path: tuple) -> Any:
    for k in path:
        tree = tree[k]
    return tree


def walk(tree: Any, prefix: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every (path, value) below ``tree``; list items have their index in the path."""
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield (*prefix, k), v
            yield from walk(v, (*prefix, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield (*prefix, i), v
            yield from walk(v, (*prefix, i))


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _set(tree: Any, path: tuple, value: Any) -> None:
    get_path(tree, path[:-1])[path[-1]] = value


def _dotted(path: tuple) -> str:
    return ".".join(map(str, path))


NASTY_TEXT = [
    "line one\nline two\nline three",
    "carriage\rreturn",
    "nul\x00byte",
    "escape \x1b[31mred\x1b[0m",
    "bell\x07 and\x08 backspace",
    "line\u2028separator\u2029para",
    "tab\tand\x7fdel",
    "\n" * 200,
    "right-to-left \u202e gnirts",
    "zero\u200bwidth",
]


def _pick(draw, items: list, what: str) -> Any:
    if not items:
        raise _Skip(what)
    return draw(st.sampled_from(items))


class _Skip(Exception):
    """The tree has nothing this mutation can apply to."""


def generic_mutations() -> dict[str, Callable]:
    return {
        "delete-key": _mut_delete,
        "wrong-type": _mut_wrong_type,
        "non-finite": _mut_non_finite,
        "huge-number": _mut_huge_number,
        "negative-number": _mut_negative,
        "control-chars": _mut_control_chars,
        "huge-string": _mut_huge_string,
        "deep-nesting": _mut_deep,
        "unknown-key": _mut_unknown_key,
        "empty-table": _mut_empty_table,
        "empty-array": _mut_empty_array,
        "duplicate-item": _mut_duplicate_item,
    }


def _mut_delete(draw, tree, ctx) -> Change:
    path, _ = _pick(draw, [(p, v) for p, v in walk(tree) if isinstance(p[-1], str)], "keys")
    del get_path(tree, path[:-1])[path[-1]]
    return Change("delete-key", "either", _dotted(path))


def _mut_wrong_type(draw, tree, ctx) -> Change:
    path, old = _pick(draw, list(walk(tree)), "values")
    if isinstance(old, bool):
        new = draw(st.sampled_from(["true", 1, [True], {"x": True}]))
    elif _is_num(old):
        new = draw(st.sampled_from([str(old), True, [old], {"value": old}, datetime.date(2025, 3, 13)]))
    elif isinstance(old, str):
        new = draw(st.sampled_from([1, 2.5, False, [old], {"text": old}, datetime.time(12, 0)]))
    elif isinstance(old, list):
        new = draw(st.sampled_from(["a list", 3, {"0": old[0] if old else 1}]))
    elif isinstance(old, dict):
        new = draw(st.sampled_from(["a table", 7, [1, 2], True]))
    else:
        new = "something else"
    _set(tree, path, new)
    return Change("wrong-type", "reject", f"{_dotted(path)} = {toml_value(new)[:40]}", _dotted(path))


def _numbers(tree) -> list:
    return [(p, v) for p, v in walk(tree) if _is_num(v)]


def _mut_non_finite(draw, tree, ctx) -> Change:
    path, _ = _pick(draw, _numbers(tree), "numbers")
    new = draw(st.sampled_from([math.inf, -math.inf, math.nan]))
    _set(tree, path, new)
    return Change("non-finite", "reject", f"{_dotted(path)} = {new}", _dotted(path))


def _mut_huge_number(draw, tree, ctx) -> Change:
    path, _ = _pick(draw, _numbers(tree), "numbers")
    new = draw(st.sampled_from([1e308, -1e308, 2**63 - 1, -(2**63), 10**30, 5e-324]))
    _set(tree, path, new)
    return Change("huge-number", "either", f"{_dotted(path)} = {new}")


def _mut_negative(draw, tree, ctx) -> Change:
    path, old = _pick(draw, _numbers(tree), "numbers")
    new = draw(st.sampled_from([-1, -abs(old) - 1, -1e-9]))
    _set(tree, path, new)
    return Change("negative-number", "either", f"{_dotted(path)} = {new}")


def _mut_control_chars(draw, tree, ctx) -> Change:
    strings = [(p, v) for p, v in walk(tree) if isinstance(v, str)]
    path, _ = _pick(draw, strings, "strings")
    new = draw(st.sampled_from(NASTY_TEXT))
    _set(tree, path, new)
    return Change("control-chars", "either", f"{_dotted(path)} = {new[:30]!r}")


HUGE = "@@HUGE@@"  # replaced by a 10 MB string when the case is written to disk
BIG = "@@BIG@@"  # 300 kB: long, but inside the size a scenario file may have


def _mut_huge_string(draw, tree, ctx) -> Change:
    strings = [(p, v) for p, v in walk(tree) if isinstance(v, str) and p[-1] != EXTENDS]
    path, _ = _pick(draw, strings, "strings")
    big = draw(st.sampled_from([HUGE, BIG]))
    _set(tree, path, big)
    return Change("huge-string", "either", f"{_dotted(path)} = <{'10 MB' if big == HUGE else '300 kB'}>")


def _mut_deep(draw, tree, ctx) -> Change:
    depth = draw(st.sampled_from([1000, 5000]))
    kind = draw(st.sampled_from(["array", "table", "dotted"]))
    value = DottedDeep(depth) if kind == "dotted" else Deep(kind, depth)
    tables = [p for p, v in walk(tree) if isinstance(v, dict)]
    if draw(st.booleans()) and tables:
        parent = draw(st.sampled_from(tables))
        get_path(tree, parent)["deep"] = value
        path = (*parent, "deep")
    else:
        leaves = [p for p, v in walk(tree) if not isinstance(v, dict | list) and isinstance(p[-1], str)]
        path = _pick(draw, leaves, "leaves")
        _set(tree, path, value)
    return Change("deep-nesting", "reject", f"{_dotted(path)}: {kind} x{depth}")


UNKNOWN_KEYS = ["colour", "zz_unknown", "Reservation", "line\nbreak", 'quote"d', "x" * 300, "\x1b[2J"]


def _mut_unknown_key(draw, tree, ctx) -> Change:
    tables = [()] + [p for p, v in walk(tree) if isinstance(v, dict)]
    parent = draw(st.sampled_from(tables))
    key = draw(st.sampled_from(UNKNOWN_KEYS))
    value = draw(st.sampled_from([1, "text", {"a": 1}, [1]]))
    target = get_path(tree, parent)
    if key in target:
        raise _Skip("key exists")
    target[key] = value
    return Change("unknown-key", "reject", f"{_dotted((*parent, key))[:60]!r}", _dotted(parent) or None)


def _mut_empty_table(draw, tree, ctx) -> Change:
    path = _pick(draw, [p for p, v in walk(tree) if isinstance(v, dict) and v], "tables")
    _set(tree, path, {})
    return Change("empty-table", "either", _dotted(path))


def _mut_empty_array(draw, tree, ctx) -> Change:
    path = _pick(draw, [p for p, v in walk(tree) if isinstance(v, list) and v], "arrays")
    _set(tree, path, [])
    return Change("empty-array", "either", _dotted(path))


def _mut_duplicate_item(draw, tree, ctx) -> Change:
    path = _pick(draw, [p for p, v in walk(tree) if isinstance(v, list) and v], "arrays")
    arr = get_path(tree, path)
    arr.insert(draw(st.integers(0, len(arr))), copy.deepcopy(draw(st.sampled_from(arr))))
    return Change("duplicate-item", "either", _dotted(path))


# Mutations of the file's bytes (after writing): any scenario file, the run one or its parent.


def byte_mutations() -> dict[str, Callable]:
    return {
        "non-utf8": _bytes_non_utf8,
        "toml-syntax": _bytes_syntax,
        "duplicate-key": _bytes_duplicate_key,
        "nul-byte": _bytes_nul,
        "bom": _bytes_bom,
        "crlf": _bytes_crlf,
        "truncated": _bytes_truncate,
        "huge-file": _bytes_huge,
    }


def _bytes_non_utf8(draw, data: bytes) -> tuple[bytes, str]:
    bad = draw(st.sampled_from([b"\xff\xfe", b"caf\xe9", b"\xc3\x28", b"\xed\xa0\x80", b"\x80"]))
    where = draw(st.sampled_from(["string", "comment", "start"]))
    if where == "string" and b'= "' in data:
        i = data.index(b'= "') + 3
        return data[:i] + bad + data[i:], "reject"
    if where == "start":
        return b"# " + bad + b"\n" + data, "reject"
    return data + b"# " + bad + b"\n", "reject"


def _bytes_syntax(draw, data: bytes) -> tuple[bytes, str]:
    junk = draw(
        st.sampled_from([b"rounds = = 3\n", b"[unclosed\n", b'key = "open\n', b"= 1\n", b"[[a]]\n[a]\n"])
    )
    return data + junk, "reject"


def _bytes_duplicate_key(draw, data: bytes) -> tuple[bytes, str]:
    lines = data.split(b"\n")
    first = next((i for i, line in enumerate(lines) if b" = " in line), None)
    if first is None or lines[0].startswith(b"["):
        return b'title = "a"\ntitle = "b"\n' + data, "reject"
    lines.insert(first + 1, lines[first])
    return b"\n".join(lines), "reject"


def _bytes_nul(draw, data: bytes) -> tuple[bytes, str]:
    i = draw(st.integers(0, len(data)))
    return data[:i] + b"\x00" + data[i:], "reject"


def _bytes_bom(draw, data: bytes) -> tuple[bytes, str]:
    return b"\xef\xbb\xbf" + data, "either"


def _bytes_crlf(draw, data: bytes) -> tuple[bytes, str]:
    return data.replace(b"\n", b"\r\n"), "either"


def _bytes_truncate(draw, data: bytes) -> tuple[bytes, str]:
    return data[: draw(st.integers(0, len(data)))], "either"


HUGE_FILE = b"@@HUGEFILE@@"  # replaced by 64 MB of comment lines when written


def _bytes_huge(draw, data: bytes) -> tuple[bytes, str]:
    return data + HUGE_FILE, "reject"


# =============================================================================================
# 4. Cases: a project, a command line, an expectation
# =============================================================================================


@dataclass
class Case:
    kind: str
    expect: str  # reject | accept | either
    argv: list[str]
    files: dict[str, bytes] = field(default_factory=dict)  # relative to the case folder
    links: dict[str, str] = field(default_factory=dict)  # link -> target, as written
    names: tuple[str, ...] = ()  # file names the error must mention (any of them)
    field: str | None = None
    note: str = ""
    stdin: bytes = b""  # what is typed at a prompt (the end of input after it)
    # Exit codes other than 0 that a command documents as a normal end: 1 for a game the moves did
    # not finish (negsim play) or an answer that does not hold (negsim exercise check).
    other_ok: tuple[int, ...] = ()


def _base_files() -> dict[str, bytes]:
    files = {
        f"proj/seeds/{SEED_NAME}": ARTICLE.encode(),
        SECRET: ARTICLE.encode() + b"root:x:0:0:root TOP SECRET\n",
        "proj/taken.txt": b"an existing file\n",
    }
    return files


@st.composite
def scenario_case(draw, kind: str) -> Case:
    """A project (generated or the bundled files), mutation ``kind`` of one of its files, a command."""
    files = _base_files()
    bundled = draw(st.integers(0, 3)) == 0
    valid = draw(scenario_tree())
    files[EVIL] = dump_toml({**valid, "seed": 1})
    if bundled:
        for f in sorted(BUNDLED.glob("*.toml")):
            files[f"proj/scenarios/{f.name}"] = f.read_bytes()
        for f in sorted(BUNDLED_SEEDS.iterdir()):
            files[f"proj/seeds/{f.name}"] = f.read_bytes()
        leaf = draw(st.sampled_from(sorted(BUNDLED.glob("*.toml")))).name
        trees = {leaf: tomllib.loads(files[f"proj/scenarios/{leaf}"].decode())}
        chain = [leaf] + (["baseline.toml"] if leaf != "baseline.toml" else [])
    else:
        leaf = draw(st.sampled_from(["s0.toml", "variant.toml", "Case One.toml", "x.toml"]))
        depth = draw(st.integers(0, 2))
        names = [leaf] + [f"parents/p{k}.toml" for k in range(depth)]
        trees = {}
        tree = valid
        # the deepest parent is the complete scenario; each child restates part of it
        for k in range(depth, -1, -1):
            if k == depth:
                trees[names[k]] = tree
            else:
                ref = Path(names[k + 1]).name if k > 0 else names[k + 1]
                trees[names[k]] = draw(variant_of(valid, ref))
        for name, t in trees.items():
            files[f"proj/scenarios/{name}"] = dump_toml(t)
        chain = names
    ctx = CaseContext(Path(leaf).name, valid)

    mutations = {"none": None} | generic_mutations() | schema_mutations()
    byte_kinds = byte_mutations()
    change: Change | None = None
    links: dict[str, str] = {}
    target = leaf
    if kind in byte_kinds:
        target = draw(st.sampled_from(chain))
        data, expect = byte_kinds[kind](draw, files[f"proj/scenarios/{target}"])
        files[f"proj/scenarios/{target}"] = data
        change = Change(kind, expect, f"in {target}")
    elif mutations[kind] is not None:
        tree = copy.deepcopy(trees[leaf])
        try:
            change = mutations[kind](draw, tree, ctx)
        except _Skip:
            change = Change(kind, "either", "nothing to mutate")
        files[f"proj/scenarios/{leaf}"] = dump_toml(tree)
        links = change.links or {}
        files.update(change.extra_files or {})
    else:
        change = Change("none", "accept", "valid")
    argv = draw(_command(leaf, trees[leaf], bundled))
    return Case(
        kind=change.kind,
        expect=change.expect,
        argv=argv,
        files=files,
        links=links,
        names=(Path(leaf).name,),
        field=change.field,
        note=change.note,
    )


@st.composite
def _command(draw, leaf: str, tree: dict[str, Any], bundled: bool) -> list[str]:
    path = f"scenarios/{leaf}"
    n = ["-n", str(draw(st.integers(1, 12)))] if bundled or draw(st.booleans()) else []
    which = draw(st.sampled_from(["run"] * 5 + ["validate"] * 3 + ["explain", "trace", "compare", "sweep"]))
    if which == "run":
        return ["run", path, "--out", "results", "--workers", "1", *n]
    if which == "validate":
        return ["validate", path]
    if which == "explain":
        return ["explain", path]
    if which == "trace":
        return ["trace", path, "-j", "0"]
    if which == "compare":
        files = [path] + (["scenarios/baseline.toml"] if bundled and leaf != "baseline.toml" else [])
        return ["compare", *files, "--out", "results", "--workers", "1", *(n or ["-n", "5"])]
    numbers = [_dotted(p) for p, v in walk(tree) if _is_num(v) and all(isinstance(k, str) for k in p)]
    if not numbers:
        vary = f"{SWEEPABLE}=1:2:2"
        return ["sweep", path, "--vary", vary, "--out", "results", "--workers", "1", "-n", "3"]
    vary = draw(st.sampled_from(numbers))
    value = get_path(tree, tuple(vary.split(".")))
    grid = f"{value!r}:{value!r}:1"  # one point, the file's own value: valid wherever the file is
    return ["sweep", path, "--vary", f"{vary}={grid}", "--out", "results", "--workers", "1", "-n", "3"]


# Bad command lines: (arguments after 'negsim', expectation). FILE is a valid scenario.
FILE = "scenarios/ok.toml"
TRILLION = str(10**12)
COMMAND_LINES: list[tuple[list[str], str]] = [
    (["run", FILE, "--out", "taken.txt"], "reject"),
    (["run", FILE, "--out", "/dev/null"], "reject"),
    (["run", FILE, "--out", "/proc/negsim-results"], "reject"),
    (["run", FILE, "--out", "/proc/self/status"], "reject"),
    (["run", FILE, "--out", "taken.txt/below"], "reject"),
    (["run", FILE, "--out", "results/" + "n" * 300], "reject"),
    (["run", FILE, "--out", "results\nsecond line"], "either"),
    (["compare", FILE, "--out", "taken.txt", "-n", "5", "--workers", "1"], "reject"),
    (["sweep", FILE, "--vary", "replications=1:3:3", "--out", "/dev/null", "-n", "2"], "reject"),
    (["run", FILE, "--replications", TRILLION], "reject"),
    (["run", FILE, "--replications", str(2**63)], "reject"),
    (["run", FILE, "--replications", str(10**100)], "reject"),
    (["run", FILE, "--replications", "0"], "reject"),
    (["run", FILE, "--replications", "-5"], "reject"),
    (["run", FILE, "--replications", "1e3"], "reject"),
    (["run", FILE, "--replications", "9" * 5000], "reject"),
    (["trace", FILE, "--replications", TRILLION, "-j", "0"], "reject"),
    (["compare", FILE, "--replications", TRILLION, "--workers", "1"], "reject"),
    (["sweep", FILE, "--vary", "replications=1:3:3", "--replications", TRILLION], "reject"),
    (["run", FILE, "--seed", str(10**100), "--out", "results"], "reject"),
    (["run", FILE, "--seed", "-1"], "reject"),
    (["run", FILE, "--seed", str(2**64)], "reject"),
    (["run", FILE, "--seed", str(2**64 - 1), "--out", "results"], "accept"),
    (["trace", FILE, "--seed", str(10**100)], "reject"),
    (["trace", FILE, "-j", "-1"], "reject"),
    (["trace", FILE, "-j", str(10**20)], "reject"),
    (["sweep", FILE, "--vary", "replications=1:1000000:1000000", "-n", "1"], "reject"),
    (["sweep", FILE, "--vary", "seed=0:1000000:1000001", "-n", "1"], "reject"),
    (["sweep", FILE, "--vary", "replications=1:100:100", "--vary", "seed=0:9999:10000"], "reject"),
    (["sweep", FILE, "--vary", "seed=0:100000000000:100000000001"], "reject"),
    (["sweep", FILE, "--vary", "replications=1:3:" + "9" * 5000], "reject"),
    (["sweep", FILE, "--vary", "replications=nan:3:3"], "reject"),
    (["sweep", FILE, "--vary", "replications=1:inf:3"], "reject"),
    (["sweep", FILE, "--vary", "line\nbreak=0:1:3"], "reject"),
    (["sweep", FILE, "--vary", "\x1b[2J=0:1:3"], "reject"),
    (["sweep", FILE, "--vary", "replications"], "reject"),
    (["sweep", FILE, "--vary", "a=1:2:3", "--vary", "b=1:2:3", "--vary", "c=1:2:3"], "reject"),
    (["sweep", "scenarios", "--vary", "replications=1:3:3"], "reject"),
    (["run", "scenarios"], "reject"),
    (["explain", "scenarios"], "reject"),
    (["trace", "scenarios"], "reject"),
    (["validate", "scenarios/missing.toml"], "reject"),
    (["run", "/etc/passwd"], "reject"),
    (["run", "/dev/zero"], "reject"),
    (["validate", "/dev/zero"], "reject"),
    (["run", "/proc/self/environ"], "reject"),
    (["run", "x" * 5000 + ".toml"], "reject"),
    (["run", "\n" * 3000], "reject"),
    (["run", "scenarios/ok.toml\nsecond"], "reject"),
    (["compare", "nowhere"], "reject"),
    (["compare", "taken.txt"], "reject"),
    (["run", FILE, "--workers", "0"], "reject"),
    (["run", FILE, "--workers", "-1"], "reject"),
    (["run", FILE, "--workers", str(10**6), "-n", "1"], "reject"),
    (["run", FILE, "--executor", "bogus"], "reject"),
    (["run", FILE, "--executor", "dask://\nhost"], "reject"),
    (["run", FILE, "--executor", "\x1b[31m"], "reject"),
    (["frobnicate"], "reject"),
    ([], "reject"),
    (["run"], "reject"),
    (["run", FILE, "--no-such-option"], "reject"),
    (["validate", FILE, FILE], "accept"),
    (["run", FILE, "--out", "results", "--workers", "2", "-n", "5"], "accept"),
    (["run", FILE, "--out", "", "-n", "3"], "either"),
]


def _command_line_from(which: int, tree: dict[str, Any]) -> Case:
    """Command line number ``which`` (cycling through the list) on a valid scenario ``tree``."""
    argv, expect = COMMAND_LINES[which % len(COMMAND_LINES)]
    files = _base_files()
    files["proj/" + FILE] = dump_toml(tree)
    return Case("command-line", expect, list(argv), files, names=(), note=" ".join(argv)[:80])


# =============================================================================================
# 4b. The other files and input a user gives negsim: observations, moves (a file or typed at the
#     prompt), exercise answers, class logs; and the options of the newer commands
# =============================================================================================
#
# Each family builds a project around a generated scenario (``scenarios/s0.toml``), a valid
# instance of its input drawn from that scenario, and one mutation: the schema-agnostic ones of
# section 3 where the input is TOML, the byte mutations, and the family's own. ``negsim play`` ends
# with exit 1 when the moves run out before the game does, and ``negsim exercise check`` when an
# answer does not hold: both are normal ends (``Case.other_ok``).

LEAF = "s0.toml"
OUTSIDE_OK = "outside/ok.txt"  # a readable file outside the project (a user may name any file)


def _sampled(draw, items):
    return draw(st.sampled_from(list(items)))


def _project(tree: dict[str, Any]) -> dict[str, bytes]:
    files = _base_files()
    files[f"proj/scenarios/{LEAF}"] = dump_toml(tree)
    return files


def _classes(tree: dict[str, Any]) -> list[str]:
    return [*tree.get("classes", {}), "no_agreement"]


def _path_choice(draw, good: str) -> tuple[str, str, dict[str, bytes], dict[str, str]]:
    """(path, expect, extra files, links): the input file named by a path that is not that file."""
    choice = draw(
        st.sampled_from(
            ["missing", "folder", "dev-zero", "proc", "outside", "symlink", "long-name", "newline"]
        )
    )
    extra: dict[str, bytes] = {}
    links: dict[str, str] = {}
    if choice == "missing":
        return "nowhere/" + Path(good).name, "reject", extra, links
    if choice == "folder":
        return "scenarios", "reject", extra, links
    if choice == "dev-zero":
        return "/dev/zero", "reject", extra, links
    if choice == "proc":
        return "/proc/self/environ", "reject", extra, links
    if choice == "long-name":
        return "x" * 5000 + ".toml", "reject", extra, links
    if choice == "newline":
        return "in\nput.toml", "reject", extra, links
    if choice == "symlink":
        links["proj/linked-input"] = good  # relative to proj/, where the link is
        return "linked-input", "either", extra, links
    return "@@CASE@@/" + OUTSIDE_OK, "either", extra, links


def _input_case(
    family: str,
    draw,
    tree: dict[str, Any],
    files: dict[str, bytes],
    rel: str,
    data: bytes | dict[str, Any],
    argv: list[str],
    own: dict[str, Callable],
    generic: bool = True,
    other_ok: tuple[int, ...] = (),
    valid_expect: str = "accept",
) -> Case:
    """One case of ``family``: the valid input ``data`` (a TOML tree or bytes) at ``proj/rel``, run by
    ``argv``, after one mutation drawn from the generic, byte, path and ``own`` mutations."""
    table: dict[str, Callable | None] = {"none": None}
    is_tree = isinstance(data, dict)
    if is_tree and generic:
        table |= generic_mutations()
    table |= {f"bytes-{k}": v for k, v in byte_mutations().items()}
    table["path"] = _path_choice
    table |= own
    name = draw(st.sampled_from(sorted(table)))
    links: dict[str, str] = {}
    field_: str | None = None
    note = ""
    raw = dump_toml(data) if is_tree else data
    if name == "none":
        expect = valid_expect
    elif name.startswith("bytes-"):
        raw, expect = table[name](draw, raw)
        if name == "bytes-truncated" and not is_tree:
            expect = "either"
    elif name == "path":
        path, expect, extra, links = _path_choice(draw, rel)
        files.update(extra)
        files[OUTSIDE_OK] = raw
        argv = [path if a == rel else a for a in argv]
        note = repr(path)[:60]
    elif name in generic_mutations() and is_tree:
        tree_ = copy.deepcopy(data)
        try:
            change = table[name](draw, tree_, CaseContext(LEAF, tree))
        except _Skip:
            change = Change(name, "either", "nothing to mutate")
        raw = dump_toml(tree_)
        expect, field_, note = change.expect, change.field, change.note
        links = change.links or {}
    else:
        raw, expect, field_, note, argv = table[name](draw, data, tree, argv)
    files[f"proj/{rel}"] = raw
    return Case(
        kind=f"{family}:{name}",
        expect=expect,
        argv=argv,
        files=files,
        links=links,
        names=(Path(rel).name,) if name != "path" else (),
        field=field_,
        note=note,
        other_ok=other_ok,
    )


# -- observations (negsim score FILE --observed OBS, negsim compare --observed OBS)


@st.composite
def observations_tree(draw, tree: dict[str, Any]) -> dict[str, Any]:
    """A valid observations file for ``tree``: dated questions of every type in its horizon, and
    sometimes a named forecast for some of them."""
    start = datetime.date.fromisoformat(tree["calendar"]["start"])
    horizon = tree["calendar"]["horizon_days"]
    obs = {}
    for k in range(draw(st.integers(1, 4))):
        day = start + datetime.timedelta(days=draw(st.integers(0, horizon)))
        question = draw(st.sampled_from(["in_force", "first_by", "settled_by", "at_horizon"]))
        o: dict[str, Any] = {"question": question} if question != "in_force" or draw(st.booleans()) else {}
        o["date"] = (
            start + datetime.timedelta(days=horizon) if question == "at_horizon" else day
        ).isoformat()
        deals = [c for c in _classes(tree) if c != "no_agreement"]
        if question in ("at_horizon", "first_by") or (question == "in_force" and draw(st.booleans())):
            o["class"] = _sampled(draw, deals if question == "first_by" and deals else _classes(tree))
        else:
            o["issue"] = _sampled(draw, sorted(tree["issues"]))
            o["option"] = _sampled(draw, tree["issues"][o["issue"]]["options"])
        if question in ("first_by", "settled_by"):
            o["happened"] = draw(st.booleans())
        o["source"] = "reported by " + draw(_text)
        obs[f"obs{k}"] = o
    out = {"title": draw(_text), "note": "about " + draw(_text), "observations": obs}
    if draw(st.booleans()):
        oid = _sampled(draw, sorted(obs))
        yes_no = obs[oid].get("question") in ("first_by", "settled_by")
        cats = ["yes", "no"] if yes_no else _observed_categories(tree, obs[oid])
        given = {_sampled(draw, cats): draw(st.floats(0, 1))}
        out["forecasts"] = {
            "crowd": {
                "label": draw(_text) or "c",
                "source": "read at " + draw(_text),
                "date": start.isoformat(),
                "p": {oid: given},
            }
        }
    return out


def _observed_categories(tree: dict[str, Any], o: dict[str, Any]) -> list[str]:
    return _classes(tree) if "class" in o else list(tree["issues"][o["issue"]]["options"])


def _obs_question(draw, data, tree, argv):
    """A question and its answer that do not go together, or a named forecast that does not fit."""
    data = copy.deepcopy(data)
    oid = _sampled(draw, sorted(data["observations"]))
    o = data["observations"][oid]
    choice = draw(
        st.sampled_from(
            [
                "no-answer",
                "answer-to-in-force",
                "bad-type",
                "forecast-category",
                "forecast-sum",
                "forecast-unknown",
                "forecast-negative",
            ]
        )
    )
    where = f"observations.{oid}"
    if choice == "no-answer":
        o.pop("happened", None)
        o["question"] = "first_by"
        o.pop("issue", None), o.pop("option", None)
        o["class"] = _classes(tree)[0]
    elif choice == "answer-to-in-force":
        o["question"], o["happened"] = "in_force", True
    elif choice == "bad-type":
        o["question"] = _sampled(draw, ["by", "", "IN_FORCE", "x" * 300, "first_by\n"])
    else:
        cats = (
            ["yes", "no"]
            if o.get("question") in ("first_by", "settled_by")
            else _observed_categories(tree, o)
        )
        p = {cats[0]: 0.5}
        target = oid
        if choice == "forecast-category":
            p = {"not_a_category": 0.5}
        elif choice == "forecast-sum":
            p = {c: 0.9 for c in cats}
        elif choice == "forecast-negative":
            p = {cats[0]: -0.1}
        else:
            target = "no_such_observation"
        data["forecasts"] = {
            "crowd": {"label": "c", "source": "s" * 3, "date": "2025-03-12", "p": {target: p}}
        }
        where = "forecasts.crowd"
    return dump_toml(data), "reject", where, choice, argv


def _obs_date(draw, data, tree, argv):
    data = copy.deepcopy(data)
    oid = _sampled(draw, sorted(data["observations"]))
    start = datetime.date.fromisoformat(tree["calendar"]["start"])
    late = start + datetime.timedelta(days=tree["calendar"]["horizon_days"] + draw(st.integers(1, 400)))
    value = draw(
        st.sampled_from(
            [
                late.isoformat(),
                (start - datetime.timedelta(days=1)).isoformat(),
                "2025-02-30",
                "2025-13-01",
                "20250320",
                "0000-01-01",
                "9999-12-31",
                "2025-03-20T10:00",
                "+2025-03-20",
                datetime.date(2025, 3, 20),
                "",
            ]
        )
    )
    data["observations"][oid]["date"] = value
    return dump_toml(data), "reject", f"observations.{oid}.date", repr(value)[:60], argv


def _obs_names(draw, data, tree, argv):
    data = copy.deepcopy(data)
    oid = _sampled(draw, sorted(data["observations"]))
    o = data["observations"][oid]
    choice = draw(st.sampled_from(["class", "issue", "option", "both", "issue-alone", "neither", "id"]))
    issue = _sampled(draw, sorted(tree["issues"]))
    for k in ("class", "issue", "option"):
        o.pop(k, None)
    if choice == "class":
        o["class"] = _sampled(draw, ["any_agreement", "war", "Deal", "deal\n", "\x1b[2J", "x" * 300])
    elif choice == "issue":
        o["issue"], o["option"] = "no_such_issue", "none"
    elif choice == "option":
        o["issue"], o["option"] = issue, _sampled(draw, ["nope", "", "none\nfull", "x" * 300])
    elif choice == "both":
        o["class"] = _classes(tree)[0]
        o["issue"], o["option"] = issue, tree["issues"][issue]["options"][0]
    elif choice == "issue-alone":
        o["issue"] = issue
    elif choice == "id":
        data["observations"]["bad id"] = data["observations"].pop(oid)
        oid = "bad id"
        o["class"] = _classes(tree)[0]
    return dump_toml(data), "reject", f"observations.{oid}", choice, argv


def observed_case():
    @st.composite
    def build(draw) -> Case:
        tree = draw(scenario_tree())
        files = _project(tree)
        obs = draw(observations_tree(tree))
        rel = "observed/obs.toml"
        command = draw(st.sampled_from(["score", "compare", "update", "prequential"]))
        if command == "score":
            argv = ["score", f"scenarios/{LEAF}", "--observed", rel, "-n", "5", "--out", "results"]
        elif command == "update":
            argv = ["update", f"scenarios/{LEAF}", "--observed", rel, "-n", "5", "--out", "results"]
        elif command == "prequential":
            argv = ["score", f"scenarios/{LEAF}", "--observed", rel, "--prequential", "-n", "5"]
            argv += ["--budget", "1000", "--out", "results"]
        else:
            argv = ["compare", f"scenarios/{LEAF}", "--observed", rel, "-n", "5", "--workers", "1"]
            argv += ["--out", "results"]
        own = {"obs-date": _obs_date, "obs-names": _obs_names, "obs-question": _obs_question}
        return _input_case("observed", draw, tree, files, rel, obs, argv, own)

    return build()


# -- posterior files (negsim run/compare/score/update/explain --posterior FILE, written by negsim calibrate)


def posterior_tree(draw, tree: dict[str, Any]) -> dict[str, Any]:
    """A valid posterior file for ``tree``: one party's margin calibrated, a few weighted particles."""
    pid = _sampled(draw, sorted(tree["parties"]))
    n = draw(st.integers(1, 4))
    draws = [draw(st.integers(0, 40)) / 100 for _ in range(n)]
    return {
        "format": 1,
        "scenario": "s0",
        "scenario_sha256": "0" * 64,
        "observations": "obs.toml",
        "observation_ids": ["a"],
        "worlds_per_particle": 1,
        "weights": [1.0 / n] * n,
        "parameters": {
            f"parties.{pid}.margin.mean": {
                "prior": "uniform",
                "a": 0.0,
                "b": 0.5,
                "in_file": 0.1,
                "posterior_mean": sum(draws) / n,
                "posterior_sd": 0.01,
                "draws": draws,
            }
        },
    }


def _posterior_fields(draw, data, tree, argv):
    data = copy.deepcopy(data)
    (name,) = data["parameters"]
    entry = data["parameters"][name]
    choice = draw(
        st.sampled_from(["weights", "draws", "no-draws", "path", "sd", "prior", "format", "not-assumption"])
    )
    where = "weights"
    if choice == "weights":
        data["weights"] = [0.9] * len(data["weights"]) + [0.5]
    elif choice == "draws":
        entry["draws"] = [*entry["draws"], 0.1]
        where = "parameters"
    elif choice == "no-draws":  # means and sds only, without the particles a calibrated run draws from
        del entry["draws"]
        where = f"parameters.{name}.draws"
    elif choice == "path":
        data["parameters"] = {"parties.nobody.margin.mean": entry}
        where = "parameters"
    elif choice == "sd":
        entry["posterior_sd"] = -1.0
        where = f"parameters.{name}.posterior_sd"
    elif choice == "prior":
        entry["prior"] = "cauchy"
        where = f"parameters.{name}.prior"
    elif choice == "format":
        data["format"] = 99
        where = "format"
    else:
        data["parameters"] = {"replications": entry}  # a number, but no assumption: not calibratable
        where = "parameters"
    return dump_toml(data), "reject", where, choice, argv


def posterior_case():
    @st.composite
    def build(draw) -> Case:
        tree = draw(scenario_tree())
        files = _project(tree)
        post = posterior_tree(draw, tree)
        rel = "calibrated/posterior.toml"
        command = draw(st.sampled_from(["run", "compare", "explain"]))
        argv = [command, f"scenarios/{LEAF}", "--posterior", rel]
        argv += ["-n", "5", "--out", "results"] if command != "explain" else []
        own = {"posterior-fields": _posterior_fields}
        return _input_case("posterior", draw, tree, files, rel, post, argv, own, valid_expect="either")

    return build()


# -- moves: a moves file (negsim play --moves FILE) and lines typed at the prompt


def _answers(tree: dict[str, Any]) -> list[str]:
    words = ["accept", "refuse", "extend", "lapse", "a", "r", "e", "l", "yes", "no", "help", "?"]
    for issue, spec in tree["issues"].items():
        words += [f"refuse {issue}={o}" for o in spec["options"]]
        words += [f"refuse table {issue}={o}" for o in spec["options"]]
    words += ["refuse table " + " ".join(f"{i}={s['options'][-1]}" for i, s in tree["issues"].items())]
    return words + ["use no_lever", "  accept  ", "REFUSE", "# a comment", ""]


GARBAGE_LINES = [
    *NASTY_TEXT,
    "accept now",
    "refuse =",
    "refuse a=b=c",
    "use",
    "use a b",
    "refuse table",
    "refuse table a=b=c",
    "refuse table nope=nope",
    "refuse a=b table",
    "table a=b",
    "x" * 100_000,
]


@st.composite
def moves_lines(draw, tree: dict[str, Any], garbage: bool = False) -> list[str]:
    pool = _answers(tree) + (GARBAGE_LINES if garbage else [])
    return draw(st.lists(st.sampled_from(pool), min_size=0, max_size=80))


def _play_argv(draw, tree: dict[str, Any]) -> list[str]:
    party = _sampled(draw, sorted(tree["parties"]))
    argv = ["play", f"scenarios/{LEAF}", "--as", party, "--log", "results/class-log.jsonl"]
    if draw(st.booleans()):
        argv += ["--world", str(draw(st.integers(0, tree["replications"] - 1)))]
    if draw(st.integers(0, 3)) == 0:
        argv.append("--blind")
    return argv


def _moves_garbage(draw, data, tree, argv):
    lines = draw(moves_lines(tree, garbage=True))
    return "\n".join(lines).encode(), "accept", None, f"{len(lines)} lines", argv


def _moves_huge(draw, data, tree, argv):
    return data + b"accept\n" * 200_000, "reject", None, "1.4 MB", argv


def _moves_control(draw, data, tree, argv):
    bad = draw(st.sampled_from([b"\x00", b"\x1b[2J", b"\r", b"\x7f", b"\xe2\x80\xae"]))
    return bad.join(data.split(b"\n")), "accept", None, repr(bad), argv


def moves_case():
    @st.composite
    def build(draw) -> Case:
        tree = draw(scenario_tree())
        files = _project(tree)
        lines = draw(moves_lines(tree))
        argv = [*_play_argv(draw, tree), "--moves", "moves.txt"]
        own = {"garbage": _moves_garbage, "huge": _moves_huge, "control": _moves_control}
        data = ("\n".join(lines) + "\n").encode()
        case = _input_case("moves", draw, tree, files, "moves.txt", data, argv, own, other_ok=(1,))
        # Lines that are no answer are asked again; a BOM and CRLF line ends are read as text.
        forgiven = ("toml-syntax", "duplicate-key", "nul-byte", "bom", "crlf", "truncated")
        if case.kind in {f"moves:bytes-{k}" for k in forgiven}:
            case.expect = "accept"
        return case

    return build()


def prompt_case():
    """Lines typed at the prompt of ``negsim play`` (no moves file), then the end of input."""

    @st.composite
    def build(draw) -> Case:
        tree = draw(scenario_tree())
        lines = draw(moves_lines(tree, garbage=draw(st.booleans())))
        data = "\n".join(lines).encode()
        expect = "accept"
        kind = "prompt:lines"
        if draw(st.integers(0, 4)) == 0:
            data += draw(st.sampled_from([b"\xff\xfe\n", b"caf\xe9\n", b"\x80accept\n"]))
            expect, kind = "either", "prompt:non-utf8"
        argv = _play_argv(draw, tree)
        if draw(st.integers(0, 5)) == 0:
            argv.append("--autopilot")
            kind = "prompt:autopilot"
        return Case(kind, expect, argv, _project(tree), stdin=data, note=kind, other_ok=(1,))

    return build()


# -- exercise answers (negsim exercise check N ANSWER.toml), on an exercise built on s0.toml

EXERCISE_DIR = "teaching/exercises/01-fuzz"


@st.composite
def exercise_tree(draw, tree: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """(exercise.toml, a valid answer) for an exercise over the generated scenario."""
    measure = draw(
        st.sampled_from(
            [
                {"label": "a deal", "outcome": _classes(tree)[0]},
                {"label": "any agreement", "outcome": "any_agreement"},
                {"label": "a lapse", "event": "lapsed"},
                {"label": "no truce", "holds": {"scope": "none"}},
            ]
        )
    )
    kind = draw(st.sampled_from(["threshold", "argmax", "argmin", "compare", "estimate", "most"]))
    check: dict[str, Any] = {"kind": kind}
    variants = {"short": {"truce.days": 5}, "long": {"truce.days": 20}}
    if kind == "threshold":
        check |= {"parameter": "truce.days", "step": 1.0, "above": 0.5}
        answer: Any = draw(st.integers(2, 30))
    elif kind in ("argmax", "argmin"):
        values = draw(st.lists(st.integers(1, 30), min_size=2, max_size=3, unique=True))
        check |= {"parameter": "truce.days", "values": values}
        answer = _sampled(draw, values)
    elif kind == "compare":
        check |= {"variants": variants, "higher": draw(st.booleans())}
        answer = _sampled(draw, variants)
    elif kind == "estimate":
        check |= {"variants": variants, "first": "short", "second": "long", "tolerance": 5.0}
        answer = draw(st.floats(-100, 100, allow_nan=False).map(lambda x: round(x, 2)))
    else:
        check["ranges"] = {"truce.days": [5, 20], "valuation.window_days": [10, 60]}
        answer = _sampled(draw, check["ranges"])
    exercise = {
        "title": "A generated exercise",
        "question": "Which?",
        "answer_format": "answer = ...",
        "scenario": "scenario.toml",
        "replications": draw(st.integers(10, 40)),
        "precision": 50.0,  # a share of 10 worlds is known to within ± 31 points
        "measure": measure,
        "check": check,
    }
    return exercise, answer


def _answer_kind(draw, data, tree, argv):
    data = dict(data)
    new = draw(st.sampled_from(["a name", 3, 2.5, True, [1], {"x": 1}, datetime.date(2025, 3, 13)]))
    data["answer"] = new
    expect = "either" if type(new) in (int, float) else "reject"
    return dump_toml(data), expect, None, repr(new)[:40], argv


def _answer_number(draw, data, tree, argv):
    argv = list(argv)
    argv[2] = draw(st.sampled_from(["99", "0", "-1", "", "01-nope", "\x1b[2J", "x" * 300, "1.5"]))
    return dump_toml(data), "reject", None, repr(argv[2])[:40], argv


NOT_ABOUT_THE_FILE = ("answer:exercise-number",)  # errors that need not name the answer file


def answer_case():
    @st.composite
    def build(draw) -> Case:
        tree = draw(scenario_tree())
        tree["replications"] = 10
        files = _project(tree)
        exercise, answer = draw(exercise_tree(tree))
        files[f"proj/{EXERCISE_DIR}/exercise.toml"] = dump_toml(exercise)
        files[f"proj/{EXERCISE_DIR}/scenario.toml"] = dump_toml(
            {EXTENDS: f"../../../scenarios/{LEAF}", "title": "The exercise", "summary": "Generated."}
        )
        data = {"answer": answer}
        if draw(st.booleans()):
            data["reason"] = draw(_text)
        argv = ["exercise", "check", "1", "answer.toml", "--out", "results/exercises"]
        own = {"answer-kind": _answer_kind, "exercise-number": _answer_number}
        case = _input_case("answer", draw, tree, files, "answer.toml", data, argv, own, other_ok=(1,))
        if case.kind in NOT_ABOUT_THE_FILE:
            case.names = ()
        return case

    return build()


# -- class logs (negsim debrief LOG): JSON lines, as negsim play appends them

LOG_FIELDS = {  # the fields the debrief reads: wrong values of each, all to be refused
    "scenario": [5, None, ["s0"], "", "nope", "../../outside/evil", "s0\n"],
    "seed": ["1", -1, 2**64, 1.5, None, True],
    "world": ["0", -1, 10**12, 1.5, None, True],
    "party": [1, None, "nobody", "", "\x1b[2J", ["us"]],
    "outcome": [None, "war", "", [1], {"a": 1}],
    "utility": ["x", None, math.nan, math.inf, [0.1]],
    "model_outcome": [None, 3, "nope"],
    "model_utility": ["x", None, -math.inf],
    "model_better": [None, -0.5, 1.5, "x", math.nan],
    "worlds": [-5, "x", 1.5, None],
}


@st.composite
def game_record(draw, tree: dict[str, Any], sha: str | None) -> dict[str, Any]:
    n = tree["replications"]
    rec = {
        "time": "2025-03-13T10:00:00",
        "scenario": Path(LEAF).stem,
        "sha256": sha,
        "seed": tree["seed"],
        "world": draw(st.integers(0, n - 1)),
        "party": _sampled(draw, sorted(tree["parties"])),
        "blind": draw(st.booleans()),
        "moves": draw(st.lists(st.sampled_from(["accept", "refuse", "extend"]), max_size=5)),
        "outcome": _sampled(draw, _classes(tree)),
        "in_force": {},
        "utility": draw(st.floats(-2, 2, allow_nan=False).map(lambda x: round(x, 4))),
        "model_outcome": _sampled(draw, _classes(tree)),
        "model_utility": draw(st.floats(-2, 2, allow_nan=False).map(lambda x: round(x, 4))),
        "model_better": draw(_unit()),
        "model_worse": 0.0,
        "worlds": n,
    }
    if sha is None:
        del rec["sha256"]
    return rec


def _log_bytes(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def _one(draw, data: bytes) -> tuple[list[dict[str, Any]], int]:
    records = [json.loads(line) for line in data.decode().splitlines()]
    return records, draw(st.integers(0, len(records) - 1))


def _log_field(draw, data, tree, argv):
    records, i = _one(draw, data)
    key = _sampled(draw, sorted(LOG_FIELDS))
    value = _sampled(draw, LOG_FIELDS[key])
    records[i][key] = value
    return _log_bytes(records), "reject", None, f"{key} = {value!r}"[:60], argv


def _log_delete(draw, data, tree, argv):
    records, i = _one(draw, data)
    key = _sampled(draw, [k for k in LOG_FIELDS if k != "worlds"])
    del records[i][key]
    return _log_bytes(records), "reject", None, f"no {key}", argv


def _log_harmless(draw, data, tree, argv):
    records, i = _one(draw, data)
    choice = draw(st.sampled_from(["unknown-key", "time", "blank-lines", "moves", "no-sha"]))
    if choice == "unknown-key":
        records[i]["colour"] = "red"
    elif choice == "time":
        records[i]["time"] = _sampled(draw, NASTY_TEXT)
    elif choice == "moves":
        records[i]["moves"] = _sampled(draw, [[], None, "x", [1, 2]])
    elif choice == "no-sha":
        records[i].pop("sha256", None)
    out = _log_bytes(records)
    if choice == "blank-lines":
        out = b"\n\n" + out.replace(b"\n", b"\n   \n")
    return out, "accept", None, choice, argv


def _log_lines(draw, data, tree, argv):
    choice = draw(
        st.sampled_from(["truncated", "not-object", "empty", "deep", "nan-token", "mixed-seeds", "other-sha"])
    )
    records, i = _one(draw, data)
    lines = data.decode().splitlines()
    if choice == "truncated":
        cut = draw(st.integers(0, len(lines[i]) - 1))
        lines[i] = lines[i][:cut] or "{"
        out = ("\n".join(lines) + "\n").encode()
    elif choice == "not-object":
        lines[i] = _sampled(draw, ["[1, 2]", "3", '"text"', "null", "{}", '{"scenario": "s0"}'])
        out = ("\n".join(lines) + "\n").encode()
    elif choice == "empty":
        out = _sampled(draw, [b"", b"\n\n", b"   \n"])
    elif choice == "deep":
        lines[i] = "[" * 100_000 + "]" * 100_000
        out = ("\n".join(lines) + "\n").encode()
    elif choice == "nan-token":
        out = data.replace(b'"utility": ', b'"utility": NaN, "x": ', 1)
    elif choice == "mixed-seeds":
        records.append({**records[0], "seed": (records[0]["seed"] + 1) % 2**32})
        out = _log_bytes(records)
    else:
        records[i]["sha256"] = "0" * 64
        out = _log_bytes(records)
    return out, "reject", None, choice, argv


def class_log_case():
    @st.composite
    def build(draw) -> Case:
        from sim.scenario.loading import canonical_hash

        tree = draw(scenario_tree())
        files = _project(tree)
        sha = canonical_hash(tomllib.loads(files[f"proj/scenarios/{LEAF}"].decode()))
        records = [
            draw(game_record(tree, sha if draw(st.booleans()) else None))
            for _ in range(draw(st.integers(1, 4)))
        ]
        rel = "logs/class-log.jsonl"
        argv = ["debrief", rel, "--scenarios", "scenarios", "--out", "results/debrief"]
        own = {
            "field": _log_field,
            "delete": _log_delete,
            "harmless": _log_harmless,
            "lines": _log_lines,
        }
        case = _input_case("class-log", draw, tree, files, rel, _log_bytes(records), argv, own)
        if case.kind in ("class-log:bytes-bom", "class-log:bytes-crlf"):
            case.expect = "accept"  # read as text: a BOM is dropped, CRLF ends lines
        return case

    return build()


# -- the options of the newer commands (each on a valid scenario FILE, party @@PARTY@@)

OPTION_LINES: list[tuple[list[str], str]] = [
    (["analyze", FILE, "--days", "", "--no-simulate", "-n", "3"], "reject"),
    (["analyze", FILE, "--days", ",,,", "--no-simulate", "-n", "3"], "reject"),
    (["analyze", FILE, "--days", "-1", "--no-simulate", "-n", "3"], "reject"),
    (["analyze", FILE, "--days", "1e3", "--no-simulate", "-n", "3"], "reject"),
    (["analyze", FILE, "--days", "9" * 30, "--no-simulate", "-n", "3"], "reject"),
    (["analyze", FILE, "--days", "0;1", "--no-simulate", "-n", "3"], "reject"),
    (["analyze", FILE, "--days", ",".join(["0"] * 100_000), "--no-simulate", "-n", "3"], "accept"),
    (["analyze", FILE, "--days", "0,1,0", "--no-simulate", "-n", "3", "--out", "results"], "accept"),
    (["analyze", FILE, "--days", "0\n1", "--no-simulate", "-n", "3"], "reject"),
    (["sensitivity", FILE, "--share", "nan", "-n", "3"], "reject"),
    (["sensitivity", FILE, "--share", "inf", "-n", "3"], "reject"),
    (["sensitivity", FILE, "--share", "0", "-n", "3"], "reject"),
    (["sensitivity", FILE, "--share", "-1", "-n", "3"], "reject"),
    (["sensitivity", FILE, "--share", "1e308", "-n", "3"], "reject"),
    (["sensitivity", FILE, "--top", "0", "-n", "3"], "reject"),
    (["sensitivity", FILE, "--top", "-1", "-n", "3"], "reject"),
    (["sensitivity", FILE, "--top", str(10**12), "-n", "3"], "reject"),
    (["sensitivity", FILE, "--trajectories", "0", "-n", "3"], "reject"),
    (["sensitivity", FILE, "--trajectories", "-3", "-n", "3"], "reject"),
    (["sensitivity", FILE, "--trajectories", str(10**11), "-n", "3"], "reject"),
    (["sensitivity", FILE, "--method", "sobol", "--samples", "0", "-n", "3"], "reject"),
    (["sensitivity", FILE, "--method", "sobol", "--samples", "3", "-n", "3"], "reject"),
    (["sensitivity", FILE, "--method", "sobol", "--samples", "-4", "-n", "3"], "reject"),
    (["sensitivity", FILE, "--method", "sobol", "--samples", str(2**40), "-n", "3"], "reject"),
    (["sensitivity", FILE, "--method", "bogus"], "reject"),
    (["sensitivity", FILE, "--params", "nope", "-n", "3"], "reject"),
    (["sensitivity", FILE, "--params", "a\nb", "-n", "3"], "reject"),
    (["sensitivity", FILE, "--params", "title", "-n", "3"], "reject"),
    (["sensitivity", FILE, "--params", *[f"p{k}" for k in range(100)], "-n", "3"], "reject"),
    (["sensitivity", "scenarios", "-n", "3"], "reject"),
    (["trace", FILE, "--find", ""], "reject"),
    (["trace", FILE, "--find", "\x1b[2J"], "reject"),
    (["trace", FILE, "--find", "any_agreement"], "reject"),
    (["trace", FILE, "--find", "x" * 5000], "reject"),
    (["trace", FILE, "--find", "no_agreement"], "either"),
    (["trace", FILE, "--find", "lapsed", "--format", "json"], "either"),
    (["trace", FILE, "--format", "xml"], "reject"),
    (["trace", FILE, "--format", "json"], "accept"),
    (["compare", FILE, "--baseline", "nope", "-n", "3", "--workers", "1"], "reject"),
    (["compare", FILE, "--baseline", "/etc/passwd", "-n", "3", "--workers", "1"], "reject"),
    (["compare", FILE, "--baseline", "", "-n", "3", "--workers", "1"], "reject"),
    (["compare", FILE, "--baseline", "scenarios", "-n", "3", "--workers", "1"], "reject"),
    (["compare", FILE, "--baseline", "x\ny.toml", "-n", "3", "--workers", "1"], "reject"),
    (["compare", FILE, "--baseline", "taken.txt", "-n", "3", "--workers", "1"], "reject"),
    (["compare", FILE, "--baseline", FILE, "-n", "3", "--workers", "1", "--out", "results"], "accept"),
    (["compare", FILE, "--observed", "nowhere.toml", "-n", "3", "--workers", "1"], "reject"),
    (["compare", FILE, "--observed", "scenarios", "-n", "3", "--workers", "1"], "reject"),
    (["score", FILE, "--observed", "/dev/zero", "-n", "3"], "reject"),
    (["score", FILE, "--observed", "taken.txt", "-n", "3"], "reject"),
    (["score", FILE, "-n", "3"], "reject"),
    (["score", FILE, "--observed", "taken.txt", "--prequential", "-n", "3"], "reject"),
    (["update", FILE, "--observed", "nowhere.toml", "-n", "3"], "reject"),
    (["update", FILE, "--observed", "/dev/zero", "-n", "3"], "reject"),
    (["update", FILE, "-n", "3"], "reject"),
    (["update", FILE, "--observed", "observed/obs.toml", "--as-of", "2099-01-01", "-n", "3"], "reject"),
    (["update", FILE, "--observed", "observed/obs.toml", "--as-of", "1900-01-01", "-n", "3"], "reject"),
    (["update", FILE, "--observed", "observed/obs.toml", "--as-of", "2025-02-30", "-n", "3"], "reject"),
    (["update", FILE, "--observed", "observed/obs.toml", "--as-of", "\x1b[2J", "-n", "3"], "reject"),
    (["update", FILE, "--observed", "observed/obs.toml", "--reporting-error", "0", "-n", "3"], "reject"),
    (["update", FILE, "--observed", "observed/obs.toml", "--reporting-error", "1", "-n", "3"], "reject"),
    (["update", FILE, "--observed", "observed/obs.toml", "--reporting-error", "nan", "-n", "3"], "reject"),
    (["update", FILE, "--observed", "observed/obs.toml", "--reporting-error", "-0.1", "-n", "3"], "reject"),
    (["update", FILE, "--observed", "observed/obs.toml", "--ess-floor", "2", "-n", "3"], "reject"),
    (["update", FILE, "--observed", "observed/obs.toml", "--ess-floor", "nan", "-n", "3"], "reject"),
    (["update", FILE, "--observed", "observed/obs.toml", "--budget", "1", "-n", "3"], "reject"),
    (["update", FILE, "--observed", "observed/obs.toml", "--budget", "-5", "-n", "3"], "reject"),
    (["update", FILE, "--observed", "observed/obs.toml", "-n", "3", "--out", "results"], "accept"),
    (["calibrate", FILE, "--observed", "observed/obs.toml", "--params", "replications=1:5"], "reject"),
    (["calibrate", FILE, "--observed", "observed/obs.toml", "--params", "nope"], "reject"),
    (["calibrate", FILE, "--observed", "observed/obs.toml", "--params", "title"], "reject"),
    (["calibrate", FILE, "--observed", "observed/obs.toml", "--params", "a\nb=1:2"], "reject"),
    (["calibrate", FILE, "--observed", "observed/obs.toml", "--params", "truce.days=1:9"], "reject"),
    (["calibrate", FILE, "--observed", "observed/obs.toml", "--population", "1"], "reject"),
    (["calibrate", FILE, "--observed", "observed/obs.toml", "--generations", "0"], "reject"),
    (["calibrate", FILE, "--observed", "observed/obs.toml", "--worlds", "0"], "reject"),
    (["calibrate", FILE, "--observed", "nowhere.toml"], "reject"),
    (["calibrate", FILE], "reject"),
    (["calibrate", FILE, "--observed", "observed/obs.toml", "--method", "exact"], "reject"),
    (["calibrate", FILE, "--observed", "observed/obs.toml", "--reporting-error", "1"], "reject"),
    (["calibrate", FILE, "--observed", "observed/obs.toml", "--reporting-error", "nan"], "reject"),
    (["calibrate", FILE, "--observed", "observed/obs.toml", "--reporting-error", "x"], "reject"),
    (["run", FILE, "--posterior", "nowhere.toml", "-n", "3"], "reject"),
    (["run", FILE, "--posterior", "scenarios", "-n", "3"], "reject"),
    (["run", FILE, "--posterior", "/dev/zero", "-n", "3"], "reject"),
    (["run", FILE, "--posterior", "taken.txt", "-n", "3"], "reject"),
    (["compare", FILE, "--posterior", "nowhere.toml", "-n", "3"], "reject"),
    (["compare", FILE, "--posterior", "observed/obs.toml", "-n", "3"], "reject"),
    (["explain", FILE, "--posterior", "observed/obs.toml"], "reject"),
    (["score", FILE, "--observed", "@@OBS@@", "--log-floor", "0", "-n", "3"], "reject"),
    (["score", FILE, "--observed", "@@OBS@@", "--log-floor", "1", "-n", "3"], "reject"),
    (["score", FILE, "--observed", "@@OBS@@", "--log-floor", "nan", "-n", "3"], "reject"),
    (["score", FILE, "--observed", "@@OBS@@", "--log-floor", "x", "-n", "3"], "reject"),
    (["compare", FILE, "--log-floor", "-1", "-n", "3", "--workers", "1"], "reject"),
    (["play", FILE, "--as", "nobody"], "reject"),
    (["play", FILE, "--as", ""], "reject"),
    (["play", FILE, "--as", "\x1b[2J"], "reject"),
    (["play", FILE, "--as", "@@PARTY@@", "--world", "-1"], "reject"),
    (["play", FILE, "--as", "@@PARTY@@", "--world", str(10**20)], "reject"),
    (["play", FILE, "--as", "@@PARTY@@", "--world", "x"], "reject"),
    (["play", FILE, "--as", "@@PARTY@@", "--seed", "-1"], "reject"),
    (["play", FILE, "--as", "@@PARTY@@", "--seed", str(2**64)], "reject"),
    (["play", FILE, "--as", "@@PARTY@@", "--seed", "5", "--autopilot"], "accept"),
    (["play", FILE, "--as", "@@PARTY@@", "--log", "scenarios"], "reject"),
    (["play", FILE, "--as", "@@PARTY@@", "--log", "taken.txt/log.jsonl"], "reject"),
    (["play", FILE, "--as", "@@PARTY@@", "--log", "/proc/negsim/log.jsonl"], "reject"),
    (["play", FILE, "--as", "@@PARTY@@", "--moves", "scenarios"], "reject"),
    (["play", "scenarios", "--as", "@@PARTY@@"], "reject"),
    (["roles", FILE, "--out", "taken.txt"], "reject"),
    (["roles", FILE, "--out", "taken.txt/sub"], "reject"),
    (["roles", FILE, "--out", "/proc/negsim-roles"], "reject"),
    (["roles", FILE, "--out", "results/roles"], "accept"),
    (["roles", "scenarios"], "reject"),
    (["dashboard", FILE, "--port", "-1"], "reject"),
    (["dashboard", FILE, "--port", "0"], "reject"),
    (["dashboard", FILE, "--port", "70000"], "reject"),
    (["dashboard", FILE, "--port", "x"], "reject"),
    (["dashboard", FILE, "--worlds", "0"], "reject"),
    (["dashboard", FILE, "--worlds", "-5"], "reject"),
    (["dashboard", FILE, "--worlds", str(10**9)], "reject"),
    (["dashboard", "scenarios"], "reject"),
    (["dashboard", "nope.toml"], "reject"),
    (["dashboard", "taken.txt"], "reject"),
    (["init", "taken.txt"], "reject"),
    (["init", "taken.txt/sub"], "reject"),
    (["init", "/proc/negsim-init"], "reject"),
    (["init", "."], "reject"),
    (["init", ""], "reject"),
    (["init", "fresh"], "accept"),
    (["exercise", "check", "1"], "reject"),
    (["exercise", "show"], "reject"),
    (["exercise", "show", "99"], "reject"),
    (["exercise", "list", "--dir", "nowhere"], "reject"),
    (["exercise", "show", "1", "--dir", "scenarios"], "reject"),
    (["exercise", "frob"], "reject"),
    (["debrief", "nowhere.jsonl"], "reject"),
    (["debrief", "scenarios"], "reject"),
    (["debrief", "/dev/zero"], "reject"),
    (["debrief", "taken.txt"], "reject"),
    (["debrief", "nowhere.jsonl", "taken.txt"], "reject"),
    (["worksheet", "--pdf"], "reject"),
    (["worksheet", "--seed", "3"], "reject"),
    (["worksheet", "--key", "-n", "0"], "reject"),
    (["worksheet", "--key", "--workers", "0"], "reject"),
    (["worksheet", "--key", "--executor", "frob"], "reject"),
    (["worksheet", "--key", "nowhere.toml"], "reject"),
    (["class", "serve", FILE, "--tables", "0"], "reject"),
    (["class", "serve", FILE, "--blind", "--tables", "0"], "reject"),
    (["class", "serve", FILE, "--blind=yes"], "reject"),
    (["class", "serve", FILE, "--tables", "100000"], "reject"),
    (["class", "serve", FILE, "--port", "0"], "reject"),
    (["class", "serve", FILE, "--port", "70000"], "reject"),
    (["class", "serve", FILE, "--world", "-1"], "reject"),
    (["class", "serve", FILE, "--world", str(10**20)], "reject"),
    (["class", "serve", FILE, "--db", "scenarios"], "reject"),
    (["class", "serve", FILE, "--db", "taken.txt"], "reject"),
    (["class", "serve", "scenarios"], "reject"),
    (["class", "frob"], "reject"),
    (["class", "export", "nowhere.sqlite"], "reject"),
    (["class", "export", "taken.txt"], "reject"),
    (["class", "export", "scenarios"], "reject"),
    (["class", "export", "/dev/zero"], "reject"),
]


def _option_line_from(which: int, tree: dict[str, Any]) -> Case:
    argv, expect = OPTION_LINES[which % len(OPTION_LINES)]
    party = sorted(tree["parties"])[0]
    argv = [a.replace("@@PARTY@@", party).replace("@@OBS@@", "obs.toml") for a in argv]
    files = _base_files()
    files["proj/" + FILE] = dump_toml(tree)
    start = tree["calendar"]["start"]  # what the observations options read: one report on day 0
    obs = {"date": start, "class": "no_agreement", "source": "the fuzzer"}
    files["proj/observed/obs.toml"] = dump_toml({"title": "t", "note": "fuzz", "observations": {"a": obs}})
    files["proj/obs.toml"] = files["proj/observed/obs.toml"]
    note = " ".join(a if len(a) < 40 else a[:37] + "..." for a in argv)[:80]
    return Case("options", expect, argv, files, names=(), note=note, other_ok=())


INPUT_FAMILIES: dict[str, Callable[[], st.SearchStrategy[Case]]] = {
    "observed": observed_case,
    "moves": moves_case,
    "prompt": prompt_case,
    "answer": answer_case,
    "class-log": class_log_case,
    "posterior": posterior_case,
}


# How often each kind of case comes up, relative to one scenario mutation.
WEIGHTS = {"none": 3.0, "huge-file": 0.3, "huge-string": 0.5, "command-line": 10.0}
WEIGHTS |= {"observed": 3.0, "moves": 3.0, "prompt": 1.5, "answer": 3.0, "class-log": 3.0, "options": 5.0}
WEIGHTS |= {"posterior": 2.0}


def kinds() -> list[str]:
    families = [*INPUT_FAMILIES, "options"]
    return ["none", *generic_mutations(), *schema_mutations(), *byte_mutations(), "command-line", *families]


def plan(n: int) -> dict[str, int]:
    """How many cases of each kind make up ``n`` (every kind at least once when n allows)."""
    ks = kinds()
    w = {k: WEIGHTS.get(k, 1.0) for k in ks}
    total = sum(w.values())
    counts = {k: int(n * w[k] / total) for k in ks}
    for k in sorted(ks, key=lambda k: n * w[k] / total - counts[k], reverse=True):
        if sum(counts.values()) >= n:
            break
        counts[k] += 1
    return counts


# =============================================================================================
# 5. Running a case: one worker process at a time per job, under a watchdog
# =============================================================================================

ONE_LINE_LIMIT = 400  # characters: a longer line did not shorten what it echoes
MEMORY_LIMIT = 4 * 2**30  # bytes of address space for a worker (protects the machine)


@dataclass
class Result:
    code: int | None
    stdout: str
    stderr: str
    seconds: float
    traceback: bool = False
    problems: list[str] = field(default_factory=list)  # broken invariants after an accepted run
    wrote_on_error: list[str] = field(default_factory=list)
    category: str = ""
    reason: str = ""


def _materialize(case: Case, folder: Path) -> None:
    for rel, data in case.files.items():
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        data = data.replace(b"@@CASE@@", str(folder).encode())
        if HUGE.encode() in data:
            data = data.replace(HUGE.encode(), (b"0123456789abcdef" * 625_000))
        if BIG.encode() in data:
            data = data.replace(BIG.encode(), (b"A long label " * 23_000))
        if HUGE_FILE in data:
            data = data.replace(HUGE_FILE, b"# padding padding padding padding padding padding\n" * 1_300_000)
        p.write_bytes(data)
    for rel, target in case.links.items():
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, p)
    (folder / "proj" / "scenarios").mkdir(parents=True, exist_ok=True)


def _files_under(folder: Path) -> set[str]:
    out = set()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for n in filenames + dirnames:
            out.add(os.path.relpath(os.path.join(dirpath, n), folder))
    return out


def _check_outputs(folder: Path, argv: list[str]) -> list[str]:
    """Invariants of what an accepted command wrote: shares in [0, 1], no temporary files left."""
    problems = []
    for shares in folder.rglob("shares.csv"):
        with open(shares, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                try:
                    share, lo, hi = (float(row[c]) for c in ("share", "lo", "hi"))
                except (KeyError, ValueError):
                    problems.append(f"{shares.name}: unreadable row {row}")
                    break
                if not (0 <= lo <= share <= hi <= 1):
                    problems.append(
                        f"{shares.parent.name}/shares.csv: share {share} [{lo}, {hi}] out of range"
                    )
    for pattern in ("*.part", ".*.part"):
        for p in folder.rglob(pattern):
            problems.append(f"left behind: {p.relative_to(folder)}")
    return problems


def execute(case: Case, folder: Path) -> Result:
    """Run one case in this process (called in a worker): write the project, run main(), check."""
    from sim.cli import main

    _materialize(case, folder)
    before = _files_under(folder)
    proj = folder / "proj"
    argv = [a.replace("@@CASE@@", str(folder)) for a in case.argv]
    out, err = io.StringIO(), io.StringIO()
    tb = False
    old, old_stdin = os.getcwd(), sys.stdin
    os.chdir(proj)
    sys.stdin = io.TextIOWrapper(io.BytesIO(case.stdin), encoding="utf-8")
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                if not isinstance(e.code, int | None):
                    print(e.code, file=sys.stderr)
            except BaseException:  # what `python -m sim` would show the user
                traceback.print_exc()
                code, tb = 1, True
    finally:
        os.chdir(old)
        sys.stdin = old_stdin
    seconds = time.perf_counter() - t0
    stderr = err.getvalue()
    res = Result(
        code, out.getvalue()[-5000:], stderr[-20000:], seconds, tb or "Traceback (most recent" in stderr
    )
    after = _files_under(folder)
    created = sorted(after - before)
    if code == 0 or code in case.other_ok:
        res.problems = _check_outputs(folder, argv)
        stray = [p for p in created if not p.startswith("proj/results") and not p.startswith("proj/")]
        res.problems += [f"wrote outside the project: {p}" for p in stray]
    else:
        res.wrote_on_error = [p for p in created if not os.path.isdir(folder / p)]
    return res


def _worker(conn, base: str) -> None:
    os.setsid()  # its own process group: the watchdog kills it and every process it started
    os.environ.setdefault("MPLBACKEND", "Agg")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    with contextlib.suppress(ValueError, OSError):
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    import sim.cli  # noqa: F401  (loaded once, before the first case is timed)

    while True:
        msg = conn.recv()
        if msg is None:
            return
        index, case = msg
        folder = Path(base) / f"case{index:06d}"
        folder.mkdir()
        try:
            res = execute(case, folder)
        except BaseException as e:  # the harness itself failed: report it as such
            res = Result(None, "", f"harness error: {e!r}\n{traceback.format_exc()}", 0.0, True)
        shutil.rmtree(folder, ignore_errors=True)
        conn.send((index, res))


class Worker:
    """A worker process with a watchdog; restarted after a hang."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self._start()

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, str(self.base)))
        self.proc.start()
        child.close()

    def submit(self, index: int, case: Case) -> None:
        self.index, self.started = index, time.monotonic()
        self.conn.send((index, case))

    def poll(self, timeout: float) -> Result | None:
        """The result if ready; a 'hang' result after ``timeout``; None while still running."""
        if self.conn.poll(0.05):
            try:
                _, res = self.conn.recv()
                return res
            except (EOFError, OSError):
                self.kill()
                self._start()
                return Result(None, "", "worker died (killed by a signal or out of memory)", 0.0, True)
        if not self.proc.is_alive():
            self.kill()
            self._start()
            return Result(None, "", f"worker died with exit code {self.proc.exitcode}", 0.0, True)
        elapsed = time.monotonic() - self.started
        if elapsed > timeout:
            self.kill()
            shutil.rmtree(self.base / f"case{self.index:06d}", ignore_errors=True)
            self._start()
            return Result(None, "", "", elapsed, category="hang", reason=f"no answer in {timeout:.0f} s")
        return None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.join(5)

    def close(self) -> None:
        if not self.proc.is_alive():
            return
        with contextlib.suppress(OSError, BrokenPipeError):
            self.conn.send(None)
        self.proc.join(10)
        if self.proc.is_alive():
            self.kill()


# =============================================================================================
# 6. Judging a result
# =============================================================================================

FAILURES = ("traceback", "hang", "multi-line error", "invalid-accepted", "valid-rejected", "wrong exit code")
FAILURES += ("bad message", "broken invariant", "wrote on error", "stderr on success")


def _control(s: str) -> str | None:
    for ch in s:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch != "\t":
            return f"U+{ord(ch):04X}"
    return None


def judge(case: Case, res: Result) -> tuple[str, str]:
    """(category, reason): ok-accepted, ok-rejected, or one of FAILURES."""
    if res.category == "hang":
        return "hang", res.reason
    if res.traceback:
        last = [line for line in res.stderr.strip().splitlines() if line.strip()]
        return "traceback", (last[-1] if last else "")[:200]
    lines = res.stderr.splitlines()
    if res.code == 0 or res.code in case.other_ok:
        if case.expect == "reject":
            return "invalid-accepted", res.stdout.strip().splitlines()[-1][:200] if res.stdout.strip() else ""
        if res.problems:
            return "broken invariant", res.problems[0][:200]
        if res.stderr.strip():
            return "stderr on success", res.stderr.strip().splitlines()[0][:150]
        return "ok-accepted", ""
    if res.code != 2:
        return "wrong exit code", f"exit {res.code}: {res.stderr.strip()[:150]!r}"
    if len(lines) != 1:
        return "multi-line error", f"{len(lines)} lines: {res.stderr[:150]!r}"
    line = lines[0]
    if res.wrote_on_error:
        return "wrote on error", ", ".join(res.wrote_on_error[:3])
    if case.expect == "accept":
        return "valid-rejected", line[:200]
    if len(line) > ONE_LINE_LIMIT:
        return "bad message", f"{len(line)} characters long: {line[:100]!r}"
    bad = _control(line)
    if bad:
        return "bad message", f"unescaped {bad}: {line[:150]!r}"
    if "error" not in line:
        return "bad message", f"not an error line: {line[:150]!r}"
    if case.names and not any(n in line for n in case.names):
        return "bad message", f"does not name {case.names[0]}: {line[:200]}"
    if case.expect == "reject" and case.field and not _names_field(line, case.field):
        return "bad message", f"does not name the field {case.field[:60]}: {line[:200]}"
    return "ok-rejected", ""


def _names_field(line: str, path: str) -> bool:
    """The message names the field or the table it sits in (the first two parts of its path at least)."""
    parts = path.split(".")
    return any(".".join(parts[:k]) in line for k in range(len(parts), min(2, len(parts)) - 1, -1))


# =============================================================================================
# 7. Driving: generate, run, count, report
# =============================================================================================


def _draw_many(strategy: st.SearchStrategy, n: int, seed: int) -> list:
    """``n`` examples of ``strategy``, reproducibly from ``seed``."""
    out: list = []
    if n <= 0:
        return out

    @hypothesis_seed(seed)
    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(x=strategy)
    def collect(x) -> None:
        out.append(x)

    collect()
    while len(out) < n and out:  # hypothesis may stop early when it finds few new examples
        out.extend(out[: n - len(out)])
    return out[:n]


def generate(n: int, seed: int, only: str | None = None) -> list[Case]:
    """``n`` cases drawn by hypothesis, kinds in proportion to WEIGHTS, reproducibly from ``seed``.

    Cases are interleaved by kind, so any prefix of the list is a fair sample.
    """
    counts = plan(n)
    if only:
        chosen = [k for k in counts if k.startswith(only)]
        counts = {k: (n // len(chosen) + (i < n % len(chosen))) for i, k in enumerate(chosen)}
    buckets: list[list[Case]] = []
    for i, (kind, k) in enumerate(counts.items()):
        if kind == "command-line":
            trees = _draw_many(scenario_tree(), k, seed * 1000 + i)
            drawn = [_command_line_from(j, t) for j, t in enumerate(trees)]
        elif kind == "options":
            trees = _draw_many(scenario_tree(), k, seed * 1000 + i)
            start = seed * 7919  # each seed starts at another option line, so runs cover them all
            drawn = [_option_line_from(start + j, t) for j, t in enumerate(trees)]
        elif kind in INPUT_FAMILIES:
            drawn = _draw_many(INPUT_FAMILIES[kind](), k, seed * 1000 + i)
        else:
            drawn = _draw_many(scenario_case(kind), k, seed * 1000 + i)
        buckets.append(drawn)
    out: list[Case] = []
    for j in range(max(map(len, buckets), default=0)):
        for b in buckets:
            if j < len(b):
                out.append(b[j])
    return out


@dataclass
class Report:
    counts: Counter = field(default_factory=Counter)
    by_kind: dict[str, Counter] = field(default_factory=dict)
    failures: list[tuple[int, Case, Result]] = field(default_factory=list)
    distinct: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)  # an error line per mutation kind
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return sum(v for k, v in self.counts.items() if k in FAILURES)

    def add(self, index: int, case: Case, res: Result) -> None:
        self.counts[res.category] += 1
        self.by_kind.setdefault(case.kind, Counter())[res.category] += 1
        if res.category == "ok-rejected":
            self.examples.setdefault(case.kind, res.stderr.strip())
        if res.category in FAILURES:
            self.failures.append((index, case, res))
            what = _show(case.note) if case.kind in ("command-line", "options") else _signature(res.reason)
            sig = (res.category, case.kind.split(":")[0], what)
            self.distinct.setdefault(sig, []).append(index)

    def text(self) -> str:
        out = [f"{sum(self.counts.values())} cases in {self.seconds:.1f} s"]
        for cat in ("ok-accepted", "ok-rejected", *FAILURES):
            if self.counts[cat]:
                out.append(f"  {cat:18} {self.counts[cat]}")
        out.append("by mutation kind:")
        for kind in sorted(self.by_kind):
            cells = ", ".join(f"{c} {n}" for c, n in sorted(self.by_kind[kind].items()))
            out.append(f"  {kind:32} {cells}")
        if self.distinct:
            out.append(f"distinct failures ({len(self.distinct)}):")
            for (cat, kind, sig), idx in sorted(self.distinct.items()):
                out.append(f"  [{cat}] {kind}: {sig}  (x{len(idx)}, e.g. case {idx[0]})")
        return "\n".join(out)


def _show(text: str, limit: int = 120) -> str:
    """Text for a one-line report: control characters escaped, long runs cut."""
    text = text.encode("unicode_escape").decode("ascii") if _control(text) else text
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _signature(reason: str) -> str:
    """A failure's reason with the case-specific parts (numbers, names, paths) blurred."""
    s = re.sub(r"/[^\s:'\"]+", "<path>", reason)
    s = re.sub(r"'[^']*'", "'…'", s)
    s = re.sub(r"\d+(\.\d+)?", "N", s)
    return _show(s)


def run_cases(
    cases_: list[Case],
    timeout: float = 60.0,
    jobs: int = 1,
    failures_dir: Path | None = None,
    progress: bool = False,
    workdir: Path | None = None,
) -> Report:
    """Run every case (``jobs`` at a time) in folders under ``workdir`` (a temporary folder)."""
    report = Report()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="negsim-fuzz-", dir=workdir) as tmp:
        workers = [Worker(Path(tmp)) for _ in range(max(1, jobs))]
        todo = list(enumerate(cases_))[::-1]
        busy: dict[int, Worker] = {}
        done = 0
        try:
            while todo or busy:
                for w in workers:
                    if id(w) not in busy and todo:
                        index, case = todo.pop()
                        w.submit(index, case)
                        busy[id(w)] = w
                for key, w in list(busy.items()):
                    res = w.poll(timeout)
                    if res is None:
                        continue
                    del busy[key]
                    case = cases_[w.index]
                    if not res.category:
                        res.category, res.reason = judge(case, res)
                    report.add(w.index, case, res)
                    if res.category in FAILURES and failures_dir is not None:
                        save_failure(failures_dir, w.index, case, res)
                    done += 1
                    if progress and done % 100 == 0:
                        print(f"  {done}/{len(cases_)} cases, {report.failed} failures", flush=True)
        except BaseException:
            for w in workers:
                w.kill()
            raise
        finally:
            for w in workers:
                w.close()
    report.seconds = time.perf_counter() - t0
    return report


# ---------------------------------------------------------------------------- browser messages
#
# What a browser may send the class server (``sim.teaching.classserver``): generated messages, both
# well-formed moves with wrong values and junk, sent to a seat of a running table. Each must be
# taken (a move that fits the question) or refused with a one-line message; nothing else may
# happen, and a refused message stores nothing.

JUNK = [
    "",
    "x" * 5000,
    *NASTY_TEXT[:4],
    10**30,
    -1,
    1.5,
    math.nan,
    math.inf,
    None,
    True,
    [],
    {},
    [1, [2]],
    {"a": {"b": 1}},
]


@st.composite
def browser_message(draw, issues: dict[str, list[str]], seats: list[str]) -> str:
    """One message as a browser would send it (JSON text), right in form and wrong in some value."""
    anything = st.sampled_from(JUNK)
    issue = st.sampled_from([*issues, *JUNK[:4]])
    option = st.sampled_from([o for opts in issues.values() for o in opts] + JUNK[:6])
    msg: dict[str, Any] = {
        "type": draw(st.sampled_from(["move"] * 6 + ["lever", "preview", "shout", *JUNK[:3]])),
        "table": draw(st.sampled_from([1] * 6 + [2, "1", None, 10**12])),
        "seat": draw(st.sampled_from(["@@SEAT@@"] * 4 + [*seats, "", None])),
        "question": draw(st.sampled_from(["@@Q@@"] * 3 + [-1, 10**6, "1", None, 1.5])),
    }
    if draw(st.integers(0, 3)) == 0:  # addressed right (most are wrong somewhere): the values meet the game
        msg |= {"type": "move", "table": 1, "seat": "@@SEAT@@", "question": "@@Q@@"}
    shape = draw(st.sampled_from(["answer"] * 4 + ["draft", "counter", "extend", "lever", "junk"]))
    if shape == "answer":
        msg["answer"] = draw(st.sampled_from(["accept", "refuse"] * 3 + ["extend", "lapse", *JUNK[:4]]))
        if draw(st.booleans()):
            msg["issue"], msg["option"] = draw(issue), draw(option)
    elif shape in ("draft", "counter", "extend"):  # a counter: a package, or null for none
        package = {i: draw(st.sampled_from(opts)) for i, opts in issues.items()}
        if draw(st.booleans()):
            package[draw(issue)] = draw(option)
        msg["package"] = package if draw(st.integers(0, 4)) else draw(anything)
        if shape != "counter":
            msg["answer"] = "extend"
        elif draw(st.integers(0, 2)) == 0:
            msg["package"] = None  # table nothing
    elif shape == "lever":
        msg["lever"] = draw(st.sampled_from(["us_sanctions", "nope", *JUNK[:4]]))
    else:
        msg = draw(st.dictionaries(st.text(max_size=8), anything, max_size=5))
    text = json.dumps(msg, allow_nan=True)
    cut = draw(st.integers(0, 20))
    return text[: len(text) - cut] if cut > 17 else text  # some truncated JSON too


def browser_messages(n: int, seed: int, issues: dict[str, list[str]], seats: list[str]) -> list[str]:
    """``n`` messages, reproducibly from ``seed``."""
    return _draw_many(browser_message(issues, seats), n, seed)


@st.composite
def dashboard_setting(draw, controls: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The settings a dashboard page may send on Reset: its controls' names with values in their
    range, out of it, not finite, of the wrong type, or an option the issue lacks."""
    settings: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(list(controls)), min_size=1, max_size=4, unique=True)):
        c = controls[name]
        if c["type"] == "Select":
            good = st.sampled_from(c["values"])
            settings[name] = draw(st.one_of(good, good, st.sampled_from([*JUNK[:6], None, 3, ["none"]])))
        else:
            inside = st.floats(c["min"], c["max"])
            wild = st.floats(allow_nan=True, allow_infinity=True)
            settings[name] = draw(
                st.one_of(inside, inside, wild, st.sampled_from([*JUNK[:4], None, True, 10**30]))
            )
    return settings


def dashboard_settings(n: int, seed: int, controls: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """``n`` sets of dashboard settings, reproducibly from ``seed``."""
    return _draw_many(dashboard_setting(controls), n, seed)


def check_dashboard_settings(settings: list[dict[str, Any]], path: Path, worlds: int = 20) -> dict[str, int]:
    """Build the dashboard's model with each set of settings: it must be built, or refused with a
    one-line ValueError (which the page shows, keeping the ensemble it had). Counts of each."""
    from sim.api import classroom

    counts: Counter = Counter()
    for one in settings:
        try:
            classroom(path, worlds, **one)
            counts["built"] += 1
        except ValueError as e:
            why = str(e)
            assert why and "\n" not in why and len(why) < 400, f"refusal not one line for {one!r}: {why!r}"
            counts["refused"] += 1
    return dict(counts)


def check_browser_messages(messages: list[str], sc) -> dict[str, int]:
    """Send each message to Russia's seat at table 1 of a running class (Russia and the envoy
    seated; the envoy's drafts are the model's, so Russia is asked; it refuses the first text, so
    the first messages meet its counter question), ``@@SEAT@@`` and ``@@Q@@``
    standing for its seat and the open question; every message must be taken or refused in one
    line, and a refused one must store nothing. Counts of what happened (and, under ``counter:``,
    of the messages sent while Russia's open question was its counter)."""
    import tempfile

    from sim.teaching.classdb import ClassDB
    from sim.teaching.classserver.app import ClassServer, _message, _seat_move
    from sim.teaching.table import Refused

    counts: Counter = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        db = ClassDB(Path(tmp) / "class.sqlite")
        server = ClassServer(sc, db, tables=2)
        for seat in ("us", "russia"):
            db.claim(1, seat, seat)
        server.start(1)
        game = server.games[1]
        try:
            _wait_for_russia(server, game)  # Russia refuses the first text: its counter is asked first
            with game.cond:
                q = game.questions["russia"]
            game.submit("russia", {"question": q.id, "answer": "refuse"})
            stuck = 0
            for text in messages:
                _wait_for_russia(server, game)
                with game.cond:
                    q = game.questions.get("russia")
                stuck = stuck + 1 if q is not None and q.kind == "counter" else 0
                if stuck > 10:  # few generated messages fit a counter: then Russia tables none itself
                    game.submit("russia", {"question": q.id, "package": None})
                    _wait_for_russia(server, game)
                    stuck = 0
                before = db.count_moves()
                with game.cond:
                    q = game.questions.get("russia")
                text = text.replace('"@@SEAT@@"', '"russia"').replace('"@@Q@@"', str(q.id if q else -1))
                try:
                    reply = _seat_move(server, 1, "russia", _message(text))
                    what = "taken:" + reply["type"]
                except Refused as e:
                    why = str(e)
                    assert why and "\n" not in why and len(why) < 300, f"refusal not one line: {why!r}"
                    assert db.count_moves() == before, f"refused but stored: {text[:200]!r}"
                    what = "refused"
                counts[what] += 1
                if q is not None and q.kind == "counter":
                    counts["counter:" + what] += 1
        finally:
            server.shutdown()
            db.close()
    return dict(counts)


def _wait_for_russia(server, game, timeout: float = 30.0) -> None:
    """Until Russia has a question open: the envoy's drafts are the model's, answered at once."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with game.cond:
            open_ = {s: q for s, q in game.questions.items() if s not in game.answers}
        if "russia" in open_ or game.status in ("over", "ended"):
            return
        for seat, q in open_.items():
            if q.kind == "draft":
                game.submit(seat, {"question": q.id, "package": q.private["model_text"]})
            elif q.kind == "counter":
                game.submit(seat, {"question": q.id, "package": q.private["model_counter"]})
            elif q.kind == "answer":
                game.submit(seat, {"question": q.id, "answer": "accept"})
            else:
                game.submit(seat, {"question": q.id, "answer": "extend"})
        time.sleep(0.005)
    raise TimeoutError("Russia was never asked")


SAVED_PER_KIND = 5


def save_failure(root: Path, index: int, case: Case, res: Result) -> None:
    """The case's project, command line and output, with a script that reproduces it."""
    kind = re.sub(r"[^A-Za-z0-9_-]+", "_", case.kind)
    cat = res.category.replace(" ", "_")
    same = list(root.glob(f"{cat}-{kind}-*")) if root.exists() else []
    if len(same) >= SAVED_PER_KIND:
        return
    folder = root / f"{cat}-{kind}-{index:06d}"
    folder.mkdir(parents=True, exist_ok=True)
    _materialize(case, folder)
    argv = [a.replace("@@CASE@@", str(folder.resolve())) for a in case.argv]
    meta = asdict(case) | {"files": sorted(case.files), "result": asdict(res)}
    (folder / "case.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    (folder / "repro.sh").write_text(
        "#!/bin/sh\n# expected: " + case.expect + "; got: " + res.category + "\n"
        'cd "$(dirname "$0")/proj" && exec python -m sim ' + shlex.join(argv) + "\n",
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds before a case counts as a hang")
    ap.add_argument("--jobs", type=int, default=1, help="cases run at once (each in its own worker)")
    ap.add_argument("--failures", type=Path, default=Path("fuzz-failures"), help="where failing cases go")
    ap.add_argument("--kind", help="only mutations whose kind starts with this")
    ap.add_argument("--report", type=Path, help="also write the counts to this file")
    ap.add_argument("--examples", action="store_true", help="print an error message for each kind")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the workers too
    t0 = time.perf_counter()
    cases_ = generate(args.cases, args.seed, args.kind)
    print(f"generated {len(cases_)} cases in {time.perf_counter() - t0:.1f} s (seed {args.seed})", flush=True)
    report = run_cases(cases_, args.timeout, args.jobs, args.failures, progress=True)
    print(report.text())
    if args.report:
        args.report.write_text(report.text() + "\n", encoding="utf-8")
    if args.examples:
        print("an error message for each kind:")
        for kind, line in sorted(report.examples.items()):
            print(f"  {kind:28} {line}")
    if report.failed:
        print(f"failing cases written to {args.failures}/")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
