"""The class's database: every seat, move and result stored as it is made, in one SQLite file.

SQLite (the standard library's ``sqlite3``) in write-ahead-log mode with full sync: a move is on disk
before it counts at its table, so a closed browser, a killed server or a full disk loses nothing that
was acknowledged. A table is rebuilt from its moves (``sim.teaching.table``); its seats' class-log
records (the JSON-lines records of ``negsim play``, with the table, whether the game finished and on
which day) are rewritten as the game goes, so an unfinished game is kept, marked as such, and
``negsim debrief`` reads them straight from this file (``records``).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from sim.atomic import write_text
from sim.errors import UserError, show

MAGIC = b"SQLite format 3\x00"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tables (
    id INTEGER PRIMARY KEY, status TEXT NOT NULL DEFAULT 'ready', humans TEXT NOT NULL DEFAULT '[]',
    pace REAL, paused INTEGER NOT NULL DEFAULT 0, per_round INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS seats (
    tbl INTEGER NOT NULL, seat TEXT NOT NULL, token TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    joined TEXT NOT NULL, PRIMARY KEY (tbl, seat));
CREATE TABLE IF NOT EXISTS moves (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl INTEGER NOT NULL, seat TEXT NOT NULL, kind TEXT NOT NULL,
    question INTEGER, contact INTEGER NOT NULL, payload TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    tbl INTEGER NOT NULL, party TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (tbl, party));
"""


def is_database(path: str | Path) -> bool:
    """Whether a file is an SQLite database (by its header), e.g. a class server's."""
    try:
        with Path(path).open("rb") as f:
            return f.read(16) == MAGIC
    except OSError:
        return False


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


class ClassDB:
    """One class's database; safe to use from several threads (one connection, one lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.con = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self.con.execute("PRAGMA journal_mode=WAL")
            self.con.execute("PRAGMA synchronous=FULL")
            self.con.executescript(SCHEMA)
            columns = {row[1] for row in self.con.execute("PRAGMA table_info(tables)")}
            if "per_round" not in columns:  # a database of an earlier version: the pace was per question
                self.con.execute("ALTER TABLE tables ADD COLUMN per_round INTEGER NOT NULL DEFAULT 0")
        except (sqlite3.Error, OSError) as e:
            raise UserError(f"{show(path, 200)}: cannot be used as the class's database ({e})") from None
        self.lock = threading.Lock()

    def close(self) -> None:
        with self.lock:
            self.con.close()

    def _run(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self.lock:
            return self.con.execute(sql, args).fetchall()

    # ------------------------------------------------------------------ the class

    def meta(self) -> dict[str, str]:
        return dict(self._run("SELECT key, value FROM meta"))

    def set_meta(self, **values: str) -> None:
        with self.lock, self.con:
            self.con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))

    def ensure_tables(self, n: int) -> None:
        with self.lock, self.con:
            for i in range(1, n + 1):
                self.con.execute("INSERT OR IGNORE INTO tables (id) VALUES (?)", (i,))

    def tables(self) -> list[dict[str, Any]]:
        rows = self._run("SELECT id, status, humans, pace, paused, per_round FROM tables ORDER BY id")
        return [
            {
                "id": i,
                "status": s,
                "humans": json.loads(h),
                "pace": p,
                "paused": bool(z),
                "per_round": bool(r),
            }
            for i, s, h, p, z, r in rows
        ]

    def set_table(self, tbl: int, **fields: Any) -> None:
        for key, value in fields.items():
            assert key in ("status", "humans", "pace", "paused", "per_round")
            if key == "humans":
                value = json.dumps(sorted(value))
            self._run(f"UPDATE tables SET {key} = ? WHERE id = ?", (value, tbl))

    # ------------------------------------------------------------------ seats

    def claim(self, tbl: int, seat: str, name: str) -> str | None:
        """A new seat token, or None if someone holds the seat already."""
        token = secrets.token_urlsafe(18)
        try:
            self._run("INSERT INTO seats VALUES (?, ?, ?, ?, ?)", (tbl, seat, token, name, _now()))
        except sqlite3.IntegrityError:
            return None
        return token

    def seat_of(self, token: str) -> tuple[int, str] | None:
        rows = self._run("SELECT tbl, seat FROM seats WHERE token = ?", (token,))
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    def seats(self) -> dict[int, dict[str, str]]:
        """Who sits where: {table: {seat: name}}."""
        out: dict[int, dict[str, str]] = {}
        for tbl, seat, name in self._run("SELECT tbl, seat, name FROM seats"):
            out.setdefault(int(tbl), {})[seat] = name
        return out

    # ------------------------------------------------------------------ moves and results

    def add_move(self, tbl: int, entry: dict[str, Any]) -> int:
        """Store one move before it counts; its sequence number."""
        with self.lock, self.con:
            cur = self.con.execute(
                "INSERT INTO moves (tbl, seat, kind, question, contact, payload, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    tbl,
                    entry["seat"],
                    entry["kind"],
                    entry.get("question"),
                    int(entry["contact"]),
                    json.dumps(entry["payload"]),
                    _now(),
                ),
            )
            return int(cur.lastrowid or 0)

    def moves(self, tbl: int) -> list[dict[str, Any]]:
        rows = self._run(
            "SELECT seq, seat, kind, question, contact, payload FROM moves WHERE tbl = ? ORDER BY seq", (tbl,)
        )
        return [
            {"seq": q, "seat": s, "kind": k, "question": n, "contact": r, "payload": json.loads(p)}
            for q, s, k, n, r, p in rows
        ]

    def count_moves(self) -> int:
        return int(self._run("SELECT count(*) FROM moves")[0][0])

    def save_results(self, tbl: int, records: list[dict[str, Any]]) -> None:
        with self.lock, self.con:
            for rec in records:
                rec = {"time": _now(), "table": tbl, **rec}
                self.con.execute(
                    "INSERT OR REPLACE INTO results VALUES (?, ?, ?)",
                    (tbl, rec["party"], json.dumps(rec, ensure_ascii=False)),
                )


def records(path: str | Path) -> list[dict[str, Any]]:
    """The class-log records of a class server's database, by table and party: the games as
    ``negsim play`` logs them, with ``table``, ``finished`` and ``day``."""
    shown = show(path, 200)
    try:
        con = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
        try:
            rows = con.execute("SELECT tbl, party, record FROM results ORDER BY tbl, party").fetchall()
        finally:
            con.close()
    except sqlite3.Error as e:
        raise UserError(f"{shown}: not a class server's database ({e})") from None
    out = []
    for tbl, party, text in rows:
        try:
            rec = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            raise UserError(f"{shown}: table {tbl}, {show(party)}: not a game record") from None
        if not isinstance(rec, dict):
            raise UserError(f"{shown}: table {tbl}, {show(party)}: not a game record")
        out.append(rec)
    return out


def export(path: str | Path, out: str | Path) -> int:
    """Write a database's records as a JSON-lines class log; the number of games written."""
    recs = records(path)
    write_text(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))
    return len(recs)
