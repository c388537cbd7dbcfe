"""Play one side: a person answers for one party in one world of a scenario's ensemble.

The world is world ``j`` of the same ensemble ``negsim run`` plays (same seed, same draws). The
person's answers replace that party's own in that world only: the engine calls the :class:`Seat`
(a ``Player``, see ``sim.engine.parties``) where it would take the party's decision (accept or
refuse a text, the demand a refusal names, whether to extend a truce at its end, when to use a lever
the party holds), and everything else (the other parties, the mediator, the war, ratification at
home) is the model's. Replaying the model party's own answers therefore reaches exactly the world's
outcome in the engine; any other answer changes it only where that answer matters.

A game is scored with the utility the person was shown: the value of the package in force at the
horizon over no deal at all, valued as on the first day (the balance of power at the start, a truce
of full length, no pressure), with that party's values in world ``j``. The model's own party in the
same world, and in every world of the ensemble, is scored with the same utility.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sim.engine.outcomes import STATUS_QUO, OutcomeSpace
from sim.errors import ScenarioError, UserError, show
from sim.experiments.chunks import CHUNK, chunk_model, run_chunks
from sim.scenario import Scenario
from sim.scenario.dates import when
from sim.scenario.files import read_text
from sim.teaching.classdb import is_database, records
from sim.teaching.values import day0_nodeal

Read = Callable[[str], str]
Write = Callable[[str], None]

HELP = (
    "Answer with one of:\n"
    "  accept                  accept the text on the table\n"
    "  refuse                  refuse it\n"
    "  refuse ISSUE=OPTION     refuse it and demand one change (e.g. refuse kursk=safe_withdrawal)\n"
    "  use LEVER               use a lever your party holds (it acts before the next text); then answer\n"
    "  help                    this list\n"
    "  refuse [ISSUE=OPTION] table ISSUE=OPTION ...\n"
    "                          where your party may table texts: refuse and table your own text, the\n"
    "                          text on the table with these changes (e.g. refuse table freeze=yes arms=yes)\n"
    "At the end of a truce: extend | lapse."
)


class EndOfInput(Exception):
    """The moves ran out (end of a moves file, or Ctrl-D at the prompt) before the game ended."""


# ---------------------------------------------------------------------------- moves


@dataclass(frozen=True)
class Move:
    """One answer: accept / refuse (with a demand) / extend / lapse / use a lever."""

    kind: str
    issue: str | None = None
    option: str | None = None
    lever: str | None = None
    terms: tuple[tuple[str, str], ...] = ()  # a tabled text's changes

    def __str__(self) -> str:
        if self.kind == "use":
            return f"use {self.lever}"
        out = self.kind
        if self.kind == "refuse" and self.issue:
            out += f" {self.issue}={self.option}"
        if self.terms:
            out += " table " + " ".join(f"{i}={o}" for i, o in self.terms)
        return out


WORDS = {
    "a": "accept",
    "accept": "accept",
    "yes": "accept",
    "r": "refuse",
    "refuse": "refuse",
    "no": "refuse",
    "e": "extend",
    "extend": "extend",
    "l": "lapse",
    "lapse": "lapse",
}
TABLE_FORM = "a text is refuse table ISSUE=OPTION ..., e.g. refuse table freeze=yes arms=yes"


def _pairs(words: list[str]) -> tuple[tuple[str, str], ...]:
    """ISSUE = OPTION triples of words (as split around '='); ValueError if they are not."""
    if not words or len(words) % 3:
        raise ValueError(TABLE_FORM)
    out = []
    for a in range(0, len(words), 3):
        issue, eq, option = words[a : a + 3]
        if eq != "=" or "=" in (issue, option) or not re.fullmatch(r"[a-z0-9_]+", issue + option):
            raise ValueError(TABLE_FORM)
        out.append((issue, option))
    return tuple(out)


def parse_move(line: str) -> Move | None:
    """A move from one line of input; None for help. ValueError says what is wrong."""
    words = line.strip().lower().replace("=", " = ").split()
    if not words:
        raise ValueError("empty answer")
    head, rest = words[0], words[1:]
    if head in ("help", "?", "h"):
        return None
    if head == "use":
        if len(rest) != 1:
            raise ValueError("say which lever: use LEVER")
        return Move("use", lever=rest[0])
    kind = WORDS.get(head)
    if kind is None:
        raise ValueError(f"unknown answer '{show(head)}'")
    terms: tuple[tuple[str, str], ...] = ()
    if kind == "refuse" and "table" in rest:
        at = rest.index("table")
        rest, terms = rest[:at], _pairs(rest[at + 1 :])
        if not rest:
            return Move("refuse", terms=terms)
    if kind != "refuse" or not rest:
        if rest:
            raise ValueError(f"'{show(head)}' takes nothing after it")
        return Move(kind)
    text = "".join(rest)
    m = re.fullmatch(r"([a-z0-9_]+)=([a-z0-9_]+)", text)
    if m is None:
        raise ValueError("a demand is ISSUE=OPTION, e.g. refuse kursk=safe_withdrawal")
    return Move("refuse", issue=m.group(1), option=m.group(2), terms=terms)


MAX_MOVES_BYTES = 1_000_000  # a moves file: a game has a few hundred answers at most
MAX_LOG_BYTES = 100_000_000  # a class log: a line of about 2 kB per game


def _read_user_file(path: str | Path, limit: int, what: str) -> str:
    """A regular UTF-8 file of at most ``limit`` bytes, read whole; else a one-line UserError."""
    path = Path(path)
    try:
        return read_text(path, limit, path, "", what)
    except ScenarioError as e:
        raise UserError(f"{show(path, 200)}: {e.message}") from None


def lines_of(path: str | Path) -> Iterator[str]:
    """The moves of a moves file: one per line; blank lines and # comments skipped.

    The whole file is read (and refused, in one line, if it cannot be) before the first move.
    """
    text = _read_user_file(path, MAX_MOVES_BYTES, "moves file")
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    return iter([line for line in lines if line])


def scripted(lines: Iterable[str], write: Write) -> Read:
    """A reader that takes its answers from ``lines`` and echoes each after the prompt."""
    it = iter(lines)

    def read(prompt: str) -> str:
        try:
            line = next(it)
        except StopIteration:
            raise EndOfInput from None
        write(f"{prompt}{line}")
        return line

    return read


def terminal(prompt: str) -> str:
    try:
        return input(prompt)
    except EOFError:
        raise EndOfInput from None


# ---------------------------------------------------------------------------- utility


def utility(model, pid: str, row: int, pkgs: np.ndarray) -> np.ndarray:
    """(C,) the value over no deal of packages for party ``pid`` in world ``row`` of ``model``,
    as on the first day: the balance of power at the start, a truce of full length, no pressure."""
    sc, space = model.spec, model.space
    party = model.party[pid]
    n_options = len(space.options[space.truce_k])
    days = np.full((1, n_options), sc.truce.days, dtype=np.int64)
    days[:, 0] = 0
    m0 = np.array([sc.dynamics.momentum.initial])
    shift = np.zeros((1, len(space.fronts)))
    pkgs = np.concatenate([[STATUS_QUO], np.asarray(pkgs, dtype=np.int64)])
    u = party.values.of(space, np.array([row]), pkgs, days, m0, shift, model.window)[0]
    return u[1:] - u[0]


def package_text(sc: Scenario, space: OutcomeSpace, pkg: int, indent: str = "    ") -> list[str]:
    width = max(len(i.label) for i in sc.issues.values())
    return [f"{indent}{sc.issues[k].label:<{width}}  {v}" for k, v in space.describe(pkg).items()]


def class_name(sc: Scenario, space: OutcomeSpace, pkg: int) -> tuple[str, str]:
    cid = space.class_order[space.package_class[pkg]]
    return cid, (sc.classes[cid].label if cid in sc.classes else "No agreement in force")


# ---------------------------------------------------------------------------- the seat


@dataclass
class Seat:
    """The person's seat at the table: a ``Player`` for one party in one world (row) of a model."""

    model: Any
    pid: str
    row: int
    read: Read
    write: Write
    blind: bool = False
    moves: list[str] = field(default_factory=list)
    queued: set[int] = field(default_factory=set)
    said_demand: int = -1
    said_text: int = -1  # the text the person tables with a refusal (-1: none)
    told_listening: bool = False
    shown: int = 0  # the last round whose news was shown before its text
    last_text: int = -1

    # -- helpers
    def _k(self, idx: np.ndarray) -> int | None:
        hit = np.flatnonzero(idx == self.row)
        return int(hit[0]) if hit.size else None

    @property
    def sc(self) -> Scenario:
        return self.model.spec

    @property
    def party(self):
        return self.model.party[self.pid]

    def held_levers(self) -> dict[str, int]:
        return {
            lid: j for j, lid in enumerate(self.model.levers.ids) if self.sc.levers[lid].holder == self.pid
        }

    def _ask(self, prompt: str, allowed: set[str]) -> Move:
        """Read until a move of an allowed kind (levers are queued on the way); bad input is asked again."""
        while True:
            try:
                move = parse_move(self.read(prompt))
            except ValueError as e:
                self.write(f"  ? {e}. Type help for the list of answers.")
                continue
            if move is None:
                self.write(HELP)
                continue
            if move.kind == "use":
                if self._queue(move.lever):
                    self.moves.append(str(move))
                continue
            if move.kind not in allowed:
                self.write(f"  ? '{move.kind}' is not an answer here; answer {' or '.join(sorted(allowed))}.")
                continue
            return move

    def _queue(self, lever: str | None) -> bool:
        held = self.held_levers()
        if lever not in held:
            names = ", ".join(held) or "none"
            self.write(f"  ? your party holds no lever '{lever}' (yours: {names}).")
            return False
        j = held[lever]
        lv = self.sc.levers[lever]
        used = int(self.model.levers.uses[j, self.row])
        if lv.strength <= 0 or used >= lv.max_uses:
            self.write(f"  ? {lever} cannot be used (again) here: {used} of {lv.max_uses} uses allowed.")
            return False
        self.queued.add(j)
        self.write(f"  {lv.label}: will be used before the next text ({used + 1} of {lv.max_uses}).")
        return True

    # -- the Player protocol
    def respond(self, party, idx, pkg, surplus, ok):
        k = self._k(idx)
        if k is None or not party.required[pkg[k]]:
            return ok
        p = int(pkg[k])
        self.show_table(p, float(surplus[k]))
        move = self.answer(party, idx[k : k + 1], pkg[k : k + 1], bool(ok[k]))
        self.moves.append(str(move))
        out = ok.copy()
        out[k] = move.kind == "accept"
        self.said_demand = self.demand_index(p, move)
        self.said_text = self.tabled(p, move) if move.terms else -1
        return out

    def answer(self, party, idx, pkg, model_ok: bool) -> Move:
        while True:
            move = self._ask("your answer> ", {"accept", "refuse"})
            problem = self.bad_demand(int(pkg[0]), move)
            if problem is None and move.terms:
                problem = self.bad_text(party, self.tabled(int(pkg[0]), move))
            if problem is None:
                return move
            self.write(f"  ? {problem}")

    def bad_demand(self, pkg: int, move: Move) -> str | None:
        """Why a demand is not a single change of the text that could be agreed (None if it is)."""
        if move.issue is None:
            return None
        sc, space = self.sc, self.model.space
        if move.issue not in sc.issues:
            return f"no issue '{move.issue}'; issues: {', '.join(sc.issues)}"
        options = sc.issues[move.issue].options
        if move.option not in options:
            return f"'{move.issue}' has no option '{move.option}'; options: {', '.join(options)}"
        if space.describe(pkg)[move.issue] == move.option:
            return f"the text already says {move.issue}={move.option}; demand a change"
        new = int(space.neighbours[pkg, self.demand_index(pkg, move)])
        if not space.valid[new]:
            return f"{move.issue}={move.option} holds only during a truce; the text has none"
        return None

    def demand_index(self, pkg: int, move: Move) -> int:
        if move.kind != "refuse" or move.issue is None:
            return -1
        space = self.model.space
        k, o = (
            space.issues.index(move.issue),
            space.options[space.issues.index(move.issue)].index(move.option),
        )
        return space.moves.index((k, o))

    def demand(self, party, idx, pkg, best):
        k = self._k(idx)
        if k is None:
            return best
        out = best.copy()
        out[k] = self.said_demand
        if self.said_demand >= 0 and self.model.mediator.weights_hat is None and not self.told_listening:
            self.told_listening = True
            self.write(
                f"  (Your demand is on record; the {self.sc.mediator.label} in this scenario does not revise "
                "its picture of the parties from demands, only from answers: see mediator_listens.toml.)"
            )
        return out

    def prefers(self, party, idx, a, b, yes):
        k = self._k(idx)
        if k is None or not party.required[a[k]]:
            return yes
        self.show_expiry(int(a[k]), int(b[k]))
        move = self.extend(bool(yes[k]))
        self.moves.append(str(move))
        out = yes.copy()
        out[k] = move.kind == "extend"
        return out

    def extend(self, model_yes: bool) -> Move:
        return self._ask("extend or lapse> ", {"extend", "lapse"})

    def counter(self, party, idx, text, best):
        """The person's own text, said with the refusal (``refuse ... table ...``), or none."""
        k = self._k(idx)
        if k is None:
            return best
        out = best.copy()
        out[k], self.said_text = self.said_text, -1
        return out

    def tabled(self, text: int, move: Move) -> int:
        """The package of the refused text with the move's changes (-1 if an issue or option is unknown)."""
        sc, space = self.sc, self.model.space
        pkg = space.describe(text)
        for issue, option in move.terms:
            if issue not in sc.issues or option not in sc.issues[issue].options:
                return -2
            pkg[issue] = option
        return space.index(pkg)

    def bad_text(self, party, pkg: int) -> str | None:
        """Why a tabled text cannot be put to the others (None if it can)."""
        if pkg == -2:
            return f"name issues and their options: {', '.join(self.sc.issues)} (see the text above)"
        if party.beliefs is None:
            return f"{party.spec.label} tables no texts of its own in this scenario; refuse or accept"
        space, here = self.model.space, int(self.model.inforce[self.row])
        if not space.negotiable[pkg]:
            return (
                "that text is no deal the table can sign (a red line, or terms tied to a truce without one)"
            )
        if not space.extends(np.array([here]))[0, pkg] or pkg == here:
            return "a text keeps everything in force and adds to it"
        locked = self.model.levers.locked(np.array([self.row]))
        if locked is not None and locked[0, pkg]:
            return "that option is not on offer yet"
        return None

    def levers(self, lever, idx, fire, allowed):
        k = self._k(idx)
        if k is None:
            return fire
        out = fire.copy()
        out[k] = lever in self.queued and bool(allowed[k])
        self.queued.discard(lever)
        return out

    # -- what the person sees
    def show_table(self, pkg: int, surplus: float) -> None:
        model, sc, space = self.model, self.sc, self.model.space
        contact = int(model.held[self.row])
        head = f"Contact {contact}"
        if not self.blind:
            head += f", {when(sc, float(model.clock[self.row]))}"
        self.write("")
        self.write(head)
        if self.shown != contact:
            self.shown = contact
            report_before(sc, model._entry, self.write)
        here = int(model.inforce[self.row])
        self.write(f"  In force: {class_name(sc, space, here)[1]}" + self._truce_left(here))
        by = int(model.text_by[self.row])
        who = "Opening text" if contact == 1 and model.opening is not None and by < 0 else "Text"
        author = f"the {sc.mediator.label}" if by < 0 else f"{model.parties[by].spec.label} (its own text)"
        if pkg == self.last_text:
            self.write(f"  The same text is on the table, from {author}.")
        else:
            changed = "" if self.last_text < 0 else " (* changed since the last text)"
            self.write(f"  {who} on the table, from {author}{changed}:")
            before = space.describe(self.last_text) if self.last_text >= 0 else {}
            for line, (issue, option) in zip(
                package_text(sc, space, pkg), space.describe(pkg).items(), strict=True
            ):
                self.write(("  *" if before and before[issue] != option else "   ") + line[3:])
        self.last_text = pkg
        self.write(f"  Your value of this text over what is in force: {surplus:+.3f}")
        if not self.blind:
            rows = np.array([self.row])
            nodeal = model.value(self.party.values, self.party, rows, np.array([[here]]))[0, 0]
            self.write(
                f"  Your no-deal value (what is in force, over the next {sc.valuation.window_days} days): "
                f"{nodeal:+.3f}"
            )

    def _truce_left(self, pkg: int) -> str:
        if self.model.space.truce[pkg] == 0 or self.blind:
            return ""
        return f" (its truce ends {when(self.sc, float(self.model.truces.end[self.row]))})"

    def show_expiry(self, pkg: int, lapsed: int) -> None:
        self.write("")
        end = float(self.model.truces.end[self.row])
        day = "" if self.blind else f" ({when(self.sc, end)})"
        self.write(
            f"The truce in force has reached its end{day}. Extend it for another {self.sc.truce.days} days, "
            "or let it lapse?"
        )
        self.write("  Lapsing leaves in force:")
        for line in package_text(self.sc, self.model.space, lapsed):
            self.write(line)


