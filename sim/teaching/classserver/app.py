"""The class server's web app: pages, the seats' and the teacher's websockets, the class's state.

Who may see what is decided here and nowhere else: a seat's websocket carries the table's public
state (texts, answers, what is in force) and that seat's own numbers, never another seat's; the
teacher's console (every request carries the teacher's token) sees every table's public state. A
message from a browser is checked against the seat its token holds (its table, its seat, the
question it answers, the options the scenario has) and refused, changing nothing, if it does not fit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import threading
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from sim.errors import UserError, show
from sim.scenario import Scenario
from sim.teaching.classdb import ClassDB, is_database
from sim.teaching.table import Refused, TableGame

PAGES = Path(__file__).with_name("pages")
MAX_MESSAGE = 16_384  # bytes of one browser message: a draft is well under 1 kB
MAX_TABLES = 60
MAX_NAME = 40
PACES = (None, 30.0, 60.0, 120.0, 300.0)  # seconds a question waits before the model answers


def check_options(sc: Scenario, tables: int, world: int, port: int = 8000) -> None:
    """The server's options, refused in one line before anything is written."""
    if not 1 <= tables <= MAX_TABLES:
        raise UserError(f"--tables must be in 1..{MAX_TABLES} (got {tables})")
    if not 0 <= world < sc.replications:
        raise UserError(f"--world must be in 0..{sc.replications - 1} (got {world})")
    if not 1 <= port <= 65535:
        raise UserError(f"--port must be in 1..65535 (got {port})")


