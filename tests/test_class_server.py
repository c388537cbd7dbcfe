"""The class server on loopback: seats and the teacher over websockets, what each may see, bad
messages, restart, the database as a class log, and a bounded load of 30 clients on 10 tables."""

from __future__ import annotations

import json
import os
import resource
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from classclients import Bot, Served, Teacher, accept_all, join, post
from websockets.exceptions import InvalidStatus

from sim.api import load_scenario
from sim.cli import main
from sim.scenario import with_overrides
from sim.teaching.classdb import ClassDB, records
from sim.teaching.play import read_log

ROOT = Path(__file__).resolve().parents[1]
SEATS = ("us", "russia", "ukraine")


@pytest.fixture(scope="module")
def sc():
    """The baseline with 200 worlds (the debrief's distribution is over these), its parties at one
    table: a counter is answered at the contact it is tabled (``mediator.shuttle`` off)."""
    return one_table(with_overrides(load_scenario(ROOT / "scenarios" / "baseline.toml"), 200, None))


def one_table(sc):
    """The scenario with its parties at one table (no envoy carrying counters between contacts)."""
    return sc.model_copy(update={"mediator": sc.mediator.model_copy(update={"shuttle": None})})


def numbers(node, out=None) -> set[float]:
    """Every non-zero float in a JSON value."""
    out = set() if out is None else out
    if isinstance(node, float) and abs(node) > 1e-9:
        out.add(node)
    elif isinstance(node, dict):
        for v in node.values():
            numbers(v, out)
    elif isinstance(node, list):
        for v in node:
            numbers(v, out)
    return out


def refuse_then_accept(bot, state, q):
    """Refuse the first text naming the change worth most to this seat; then as accept_all."""
    if q["kind"] == "answer" and not bot.answered:
        best = max(q["changes"], key=lambda c: c["value"])
        return {"answer": "refuse", "issue": best["issue"], "option": best["option"]}
    return accept_all(bot, state, q)