class Autopilot(Seat):
    """A seat that answers as the model's own party would, and records the moves: the script that
    replays the model in this world (``negsim play --autopilot``)."""

    def answer(self, party, idx, pkg, model_ok: bool) -> Move:
        if model_ok:
            return self._say(Move("accept"))
        player, party.player = party.player, None
        try:
            best = int(party.demand(idx, pkg)[0])
        finally:
            party.player = player
        if best < 0:
            return self._say(Move("refuse"))
        issue, option = self.model.space.describe_move(best)
        return self._say(Move("refuse", issue=issue, option=option))

    def extend(self, model_yes: bool) -> Move:
        return self._say(Move("extend" if model_yes else "lapse"))

    def counter(self, party, idx, text, best):
        k = self._k(idx)
        if k is not None and best[k] >= 0:
            # The model tables its counter after every answer is in; a person says it with the
            # refusal, so the refusal just recorded is amended to carry it.
            space = self.model.space
            was, now = space.describe(int(text[k])), space.describe(int(best[k]))
            refusal = parse_move(self.moves[-1])
            terms = tuple((i, o) for i, o in now.items() if was[i] != o)
            self.moves[-1] = str(Move("refuse", refusal.issue, refusal.option, terms=terms))
            self.write(f"model's text> {self.moves[-1]}")
        return best

    def levers(self, lever, idx, fire, allowed):
        k = self._k(idx)
        if k is not None and fire[k]:
            # The model fired it by its policy; a person says so at the previous prompt.
            lid = self.model.levers.ids[lever]
            at = len(self.moves) - 1 if self.moves else 0
            self.moves.insert(at, f"use {lid}")
        return fire

    def _say(self, move: Move) -> Move:
        self.write(f"model's answer> {move}")
        return move