class ClassServer:
    """The class: its scenario, database, tables and the browsers connected to them."""

    def __init__(
        self,
        sc: Scenario,
        db: ClassDB,
        tables: int = 5,
        world: int = 0,
        debrief_dir: Path | None = None,
        blind: bool = False,
    ) -> None:
        check_options(sc, tables, world)
        self.sc, self.db, self.world = sc, db, world
        meta = db.meta()
        if meta and (meta.get("sha256") != sc.sha256 or int(meta.get("world", -1)) != world):
            raise UserError(
                f"{show(db.path, 200)} holds a class of {show(meta.get('scenario', '?'))} (world "
                f"{meta.get('world', '?')}): serve it with the same scenario file and world, "
                "or name a new --db"
            )
        if not meta:
            db.set_meta(
                scenario=sc.name,
                sha256=sc.sha256,
                world=str(world),
                teacher=secrets.token_urlsafe(18),
                code=f"{secrets.randbelow(10**6):06d}",
            )
        if "blind" not in meta:  # chosen when the class is made (older databases: at their restart)
            db.set_meta(blind="1" if blind else "0")
        db.ensure_tables(tables)
        meta = db.meta()
        # A class keeps what its envoys were shown: a restart does not lift or impose blindness.
        self.blind = meta["blind"] == "1"
        self.teacher_token, self.code = meta["teacher"], meta["code"]
        self.debrief_dir = debrief_dir or db.path.with_name(db.path.stem + "-debrief")
        self.games: dict[int, TableGame] = {}
        self.lock = threading.Lock()  # starting tables
        self.seat_ws: dict[int, set[tuple[str, WebSocket]]] = {}
        self.teacher_ws: set[WebSocket] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.dirty: set[int] = set()
        self.flushing = False
        self.debrief_url: str | None = None
        self.url = ""

    # ------------------------------------------------------------------ tables

    def table_ids(self) -> list[int]:
        return [t["id"] for t in self.db.tables()]

    def resume(self) -> None:
        """Rebuild every started table from its stored moves (after a restart)."""
        for t in self.db.tables():
            if t["status"] != "ready":
                humans, moves = frozenset(t["humans"]), self.db.moves(t["id"])
                game = self._game(t["id"], humans, t["pace"], moves, t["per_round"])
                game.start()
                if t["paused"]:
                    with contextlib.suppress(Refused):  # a table whose replay ran to its end
                        game.pause(True)

    def _game(
        self, tid: int, humans: frozenset[str], pace: float | None, stored=(), per_round: bool = False
    ) -> TableGame:
        game = TableGame(
            self.sc,
            self.world,
            humans,
            store=lambda e: self.db.add_move(tid, e),
            stored=stored,
            changed=lambda: self.notify(tid),
            pace=pace,
            save=lambda recs: self.db.save_results(tid, recs),
            per_round=per_round,
            blind=self.blind,
        )
        self.games[tid] = game
        return game

    def start(self, tid: int) -> None:
        with self.lock:
            if tid in self.games:
                raise Refused(f"table {tid} has started already")
            humans = frozenset(self.db.seats().get(tid, {}))
            row = next(t for t in self.db.tables() if t["id"] == tid)
            game = self._game(tid, humans, row["pace"], per_round=row["per_round"])
            self.db.set_table(tid, status="started", humans=humans)
            game.start()
        self.notify(tid)

    # ------------------------------------------------------------------ views

    def scenario_view(self) -> dict[str, Any]:
        sc = self.sc
        return {
            "title": sc.title,
            "name": sc.name,
            "start": str(sc.calendar.start),
            "envoy": sc.mediator.party,
            "mediator": sc.mediator.label,
            "parties": {pid: p.label for pid, p in sc.parties.items()},
            "issues": {i: {"label": s.label, "options": list(s.options)} for i, s in sc.issues.items()},
            "events": {e: ev.label for e, ev in sc.events.items()},
            "levers": {lid: lv.label for lid, lv in sc.levers.items()},
            "classes": {c: cl.label for c, cl in sc.classes.items()},
        }

    def seat_view(self, tid: int, seat: str) -> dict[str, Any]:
        """What one seat receives: the table's public state and its own numbers, nothing else."""
        game = self.games.get(tid)
        if game is None:
            seats = self.db.seats().get(tid, {})
            return {
                "type": "state",
                "table": tid,
                "seat": seat,
                "public": {"status": "ready", "humans": sorted(seats)},
            }
        with game.cond:
            return {
                "type": "state",
                "table": tid,
                "seat": seat,
                "public": game.public(),
                "private": game.private(seat),
                "debrief": self.debrief_url,
            }

    def console_view(self) -> dict[str, Any]:
        """What the teacher's console receives: every table's public state and who sits where."""
        seats = self.db.seats()
        tables = []
        for t in self.db.tables():
            game = self.games.get(t["id"])
            if game is None:
                public: dict[str, Any] = {"status": "ready"}
            else:
                with game.cond:
                    public = game.public()
                    public["error"] = game.error
            pace = {"seconds": t["pace"], "per_round": bool(t["per_round"])}
            tables.append({"id": t["id"], "seats": seats.get(t["id"], {}), "public": public, "pace": pace})
        return {
            "type": "console",
            "blind": self.blind,
            "tables": tables,
            "debrief": self.debrief_url,
            "moves": self.db.count_moves(),
        }

    # ------------------------------------------------------------------ pushing changes

    def notify(self, tid: int) -> None:
        """Called from any thread: the table's browsers get a fresh view soon (changes are batched)."""
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._mark, tid)

    def _mark(self, tid: int) -> None:
        self.dirty.add(tid)
        if not self.flushing:
            self.flushing = True
            asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        try:
            while self.dirty:
                await asyncio.sleep(0.02)
                tids, self.dirty = set(self.dirty), set()
                for tid in tids:
                    for seat, ws in list(self.seat_ws.get(tid, ())):
                        await _send(ws, await run_in_threadpool(self.seat_view, tid, seat))
                if self.teacher_ws:
                    view = await run_in_threadpool(self.console_view)
                    for ws in list(self.teacher_ws):
                        await _send(ws, view)
        finally:
            self.flushing = False

    def shutdown(self) -> None:
        """Stop every table's engine thread without storing anything: a restart resumes them."""
        for game in self.games.values():
            with game.cond:
                game.stop = True
                game.cond.notify_all()
        for game in self.games.values():
            game.wait(10)

    # ------------------------------------------------------------------ the teacher's commands

    def command(self, msg: dict[str, Any]) -> str:
        """One console command; a short confirmation, or Refused."""
        kind = msg.get("type")
        if kind == "debrief":
            return self.make_debrief()
        if kind not in ("start", "pause", "resume", "end", "inject", "pace"):
            raise Refused("unknown command")
        every = msg.get("table") == "all"
        targets = self._targets(msg.get("table"))
        seconds = _pace(msg.get("seconds")) if kind == "pace" else None
        per_round = _per(msg.get("per")) if kind == "pace" else False
        done = 0
        for tid in targets:
            try:
                self._command(tid, kind, msg, seconds, per_round)
                done += 1
            except Refused:
                if not every:  # for every table, those it does not fit (not started, over) are skipped
                    raise
            self.notify(tid)
        return f"{kind}: {done} table{'s' if done != 1 else ''}"

    def _command(
        self, tid: int, kind: str, msg: dict[str, Any], seconds: float | None, per_round: bool = False
    ) -> None:
        if kind == "start":
            self.start(tid)
            return
        if kind == "pace":
            self.db.set_table(tid, pace=seconds, per_round=int(per_round))
        game = self.games.get(tid)
        if game is None:
            if kind != "pace":
                raise Refused(f"table {tid} has not started")
        elif kind in ("pause", "resume"):
            game.pause(kind == "pause")
            self.db.set_table(tid, paused=int(kind == "pause"))
        elif kind == "end":
            game.end()
        elif kind == "inject":
            game.inject(str(msg.get("what")))
        elif kind == "pace":
            game.set_pace(seconds, per_round)

    def _targets(self, table: Any) -> list[int]:
        ids = self.table_ids()
        if table == "all":
            return ids
        if not isinstance(table, int) or isinstance(table, bool) or table not in ids:
            raise Refused(f"no table {show(str(table), 20)}; tables are 1..{len(ids)}")
        return [table]

    def make_debrief(self) -> str:
        """The class's debrief from the database, written where the server serves it."""
        from sim.teaching.debrief import debrief
        from sim.teaching.play import read_log

        if not any(self.db.seats().values()) or not any(t["status"] != "ready" for t in self.db.tables()):
            raise Refused("no table with a person at it has started yet")
        try:
            page = debrief(self.sc, read_log(self.db.path)).write(self.debrief_dir)
        except UserError as e:
            raise Refused(str(e)) from None
        self.debrief_url = f"/debrief/{page.name}"
        for tid in self.table_ids():
            self.notify(tid)
        return "debrief: ready"


