"""A table of the class (sim.teaching.table), without the web server: people at seats, the model at
the others, moves checked, stored, replayed."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from sim.api import load_scenario, model_moves
from sim.experiments.chunks import chunk_model
from sim.scenario import with_overrides
from sim.scenario.dates import when
from sim.teaching.debrief import rounds
from sim.teaching.play import parse_move
from sim.teaching.table import Refused, TableGame

ROOT = Path(__file__).resolve().parents[1]
SEATS = ("us", "russia", "ukraine")


@pytest.fixture(scope="module")
def small():
    """The baseline with 200 worlds (worlds 0..199 are those of the full ensemble), its parties at one
    table: a counter is answered at the contact it is tabled (``mediator.shuttle`` off; the shipped
    baseline's envoy carries it to the next contact, see test_a_carried_counter_is_the_next_text)."""
    sc = with_overrides(load_scenario(ROOT / "scenarios" / "baseline.toml"), 200, None)
    return sc.model_copy(update={"mediator": sc.mediator.model_copy(update={"shuttle": None})})


@pytest.fixture(scope="module")
def shuttled():
    """The baseline as shipped (200 worlds): the envoy carries a counter to the next contact."""
    return with_overrides(load_scenario(ROOT / "scenarios" / "baseline.toml"), 200, None)


def engine_world(sc, world):
    return chunk_model(sc, sc.seed, 0, world + 1, trace=world).run()


def open_questions(game):
    with game.cond:
        return [q for s, q in game.questions.items() if s not in game.answers]


def wait_for_question(game, timeout=30.0):
    for _ in range(int(timeout / 0.005)):
        qs = open_questions(game)
        if qs or not game.thread.is_alive():
            return qs
        threading.Event().wait(0.005)
    raise TimeoutError


def next_contact(game, seat, q, answer="refuse"):
    """Answer q, then every later question of its contact (counters tabled at it), with ``answer``
    (a counter question: with the model's counter); return the first question of a later contact (or
    None when the game ends)."""
    contact = q.contact
    while True:
        if q.kind == "counter":  # the seat tables its side's own counter (the model's)
            game.submit(seat, {"question": q.id, "package": q.private["model_counter"]})
        else:
            game.submit(seat, {"question": q.id, "answer": answer})
        qs = wait_for_question(game)
        if not qs:
            return None
        (q,) = qs
        if q.contact != contact:
            return q


def script_answer(line: str) -> dict:
    m = parse_move(line)
    if m.kind in ("extend", "lapse"):
        return {"answer": m.kind}
    out = {"answer": m.kind}
    if m.issue:
        out.update(issue=m.issue, option=m.option)
    return out


def play_scripts(game, scripts, drafts, stop_after=None, until=lambda q: False):
    """Answer every question from the scripts (the model's own moves) until the game ends, or after
    ``stop_after`` answers, or until a question ``until`` picks (returned, unanswered). A script's
    refusal carries the counter its party tables (``refuse ... table ...``), said at the table as
    the answer to the counter question; the script's next answer, its party accepting its own
    counter, is not asked at the table (tabling is accepting)."""
    n, tables, own = 0, {}, {}

    def drop_own_accept(seat, q):
        at = own.pop(seat, None)
        if at is not None and (q is None or (q.kind, q.contact, q.day) != ("answer", *at)):
            assert scripts[seat].pop(0) == "accept"  # its own counter stood: it accepted it

    while True:
        qs = wait_for_question(game)
        if not qs:
            for seat in list(own):
                drop_own_accept(seat, None)
            return n
        for q in qs:
            if stop_after is not None and n >= stop_after:
                return n
            drop_own_accept(q.seat, q)
            if until(q):
                return q
            if q.kind == "draft":
                game.submit(q.seat, {"question": q.id, "package": game.space.describe(drafts.pop(0))})
            elif q.kind == "counter":
                terms = tables.pop(q.seat, ())
                package = {**game.space.describe(q.pkg), **dict(terms)} if terms else None
                game.submit(q.seat, {"question": q.id, "package": package})
                if terms:
                    own[q.seat] = (q.contact, q.day)
            else:
                line = scripts[q.seat].pop(0)
                while line.startswith("use "):
                    game.submit(q.seat, {"type": "lever", "lever": line[4:]})
                    line = scripts[q.seat].pop(0)
                tables[q.seat] = parse_move(line).terms
                game.submit(q.seat, {"question": q.id, **script_answer(line)})
            n += 1


def model_scripts(sc, world):
    engine = engine_world(sc, world)
    drafts = [e["proposal"] for e in engine.transcript if "proposal" in e]
    return engine, {p: model_moves(sc, p, world) for p in SEATS}, drafts


@pytest.mark.parametrize("world", [0, 3, 17])
def test_people_making_the_models_moves_reach_the_engines_outcome(small, world):
    engine, scripts, drafts = model_scripts(small, world)
    stored = []
    game = TableGame(small, world, frozenset(SEATS), store=stored.append)
    game.start()
    play_scripts(game, scripts, drafts)
    assert game.wait(30) and game.status == "over"
    assert int(game.model.inforce[game.row]) == int(engine.inforce[world])
    tabled = [e["proposal"] for e in game.model.transcript if "proposal" in e]
    assert tabled == [e["proposal"] for e in engine.transcript if "proposal" in e]
    assert not drafts and all(not s for s in scripts.values())  # every scripted move was asked for
    for rec in game.results():
        assert rec["utility"] == pytest.approx(rec["model_utility"]) and rec["finished"]
    # Each answer is stored once, as the answer to its own numbered question.
    ids = [e["question"] for e in stored]
    assert len(ids) == len(set(ids)) == game.next_id


def test_the_envoys_draft_is_the_text_the_parties_answer(small):
    game = TableGame(small, 0, frozenset({"us"}))
    game.start()
    (q,) = wait_for_question(game)
    assert q.kind == "draft" and q.pkg == game.model.opening  # the opening text is the first draft
    mine = {**game.space.describe(q.pkg), "prisoners": "all_for_all", "verification": "monitoring"}
    assert game.why_not(game.space.index(mine)) is None
    game.submit("us", {"question": q.id, "package": mine})
    (q2,) = wait_for_question(game)  # the US answers the text too: it is a party
    assert q2.kind == "answer" and q2.private["text"] == mine
    assert game.model.mediator.text[game.row] == game.space.index(mine)  # tabled: the mediator learns from it
    game.end()
    game.wait(10)
    assert game.status == "ended"


def test_a_seat_sees_its_own_numbers_and_the_draft_preview_the_mediators_beliefs(small):
    game = TableGame(small, 0, frozenset({"us", "russia"}))
    game.start()
    (q,) = wait_for_question(game)
    # The envoy's preview: its party's value and the mediator's belief of each other party.
    row = np.array([game.row])
    est = game.model.mediator.estimate(row, np.array([[q.pkg]]))[0, :, 0]
    ask = game.model.mediator.believed_margin(row, game.model.clock[row])[0]
    i = game.model.index["russia"]
    assert q.private["believed"]["russia"] == pytest.approx(est[i] - ask[i])
    assert "us" not in q.private["believed"]
    game.submit("us", {"question": q.id, "package": q.private["model_text"]})
    qs = {q.seat: q for q in wait_for_question(game)}
    assert set(qs) == {"us", "russia"}  # asked at once
    russia = game.model.party["russia"]
    surplus = game.model.surplus(russia.values, russia, row, np.array([[qs["russia"].pkg]]))[0, 0]
    assert qs["russia"].private["value"] == pytest.approx(surplus)
    assert "question" not in game.private("ukraine")
    seen = game.private("us")["question"]
    assert seen["value"] != qs["russia"].private["value"] and "changes" in seen
    game.end()
    game.wait(10)


@pytest.mark.parametrize(
    ("seat", "move", "why"),
    [
        ("russia", {"question": 999, "answer": "accept"}, "closed"),
        ("russia", {"answer": "accept"}, "closed"),
        ("russia", {"question": None, "answer": "maybe"}, "accept or refuse"),
        (
            "russia",
            {"question": None, "answer": "refuse", "issue": "moon", "option": "yes"},
            "not on the table",
        ),
        (
            "russia",
            {"question": None, "answer": "refuse", "issue": "kursk", "option": "x" * 300},
            "no option",
        ),
        ("ukraine", {"question": None, "answer": "accept"}, "nobody holds"),
        ("us", {"question": None, "answer": "accept"}, "closed"),  # Russia's question
        ("russia", {"question": "twice", "answer": "accept"}, "nothing is asked"),
        ("russia", {"type": "lever", "lever": "us_sanctions"}, "no such lever"),
    ],
)
def test_a_bad_move_is_refused_and_changes_nothing(small, seat, move, why):
    stored = []
    game = TableGame(small, 0, frozenset({"us", "russia"}), store=stored.append)
    game.start()
    (q,) = wait_for_question(game)
    game.submit("us", {"question": q.id, "package": q.private["model_text"]})
    qs = {q.seat: q for q in wait_for_question(game)}
    if move.get("question") == "twice":  # a second answer to a question already answered
        game.submit("russia", {"question": qs["russia"].id, "answer": "refuse"})
    before = (list(stored), dict(game.answers), {s: q.id for s, q in game.questions.items()})
    if move.get("question", 0) in (None, "twice"):
        move = {**move, "question": qs["russia"].id}
    with pytest.raises(Refused, match=why):
        game.submit(seat, move)
    assert (stored, game.answers, {s: q.id for s, q in game.questions.items()}) == before
    game.end()
    game.wait(10)


def test_a_bad_draft_is_refused(small):
    game = TableGame(small, 0, frozenset({"us"}))
    game.start()
    (q,) = wait_for_question(game)
    text = q.private["model_text"]
    for draft, why in [
        ({k: v for k, v in text.items() if k != "kursk"}, "one option for each issue"),
        ({**text, "kursk": "surrender"}, "no deal the scenario allows"),
        ({**text, "scope": "none", "freeze": "yes"}, "no deal"),
        ("full_front", "one option for each issue"),
    ]:
        with pytest.raises(Refused, match=why):
            game.submit("us", {"question": q.id, "package": draft})
    assert not game.answers
    game.end()
    game.wait(10)


def test_stored_moves_rebuild_the_table_exactly(small):
    _, scripts, drafts = model_scripts(small, 3)
    stored = []
    game = TableGame(small, 3, frozenset(SEATS), store=stored.append)
    game.start()
    play_scripts(game, scripts, drafts, stop_after=20)
    wait_for_question(game)
    entries = [{**e, "seq": i} for i, e in enumerate(stored)]
    again = TableGame(small, 3, frozenset(SEATS), stored=entries)
    again.start()
    wait_for_question(again)
    with game.cond, again.cond:
        # The same questions open (answers given before the cut are replayed, not asked again).
        waiting = {q.seat: (q.id, q.kind, q.pkg) for q in open_questions(game)}
        assert {q.seat: (q.id, q.kind, q.pkg) for q in open_questions(again)} == waiting
        assert again.now() == game.now() and again.model.time == game.model.time
        assert again.public()["timeline"] == game.public()["timeline"]
        for s in waiting:
            assert again.questions[s].private == game.questions[s].private
    for g in (game, again):
        g.end()
        g.wait(10)


def test_the_teachers_event_acts_at_the_next_contact_and_replays(small):
    stored = []
    game = TableGame(small, 0, frozenset({"russia"}), store=stored.append)
    game.start()
    (q,) = wait_for_question(game)
    assert q.contact == 1
    game.inject("leaders_call")
    game.inject("us_sanctions")
    assert not game.model.mediator.informed[game.row]  # not at this contact
    shift = game.model.party["russia"].shift[game.row].copy()
    q = next_contact(game, "russia", q)
    assert q.contact == 2 and game.model.mediator.informed[game.row]
    # Asked at the world's second contact, a time of its own after day 0; the pages show its date.
    assert q.day == game.now() == float(game.model.clock[game.row]) > 0
    pub = game.public()
    assert pub["contact"] == 2 and pub["date"] == when(small, q.day)
    levers, j = game.model.levers, game.model.levers.ids.index("us_sanctions")
    assert levers.uses[j, game.row] == 1 and levers.fired_at[j][0, game.row] == q.day
    # The sanctions phase in over their stated days: by the next contact a share of one use bites.
    pulled, q3 = q.day, next_contact(game, "russia", q)
    share = min(1.0, (q3.day - pulled) / small.levers["us_sanctions"].phase_in_days)
    expected = shift - share * levers.per_front[j]
    assert game.model.party["russia"].shift[game.row] == pytest.approx(expected, rel=1e-9)
    assert [e["contact"] for e in stored if e["kind"] == "inject"] == [2, 2]
    with pytest.raises(Refused, match="no such event"):
        game.inject("martians")
    again = TableGame(small, 0, frozenset({"russia"}), stored=[{**e, "seq": i} for i, e in enumerate(stored)])
    again.start()
    (q2,) = wait_for_question(again)
    assert q2.contact == 3 and again.model.mediator.informed[again.row]
    assert q2.private == q3.private
    for g in (game, again):
        g.end()
        g.wait(10)


def test_past_the_deadline_the_model_answers_for_a_silent_seat(small):
    engine = engine_world(small, 5)
    stored = []
    game = TableGame(small, 5, frozenset(SEATS), store=stored.append, pace=0.001)
    game.start()
    assert game.wait(120) and game.status == "over"
    assert int(game.model.inforce[game.row]) == int(engine.inforce[5])
    assert stored and {e["kind"] for e in stored} == {"model"}
    # The replay does what the deadline did, whatever the pace now.
    again = TableGame(small, 5, frozenset(SEATS), stored=[{**e, "seq": i} for i, e in enumerate(stored)])
    again.start()
    assert again.wait(60) and again.status == "over"
    assert int(again.model.inforce[again.row]) == int(engine.inforce[5])


def test_a_paused_table_refuses_moves_and_an_ended_one_is_kept_unfinished(small):
    saved = []
    game = TableGame(small, 0, frozenset({"russia"}), save=saved.append)
    game.start()
    (q,) = wait_for_question(game)
    game.pause(True)
    with pytest.raises(Refused, match="paused"):
        game.submit("russia", {"question": q.id, "answer": "accept"})
    game.pause(False)
    game.submit(
        "russia", {"question": q.id, "answer": "refuse", "issue": "kursk", "option": "safe_withdrawal"}
    )
    (q,) = wait_for_question(game)
    if q.contact == 1:  # a counter tabled at the same contact: the contact ends when it is answered
        next_contact(game, "russia", q)
    game.end()
    assert game.wait(10) and game.status == "ended"
    (last,) = saved[-1]
    assert last["party"] == "russia" and last["finished"] is False and last["day"] == game.now()
    i = game.model.index["russia"]
    k = game.space.issues.index("kursk")
    wanted = game.space.moves.index((k, game.space.options[k].index("safe_withdrawal")))
    assert game.model.transcript[0]["parties"][i]["demand"] == wanted  # the seat's demand, not the model's
    # A demand is heard by the mediator: the envoy's seat sees it, the public record does not.
    assert game.private("us")["demands"][0]["demands"]["russia"] == ["kursk", "safe_withdrawal"]
    assert "demands" not in game.private("russia")
    public = [{k: v for k, v in i.items() if k != "counter"} for i in game.public()["timeline"]]
    assert "safe_withdrawal" not in str(public)  # (a counter tabled for Moscow is public: its own text)


def test_an_answer_other_than_the_models_is_the_one_the_engine_uses(small):
    engine = engine_world(small, 0)
    i = engine.index["russia"]
    assert not engine.transcript[0]["parties"][i]["accepted"]  # the model's Russia refuses the opening
    game = TableGame(small, 0, frozenset({"russia"}))
    game.start()
    (q,) = wait_for_question(game)
    game.submit("russia", {"question": q.id, "answer": "accept"})
    wait_for_question(game)
    assert game.model.transcript[0]["parties"][i]["accepted"]
    game.end()
    game.wait(10)


def test_a_seat_that_lets_a_truce_lapse_ends_it_where_the_model_extends_it(small):
    # The first of the worlds where the model extends a truce (found from the engine, not named).
    ensemble = chunk_model(small, small.seed, 0, small.replications).run()
    worlds = np.flatnonzero(ensemble.counts["extended"] >= 1)
    assert worlds.size, "some world has an extension to refuse"
    world = int(worlds[0])
    engine, scripts, _ = model_scripts(small, world)
    extended = [e["contact"] for e in engine.transcript if "extended" in e.get("happened", [])]
    assert extended, f"world {world} has an extension to refuse"
    script = scripts["russia"]
    game = TableGame(small, world, frozenset({"russia"}))
    game.start()
    q = play_scripts(game, {"russia": script}, [], until=lambda q: q.kind == "extend")
    assert script.pop(0) == "extend" and q.private["values"]["extend"] > q.private["values"]["lapse"]
    game.submit("russia", {"question": q.id, "answer": "lapse"})
    wait_for_question(game)  # the next question: the talks reopened on the lapsed truce
    row = game.row
    assert game.model.space.truce[game.model.inforce[row]] == 0  # no truce in force any more
    assert game.model.counts["lapsed"][row] == 1 and game.model.counts["extended"][row] == 0
    assert engine.counts["extended"][world] >= 1
    game.end()
    game.wait(10)


def test_the_envoys_draft_wins_over_the_compiled_proposal(small):
    """After the opening the model's draft comes from the compiled kernel; the envoy's text is tabled."""
    from sim.engine.mediator import Mediator

    assert Mediator.compiled  # the kernel path, as the class plays it
    game = TableGame(small, 0, frozenset({"us"}))
    game.start()
    (q,) = wait_for_question(game)
    game.submit("us", {"question": q.id, "package": q.private["model_text"]})
    (q,) = wait_for_question(game)
    assert q.kind == "answer"
    q = next_contact(game, "us", q, "accept")  # accepting counters too, if any are tabled
    assert q.kind == "draft" and q.contact == 2
    with game.cond:  # the kernel's own text is the first draft
        row = np.array([game.row])
        assert q.pkg == int(game.model.mediator.propose(row, game.model.clock[row])[0])
        mine = next(p for p in range(game.space.n) if p != q.pkg and game.why_not(p) is None)
    game.submit("us", {"question": q.id, "package": game.space.describe(mine)})
    (q,) = wait_for_question(game)  # the US answers the envoy's text, not the kernel's
    assert q.kind == "answer" and q.pkg == mine and q.private["text"] == game.space.describe(mine)
    assert game.model.mediator.text[game.row] == mine
    game.end()
    game.wait(10)


def refused_opening(sc, humans=SEATS, stored=None, refuser="russia"):
    """World 0 with people at ``humans``: the envoy tables the model's opening, ``refuser`` refuses it
    and the others accept; returns the game and the refuser's counter question."""
    game = TableGame(
        sc, 0, frozenset(humans), store=(stored.append if stored is not None else lambda e: None)
    )
    game.start()
    (q,) = wait_for_question(game)
    game.submit("us", {"question": q.id, "package": q.private["model_text"]})
    for q in wait_for_question(game):
        game.submit(q.seat, {"question": q.id, "answer": "refuse" if q.seat == refuser else "accept"})
    (q,) = wait_for_question(game)
    return game, q


def test_a_seats_counter_is_the_text_the_others_answer_and_is_banked_when_accepted(small):
    game, q = refused_opening(small)
    assert q.seat == "russia" and q.kind == "counter" and q.contact == 1
    p = q.private
    # Its own numbers only: the model's counter and the value of each candidate to Russia.
    row = np.array([game.row])
    russia = game.model.party["russia"]
    model_counter = game.space.index(p["model_counter"])
    seat, russia.player = russia.player, None  # the model's own Russia
    assert model_counter == int(russia.counter(row, np.array([q.pkg]), game.model.clock[row])[0])
    russia.player = seat
    here = int(game.model.inforce[game.row])
    for c in p["candidates"]:
        pkg = game.space.index(c["terms"])
        u = game.model.surplus(russia.values, russia, row, np.array([[pkg]]))[0, 0]
        assert c["value"] == pytest.approx(u) and game.why_not_counter("russia", q.pkg, pkg) is None
    values = [c["value"] for c in p["candidates"]]
    assert values[: game.CANDIDATES] == sorted(values[: game.CANDIDATES], reverse=True)
    assert set(p) == {"text", "text_value", "model_counter", "model_value", "candidates", "allowed"}

    # Russia tables a text of its own, not the model's: it is what the others answer. (Of the texts
    # it may table, the one both home fronts are likeliest to let stand.)
    def ratified(pkg):
        return min(float(v.probability(row, np.array([pkg]))[0]) for v in game.model.vetoes)

    ok = [k for k in range(game.space.n) if game.why_not_counter("russia", q.pkg, k) is None]
    mine = game.space.describe(max((k for k in ok if k != model_counter), key=ratified))
    game.submit("russia", {"question": q.id, "package": mine})
    qs = {q.seat: q for q in wait_for_question(game)}
    assert set(qs) == {"us", "ukraine"}  # Russia tabled it: it is not asked whether it accepts it
    assert all(q.kind == "answer" and q.private["text"] == mine and q.contact == 1 for q in qs.values())
    assert game.public()["text_by"] == "russia"
    for q in qs.values():
        game.submit(q.seat, {"question": q.id, "answer": "accept"})
    wait_for_question(game)
    entry = game.model.transcript[0]
    assert entry["counter"]["by"] == "russia" and entry["counter"]["proposal"] == game.space.index(mine)
    assert entry["counter"]["deal"] and entry["counter"]["ratified"]
    assert int(game.model.inforce[game.row]) == game.space.index(mine) != here  # banked
    item = next(i for i in game.public()["timeline"] if "counter" in i)
    assert item["counter"]["by"] == "russia" and item["counter"]["text"] == mine
    assert item["counter"]["answers"] == {"us": True, "ukraine": True}
    # The debrief's timeline shows the counter, who tabled it and the answers to it.
    (row,) = [r for r in rounds(small, game.space, game.model.transcript) if "counter" in r["text"]]
    assert row["text"].startswith(small.parties["russia"].label)
    assert row["answers"] == "us yes; ukraine yes" and row["home"] == "ratified"
    game.end()
    game.wait(10)


def some_package(game, where):
    return next(game.space.describe(p) for p in range(game.space.n) if where(p))


def test_a_bad_counter_is_refused_and_changes_nothing(small):
    stored = []
    game, q = refused_opening(small, stored=stored, refuser="ukraine")
    assert q.seat == "ukraine" and q.kind == "counter"
    space, ukraine = game.space, game.model.party["ukraine"]
    text = q.private["text"]
    here = int(game.model.inforce[game.row])
    own_red = some_package(game, lambda p: space.valid[p] and ukraine.red[p])  # Kyiv's: no surrender
    bad = [
        ({k: v for k, v in text.items() if k != "kursk"}, "one option for each issue"),
        ({**text, "kursk": "give_up"}, "no option"),
        ({**text, "kursk": 3}, "no option"),
        ("full_front", "one option for each issue"),
        (text, "the text you refused"),
        (space.describe(here), "no deal|already in force"),  # nothing agreed: the status quo
        (own_red, "your own red lines"),
        ({**text, "scope": "none", "freeze": "yes"}, "no deal the scenario allows"),
    ]
    before = (list(stored), dict(game.answers), {s: x.id for s, x in game.questions.items()})
    for package, why in bad:
        with pytest.raises(Refused, match=why):
            game.submit("ukraine", {"question": q.id, "package": package})
    with pytest.raises(Refused, match="nothing is asked"):  # Moscow accepted: it is asked no counter
        game.submit("russia", {"question": q.id, "package": q.private["model_counter"]})
    assert (stored, game.answers, {s: x.id for s, x in game.questions.items()}) == before
    assert "red lines" in game.draft_preview("ukraine", own_red)["why_not"]  # says why, tables nothing
    # Tabling nothing: the contact ends on the refused text, nothing banked.
    game.submit("ukraine", {"question": q.id, "package": None})
    (q2,) = wait_for_question(game)
    assert q2.contact == 2 and "counter" not in game.model.transcript[0]
    assert int(game.model.inforce[game.row]) == here
    game.end()
    game.wait(10)


def test_a_party_that_tables_no_counters_is_asked_none(small):
    game = TableGame(small, 0, frozenset({"us"}))
    game.start()
    (q,) = wait_for_question(game)
    game.submit("us", {"question": q.id, "package": q.private["model_text"]})
    (q,) = wait_for_question(game)
    assert not small.parties["us"].tables_counters
    while q.contact == 1:  # the text, then Moscow's counter (the model's): the US refuses both
        assert q.kind == "answer"
        game.submit("us", {"question": q.id, "answer": "refuse"})
        (q,) = wait_for_question(game)
    assert q.kind == "draft" and q.contact == 2  # the next contact, no counter asked of the US
    game.end()
    game.wait(10)


def test_a_restart_replays_a_seats_counter(small):
    stored = []
    game, q = refused_opening(small, stored=stored)
    mine = q.private["candidates"][0]["terms"]
    game.submit("russia", {"question": q.id, "package": mine})
    for q in wait_for_question(game):
        game.submit(q.seat, {"question": q.id, "answer": "accept"})
    wait_for_question(game)
    assert [e["kind"] for e in stored].count("counter") == 1
    again = TableGame(small, 0, frozenset(SEATS), stored=[{**e, "seq": i} for i, e in enumerate(stored)])
    again.start()
    wait_for_question(again)
    with game.cond, again.cond:
        assert again.model.transcript[0]["counter"] == game.model.transcript[0]["counter"]
        assert int(again.model.inforce[again.row]) == int(game.model.inforce[game.row])
        assert again.model.transcript[0]["counter"]["proposal"] == again.space.index(mine)
        assert again.public()["timeline"] == game.public()["timeline"]
        assert {q.seat: q.id for q in open_questions(again)} == {q.seat: q.id for q in open_questions(game)}
    for g in (game, again):
        g.end()
        g.wait(10)


def test_a_pace_per_round_gives_every_question_of_a_contact_one_deadline(small):
    game = TableGame(small, 0, frozenset(SEATS), pace=60.0, per_round=True)
    game.start()
    (q,) = wait_for_question(game)
    first = game.deadline
    threading.Event().wait(0.05)
    game.submit("us", {"question": q.id, "package": q.private["model_text"]})
    qs = wait_for_question(game)
    assert {q.kind for q in qs} == {"answer"} and game.deadline == first  # the round's clock runs on
    assert game.public()["per_round"] and 0 < game.public()["deadline"] < 60
    game.set_pace(60.0)  # per question: the answers get a deadline of their own
    assert game.deadline > first
    game.set_pace(60.0, per_round=True)
    for q in qs:
        game.submit(q.seat, {"question": q.id, "answer": "refuse"})
    while True:  # counters, and the answers to them, are of the same round
        (q, *_) = wait_for_question(game)
        if q.contact != 1:
            break
        assert game.deadline == game.round[1]
        for q in open_questions(game):
            game.submit(
                q.seat,
                {"question": q.id, "answer": "refuse"}
                if q.kind == "answer"
                else {"question": q.id, "package": None},
            )
    assert q.kind == "draft" and game.round[0][0] == 2 and game.deadline > first  # a new round, a new clock
    game.end()
    game.wait(10)


def test_a_blind_envoy_drafts_without_the_mediators_beliefs(small):
    game = TableGame(small, 0, frozenset({"us"}), blind=True)
    game.start()
    (q,) = wait_for_question(game)
    assert "believed" not in q.private and "value" in q.private
    assert "believed" not in game.draft_preview("us", q.private["model_text"])
    seeing = TableGame(small, 0, frozenset({"us"}))
    seeing.start()
    (q2,) = wait_for_question(seeing)
    assert q2.private["believed"] and q2.private["value"] == q.private["value"]
    for g in (game, seeing):
        g.end()
        g.wait(10)
    assert game.results()[0]["blind"] and not seeing.results()[0]["blind"]


@pytest.mark.parametrize("world", [0, 3])
def test_people_making_the_models_moves_reach_the_engines_outcome_when_the_envoy_shuttles(shuttled, world):
    """As the first test, on the baseline as shipped: a counter is the next contact's text."""
    engine, scripts, drafts = model_scripts(shuttled, world)
    game = TableGame(shuttled, world, frozenset(SEATS))
    game.start()
    play_scripts(game, scripts, drafts)
    assert game.wait(30) and game.status == "over"
    assert int(game.model.inforce[game.row]) == int(engine.inforce[world])
    tabled = [e["proposal"] for e in game.model.transcript if "proposal" in e]
    assert tabled == [e["proposal"] for e in engine.transcript if "proposal" in e]
    assert any(e.get("carried") for e in engine.transcript)  # a counter was carried in this world