# ---------------------------------------------------------------------------- the game


@dataclass
class GameResult:
    scenario: str
    sha256: str
    seed: int
    world: int
    party: str
    blind: bool
    moves: list[str]
    outcome: str
    in_force: dict[str, str]
    utility: float
    model_outcome: str
    model_utility: float
    model_better: float
    model_worse: float
    worlds: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_world(sc: Scenario, pid: str, world: int) -> None:
    if pid not in sc.parties:
        raise UserError(f"--as must be one of: {', '.join(sc.parties)}")
    if not 0 <= world < sc.replications:
        raise UserError(f"--world must be in 0..{sc.replications - 1}")


def play(
    sc: Scenario,
    pid: str,
    world: int = 0,
    read: Read = terminal,
    write: Write = print,
    blind: bool = False,
    autopilot: bool = False,
    compare: bool = True,
) -> GameResult | None:
    """Play world ``world`` of ``sc`` as party ``pid``; None if the moves ran out first."""
    check_world(sc, pid, world)
    start = world - world % CHUNK
    row = world - start
    model = chunk_model(sc, sc.seed, start, world + 1, trace=row)
    seat = (Autopilot if autopilot else Seat)(model, pid, row, read, write, blind)
    intro(sc, model, seat, world)
    model.party[pid].player = seat
    seen = 0
    try:
        while model.running:
            model.step()
            for entry in model.transcript[seen:]:
                if seat.shown != entry["contact"]:
                    seat.shown = entry["contact"]
                    if any(entry.get(k) for k in ("events", "levers")) or set(
                        entry.get("happened", [])
                    ) & set(BEFORE):
                        write("")
                        write(
                            f"Contact {entry['contact']}" + ("" if blind else f", {when(sc, entry['day'])}")
                        )
                    report_before(sc, entry, write)
                report_after(sc, entry, pid, write)
            seen = len(model.transcript)
    except EndOfInput:
        day = "" if blind else f" on {when(sc, float(model.clock[row]))}"
        write(f"Game ended{day}: no more moves (end of input); the game is not logged.")
        return None
    finally:
        model.party[pid].player = None
    return finish(sc, model, seat, world, compare, write)