def test_three_seats_see_only_their_own_numbers_and_play_to_the_end(sc, tmp_path):
    served = Served(sc, tmp_path / "class.sqlite", tables=2)
    try:
        bots = {p: Bot(served, join(served, 1, p, p), refuse_then_accept) for p in SEATS}
        teacher = Teacher(served)
        assert teacher.command(type="start", table=1)["type"] == "done"
        threads = [threading.Thread(target=b.play, daemon=True) for b in bots.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert all(b.done.is_set() for b in bots.values())
        own = {}
        for p, bot in bots.items():
            frames = [json.loads(f) for f in bot.frames]
            assert {f["seat"] for f in frames if "seat" in f} == {p}
            own[p] = set().union(
                *(numbers(f.get("private")) for f in frames),
                *(numbers(f) for f in frames if f["type"] == "preview"),
            )
            assert own[p], f"{p} was never shown its own numbers"
        for p, bot in bots.items():
            seen = set().union(*(numbers(json.loads(f)) for f in bot.frames))
            for other in SEATS:
                if other != p:
                    assert not own[other] & seen, f"{p}'s frames carry {other}'s confidential numbers"
        # Every move a seat sent is stored; the database is a class log negsim debrief reads.
        db = ClassDB(tmp_path / "class.sqlite")
        assert db.count_moves() == sum(len(b.answered) for b in bots.values())
        games = read_log(tmp_path / "class.sqlite")
        assert {g["party"] for g in games} == set(SEATS) and all(g["finished"] for g in games)
        teacher.close()
    finally:
        served.stop()
    assert (
        main(["class", "export", str(tmp_path / "class.sqlite"), "--out", str(tmp_path / "log.jsonl")]) == 0
    )
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == records(tmp_path / "class.sqlite")
    out = tmp_path / "debrief"
    db = str(tmp_path / "class.sqlite")
    assert main(["debrief", db, "--out", str(out), "--scenarios", str(ROOT / "scenarios")]) == 0
    assert (out / "handout.html").is_file()


def test_bad_messages_are_refused_and_change_nothing(sc, tmp_path):
    served = Served(sc, tmp_path / "class.sqlite", tables=2)
    try:
        russia = Bot(served, join(served, 1, "russia"))
        envoy = Bot(served, join(served, 1, "us"))
        other = Bot(served, join(served, 2, "ukraine"))
        teacher = Teacher(served)
        teacher.command(type="start", table="all")
        q = envoy.question()
        assert q["kind"] == "draft"
        envoy.send({"type": "move", "question": q["id"], "package": q["model_text"]})
        q = russia.question()
        db = served.db
        before = db.count_moves()
        cases = [
            (
                {"type": "move", "seat": "ukraine", "question": q["id"], "answer": "accept"},
                "seat you do not hold",
            ),
            ({"type": "move", "table": 2, "question": q["id"], "answer": "accept"}, "another table"),
            (
                {"type": "move", "question": q["id"], "answer": "refuse", "issue": "kursk", "option": "moon"},
                "no option",
            ),
            (
                {"type": "move", "question": q["id"], "answer": "refuse", "issue": "x" * 5000},
                "not on the table",
            ),
            ({"type": "move", "question": q["id"] + 7, "answer": "accept"}, "closed"),
            ({"type": "lever", "lever": "us_sanctions"}, "no such lever"),
            ({"type": "shout"}, "unknown message"),
        ]
        for msg, why in cases:
            russia.ws.send(json.dumps({"table": 1, "seat": "russia", **msg}))
            assert why in russia.next("refused")["why"]
        russia.ws.send("[1, 2]")
        assert "JSON object" in russia.next("refused")["why"]
        russia.ws.send("{" * 100_000)  # (negsim class serve also has uvicorn close such a socket)
        assert "too long" in russia.next("refused")["why"]
        assert db.count_moves() == before
        # The same move twice: the second is a replay, refused.
        again = Bot(served, russia.token)
        again.send({"type": "move", "question": q["id"], "answer": "accept"})
        assert again.next("ok")
        again.send({"type": "move", "question": q["id"], "answer": "accept"})
        assert "nothing is asked" in again.next("refused")["why"]
        assert db.count_moves() == before + 1
        # Joining: wrong code, a taken seat, a seat the scenario lacks, a started table.
        url = f"{served.url}/api/join"
        assert post(url, {"code": "nope", "table": 1, "seat": "russia", "name": "x"})[0] == 400
        status, body = post(url, {"code": served.server.code, "table": 2, "seat": "ukraine", "name": "x"})
        assert status == 400 and "started" in body["error"]
        status, body = post(url, {"code": served.server.code, "table": 1, "seat": "europe", "name": "x"})
        assert status == 400 and "no seat" in body["error"]
        status, body = post(url, {"code": served.server.code, "table": 9, "seat": "us", "name": "x"})
        assert status == 400 and "no table" in body["error"]
        for t in (teacher, other, envoy, again):
            t.close()
    finally:
        served.stop()


def test_a_seats_counter_over_the_websocket_is_what_the_others_answer(sc, tmp_path):
    served = Served(sc, tmp_path / "class.sqlite", tables=1)
    try:
        bots = {p: Bot(served, join(served, 1, p, p)) for p in SEATS}
        teacher = Teacher(served)
        teacher.command(type="start", table=1)
        q = bots["us"].question()
        bots["us"].answered.add(q["id"])
        bots["us"].send({"type": "move", "question": q["id"], "package": q["model_text"]})
        bots["us"].next("ok")
        for p, b in bots.items():
            q = b.question()
            b.answered.add(q["id"])
            b.send({"type": "move", "question": q["id"], "answer": "refuse" if p == "ukraine" else "accept"})
            b.next("ok")
        kyiv = bots["ukraine"]
        q = kyiv.question()
        assert q["kind"] == "counter" and q["model_counter"] is not None
        before = served.db.count_moves()
        for package, why in [
            ({**q["text"], "kursk": "surrender"}, "red lines"),
            (q["text"], "the text you refused"),
            ({"kursk": "safe_withdrawal"}, "one option for each issue"),
        ]:
            kyiv.send({"type": "move", "question": q["id"], "package": package})
            assert why in kyiv.next("refused")["why"]
        kyiv.send({"type": "move", "question": q["id"], "answer": "accept"})  # a counter is a package
        assert "or null" in kyiv.next("refused")["why"]
        kyiv.send({"type": "preview", "package": q["model_counter"]})
        assert kyiv.next("preview")["value"] == pytest.approx(q["model_value"])
        assert served.db.count_moves() == before
        mine = q["candidates"][-1]["terms"]
        kyiv.answered.add(q["id"])
        kyiv.send({"type": "move", "question": q["id"], "package": mine})
        kyiv.next("ok")
        for p in ("us", "russia"):  # the others answer Kyiv's text, shown as Kyiv's
            a = bots[p].question()
            assert a["kind"] == "answer" and a["text"] == mine and a["by"] == "ukraine"
            assert bots[p].state["public"]["text_by"] == "ukraine"
        assert "counter" not in str(bots["us"].state["private"]) and mine != q["model_counter"]
        stored = [m for m in served.db.moves(1) if m["kind"] == "counter"]
        assert [m["payload"]["package"] for m in stored] == [mine]
        for b in bots.values():
            b.close()
        teacher.close()
    finally:
        served.stop()


def test_a_blind_class_and_a_pace_per_round(sc, tmp_path):
    served = Served(sc, tmp_path / "class.sqlite", tables=2, blind=True)
    try:
        envoy = Bot(served, join(served, 1, "us"))
        teacher = Teacher(served)
        assert teacher.command(type="pace", table="all", seconds=120, per="week")["type"] == "refused"
        assert teacher.command(type="pace", table=1, seconds=120, per="round")["type"] == "done"
        teacher.command(type="start", table=1)
        q = envoy.question()
        envoy.send({"type": "preview", "package": q["model_text"]})
        preview = envoy.next("preview")
        assert "believed" not in q and "believed" not in preview and "value" in preview
        assert envoy.state["public"]["per_round"] and envoy.state["public"]["pace"] == 120
        assert [t["per_round"] for t in served.db.tables()] == [True, False]
        console = served.server.console_view()
        assert [t["pace"] for t in console["tables"]] == [
            {"seconds": 120, "per_round": True},
            {"seconds": None, "per_round": False},
        ]
        assert console["blind"]
        envoy.close()
        teacher.close()
    finally:
        served.stop()
    served = Served(sc, tmp_path / "class.sqlite", tables=2)  # a restart keeps the pace and blindness
    try:
        assert served.server.games[1].per_round and served.server.games[1].pace == 120
        assert served.server.blind and served.server.games[1].blind
        envoy, teacher = Bot(served, join(served, 2, "us")), Teacher(served)
        teacher.command(type="start", table=2)
        assert "believed" not in envoy.question()
        envoy.close()
        teacher.close()
    finally:
        served.stop()


def test_the_console_refuses_without_the_teachers_token(sc, tmp_path):
    served = Served(sc, tmp_path / "class.sqlite", tables=1)
    try:
        for path in ("/teacher", "/teacher?token=wrong", "/qr.svg", "/qr.svg?token=wrong"):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(served.url + path, timeout=10)
            assert err.value.code == 403
        with pytest.raises(InvalidStatus) as refused:
            Teacher(served, token="wrong")
        assert refused.value.response.status_code == 403
        with urllib.request.urlopen(f"{served.url}/qr.svg?token={served.token}", timeout=10) as r:
            assert b"<svg" in r.read() and r.headers["Content-Type"].startswith("image/svg+xml")
        with urllib.request.urlopen(f"{served.url}/teacher?token={served.token}", timeout=10) as r:
            assert b"Teacher's console" in r.read()
        with pytest.raises(InvalidStatus) as refused:  # a seat's socket with no seat
            Bot(served, "forged-token")
        assert refused.value.response.status_code == 403
    finally:
        served.stop()


def idle(game, timeout=30.0):
    """Wait until the table waits for a person (or has finished)."""
    end = time.monotonic() + timeout
    while not game.idle():
        assert time.monotonic() < end, "the table never waited for anyone"
        time.sleep(0.02)


def test_a_restarted_server_resumes_every_table(sc, tmp_path):
    db = tmp_path / "class.sqlite"
    served = Served(sc, db, tables=2)
    tokens = {p: join(served, 1, p, p) for p in SEATS}
    kyiv2 = join(served, 2, "ukraine", "k2")
    try:
        teacher = Teacher(served)
        teacher.command(type="start", table="all")
        bots = {p: Bot(served, t, accept_all) for p, t in tokens.items()}
        # Answer a few questions, then stop the server with the table waiting for the next.
        game = served.server.games[1]
        for _ in range(6):
            idle(game)
            with game.cond:
                asked = [s for s in game.questions if s not in game.answers]
            for seat in asked:
                b = bots[seat]
                q = b.question()
                b.answered.add(q["id"])
                b.send({"type": "move", "question": q["id"], **accept_all(b, b.state, q)})
                b.next("ok")
        # The last answers are processed on the table's own thread: wait until it has moved on.
        end = time.monotonic() + 30
        while True:
            idle(game)
            before = {p: served.server.seat_view(1, p) for p in SEATS}
            if before["russia"]["public"]["day"] > 0 and before["russia"]["public"]["timeline"]:
                break
            assert time.monotonic() < end, "the table never got past its first day"
            time.sleep(0.05)
        for b in bots.values():
            b.close()
        teacher.close()
    finally:
        served.stop()
    served = Served(sc, db, tables=2)
    try:
        idle(served.server.games[1])
        after = {p: served.server.seat_view(1, p) for p in SEATS}
        for p in SEATS:
            assert after[p]["public"]["day"] == before[p]["public"]["day"]
            assert after[p]["private"] == before[p]["private"]
            assert after[p]["public"]["timeline"] == before[p]["public"]["timeline"]
        bots = {p: Bot(served, t, accept_all) for p, t in tokens.items()}
        threads = [threading.Thread(target=b.play, daemon=True) for b in bots.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert all(b.done.is_set() for b in bots.values())
        k2 = Bot(served, kyiv2, accept_all)
        k2.play()
        assert k2.state["public"]["status"] == "over"
    finally:
        served.stop()


def test_thirty_clients_on_ten_tables(sc, tmp_path):
    """Load: 30 scripted browsers join 10 tables and play to the end on loopback; every move is
    stored; the server's memory and response times are reported (and kept as an artifact)."""
    served = Served(sc, tmp_path / "class.sqlite", tables=10)
    try:
        tokens = [(t, p, join(served, t, p, f"{p}{t}")) for t in range(1, 11) for p in SEATS]
        teacher = Teacher(served)
        start = time.monotonic()
        bots = [Bot(served, tok, accept_all) for _, _, tok in tokens]
        teacher.command(type="start", table="all")
        threads = [threading.Thread(target=b.play, kwargs={"timeout": 240}, daemon=True) for b in bots]
        for t in threads:
            t.start()
        for t in threads:
            t.join(250)
        wall = time.monotonic() - start
        assert all(b.done.is_set() for b in bots), "some table did not finish"
        sent = sum(len(b.answered) for b in bots)
        assert served.db.count_moves() == sent, "a move was lost"
        lat = sorted(x for b in bots for x in b.latency)
        report = {
            "clients": len(bots),
            "tables": 10,
            "moves": sent,
            "seconds": round(wall, 2),
            "latency_median_ms": round(1000 * lat[len(lat) // 2], 1),
            "latency_p95_ms": round(1000 * lat[int(len(lat) * 0.95)], 1),
            "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
        print("class server load:", report)
        folder = Path(os.environ.get("NEGSIM_ARTIFACTS") or tmp_path) / "classserver"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "load.json").write_text(json.dumps(report, indent=2))
        teacher.close()
    finally:
        served.stop()