def _pace(seconds: Any) -> float | None:
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or float(seconds) not in PACES:
        raise Refused(f"a pace is one of: all answered, {', '.join(f'{p:.0f} s' for p in PACES[1:])}")
    return float(seconds)


def _per(per: Any) -> bool:
    """A pace's deadline counts per question (the default) or per round (a contact's questions)."""
    if per in (None, "question"):
        return False
    if per == "round":
        return True
    raise Refused("a pace is per question or per round")


async def _send(ws: WebSocket, data: dict[str, Any]) -> None:
    # A browser that went away: its socket is dropped when its receiving loop ends.
    with contextlib.suppress(Exception):
        await ws.send_text(json.dumps(data))


def _message(text: str) -> dict[str, Any]:
    if len(text.encode("utf-8", "replace")) > MAX_MESSAGE:
        raise Refused("message too long")
    try:
        msg = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise Refused("not a JSON message") from None
    if not isinstance(msg, dict):
        raise Refused("a message is a JSON object")
    return msg


# ---------------------------------------------------------------------------- the app


def make_app(server: ClassServer) -> Starlette:
    """The Starlette app of one class server."""

    def teacher_ok(token: Any) -> bool:
        return isinstance(token, str) and secrets.compare_digest(token, server.teacher_token)

    def page(name: str):
        async def show_page(request: Request) -> Response:
            if name == "teacher" and not teacher_ok(request.query_params.get("token")):
                return PlainTextResponse("the teacher's console needs the teacher's token", status_code=403)
            return FileResponse(PAGES / f"{name}.html", headers={"Cache-Control": "no-store"})

        return show_page

    async def tables(request: Request) -> Response:
        if request.query_params.get("code") != server.code:
            return JSONResponse({"error": "wrong join code"}, status_code=403)
        seats = server.db.seats()
        out = [
            {"id": t["id"], "taken": sorted(seats.get(t["id"], {})), "started": t["id"] in server.games}
            for t in server.db.tables()
        ]
        return JSONResponse({"scenario": server.scenario_view(), "tables": out})

    async def join(request: Request) -> Response:
        try:
            body = _message((await request.body()).decode("utf-8", "replace"))
            token = await run_in_threadpool(_join, server, body)
        except Refused as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        return JSONResponse({"token": token})

    async def qr(request: Request) -> Response:
        if not teacher_ok(request.query_params.get("token")):
            return PlainTextResponse("forbidden", status_code=403)
        import io

        import segno

        buf = io.BytesIO()
        segno.make(f"{server.url}/?code={server.code}", error="m").save(buf, kind="svg", scale=6, border=2)
        return Response(buf.getvalue(), media_type="image/svg+xml")

    async def seat_socket(ws: WebSocket) -> None:
        where = server.db.seat_of(ws.query_params.get("token") or "")
        if where is None:
            await ws.close(code=4403)
            return
        tid, seat = where
        await ws.accept()
        server.loop = asyncio.get_running_loop()
        server.seat_ws.setdefault(tid, set()).add((seat, ws))
        await _send(ws, {"type": "hello", "table": tid, "seat": seat, "scenario": server.scenario_view()})
        await _send(ws, await run_in_threadpool(server.seat_view, tid, seat))
        try:
            while True:
                text = await ws.receive_text()
                try:
                    reply = await run_in_threadpool(_seat_move, server, tid, seat, _message(text))
                except Refused as e:
                    reply = {"type": "refused", "why": str(e)}
                if reply is not None:
                    await _send(ws, reply)
        except WebSocketDisconnect:
            pass
        finally:
            server.seat_ws.get(tid, set()).discard((seat, ws))

    async def teacher_socket(ws: WebSocket) -> None:
        if not teacher_ok(ws.query_params.get("token")):
            await ws.close(code=4403)
            return
        await ws.accept()
        server.loop = asyncio.get_running_loop()
        server.teacher_ws.add(ws)
        await _send(
            ws, {"type": "hello", "scenario": server.scenario_view(), "code": server.code, "url": server.url}
        )
        await _send(ws, await run_in_threadpool(server.console_view))
        try:
            while True:
                text = await ws.receive_text()
                try:
                    done = await run_in_threadpool(server.command, _message(text))
                    reply = {"type": "done", "what": done}
                except Refused as e:
                    reply = {"type": "refused", "why": str(e)}
                await _send(ws, reply)
                await _send(ws, await run_in_threadpool(server.console_view))
        except WebSocketDisconnect:
            pass
        finally:
            server.teacher_ws.discard(ws)

    server.debrief_dir.mkdir(parents=True, exist_ok=True)
    routes = [
        Route("/", page("join")),
        Route("/seat", page("seat")),
        Route("/teacher", page("teacher")),
        Route("/api/tables", tables),
        Route("/api/join", join, methods=["POST"]),
        Route("/qr.svg", qr),
        WebSocketRoute("/ws/seat", seat_socket),
        WebSocketRoute("/ws/teacher", teacher_socket),
        Mount("/static", StaticFiles(directory=PAGES), name="static"),
        Mount("/debrief", StaticFiles(directory=server.debrief_dir, check_dir=False), name="debrief"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        server.loop = asyncio.get_running_loop()
        yield

    return Starlette(routes=routes, lifespan=lifespan)


def _join(server: ClassServer, body: dict[str, Any]) -> str:
    """A seat claimed with the join code: its token (the browser keeps it to rejoin)."""
    if body.get("code") != server.code:
        raise Refused("wrong join code: ask the teacher for it")
    tid, seat, name = body.get("table"), body.get("seat"), body.get("name", "")
    server._targets(tid)
    if seat not in server.sc.parties:
        raise Refused(f"no seat '{show(str(seat), 40)}'; seats: {', '.join(server.sc.parties)}")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise Refused(f"write your name (1 to {MAX_NAME} characters)")
    if tid in server.games:
        raise Refused(f"the game at table {tid} has started; its empty seats are the model's")
    token = server.db.claim(tid, seat, name.strip())
    if token is None:
        raise Refused(f"someone holds that seat at table {tid}; pick another")
    server.notify(tid)
    return token


def _seat_move(server: ClassServer, tid: int, seat: str, msg: dict[str, Any]) -> dict[str, Any] | None:
    """A seat's message: refused unless it names this seat's own table and seat."""
    if msg.get("table") != tid:
        raise Refused("that message names another table than yours")
    if msg.get("seat") != seat:
        raise Refused("that message names a seat you do not hold")
    game = server.games.get(tid)
    if game is None:
        raise Refused("the game at your table has not started")
    kind = msg.get("type")
    if kind == "preview":
        return {"type": "preview", **game.draft_preview(seat, msg.get("package"))}
    if kind not in ("move", "lever"):
        raise Refused("unknown message")
    game.submit(seat, msg if kind == "lever" else {k: v for k, v in msg.items() if k != "type"})
    return {"type": "ok"}


def lan_address() -> str:
    """This machine's address on the LAN (no packet is sent); loopback if it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def serve(
    sc: Scenario,
    db_path: Path,
    tables: int = 5,
    host: str = "0.0.0.0",
    port: int = 8000,
    world: int = 0,
    say=print,
    blind: bool = False,
) -> None:
    """Serve the class until Ctrl-C; a database that exists is resumed. With ``blind`` the envoy's
    page hides what the mediator believes of the others."""
    import uvicorn

    from sim.teaching.table import cached_ensemble

    check_options(sc, tables, world, port)
    if db_path.is_dir():
        raise UserError(f"--db {show(db_path, 200)} is a folder; name a file, e.g. results/class.sqlite")
    if db_path.exists() and not is_database(db_path):
        raise UserError(f"--db {show(db_path, 200)} is not a class server's database (SQLite)")
    db = ClassDB(db_path)
    server = ClassServer(sc, db, tables, world, blind=blind)
    shown = lan_address() if host in ("0.0.0.0", "::") else host
    server.url = f"http://{shown}:{port}"
    cached_ensemble(sc)  # the model's results over every world, computed once before the first table
    server.resume()
    app = make_app(server)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", ws_max_size=MAX_MESSAGE)
    blindly = ", the envoy blind to the mediator's beliefs" if server.blind else ""
    if server.blind != blind:
        blindly += " (as the class was made; --blind at a restart changes nothing)"
    say(
        f"class server for {sc.name}: {len(server.table_ids())} tables, world {world}{blindly}, "
        f"moves in {db_path}"
    )
    say(f"  students: {server.url}/   join code {server.code}")
    say(f"  teacher:  {server.url}/teacher?token={server.teacher_token}")
    try:
        uvicorn.Server(config).run()
    finally:
        server.shutdown()
        db.close()