def intro(sc: Scenario, model, seat: Seat, world: int) -> None:
    p = sc.parties[seat.pid]
    seat.write(f"{sc.title}: you are {p.label}.")
    seat.write(
        f"World {world} of the {sc.replications:,} worlds of {sc.name} (seed {sc.seed}): the others and the "
        f"{sc.mediator.label} are the model's. contacts about every "
        f"{sc.calendar.contacts.mean_interval_days:g} days from {sc.calendar.start}, for {sc.days} days."
    )
    if not seat.blind:
        value = float(day0_nodeal(model, seat.pid, np.array([seat.row]))[0])
        seat.write(
            "Your no-deal value on day 0 in this world (nothing agreed, the war on every front, over the "
            f"next {sc.valuation.window_days} days): {value:+.3f}; your role sheet gives its range across "
            "the worlds."
        )
    held = seat.held_levers()
    if held:
        names = ", ".join(f"{lid} ({sc.levers[lid].max_uses} uses)" for lid in held)
        seat.write(f"Levers you hold: {names}.")
    seat.write("Type help at a prompt for the answers you can give.")


BEFORE = {
    "lapsed": "The truce lapsed.",
    "violated": "The truce broke down.",
    "extended": "The truce is extended.",
}


def report_before(sc: Scenario, e: dict[str, Any], write: Write) -> None:
    """The news of a round before its text: truces that ended or were extended, events, levers."""
    for kind in e.get("happened", []):
        if kind in BEFORE:
            write(f"  {BEFORE[kind]}")
    for eid in e.get("events", []):
        write(f"  Event: {sc.events[eid].label}.")
    for lid in e.get("levers", []):
        lv = sc.levers[lid]
        write(f"  {sc.parties[lv.holder].label} uses {lv.label} on {sc.parties[lv.target].label}.")


