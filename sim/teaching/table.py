"""One table of the class: people at some seats, the model at the others, in one world of the ensemble.

A table plays world ``j`` of the scenario's ensemble, as ``negsim play`` does, but with a person at
any number of seats. A person at a party's seat takes that party's decisions where the engine asks
for them (the ``Player`` of ``sim.engine.parties``): accept or refuse the text, the change a refusal
names, the text it tables of its own after refusing (where its party may table counters, Rubinstein
1982; ``sim.engine.counters``), extend or let lapse a truce at its end, when to use a lever the
party holds. The person at
the mediator's party's seat (the US envoy) also drafts the single negotiating text (Raiffa 1982)
where the engine's mediator would (the ``Drafter`` of ``sim.engine.mediator``), shown the model's
own text as a first draft. Every seat left empty is the model's own agent, so a table with nobody
at it is the engine's world j, and a table whose people make the model's own moves reaches the
engine's outcome.

The engine runs in a thread of its own and waits, holding the table's lock only while it computes,
for the answers it needs. The answers to one text are asked of every seated party at once (the text
is public; an answer is not shown to the others until all have answered). A move is the answer to
one numbered question, so a late or replayed move is refused; it is stored (``store``) before it
counts. Rebuilding a table after a restart replays its stored moves through the same deterministic
engine (same scenario, world and seed), so a table resumes in exactly the state it was in.

The table follows the engine's day clock: Mesa steps its world day by day, and the table stops at
each contact of its world (an envoy's visit or call, at the world's own times) and at a truce's end,
where the engine asks. A contact is numbered (the world's n-th) and shown with its day and date.

The teacher sets the pace: every seat answers (the default), or a deadline in seconds, per question
or per round (every question of one contact, or of one truce's end), after which the model answers
for a seat that has not (stored as such, so a replay does the same). With ``blind`` the envoy drafts
without seeing what the mediator believes of the others. An event or
a lever pulled by the teacher acts at the next contact of the table's world, before its text, the
contact's number being stored with it.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.errors import UserError
from sim.experiments.chunks import CHUNK, chunk_model
from sim.scenario import Scenario
from sim.scenario.dates import when
from sim.teaching.debrief import rounds
from sim.teaching.play import check_world, class_name, ensemble_packages, utility

ANSWERS = ("answer", "extend", "draft", "counter", "model")  # stored moves that answer a question
SCHEDULED = ("inject", "lever")  # stored moves that act at the start of a contact


class Refused(Exception):
    """A move that changes nothing; the message says why, in words for the person who sent it."""


class Stopped(Exception):
    """The teacher ended the game, or a restarted table has replayed all it had."""


@dataclass
class Question:
    """What the engine asks one seat: ``kind`` draft / answer / counter / extend, with the seat's own
    numbers (``pkg`` of a counter question: the text the seat refused)."""

    id: int
    seat: str
    kind: str
    contact: int
    day: float
    pkg: int  # the text to answer, the model's own draft, or the truce in force at its end
    other: int = -1  # what a lapse leaves in force
    private: dict[str, Any] = field(default_factory=dict)


@dataclass
class TableGame:
    """One table: ``humans`` are the seats (party ids) people hold; the others are the model's.

    ``store(entry)`` persists a move before it counts (it may raise: then the move is refused);
    ``stored`` are the moves of an earlier run of this table, replayed first; ``changed()`` is
    called (from any thread) whenever what a seat sees may have changed; ``save(records)`` gets the
    seats' class-log records whenever something happened in the world and at the end, so an
    unfinished game is kept.
    """

    sc: Scenario
    world: int
    humans: frozenset[str]
    store: Callable[[dict[str, Any]], None] = lambda entry: None
    stored: Iterable[dict[str, Any]] = ()
    changed: Callable[[], None] = lambda: None
    pace: float | None = None
    save: Callable[[list[dict[str, Any]]], None] | None = None  # the seats' records, as the game goes
    per_round: bool = False  # the pace is a deadline for a whole round (a contact), not per question
    blind: bool = False  # the envoy's page does not show what the mediator believes of the others

    def __post_init__(self) -> None:
        sc = self.sc
        for pid in self.humans:
            check_world(sc, pid, self.world)
        start = self.world - self.world % CHUNK
        self.row = self.world - start
        self.model = chunk_model(sc, sc.seed, start, self.world + 1, trace=self.row)
        self.space = self.model.space
        self.envoy = sc.mediator.party
        self.cond = threading.Condition()
        self.questions: dict[str, Question] = {}
        self.answers: dict[str, dict[str, Any] | None] = {}
        self.deadline: float | None = None
        self.round: tuple[tuple[int, float], float] | None = None  # (contact, day) and its deadline
        self.next_id = 0
        self.started = 0  # the world's contact being played (0: before the first)
        self.status = "ready"  # ready, playing, paused, over, ended
        self.stop = False
        self.said: dict[str, int | None] = {}
        self.queued: dict[int, int] = defaultdict(int)  # levers a seat has asked to use, by index
        self.batch: tuple[Any, dict[str, Any]] | None = None
        self.text = -1  # the last text tabled
        self.timeline: list[dict[str, Any]] = []  # what every seat may know, moment by moment
        self.seen = 0  # transcript entries already in the timeline
        self.demands: list[dict[str, Any]] = []  # the changes refusals named: the mediator's to hear
        self.replay: deque[dict[str, Any]] = deque()
        self.scheduled: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for e in self.stored:
            if e["kind"] in ANSWERS:
                self.replay.append(e)
            elif e["kind"] in SCHEDULED:
                self.scheduled[int(e["contact"])].append(e)
            elif e["kind"] == "end":
                self.stop = True
        for pid in self.humans:
            self.model.party[pid].player = _Seat(self, pid)
        if self.envoy in self.humans:
            self.model.mediator.player = _Envoy(self)
        self.thread: threading.Thread | None = None
        self.error = ""
        self._contact = self.model.contact
        self.model.contact = self.contact  # the table stops at each contact of its world

    def contact(self, rows: np.ndarray) -> None:
        """A contact in worlds rows: the table's world's moves scheduled for it act first."""
        if self._k(rows) is not None:
            self.started = int(self.model.held[self.row]) + 1
            for e in self.scheduled.pop(self.started, []):
                self._act(e)
        self._contact(rows)

    # ------------------------------------------------------------------ running

    def start(self) -> None:
        """Play in a thread of its own until the horizon (or the teacher's end)."""
        self.status = "playing"
        self.thread = threading.Thread(target=self.run, name="negsim-table", daemon=True)
        self.thread.start()

    def run(self) -> None:
        model = self.model
        with self.cond:
            try:
                while model.running:
                    model.step()
                    if len(model.transcript) > self.seen:
                        for e in model.transcript[self.seen :]:
                            self._news(e)
                        self.seen = len(model.transcript)
                        self._save()
                self.status = "over"
            except Stopped:
                self.status = "ended"
            except UserError as e:  # a database that does not replay: the table stops, and says why
                self.status, self.error = "failed", str(e)
            finally:
                self.questions, self.answers = {}, {}
                self._save()
                self.cond.notify_all()
        self.changed()

    def _save(self) -> None:
        if self.save is not None and self.humans:
            self.save(self.results())

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the engine thread has finished (True) or ``timeout`` passed (False)."""
        if self.thread is not None:
            self.thread.join(timeout)
            return not self.thread.is_alive()
        return True

    def idle(self) -> bool:
        """Whether the engine waits for a person (or has finished): a consistent moment to look."""
        with self.cond:  # every seat asked has answered: the engine has yet to take the answers
            return self.status not in ("playing", "paused") or len(self.answers) < len(self.questions)

    # ------------------------------------------------------------------ asking

    def _k(self, idx: np.ndarray) -> int | None:
        hit = np.flatnonzero(idx == self.row)
        return int(hit[0]) if hit.size else None

    def now(self) -> float:
        """The time of the table's world, in days from the calendar's start."""
        return float(self.model.clock[self.row])

    def _question(self, seat: str, kind: str, pkg: int, other: int = -1) -> Question:
        q = Question(self.next_id, seat, kind, self.started, self.now(), pkg, other)
        self.next_id += 1
        q.private = self._private(q)
        return q

    def ask(self, questions: dict[str, Question]) -> dict[str, dict[str, Any] | None]:
        """The answers of the seats asked (None: the model answered for a seat past the deadline).
        Stored moves are replayed first; the rest are waited for (the lock is released meanwhile)."""
        got: dict[str, dict[str, Any] | None] = {}
        while self.replay and len(got) < len(questions):
            e = self.replay.popleft()
            q = questions.get(e["seat"])
            if q is None or e["question"] != q.id or (e["kind"] != "model" and e["kind"] != q.kind):
                raise UserError(
                    f"table's stored move {e['seq']} does not answer what the game asks: was the "
                    "database written by another version of the scenario?"
                )
            got[q.seat] = None if e["kind"] == "model" else e["payload"]
        missing = {s: q for s, q in questions.items() if s not in got}
        if not missing:
            return got
        if self.stop:
            raise Stopped
        self.questions, self.answers = missing, {}
        self.deadline = self._deadline()
        self.changed()
        while len(self.answers) < len(self.questions):
            if self.stop:
                raise Stopped
            wait = 1.0
            if self.deadline is not None and self.status == "playing":
                wait = self.deadline - time.monotonic()
                if wait <= 0:
                    self._model_answers()
                    break
            self.cond.wait(min(max(wait, 0.01), 1.0))
        got.update(self.answers)
        self.questions, self.answers, self.deadline = {}, {}, None
        self.changed()
        return got

    def _deadline(self, fresh: bool = False) -> float | None:
        """When the model answers for the seats that have not: ``pace`` seconds after the question
        was asked, or (``per_round``) after the first question of the round (the contact, or the
        truce's end: one day of the world) was asked; ``fresh``: from now (a resume, a new pace)."""
        if self.pace is None:
            return None
        if not self.per_round:
            return time.monotonic() + self.pace
        key = (self.started, self.now())
        if fresh or self.round is None or self.round[0] != key:
            self.round = (key, time.monotonic() + self.pace)
        return self.round[1]

    def _model_answers(self) -> None:
        """Past the deadline the model answers for every seat that has not: stored as such."""
        for seat, q in self.questions.items():
            if seat not in self.answers:
                self.store(
                    {"seat": seat, "kind": "model", "question": q.id, "contact": q.contact, "payload": {}}
                )
                self.answers[seat] = None

    def text_answers(self, pkg: int) -> dict[str, dict[str, Any] | None]:
        """Every seated party whose consent the text needs answers it, all asked at once."""
        key = ("answer", self.now(), pkg)
        if self.batch is None or self.batch[0] != key:
            tabler = self.tabler()  # a party that tabled the text is not asked whether it accepts it
            seats = sorted(s for s in self.humans if self.model.party[s].required[pkg] and s != tabler)
            qs = {s: self._question(s, "answer", pkg) for s in seats}
            self.batch = (key, self.ask(qs))
        return self.batch[1]

    def counter_answers(self, text: int) -> dict[str, dict[str, Any] | None]:
        """Every seated party that refused the text and may table counters says what it tables (a
        package, or none), all asked at once once every answer to the text is in."""
        key = ("counter", self.now(), text)
        if self.batch is None or self.batch[0] != key:
            seats = sorted(s for s in self.humans if self.counters(s))
            qs = {s: self._question(s, "counter", text) for s in seats}
            self.batch = (key, self.ask(qs))
        return self.batch[1]

    def counters(self, seat: str) -> bool:
        """Whether the seat's party refused the text just answered and may table a text of its own."""
        party = self.model.party[seat]
        return party.beliefs is not None and bool(self.model.refused_last[seat][self.row])

    def tabler(self) -> str | None:
        """The party whose counter is on the table now (None: the mediator's text)."""
        by = int(self.model.text_by[self.row])
        return None if by < 0 else self.model.parties[by].pid

    def extend_answers(self, pkg: int, lapsed: int) -> dict[str, dict[str, Any] | None]:
        key = ("extend", self.now(), pkg)
        if self.batch is None or self.batch[0] != key:
            seats = sorted(s for s in self.humans if self.model.party[s].required[pkg])
            qs = {s: self._question(s, "extend", pkg, lapsed) for s in seats}
            self.batch = (key, self.ask(qs))
        return self.batch[1]

    # ------------------------------------------------------------------ moves from the seats

    def submit(self, seat: str, move: dict[str, Any]) -> None:
        """A person's move, checked, stored, then counted; Refused (changing nothing) if it cannot be."""
        with self.cond:
            if seat not in self.humans:
                raise Refused("nobody holds that seat at this table")
            if self.status == "paused":
                raise Refused("the game is paused by the teacher; wait for it to go on")
            if self.status != "playing":
                raise Refused("the game is not running")
            if move.get("type") == "lever":
                self._lever(seat, move.get("lever"))
                return
            q = self.questions.get(seat)
            if q is None or seat in self.answers:
                raise Refused("nothing is asked of your seat now")
            if move.get("question") != q.id:
                raise Refused("that question is closed (a late or repeated move)")
            payload = self._check(q, move)
            self.store(
                {"seat": seat, "kind": q.kind, "question": q.id, "contact": q.contact, "payload": payload}
            )
            self.answers[seat] = payload
            self.cond.notify_all()
        self.changed()

    def _check(self, q: Question, move: dict[str, Any]) -> dict[str, Any]:
        if q.kind == "extend":
            if move.get("answer") not in ("extend", "lapse"):
                raise Refused("answer extend or lapse")
            return {"extend": move["answer"] == "extend"}
        if q.kind == "answer":
            answer = move.get("answer")
            if answer not in ("accept", "refuse"):
                raise Refused("answer accept or refuse")
            issue, option = move.get("issue"), move.get("option")
            if answer == "accept" or issue in (None, ""):
                return {"accept": answer == "accept"}
            demand = self._demand(q.pkg, issue, option)
            return {"accept": False, "issue": issue, "option": option, "demand": demand}
        if q.kind == "counter":
            if "package" not in move:
                raise Refused("a counter names one option for each issue, or null to table none")
            package = move["package"]
            if package is None:
                return {"package": None}
            pkg = self._package(package, "a counter names")
            why = self.why_not_counter(q.seat, q.pkg, pkg)
            if why:
                raise Refused(why)
            return {"package": dict(package)}
        package = move.get("package")
        pkg = self._package(package, "a draft names")
        why = self.why_not(pkg)
        if why:
            raise Refused(why)
        return {"package": dict(package)}

    def _package(self, package: Any, what: str) -> int:
        """The index of a package from a browser: one known option for each issue, or Refused."""
        sc = self.sc
        if not isinstance(package, dict) or set(package) != set(sc.issues):
            raise Refused(f"{what} one option for each issue: {', '.join(sc.issues)}")
        for issue, option in package.items():
            if not isinstance(option, str) or option not in sc.issues[issue].options:
                raise Refused(f"'{issue}' has no option '{str(option)[:40]}'")
        return self.space.index(package)

    def _demand(self, pkg: int, issue: Any, option: Any) -> int:
        sc, space = self.sc, self.space
        if issue not in sc.issues:
            raise Refused("that issue is not on the table")
        if option not in sc.issues[issue].options:
            raise Refused(f"'{issue}' has no option '{str(option)[:40]}'")
        if space.describe(pkg)[issue] == option:
            raise Refused(f"the text already says {issue} = {option}; name a change")
        k = space.issues.index(issue)
        m = space.moves.index((k, space.options[k].index(option)))
        if not space.valid[space.neighbours[pkg, m]]:
            raise Refused(f"{issue} = {option} holds only during a truce; the text has none")
        return m

    def why_not(self, pkg: int) -> str | None:
        """Why a draft cannot be tabled now (None if it can): it must be a deal nobody's red line
        forbids, keep everything in force, and change something."""
        space = self.space
        here = int(self.model.inforce[self.row])
        if not space.negotiable[pkg]:
            return "that text is no deal the scenario allows (a red line, or terms that need a truce)"
        if not space.extends(np.array([here]))[0, pkg]:
            return "a text keeps everything already in force"
        if pkg == here:
            return "that text is what is already in force; change something"
        return None

    def why_not_counter(self, seat: str, text: int, pkg: int) -> str | None:
        """Why a seat's counter cannot be tabled (None if it can): as a draft, and neither across its
        own red lines (nor anyone's), nor an option the levers still hold back, nor the refused text."""
        if self.model.party[seat].red[pkg]:
            return "that text crosses one of your own red lines"
        why = self.why_not(pkg)
        if why:
            return why
        locked = self.model.levers.locked(np.array([self.row]))
        if locked is not None and locked[0, pkg]:
            return "that option is not on offer yet"
        if pkg == text:
            return "that is the text you refused; change something or table nothing"
        return None

    def _lever(self, seat: str, lid: Any) -> None:
        levers = self.model.levers
        if lid not in self.sc.levers or self.sc.levers[lid].holder != seat:
            raise Refused("your party holds no such lever")
        j = levers.ids.index(lid)
        lv = self.sc.levers[lid]
        used = int(levers.uses[j, self.row]) + self.queued[j]
        if lv.strength <= 0 or used >= lv.max_uses:
            raise Refused(f"{lv.label} cannot be used (again) here: {used} of {lv.max_uses} uses allowed")
        self.store(
            {
                "seat": seat,
                "kind": "lever",
                "question": None,
                "contact": self.started + 1,
                "payload": {"lever": lid},
            }
        )
        self.scheduled[self.started + 1].append({"kind": "lever", "seat": seat, "payload": {"lever": lid}})

    def inject(self, what: str) -> None:
        """The teacher's event (an event id) or lever pulled (a lever id), at the world's next contact."""
        with self.cond:
            if self.status not in ("playing", "paused"):
                raise Refused("the game is not running")
            if what in self.sc.events:
                payload = {"event": what}
            elif what in self.sc.levers:
                payload = {"pull": what}
            else:
                raise Refused("no such event or lever in this scenario")
            r = self.started + 1
            self.store(
                {"seat": "teacher", "kind": "inject", "question": None, "contact": r, "payload": payload}
            )
            self.scheduled[r].append({"kind": "inject", "payload": payload})
        self.changed()

    def _act(self, e: dict[str, Any]) -> None:
        """A scheduled move at the start of a contact: an event, a lever pulled, or a lever queued."""
        rows, p = np.array([self.row]), e["payload"]
        if "event" in p:
            self.model.inject(p["event"], rows)
            self.timeline.append({**self._at(self.now()), "what": "inject", "event": p["event"]})
        elif "pull" in p:
            self.model.levers.pull(self.model.levers.ids.index(p["pull"]), rows, self.model.clock[rows])
            self.timeline.append({**self._at(self.now()), "what": "inject", "lever": p["pull"]})
        else:
            self.queued[self.model.levers.ids.index(p["lever"])] += 1

    # ------------------------------------------------------------------ the teacher

    def pause(self, on: bool) -> None:
        with self.cond:
            if self.status not in ("playing", "paused"):
                raise Refused("the game is not running")
            self.status = "paused" if on else "playing"
            if not on and self.deadline is not None and self.pace is not None:
                self.deadline = self._deadline(fresh=True)
            self.cond.notify_all()
        self.changed()

    def set_pace(self, seconds: float | None, per_round: bool = False) -> None:
        with self.cond:
            self.pace, self.per_round, self.round = seconds, per_round, None
            self.deadline = self._deadline(fresh=True) if self.questions else None
            self.cond.notify_all()
        self.changed()

    def end(self) -> None:
        """End the game where it stands (kept, marked unfinished)."""
        with self.cond:
            if self.status in ("over", "ended"):
                return
            if self.status != "ready":
                self.store(
                    {
                        "seat": "teacher",
                        "kind": "end",
                        "question": None,
                        "contact": self.started,
                        "payload": {},
                    }
                )
            self.stop = True
            if self.status == "ready":
                self.status = "ended"
            self.cond.notify_all()
        self.changed()

    # ------------------------------------------------------------------ what the seats see

    def _news(self, e: dict[str, Any]) -> None:
        """The public record of a moment of the world (answers, not the numbers behind them)."""
        item: dict[str, Any] = {"contact": e["contact"], **self._at(e["day"])}
        for key in ("happened", "events", "levers"):
            if e.get(key):
                item[key] = list(e[key])
        if "proposal" in e:
            item["text"] = self.space.describe(int(e["proposal"]))
            item["by"] = "seat" if self.envoy in self.humans else e.get("by", "mediator")
            item["answers"] = {r["party"]: r["accepted"] for r in e["parties"] if r["asked"]}
            item["deal"], item["ratified"] = e["deal"], e["ratified"]
            demands = {r["party"]: r["demand"] for r in e["parties"] if r["demand"] is not None}
            if demands:  # heard by the mediator only: the envoy's seat sees them (``private``)
                said = {p: list(self.space.describe_move(m)) for p, m in demands.items()}
                self.demands.append({"contact": e["contact"], **self._at(e["day"]), "demands": said})
        if "counter" in e:  # the counter that stood, who tabled it, and the answers to it
            c = e["counter"]
            item["counter"] = {
                "by": c["by"],
                "seat": c["by"] in self.humans,
                "text": self.space.describe(int(c["proposal"])),
                "answers": {
                    r["party"]: r["accepted"] for r in c["parties"] if r["asked"] and r["party"] != c["by"]
                },
                "deal": c["deal"],
                "ratified": c["ratified"],
            }
            item["tabled"] = sorted(e.get("counters", {}))  # every party that tabled one
        item["inforce"] = self.space.describe(int(e["inforce"]))
        self.timeline.append(item)

    def inforce(self) -> dict[str, Any]:
        here = int(self.model.inforce[self.row])
        cid, label = class_name(self.sc, self.space, here)
        end = float(self.model.truces.end[self.row])
        truce = self._at(end) if self.space.truce[here] > 0 and np.isfinite(end) else None
        return {"class": cid, "label": label, "terms": self.space.describe(here), "truce_ends": truce}

    def _at(self, day: float) -> dict[str, Any]:
        """A time for the pages: days from the calendar's start, and as a date and time."""
        return {"day": round(float(day), 4), "date": when(self.sc, float(day))}

    def public(self) -> dict[str, Any]:
        """What every seat and the console may see."""
        q = next(iter(self.questions.values()), None)
        text = self.space.describe(q.pkg) if q is not None and q.kind == "answer" else None
        tabler = self.tabler() if text is not None else None
        return {
            "status": self.status,
            "contact": self.started,
            **self._at(self.now()),
            "days": self.sc.days,
            "inforce": self.inforce(),
            "text": text,
            "text_by": tabler or (None if text is None else "mediator"),
            "asked": sorted(self.questions),
            "answered": sorted(self.answers),
            "humans": sorted(self.humans),
            "pace": self.pace,
            "per_round": self.per_round,
            "deadline": None if self.deadline is None else max(self.deadline - time.monotonic(), 0.0),
            "timeline": self.timeline[-40:],
        }

    def private(self, seat: str) -> dict[str, Any]:
        """What only ``seat`` may see: its open question with its own numbers, its levers."""
        q = self.questions.get(seat)
        out: dict[str, Any] = {"seat": seat}
        if q is not None and seat not in self.answers:
            out["question"] = {"id": q.id, "kind": q.kind, **q.private}
        if seat == self.envoy:
            out["demands"] = self.demands[-40:]
        out["levers"] = [
            {
                "id": lid,
                "label": lv.label,
                "left": lv.max_uses - int(self.model.levers.uses[j, self.row]) - self.queued[j],
            }
            for j, (lid, lv) in enumerate(self.sc.levers.items())
            if lv.holder == seat and lv.strength > 0 and lv.max_uses > 0
        ]
        return out

    def _own(self, pid: str, pkgs: np.ndarray, fresh: bool = False) -> np.ndarray:
        party = self.model.party[pid]
        return self.model.value(party.values, party, np.array([self.row]), np.asarray(pkgs)[None, :], fresh)[
            0
        ]

    def _private(self, q: Question) -> dict[str, Any]:
        """The seat's own numbers for a question: values of its party (and, for the envoy, what the
        mediator believes of the others)."""
        sc, space, pid = self.sc, self.space, q.seat
        here = int(self.model.inforce[self.row])
        if q.kind == "extend":
            u = self._own(pid, np.array([q.pkg, q.other]), fresh=True)
            return {
                "truce": space.describe(q.pkg),
                "lapse": space.describe(q.other),
                "values": {"extend": float(u[0]), "lapse": float(u[1])},
            }
        if q.kind == "draft":
            allowed = space.negotiable & space.extends(np.array([here]))[0]
            allowed[here] = False
            return {
                "model_text": space.describe(q.pkg),
                "allowed": self._options(allowed),
                **self.preview(q.pkg, pid),
            }
        if q.kind == "counter":
            return self._counter_private(q)
        u = self._own(pid, np.array([q.pkg, here]))
        changes = []
        for m, (k, o) in enumerate(space.moves):
            nb = int(space.neighbours[q.pkg, m])
            if nb != q.pkg and space.valid[nb]:
                changes.append(
                    {"issue": space.issues[k], "option": space.options[k][o], "value": None, "pkg": nb}
                )
        if changes:
            vals = self._own(pid, np.array([c.pop("pkg") for c in changes])) - u[1]
            for c, v in zip(changes, vals, strict=True):
                c["value"] = float(v)
            changes.sort(key=lambda c: -c["value"])  # the change worth most to the seat first
        return {
            "text": space.describe(q.pkg),
            "by": self.tabler() or "mediator",  # the mediator's text, or a party's counter
            "value": float(u[0] - u[1]),
            "nodeal": float(u[1]),
            "window": sc.valuation.window_days,
            "red_line": bool(self.model.party[pid].red[q.pkg]),
            "changes": changes,
        }

    def _options(self, allowed: np.ndarray) -> dict[str, list[str]]:
        """The options of each issue that some allowed package has."""
        space = self.space
        return {
            issue: [o for k, o in enumerate(opts) if allowed[space.packages[:, i] == k].any()]
            for i, (issue, opts) in enumerate(zip(space.issues, space.options, strict=True))
        }

    CANDIDATES = 8  # the counters worth most to the seat, listed on its page

    def _counter_private(self, q: Question) -> dict[str, Any]:
        """A counter question's numbers, the seat's own only: the text it refused, its party's own
        counter (the model's, ``Party.counter``; None when it would table nothing), and the value
        to its party of the counters it may table, the best first."""
        space, pid, party = self.space, q.seat, self.model.party[q.seat]
        rows = np.array([self.row])
        player, party.player = party.player, None  # the model's own counter, as if nobody sat here
        try:
            best = int(party.counter(rows, np.array([q.pkg]), self.model.clock[rows])[0])
        finally:
            party.player = player
        here = int(self.model.inforce[self.row])
        allowed = space.negotiable & ~party.red & space.extends(np.array([here]))[0]  # why_not_counter
        locked = self.model.levers.locked(rows)
        if locked is not None:
            allowed &= ~locked[0]
        allowed[[here, q.pkg]] = False
        cands = np.flatnonzero(allowed)
        u = self._own(pid, np.concatenate([cands, [q.pkg, here]]))
        gain = u[:-2] - u[-1]
        top = [int(c) for c in cands[np.argsort(-gain, kind="stable")[: self.CANDIDATES]]]
        value = dict(zip(cands.tolist(), gain.tolist(), strict=True))
        if best not in value:  # none, or the very text the person refused (the model would accept it)
            best = -1
        if best >= 0 and best not in top:
            top.append(best)
        return {
            "text": space.describe(q.pkg),
            "text_value": float(u[-2] - u[-1]),
            "model_counter": space.describe(best) if best >= 0 else None,
            "model_value": float(value[best]) if best >= 0 else None,
            "candidates": [{"terms": space.describe(c), "value": float(value[c])} for c in top],
            "allowed": self._options(allowed),
        }

    def preview(self, pkg: int, pid: str | None = None) -> dict[str, Any]:
        """A draft's value to the envoy's party over what is in force, and what the mediator believes
        each party would gain over what it asks (positive: believed to accept)."""
        pid = pid or self.envoy
        here = int(self.model.inforce[self.row])
        rows = np.array([self.row])
        own = self._own(pid, np.array([pkg, here]))
        est = self.model.mediator.estimate(rows, np.array([[pkg]]))[0, :, 0]
        ask = self.model.mediator.believed_margin(rows, self.model.clock[rows])[0]
        out = {"value": float(own[0] - own[1]), "why_not": self.why_not(pkg)}
        if not self.blind:
            out["believed"] = {
                p.pid: float(est[i] - ask[i])
                for i, p in enumerate(self.model.parties)
                if p.pid != pid and p.required[pkg]
            }
        return out

    def draft_preview(self, seat: str, package: Any) -> dict[str, Any]:
        """The preview of a draft (the envoy's) or a counter (a party's) the seat is editing: its
        value to the seat's own party (and, for the envoy, the mediator's beliefs); Refused for a
        seat asked for neither, or a bad package."""
        with self.cond:
            q = self.questions.get(seat)
            if q is None or q.kind not in ("draft", "counter") or seat in self.answers:
                raise Refused("no draft is asked of your seat now")
            pkg = self._package(package, f"a {q.kind} names")
            if q.kind == "draft":
                return self.preview(pkg, seat)
            here = int(self.model.inforce[self.row])
            own = self._own(seat, np.array([pkg, here]))
            return {"value": float(own[0] - own[1]), "why_not": self.why_not_counter(seat, q.pkg, pkg)}

    # ------------------------------------------------------------------ results

    def results(self) -> list[dict[str, Any]]:
        """One class-log record per seated party (the fields ``negsim play`` logs), with the table's
        state: finished or ended early, and on which day."""
        sc, space, row = self.sc, self.space, self.row
        here = int(self.model.inforce[row])
        cid = class_name(sc, space, here)[0]
        ens = cached_ensemble(sc)
        done = self.model.transcript[: self.seen]
        rows = rounds(sc, space, done)
        out = []
        for pid in sorted(self.humans):
            u = utility(self.model, pid, row, ens)
            mine = float(utility(self.model, pid, row, np.array([here]))[0])
            out.append(
                {
                    "scenario": sc.name,
                    "sha256": sc.sha256,
                    "seed": sc.seed,
                    "world": self.world,
                    "party": pid,
                    "blind": self.blind and pid == self.envoy,
                    "outcome": cid,
                    "in_force": space.describe(here),
                    "utility": mine,
                    "model_outcome": class_name(sc, space, int(ens[self.world]))[0],
                    "model_utility": float(u[self.world]),
                    "model_better": float(np.mean(u > mine + 1e-12)),
                    "model_worse": float(np.mean(u < mine - 1e-12)),
                    "worlds": int(u.size),
                    "finished": self.status == "over",
                    "day": self.now(),
                    "moves": [],  # several people played: the table's moments are recorded instead
                    "timeline": rows,
                }
            )
        return out


ENSEMBLES: dict[tuple[str, int, int], np.ndarray] = {}


def cached_ensemble(sc: Scenario) -> np.ndarray:
    """The package in force at the horizon in every world (computed once per scenario)."""
    key = (sc.sha256, sc.seed, sc.replications)
    if key not in ENSEMBLES:
        ENSEMBLES[key] = ensemble_packages(sc)
    return ENSEMBLES[key]


class _Seat:
    """The ``Player`` of a party with a person at its seat."""

    def __init__(self, game: TableGame, pid: str) -> None:
        self.game, self.pid = game, pid

    def respond(self, party, idx, pkg, surplus, ok):
        k = self.game._k(idx)
        if k is None or not party.required[pkg[k]]:
            return ok
        if self.game.tabler() == self.pid:  # its own counter: tabling a text is accepting it
            out = ok.copy()
            out[k] = True
            return out
        a = self.game.text_answers(int(pkg[k]))[self.pid]
        if a is None:  # the model answered for this seat
            self.game.said[self.pid] = None
            return ok
        out = ok.copy()
        out[k] = a["accept"]
        self.game.said[self.pid] = a.get("demand", -1)
        return out

    def demand(self, party, idx, pkg, best):
        k = self.game._k(idx)
        said = self.game.said.get(self.pid)
        if k is None or said is None:
            return best
        out = best.copy()
        out[k] = said
        return out

    def prefers(self, party, idx, a, b, yes):
        k = self.game._k(idx)
        if k is None or not party.required[a[k]]:
            return yes
        ans = self.game.extend_answers(int(a[k]), int(b[k]))[self.pid]
        if ans is None:
            return yes
        out = yes.copy()
        out[k] = ans["extend"]
        return out

    def counter(self, party, idx, text, best):
        """The seat's own text after its refusal (its party's counter, ``Party.counter``, is its
        first draft and what the model tables for it past the deadline), or none."""
        k = self.game._k(idx)
        if k is None:
            return best
        a = self.game.counter_answers(int(text[k])).get(self.pid)
        if a is None:
            return best
        out = best.copy()
        out[k] = -1 if a["package"] is None else self.game.space.index(a["package"])
        return out

    def levers(self, lever, idx, fire, allowed):
        k = self.game._k(idx)
        if k is None:
            return fire
        out = fire.copy()
        out[k] = self.game.queued[lever] > 0 and bool(allowed[k])
        if out[k]:
            self.game.queued[lever] -= 1
        return out


class _Envoy:
    """The ``Drafter`` at the mediator's seat: a person drafts the single text."""

    def __init__(self, game: TableGame) -> None:
        self.game = game

    def draft(self, mediator, idx, pkg):
        game = self.game
        k = game._k(idx)
        if k is None or pkg[k] < 0:
            return pkg
        q = game._question(game.envoy, "draft", int(pkg[k]))
        a = game.ask({game.envoy: q})[game.envoy]
        out = pkg.copy()
        if a is not None:
            out[k] = game.space.index(a["package"])
        return out
