"""Helpers of the class server's tests: a server on loopback in a thread, and scripted browsers.

A ``Bot`` is what a browser does, over the same HTTP and websocket messages the pages send: it joins
a seat, records every frame it receives, and answers each question it is asked by a strategy.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from websockets.sync.client import connect

from sim.teaching.classdb import ClassDB
from sim.teaching.classserver.app import ClassServer, make_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """A class server on 127.0.0.1 in a thread; ``stop()`` ends it (tables are not ended: a
    restart on the same database resumes them)."""

    def __init__(
        self, sc, db_path: Path, tables: int = 2, world: int = 0, port: int | None = None, blind: bool = False
    ) -> None:
        self.port = port or free_port()
        self.db = ClassDB(db_path)
        debrief = db_path.parent / "debrief"
        self.server = ClassServer(sc, self.db, tables, world, debrief_dir=debrief, blind=blind)
        self.server.url = self.url = f"http://127.0.0.1:{self.port}"
        self.server.resume()
        config = uvicorn.Config(make_app(self.server), host="127.0.0.1", port=self.port, log_level="warning")
        self.uv = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.uv.run, daemon=True)
        self.thread.start()
        for _ in range(200):
            if self.uv.started:
                break
            assert self.thread.is_alive(), "the class server did not start"
            time.sleep(0.05)
        assert self.uv.started, "the class server did not start"

    def stop(self) -> None:
        self.uv.should_exit = True
        self.thread.join(20)
        self.server.shutdown()
        self.db.close()

    @property
    def token(self) -> str:
        return self.server.teacher_token


def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def join(served: Served, table: int, seat: str, name: str = "student") -> str:
    status, body = post(
        f"{served.url}/api/join", {"code": served.server.code, "table": table, "seat": seat, "name": name}
    )
    assert status == 200, body
    return body["token"]


Strategy = Callable[["Bot", dict[str, Any], dict[str, Any]], dict[str, Any] | None]


class Bot:
    """One seat's browser, scripted: every frame is kept in ``frames`` (raw text, as sent)."""

    def __init__(self, served: Served, token: str, strategy: Strategy | None = None) -> None:
        self.served, self.token, self.strategy = served, token, strategy
        self.frames: list[str] = []
        self.state: dict[str, Any] | None = None
        self.refusals: list[str] = []
        self.latency: list[float] = []
        self.sent_at: float | None = None
        self.answered: set[int] = set()
        self.done = threading.Event()
        self.ws = connect(f"ws://127.0.0.1:{served.port}/ws/seat?token={token}", open_timeout=10)
        hello = json.loads(self._recv())
        self.table, self.seat = hello["table"], hello["seat"]

    def _recv(self, timeout: float | None = None) -> str:
        text = self.ws.recv(timeout=timeout)
        self.frames.append(text)
        return text

    def send(self, msg: dict[str, Any]) -> None:
        self.sent_at = time.monotonic()
        self.ws.send(json.dumps({"table": self.table, "seat": self.seat, **msg}))

    def next(self, kind: str = "state", timeout: float = 30) -> dict[str, Any]:
        """The next frame of a kind (others are kept and skipped)."""
        end = time.monotonic() + timeout
        while True:
            m = json.loads(self._recv(max(end - time.monotonic(), 0.01)))
            if m["type"] == "state":
                self.state = m
            if m["type"] == "refused":
                self.refusals.append(m["why"])
            if m["type"] == kind:
                return m

    def question(self, timeout: float = 30) -> dict[str, Any]:
        """The next question asked of this seat."""
        end = time.monotonic() + timeout
        while True:
            q = (self.state or {}).get("private", {}).get("question")
            if q is not None and q["id"] not in self.answered:
                return q
            self.next("state", timeout=max(end - time.monotonic(), 0.01))

    def play(self, timeout: float = 120) -> None:
        """Answer by the strategy until the game is over (or ended)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = self.next("state", timeout=end - time.monotonic())
            if self.sent_at is not None:
                self.latency.append(time.monotonic() - self.sent_at)
                self.sent_at = None
            if m["public"]["status"] in ("over", "ended"):
                self.done.set()
                return
            q = m.get("private", {}).get("question")
            if q is not None and q["id"] not in self.answered and self.strategy is not None:
                move = self.strategy(self, m, q)
                if move is not None:
                    self.answered.add(q["id"])
                    self.send({"type": "move", "question": q["id"], **move})
        raise TimeoutError(f"table {self.table} seat {self.seat}: the game did not end")

    def close(self) -> None:
        self.ws.close()


def accept_all(bot: Bot, state: dict[str, Any], q: dict[str, Any]) -> dict[str, Any]:
    """Take the model's draft, accept every text, table the model's counter, extend every truce."""
    if q["kind"] == "draft":
        return {"package": q["model_text"]}
    if q["kind"] == "counter":
        return {"package": q["model_counter"]}
    return {"answer": "extend" if q["kind"] == "extend" else "accept"}


class Teacher:
    def __init__(self, served: Served, token: str | None = None) -> None:
        token = served.token if token is None else token
        self.ws = connect(f"ws://127.0.0.1:{served.port}/ws/teacher?token={token}", open_timeout=10)
        self.hello = json.loads(self.ws.recv(timeout=10))

    def command(self, **msg: Any) -> dict[str, Any]:
        self.ws.send(json.dumps(msg))
        while True:
            m = json.loads(self.ws.recv(timeout=60))
            if m["type"] in ("done", "refused"):
                return m

    def console(self) -> dict[str, Any]:
        while True:
            m = json.loads(self.ws.recv(timeout=30))
            if m["type"] == "console":
                return m

    def close(self) -> None:
        self.ws.close()