def report_after(sc: Scenario, e: dict[str, Any], pid: str, write: Write) -> None:
    """What the person learns after a round: the public answers, ratification, the mediator's stop."""
    if "proposal" in e:
        answers = []
        for r in e["parties"]:
            if r["asked"]:
                who = "you" if r["party"] == pid else sc.parties[r["party"]].label
                verb = "accept" if r["accepted"] else "refuse"
                answers.append(f"{who} {verb}" + ("s" if r["party"] != pid else ""))
        write("  Answers: " + "; ".join(answers) + ".")
        if e["deal"]:
            for v in e["ratification"]:
                write(f"  {v['veto']} ratify with probability {100 * v['probability']:.0f}%.")
            write("  Ratified: the text is in force." if e["ratified"] else "  Vetoed at home: talks go on.")
    if "gave_up" in e.get("happened", []):
        write(f"  The {sc.mediator.label} gives up for now.")


def finish(sc: Scenario, model, seat: Seat, world: int, compare: bool, write: Write) -> GameResult:
    space, row, pid = model.space, seat.row, seat.pid
    here = int(model.inforce[row])
    cid, label = class_name(sc, space, here)
    mine = float(utility(model, pid, row, np.array([here]))[0])
    write("")
    write(f"Game over on day {sc.calendar.horizon_days}: {label} [{cid}].")
    for line in package_text(sc, space, here):
        write(line)
    write(
        "Your result (the value of what is in force over no deal, as you valued packages on day 1): "
        f"{mine:+.3f}"
    )
    model_pkg, better, worse, n = here, 0.0, 0.0, 0
    if compare:
        ens = ensemble_packages(sc)
        model_pkg = int(ens[world])
        u = utility(model, pid, row, ens)
        n = u.size
        better, worse = float(np.mean(u > mine + 1e-12)), float(np.mean(u < mine - 1e-12))
        m_cid, m_label = class_name(sc, space, model_pkg)
        m_u = float(u[world])
        who = f"The model's {sc.parties[pid].label}"
        verdict = (
            "you did better" if mine > m_u + 1e-12 else "it did better" if m_u > mine + 1e-12 else "the same"
        )
        write(f"{who} in this same world: {m_label} [{m_cid}], {m_u:+.3f}: {verdict}.")
        write(
            f"{who} across the {n:,} worlds of {sc.name}, measured with your utility: it did better in "
            f"{100 * better:.0f}% of worlds, worse in {100 * worse:.0f}%, "
            f"as well in {100 * (1 - better - worse):.0f}%."
        )
    else:
        m_cid, m_u = cid, mine
    return GameResult(
        sc.name,
        sc.sha256,
        sc.seed,
        world,
        pid,
        seat.blind,
        list(seat.moves),
        cid,
        space.describe(here),
        mine,
        m_cid,
        m_u,
        better,
        worse,
        n,
    )


def replay(sc: Scenario, pid: str, world: int, moves: list[str]) -> tuple[Any, list[int]]:
    """Replay a logged game: the model of its world with its transcript, and what was in force
    at the end of each day. The same moves in the same world give the same game."""
    start = world - world % CHUNK
    row = world - start
    model = chunk_model(sc, sc.seed, start, world + 1, trace=row)
    seat = Seat(model, pid, row, scripted(moves, lambda _s: None), lambda _s: None)
    model.party[pid].player = seat
    inforce = []
    try:
        while model.running:
            model.step()
            inforce.append(int(model.inforce[row]))
    finally:
        model.party[pid].player = None
    return model, inforce


def ensemble_packages(sc: Scenario) -> np.ndarray:
    """(R,) the package in force at the horizon in every world of the scenario's ensemble."""
    return np.concatenate([c.inforce for c in run_chunks(sc, sc.seed, sc.replications)])


def model_moves(sc: Scenario, pid: str, world: int = 0) -> list[str]:
    """The moves that replay the model's own party in world ``world`` (the autopilot's script)."""
    result = play(sc, pid, world, read=_no_input, write=lambda _s: None, autopilot=True, compare=False)
    assert result is not None
    return result.moves


def _no_input(prompt: str) -> str:
    raise EndOfInput


def check_log(path: str | Path) -> None:
    """Refuse, before a game starts, a class log that could not be appended to at its end."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"--log {show(path, 200)} is a folder; name a file, e.g. class-log.jsonl")
    if path.exists() and not path.is_file() and str(path) != os.devnull:
        raise UserError(f"--log {show(path, 200)} is not a regular file")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"--log {show(path, 200)}: {show(parent, 200)} is a file, not a folder")
            break
    try:  # the folder the log goes in, made now rather than found missing when the game is over
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        why = os.strerror(e.errno or 0)
        raise UserError(f"--log {show(path, 200)}: cannot write there ({why})") from None


def append_log(path: str | Path, result: GameResult) -> Path:
    """Append one finished game to a class log (JSON lines)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **result.as_dict()}
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def _log_records(path: str | Path) -> Iterator[tuple[int, Any]]:
    """(line, record) of a class log: a JSON-lines file, or a class server's database."""
    if is_database(path):
        yield from enumerate(records(path), 1)
        return
    text = _read_user_file(path, MAX_LOG_BYTES, "class log")
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise UserError(f"{show(path, 200)}, line {n}: not a JSON line") from None


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """The games of a class log (JSON lines, or the database of ``negsim class serve``); a line
    that is not a game is reported with its number."""
    out = []
    shown = show(path, 200)
    for n, rec in _log_records(path):
        if not isinstance(rec, dict) or not {"scenario", "party", "utility", "outcome", "world"} <= set(rec):
            raise UserError(f"{shown}, line {n}: not a game record of negsim play")
        try:
            game = Game.model_validate(rec)
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(map(str, err["loc"]))
            msg = "required field is missing" if err["type"] == "missing" else err["msg"]
            raise UserError(f"{shown}, line {n}: {show(where)}: {msg}") from None
        out.append({**rec, **game.model_dump(), "line": n})
    if not out:
        raise UserError(f"{shown}: no games in this class log")
    return out


Finite = Annotated[float, Field(allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1)]


class Game(BaseModel):
    """The fields of a class log's game record that the debrief reads (others are kept as they are)."""

    model_config = ConfigDict(extra="ignore", strict=True)

    scenario: str = Field(min_length=1, max_length=255)
    sha256: str | None = None
    seed: int = Field(ge=0, le=2**64 - 1)
    world: int = Field(ge=0)
    party: str = Field(min_length=1, max_length=255)
    outcome: str = Field(min_length=1, max_length=255)
    utility: Finite
    model_outcome: str = Field(min_length=1, max_length=255)
    model_utility: Finite
    model_better: Share
    worlds: int = Field(default=0, ge=0)

    @field_validator("utility", "model_utility", "model_better", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value
